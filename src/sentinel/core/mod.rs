//! The pure Sentinel state machine (no sockets, no clock, no OS randomness).
//! The driver feeds `Input`s with the current monotonic time and executes the returned `Action`s.

use std::collections::BTreeMap;
use std::fmt;

mod cmd;
mod election;
mod failover;
mod hello;
mod info;
mod instances;
mod link;
#[cfg(test)]
mod sim;
mod state;
#[cfg(test)]
mod tests;

pub use state::Sentinel;

pub type Ms = u64;

#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Addr {
    pub ip: String,
    pub port: u16,
}

impl Addr {
    pub fn new(ip: impl Into<String>, port: u16) -> Addr {
        Addr {
            ip: ip.into(),
            port,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    Cmd,
    PubSub,
}

#[derive(Clone, Debug)]
pub struct Setup {
    pub announce_ip: Option<String>,
    pub announce_port: Option<u16>,
    pub port: u16,
    pub masters: Vec<MasterSetup>,
    /// resolve-hostnames: instances may be given by host name (the core keeps the name; the driver resolves it
    /// at every connection and reports the result with `Input::Resolved`).
    pub resolve_hostnames: bool,
    /// announce-hostnames: report instances by the names they were given (hello messages, SENTINEL
    /// GET-MASTER-ADDR-BY-NAME and MASTER/REPLICAS, +switch-master, REPLICAOF) instead of their IPs.
    pub announce_hostnames: bool,
}

#[derive(Clone, Debug)]
pub struct MasterSetup {
    pub name: String,
    pub addr: Addr,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub auth_user: Option<String>,
    pub auth_pass: Option<String>,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PersistedState {
    pub myid: String,
    pub current_epoch: u64,
    pub masters: Vec<PersistedMaster>,
    /// Masters of sentinel.toml removed with SENTINEL REMOVE: they stay
    /// unmonitored after a restart (the config file is never rewritten).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PersistedMaster {
    pub name: String,
    pub addr: Addr,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub auth_user: Option<String>,
    pub auth_pass: Option<String>,
    pub config_epoch: u64,
    pub leader_epoch: u64,
    pub leader: Option<String>,
    pub known_replicas: Vec<Addr>,
    pub known_sentinels: Vec<(Addr, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingReply {
    Pong,
    Loading,
    MasterDown,
    Busy,
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Tick,
    LinkUp {
        addr: Addr,
        link: Link,
        local_ip: String,
    },
    LinkDown {
        addr: Addr,
        link: Link,
    },
    PingReply {
        addr: Addr,
        reply: PingReply,
    },
    InfoReply {
        addr: Addr,
        text: String,
    },
    Hello {
        msg: String,
    },
    /// Addition to the contract: a hello received on the pub/sub link of `addr` (same as `Hello`; it also counts as
    /// pub/sub activity of that link for the "no pub/sub traffic for 6 s" reconnection rule, which is applied only to
    /// links that ever reported such activity).
    HelloFrom {
        addr: Addr,
        msg: String,
    },
    VoteReply {
        sentinel: Addr,
        master: String,
        down: bool,
        leader: String,
        leader_epoch: u64,
    },
    CommandFailed {
        addr: Addr,
    },
    /// The host name of `addr` resolved to `ip` for the connection just made (sent before its `LinkUp`).
    Resolved {
        addr: Addr,
        ip: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Connect {
        addr: Addr,
        link: Link,
        auth: Option<(Option<String>, String)>,
    },
    Disconnect {
        addr: Addr,
        link: Link,
    },
    Ping {
        addr: Addr,
    },
    Info {
        addr: Addr,
    },
    PublishHello {
        addr: Addr,
        msg: String,
    },
    AskVote {
        sentinel: Addr,
        master: String,
        master_addr: Addr,
        epoch: u64,
        runid: Option<String>,
    },
    SlaveOf {
        addr: Addr,
        master: Option<Addr>,
    },
    CoordinatedFailover {
        master: Addr,
        to: Addr,
        timeout_ms: u64,
    },
    ScriptKill {
        addr: Addr,
    },
    Event {
        kind: String,
        payload: String,
    },
    Persist,
    Crash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Ok,
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Reply>),
    Map(Vec<(String, Reply)>),
}
