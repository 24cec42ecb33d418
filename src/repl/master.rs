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
use tokio::sync::mpsc;

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
                .store(super::mono_ms(&srv) as i64, Ordering::Relaxed);
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
                    wr.write_all(&buf).await?;
                    pending.fetch_sub(buf.len() as u64, Ordering::Relaxed);
                    self.srv.stats.net_output_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
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
                    if self.acks {
                        let timeout = self.srv.config.read().repl_timeout as u64 * 1000;
                        let last = self.info.last_ack_ms.load(Ordering::Relaxed);
                        if super::mono_ms(&self.srv).saturating_sub(last) > timeout {
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
                        .store(super::mono_ms(&self.srv), Ordering::Relaxed);
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

type Started = (mpsc::UnboundedReceiver<Bytes>, Arc<AtomicU64>, bool);

/// Wait for the snapshot slot, take the snapshot, send `+FULLRESYNC` and the
/// RDB. Returns the stream receiver (None for rdb-only transfers) and whether
/// streaming must wait for the first ACK.
async fn full_sync(
    link: &mut Link<'_>,
    rc: &ReplicaConn,
    psync: bool,
    name: &str,
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
) -> std::io::Result<Option<Started>> {
    let srv = link.srv.clone();
    let (disk_mode, delay) = {
        let c = srv.config.read();
        (!c.repl_diskless_sync, c.repl_diskless_sync_delay as u64)
    };
    let eof_form = rc.capa_eof && !disk_mode;
    // Keep-alive newlines while we wait (not part of the offset).
    let wait_until = Instant::now() + Duration::from_secs(if eof_form { delay } else { 0 });
    while Instant::now() < wait_until {
        let left = wait_until - Instant::now();
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        wr.write_all(b"\n").await?;
    }
    let gate = loop {
        tokio::select! {
            g = srv.snapshot_gate_lock() => break g,
            _ = tokio::time::sleep(Duration::from_secs(1)) => wr.write_all(b"\n").await?,
        }
    };
    // Snapshot and offset in one critical section; the stream receiver is
    // registered there too, so it starts exactly after the snapshot.
    // Another snapshot (BGSAVE) may be running: wait for it, with keep-alives.
    let mut tries = 0;
    let (snap, offset, replid, rx, pending) = loop {
        let attempt = {
            let mut store = srv.store.lock();
            let snap = if rc.rdb_filter_empty {
                Ok(payload::Snap::Empty)
            } else {
                payload::begin(&mut store)
            };
            snap.map(|snap| {
                let offset = store.repl.offset;
                store.repl.reset_select();
                let (rx, pending) = attach_stream(&srv, &link.info);
                let replid = srv.repl.ids.lock().replid.clone();
                (snap, offset, replid, rx, pending)
            })
        };
        match attempt {
            Ok(started) => break started,
            Err(e) if tries < 120 => {
                tries += 1;
                tracing::debug!("full sync waits for the running snapshot: {}", e);
                tokio::time::sleep(Duration::from_millis(500)).await;
                wr.write_all(b"\n").await?;
            }
            Err(e) => return Err(std::io::Error::other(e)),
        }
    };
    tracing::info!(
        "Starting BGSAVE for SYNC with target: {}",
        if eof_form { "replicas sockets" } else { "disk" }
    );
    if psync {
        wr.write_all(format!("+FULLRESYNC {} {}\r\n", replid, offset).as_bytes())
            .await?;
    }
    link.info.state.store(SEND_BULK, Ordering::Relaxed);
    let aux = vec![
        ("repl-stream-db", "0".to_string()),
        ("repl-id", replid.clone()),
        ("repl-offset", offset.to_string()),
    ];
    if eof_form {
        let mark = crate::util::random_hex40();
        wr.write_all(format!("$EOF:{}\r\n", mark).as_bytes())
            .await?;
        let (tx, mut chunks) = mpsc::channel::<Vec<u8>>(16);
        let srv2 = srv.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = ChanWriter {
                tx,
                buf: Vec::with_capacity(64 * 1024),
            };
            let r = payload::write(snap, &srv2, &aux, &mut w);
            r.and_then(|_| w.flush_buf())
        });
        // On a write error the writer is still awaited, so the snapshot slot
        // is only released once the snapshot is really over.
        let mut failed = None;
        while let Some(c) = chunks.recv().await {
            if let Err(e) = wr.write_all(&c).await {
                failed = Some(e);
                break;
            }
        }
        drop(chunks);
        let written = writer
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if let Some(e) = failed {
            return Err(e);
        }
        written?;
        wr.write_all(mark.as_bytes()).await?;
    } else {
        let path = std::path::PathBuf::from(format!(
            "temp-repl-{}-{}.rdb",
            std::process::id(),
            link.info.id
        ));
        let p2 = path.clone();
        let srv2 = srv.clone();
        let mut job = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p2)?);
            payload::write(snap, &srv2, &aux, &mut f)?;
            let f = f.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            Ok(f.metadata()?.len())
        });
        let len = loop {
            tokio::select! {
                r = &mut job => break r.map_err(|e| std::io::Error::other(e.to_string()))?,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if let Err(e) = wr.write_all(b"\n").await {
                        // The replica is gone: stop the snapshot, wait for its job, clean up.
                        crate::persist::snapshot::cancel(&mut srv.store.lock());
                        let _ = job.await;
                        let _ = std::fs::remove_file(&path);
                        return Err(e);
                    }
                }
            }
        };
        let len = match len {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        wr.write_all(format!("${}\r\n", len).as_bytes()).await?;
        let p3 = path.clone();
        let data = tokio::task::spawn_blocking(move || std::fs::read(&p3))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let _ = std::fs::remove_file(&path);
        wr.write_all(&data?).await?;
    }
    drop(gate);
    tracing::info!("Synchronization with replica {} succeeded", name);
    let _ = rd;
    if rc.rdb_only {
        return Ok(None);
    }
    link.info.state.store(ONLINE, Ordering::Relaxed);
    link.info
        .last_ack_ms
        .store(super::mono_ms(&srv), Ordering::Relaxed);
    srv.repl.notify_acks();
    // After a diskless transfer the replica can't tell where the payload ends
    // and the stream begins until it saw the mark: stream after its first ACK.
    Ok(Some((rx, pending, eof_form && psync)))
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

impl Shared {
    /// One snapshot at a time (a second full sync waits for the running one).
    pub async fn snapshot_gate_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.repl.snapshot_gate.lock().await
    }
}
