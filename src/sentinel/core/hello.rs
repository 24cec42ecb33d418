//! Hello messages (`ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`),
//! published every 2 s on `__sentinel__:hello` of each data node and sent to each known sentinel:
//! building ours, parsing others' (a pure function), and processing them (sentinel discovery, address
//! switches, epoch and configuration propagation: +config-update-from / +switch-master).

use super::state::*;
use super::*;

/// Our hello about `m`, to be sent over link `l` (None while we do not know our own address on that link).
pub(crate) fn hello_msg(g: &Globals, l: &LinkState, m: &Master) -> Option<String> {
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
    let ma = m.current_addr();
    Some(format!(
        "{},{},{},{},{},{},{},{}",
        ip, port, g.myid, g.current_epoch, m.inst.name, ma.ip, ma.port, m.config_epoch
    ))
}

impl Sentinel {
    pub(crate) fn process_hello(&mut self, msg: &str) {
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
