//! TCP front end shared by both roles: binding, the accept loop and the
//! per-connection loop (`service`, generic over the role), the data node's
//! connection service (`conn`) and client registry (`client`).

pub mod client;
pub mod conn;
pub mod service;

pub use service::{serve, Flow, Service};

use crate::server::Shared;
use std::net::SocketAddr;
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

pub fn describe(addrs: &[TcpListener]) -> Vec<SocketAddr> {
    addrs.iter().filter_map(|l| l.local_addr().ok()).collect()
}
