//! The cluster bus driver: listens on the bus port, keeps one outbound link
//! per known node and serves inbound ones, runs the core's cron every
//! 100 ms and carries out its actions. Messages are framed by the length
//! in their header; a link that sends something else is closed.

use super::core::{Action, Env, LinkId};
use super::msg::Msg;
use super::Cluster;
use crate::server::Shared;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub type Links = Mutex<HashMap<LinkId, mpsc::UnboundedSender<Vec<u8>>>>;

/// An address as Redis prints it (IPv4-mapped IPv6 as plain IPv4).
pub fn ip_str(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_else(|| v6.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

pub fn env(srv: &Shared, cl: &Cluster) -> Env {
    if let Some(st) = srv.store.try_lock() {
        cl.offset.store(st.repl.offset, Ordering::Relaxed);
    }
    let down = if srv.repl.is_replica() && !srv.repl.link_up.load(Ordering::Relaxed) {
        srv.repl
            .master
            .lock()
            .as_ref()
            .and_then(|m| m.down_since)
            .map_or(0, |t| t.elapsed().as_millis() as u64)
    } else {
        0
    };
    Env {
        now: crate::util::now_ms(),
        repl_offset: cl.offset.load(Ordering::Relaxed),
        master_link_down_ms: down,
    }
}

/// Bind the bus port and start the driver.
pub async fn start(srv: Arc<Shared>, cl: Arc<Cluster>) -> Result<(), String> {
    let tcp = srv.tcp_port.load(Ordering::Relaxed) as u16;
    let (bind, port) = {
        let c = srv.config.read();
        (c.bind.clone(), super::bus_port(&c, tcp))
    };
    let listeners = crate::net::bind_addrs(&bind, port).await?;
    for l in listeners {
        tokio::spawn(accept_loop(srv.clone(), cl.clone(), l));
    }
    tokio::spawn(cron(srv, cl));
    Ok(())
}

async fn accept_loop(srv: Arc<Shared>, cl: Arc<Cluster>, l: tokio::net::TcpListener) {
    loop {
        let Ok((stream, peer)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if srv.is_shutting_down() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .map(|a| ip_str(a.ip()))
            .unwrap_or_default();
        let id = cl
            .state
            .lock()
            .accept(crate::util::now_ms(), &local, &ip_str(peer.ip()));
        let (tx, rx) = mpsc::unbounded_channel();
        cl.links.lock().insert(id, tx);
        tokio::spawn(serve_link(srv.clone(), cl.clone(), id, stream, rx));
    }
}

async fn cron(srv: Arc<Shared>, cl: Arc<Cluster>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if srv.is_shutting_down() {
                    return;
                }
                let e = env(&srv, &cl);
                let tcp = srv.tcp_port.load(Ordering::Relaxed) as u16;
                let params = super::params(&srv.config.read(), tcp);
                let acts = {
                    let mut st = cl.state.lock();
                    st.params = params;
                    st.apply_params();
                    st.tick(e);
                    st.take_actions()
                };
                dispatch(srv.clone(), cl.clone(), acts).await;
            }
            _ = cl.wake.notified() => {}
        }
        let pending = std::mem::take(&mut *cl.pending.lock());
        if !pending.is_empty() {
            dispatch(srv.clone(), cl.clone(), pending).await;
        }
    }
}

/// Carry out the core's actions (boxed: connecting links dispatch again).
pub fn dispatch(
    srv: Arc<Shared>,
    cl: Arc<Cluster>,
    acts: Vec<Action>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let mut save = false;
        for a in acts {
            match a {
                Action::Send { link, msg } => {
                    if let Some(tx) = cl.links.lock().get(&link) {
                        let _ = tx.send(msg.encode());
                    }
                }
                Action::Connect { link, ip, cport } => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    cl.links.lock().insert(link, tx);
                    tokio::spawn(connect(srv.clone(), cl.clone(), link, ip, cport, rx));
                }
                Action::Close { link } => {
                    cl.links.lock().remove(&link);
                }
                Action::SaveConfig => save = true,
                Action::Replicate { ip, port } => {
                    let mut store = srv.store_lock().await;
                    tracing::info!("Connecting to MASTER {}:{}", ip, port);
                    crate::repl::replica::set_master(&srv, &mut store, &ip, port, true);
                }
                Action::Promote => {
                    let mut store = srv.store_lock().await;
                    if crate::repl::replica::unset_master(&srv, &mut store) {
                        tracing::info!("MASTER MODE enabled (cluster failover)");
                    }
                }
                Action::Publish {
                    shard,
                    channel,
                    message,
                } => {
                    let (c, m) = (bytes::Bytes::from(channel), bytes::Bytes::from(message));
                    let ps = srv.pubsub.lock();
                    if shard {
                        ps.spublish(&c, &m);
                    } else {
                        ps.publish(&c, &m);
                    }
                }
                Action::PauseWrites { .. } => srv.pause.set_failover(true),
                Action::Unpause => srv.pause.set_failover(false),
                Action::DropSlotKeys(slots) => {
                    let mut store = srv.store_lock().await;
                    drop_slot_keys(&mut store, &slots);
                }
                Action::Log(s) => tracing::info!("{}", s),
            }
        }
        if save {
            if let Err(e) = cl.save() {
                tracing::warn!("Could not save the cluster config file: {}", e);
            }
        }
    })
}

/// Delete the keys of slots we no longer own (delKeysInSlot).
pub fn drop_slot_keys(store: &mut crate::store::Store, slots: &[u16]) {
    let mut victims = Vec::new();
    let db = &store.dbs[0];
    let mut cursor = 0;
    loop {
        cursor = db.scan(cursor, 1000, |e| {
            if slots.contains(&super::slot::key_slot(e.key.as_bytes())) {
                victims.push(bytes::Bytes::copy_from_slice(e.key.as_bytes()));
            }
        });
        if cursor == 0 {
            break;
        }
    }
    for k in victims {
        store.dbs[0].remove(&k);
        store.effect(0, vec![bytes::Bytes::from_static(b"DEL"), k]);
    }
}

async fn connect(
    srv: Arc<Shared>,
    cl: Arc<Cluster>,
    link: LinkId,
    ip: String,
    cport: u16,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let timeout = Duration::from_millis(cl.state.lock().params.node_timeout.max(1000));
    let res = tokio::time::timeout(timeout, TcpStream::connect((ip.as_str(), cport))).await;
    match res {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            let local = stream
                .local_addr()
                .map(|a| ip_str(a.ip()))
                .unwrap_or_default();
            let e = env(&srv, &cl);
            let acts = {
                let mut st = cl.state.lock();
                st.link_up(e, link, &local);
                st.take_actions()
            };
            dispatch(srv.clone(), cl.clone(), acts).await;
            serve_link(srv, cl, link, stream, rx).await;
        }
        _ => {
            cl.links.lock().remove(&link);
            let acts = {
                let mut st = cl.state.lock();
                st.link_down(link);
                st.take_actions()
            };
            dispatch(srv, cl, acts).await;
        }
    }
}

async fn serve_link(
    srv: Arc<Shared>,
    cl: Arc<Cluster>,
    link: LinkId,
    stream: TcpStream,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let writer = async {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 16384];
        loop {
            let n = match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                let len = match Msg::frame_len(&buf) {
                    Ok(Some(l)) => l,
                    Ok(None) => break,
                    Err(_) => return,
                };
                if buf.len() < len {
                    break;
                }
                let frame: Vec<u8> = buf.drain(..len).collect();
                let Ok(m) = Msg::decode(&frame) else { continue };
                let e = env(&srv, &cl);
                let acts = {
                    let mut st = cl.state.lock();
                    st.on_msg(e, link, m);
                    st.take_actions()
                };
                dispatch(srv.clone(), cl.clone(), acts).await;
                if !cl.links.lock().contains_key(&link) {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    cl.links.lock().remove(&link);
    let acts = {
        let mut st = cl.state.lock();
        st.link_down(link);
        st.take_actions()
    };
    dispatch(srv, cl, acts).await;
}
