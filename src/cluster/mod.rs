//! Redis Cluster mode (`cluster-enabled yes`).
//!
//! - `slot`: CRC16 hash slots with `{hash tags}`, slot bitmaps.
//! - `msg`: the cluster bus message codec, byte-exact with Redis 7.0.
//! - `core`: the pure state machine (node table, slot map, epochs, failure
//!   reports, elections, nodes.conf text); `sim`: its seeded simulator.
//! - `bus`: the async driver: bus listener and links, the cron, and the
//!   actions that touch the data node (replication, pub/sub, pauses).
//! - `route`: the slot rule of the one admission check (cmd/admit.rs).
//!
//! Lock order: the keyspace lock before the cluster state lock; the driver
//! never takes the keyspace while holding the state.

pub mod bus;
pub mod core;
pub mod msg;
#[cfg(test)]
mod sim;
pub mod slot;

use self::core::{Params, State};
use crate::config::Config;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Cluster {
    pub state: Mutex<State>,
    /// nodes.conf (absolute; `dir` is the working directory).
    pub conf_path: PathBuf,
    /// Wakes the driver to carry out actions queued by a command.
    pub wake: tokio::sync::Notify,
    pub links: bus::Links,
    /// Actions queued by commands, for the driver.
    pub pending: Mutex<Vec<core::Action>>,
    /// Our replication offset as last read (the cron reads it without
    /// waiting for the keyspace lock).
    pub offset: std::sync::atomic::AtomicU64,
    /// Serializes writers of nodes.conf (one temp file name).
    save_lock: Mutex<()>,
}

/// The core's parameters from the node's configuration.
/// `tcp_port`: the client port we listen on.
pub fn params(c: &Config, tcp_port: u16) -> Params {
    let port = if c.cluster_announce_port != 0 {
        c.cluster_announce_port as u16
    } else {
        tcp_port
    };
    let cport = if c.cluster_announce_bus_port != 0 {
        c.cluster_announce_bus_port as u16
    } else {
        bus_port(c, tcp_port)
    };
    Params {
        node_timeout: c.cluster_node_timeout.max(1) as u64,
        announce_ip: c.cluster_announce_ip.clone(),
        port,
        pport: 0,
        cport,
        hostname: c.cluster_announce_hostname.clone(),
        replica_validity_factor: c.cluster_replica_validity_factor as u64,
        require_full_coverage: c.cluster_require_full_coverage,
        allow_replica_migration: c.cluster_allow_replica_migration,
        replica_no_failover: c.cluster_replica_no_failover,
        repl_ping_period_ms: c.repl_ping_replica_period as u64 * 1000,
    }
}

/// The port the bus listens on: cluster-port, or the client port + 10000.
pub fn bus_port(c: &Config, tcp_port: u16) -> u16 {
    if c.cluster_port != 0 {
        c.cluster_port as u16
    } else {
        tcp_port.wrapping_add(10000)
    }
}

impl Cluster {
    /// Load nodes.conf, or start a fresh node (and write its file at once,
    /// as Redis does, so the node id survives a restart).
    pub fn open(config: &Config, tcp_port: u16) -> Result<Arc<Cluster>, String> {
        let conf_path = PathBuf::from(&config.dir).join(&config.cluster_config_file);
        let now = crate::util::now_ms();
        let seed = u64::from_str_radix(&crate::util::random_hex40()[..16], 16).unwrap_or(now);
        let state = match std::fs::read_to_string(&conf_path) {
            Ok(text) if !text.trim().is_empty() => {
                let s = State::load_config(params(config, tcp_port), seed, now, &text)?;
                tracing::info!("Node configuration loaded, I'm {}", s.me().name_str());
                s
            }
            Ok(_) => State::new(params(config, tcp_port), seed, now),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = State::new(params(config, tcp_port), seed, now);
                tracing::info!("No cluster configuration found, I'm {}", s.me().name_str());
                s
            }
            Err(e) => {
                return Err(format!(
                    "can't open the cluster config file {}: {}",
                    conf_path.display(),
                    e
                ))
            }
        };
        // A replica restarted from nodes.conf follows its master again.
        let mut pending = Vec::new();
        let me = state.me();
        if me.is(msg::nflag::SLAVE) {
            if let Some(m) = me.master.and_then(|m| state.nodes.get(&m)) {
                pending.push(core::Action::Replicate {
                    ip: m.ip.clone(),
                    port: m.port,
                });
            }
        }
        let cl = Arc::new(Cluster {
            state: Mutex::new(state),
            conf_path,
            wake: tokio::sync::Notify::new(),
            links: Default::default(),
            pending: Mutex::new(pending),
            offset: Default::default(),
            save_lock: Mutex::new(()),
        });
        cl.save()
            .map_err(|e| format!("can't write the cluster config file: {e}"))?;
        Ok(cl)
    }

    /// After a command changed the state: save nodes.conf before the reply
    /// (as Redis's beforeSleep does) and hand other actions to the driver.
    pub fn commit(&self, st: &mut State) {
        let acts = st.take_actions();
        if acts.is_empty() {
            return;
        }
        let mut save = false;
        let mut rest = Vec::new();
        for a in acts {
            match a {
                core::Action::SaveConfig => save = true,
                a => rest.push(a),
            }
        }
        if save {
            let _g = self.save_lock.lock();
            if let Err(e) = crate::fs::write_atomic(&self.conf_path, st.config_text().as_bytes()) {
                tracing::warn!("Could not save the cluster config file: {}", e);
            }
        }
        if !rest.is_empty() {
            self.pending.lock().extend(rest);
            self.wake.notify_one();
        }
    }

    /// Write nodes.conf atomically (temp file, fsync, rename, fsync dir).
    pub fn save(&self) -> std::io::Result<()> {
        // Same lock order as `commit`: the state, then the file.
        let st = self.state.lock();
        let _g = self.save_lock.lock();
        let text = st.config_text();
        crate::fs::write_atomic(&self.conf_path, text.as_bytes())
    }
}

pub mod route;
