//! INFO: the server's sections in Redis 7.0's order and field names.

use super::{Command, Ctx, NOKEYS};
use crate::error::CmdResult;
use crate::server::Shared;
use crate::store::{Db, Store};
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::server::{lower, LS};

pub static COMMANDS: &[Command] = &[Command {
    name: "info",
    arity: -1,
    flags: LS,
    keys: NOKEYS,
    group: "server",
    since: "1.0.0",
    args: "[section [section ...]]",
    summary: "Get information and statistics about the server",
    handler: info,
    ..Command::DEFAULT
}];

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
    line!(
        s,
        "lazyfree_pending_objects:{}",
        crate::store::lazyfree::pending()
    );
    line!(s, "lazyfreed_objects:{}", crate::store::lazyfree::freed());
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
    let p = &srv.persist;
    let bg = p.bgsave_in_progress.load(Ordering::Relaxed);
    line!(s, "rdb_bgsave_in_progress:{}", bg as u8);
    line!(
        s,
        "rdb_last_save_time:{}",
        srv.last_save.load(Ordering::Relaxed)
    );
    let failed = p.last_bgsave_failed.load(Ordering::Relaxed);
    line!(
        s,
        "rdb_last_bgsave_status:{}",
        if failed { "err" } else { "ok" }
    );
    line!(
        s,
        "rdb_last_bgsave_time_sec:{}",
        p.last_bgsave_secs.load(Ordering::Relaxed)
    );
    let current = if bg {
        let started = p.bgsave_started_ms.load(Ordering::Relaxed);
        (crate::util::now_ms().saturating_sub(started) / 1000) as i64
    } else {
        -1
    };
    line!(s, "rdb_current_bgsave_time_sec:{}", current);
    line!(s, "rdb_saves:{}", p.saves.load(Ordering::Relaxed));
    line!(s, "rdb_last_cow_size:0");
    line!(
        s,
        "rdb_last_load_keys_expired:{}",
        p.last_load_keys_expired.load(Ordering::Relaxed)
    );
    line!(
        s,
        "rdb_last_load_keys_loaded:{}",
        p.last_load_keys_loaded.load(Ordering::Relaxed)
    );
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
pub(super) static OPS_SAMPLE: parking_lot::Mutex<Option<(Instant, u64, u64)>> =
    parking_lot::const_mutex(None);

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
        (ps.channels.len(), ps.patterns.len())
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
    line!(s, "sync_full:{}", ld(&srv.repl.sync_full));
    line!(s, "sync_partial_ok:{}", ld(&srv.repl.sync_partial_ok));
    line!(s, "sync_partial_err:{}", ld(&srv.repl.sync_partial_err));
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

/// The replication section (§2.1/§2.2 of the compat contract), kept with the replication state.
fn replication_section(srv: &Shared, store: &Store, s: &mut String) {
    crate::repl::info::section(srv, store, s);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(bytes_human(512), "512B");
        assert_eq!(bytes_human(916336), "894.86K");
        assert_eq!(bytes_human(11890688), "11.34M");
    }
}
