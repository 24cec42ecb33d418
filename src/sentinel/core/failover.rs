//! The failover state machine of one master: wait-start (election) → select-slave → send-slaveof-noone →
//! wait-promotion → reconf-slaves → update-config (+switch-master), its timeouts and aborts, and the choice
//! of the replica to promote.

use super::state::*;
use super::*;

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

pub(crate) fn start_failover_if_needed(g: &mut Globals, m: &mut Master) -> bool {
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

pub(crate) fn send_slaveof(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    addr: &Addr,
    to: Option<Addr>,
) -> bool {
    if !links.get(addr).is_some_and(|l| l.cmd.up()) {
        return false;
    }
    // With announce-hostnames the replica gets the name and resolves it in its own network.
    let master = to.map(|a| announced(g, links, &a));
    g.out.push(Action::SlaveOf {
        addr: addr.clone(),
        master,
    });
    true
}

pub(crate) fn failover_sm(g: &mut Globals, links: &BTreeMap<Addr, LinkState>, m: &mut Master) {
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

pub(crate) fn reconf_next(g: &mut Globals, links: &BTreeMap<Addr, LinkState>, m: &mut Master) {
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

impl Sentinel {
    /// A command sent to `addr` failed; only the coordinated FAILOVER TO of a promotion cares.
    pub(crate) fn command_failed(&mut self, addr: &Addr) {
        let now = self.g.now;
        for m in self.masters.iter_mut() {
            if m.fo_state == FoState::WaitPromotion && m.coordinated && m.inst.addr == *addr {
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

/// The master `m` is now at `new` (our failover ended, or a peer's newer configuration reached us).
pub(crate) fn switch_master(
    g: &mut Globals,
    links: &mut BTreeMap<Addr, LinkState>,
    m: &mut Master,
    new: Addr,
) {
    let (from, to) = (announced(g, links, &m.inst.addr), announced(g, links, &new));
    g.ev(
        "+switch-master",
        format!(
            "{} {} {} {} {}",
            m.inst.name, from.ip, from.port, to.ip, to.port
        ),
    );
    reset_and_change_address(g, links, m, new.clone());
    reset_link(g, links, &new, false);
}

impl Sentinel {
    /// update-config: the failover we led is over; monitor the promoted replica from now on.
    pub(crate) fn update_config(&mut self) {
        for m in self.masters.iter_mut() {
            if m.fo_state == FoState::UpdateConfig {
                let new = m.promoted.clone().unwrap();
                switch_master(&mut self.g, &mut self.links, m, new);
            }
        }
    }
}
