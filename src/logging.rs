//! Logging setup: tracing with a level that CONFIG SET loglevel can change,
//! refined by RUST_LOG when it is set, and a log file reopened on SIGHUP.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

pub fn level_for(loglevel: &str) -> LevelFilter {
    match loglevel {
        "debug" | "verbose" => LevelFilter::DEBUG,
        "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// The filter for `loglevel`, refined by RUST_LOG's directives (for example
/// `rsredis::repl=debug` adds debug lines of replication only; a bare level
/// replaces `loglevel`). Invalid directives are ignored, as RUST_LOG usually is.
pub fn filter_for(loglevel: &str, rust_log: Option<&str>) -> EnvFilter {
    let mut f = EnvFilter::new(level_for(loglevel).to_string());
    for d in rust_log.unwrap_or("").split(',').map(str::trim) {
        if d.is_empty() {
            continue;
        }
        match d.parse() {
            Ok(d) => f = f.add_directive(d),
            Err(e) => eprintln!("rsredis: ignoring RUST_LOG directive '{}': {}", d, e),
        }
    }
    f
}

fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty())
}

/// Changes the log level at run time (CONFIG SET loglevel).
pub type LevelSetter = Box<dyn Fn(&str) + Send + Sync>;

/// The open log file and its configured path (reopened on SIGHUP).
struct LogFile {
    path: String,
    file: Mutex<File>,
}

static LOG_FILE: OnceLock<LogFile> = OnceLock::new();

fn open(path: &str) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Writes each formatted line to the current log file.
struct FileWriter(&'static LogFile);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        // One lock per line: a reopen never splits a line between two files.
        self.0
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reopen the log file at its configured path (logrotate renamed it away).
/// A no-op when logging to stdout.
pub fn reopen() {
    let Some(lf) = LOG_FILE.get() else {
        return;
    };
    match open(&lf.path) {
        Ok(f) => {
            *lf.file.lock().unwrap_or_else(|e| e.into_inner()) = f;
            tracing::info!("Log file reopened: {}", lf.path);
        }
        Err(e) => tracing::warn!("cannot reopen logfile '{}': {}", lf.path, e),
    }
}

/// Reopen the log file on every SIGHUP, for both roles. Installing the
/// handler also stops SIGHUP from killing the process (Redis ignores it too).
pub async fn reopen_on_sighup() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("Received SIGHUP, reopening the log file");
        reopen();
    }
}

/// Install the global subscriber; returns a setter for the level.
pub fn init(loglevel: &str, logfile: &str) -> Result<LevelSetter, String> {
    let env = rust_log();
    let (filter, handle) = reload::Layer::new(filter_for(loglevel, env.as_deref()));
    let registry = tracing_subscriber::registry().with(filter);
    if logfile.is_empty() {
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(env.is_some())
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_writer(std::io::stdout);
        registry.with(fmt).try_init().map_err(|e| e.to_string())?;
    } else {
        let f = open(logfile).map_err(|e| format!("cannot open logfile '{}': {}", logfile, e))?;
        let lf = LOG_FILE.get_or_init(|| LogFile {
            path: logfile.to_string(),
            file: Mutex::new(f),
        });
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(env.is_some())
            .with_ansi(false)
            .with_writer(move || FileWriter(lf));
        registry.with(fmt).try_init().map_err(|e| e.to_string())?;
    }
    let env = Arc::new(env);
    Ok(Box::new(move |lvl: &str| {
        let _ = handle.modify(|f| *f = filter_for(lvl, env.as_deref()));
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_refines_loglevel() {
        assert_eq!(filter_for("notice", None).to_string(), "info");
        let f = filter_for("warning", Some("rsredis::repl=debug")).to_string();
        assert!(
            f.contains("warn") && f.contains("rsredis::repl=debug"),
            "{f}"
        );
        // A bare level replaces loglevel's.
        let f = filter_for("notice", Some("trace")).to_string();
        assert_eq!(f, "trace");
    }
}
