//! The monitored instances (a master, its replicas, the other sentinels) and the failure detector over them:
//! subjective down (no valid PING reply for down-after-milliseconds, counted from the first unanswered PING)
//! and objective down (SDOWN plus enough other sentinels saying so). Also the resets that forget a master's
//! replicas and sentinels (SENTINEL RESET, a switch of address).

use super::state::*;
use super::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Master,
    Replica,
    Sentinel,
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
    pub(crate) fn replica(addr: Addr, now: Ms) -> Inst {
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
    pub(crate) fn apply_persisted(&mut self, p: &PersistedMaster, now: Ms) {
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
    pub(crate) fn auth(&self) -> Option<(Option<String>, String)> {
        self.auth_pass
            .as_ref()
            .map(|p| (self.auth_user.clone(), p.clone()))
    }
}

pub(crate) fn check_sdown(
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

pub(crate) fn check_odown(g: &mut Globals, m: &mut Master) {
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

pub(crate) fn reset_and_change_address(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    m: &mut Master,
    new: Addr,
) {
    let now = g.now;
    // The new master leaves the replica list even when it is known there by
    // another spelling (a host name vs the IP a hello carried), as
    // sentinelResetMasterAndChangeAddress compares resolved addresses;
    // otherwise the master would be told to replicate from itself.
    let mut slaves: Vec<Addr> = m
        .replicas
        .iter()
        .filter(|r| !same_endpoint(links, &r.addr, &new))
        .map(|r| r.addr.clone())
        .collect();
    if !same_endpoint(links, &m.inst.addr, &new) && !slaves.contains(&m.inst.addr) {
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

pub(crate) fn looks_sane(now: Ms, m: &Master) -> bool {
    m.inst.role_master
        && !m.inst.sdown()
        && !m.odown()
        && m.inst
            .info_refresh
            .is_some_and(|t| since(now, t) < INFO_PERIOD * 2)
}

pub(crate) fn no_down_for(now: Ms, i: &Inst, ms: u64) -> bool {
    i.last_sdown.is_none_or(|t| since(now, t) > ms)
}

/// Are `a` and `b` one instance: the same address, or the same port on a
/// host whose name one of them resolved to the other's IP?
pub(crate) fn same_endpoint(links: &BTreeMap<Addr, LinkState>, a: &Addr, b: &Addr) -> bool {
    if a == b {
        return true;
    }
    if a.port != b.port {
        return false;
    }
    let ip = |x: &Addr| links.get(x).and_then(|l| l.peer_ip.clone());
    super::link::same_host(links, a, &b.ip)
        || super::link::same_host(links, b, &a.ip)
        || ip(a).is_some_and(|i| Some(i) == ip(b))
}
