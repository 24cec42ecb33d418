//! `sentinel.toml`: the operator's declarative sentinel configuration.
//!
//! Keys are sentinel.conf directive names (kebab-case). The file is never
//! rewritten; what the sentinel learns at run time goes to the state file
//! (see `state.rs`). Unknown keys and bad values refuse the start with a
//! message naming the file, the key and the reason.

use super::core::{Addr, MasterSetup, Setup};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SentinelConfig {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: String,
    pub announce_ip: Option<String>,
    pub announce_port: Option<u16>,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub requirepass: Option<String>,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    pub loglevel: String,
    pub logfile: String,
    /// Written at startup, removed at a clean exit ("" = none).
    pub pidfile: String,
    /// no | systemd | auto: systemd readiness notifications.
    pub supervised: String,
    pub masters: Vec<MasterConfig>,
    /// The file this came from (INFO config_file).
    pub config_file: Option<PathBuf>,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        SentinelConfig {
            port: 26379,
            // Same default as the data node (`bind = ["127.0.0.1"]`): listen on loopback
            // unless the operator says otherwise.
            bind: vec!["127.0.0.1".into()],
            dir: ".".into(),
            announce_ip: None,
            announce_port: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            requirepass: None,
            sentinel_user: None,
            sentinel_pass: None,
            loglevel: "notice".into(),
            logfile: String::new(),
            pidfile: String::new(),
            supervised: "no".into(),
            masters: Vec::new(),
            config_file: None,
        }
    }
}

/// Every top-level key, for the "unknown key" check and the docs test.
pub const KEYS: &[&str] = &[
    "port",
    "bind",
    "dir",
    "announce-ip",
    "announce-port",
    "resolve-hostnames",
    "announce-hostnames",
    "requirepass",
    "sentinel-user",
    "sentinel-pass",
    "loglevel",
    "logfile",
    "pidfile",
    "supervised",
    "master",
];

/// Every key of a `[[master]]` table.
pub const MASTER_KEYS: &[&str] = &[
    "name",
    "host",
    "port",
    "quorum",
    "down-after-milliseconds",
    "failover-timeout",
    "parallel-syncs",
    "auth-pass",
    "auth-user",
];

fn get_str(v: &toml::Value, key: &str) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        other => Err(format!("key '{}': expected a string (got {})", key, other)),
    }
}

/// Empty string = not set.
fn get_opt_str(v: &toml::Value, key: &str) -> Result<Option<String>, String> {
    let s = get_str(v, key)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

fn get_int(v: &toml::Value, key: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = match v {
        toml::Value::Integer(n) => *n,
        toml::Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("key '{}': expected an integer (got {})", key, v))?,
        other => {
            return Err(format!(
                "key '{}': expected an integer (got {})",
                key, other
            ))
        }
    };
    if n < min || n > max {
        return Err(format!(
            "key '{}': must be between {} and {} inclusive (got {})",
            key, min, max, n
        ));
    }
    Ok(n)
}

fn get_bool(v: &toml::Value, key: &str) -> Result<bool, String> {
    match v {
        toml::Value::Boolean(b) => Ok(*b),
        toml::Value::String(s) if s.eq_ignore_ascii_case("yes") => Ok(true),
        toml::Value::String(s) if s.eq_ignore_ascii_case("no") => Ok(false),
        other => Err(format!(
            "key '{}': expected true/false or \"yes\"/\"no\" (got {})",
            key, other
        )),
    }
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

impl SentinelConfig {
    pub fn load(path: &Path) -> Result<SentinelConfig, String> {
        SentinelConfig::load_with(path, &[])
    }

    /// Load `path`, then apply command-line directives (`--<key> <value>`
    /// for the scalar keys) as if they were keys of the file, with the same
    /// checks and error texts; `[[master]]` sections come from the file only.
    pub fn load_with(
        path: &Path,
        directives: &[(String, String)],
    ) -> Result<SentinelConfig, String> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {}", file, e))?;
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{}: invalid TOML: {}", file, e.message()))?;
        for (key, value) in directives {
            if key == "master" {
                return Err(
                    "command line: key 'master': masters are [[master]] sections of the file"
                        .into(),
                );
            }
            // Strings are accepted wherever the file takes a number or yes/no.
            table.insert(key.clone(), toml::Value::String(value.clone()));
        }
        let what = if directives.is_empty() {
            file
        } else {
            format!("{} + command line", file)
        };
        let mut c = SentinelConfig::from_table(table).map_err(|e| format!("{}: {}", what, e))?;
        c.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        Ok(c)
    }

    pub fn from_toml_str(text: &str) -> Result<SentinelConfig, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("invalid TOML: {}", e.message()))?;
        SentinelConfig::from_table(table)
    }

    fn from_table(table: toml::Table) -> Result<SentinelConfig, String> {
        let mut c = SentinelConfig::default();
        for (key, v) in &table {
            match key.as_str() {
                "port" => c.port = get_int(v, key, 0, 65535)? as u16,
                "bind" => {
                    c.bind = match v {
                        toml::Value::String(s) => {
                            s.split_whitespace().map(str::to_string).collect()
                        }
                        toml::Value::Array(items) => items
                            .iter()
                            .map(|i| get_str(i, key))
                            .collect::<Result<_, _>>()?,
                        other => {
                            return Err(format!(
                                "key 'bind': expected a list of addresses (got {})",
                                other
                            ))
                        }
                    };
                    if c.bind.is_empty() {
                        return Err("key 'bind': at least one address is needed".into());
                    }
                }
                "dir" => {
                    c.dir = get_str(v, key)?;
                    if c.dir.is_empty() {
                        return Err("key 'dir': must not be empty".into());
                    }
                }
                "announce-ip" => c.announce_ip = get_opt_str(v, key)?,
                "announce-port" => {
                    let p = get_int(v, key, 0, 65535)? as u16;
                    c.announce_port = (p != 0).then_some(p);
                }
                "resolve-hostnames" => c.resolve_hostnames = get_bool(v, key)?,
                "announce-hostnames" => c.announce_hostnames = get_bool(v, key)?,
                "requirepass" => c.requirepass = get_opt_str(v, key)?,
                "sentinel-user" => c.sentinel_user = get_opt_str(v, key)?,
                "sentinel-pass" => c.sentinel_pass = get_opt_str(v, key)?,
                "loglevel" => {
                    let l = get_str(v, key)?.to_ascii_lowercase();
                    if !["debug", "verbose", "notice", "warning", "nothing"].contains(&l.as_str()) {
                        return Err(format!(
                            "key 'loglevel': must be one of debug, verbose, notice, warning, nothing (got {})",
                            v
                        ));
                    }
                    c.loglevel = l;
                }
                "logfile" => c.logfile = get_str(v, key)?,
                "pidfile" => c.pidfile = get_str(v, key)?,
                "supervised" => {
                    let l = get_str(v, key)?.to_ascii_lowercase();
                    if !crate::ops::SUPERVISED.contains(&l.as_str()) {
                        return Err(format!(
                            "key 'supervised': must be one of {} (got {})",
                            crate::ops::SUPERVISED.join(", "),
                            v
                        ));
                    }
                    c.supervised = l;
                }
                "master" => {
                    let toml::Value::Array(items) = v else {
                        return Err(
                            "key 'master': must be an array of tables ([[master]] sections)".into(),
                        );
                    };
                    for (i, item) in items.iter().enumerate() {
                        let toml::Value::Table(t) = item else {
                            return Err(format!("[[master]] #{}: must be a table", i + 1));
                        };
                        let m = parse_master(t, c.resolve_hostnames)
                            .map_err(|e| format!("[[master]] #{}: {}", i + 1, e))?;
                        if c.masters.iter().any(|o| o.name == m.name) {
                            return Err(format!(
                                "[[master]] #{}: key 'name': duplicate master name '{}'",
                                i + 1,
                                m.name
                            ));
                        }
                        c.masters.push(m);
                    }
                }
                other => return Err(format!("unknown key '{}'", other)),
            }
        }
        // resolve-hostnames may come after the masters in the file: check again.
        if !c.resolve_hostnames {
            for (i, m) in c.masters.iter().enumerate() {
                if !is_ip(&m.host) {
                    return Err(format!(
                        "[[master]] #{}: key 'host': '{}' is not an IP address (set resolve-hostnames = true to use host names)",
                        i + 1,
                        m.host
                    ));
                }
            }
        }
        Ok(c)
    }

    /// The core's static settings.
    pub fn setup(&self) -> Setup {
        Setup {
            announce_ip: self.announce_ip.clone(),
            announce_port: self.announce_port,
            port: self.port,
            masters: self
                .masters
                .iter()
                .map(|m| MasterSetup {
                    name: m.name.clone(),
                    addr: Addr::new(m.host.clone(), m.port),
                    quorum: m.quorum,
                    down_after_ms: m.down_after_ms,
                    failover_timeout_ms: m.failover_timeout_ms,
                    parallel_syncs: m.parallel_syncs,
                    auth_user: m.auth_user.clone(),
                    auth_pass: m.auth_pass.clone(),
                })
                .collect(),
            resolve_hostnames: self.resolve_hostnames,
            announce_hostnames: self.announce_hostnames,
        }
    }
}

fn parse_master(t: &toml::Table, resolve_hostnames: bool) -> Result<MasterConfig, String> {
    for k in t.keys() {
        if !MASTER_KEYS.contains(&k.as_str()) {
            return Err(format!("unknown key '{}'", k));
        }
    }
    let need = |k: &str| t.get(k).ok_or_else(|| format!("key '{}' is required", k));
    let name = get_str(need("name")?, "name")?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!(
            "key 'name': must be non-empty and contain no spaces (got {:?})",
            name
        ));
    }
    let host = get_str(need("host")?, "host")?;
    if host.is_empty() {
        return Err("key 'host': must not be empty".into());
    }
    // Host names are checked by the caller once resolve-hostnames is known.
    let _ = resolve_hostnames;
    let port = get_int(need("port")?, "port", 1, 65535)? as u16;
    let quorum = get_int(need("quorum")?, "quorum", 1, u32::MAX as i64)? as u32;
    let opt_int = |k: &str, def: i64, min: i64| -> Result<i64, String> {
        match t.get(k) {
            Some(v) => get_int(v, k, min, i64::MAX),
            None => Ok(def),
        }
    };
    let opt_str = |k: &str| -> Result<Option<String>, String> {
        match t.get(k) {
            Some(v) => get_opt_str(v, k),
            None => Ok(None),
        }
    };
    Ok(MasterConfig {
        name,
        host,
        port,
        quorum,
        down_after_ms: opt_int("down-after-milliseconds", 30000, 1)? as u64,
        failover_timeout_ms: opt_int("failover-timeout", 180000, 1)? as u64,
        parallel_syncs: opt_int("parallel-syncs", 1, 1)?.min(u32::MAX as i64) as u32,
        auth_pass: opt_str("auth-pass")?,
        auth_user: opt_str("auth-user")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_full_file() {
        let c = SentinelConfig::from_toml_str("").unwrap();
        assert_eq!(c.port, 26379);
        assert_eq!(c.bind, vec!["127.0.0.1"]);
        assert!(c.masters.is_empty());
        let c = SentinelConfig::from_toml_str(
            "port = 26400\nannounce-ip = \"10.0.0.1\"\nannounce-port = 0\nresolve-hostnames = \"no\"\n\
             [[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 6379\nquorum = 2\n\
             down-after-milliseconds = 1000\nauth-pass = \"\"\n",
        )
        .unwrap();
        assert_eq!(c.port, 26400);
        assert_eq!(c.announce_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(c.announce_port, None);
        let m = &c.masters[0];
        assert_eq!(
            (m.down_after_ms, m.failover_timeout_ms, m.parallel_syncs),
            (1000, 180000, 1)
        );
        assert_eq!(m.auth_pass, None);
        let s = c.setup();
        assert_eq!(s.masters[0].addr, Addr::new("127.0.0.1", 6379));
    }

    #[test]
    fn errors_name_the_key() {
        let e = SentinelConfig::from_toml_str("prot = 1").unwrap_err();
        assert_eq!(e, "unknown key 'prot'");
        let e = SentinelConfig::from_toml_str("port = 70000").unwrap_err();
        assert!(e.starts_with("key 'port': must be between"), "{e}");
        let e = SentinelConfig::from_toml_str(
            "[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 1\nquorum = 0\n",
        )
        .unwrap_err();
        assert!(e.starts_with("[[master]] #1: key 'quorum'"), "{e}");
        let e = SentinelConfig::from_toml_str(
            "[[master]]\nname = \"m\"\nhost = \"db.local\"\nport = 1\nquorum = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("key 'host'"), "{e}");
        let e = SentinelConfig::from_toml_str("[[master]]\nname = \"m\"\nhots = 1\n").unwrap_err();
        assert!(e.contains("unknown key 'hots'"), "{e}");
        let e = SentinelConfig::from_toml_str("[[master]]\nname = \"m\"\n").unwrap_err();
        assert!(e.contains("key 'host' is required"), "{e}");
    }

    #[test]
    fn example_file_documents_every_key_and_loads() {
        let text = include_str!("../../config/sentinel.toml");
        for k in KEYS.iter().chain(MASTER_KEYS) {
            let found = text.lines().any(|l| {
                let l = l.trim_start_matches('#').trim_start();
                l.starts_with(&format!("{} ", k)) || l.starts_with(&format!("[[{}]]", k))
            });
            assert!(found, "config/sentinel.toml does not document '{}'", k);
        }
        SentinelConfig::from_toml_str(text).unwrap();
    }
}
