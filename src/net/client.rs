//! Per-connection state. `Client` is owned by the connection task;
//! `ClientHandle` is the part other tasks see (CLIENT LIST/KILL, pub/sub
//! deliveries, MONITOR feeds).

use crate::config::Config;
use crate::resp::Proto;
use crate::store::WatchFlag;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

pub use crate::push::Push;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// CLIENT REPLY SKIP was just executed: the next command's reply is dropped.
    SkipNext,
    Skip,
}

/// Fields CLIENT LIST/INFO show, refreshed by the connection after each batch.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    /// When the client's last batch ran (CLIENT LIST idle=).
    pub last_active: Option<Instant>,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub last_cmd: String,
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    pub multi: i64,
    /// Flags before `b` (which is live) and after it, in Redis's order.
    pub flags: String,
    pub flags_after_b: String,
    /// CLIENT LIST redir= (-1 when not tracking).
    pub redir: i64,
    /// Set when the tracking redirect broke (flag R), shared with tracking.
    pub broken_redir: Option<Arc<AtomicBool>>,
    pub resp: u8,
    pub qbuf: usize,
    /// Spare capacity of the read buffer (CLIENT LIST qbuf-free).
    pub qbuf_free: usize,
    pub omem: usize,
    pub no_evict: bool,
    /// Blocked on keys with a timeout (INFO clients_in_timeout_table, with `waiter.is_blocked()`).
    pub block_deadline: bool,
    /// In WAIT: Some(has a timeout). Counted as blocked, like Redis.
    pub in_wait: Option<bool>,
    /// Largest query buffer / reply buffer since the clients cron last took them
    /// (INFO client_recent_max_input_buffer / output_buffer).
    pub peak_in: usize,
    pub peak_out: usize,
}

pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub meta: Mutex<ClientMeta>,
    pub tx: mpsc::UnboundedSender<Push>,
    pub killed: AtomicBool,
    pub kill_notify: Arc<Notify>,
    pub is_monitor: AtomicBool,
    /// Wake-up handle while blocked on keys (also used by CLIENT UNBLOCK).
    pub waiter: Arc<crate::blocking::Waiter>,
    /// The socket's file descriptor (CLIENT LIST fd=), -1 when there is none.
    pub fd: std::sync::atomic::AtomicI32,
}

impl ClientHandle {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        tx: mpsc::UnboundedSender<Push>,
    ) -> Self {
        ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            meta: Mutex::new(ClientMeta {
                redir: -1,
                ..Default::default()
            }),
            tx,
            killed: AtomicBool::new(false),
            kill_notify: Arc::new(Notify::new()),
            is_monitor: AtomicBool::new(false),
            waiter: Default::default(),
            fd: std::sync::atomic::AtomicI32::new(-1),
        }
    }

    /// Blocked on keys or in WAIT (INFO blocked_clients, CLIENT LIST flag b).
    pub fn is_blocked(&self, m: &ClientMeta) -> bool {
        self.waiter.is_blocked() || m.in_wait.is_some()
    }

    /// Blocked with a deadline (INFO clients_in_timeout_table).
    pub fn in_timeout_table(&self, m: &ClientMeta) -> bool {
        (self.waiter.is_blocked() && m.block_deadline) || m.in_wait == Some(true)
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_notify.notify_one();
    }

    pub fn is_local(&self) -> bool {
        self.addr.ip().is_loopback()
    }

    /// One CLIENT LIST line, in Redis 7.0's field order.
    pub fn info_line(&self) -> String {
        let m = self.meta.lock();
        let now = Instant::now();
        let idle = now
            .duration_since(m.last_active.unwrap_or(self.created))
            .as_secs();
        // `b` is live (the waiter), the rest is what the last batch published.
        let mut flags = m.flags.clone();
        if self.is_blocked(&m) {
            flags.push('b');
        }
        for f in m.flags_after_b.chars() {
            flags.push(f);
            // R (broken redirect) follows t, before B, as in Redis.
            if f == 't'
                && m.broken_redir
                    .as_ref()
                    .is_some_and(|b| b.load(Ordering::Relaxed))
            {
                flags.push('R');
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd.load(Ordering::Relaxed),
            m.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
            now.duration_since(self.created).as_secs(),
            idle,
            flags,
            m.db,
            m.sub,
            m.psub,
            m.ssub,
            m.multi,
            m.qbuf,
            m.qbuf_free,
            m.qbuf + m.qbuf_free,
            m.peak_in,
            m.omem,
            m.omem,
            m.qbuf + m.qbuf_free + m.omem,
            if m.last_cmd.is_empty() { "NULL" } else { &m.last_cmd },
            m.redir,
            m.resp,
            m.lib_name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
            m.lib_ver.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        )
    }
}

pub struct Client {
    pub id: u64,
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub proto: Proto,
    pub authenticated: bool,
    pub name: Option<Bytes>,
    /// Queued commands while in MULTI.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was rejected while queueing: EXEC must answer EXECABORT.
    pub multi_error: bool,
    /// Union of the queued commands' flags: EXEC is admitted with them.
    pub multi_flags: u32,
    /// Some queued command is not allowed on a stale replica.
    pub multi_deny_stale: bool,
    pub watch_flag: WatchFlag,
    pub watched: Vec<(usize, Bytes)>,
    pub subs: HashSet<Bytes>,
    pub psubs: HashSet<Bytes>,
    /// Shard channels (SSUBSCRIBE), counted apart from `subs`/`psubs`.
    pub ssubs: HashSet<Bytes>,
    /// Cluster: ASKING was sent (one command may use an importing slot).
    pub asking: bool,
    /// Cluster: READONLY (reads served by a replica of the slot's master).
    pub cluster_readonly: bool,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// CLIENT TRACKING ON: the options (None: not tracking).
    pub tracking: Option<crate::tracking::Opts>,
    pub last_cmd: &'static str,
    /// When the last batch ran; published with the rest of the meta (one lock per batch).
    pub last_active: Option<Instant>,
    /// Set while the client is blocked on keys.
    pub blocked: Option<BlockState>,
    /// What REPLCONF announced; PSYNC/SYNC turn the connection into a replica link.
    pub replica: Option<Box<crate::repl::master::ReplicaConn>>,
    /// This connection is a replica attached to us (CLIENT LIST flags=S).
    pub replica_link: bool,
    /// This client applies our master's stream: exempt from replica write gates, no replies.
    pub master_link: bool,
    /// Replication offset after this client's last propagated write (WAIT).
    pub woff: u64,
    /// Bytes in the query buffer when the current batch started (its peak).
    pub in_peak: usize,
    /// In WAIT: Some(has a timeout).
    pub in_wait: Option<bool>,
    /// The config as of this batch (`refresh_config`).
    pub cfg: Arc<Config>,
    cfg_gen: u64,
}

/// What a blocked client waits for.
#[derive(Debug, Clone)]
pub struct BlockState {
    pub keys: Vec<(usize, Bytes)>,
    pub deadline: Option<Instant>,
    /// The reply on timeout: a null array (BLPOP, BLMPOP, BZPOP*) or a null bulk (BLMOVE, BRPOPLPUSH).
    pub null_array: bool,
    /// XREAD's IDs as resolved when it blocked (`$` = the last ID then).
    pub stream_ids: Vec<crate::store::stream::StreamId>,
}

impl Client {
    /// `cfg`: the config snapshot and its generation (`Shared::config_snapshot`).
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool, cfg: (u64, Arc<Config>)) -> Self {
        Client {
            id: handle.id,
            handle,
            db: 0,
            proto: Proto::Resp2,
            authenticated,
            name: None,
            multi: None,
            multi_error: false,
            multi_flags: 0,
            multi_deny_stale: false,
            watch_flag: Default::default(),
            watched: Vec::new(),
            subs: HashSet::new(),
            psubs: HashSet::new(),
            ssubs: HashSet::new(),
            asking: false,
            cluster_readonly: false,
            reply_mode: ReplyMode::On,
            no_evict: false,
            lib_name: None,
            lib_ver: None,
            tracking: None,
            last_cmd: "",
            blocked: None,
            last_active: None,
            replica: None,
            replica_link: false,
            master_link: false,
            woff: 0,
            in_peak: 0,
            in_wait: None,
            cfg_gen: cfg.0,
            cfg: cfg.1,
        }
    }

    /// Take the current config snapshot if it changed since this client's
    /// (once per batch, under the keyspace lock, so commands see config
    /// changes in the total order of execution).
    #[inline]
    pub fn refresh_config(&mut self, srv: &crate::server::Shared) {
        if srv.config_gen() != self.cfg_gen {
            (self.cfg_gen, self.cfg) = srv.config_snapshot();
        }
    }

    /// `requirepass` is set: connections must authenticate.
    #[inline]
    pub fn auth_required(&self) -> bool {
        !self.cfg.requirepass.is_empty()
    }

    pub fn subscriptions(&self) -> usize {
        self.subs.len() + self.psubs.len()
    }

    /// Channels + patterns + shard channels: any of them puts a client in pub/sub mode.
    pub fn any_subscriptions(&self) -> bool {
        self.subscriptions() > 0 || !self.ssubs.is_empty()
    }

    /// RESP2 clients with subscriptions may only run the pub/sub commands.
    pub fn in_resp2_subscribed_mode(&self) -> bool {
        self.proto == Proto::Resp2 && self.any_subscriptions()
    }

    /// Copy what CLIENT LIST shows into the shared handle.
    pub fn publish_meta(&self, qbuf: usize, qbuf_free: usize, omem: usize) {
        let mut m = self.handle.meta.lock();
        if self.last_active.is_some() {
            m.last_active = self.last_active;
        }
        m.name.clone_from(&self.name);
        m.lib_name.clone_from(&self.lib_name);
        m.lib_ver.clone_from(&self.lib_ver);
        m.db = self.db;
        if m.last_cmd != self.last_cmd {
            m.last_cmd = self.last_cmd.to_string();
        }
        m.sub = self.subs.len();
        m.psub = self.psubs.len();
        m.ssub = self.ssubs.len();
        m.multi = self.multi.as_ref().map_or(-1, |q| q.len() as i64);
        let mut flags = String::new();
        if self.master_link {
            flags.push('M');
        }
        if self.replica_link {
            flags.push('S');
        }
        if self.handle.is_monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        if self.any_subscriptions() {
            flags.push('P');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        m.flags = flags;
        let mut after = String::new();
        if let Some(t) = &self.tracking {
            after.push('t');
            if t.bcast {
                after.push('B');
            }
        }
        if self.no_evict {
            after.push('e');
        }
        m.flags_after_b = after;
        m.redir = self.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
        m.broken_redir = self.tracking.as_ref().map(|t| t.broken.clone());
        m.resp = if self.proto == Proto::Resp3 { 3 } else { 2 };
        m.qbuf = qbuf;
        m.qbuf_free = qbuf_free;
        m.omem = omem;
        m.no_evict = self.no_evict;
        m.block_deadline = self.blocked.as_ref().is_some_and(|b| b.deadline.is_some());
        m.in_wait = self.in_wait;
        m.peak_in = m.peak_in.max(self.in_peak).max(qbuf);
        m.peak_out = m.peak_out.max(omem);
    }
}
