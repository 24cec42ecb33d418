//! Hello messages (`ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`),
//! published every 2 s on `__sentinel__:hello` of each data node and sent to each known sentinel:
//! building ours, parsing others' (a pure function), and processing them (sentinel discovery, address
//! switches, epoch and configuration propagation: +config-update-from / +switch-master).

use super::state::*;
use super::*;

/// One hello message, split into its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hello<'a> {
    /// The sending sentinel's announced address.
    pub addr: Addr,
    pub runid: &'a str,
    pub current_epoch: u64,
    pub master: &'a str,
    /// The master's address as the sender knows it, valid in `config_epoch`.
    pub master_addr: Addr,
    pub config_epoch: u64,
}

/// Parse `ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`; None for
/// anything else (wrong field count, a number that does not parse).
pub(crate) fn parse_hello(msg: &str) -> Option<Hello<'_>> {
    let t: Vec<&str> = msg.split(',').collect();
    if t.len() != 8 {
        return None;
    }
    Some(Hello {
        addr: Addr::new(t[0], t[1].parse().ok()?),
        runid: t[2],
        current_epoch: t[3].parse().ok()?,
        master: t[4],
        master_addr: Addr::new(t[5], t[6].parse().ok()?),
        config_epoch: t[7].parse().ok()?,
    })
}

/// Our hello about `m` (at `ma`, as we announce it), to be sent over link `l` (None while we do not know our own
/// address on that link).
pub(crate) fn hello_msg(g: &Globals, l: &LinkState, m: &Master, ma: &Addr) -> Option<String> {
    let ip = match (&g.setup.announce_ip, &l.local_ip) {
        (Some(ip), _) => ip.clone(),
        (None, Some(ip)) => ip.clone(),
        _ => return None,
    };
    let port = g
        .setup
        .announce_port
        .filter(|p| *p != 0)
        .unwrap_or(g.setup.port);
    Some(format!(
        "{},{},{},{},{},{},{},{}",
        ip, port, g.myid, g.current_epoch, m.inst.name, ma.ip, ma.port, m.config_epoch
    ))
}

impl Sentinel {
    pub(crate) fn process_hello(&mut self, msg: &str) {
        let now = self.g.now;
        // Our own hello, echoed back by the pub/sub channel, is ignored.
        if msg.contains(self.g.myid.as_str()) {
            return;
        }
        let Some(h) = parse_hello(msg) else {
            return;
        };
        let (cur_epoch, mepoch) = (h.current_epoch, h.config_epoch);
        let Some(m) = self.masters.iter_mut().find(|m| m.inst.name == h.master) else {
            return;
        };
        let g = &mut self.g;
        let saddr = h.addr.clone();
        let port = saddr.port;
        let runid = h.runid;
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
                    format!("{} ip {} port {} for {}", m.desc(), saddr.ip, port, runid),
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
            let new = h.master_addr.clone();
            if new != m.inst.addr {
                let d = m.child_desc(&m.sentinels[si]);
                g.ev("+config-update-from", d);
                switch_master(g, &mut self.links, m, new);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hello_table() {
        let id = "e2b6d7a0c4f1e2b6d7a0c4f1e2b6d7a0c4f1e2b6";
        let ok = |ip: &str, port, ce, m: &'static str, mip: &str, mport, cfe| {
            Some(Hello {
                addr: Addr::new(ip, port),
                runid: id,
                current_epoch: ce,
                master: m,
                master_addr: Addr::new(mip, mport),
                config_epoch: cfe,
            })
        };
        let cases = [
            (
                format!("127.0.0.1,26379,{id},3,mymaster,127.0.0.1,6380,2"),
                ok("127.0.0.1", 26379, 3, "mymaster", "127.0.0.1", 6380, 2),
            ),
            // announce-hostnames yes: names where the addresses are
            (
                format!("sentinel-1,26379,{id},0,mymaster,redis-a.local,6379,0"),
                ok("sentinel-1", 26379, 0, "mymaster", "redis-a.local", 6379, 0),
            ),
            (
                format!("127.0.0.1,26379,{id},3,mymaster,127.0.0.1,6380"),
                None,
            ),
            (
                format!("127.0.0.1,26379,{id},3,mymaster,127.0.0.1,6380,2,9"),
                None,
            ),
            (
                format!("127.0.0.1,70000,{id},3,mymaster,127.0.0.1,6380,2"),
                None,
            ),
            (
                format!("127.0.0.1,26379,{id},-1,mymaster,127.0.0.1,6380,2"),
                None,
            ),
            (
                format!("127.0.0.1,26379,{id},3,mymaster,127.0.0.1,x,2"),
                None,
            ),
            (
                format!("127.0.0.1,26379,{id},3,mymaster,127.0.0.1,6380,"),
                None,
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(parse_hello(&msg), want, "{}", msg);
        }
    }
}
