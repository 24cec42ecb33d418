//! Replica side: the link to our master (handshake, PSYNC, loading the
//! snapshot, applying the stream), and the once-a-second replication cron.

use super::{payload, LinkState, MasterLink};
use crate::cmd::exec;
use crate::net::client::{Client, ClientHandle};
use crate::resp::{parse_request_frame, Limits, Out, Proto};
use crate::server::Shared;
use bytes::BytesMut;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

type IoResult<T> = std::io::Result<T>;

fn io_err(s: impl Into<String>) -> std::io::Error {
    std::io::Error::other(s.into())
}

/// Point the node at a master (REPLICAOF host port, or `replicaof` at boot).
/// `cached`: try a partial resync with our own replid/offset. Keyspace lock held.
pub fn set_master(
    srv: &Shared,
    store: &mut crate::store::Store,
    host: &str,
    port: u16,
    cached: bool,
) {
    point_at(srv, store, host, port, cached, true);
}

/// FAILOVER's hand-over: become a replica of the target (offering our own
/// history) while our replicas stay attached, as Redis's replicationSetMaster
/// does: the target keeps its link until it promotes itself, and the others
/// follow once the new master's `+CONTINUE <newid>` arrives. Keyspace lock held.
pub fn set_master_keep_replicas(
    srv: &Shared,
    store: &mut crate::store::Store,
    host: &str,
    port: u16,
) {
    point_at(srv, store, host, port, true, false);
}

fn point_at(
    srv: &Shared,
    store: &mut crate::store::Store,
    host: &str,
    port: u16,
    cached: bool,
    disconnect: bool,
) {
    let was_master = !srv.repl.is_replica();
    let stream_db = srv.repl.master.lock().as_ref().map_or(0, |m| m.stream_db);
    if let Some(h) = srv
        .repl
        .master
        .lock()
        .as_ref()
        .and_then(|m| m.handle.clone())
    {
        h.kill();
    }
    *srv.repl.master.lock() = Some(MasterLink {
        host: host.to_string(),
        port,
        state: LinkState::Connect,
        down_since: None,
        ever_up: false,
        last_io: None,
        transfer: None,
        transfer_started: 0,
        cached: cached || !was_master,
        stream_db: if was_master { 0 } else { stream_db },
        handle: None,
    });
    srv.repl.is_replica.store(true, Ordering::Relaxed);
    srv.repl.link_up.store(false, Ordering::Relaxed);
    store.repl.replica_mode = true;
    for db in &mut store.dbs {
        db.expire_deletes = false;
    }
    // Our replicas must follow the new history: they reconnect and PSYNC.
    if disconnect {
        srv.repl.disconnect_replicas();
    }
    srv.repl.link_gen.fetch_add(1, Ordering::SeqCst);
    srv.config.write().replicaof = format!("{} {}", host, port);
    tracing::info!("Connecting to MASTER {}:{}", host, port);
    srv.repl.link_changed.notify_one();
}

/// REPLICAOF NO ONE: become a master; the old replid stays valid for PSYNC
/// up to our offset (+1) so the other replicas of our old master continue.
pub fn set_no_master(srv: &Shared, store: &mut crate::store::Store) {
    if unset_master(srv, store) {
        tracing::info!("MASTER MODE enabled (user request from 'id=? addr=? laddr=?')");
    }
}

/// `set_no_master` without the log line (PSYNC FAILOVER and an aborted
/// FAILOVER log their own reason). False if we were a master already.
pub fn unset_master(srv: &Shared, store: &mut crate::store::Store) -> bool {
    if !srv.repl.is_replica() {
        return false;
    }
    if let Some(h) = srv.repl.master.lock().take().and_then(|m| m.handle) {
        h.kill();
    }
    srv.repl.link_gen.fetch_add(1, Ordering::SeqCst);
    srv.repl.is_replica.store(false, Ordering::Relaxed);
    srv.repl.link_up.store(false, Ordering::Relaxed);
    store.repl.replica_mode = false;
    store.repl.reset_select();
    for db in &mut store.dbs {
        db.expire_deletes = true;
    }
    srv.repl
        .ids
        .lock()
        .shift(crate::util::random_hex40(), store.repl.offset);
    srv.repl.disconnect_replicas();
    srv.config.write().replicaof.clear();
    srv.repl.link_changed.notify_one();
    true
}

/// Runs for the node's life: (re)starts the master link when the master
/// changes, and does the once-a-second replication work.
pub async fn supervisor(srv: Arc<Shared>) {
    let mut task: Option<tokio::task::JoinHandle<()>> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_ping = Instant::now();
    loop {
        tokio::select! {
            _ = srv.repl.link_changed.notified() => {
                if let Some(t) = task.take() {
                    t.abort();
                }
                if srv.repl.is_replica() {
                    let gen = srv.repl.link_gen.load(Ordering::SeqCst);
                    task = Some(tokio::spawn(link_loop(srv.clone(), gen)));
                }
            }
            _ = tick.tick() => {
                if srv.is_shutting_down() {
                    return;
                }
                cron(&srv, &mut last_ping).await;
            }
        }
    }
}

/// Master-side periodic work: stream PINGs, the good-replica count, output limits.
async fn cron(srv: &Shared, last_ping: &mut Instant) {
    let (period, max_lag, limit, size, ttl) = {
        let c = srv.config.read();
        (
            c.repl_ping_replica_period.max(1) as u64,
            c.min_replicas_max_lag as u64,
            super::replica_limits(&c.client_output_buffer_limit),
            c.repl_backlog_size as usize,
            c.repl_backlog_ttl as u64,
        )
    };
    {
        let mut feed = srv.repl.feed.lock();
        feed.limits = limit;
        // CONFIG SET repl-backlog-size takes effect here, keeping the newest history.
        if let Some(b) = feed.backlog.as_mut() {
            b.resize(size);
        }
    }
    let now = crate::util::mono_ms();
    srv.repl
        .good_replicas
        .store(srv.repl.count_good(max_lag, now), Ordering::Relaxed);
    // A master without replicas for repl-backlog-ttl seconds frees its backlog
    // (replicas never do: they must be able to PSYNC after a promotion).
    let since = srv.repl.no_replicas_since.load(Ordering::Relaxed);
    if ttl > 0
        && since >= 0
        && !srv.repl.is_replica()
        && now.saturating_sub(since as u64) > ttl * 1000
    {
        let mut store = srv.store_lock().await;
        let mut feed = srv.repl.feed.lock();
        if feed.backlog.is_some() && feed.outs.is_empty() && srv.repl.replicas.lock().is_empty() {
            feed.backlog = None;
            drop(feed);
            store.repl.clear_sinks();
            tracing::info!(
                "Replication backlog freed after {} seconds without connected replicas.",
                ttl
            );
        }
    }
    // A waiting FAILOVER: its timeout (ACKs are watched by its own task too).
    if super::failover::state(srv) == super::failover::State::WaitForSync {
        super::failover::step(srv, &mut *srv.store_lock().await);
    }
    // No PING while a FAILOVER waits: the target must ack an offset that stays put.
    if !srv.repl.is_replica()
        && !srv.repl.replicas.lock().is_empty()
        && last_ping.elapsed() >= Duration::from_secs(period)
        && super::failover::state(srv) == super::failover::State::None
    {
        *last_ping = Instant::now();
        let mut store = srv.store_lock().await;
        if store.repl.has_sinks() {
            store.repl.feed_raw(b"*1\r\n$4\r\nping\r\n");
        }
    }
}

/// Connect, sync and stream until the master changes; reconnect after errors.
async fn link_loop(srv: Arc<Shared>, gen: u64) {
    loop {
        if srv.repl.link_gen.load(Ordering::SeqCst) != gen || srv.is_shutting_down() {
            return;
        }
        let r = run_once(&srv, gen).await;
        if srv.repl.link_gen.load(Ordering::SeqCst) != gen || srv.is_shutting_down() {
            return;
        }
        link_down(&srv);
        match r {
            Ok(()) => tracing::info!("Connection with master lost."),
            Err(e) => tracing::warn!("Master link: {}", e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn link_down(srv: &Shared) {
    srv.repl.link_up.store(false, Ordering::Relaxed);
    if let Some(m) = srv.repl.master.lock().as_mut() {
        if m.state == LinkState::Connected {
            m.down_since = Some(Instant::now());
        }
        m.state = LinkState::Connect;
        m.transfer = None;
        if let Some(h) = m.handle.take() {
            srv.unregister_client(h.id);
        }
    }
}

fn set_state(srv: &Shared, st: LinkState) {
    if let Some(m) = srv.repl.master.lock().as_mut() {
        m.state = st;
    }
}

/// Buffered reading from the master.
struct Reader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    /// Counts the bytes read (INFO total_net_repl_input_bytes).
    srv: Arc<Shared>,
}

impl Reader {
    async fn fill(&mut self) -> IoResult<()> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let n = self.rd.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(io_err("connection closed by master"));
        }
        self.srv
            .stats
            .net_repl_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn line(&mut self) -> IoResult<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let l = self.buf.split_to(i + 1);
                let s = String::from_utf8_lossy(&l[..i]);
                return Ok(s.trim_end_matches('\r').to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(io_err("line too long from master"));
            }
            self.fill().await?;
        }
    }

    /// The next non-empty line (keep-alive newlines are skipped).
    async fn reply(&mut self, timeout: Duration) -> IoResult<String> {
        loop {
            let l = tokio::time::timeout(timeout, self.line())
                .await
                .map_err(|_| io_err("timeout reading from master"))??;
            if !l.is_empty() {
                return Ok(l);
            }
        }
    }
}

async fn run_once(srv: &Arc<Shared>, gen: u64) -> IoResult<()> {
    let (host, port) = match srv.repl.master.lock().as_ref() {
        Some(m) => (m.host.clone(), m.port),
        None => return Ok(()),
    };
    set_state(srv, LinkState::Connecting);
    let (timeout, auth, user, announce_ip, announce_port) = {
        let c = srv.config.read();
        (
            Duration::from_secs(c.repl_timeout as u64),
            c.masterauth.clone(),
            c.masteruser.clone(),
            c.replica_announce_ip.clone(),
            c.replica_announce_port,
        )
    };
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| io_err("timeout connecting to master"))?
        .map_err(|e| io_err(format!("Error condition on socket for SYNC: {}", e)))?;
    let _ = stream.set_nodelay(true);
    tracing::info!("MASTER <-> REPLICA sync started");
    set_state(srv, LinkState::Handshake);
    let (rd, mut wr) = stream.into_split();
    let mut r = Reader {
        rd,
        buf: BytesMut::with_capacity(64 * 1024),
        srv: srv.clone(),
    };

    // PING first, alone; then the rest pipelined.
    wr.write_all(b"*1\r\n$4\r\nPING\r\n").await?;
    let pong = r.reply(timeout).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(io_err(format!(
            "Error reply to PING from master: '{}'",
            pong
        )));
    }
    let mut req = BytesMut::new();
    let has_auth = !auth.is_empty();
    if has_auth {
        if user.is_empty() {
            crate::resp::encode_command(&mut req, &["AUTH", auth.as_str()]);
        } else {
            crate::resp::encode_command(&mut req, &["AUTH", user.as_str(), auth.as_str()]);
        }
    }
    let my_port = if announce_port > 0 {
        announce_port as u64
    } else {
        srv.tcp_port.load(Ordering::Relaxed)
    };
    crate::resp::encode_command(
        &mut req,
        &["REPLCONF", "listening-port", &my_port.to_string()],
    );
    if !announce_ip.is_empty() {
        crate::resp::encode_command(&mut req, &["REPLCONF", "ip-address", announce_ip.as_str()]);
    }
    crate::resp::encode_command(&mut req, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
    let (psync_id, psync_off, my_id) = {
        let store = srv.store_lock().await;
        let cached = srv.repl.master.lock().as_ref().is_some_and(|m| m.cached);
        let id = srv.repl.ids.lock().replid.clone();
        if cached {
            (id.clone(), (store.repl.offset + 1).to_string(), id)
        } else {
            ("?".to_string(), "-1".to_string(), id)
        }
    };
    wr.write_all(&req).await?;
    if has_auth {
        let a = r.reply(timeout).await?;
        if a.starts_with('-') {
            return Err(io_err(format!("Unable to AUTH to MASTER: {}", a)));
        }
    }
    for what in ["listening-port", "ip-address", "capa"] {
        if what == "ip-address" && announce_ip.is_empty() {
            continue;
        }
        let l = r.reply(timeout).await?;
        if l.starts_with('-') {
            tracing::info!(
                "(Non critical) Master does not understand REPLCONF {}: {}",
                what,
                l
            );
        }
    }
    // PSYNC only after the REPLCONF replies: a master refuses PSYNC while
    // replies to this connection are still pending.
    // A master handing over with FAILOVER asks the target to promote itself.
    let failing_over = super::failover::state(srv) == super::failover::State::InProgress;
    let mut req = BytesMut::new();
    let mut psync = vec!["PSYNC", psync_id.as_str(), psync_off.as_str()];
    if failing_over {
        psync.push("FAILOVER");
    }
    crate::resp::encode_command(&mut req, &psync);
    tracing::info!(
        "Trying a partial resynchronization (request {}:{}).",
        psync_id,
        psync_off
    );
    if let Err(e) = wr.write_all(&req).await {
        if failing_over {
            super::failover::write_error(srv).await;
        }
        return Err(e);
    }
    let reply = match r.reply(timeout).await {
        Ok(reply) => reply,
        Err(e) if failing_over => format!("-Reading from master: {e}"),
        Err(e) => return Err(e),
    };
    if failing_over {
        let accepted = reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE");
        if srv.repl.link_gen.load(Ordering::SeqCst) != gen {
            return Ok(());
        }
        if !accepted {
            tracing::warn!("Unexpected reply to PSYNC FAILOVER from master: {}", reply);
        }
        super::failover::psync_answered(srv, accepted).await;
        if !accepted {
            return Ok(());
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut it = rest.split_whitespace();
        let id = it.next().unwrap_or("").to_string();
        let off: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        tracing::info!("Full resync from master: {}:{}", id, off);
        set_state(srv, LinkState::Sync);
        full_load(srv, gen, &mut r, timeout, &id, off).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        let mut store = srv.store_lock().await;
        if srv.repl.link_gen.load(Ordering::SeqCst) != gen {
            return Ok(());
        }
        if !new_id.is_empty() && new_id != my_id {
            srv.repl
                .ids
                .lock()
                .shift(new_id.to_string(), store.repl.offset);
            srv.repl.disconnect_replicas();
        }
        let size = srv.config.read().repl_backlog_size as usize;
        srv.repl.ensure_backlog(&mut store, size, false);
        drop(store);
        tracing::info!("Successful partial resynchronization with master.");
        tracing::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        srv.notifier.ready(
            "MASTER <-> REPLICA sync: Partial Resynchronization accepted. Ready to accept connections in read-write mode.",
        );
    } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        return Err(io_err(format!(
            "Master is currently unable to PSYNC but should be in the future: {}",
            reply
        )));
    } else {
        if let Some(m) = srv.repl.master.lock().as_mut() {
            m.cached = false;
        }
        return Err(io_err(format!(
            "Unexpected reply to PSYNC from master: {}",
            reply
        )));
    }
    if let Some(m) = srv.repl.master.lock().as_mut() {
        m.cached = true;
    }
    stream_loop(srv, gen, r, wr, timeout).await
}

/// Receive the RDB (`$len` or `$EOF:<mark>` form), load it on a blocking
/// thread while it streams in, then swap the dataset in atomically.
async fn full_load(
    srv: &Arc<Shared>,
    gen: u64,
    r: &mut Reader,
    timeout: Duration,
    id: &str,
    off: u64,
) -> IoResult<()> {
    let header = r.reply(timeout).await?;
    let Some(h) = header.strip_prefix('$') else {
        return Err(io_err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{}')",
            header
        )));
    };
    let mark = h.strip_prefix("EOF:").map(|m| m.as_bytes().to_vec());
    let mut left: i64 = match &mark {
        Some(m) if m.len() == 40 => -1,
        Some(_) => return Err(io_err("bad EOF mark from master")),
        None => h
            .parse()
            .map_err(|_| io_err("bad bulk length from master"))?,
    };
    tracing::info!(
        "MASTER <-> REPLICA sync: receiving {} from master to {}",
        if left >= 0 {
            format!("{} bytes", left)
        } else {
            "streamed RDB".to_string()
        },
        "parser"
    );
    if let Some(m) = srv.repl.master.lock().as_mut() {
        m.transfer = Some((left, 0, Instant::now()));
        m.transfer_started = crate::util::now_ms() / 1000;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let srv2 = srv.clone();
    let loader = tokio::task::spawn_blocking(move || {
        payload::load(
            ChanReader {
                rx,
                cur: Vec::new(),
                pos: 0,
            },
            &srv2,
        )
    });
    let mut read_total: u64 = 0;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        if r.buf.is_empty() {
            tokio::time::timeout(timeout, r.fill())
                .await
                .map_err(|_| io_err("timeout receiving bulk data from MASTER"))??;
        }
        let chunk: Vec<u8> = match &mark {
            None => {
                let n = (left as usize).min(r.buf.len());
                left -= n as i64;
                r.buf.split_to(n).to_vec()
            }
            Some(m) => {
                // Hold back the last 40 bytes: they may be the mark.
                let mut data = std::mem::take(&mut tail);
                data.extend_from_slice(&r.buf.split());
                if let Some(i) = find(&data, m) {
                    // Anything after the mark is already replication stream.
                    let rest = data.split_off(i + m.len());
                    data.truncate(i);
                    let mut nb = BytesMut::from(&rest[..]);
                    nb.extend_from_slice(&r.buf);
                    r.buf = nb;
                    left = 0;
                    data
                } else {
                    let keep = data.len().saturating_sub(m.len());
                    tail = data.split_off(keep);
                    data
                }
            }
        };
        read_total += chunk.len() as u64;
        if let Some(m) = srv.repl.master.lock().as_mut() {
            m.transfer = m.transfer.map(|(t, _, _)| (t, read_total, Instant::now()));
            m.last_io = Some(Instant::now());
        }
        if !chunk.is_empty() && tx.send(chunk).await.is_err() {
            break;
        }
        if left == 0 {
            break;
        }
    }
    drop(tx);
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    let (dbs, stream_db, functions) =
        loader
            .await
            .map_err(|e| io_err(e.to_string()))?
            .map_err(|e| {
                io_err(format!(
                    "Failed trying to load the MASTER synchronization DB from socket: {}",
                    e
                ))
            })?;
    {
        let mut store = srv.store_lock().await;
        if srv.repl.link_gen.load(Ordering::SeqCst) != gen {
            return Ok(());
        }
        let mut dbs = dbs;
        let n = store.dbs.len();
        dbs.resize_with(n, crate::store::Db::new);
        for db in &mut dbs {
            db.expire_deletes = false;
        }
        store.dbs = dbs;
        // The dataset was replaced: tracking clients hear "everything" (as
        // Redis's emptyData), and the new databases report modified keys.
        if store.tracking.active() {
            store.tracking.invalidate_all();
        }
        store.tracking_changed();
        crate::persist::dump::set_functions(&mut store, functions);
        store.blocking = Default::default();
        store.repl.offset = off;
        {
            let mut ids = srv.repl.ids.lock();
            ids.replid = id.to_string();
            ids.clear_secondary();
        }
        let size = srv.config.read().repl_backlog_size as usize;
        srv.repl.reset_backlog(&mut store, size);
        srv.repl.disconnect_replicas();
        if let Some(m) = srv.repl.master.lock().as_mut() {
            m.transfer = None;
            m.stream_db = stream_db;
        }
        // The AOF describes the old dataset: a new BASE of the master's.
        srv.aof.restart_after_sync(&mut store);
    }
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    // systemd: a replica is ready once it holds its master's data (sent again after
    // later syncs, which systemd ignores).
    srv.notifier.ready(
        "MASTER <-> REPLICA sync: Finished with success. Ready to accept connections in read-write mode.",
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Blocking `Read` over chunks sent from the async side.
struct ChanReader {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> IoResult<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.blocking_recv() {
                Some(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn ack_frame(off: u64) -> Vec<u8> {
    let mut b = BytesMut::new();
    crate::resp::encode_command(&mut b, &["REPLCONF", "ACK", &off.to_string()]);
    b.to_vec()
}

/// Apply the master's stream as the "master client" and pass it on verbatim.
async fn stream_loop(
    srv: &Arc<Shared>,
    gen: u64,
    mut r: Reader,
    mut wr: OwnedWriteHalf,
    timeout: Duration,
) -> IoResult<()> {
    // The master client: registered so CLIENT LIST shows it (flags=M) and
    // CLIENT KILL TYPE master can drop the link.
    let id = srv.next_client_id.fetch_add(1, Ordering::Relaxed);
    let (ptx, _prx) = tokio::sync::mpsc::unbounded_channel();
    let peer =
        r.rd.peer_addr()
            .unwrap_or_else(|_| "0.0.0.0:0".parse().unwrap());
    let local =
        r.rd.local_addr()
            .unwrap_or_else(|_| "0.0.0.0:0".parse().unwrap());
    let handle = Arc::new(ClientHandle::new(id, peer, local, ptx));
    handle.fd.store(
        std::os::fd::AsRawFd::as_raw_fd(r.rd.as_ref()),
        Ordering::Relaxed,
    );
    let mut client = Client::new(handle.clone(), true, srv.config_snapshot());
    client.master_link = true;
    {
        let mut m = srv.repl.master.lock();
        if let Some(m) = m.as_mut() {
            client.db = m.stream_db;
            m.handle = Some(handle.clone());
            m.state = LinkState::Connected;
            m.ever_up = true;
            m.down_since = None;
            m.last_io = Some(Instant::now());
        }
    }
    client.publish_meta(0, 0, 0);
    srv.register_client(handle.clone());
    srv.repl.link_up.store(true, Ordering::Relaxed);

    // ACK right away: a diskless master streams only after the first ACK.
    let off = srv.store_lock().await.repl.offset;
    wr.write_all(&ack_frame(off)).await?;

    let killed = handle.kill_notify.notified();
    tokio::pin!(killed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_io = Instant::now();
    let mut out = Out::new(Proto::Resp2);
    let limits = Limits {
        max_bulk_len: u64::MAX,
        authenticated: true,
    };
    let result = loop {
        if !r.buf.is_empty() {
            // Apply every complete command; bytes of incomplete ones wait.
            // Each request keeps its exact bytes (shared, not copied) for
            // our own replicas.
            let mut cmds: Vec<(Vec<bytes::Bytes>, bytes::Bytes)> = Vec::new();
            loop {
                match parse_request_frame(&mut r.buf, &limits) {
                    Ok(Some(req)) => cmds.push(req),
                    Ok(None) => break,
                    Err(e) => return Err(io_err(format!("protocol error from master: {}", e.0))),
                }
            }
            if !cmds.is_empty() {
                let mut acks: Vec<u64> = Vec::new();
                {
                    let mut store = srv.store_lock().await;
                    if srv.repl.link_gen.load(Ordering::SeqCst) != gen {
                        return Ok(());
                    }
                    let mut post = Vec::new();
                    for (args, frame) in &cmds {
                        if !args.is_empty() {
                            if args.len() >= 2
                                && args[0].eq_ignore_ascii_case(b"replconf")
                                && args[1].eq_ignore_ascii_case(b"getack")
                            {
                                // The offset before the GETACK itself.
                                acks.push(store.repl.offset);
                            } else {
                                // Errors here mean we diverged from the master: Redis
                                // counts them apart (unexpected_error_replies).
                                let errs = &srv.stats.error_replies;
                                let before = errs.load(Ordering::Relaxed);
                                client.refresh_config(srv);
                                exec::execute(
                                    srv,
                                    &mut store,
                                    &mut client,
                                    &mut out,
                                    &mut post,
                                    args,
                                );
                                let n = errs.load(Ordering::Relaxed).saturating_sub(before);
                                if n > 0 {
                                    srv.stats
                                        .unexpected_error_replies
                                        .fetch_add(n, Ordering::Relaxed);
                                }
                                out.buf.clear();
                                post.clear();
                            }
                        }
                        store.repl.feed_raw(frame);
                    }
                    // In the same critical section: a sub-replica's snapshot
                    // records which DB the passed-on stream has selected.
                    if let Some(m) = srv.repl.master.lock().as_mut() {
                        m.stream_db = client.db;
                    }
                }
                for a in acks {
                    wr.write_all(&ack_frame(a)).await?;
                }
            }
        }
        tokio::select! {
            _ = &mut killed => break Ok(()),
            res = r.fill() => {
                res?;
                last_io = Instant::now();
                if let Some(m) = srv.repl.master.lock().as_mut() {
                    m.last_io = Some(last_io);
                }
            }
            _ = tick.tick() => {
                if last_io.elapsed() > timeout {
                    tracing::warn!("MASTER timeout: no data nor PING received...");
                    break Ok(());
                }
                let off = srv.store_lock().await.repl.offset;
                wr.write_all(&ack_frame(off)).await?;
            }
        }
    };
    srv.unregister_client(id);
    result
}
