//! The slot rule of the admission check (Redis 7.0's getNodeByQuery and
//! clusterRedirectClient): from the keys the command table declares for a
//! command (for EXEC: for every queued command), decide whether this node
//! serves the request or which error/redirection answers it.

use super::core::{Node, State};
use super::msg::nflag;
use super::slot::key_slot;
use super::Cluster;
use crate::cmd::{flags, Command};
use crate::error::Error;
use crate::net::client::Client;
use crate::store::Store;
use bytes::Bytes;

#[derive(Debug, PartialEq, Eq)]
pub enum Redirect {
    CrossSlot,
    Unstable,
    Ask(u16, String),
    Moved(u16, String),
    DownState,
    DownRoState,
    DownUnbound,
}

impl Redirect {
    /// The client-facing error (clusterRedirectClient).
    pub fn error(&self) -> Error {
        Error::msg(match self {
            Redirect::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".into(),
            Redirect::Unstable => "TRYAGAIN Multiple keys request during rehashing of slot".into(),
            Redirect::DownState => "CLUSTERDOWN The cluster is down".into(),
            Redirect::DownRoState => {
                "CLUSTERDOWN The cluster is down and only accepts read commands".into()
            }
            Redirect::DownUnbound => "CLUSTERDOWN Hash slot not served".into(),
            Redirect::Ask(s, a) => format!("ASK {s} {a}"),
            Redirect::Moved(s, a) => format!("MOVED {s} {a}"),
        })
    }

    /// The error a script's redis.call gets (scriptVerifyClusterState).
    pub fn script_error(&self) -> Error {
        Error::msg(match self {
            Redirect::DownRoState => {
                "ERR Script attempted to execute a write command while the cluster is down and readonly"
            }
            Redirect::DownState => "ERR Script attempted to execute a command while the cluster is down",
            _ => "ERR Script attempted to access a non local key in a cluster node",
        })
    }
}

/// The endpoint a redirection names (cluster-preferred-endpoint-type).
pub fn endpoint(n: &Node, preferred: &str) -> String {
    let host = match preferred {
        "hostname" if !n.hostname.is_empty() => n.hostname.as_str(),
        "hostname" => "?",
        "unknown-endpoint" => "",
        _ => n.ip.as_str(),
    };
    format!("{}:{}", host, n.port)
}

/// Key argument positions of one call: the declared positions plus those
/// a movable-keys command finds in its arguments (numkeys...).
pub fn keys_of(cmd: &Command, args: &[Bytes]) -> Vec<usize> {
    cmd.keys_of(args)
}

/// Does a command take part in the rule? Commands with keys, and EXEC.
pub fn applies(cmd: &Command) -> bool {
    cmd.keys.first > 0 || cmd.movable_keys.is_some() || cmd.is(flags::TX_EXEC)
}

pub struct Query<'a> {
    pub client: &'a Client,
    pub cmd: &'static Command,
    /// The effective flags (EXEC: with its queue's).
    pub flags: u32,
    pub args: &'a [Bytes],
    /// For the missing-keys test of migrating/importing slots.
    pub store: Option<&'a Store>,
    pub allow_reads_when_down: bool,
    pub allow_pubsubshard_when_down: bool,
    pub preferred_endpoint: &'a str,
}

impl Cluster {
    /// None: this node serves the request.
    pub fn route(&self, q: &Query) -> Option<Redirect> {
        let st = self.state.lock();
        route(&st, q)
    }
}

pub fn route(st: &State, q: &Query) -> Option<Redirect> {
    let single = [q.args.to_vec()];
    let cmds: Vec<(&'static Command, &[Bytes])> = if q.cmd.is(flags::TX_EXEC) {
        q.client
            .multi
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|a| {
                let c = crate::cmd::exec::resolve(a).ok()?;
                Some((c, a.as_slice()))
            })
            .collect()
    } else {
        single.iter().map(|a| (q.cmd, a.as_slice())).collect()
    };
    // Shard pub/sub: pub/sub commands whose arguments are keys (channels).
    let pubsubshard = q.cmd.is(flags::PUBSUB) && q.cmd.keys.first > 0;
    let mut first: Option<&Bytes> = None;
    let mut slot = 0u16;
    let mut owner = None;
    let mut migrating = false;
    let mut importing = false;
    let mut multiple = false;
    let mut missing = 0;
    let mut existing = 0;
    for (c, args) in &cmds {
        for pos in keys_of(c, args) {
            let key = &args[pos];
            let s = key_slot(key);
            match first {
                None => {
                    first = Some(key);
                    slot = s;
                    owner = st.slots[s as usize];
                    let Some(o) = owner else {
                        return Some(Redirect::DownUnbound);
                    };
                    if o == st.myself && st.migrating.contains_key(&s) {
                        migrating = true;
                    } else if st.importing.contains_key(&s) {
                        importing = true;
                    }
                }
                Some(f) => {
                    if f != key {
                        if s != slot {
                            return Some(Redirect::CrossSlot);
                        }
                        multiple = true;
                    }
                }
            }
            if (migrating || importing) && !pubsubshard {
                match q.store.map(|st| st.dbs[0].find(key).is_some()) {
                    Some(true) => existing += 1,
                    _ => missing += 1,
                }
            }
        }
    }
    let owner = owner?;
    let write = q.flags & flags::WRITE != 0;
    if !st.ok {
        if pubsubshard {
            if !q.allow_pubsubshard_when_down {
                return Some(Redirect::DownState);
            }
        } else if !q.allow_reads_when_down {
            return Some(Redirect::DownState);
        } else if write {
            return Some(Redirect::DownRoState);
        }
    }
    // MIGRATE works locally while the slot is open.
    if (migrating || importing) && q.cmd.is(flags::MIGRATES) {
        return None;
    }
    let addr = |n: &[u8; 40]| {
        st.node(n)
            .map(|n| endpoint(n, q.preferred_endpoint))
            .unwrap_or_default()
    };
    if migrating && missing > 0 {
        if existing > 0 {
            return Some(Redirect::Unstable);
        }
        return Some(Redirect::Ask(slot, addr(&st.migrating[&slot])));
    }
    if importing && (q.client.asking || q.cmd.is(flags::ASKING)) {
        if multiple && missing > 0 {
            return Some(Redirect::Unstable);
        }
        return None;
    }
    let me = st.me();
    if (q.client.cluster_readonly || pubsubshard)
        && !write
        && me.is(nflag::SLAVE)
        && me.master == Some(owner)
    {
        return None;
    }
    if owner != st.myself {
        return Some(Redirect::Moved(slot, addr(&owner)));
    }
    None
}
