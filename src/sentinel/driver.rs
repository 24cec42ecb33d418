//! The async driver around the pure core: the clock, the action executor,
//! the event bus and process start-up.
//!
//! Every input (a tick, a reply on a link, a client's SENTINEL command)
//! takes the core's lock, calls it with the monotonic time, releases the lock
//! and then executes the returned actions (never awaiting with the lock held).

use super::config::SentinelConfig;
use super::core::{Action, Addr, Input, Link, Ms, PersistedState, Reply, Sentinel};
use super::links::{self, LinkCmd, LinkHandle};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// One message to a subscribed client of the sentinel's own pub/sub.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: String,
    pub message: String,
    /// The matching pattern for PSUBSCRIBE deliveries.
    pub pattern: Option<String>,
}

pub struct Subscriber {
    pub channels: HashSet<String>,
    pub patterns: HashSet<String>,
    pub tx: UnboundedSender<Delivery>,
}

/// What CLIENT LIST and INFO clients show about a front-end connection.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    pub addr: String,
    pub laddr: String,
    pub name: String,
    pub created: Instant,
    pub last_cmd: String,
}

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub connected: AtomicUsize,
}

pub struct Shared {
    pub cfg: SentinelConfig,
    pub core: Mutex<Sentinel>,
    pub myid: String,
    /// INFO run_id: new on every start, distinct from myid.
    pub run_id: String,
    pub start: Instant,
    pub state_path: PathBuf,
    pub tcp_port: AtomicU64,
    persist_lock: Mutex<()>,
    links: Mutex<HashMap<(Addr, Link), LinkHandle>>,
    link_gen: AtomicU64,
    pub subs: Mutex<HashMap<u64, Subscriber>>,
    pub clients: Mutex<HashMap<u64, ClientMeta>>,
    pub next_client_id: AtomicU64,
    pub stats: Stats,
    pub hz: AtomicU64,
}

impl Shared {
    pub fn now(&self) -> Ms {
        self.start.elapsed().as_millis() as Ms
    }

    /// Feed one input to the core and execute what it asks for.
    pub fn input(self: &Arc<Self>, input: Input) {
        if !matches!(input, Input::Tick) {
            tracing::debug!("input {:?}", input);
        }
        let actions = {
            let mut core = self.core.lock();
            core.handle(self.now(), input)
        };
        self.execute(actions);
    }

    /// `SENTINEL <args>` from a client.
    pub fn sentinel_command(self: &Arc<Self>, args: &[Vec<u8>]) -> Reply {
        let (reply, mut actions) = {
            let mut core = self.core.lock();
            core.command(self.now(), args)
        };
        let persist = actions.iter().any(|a| matches!(a, Action::Persist));
        actions.retain(|a| !matches!(a, Action::Persist));
        self.execute(actions);
        if persist {
            // Only this client's task waits for the disk.
            match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| self.persist())
                }
                _ => self.persist(),
            }
        }
        reply
    }

    fn link_tx(&self, addr: &Addr, link: Link) -> Option<UnboundedSender<LinkCmd>> {
        self.links
            .lock()
            .get(&(addr.clone(), link))
            .map(|h| h.tx.clone())
    }

    /// Send a command on the command link of `addr`; false when there is none.
    fn send_cmd(&self, addr: &Addr, cmd: LinkCmd) -> bool {
        match self.link_tx(addr, Link::Cmd) {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        }
    }

    /// Is `gen` still the live generation of this link (not replaced or disconnected)?
    pub(super) fn link_current(&self, addr: &Addr, link: Link, gen: u64) -> bool {
        self.links
            .lock()
            .get(&(addr.clone(), link))
            .is_some_and(|h| h.gen == gen)
    }

    /// Called by a link task when it ends on its own (error, timeout, EOF).
    /// Only the current generation of that link is removed.
    pub(super) fn link_ended(&self, addr: &Addr, link: Link, gen: u64) -> bool {
        let mut links = self.links.lock();
        match links.get(&(addr.clone(), link)) {
            Some(h) if h.gen == gen => {
                links.remove(&(addr.clone(), link));
                true
            }
            _ => false,
        }
    }

    /// Auth for links towards other sentinels: sentinel-user/sentinel-pass, else requirepass.
    fn sentinel_auth(&self) -> Option<(Option<String>, String)> {
        if let Some(p) = &self.cfg.sentinel_pass {
            return Some((self.cfg.sentinel_user.clone(), p.clone()));
        }
        self.cfg.requirepass.clone().map(|p| (None, p))
    }

    fn is_known_sentinel(&self, addr: &Addr) -> bool {
        let st = self.core.lock().persisted_state();
        st.masters
            .iter()
            .any(|m| m.known_sentinels.iter().any(|(a, _)| a == addr))
    }

    pub fn execute(self: &Arc<Self>, actions: Vec<Action>) {
        for a in actions {
            if !matches!(a, Action::Event { .. } | Action::Persist) {
                tracing::debug!("action {:?}", a);
            }
            match a {
                Action::Connect { addr, link, auth } => {
                    let key = (addr.clone(), link);
                    if self.links.lock().contains_key(&key) {
                        continue;
                    }
                    let auth = match auth {
                        Some(a) => Some(a),
                        None if link == Link::Cmd && self.is_known_sentinel(&addr) => {
                            self.sentinel_auth()
                        }
                        None => None,
                    };
                    let gen = self.link_gen.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                    let mut map = self.links.lock();
                    if map.contains_key(&key) {
                        continue;
                    }
                    map.insert(key, LinkHandle { tx, gen });
                    drop(map);
                    tokio::spawn(links::run(self.clone(), addr, link, auth, gen, rx));
                }
                Action::Disconnect { addr, link } => {
                    // Dropping the sender ends the task; it reports nothing.
                    self.links.lock().remove(&(addr, link));
                }
                Action::Ping { addr } => {
                    self.send_cmd(&addr, LinkCmd::Ping);
                }
                Action::Info { addr } => {
                    self.send_cmd(&addr, LinkCmd::Info);
                }
                Action::PublishHello { addr, msg } => {
                    self.send_cmd(&addr, LinkCmd::PublishHello(msg));
                }
                Action::AskVote {
                    sentinel,
                    master,
                    master_addr,
                    epoch,
                    runid,
                } => {
                    self.send_cmd(
                        &sentinel,
                        LinkCmd::AskVote {
                            master,
                            master_addr,
                            epoch,
                            runid,
                        },
                    );
                }
                Action::SlaveOf { addr, master } => {
                    if !self.send_cmd(&addr, LinkCmd::SlaveOf(master)) {
                        self.later(Input::CommandFailed { addr });
                    }
                }
                Action::CoordinatedFailover {
                    master,
                    to,
                    timeout_ms,
                } => {
                    if !self.send_cmd(&master, LinkCmd::Failover { to, timeout_ms }) {
                        self.later(Input::CommandFailed { addr: master });
                    }
                }
                Action::ScriptKill { addr } => {
                    self.send_cmd(&addr, LinkCmd::ScriptKill);
                }
                Action::Event { kind, payload } => self.event(&kind, &payload),
                Action::Persist => self.persist_in_background(),
                Action::Crash => {
                    tracing::warn!("Simulated failure: exiting with status 99");
                    std::process::exit(99);
                }
            }
        }
    }

    /// Feed an input from a fresh task (no re-entrancy from inside `execute`).
    fn later(self: &Arc<Self>, input: Input) {
        let me = self.clone();
        tokio::spawn(async move { me.input(input) });
    }

    /// Log an event the way Redis does and publish it on our own pub/sub.
    pub fn event(&self, kind: &str, payload: &str) {
        if kind.starts_with('+') || kind.starts_with('-') {
            tracing::warn!("{} {}", kind, payload);
        } else {
            tracing::info!("{} {}", kind, payload);
        }
        self.publish(kind, payload);
    }

    /// Deliver to subscribers of our own pub/sub; returns the receiver count.
    pub fn publish(&self, channel: &str, message: &str) -> usize {
        let subs = self.subs.lock();
        let mut n = 0;
        for s in subs.values() {
            if s.channels.contains(channel) {
                n += 1;
                let _ = s.tx.send(Delivery {
                    channel: channel.to_string(),
                    message: message.to_string(),
                    pattern: None,
                });
            }
            for p in &s.patterns {
                if crate::glob::matches(p.as_bytes(), channel.as_bytes(), false) {
                    n += 1;
                    let _ = s.tx.send(Delivery {
                        channel: channel.to_string(),
                        message: message.to_string(),
                        pattern: Some(p.clone()),
                    });
                }
            }
        }
        n
    }

    /// Write the core's persisted state to the state file, atomically.
    /// Synchronous: used at start, at shutdown and before answering a
    /// client command that changed the state (a vote is on disk before it is
    /// answered, as in Redis).
    pub fn persist(&self) {
        let _g = self.persist_lock.lock();
        let st = self.core.lock().persisted_state();
        self.persist_state(&st);
    }

    /// Persist without stalling the caller: an fsync can take seconds under
    /// heavy disk writeback (14 s seen in CI), and the timer task must keep
    /// ticking meanwhile (else the sentinel stalls and enters TILT). Each
    /// write takes the latest state, so the last one written is current.
    fn persist_in_background(self: &Arc<Self>) {
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                let me = self.clone();
                h.spawn_blocking(move || me.persist());
            }
            Err(_) => self.persist(),
        }
    }

    fn persist_state(&self, st: &PersistedState) {
        match super::state::save(&self.state_path, st) {
            Ok(()) => tracing::info!("Sentinel new configuration saved on disk"),
            Err(e) => tracing::warn!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                e
            ),
        }
    }
}

/// Random 10-19 Hz: the next timer period in ms.
fn jittered_period_ms() -> u64 {
    use rand::Rng;
    let hz = rand::thread_rng().gen_range(10..=19);
    1000 / hz
}

/// The timer: like Redis's sentinelTimer, a new random 10-19 Hz period after
/// every run, so that sentinels started together do not stay in lock-step.
async fn ticker(sh: Arc<Shared>) {
    loop {
        let period = jittered_period_ms();
        sh.hz.store(1000 / period, Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_millis(period)).await;
        sh.input(Input::Tick);
    }
}

/// Start-up: load the state, bind, serve, tick. Returns only on errors.
pub async fn run(cfg: SentinelConfig) -> Result<(), String> {
    let state_path = super::state::path_in(&cfg.dir);
    if !std::path::Path::new(&cfg.dir).is_dir() {
        return Err(format!(
            "dir '{}' does not exist or is not a directory",
            cfg.dir
        ));
    }
    let state = super::state::load(&state_path)?;
    let had_state = state.is_some();
    let seed: u64 = rand::random();
    let start = Instant::now();
    let core = Sentinel::new(cfg.setup(), state, seed, 0);
    let myid = core.myid().to_string();
    let period = jittered_period_ms();
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        core: Mutex::new(core),
        myid: myid.clone(),
        run_id: crate::util::random_hex40(),
        start,
        state_path,
        tcp_port: AtomicU64::new(cfg.port as u64),
        persist_lock: Mutex::new(()),
        links: Mutex::new(HashMap::new()),
        link_gen: AtomicU64::new(1),
        subs: Mutex::new(HashMap::new()),
        clients: Mutex::new(HashMap::new()),
        next_client_id: AtomicU64::new(1),
        stats: Stats::default(),
        hz: AtomicU64::new(1000 / period),
    });
    let listeners = super::front::bind(&sh).await?;
    if let Some(p) = crate::ops::PidFile::create(&cfg.pidfile) {
        // Removed by `shutdown`, which exits the process.
        std::mem::forget(p);
    }
    tokio::spawn(crate::logging::reopen_on_sighup());
    tracing::info!(
        "rsredis {} sentinel (Redis {} compatible) pid={} port={}",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_VERSION,
        std::process::id(),
        sh.tcp_port.load(Ordering::Relaxed)
    );
    // The myid must survive a restart from the first moment on.
    sh.persist();
    if !had_state {
        tracing::info!("Sentinel ID is {}", myid);
    } else {
        tracing::info!("Sentinel ID is {} (from {})", myid, sh.state_path.display());
    }
    for m in &cfg.masters {
        tracing::warn!(
            "+monitor master {} {} {} quorum {}",
            m.name,
            m.host,
            m.port,
            m.quorum
        );
    }
    tokio::spawn(ticker(sh.clone()));
    tokio::spawn(signals(sh.clone()));
    let notifier = crate::ops::Notifier::new(&cfg.supervised);
    notifier.log_startup(&cfg.supervised);
    notifier.ready("Ready to accept connections");
    super::front::serve(sh, listeners).await;
    Ok(())
}

async fn signals(sh: Arc<Shared>) {
    crate::net::shutdown_signal().await;
    shutdown(&sh);
}

/// Save the state and exit (SIGTERM, SHUTDOWN).
pub fn shutdown(sh: &Shared) -> ! {
    crate::ops::Notifier::new(&sh.cfg.supervised).stopping();
    sh.persist();
    if !sh.cfg.pidfile.is_empty() {
        let _ = std::fs::remove_file(&sh.cfg.pidfile);
    }
    tracing::warn!("Sentinel is now ready to exit, bye bye...");
    std::process::exit(0);
}
