//! Replication state shared by the master side (replicas attached to us) and
//! the replica side (our link to a master).
//!
//! Lock order: the keyspace lock first, then any lock here. Replication IDs,
//! the backlog and the list of stream receivers change only while the
//! keyspace lock is held, so a PSYNC decision, a snapshot's offset and the
//! stream a replica receives all agree with the one order of writes.

pub mod backlog;
pub mod failover;
pub mod info;
pub mod master;
pub mod payload;
pub mod replica;

use crate::net::client::ClientHandle;
use crate::store::{ReplSink, Store};
use backlog::Backlog;
use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

/// Replication IDs (INFO master_replid, master_replid2, second_repl_offset).
pub struct Ids {
    pub replid: String,
    pub replid2: String,
    /// Offsets up to this one (exclusive of later ones) may be asked for with replid2; -1 = none.
    pub second_offset: i64,
}

impl Ids {
    /// Promotion and `+CONTINUE <newid>`: the old ID stays valid up to `offset + 1`.
    pub fn shift(&mut self, new_id: String, offset: u64) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id);
        self.second_offset = offset as i64 + 1;
        tracing::info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2,
            self.second_offset,
            self.replid
        );
    }

    pub fn clear_secondary(&mut self) {
        self.replid2 = ZERO_ID.to_string();
        self.second_offset = -1;
    }
}

/// One replica attached to us, as INFO/ROLE/WAIT see it.
pub struct ReplicaInfo {
    pub id: u64,
    pub handle: Arc<ClientHandle>,
    pub ip: String,
    pub port: u16,
    pub state: AtomicU8,
    /// Last offset the replica acknowledged.
    pub ack_offset: AtomicU64,
    /// When the last ACK arrived (ms since the server started).
    pub last_ack_ms: AtomicU64,
}

pub const WAIT_BGSAVE: u8 = 0;
pub const SEND_BULK: u8 = 1;
pub const ONLINE: u8 = 2;

impl ReplicaInfo {
    pub fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            WAIT_BGSAVE => "wait_bgsave",
            SEND_BULK => "send_bulk",
            _ => "online",
        }
    }

    pub fn online(&self) -> bool {
        self.state.load(Ordering::Relaxed) == ONLINE
    }
}

/// A live-stream receiver: one replica's share of every byte fed.
pub struct StreamOut {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Bytes>,
    /// Bytes queued for the replica and not yet written to its socket.
    pub pending: Arc<AtomicU64>,
    pub handle: Arc<ClientHandle>,
    pub addr: String,
    /// Since when the pending bytes are above the soft limit.
    pub soft_since: Option<Instant>,
}

/// The replication stream's destination: the backlog plus every replica's
/// queue. It is the Propagator's sink, so it is fed inside the keyspace
/// critical section, in write order.
pub struct Feed {
    pub backlog: Option<Backlog>,
    pub outs: Vec<StreamOut>,
    /// The `slave` class of client-output-buffer-limit (0 = no limit).
    pub limits: OutputLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

impl Feed {
    pub fn push(&mut self, data: &[u8]) {
        if let Some(b) = &mut self.backlog {
            b.push(data);
        }
        if self.outs.is_empty() {
            return;
        }
        let bytes = Bytes::copy_from_slice(data);
        let limits = self.limits;
        self.outs.retain_mut(|o| {
            let pending = o.pending.fetch_add(bytes.len() as u64, Ordering::Relaxed)
                + bytes.len() as u64;
            let soft_expired = if limits.soft > 0 && pending > limits.soft {
                let since = *o.soft_since.get_or_insert_with(Instant::now);
                since.elapsed().as_secs() >= limits.soft_secs
            } else {
                o.soft_since = None;
                false
            };
            if (limits.hard > 0 && pending > limits.hard) || soft_expired {
                tracing::warn!(
                    "Client id={} addr={} flags=S scheduled to be closed ASAP for overcoming of output buffer limits (pending {} bytes).",
                    o.id,
                    o.addr,
                    pending
                );
                o.handle.kill();
                return false;
            }
            o.tx.send(bytes.clone()).is_ok()
        });
    }
}

struct FeedSink(Arc<Mutex<Feed>>);

impl ReplSink for FeedSink {
    fn feed(&mut self, stream: &[u8]) {
        self.0.lock().push(stream);
    }
}

/// The link to our master, as INFO/ROLE show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Sync,
    Connected,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// When the link went down (None while up); `ever_up` false → -1 in INFO.
    pub down_since: Option<Instant>,
    pub ever_up: bool,
    pub last_io: Option<Instant>,
    /// Full sync in progress: (total bytes or -1 for the EOF form, bytes read, last I/O).
    pub transfer: Option<(i64, u64, Instant)>,
    /// Unix time the current full sync started (INFO loading_start_time).
    pub transfer_started: u64,
    /// Try PSYNC with our own replid/offset (false only for a fresh node booted as a replica).
    pub cached: bool,
    /// The DB the master stream had selected (kept across partial resyncs).
    pub stream_db: usize,
    /// The master client's handle while connected (CLIENT LIST flags=M, CLIENT KILL TYPE master).
    pub handle: Option<Arc<ClientHandle>>,
}

pub struct Repl {
    pub ids: Mutex<Ids>,
    pub feed: Arc<Mutex<Feed>>,
    pub replicas: Mutex<Vec<Arc<ReplicaInfo>>>,
    pub master: Mutex<Option<MasterLink>>,
    /// Bumped whenever the master changes: a link task whose generation is old stops.
    pub link_gen: AtomicU64,
    pub link_changed: Notify,
    /// Hot-path flags for the executor's gates.
    pub is_replica: AtomicBool,
    pub link_up: AtomicBool,
    pub good_replicas: AtomicUsize,
    /// Bumped on every ACK (WAIT waits on it).
    pub acks: watch::Sender<u64>,
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// One snapshot at a time for full syncs.
    pub snapshot_gate: Arc<tokio::sync::Mutex<()>>,
    /// Replicas waiting for a full sync (they share the next snapshot).
    pub full_waiting: Mutex<Vec<master::Joiner>>,
    /// When the last replica went away (backlog TTL), ms since start; -1 = replicas attached.
    pub no_replicas_since: AtomicI64,
    /// The FAILOVER command's state (lock order: after the keyspace lock).
    pub failover: Mutex<failover::Failover>,
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            ids: Mutex::new(Ids {
                replid: crate::util::random_hex40(),
                replid2: ZERO_ID.to_string(),
                second_offset: -1,
            }),
            feed: Arc::new(Mutex::new(Feed {
                backlog: None,
                outs: Vec::new(),
                limits: replica_limits(""),
            })),
            replicas: Mutex::new(Vec::new()),
            master: Mutex::new(None),
            link_gen: AtomicU64::new(0),
            link_changed: Notify::new(),
            is_replica: AtomicBool::new(false),
            link_up: AtomicBool::new(false),
            good_replicas: AtomicUsize::new(0),
            acks: watch::channel(0).0,
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            snapshot_gate: Arc::new(tokio::sync::Mutex::new(())),
            full_waiting: Mutex::new(Vec::new()),
            no_replicas_since: AtomicI64::new(0),
            failover: Mutex::new(failover::Failover::default()),
        }
    }
}

impl Repl {
    pub fn is_replica(&self) -> bool {
        self.is_replica.load(Ordering::Relaxed)
    }

    /// Create the backlog (and hook it into the propagator) if there is none.
    /// On a master this is the first replica attaching: like Redis 7.0 we take
    /// a fresh replid and forget replid2, since nobody can continue our old history.
    /// Called with the keyspace lock held.
    pub fn ensure_backlog(&self, store: &mut Store, size: usize, new_id: bool) {
        let mut feed = self.feed.lock();
        if feed.backlog.is_some() {
            return;
        }
        feed.backlog = Some(Backlog::new(size, store.repl.offset + 1));
        drop(feed);
        store.repl.clear_sinks();
        store.repl.add_sink(Box::new(FeedSink(self.feed.clone())));
        if new_id {
            let mut ids = self.ids.lock();
            ids.replid = crate::util::random_hex40();
            ids.clear_secondary();
            tracing::info!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                ids.replid,
                ids.replid2
            );
        }
    }

    /// Replace the backlog with an empty one starting after `offset` (a replica after a full sync).
    pub fn reset_backlog(&self, store: &mut Store, size: usize) {
        self.feed.lock().backlog = None;
        self.ensure_backlog(store, size, false);
    }

    /// Close every attached replica's connection (they reconnect and PSYNC again).
    pub fn disconnect_replicas(&self) {
        let mut feed = self.feed.lock();
        for o in feed.outs.drain(..) {
            o.handle.kill();
        }
        drop(feed);
        for r in self.replicas.lock().iter() {
            r.handle.kill();
        }
    }

    /// Count replicas that are online and acked within `max_lag` seconds.
    pub fn count_good(&self, max_lag: u64, now_ms: u64) -> usize {
        self.replicas
            .lock()
            .iter()
            .filter(|r| {
                r.online()
                    && now_ms.saturating_sub(r.last_ack_ms.load(Ordering::Relaxed))
                        <= max_lag * 1000
            })
            .count()
    }

    /// Replicas (online) whose acked offset reached `offset` (WAIT).
    pub fn count_acked(&self, offset: u64) -> usize {
        self.replicas
            .lock()
            .iter()
            .filter(|r| r.online() && r.ack_offset.load(Ordering::Relaxed) >= offset)
            .count()
    }

    pub fn notify_acks(&self) {
        self.acks.send_modify(|v| *v += 1);
    }

    /// WAIT's asynchronous half (the connection awaits it without the
    /// keyspace lock): until `replicas` replicas acked `offset`, the
    /// deadline, or the client is killed. Returns the replicas that acked.
    pub async fn wait_acks(
        &self,
        offset: u64,
        replicas: usize,
        deadline: Option<Instant>,
        killed: &AtomicBool,
    ) -> usize {
        let mut acks = self.acks.subscribe();
        loop {
            let n = self.count_acked(offset);
            if n >= replicas
                || deadline.is_some_and(|d| Instant::now() >= d)
                || killed.load(Ordering::Relaxed)
            {
                return n;
            }
            // Re-check at least every 100 ms: a replica dropping off changes no ack counter.
            let until = deadline.unwrap_or_else(|| Instant::now() + Duration::from_millis(100));
            let until = until.min(Instant::now() + Duration::from_millis(100));
            let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(until), acks.changed())
                .await;
        }
    }
}

/// The replica class (`slave`/`replica`) of `client-output-buffer-limit`;
/// Redis's default (256mb 64mb 60) when absent.
pub fn replica_limits(spec: &str) -> OutputLimits {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    for c in parts.chunks(4) {
        if c.len() == 4 && matches!(c[0].to_ascii_lowercase().as_str(), "slave" | "replica") {
            let mem = |s: &str| crate::config::parse_memory(s).unwrap_or(0).max(0) as u64;
            return OutputLimits {
                hard: mem(c[1]),
                soft: mem(c[2]),
                soft_secs: c[3].parse().unwrap_or(0),
            };
        }
    }
    OutputLimits {
        hard: 256 * 1024 * 1024,
        soft: 64 * 1024 * 1024,
        soft_secs: 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_limit_parsing() {
        let l = replica_limits("normal 0 0 0 slave 268435456 67108864 60 pubsub 1 1 1");
        assert_eq!((l.hard, l.soft, l.soft_secs), (268435456, 67108864, 60));
        let l = replica_limits("replica 1mb 0 0");
        assert_eq!((l.hard, l.soft), (1024 * 1024, 0));
    }

    #[test]
    fn feed_drops_a_replica_over_the_hard_limit() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (ptx, _prx) = mpsc::unbounded_channel();
        let a = "127.0.0.1:1".parse().unwrap();
        let handle = Arc::new(ClientHandle::new(7, a, a, ptx));
        let mut feed = Feed {
            backlog: Some(Backlog::new(64, 1)),
            outs: vec![StreamOut {
                id: 7,
                tx,
                pending: Arc::new(AtomicU64::new(0)),
                handle: handle.clone(),
                addr: "x".into(),
                soft_since: None,
            }],
            limits: OutputLimits {
                hard: 10,
                soft: 0,
                soft_secs: 0,
            },
        };
        feed.push(b"12345");
        assert_eq!(rx.try_recv().unwrap(), Bytes::from_static(b"12345"));
        feed.push(b"678901");
        assert!(feed.outs.is_empty());
        assert!(handle.killed.load(Ordering::Relaxed));
        assert_eq!(feed.backlog.as_ref().unwrap().histlen(), 11);
    }

    #[test]
    fn shift_keeps_old_id_valid_to_offset_plus_one() {
        let mut ids = Ids {
            replid: "a".repeat(40),
            replid2: ZERO_ID.into(),
            second_offset: -1,
        };
        ids.shift("b".repeat(40), 332);
        assert_eq!(ids.replid2, "a".repeat(40));
        assert_eq!(ids.second_offset, 333);
    }
}
