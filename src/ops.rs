//! Operations basics shared by both roles: the `supervised` mode (systemd
//! readiness notifications) and the pid file.
//!
//! The systemd notify protocol is one datagram per message to the Unix socket
//! named by `NOTIFY_SOCKET` (a path, or an abstract name when it starts with
//! '@'); writing it directly avoids a dependency for a dozen lines.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

/// The `supervised` values redis.conf accepts (`upstart` has no meaning here).
pub const SUPERVISED: &[&str] = &["no", "systemd", "auto"];

/// How we are supervised, from the `supervised` setting and the environment:
/// "systemd" or "no" (INFO process_supervised).
pub fn supervised_mode(setting: &str) -> &'static str {
    let has_socket = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
    match setting {
        "systemd" | "auto" if has_socket => "systemd",
        _ => "no",
    }
}

/// Send one notification (e.g. "READY=1") to systemd; errors are logged, not fatal.
pub fn sd_notify(msg: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notify(&path.to_string_lossy(), msg) {
        tracing::warn!("systemd notification '{}' failed: {}", msg.trim(), e);
    }
}

fn send_notify(socket: &str, msg: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = socket.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(msg.as_bytes(), &addr)?;
    } else {
        sock.send_to(msg.as_bytes(), socket)?;
    }
    Ok(())
}

/// A systemd notifier that is a no-op unless we are supervised by systemd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notifier {
    pub systemd: bool,
}

impl Notifier {
    pub fn new(setting: &str) -> Notifier {
        Notifier {
            systemd: supervised_mode(setting) == "systemd",
        }
    }

    /// At startup: say so when systemd supervision was asked for but is not possible.
    pub fn log_startup(&self, setting: &str) {
        if setting == "systemd" && !self.systemd {
            tracing::warn!("systemd supervision requested, but NOTIFY_SOCKET not found!");
        } else if self.systemd {
            tracing::info!("supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.");
        }
    }

    pub fn send(&self, msg: &str) {
        if self.systemd {
            sd_notify(msg);
        }
    }

    pub fn ready(&self, status: &str) {
        if self.systemd {
            tracing::info!("Sending READY=1 to systemd ({})", status);
            sd_notify(&format!("STATUS={}\n", status));
            sd_notify("READY=1\n");
        }
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}\n", status));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\n");
    }

    pub fn mode(&self) -> &'static str {
        if self.systemd {
            "systemd"
        } else {
            "no"
        }
    }
}

/// The pid file, written atomically at startup and removed at a clean exit.
#[derive(Debug)]
pub struct PidFile(PathBuf);

impl PidFile {
    /// Write our pid to `path` (None when no pid file is configured).
    /// Like Redis, a failure is logged and the server starts anyway.
    pub fn create(path: &str) -> Option<PidFile> {
        if path.is_empty() {
            return None;
        }
        let p = Path::new(path).to_path_buf();
        let text = format!("{}\n", std::process::id());
        match crate::config::rewrite::write_atomic(&p, text.as_bytes()) {
            Ok(()) => Some(PidFile(p)),
            Err(e) => {
                tracing::warn!("Failed to write PID file {}: {}", path, e);
                None
            }
        }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_path_and_abstract_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        send_notify(path.to_str().unwrap(), "READY=1\n").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("rsredis-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        send_notify(&format!("@{name}"), "STOPPING=1\n").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1\n");
    }

    #[test]
    fn pidfile_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pid");
        let p = PidFile::create(path.to_str().unwrap()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        p.remove();
        assert!(!path.exists());
        assert!(PidFile::create("").is_none());
    }
}
