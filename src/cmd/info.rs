//! INFO: the server's sections in Redis 7.0's order and field names.

use super::{flags::SENTINEL, Command, Ctx, NOKEYS};
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
    acl: &["dangerous"],
    arity: -1,
    flags: LS | SENTINEL,
    keys: NOKEYS,
    group: "server",
    since: "1.0.0",
    args: "[section [section ...]]",
    summary: "Get information and statistics about the server",
    handler: info,
    sentinel: Some(crate::sentinel::front::info_command),
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
    ("latencystats", false),
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
            "clients" => clients_section(srv, store, &mut s),
            "memory" => memory_section(srv, store, &mut s),
            "persistence" => persistence_section(srv, store, &mut s),
            "stats" => stats_section(srv, store, &mut s),
            "replication" => replication_section(srv, store, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(store, &mut s),
            "errorstats" => errorstats_section(store, &mut s),
            "cluster" => s.push_str(if srv.cluster.get().is_some() {
                "# Cluster\r\ncluster_enabled:1\r\n"
            } else {
                "# Cluster\r\ncluster_enabled:0\r\n"
            }),
            "keyspace" => keyspace_section(store, &mut s),
            "latencystats" => latencystats_section(srv, store, &mut s),
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
    line!(s, "process_supervised:{}", srv.notifier.mode());
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

fn clients_section(srv: &Shared, store: &Store, s: &mut String) {
    let (n, blocked, in_timeout) = {
        let clients = srv.clients.lock();
        let (mut b, mut t) = (0, 0);
        for c in clients.values() {
            let m = c.meta.lock();
            b += c.is_blocked(&m) as usize;
            t += c.in_timeout_table(&m) as usize;
        }
        (clients.len(), b, t)
    };
    let (max_in, max_out) = srv.recent_client_peaks();
    let maxclients = srv.config.read().maxclients;
    s.push_str("# Clients\r\n");
    line!(s, "connected_clients:{}", n);
    // The cluster bus links (inbound and outbound), as Redis counts them.
    let bus = srv.cluster.get().map_or(0, |c| c.links.lock().len());
    line!(s, "cluster_connections:{}", bus);
    line!(s, "maxclients:{}", maxclients);
    line!(s, "client_recent_max_input_buffer:{}", max_in);
    line!(s, "client_recent_max_output_buffer:{}", max_out);
    line!(s, "blocked_clients:{}", blocked);
    line!(s, "tracking_clients:{}", store.tracking.clients());
    line!(s, "clients_in_timeout_table:{}", in_timeout);
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

fn memory_section(srv: &Shared, store: &Store, s: &mut String) {
    let (used, overhead, data) = memory_estimate(store);
    // The Lua slot is only locked under the keyspace lock, which INFO holds.
    let (lua, (nscripts, scripts_bytes)) = match srv.lua.lock().as_ref() {
        Some(e) => (e.vm_memory() as u64, e.cache_stats()),
        None => (0, (0, 0)),
    };
    let (backlog, replicas_out) = {
        let f = srv.repl.feed.lock();
        let pending: u64 = f
            .outs
            .iter()
            .map(|o| o.pending.load(Ordering::Relaxed))
            .sum();
        (
            f.backlog.as_ref().map_or(0, |b| b.histlen() as u64),
            pending,
        )
    };
    // Normal clients: their read buffers and pending replies, as last published.
    let clients_normal: u64 = srv
        .clients
        .lock()
        .values()
        .map(|c| {
            let m = c.meta.lock();
            if m.flags.contains('S') || m.flags.contains('M') {
                0
            } else {
                (m.qbuf + m.qbuf_free + m.omem) as u64
            }
        })
        .sum();
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
    line!(s, "used_memory_lua:{}", lua);
    line!(s, "used_memory_lua_human:{}", bytes_human(lua));
    line!(s, "used_memory_scripts:{}", scripts_bytes);
    line!(
        s,
        "used_memory_scripts_human:{}",
        bytes_human(scripts_bytes as u64)
    );
    line!(s, "number_of_cached_scripts:{}", nscripts);
    // There is no maxmemory limit nor eviction: 0 and noeviction are the truth.
    line!(s, "maxmemory:0");
    line!(s, "maxmemory_human:0B");
    line!(s, "maxmemory_policy:noeviction");
    line!(
        s,
        "mem_fragmentation_ratio:{:.2}",
        rss as f64 / used.max(1) as f64
    );
    line!(s, "mem_fragmentation_bytes:{}", rss as i64 - used as i64);
    // Like Redis 7.0: the backlog's bytes of history, and the replicas' queued stream.
    line!(s, "mem_replication_backlog:{}", backlog);
    line!(s, "mem_clients_slaves:{}", replicas_out);
    line!(s, "mem_clients_normal:{}", clients_normal);
    // No AOF, no defragmenter: truly zero. The allocator is the system's (glibc).
    line!(s, "mem_aof_buffer:{}", srv.aof.buffer_length());
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
    // The startup load runs while clients connect; DEBUG RELOAD holds the
    // keyspace lock, so no INFO runs during that one.
    let p = &srv.persist;
    let loading = p.loading();
    line!(s, "loading:{}", loading as u8);
    // A replica's full sync loads beside the old dataset, which keeps serving
    // reads until the swap: Redis calls that async loading (repl-diskless-load swapdb).
    let sync = srv
        .repl
        .master
        .lock()
        .as_ref()
        .and_then(|m| m.transfer.map(|(t, r, _)| ((t, r), m.transfer_started)));
    line!(s, "async_loading:{}", sync.is_some() as u8);
    let progress = if loading {
        let total = p.loading_total_bytes.load(Ordering::Relaxed) as i64;
        let read = p
            .loading_loaded_bytes
            .load(Ordering::Relaxed)
            .min(total as u64);
        Some(((total, read), p.loading_started.load(Ordering::Relaxed)))
    } else {
        sync
    };
    if let Some(((total, read), started)) = progress {
        let total = total.max(0) as u64;
        let elapsed = (crate::util::now_ms() / 1000).saturating_sub(started);
        line!(s, "loading_start_time:{}", started);
        line!(s, "loading_total_bytes:{}", total);
        line!(s, "loading_loaded_bytes:{}", read);
        let perc = if total > 0 {
            read as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        line!(s, "loading_loaded_perc:{:.2}", perc);
        let eta = if read > 0 && total > 0 {
            (elapsed as f64 * (total.saturating_sub(read)) as f64 / read as f64) as i64
        } else {
            1
        };
        line!(s, "loading_eta_seconds:{}", eta);
    }
    line!(s, "rdb_changes_since_last_save:{}", store.dirty);
    let bg = p.bgsave_in_progress.load(Ordering::Relaxed);
    line!(s, "rdb_bgsave_in_progress:{}", bg as u8);
    line!(
        s,
        "rdb_last_save_time:{}",
        srv.persist.last_save.load(Ordering::Relaxed)
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
    let a = &srv.aof;
    let on = a.enabled();
    let rewriting = a.rewrite_in_progress.load(Ordering::Relaxed);
    line!(s, "aof_enabled:{}", on as u8);
    line!(s, "aof_rewrite_in_progress:{}", rewriting as u8);
    line!(
        s,
        "aof_rewrite_scheduled:{}",
        a.rewrite_scheduled.load(Ordering::Relaxed) as u8
    );
    line!(
        s,
        "aof_last_rewrite_time_sec:{}",
        a.last_rewrite_secs.load(Ordering::Relaxed)
    );
    let cur = if rewriting {
        (crate::util::now_ms().saturating_sub(a.rewrite_started_ms.load(Ordering::Relaxed)) / 1000)
            as i64
    } else {
        -1
    };
    line!(s, "aof_current_rewrite_time_sec:{}", cur);
    line!(
        s,
        "aof_last_bgrewrite_status:{}",
        if a.last_rewrite_failed.load(Ordering::Relaxed) {
            "err"
        } else {
            "ok"
        }
    );
    line!(s, "aof_rewrites:{}", a.rewrites.load(Ordering::Relaxed));
    line!(
        s,
        "aof_rewrites_consecutive_failures:{}",
        a.rewrite_failures.load(Ordering::Relaxed)
    );
    line!(
        s,
        "aof_last_write_status:{}",
        if a.write_ok() { "ok" } else { "err" }
    );
    line!(s, "aof_last_cow_size:0");
    if on {
        line!(s, "aof_current_size:{}", a.current_size());
        line!(s, "aof_base_size:{}", a.base_size.load(Ordering::Relaxed));
        line!(
            s,
            "aof_pending_rewrite:{}",
            a.rewrite_scheduled.load(Ordering::Relaxed) as u8
        );
        line!(s, "aof_buffer_length:{}", a.buffer_length());
        line!(s, "aof_pending_bio_fsync:0");
        line!(
            s,
            "aof_delayed_fsync:{}",
            a.delayed_fsync.load(Ordering::Relaxed)
        );
    }
}

/// Counters behind the instantaneous_* fields: commands, net input, net
/// output, replication input, replication output.
type Rates = [u64; 5];

/// (time of sample, counters at sample, last computed rates per second)
pub(super) static OPS_SAMPLE: parking_lot::Mutex<Option<(Instant, Rates, [f64; 5])>> =
    parking_lot::const_mutex(None);

/// Rates per second since the previous sample (taken at INFO time, at least 100 ms apart).
fn instantaneous(now_counters: Rates) -> [f64; 5] {
    let mut g = OPS_SAMPLE.lock();
    let now = Instant::now();
    match *g {
        None => {
            *g = Some((now, now_counters, [0.0; 5]));
            [0.0; 5]
        }
        Some((t, c, last)) => {
            let el = now.duration_since(t);
            if el < Duration::from_millis(100) {
                return last;
            }
            let mut rates = [0.0; 5];
            for i in 0..5 {
                rates[i] = now_counters[i].saturating_sub(c[i]) as f64 / el.as_secs_f64();
            }
            *g = Some((now, now_counters, rates));
            rates
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
    let (channels, patterns, shard) = {
        let ps = srv.pubsub.lock();
        (ps.channels.len(), ps.patterns.len(), ps.shard.len())
    };
    let (net_in, net_out) = (ld(&st.net_input_bytes), ld(&st.net_output_bytes));
    let (repl_in, repl_out) = (ld(&st.net_repl_input_bytes), ld(&st.net_repl_output_bytes));
    let rates = instantaneous([commands, net_in, net_out, repl_in, repl_out]);
    let es = &store.stats;
    s.push_str("# Stats\r\n");
    line!(
        s,
        "total_connections_received:{}",
        ld(&st.connections_received)
    );
    line!(s, "total_commands_processed:{}", commands);
    line!(s, "instantaneous_ops_per_sec:{}", rates[0] as u64);
    line!(s, "total_net_input_bytes:{}", net_in);
    line!(s, "total_net_output_bytes:{}", net_out);
    line!(s, "total_net_repl_input_bytes:{}", repl_in);
    line!(s, "total_net_repl_output_bytes:{}", repl_out);
    line!(s, "instantaneous_input_kbps:{:.2}", rates[1] / 1024.0);
    line!(s, "instantaneous_output_kbps:{:.2}", rates[2] / 1024.0);
    line!(s, "instantaneous_input_repl_kbps:{:.2}", rates[3] / 1024.0);
    line!(s, "instantaneous_output_repl_kbps:{:.2}", rates[4] / 1024.0);
    line!(s, "rejected_connections:{}", ld(&st.rejected_connections));
    line!(s, "sync_full:{}", ld(&srv.repl.sync_full));
    line!(s, "sync_partial_ok:{}", ld(&srv.repl.sync_partial_ok));
    line!(s, "sync_partial_err:{}", ld(&srv.repl.sync_partial_err));
    line!(s, "expired_keys:{}", es.expired_keys);
    line!(s, "expired_stale_perc:{:.2}", es.expired_stale * 100.0);
    line!(
        s,
        "expired_time_cap_reached_count:{}",
        es.expire_time_cap_reached
    );
    line!(
        s,
        "expire_cycle_cpu_milliseconds:{}",
        es.expire_cycle_us / 1000
    );
    // No maxmemory, no client eviction: nothing is ever evicted.
    line!(s, "evicted_keys:0");
    line!(s, "evicted_clients:0");
    line!(s, "total_eviction_exceeded_time:0");
    line!(s, "current_eviction_exceeded_time:0");
    line!(s, "keyspace_hits:{}", hits);
    line!(s, "keyspace_misses:{}", misses);
    line!(s, "pubsub_channels:{}", channels);
    line!(s, "pubsub_patterns:{}", patterns);
    line!(s, "pubsubshard_channels:{}", shard);
    // Snapshots never fork; MIGRATE does not exist; writable-replica expires
    // are not tracked; no defragmenter: all truly zero.
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
    line!(s, "tracking_total_keys:{}", store.tracking.keys());
    line!(s, "tracking_total_items:{}", store.tracking.items());
    line!(s, "tracking_total_prefixes:{}", store.tracking.prefixes());
    line!(
        s,
        "unexpected_error_replies:{}",
        ld(&st.unexpected_error_replies)
    );
    line!(s, "total_error_replies:{}", ld(&st.error_replies));
    // RESTORE never runs a deep sanitization pass.
    line!(s, "dump_payload_sanitizations:0");
    line!(s, "total_reads_processed:{}", ld(&st.reads_processed));
    line!(s, "total_writes_processed:{}", ld(&st.writes_processed));
    // Redis's I/O threads do not exist: connections do their own I/O on the runtime.
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

/// Per-command latency percentiles (µs), for latency-tracking-info-percentiles.
fn latencystats_section(srv: &Shared, store: &Store, s: &mut String) {
    s.push_str("# Latencystats\r\n");
    let ps: Vec<f64> = srv
        .config
        .read()
        .latency_tracking_info_percentiles
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let mut v: Vec<_> = store.cmdstats.values().collect();
    v.sort_by_key(|c| c.name);
    for c in v {
        let Some(h) = c.latency.as_ref().filter(|h| h.total() > 0) else {
            continue;
        };
        let parts: Vec<String> = ps
            .iter()
            .map(|p| format!("p{}={:.3}", p, h.value_at(*p) as f64 / 1000.0))
            .collect();
        line!(s, "latency_percentiles_usec_{}:{}", c.name, parts.join(","));
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

/// Mean remaining TTL in ms over a sample of the keys with one (0 without any), like
/// Redis's estimate (which it keeps from the active expire cycle's samples).
fn avg_ttl(db: &Db, now: u64) -> u64 {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(now);
    let n = db.expires_len().min(64);
    let (mut sum, mut seen) = (0u64, 0u64);
    for _ in 0..n {
        if let Some(t) = db.random_volatile(&mut rng).and_then(|i| db.entry(i).ttl()) {
            sum += t.saturating_sub(now);
            seen += 1;
        }
    }
    sum.checked_div(seen).unwrap_or(0)
}

fn keyspace_section(store: &Store, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    let now = crate::util::now_ms();
    for (i, db) in store.dbs.iter().enumerate() {
        if !db.is_empty() {
            line!(
                s,
                "db{}:keys={},expires={},avg_ttl={}",
                i,
                db.len(),
                db.expires_len(),
                avg_ttl(db, now)
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
