//! The cluster's pure core: the node table, slot map, epochs, failure
//! reports (PFAIL -> FAIL), elections and config-epoch collisions, as in
//! Redis 7.0's cluster.c. No sockets and no clock: the driver feeds it
//! link events, decoded bus messages, cron ticks (with the time and our
//! replication offset) and commands; it queues `Action`s (send, connect,
//! close, save nodes.conf, become a replica / a master, publish, pause)
//! that the driver carries out. `sim.rs` runs several cores against each
//! other with virtual time and a seeded network.
//!
//! Times are Unix milliseconds given by the caller (`Env::now`): nodes.conf
//! and gossip carry wall-clock ping/pong times, as in Redis.

use super::msg::{self, nflag, typ, Body, Ext, Gossip, Header, Msg, Name, NULL_NAME};
use super::slot::{SlotBits, SLOTS};
use std::collections::{BTreeMap, HashMap};

pub type LinkId = u64;

/// What a tick or a message needs from the world.
#[derive(Clone, Copy, Debug, Default)]
pub struct Env {
    pub now: u64,
    /// Our replication offset: master_repl_offset of a master, the
    /// processed offset of a replica.
    pub repl_offset: u64,
    /// For a replica: for how long the link to its master has been down (0: up).
    pub master_link_down_ms: u64,
}

#[derive(Clone, Debug)]
pub struct Params {
    pub node_timeout: u64,
    pub announce_ip: String,
    pub port: u16,
    pub pport: u16,
    pub cport: u16,
    pub hostname: String,
    pub replica_validity_factor: u64,
    pub require_full_coverage: bool,
    pub allow_replica_migration: bool,
    pub replica_no_failover: bool,
    pub repl_ping_period_ms: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            node_timeout: 15000,
            announce_ip: String::new(),
            port: 6379,
            pport: 0,
            cport: 16379,
            hostname: String::new(),
            replica_validity_factor: 10,
            require_full_coverage: true,
            allow_replica_migration: true,
            replica_no_failover: false,
            repl_ping_period_ms: 10000,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Connect {
        link: LinkId,
        ip: String,
        cport: u16,
    },
    Send {
        link: LinkId,
        msg: Box<Msg>,
    },
    Close {
        link: LinkId,
    },
    SaveConfig,
    /// Replicate from this master (CLUSTER REPLICATE, a new master of our slots).
    Replicate {
        ip: String,
        port: u16,
    },
    /// Stop replicating: we were elected (or took over) as a master.
    Promote,
    Publish {
        shard: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// Manual failover, master side: hold writes for this long.
    PauseWrites {
        ms: u64,
    },
    Unpause,
    /// Slots we lost to a newer owner while holding keys in them.
    DropSlotKeys(Vec<u16>),
    Log(String),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: Name,
    pub flags: u16,
    pub master: Option<Name>,
    pub config_epoch: u64,
    pub slots: SlotBits,
    pub numslots: usize,
    pub ip: String,
    pub port: u16,
    pub pport: u16,
    pub cport: u16,
    pub hostname: String,
    pub ctime: u64,
    pub ping_sent: u64,
    pub pong_received: u64,
    pub data_received: u64,
    pub fail_time: u64,
    pub voted_time: u64,
    pub repl_offset: u64,
    pub link: Option<LinkId>,
    pub inbound: Option<LinkId>,
    /// (reporter, time of its last report)
    pub fail_reports: Vec<(Name, u64)>,
}

impl Node {
    pub fn new(name: Name, flags: u16, now: u64) -> Node {
        Node {
            name,
            flags,
            master: None,
            config_epoch: 0,
            slots: SlotBits::default(),
            numslots: 0,
            ip: String::new(),
            port: 0,
            pport: 0,
            cport: 0,
            hostname: String::new(),
            ctime: now,
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            voted_time: 0,
            repl_offset: 0,
            link: None,
            inbound: None,
            fail_reports: Vec::new(),
        }
    }
    pub fn is(&self, f: u16) -> bool {
        self.flags & f != 0
    }
    pub fn is_master(&self) -> bool {
        self.is(nflag::MASTER)
    }
    pub fn name_str(&self) -> &str {
        std::str::from_utf8(&self.name).unwrap_or("")
    }
}

#[derive(Clone, Debug)]
pub struct LinkInfo {
    pub node: Option<Name>,
    pub inbound: bool,
    pub ctime: u64,
    /// Our address on this connection (learning our own IP from a MEET).
    pub local_ip: String,
    /// The peer's address (a MEET sender without announced IP).
    pub peer_ip: String,
    pub connected: bool,
}

/// The slave side of an election, and a manual failover in progress.
#[derive(Clone, Debug, Default)]
pub struct Election {
    pub auth_time: u64,
    pub auth_count: usize,
    pub auth_sent: bool,
    pub auth_rank: usize,
    pub auth_epoch: u64,
    /// Manual failover: deadline (0: none).
    pub mf_end: u64,
    /// Master side: the replica doing the manual failover.
    pub mf_slave: Option<Name>,
    /// Slave side: the master's offset once it paused, if received.
    pub mf_master_offset: Option<u64>,
    pub mf_can_start: bool,
}

pub const MF_TIMEOUT: u64 = 5000;
const MF_PAUSE_MULT: u64 = 2;
const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
const FAIL_UNDO_TIME_MULT: u64 = 2;
const WRITABLE_DELAY: u64 = 2000;
const BLACKLIST_TTL: u64 = 60_000;

pub struct State {
    pub myself: Name,
    pub nodes: BTreeMap<Name, Node>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub ok: bool,
    pub size: usize,
    pub slots: Vec<Option<Name>>,
    pub migrating: BTreeMap<u16, Name>,
    pub importing: BTreeMap<u16, Name>,
    pub blacklist: HashMap<Name, u64>,
    pub links: HashMap<LinkId, LinkInfo>,
    next_link: LinkId,
    pub el: Election,
    pub params: Params,
    pub sent: [u64; typ::COUNT],
    pub received: [u64; typ::COUNT],
    pub actions: Vec<Action>,
    rng: u64,
    iteration: u64,
    first_call_time: u64,
    among_minority_time: u64,
    /// The keys we hold per slot, as the driver last told us (UPDATE that
    /// takes a slot from us drops them).
    pub nonempty_slots: Option<fn(u16) -> bool>,
}

pub fn random_name(rng: &mut u64) -> Name {
    let mut n = [0u8; msg::NAMELEN];
    for c in n.iter_mut() {
        *c = b"0123456789abcdef"[(next_rand(rng) % 16) as usize];
    }
    n
}

fn next_rand(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub fn name_str(n: &Name) -> &str {
    std::str::from_utf8(n).unwrap_or("")
}

impl State {
    pub fn new(params: Params, seed: u64, now: u64) -> State {
        let mut rng = seed;
        let myself = random_name(&mut rng);
        let mut me = Node::new(myself, nflag::MYSELF | nflag::MASTER, now);
        if params.replica_no_failover {
            me.flags |= nflag::NOFAILOVER;
        }
        let mut s = State {
            myself,
            nodes: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            ok: false,
            size: 0,
            slots: vec![None; SLOTS],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            blacklist: HashMap::new(),
            links: HashMap::new(),
            next_link: 1,
            el: Election::default(),
            params,
            sent: [0; typ::COUNT],
            received: [0; typ::COUNT],
            actions: Vec::new(),
            rng,
            iteration: 0,
            first_call_time: 0,
            among_minority_time: 0,
            nonempty_slots: None,
        };
        s.nodes.insert(myself, me);
        s.apply_params();
        s
    }

    /// Copy announced ports/hostname/no-failover into our own node.
    pub fn apply_params(&mut self) {
        let p = self.params.clone();
        let me = self.me_mut();
        me.port = p.port;
        me.pport = p.pport;
        me.cport = p.cport;
        me.hostname = p.hostname.clone();
        if !p.announce_ip.is_empty() {
            me.ip = p.announce_ip.clone();
        }
        if p.replica_no_failover {
            me.flags |= nflag::NOFAILOVER;
        } else {
            me.flags &= !nflag::NOFAILOVER;
        }
    }

    pub fn me(&self) -> &Node {
        &self.nodes[&self.myself]
    }
    fn me_mut(&mut self) -> &mut Node {
        self.nodes.get_mut(&self.myself).expect("myself")
    }
    pub fn node(&self, n: &Name) -> Option<&Node> {
        self.nodes.get(n)
    }
    /// A node by its (full) name, as commands give it.
    pub fn lookup(&self, name: &[u8]) -> Option<&Node> {
        let n: Name = name.try_into().ok()?;
        self.nodes.get(&n)
    }
    pub fn i_am_master(&self) -> bool {
        self.me().is_master()
    }
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }
    fn rand(&mut self) -> u64 {
        next_rand(&mut self.rng)
    }
    fn save(&mut self) {
        if self.actions.last() != Some(&Action::SaveConfig) {
            self.actions.push(Action::SaveConfig);
        }
    }
    fn log(&mut self, s: String) {
        self.actions.push(Action::Log(s));
    }

    /// The replicas of a master (computed: no second list to keep in step).
    pub fn replicas_of(&self, master: &Name) -> Vec<Name> {
        self.nodes
            .values()
            .filter(|n| n.master.as_ref() == Some(master) && n.is(nflag::SLAVE))
            .map(|n| n.name)
            .collect()
    }

    /// The config epoch shown for a node: a replica shows its master's.
    pub fn node_epoch(&self, n: &Node) -> u64 {
        if n.is(nflag::SLAVE) {
            if let Some(m) = n.master.and_then(|m| self.nodes.get(&m)) {
                return m.config_epoch;
            }
        }
        n.config_epoch
    }

    pub fn max_epoch(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    // ---- links ----------------------------------------------------------

    fn new_link(&mut self, node: Option<Name>, inbound: bool, now: u64) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        self.links.insert(
            id,
            LinkInfo {
                node,
                inbound,
                ctime: now,
                local_ip: String::new(),
                peer_ip: String::new(),
                connected: inbound,
            },
        );
        id
    }

    /// The driver accepted a bus connection.
    pub fn accept(&mut self, now: u64, local_ip: &str, peer_ip: &str) -> LinkId {
        let id = self.new_link(None, true, now);
        let l = self.links.get_mut(&id).unwrap();
        l.local_ip = local_ip.into();
        l.peer_ip = peer_ip.into();
        id
    }

    /// An outbound link connected: greet with MEET or PING.
    pub fn link_up(&mut self, env: Env, link: LinkId, local_ip: &str) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        l.connected = true;
        l.local_ip = local_ip.into();
        let Some(name) = l.node else { return };
        let Some(n) = self.nodes.get(&name) else {
            return;
        };
        let old = n.ping_sent;
        let t = if n.is(nflag::MEET) {
            typ::MEET
        } else {
            typ::PING
        };
        self.send_ping(env, link, t);
        let n = self.nodes.get_mut(&name).unwrap();
        if old != 0 {
            n.ping_sent = old;
        }
        n.flags &= !nflag::MEET;
    }

    /// A link failed or was closed by the peer.
    pub fn link_down(&mut self, link: LinkId) {
        if let Some(l) = self.links.remove(&link) {
            if let Some(n) = l.node.and_then(|n| self.nodes.get_mut(&n)) {
                if n.link == Some(link) {
                    n.link = None;
                }
                if n.inbound == Some(link) {
                    n.inbound = None;
                }
            }
        }
    }

    fn free_link(&mut self, link: LinkId) {
        self.link_down(link);
        self.actions.push(Action::Close { link });
    }

    // ---- messages out ---------------------------------------------------

    fn header(&self, env: Env, t: u16) -> Header {
        let me = self.me();
        let master = if me.is(nflag::SLAVE) {
            me.master.and_then(|m| self.nodes.get(&m)).unwrap_or(me)
        } else {
            me
        };
        let mut mflags = [0u8; 3];
        if me.is_master() && self.el.mf_end != 0 {
            mflags[0] |= msg::MF_PAUSED;
        }
        Header {
            typ: t,
            port: self.params.port,
            current_epoch: self.current_epoch,
            config_epoch: master.config_epoch,
            offset: env.repl_offset,
            sender: self.myself,
            myslots: master.slots.clone(),
            slaveof: match (me.is(nflag::SLAVE), me.master) {
                (true, Some(m)) => m,
                _ => NULL_NAME,
            },
            myip: self.params.announce_ip.clone(),
            pport: self.params.pport,
            cport: self.params.cport,
            flags: me.flags,
            state: if self.ok { 0 } else { 1 },
            mflags,
        }
    }

    fn send(&mut self, link: LinkId, msg: Msg) {
        self.sent[msg.hdr.typ as usize] += 1;
        self.actions.push(Action::Send {
            link,
            msg: Box::new(msg),
        });
    }

    fn gossip_entry(n: &Node) -> Gossip {
        Gossip {
            name: n.name,
            ping_sent: (n.ping_sent / 1000) as u32,
            pong_received: (n.pong_received / 1000) as u32,
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// PING, PONG or MEET with gossip about a few random nodes plus every
    /// node in PFAIL (clusterSendPing).
    pub fn send_ping(&mut self, env: Env, link: LinkId, t: u16) {
        let total = self.nodes.len();
        let fresh = total.saturating_sub(2);
        let wanted = (total / 10).max(3).min(fresh);
        let names: Vec<Name> = self.nodes.keys().copied().collect();
        let mut picked: Vec<Name> = Vec::new();
        let mut tries = wanted * 3;
        while fresh > 0 && tries > 0 && picked.len() < wanted {
            tries -= 1;
            let pick = (self.rand() % names.len() as u64) as usize;
            let n = &self.nodes[&names[pick]];
            if n.is(nflag::MYSELF | nflag::PFAIL | nflag::HANDSHAKE | nflag::NOADDR)
                || (n.link.is_none() && n.numslots == 0)
                || picked.contains(&n.name)
            {
                continue;
            }
            picked.push(n.name);
        }
        let mut gossip: Vec<Gossip> = picked
            .iter()
            .map(|n| Self::gossip_entry(&self.nodes[n]))
            .collect();
        for n in self.nodes.values() {
            if n.is(nflag::PFAIL) && !n.is(nflag::HANDSHAKE | nflag::NOADDR) {
                gossip.push(Self::gossip_entry(n));
            }
        }
        let mut hdr = self.header(env, t);
        hdr.mflags[0] |= msg::MF_EXT_DATA;
        let mut exts = Vec::new();
        if !self.params.hostname.is_empty() {
            exts.push(Ext::Hostname(self.params.hostname.clone()));
        }
        if t == typ::PING {
            if let Some(name) = self.links.get(&link).and_then(|l| l.node) {
                if let Some(n) = self.nodes.get_mut(&name) {
                    n.ping_sent = env.now;
                }
            }
        }
        self.send(
            link,
            Msg {
                hdr,
                body: Body::Ping { gossip, exts },
            },
        );
    }

    fn broadcast(&mut self, env: Env, t: u16, body: Body) {
        let links: Vec<LinkId> = self
            .nodes
            .values()
            .filter(|n| !n.is(nflag::MYSELF | nflag::HANDSHAKE))
            .filter_map(|n| n.link)
            .collect();
        for l in links {
            let hdr = self.header(env, t);
            self.send(
                l,
                Msg {
                    hdr,
                    body: body.clone(),
                },
            );
        }
    }

    /// PONG to every node (or only to our master's replicas), so a new
    /// configuration spreads fast.
    fn broadcast_pong(&mut self, env: Env, local_slaves_only: bool) {
        let my_master = if self.me().is(nflag::SLAVE) {
            self.me().master
        } else {
            Some(self.myself)
        };
        let links: Vec<LinkId> = self
            .nodes
            .values()
            .filter(|n| !n.is(nflag::MYSELF | nflag::HANDSHAKE))
            .filter(|n| {
                !local_slaves_only
                    || (n.is(nflag::SLAVE) && n.master.is_some() && n.master == my_master)
            })
            .filter_map(|n| n.link)
            .collect();
        for l in links {
            self.send_ping(env, l, typ::PONG);
        }
    }

    pub fn publish(&mut self, env: Env, shard: bool, channel: &[u8], message: &[u8]) {
        let body = Body::Publish {
            channel: channel.to_vec(),
            message: message.to_vec(),
        };
        if shard {
            // To the nodes of our shard only (clusterSendPublish to the
            // master and its replicas).
            let me = self.me();
            let master = if me.is(nflag::SLAVE) {
                me.master
            } else {
                Some(self.myself)
            };
            let Some(master) = master else { return };
            let mut targets = self.replicas_of(&master);
            targets.push(master);
            for t in targets {
                if t == self.myself {
                    continue;
                }
                if let Some(l) = self.nodes.get(&t).and_then(|n| n.link) {
                    let hdr = self.header(env, typ::PUBLISHSHARD);
                    self.send(
                        l,
                        Msg {
                            hdr,
                            body: body.clone(),
                        },
                    );
                }
            }
        } else {
            self.broadcast(env, typ::PUBLISH, body);
        }
    }

    // ---- node table -----------------------------------------------------

    fn add_node(&mut self, n: Node) {
        self.nodes.insert(n.name, n);
    }

    /// clusterDelNode: forget a node, its slots, links and reports.
    pub fn del_node(&mut self, name: &Name) {
        for s in 0..SLOTS {
            if self.slots[s].as_ref() == Some(name) {
                self.slots[s] = None;
            }
        }
        self.importing.retain(|_, n| n != name);
        self.migrating.retain(|_, n| n != name);
        for n in self.nodes.values_mut() {
            n.fail_reports.retain(|(r, _)| r != name);
            if n.master.as_ref() == Some(name) {
                n.master = None;
            }
        }
        if let Some(n) = self.nodes.remove(name) {
            for l in [n.link, n.inbound].into_iter().flatten() {
                self.free_link(l);
            }
        }
        if self.el.mf_slave.as_ref() == Some(name) {
            self.reset_manual_failover();
        }
    }

    fn rename(&mut self, from: &Name, to: Name) {
        if let Some(mut n) = self.nodes.remove(from) {
            n.name = to;
            for l in [n.link, n.inbound].into_iter().flatten() {
                if let Some(li) = self.links.get_mut(&l) {
                    li.node = Some(to);
                }
            }
            self.nodes.insert(to, n);
        }
    }

    pub fn add_slot(&mut self, name: &Name, s: usize) -> bool {
        if self.slots[s].is_some() {
            return false;
        }
        let n = self.nodes.get_mut(name).expect("owner exists");
        n.slots.set(s, true);
        n.numslots += 1;
        self.slots[s] = Some(*name);
        true
    }

    pub fn del_slot(&mut self, s: usize) -> bool {
        let Some(owner) = self.slots[s].take() else {
            return false;
        };
        if let Some(n) = self.nodes.get_mut(&owner) {
            n.slots.set(s, false);
            n.numslots -= 1;
        }
        true
    }

    fn del_node_slots(&mut self, name: &Name) {
        for s in 0..SLOTS {
            if self.slots[s].as_ref() == Some(name) {
                self.del_slot(s);
            }
        }
    }

    fn set_node_as_master(&mut self, name: &Name) {
        let n = self.nodes.get_mut(name).unwrap();
        if n.is_master() {
            return;
        }
        n.master = None;
        n.flags &= !nflag::SLAVE;
        n.flags |= nflag::MASTER;
        self.save();
    }

    // ---- failure detection ----------------------------------------------

    fn add_failure_report(&mut self, failing: &Name, sender: &Name, now: u64) {
        let n = self.nodes.get_mut(failing).unwrap();
        match n.fail_reports.iter_mut().find(|(r, _)| r == sender) {
            Some(r) => r.1 = now,
            None => n.fail_reports.push((*sender, now)),
        }
    }

    fn valid_failure_reports(&mut self, name: &Name, now: u64) -> usize {
        let maxtime = self.params.node_timeout * FAIL_REPORT_VALIDITY_MULT;
        let n = self.nodes.get_mut(name).unwrap();
        n.fail_reports
            .retain(|(_, t)| now.saturating_sub(*t) <= maxtime);
        n.fail_reports.len()
    }

    fn mark_failing_if_needed(&mut self, env: Env, name: &Name) {
        let needed = self.size / 2 + 1;
        let mut failures = self.valid_failure_reports(name, env.now);
        if self.i_am_master() {
            failures += 1;
        }
        let n = &self.nodes[name];
        if !n.is(nflag::PFAIL) || n.is(nflag::FAIL) || failures < needed {
            return;
        }
        let n = self.nodes.get_mut(name).unwrap();
        n.flags &= !nflag::PFAIL;
        n.flags |= nflag::FAIL;
        n.fail_time = env.now;
        let s = format!(
            "Marking node {} as failing (quorum reached).",
            name_str(name)
        );
        self.log(s);
        if self.i_am_master() {
            self.broadcast(env, typ::FAIL, Body::Fail { about: *name });
        }
        self.update_state(env);
        self.save();
    }

    fn clear_failure_if_needed(&mut self, env: Env, name: &Name) {
        let timeout = self.params.node_timeout;
        let n = self.nodes.get_mut(name).unwrap();
        // A replica or slot-less master is back at once; a master with
        // slots only after nobody failed it over for twice the timeout.
        let undo = n.is(nflag::SLAVE)
            || n.numslots == 0
            || env.now.saturating_sub(n.fail_time) > timeout * FAIL_UNDO_TIME_MULT;
        if !undo {
            return;
        }
        n.flags &= !nflag::FAIL;
        let s = format!("Clear FAIL state for node {}", name_str(name));
        self.log(s);
        self.update_state(env);
        self.save();
    }

    // ---- the cron -------------------------------------------------------

    /// clusterCron, every 100 ms.
    pub fn tick(&mut self, env: Env) {
        self.iteration += 1;
        let now = env.now;
        let timeout = self.params.node_timeout;
        let handshake_timeout = timeout.max(1000);
        self.blacklist.retain(|_, exp| *exp > now);

        // Connect to nodes without an outbound link; drop stale handshakes.
        let names: Vec<Name> = self.nodes.keys().copied().collect();
        for name in &names {
            let Some(n) = self.nodes.get(name) else {
                continue;
            };
            if n.is(nflag::MYSELF | nflag::NOADDR) {
                continue;
            }
            if n.is(nflag::HANDSHAKE) && now.saturating_sub(n.ctime) > handshake_timeout {
                self.del_node(name);
                continue;
            }
            if n.link.is_none() {
                let (ip, cport) = (n.ip.clone(), n.cport);
                let link = self.new_link(Some(*name), false, now);
                self.nodes.get_mut(name).unwrap().link = Some(link);
                self.actions.push(Action::Connect { link, ip, cport });
            }
        }

        // Once a second, ping the node with the oldest PONG among five random ones.
        if self.iteration % 10 == 0 && names.len() > 1 {
            let mut best: Option<(u64, Name)> = None;
            for _ in 0..5 {
                let name = names[(self.rand() % names.len() as u64) as usize];
                let Some(n) = self.nodes.get(&name) else {
                    continue;
                };
                // A link still connecting counts: the ping waits in its
                // queue, and ping_sent starts the failure clock (Redis).
                if n.link.is_none() || n.ping_sent != 0 || n.is(nflag::MYSELF | nflag::HANDSHAKE) {
                    continue;
                }
                if best.is_none_or(|(t, _)| n.pong_received < t) {
                    best = Some((n.pong_received, name));
                }
            }
            if let Some((_, name)) = best {
                let l = self.nodes[&name].link.unwrap();
                self.send_ping(env, l, typ::PING);
            }
        }

        let mut update = false;
        for name in &names {
            let Some(n) = self.nodes.get(name) else {
                continue;
            };
            if n.is(nflag::MYSELF | nflag::NOADDR | nflag::HANDSHAKE) {
                continue;
            }
            let link = n
                .link
                .and_then(|l| self.links.get(&l).map(|li| (l, li.clone())));
            // A link that sent a ping long ago and received nothing: reconnect.
            if let Some((l, li)) = &link {
                if li.connected
                    && now.saturating_sub(li.ctime) > timeout
                    && n.ping_sent != 0
                    && now.saturating_sub(n.ping_sent) > timeout / 2
                    && now.saturating_sub(n.data_received) > timeout / 2
                {
                    self.free_link(*l);
                    continue;
                }
            }
            let n = &self.nodes[name];
            if let Some((l, _)) = &link {
                if n.ping_sent == 0 && now.saturating_sub(n.pong_received) > timeout / 2 {
                    self.send_ping(env, *l, typ::PING);
                    continue;
                }
                if self.el.mf_end != 0 && self.i_am_master() && self.el.mf_slave == Some(*name) {
                    self.send_ping(env, *l, typ::PING);
                    continue;
                }
            }
            let n = &self.nodes[name];
            if n.ping_sent == 0 {
                continue;
            }
            let delay = now
                .saturating_sub(n.ping_sent)
                .min(now.saturating_sub(n.data_received));
            if delay > timeout && !n.is(nflag::PFAIL | nflag::FAIL) {
                let s = format!("*** NODE {} possibly failing", name_str(name));
                self.log(s);
                self.nodes.get_mut(name).unwrap().flags |= nflag::PFAIL;
                update = true;
            }
        }

        if self.el.mf_end != 0 && self.el.mf_end < now {
            self.log("Manual failover timed out.".into());
            self.reset_manual_failover();
        }
        if self.me().is(nflag::SLAVE) {
            self.handle_manual_failover(env);
            self.handle_slave_failover(env);
        }
        if update || !self.ok || self.iteration % 10 == 0 {
            self.update_state(env);
        }
    }

    /// clusterUpdateState.
    pub fn update_state(&mut self, env: Env) {
        let now = env.now;
        if self.first_call_time == 0 {
            self.first_call_time = now;
        }
        if self.i_am_master()
            && !self.ok
            && now.saturating_sub(self.first_call_time) < WRITABLE_DELAY
        {
            return;
        }
        let mut new_ok = true;
        if self.params.require_full_coverage {
            for s in 0..SLOTS {
                match self.slots[s].and_then(|n| self.nodes.get(&n)) {
                    Some(n) if !n.is(nflag::FAIL) => {}
                    _ => {
                        new_ok = false;
                        break;
                    }
                }
            }
        }
        let mut size = 0;
        let mut reachable = 0;
        for n in self.nodes.values() {
            if n.is_master() && n.numslots > 0 {
                size += 1;
                if !n.is(nflag::FAIL | nflag::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < size / 2 + 1 {
            new_ok = false;
            self.among_minority_time = now;
        }
        if new_ok != self.ok {
            let rejoin = self.params.node_timeout.clamp(500, 5000);
            if new_ok && self.i_am_master() && now.saturating_sub(self.among_minority_time) < rejoin
            {
                return;
            }
            self.log(format!(
                "Cluster state changed: {}",
                if new_ok { "ok" } else { "fail" }
            ));
            self.ok = new_ok;
        }
    }

    // ---- messages in ----------------------------------------------------

    /// clusterProcessPacket for one decoded message from `link`.
    pub fn on_msg(&mut self, env: Env, link: LinkId, m: Msg) {
        let Some(li) = self.links.get(&link).cloned() else {
            return;
        };
        let now = env.now;
        let h = &m.hdr;
        let t = h.typ;
        if (t as usize) < typ::COUNT {
            self.received[t as usize] += 1;
        }
        let sender = self
            .nodes
            .get(&h.sender)
            .filter(|n| !n.is(nflag::HANDSHAKE))
            .map(|n| n.name);
        if let Some(s) = sender {
            let n = self.nodes.get_mut(&s).unwrap();
            n.data_received = now;
            if li.inbound && n.inbound.is_none() {
                n.inbound = Some(link);
                self.links.get_mut(&link).unwrap().node = Some(s);
            }
        }
        if let Some(s) = sender {
            if h.current_epoch > self.current_epoch {
                self.current_epoch = h.current_epoch;
                self.save();
            }
            let n = self.nodes.get_mut(&s).unwrap();
            if h.config_epoch > n.config_epoch {
                n.config_epoch = h.config_epoch;
                self.save();
            }
            let n = self.nodes.get_mut(&s).unwrap();
            n.repl_offset = h.offset;
            if self.el.mf_end != 0
                && self.me().is(nflag::SLAVE)
                && self.me().master == Some(s)
                && h.mflags[0] & msg::MF_PAUSED != 0
                && self.el.mf_master_offset.is_none()
            {
                self.el.mf_master_offset = Some(h.offset);
                self.handle_manual_failover(env);
            }
        }

        if t == typ::PING || t == typ::MEET {
            if (t == typ::MEET || self.me().ip.is_empty())
                && self.params.announce_ip.is_empty()
                && !li.local_ip.is_empty()
                && self.me().ip != li.local_ip
            {
                self.me_mut().ip = li.local_ip.clone();
                self.save();
            }
            if sender.is_none() && t == typ::MEET {
                let name = random_name(&mut self.rng);
                let mut n = Node::new(name, nflag::HANDSHAKE, now);
                n.ip = if h.myip.is_empty() {
                    li.peer_ip.clone()
                } else {
                    h.myip.clone()
                };
                n.port = h.port;
                n.pport = h.pport;
                n.cport = h.cport;
                self.add_node(n);
                self.save();
            }
            self.send_ping(env, link, typ::PONG);
        }

        if t == typ::PING || t == typ::PONG || t == typ::MEET {
            if !li.inbound {
                if let Some(ln) = li.node {
                    if self.nodes.get(&ln).is_some_and(|n| n.is(nflag::HANDSHAKE)) {
                        if let Some(s) = sender {
                            self.update_address(&s, &li, h);
                            self.del_node(&ln);
                            return;
                        }
                        self.rename(&ln, h.sender);
                        let n = self.nodes.get_mut(&h.sender).unwrap();
                        n.flags &= !nflag::HANDSHAKE;
                        n.flags |= h.flags & (nflag::MASTER | nflag::SLAVE);
                        let s = format!("Handshake with node {} completed.", name_str(&h.sender));
                        self.log(s);
                        self.save();
                    } else if ln != h.sender {
                        let n = self.nodes.get_mut(&ln).unwrap();
                        n.flags |= nflag::NOADDR;
                        n.ip.clear();
                        n.port = 0;
                        n.pport = 0;
                        n.cport = 0;
                        self.free_link(link);
                        self.save();
                        return;
                    }
                }
            }
            // The sender may have just come out of handshake.
            let sender = sender.or_else(|| {
                self.nodes
                    .get(&h.sender)
                    .filter(|n| !n.is(nflag::HANDSHAKE))
                    .map(|n| n.name)
            });
            if let Some(s) = sender {
                let n = self.nodes.get_mut(&s).unwrap();
                n.flags = (n.flags & !nflag::NOFAILOVER) | (h.flags & nflag::NOFAILOVER);
                if t == typ::PING {
                    self.update_address(&s, &li, h);
                }
            }
            if !li.inbound && t == typ::PONG {
                if let Some(ln) = li.node.filter(|n| self.nodes.contains_key(n)) {
                    let n = self.nodes.get_mut(&ln).unwrap();
                    n.pong_received = now;
                    n.ping_sent = 0;
                    if n.is(nflag::PFAIL) {
                        n.flags &= !nflag::PFAIL;
                        self.update_state(env);
                    } else if n.is(nflag::FAIL) {
                        self.clear_failure_if_needed(env, &ln);
                    }
                }
            }
            if let Some(s) = sender {
                if h.slaveof == NULL_NAME {
                    self.set_node_as_master(&s);
                } else {
                    if self.nodes[&s].is_master() {
                        self.del_node_slots(&s);
                        let n = self.nodes.get_mut(&s).unwrap();
                        n.flags &= !(nflag::MASTER | nflag::MIGRATE_TO);
                        n.flags |= nflag::SLAVE;
                        self.update_state(env);
                        self.save();
                    }
                    if self.nodes.contains_key(&h.slaveof)
                        && self.nodes[&s].master != Some(h.slaveof)
                    {
                        self.nodes.get_mut(&s).unwrap().master = Some(h.slaveof);
                        self.save();
                    }
                }
                let sender_master = if self.nodes[&s].is_master() {
                    Some(s)
                } else {
                    self.nodes[&s].master
                };
                let dirty = sender_master
                    .and_then(|m| self.nodes.get(&m))
                    .is_some_and(|m| m.slots != h.myslots);
                if dirty && self.nodes[&s].is_master() {
                    self.update_slots_config_with(env, &s, h.config_epoch, &h.myslots);
                }
                if dirty {
                    for j in h.myslots.iter() {
                        match self.slots[j] {
                            Some(o) if o != s => {
                                let owner = &self.nodes[&o];
                                if owner.config_epoch > h.config_epoch {
                                    if let Some(l) = self.nodes[&s].link {
                                        let body = Body::Update {
                                            config_epoch: owner.config_epoch,
                                            node: o,
                                            slots: owner.slots.clone(),
                                        };
                                        let hdr = self.header(env, typ::UPDATE);
                                        self.send(l, Msg { hdr, body });
                                    }
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            if let Some(s) = sender {
                if self.i_am_master()
                    && self.nodes[&s].is_master()
                    && h.config_epoch == self.me().config_epoch
                {
                    self.handle_epoch_collision(&s);
                }
                if let Body::Ping { gossip, exts } = &m.body {
                    self.process_gossip(env, &s, gossip);
                    for e in exts {
                        if let Ext::Hostname(hn) = e {
                            let n = self.nodes.get_mut(&s).unwrap();
                            if &n.hostname != hn {
                                n.hostname = hn.clone();
                                self.save();
                            }
                        }
                    }
                    if !exts.iter().any(|e| matches!(e, Ext::Hostname(_)))
                        && h.mflags[0] & msg::MF_EXT_DATA != 0
                    {
                        let n = self.nodes.get_mut(&s).unwrap();
                        if !n.hostname.is_empty() {
                            n.hostname.clear();
                            self.save();
                        }
                    }
                }
            }
            return;
        }

        let Some(s) = sender else { return };
        match (t, &m.body) {
            (typ::FAIL, Body::Fail { about }) => {
                if let Some(n) = self.nodes.get_mut(about) {
                    if !n.is(nflag::FAIL | nflag::MYSELF) {
                        n.flags |= nflag::FAIL;
                        n.flags &= !nflag::PFAIL;
                        n.fail_time = now;
                        let msg = format!(
                            "FAIL message received from {} about {}",
                            name_str(&s),
                            name_str(about)
                        );
                        self.log(msg);
                        self.update_state(env);
                        self.save();
                    }
                }
            }
            (typ::PUBLISH | typ::PUBLISHSHARD, Body::Publish { channel, message }) => {
                self.actions.push(Action::Publish {
                    shard: t == typ::PUBLISHSHARD,
                    channel: channel.clone(),
                    message: message.clone(),
                });
            }
            (typ::AUTH_REQUEST, _) => self.send_vote_if_needed(env, &s, h),
            (typ::AUTH_ACK, _) => {
                let n = &self.nodes[&s];
                if n.is_master() && n.numslots > 0 && h.current_epoch >= self.el.auth_epoch {
                    self.el.auth_count += 1;
                    self.handle_slave_failover(env);
                }
            }
            (typ::MFSTART, _) => {
                if self.nodes[&s].master != Some(self.myself) || !self.i_am_master() {
                    return;
                }
                self.reset_manual_failover();
                self.el.mf_end = now + MF_TIMEOUT;
                self.el.mf_slave = Some(s);
                self.actions.push(Action::PauseWrites {
                    ms: MF_TIMEOUT * MF_PAUSE_MULT,
                });
                let s = format!("Manual failover requested by replica {}.", name_str(&s));
                self.log(s);
                self.send_ping(env, link, typ::PING);
            }
            (
                typ::UPDATE,
                Body::Update {
                    config_epoch,
                    node,
                    slots,
                },
            ) => {
                let Some(n) = self.nodes.get(node) else {
                    return;
                };
                if n.config_epoch >= *config_epoch {
                    return;
                }
                if n.is(nflag::SLAVE) {
                    self.set_node_as_master(node);
                }
                self.nodes.get_mut(node).unwrap().config_epoch = *config_epoch;
                self.update_slots_config_with(env, node, *config_epoch, slots);
                self.save();
            }
            _ => {}
        }
    }

    fn update_address(&mut self, name: &Name, li: &LinkInfo, h: &Header) {
        if *name == self.myself {
            return;
        }
        let ip = if h.myip.is_empty() {
            li.peer_ip.clone()
        } else {
            h.myip.clone()
        };
        if ip.is_empty() {
            return;
        }
        let n = self.nodes.get_mut(name).unwrap();
        if n.ip == ip && n.port == h.port && n.cport == h.cport && n.pport == h.pport {
            return;
        }
        // Only a link we accepted tells a changed address reliably enough
        // to reconnect (Redis: nodeUpdateAddressIfNeeded skips the link the
        // message came on).
        n.ip = ip;
        n.port = h.port;
        n.pport = h.pport;
        n.cport = h.cport;
        n.flags &= !nflag::NOADDR;
        let old = n.link.take();
        if let Some(l) = old {
            self.free_link(l);
        }
        self.save();
    }

    fn process_gossip(&mut self, env: Env, sender: &Name, gossip: &[Gossip]) {
        let sender_is_master = self.nodes[sender].is_master();
        for g in gossip {
            if let Some(n) = self.nodes.get(&g.name) {
                let name = n.name;
                if sender_is_master && !n.is(nflag::MYSELF) {
                    if g.flags & (nflag::FAIL | nflag::PFAIL) != 0 {
                        self.add_failure_report(&name, sender, env.now);
                        self.mark_failing_if_needed(env, &name);
                    } else {
                        let n = self.nodes.get_mut(&name).unwrap();
                        n.fail_reports.retain(|(r, _)| r != sender);
                    }
                }
                let n = self.nodes.get_mut(&name).unwrap();
                if g.flags & (nflag::FAIL | nflag::PFAIL) == 0
                    && n.ping_sent == 0
                    && n.fail_reports.is_empty()
                    && !n.is(nflag::MYSELF)
                {
                    let pong = g.pong_received as u64 * 1000;
                    if pong <= env.now + 500 && pong > n.pong_received {
                        n.pong_received = pong;
                    }
                }
                if n.is(nflag::FAIL | nflag::PFAIL)
                    && g.flags & (nflag::NOADDR | nflag::FAIL | nflag::PFAIL) == 0
                    && (n.ip != g.ip || n.port != g.port || n.cport != g.cport)
                    && !g.ip.is_empty()
                {
                    let old = n.link.take();
                    n.ip = g.ip.clone();
                    n.port = g.port;
                    n.pport = g.pport;
                    n.cport = g.cport;
                    n.flags &= !nflag::NOADDR;
                    if let Some(l) = old {
                        self.free_link(l);
                    }
                }
            } else if g.flags & nflag::NOADDR == 0
                && !self.blacklist.contains_key(&g.name)
                && g.name != NULL_NAME
            {
                let mut n = Node::new(g.name, g.flags & !nflag::MYSELF, env.now);
                n.ip = g.ip.clone();
                n.port = g.port;
                n.pport = g.pport;
                n.cport = g.cport;
                self.add_node(n);
                self.save();
            }
        }
    }

    /// clusterUpdateSlotsConfigWith: `sender` claims `slots` at `epoch`.
    fn update_slots_config_with(&mut self, env: Env, sender: &Name, epoch: u64, slots: &SlotBits) {
        if *sender == self.myself {
            return;
        }
        let cur_master = if self.me().is(nflag::SLAVE) {
            self.me().master
        } else {
            Some(self.myself)
        };
        let mut new_master = None;
        let mut dirty = Vec::new();
        let mut migrated_ours = 0;
        let sender_slots = slots.count();
        for j in slots.iter() {
            if self.slots[j] == Some(*sender) || self.importing.contains_key(&(j as u16)) {
                continue;
            }
            let older = match self.slots[j] {
                None => true,
                Some(o) => self.nodes.get(&o).is_none_or(|n| n.config_epoch < epoch),
            };
            if !older {
                continue;
            }
            if self.slots[j] == Some(self.myself)
                && self.nonempty_slots.is_some_and(|f| f(j as u16))
            {
                dirty.push(j as u16);
            }
            if self.slots[j].is_some() && self.slots[j] == cur_master {
                new_master = Some(*sender);
                migrated_ours += 1;
            }
            self.del_slot(j);
            self.add_slot(sender, j);
            self.save();
        }
        self.update_state(env);
        let cur_empty = cur_master
            .and_then(|m| self.nodes.get(&m))
            .is_some_and(|m| m.numslots == 0);
        if let Some(nm) = new_master {
            if cur_empty && (self.params.allow_replica_migration || sender_slots == migrated_ours) {
                let s = format!(
                    "Configuration change detected. Reconfiguring myself as a replica of {}",
                    name_str(&nm)
                );
                self.log(s);
                self.set_my_master(&nm);
                return;
            }
        }
        if !dirty.is_empty() {
            self.actions.push(Action::DropSlotKeys(dirty));
        }
    }

    fn handle_epoch_collision(&mut self, sender: &Name) {
        // Only the node with the smaller name... keeps its epoch: the
        // greater one (by memcmp) takes a new one.
        if *sender <= self.myself {
            return;
        }
        self.current_epoch += 1;
        let e = self.current_epoch;
        self.me_mut().config_epoch = e;
        self.save();
        self.log(format!(
            "WARNING: configEpoch collision with node {}. configEpoch set to {}",
            name_str(sender),
            e
        ));
    }

    /// clusterBumpConfigEpochWithoutConsensus: true when bumped.
    pub fn bump_epoch(&mut self) -> bool {
        let max = self.max_epoch();
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            let e = self.current_epoch;
            self.me_mut().config_epoch = e;
            self.save();
            true
        } else {
            false
        }
    }

    // ---- elections ------------------------------------------------------

    fn send_vote_if_needed(&mut self, env: Env, node: &Name, h: &Header) {
        let me = self.me();
        if me.is(nflag::SLAVE) || me.numslots == 0 {
            return;
        }
        if h.current_epoch < self.current_epoch || self.last_vote_epoch == self.current_epoch {
            return;
        }
        let n = &self.nodes[node];
        let force = h.mflags[0] & msg::MF_FORCEACK != 0;
        let Some(master) = n.master.filter(|_| n.is(nflag::SLAVE)) else {
            return;
        };
        let Some(m) = self.nodes.get(&master) else {
            return;
        };
        if !m.is(nflag::FAIL) && !force {
            return;
        }
        if env.now.saturating_sub(m.voted_time) < self.params.node_timeout * 2 {
            return;
        }
        for j in h.myslots.iter() {
            if let Some(o) = self.slots[j].and_then(|o| self.nodes.get(&o)) {
                if o.config_epoch > h.config_epoch {
                    return;
                }
            }
        }
        self.last_vote_epoch = self.current_epoch;
        self.nodes.get_mut(&master).unwrap().voted_time = env.now;
        self.save();
        let s = format!(
            "Failover auth granted to {} for epoch {}",
            name_str(node),
            self.current_epoch
        );
        self.log(s);
        if let Some(l) = self.nodes[node].link {
            let hdr = self.header(env, typ::AUTH_ACK);
            self.send(
                l,
                Msg {
                    hdr,
                    body: Body::Empty,
                },
            );
        }
    }

    fn slave_rank(&self, env: Env) -> usize {
        let Some(master) = self.me().master else {
            return 0;
        };
        self.replicas_of(&master)
            .iter()
            .filter(|r| **r != self.myself)
            .filter(|r| {
                let n = &self.nodes[*r];
                !n.is(nflag::NOFAILOVER) && n.repl_offset > env.repl_offset
            })
            .count()
    }

    /// clusterHandleSlaveFailover.
    fn handle_slave_failover(&mut self, env: Env) {
        let now = env.now;
        let needed = self.size / 2 + 1;
        let manual = self.el.mf_end != 0 && self.el.mf_can_start;
        let timeout = self.params.node_timeout;
        let auth_timeout = (timeout * 2).max(2000);
        let auth_retry = auth_timeout * 2;
        let me = self.me();
        let Some(master) = me.master.and_then(|m| self.nodes.get(&m)) else {
            return;
        };
        if !me.is(nflag::SLAVE)
            || (!master.is(nflag::FAIL) && !manual)
            || (me.is(nflag::NOFAILOVER) && !manual)
            || master.numslots == 0
        {
            return;
        }
        let mut data_age = env.master_link_down_ms;
        if data_age > timeout {
            data_age -= timeout;
        }
        let factor = self.params.replica_validity_factor;
        if factor != 0 && data_age > self.params.repl_ping_period_ms + timeout * factor && !manual {
            return;
        }
        if now.saturating_sub(self.el.auth_time) > auth_retry {
            self.el.auth_time = now + 500 + self.rand() % 500;
            self.el.auth_count = 0;
            self.el.auth_sent = false;
            self.el.auth_rank = self.slave_rank(env);
            self.el.auth_time += self.el.auth_rank as u64 * 1000;
            if self.el.mf_end != 0 {
                self.el.auth_time = now;
                self.el.auth_rank = 0;
            }
            let s = format!(
                "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
                self.el.auth_time.saturating_sub(now),
                self.el.auth_rank,
                env.repl_offset
            );
            self.log(s);
            self.broadcast_pong(env, true);
            return;
        }
        if !self.el.auth_sent && self.el.mf_end == 0 {
            let rank = self.slave_rank(env);
            if rank > self.el.auth_rank {
                self.el.auth_time += (rank - self.el.auth_rank) as u64 * 1000;
                self.el.auth_rank = rank;
            }
        }
        if now < self.el.auth_time || now - self.el.auth_time > auth_timeout {
            return;
        }
        if !self.el.auth_sent {
            self.current_epoch += 1;
            self.el.auth_epoch = self.current_epoch;
            let s = format!(
                "Starting a failover election for epoch {}.",
                self.current_epoch
            );
            self.log(s);
            let mut hdr_flags = 0;
            if manual {
                hdr_flags |= msg::MF_FORCEACK;
            }
            let links: Vec<LinkId> = self
                .nodes
                .values()
                .filter(|n| !n.is(nflag::MYSELF | nflag::HANDSHAKE))
                .filter_map(|n| n.link)
                .collect();
            for l in links {
                let mut hdr = self.header(env, typ::AUTH_REQUEST);
                hdr.mflags[0] |= hdr_flags;
                self.send(
                    l,
                    Msg {
                        hdr,
                        body: Body::Empty,
                    },
                );
            }
            self.el.auth_sent = true;
            self.save();
            return;
        }
        if self.el.auth_count >= needed {
            self.log("Failover election won: I'm the new master.".into());
            if self.me().config_epoch < self.el.auth_epoch {
                let e = self.el.auth_epoch;
                self.me_mut().config_epoch = e;
            }
            self.replace_my_master(env);
        }
    }

    /// clusterFailoverReplaceYourMaster: take the old master's slots.
    fn replace_my_master(&mut self, env: Env) {
        let Some(old) = self.me().master else { return };
        if !self.me().is(nflag::SLAVE) {
            return;
        }
        let me = self.myself;
        let n = self.me_mut();
        n.flags &= !nflag::SLAVE;
        n.flags |= nflag::MASTER;
        n.master = None;
        self.actions.push(Action::Promote);
        for j in 0..SLOTS {
            if self.slots[j] == Some(old) {
                self.del_slot(j);
                self.add_slot(&me, j);
            }
        }
        self.update_state(env);
        self.save();
        self.broadcast_pong(env, false);
        self.reset_manual_failover();
    }

    fn handle_manual_failover(&mut self, env: Env) {
        if self.el.mf_end == 0 || self.el.mf_can_start {
            return;
        }
        let Some(off) = self.el.mf_master_offset else {
            return;
        };
        if env.repl_offset >= off {
            self.el.mf_can_start = true;
            self.log("All master replication stream processed, manual failover can start.".into());
            self.handle_slave_failover(env);
        }
    }

    pub fn reset_manual_failover(&mut self) {
        if self.el.mf_slave.is_some() || (self.el.mf_end != 0 && self.i_am_master()) {
            self.actions.push(Action::Unpause);
        }
        self.el.mf_end = 0;
        self.el.mf_can_start = false;
        self.el.mf_slave = None;
        self.el.mf_master_offset = None;
    }

    // ---- commands -------------------------------------------------------

    /// CLUSTER MEET: start a handshake (clusterStartHandshake).
    pub fn meet(&mut self, now: u64, ip: &str, port: u16, cport: u16) -> bool {
        let norm = match ip.parse::<std::net::IpAddr>() {
            Ok(a) => a.to_string(),
            Err(_) => return false,
        };
        if port == 0 || cport == 0 {
            return false;
        }
        if self
            .nodes
            .values()
            .any(|n| n.is(nflag::HANDSHAKE) && n.ip == norm && n.port == port && n.cport == cport)
        {
            return true;
        }
        let name = random_name(&mut self.rng);
        let mut n = Node::new(name, nflag::HANDSHAKE | nflag::MEET, now);
        n.ip = norm;
        n.port = port;
        n.cport = cport;
        self.add_node(n);
        true
    }

    /// CLUSTER REPLICATE / a lost-all-slots master following the new owner.
    pub fn set_my_master(&mut self, master: &Name) {
        let me = self.myself;
        if self.me().is_master() {
            self.del_node_slots(&me);
            self.importing.clear();
            self.migrating.clear();
            let n = self.me_mut();
            n.flags &= !(nflag::MASTER | nflag::MIGRATE_TO);
            n.flags |= nflag::SLAVE;
        }
        self.me_mut().master = Some(*master);
        let m = &self.nodes[master];
        self.actions.push(Action::Replicate {
            ip: m.ip.clone(),
            port: m.port,
        });
        self.reset_manual_failover();
        self.save();
    }

    /// CLUSTER FORGET.
    pub fn forget(&mut self, name: &Name, now: u64) {
        self.blacklist.insert(*name, now + BLACKLIST_TTL);
        self.del_node(name);
        self.save();
    }

    /// CLUSTER FAILOVER on a replica; the caller checked preconditions.
    pub fn start_manual_failover(&mut self, env: Env, mode: FailoverMode) {
        self.reset_manual_failover();
        self.el.mf_end = env.now + MF_TIMEOUT;
        match mode {
            FailoverMode::Takeover => {
                self.log("Taking over the master (user request).".into());
                self.bump_epoch();
                self.replace_my_master(env);
            }
            FailoverMode::Force => {
                self.log("Forced failover user request accepted.".into());
                self.el.mf_can_start = true;
                // Start the election at the next tick, without waiting.
                self.el.auth_time = 0;
            }
            FailoverMode::Default => {
                self.log("Manual failover user request accepted.".into());
                if let Some(l) = self.me().master.and_then(|m| self.nodes[&m].link) {
                    let hdr = self.header(env, typ::MFSTART);
                    self.send(
                        l,
                        Msg {
                            hdr,
                            body: Body::Empty,
                        },
                    );
                }
            }
        }
    }

    /// CLUSTER RESET.
    pub fn reset(&mut self, hard: bool) {
        let me = self.myself;
        if self.me().is(nflag::SLAVE) {
            self.set_node_as_master(&me);
            self.actions.push(Action::Promote);
        }
        self.importing.clear();
        self.migrating.clear();
        self.del_node_slots(&me);
        let others: Vec<Name> = self.nodes.keys().filter(|n| **n != me).copied().collect();
        for n in others {
            self.del_node(&n);
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.me_mut().config_epoch = 0;
            let new = random_name(&mut self.rng);
            self.rename(&me, new);
            self.myself = new;
        }
        self.save();
    }

    pub fn slots_pfail_fail(&self) -> (usize, usize) {
        let mut pf = 0;
        let mut f = 0;
        for s in &self.slots {
            if let Some(n) = s.and_then(|n| self.nodes.get(&n)) {
                if n.is(nflag::FAIL) {
                    f += 1;
                } else if n.is(nflag::PFAIL) {
                    pf += 1;
                }
            }
        }
        (pf, f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverMode {
    Default,
    Force,
    Takeover,
}

// ---- CLUSTER NODES and nodes.conf ---------------------------------------

/// Flags as CLUSTER NODES shows them (representClusterNodeFlags).
pub fn flags_text(flags: u16) -> String {
    let table: [(u16, &str); 8] = [
        (nflag::MYSELF, "myself"),
        (nflag::MASTER, "master"),
        (nflag::SLAVE, "slave"),
        (nflag::PFAIL, "fail?"),
        (nflag::FAIL, "fail"),
        (nflag::HANDSHAKE, "handshake"),
        (nflag::NOADDR, "noaddr"),
        (nflag::NOFAILOVER, "nofailover"),
    ];
    let v: Vec<&str> = table
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, s)| *s)
        .collect();
    if v.is_empty() {
        "noflags".into()
    } else {
        v.join(",")
    }
}

impl State {
    /// One line of CLUSTER NODES / nodes.conf (clusterGenNodeDescription).
    pub fn describe(&self, n: &Node) -> String {
        let mut s = format!("{} {}:{}@{}", n.name_str(), n.ip, n.port, n.cport);
        if !n.hostname.is_empty() {
            s.push(',');
            s.push_str(&n.hostname);
        }
        s.push(' ');
        s.push_str(&flags_text(n.flags));
        match n.master {
            Some(m) if n.is(nflag::SLAVE) => {
                s.push(' ');
                s.push_str(name_str(&m));
                s.push(' ');
            }
            _ => s.push_str(" - "),
        }
        let connected = n.is(nflag::MYSELF)
            || n.link
                .and_then(|l| self.links.get(&l))
                .is_some_and(|l| l.connected);
        s.push_str(&format!(
            "{} {} {} {}",
            n.ping_sent,
            n.pong_received,
            self.node_epoch(n),
            if connected {
                "connected"
            } else {
                "disconnected"
            }
        ));
        for (a, b) in super::slot::ranges(n.slots.iter()) {
            if a == b {
                s.push_str(&format!(" {a}"));
            } else {
                s.push_str(&format!(" {a}-{b}"));
            }
        }
        if n.is(nflag::MYSELF) {
            for (slot, to) in &self.migrating {
                s.push_str(&format!(" [{}->-{}]", slot, name_str(to)));
            }
            for (slot, from) in &self.importing {
                s.push_str(&format!(" [{}-<-{}]", slot, name_str(from)));
            }
        }
        s
    }

    /// CLUSTER NODES: every node, handshakes included.
    pub fn nodes_text(&self, skip_handshake: bool) -> String {
        let mut out = String::new();
        for n in self.nodes.values() {
            if skip_handshake && n.is(nflag::HANDSHAKE) {
                continue;
            }
            out.push_str(&self.describe(n));
            out.push('\n');
        }
        out
    }

    /// The nodes.conf content, in Redis 7.0's format.
    pub fn config_text(&self) -> String {
        let mut s = self.nodes_text(true);
        s.push_str(&format!(
            "vars currentEpoch {} lastVoteEpoch {}\n",
            self.current_epoch, self.last_vote_epoch
        ));
        s
    }

    /// Load a nodes.conf (clusterLoadConfig). Our own node comes back with
    /// its name, epochs and slots; others with their addresses, roles and
    /// slots, links to be reconnected.
    pub fn load_config(params: Params, seed: u64, now: u64, text: &str) -> Result<State, String> {
        let mut s = State::new(params, seed, now);
        let placeholder = s.myself;
        s.nodes.clear();
        let mut found_me = false;
        let mut slot_claims: Vec<(Name, usize)> = Vec::new();
        let mut masters: Vec<(Name, Name)> = Vec::new();
        for (lineno, line) in text.lines().enumerate() {
            let argv: Vec<&str> = line.split_whitespace().collect();
            if argv.is_empty() {
                continue;
            }
            let bad = |why: &str| {
                format!(
                    "Unrecoverable error: corrupted cluster config file \"{}\" (line {}: {})",
                    line,
                    lineno + 1,
                    why
                )
            };
            if argv[0] == "vars" {
                let mut i = 1;
                while i + 1 < argv.len() {
                    let v: u64 = argv[i + 1].parse().map_err(|_| bad("bad number"))?;
                    match argv[i] {
                        "currentEpoch" => s.current_epoch = v,
                        "lastVoteEpoch" => s.last_vote_epoch = v,
                        _ => {}
                    }
                    i += 2;
                }
                continue;
            }
            if argv.len() < 8 {
                return Err(bad("too few fields"));
            }
            let name: Name = argv[0]
                .as_bytes()
                .try_into()
                .map_err(|_| bad("bad node name"))?;
            let (addr, hostname) = match argv[1].split_once(',') {
                Some((a, h)) => (a, h),
                None => (argv[1], ""),
            };
            let (ipport, cport) = addr.split_once('@').ok_or_else(|| bad("no bus port"))?;
            let (ip, port) = ipport.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            let mut n = Node::new(name, 0, now);
            n.ip = ip.to_string();
            n.port = port.parse().map_err(|_| bad("bad port"))?;
            n.cport = cport.parse().map_err(|_| bad("bad bus port"))?;
            n.hostname = hostname.to_string();
            for f in argv[2].split(',') {
                n.flags |= match f {
                    "myself" => nflag::MYSELF,
                    "master" => nflag::MASTER,
                    "slave" => nflag::SLAVE,
                    "fail?" => nflag::PFAIL,
                    "fail" => nflag::FAIL,
                    "handshake" => nflag::HANDSHAKE,
                    "noaddr" => nflag::NOADDR,
                    "nofailover" => nflag::NOFAILOVER,
                    "noflags" => 0,
                    _ => return Err(bad("unknown flag")),
                };
            }
            if n.is(nflag::FAIL) {
                n.fail_time = now;
            }
            if argv[3] != "-" {
                let m: Name = argv[3]
                    .as_bytes()
                    .try_into()
                    .map_err(|_| bad("bad master name"))?;
                masters.push((name, m));
            }
            if argv[4] != "0" {
                n.ping_sent = now;
            }
            if argv[5] != "0" {
                n.pong_received = now;
            }
            n.config_epoch = argv[6].parse().map_err(|_| bad("bad config epoch"))?;
            if n.is(nflag::MYSELF) {
                if found_me {
                    return Err(bad("two myself nodes"));
                }
                found_me = true;
                s.myself = name;
            }
            for sl in &argv[8..] {
                if let Some(inner) = sl.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                    if let Some((slot, to)) = inner.split_once("->-") {
                        let slot: u16 = slot.parse().map_err(|_| bad("bad slot"))?;
                        let to: Name = to.as_bytes().try_into().map_err(|_| bad("bad node"))?;
                        s.migrating.insert(slot, to);
                    } else if let Some((slot, from)) = inner.split_once("-<-") {
                        let slot: u16 = slot.parse().map_err(|_| bad("bad slot"))?;
                        let from: Name = from.as_bytes().try_into().map_err(|_| bad("bad node"))?;
                        s.importing.insert(slot, from);
                    } else {
                        return Err(bad("bad open slot"));
                    }
                    continue;
                }
                let (a, b) = match sl.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (*sl, *sl),
                };
                let a: usize = a.parse().map_err(|_| bad("bad slot"))?;
                let b: usize = b.parse().map_err(|_| bad("bad slot"))?;
                if a > b || b >= SLOTS {
                    return Err(bad("bad slot range"));
                }
                for j in a..=b {
                    slot_claims.push((name, j));
                }
            }
            s.nodes.insert(name, n);
        }
        if !found_me {
            return Err("Unrecoverable error: the cluster config file has no 'myself' node".into());
        }
        let _ = placeholder;
        for (n, m) in masters {
            if s.nodes.contains_key(&m) {
                s.nodes.get_mut(&n).unwrap().master = Some(m);
            }
        }
        for (n, j) in slot_claims {
            s.add_slot(&n, j);
        }
        // Announced addresses come from the configuration, not the file.
        let ip = s.me().ip.clone();
        s.apply_params();
        if s.params.announce_ip.is_empty() {
            s.me_mut().ip = ip;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_render_like_redis() {
        assert_eq!(flags_text(nflag::MYSELF | nflag::MASTER), "myself,master");
        assert_eq!(flags_text(nflag::SLAVE | nflag::PFAIL), "slave,fail?");
        assert_eq!(flags_text(0), "noflags");
    }

    #[test]
    fn nodes_conf_round_trip() {
        let mut s = State::new(Params::default(), 7, 1000);
        let me = s.myself;
        s.me_mut().ip = "127.0.0.1".into();
        for j in 0..100 {
            s.add_slot(&me, j);
        }
        s.add_slot(&me, 200);
        let other = [b'f'; 40];
        let mut n = Node::new(other, nflag::SLAVE, 1000);
        n.master = Some(me);
        n.ip = "127.0.0.2".into();
        n.port = 7001;
        n.cport = 17001;
        n.hostname = "h2".into();
        s.add_node(n);
        s.migrating.insert(5, other);
        s.current_epoch = 4;
        s.last_vote_epoch = 3;
        s.me_mut().config_epoch = 2;
        let text = s.config_text();
        let myname = name_str(&me).to_string();
        assert!(
            text.contains(&format!(
                "{myname} 127.0.0.1:6379@16379 myself,master - 0 0 2 connected 0-99 200 [5->-{}]\n",
                name_str(&other)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{} 127.0.0.2:7001@17001,h2 slave {myname} 0 0 2 disconnected\n",
                name_str(&other)
            )),
            "{text}"
        );
        assert!(text.ends_with("vars currentEpoch 4 lastVoteEpoch 3\n"));
        let back = State::load_config(Params::default(), 9, 2000, &text).unwrap();
        assert_eq!(back.myself, me);
        assert_eq!(back.config_text(), text);
        assert!(State::load_config(Params::default(), 9, 2000, "garbage line\n").is_err());
    }
}
