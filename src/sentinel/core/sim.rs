//! Deterministic discrete-event simulation of 3-5 sentinels (the real `Sentinel` core) monitoring a simulated master
//! and its replicas, with virtual time, message delays and loss, partitions, kills/restarts and clock jumps.
//! Every run is a function of its seed; invariants are checked in every run.

use super::state::FoState;
use super::*;
use std::collections::{BTreeMap, BTreeSet};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Id {
    Node(usize),
    Sent(usize),
}

#[derive(Clone, Debug)]
enum Req {
    Ping,
    Info,
    Publish(String),
    SlaveOf(Option<Addr>),
    Failover(Addr, u64),
    Ask {
        master: String,
        master_addr: Addr,
        epoch: u64,
        runid: Option<String>,
    },
}

#[derive(Clone, Debug)]
enum Ev {
    Tick(usize),
    World,
    Req {
        from: usize,
        finc: u64,
        to: Id,
        req: Req,
    },
    Deliver {
        to: usize,
        inc: u64,
        input: Input,
    },
    Step(usize),
}

struct Node {
    addr: Addr,
    up: bool,
    run_id: String,
    master: Option<Addr>,
    link_up: bool,
    link_down_since: Option<Ms>,
    sync_ready_at: Ms,
    offset: u64,
    priority: u32,
    failover_to: Option<(Addr, Ms)>,
}

struct Sent {
    addr: Addr,
    core: Option<Sentinel>,
    inc: u64,
    state: Option<PersistedState>,
    clock: i64,
    conns: BTreeSet<(Addr, bool)>,
    max_epoch_seen: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    MasterCrash,
    MasterCrashOneSentinelDown,
    TwoSentinelsDown,
    PartitionMasterMinority,
    PartitionSentinelMinority,
    RestartMidFailover,
    ClockJump,
    OldMasterReturns,
    MessageLoss,
    Manual,
    /// The master is killed and either comes back before down-after-milliseconds (no SDOWN, no failover) or
    /// stays down (SDOWN no sooner than down-after after the kill, then a failover).
    MasterBlip,
}

const SCENARIOS: [Scenario; 11] = [
    Scenario::MasterCrash,
    Scenario::MasterCrashOneSentinelDown,
    Scenario::TwoSentinelsDown,
    Scenario::PartitionMasterMinority,
    Scenario::PartitionSentinelMinority,
    Scenario::RestartMidFailover,
    Scenario::ClockJump,
    Scenario::OldMasterReturns,
    Scenario::MessageLoss,
    Scenario::Manual,
    Scenario::MasterBlip,
];

#[derive(Default, Debug)]
struct Outcome {
    failovers: u64,
    detect_to_switch: Option<u64>,
    events: u64,
}

struct Sim {
    rng: Rng,
    now: Ms,
    seq: u64,
    queue: BTreeMap<(Ms, u64), Ev>,
    nodes: Vec<Node>,
    sents: Vec<Sent>,
    groups: Option<BTreeMap<Id, u8>>,
    loss: f64,
    setup: Setup,
    quorum: u32,
    down_after: u64,
    ft: u64,
    // invariant bookkeeping
    leaders: BTreeMap<u64, BTreeSet<String>>,
    promoted: BTreeMap<u64, Addr>,
    votes: BTreeMap<u64, BTreeMap<String, String>>,
    manual_epochs: BTreeSet<u64>,
    no_elect_before: Ms,
    minority: BTreeSet<usize>,
    minority_until: Ms,
    first_switch: Option<Ms>,
    switch_epochs: BTreeSet<u64>,
    /// (time, new master address, whether that node was up then) of the first +switch-master of each config epoch
    switches: Vec<(Ms, Addr, bool)>,
    /// first time each epoch got a vote
    vote_times: BTreeMap<u64, Ms>,
    /// nodes killed by the scenario's failure step
    killed: BTreeSet<usize>,
    /// failover epochs whose promotion command (SLAVEOF NO ONE / FAILOVER TO) the network dropped
    promo_lost: BTreeSet<u64>,
    tilt_checked: bool,
    errors: Vec<String>,
    log: Vec<String>,
    trace: bool,
    events: u64,
    scenario: Scenario,
    steps: Vec<(Ms, Step)>,
    restart_pending: Option<usize>,
    counts: BTreeMap<String, u64>,
    refuse_failover: bool,
    /// (time, sentinel) of every +sdown of the master
    master_sdowns: Vec<(Ms, usize)>,
}

#[derive(Clone, Debug)]
enum Step {
    KillNode(usize),
    /// Kill every live node that acts as a master at that moment (the original one, or the one an earlier,
    /// loss-induced failover promoted, or both while that failover is still reconfiguring).
    KillMasters,
    RestartNode(usize),
    KillSent(usize),
    RestartSent(usize),
    Partition(Vec<Id>),
    Heal,
    ClockJump(usize, i64),
    Loss(f64),
    ManualFailover(usize),
}

fn nid(i: usize) -> Addr {
    Addr::new(format!("10.0.0.{}", i + 1), 6379)
}
fn sid(j: usize) -> Addr {
    Addr::new(format!("10.0.1.{}", j + 1), 26379)
}

impl Sim {
    fn new(seed: u64, scenario: Scenario) -> Sim {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xabcdef);
        let n_sent = if matches!(scenario, Scenario::PartitionSentinelMinority) {
            5
        } else {
            3 + rng.range(0, 1) as usize * 2
        };
        let n_rep = rng.range(2, 3) as usize;
        let quorum = (n_sent / 2 + 1) as u32 - if n_sent == 5 && rng.chance(0.5) { 1 } else { 0 };
        let down_after = if scenario == Scenario::MasterBlip {
            // room for a blip of at least 100 ms plus one missed 1 s reconnection round
            rng.range(2000, 3000)
        } else {
            rng.range(1000, 3000)
        };
        let ft = rng.range(6000, 12000);
        let mut nodes = Vec::new();
        for i in 0..=n_rep {
            nodes.push(Node {
                addr: nid(i),
                up: true,
                run_id: format!("{:040x}", rng.next()),
                master: if i == 0 { None } else { Some(nid(0)) },
                link_up: i != 0,
                link_down_since: None,
                sync_ready_at: 0,
                offset: 1000,
                priority: if i == 1 && rng.chance(0.3) {
                    0
                } else {
                    rng.range(1, 2) as u32 * 50
                },
                failover_to: None,
            });
        }
        let setup = Setup {
            announce_ip: None,
            announce_port: None,
            port: 26379,
            masters: vec![MasterSetup {
                name: "mymaster".into(),
                addr: nid(0),
                quorum,
                down_after_ms: down_after,
                failover_timeout_ms: ft,
                parallel_syncs: rng.range(1, 2) as u32,
                auth_user: None,
                auth_pass: None,
            }],
            resolve_hostnames: false,
            announce_hostnames: false,
        };
        let mut sents = Vec::new();
        for j in 0..n_sent {
            let core = Sentinel::new(setup.clone(), None, rng.next(), 0);
            sents.push(Sent {
                addr: sid(j),
                core: Some(core),
                inc: 0,
                state: None,
                clock: 0,
                conns: BTreeSet::new(),
                max_epoch_seen: 0,
            });
        }
        let mut sim = Sim {
            rng,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            sents,
            groups: None,
            loss: 0.0,
            setup,
            quorum,
            down_after,
            ft,
            leaders: BTreeMap::new(),
            promoted: BTreeMap::new(),
            votes: BTreeMap::new(),
            manual_epochs: BTreeSet::new(),
            no_elect_before: 0,
            minority: BTreeSet::new(),
            minority_until: 0,
            first_switch: None,
            switch_epochs: BTreeSet::new(),
            switches: Vec::new(),
            vote_times: BTreeMap::new(),
            killed: BTreeSet::new(),
            promo_lost: BTreeSet::new(),
            tilt_checked: false,
            errors: Vec::new(),
            log: Vec::new(),
            trace: false,
            events: 0,
            scenario,
            steps: Vec::new(),
            restart_pending: None,
            counts: BTreeMap::new(),
            refuse_failover: false,
            master_sdowns: Vec::new(),
        };
        for j in 0..n_sent {
            let d = sim.rng.range(0, 100);
            sim.push(d, Ev::Tick(j));
        }
        sim.push(100, Ev::World);
        sim
    }

    fn push(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), ev);
    }

    fn reachable(&self, a: Id, b: Id) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g.get(&a).copied().unwrap_or(0) == g.get(&b).copied().unwrap_or(0),
        }
    }

    fn id_of(&self, addr: &Addr) -> Option<Id> {
        if let Some(i) = self.nodes.iter().position(|n| n.addr == *addr) {
            return Some(Id::Node(i));
        }
        self.sents
            .iter()
            .position(|s| s.addr == *addr)
            .map(Id::Sent)
    }

    fn alive(&self, id: Id) -> bool {
        match id {
            Id::Node(i) => self.nodes[i].up,
            Id::Sent(j) => self.sents[j].core.is_some(),
        }
    }

    fn delay(&mut self) -> u64 {
        self.rng.range(1, 15)
    }

    /// Send `input` to sentinel `to` over the network from `from` (subject to loss and partitions).
    fn deliver(&mut self, from: Id, to: usize, input: Input, lossy: bool) {
        if !self.reachable(from, Id::Sent(to))
            || (lossy && self.loss > 0.0 && self.rng.chance(self.loss))
        {
            return;
        }
        let d = self.delay();
        let inc = self.sents[to].inc;
        self.push(d, Ev::Deliver { to, inc, input });
    }

    fn sent_now(&self, j: usize) -> Ms {
        (self.now as i64 + self.sents[j].clock).max(0) as Ms
    }

    fn run_core(&mut self, j: usize, input: Input) {
        let now = self.sent_now(j);
        let Some(core) = self.sents[j].core.as_mut() else {
            return;
        };
        let was_tilt = core.tilt();
        let acts = core.handle(now, input);
        let tilt = core.tilt();
        if was_tilt && tilt {
            for a in &acts {
                let bad = match a {
                    Action::SlaveOf { .. }
                    | Action::CoordinatedFailover { .. }
                    | Action::AskVote { .. } => true,
                    Action::Event { kind, .. } => {
                        matches!(
                            kind.as_str(),
                            "+sdown"
                                | "-sdown"
                                | "+odown"
                                | "-odown"
                                | "+try-failover"
                                | "+elected-leader"
                        )
                    }
                    _ => false,
                };
                if bad {
                    self.errors
                        .push(format!("sentinel {} acted in TILT: {:?}", j, a));
                }
            }
            self.tilt_checked = true;
        }
        self.exec(j, acts);
    }

    fn exec(&mut self, j: usize, acts: Vec<Action>) {
        let me = Id::Sent(j);
        let finc = self.sents[j].inc;
        for a in acts {
            if self.sents[j].core.is_none() {
                return;
            }
            match a {
                Action::Connect { addr, link, .. } => {
                    let ps = link == Link::PubSub;
                    let target = self.id_of(&addr);
                    let ok = target.is_some_and(|t| self.alive(t) && self.reachable(me, t));
                    let d = self.delay();
                    let inc = self.sents[j].inc;
                    if ok {
                        self.sents[j].conns.insert((addr.clone(), ps));
                        let local_ip = self.sents[j].addr.ip.clone();
                        self.push(
                            d,
                            Ev::Deliver {
                                to: j,
                                inc,
                                input: Input::LinkUp {
                                    addr,
                                    link,
                                    local_ip,
                                },
                            },
                        );
                    } else {
                        let d = if target.is_some_and(|t| self.alive(t)) {
                            1000
                        } else {
                            d
                        };
                        self.push(
                            d,
                            Ev::Deliver {
                                to: j,
                                inc,
                                input: Input::LinkDown { addr, link },
                            },
                        );
                    }
                }
                Action::Disconnect { addr, link } => {
                    self.sents[j].conns.remove(&(addr, link == Link::PubSub));
                }
                Action::Ping { addr } => self.request(j, finc, &addr, Req::Ping),
                Action::Info { addr } => self.request(j, finc, &addr, Req::Info),
                Action::PublishHello { addr, msg } => {
                    self.request(j, finc, &addr, Req::Publish(msg))
                }
                Action::AskVote {
                    sentinel,
                    master,
                    master_addr,
                    epoch,
                    runid,
                } => self.request(
                    j,
                    finc,
                    &sentinel,
                    Req::Ask {
                        master,
                        master_addr,
                        epoch,
                        runid,
                    },
                ),
                Action::SlaveOf { addr, master } => {
                    self.request(j, finc, &addr, Req::SlaveOf(master))
                }
                Action::CoordinatedFailover {
                    master,
                    to,
                    timeout_ms,
                } => {
                    *self
                        .counts
                        .entry("coordinated-failover".into())
                        .or_default() += 1;
                    self.request(j, finc, &master, Req::Failover(to, timeout_ms))
                }
                Action::ScriptKill { .. } => {}
                Action::Event { kind, payload } => self.on_event(j, &kind, &payload),
                Action::Persist => {
                    let st = self.sents[j].core.as_ref().unwrap().persisted_state();
                    self.sents[j].state = Some(st);
                }
                Action::Crash => self.kill_sent(j),
            }
        }
    }

    fn request(&mut self, j: usize, finc: u64, addr: &Addr, req: Req) {
        let important = matches!(req, Req::SlaveOf(_) | Req::Failover(..));
        if !self.sents[j].conns.contains(&(addr.clone(), false)) {
            if self.trace && important {
                self.log.push(format!(
                    "{:>7} s{} {:?} to {} not sent: no connection",
                    self.now, j, req, addr
                ));
            }
            return;
        }
        let Some(to) = self.id_of(addr) else { return };
        if !self.reachable(Id::Sent(j), to) || (self.loss > 0.0 && self.rng.chance(self.loss)) {
            if matches!(req, Req::SlaveOf(None) | Req::Failover(..)) {
                let e = self.sents[j].core.as_ref().unwrap().masters[0].fo_epoch;
                self.promo_lost.insert(e);
            }
            if self.trace && important {
                self.log
                    .push(format!("{:>7} s{} {:?} to {} lost", self.now, j, req, addr));
            }
            return;
        }
        let d = self.delay();
        self.push(
            d,
            Ev::Req {
                from: j,
                finc,
                to,
                req,
            },
        );
    }

    fn on_event(&mut self, j: usize, kind: &str, payload: &str) {
        if self.trace {
            self.log
                .push(format!("{:>7} s{} {} {}", self.now, j, kind, payload));
        }
        if kind == "+sdown" && payload.starts_with("master ") {
            self.master_sdowns.push((self.now, j));
        }
        if matches!(
            kind,
            "+tilt"
                | "+convert-to-slave"
                | "+fix-slave-config"
                | "-failover-abort-not-elected"
                | "-failover-abort-no-good-slave"
                | "-failover-abort-slave-timeout"
                | "+failover-end-for-timeout"
                | "+elected-leader"
                | "+config-update-from"
                | "+sentinel-address-switch"
        ) {
            *self.counts.entry(kind.to_string()).or_default() += 1;
        }
        let core = self.sents[j].core.as_ref().unwrap();
        let myid = core.myid().to_string();
        let m = &core.masters[0];
        match kind {
            "+new-epoch" => {
                let e: u64 = payload.parse().unwrap();
                self.sents[j].max_epoch_seen = self.sents[j].max_epoch_seen.max(e);
            }
            "+vote-for-leader" => {
                let mut it = payload.split(' ');
                let runid = it.next().unwrap().to_string();
                let e: u64 = it.next().unwrap().parse().unwrap();
                self.vote_times.entry(e).or_insert(self.now);
                if let Some(prev) = self
                    .votes
                    .entry(e)
                    .or_default()
                    .insert(myid.clone(), runid.clone())
                {
                    if prev != runid {
                        self.errors.push(format!(
                            "{} voted twice in epoch {}: {} and {}",
                            myid, e, prev, runid
                        ));
                    }
                }
            }
            // A manual failover sets force just after; the sim records manual epochs before calling.
            "+try-failover" if !m.odown() && !self.manual_epochs.contains(&m.fo_epoch) => {
                self.errors
                    .push(format!("s{} started a failover without ODOWN", j));
            }
            "+elected-leader" => {
                let e = m.fo_epoch;
                if self.now < self.no_elect_before {
                    self.errors.push(format!(
                        "s{} elected at {} before {}",
                        j, self.now, self.no_elect_before
                    ));
                }
                if self.minority.contains(&j) && self.now < self.minority_until {
                    self.errors.push(format!(
                        "minority sentinel s{} elected leader for epoch {}",
                        j, e
                    ));
                }
                let set = self.leaders.entry(e).or_default();
                set.insert(myid.clone());
                if set.len() > 1 {
                    self.errors
                        .push(format!("two leaders in epoch {}: {:?}", e, set));
                }
                if !self.manual_epochs.contains(&e) {
                    let n = self.sents.len();
                    let got = self
                        .votes
                        .get(&e)
                        .map_or(0, |v| v.values().filter(|r| **r == myid).count());
                    if got < n / 2 + 1 || (got as u32) < self.quorum {
                        self.errors.push(format!(
                            "s{} elected for epoch {} with {} votes of {}",
                            j, e, got, n
                        ));
                    }
                }
            }
            "+promoted-slave" => {
                let e = m.fo_epoch;
                let p = m.promoted.clone().unwrap();
                if let Some(prev) = self.promoted.insert(e, p.clone()) {
                    if prev != p {
                        self.errors
                            .push(format!("epoch {} promoted {} and {}", e, prev, p));
                    }
                }
            }
            "+switch-master" => {
                let e = m.config_epoch;
                if self.switch_epochs.insert(e) {
                    let a = m.inst.addr.clone();
                    let up = self.nodes.iter().any(|n| n.addr == a && n.up);
                    self.switches.push((self.now, a, up));
                }
                if self.first_switch.is_none() {
                    self.first_switch = Some(self.now);
                }
            }
            _ => {}
        }
    }

    fn node_info(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let mut s = format!("# Server\r\nredis_version:7.0.15\r\nrun_id:{}\r\ntcp_port:6379\r\n\r\n# Replication\r\n", n.run_id);
        match &n.master {
            None => {
                let reps: Vec<&Node> = self
                    .nodes
                    .iter()
                    .filter(|r| r.up && r.link_up && r.master.as_ref() == Some(&n.addr))
                    .collect();
                s += &format!("role:master\r\nconnected_slaves:{}\r\n", reps.len());
                for (k, r) in reps.iter().enumerate() {
                    s += &format!(
                        "slave{}:ip={},port={},state=online,offset={},lag=0\r\n",
                        k, r.addr.ip, r.addr.port, r.offset
                    );
                }
                s += &format!(
                    "master_failover_state:no-failover\r\nmaster_repl_offset:{}\r\n",
                    n.offset
                );
            }
            Some(m) => {
                s += &format!(
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:0\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                    m.ip,
                    m.port,
                    if n.link_up { "up" } else { "down" },
                    if n.link_up { 0 } else { -1 },
                    n.offset,
                    n.offset
                );
                if !n.link_up {
                    let d = n
                        .link_down_since
                        .map_or(-1, |t| ((self.now - t) / 1000) as i64);
                    s += &format!("master_link_down_since_seconds:{}\r\n", d);
                }
                s += &format!(
                    "slave_priority:{}\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_repl_offset:{}\r\n",
                    n.priority, n.offset
                );
            }
        }
        s
    }

    fn handle_req(&mut self, from: usize, finc: u64, to: Id, req: Req) {
        if self.sents[from].inc != finc || self.sents[from].core.is_none() || !self.alive(to) {
            return;
        }
        let me = to;
        match (to, req) {
            (Id::Node(i), Req::Ping) => {
                let addr = self.nodes[i].addr.clone();
                self.deliver(
                    me,
                    from,
                    Input::PingReply {
                        addr,
                        reply: PingReply::Pong,
                    },
                    true,
                );
            }
            (Id::Sent(k), Req::Ping) => {
                let addr = self.sents[k].addr.clone();
                self.deliver(
                    me,
                    from,
                    Input::PingReply {
                        addr,
                        reply: PingReply::Pong,
                    },
                    true,
                );
            }
            (Id::Node(i), Req::Info) => {
                let text = self.node_info(i);
                let addr = self.nodes[i].addr.clone();
                self.deliver(me, from, Input::InfoReply { addr, text }, true);
            }
            (Id::Node(i), Req::Publish(msg)) => {
                let addr = self.nodes[i].addr.clone();
                for k in 0..self.sents.len() {
                    if self.sents[k].core.is_some()
                        && self.sents[k].conns.contains(&(addr.clone(), true))
                    {
                        self.deliver(
                            me,
                            k,
                            Input::HelloFrom {
                                addr: addr.clone(),
                                msg: msg.clone(),
                            },
                            true,
                        );
                    }
                }
            }
            (Id::Sent(k), Req::Publish(msg)) => {
                let now = self.sent_now(k);
                let acts = self.sents[k]
                    .core
                    .as_mut()
                    .unwrap()
                    .handle(now, Input::Hello { msg });
                self.exec(k, acts);
            }
            (
                Id::Sent(k),
                Req::Ask {
                    master,
                    master_addr,
                    epoch,
                    runid,
                },
            ) => {
                let now = self.sent_now(k);
                let core = self.sents[k].core.as_mut().unwrap();
                let tilt = core.tilt();
                let args: Vec<Vec<u8>> = vec![
                    b"is-master-down-by-addr".to_vec(),
                    master_addr.ip.clone().into_bytes(),
                    master_addr.port.to_string().into_bytes(),
                    epoch.to_string().into_bytes(),
                    runid.unwrap_or_else(|| "*".into()).into_bytes(),
                ];
                let (reply, acts) = core.command(now, &args);
                self.exec(k, acts);
                let Reply::Array(v) = reply else {
                    panic!("bad is-master-down reply")
                };
                let (Reply::Int(down), Reply::Bulk(leader), Reply::Int(le)) = (&v[0], &v[1], &v[2])
                else {
                    panic!("bad is-master-down reply shape")
                };
                if tilt && *down != 0 {
                    self.errors.push(format!("s{} in TILT answered down=1", k));
                }
                let input = Input::VoteReply {
                    sentinel: self.sents[k].addr.clone(),
                    master,
                    down: *down == 1,
                    leader: String::from_utf8(leader.clone()).unwrap(),
                    leader_epoch: *le as u64,
                };
                self.deliver(me, from, input, true);
            }
            (Id::Node(i), Req::SlaveOf(m)) => {
                let n = &mut self.nodes[i];
                match m {
                    None => {
                        n.master = None;
                        n.link_up = false;
                        n.link_down_since = None;
                    }
                    Some(a) => {
                        if n.master.as_ref() != Some(&a) && a != n.addr {
                            n.master = Some(a);
                            n.link_up = false;
                            n.link_down_since = Some(self.now);
                            n.sync_ready_at = self.now + self.rng.range(200, 800);
                        }
                    }
                }
            }
            (Id::Node(i), Req::Failover(to, timeout)) => {
                let ok = !self.refuse_failover
                    && self.nodes[i].master.is_none()
                    && self
                        .nodes
                        .iter()
                        .any(|r| r.addr == to && r.master.as_ref() == Some(&self.nodes[i].addr));
                if ok {
                    self.nodes[i].failover_to = Some((to, self.now + timeout));
                } else {
                    let addr = self.nodes[i].addr.clone();
                    *self.counts.entry("failover-to-refused".into()).or_default() += 1;
                    self.deliver(me, from, Input::CommandFailed { addr }, false);
                }
            }
            _ => {}
        }
    }

    fn world(&mut self) {
        let now = self.now;
        for i in 0..self.nodes.len() {
            if !self.nodes[i].up {
                continue;
            }
            if self.nodes[i].master.is_none() {
                if self.nodes[i].failover_to.is_none() {
                    self.nodes[i].offset += 137;
                }
                continue;
            }
            let m = self.nodes[i].master.clone().unwrap();
            let mi = self.nodes.iter().position(|n| n.addr == m);
            let ok = mi.is_some_and(|mi| {
                self.nodes[mi].up
                    && self.reachable(Id::Node(i), Id::Node(mi))
                    && now >= self.nodes[i].sync_ready_at
            });
            if ok {
                let off = self.nodes[mi.unwrap()].offset;
                let n = &mut self.nodes[i];
                n.link_up = true;
                n.link_down_since = None;
                n.offset = off;
            } else {
                let n = &mut self.nodes[i];
                if n.link_up {
                    n.link_up = false;
                    n.link_down_since = Some(now);
                }
            }
        }
        // FAILOVER TO: writes paused until the target has caught up, then the roles swap.
        for i in 0..self.nodes.len() {
            let Some((to, deadline)) = self.nodes[i].failover_to.clone() else {
                continue;
            };
            if !self.nodes[i].up {
                self.nodes[i].failover_to = None;
                continue;
            }
            let ti = self.nodes.iter().position(|n| n.addr == to).unwrap();
            let t = &self.nodes[ti];
            if t.up
                && t.link_up
                && t.offset == self.nodes[i].offset
                && t.master.as_ref() == Some(&self.nodes[i].addr)
            {
                let (myaddr, off) = (self.nodes[i].addr.clone(), self.nodes[i].offset);
                let t = &mut self.nodes[ti];
                t.master = None;
                t.link_up = false;
                if t.offset != off {
                    self.errors.push("FAILOVER TO lost writes".into());
                }
                let n = &mut self.nodes[i];
                n.failover_to = None;
                n.master = Some(to);
                n.link_up = false;
                n.link_down_since = Some(now);
                n.sync_ready_at = now + 300;
                let _ = myaddr;
            } else if now > deadline {
                self.nodes[i].failover_to = None;
            }
        }
    }

    fn kill_node(&mut self, i: usize) {
        self.nodes[i].up = false;
        let addr = self.nodes[i].addr.clone();
        self.drop_conns_to(&addr, Id::Node(i));
    }

    fn drop_conns_to(&mut self, addr: &Addr, _who: Id) {
        for k in 0..self.sents.len() {
            for ps in [false, true] {
                if self.sents[k].conns.remove(&(addr.clone(), ps)) {
                    let d = self.delay();
                    let inc = self.sents[k].inc;
                    let link = if ps { Link::PubSub } else { Link::Cmd };
                    self.push(
                        d,
                        Ev::Deliver {
                            to: k,
                            inc,
                            input: Input::LinkDown {
                                addr: addr.clone(),
                                link,
                            },
                        },
                    );
                }
            }
        }
    }

    fn kill_sent(&mut self, j: usize) {
        if self.sents[j].core.is_none() {
            return;
        }
        self.sents[j].core = None;
        self.sents[j].inc += 1;
        self.sents[j].conns.clear();
        let addr = self.sents[j].addr.clone();
        self.drop_conns_to(&addr, Id::Sent(j));
    }

    fn restart_sent(&mut self, j: usize) {
        if self.sents[j].core.is_some() {
            return;
        }
        let st = self.sents[j].state.clone();
        let now = self.sent_now(j);
        let core = Sentinel::new(self.setup.clone(), st, self.rng.next(), now);
        if core.g.current_epoch < self.sents[j].max_epoch_seen {
            self.errors.push(format!(
                "s{} restarted with epoch {} < {} it had announced",
                j, core.g.current_epoch, self.sents[j].max_epoch_seen
            ));
        }
        self.sents[j].core = Some(core);
        self.sents[j].inc += 1;
        let d = self.rng.range(0, 100);
        self.push(d, Ev::Tick(j));
    }

    fn step(&mut self, k: usize) {
        let s = self.steps[k].1.clone();
        if self.trace {
            self.log.push(format!("{:>7} STEP {:?}", self.now, s));
        }
        match s {
            Step::KillNode(i) => {
                self.killed.insert(i);
                self.kill_node(i)
            }
            Step::KillMasters => {
                for i in 0..self.nodes.len() {
                    if self.nodes[i].up && self.nodes[i].master.is_none() {
                        if self.trace {
                            self.log
                                .push(format!("{:>7} kill master node {}", self.now, i));
                        }
                        self.killed.insert(i);
                        self.kill_node(i);
                    }
                }
            }
            Step::RestartNode(i) => {
                let n = &mut self.nodes[i];
                n.up = true;
                n.run_id = format!("{:040x}", self.rng.next());
                n.link_up = false;
                n.link_down_since = Some(self.now);
                n.sync_ready_at = self.now + 300;
            }
            Step::KillSent(j) => self.kill_sent(j),
            Step::RestartSent(j) => self.restart_sent(j),
            Step::Partition(side) => {
                let mut g = BTreeMap::new();
                for id in side {
                    g.insert(id, 1u8);
                }
                self.groups = Some(g);
            }
            Step::Heal => self.groups = None,
            Step::ClockJump(j, d) => self.sents[j].clock += d,
            Step::Loss(p) => self.loss = p,
            Step::ManualFailover(j) => {
                let now = self.sent_now(j);
                let Some(core) = self.sents[j].core.as_mut() else {
                    return;
                };
                let next_epoch = core.g.current_epoch + 1;
                self.manual_epochs.insert(next_epoch);
                let (r, acts) = core.command(now, &[b"failover".to_vec(), b"mymaster".to_vec()]);
                if self.trace {
                    self.log.push(format!(
                        "{:>7} s{} SENTINEL FAILOVER -> {:?}",
                        self.now, j, r
                    ));
                }
                self.exec(j, acts);
            }
        }
    }

    fn run_until(&mut self, end: Ms) {
        while let Some((&(t, seq), _)) = self.queue.first_key_value() {
            if t > end {
                break;
            }
            let ev = self.queue.remove(&(t, seq)).unwrap();
            self.now = t;
            self.events += 1;
            match ev {
                Ev::Tick(j) => {
                    if self.sents[j].core.is_some() {
                        self.run_core(j, Input::Tick);
                        let d = self.rng.range(90, 110);
                        self.push(d, Ev::Tick(j));
                    }
                }
                Ev::World => {
                    self.world();
                    self.push(100, Ev::World);
                }
                Ev::Req {
                    from,
                    finc,
                    to,
                    req,
                } => self.handle_req(from, finc, to, req),
                Ev::Deliver { to, inc, input } => {
                    if self.sents[to].inc == inc && self.sents[to].core.is_some() {
                        if let Input::LinkUp { addr, link, .. } = &input {
                            // the connection may have been dropped (peer killed) while the LinkUp was in flight
                            if !self.sents[to]
                                .conns
                                .contains(&(addr.clone(), *link == Link::PubSub))
                            {
                                continue;
                            }
                        }
                        self.run_core(to, input);
                        if let Some(j) = self.restart_pending {
                            if j == to {
                                self.restart_pending = None;
                            }
                        }
                    }
                }
                Ev::Step(k) => self.step(k),
            }
            // Scenario hook: kill the leader right after it is elected / votes.
            if self.scenario == Scenario::RestartMidFailover && self.restart_pending.is_none() {
                if let Some(j) = (0..self.sents.len()).find(|&j| {
                    self.sents[j]
                        .core
                        .as_ref()
                        .is_some_and(|c| c.masters[0].fo_state >= FoState::SelectSlave)
                }) {
                    if self
                        .steps
                        .iter()
                        .all(|(_, s)| !matches!(s, Step::RestartSent(_)))
                    {
                        self.kill_sent(j);
                        let back = self.now + self.rng.range(500, 3000);
                        self.schedule(back, Step::RestartSent(j));
                    }
                }
            }
        }
        self.now = end;
    }

    fn schedule(&mut self, at: Ms, s: Step) {
        self.steps.push((at, s));
        let k = self.steps.len() - 1;
        let d = at.saturating_sub(self.now);
        self.push(d, Ev::Step(k));
    }

    /// Agreed (address, config epoch) of all live sentinels, or an error.
    fn agreement(&self) -> Result<(Addr, u64), String> {
        let mut seen: BTreeSet<(Addr, u64)> = BTreeSet::new();
        for s in &self.sents {
            if let Some(c) = &s.core {
                let p = c.persisted_state();
                seen.insert((p.masters[0].addr.clone(), p.masters[0].config_epoch));
            }
        }
        if seen.len() != 1 {
            return Err(format!("sentinels disagree: {:?}", seen));
        }
        Ok(seen.into_iter().next().unwrap())
    }
}

fn run_one(seed: u64, trace: bool) -> (Outcome, Sim) {
    let scenario = SCENARIOS[(seed % SCENARIOS.len() as u64) as usize];
    let mut sim = Sim::new(seed, scenario);
    sim.trace = trace;
    let n = sim.sents.len();
    let t0 = 10_000 + sim.rng.range(0, 2000);
    let da = sim.down_after;
    let ft = sim.ft;
    // failover expected to finish by this time after the failure (detection + one failover, plus one retry)
    let bound = da + 3000 + 3 * ft;
    let mut expect_failover_from: Option<Ms> = Some(t0);
    let mut end_fail = t0 + bound + 2000;
    let mut master_stays_down = true;
    // switches before the failure are legitimate from this time on (see MessageLoss)
    let mut early_switch_ok_from: Option<Ms> = None;
    if trace {
        sim.log.push(format!(
            "setup: {} sentinels, quorum {}, {} replicas, down-after {} ms, failover-timeout {} ms, failure at {}",
            n,
            sim.quorum,
            sim.nodes.len() - 1,
            da,
            ft,
            t0
        ));
    }
    match scenario {
        Scenario::MasterCrash => sim.schedule(t0, Step::KillNode(0)),
        Scenario::MasterCrashOneSentinelDown => {
            let j = sim.rng.range(0, n as u64 - 1) as usize;
            sim.schedule(t0 - 3000, Step::KillSent(j));
            if n == 5 {
                let k = (j + 1) % n;
                sim.schedule(t0 - 3000, Step::KillSent(k));
            }
            sim.schedule(t0, Step::KillNode(0));
        }
        Scenario::TwoSentinelsDown => {
            // a majority of sentinels down: no failover until one returns
            let down: Vec<usize> = (0..n / 2 + 1).collect();
            for &j in &down {
                sim.schedule(t0 - 3000, Step::KillSent(j));
            }
            sim.schedule(t0, Step::KillNode(0));
            // back before the replicas' links have been down for 10 x down-after (else no replica is eligible)
            let back = t0 + da + 4 * da + 2000;
            sim.no_elect_before = back;
            sim.schedule(back, Step::RestartSent(down[0]));
            expect_failover_from = Some(back);
            end_fail = back + bound + 2000;
        }
        Scenario::PartitionMasterMinority => {
            // {master, s0} | {the other sentinels, replicas}: the majority side fails over, s0 never elects.
            sim.schedule(t0, Step::Partition(vec![Id::Node(0), Id::Sent(0)]));
            sim.minority.insert(0);
            sim.minority_until = t0 + bound + 5000;
            sim.schedule(t0 + bound + 5000, Step::Heal);
            end_fail = t0 + bound + 5000;
            master_stays_down = false;
        }
        Scenario::PartitionSentinelMinority => {
            // a minority of sentinels with one replica, cut off: they see the master down but never elect
            let mut side = vec![Id::Node(1)];
            for j in 0..n / 2 {
                side.push(Id::Sent(j));
                sim.minority.insert(j);
            }
            sim.schedule(t0, Step::Partition(side));
            sim.minority_until = t0 + 30_000;
            sim.no_elect_before = t0 + 30_000;
            sim.schedule(t0 + 30_000, Step::Heal);
            expect_failover_from = None;
            end_fail = t0 + 30_000;
            master_stays_down = false;
        }
        Scenario::RestartMidFailover => {
            sim.schedule(t0, Step::KillNode(0));
            // The killed leader's attempt is lost and the next one may find no fresh replica INFO yet
            // (-failover-abort-no-good-slave); each retry waits 2 x failover-timeout in sentinel.c.
            end_fail += 2 * ft;
        }
        Scenario::ClockJump => {
            let j = sim.rng.range(0, n as u64 - 1) as usize;
            let d = if sim.rng.chance(0.5) { 5000 } else { -3000 };
            sim.schedule(t0 - 500, Step::ClockJump(j, d));
            if sim.rng.chance(0.5) {
                sim.schedule(t0, Step::KillNode(0));
            } else {
                expect_failover_from = None;
                master_stays_down = false;
            }
        }
        Scenario::OldMasterReturns => {
            sim.schedule(t0, Step::KillNode(0));
            sim.schedule(t0 + bound + 1000, Step::RestartNode(0));
            master_stays_down = false;
        }
        Scenario::MessageLoss => {
            let p = sim.rng.range(10, 30) as f64 / 100.0;
            sim.schedule(t0 - 5000, Step::Loss(p));
            // Dropped PINGs and replies can keep a live master from answering for down-after ms, so a majority
            // may legitimately fail it over before the crash (sentinel.c reacts to silence, not to crashes).
            // The crash then hits whichever node is master at t0, and a failover to a live node is still owed.
            early_switch_ok_from = Some(t0 - 5000);
            sim.schedule(t0, Step::KillMasters);
            end_fail += 3 * ft;
        }
        Scenario::Manual => {
            let j = sim.rng.range(0, n as u64 - 1) as usize;
            sim.schedule(t0, Step::ManualFailover(j));
            // sometimes the data node refuses FAILOVER TO (e.g. an older server): the core falls back to SLAVEOF
            sim.refuse_failover = sim.rng.chance(0.3);
            master_stays_down = false;
        }
        Scenario::MasterBlip => {} // below
    }
    // MasterBlip: (master comes back, kill time)
    let mut blip: Option<(bool, Ms)> = None;
    if scenario == Scenario::MasterBlip {
        sim.schedule(t0, Step::KillNode(0));
        if sim.rng.chance(0.5) {
            // Back before down-after even counting one reconnection round (1 s + a tick) it misses: the down
            // clock starts at the first unanswered PING, which at the latest is the reconnection PING.
            let back = t0 + sim.rng.range(100, da - 1500);
            sim.schedule(back, Step::RestartNode(0));
            expect_failover_from = None;
            master_stays_down = false;
            blip = Some((true, t0));
        } else {
            blip = Some((false, t0));
        }
    }
    sim.run_until(end_fail);
    match blip {
        Some((true, _)) if !sim.master_sdowns.is_empty() || !sim.switches.is_empty() => {
            sim.errors.push(format!(
                "a master back before down-after was seen down: sdowns {:?}, switches {:?}",
                sim.master_sdowns, sim.switches
            ))
        }
        Some((false, t)) => {
            // Redis counts from the first PING left unanswered: the one in flight at the kill (a few ms before)
            // or the one queued on the first reconnection (one tick after the link dropped).
            for &(at, j) in &sim.master_sdowns {
                if at + 50 < t + da || at > t + da + 500 {
                    sim.errors.push(format!(
                        "s{} saw the master down at {}, killed at {} with down-after {}",
                        j, at, t, da
                    ));
                }
            }
        }
        _ => {}
    }
    let mut out = Outcome::default();
    if let Some(from) = expect_failover_from {
        if let Some(&(t, _, _)) = sim
            .switches
            .iter()
            .find(|(t, _, _)| *t < from && early_switch_ok_from.is_none_or(|e| *t < e))
        {
            sim.errors
                .push(format!("switch at {} before failure at {}", t, from));
        }
        match sim.switches.iter().find(|(t, _, up)| *t >= from && *up) {
            Some(&(t, _, _)) => out.detect_to_switch = Some(t - from),
            None => {
                // allowed only when no replica could be promoted, or when every election held since the failure
                // was lost by votes (no candidate had a majority of the votes actually cast: two sentinels
                // started in the same instant and split them). With 3 of 5 sentinels alive every vote is needed,
                // and sentinel.c retries only after 2 x failover-timeout, so two split elections in a row leave
                // the window without a failover in Redis too. At least two elections must have happened (the
                // retry is not skipped) and the settle phase below still checks that the sentinels converge.
                let eligible = sim.nodes.iter().enumerate().any(|(i, nd)| {
                    nd.up && nd.master.is_some() && nd.priority > 0 && !sim.killed.contains(&i)
                });
                let need = (sim.sents.len() as u64 / 2 + 1).max(sim.quorum as u64);
                let elections: Vec<u64> = sim
                    .vote_times
                    .iter()
                    .filter(|(_, t)| **t >= from && **t <= end_fail)
                    .map(|(e, _)| *e)
                    .collect();
                // An election may also be won and the failover still time out because the network dropped
                // the leader's SLAVEOF NO ONE (MessageLoss): sentinel.c sends it once and then only waits in
                // WAIT_PROMOTION for failover-timeout (it relies on TCP; a command lost with its connection
                // is not resent either), so that attempt is lost too.
                let explained = elections.len() >= 2
                    && elections.iter().all(|e| {
                        let mut per: BTreeMap<&String, u64> = BTreeMap::new();
                        for c in sim.votes[e].values() {
                            *per.entry(c).or_default() += 1;
                        }
                        !sim.manual_epochs.contains(e)
                            && (per.values().all(|&v| v < need) || sim.promo_lost.contains(e))
                    });
                if eligible && explained {
                    *sim.counts
                        .entry("no-failover-votes-split-or-promotion-lost".into())
                        .or_default() += 1;
                } else if eligible {
                    sim.errors.push(format!(
                        "no failover within {} ms of the failure at {} (elections {:?})",
                        end_fail - from,
                        from,
                        elections
                    ));
                }
            }
        }
    } else if scenario == Scenario::PartitionSentinelMinority && sim.first_switch.is_some() {
        sim.errors
            .push("failover although the master was reachable by the majority".into());
    }
    // Heal everything and let things settle, then check convergence.
    sim.groups = None;
    sim.loss = 0.0;
    for j in 0..n {
        if sim.sents[j].core.is_none() {
            sim.restart_sent(j);
        }
    }
    let settle = sim.now + 2 * ft + 25_000;
    sim.run_until(settle);
    match sim.agreement() {
        Err(e) => sim.errors.push(e),
        Ok((addr, _)) => {
            let mi = sim.nodes.iter().position(|n| n.addr == addr).unwrap();
            let m = &sim.nodes[mi];
            if !m.up || m.master.is_some() {
                let live_switch = sim.switches.iter().any(|(_, _, up)| *up);
                if !(master_stays_down && sim.killed.contains(&mi) && !live_switch) {
                    sim.errors.push(format!(
                        "agreed master {} is not a live master (up={})",
                        addr, m.up
                    ));
                }
            } else {
                for (i, n) in sim.nodes.iter().enumerate() {
                    if i != mi && n.up && n.master.as_ref() != Some(&addr) {
                        sim.errors.push(format!(
                            "node {} does not replicate the agreed master {}",
                            n.addr, addr
                        ));
                    }
                }
            }
        }
    }
    out.failovers = sim.switch_epochs.len() as u64;
    out.events = sim.events;
    (out, sim)
}

#[test]
fn simulate_many_seeds() {
    let runs: u64 = std::env::var("SENTINEL_SIM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 60 } else { 2000 });
    let base: u64 = std::env::var("SENTINEL_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let start = std::time::Instant::now();
    let (mut failovers, mut det_sum, mut det_n, mut events) = (0u64, 0u64, 0u64, 0u64);
    let mut failed = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for seed in base..base + runs {
        let (o, sim) = run_one(seed, false);
        failovers += o.failovers;
        for (k, v) in &sim.counts {
            *counts.entry(k.clone()).or_default() += v;
        }
        events += o.events;
        if let Some(d) = o.detect_to_switch {
            det_sum += d;
            det_n += 1;
        }
        if !sim.errors.is_empty() {
            failed.push((seed, sim.scenario, sim.errors.clone()));
        }
    }
    println!(
        "sentinel sim: {} runs, {} failovers, mean failure->switch {} virtual ms over {} runs, {} events, {:?} wall",
        runs,
        failovers,
        det_sum.checked_div(det_n).unwrap_or(0),
        det_n,
        events,
        start.elapsed()
    );
    println!("sentinel sim event counts: {:?}", counts);
    for (seed, sc, e) in failed.iter().take(10) {
        println!("seed {} ({:?}): {:?}", seed, sc, &e[..e.len().min(3)]);
    }
    assert!(
        failed.is_empty(),
        "{} of {} runs violated invariants",
        failed.len(),
        runs
    );
}

/// `SENTINEL_SIM_TRACE=<seed> cargo test --lib sentinel::core::sim::trace_one -- --nocapture` prints one run.
#[test]
fn trace_one() {
    let Some(seed) = std::env::var("SENTINEL_SIM_TRACE")
        .ok()
        .and_then(|v| v.parse().ok())
    else {
        return;
    };
    let (o, sim) = run_one(seed, true);
    for l in &sim.log {
        println!("{}", l);
    }
    println!("{:?} {:?} errors: {:?}", sim.scenario, o, sim.errors);
}
