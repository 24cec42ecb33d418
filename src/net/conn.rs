//! The connection task: read, parse every complete request, run the whole
//! batch under one acquisition of the keyspace lock, write all replies with
//! one syscall. Pub/sub deliveries and MONITOR lines arrive on a channel and
//! are encoded here for this client's protocol.

use super::client::{Client, ClientHandle, Push};
use crate::cmd::admit::{self, Caller, Verdict};
use crate::cmd::{blocking, exec, Post};
use crate::resp::{parse_request, Limits, Out, Request};
use crate::server::Shared;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub async fn run(srv: Arc<Shared>, mut stream: TcpStream, addr: SocketAddr, laddr: SocketAddr) {
    let id = srv.next_client_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = Arc::new(ClientHandle::new(id, addr, laddr, tx));
    handle
        .fd
        .store(std::os::fd::AsRawFd::as_raw_fd(&stream), Ordering::Relaxed);
    srv.register_client(handle.clone());
    let cfg = srv.config_snapshot();
    let mut client = Client::new(handle.clone(), cfg.1.requirepass.is_empty(), cfg);
    tracing::debug!("accepted {} (id={})", addr, id);

    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = Out::new(crate::resp::Proto::Resp2);
    let mut batch: Vec<Request> = Vec::new();
    let (mut rd, mut wr) = stream.split();
    // Registered once for the connection's life, not once per request:
    // shutdown reaches connections through this too (Shared::begin_shutdown kills every client).
    // Boxed so it can be dropped before a handover: a registered waiter
    // would otherwise swallow the next kill meant for the replica link.
    let mut killed = Box::pin(handle.kill_notify.notified());
    if srv.is_shutting_down() {
        handle.kill();
    }

    loop {
        let idle_limit = {
            client.refresh_config(&srv);
            let t = client.cfg.timeout as u64;
            (t > 0 && !client.any_subscriptions() && !handle.is_monitor.load(Ordering::Relaxed))
                .then(|| Duration::from_secs(t))
        };
        let idle = async {
            match idle_limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        // Keep room for a full read. Growth follows what has arrived (doubling),
        // never what a length header claims.
        if inbuf.capacity() - inbuf.len() < 4096 {
            inbuf.reserve(inbuf.len().max(16 * 1024));
        }
        let mut flow = Flow::Continue;
        tokio::select! {
            _ = &mut killed => break,
            _ = idle => {
                tracing::debug!("closing idle client {}", addr);
                break;
            }
            r = rd.read_buf(&mut inbuf) => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        srv.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        srv.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                flow = process(&srv, &mut client, &mut inbuf, &mut out, &mut batch).await;
            }
            Some(p) = rx.recv() => {
                encode_push(&mut out, &p);
                while let Ok(p) = rx.try_recv() {
                    encode_push(&mut out, &p);
                    if out.len() > 64 * 1024 { break; }
                }
            }
        }
        if !flush(&srv, &mut wr, &mut out).await {
            break;
        }
        // A blocked command (BLPOP...) holds the rest of the pipeline until it is answered.
        while flow == Flow::Blocked {
            flow = wait_blocked(
                &srv,
                &mut client,
                &mut rd,
                &mut inbuf,
                &mut out,
                &mut batch,
                killed.as_mut(),
            )
            .await;
            if flow == Flow::Continue {
                flow = process(&srv, &mut client, &mut inbuf, &mut out, &mut batch).await;
            }
            if !flush(&srv, &mut wr, &mut out).await {
                flow = Flow::Close;
            }
        }
        if flow == Flow::Handover {
            // PSYNC/SYNC: the connection now belongs to the replication master side.
            drop(killed);
            crate::repl::master::serve(srv.clone(), stream, inbuf, client).await;
            return;
        }
        if flow == Flow::Close || handle.killed.load(Ordering::Relaxed) {
            break;
        }
    }
    let _ = wr.shutdown().await;
    cleanup(&srv, &mut client).await;
    tracing::debug!("client {} closed (id={})", addr, id);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
    /// The first request of `batch` blocked on keys.
    Blocked,
    /// The client became a replica (PSYNC/SYNC): hand the socket over.
    Handover,
}

/// Write pending output; false when the peer is gone.
async fn flush(srv: &Shared, wr: &mut (impl AsyncWriteExt + Unpin), out: &mut Out) -> bool {
    if out.is_empty() {
        return true;
    }
    srv.stats
        .net_output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    srv.stats.writes_processed.fetch_add(1, Ordering::Relaxed);
    if wr.write_all(&out.buf).await.is_err() {
        return false;
    }
    out.buf.clear();
    if out.buf.capacity() > 1024 * 1024 {
        out.buf = BytesMut::with_capacity(16 * 1024);
    }
    true
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

/// Wait while the first request of `batch` is blocked: until a write wakes it
/// (it is then run again), its deadline passes, CLIENT UNBLOCK, a kill or a
/// disconnect. Input that arrives meanwhile is only buffered, as in Redis.
async fn wait_blocked(
    srv: &Shared,
    client: &mut Client,
    rd: &mut (impl AsyncReadExt + Unpin),
    inbuf: &mut BytesMut,
    out: &mut Out,
    batch: &mut Vec<Request>,
    mut killed: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
) -> Flow {
    loop {
        if inbuf.capacity() - inbuf.len() < 4096 {
            inbuf.reserve(inbuf.len().max(16 * 1024));
        }
        tokio::select! {
            _ = killed.as_mut() => return Flow::Close,
            wake = blocking::wait(client) => {
                match blocking::on_wake(srv, client, out, &batch[0], wake).await {
                    blocking::Resumed::Done(post) => {
                        batch.remove(0);
                        return apply_posts(srv, out, post);
                    }
                    blocking::Resumed::StillBlocked(post) => match apply_posts(srv, out, post) {
                        Flow::Blocked => continue,
                        other => return other,
                    },
                }
            }
            r = rd.read_buf(inbuf) => match r {
                Ok(0) | Err(_) => return Flow::Close,
                Ok(n) => {
                    srv.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    srv.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
                    if inbuf.len() as u64 > client.cfg.client_query_buffer_limit as u64 {
                        return Flow::Close;
                    }
                }
            },
        }
    }
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

fn encode_push(out: &mut Out, p: &Push) {
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
    }
}

/// Forget everything the server holds for a closed client.
async fn cleanup(srv: &Shared, client: &mut Client) {
    if client.blocked.is_some() || !client.watched.is_empty() {
        let mut store = srv.store_lock().await;
        let st = &mut *store;
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
