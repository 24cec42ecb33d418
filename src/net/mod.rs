//! TCP front end: listeners, the per-connection task and the client registry.

pub mod client;
pub mod conn;

use crate::server::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Bind every configured address. Errors name the address.
pub async fn bind_all(srv: &Shared) -> Result<Vec<TcpListener>, String> {
    let (addrs, port) = {
        let c = srv.config.read();
        (c.bind.clone(), c.port)
    };
    let port = u16::try_from(port).map_err(|_| format!("invalid port {}", port))?;
    let out = bind_addrs(&addrs, port).await?;
    if let Some(a) = out.first().and_then(|l| l.local_addr().ok()) {
        srv.tcp_port
            .store(a.port() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(out)
}

/// Bind `port` on each of `addrs` (redis.conf `bind` syntax: `*` = any IPv4
/// address, a leading `-` = skip the address if it cannot be bound). Used by
/// the data node and the sentinel.
pub async fn bind_addrs(addrs: &[String], port: u16) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for a in addrs {
        let (optional, host) = match a.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, a.as_str()),
        };
        let host = if host == "*" { "0.0.0.0" } else { host };
        let addr = if host.contains(':') {
            format!("[{}]:{}", host, port)
        } else {
            format!("{}:{}", host, port)
        };
        match TcpListener::bind(&addr).await {
            Ok(l) => out.push(l),
            Err(e) if optional => tracing::warn!("could not bind optional address {}: {}", addr, e),
            Err(e) => return Err(format!("could not bind {}: {}", addr, e)),
        }
    }
    Ok(out)
}

/// Wait for SIGTERM or SIGINT and log it as Redis does; never returns if the
/// handlers cannot be installed.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
    }
}

/// Accept connections until shutdown begins.
pub async fn serve(srv: Arc<Shared>, listeners: Vec<TcpListener>) {
    let mut tasks = Vec::new();
    for l in listeners {
        let srv = srv.clone();
        tasks.push(tokio::spawn(accept_loop(srv, l)));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop(srv: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = srv.shutdown.subscribe();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, addr)) => {
                    srv.stats.connections_received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let laddr = stream.local_addr().unwrap_or(addr);
                    let _ = stream.set_nodelay(true);
                    let keepalive = srv.config.read().tcp_keepalive;
                    if keepalive > 0 {
                        let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive as u64));
                        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
                    }
                    let max = srv.config.read().maxclients as usize;
                    if srv.clients.lock().len() >= max {
                        srv.stats.rejected_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::spawn(reject(stream));
                        continue;
                    }
                    tokio::spawn(conn::run(srv.clone(), stream, addr, laddr));
                }
                Err(e) => {
                    // EMFILE and friends: log, back off briefly, keep serving.
                    tracing::warn!("accept failed: {}", e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn reject(mut stream: tokio::net::TcpStream) {
    let _ = stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
}

pub fn describe(addrs: &[TcpListener]) -> Vec<SocketAddr> {
    addrs.iter().filter_map(|l| l.local_addr().ok()).collect()
}
