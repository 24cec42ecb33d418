//! The leader election of one failover epoch: asking the other sentinels whether they see the master down
//! (and, once we try a failover, for their vote), our own vote (sentinelVoteLeader: first come, first served
//! per epoch), and counting votes (majority of known sentinels and at least the quorum).

use super::state::*;
use super::*;

pub(crate) fn ask_others(
    g: &mut Globals,
    links: &BTreeMap<Addr, LinkState>,
    m: &mut Master,
    forced: bool,
) {
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

pub(crate) fn get_leader(g: &mut Globals, m: &mut Master, epoch: u64) -> Option<String> {
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

impl Sentinel {
    /// A reply to SENTINEL IS-MASTER-DOWN-BY-ADDR: the peer's opinion of the master and, when we asked for a
    /// vote, the leader it voted for in `leader_epoch` ("*" when it was only asked about the master's state).
    pub(crate) fn vote_reply(
        &mut self,
        sentinel: &Addr,
        master: &str,
        down: bool,
        leader: String,
        leader_epoch: u64,
    ) {
        let now = self.g.now;
        if let Some(m) = self.masters.iter_mut().find(|m| m.inst.name == master) {
            if let Some(s) = m.sentinels.iter_mut().find(|s| s.addr == *sentinel) {
                s.last_down_reply = Some(now);
                s.master_down = down;
                if leader != "*" {
                    s.leader = Some(leader);
                    s.leader_epoch = leader_epoch;
                }
            }
        }
    }
}
