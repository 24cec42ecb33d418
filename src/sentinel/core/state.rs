//! The state of one Sentinel and its reactions to inputs (Redis 7.0 `sentinel.c` is the behavioural reference).

use super::*;

pub(crate) use super::election::*;
pub(crate) use super::failover::*;
pub(crate) use super::hello::*;
pub(crate) use super::instances::*;
pub(crate) use super::link::*;

pub(crate) type Auth = Option<(Option<String>, String)>;

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
    pub(crate) fn new_epoch(&mut self, e: u64) {
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

pub(crate) fn since(now: Ms, t: Ms) -> u64 {
    now.saturating_sub(t)
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
            resolve_hostnames: setup.resolve_hostnames,
            announce_hostnames: setup.announce_hostnames,
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
            } => self.link_up(addr, link, local_ip),
            Input::LinkDown { addr, link } => self.link_down(&addr, link),
            Input::PingReply { addr, reply } => self.ping_reply(addr, reply),
            Input::InfoReply { addr, text } => self.info_reply(&addr, &text),
            Input::Hello { msg } => self.process_hello(&msg),
            Input::HelloFrom { addr, msg } => {
                self.pubsub_activity(&addr);
                self.process_hello(&msg);
            }
            Input::VoteReply {
                sentinel,
                master,
                down,
                leader,
                leader_epoch,
            } => self.vote_reply(&sentinel, &master, down, leader, leader_epoch),
            Input::CommandFailed { addr } => self.command_failed(&addr),
            Input::Resolved { addr, ip } => {
                if let Some(l) = self.links.get_mut(&addr) {
                    l.peer_ip = Some(ip);
                }
            }
        }
        self.finish()
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
        self.update_config();
    }
}

/// INFO and hello schedule of one master and its replicas and sentinels.
pub(crate) fn periodic(g: &mut Globals, links: &mut BTreeMap<Addr, LinkState>, m: &mut Master) {
    let now = g.now;
    let fast = m.odown() || m.in_failover();
    let ma = announced(g, links, m.current_addr());
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
            let Some(msg) = hello_msg(g, l, m, &ma) else {
                continue;
            };
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
