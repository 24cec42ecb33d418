//! INFO replies: `parse_info` turns the text of INFO (replication part) into a `ParsedInfo` (a pure function),
//! `refresh_info` applies it to a master or replica: run id (+reboot), role changes, the replica's master and
//! link, discovered replicas (+slave), and the failover steps observed through INFO (+promoted-slave,
//! +slave-reconf-inprog/done, +convert-to-slave, +fix-slave-config).

use super::state::*;
use super::*;

/// What the sentinel reads from an INFO reply; `None` for a field the text does not have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedInfo {
    /// `run_id` (40 hex characters).
    pub runid: Option<String>,
    /// A master's replicas (`slaveN:ip=..,port=..`, or the pre-2.8 `slaveN:ip,port,state`).
    pub slaves: Vec<Addr>,
    /// `master_link_down_since_seconds` of a replica (negative values count as 0).
    pub link_down_since: Option<u64>,
    /// `role:master` → true, `role:slave` → false.
    pub role_master: Option<bool>,
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    /// `master_link_status:up`.
    pub link_up: Option<bool>,
    pub priority: Option<u32>,
    /// `slave_repl_offset`.
    pub offset: Option<u64>,
    /// `replica_announced`.
    pub announced: Option<bool>,
}

pub(crate) fn parse_info(text: &str) -> ParsedInfo {
    let mut p = ParsedInfo::default();
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

pub(crate) fn refresh_info(
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
            .is_some_and(|h| same_host(links, &m.inst.addr, h));
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
                && r.slave_master_host
                    .as_deref()
                    .is_some_and(|h| same_host(links, &pa, h))
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

impl Sentinel {
    pub(crate) fn info_reply(&mut self, addr: &Addr, text: &str) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// INFO (all sections) captured from redis-server 7.0.15: a master with one replica, that replica, and the
    /// replica two seconds after its master was killed.
    const MASTER: &str = include_str!("testdata/info_master_7.0.txt");
    const REPLICA: &str = include_str!("testdata/info_replica_7.0.txt");
    const REPLICA_LINK_DOWN: &str = include_str!("testdata/info_replica_link_down_7.0.txt");

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn parse_info_table() {
        let cases: Vec<(&str, &str, ParsedInfo)> = vec![
            (
                "redis 7.0 master with one replica",
                MASTER,
                ParsedInfo {
                    runid: s("9d80ba953880542222fa285e0ec0f22faecda314"),
                    slaves: vec![Addr::new("127.0.0.1", 38071)],
                    role_master: Some(true),
                    ..Default::default()
                },
            ),
            (
                "redis 7.0 replica, link up, replica-priority 42",
                REPLICA,
                ParsedInfo {
                    runid: s("1cfa1846d89e133aca61c60a4e35aaee938c0908"),
                    role_master: Some(false),
                    master_host: s("127.0.0.1"),
                    master_port: Some(49239),
                    link_up: Some(true),
                    priority: Some(42),
                    offset: Some(50),
                    announced: Some(true),
                    ..Default::default()
                },
            ),
            (
                "redis 7.0 replica whose master is gone",
                REPLICA_LINK_DOWN,
                ParsedInfo {
                    runid: s("aff4b6616c3efd956516483c5c65002937d152e2"),
                    role_master: Some(false),
                    master_host: s("127.0.0.1"),
                    master_port: Some(49239),
                    link_up: Some(false),
                    link_down_since: Some(2),
                    priority: Some(100),
                    offset: Some(87),
                    announced: Some(true),
                    ..Default::default()
                },
            ),
            (
                "pre-2.8 replica line, LF only, negative link-down time, replica not announced",
                "run_id:0123456789012345678901234567890123456789\nrole:master\n\
                 slave0:10.0.0.2,6380,online\nslave1:ip=10.0.0.3,port=6381,state=online,offset=1,lag=0\n\
                 slavex:ip=10.0.0.4,port=1\nmaster_link_down_since_seconds:-1\nreplica_announced:0\n",
                ParsedInfo {
                    runid: s("0123456789012345678901234567890123456789"),
                    slaves: vec![Addr::new("10.0.0.2", 6380), Addr::new("10.0.0.3", 6381)],
                    role_master: Some(true),
                    link_down_since: Some(0),
                    announced: Some(false),
                    ..Default::default()
                },
            ),
            (
                "a run_id too short and garbage lines are ignored",
                "run_id:abc\r\nrole:sentinel\r\nslave_priority:x\r\nmaster_port:99999\r\n",
                ParsedInfo::default(),
            ),
        ];
        for (what, text, want) in cases {
            assert_eq!(parse_info(text), want, "{}", what);
        }
    }
}
