//! SENTINEL subcommands and the INFO Sentinel section.

use super::state::*;
use super::*;

fn bulk(s: impl Into<String>) -> Reply {
    Reply::Bulk(s.into().into_bytes())
}

fn num(n: impl fmt::Display) -> Reply {
    bulk(n.to_string())
}

fn err(s: impl Into<String>) -> Reply {
    Reply::Error(s.into())
}

fn s(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

fn arity_err(sub: &str) -> Reply {
    err(format!(
        "ERR wrong number of arguments for 'sentinel|{}' command",
        sub
    ))
}

const NO_MASTER: &str = "ERR No such master with that name";

const HELP: &[&str] = &[
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value>",
    "    Set configuration paramters for certain masters.",
    "SIMULATE-FAILURE (CRASH-AFTER-ELECTION|CRASH-AFTER-PROMOTION|HELP)",
    "    Simulate a Sentinel crash.",
    "HELP",
    "    Print this help.",
];

impl Sentinel {
    fn master_idx(&self, name: &[u8]) -> Option<usize> {
        self.masters
            .iter()
            .position(|m| m.inst.name.as_bytes() == name)
    }

    fn flags(&self, m: &Master, i: &Inst) -> String {
        let mut f: Vec<&str> = Vec::new();
        if i.sdown() {
            f.push("s_down");
        }
        if i.kind == Kind::Master && m.odown() {
            f.push("o_down");
        }
        f.push(match i.kind {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        });
        if self.links.get(&i.addr).is_none_or(|l| l.disconnected()) {
            f.push("disconnected");
        }
        if i.kind == Kind::Sentinel && i.master_down {
            f.push("master_down");
        }
        if i.kind == Kind::Master && m.in_failover() {
            f.push("failover_in_progress");
        }
        if i.kind == Kind::Replica {
            if i.promoted {
                f.push("promoted");
            }
            match i.reconf {
                Reconf::Sent => f.push("reconf_sent"),
                Reconf::InProg => f.push("reconf_inprog"),
                Reconf::Done => f.push("reconf_done"),
                Reconf::None => {}
            }
        }
        if i.kind == Kind::Master && m.force {
            f.push("force_failover");
        }
        if i.script_kill_sent {
            f.push("script_kill_sent");
        }
        f.join(",")
    }

    pub(crate) fn describe(&self, now: Ms, m: &Master, i: &Inst) -> Reply {
        let l = self.links.get(&i.addr);
        let mut v: Vec<(String, Reply)> = Vec::new();
        let mut put = |k: &str, r: Reply| v.push((k.to_string(), r));
        put("name", bulk(i.name.clone()));
        put("ip", bulk(announced(&self.g, &self.links, &i.addr).ip));
        put("port", num(i.addr.port));
        put("runid", bulk(i.runid.clone().unwrap_or_default()));
        put("flags", bulk(self.flags(m, i)));
        put(
            "link-pending-commands",
            num(l.map_or(0, |l| l.act_ping_time.is_some() as u64)),
        );
        put("link-refcount", num(l.map_or(1, |l| l.refcount.max(1))));
        if i.kind == Kind::Master && m.in_failover() {
            put("failover-state", bulk(m.fo_state.name()));
        }
        let ago = |t: Ms| now.saturating_sub(t);
        put(
            "last-ping-sent",
            num(l.and_then(|l| l.act_ping_time).map_or(0, ago)),
        );
        put(
            "last-ok-ping-reply",
            num(l.map_or(0, |l| ago(l.last_avail_time))),
        );
        put(
            "last-ping-reply",
            num(l.map_or(0, |l| ago(l.last_pong_time))),
        );
        if let Some(t) = i.sdown_since {
            put("s-down-time", num(ago(t)));
        }
        if i.kind == Kind::Master {
            if let Some(t) = m.odown_since {
                put("o-down-time", num(ago(t)));
            }
        }
        put("down-after-milliseconds", num(m.down_after));
        if i.kind != Kind::Sentinel {
            put("info-refresh", num(i.info_refresh.map_or(0, ago)));
            put(
                "role-reported",
                bulk(if i.role_master { "master" } else { "slave" }),
            );
            put("role-reported-time", num(ago(i.role_reported_time)));
        }
        match i.kind {
            Kind::Master => {
                put("config-epoch", num(m.config_epoch));
                put("num-slaves", num(m.replicas.len()));
                put("num-other-sentinels", num(m.sentinels.len()));
                put("quorum", num(m.quorum));
                put("failover-timeout", num(m.failover_timeout));
                put("parallel-syncs", num(m.parallel_syncs));
                if let Some(s) = &m.notification_script {
                    put("notification-script", bulk(s.clone()));
                }
                if let Some(s) = &m.client_reconfig_script {
                    put("client-reconfig-script", bulk(s.clone()));
                }
            }
            Kind::Replica => {
                put("master-link-down-time", num(i.master_link_down_time));
                put(
                    "master-link-status",
                    bulk(if i.slave_link_up { "ok" } else { "err" }),
                );
                put(
                    "master-host",
                    bulk(i.slave_master_host.clone().unwrap_or_else(|| "?".into())),
                );
                put("master-port", num(i.slave_master_port));
                put("slave-priority", num(i.priority));
                put("slave-repl-offset", num(i.repl_offset));
                put("replica-announced", num(i.announced as u8));
            }
            Kind::Sentinel => {
                put("last-hello-message", num(i.last_hello.map_or(0, ago)));
                put(
                    "voted-leader",
                    bulk(i.leader.clone().unwrap_or_else(|| "?".into())),
                );
                put("voted-leader-epoch", num(i.leader_epoch));
            }
        }
        Reply::Map(v)
    }

    pub fn info_section(&self, now: Ms) -> String {
        let g = &self.g;
        let mut out = String::from("# Sentinel\r\n");
        out += &format!("sentinel_masters:{}\r\n", self.masters.len());
        out += &format!("sentinel_tilt:{}\r\n", g.tilt as u8);
        let ts = if g.tilt {
            (now.saturating_sub(g.tilt_start) / 1000) as i64
        } else {
            -1
        };
        out += &format!("sentinel_tilt_since_seconds:{}\r\n", ts);
        out += "sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n";
        out += &format!("sentinel_simulate_failure_flags:{}\r\n", g.simfail);
        for (n, m) in self.masters.iter().enumerate() {
            let status = if m.odown() {
                "odown"
            } else if m.inst.sdown() {
                "sdown"
            } else {
                "ok"
            };
            out += &format!(
                "master{}:name={},status={},address={},slaves={},sentinels={}\r\n",
                n,
                m.inst.name,
                status,
                m.inst.addr,
                m.replicas.len(),
                m.sentinels.len() + 1
            );
        }
        out
    }

    pub fn command(&mut self, now: Ms, args: &[Vec<u8>]) -> (Reply, Vec<Action>) {
        self.g.now = now;
        let r = self.command_inner(now, args);
        (r, self.finish())
    }

    fn command_inner(&mut self, now: Ms, args: &[Vec<u8>]) -> Reply {
        let Some(sub) = args.first() else {
            return err("ERR wrong number of arguments for 'sentinel' command");
        };
        let sub = s(sub).to_ascii_lowercase();
        let argc = args.len() + 1;
        let arity: i64 = match sub.as_str() {
            "masters" | "flushconfig" | "myid" | "pending-scripts" | "help" => 2,
            "master"
            | "replicas"
            | "slaves"
            | "sentinels"
            | "get-master-addr-by-name"
            | "failover"
            | "ckquorum"
            | "reset"
            | "remove" => 3,
            "is-master-down-by-addr" | "monitor" => 6,
            "set" => -5,
            "info-cache" | "config" | "simulate-failure" => -3,
            "debug" => -2,
            _ => {
                return err(format!(
                    "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                    s(&args[0])
                ))
            }
        };
        if (arity > 0 && argc as i64 != arity) || (arity < 0 && (argc as i64) < -arity) {
            return arity_err(&sub);
        }
        match sub.as_str() {
            "masters" => Reply::Array(
                self.masters
                    .iter()
                    .map(|m| self.describe(now, m, &m.inst))
                    .collect(),
            ),
            "master" => match self.master_idx(&args[1]) {
                Some(i) => {
                    let m = &self.masters[i];
                    self.describe(now, m, &m.inst)
                }
                None => err(NO_MASTER),
            },
            "replicas" | "slaves" => match self.master_idx(&args[1]) {
                Some(i) => {
                    let m = &self.masters[i];
                    Reply::Array(
                        m.replicas
                            .iter()
                            .filter(|r| r.announced)
                            .map(|r| self.describe(now, m, r))
                            .collect(),
                    )
                }
                None => err(NO_MASTER),
            },
            "sentinels" => match self.master_idx(&args[1]) {
                Some(i) => {
                    let m = &self.masters[i];
                    Reply::Array(
                        m.sentinels
                            .iter()
                            .map(|r| self.describe(now, m, r))
                            .collect(),
                    )
                }
                None => err(NO_MASTER),
            },
            "get-master-addr-by-name" => match self.master_idx(&args[1]) {
                Some(i) => {
                    let a = announced(&self.g, &self.links, self.masters[i].current_addr());
                    Reply::Array(vec![bulk(a.ip), num(a.port)])
                }
                None => Reply::Null,
            },
            "is-master-down-by-addr" => self.is_master_down(args),
            "failover" => {
                let Some(i) = self.master_idx(&args[1]) else {
                    return err(NO_MASTER);
                };
                if self.masters[i].in_failover() {
                    return err("INPROG Failover already in progress");
                }
                if select_slave(&self.g, &self.links, &self.masters[i]).is_none() {
                    return err("NOGOODSLAVE No suitable replica to promote");
                }
                let m = &mut self.masters[i];
                start_failover(&mut self.g, m);
                m.force = true;
                Reply::Ok
            }
            "ckquorum" => {
                let Some(i) = self.master_idx(&args[1]) else {
                    return err(NO_MASTER);
                };
                let m = &self.masters[i];
                let voters = m.sentinels.len() + 1;
                let usable = 1 + m.sentinels.iter().filter(|s| !s.sdown()).count();
                let noquorum = (usable as u32) < m.quorum;
                let noauth = usable < voters / 2 + 1;
                if !noquorum && !noauth {
                    return Reply::Simple(format!(
                        "OK {} usable Sentinels. Quorum and failover authorization can be reached",
                        usable
                    ));
                }
                let mut e = format!("NOQUORUM {} usable Sentinels. ", usable);
                if noquorum {
                    e += "Not enough available Sentinels to reach the specified quorum for this master";
                }
                if noauth {
                    if noquorum {
                        e += ". ";
                    }
                    e += "Not enough available Sentinels to reach the majority and authorize a failover";
                }
                err(e)
            }
            "reset" => {
                let mut n = 0;
                for m in self.masters.iter_mut() {
                    if crate::glob::matches(&args[1], m.inst.name.as_bytes(), false) {
                        reset_master(&mut self.g, m, false, true);
                        reset_link(&mut self.g, &mut self.links, &m.inst.addr, true);
                        n += 1;
                    }
                }
                if n > 0 {
                    self.g.persist = true;
                }
                Reply::Int(n)
            }
            "monitor" => self.monitor(args),
            "remove" => {
                let Some(i) = self.master_idx(&args[1]) else {
                    return err(NO_MASTER);
                };
                let d = self.masters[i].desc();
                self.g.ev("-monitor", d);
                let name = self.masters.remove(i).inst.name;
                if !self.removed.contains(&name) {
                    self.removed.push(name);
                }
                self.g.persist = true;
                Reply::Ok
            }
            "set" => self.set(args),
            "flushconfig" => {
                self.g.persist = true;
                Reply::Ok
            }
            "myid" => bulk(self.g.myid.clone()),
            "info-cache" => {
                let sel: Vec<usize> = if args.len() == 1 {
                    (0..self.masters.len()).collect()
                } else {
                    args[1..]
                        .iter()
                        .filter_map(|n| self.master_idx(n))
                        .collect()
                };
                let mut v = Vec::new();
                for i in sel {
                    let m = &self.masters[i];
                    v.push(bulk(m.inst.name.clone()));
                    let one = |i: &Inst| {
                        Reply::Array(vec![
                            Reply::Int(i.info_refresh.map_or(0, |t| now.saturating_sub(t)) as i64),
                            i.info.as_ref().map_or(Reply::Null, |t| bulk(t.clone())),
                        ])
                    };
                    let mut arr = vec![one(&m.inst)];
                    arr.extend(m.replicas.iter().map(one));
                    v.push(Reply::Array(arr));
                }
                Reply::Array(v)
            }
            "config" => self.config(args),
            "simulate-failure" => {
                self.g.simfail = 0;
                let mut flags = 0u8;
                for a in &args[1..] {
                    let a = s(a).to_ascii_lowercase();
                    match a.as_str() {
                        "crash-after-election" => flags |= SIMFAIL_ELECTION,
                        "crash-after-promotion" => flags |= SIMFAIL_PROMOTION,
                        "help" => {
                            return Reply::Array(vec![
                                bulk("crash-after-election"),
                                bulk("crash-after-promotion"),
                            ])
                        }
                        _ => return err("ERR Unknown failure simulation specified"),
                    }
                }
                self.g.simfail = flags;
                Reply::Ok
            }
            "pending-scripts" => Reply::Array(Vec::new()),
            "debug" => Reply::Map(vec![
                ("INFO-PERIOD".into(), num(INFO_PERIOD)),
                ("PING-PERIOD".into(), num(PING_PERIOD)),
                ("ASK-PERIOD".into(), num(ASK_PERIOD)),
                ("PUBLISH-PERIOD".into(), num(PUBLISH_PERIOD)),
                ("DEFAULT-DOWN-AFTER".into(), num(DEFAULT_DOWN_AFTER)),
                (
                    "DEFAULT-FAILOVER-TIMEOUT".into(),
                    num(DEFAULT_FAILOVER_TIMEOUT),
                ),
                ("TILT-TRIGGER".into(), num(TILT_TRIGGER)),
                ("TILT-PERIOD".into(), num(TILT_PERIOD)),
                ("SLAVE-RECONF-TIMEOUT".into(), num(SLAVE_RECONF_TIMEOUT)),
                (
                    "MIN-LINK-RECONNECT-PERIOD".into(),
                    num(MIN_LINK_RECONNECT_PERIOD),
                ),
                ("ELECTION-TIMEOUT".into(), num(ELECTION_TIMEOUT)),
                ("SCRIPT-MAX-RUNTIME".into(), num(60000)),
                ("SCRIPT-RETRY-DELAY".into(), num(30000)),
            ]),
            _ => Reply::Array(HELP.iter().map(|l| Reply::Simple(l.to_string())).collect()),
        }
    }

    fn is_master_down(&mut self, args: &[Vec<u8>]) -> Reply {
        let ip = s(&args[1]);
        let Ok(port) = s(&args[2]).parse::<i64>() else {
            return err("ERR value is not an integer or out of range");
        };
        let Ok(epoch) = s(&args[3]).parse::<i64>() else {
            return err("ERR value is not an integer or out of range");
        };
        let runid = s(&args[4]);
        let addr = u16::try_from(port).ok().map(|p| Addr::new(ip, p));
        let Some(i) = addr.and_then(|a| self.masters.iter().position(|m| m.inst.addr == a)) else {
            return Reply::Array(vec![Reply::Int(0), bulk("*"), Reply::Int(0)]);
        };
        let down = !self.g.tilt && self.masters[i].inst.sdown();
        let (mut leader, mut le) = (None, 0);
        if runid != "*" {
            let (l, e) = vote_leader(
                &mut self.g,
                &mut self.masters[i],
                epoch.max(0) as u64,
                &runid,
            );
            leader = l;
            le = e;
        }
        Reply::Array(vec![
            Reply::Int(down as i64),
            bulk(leader.unwrap_or_else(|| "*".into())),
            Reply::Int(le as i64),
        ])
    }

    fn monitor(&mut self, args: &[Vec<u8>]) -> Reply {
        let Ok(quorum) = s(&args[4]).parse::<i64>() else {
            return err("ERR Invalid quorum");
        };
        let Ok(port) = s(&args[3]).parse::<i64>() else {
            return err("ERR Invalid port");
        };
        if quorum <= 0 {
            return err("ERR Quorum must be 1 or greater.");
        }
        let ip = s(&args[2]);
        // A host name (resolve-hostnames yes) is kept as given and resolved by the driver at each connection;
        // a comma would break the hello message format.
        let name_ok = self.g.resolve_hostnames
            && !ip.is_empty()
            && ip
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'));
        if ip.parse::<std::net::IpAddr>().is_err() && !name_ok {
            return err("ERR Invalid IP address or hostname specified");
        }
        let name = s(&args[1]);
        if self.masters.iter().any(|m| m.inst.name == name) {
            return err("ERR Duplicate master name.");
        }
        let Ok(port) = u16::try_from(port) else {
            return err("ERR Invalid port number.");
        };
        let ms = MasterSetup {
            name,
            addr: Addr::new(ip, port),
            quorum: quorum as u32,
            down_after_ms: DEFAULT_DOWN_AFTER,
            failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT,
            parallel_syncs: 1,
            auth_user: None,
            auth_pass: None,
        };
        let m = Master::from_setup(&ms, self.g.now);
        self.g
            .ev("+monitor", format!("{} quorum {}", m.desc(), m.quorum));
        self.removed.retain(|n| *n != m.inst.name);
        self.masters.push(m);
        self.g.persist = true;
        Reply::Ok
    }

    fn set(&mut self, args: &[Vec<u8>]) -> Reply {
        let Some(mi) = self.master_idx(&args[1]) else {
            return err(NO_MASTER);
        };
        let mut j = 2;
        let mut changes = 0;
        let res = loop {
            if j >= args.len() {
                break Reply::Ok;
            }
            let opt = s(&args[j]).to_ascii_lowercase();
            let more = args.len() - 1 - j;
            let old_j = j;
            let m = &mut self.masters[mi];
            let pos = |j: usize| -> Option<u64> {
                s(&args[j])
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v > 0)
                    .map(|v| v as u64)
            };
            let mut bad = None;
            match opt.as_str() {
                "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum"
                    if more > 0 =>
                {
                    j += 1;
                    match pos(j) {
                        None => bad = Some(j),
                        Some(v) => match opt.as_str() {
                            "down-after-milliseconds" => m.down_after = v,
                            "failover-timeout" => m.failover_timeout = v,
                            "parallel-syncs" => m.parallel_syncs = v.min(u32::MAX as u64) as u32,
                            _ => m.quorum = v.min(u32::MAX as u64) as u32,
                        },
                    }
                }
                "master-reboot-down-after-period" if more > 0 => {
                    j += 1;
                    match s(&args[j]).parse::<i64>() {
                        Ok(v) if v >= 0 => m.reboot_period = v as u64,
                        _ => bad = Some(j),
                    }
                }
                "notification-script" | "client-reconfig-script" if more > 0 => {
                    j += 1;
                    let v = s(&args[j]);
                    let v = if v.is_empty() { None } else { Some(v) };
                    if opt == "notification-script" {
                        m.notification_script = v;
                    } else {
                        m.client_reconfig_script = v;
                    }
                }
                "auth-pass" | "auth-user" if more > 0 => {
                    j += 1;
                    let v = s(&args[j]);
                    let v = if v.is_empty() { None } else { Some(v) };
                    if opt == "auth-pass" {
                        m.auth_pass = v;
                    } else {
                        m.auth_user = v;
                    }
                }
                "rename-command" if more > 1 => {
                    let (a, b) = (s(&args[j + 1]), s(&args[j + 2]));
                    j += 2;
                    m.renamed.retain(|(x, _)| !x.eq_ignore_ascii_case(&a));
                    if !a.eq_ignore_ascii_case(&b) {
                        m.renamed.push((a, b));
                    }
                }
                _ => {
                    break err(format!(
                        "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                        s(&args[j])
                    ));
                }
            }
            if let Some(b) = bad {
                break err(format!(
                    "ERR Invalid argument '{}' for SENTINEL SET '{}'",
                    s(&args[b]),
                    s(&args[old_j])
                ));
            }
            changes += 1;
            let vals: Vec<String> = (old_j..=j)
                .map(|k| {
                    if k > old_j && opt == "auth-pass" {
                        "******".to_string()
                    } else {
                        s(&args[k])
                    }
                })
                .collect();
            let d = self.masters[mi].desc();
            self.g.ev("+set", format!("{} {}", d, vals.join(" ")));
            j += 1;
        };
        if changes > 0 {
            self.g.persist = true;
        }
        res
    }

    fn config(&mut self, args: &[Vec<u8>]) -> Reply {
        let sub = s(&args[1]).to_ascii_lowercase();
        let g = &mut self.g;
        if sub == "get" && args.len() == 3 {
            let pat = &args[2];
            let vals: Vec<(&str, String)> = vec![
                (
                    "resolve-hostnames",
                    if g.resolve_hostnames { "yes" } else { "no" }.into(),
                ),
                (
                    "announce-hostnames",
                    if g.announce_hostnames { "yes" } else { "no" }.into(),
                ),
                (
                    "announce-ip",
                    g.setup.announce_ip.clone().unwrap_or_default(),
                ),
                (
                    "announce-port",
                    g.setup.announce_port.unwrap_or(0).to_string(),
                ),
                ("sentinel-user", g.sentinel_user.clone().unwrap_or_default()),
                ("sentinel-pass", g.sentinel_pass.clone().unwrap_or_default()),
            ];
            return Reply::Map(
                vals.into_iter()
                    .filter(|(k, _)| crate::glob::matches(pat, k.as_bytes(), true))
                    .map(|(k, v)| (k.to_string(), bulk(v)))
                    .collect(),
            );
        }
        if sub == "set" && args.len() == 4 {
            let opt = s(&args[2]).to_ascii_lowercase();
            let val = s(&args[3]);
            let bad = || {
                err(format!(
                    "ERR Invalid value '{}' to SENTINEL CONFIG SET '{}'",
                    val,
                    s(&args[2])
                ))
            };
            let yesno = |v: &str| match v.to_ascii_lowercase().as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            match opt.as_str() {
                "resolve-hostnames" => match yesno(&val) {
                    Some(b) => g.resolve_hostnames = b,
                    None => return bad(),
                },
                "announce-hostnames" => match yesno(&val) {
                    Some(b) => g.announce_hostnames = b,
                    None => return bad(),
                },
                "announce-ip" => {
                    g.setup.announce_ip = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    }
                }
                "announce-port" => match val.parse::<u16>() {
                    Ok(p) => g.setup.announce_port = if p == 0 { None } else { Some(p) },
                    Err(_) => return bad(),
                },
                "sentinel-user" => {
                    g.sentinel_user = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    }
                }
                "sentinel-pass" => {
                    g.sentinel_pass = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    }
                }
                _ => {
                    return err(format!(
                        "ERR Invalid argument '{}' to SENTINEL CONFIG SET",
                        s(&args[2])
                    ))
                }
            }
            g.persist = true;
            return Reply::Ok;
        }
        err("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.")
    }
}
