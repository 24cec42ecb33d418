//! Reply shapes and error texts of the SENTINEL subcommands, hello format, TILT, persistence.

use super::*;

fn setup() -> Setup {
    Setup {
        announce_ip: None,
        announce_port: None,
        port: 26379,
        masters: vec![MasterSetup {
            name: "mymaster".into(),
            addr: Addr::new("127.0.0.1", 16380),
            quorum: 2,
            down_after_ms: 3000,
            failover_timeout_ms: 20000,
            parallel_syncs: 1,
            auth_user: None,
            auth_pass: None,
        }],
        resolve_hostnames: false,
        announce_hostnames: false,
    }
}

fn cmd(s: &mut Sentinel, now: Ms, line: &str) -> (Reply, Vec<Action>) {
    let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
    s.command(now, &args)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn events(acts: &[Action]) -> Vec<String> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Event { kind, payload } => Some(format!("{} {}", kind, payload)),
            _ => None,
        })
        .collect()
}

fn master_addr() -> Addr {
    Addr::new("127.0.0.1", 16380)
}

/// A sentinel whose links to the master are up, plus two other sentinels learned from hellos.
fn connected() -> Sentinel {
    let mut s = Sentinel::new(setup(), None, 7, 1000);
    s.handle(1000, Input::Tick);
    for link in [Link::Cmd, Link::PubSub] {
        s.handle(
            1001,
            Input::LinkUp {
                addr: master_addr(),
                link,
                local_ip: "127.0.0.1".into(),
            },
        );
    }
    s.handle(
        1002,
        Input::PingReply {
            addr: master_addr(),
            reply: PingReply::Pong,
        },
    );
    for (port, id) in [(26380, "a"), (26381, "b")] {
        let msg = format!(
            "127.0.0.1,{},{},0,mymaster,127.0.0.1,16380,0",
            port,
            id.repeat(40)
        );
        let acts = s.handle(1003, Input::Hello { msg });
        assert!(
            events(&acts)[0].starts_with("+sentinel sentinel "),
            "{:?}",
            acts
        );
        assert!(acts.contains(&Action::Persist));
    }
    s
}

#[test]
fn get_master_addr_and_unknown_master() {
    let mut s = Sentinel::new(setup(), None, 1, 0);
    assert_eq!(
        cmd(&mut s, 0, "get-master-addr-by-name mymaster").0,
        Reply::Array(vec![bulk("127.0.0.1"), bulk("16380")])
    );
    assert_eq!(
        cmd(&mut s, 0, "GET-MASTER-ADDR-BY-NAME nosuch").0,
        Reply::Null
    );
    assert_eq!(
        cmd(&mut s, 0, "master nosuch").0,
        Reply::Error("ERR No such master with that name".into())
    );
    assert_eq!(
        cmd(&mut s, 0, "masters extra").0,
        Reply::Error("ERR wrong number of arguments for 'sentinel|masters' command".into())
    );
    assert_eq!(
        cmd(&mut s, 0, "foo").0,
        Reply::Error("ERR unknown subcommand 'foo'. Try SENTINEL HELP.".into())
    );
    assert_eq!(cmd(&mut s, 0, "myid").0, bulk(s.myid()));
    assert_eq!(s.myid().len(), 40);
    assert_eq!(s.master_names(), vec!["mymaster".to_string()]);
}

#[test]
fn masters_description_shape() {
    let mut s = connected();
    let Reply::Array(v) = cmd(&mut s, 2000, "masters").0 else {
        panic!()
    };
    assert_eq!(v.len(), 1);
    let Reply::Map(f) = &v[0] else { panic!() };
    let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "name",
            "ip",
            "port",
            "runid",
            "flags",
            "link-pending-commands",
            "link-refcount",
            "last-ping-sent",
            "last-ok-ping-reply",
            "last-ping-reply",
            "down-after-milliseconds",
            "info-refresh",
            "role-reported",
            "role-reported-time",
            "config-epoch",
            "num-slaves",
            "num-other-sentinels",
            "quorum",
            "failover-timeout",
            "parallel-syncs"
        ]
    );
    assert_eq!(f[2].1, bulk("16380"));
    assert_eq!(f[4].1, bulk("master"));
    assert_eq!(f[16].1, bulk("2"));
    let Reply::Array(v) = cmd(&mut s, 2000, "sentinels mymaster").0 else {
        panic!()
    };
    assert_eq!(v.len(), 2);
    let Reply::Map(f) = &v[0] else { panic!() };
    let tail: Vec<&str> = f.iter().rev().take(3).map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        tail,
        ["voted-leader-epoch", "voted-leader", "last-hello-message"]
    );
    assert_eq!(f[4].1, bulk("sentinel,disconnected"));
}

#[test]
fn is_master_down_and_votes() {
    let mut s = connected();
    assert_eq!(
        cmd(&mut s, 2000, "is-master-down-by-addr 127.0.0.1 9999 0 *").0,
        Reply::Array(vec![Reply::Int(0), bulk("*"), Reply::Int(0)])
    );
    let one = "1".repeat(40);
    let (r, acts) = cmd(
        &mut s,
        2000,
        &format!("is-master-down-by-addr 127.0.0.1 16380 10 {}", one),
    );
    assert_eq!(
        r,
        Reply::Array(vec![Reply::Int(0), bulk(&one), Reply::Int(10)])
    );
    assert_eq!(
        events(&acts),
        vec![
            "+new-epoch 10".to_string(),
            format!("+vote-for-leader {} 10", one)
        ]
    );
    assert!(acts.contains(&Action::Persist));
    for req in [
        format!("10 {}", "2".repeat(40)),
        format!("9 {}", "3".repeat(40)),
    ] {
        let r = cmd(
            &mut s,
            2000,
            &format!("is-master-down-by-addr 127.0.0.1 16380 {}", req),
        )
        .0;
        assert_eq!(
            r,
            Reply::Array(vec![Reply::Int(0), bulk(&one), Reply::Int(10)])
        );
    }
    let st = s.persisted_state();
    assert_eq!(st.current_epoch, 10);
    assert_eq!(st.masters[0].leader_epoch, 10);
    assert_eq!(st.masters[0].leader.as_deref(), Some(one.as_str()));
    assert_eq!(st.masters[0].known_sentinels.len(), 2);
    // restart from the state: same id, epoch and vote
    let mut r = Sentinel::new(setup(), Some(st.clone()), 99, 0);
    assert_eq!(r.myid(), s.myid());
    assert_eq!(r.persisted_state(), st);
    let r2 = cmd(
        &mut r,
        0,
        &format!(
            "is-master-down-by-addr 127.0.0.1 16380 10 {}",
            "4".repeat(40)
        ),
    )
    .0;
    assert_eq!(
        r2,
        Reply::Array(vec![Reply::Int(0), bulk(&one), Reply::Int(10)])
    );
    assert_eq!(
        cmd(&mut r, 0, "is-master-down-by-addr 127.0.0.1 16380 x *").0,
        Reply::Error("ERR value is not an integer or out of range".into())
    );
}

#[test]
fn failover_ckquorum_set_monitor_errors() {
    let mut s = connected();
    assert_eq!(
        cmd(&mut s, 2000, "failover mymaster").0,
        Reply::Error("NOGOODSLAVE No suitable replica to promote".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "ckquorum mymaster").0,
        Reply::Simple(
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached".into()
        )
    );
    assert_eq!(
        cmd(&mut s, 2000, "set mymaster quorum 0").0,
        Reply::Error("ERR Invalid argument '0' for SENTINEL SET 'quorum'".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "set mymaster foo 1").0,
        Reply::Error("ERR Unknown option or number of arguments for SENTINEL SET 'foo'".into())
    );
    let (r, acts) = cmd(
        &mut s,
        2000,
        "set mymaster down-after-milliseconds 5000 auth-pass secret",
    );
    assert_eq!(r, Reply::Ok);
    assert_eq!(
        events(&acts),
        vec![
            "+set master mymaster 127.0.0.1 16380 down-after-milliseconds 5000",
            "+set master mymaster 127.0.0.1 16380 auth-pass ******"
        ]
    );
    assert_eq!(
        cmd(&mut s, 2000, "monitor mymaster 127.0.0.1 7000 2").0,
        Reply::Error("ERR Duplicate master name.".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "monitor x 127.0.0.1 7000 0").0,
        Reply::Error("ERR Quorum must be 1 or greater.".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "monitor x 127.0.0.1 p 1").0,
        Reply::Error("ERR Invalid port".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "monitor x 127.0.0.1 7000 q").0,
        Reply::Error("ERR Invalid quorum".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "monitor x nohost 7000 1").0,
        Reply::Error("ERR Invalid IP address or hostname specified".into())
    );
    let (r, acts) = cmd(&mut s, 2000, "monitor solo 127.0.0.1 16386 1");
    assert_eq!(r, Reply::Ok);
    assert_eq!(
        events(&acts),
        vec!["+monitor master solo 127.0.0.1 16386 quorum 1"]
    );
    assert!(s.persisted_state().masters.iter().any(|m| m.name == "solo"));
    let (r, acts) = cmd(&mut s, 2000, "remove solo");
    assert_eq!(r, Reply::Ok);
    assert_eq!(events(&acts), vec!["-monitor master solo 127.0.0.1 16386"]);
    let Reply::Map(f) = cmd(&mut s, 2000, "config get *").0 else {
        panic!()
    };
    assert_eq!(f.len(), 6);
    assert_eq!(
        cmd(&mut s, 2000, "config set foo 1").0,
        Reply::Error("ERR Invalid argument 'foo' to SENTINEL CONFIG SET".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "config set announce-port abc").0,
        Reply::Error("ERR Invalid value 'abc' to SENTINEL CONFIG SET 'announce-port'".into())
    );
    assert_eq!(
        cmd(&mut s, 2000, "simulate-failure help").0,
        Reply::Array(vec![
            bulk("crash-after-election"),
            bulk("crash-after-promotion")
        ])
    );
    assert_eq!(cmd(&mut s, 2000, "pending-scripts").0, Reply::Array(vec![]));
    assert_eq!(cmd(&mut s, 2000, "reset *").0, Reply::Int(1));
    assert_eq!(
        cmd(&mut s, 2000, "ckquorum mymaster").0,
        Reply::Error(
            "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master"
                .into()
        )
    );
}

#[test]
fn hello_format_info_section_and_tilt() {
    let mut s = connected();
    let acts = s.handle(1100, Input::Tick);
    let hello = acts
        .iter()
        .find_map(|a| match a {
            Action::PublishHello { addr, msg } if *addr == master_addr() => Some(msg.clone()),
            _ => None,
        })
        .expect("hello to the master");
    assert_eq!(
        hello,
        format!("127.0.0.1,26379,{},0,mymaster,127.0.0.1,16380,0", s.myid())
    );
    let info = s.info_section(1100);
    assert!(info.starts_with(
        "# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\nsentinel_tilt_since_seconds:-1\r\n"
    ));
    assert!(info.contains(
        "master0:name=mymaster,status=ok,address=127.0.0.1:16380,slaves=0,sentinels=3\r\n"
    ));
    // a 3 s gap between timer runs enters TILT; 30 s later it exits
    let acts = s.handle(4200, Input::Tick);
    assert!(events(&acts).contains(&"+tilt #tilt mode entered".to_string()));
    assert!(s.tilt());
    assert!(s
        .info_section(5200)
        .contains("sentinel_tilt:1\r\nsentinel_tilt_since_seconds:1\r\n"));
    let mut t = 4200;
    let mut exited = false;
    while t < 36_000 {
        t += 100;
        let acts = s.handle(t, Input::Tick);
        for a in &acts {
            assert!(!matches!(
                a,
                Action::SlaveOf { .. } | Action::AskVote { .. }
            ));
        }
        if events(&acts).contains(&"-tilt #tilt mode exited".to_string()) {
            exited = true;
            assert!(t >= 34_200);
            break;
        }
    }
    assert!(exited && !s.tilt());
}

#[test]
fn replicas_from_info_and_role_change() {
    let mut s = connected();
    let info = "# Server\r\nrun_id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=16381,state=online,offset=105,lag=1\r\n";
    let acts = s.handle(
        1200,
        Input::InfoReply {
            addr: master_addr(),
            text: info.into(),
        },
    );
    assert_eq!(
        events(&acts),
        vec!["+slave slave 127.0.0.1:16381 127.0.0.1 16381 @ mymaster 127.0.0.1 16380"]
    );
    assert!(acts.contains(&Action::Persist));
    let info2 = info.replace("aaaa", "bbbb");
    let acts = s.handle(
        1300,
        Input::InfoReply {
            addr: master_addr(),
            text: info2,
        },
    );
    assert_eq!(
        events(&acts),
        vec!["+reboot master mymaster 127.0.0.1 16380"]
    );
    let r = Addr::new("127.0.0.1", 16381);
    let rinfo = "run_id:cccccccccccccccccccccccccccccccccccccccc\r\nrole:master\r\n";
    let acts = s.handle(
        1400,
        Input::InfoReply {
            addr: r,
            text: rinfo.into(),
        },
    );
    assert_eq!(
        events(&acts),
        vec!["-role-change slave 127.0.0.1:16381 127.0.0.1 16381 @ mymaster 127.0.0.1 16380 new reported role is master"]
    );
    let Reply::Array(v) = cmd(&mut s, 1500, "replicas mymaster").0 else {
        panic!()
    };
    let Reply::Map(f) = &v[0] else { panic!() };
    assert_eq!(f.len(), 21);
    assert_eq!(f[f.len() - 1], ("replica-announced".to_string(), bulk("1")));
}

#[test]
fn cmd_link_reconnect_sends_ping_but_no_info() {
    let mut s = connected();
    let info = "run_id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nrole:master\r\n";
    s.handle(
        1200,
        Input::InfoReply {
            addr: master_addr(),
            text: info.into(),
        },
    );
    // A peer's failover transaction kills our links (CLIENT KILL TYPE normal/pubsub).
    for link in [Link::Cmd, Link::PubSub] {
        s.handle(
            1300,
            Input::LinkDown {
                addr: master_addr(),
                link,
            },
        );
    }
    let acts = s.handle(
        1400,
        Input::LinkUp {
            addr: master_addr(),
            link: Link::Cmd,
            local_ip: "127.0.0.1".into(),
        },
    );
    assert!(acts.contains(&Action::Ping {
        addr: master_addr()
    }));
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Info { .. })),
        "{acts:?}"
    );
    s.handle(
        1401,
        Input::LinkUp {
            addr: master_addr(),
            link: Link::PubSub,
            local_ip: "127.0.0.1".into(),
        },
    );
    // The INFO is fresh (200 ms old): nothing until its period is over.
    let acts = s.handle(1500, Input::Tick);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Info { .. })),
        "{acts:?}"
    );
    let acts = s.handle(11300, Input::Tick);
    assert!(
        acts.iter().any(|a| matches!(a, Action::Info { .. })),
        "{acts:?}"
    );
}

#[test]
fn removed_config_master_stays_removed_after_restart() {
    let mut s = Sentinel::new(setup(), None, 7, 1000);
    let (r, acts) = cmd(&mut s, 1000, "remove mymaster");
    assert_eq!(r, Reply::Ok);
    assert!(acts.contains(&Action::Persist));
    let st = s.persisted_state();
    assert_eq!(st.removed, vec!["mymaster".to_string()]);
    // Restart with the same sentinel.toml: the state file's removal wins.
    let mut s2 = Sentinel::new(setup(), Some(st), 8, 2000);
    assert!(s2.master_names().is_empty());
    // MONITOR brings it back, and forgets the removal.
    let (r, _) = cmd(&mut s2, 2000, "monitor mymaster 127.0.0.1 16380 2");
    assert_eq!(r, Reply::Ok);
    let st = s2.persisted_state();
    assert!(st.removed.is_empty());
    let s3 = Sentinel::new(setup(), Some(st), 9, 3000);
    assert_eq!(s3.master_names(), vec!["mymaster".to_string()]);
}

/// resolve-hostnames / announce-hostnames: the core keeps the name it was given; it reports the IP the driver
/// resolved it to unless announce-hostnames is yes.
#[test]
fn host_names_kept_and_announced() {
    let mut st = setup();
    st.masters[0].addr = Addr::new("localhost", 16380);
    st.resolve_hostnames = true;
    let mut s = Sentinel::new(st, None, 7, 1000);
    let name = Addr::new("localhost", 16380);
    let acts = s.handle(1000, Input::Tick);
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Connect { addr, .. } if *addr == name)),
        "{:?}",
        acts
    );
    // Not resolved yet: the name is all we have.
    assert_eq!(
        cmd(&mut s, 1001, "get-master-addr-by-name mymaster").0,
        Reply::Array(vec![bulk("localhost"), bulk("16380")])
    );
    s.handle(
        1002,
        Input::Resolved {
            addr: name.clone(),
            ip: "127.0.0.1".into(),
        },
    );
    assert_eq!(
        cmd(&mut s, 1003, "get-master-addr-by-name mymaster").0,
        Reply::Array(vec![bulk("127.0.0.1"), bulk("16380")])
    );
    assert_eq!(
        cmd(&mut s, 1004, "config set announce-hostnames yes").0,
        Reply::Ok
    );
    assert_eq!(
        cmd(&mut s, 1005, "get-master-addr-by-name mymaster").0,
        Reply::Array(vec![bulk("localhost"), bulk("16380")])
    );
    // A replica that reports the master by its IP points at the right master: no +fix-slave-config.
    let r = Addr::new("127.0.0.1", 16381);
    for link in [Link::Cmd, Link::PubSub] {
        s.handle(
            1006,
            Input::LinkUp {
                addr: name.clone(),
                link,
                local_ip: "127.0.0.1".into(),
            },
        );
    }
    s.handle(
        1007,
        Input::InfoReply {
            addr: name.clone(),
            text: "role:master\r\nslave0:ip=127.0.0.1,port=16381,state=online,offset=1,lag=0\r\n"
                .into(),
        },
    );
    let mut all = Vec::new();
    for t in (1100..100_000).step_by(100) {
        s.handle(
            t,
            Input::PingReply {
                addr: name.clone(),
                reply: PingReply::Pong,
            },
        );
        s.handle(
            t,
            Input::PingReply {
                addr: r.clone(),
                reply: PingReply::Pong,
            },
        );
        all.extend(s.handle(t, Input::Tick));
        for link in [Link::Cmd, Link::PubSub] {
            all.extend(s.handle(
                t,
                Input::LinkUp {
                    addr: r.clone(),
                    link,
                    local_ip: "127.0.0.1".into(),
                },
            ));
        }
        all.extend(s.handle(
            t,
            Input::InfoReply {
                addr: r.clone(),
                text: "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:16380\r\nmaster_link_status:up\r\n"
                    .into(),
            },
        ));
        s.handle(
            t,
            Input::InfoReply {
                addr: name.clone(),
                text:
                    "role:master\r\nslave0:ip=127.0.0.1,port=16381,state=online,offset=1,lag=0\r\n"
                        .into(),
            },
        );
    }
    assert!(
        !events(&all)
            .iter()
            .any(|e| e.starts_with("+fix-slave-config")),
        "{:?}",
        events(&all)
    );
    assert!(!all.iter().any(|a| matches!(a, Action::SlaveOf { .. })));
}

#[test]
fn monitor_host_name_needs_resolve_hostnames() {
    let mut s = Sentinel::new(setup(), None, 7, 1000);
    assert_eq!(
        cmd(&mut s, 1000, "monitor other redis-b.local 6379 2").0,
        Reply::Error("ERR Invalid IP address or hostname specified".into())
    );
    assert_eq!(
        cmd(&mut s, 1001, "config set resolve-hostnames yes").0,
        Reply::Ok
    );
    assert_eq!(
        cmd(&mut s, 1002, "monitor other redis-b.local 6379 2").0,
        Reply::Ok
    );
    assert_eq!(
        cmd(&mut s, 1003, "get-master-addr-by-name other").0,
        Reply::Array(vec![bulk("redis-b.local"), bulk("6379")])
    );
    assert_eq!(
        cmd(&mut s, 1004, "monitor third a,b 6379 2").0,
        Reply::Error("ERR Invalid IP address or hostname specified".into())
    );
}
