//! The state of one Sentinel and its reactions to inputs (Redis 7.0 `sentinel.c` is the behavioural reference).

use super::*;

type Auth = Option<(Option<String>, String)>;

pub(crate) const PING_PERIOD: u64 = 1000;
pub(crate) const INFO_PERIOD: u64 = 10_000;
/// INFO period for the replicas of a master we are failing over.
pub(crate) const FAILOVER_INFO_PERIOD: u64 = 100;
pub(crate) const PUBLISH_PERIOD: u64 = 2000;
pub(crate) const ASK_PERIOD: u64 = 1000;
pub(crate) const MIN_LINK_RECONNECT_PERIOD: u64 = 15_000;
pub(crate) const MAX_DESYNC: u64 = 1000;
pub(crate) const ELECTION_TIMEOUT: u64 = 10_000;
pub(crate) const SLAVE_RECONF_TIMEOUT: u64 = 10_000;
pub(crate) const TILT_TRIGGER: u64 = 2000;
pub(crate) const TILT_PERIOD: u64 = 30_000;
pub(crate) const DEFAULT_DOWN_AFTER: u64 = 30_000;
pub(crate) const DEFAULT_FAILOVER_TIMEOUT: u64 = 180_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Master,
    Replica,
    Sentinel,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub(crate) enum FoState {
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl FoState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FoState::None => "none",
            FoState::WaitStart => "wait_start",
            FoState::SelectSlave => "select_slave",
            FoState::SendSlaveofNoone => "send_slaveof_noone",
            FoState::WaitPromotion => "wait_promotion",
            FoState::ReconfSlaves => "reconf_slaves",
            FoState::UpdateConfig => "update_config",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reconf {
    None,
    Sent,
    InProg,
    Done,
}

/// A monitored instance: the master itself, one of its replicas, or another sentinel.
#[derive(Clone, Debug)]
pub(crate) struct Inst {
    pub kind: Kind,
    pub name: String,
    pub addr: Addr,
    pub runid: Option<String>,
    pub sdown_since: Option<Ms>,
    /// When the instance last entered SDOWN (kept after it recovers, like Redis's s_down_since_time).
    pub last_sdown: Option<Ms>,
    pub script_kill_sent: bool,
    pub last_pub: Option<Ms>,
    pub info: Option<String>,
    pub info_refresh: Option<Ms>,
    pub role_master: bool,
    pub role_reported_time: Ms,
    // replicas
    pub master_link_down_time: u64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: u16,
    pub slave_link_up: bool,
    pub priority: u32,
    pub repl_offset: u64,
    pub announced: bool,
    pub slave_conf_change_time: Ms,
    pub reconf: Reconf,
    pub reconf_sent_time: Ms,
    pub promoted: bool,
    // sentinels
    pub last_hello: Option<Ms>,
    pub leader: Option<String>,
    pub leader_epoch: u64,
    pub last_down_reply: Option<Ms>,
    pub master_down: bool,
    pub last_ask: Option<Ms>,
}

impl Inst {
    pub(crate) fn new(kind: Kind, name: String, addr: Addr, now: Ms) -> Inst {
        Inst {
            kind,
            name,
            addr,
            runid: None,
            sdown_since: None,
            last_sdown: None,
            script_kill_sent: false,
            last_pub: None,
            info: None,
            info_refresh: None,
            role_master: kind != Kind::Replica,
            role_reported_time: now,
            master_link_down_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_link_up: false,
            priority: 100,
            repl_offset: 0,
            announced: true,
            slave_conf_change_time: now,
            reconf: Reconf::None,
            reconf_sent_time: 0,
            promoted: false,
            last_hello: None,
            leader: None,
            leader_epoch: 0,
            last_down_reply: None,
            master_down: false,
            last_ask: None,
        }
    }
    fn replica(addr: Addr, now: Ms) -> Inst {
        Inst::new(Kind::Replica, addr.to_string(), addr, now)
    }
    pub(crate) fn sdown(&self) -> bool {
        self.sdown_since.is_some()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Master {
    pub inst: Inst,
    pub quorum: u32,
    pub down_after: u64,
    pub failover_timeout: u64,
    pub parallel_syncs: u32,
    pub auth_user: Option<String>,
    pub auth_pass: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    pub reboot_period: u64,
    pub renamed: Vec<(String, String)>,
    pub config_epoch: u64,
    pub leader: Option<String>,
    pub leader_epoch: u64,
    pub odown_since: Option<Ms>,
    pub replicas: Vec<Inst>,
    pub sentinels: Vec<Inst>,
    pub fo_state: FoState,
    pub fo_epoch: u64,
    pub fo_start: Option<i64>,
    pub fo_change: Ms,
    pub force: bool,
    pub coordinated: bool,
    pub promoted: Option<Addr>,
}

impl Master {
    pub(crate) fn from_setup(s: &MasterSetup, now: Ms) -> Master {
        Master {
            inst: Inst::new(Kind::Master, s.name.clone(), s.addr.clone(), now),
            quorum: s.quorum,
            down_after: s.down_after_ms,
            failover_timeout: s.failover_timeout_ms,
            parallel_syncs: s.parallel_syncs,
            auth_user: s.auth_user.clone(),
            auth_pass: s.auth_pass.clone(),
            notification_script: None,
            client_reconfig_script: None,
            reboot_period: 0,
            renamed: Vec::new(),
            config_epoch: 0,
            leader: None,
            leader_epoch: 0,
            odown_since: None,
            replicas: Vec::new(),
            sentinels: Vec::new(),
            fo_state: FoState::None,
            fo_epoch: 0,
            fo_start: None,
            fo_change: 0,
            force: false,
            coordinated: false,
            promoted: None,
        }
    }
    fn apply_persisted(&mut self, p: &PersistedMaster, now: Ms) {
        self.inst.addr = p.addr.clone();
        self.config_epoch = p.config_epoch;
        self.leader_epoch = p.leader_epoch;
        self.leader = p.leader.clone();
        for a in &p.known_replicas {
            if *a != self.inst.addr && !self.replicas.iter().any(|r| r.addr == *a) {
                self.replicas.push(Inst::replica(a.clone(), now));
            }
        }
        for (a, runid) in &p.known_sentinels {
            if !self
                .sentinels
                .iter()
                .any(|s| s.runid.as_deref() == Some(runid))
            {
                let mut s = Inst::new(Kind::Sentinel, runid.clone(), a.clone(), now);
                s.runid = Some(runid.clone());
                self.sentinels.push(s);
            }
        }
    }
    pub(crate) fn in_failover(&self) -> bool {
        self.fo_state != FoState::None
    }
    pub(crate) fn odown(&self) -> bool {
        self.odown_since.is_some()
    }
    /// The address clients should use: the promoted replica's from the reconf-slaves step on.
    pub(crate) fn current_addr(&self) -> &Addr {
        match (&self.promoted, self.fo_state >= FoState::ReconfSlaves) {
            (Some(p), true) => p,
            _ => &self.inst.addr,
        }
    }
    pub(crate) fn desc(&self) -> String {
        format!(
            "master {} {} {}",
            self.inst.name, self.inst.addr.ip, self.inst.addr.port
        )
    }
    pub(crate) fn child_desc(&self, i: &Inst) -> String {
        let t = if i.kind == Kind::Sentinel {
            "sentinel"
        } else {
            "slave"
        };
        format!(
            "{} {} {} {} @ {} {} {}",
            t,
            i.name,
            i.addr.ip,
            i.addr.port,
            self.inst.name,
            self.inst.addr.ip,
            self.inst.addr.port
        )
    }
    fn auth(&self) -> Option<(Option<String>, String)> {
        self.auth_pass
            .as_ref()
            .map(|p| (self.auth_user.clone(), p.clone()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conn {
    Down,
    Pending(Ms),
    Up(Ms),
}

impl Conn {
    pub(crate) fn up(self) -> bool {
        matches!(self, Conn::Up(_))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct LinkState {
    pub cmd: Conn,
    pub pubsub: Conn,
    pub want_pubsub: bool,
    pub down_after: u64,
    pub auth: Option<(Option<String>, String)>,
    pub refcount: usize,
    pub last_reconn: Option<Ms>,
    pub act_ping_time: Option<Ms>,
    pub last_ping_time: Option<Ms>,
    pub last_pong_time: Ms,
    pub last_avail_time: Ms,
    pub pc_last_activity: Ms,
    pub pc_activity_seen: bool,
    pub local_ip: Option<String>,
    pub last_info_sent: Option<Ms>,
}

impl LinkState {
    fn new(now: Ms) -> LinkState {
        LinkState {
            cmd: Conn::Down,
            pubsub: Conn::Down,
            want_pubsub: false,
            down_after: DEFAULT_DOWN_AFTER,
            auth: None,
            refcount: 0,
            last_reconn: None,
            act_ping_time: Some(now),
            last_ping_time: None,
            last_pong_time: now,
            last_avail_time: now,
            pc_last_activity: now,
            pc_activity_seen: false,
            local_ip: None,
            last_info_sent: None,
        }
    }
    pub(crate) fn disconnected(&self) -> bool {
        !self.cmd.up() || (self.want_pubsub && !self.pubsub.up())
    }
}

/// Everything except the masters and links, so that master processing can borrow both separately.
pub(crate) struct Globals {
    pub setup: Setup,
    pub myid: String,
    pub current_epoch: u64,
    pub tilt: bool,
    pub tilt_start: Ms,
    pub prev_tick: Option<Ms>,
    pub rng: u64,
    pub simfail: u8,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    pub out: Vec<Action>,
    pub persist: bool,
    pub now: Ms,
}

pub(crate) const SIMFAIL_ELECTION: u8 = 1;
pub(crate) const SIMFAIL_PROMOTION: u8 = 2;

impl Globals {
    pub(crate) fn rand(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn ev(&mut self, kind: &str, payload: String) {
        self.out.push(Action::Event {
            kind: kind.to_string(),
            payload,
        });
    }
    fn new_epoch(&mut self, e: u64) {
        self.current_epoch = e;
        self.persist = true;
        self.ev("+new-epoch", e.to_string());
    }
}

pub struct Sentinel {
    pub(crate) g: Globals,
    pub(crate) masters: Vec<Master>,
    pub(crate) links: BTreeMap<Addr, LinkState>,
    /// Names removed with SENTINEL REMOVE (persisted, see `PersistedState::removed`).
    pub(crate) removed: Vec<String>,
}

fn since(now: Ms, t: Ms) -> u64 {
    now.saturating_sub(t)
}

pub(crate) struct ParsedInfo {
    runid: Option<String>,
    slaves: Vec<Addr>,
    link_down_since: Option<u64>,
    role_master: Option<bool>,
    master_host: Option<String>,
    master_port: Option<u16>,
    link_up: Option<bool>,
    priority: Option<u32>,
    offset: Option<u64>,
    announced: Option<bool>,
}

pub(crate) fn parse_info(text: &str) -> ParsedInfo {
    let mut p = ParsedInfo {
        runid: None,
        slaves: Vec::new(),
        link_down_since: None,
        role_master: None,
        master_host: None,
        master_port: None,
        link_up: None,
        priority: None,
        offset: None,
        announced: None,
    };
    for line in text.split('\n') {
        let l = line.trim_end_matches('\r');
        if l.len() >= 47 && l.starts_with("run_id:") {
            p.runid = Some(l[7..47].to_string());
        } else if l.starts_with("slave") && l.as_bytes().get(5).is_some_and(|c| c.is_ascii_digit())
        {
            let Some(colon) = l.find(':') else { continue };
            if !l[5..colon].bytes().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let v = &l[colon + 1..];
            let (mut ip, mut port) = (None, None);
            if v.contains("ip=") {
                for kv in v.split(',') {
                    if let Some(x) = kv.strip_prefix("ip=") {
                        ip = Some(x.to_string());
                    } else if let Some(x) = kv.strip_prefix("port=") {
                        port = x.parse::<u16>().ok();
                    }
                }
            } else {
                let mut it = v.split(',');
                ip = it.next().map(|s| s.to_string());
                port = it.next().and_then(|s| s.parse().ok());
            }
            if let (Some(ip), Some(port)) = (ip, port) {
                p.slaves.push(Addr { ip, port });
            }
        } else if let Some(v) = l.strip_prefix("master_link_down_since_seconds:") {
            p.link_down_since = v
                .parse::<i64>()
                .ok()
                .map(|x| if x < 0 { 0 } else { x as u64 });
        } else if l == "role:master" {
            p.role_master = Some(true);
        } else if l == "role:slave" {
            p.role_master = Some(false);
        } else if let Some(v) = l.strip_prefix("master_host:") {
            p.master_host = Some(v.to_string());
        } else if let Some(v) = l.strip_prefix("master_port:") {
            p.master_port = v.parse().ok();
        } else if let Some(v) = l.strip_prefix("master_link_status:") {
            p.link_up = Some(v == "up");
        } else if let Some(v) = l.strip_prefix("slave_priority:") {
            p.priority = v.parse().ok();
        } else if let Some(v) = l.strip_prefix("slave_repl_offset:") {
            p.offset = v.parse().ok();
        } else if let Some(v) = l.strip_prefix("replica_announced:") {
            p.announced = Some(v != "0");
        }
    }
    p
}

impl Sentinel {
    pub fn new(setup: Setup, state: Option<PersistedState>, rng_seed: u64, now: Ms) -> Sentinel {
        let mut g = Globals {
            setup: setup.clone(),
            myid: String::new(),
            current_epoch: 0,
            tilt: false,
            tilt_start: 0,
            prev_tick: None,
            rng: rng_seed ^ 0x5e17_1e1d_ab5e_ed00,
            simfail: 0,
            resolve_hostnames: false,
            announce_hostnames: false,
            sentinel_user: None,
            sentinel_pass: None,
            out: Vec::new(),
            persist: false,
            now,
        };
        let mut masters: Vec<Master> = setup
            .masters
            .iter()
            .map(|m| Master::from_setup(m, now))
            .collect();
        let mut removed = Vec::new();
        match &state {
            Some(st) if !st.myid.is_empty() => {
                g.myid = st.myid.clone();
                g.current_epoch = st.current_epoch;
                removed = st.removed.clone();
                masters.retain(|m| !removed.contains(&m.inst.name));
                for p in &st.masters {
                    if let Some(m) = masters.iter_mut().find(|m| m.inst.name == p.name) {
                        m.apply_persisted(p, now);
                    } else {
                        let ms = MasterSetup {
                            name: p.name.clone(),
                            addr: p.addr.clone(),
                            quorum: p.quorum,
                            down_after_ms: p.down_after_ms,
                            failover_timeout_ms: p.failover_timeout_ms,
                            parallel_syncs: p.parallel_syncs,
                            auth_user: p.auth_user.clone(),
                            auth_pass: p.auth_pass.clone(),
                        };
                        let mut m = Master::from_setup(&ms, now);
                        m.apply_persisted(p, now);
                        masters.push(m);
                    }
                }
            }
            _ => {
                let a = g.rand();
                let b = g.rand();
                let c = g.rand();
                g.myid = format!("{:016x}{:016x}{:08x}", a, b, c as u32);
                g.persist = true;
            }
        }
        Sentinel {
            g,
            masters,
            links: BTreeMap::new(),
            removed,
        }
    }

    pub fn myid(&self) -> &str {
        &self.g.myid
    }

    pub fn tilt(&self) -> bool {
        self.g.tilt
    }

    pub fn master_names(&self) -> Vec<String> {
        self.masters.iter().map(|m| m.inst.name.clone()).collect()
    }

    pub fn persisted_state(&self) -> PersistedState {
        PersistedState {
            myid: self.g.myid.clone(),
            current_epoch: self.g.current_epoch,
            masters: self
                .masters
                .iter()
                .map(|m| {
                    let cur = m.current_addr().clone();
                    PersistedMaster {
                        name: m.inst.name.clone(),
                        addr: cur.clone(),
                        quorum: m.quorum,
                        down_after_ms: m.down_after,
                        failover_timeout_ms: m.failover_timeout,
                        parallel_syncs: m.parallel_syncs,
                        auth_user: m.auth_user.clone(),
                        auth_pass: m.auth_pass.clone(),
                        config_epoch: m.config_epoch,
                        leader_epoch: m.leader_epoch,
                        leader: m.leader.clone(),
                        known_replicas: m
                            .replicas
                            .iter()
                            .map(|r| {
                                if r.addr == cur {
                                    m.inst.addr.clone()
                                } else {
                                    r.addr.clone()
                                }
                            })
                            .collect(),
                        known_sentinels: m
                            .sentinels
                            .iter()
                            .filter(|s| s.addr.port != 0)
                            .filter_map(|s| s.runid.clone().map(|id| (s.addr.clone(), id)))
                            .collect(),
                    }
                })
                .collect(),
            removed: self.removed.clone(),
        }
    }

    pub(crate) fn finish(&mut self) -> Vec<Action> {
        if self.g.persist {
            self.g.persist = false;
            self.g.out.push(Action::Persist);
        }
        std::mem::take(&mut self.g.out)
    }

    pub fn handle(&mut self, now: Ms, input: Input) -> Vec<Action> {
        self.g.now = now;
        match input {
            Input::Tick => self.tick(),
            Input::LinkUp {
                addr,
                link,
                local_ip,
            } => {
                let Some(l) = self.links.get_mut(&addr) else {
                    self.g.out.push(Action::Disconnect { addr, link });
                    return self.finish();
                };
                match link {
                    Link::Cmd => {
                        l.cmd = Conn::Up(now);
                        l.local_ip = Some(local_ip);
                        l.last_ping_time = Some(now);
                        if l.act_ping_time.is_none() {
                            l.act_ping_time = Some(now);
                        }
                        self.g.out.push(Action::Ping { addr: addr.clone() });
                        // INFO at once only for an instance we have no INFO from
                        // yet; a reconnect keeps the INFO schedule, as in
                        // sentinelReconnectInstance (PING only). An INFO on every
                        // reconnect re-read the role right after a peer's failover
                        // killed our link (CLIENT KILL TYPE normal) and, with a
                        // role_reported_time from before our own +convert-to-slave,
                        // turned the node that peer had just promoted back into a
                        // replica.
                        let fresh = self.masters.iter().any(|m| {
                            std::iter::once(&m.inst)
                                .chain(m.replicas.iter())
                                .any(|i| i.addr == addr && i.info_refresh.is_none())
                        });
                        if l.want_pubsub && fresh {
                            l.last_info_sent = Some(now);
                            self.g.out.push(Action::Info { addr });
                        }
                    }
                    Link::PubSub => {
                        l.pubsub = Conn::Up(now);
                        l.pc_last_activity = now;
                    }
                }
            }
            Input::LinkDown { addr, link } => {
                if let Some(l) = self.links.get_mut(&addr) {
                    match link {
                        Link::Cmd => l.cmd = Conn::Down,
                        Link::PubSub => l.pubsub = Conn::Down,
                    }
                }
            }
            Input::PingReply { addr, reply } => self.ping_reply(addr, reply),
            Input::InfoReply { addr, text } => self.info_reply(&addr, &text),
            Input::Hello { msg } => self.process_hello(&msg),
            Input::HelloFrom { addr, msg } => {
                if let Some(l) = self.links.get_mut(&addr) {
                    l.pc_last_activity = now;
                    l.pc_activity_seen = true;
                }
                self.process_hello(&msg);
            }
            Input::VoteReply {
                sentinel,
                master,
                down,
                leader,
                leader_epoch,
            } => {
                if let Some(m) = self.masters.iter_mut().find(|m| m.inst.name == master) {
                    if let Some(s) = m.sentinels.iter_mut().find(|s| s.addr == sentinel) {
                        s.last_down_reply = Some(now);
                        s.master_down = down;
                        if leader != "*" {
                            s.leader = Some(leader);
                            s.leader_epoch = leader_epoch;
                        }
                    }
                }
            }
            Input::CommandFailed { addr } => {
                for m in self.masters.iter_mut() {
                    if m.fo_state == FoState::WaitPromotion && m.coordinated && m.inst.addr == addr
                    {
                        // FAILOVER TO was refused: fall back to the plain SLAVEOF NO ONE promotion.
                        m.coordinated = false;
                        let p = m.promoted.clone().unwrap();
                        if self.links.get(&p).is_some_and(|l| l.cmd.up()) {
                            self.g.out.push(Action::SlaveOf {
                                addr: p,
                                master: None,
                            });
                            m.fo_change = now;
                        } else {
                            m.fo_state = FoState::SendSlaveofNoone;
                            m.fo_change = now;
                        }
                    }
                }
            }
        }
        self.finish()
    }

    fn ping_reply(&mut self, addr: Addr, reply: PingReply) {
        let now = self.g.now;
        let Some(l) = self.links.get_mut(&addr) else {
            return;
        };
        l.last_pong_time = now;
        match reply {
            PingReply::Pong | PingReply::Loading | PingReply::MasterDown => {
                l.last_avail_time = now;
                l.act_ping_time = None;
            }
            PingReply::Busy => {
                for m in self.masters.iter_mut() {
                    let mut kill = false;
                    for i in std::iter::once(&mut m.inst).chain(m.replicas.iter_mut()) {
                        if i.addr == addr && i.sdown() && !i.script_kill_sent {
                            i.script_kill_sent = true;
                            kill = true;
                        }
                    }
                    if kill {
                        self.g.out.push(Action::ScriptKill { addr: addr.clone() });
                    }
                }
            }
            PingReply::Other(_) => {}
        }
    }

    fn info_reply(&mut self, addr: &Addr, text: &str) {
        let p = parse_info(text);
        for mi in 0..self.masters.len() {
            if self.masters[mi].inst.addr == *addr {
                refresh_info(
                    &mut self.g,
                    &self.links,
                    &mut self.masters[mi],
                    None,
                    text,
                    &p,
                );
            }
            if let Some(ri) = self.masters[mi]
                .replicas
                .iter()
                .position(|r| r.addr == *addr)
            {
                refresh_info(
                    &mut self.g,
                    &self.links,
                    &mut self.masters[mi],
                    Some(ri),
                    text,
                    &p,
                );
            }
        }
    }

    fn process_hello(&mut self, msg: &str) {
        let now = self.g.now;
        let t: Vec<&str> = msg.split(',').collect();
        if t.len() != 8 || msg.contains(self.g.myid.as_str()) {
            return;
        }
        let (Ok(port), Ok(cur_epoch), Ok(mport), Ok(mepoch)) = (
            t[1].parse::<u16>(),
            t[3].parse::<u64>(),
            t[6].parse::<u16>(),
            t[7].parse::<u64>(),
        ) else {
            return;
        };
        let Some(m) = self.masters.iter_mut().find(|m| m.inst.name == t[4]) else {
            return;
        };
        let g = &mut self.g;
        let saddr = Addr::new(t[0], port);
        let runid = t[2];
        let mut si = m
            .sentinels
            .iter()
            .position(|s| s.addr == saddr && s.runid.as_deref() == Some(runid));
        if si.is_none() {
            let before = m.sentinels.len();
            m.sentinels.retain(|s| s.runid.as_deref() != Some(runid));
            let removed = m.sentinels.len() != before;
            if removed {
                g.ev(
                    "+sentinel-address-switch",
                    format!("{} ip {} port {} for {}", m.desc(), t[0], port, runid),
                );
            } else if let Some(oi) = m.sentinels.iter().position(|s| s.addr == saddr) {
                let d = m.child_desc(&m.sentinels[oi]);
                g.ev("+sentinel-invalid-addr", d);
                m.sentinels[oi].addr.port = 0;
            }
            let mut s = Inst::new(Kind::Sentinel, runid.to_string(), saddr, now);
            s.runid = Some(runid.to_string());
            m.sentinels.push(s);
            let idx = m.sentinels.len() - 1;
            if !removed {
                let d = m.child_desc(&m.sentinels[idx]);
                g.ev("+sentinel", d);
            }
            g.persist = true;
            si = Some(idx);
        }
        if cur_epoch > g.current_epoch {
            g.new_epoch(cur_epoch);
        }
        let si = si.unwrap();
        if m.config_epoch < mepoch {
            m.config_epoch = mepoch;
            g.persist = true;
            let new = Addr::new(t[5], mport);
            if new != m.inst.addr {
                let d = m.child_desc(&m.sentinels[si]);
                g.ev("+config-update-from", d);
                g.ev(
                    "+switch-master",
                    format!(
                        "{} {} {} {} {}",
                        m.inst.name, m.inst.addr.ip, m.inst.addr.port, new.ip, new.port
                    ),
                );
                reset_and_change_address(g, m, new.clone());
                reset_link(g, &mut self.links, &new, false);
            }
        }
        if let Some(s) = m
            .sentinels
            .iter_mut()
            .find(|s| s.runid.as_deref() == Some(runid))
        {
            s.last_hello = Some(now);
        }
    }

    fn tick(&mut self) {
        let now = self.g.now;
        if let Some(prev) = self.g.prev_tick {
            if now < prev || now - prev > TILT_TRIGGER {
                self.g.tilt = true;
                self.g.tilt_start = now;
                self.g.ev("+tilt", "#tilt mode entered".into());
            }
        }
        self.g.prev_tick = Some(now);
        self.sync_links();
        self.link_periodic();
        for m in self.masters.iter_mut() {
            periodic(&mut self.g, &mut self.links, m);
        }
        if self.g.tilt {
            if since(now, self.g.tilt_start) < TILT_PERIOD {
                return;
            }
            self.g.tilt = false;
            self.g.ev("-tilt", "#tilt mode exited".into());
        }
        for m in self.masters.iter_mut() {
            let g = &mut self.g;
            check_sdown(g, &self.links, m, None);
            for i in 0..m.replicas.len() {
                check_sdown(g, &self.links, m, Some((Kind::Replica, i)));
            }
            for i in 0..m.sentinels.len() {
                check_sdown(g, &self.links, m, Some((Kind::Sentinel, i)));
            }
            check_odown(g, m);
            if start_failover_if_needed(g, m) {
                ask_others(g, &self.links, m, true);
            }
            failover_sm(g, &self.links, m);
            ask_others(g, &self.links, m, false);
        }
        for m in self.masters.iter_mut() {
            if m.fo_state == FoState::UpdateConfig {
                let new = m.promoted.clone().unwrap();
                self.g.ev(
                    "+switch-master",
                    format!(
                        "{} {} {} {} {}",
                        m.inst.name, m.inst.addr.ip, m.inst.addr.port, new.ip, new.port
                    ),
                );
                reset_and_change_address(&mut self.g, m, new.clone());
                reset_link(&mut self.g, &mut self.links, &new, false);
            }
        }
    }

    /// Create link records for every address we must talk to, drop unused ones, and (re)connect.
    pub(crate) fn sync_links(&mut self) {
        let now = self.g.now;
        let mut want: BTreeMap<Addr, (bool, u64, Auth, usize)> = BTreeMap::new();
        let sauth = self
            .g
            .sentinel_pass
            .as_ref()
            .map(|p| (self.g.sentinel_user.clone(), p.clone()));
        for m in &self.masters {
            for i in std::iter::once(&m.inst).chain(m.replicas.iter()) {
                let e = want
                    .entry(i.addr.clone())
                    .or_insert((true, m.down_after, m.auth(), 0));
                e.0 = true;
                e.1 = e.1.min(m.down_after);
                e.3 += 1;
            }
            for s in m.sentinels.iter().filter(|s| s.addr.port != 0) {
                let e =
                    want.entry(s.addr.clone())
                        .or_insert((false, m.down_after, sauth.clone(), 0));
                e.1 = e.1.min(m.down_after);
                e.3 += 1;
            }
        }
        let gone: Vec<Addr> = self
            .links
            .keys()
            .filter(|a| !want.contains_key(*a))
            .cloned()
            .collect();
        for a in gone {
            let l = self.links.remove(&a).unwrap();
            if l.cmd != Conn::Down {
                self.g.out.push(Action::Disconnect {
                    addr: a.clone(),
                    link: Link::Cmd,
                });
            }
            if l.pubsub != Conn::Down {
                self.g.out.push(Action::Disconnect {
                    addr: a,
                    link: Link::PubSub,
                });
            }
        }
        for (a, (ps, da, auth, rc)) in want {
            let l = self
                .links
                .entry(a.clone())
                .or_insert_with(|| LinkState::new(now));
            if l.want_pubsub && !ps && l.pubsub != Conn::Down {
                self.g.out.push(Action::Disconnect {
                    addr: a.clone(),
                    link: Link::PubSub,
                });
                l.pubsub = Conn::Down;
            }
            l.want_pubsub = ps;
            l.down_after = da;
            l.auth = auth;
            l.refcount = rc;
            for c in [&mut l.cmd, &mut l.pubsub] {
                if let Conn::Pending(t) = *c {
                    if since(now, t) > 10_000 {
                        *c = Conn::Down;
                    }
                }
            }
            if l.last_reconn.is_some_and(|t| since(now, t) < PING_PERIOD) {
                continue;
            }
            let mut sent = false;
            if l.cmd == Conn::Down {
                l.cmd = Conn::Pending(now);
                self.g.out.push(Action::Connect {
                    addr: a.clone(),
                    link: Link::Cmd,
                    auth: l.auth.clone(),
                });
                sent = true;
            }
            if l.want_pubsub && l.pubsub == Conn::Down {
                l.pubsub = Conn::Pending(now);
                self.g.out.push(Action::Connect {
                    addr: a.clone(),
                    link: Link::PubSub,
                    auth: l.auth.clone(),
                });
                sent = true;
            }
            if sent {
                l.last_reconn = Some(now);
            }
        }
    }

    fn link_periodic(&mut self) {
        let now = self.g.now;
        for (a, l) in self.links.iter_mut() {
            // Reconnection rules of sentinelCheckSubjectivelyDown.
            if let Conn::Up(t) = l.cmd {
                if since(now, t) >= MIN_LINK_RECONNECT_PERIOD
                    && l.act_ping_time
                        .is_some_and(|p| since(now, p) > l.down_after / 2)
                    && since(now, l.last_pong_time) > l.down_after / 2
                {
                    l.cmd = Conn::Down;
                    self.g.out.push(Action::Disconnect {
                        addr: a.clone(),
                        link: Link::Cmd,
                    });
                }
            }
            if let Conn::Up(t) = l.pubsub {
                if l.pc_activity_seen
                    && since(now, t) >= MIN_LINK_RECONNECT_PERIOD
                    && since(now, l.pc_last_activity) > PUBLISH_PERIOD * 3
                {
                    l.pubsub = Conn::Down;
                    self.g.out.push(Action::Disconnect {
                        addr: a.clone(),
                        link: Link::PubSub,
                    });
                }
            }
            if l.cmd.up() {
                let pp = PING_PERIOD.min(l.down_after);
                if since(now, l.last_pong_time) > pp
                    && l.last_ping_time.is_none_or(|t| since(now, t) > pp / 2)
                {
                    l.last_ping_time = Some(now);
                    if l.act_ping_time.is_none() {
                        l.act_ping_time = Some(now);
                    }
                    self.g.out.push(Action::Ping { addr: a.clone() });
                }
            }
        }
    }
}

/// INFO and hello schedule of one master and its replicas and sentinels.
fn periodic(g: &mut Globals, links: &mut BTreeMap<Addr, LinkState>, m: &mut Master) {
    let now = g.now;
    let fast = m.odown() || m.in_failover();
    let n = 1 + m.replicas.len() + m.sentinels.len();
    for k in 0..n {
        let i = if k == 0 {
            &m.inst
        } else if k <= m.replicas.len() {
            &m.replicas[k - 1]
        } else {
            &m.sentinels[k - 1 - m.replicas.len()]
        };
        let Some(l) = links.get_mut(&i.addr) else {
            continue;
        };
        if l.disconnected() {
            continue;
        }
        if i.kind != Kind::Sentinel {
            // While we lead a failover, the promotion and the replicas'
            // reconfiguration are observed through INFO: polling them every
            // 100 ms instead of Redis's 1 s is what makes our failover finish
            // sooner after the vote (the steps themselves are unchanged).
            let period = if i.kind == Kind::Replica && m.in_failover() {
                FAILOVER_INFO_PERIOD
            } else if i.kind == Kind::Replica && (fast || i.master_link_down_time > 0) {
                PING_PERIOD
            } else {
                INFO_PERIOD
            };
            if i.info_refresh.is_none_or(|t| since(now, t) > period)
                && l.last_info_sent
                    .is_none_or(|t| since(now, t) >= period.min(PING_PERIOD))
            {
                l.last_info_sent = Some(now);
                g.out.push(Action::Info {
                    addr: i.addr.clone(),
                });
            }
        }
        if i.last_pub.is_none_or(|t| since(now, t) > PUBLISH_PERIOD) {
            let ip = match (&g.setup.announce_ip, &l.local_ip) {
                (Some(ip), _) => ip.clone(),
                (None, Some(ip)) => ip.clone(),
                _ => continue,
            };
            let port = g
                .setup
                .announce_port
                .filter(|p| *p != 0)
                .unwrap_or(g.setup.port);
            let ma = m.current_addr();
            let msg = format!(
                "{},{},{},{},{},{},{},{}",
                ip, port, g.myid, g.current_epoch, m.inst.name, ma.ip, ma.port, m.config_epoch
            );
            g.out.push(Action::PublishHello {
                addr: i.addr.clone(),
                msg,
            });
            let i = if k == 0 {
                &mut m.inst
            } else if k <= m.replicas.len() {
                &mut m.replicas[k - 1]
            } else {
                let r = m.replicas.len();
                &mut m.sentinels[k - 1 - r]
            };
            i.last_pub = Some(now);
        }
    }
}

fn check_sdown(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    m: &mut Master,
    which: Option<(Kind, usize)>,
) {
    let now = g.now;
    let down_after = m.down_after;
    let i = match which {
        None => &m.inst,
        Some((Kind::Replica, x)) => &m.replicas[x],
        Some((_, x)) => &m.sentinels[x],
    };
    let Some(l) = links.get(&i.addr) else { return };
    let elapsed = if let Some(a) = l.act_ping_time {
        since(now, a)
    } else if l.disconnected() {
        since(now, l.last_avail_time)
    } else {
        0
    };
    let down = elapsed > down_after
        || (i.kind == Kind::Master
            && !i.role_master
            && since(now, i.role_reported_time) > down_after + 2 * INFO_PERIOD);
    let desc = if which.is_none() {
        m.desc()
    } else {
        m.child_desc(i)
    };
    let i = match which {
        None => &mut m.inst,
        Some((Kind::Replica, x)) => &mut m.replicas[x],
        Some((_, x)) => &mut m.sentinels[x],
    };
    if down && i.sdown_since.is_none() {
        g.ev("+sdown", desc);
        i.sdown_since = Some(now);
        i.last_sdown = Some(now);
    } else if !down && i.sdown_since.is_some() {
        g.ev("-sdown", desc);
        i.sdown_since = None;
        i.script_kill_sent = false;
    }
}

fn check_odown(g: &mut Globals, m: &mut Master) {
    let mut q = 0u32;
    let mut odown = false;
    if m.inst.sdown() {
        q = 1 + m.sentinels.iter().filter(|s| s.master_down).count() as u32;
        odown = q >= m.quorum;
    }
    if odown && m.odown_since.is_none() {
        g.ev("+odown", format!("{} #quorum {}/{}", m.desc(), q, m.quorum));
        m.odown_since = Some(g.now);
    } else if !odown && m.odown_since.is_some() {
        g.ev("-odown", m.desc());
        m.odown_since = None;
    }
}

pub(crate) fn start_failover(g: &mut Globals, m: &mut Master) {
    m.fo_state = FoState::WaitStart;
    let e = g.current_epoch + 1;
    g.new_epoch(e);
    m.fo_epoch = e;
    g.ev("+try-failover", m.desc());
    let r = g.rand() % MAX_DESYNC;
    m.fo_start = Some((g.now + r) as i64);
    m.fo_change = g.now;
}

fn start_failover_if_needed(g: &mut Globals, m: &mut Master) -> bool {
    if !m.odown() || m.in_failover() {
        return false;
    }
    if let Some(t) = m.fo_start {
        if (g.now as i64) - t < 2 * m.failover_timeout as i64 {
            return false;
        }
    }
    start_failover(g, m);
    true
}

fn ask_others(g: &mut Globals, links: &BTreeMap<Addr, LinkState>, m: &mut Master, forced: bool) {
    let now = g.now;
    let sdown = m.inst.sdown();
    let runid = if m.in_failover() {
        Some(g.myid.clone())
    } else {
        None
    };
    for s in m.sentinels.iter_mut() {
        if s.last_down_reply
            .is_none_or(|t| since(now, t) > ASK_PERIOD * 5)
        {
            s.master_down = false;
            s.leader = None;
        }
        if !sdown || s.addr.port == 0 {
            continue;
        }
        if !links.get(&s.addr).is_some_and(|l| l.cmd.up()) {
            continue;
        }
        if !forced
            && (s
                .last_down_reply
                .is_some_and(|t| since(now, t) < ASK_PERIOD)
                || s.last_ask.is_some_and(|t| since(now, t) < ASK_PERIOD))
        {
            continue;
        }
        s.last_ask = Some(now);
        g.out.push(Action::AskVote {
            sentinel: s.addr.clone(),
            master: m.inst.name.clone(),
            master_addr: m.inst.addr.clone(),
            epoch: g.current_epoch,
            runid: runid.clone(),
        });
    }
}

/// sentinelVoteLeader: returns the recorded leader and its epoch.
pub(crate) fn vote_leader(
    g: &mut Globals,
    m: &mut Master,
    req_epoch: u64,
    req_runid: &str,
) -> (Option<String>, u64) {
    if req_epoch > g.current_epoch {
        g.new_epoch(req_epoch);
    }
    if m.leader_epoch < req_epoch && g.current_epoch <= req_epoch {
        m.leader = Some(req_runid.to_string());
        m.leader_epoch = g.current_epoch;
        g.persist = true;
        g.ev(
            "+vote-for-leader",
            format!("{} {}", req_runid, m.leader_epoch),
        );
        if !req_runid.eq_ignore_ascii_case(&g.myid) {
            let r = g.rand() % MAX_DESYNC;
            m.fo_start = Some((g.now + r) as i64);
        }
    }
    (m.leader.clone(), m.leader_epoch)
}

fn get_leader(g: &mut Globals, m: &mut Master, epoch: u64) -> Option<String> {
    let voters = m.sentinels.len() as u64 + 1;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in &m.sentinels {
        if let Some(l) = &s.leader {
            if s.leader_epoch == g.current_epoch {
                *counts.entry(l.clone()).or_default() += 1;
            }
        }
    }
    let mut winner: Option<String> = None;
    let mut max = 0;
    for (k, v) in &counts {
        if *v > max {
            max = *v;
            winner = Some(k.clone());
        }
    }
    let candidate = winner.clone().unwrap_or_else(|| g.myid.clone());
    let (myvote, le) = vote_leader(g, m, epoch, &candidate);
    if let Some(v) = myvote {
        if le == epoch {
            let c = counts.entry(v.clone()).or_default();
            *c += 1;
            if *c > max {
                max = *c;
                winner = Some(v);
            }
        }
    }
    let need = voters / 2 + 1;
    if winner.is_some() && (max < need || max < m.quorum as u64) {
        winner = None;
    }
    winner
}

pub(crate) fn abort_failover(g: &mut Globals, m: &mut Master) {
    m.fo_state = FoState::None;
    m.force = false;
    m.coordinated = false;
    m.fo_change = g.now;
    if let Some(p) = m.promoted.take() {
        if let Some(r) = m.replicas.iter_mut().find(|r| r.addr == p) {
            r.promoted = false;
        }
    }
}

pub(crate) fn select_slave(
    g: &Globals,
    links: &BTreeMap<Addr, LinkState>,
    m: &Master,
) -> Option<usize> {
    let now = g.now;
    let mut max_down = 0u64;
    if let Some(t) = m.inst.sdown_since {
        max_down += since(now, t);
    }
    max_down += m.down_after * 10;
    let mut cands: Vec<usize> = Vec::new();
    for (idx, r) in m.replicas.iter().enumerate() {
        if r.sdown() {
            continue;
        }
        let Some(l) = links.get(&r.addr) else {
            continue;
        };
        if l.disconnected() || since(now, l.last_avail_time) > PING_PERIOD * 5 || r.priority == 0 {
            continue;
        }
        let validity = if m.inst.sdown() {
            PING_PERIOD * 5
        } else {
            INFO_PERIOD * 3
        };
        if r.info_refresh.is_none_or(|t| since(now, t) > validity) {
            continue;
        }
        if r.master_link_down_time > max_down {
            continue;
        }
        cands.push(idx);
    }
    cands.sort_by(|a, b| {
        let (a, b) = (&m.replicas[*a], &m.replicas[*b]);
        a.priority
            .cmp(&b.priority)
            .then(b.repl_offset.cmp(&a.repl_offset))
            .then_with(|| match (&a.runid, &b.runid) {
                (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
    });
    cands.first().copied()
}

fn send_slaveof(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    addr: &Addr,
    to: Option<Addr>,
) -> bool {
    if !links.get(addr).is_some_and(|l| l.cmd.up()) {
        return false;
    }
    g.out.push(Action::SlaveOf {
        addr: addr.clone(),
        master: to,
    });
    true
}

fn failover_sm(g: &mut Globals, links: &BTreeMap<Addr, LinkState>, m: &mut Master) {
    let now = g.now;
    match m.fo_state {
        FoState::None | FoState::UpdateConfig => {}
        FoState::WaitStart => {
            let leader = get_leader(g, m, m.fo_epoch);
            let is_leader = leader
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&g.myid));
            if !is_leader && !m.force {
                let et = ELECTION_TIMEOUT.min(m.failover_timeout) as i64;
                if now as i64 - m.fo_start.unwrap_or(0) > et {
                    g.ev("-failover-abort-not-elected", m.desc());
                    abort_failover(g, m);
                }
                return;
            }
            g.ev("+elected-leader", m.desc());
            if g.simfail & SIMFAIL_ELECTION != 0 {
                g.out.push(Action::Crash);
            }
            m.fo_state = FoState::SelectSlave;
            m.fo_change = now;
            g.ev("+failover-state-select-slave", m.desc());
        }
        FoState::SelectSlave => match select_slave(g, links, m) {
            None => {
                g.ev("-failover-abort-no-good-slave", m.desc());
                abort_failover(g, m);
            }
            Some(i) => {
                let d = m.child_desc(&m.replicas[i]);
                g.ev("+selected-slave", d.clone());
                m.replicas[i].promoted = true;
                m.promoted = Some(m.replicas[i].addr.clone());
                m.fo_state = FoState::SendSlaveofNoone;
                m.fo_change = now;
                g.ev("+failover-state-send-slaveof-noone", d);
            }
        },
        FoState::SendSlaveofNoone => {
            let p = m.promoted.clone().unwrap();
            if links.get(&p).is_none_or(|l| l.disconnected()) {
                if since(now, m.fo_change) > m.failover_timeout {
                    g.ev("-failover-abort-slave-timeout", m.desc());
                    abort_failover(g, m);
                }
                return;
            }
            let master_ok = !m.inst.sdown() && links.get(&m.inst.addr).is_some_and(|l| l.cmd.up());
            if m.force && master_ok && !m.coordinated {
                m.coordinated = true;
                g.out.push(Action::CoordinatedFailover {
                    master: m.inst.addr.clone(),
                    to: p.clone(),
                    timeout_ms: ELECTION_TIMEOUT.min(m.failover_timeout),
                });
            } else {
                m.coordinated = false;
                if !send_slaveof(g, links, &p, None) {
                    return;
                }
            }
            let i = m.replicas.iter().position(|r| r.addr == p).unwrap();
            let d = m.child_desc(&m.replicas[i]);
            g.ev("+failover-state-wait-promotion", d);
            m.fo_state = FoState::WaitPromotion;
            m.fo_change = now;
        }
        FoState::WaitPromotion => {
            if since(now, m.fo_change) > m.failover_timeout {
                g.ev("-failover-abort-slave-timeout", m.desc());
                abort_failover(g, m);
            }
        }
        FoState::ReconfSlaves => reconf_next(g, links, m),
    }
}

fn reconf_next(g: &mut Globals, links: &BTreeMap<Addr, LinkState>, m: &mut Master) {
    let now = g.now;
    let promoted = m.promoted.clone().unwrap();
    for i in 0..m.replicas.len() {
        let r = &m.replicas[i];
        if r.reconf == Reconf::Sent && since(now, r.reconf_sent_time) > SLAVE_RECONF_TIMEOUT {
            let d = m.child_desc(r);
            g.ev("-slave-reconf-sent-timeout", d);
            m.replicas[i].reconf = Reconf::Done;
        }
    }
    let mut in_progress = m
        .replicas
        .iter()
        .filter(|r| matches!(r.reconf, Reconf::Sent | Reconf::InProg))
        .count() as u32;
    for i in 0..m.replicas.len() {
        if in_progress >= m.parallel_syncs {
            break;
        }
        let r = &m.replicas[i];
        if r.promoted || r.reconf != Reconf::None {
            continue;
        }
        if links.get(&r.addr).is_none_or(|l| l.disconnected()) {
            continue;
        }
        let a = r.addr.clone();
        if send_slaveof(g, links, &a, Some(promoted.clone())) {
            m.replicas[i].reconf = Reconf::Sent;
            m.replicas[i].reconf_sent_time = now;
            let d = m.child_desc(&m.replicas[i]);
            g.ev("+slave-reconf-sent", d);
            in_progress += 1;
        }
    }
    // sentinelFailoverDetectEnd
    let Some(pi) = m.replicas.iter().position(|r| r.addr == promoted) else {
        return;
    };
    if m.replicas[pi].sdown() {
        return;
    }
    let mut not_reconf = m
        .replicas
        .iter()
        .filter(|r| !r.promoted && r.reconf != Reconf::Done && !r.sdown())
        .count();
    let mut timeout = false;
    if since(now, m.fo_change) > m.failover_timeout {
        not_reconf = 0;
        timeout = true;
        g.ev("+failover-end-for-timeout", m.desc());
    }
    if not_reconf == 0 {
        g.ev("+failover-end", m.desc());
        m.fo_state = FoState::UpdateConfig;
        m.fo_change = now;
    }
    if timeout {
        for i in 0..m.replicas.len() {
            let r = &m.replicas[i];
            if r.promoted || r.reconf != Reconf::None {
                continue;
            }
            let a = r.addr.clone();
            if links.get(&a).is_some_and(|l| !l.disconnected())
                && send_slaveof(g, links, &a, Some(promoted.clone()))
            {
                m.replicas[i].reconf = Reconf::Sent;
                let d = m.child_desc(&m.replicas[i]);
                g.ev("+slave-reconf-sent-be", d);
            }
        }
    }
}

/// sentinelResetMaster: forget replicas (and sentinels unless `keep_sentinels`), clear flags and failover state.
pub(crate) fn reset_master(g: &mut Globals, m: &mut Master, keep_sentinels: bool, event: bool) {
    let now = g.now;
    m.replicas.clear();
    if !keep_sentinels {
        m.sentinels.clear();
    }
    // Down reports and votes the other sentinels gave about the previous master must not count for the new one
    // (Redis keeps them for up to 5 s, which can put a fresh master into ODOWN on stale replies).
    for s in m.sentinels.iter_mut() {
        s.master_down = false;
        s.leader = None;
        s.last_down_reply = None;
    }
    m.inst.sdown_since = None;
    m.inst.script_kill_sent = false;
    m.odown_since = None;
    m.force = false;
    m.coordinated = false;
    m.fo_state = FoState::None;
    m.fo_change = 0;
    m.fo_start = None;
    m.promoted = None;
    m.leader = None;
    m.inst.runid = None;
    m.inst.role_master = true;
    m.inst.role_reported_time = now;
    m.inst.info = None;
    m.inst.info_refresh = None;
    m.inst.slave_conf_change_time = 0;
    if event {
        g.ev("+reset-master", m.desc());
    }
}

/// The master's link after a reset: timers restart from now (and, for SENTINEL RESET, the connections are closed).
pub(crate) fn reset_link(
    g: &mut Globals,
    links: &mut BTreeMap<Addr, LinkState>,
    addr: &Addr,
    close: bool,
) {
    let now = g.now;
    let Some(l) = links.get_mut(addr) else { return };
    l.act_ping_time = Some(now);
    l.last_ping_time = None;
    l.last_avail_time = now;
    l.last_pong_time = now;
    if close {
        for (c, link) in [(&mut l.cmd, Link::Cmd), (&mut l.pubsub, Link::PubSub)] {
            if *c != Conn::Down {
                *c = Conn::Down;
                g.out.push(Action::Disconnect {
                    addr: addr.clone(),
                    link,
                });
            }
        }
    } else if l.cmd.up() {
        // Redis reconnects the master link and pings at once; we keep the connection and ping now.
        l.last_ping_time = Some(now);
        g.out.push(Action::Ping { addr: addr.clone() });
    }
}

pub(crate) fn reset_and_change_address(g: &mut Globals, m: &mut Master, new: Addr) {
    let now = g.now;
    let mut slaves: Vec<Addr> = m
        .replicas
        .iter()
        .filter(|r| r.addr != new)
        .map(|r| r.addr.clone())
        .collect();
    if m.inst.addr != new && !slaves.contains(&m.inst.addr) {
        slaves.push(m.inst.addr.clone());
    }
    reset_master(g, m, true, false);
    m.inst.addr = new;
    for a in slaves {
        m.replicas.push(Inst::replica(a, now));
        let d = m.child_desc(m.replicas.last().unwrap());
        g.ev("+slave", d);
    }
    g.persist = true;
}

fn looks_sane(now: Ms, m: &Master) -> bool {
    m.inst.role_master
        && !m.inst.sdown()
        && !m.odown()
        && m.inst
            .info_refresh
            .is_some_and(|t| since(now, t) < INFO_PERIOD * 2)
}

fn no_down_for(now: Ms, i: &Inst, ms: u64) -> bool {
    i.last_sdown.is_none_or(|t| since(now, t) > ms)
}

fn refresh_info(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    m: &mut Master,
    which: Option<usize>,
    text: &str,
    p: &ParsedInfo,
) {
    let now = g.now;
    {
        let i = match which {
            None => &m.inst,
            Some(x) => &m.replicas[x],
        };
        let desc = if which.is_none() {
            m.desc()
        } else {
            m.child_desc(i)
        };
        let i = match which {
            None => &mut m.inst,
            Some(x) => &mut m.replicas[x],
        };
        i.info = Some(text.to_string());
        i.info_refresh = Some(now);
        if let Some(r) = &p.runid {
            if i.runid.as_ref() != Some(r) {
                if i.runid.is_some() {
                    g.ev("+reboot", desc.clone());
                }
                i.runid = Some(r.clone());
            }
        }
        i.master_link_down_time = p.link_down_since.map(|s| s * 1000).unwrap_or(0);
        if let Some(rm) = p.role_master {
            if rm != i.role_master {
                i.role_master = rm;
                i.role_reported_time = now;
                if !rm {
                    i.slave_conf_change_time = now;
                }
                let agrees = (i.kind == Kind::Master) == rm;
                g.ev(
                    if agrees {
                        "+role-change"
                    } else {
                        "-role-change"
                    },
                    format!(
                        "{} new reported role is {}",
                        desc,
                        if rm { "master" } else { "slave" }
                    ),
                );
            }
        }
        if p.role_master == Some(false) {
            if p.master_host.is_some() && (i.slave_master_host != p.master_host) {
                i.slave_master_host = p.master_host.clone();
                i.slave_conf_change_time = now;
            }
            if let Some(port) = p.master_port {
                if port != i.slave_master_port {
                    i.slave_master_port = port;
                    i.slave_conf_change_time = now;
                }
            }
            i.slave_link_up = p.link_up.unwrap_or(false);
            if let Some(x) = p.priority {
                i.priority = x;
            }
            if let Some(x) = p.offset {
                i.repl_offset = x;
            }
            if let Some(x) = p.announced {
                i.announced = x;
            }
        }
    }
    if which.is_none() && p.role_master == Some(true) {
        for a in &p.slaves {
            if *a != m.inst.addr && !m.replicas.iter().any(|r| r.addr == *a) {
                m.replicas.push(Inst::replica(a.clone(), now));
                let d = m.child_desc(m.replicas.last().unwrap());
                g.ev("+slave", d);
                g.persist = true;
            }
        }
    }
    if g.tilt {
        return;
    }
    let Some(x) = which else { return };
    let r = &m.replicas[x];
    let rm = r.role_master;
    if rm {
        if r.promoted && m.fo_state == FoState::WaitPromotion {
            m.config_epoch = m.fo_epoch;
            m.fo_state = FoState::ReconfSlaves;
            m.fo_change = now;
            m.coordinated = false;
            g.persist = true;
            let d = m.child_desc(&m.replicas[x]);
            g.ev("+promoted-slave", d);
            if g.simfail & SIMFAIL_PROMOTION != 0 {
                g.out.push(Action::Crash);
            }
            g.ev("+failover-state-reconf-slaves", m.desc());
            m.inst.last_pub = None;
            for i in m.replicas.iter_mut().chain(m.sentinels.iter_mut()) {
                i.last_pub = None;
            }
        } else if !r.promoted
            && looks_sane(now, m)
            && no_down_for(now, r, PUBLISH_PERIOD * 4)
            && since(now, r.role_reported_time) > PUBLISH_PERIOD * 4
        {
            let a = r.addr.clone();
            let d = m.child_desc(r);
            if send_slaveof(g, links, &a, Some(m.inst.addr.clone())) {
                g.ev("+convert-to-slave", d);
            }
        }
        return;
    }
    // A replica pointing at the wrong master.
    let wrong = r.slave_master_port != m.inst.addr.port
        || !r
            .slave_master_host
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&m.inst.addr.ip));
    if wrong
        && !m.in_failover()
        && looks_sane(now, m)
        && no_down_for(now, r, m.failover_timeout)
        && since(now, r.slave_conf_change_time) > m.failover_timeout
    {
        let a = r.addr.clone();
        let d = m.child_desc(r);
        if send_slaveof(g, links, &a, Some(m.inst.addr.clone())) {
            g.ev("+fix-slave-config", d);
        }
    }
    if matches!(r.reconf, Reconf::Sent | Reconf::InProg) {
        if let Some(pa) = m.promoted.clone() {
            let r = &mut m.replicas[x];
            if r.reconf == Reconf::Sent
                && r.slave_master_host.as_deref() == Some(pa.ip.as_str())
                && r.slave_master_port == pa.port
            {
                r.reconf = Reconf::InProg;
                let d = m.child_desc(&m.replicas[x]);
                g.ev("+slave-reconf-inprog", d);
            }
            let r = &mut m.replicas[x];
            if r.reconf == Reconf::InProg && r.slave_link_up {
                r.reconf = Reconf::Done;
                let d = m.child_desc(&m.replicas[x]);
                g.ev("+slave-reconf-done", d);
            }
        }
    }
}
