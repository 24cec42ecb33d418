//! The sentinel's state file (`<dir>/sentinel-state.toml`): everything that
//! must survive a restart (myid, epochs, current master addresses, known
//! replicas and sentinels, masters added with SENTINEL MONITOR). Written
//! atomically (temp file, fsync, rename, fsync of the directory).

use super::core::PersistedState;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "sentinel-state.toml";

pub fn path_in(dir: &str) -> PathBuf {
    Path::new(dir).join(FILE_NAME)
}

const HEADER: &str = "# rsredis sentinel state: written by the sentinel on every change, do not edit while it runs.\n\
# The static settings live in sentinel.toml; on start this file wins for myid, epochs,\n\
# current master addresses, known replicas/sentinels and masters added with SENTINEL MONITOR.\n";

pub fn render(state: &PersistedState) -> Result<String, String> {
    let body = toml::to_string(state).map_err(|e| format!("cannot encode state: {}", e))?;
    Ok(format!("{}{}", HEADER, body))
}

pub fn parse(text: &str) -> Result<PersistedState, String> {
    let s: PersistedState = toml::from_str(text).map_err(|e| e.message().to_string())?;
    if s.myid.len() != 40 || !s.myid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("myid must be 40 hex characters (got {:?})", s.myid));
    }
    Ok(s)
}

/// Load the state file if there is one. A file that exists but cannot be
/// read or parsed refuses the start (never silently forget epochs/votes).
pub fn load(path: &Path) -> Result<Option<PersistedState>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse(&t)
            .map(Some)
            .map_err(|e| format!("corrupt state file {}: {}", path.display(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read state file {}: {}", path.display(), e)),
    }
}

pub fn save(path: &Path, state: &PersistedState) -> Result<(), String> {
    let text = render(state)?;
    crate::config::rewrite::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot write state file {}: {}", path.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::core::{Addr, PersistedMaster};

    fn sample() -> PersistedState {
        PersistedState {
            myid: "a".repeat(40),
            current_epoch: 10,
            masters: vec![PersistedMaster {
                name: "mymaster".into(),
                addr: Addr::new("127.0.0.1", 6380),
                quorum: 2,
                down_after_ms: 1000,
                failover_timeout_ms: 5000,
                parallel_syncs: 1,
                auth_user: None,
                auth_pass: Some("pw".into()),
                config_epoch: 3,
                leader_epoch: 10,
                leader: Some("1".repeat(40)),
                known_replicas: vec![Addr::new("127.0.0.1", 6381)],
                known_sentinels: vec![(Addr::new("127.0.0.1", 26380), "b".repeat(40))],
            }],
            removed: vec!["gone".into()],
        }
    }

    #[test]
    fn round_trip_and_atomic_save() {
        let d = tempfile::tempdir().unwrap();
        let p = path_in(d.path().to_str().unwrap());
        assert_eq!(load(&p).unwrap(), None);
        let s = sample();
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), Some(s.clone()));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("current_epoch = 10"), "{text}");
        assert!(text.contains("leader_epoch = 10"), "{text}");
        // Empty lists and no masters survive too.
        let empty = PersistedState {
            myid: "c".repeat(40),
            ..Default::default()
        };
        save(&p, &empty).unwrap();
        assert_eq!(load(&p).unwrap(), Some(empty));
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = path_in(d.path().to_str().unwrap());
        std::fs::write(&p, "myid = 3\n[[[").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.starts_with("corrupt state file"), "{e}");
        std::fs::write(&p, "myid = \"xyz\"\ncurrent_epoch = 1\nmasters = []\n").unwrap();
        assert!(load(&p).unwrap_err().contains("40 hex"));
    }
}
