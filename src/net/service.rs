//! The serve loop both roles share: one accept loop and one per-connection
//! read / parse / reply loop, generic over [`Service`], the trait that holds
//! what differs between the data node (`net::conn`) and the sentinel
//! (`sentinel::front`). Generic rather than `dyn`: each role gets its own
//! monomorphized loop, so the data node's hot path pays no dynamic dispatch
//! and no allocation for being shared.
//!
//! The loop owns the socket, the input buffer and the reply buffer. Per
//! wake-up it reads (then lets the service parse and execute everything
//! complete), or encodes out-of-band pushes; then it writes all pending
//! output with one syscall. A service may suspend the connection after a
//! request (a blocked BLPOP): the loop then waits for the service's event
//! while still buffering input, as Redis does, and never parses it until the
//! service resumes.

use crate::resp::{Out, Proto};
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::Notify;

/// What the per-connection loop does after the service handled input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Write pending replies, then close.
    Close,
    /// A request is suspended (blocked on keys...): the loop buffers input
    /// and waits for [`Service::wait`].
    Blocked,
    /// The socket changes owner (PSYNC/SYNC): see [`Service::handover`].
    Handover,
}

/// A role that serves RESP clients over TCP.
pub trait Service: Send + Sync + Sized + 'static {
    /// Per-connection state.
    type Session: Send + 'static;
    /// An out-of-band message for one connection (pub/sub delivery, MONITOR line).
    type Push: Send + 'static;
    /// What ends a suspension (a wake-up, a deadline).
    type Event: Send;

    /// A connection arrived: count it, apply socket options; false refuses
    /// it with Redis's max-clients error.
    fn accept(&self, stream: &TcpStream) -> bool;

    /// Resolves when the service stops accepting connections.
    fn stopping(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }

    /// Register an accepted connection; the receiver carries its pushes.
    fn open(
        self: &Arc<Self>,
        stream: &TcpStream,
        addr: SocketAddr,
        laddr: SocketAddr,
    ) -> (Self::Session, UnboundedReceiver<Self::Push>);

    /// Fires when the connection is killed (CLIENT KILL, shutdown).
    fn kill_signal(_s: &Self::Session) -> Option<Arc<Notify>> {
        None
    }

    /// Close the connection after this much silence.
    fn idle_limit(&self, _s: &Self::Session) -> Option<Duration> {
        None
    }

    /// After a flush: close the connection (killed meanwhile).
    fn closing(&self, _s: &Self::Session) -> bool {
        false
    }

    /// `n` bytes were read / written (statistics).
    fn read_done(&self, _n: usize) {}
    fn write_done(&self, _n: usize) {}

    /// Parse and execute everything complete in `inbuf`, appending replies to `out`.
    fn process<'a>(
        self: &'a Arc<Self>,
        s: &'a mut Self::Session,
        inbuf: &'a mut BytesMut,
        out: &'a mut Out,
    ) -> impl Future<Output = Flow> + Send + 'a;

    /// Encode one push for this connection.
    fn push(&self, s: &Self::Session, out: &mut Out, p: &Self::Push);

    /// While suspended: wait for what ends the suspension. Must be cancel-safe
    /// (it is raced against reads and dropped when input arrives).
    fn wait<'a>(&'a self, _s: &'a Self::Session) -> impl Future<Output = Self::Event> + Send + 'a {
        std::future::pending()
    }

    /// Handle what [`Service::wait`] returned (runs to completion).
    fn resume<'a>(
        &'a self,
        _s: &'a mut Self::Session,
        _ev: Self::Event,
        _out: &'a mut Out,
    ) -> impl Future<Output = Flow> + Send + 'a {
        async { Flow::Close }
    }

    /// While suspended: input buffered beyond the service's limit closes the connection.
    fn input_overflow(&self, _inbuf: &BytesMut) -> bool {
        false
    }

    /// Give the socket away (Flow::Handover); the loop ends without `close`.
    fn handover(
        self: Arc<Self>,
        _stream: TcpStream,
        _inbuf: BytesMut,
        _s: Self::Session,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Forget the connection.
    fn close<'a>(&'a self, s: &'a mut Self::Session) -> impl Future<Output = ()> + Send + 'a;
}

/// Accept on every listener until the service stops.
pub async fn serve<S: Service>(svc: Arc<S>, listeners: Vec<TcpListener>) {
    let mut tasks = Vec::new();
    for l in listeners {
        tasks.push(tokio::spawn(accept_loop(svc.clone(), l)));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop<S: Service>(svc: Arc<S>, listener: TcpListener) {
    let stopping = svc.stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, addr)) => {
                    let laddr = stream.local_addr().unwrap_or(addr);
                    let _ = stream.set_nodelay(true);
                    if !svc.accept(&stream) {
                        tokio::spawn(reject(stream));
                        continue;
                    }
                    tokio::spawn(connection(svc.clone(), stream, addr, laddr));
                }
                Err(e) => {
                    // EMFILE and friends: log, back off briefly, keep serving.
                    tracing::warn!("accept failed: {}", e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut stopping => break,
        }
    }
}

async fn reject(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
}

/// One connection, from accept to close.
pub async fn connection<S: Service>(
    svc: Arc<S>,
    mut stream: TcpStream,
    addr: SocketAddr,
    laddr: SocketAddr,
) {
    let (mut sess, mut rx) = svc.open(&stream, addr, laddr);
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = Out::new(Proto::Resp2);
    let (mut rd, mut wr) = stream.split();
    // Registered once for the connection's life, not once per request.
    // Boxed so it can be dropped before a handover: a registered waiter
    // would otherwise swallow the next kill meant for the new owner.
    let kill = S::kill_signal(&sess);
    let mut killed = Box::pin(async move {
        match kill {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    });

    loop {
        let idle_limit = svc.idle_limit(&sess);
        let idle = async {
            match idle_limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        reserve(&mut inbuf);
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
                    Ok(n) => svc.read_done(n),
                }
                // Deliveries queued before these requests arrived go out
                // before their replies (as Redis's output buffer orders them).
                while out.len() < 256 * 1024 {
                    let Ok(p) = rx.try_recv() else { break };
                    svc.push(&sess, &mut out, &p);
                }
                flow = svc.process(&mut sess, &mut inbuf, &mut out).await;
            }
            Some(p) = rx.recv() => {
                svc.push(&sess, &mut out, &p);
                while let Ok(p) = rx.try_recv() {
                    svc.push(&sess, &mut out, &p);
                    if out.len() > 64 * 1024 { break; }
                }
            }
        }
        if !flush(&*svc, &mut wr, &mut out).await {
            break;
        }
        // A suspended request (BLPOP...) holds the rest of the pipeline until it is answered.
        while flow == Flow::Blocked {
            reserve(&mut inbuf);
            let ev = tokio::select! {
                _ = &mut killed => Err(Flow::Close),
                ev = svc.wait(&sess) => Ok(ev),
                r = rd.read_buf(&mut inbuf) => match r {
                    Ok(0) | Err(_) => Err(Flow::Close),
                    Ok(n) => {
                        svc.read_done(n);
                        Err(if svc.input_overflow(&inbuf) { Flow::Close } else { Flow::Blocked })
                    }
                },
            };
            flow = match ev {
                Ok(ev) => svc.resume(&mut sess, ev, &mut out).await,
                Err(f) => f,
            };
            if flow == Flow::Continue {
                flow = svc.process(&mut sess, &mut inbuf, &mut out).await;
            }
            if !flush(&*svc, &mut wr, &mut out).await {
                flow = Flow::Close;
            }
        }
        if flow == Flow::Handover {
            drop(killed);
            svc.handover(stream, inbuf, sess).await;
            return;
        }
        if flow == Flow::Close || svc.closing(&sess) {
            break;
        }
    }
    let _ = wr.shutdown().await;
    svc.close(&mut sess).await;
}

/// Keep room for a full read. Growth follows what has arrived (doubling),
/// never what a length header claims.
fn reserve(inbuf: &mut BytesMut) {
    if inbuf.capacity() - inbuf.len() < 4096 {
        inbuf.reserve(inbuf.len().max(16 * 1024));
    }
}

/// Write pending output; false when the peer is gone.
async fn flush<S: Service>(svc: &S, wr: &mut (impl AsyncWriteExt + Unpin), out: &mut Out) -> bool {
    if out.is_empty() {
        return true;
    }
    svc.write_done(out.len());
    if wr.write_all(&out.buf).await.is_err() {
        return false;
    }
    out.buf.clear();
    if out.buf.capacity() > 1024 * 1024 {
        out.buf = BytesMut::with_capacity(16 * 1024);
    }
    true
}
