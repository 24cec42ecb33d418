//! INFO replication and ROLE, in Redis 7.0's exact field order (Sentinel
//! and clients parse these lines).

use super::LinkState;
use crate::resp::Out;
use crate::server::Shared;
use crate::store::Store;
use std::fmt::Write;
use std::sync::atomic::Ordering;

pub fn section(srv: &Shared, store: &Store, s: &mut String) {
    let cfg = srv.config.read();
    s.push_str("# Replication\r\n");
    let master = srv.repl.master.lock();
    match master.as_ref() {
        Some(m) if srv.repl.is_replica() => {
            let _ = write!(s, "role:slave\r\n");
            let _ = write!(s, "master_host:{}\r\n", m.host);
            let _ = write!(s, "master_port:{}\r\n", m.port);
            let up = m.state == LinkState::Connected;
            let _ = write!(
                s,
                "master_link_status:{}\r\n",
                if up { "up" } else { "down" }
            );
            let io = match m.last_io {
                Some(t) if m.handle.is_some() || m.transfer.is_some() => {
                    t.elapsed().as_secs() as i64
                }
                _ => -1,
            };
            let _ = write!(s, "master_last_io_seconds_ago:{}\r\n", io);
            let _ = write!(
                s,
                "master_sync_in_progress:{}\r\n",
                (m.state == LinkState::Sync) as u8
            );
            let _ = write!(s, "slave_read_repl_offset:{}\r\n", store.repl.offset);
            let _ = write!(s, "slave_repl_offset:{}\r\n", store.repl.offset);
            if m.state == LinkState::Sync {
                let (total, read, last) = m.transfer.unwrap_or((-1, 0, std::time::Instant::now()));
                let _ = write!(s, "master_sync_total_bytes:{}\r\n", total);
                let _ = write!(s, "master_sync_read_bytes:{}\r\n", read);
                let left = if total >= 0 { total - read as i64 } else { -1 };
                let _ = write!(s, "master_sync_left_bytes:{}\r\n", left);
                let perc = if total > 0 {
                    read as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                let _ = write!(s, "master_sync_perc:{:.2}\r\n", perc);
                let _ = write!(
                    s,
                    "master_sync_last_io_seconds_ago:{}\r\n",
                    last.elapsed().as_secs()
                );
            }
            if !up {
                let down = match m.down_since {
                    Some(t) if m.ever_up => t.elapsed().as_secs() as i64,
                    _ => -1,
                };
                let _ = write!(s, "master_link_down_since_seconds:{}\r\n", down);
            }
            let _ = write!(s, "slave_priority:{}\r\n", cfg.replica_priority);
            let _ = write!(s, "slave_read_only:{}\r\n", cfg.replica_read_only as u8);
            let _ = write!(s, "replica_announced:{}\r\n", cfg.replica_announced as u8);
        }
        _ => {
            let _ = write!(s, "role:master\r\n");
        }
    }
    drop(master);
    let reps = srv.repl.replicas.lock();
    let _ = write!(s, "connected_slaves:{}\r\n", reps.len());
    if cfg.min_replicas_to_write > 0 && cfg.min_replicas_max_lag > 0 {
        let _ = write!(
            s,
            "min_slaves_good_slaves:{}\r\n",
            srv.repl.good_replicas.load(Ordering::Relaxed)
        );
    }
    let now = crate::util::mono_ms();
    for (i, r) in reps.iter().enumerate() {
        let lag = if r.online() {
            now.saturating_sub(r.last_ack_ms.load(Ordering::Relaxed)) / 1000
        } else {
            0
        };
        let _ = write!(
            s,
            "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
            i,
            r.ip,
            r.port,
            r.state_name(),
            r.ack_offset.load(Ordering::Relaxed),
            lag
        );
    }
    drop(reps);
    let _ = write!(
        s,
        "master_failover_state:{}\r\n",
        super::failover::state(srv).name()
    );
    let ids = srv.repl.ids.lock();
    let _ = write!(s, "master_replid:{}\r\n", ids.replid);
    let _ = write!(s, "master_replid2:{}\r\n", ids.replid2);
    let _ = write!(s, "master_repl_offset:{}\r\n", store.repl.offset);
    let _ = write!(s, "second_repl_offset:{}\r\n", ids.second_offset);
    drop(ids);
    let feed = srv.repl.feed.lock();
    match &feed.backlog {
        Some(b) => {
            let _ = write!(s, "repl_backlog_active:1\r\n");
            let _ = write!(s, "repl_backlog_size:{}\r\n", cfg.repl_backlog_size);
            let _ = write!(s, "repl_backlog_first_byte_offset:{}\r\n", b.first_byte);
            let _ = write!(s, "repl_backlog_histlen:{}\r\n", b.histlen());
        }
        None => {
            let _ = write!(s, "repl_backlog_active:0\r\n");
            let _ = write!(s, "repl_backlog_size:{}\r\n", cfg.repl_backlog_size);
            let _ = write!(s, "repl_backlog_first_byte_offset:0\r\n");
            let _ = write!(s, "repl_backlog_histlen:0\r\n");
        }
    }
}

/// ROLE: `master, offset, [[ip, port, acked]...]` (online replicas only) or
/// `slave, host, port, state, offset`.
pub fn role(srv: &Shared, store: &Store, out: &mut Out) {
    if srv.repl.is_replica() {
        if let Some(m) = srv.repl.master.lock().as_ref() {
            out.array(5);
            out.bulk(b"slave");
            out.bulk(m.host.as_bytes());
            out.int(m.port as i64);
            out.bulk(m.state.name().as_bytes());
            let off = if m.handle.is_some() {
                store.repl.offset as i64
            } else {
                -1
            };
            out.int(off);
            return;
        }
    }
    out.array(3);
    out.bulk(b"master");
    out.int(store.repl.offset as i64);
    let reps = srv.repl.replicas.lock();
    let online: Vec<_> = reps.iter().filter(|r| r.online()).collect();
    out.array(online.len());
    for r in online {
        out.array(3);
        out.bulk(r.ip.as_bytes());
        out.bulk(r.port.to_string().as_bytes());
        out.bulk(r.ack_offset.load(Ordering::Relaxed).to_string().as_bytes());
    }
}
