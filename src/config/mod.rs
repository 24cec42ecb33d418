//! Node configuration: TOML files whose keys are redis.conf directive names.
//!
//! One table (`PARAMS`) declares every parameter once: its name, aliases,
//! type and range, whether CONFIG SET may change it, and how to read and
//! write the typed field. Loading a file, CONFIG GET/SET and CONFIG REWRITE
//! all go through it, so the three can never disagree.

pub mod rewrite;

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    /// Byte sizes: accepts `1gb`, `512mb`, `64k`, plain numbers.
    Memory(i64, i64),
    Str,
    Enum(&'static [&'static str]),
    /// A space-separated list (bind addresses).
    List,
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub struct Param {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub mutable: bool,
    pub get: fn(&Config) -> String,
    pub set: fn(&mut Config, &str, Kind) -> Result<(), String>,
    /// How the value is written back to TOML by CONFIG REWRITE.
    pub toml: fn(&Config) -> String,
}

pub trait ConfVal: Sized {
    fn parse(s: &str, kind: Kind) -> Result<Self, String>;
    fn show(&self) -> String;
    fn toml(&self) -> String;
}

impl ConfVal for i64 {
    fn parse(s: &str, kind: Kind) -> Result<Self, String> {
        let (v, min, max) = match kind {
            Kind::Int(min, max) => (
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?,
                min,
                max,
            ),
            Kind::Memory(min, max) => (
                parse_memory(s).ok_or_else(|| "argument must be a memory value".to_string())?,
                min,
                max,
            ),
            _ => unreachable!("integer field with non-integer kind"),
        };
        if v < min || v > max {
            return Err(format!(
                "argument must be between {} and {} inclusive",
                min, max
            ));
        }
        Ok(v)
    }
    fn show(&self) -> String {
        self.to_string()
    }
    fn toml(&self) -> String {
        self.to_string()
    }
}

impl ConfVal for bool {
    fn parse(s: &str, _: Kind) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err("argument must be 'yes' or 'no'".into()),
        }
    }
    fn show(&self) -> String {
        if *self { "yes" } else { "no" }.into()
    }
    fn toml(&self) -> String {
        self.to_string()
    }
}

impl ConfVal for String {
    fn parse(s: &str, kind: Kind) -> Result<Self, String> {
        if let Kind::Enum(allowed) = kind {
            let l = s.to_ascii_lowercase();
            if !allowed.contains(&l.as_str()) {
                return Err(format!(
                    "argument(s) must be one of the following: {}",
                    allowed.join(", ")
                ));
            }
            return Ok(l);
        }
        Ok(s.to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
    fn toml(&self) -> String {
        toml_string(self)
    }
}

impl ConfVal for Vec<String> {
    fn parse(s: &str, _: Kind) -> Result<Self, String> {
        let v: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        if v.is_empty() {
            return Err("at least one value is needed".into());
        }
        Ok(v)
    }
    fn show(&self) -> String {
        self.join(" ")
    }
    fn toml(&self) -> String {
        format!(
            "[{}]",
            self.iter()
                .map(|s| toml_string(s))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// `save` points: (seconds, changes) pairs; none disables automatic saves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavePoints(pub Vec<(u64, u64)>);

impl ConfVal for SavePoints {
    fn parse(s: &str, _: Kind) -> Result<Self, String> {
        let nums: Vec<&str> = s.split_whitespace().collect();
        if nums.len() % 2 != 0 {
            return Err("Invalid save parameters".into());
        }
        let mut v = Vec::new();
        for pair in nums.chunks(2) {
            match (pair[0].parse::<u64>(), pair[1].parse::<u64>()) {
                (Ok(secs), Ok(changes)) => v.push((secs, changes)),
                _ => return Err("Invalid save parameters".into()),
            }
        }
        Ok(SavePoints(v))
    }
    fn show(&self) -> String {
        self.0
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn toml(&self) -> String {
        toml_string(&self.show())
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Parse `1gb`, `100mb`, `64k`, `1024` like Redis's memtoll.
pub fn parse_memory(s: &str) -> Option<i64> {
    let l = s.trim().to_ascii_lowercase();
    let units: [(&str, i64); 8] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
        ("b", 1),
        ("", 1),
    ];
    for (suffix, mul) in units {
        if let Some(num) = l.strip_suffix(suffix) {
            if num.is_empty() {
                return None;
            }
            return num.parse::<i64>().ok()?.checked_mul(mul);
        }
    }
    None
}

macro_rules! params {
    ($( $field:ident : $ty:ty = $default:expr, $name:literal $([$($alias:literal),*])?, $kind:expr, $mutable:expr; )*) => {
        /// Typed node configuration. Field docs live in README's config reference.
        #[derive(Clone, Debug)]
        pub struct Config {
            $( pub $field: $ty, )*
            /// The file this configuration came from (CONFIG REWRITE writes it back).
            pub config_file: Option<PathBuf>,
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $( $field: $default, )* config_file: None }
            }
        }

        pub static PARAMS: &[Param] = &[
            $( Param {
                name: $name,
                aliases: &[$($($alias),*)?],
                kind: $kind,
                mutable: $mutable,
                get: |c| ConfVal::show(&c.$field),
                set: |c, s, k| { c.$field = <$ty as ConfVal>::parse(s, k)?; Ok(()) },
                toml: |c| ConfVal::toml(&c.$field),
            }, )*
        ];
    };
}

const GB: i64 = 1024 * 1024 * 1024;
const MB: i64 = 1024 * 1024;

params! {
    port: i64 = 6379, "port", Kind::Int(0, 65535), false;
    bind: Vec<String> = vec!["127.0.0.1".into()], "bind", Kind::List, false;
    requirepass: String = String::new(), "requirepass", Kind::Str, true;
    maxclients: i64 = 10000, "maxclients", Kind::Int(1, 1_000_000), true;
    databases: i64 = 16, "databases", Kind::Int(1, 1_000_000), false;
    timeout: i64 = 0, "timeout", Kind::Int(0, i32::MAX as i64), true;
    tcp_keepalive: i64 = 300, "tcp-keepalive", Kind::Int(0, i32::MAX as i64), true;
    dir: String = ".".into(), "dir", Kind::Str, true;
    dbfilename: String = "dump.rdb".into(), "dbfilename", Kind::Str, true;
    save: SavePoints = SavePoints(vec![(3600, 1), (300, 100), (60, 10000)]), "save", Kind::Str, true;
    rdbcompression: bool = true, "rdbcompression", Kind::Bool, true;
    rdbchecksum: bool = true, "rdbchecksum", Kind::Bool, false;
    stop_writes_on_bgsave_error: bool = true, "stop-writes-on-bgsave-error", Kind::Bool, true;
    appendonly: bool = false, "appendonly", Kind::Bool, true;
    appendfilename: String = "appendonly.aof".into(), "appendfilename", Kind::Str, false;
    appenddirname: String = "appendonlydir".into(), "appenddirname", Kind::Str, false;
    appendfsync: String = "everysec".into(), "appendfsync", Kind::Enum(&["always", "everysec", "no"]), true;
    no_appendfsync_on_rewrite: bool = false, "no-appendfsync-on-rewrite", Kind::Bool, true;
    auto_aof_rewrite_percentage: i64 = 100, "auto-aof-rewrite-percentage", Kind::Int(0, i32::MAX as i64), true;
    auto_aof_rewrite_min_size: i64 = 64 * MB, "auto-aof-rewrite-min-size", Kind::Memory(0, i64::MAX), true;
    aof_load_truncated: bool = true, "aof-load-truncated", Kind::Bool, true;
    aof_use_rdb_preamble: bool = true, "aof-use-rdb-preamble", Kind::Bool, true;
    aof_timestamp_enabled: bool = false, "aof-timestamp-enabled", Kind::Bool, true;
    loglevel: String = "notice".into(), "loglevel", Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]), true;
    logfile: String = String::new(), "logfile", Kind::Str, false;
    pidfile: String = String::new(), "pidfile", Kind::Str, false;
    supervised: String = "no".into(), "supervised", Kind::Enum(crate::ops::SUPERVISED), false;
    proto_max_bulk_len: i64 = 512 * MB, "proto-max-bulk-len", Kind::Memory(MB, i64::MAX), true;
    client_query_buffer_limit: i64 = GB, "client-query-buffer-limit", Kind::Memory(MB, i64::MAX), true;
    enable_debug_command: String = "no".into(), "enable-debug-command", Kind::Enum(&["no", "yes", "local"]), false;
    hz: i64 = 10, "hz", Kind::Int(1, 500), true;
    slowlog_log_slower_than: i64 = 10000, "slowlog-log-slower-than", Kind::Int(-1, i64::MAX), true;
    slowlog_max_len: i64 = 128, "slowlog-max-len", Kind::Int(0, i64::MAX), true;
    latency_monitor_threshold: i64 = 0, "latency-monitor-threshold", Kind::Int(0, i64::MAX), true;
    latency_tracking: bool = true, "latency-tracking", Kind::Bool, true;
    latency_tracking_info_percentiles: Vec<String> = vec!["50".into(), "99".into(), "99.9".into()], "latency-tracking-info-percentiles", Kind::List, true;
    busy_reply_threshold: i64 = 5000, "busy-reply-threshold" ["lua-time-limit"], Kind::Int(0, i64::MAX), true;
    io_threads: i64 = 0, "io-threads", Kind::Int(0, 128), false;
    hash_max_listpack_entries: i64 = 512, "hash-max-listpack-entries" ["hash-max-ziplist-entries"], Kind::Int(0, i64::MAX), true;
    hash_max_listpack_value: i64 = 64, "hash-max-listpack-value" ["hash-max-ziplist-value"], Kind::Int(0, i64::MAX), true;
    set_max_intset_entries: i64 = 512, "set-max-intset-entries", Kind::Int(0, i64::MAX), true;
    zset_max_listpack_entries: i64 = 128, "zset-max-listpack-entries" ["zset-max-ziplist-entries"], Kind::Int(0, i64::MAX), true;
    zset_max_listpack_value: i64 = 64, "zset-max-listpack-value" ["zset-max-ziplist-value"], Kind::Int(0, i64::MAX), true;
    list_max_listpack_size: i64 = -2, "list-max-listpack-size" ["list-max-ziplist-size"], Kind::Int(-5, i64::MAX), true;
    stream_node_max_bytes: i64 = 4096, "stream-node-max-bytes", Kind::Memory(0, i64::MAX), true;
    stream_node_max_entries: i64 = 100, "stream-node-max-entries", Kind::Int(0, i64::MAX), true;
    hll_sparse_max_bytes: i64 = 3000, "hll-sparse-max-bytes", Kind::Memory(0, i64::MAX), true;
    lazyfree_lazy_user_del: bool = false, "lazyfree-lazy-user-del", Kind::Bool, true;
    tracking_table_max_keys: i64 = 1_000_000, "tracking-table-max-keys", Kind::Int(0, i64::MAX), true;
    key_load_delay: i64 = 0, "key-load-delay", Kind::Int(i32::MIN as i64, i32::MAX as i64), true;
    replicaof: String = String::new(), "replicaof" ["slaveof"], Kind::Str, false;
    masterauth: String = String::new(), "masterauth", Kind::Str, true;
    masteruser: String = String::new(), "masteruser", Kind::Str, true;
    replica_priority: i64 = 100, "replica-priority" ["slave-priority"], Kind::Int(0, i32::MAX as i64), true;
    replica_read_only: bool = true, "replica-read-only" ["slave-read-only"], Kind::Bool, true;
    replica_serve_stale_data: bool = true, "replica-serve-stale-data" ["slave-serve-stale-data"], Kind::Bool, true;
    replica_announce_ip: String = String::new(), "replica-announce-ip" ["slave-announce-ip"], Kind::Str, true;
    replica_announce_port: i64 = 0, "replica-announce-port" ["slave-announce-port"], Kind::Int(0, 65535), true;
    replica_announced: bool = true, "replica-announced", Kind::Bool, true;
    min_replicas_to_write: i64 = 0, "min-replicas-to-write" ["min-slaves-to-write"], Kind::Int(0, i32::MAX as i64), true;
    min_replicas_max_lag: i64 = 10, "min-replicas-max-lag" ["min-slaves-max-lag"], Kind::Int(0, i32::MAX as i64), true;
    repl_backlog_size: i64 = MB, "repl-backlog-size", Kind::Memory(16 * 1024, i64::MAX), true;
    repl_backlog_ttl: i64 = 3600, "repl-backlog-ttl", Kind::Int(0, i32::MAX as i64), true;
    repl_ping_replica_period: i64 = 10, "repl-ping-replica-period" ["repl-ping-slave-period"], Kind::Int(1, i32::MAX as i64), true;
    repl_timeout: i64 = 60, "repl-timeout", Kind::Int(1, i32::MAX as i64), true;
    repl_diskless_sync: bool = true, "repl-diskless-sync", Kind::Bool, true;
    repl_diskless_sync_delay: i64 = 5, "repl-diskless-sync-delay", Kind::Int(0, i32::MAX as i64), true;
    cluster_enabled: bool = false, "cluster-enabled", Kind::Bool, false;
    cluster_config_file: String = "nodes.conf".into(), "cluster-config-file", Kind::Str, false;
    cluster_node_timeout: i64 = 15000, "cluster-node-timeout", Kind::Int(0, i64::MAX), true;
    cluster_port: i64 = 0, "cluster-port", Kind::Int(0, 65535), false;
    cluster_announce_ip: String = String::new(), "cluster-announce-ip", Kind::Str, true;
    cluster_announce_port: i64 = 0, "cluster-announce-port", Kind::Int(0, 65535), true;
    cluster_announce_bus_port: i64 = 0, "cluster-announce-bus-port", Kind::Int(0, 65535), true;
    cluster_announce_hostname: String = String::new(), "cluster-announce-hostname", Kind::Str, true;
    cluster_preferred_endpoint_type: String = "ip".into(), "cluster-preferred-endpoint-type", Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), true;
    cluster_replica_validity_factor: i64 = 10, "cluster-replica-validity-factor" ["cluster-slave-validity-factor"], Kind::Int(0, i32::MAX as i64), true;
    cluster_require_full_coverage: bool = true, "cluster-require-full-coverage", Kind::Bool, true;
    cluster_allow_reads_when_down: bool = false, "cluster-allow-reads-when-down", Kind::Bool, true;
    cluster_allow_replica_migration: bool = true, "cluster-allow-replica-migration", Kind::Bool, true;
    cluster_migration_barrier: i64 = 1, "cluster-migration-barrier", Kind::Int(0, i32::MAX as i64), true;
    cluster_replica_no_failover: bool = false, "cluster-replica-no-failover" ["cluster-slave-no-failover"], Kind::Bool, true;
    cluster_allow_pubsubshard_when_down: bool = true, "cluster-allow-pubsubshard-when-down", Kind::Bool, true;
    client_output_buffer_limit: String = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60".into(), "client-output-buffer-limit", Kind::Str, true;
}

pub fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| {
        p.name.eq_ignore_ascii_case(name) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// A startup config error: which file, which key, why.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// TOML scalars and arrays as the redis.conf text they stand for.
fn toml_to_text(v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => if *b { "yes" } else { "no" }.into(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Array(items) => {
            let mut parts = Vec::new();
            for i in items {
                match i {
                    toml::Value::String(s) => parts.push(s.clone()),
                    toml::Value::Integer(n) => parts.push(n.to_string()),
                    _ => return Err("array items must be strings".into()),
                }
            }
            parts.join(" ")
        }
        toml::Value::Table(_) => return Err("a table is not allowed here".into()),
        toml::Value::Datetime(_) => return Err("a date is not allowed here".into()),
    })
}

impl Config {
    /// Load a node config file. Unknown keys, wrong types and out-of-range values are refused.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {}", file, e)))?;
        let mut cfg =
            Config::from_toml_str(&text).map_err(|e| ConfigError(format!("{}: {}", file, e)))?;
        cfg.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        Ok(cfg)
    }

    pub fn from_toml_str(text: &str) -> Result<Config, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("invalid TOML: {}", e.message()))?;
        let mut cfg = Config::default();
        for (key, value) in &table {
            let p = find_param(key).ok_or_else(|| format!("unknown key '{}'", key))?;
            let text = toml_to_text(value).map_err(|e| format!("key '{}': {}", key, e))?;
            (p.set)(&mut cfg, &text, p.kind)
                .map_err(|e| format!("key '{}': {} (got {})", key, e, value))?;
        }
        Ok(cfg)
    }

    /// Set one parameter by name (CONFIG SET semantics; immutables refused).
    pub fn set(&mut self, name: &str, value: &str) -> Result<&'static Param, String> {
        let p = find_param(name).ok_or_else(|| {
            format!(
                "Unknown option or number of arguments for CONFIG SET - '{}'",
                name
            )
        })?;
        if !p.mutable {
            return Err(format!("CONFIG SET failed (possibly related to argument '{}') - can't set immutable config", name));
        }
        (p.set)(self, value, p.kind).map_err(|e| {
            format!(
                "CONFIG SET failed (possibly related to argument '{}') - {}",
                name, e
            )
        })?;
        Ok(p)
    }

    pub fn get(&self, name: &str) -> Option<String> {
        find_param(name).map(|p| (p.get)(self))
    }

    /// Apply command-line directives over the file: the same keys, aliases,
    /// validation and error texts as a key of the file.
    pub fn apply_directives(&mut self, directives: &[(String, String)]) -> Result<(), String> {
        for (key, value) in directives {
            let p = find_param(key).ok_or_else(|| format!("unknown key '{}'", key))?;
            (p.set)(self, value, p.kind)
                .map_err(|e| format!("key '{}': {} (got {})", key, e, toml_string(value)))?;
        }
        Ok(())
    }
}

/// Command-line directives as redis-server takes them after its config file:
/// each `--<key>` starts a directive and the arguments up to the next one are
/// its value, joined by spaces (`--replicaof redis-master 6379` and
/// `--replicaof "redis-master 6379"` are the same; `--save ""` is empty).
pub fn parse_directives(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for a in args {
        match a.strip_prefix("--") {
            Some(key) if !key.is_empty() => out.push((key.to_ascii_lowercase(), Vec::new())),
            _ => match out.last_mut() {
                Some((_, words)) => words.push(a),
                None => return Err(format!("'{}' is not a --<key> <value> directive", a)),
            },
        }
    }
    Ok(out
        .into_iter()
        .map(|(k, words)| (k, words.join(" ")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_like_redis() {
        let c = Config::default();
        assert_eq!(c.port, 6379);
        assert_eq!(c.get("proto-max-bulk-len").unwrap(), "536870912");
        assert_eq!(c.get("BIND").unwrap(), "127.0.0.1");
    }

    #[test]
    fn toml_loading_and_errors_name_the_key() {
        let c = Config::from_toml_str("port = 7000\nbind = [\"127.0.0.1\", \"::1\"]\nrequirepass = \"s3cret\"\nproto-max-bulk-len = \"2mb\"\n").unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.proto_max_bulk_len, 2 * MB);
        let e = Config::from_toml_str("prot = 1").unwrap_err();
        assert_eq!(e, "unknown key 'prot'");
        let e = Config::from_toml_str("port = 70000").unwrap_err();
        assert!(
            e.starts_with("key 'port': argument must be between 0 and 65535"),
            "{e}"
        );
        let e = Config::from_toml_str("port = \"abc\"").unwrap_err();
        assert!(e.contains("key 'port'") && e.contains("integer"), "{e}");
        let e = Config::from_toml_str("loglevel = \"loud\"").unwrap_err();
        assert!(e.contains("key 'loglevel'"), "{e}");
        assert!(Config::from_toml_str("port = ")
            .unwrap_err()
            .starts_with("invalid TOML"));
    }

    #[test]
    fn config_set_rules() {
        let mut c = Config::default();
        c.set("Timeout", "30").unwrap();
        assert_eq!(c.timeout, 30);
        assert!(c
            .set("databases", "4")
            .unwrap_err()
            .contains("can't set immutable config"));
        assert!(c
            .set("nosuch", "1")
            .unwrap_err()
            .starts_with("Unknown option"));
        assert!(c.set("hz", "0").unwrap_err().contains("between 1 and 500"));
    }

    #[test]
    fn command_line_directives_override_with_file_errors() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = parse_directives(&args(&[
            "--replicaof",
            "redis-master",
            "6379",
            "--requirepass",
            "s3cret",
            "--save",
            "",
            "--min-replicas-to-write",
            "1",
            "--bind",
            "127.0.0.1",
            "::1",
        ]))
        .unwrap();
        assert_eq!(d[0], ("replicaof".into(), "redis-master 6379".into()));
        let mut c = Config::from_toml_str("requirepass = \"old\"\nport = 7000\n").unwrap();
        c.apply_directives(&d).unwrap();
        assert_eq!(c.replicaof, "redis-master 6379");
        assert_eq!(c.requirepass, "s3cret");
        assert_eq!(c.save, SavePoints(vec![]));
        assert_eq!(c.min_replicas_to_write, 1);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.port, 7000);
        // Aliases and immutables are accepted as in the file.
        let d = parse_directives(&args(&["--slaveof", "h 1", "--databases", "4"])).unwrap();
        c.apply_directives(&d).unwrap();
        assert_eq!((c.replicaof.as_str(), c.databases), ("h 1", 4));
        let e = c
            .apply_directives(&parse_directives(&args(&["--prot", "1"])).unwrap())
            .unwrap_err();
        assert_eq!(e, "unknown key 'prot'");
        let e = c
            .apply_directives(&parse_directives(&args(&["--port", "70000"])).unwrap())
            .unwrap_err();
        assert_eq!(
            e,
            "key 'port': argument must be between 0 and 65535 inclusive (got \"70000\")"
        );
        assert!(parse_directives(&args(&["6379"])).is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(GB));
        assert_eq!(parse_memory("64k"), Some(64_000));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("x"), None);
    }
}
