//! State shared by all connections of a data node.

use crate::cmd::Command;
use crate::config::Config;
use crate::error::Error;
use crate::net::client::{Client, ClientHandle, Push};
use crate::pubsub::PubSub;
use crate::store::Store;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    pub pubsub_messages: AtomicU64,
    /// Bytes read from our master (handshake, full sync payload, stream).
    pub net_repl_input_bytes: AtomicU64,
    /// Bytes written to our replicas (payloads and the stream).
    pub net_repl_output_bytes: AtomicU64,
    /// Socket reads / writes of client connections (one per batch, like the byte counters).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Error replies to the master stream we apply (Redis: unexpected_error_replies).
    pub unexpected_error_replies: AtomicU64,
}

impl Stats {
    pub fn note_error(&self, store: &mut Store, e: &Error, _cmd: Option<&'static Command>) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        *store.errorstats.entry(e.code()).or_insert(0) += 1;
    }

    pub fn reset(&self) {
        for a in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
            &self.pubsub_messages,
            &self.net_repl_input_bytes,
            &self.net_repl_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
            &self.unexpected_error_replies,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

pub struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: String,
}

#[derive(Default)]
pub struct SlowLog {
    pub entries: VecDeque<SlowEntry>,
    pub next_id: u64,
}

/// Seconds of history behind INFO client_recent_max_* (Redis: CLIENTS_PEAK_MEM_USAGE_SLOTS).
pub const PEAK_SLOTS: usize = 8;

/// One slot per second: (unix second, max query buffer, max output buffer).
#[derive(Default)]
pub struct ClientPeaks {
    slots: [(u64, usize, usize); PEAK_SLOTS],
}

impl ClientPeaks {
    /// Fold `(input, output)` peaks into the slot of second `now`.
    pub fn record(&mut self, now: u64, input: usize, output: usize) {
        let slot = &mut self.slots[(now % PEAK_SLOTS as u64) as usize];
        if slot.0 != now {
            *slot = (now, 0, 0);
        }
        slot.1 = slot.1.max(input);
        slot.2 = slot.2.max(output);
    }

    /// The maxima over the last PEAK_SLOTS seconds.
    pub fn recent(&self, now: u64) -> (usize, usize) {
        self.slots
            .iter()
            .filter(|s| s.0 + PEAK_SLOTS as u64 > now)
            .fold((0, 0), |(i, o), s| (i.max(s.1), o.max(s.2)))
    }
}

pub struct Shared {
    /// The keyspace lock (shared with persistence, which saves and loads it).
    pub store: Arc<Mutex<Store>>,
    pub config: RwLock<Config>,
    pub pubsub: Mutex<PubSub>,
    pub clients: Mutex<HashMap<u64, Arc<ClientHandle>>>,
    pub next_client_id: AtomicU64,
    pub stats: Stats,
    pub run_id: String,
    /// Replication: IDs, backlog, attached replicas, the link to our master.
    pub repl: crate::repl::Repl,
    pub started: Instant,
    pub started_unix: u64,
    pub shutdown: watch::Sender<bool>,
    /// CLIENT PAUSE and FAILOVER's write pause.
    pub pause: crate::pause::Pause,
    pub monitors: Mutex<Vec<Arc<ClientHandle>>>,
    pub monitor_count: AtomicUsize,
    pub slowlog: Mutex<SlowLog>,
    /// The latency monitor (LATENCY ...).
    pub latency: crate::latency::Monitor,
    /// Per-second maxima of clients' buffers (INFO client_recent_max_*).
    pub client_peaks: Mutex<ClientPeaks>,
    /// An immutable copy of `config`, replaced on every change. Connections
    /// take it once per batch (`Client::refresh_config`: one atomic load when
    /// nothing changed) instead of reading hot-path copies of single values.
    config_snap: RwLock<Arc<Config>>,
    config_gen: AtomicU64,
    pub tcp_port: AtomicU64,
    pub log_level: Option<crate::logging::LevelSetter>,
    /// The running script as seen without the keyspace lock (BUSY, SCRIPT KILL).
    pub scripts: Arc<crate::scripting::Busy>,
    /// The Lua VM and script cache; only locked while the keyspace lock is held.
    pub lua: Mutex<Option<crate::scripting::Engine>>,
    /// Function libraries, compiled (their code is in the dataset); only
    /// locked while the keyspace lock is held.
    pub functions: Mutex<crate::scripting::functions::Functions>,
    /// RDB persistence: state (INFO persistence, MISCONF), settings, jobs.
    pub persist: Arc<crate::persist::dump::Persistence>,
    /// The append-only file: state (INFO, MISCONF), settings, writer, rewrites.
    pub aof: Arc<crate::persist::aof::Aof>,
    /// systemd notifications (`supervised`), INFO process_supervised.
    pub notifier: crate::ops::Notifier,
    /// Cluster mode state (set at startup when cluster-enabled).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
    /// A weak handle on ourselves, for work that outlives a command (BGSAVE).
    me: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

impl Shared {
    /// Take the keyspace lock from async code without parking a runtime
    /// worker behind a long holder: a script may hold the lock for seconds,
    /// and a worker blocked on it cannot run the tasks queued behind it (a
    /// task in its LIFO slot cannot even be stolen), so while a script runs
    /// this waits asynchronously. Otherwise holders are short (one batch):
    /// spin briefly in the lock, then yield.
    pub async fn store_lock(&self) -> parking_lot::MutexGuard<'_, Store> {
        loop {
            if let Some(g) = self.store.try_lock() {
                return g;
            }
            if self.scripts.running() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            } else if let Some(g) = self
                .store
                .try_lock_for(std::time::Duration::from_micros(200))
            {
                return g;
            } else {
                tokio::task::yield_now().await;
            }
        }
    }

    pub fn new(config: Config) -> Arc<Shared> {
        Shared::with_log_level(config, None)
    }

    /// `new`, with the hook CONFIG SET loglevel calls.
    pub fn with_log_level(
        config: Config,
        log_level: Option<crate::logging::LevelSetter>,
    ) -> Arc<Shared> {
        let (tx, _) = watch::channel(false);
        let mut store = Store::new(config.databases as usize);
        store.limits = crate::store::EncodingLimits::from_config(&config);
        let store = Arc::new(Mutex::new(store));
        let scripts = Arc::new(crate::scripting::Busy::default());
        let s = Shared {
            persist: Arc::new(crate::persist::dump::Persistence::new(
                store.clone(),
                &config,
            )),
            aof: Arc::new(crate::persist::aof::Aof::new(store.clone(), &config)),
            store,
            pubsub: Mutex::new(PubSub::default()),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            stats: Stats::default(),
            run_id: crate::util::random_hex40(),
            repl: crate::repl::Repl::default(),
            started: Instant::now(),
            started_unix: crate::util::now_ms() / 1000,
            shutdown: tx,
            pause: Default::default(),
            monitors: Mutex::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            slowlog: Mutex::new(SlowLog::default()),
            latency: Default::default(),
            client_peaks: Mutex::new(ClientPeaks::default()),
            config_snap: RwLock::new(Arc::new(config.clone())),
            config_gen: AtomicU64::new(0),
            tcp_port: AtomicU64::new(config.port as u64),
            log_level,
            scripts: scripts.clone(),
            lua: Mutex::new(None),
            functions: Mutex::new(crate::scripting::functions::Functions::new(scripts)),
            me: std::sync::OnceLock::new(),
            cluster: std::sync::OnceLock::new(),
            notifier: crate::ops::Notifier::new(&config.supervised),
            config: RwLock::new(config),
        };
        s.config_changed();
        let arc = Arc::new(s);
        let _ = arc.me.set(Arc::downgrade(&arc));
        arc
    }

    /// A strong handle on the server (None only while it is being dropped).
    pub fn arc(&self) -> Option<Arc<Shared>> {
        self.me.get().and_then(|w| w.upgrade())
    }

    /// Refresh the hot-path copies after the config changed.
    pub fn config_changed(&self) {
        let c = self.config.read();
        *self.config_snap.write() = Arc::new(c.clone());
        self.config_gen.fetch_add(1, Ordering::Release);
        // The owners' own settings: read where no client (and so no
        // snapshot) is at hand.
        self.scripts
            .threshold_ms
            .store(c.busy_reply_threshold as u64, Ordering::Relaxed);
        if let Some(f) = &self.log_level {
            f(&c.loglevel);
        }
        self.persist.configure(&c);
        self.aof.configure(&c);
    }

    /// The config generation: it changes whenever the config does.
    #[inline]
    pub fn config_gen(&self) -> u64 {
        self.config_gen.load(Ordering::Acquire)
    }

    /// The current config snapshot and its generation.
    pub fn config_snapshot(&self) -> (u64, Arc<Config>) {
        let gen = self.config_gen();
        (gen, self.config_snap.read().clone())
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Stop accepting and close every client once its current batch is answered.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        for c in self.clients.lock().values() {
            c.kill();
        }
    }

    pub fn slowlog_maybe(&self, us: u64, args: &[Bytes], client: &Client) {
        let th = client.cfg.slowlog_log_slower_than;
        if th < 0 || us < th as u64 {
            return;
        }
        let max = client.cfg.slowlog_max_len as usize;
        let mut log = self.slowlog.lock();
        let id = log.next_id;
        log.next_id += 1;
        // Like Redis: at most 32 arguments, each at most 128 bytes.
        let mut kept: Vec<Bytes> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i == 31 && args.len() > 32 {
                kept.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    args.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                kept.push(Bytes::from(v));
            } else {
                kept.push(a.clone());
            }
        }
        log.entries.push_front(SlowEntry {
            id,
            time: crate::util::now_ms() / 1000,
            micros: us,
            args: kept,
            addr: client.handle.addr.to_string(),
            name: client
                .name
                .as_ref()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default(),
        });
        while log.entries.len() > max {
            log.entries.pop_back();
        }
    }

    /// Send a command to every MONITOR client, formatted like Redis.
    pub fn feed_monitors(&self, client: &Client, args: &[Bytes]) {
        if self.monitor_count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let us = crate::util::now_us();
        let mut line = format!(
            "{}.{:06} [{} {}]",
            us / 1_000_000,
            us % 1_000_000,
            client.db,
            client.handle.addr
        );
        for a in args {
            line.push(' ');
            line.push_str(&repr(a));
        }
        let line = Bytes::from(line);
        let mons = self.monitors.lock();
        for m in mons.iter() {
            let _ = m.tx.send(Push::Monitor(line.clone()));
        }
    }

    pub fn register_client(&self, h: Arc<ClientHandle>) {
        self.clients.lock().insert(h.id, h);
    }

    pub fn unregister_client(&self, id: u64) {
        self.clients.lock().remove(&id);
        let mut mons = self.monitors.lock();
        let before = mons.len();
        mons.retain(|m| m.id != id);
        if mons.len() != before {
            self.monitor_count.store(mons.len(), Ordering::Relaxed);
        }
    }

    /// Once a second: move the buffer peaks clients published into this second's slot.
    pub fn clients_cron(&self) {
        let now = crate::util::now_ms() / 1000;
        let (mut inp, mut out) = (0, 0);
        for c in self.clients.lock().values() {
            let mut m = c.meta.lock();
            inp = inp.max(std::mem::take(&mut m.peak_in));
            out = out.max(std::mem::take(&mut m.peak_out));
        }
        self.client_peaks.lock().record(now, inp, out);
    }

    /// INFO client_recent_max_input_buffer / output_buffer: the recorded
    /// seconds plus what clients published since the last cron.
    pub fn recent_client_peaks(&self) -> (usize, usize) {
        let now = crate::util::now_ms() / 1000;
        let (mut inp, mut out) = self.client_peaks.lock().recent(now);
        for c in self.clients.lock().values() {
            let m = c.meta.lock();
            inp = inp.max(m.peak_in);
            out = out.max(m.peak_out);
        }
        (inp, out)
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// Quote a byte string like Redis's sdscatrepr (MONITOR, SLOWLOG text forms).
pub fn repr(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{:02x}", c)),
        }
    }
    s.push('"');
    s
}
