//! The sentinel's bookkeeping of its connections (one command link and, for data nodes, one pub/sub link
//! per address): which to open or close, when to PING, and the PING-reply timestamps the failure detector
//! reads. No sockets here: the driver (`sentinel::links`) opens what `Action::Connect` asks for.

use super::state::*;
use super::*;

/// The address to report for `a` (hello messages, GET-MASTER-ADDR-BY-NAME, +switch-master, REPLICAOF): `a` as
/// given with announce-hostnames yes, else the IP its name last resolved to (Redis's announceSentinelAddr).
pub(crate) fn announced(g: &Globals, links: &BTreeMap<Addr, LinkState>, a: &Addr) -> Addr {
    if g.announce_hostnames {
        return a.clone();
    }
    match links.get(a).and_then(|l| l.peer_ip.as_ref()) {
        Some(ip) => Addr::new(ip.clone(), a.port),
        None => a.clone(),
    }
}

/// Does `host` (a replica's master_host from INFO) name the instance `a`: its name or address as given,
/// or the IP that name resolved to (sentinelAddrEqualsHostname)?
pub(crate) fn same_host(links: &BTreeMap<Addr, LinkState>, a: &Addr, host: &str) -> bool {
    host.eq_ignore_ascii_case(&a.ip)
        || links
            .get(a)
            .and_then(|l| l.peer_ip.as_deref())
            .is_some_and(|ip| ip.eq_ignore_ascii_case(host))
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
    /// The IP a host name resolved to at the last connection (None for an IP address).
    pub peer_ip: Option<String>,
}

impl LinkState {
    pub(crate) fn new(now: Ms) -> LinkState {
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
            peer_ip: None,
        }
    }
    pub(crate) fn disconnected(&self) -> bool {
        !self.cmd.up() || (self.want_pubsub && !self.pubsub.up())
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

impl Sentinel {
    pub(crate) fn ping_reply(&mut self, addr: Addr, reply: PingReply) {
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
                // sentinelReconnectInstance queues a PING on the new connection at once, so the down clock
                // runs from this first unanswered PING (or an earlier one still unanswered), not from the
                // last PONG: an instance killed and back within down-after-milliseconds is never SDOWN.
                l.last_ping_time = Some(now);
                l.act_ping_time.get_or_insert(now);
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

    pub(crate) fn link_periodic(&mut self) {
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

impl Sentinel {
    pub(crate) fn link_up(&mut self, addr: Addr, link: Link, local_ip: String) {
        let now = self.g.now;
        let Some(l) = self.links.get_mut(&addr) else {
            self.g.out.push(Action::Disconnect { addr, link });
            return;
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

    pub(crate) fn link_down(&mut self, addr: &Addr, link: Link) {
        if let Some(l) = self.links.get_mut(addr) {
            match link {
                Link::Cmd => l.cmd = Conn::Down,
                Link::PubSub => l.pubsub = Conn::Down,
            }
        }
    }

    /// A hello received on the pub/sub link of `addr` counts as activity of that link.
    pub(crate) fn pubsub_activity(&mut self, addr: &Addr) {
        if let Some(l) = self.links.get_mut(addr) {
            l.pc_last_activity = self.g.now;
            l.pc_activity_seen = true;
        }
    }
}
