//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSH*, TIME, LASTSAVE,
//! SHUTDOWN, DEBUG, SLOWLOG, MEMORY.

use super::{cmd, container, flags::*, table, Command, Ctx, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::server::Shared;
use crate::store::{Db, Store};
use crate::util::{eq_ic, parse_f64, parse_i64};
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const LS: u32 = LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    cmd(
        "info",
        -1,
        LS,
        NOKEYS,
        "server",
        "1.0.0",
        "[section [section ...]]",
        "Get information and statistics about the server",
        info,
    ),
    // COMMAND is a container that also runs on its own (arity -1): the
    // executor resolves a bare `COMMAND` to this declaration.
    Command {
        name: "command",
        arity: -1,
        flags: LS,
        first_key: 0,
        last_key: 0,
        step: 0,
        group: "server",
        summary: "Get array of Redis command details",
        since: "2.8.13",
        args: "",
        handler: command_all,
        subcommands: COMMAND_SUBS,
    },
    container(
        "config",
        -2,
        0,
        "server",
        "2.0.0",
        "A container for server configuration commands",
        CONFIG_SUBS,
    ),
    cmd(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        NOKEYS,
        "server",
        "2.8.12",
        "",
        "Returns the replication role.",
        role,
    ),
    cmd(
        "dbsize",
        1,
        READONLY | FAST,
        NOKEYS,
        "server",
        "1.0.0",
        "",
        "Return the number of keys in the selected database",
        dbsize,
    ),
    cmd(
        "flushdb",
        -1,
        WRITE,
        NOKEYS,
        "server",
        "1.0.0",
        "[ASYNC|SYNC]",
        "Remove all keys from the current database",
        flushdb,
    ),
    cmd(
        "flushall",
        -1,
        WRITE,
        NOKEYS,
        "server",
        "1.0.0",
        "[ASYNC|SYNC]",
        "Remove all keys from all databases",
        flushall,
    ),
    cmd(
        "time",
        1,
        LS | FAST,
        NOKEYS,
        "server",
        "2.6.0",
        "",
        "Return the current server time",
        time,
    ),
    cmd(
        "lastsave",
        1,
        LS | FAST,
        NOKEYS,
        "server",
        "1.0.0",
        "",
        "Get the UNIX time stamp of the last successful save to disk",
        lastsave,
    ),
    cmd(
        "shutdown",
        -1,
        ADM | NO_MULTI | ALLOW_BUSY,
        NOKEYS,
        "server",
        "1.0.0",
        "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
        "Synchronously save the dataset to disk and then shut down the server",
        shutdown,
    ),
    cmd(
        "debug",
        -2,
        ADM,
        NOKEYS,
        "server",
        "1.0.0",
        "subcommand [argument ...]",
        "A container for debugging commands",
        debug,
    ),
    container(
        "slowlog",
        -2,
        0,
        "server",
        "2.2.12",
        "A container for slow log commands",
        SLOWLOG_SUBS,
    ),
    container(
        "memory",
        -2,
        0,
        "server",
        "4.0.0",
        "A container for memory diagnostics commands",
        MEMORY_SUBS,
    ),
];

static COMMAND_SUBS: &[Command] = &[
    cmd(
        "command|count",
        2,
        LS,
        NOKEYS,
        "server",
        "2.8.13",
        "",
        "Get total number of Redis commands",
        command_count,
    ),
    cmd(
        "command|docs",
        -2,
        LS,
        NOKEYS,
        "server",
        "7.0.0",
        "[command-name [command-name ...]]",
        "Get array of specific Redis command documentation",
        command_docs,
    ),
    cmd(
        "command|getkeys",
        -4,
        LS,
        NOKEYS,
        "server",
        "2.8.13",
        "command [arg [arg ...]]",
        "Extract keys given a full Redis command",
        command_getkeys,
    ),
    cmd(
        "command|help",
        2,
        LS,
        NOKEYS,
        "server",
        "5.0.0",
        "",
        "Show helpful text about the different subcommands",
        command_help,
    ),
    cmd(
        "command|info",
        -2,
        LS,
        NOKEYS,
        "server",
        "2.8.13",
        "[command-name [command-name ...]]",
        "Get array of specific Redis command details, or all when no argument is given.",
        command_info,
    ),
    cmd(
        "command|list",
        -2,
        LS,
        NOKEYS,
        "server",
        "7.0.0",
        "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]",
        "Get an array of Redis command names",
        command_list,
    ),
];

static CONFIG_SUBS: &[Command] = &[
    cmd(
        "config|get",
        -3,
        ADM,
        NOKEYS,
        "server",
        "2.0.0",
        "parameter [parameter ...]",
        "Get the values of configuration parameters",
        config_get,
    ),
    cmd(
        "config|set",
        -4,
        ADM,
        NOKEYS,
        "server",
        "2.0.0",
        "parameter value [parameter value ...]",
        "Set configuration parameters to the given values",
        config_set,
    ),
    cmd(
        "config|resetstat",
        2,
        ADM,
        NOKEYS,
        "server",
        "2.0.0",
        "",
        "Reset the stats returned by INFO",
        config_resetstat,
    ),
    cmd(
        "config|rewrite",
        2,
        ADM,
        NOKEYS,
        "server",
        "2.8.0",
        "",
        "Rewrite the configuration file with the in memory configuration",
        config_rewrite,
    ),
    cmd(
        "config|help",
        2,
        LS,
        NOKEYS,
        "server",
        "5.0.0",
        "",
        "Show helpful text about the different subcommands",
        config_help,
    ),
];

static SLOWLOG_SUBS: &[Command] = &[
    cmd(
        "slowlog|get",
        -2,
        ADMIN | LS,
        NOKEYS,
        "server",
        "2.2.12",
        "[count]",
        "Get the slow log's entries",
        slowlog_get,
    ),
    cmd(
        "slowlog|len",
        2,
        ADMIN | LS,
        NOKEYS,
        "server",
        "2.2.12",
        "",
        "Get the slow log's length",
        slowlog_len,
    ),
    cmd(
        "slowlog|reset",
        2,
        ADMIN | LS,
        NOKEYS,
        "server",
        "2.2.12",
        "",
        "Clear all entries from the slow log",
        slowlog_reset,
    ),
    cmd(
        "slowlog|help",
        2,
        LS,
        NOKEYS,
        "server",
        "6.2.0",
        "",
        "Show helpful text about the different subcommands",
        slowlog_help,
    ),
];

static MEMORY_SUBS: &[Command] = &[
    cmd(
        "memory|usage",
        -3,
        READONLY,
        (2, 2, 1),
        "server",
        "4.0.0",
        "key [SAMPLES count]",
        "Estimate the memory usage of a key",
        memory_usage,
    ),
    cmd(
        "memory|doctor",
        2,
        0,
        NOKEYS,
        "server",
        "4.0.0",
        "",
        "Outputs memory problems report",
        memory_doctor,
    ),
    cmd(
        "memory|purge",
        2,
        0,
        NOKEYS,
        "server",
        "4.0.0",
        "",
        "Ask the allocator to release memory",
        memory_purge,
    ),
    cmd(
        "memory|malloc-stats",
        2,
        0,
        NOKEYS,
        "server",
        "4.0.0",
        "",
        "Show allocator internal stats",
        memory_malloc_stats,
    ),
    cmd(
        "memory|help",
        2,
        LS,
        NOKEYS,
        "server",
        "4.0.0",
        "",
        "Show helpful text about the different subcommands",
        memory_help,
    ),
];

fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

fn help(out: &mut Out, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l);
    }
}

/// `strerror`-like text of an I/O error (no "(os error N)" suffix).
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

// ---------------------------------------------------------------- INFO

/// INFO sections in output order, and whether `INFO` alone includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut want = [false; SECTIONS.len()];
    if args.len() == 1 {
        for (w, (_, d)) in want.iter_mut().zip(SECTIONS) {
            *w = *d;
        }
    }
    for a in &args[1..] {
        let a = lower(a);
        for (w, (name, d)) in want.iter_mut().zip(SECTIONS) {
            match a.as_str() {
                "default" => *w |= *d,
                "all" | "everything" => *w = true,
                s if s == *name => *w = true,
                _ => {}
            }
        }
    }
    let names: Vec<&str> = SECTIONS
        .iter()
        .zip(want)
        .filter(|(_, w)| *w)
        .map(|((n, _), _)| *n)
        .collect();
    let text = info_text(ctx.srv, ctx.store, ctx.client.db, &names);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The INFO text for the given (lowercase) section names, in the order given.
pub fn info_text(srv: &Shared, store: &Store, _db: usize, sections: &[&str]) -> String {
    let mut s = String::with_capacity(4096);
    for (i, name) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *name {
            "server" => server_section(srv, &mut s),
            "clients" => clients_section(srv, &mut s),
            "memory" => memory_section(store, &mut s),
            "persistence" => persistence_section(srv, store, &mut s),
            "stats" => stats_section(srv, store, &mut s),
            "replication" => replication_section(srv, store, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(store, &mut s),
            "errorstats" => errorstats_section(store, &mut s),
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(store, &mut s),
            _ => {}
        }
    }
    s
}

macro_rules! line {
    ($s:expr, $($arg:tt)*) => {{
        let _ = write!($s, $($arg)*);
        $s.push_str("\r\n");
    }};
}

fn os_line() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        o => o,
    };
    format!("{} {} {}", os, release, std::env::consts::ARCH)
}

fn server_section(srv: &Shared, s: &mut String) {
    let cfg = srv.config.read();
    let now_us = crate::util::now_us();
    let uptime = srv.uptime_secs();
    s.push_str("# Server\r\n");
    line!(s, "redis_version:{}", crate::REDIS_VERSION);
    line!(s, "redis_git_sha1:00000000");
    line!(s, "redis_git_dirty:0");
    line!(s, "redis_build_id:0");
    line!(s, "redis_mode:standalone");
    line!(s, "os:{}", os_line());
    line!(s, "arch_bits:{}", usize::BITS);
    line!(s, "monotonic_clock:POSIX clock_gettime");
    line!(s, "multiplexing_api:epoll");
    line!(s, "atomicvar_api:c11-builtin");
    line!(s, "gcc_version:0.0.0");
    line!(s, "process_id:{}", std::process::id());
    line!(s, "process_supervised:no");
    line!(s, "run_id:{}", srv.run_id);
    line!(s, "tcp_port:{}", srv.tcp_port.load(Ordering::Relaxed));
    line!(s, "server_time_usec:{}", now_us);
    line!(s, "uptime_in_seconds:{}", uptime);
    line!(s, "uptime_in_days:{}", uptime / 86400);
    line!(s, "hz:{}", cfg.hz);
    line!(s, "configured_hz:{}", cfg.hz);
    line!(s, "lru_clock:{}", (now_us / 1_000_000) & ((1 << 24) - 1));
    line!(
        s,
        "executable:{}",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    line!(
        s,
        "config_file:{}",
        cfg.config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    line!(s, "io_threads_active:0");
}

fn clients_section(srv: &Shared, s: &mut String) {
    let n = srv.clients.lock().len();
    let maxclients = srv.config.read().maxclients;
    s.push_str("# Clients\r\n");
    line!(s, "connected_clients:{}", n);
    line!(s, "cluster_connections:0");
    line!(s, "maxclients:{}", maxclients);
    line!(s, "client_recent_max_input_buffer:0");
    line!(s, "client_recent_max_output_buffer:0");
    line!(s, "blocked_clients:0");
    line!(s, "tracking_clients:0");
    line!(s, "clients_in_timeout_table:0");
}

/// Redis's bytesToHuman.
pub fn bytes_human(n: u64) -> String {
    let d = n as f64;
    const K: f64 = 1024.0;
    if d < K {
        format!("{}B", n)
    } else if d < K * K {
        format!("{:.2}K", d / K)
    } else if d < K * K * K {
        format!("{:.2}M", d / (K * K))
    } else if d < K * K * K * K {
        format!("{:.2}G", d / (K * K * K))
    } else if d < K * K * K * K * K {
        format!("{:.2}T", d / (K * K * K * K))
    } else {
        format!("{:.2}P", d / (K * K * K * K * K))
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let l = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Heap bytes of one key and its value, plus its slab slot and hash slot.
fn entry_bytes(e: &crate::store::Entry) -> usize {
    e.key.heap_size() + e.value.mem_usage()
}

/// Estimated dataset bytes of a database: exact for small ones, sampled for large ones.
fn db_data_bytes(db: &Db) -> usize {
    const EXACT_LIMIT: usize = 20_000;
    if db.len() <= EXACT_LIMIT {
        let mut total = 0;
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 1024, |e| total += entry_bytes(e));
            if cursor == 0 {
                break;
            }
        }
        total
    } else {
        use rand::SeedableRng;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(db.len() as u64);
        let samples = 1000;
        let mut sum = 0;
        for _ in 0..samples {
            if let Some(i) = db.random_idx(&mut rng) {
                sum += entry_bytes(db.entry(i));
            }
        }
        sum * db.len() / samples
    }
}

/// Fixed cost of the server's own structures, counted in used_memory like Redis's startup memory.
const STARTUP_BYTES: u64 = 800 * 1024;
static PEAK: AtomicU64 = AtomicU64::new(0);

/// (used_memory, overhead, dataset) estimates in bytes.
pub fn memory_estimate(store: &Store) -> (u64, u64, u64) {
    let overhead: u64 = store.dbs.iter().map(|d| d.overhead_bytes() as u64).sum();
    let data: u64 = store.dbs.iter().map(|d| db_data_bytes(d) as u64).sum();
    let used = STARTUP_BYTES + overhead + data;
    PEAK.fetch_max(used, Ordering::Relaxed);
    (used, STARTUP_BYTES + overhead, data)
}

fn memory_section(store: &Store, s: &mut String) {
    let (used, overhead, data) = memory_estimate(store);
    let peak = PEAK.load(Ordering::Relaxed).max(used);
    let rss = rss_bytes();
    let sys = total_system_memory();
    let net = used.saturating_sub(STARTUP_BYTES).max(1);
    s.push_str("# Memory\r\n");
    line!(s, "used_memory:{}", used);
    line!(s, "used_memory_human:{}", bytes_human(used));
    line!(s, "used_memory_rss:{}", rss);
    line!(s, "used_memory_rss_human:{}", bytes_human(rss));
    line!(s, "used_memory_peak:{}", peak);
    line!(s, "used_memory_peak_human:{}", bytes_human(peak));
    line!(
        s,
        "used_memory_peak_perc:{:.2}%",
        used as f64 * 100.0 / peak as f64
    );
    line!(s, "used_memory_overhead:{}", overhead);
    line!(s, "used_memory_startup:{}", STARTUP_BYTES);
    line!(s, "used_memory_dataset:{}", data);
    line!(
        s,
        "used_memory_dataset_perc:{:.2}%",
        data as f64 * 100.0 / net as f64
    );
    line!(s, "total_system_memory:{}", sys);
    line!(s, "total_system_memory_human:{}", bytes_human(sys));
    line!(s, "used_memory_lua:0");
    line!(s, "used_memory_lua_human:0B");
    line!(s, "used_memory_scripts:0");
    line!(s, "used_memory_scripts_human:0B");
    line!(s, "number_of_cached_scripts:0");
    line!(s, "maxmemory:0");
    line!(s, "maxmemory_human:0B");
    line!(s, "maxmemory_policy:noeviction");
    line!(
        s,
        "mem_fragmentation_ratio:{:.2}",
        rss as f64 / used.max(1) as f64
    );
    line!(s, "mem_fragmentation_bytes:{}", rss as i64 - used as i64);
    line!(s, "mem_not_counted_for_evict:0");
    line!(s, "mem_replication_backlog:0");
    line!(s, "mem_clients_slaves:0");
    line!(s, "mem_clients_normal:0");
    line!(s, "mem_aof_buffer:0");
    line!(s, "mem_allocator:libc");
    line!(s, "active_defrag_running:0");
    line!(s, "lazyfree_pending_objects:0");
    line!(s, "lazyfreed_objects:0");
}

fn persistence_section(srv: &Shared, store: &Store, s: &mut String) {
    s.push_str("# Persistence\r\n");
    line!(s, "loading:0");
    line!(s, "async_loading:0");
    line!(s, "current_cow_peak:0");
    line!(s, "current_cow_size:0");
    line!(s, "current_cow_size_age:0");
    line!(s, "current_fork_perc:0.00");
    line!(s, "current_save_keys_processed:0");
    line!(s, "current_save_keys_total:0");
    line!(s, "rdb_changes_since_last_save:{}", store.dirty);
    line!(s, "rdb_bgsave_in_progress:0");
    line!(
        s,
        "rdb_last_save_time:{}",
        srv.last_save.load(Ordering::Relaxed)
    );
    line!(s, "rdb_last_bgsave_status:ok");
    line!(s, "rdb_last_bgsave_time_sec:-1");
    line!(s, "rdb_current_bgsave_time_sec:-1");
    line!(s, "rdb_saves:0");
    line!(s, "rdb_last_cow_size:0");
    line!(s, "rdb_last_load_keys_expired:0");
    line!(s, "rdb_last_load_keys_loaded:0");
    line!(s, "aof_enabled:0");
    line!(s, "aof_rewrite_in_progress:0");
    line!(s, "aof_rewrite_scheduled:0");
    line!(s, "aof_last_rewrite_time_sec:-1");
    line!(s, "aof_current_rewrite_time_sec:-1");
    line!(s, "aof_last_bgrewrite_status:ok");
    line!(s, "aof_rewrites:0");
    line!(s, "aof_rewrites_consecutive_failures:0");
    line!(s, "aof_last_write_status:ok");
    line!(s, "aof_last_cow_size:0");
    line!(s, "module_fork_in_progress:0");
    line!(s, "module_fork_last_cow_size:0");
}

/// (time of sample, commands at sample, last computed ops/sec)
static OPS_SAMPLE: parking_lot::Mutex<Option<(Instant, u64, u64)>> = parking_lot::const_mutex(None);

/// Operations per second since the previous sample (at least 100 ms apart).
fn instantaneous_ops(commands: u64) -> u64 {
    let mut g = OPS_SAMPLE.lock();
    let now = Instant::now();
    match *g {
        None => {
            *g = Some((now, commands, 0));
            0
        }
        Some((t, c, last)) => {
            let el = now.duration_since(t);
            if el < Duration::from_millis(100) {
                return last;
            }
            let ops = (commands.saturating_sub(c) as f64 / el.as_secs_f64()) as u64;
            *g = Some((now, commands, ops));
            ops
        }
    }
}

fn stats_section(srv: &Shared, store: &Store, s: &mut String) {
    let st = &srv.stats;
    let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let commands = ld(&st.commands);
    let (hits, misses) = store
        .dbs
        .iter()
        .fold((0, 0), |(h, m), d| (h + d.hits, m + d.misses));
    let (channels, patterns) = {
        let ps = srv.pubsub.lock();
        (ps.channels(None).len(), ps.numpat())
    };
    s.push_str("# Stats\r\n");
    line!(
        s,
        "total_connections_received:{}",
        ld(&st.connections_received)
    );
    line!(s, "total_commands_processed:{}", commands);
    line!(
        s,
        "instantaneous_ops_per_sec:{}",
        instantaneous_ops(commands)
    );
    line!(s, "total_net_input_bytes:{}", ld(&st.net_input_bytes));
    line!(s, "total_net_output_bytes:{}", ld(&st.net_output_bytes));
    line!(s, "total_net_repl_input_bytes:0");
    line!(s, "total_net_repl_output_bytes:0");
    line!(s, "instantaneous_input_kbps:0.00");
    line!(s, "instantaneous_output_kbps:0.00");
    line!(s, "instantaneous_input_repl_kbps:0.00");
    line!(s, "instantaneous_output_repl_kbps:0.00");
    line!(s, "rejected_connections:{}", ld(&st.rejected_connections));
    line!(s, "sync_full:0");
    line!(s, "sync_partial_ok:0");
    line!(s, "sync_partial_err:0");
    line!(s, "expired_keys:{}", store.stats.expired_keys);
    line!(s, "expired_stale_perc:0.00");
    line!(s, "expired_time_cap_reached_count:0");
    line!(s, "expire_cycle_cpu_milliseconds:0");
    line!(s, "evicted_keys:0");
    line!(s, "evicted_clients:0");
    line!(s, "total_eviction_exceeded_time:0");
    line!(s, "current_eviction_exceeded_time:0");
    line!(s, "keyspace_hits:{}", hits);
    line!(s, "keyspace_misses:{}", misses);
    line!(s, "pubsub_channels:{}", channels);
    line!(s, "pubsub_patterns:{}", patterns);
    line!(s, "pubsubshard_channels:0");
    line!(s, "latest_fork_usec:0");
    line!(s, "total_forks:0");
    line!(s, "migrate_cached_sockets:0");
    line!(s, "slave_expires_tracked_keys:0");
    line!(s, "active_defrag_hits:0");
    line!(s, "active_defrag_misses:0");
    line!(s, "active_defrag_key_hits:0");
    line!(s, "active_defrag_key_misses:0");
    line!(s, "total_active_defrag_time:0");
    line!(s, "current_active_defrag_time:0");
    line!(s, "tracking_total_keys:0");
    line!(s, "tracking_total_items:0");
    line!(s, "tracking_total_prefixes:0");
    line!(s, "unexpected_error_replies:0");
    line!(s, "total_error_replies:{}", ld(&st.error_replies));
    line!(s, "dump_payload_sanitizations:0");
    line!(s, "total_reads_processed:0");
    line!(s, "total_writes_processed:0");
    line!(s, "io_threaded_reads_processed:0");
    line!(s, "io_threaded_writes_processed:0");
}

/// The replication section of a master without replicas (§2.1 of the compat contract).
fn replication_section(srv: &Shared, store: &Store, s: &mut String) {
    s.push_str("# Replication\r\n");
    line!(s, "role:master");
    line!(s, "connected_slaves:0");
    line!(s, "master_failover_state:no-failover");
    line!(s, "master_replid:{}", srv.replid.read());
    line!(s, "master_replid2:{}", "0".repeat(40));
    line!(s, "master_repl_offset:{}", store.repl.offset);
    line!(s, "second_repl_offset:-1");
    line!(s, "repl_backlog_active:0");
    line!(s, "repl_backlog_size:1048576");
    line!(s, "repl_backlog_first_byte_offset:0");
    line!(s, "repl_backlog_histlen:0");
}

/// (user, sys) CPU seconds from a /proc stat file.
fn proc_cpu(path: &str) -> (f64, f64, f64, f64) {
    let Ok(t) = std::fs::read_to_string(path) else {
        return (0.0, 0.0, 0.0, 0.0);
    };
    let Some(rest) = t.rfind(')').map(|i| &t[i + 1..]) else {
        return (0.0, 0.0, 0.0, 0.0);
    };
    // Fields after the command name start at field 3 (state).
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(0.0))
        .collect();
    let tick = 100.0;
    let g = |i: usize| f.get(i).copied().unwrap_or(0.0) / tick;
    (g(11), g(12), g(13), g(14))
}

fn cpu_section(s: &mut String) {
    let (user, sys, cuser, csys) = proc_cpu("/proc/self/stat");
    let (tuser, tsys, _, _) = proc_cpu("/proc/thread-self/stat");
    s.push_str("# CPU\r\n");
    line!(s, "used_cpu_sys:{:.6}", sys);
    line!(s, "used_cpu_user:{:.6}", user);
    line!(s, "used_cpu_sys_children:{:.6}", csys);
    line!(s, "used_cpu_user_children:{:.6}", cuser);
    line!(s, "used_cpu_sys_main_thread:{:.6}", tsys);
    line!(s, "used_cpu_user_main_thread:{:.6}", tuser);
}

fn commandstats_section(store: &Store, s: &mut String) {
    s.push_str("# Commandstats\r\n");
    let mut v: Vec<_> = store.cmdstats.iter().collect();
    v.sort_by_key(|(_, c)| c.name);
    for (_, c) in v {
        let name = c.name;
        if c.calls == 0 && c.failed_calls == 0 && c.rejected_calls == 0 {
            continue;
        }
        let per = if c.calls == 0 {
            0.0
        } else {
            c.usec as f64 / c.calls as f64
        };
        line!(
            s,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
            name,
            c.calls,
            c.usec,
            per,
            c.rejected_calls,
            c.failed_calls
        );
    }
}

fn errorstats_section(store: &Store, s: &mut String) {
    s.push_str("# Errorstats\r\n");
    let mut v: Vec<_> = store.errorstats.iter().collect();
    v.sort();
    for (code, n) in v {
        line!(s, "errorstat_{}:count={}", code, n);
    }
}

fn keyspace_section(store: &Store, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    for (i, db) in store.dbs.iter().enumerate() {
        if !db.is_empty() {
            line!(
                s,
                "db{}:keys={},expires={},avg_ttl=0",
                i,
                db.len(),
                db.expires_len()
            );
        }
    }
}

// ---------------------------------------------------------------- CONFIG

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

fn config_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cfg = ctx.srv.config.read();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for a in &args[2..] {
        let pat = String::from_utf8_lossy(a);
        if !has_glob(&pat) {
            if let Some(p) = crate::config::find_param(&pat) {
                if seen.insert(pat.to_ascii_lowercase()) {
                    pairs.push((pat.to_string(), (p.get)(&cfg)));
                }
            }
            continue;
        }
        for p in crate::config::PARAMS {
            for name in std::iter::once(&p.name).chain(p.aliases.iter()) {
                if crate::glob::matches(pat.as_bytes(), name.as_bytes(), true)
                    && seen.insert(name.to_string())
                {
                    pairs.push((name.to_string(), (p.get)(&cfg)));
                }
            }
        }
    }
    drop(cfg);
    // `port = 0` means "let the OS pick": report the port actually in use.
    for (k, v) in &mut pairs {
        if v == "0" && crate::config::find_param(k).is_some_and(|p| p.name == "port") {
            *v = ctx.srv.tcp_port.load(Ordering::Relaxed).to_string();
        }
    }
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if (args.len() - 2) % 2 != 0 {
        return Err(Error::Syntax);
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(&p[0]).into_owned(),
                String::from_utf8_lossy(&p[1]).into_owned(),
            )
        })
        .collect();
    // First every name (unknown, immutable, duplicate), then every value: nothing changes unless all pass.
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, _) in &pairs {
        let Some(p) = crate::config::find_param(name) else {
            return Err(Error::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{}'",
                name
            )));
        };
        if !p.mutable {
            return Err(Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                name
            )));
        }
        if seen.contains(&p.name) {
            return Err(Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                name
            )));
        }
        seen.push(p.name);
    }
    let old_dir = ctx.srv.config.read().dir.clone();
    let mut new = ctx.srv.config.read().clone();
    for (name, value) in &pairs {
        new.set(name, value).map_err(Error::err)?;
    }
    if new.dir != old_dir {
        let arg = pairs
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case("dir"))
            .map_or("dir", |(n, _)| n.as_str());
        std::env::set_current_dir(&new.dir).map_err(|e| {
            Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - {}",
                arg,
                io_text(&e)
            ))
        })?;
        if let Ok(cwd) = std::env::current_dir() {
            new.dir = cwd.display().to_string();
        }
    }
    ctx.store.limits = crate::store::EncodingLimits::from_config(&new);
    *ctx.srv.config.write() = new;
    ctx.srv.config_changed();
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.stats.reset();
    ctx.store.cmdstats.clear();
    ctx.store.errorstats.clear();
    ctx.store.stats.expired_keys = 0;
    for db in &mut ctx.store.dbs {
        db.hits = 0;
        db.misses = 0;
    }
    *OPS_SAMPLE.lock() = None;
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let cfg = ctx.srv.config.read().clone();
    let Some(path) = cfg.config_file.clone() else {
        return Err(Error::err("The server is running without a config file"));
    };
    if let Err(e) = crate::config::rewrite::rewrite(&cfg, &path) {
        tracing::warn!("CONFIG REWRITE failed: {}", e);
        return Err(Error::err(format!(
            "Rewriting config file: {}",
            io_text(&e)
        )));
    }
    tracing::info!("CONFIG REWRITE executed with success.");
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- COMMAND

fn command_info_reply(out: &mut Out, c: &Command) {
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| c.is(*f))
        .map(|(_, n)| *n)
        .collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(c.first_key as i64);
    out.int(c.last_key as i64);
    out.int(c.step as i64);
    let cats = c.acl_categories();
    out.set(cats.len());
    for cat in &cats {
        out.simple(cat);
    }
    out.set(0); // tips
    if c.first_key > 0 {
        out.array(1);
        key_spec_reply(out, c);
    } else {
        out.array(0);
    }
    out.array(c.subcommands.len());
    for s in c.subcommands {
        command_info_reply(out, s);
    }
}

/// One range key spec derived from (first, last, step).
fn key_spec_reply(out: &mut Out, c: &Command) {
    let flags: &[&str] = if c.is(READONLY) {
        &["RO", "access"]
    } else if c.is(WRITE) {
        &["RW", "update"]
    } else {
        &[]
    };
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(c.first_key as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if c.last_key < 0 {
        c.last_key as i64
    } else {
        (c.last_key - c.first_key) as i64
    });
    out.bulk(b"keystep");
    out.int(c.step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// Find a command by `name` or `container|sub`.
fn lookup_full(name: &[u8]) -> Option<&'static Command> {
    let t = table();
    match name.iter().position(|&b| b == b'|') {
        None => t.get(name),
        Some(i) => {
            let c = t.get(&name[..i])?;
            t.subcommand(c, &name[i + 1..])
        }
    }
}

fn command_all(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let all = &table().all;
    ctx.out.array(all.len());
    for c in all {
        command_info_reply(ctx.out, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.int(table().all.len() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for a in &args[2..] {
        match lookup_full(a) {
            Some(c) => command_info_reply(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// One argument of a COMMAND DOCS reply, derived from the synopsis text.
#[derive(Debug, Default, PartialEq)]
struct DocArg {
    name: String,
    kind: &'static str,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    args: Vec<DocArg>,
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase())
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn word_arg(w: &str) -> DocArg {
    if is_token(w) {
        DocArg {
            name: w.to_ascii_lowercase(),
            kind: "pure-token",
            token: Some(w.to_string()),
            ..Default::default()
        }
    } else {
        DocArg {
            name: w.to_string(),
            kind: if w == "key" { "key" } else { "string" },
            ..Default::default()
        }
    }
}

/// Parse a synopsis like `key value [EX seconds|PX ms] [key ...]` into doc arguments.
fn parse_synopsis(s: &str) -> Vec<DocArg> {
    let spaced = s
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('|', " | ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    parse_seq(&toks, &mut pos)
}

/// A sequence up to a closing `]` (consumed by the caller) or the end.
fn parse_seq(toks: &[&str], pos: &mut usize) -> Vec<DocArg> {
    // Alternatives at this level: collect groups split by `|`.
    let mut alts: Vec<Vec<DocArg>> = vec![Vec::new()];
    while *pos < toks.len() {
        let t = toks[*pos];
        *pos += 1;
        let cur = alts.last_mut().expect("one group");
        match t {
            "]" => {
                *pos -= 1;
                break;
            }
            "|" => alts.push(Vec::new()),
            "..." => {
                if let Some(last) = cur.last_mut() {
                    last.multiple = true;
                }
            }
            "[" => {
                let inner = parse_seq(toks, pos);
                if toks.get(*pos) == Some(&"]") {
                    *pos += 1;
                }
                // `x [x ...]` is how a repeated argument is written.
                let repeat = inner.len() == 1
                    && inner[0].multiple
                    && cur.last().is_some_and(|l| l.name == inner[0].name);
                if repeat {
                    if let Some(l) = cur.last_mut() {
                        l.multiple = true;
                    }
                    continue;
                }
                let mut a = if inner.len() == 1 {
                    inner.into_iter().next().expect("one")
                } else {
                    DocArg {
                        name: "block".into(),
                        kind: "block",
                        args: inner,
                        ..Default::default()
                    }
                };
                a.optional = true;
                cur.push(a);
            }
            w => cur.push(word_arg(w)),
        }
    }
    if alts.len() == 1 {
        return alts.pop().expect("one group");
    }
    let args = alts
        .into_iter()
        .map(|mut g| {
            if g.len() == 1 {
                g.pop().expect("one")
            } else {
                DocArg {
                    name: "block".into(),
                    kind: "block",
                    args: g,
                    ..Default::default()
                }
            }
        })
        .collect();
    vec![DocArg {
        name: "choice".into(),
        kind: "oneof",
        args,
        ..Default::default()
    }]
}

fn doc_arg_reply(out: &mut Out, a: &DocArg) {
    let mut flags = Vec::new();
    if a.optional {
        flags.push("optional");
    }
    if a.multiple {
        flags.push("multiple");
    }
    let n = 2
        + usize::from(a.kind == "key")
        + usize::from(a.token.is_some())
        + usize::from(!flags.is_empty())
        + usize::from(!a.args.is_empty());
    out.map(n);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if a.kind == "key" {
        out.bulk(b"key_spec_index");
        out.int(0);
    }
    if let Some(t) = &a.token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if !flags.is_empty() {
        out.bulk(b"flags");
        out.set(flags.len());
        for f in flags {
            out.simple(f);
        }
    }
    if !a.args.is_empty() {
        out.bulk(b"arguments");
        out.array(a.args.len());
        for x in &a.args {
            doc_arg_reply(out, x);
        }
    }
}

fn command_docs_reply(out: &mut Out, c: &Command) {
    let args = parse_synopsis(c.args);
    let n = 3 + usize::from(!args.is_empty()) + usize::from(!c.subcommands.is_empty());
    out.map(n);
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if !args.is_empty() {
        out.bulk(b"arguments");
        out.array(args.len());
        for a in &args {
            doc_arg_reply(out, a);
        }
    }
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(s.name.as_bytes());
            command_docs_reply(out, s);
        }
    }
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cmds: Vec<&'static Command> = if args.len() == 2 {
        table().all.clone()
    } else {
        args[2..].iter().filter_map(|a| lookup_full(a)).collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.name.as_bytes());
        command_docs_reply(ctx.out, c);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    enum Filter {
        None,
        Module,
        AclCat(String),
        Pattern(Bytes),
    }
    let filter = match args.len() {
        2 => Filter::None,
        5 if eq_ic(&args[2], "filterby") => {
            if eq_ic(&args[3], "module") {
                Filter::Module
            } else if eq_ic(&args[3], "aclcat") {
                Filter::AclCat(format!("@{}", lower(&args[4])))
            } else if eq_ic(&args[3], "pattern") {
                Filter::Pattern(args[4].clone())
            } else {
                return Err(Error::Syntax);
            }
        }
        _ => return Err(Error::Syntax),
    };
    let mut names: Vec<&'static str> = Vec::new();
    for c in &table().all {
        for x in std::iter::once(*c).chain(c.subcommands.iter()) {
            let keep = match &filter {
                Filter::None => true,
                Filter::Module => false,
                Filter::AclCat(cat) => x.acl_categories().iter().any(|c| c == cat),
                Filter::Pattern(p) => crate::glob::matches(p, x.name.as_bytes(), true),
            };
            if keep {
                names.push(x.name);
            }
        }
    }
    ctx.out.bulks(names.iter());
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[2..];
    let t = table();
    let Some(mut c) = t.get(&sub[0]) else {
        return Err(Error::err("Invalid command specified"));
    };
    if !c.subcommands.is_empty() && sub.len() >= 2 {
        c = t
            .subcommand(c, &sub[1])
            .ok_or_else(|| Error::err("Invalid command specified"))?;
    }
    if !c.arity_ok(sub.len()) {
        return Err(Error::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = c.key_positions(sub.len());
    if keys.is_empty() {
        return Err(Error::err("The command has no key arguments"));
    }
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(&sub[i]);
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- keyspace-wide

/// ROLE for a master without replicas: `master`, the replication offset, no replicas.
/// The first element is what redis-rb and HAProxy setups check.
fn role(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(ctx.store.repl.offset as i64);
    ctx.out.array(0);
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// `[ASYNC|SYNC]` → true for ASYNC.
fn flush_mode(args: &[Bytes]) -> Result<bool, Error> {
    match args.len() {
        1 => Ok(false),
        2 if eq_ic(&args[1], "async") => Ok(true),
        2 if eq_ic(&args[1], "sync") => Ok(false),
        _ => Err(Error::Syntax),
    }
}

/// Empty one database, keeping its hit/miss counters. Returns the old contents.
fn empty_db(store: &mut Store, i: usize) -> Db {
    let db = &mut store.dbs[i];
    let old = db.take_all();
    db.hits = old.hits;
    db.misses = old.misses;
    old
}

/// Free old database contents, on a background thread for ASYNC.
fn release(old: Vec<Db>, lazy: bool) {
    if lazy {
        let _ = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || drop(old));
    } else {
        drop(old);
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = flush_mode(args)?;
    let i = ctx.client.db;
    let old = empty_db(ctx.store, i);
    let removed = old.len() as u64;
    release(vec![old], lazy);
    ctx.dirty(removed);
    ctx.propagate(args.to_vec());
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = flush_mode(args)?;
    let n = ctx.store.dbs.len();
    let old: Vec<Db> = (0..n).map(|i| empty_db(ctx.store, i)).collect();
    let removed: u64 = old.iter().map(|d| d.len() as u64).sum();
    release(old, lazy);
    ctx.dirty(removed);
    ctx.propagate(args.to_vec());
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out
        .int(ctx.srv.last_save.load(Ordering::Relaxed) as i64);
    Ok(())
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut force, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        match lower(a).as_str() {
            "nosave" => nosave = true,
            "save" => save = true,
            "now" => {}
            "force" => force = true,
            "abort" => abort = true,
            _ => return Err(Error::Syntax),
        }
    }
    if (nosave && save) || (abort && args.len() != 2) {
        return Err(Error::Syntax);
    }
    if abort {
        return Err(Error::err("No shutdown in progress."));
    }
    if save {
        tracing::warn!(
            "SHUTDOWN SAVE requested, but RDB persistence is not available yet: the dataset cannot be saved"
        );
        if !force {
            tracing::warn!(
                "Errors trying to shut down the server. Check the logs for more information."
            );
            return Err(Error::err("Errors trying to SHUTDOWN. Check logs."));
        }
        tracing::warn!("FORCE given: shutting down without saving");
    }
    tracing::info!("SHUTDOWN requested by client {}", ctx.client.handle.addr);
    ctx.post.push(Post::Shutdown);
    Ok(())
}

// ---------------------------------------------------------------- DEBUG

const DEBUG_REFUSED: &str = "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let allowed = match ctx.srv.config.read().enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.client.handle.is_local(),
        _ => false,
    };
    if !allowed {
        return Err(Error::err(DEBUG_REFUSED));
    }
    let sub = lower(&args[1]);
    match (sub.as_str(), args.len()) {
        ("help", 2) => help(
            ctx.out,
            &[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        ("sleep", 3) => {
            let secs = parse_f64(&args[2]).unwrap_or(0.0);
            if secs.is_finite() && secs > 0.0 {
                // Like Redis: the whole server stops, keyspace lock held.
                std::thread::sleep(Duration::from_secs_f64(secs));
            }
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.store.active_expire = parse_i64(&args[2]).unwrap_or(0) != 0;
            ctx.out.ok();
        }
        ("object", 3) => {
            let now = ctx.now;
            let db = &mut ctx.store.dbs[ctx.client.db];
            let idx = db
                .find(&args[2])
                .filter(|&i| {
                    let e = db.entry(i);
                    e.expire == 0 || e.expire > now
                })
                .ok_or(Error::NoSuchKey)?;
            let e = db.entry(idx);
            let idle = (now / 1000).saturating_sub(e.lru as u64);
            let text = format!(
                "Value at:0x{:x} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                idx,
                e.value.encoding(),
                e.value.mem_usage().max(1),
                e.lru & ((1 << 24) - 1),
                idle
            );
            ctx.out.simple(&text);
        }
        _ => {
            return Err(Error::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- SLOWLOG

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let count = match args.get(2) {
        None => 10,
        Some(a) => parse_i64(a)
            .filter(|&c| c >= -1)
            .ok_or_else(|| Error::err("count should be greater than or equal to -1"))?,
    };
    let log = ctx.srv.slowlog.lock();
    let n = if count == -1 {
        log.entries.len()
    } else {
        (count as usize).min(log.entries.len())
    };
    ctx.out.array(n);
    for e in log.entries.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.micros as i64);
        ctx.out.bulks(e.args.iter());
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let n = ctx.srv.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.slowlog.lock().entries.clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- MEMORY

fn memory_usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut j = 3;
    while j < args.len() {
        if eq_ic(&args[j], "samples") && j + 1 < args.len() {
            let n = parse_i64(&args[j + 1]).ok_or(Error::NotInteger)?;
            if n < 0 {
                return Err(Error::Syntax);
            }
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let now = ctx.now;
    let db = &ctx.store.dbs[ctx.client.db];
    let live = db
        .find(&args[2])
        .map(|i| db.entry(i))
        .filter(|e| e.expire == 0 || e.expire > now);
    match live {
        None => ctx.out.null(),
        Some(e) => {
            // Key and value bytes, plus the slab slot and the hash-table slot.
            let n = e.key.len()
                + e.value.mem_usage()
                + std::mem::size_of::<Option<crate::store::Entry>>()
                + 8;
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let (used, _, _) = memory_estimate(ctx.store);
    let text = if used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn memory_purge(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
    Ok(())
}

fn memory_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(bytes_human(512), "512B");
        assert_eq!(bytes_human(916336), "894.86K");
        assert_eq!(bytes_human(11890688), "11.34M");
    }

    #[test]
    fn synopsis_to_doc_args() {
        let a = parse_synopsis("key [key ...]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "key");
        assert!(a[0].multiple);
        let a = parse_synopsis("[ASYNC|SYNC]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "oneof");
        assert!(a[0].optional);
        assert_eq!(a[0].args[0].token.as_deref(), Some("ASYNC"));
        let a = parse_synopsis("[protover [AUTH username password] [SETNAME clientname]]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "block");
        assert_eq!(a[0].args.len(), 3);
        assert!(parse_synopsis("").is_empty());
    }

    #[test]
    fn bare_command_resolves_to_the_container() {
        let r = |v: &[&str]| {
            super::super::exec::resolve(
                &v.iter()
                    .map(|s| Bytes::from(s.to_string()))
                    .collect::<Vec<_>>(),
            )
            .map(|c| c.name)
        };
        assert_eq!(r(&["COMMAND"]), Ok("command"));
        assert_eq!(r(&["command", "count"]), Ok("command|count"));
        assert_eq!(
            r(&["config"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'config' command"
        );
        assert_eq!(
            r(&["command", "getkeys", "get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'command|getkeys' command"
        );
    }

    struct Capture(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);
    impl crate::store::ReplSink for Capture {
        fn feed(&mut self, s: &[u8]) {
            self.0.lock().extend_from_slice(s);
        }
    }

    fn run(
        srv: &Shared,
        client: &mut crate::net::client::Client,
        args: &[&str],
    ) -> (String, Vec<Post>) {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let mut out = Out::new(crate::resp::Proto::Resp2);
        let mut post = Vec::new();
        let mut store = srv.store.lock();
        super::super::exec::run_batch(
            srv,
            &mut store,
            client,
            &mut out,
            &mut post,
            std::slice::from_ref(&args),
        );
        (String::from_utf8_lossy(&out.buf).into_owned(), post)
    }

    fn test_client(srv: &Shared) -> crate::net::client::Client {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let addr: std::net::SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let handle = std::sync::Arc::new(crate::net::client::ClientHandle {
            id: 1,
            addr,
            laddr: addr,
            created: Instant::now(),
            last_active: parking_lot::Mutex::new(Instant::now()),
            meta: Default::default(),
            tx,
            killed: Default::default(),
            kill_notify: Default::default(),
            is_monitor: Default::default(),
        });
        srv.register_client(handle.clone());
        crate::net::client::Client::new(handle, true)
    }

    #[test]
    fn flushes_are_always_propagated() {
        let srv = Shared::new(crate::config::Config::default());
        let cap = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        srv.store
            .lock()
            .repl
            .add_sink(Box::new(Capture(cap.clone())));
        let mut c = test_client(&srv);
        // Even on an empty dataset, like Redis's forced propagation.
        assert_eq!(run(&srv, &mut c, &["FLUSHALL"]).0, "+OK\r\n");
        assert_eq!(run(&srv, &mut c, &["SET", "k", "v"]).0, "+OK\r\n");
        assert_eq!(run(&srv, &mut c, &["FLUSHDB", "ASYNC"]).0, "+OK\r\n");
        assert_eq!(run(&srv, &mut c, &["DBSIZE"]).0, ":0\r\n");
        let stream = String::from_utf8(cap.lock().clone()).unwrap();
        assert_eq!(
            stream,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$8\r\nFLUSHALL\r\n\
             *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$7\r\nFLUSHDB\r\n$5\r\nASYNC\r\n"
        );
        assert_eq!(srv.store.lock().dirty, 2);
    }

    #[test]
    fn shutdown_posts_and_config_set_applies() {
        let srv = Shared::new(crate::config::Config::default());
        let mut c = test_client(&srv);
        let (out, post) = run(&srv, &mut c, &["SHUTDOWN", "NOSAVE", "NOW"]);
        assert_eq!(out, "");
        assert_eq!(post, vec![Post::Shutdown]);
        let (out, _) = run(
            &srv,
            &mut c,
            &[
                "CONFIG",
                "SET",
                "slowlog-log-slower-than",
                "5",
                "maxclients",
                "7",
            ],
        );
        assert_eq!(out, "+OK\r\n");
        assert_eq!(srv.slowlog_threshold.load(Ordering::Relaxed), 5);
        assert_eq!(srv.config.read().maxclients, 7);
        let (out, _) = run(&srv, &mut c, &["CONFIG", "REWRITE"]);
        assert_eq!(out, "-ERR The server is running without a config file\r\n");
        let (out, _) = run(&srv, &mut c, &["INFO", "clients"]);
        assert!(
            out.contains("connected_clients:1\r\nmaxclients:7\r\n")
                || out.contains("maxclients:7\r\n"),
            "{out}"
        );
    }

    #[test]
    fn every_synopsis_parses() {
        for c in &table().all {
            for x in std::iter::once(*c).chain(c.subcommands.iter()) {
                let _ = parse_synopsis(x.args);
            }
        }
    }
}
