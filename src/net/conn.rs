//! The data node's connection service (`impl net::Service for Shared`): the
//! shared loop in `net::service` reads and writes; here every complete
//! request is parsed and the whole batch runs under one acquisition of the
//! keyspace lock. Pub/sub deliveries and MONITOR lines arrive on a channel
//! and are encoded here for this client's protocol.

use super::client::{Client, ClientHandle, Push};
use super::service::{Flow, Service};
use crate::cmd::admit::{self, Caller, Verdict};
use crate::cmd::blocking::{self, Resumed, Wake};
use crate::cmd::{exec, Post};
use crate::resp::{parse_request, Limits, Out, Request};
use crate::server::Shared;
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

/// A data-node connection: the client and the requests parsed but not yet
/// run (a blocked request stays first in line).
pub struct Session {
    client: Client,
    batch: Vec<Request>,
}

impl Service for Shared {
    type Session = Session;
    type Push = Push;
    type Event = Wake;

    fn accept(&self, stream: &TcpStream) -> bool {
        self.stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let keepalive = self.config.read().tcp_keepalive;
        if keepalive > 0 {
            let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive as u64));
            let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&ka);
        }
        let max = self.config.read().maxclients as usize;
        if self.clients.lock().len() >= max {
            self.stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn stopping(&self) -> impl Future<Output = ()> + Send + '_ {
        let mut shutdown = self.shutdown.subscribe();
        async move {
            let _ = shutdown.changed().await;
        }
    }

    fn open(
        self: &Arc<Self>,
        stream: &TcpStream,
        addr: SocketAddr,
        laddr: SocketAddr,
    ) -> (Session, mpsc::UnboundedReceiver<Push>) {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = Arc::new(ClientHandle::new(id, addr, laddr, tx));
        handle
            .fd
            .store(std::os::fd::AsRawFd::as_raw_fd(stream), Ordering::Relaxed);
        self.register_client(handle.clone());
        let cfg = self.config_snapshot();
        let client = Client::new(handle.clone(), cfg.1.requirepass.is_empty(), cfg);
        tracing::debug!("accepted {} (id={})", addr, id);
        // Shutdown reaches connections through their kill signal
        // (Shared::begin_shutdown kills every client).
        if self.is_shutting_down() {
            handle.kill();
        }
        let batch = Vec::new();
        (Session { client, batch }, rx)
    }

    fn kill_signal(s: &Session) -> Option<Arc<Notify>> {
        Some(s.client.handle.kill_notify.clone())
    }

    fn idle_limit(&self, s: &Session) -> Option<Duration> {
        // The snapshot of the client's last batch (`timeout` changes apply from then).
        let t = s.client.cfg.timeout as u64;
        (t > 0
            && !s.client.any_subscriptions()
            && !s.client.handle.is_monitor.load(Ordering::Relaxed))
        .then(|| Duration::from_secs(t))
    }

    fn closing(&self, s: &Session) -> bool {
        s.client.handle.killed.load(Ordering::Relaxed)
    }

    fn read_done(&self, n: usize) {
        self.stats
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        self.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
    }

    fn write_done(&self, n: usize) {
        self.stats
            .net_output_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        self.stats.writes_processed.fetch_add(1, Ordering::Relaxed);
    }

    fn process<'a>(
        self: &'a Arc<Self>,
        s: &'a mut Session,
        inbuf: &'a mut BytesMut,
        out: &'a mut Out,
    ) -> impl Future<Output = Flow> + Send + 'a {
        process(self, &mut s.client, inbuf, out, &mut s.batch)
    }

    fn push(&self, s: &Session, out: &mut Out, p: &Push) {
        encode_push(&s.client, out, p);
    }

    fn wait<'a>(&'a self, s: &'a Session) -> impl Future<Output = Wake> + Send + 'a {
        blocking::wait(&s.client)
    }

    async fn resume(&self, s: &mut Session, ev: Wake, out: &mut Out) -> Flow {
        let r = blocking::on_wake(self, &mut s.client, out, &s.batch[0], ev).await;
        aof_barrier(self).await;
        match r {
            Resumed::Done(post) => {
                s.batch.remove(0);
                apply_posts(self, out, post)
            }
            // Flow::Blocked: the loop waits again.
            Resumed::StillBlocked(post) => apply_posts(self, out, post),
        }
    }

    fn input_overflow(&self, inbuf: &BytesMut) -> bool {
        inbuf.len() as u64 > self.config.read().client_query_buffer_limit as u64
    }

    async fn handover(self: Arc<Self>, stream: TcpStream, inbuf: BytesMut, s: Session) {
        // PSYNC/SYNC: the connection now belongs to the replication master side.
        crate::repl::master::serve(self, stream, inbuf, s.client).await;
    }

    async fn close(&self, s: &mut Session) {
        cleanup(self, &mut s.client).await;
        tracing::debug!(
            "client {} closed (id={})",
            s.client.handle.addr,
            s.client.id
        );
    }
}

/// Parse and execute everything complete in `inbuf` (after any requests left
/// over from before a block).
async fn process(
    srv: &Shared,
    client: &mut Client,
    inbuf: &mut BytesMut,
    out: &mut Out,
    batch: &mut Vec<Request>,
) -> Flow {
    client.refresh_config(srv);
    let limits = Limits {
        max_bulk_len: client.cfg.proto_max_bulk_len as u64,
        authenticated: client.authenticated || !client.auth_required(),
    };
    let mut proto_err = None;
    client.in_peak = inbuf.len();
    loop {
        match parse_request(inbuf, &limits) {
            Ok(Some(req)) => {
                if !req.is_empty() {
                    batch.push(req);
                }
            }
            Ok(None) => break,
            Err(e) => {
                proto_err = Some(e);
                break;
            }
        }
    }
    if proto_err.is_none() && inbuf.len() as u64 > client.cfg.client_query_buffer_limit as u64 {
        tracing::warn!(
            "closing client {} that reached max query buffer length (qbuf={})",
            client.handle.addr,
            inbuf.len()
        );
        batch.clear();
        return Flow::Close;
    }

    let mut flow = Flow::Continue;
    while !batch.is_empty() {
        let mut post = Vec::new();
        // Uncontended: one try_lock. Contended: maybe a script holds the lock.
        let store = match srv.store.try_lock() {
            Some(g) => Some(g),
            None => lock_or_busy(srv, client, out, batch).await,
        };
        let done = match store {
            Some(mut store) => {
                client.refresh_config(srv);
                let (t0, done) = exec::run_batch(srv, &mut store, client, out, &mut post, batch);
                client.last_active = Some(t0);
                done
            }
            // Everything was answered BUSY (or SCRIPT KILL) without the lock.
            None => 0,
        };
        // One shared-counter update per batch, not per command: the line would bounce between cores.
        srv.stats.commands.fetch_add(done as u64, Ordering::Relaxed);
        let wait = post.iter().find_map(|p| match p {
            Post::Wait {
                offset,
                replicas,
                deadline,
            } => Some((*offset, *replicas, *deadline)),
            _ => None,
        });
        let paused = post.iter().find_map(|p| match p {
            Post::Pause { may_write } => Some(*may_write),
            _ => None,
        });
        flow = apply_posts(srv, out, post);
        if let Some(may_write) = paused {
            // Held by CLIENT PAUSE / FAILOVER: wait without the lock, then
            // submit the held request (first in line now) again.
            batch.drain(..done);
            publish(client, inbuf, out);
            srv.pause.wait(may_write).await;
            continue;
        }
        if let (Some((offset, replicas, deadline)), Flow::Continue) = (wait, flow) {
            // WAIT: answer it without the keyspace lock, then run the rest of the batch.
            batch.drain(..done);
            client.in_wait = Some(deadline.is_some());
            publish(client, inbuf, out);
            // WAIT with `appendfsync always`: on our disk first, then in n replicas.
            aof_barrier(srv).await;
            let n = srv
                .repl
                .wait_acks(offset, replicas, deadline, &client.handle.killed)
                .await;
            client.in_wait = None;
            publish(client, inbuf, out);
            out.proto = client.proto;
            out.int(n as i64);
            continue;
        }
        if flow == Flow::Blocked {
            batch.drain(..done);
        } else {
            batch.clear();
        }
        publish(client, inbuf, out);
        break;
    }
    aof_barrier(srv).await;
    if let Some(e) = proto_err {
        tracing::info!(
            "Protocol error ({}) from client: {}",
            e.0,
            client.handle.addr
        );
        // Redis replies `-ERR Protocol error: ...` (addReplyError adds the ERR code).
        out.error(&format!("ERR {}", e.0));
        if flow != Flow::Blocked {
            flow = Flow::Close;
        }
    }
    flow
}

/// `appendfsync always`: replies leave only once every write appended
/// before them is fsynced (group commit: one fsync serves every client
/// waiting). A stalled `everysec` disk: once they are written.
async fn aof_barrier(srv: &Shared) {
    if let Some((offset, synced)) = srv.aof.reply_barrier() {
        srv.aof.wait(offset, synced).await;
    }
}

fn publish(client: &Client, inbuf: &BytesMut, out: &Out) {
    client.publish_meta(inbuf.len(), inbuf.capacity() - inbuf.len(), out.len());
}

fn apply_posts(srv: &Shared, out: &mut Out, post: Vec<Post>) -> Flow {
    let mut flow = Flow::Continue;
    for p in post {
        match p {
            Post::Close => flow = Flow::Close,
            Post::Shutdown => {
                srv.begin_shutdown();
                out.buf.clear();
                flow = Flow::Close;
            }
            Post::Block => flow = Flow::Blocked,
            Post::Replica => flow = Flow::Handover,
            Post::Wait { .. } | Post::Pause { .. } => {}
        }
    }
    flow
}

/// The keyspace lock is taken. While a script holds it, wait without
/// blocking the worker thread; past busy-reply-threshold, the leading
/// requests go through the admission check as they are: refused with -BUSY,
/// or served by their lock-free handler (SCRIPT KILL, SHUTDOWN NOSAVE);
/// answered requests leave the batch. None when nothing is left to run.
async fn lock_or_busy<'a>(
    srv: &'a Shared,
    client: &Client,
    out: &mut Out,
    batch: &mut Vec<Request>,
) -> Option<parking_lot::MutexGuard<'a, crate::store::Store>> {
    loop {
        let busy = &srv.scripts;
        if !busy.running() {
            if let Some(g) = srv.store.try_lock_for(Duration::from_micros(200)) {
                return Some(g);
            }
            tokio::task::yield_now().await;
            continue;
        }
        if busy.is_busy() {
            let mut answered = 0;
            for req in batch.iter() {
                let cmd = match exec::resolve(req) {
                    Ok(c) => c,
                    Err(e) => {
                        out.error(&e.to_string());
                        answered += 1;
                        continue;
                    }
                };
                // Static flags: no script cache lookups while a script runs.
                match admit::check(srv, Caller::Client, client, cmd, cmd.flags, req, None) {
                    Verdict::Reject(e) => out.error(&e.to_string()),
                    _ => match cmd.lock_free {
                        Some(serve) => serve(srv, req, out),
                        // Allowed during a script, but it needs the keyspace: wait.
                        None => break,
                    },
                }
                answered += 1;
            }
            batch.drain(..answered);
            if batch.is_empty() {
                return None;
            }
        }
        if let Some(g) = srv.store.try_lock() {
            return Some(g);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn encode_push(client: &Client, out: &mut Out, p: &Push) {
    out.proto = client.proto;
    match p {
        Push::Message { channel, payload } => {
            out.push(3);
            out.bulk(b"message");
            out.bulk(channel);
            out.bulk(payload);
        }
        Push::PMessage {
            pattern,
            channel,
            payload,
        } => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(pattern);
            out.bulk(channel);
            out.bulk(payload);
        }
        Push::SMessage { channel, payload } => {
            out.push(3);
            out.bulk(b"smessage");
            out.bulk(channel);
            out.bulk(payload);
        }
        Push::Monitor(line) => {
            out.raw(b"+");
            out.raw(line);
            out.raw(b"\r\n");
        }
        Push::Invalidate {
            keys,
            redirected,
            null_resp3,
        } => {
            // RESP3: a push. RESP2 has no pushes: only a redirect target in
            // pub/sub mode gets it, as a `__redis__:invalidate` message;
            // anyone else gets nothing (as Redis's sendTrackingMessage).
            if out.proto == crate::resp::Proto::Resp3 {
                out.push(2);
                out.bulk(b"invalidate");
            } else if *redirected && client.any_subscriptions() {
                out.push(3);
                out.bulk(b"message");
                out.bulk(b"__redis__:invalidate");
            } else {
                return;
            }
            match keys {
                Some(keys) => {
                    out.array(keys.len());
                    for k in keys {
                        out.bulk(k);
                    }
                }
                // Redis writes the tracking client's null, whatever the receiver speaks.
                None => out.raw(if *null_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
            }
        }
        Push::RedirBroken(id) => {
            if out.proto == crate::resp::Proto::Resp3 {
                out.push(2);
                out.bulk(b"tracking-redir-broken");
                out.int(*id as i64);
            }
        }
    }
}

/// Forget everything the server holds for a closed client.
async fn cleanup(srv: &Shared, client: &mut Client) {
    if client.blocked.is_some() || !client.watched.is_empty() || client.tracking.is_some() {
        let mut store = srv.store_lock().await;
        let st = &mut *store;
        crate::cmd::tracking::disable(st, client);
        if let Some(b) = client.blocked.take() {
            st.blocking
                .unregister(&mut st.dbs, &b.keys, &client.handle.waiter);
        }
        crate::cmd::tx::unwatch_all(st, client);
    }
    if client.any_subscriptions() {
        let mut ps = srv.pubsub.lock();
        for c in client.subs.drain() {
            ps.channels.remove(&c, client.id);
        }
        for p in client.psubs.drain() {
            ps.patterns.remove(&p, client.id);
        }
        for c in client.ssubs.drain() {
            ps.shard.remove(&c, client.id);
        }
    }
    srv.unregister_client(client.id);
}
