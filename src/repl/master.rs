//! Master side: a connection that sent PSYNC/SYNC becomes a replica link.
//! The command handlers (cmd/repl.rs) decide partial vs full resync under the
//! keyspace lock; the connection is then handed to `serve`, which sends the
//! snapshot if needed, then the live stream, and reads the replica's ACKs.

use super::{payload, ReplicaInfo, StreamOut, ONLINE, SEND_BULK};
use crate::net::client::Client;
use crate::resp::{parse_request, Limits};
use crate::server::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// What a connection told us with REPLCONF, and how its sync starts.
#[derive(Default)]
pub struct ReplicaConn {
    pub listening_port: u16,
    pub ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// `redis-cli --rdb`: send the snapshot and close.
    pub rdb_only: bool,
    /// `redis-cli --replica` sends an empty filter: an empty snapshot, then the stream.
    pub rdb_filter_empty: bool,
    pub start: Option<Start>,
}

pub enum Start {
    /// `+CONTINUE` and the backlog were already written; the stream follows.
    Partial {
        info: Arc<ReplicaInfo>,
        rx: mpsc::UnboundedReceiver<Bytes>,
        pending: Arc<AtomicU64>,
    },
    /// A snapshot must be sent first. `psync` false = old SYNC (no +FULLRESYNC, no ACKs).
    Full { info: Arc<ReplicaInfo>, psync: bool },
}

impl ReplicaConn {
    /// The address INFO/ROLE show: REPLCONF ip-address, else the peer's IP.
    pub fn announced_ip(&self, peer: std::net::SocketAddr) -> String {
        self.ip.clone().unwrap_or_else(|| peer.ip().to_string())
    }

    pub fn name(&self, peer: std::net::SocketAddr) -> String {
        format!("{}:{}", self.announced_ip(peer), self.listening_port)
    }
}

/// Register a stream receiver for a replica (keyspace lock held).
pub fn attach_stream(
    srv: &Shared,
    info: &Arc<ReplicaInfo>,
) -> (mpsc::UnboundedReceiver<Bytes>, Arc<AtomicU64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let pending = Arc::new(AtomicU64::new(0));
    srv.repl.feed.lock().outs.push(StreamOut {
        id: info.id,
        tx,
        pending: pending.clone(),
        handle: info.handle.clone(),
        addr: format!("{}:{}", info.ip, info.port),
        soft_since: None,
    });
    (rx, pending)
}

/// Serve a replica until it disconnects, is killed or times out.
pub async fn serve(srv: Arc<Shared>, stream: TcpStream, inbuf: BytesMut, client: Client) {
    let mut client = client;
    let Some(mut rc) = client.replica.take() else {
        return;
    };
    let Some(start) = rc.start.take() else {
        return;
    };
    let (mut rd, mut wr) = stream.into_split();
    let name = rc.name(client.handle.addr);
    let info = match &start {
        Start::Partial { info, .. } | Start::Full { info, .. } => info.clone(),
    };
    let mut link = Link {
        srv: srv.clone(),
        inbuf,
        client: &client,
        info: info.clone(),
        acks: false,
    };
    let result = match start {
        Start::Partial { rx, pending, .. } => {
            link.stream(&mut rd, &mut wr, rx, pending, true).await
        }
        Start::Full { psync, .. } => {
            match full_sync(&mut link, &rc, psync, &name, &mut rd, &mut wr).await {
                Ok(Some((rx, pending, wait_ack))) => {
                    link.acks = psync;
                    link.stream(&mut rd, &mut wr, rx, pending, !wait_ack).await
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = result {
        tracing::info!("Connection with replica {} lost ({}).", name, e);
    } else {
        tracing::info!("Connection with replica {} lost.", name);
    }
    // Forget the replica: stream receiver, INFO entry, client registry.
    srv.repl.feed.lock().outs.retain(|o| o.id != info.id);
    {
        let mut reps = srv.repl.replicas.lock();
        reps.retain(|r| r.id != info.id);
        if reps.is_empty() {
            srv.repl
                .no_replicas_since
                .store(crate::util::mono_ms() as i64, Ordering::Relaxed);
        }
    }
    srv.repl.notify_acks();
    srv.unregister_client(client.id);
    client.replica = None;
}

struct Link<'a> {
    srv: Arc<Shared>,
    inbuf: BytesMut,
    client: &'a Client,
    info: Arc<ReplicaInfo>,
    /// The replica sends REPLCONF ACK (PSYNC replicas do; old SYNC ones don't).
    acks: bool,
}

impl Link<'_> {
    /// Stream the replication stream; read ACKs. `streaming` false = wait for
    /// the first ACK first (after a diskless transfer, as Redis does).
    async fn stream(
        &mut self,
        rd: &mut OwnedReadHalf,
        wr: &mut OwnedWriteHalf,
        mut rx: mpsc::UnboundedReceiver<Bytes>,
        pending: Arc<AtomicU64>,
        mut streaming: bool,
    ) -> std::io::Result<()> {
        let handle = self.client.handle.clone();
        let killed = handle.kill_notify.notified();
        tokio::pin!(killed);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            if handle.killed.load(Ordering::Relaxed) {
                return Ok(());
            }
            if self.inbuf.capacity() - self.inbuf.len() < 4096 {
                self.inbuf.reserve(16 * 1024);
            }
            let next = async {
                if streaming {
                    rx.recv().await
                } else {
                    std::future::pending().await
                }
            };
            tokio::select! {
                _ = &mut killed => return Ok(()),
                chunk = next => {
                    let Some(chunk) = chunk else { return Ok(()) };
                    buf.clear();
                    buf.extend_from_slice(&chunk);
                    while buf.len() < 256 * 1024 {
                        match rx.try_recv() {
                            Ok(c) => buf.extend_from_slice(&c),
                            Err(_) => break,
                        }
                    }
                    // A replica that stopped reading blocks this write: a kill
                    // (output-buffer limit, CLIENT KILL) must still end it.
                    tokio::select! {
                        r = wr.write_all(&buf) => r?,
                        _ = &mut killed => return Ok(()),
                    }
                    pending.fetch_sub(buf.len() as u64, Ordering::Relaxed);
                    // Redis 7.0 counts replica traffic apart from client traffic.
                    self.srv.stats.net_repl_output_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                }
                r = rd.read_buf(&mut self.inbuf) => {
                    if r? == 0 {
                        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed by replica"));
                    }
                    if self.read_acks() {
                        streaming = true;
                    }
                }
                _ = tick.tick() => {
                    if handle.killed.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    if self.acks {
                        let timeout = self.srv.config.read().repl_timeout as u64 * 1000;
                        let last = self.info.last_ack_ms.load(Ordering::Relaxed);
                        if crate::util::mono_ms().saturating_sub(last) > timeout {
                            tracing::warn!("Disconnecting timedout replica (streaming sync): {}:{}", self.info.ip, self.info.port);
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Parse what the replica sent; true if an ACK arrived.
    fn read_acks(&mut self) -> bool {
        let limits = Limits {
            max_bulk_len: 1024 * 1024,
            authenticated: true,
        };
        let mut acked = false;
        while let Ok(Some(req)) = parse_request(&mut self.inbuf, &limits) {
            if req.len() >= 3
                && req[0].eq_ignore_ascii_case(b"replconf")
                && req[1].eq_ignore_ascii_case(b"ack")
            {
                if let Some(off) = crate::util::parse_u64(&req[2]) {
                    self.info.ack_offset.fetch_max(off, Ordering::Relaxed);
                    self.info
                        .last_ack_ms
                        .store(crate::util::mono_ms(), Ordering::Relaxed);
                    acked = true;
                }
            }
        }
        if acked {
            self.srv.repl.notify_acks();
        }
        acked
    }
}

type Streaming = (mpsc::UnboundedReceiver<Bytes>, Arc<AtomicU64>, bool);

/// A replica waiting for a full sync. Replicas that wait together share one
/// snapshot (Redis's diskless delay window): the first to get the snapshot
/// slot starts it for every waiting replica of the same payload form.
pub struct Joiner {
    info: Arc<ReplicaInfo>,
    eof: bool,
    empty: bool,
    tx: oneshot::Sender<Started>,
}

/// A snapshot started for a replica: the FULLRESYNC point, its stream
/// receiver (registered in the same critical section) and the payload feed.
struct Started {
    replid: String,
    offset: u64,
    rx: mpsc::UnboundedReceiver<Bytes>,
    pending: Arc<AtomicU64>,
    data: mpsc::Receiver<Payload>,
}

enum Payload {
    /// Disk form: the file is complete, `$<len>` goes first.
    Len(u64),
    Data(Bytes),
    End(Result<(), String>),
}

/// Wait for a snapshot (with keep-alives), send `+FULLRESYNC` and the RDB.
/// Returns the stream receiver (None for rdb-only transfers) and whether
/// streaming must wait for the first ACK.
async fn full_sync(
    link: &mut Link<'_>,
    rc: &ReplicaConn,
    psync: bool,
    name: &str,
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
) -> std::io::Result<Option<Streaming>> {
    let srv = link.srv.clone();
    let (disk_mode, delay) = {
        let c = srv.config.read();
        (!c.repl_diskless_sync, c.repl_diskless_sync_delay as u64)
    };
    let eof_form = rc.capa_eof && !disk_mode;
    // Keep-alive newlines while we wait (not part of the offset). Other
    // replicas arriving meanwhile join the same snapshot.
    let (tx, mut started_rx) = oneshot::channel();
    srv.repl.full_waiting.lock().push(Joiner {
        info: link.info.clone(),
        eof: eof_form,
        empty: rc.rdb_filter_empty,
        tx,
    });
    let wait_until = Instant::now() + Duration::from_secs(if eof_form { delay } else { 0 });
    let mut early = None;
    while Instant::now() < wait_until {
        let left = wait_until - Instant::now();
        tokio::select! {
            _ = tokio::time::sleep(left.min(Duration::from_secs(1))) => wr.write_all(b"\n").await?,
            // Another replica's window ended first and its snapshot includes us.
            s = &mut started_rx => {
                early = Some(s);
                break;
            }
        }
    }
    let mut tries = 0;
    let started = loop {
        if let Some(s) = early.take() {
            break s.map_err(|_| std::io::Error::other("snapshot abandoned"))?;
        }
        tokio::select! {
            s = &mut started_rx => break s.map_err(|_| std::io::Error::other("snapshot abandoned"))?,
            gate = srv.repl.snapshot_gate.clone().lock_owned() => {
                let r = start_snapshot(&srv, &mut *srv.store_lock().await, gate);
                if let Err(e) = r {
                    // A BGSAVE may be running: try again shortly.
                    tries += 1;
                    if tries > 120 {
                        return Err(std::io::Error::other(e));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    wr.write_all(b"\n").await?;
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => wr.write_all(b"\n").await?,
        }
    };
    tracing::info!(
        "Starting BGSAVE for SYNC with target: {}",
        if eof_form { "replicas sockets" } else { "disk" }
    );
    let Started {
        replid,
        offset,
        rx,
        pending,
        mut data,
    } = started;
    if psync {
        wr.write_all(format!("+FULLRESYNC {} {}\r\n", replid, offset).as_bytes())
            .await?;
    }
    link.info.state.store(SEND_BULK, Ordering::Relaxed);
    // repl-timeout also covers the transfer: a replica whose socket accepts
    // no byte for that long is dropped (Redis: "timedout replica (full sync)").
    let timeout = Duration::from_secs(srv.config.read().repl_timeout.max(1) as u64);
    let stalled = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::TimedOut {
            tracing::warn!("Disconnecting timedout replica (full sync): {}", name);
        }
        e
    };
    let mark = crate::util::random_hex40();
    let mut header_sent = false;
    if eof_form {
        write_progress(&srv, wr, format!("$EOF:{}\r\n", mark).as_bytes(), timeout)
            .await
            .map_err(stalled)?;
        header_sent = true;
    }
    loop {
        // CLIENT KILL (or the output limit) during the transfer.
        if link.client.handle.killed.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("killed during the transfer"));
        }
        tokio::select! {
            msg = data.recv() => match msg {
                Some(Payload::Len(n)) => {
                    write_progress(&srv, wr, format!("${}\r\n", n).as_bytes(), timeout)
                        .await
                        .map_err(stalled)?;
                    header_sent = true;
                }
                Some(Payload::Data(b)) => write_progress(&srv, wr, &b, timeout).await.map_err(stalled)?,
                Some(Payload::End(Ok(()))) => break,
                Some(Payload::End(Err(e))) => return Err(std::io::Error::other(e)),
                None => return Err(std::io::Error::other("snapshot job ended early")),
            },
            _ = tokio::time::sleep(Duration::from_secs(1)), if !header_sent => wr.write_all(b"\n").await?,
        }
    }
    if eof_form {
        write_progress(&srv, wr, mark.as_bytes(), timeout)
            .await
            .map_err(stalled)?;
    }
    tracing::info!("Synchronization with replica {} succeeded", name);
    let _ = rd;
    if rc.rdb_only {
        return Ok(None);
    }
    link.info.state.store(ONLINE, Ordering::Relaxed);
    link.info
        .last_ack_ms
        .store(crate::util::mono_ms(), Ordering::Relaxed);
    srv.repl.notify_acks();
    // After a diskless transfer the replica can't tell where the payload ends
    // and the stream begins until it saw the mark: stream after its first ACK.
    Ok(Some((rx, pending, eof_form && psync)))
}

/// Write all of `data`, failing with `TimedOut` when the socket takes no
/// byte at all for `timeout` (a slow replica that keeps reading is fine).
async fn write_progress(
    srv: &Shared,
    wr: &mut OwnedWriteHalf,
    data: &[u8],
    timeout: Duration,
) -> std::io::Result<()> {
    let mut off = 0;
    while off < data.len() {
        match tokio::time::timeout(timeout, wr.write(&data[off..])).await {
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no progress sending the snapshot",
                ))
            }
            Ok(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => {
                off += n;
                srv.stats
                    .net_repl_output_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
            Ok(Err(e)) => return Err(e),
        }
    }
    Ok(())
}

/// With the snapshot slot held: take one snapshot for every waiting replica
/// of the first waiter's payload form, register their streams at the same
/// offset, and start the job that produces the payload (it keeps the slot).
fn start_snapshot(
    srv: &Arc<Shared>,
    store: &mut crate::store::Store,
    gate: tokio::sync::OwnedMutexGuard<()>,
) -> Result<(), String> {
    let mut waiting = srv.repl.full_waiting.lock();
    waiting.retain(|j| !j.tx.is_closed());
    let Some(first) = waiting.first() else {
        return Ok(());
    };
    let (eof, empty) = (first.eof, first.empty);
    let snap = if empty {
        payload::Snap::Empty
    } else {
        payload::begin(store)?
    };
    let offset = store.repl.offset;
    store.repl.reset_select();
    let replid = srv.repl.ids.lock().replid.clone();
    // A master's next command carries a SELECT; a replica passes its master's
    // stream on verbatim, so the snapshot names the DB that stream is on.
    let stream_db = match srv.repl.master.lock().as_ref() {
        Some(m) if srv.repl.is_replica() => m.stream_db,
        _ => 0,
    };
    let (group, rest): (Vec<Joiner>, Vec<Joiner>) = waiting
        .drain(..)
        .partition(|j| j.eof == eof && j.empty == empty);
    *waiting = rest;
    drop(waiting);
    let mut feeds = Vec::new();
    for j in group {
        let (rx, pending) = attach_stream(srv, &j.info);
        let (dtx, data) = mpsc::channel(64);
        let started = Started {
            replid: replid.clone(),
            offset,
            rx,
            pending,
            data,
        };
        if j.tx.send(started).is_ok() {
            feeds.push(dtx);
        } else {
            srv.repl.feed.lock().outs.retain(|o| o.id != j.info.id);
        }
    }
    if feeds.len() > 1 {
        tracing::info!("One snapshot feeds {} replicas", feeds.len());
    }
    let aux = vec![
        ("repl-stream-db", stream_db.to_string()),
        ("repl-id", replid),
        ("repl-offset", offset.to_string()),
    ];
    tokio::spawn(produce(srv.clone(), gate, snap, eof, aux, feeds));
    Ok(())
}

/// Send one message to every replica still listening; false when none is left.
async fn fan_out(feeds: &mut Vec<mpsc::Sender<Payload>>, msg: impl Fn() -> Payload) -> bool {
    let mut alive = Vec::with_capacity(feeds.len());
    for f in feeds.drain(..) {
        if f.send(msg()).await.is_ok() {
            alive.push(f);
        }
    }
    *feeds = alive;
    !feeds.is_empty()
}

/// Write the snapshot (straight into the sockets' feeds, or through a temp
/// file for the `$len` form) and release the snapshot slot when done.
async fn produce(
    srv: Arc<Shared>,
    gate: tokio::sync::OwnedMutexGuard<()>,
    snap: payload::Snap,
    eof: bool,
    aux: Vec<(&'static str, String)>,
    mut feeds: Vec<mpsc::Sender<Payload>>,
) {
    let result: Result<(), String> = if eof {
        let (tx, mut chunks) = mpsc::channel::<Vec<u8>>(16);
        let srv2 = srv.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = ChanWriter {
                tx,
                buf: Vec::with_capacity(64 * 1024),
            };
            payload::write(snap, &srv2, &aux, &mut w).and_then(|_| w.flush_buf())
        });
        while let Some(c) = chunks.recv().await {
            let b = Bytes::from(c);
            if !fan_out(&mut feeds, || Payload::Data(b.clone())).await {
                // Every replica is gone: stop the snapshot.
                crate::persist::snapshot::cancel(&mut *srv.store_lock().await);
                break;
            }
        }
        drop(chunks);
        match writer.await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    } else {
        let path = std::path::PathBuf::from(format!(
            "temp-repl-{}-{}.rdb",
            std::process::id(),
            crate::util::random_hex40()
        ));
        let p2 = path.clone();
        let srv2 = srv.clone();
        let mut job = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p2)?);
            payload::write(snap, &srv2, &aux, &mut f)?;
            let f = f.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            drop(f);
            std::fs::read(&p2)
        });
        // If every replica went away meanwhile, stop the snapshot early.
        let r = loop {
            tokio::select! {
                r = &mut job => break r,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    if feeds.iter().all(|f| f.is_closed()) {
                        crate::persist::snapshot::cancel(&mut *srv.store_lock().await);
                    }
                }
            }
        };
        let _ = std::fs::remove_file(&path);
        match r {
            Ok(Ok(data)) => {
                let data = Bytes::from(data);
                let len = data.len() as u64;
                if fan_out(&mut feeds, || Payload::Len(len)).await {
                    let mut off = 0;
                    while off < data.len() {
                        let end = (off + 64 * 1024).min(data.len());
                        let piece = data.slice(off..end);
                        if !fan_out(&mut feeds, || Payload::Data(piece.clone())).await {
                            break;
                        }
                        off = end;
                    }
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    if let Err(e) = &result {
        tracing::warn!("Replication snapshot failed: {}", e);
    }
    fan_out(&mut feeds, || Payload::End(result.clone())).await;
    drop(gate);
}

/// An `io::Write` on a blocking thread that hands 64 KB chunks to the async sender.
struct ChanWriter {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChanWriter {
    fn flush_buf(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(64 * 1024));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "replica gone"))
    }
}

impl std::io::Write for ChanWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= 64 * 1024 {
            self.flush_buf()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
