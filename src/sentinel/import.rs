//! `rsredis sentinel --import-conf sentinel.conf --config sentinel.toml`:
//! migrate a real Redis sentinel. Its `sentinel.conf` (as Redis rewrote it)
//! becomes our declarative `sentinel.toml` plus the state file, keeping the
//! sentinel's `myid`, the epochs, the current master addresses and the known
//! replicas and sentinels, so the replacement is the same sentinel to its
//! peers.

use super::config::SentinelConfig;
use super::core::{Addr, PersistedMaster, PersistedState};
use std::path::{Path, PathBuf};

/// What an import produced: the two files and the directives it skipped.
#[derive(Debug)]
pub struct Imported {
    pub toml_path: PathBuf,
    pub state_path: PathBuf,
    pub skipped: Vec<String>,
}

#[derive(Default)]
struct M {
    name: String,
    host: String,
    port: u16,
    quorum: u32,
    down_after: Option<u64>,
    failover_timeout: Option<u64>,
    parallel_syncs: Option<u32>,
    auth_pass: Option<String>,
    auth_user: Option<String>,
    config_epoch: u64,
    leader_epoch: u64,
    replicas: Vec<Addr>,
    sentinels: Vec<(Addr, String)>,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn num<T: std::str::FromStr>(v: &str, line: usize, what: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("line {}: invalid {} '{}'", line, what, v))
}

fn yes(v: &str) -> bool {
    v.eq_ignore_ascii_case("yes")
}

/// Convert the text of a sentinel.conf into (sentinel.toml text, state).
/// `dir` is the directory the toml will name for the state file.
pub fn convert(text: &str, dir: &str) -> Result<(String, PersistedState, Vec<String>), String> {
    let mut top: Vec<(String, String)> = Vec::new();
    let mut masters: Vec<M> = Vec::new();
    let mut myid = String::new();
    let mut current_epoch = 0u64;
    let mut skipped = Vec::new();
    let mut pending: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args: Vec<String> = crate::resp::split_args(line.as_bytes())
            .ok_or_else(|| format!("line {}: unbalanced quotes", ln))?
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        let key = args[0].to_ascii_lowercase();
        let val = args.get(1).cloned().unwrap_or_default();
        match key.as_str() {
            "port" => top.push(("port".into(), num::<u16>(&val, ln, "port")?.to_string())),
            "bind" => top.push((
                "bind".into(),
                format!(
                    "[{}]",
                    args[1..]
                        .iter()
                        .map(|a| q(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            "requirepass" => top.push(("requirepass".into(), q(&val))),
            "loglevel" => top.push(("loglevel".into(), q(&val.to_ascii_lowercase()))),
            "logfile" => top.push(("logfile".into(), q(&val))),
            "dir" => {} // the state file goes next to the new toml (see `dir` below)
            "sentinel" if args.len() >= 2 => {
                let sub = args[1].to_ascii_lowercase();
                let a = &args[2..];
                match (sub.as_str(), a.len()) {
                    ("myid", 1) => myid = a[0].clone(),
                    ("current-epoch", 1) => current_epoch = num(&a[0], ln, "epoch")?,
                    ("announce-ip", 1) => top.push(("announce-ip".into(), q(&a[0]))),
                    ("announce-port", 1) => top.push((
                        "announce-port".into(),
                        num::<u16>(&a[0], ln, "port")?.to_string(),
                    )),
                    ("resolve-hostnames", 1) => {
                        top.push(("resolve-hostnames".into(), yes(&a[0]).to_string()))
                    }
                    ("announce-hostnames", 1) => {
                        top.push(("announce-hostnames".into(), yes(&a[0]).to_string()))
                    }
                    ("sentinel-user", 1) => top.push(("sentinel-user".into(), q(&a[0]))),
                    ("sentinel-pass", 1) => top.push(("sentinel-pass".into(), q(&a[0]))),
                    ("monitor", 4) => {
                        if masters.iter().any(|m| m.name == a[0]) {
                            return Err(format!("line {}: duplicate master '{}'", ln, a[0]));
                        }
                        masters.push(M {
                            name: a[0].clone(),
                            host: a[1].clone(),
                            port: num(&a[2], ln, "port")?,
                            quorum: num(&a[3], ln, "quorum")?,
                            ..Default::default()
                        });
                    }
                    // Per-master directives may precede their monitor line: apply after.
                    _ => pending.push((ln, args.clone())),
                }
            }
            _ => skipped.push(format!("line {}: {}", ln, line)),
        }
    }
    for (ln, args) in pending {
        let sub = args[1].to_ascii_lowercase();
        let a = &args[2..];
        let known = [
            "down-after-milliseconds",
            "failover-timeout",
            "parallel-syncs",
            "auth-pass",
            "auth-user",
            "config-epoch",
            "leader-epoch",
            "known-replica",
            "known-slave",
            "known-sentinel",
        ];
        if !known.contains(&sub.as_str()) || a.is_empty() {
            skipped.push(format!("line {}: {}", ln, args.join(" ")));
            continue;
        }
        let m = masters
            .iter_mut()
            .find(|m| m.name == a[0])
            .ok_or_else(|| format!("line {}: unknown master '{}'", ln, a[0]))?;
        match (sub.as_str(), a.len()) {
            ("down-after-milliseconds", 2) => m.down_after = Some(num(&a[1], ln, "milliseconds")?),
            ("failover-timeout", 2) => m.failover_timeout = Some(num(&a[1], ln, "milliseconds")?),
            ("parallel-syncs", 2) => m.parallel_syncs = Some(num(&a[1], ln, "number")?),
            ("auth-pass", 2) => m.auth_pass = Some(a[1].clone()),
            ("auth-user", 2) => m.auth_user = Some(a[1].clone()),
            ("config-epoch", 2) => m.config_epoch = num(&a[1], ln, "epoch")?,
            ("leader-epoch", 2) => m.leader_epoch = num(&a[1], ln, "epoch")?,
            ("known-replica" | "known-slave", 3) => m
                .replicas
                .push(Addr::new(a[1].clone(), num(&a[2], ln, "port")?)),
            ("known-sentinel", 4) => m.sentinels.push((
                Addr::new(a[1].clone(), num(&a[2], ln, "port")?),
                a[3].clone(),
            )),
            _ => skipped.push(format!("line {}: {}", ln, args.join(" "))),
        }
    }
    if myid.is_empty() {
        return Err(
            "no 'sentinel myid' line: start the real sentinel once so it writes one".into(),
        );
    }
    let mut out = String::from(
        "# Imported from a Redis sentinel.conf by `rsredis sentinel --import-conf`.\n\
         # Dynamic state (myid, epochs, known replicas and sentinels) is in sentinel-state.toml.\n",
    );
    for (k, v) in &top {
        out.push_str(&format!("{} = {}\n", k, v));
    }
    out.push_str(&format!("dir = {}\n", q(dir)));
    let mut pm = Vec::new();
    for m in &masters {
        out.push_str(&format!(
            "\n[[master]]\nname = {}\nhost = {}\nport = {}\nquorum = {}\n",
            q(&m.name),
            q(&m.host),
            m.port,
            m.quorum
        ));
        if let Some(v) = m.down_after {
            out.push_str(&format!("down-after-milliseconds = {}\n", v));
        }
        if let Some(v) = m.failover_timeout {
            out.push_str(&format!("failover-timeout = {}\n", v));
        }
        if let Some(v) = m.parallel_syncs {
            out.push_str(&format!("parallel-syncs = {}\n", v));
        }
        if let Some(v) = &m.auth_pass {
            out.push_str(&format!("auth-pass = {}\n", q(v)));
        }
        if let Some(v) = &m.auth_user {
            out.push_str(&format!("auth-user = {}\n", q(v)));
        }
        pm.push(PersistedMaster {
            name: m.name.clone(),
            addr: Addr::new(m.host.clone(), m.port),
            quorum: m.quorum,
            down_after_ms: m.down_after.unwrap_or(30000),
            failover_timeout_ms: m.failover_timeout.unwrap_or(180000),
            parallel_syncs: m.parallel_syncs.unwrap_or(1),
            auth_user: m.auth_user.clone(),
            auth_pass: m.auth_pass.clone(),
            config_epoch: m.config_epoch,
            leader_epoch: m.leader_epoch,
            leader: None,
            known_replicas: m.replicas.clone(),
            known_sentinels: m.sentinels.clone(),
        });
    }
    // The result must load like any hand-written file.
    SentinelConfig::from_toml_str(&out).map_err(|e| format!("generated sentinel.toml: {}", e))?;
    let state = PersistedState {
        myid,
        current_epoch,
        masters: pm,
        removed: Vec::new(),
    };
    super::state::parse(&super::state::render(&state)?)?;
    Ok((out, state, skipped))
}

/// Read `conf`, write `toml_path` (refusing to overwrite) and the state file next to it.
pub fn import(conf: &Path, toml_path: &Path) -> Result<Imported, String> {
    let text = std::fs::read_to_string(conf)
        .map_err(|e| format!("{}: cannot read: {}", conf.display(), e))?;
    if toml_path.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            toml_path.display()
        ));
    }
    let dir = toml_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let abs_dir = std::fs::canonicalize(dir)
        .map_err(|e| format!("{}: {}", dir.display(), e))?
        .display()
        .to_string();
    let (toml_text, state, skipped) =
        convert(&text, &abs_dir).map_err(|e| format!("{}: {}", conf.display(), e))?;
    let state_path = super::state::path_in(&abs_dir);
    if state_path.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            state_path.display()
        ));
    }
    crate::config::rewrite::write_atomic(toml_path, toml_text.as_bytes())
        .map_err(|e| format!("{}: {}", toml_path.display(), e))?;
    super::state::save(&state_path, &state)?;
    Ok(Imported {
        toml_path: toml_path.to_path_buf(),
        state_path,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "port 26381\nbind 127.0.0.1\ndaemonize no\ndir \"/tmp\"\n\
        sentinel monitor mymaster 127.0.0.1 16381 2\n\
        sentinel down-after-milliseconds mymaster 3000\n\
        sentinel failover-timeout mymaster 20000\n\
        sentinel myid aa88deb6417830e1e267e36ab833c25c4f91ea01\n\
        sentinel config-epoch mymaster 2\nsentinel leader-epoch mymaster 2\n\
        sentinel current-epoch 2\n\
        sentinel known-replica mymaster 127.0.0.1 16380\n\
        sentinel known-slave mymaster 127.0.0.1 16382\n\
        sentinel known-sentinel mymaster 127.0.0.1 26382 4f65da8b7f9e6af4c739909104c621bf34f9fe25\n\
        latency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n";

    #[test]
    fn converts_a_rewritten_sentinel_conf() {
        let (toml_text, st, skipped) = convert(CONF, "/var/lib/s").unwrap();
        let cfg = SentinelConfig::from_toml_str(&toml_text).unwrap();
        assert_eq!(cfg.port, 26381);
        assert_eq!(cfg.dir, "/var/lib/s");
        assert_eq!(cfg.masters[0].port, 16381);
        assert_eq!(cfg.masters[0].down_after_ms, 3000);
        assert_eq!(cfg.masters[0].failover_timeout_ms, 20000);
        assert_eq!(st.myid, "aa88deb6417830e1e267e36ab833c25c4f91ea01");
        assert_eq!(st.current_epoch, 2);
        let m = &st.masters[0];
        assert_eq!((m.config_epoch, m.leader_epoch), (2, 2));
        assert_eq!(m.known_replicas.len(), 2);
        assert_eq!(m.known_sentinels[0].0, Addr::new("127.0.0.1", 26382));
        assert_eq!(skipped.len(), 3, "{skipped:?}"); // daemonize, latency-tracking, user
    }

    #[test]
    fn refuses_without_myid_or_with_bad_numbers() {
        assert!(convert("sentinel monitor m 127.0.0.1 1 1\n", ".")
            .unwrap_err()
            .contains("myid"));
        assert!(convert("sentinel monitor m 127.0.0.1 x 1\n", ".")
            .unwrap_err()
            .contains("line 1: invalid port"));
    }

    #[test]
    fn import_writes_both_files_once() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("sentinel.conf");
        std::fs::write(&conf, CONF).unwrap();
        let out = d.path().join("sentinel.toml");
        let r = import(&conf, &out).unwrap();
        assert!(r.state_path.exists());
        let loaded = crate::sentinel::state::load(&r.state_path)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.current_epoch, 2);
        assert!(import(&conf, &out).unwrap_err().contains("already exists"));
    }
}
