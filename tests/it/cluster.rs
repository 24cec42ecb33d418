//! Cluster mode with real processes: clusters created by stock
//! `redis-cli --cluster create`, redirection texts compared with a real
//! Redis 7.0 cluster node, automatic failover after SIGKILL, restart from
//! nodes.conf, and a mixed cluster of real redis-server and rsredis nodes.

use crate::common::{self, free_port, peer, RespConn, Server};
use std::process::Command;
use std::time::Duration;

/// A cluster member: our binary or a real redis-server 7.0.
enum Member {
    Ours(Server),
    Real(common::Node),
}

impl Member {
    fn ours(extra: &str) -> Member {
        Member::Ours(Server::with_config(&format!(
            "cluster-enabled = true\ncluster-port = {}\ncluster-node-timeout = 2000\nsave = \"\"\n{extra}",
            free_port()
        )))
    }
    fn real() -> Option<Member> {
        common::Node::start(&format!(
            "cluster-enabled yes\ncluster-port {}\ncluster-node-timeout 2000\n",
            free_port()
        ))
        .map(Member::Real)
    }
    fn port(&self) -> u16 {
        match self {
            Member::Ours(s) => s.port,
            Member::Real(n) => n.port,
        }
    }
    fn kill(&mut self) {
        match self {
            Member::Ours(s) => common::signal_pid(s.pid(), "KILL"),
            Member::Real(n) => n.kill(),
        }
    }
    fn c(&self, line: &str) -> String {
        match RespConn::try_connect(self.port()) {
            Ok(mut c) => c.c(line),
            Err(_) => String::new(),
        }
    }
}

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(peer("redis-cli").unwrap())
        .args(args)
        .output()
        .expect("run redis-cli");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn create(members: &[Member], replicas: u32) {
    let addrs: Vec<String> = members
        .iter()
        .map(|m| format!("127.0.0.1:{}", m.port()))
        .collect();
    let mut args: Vec<&str> = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    let r = replicas.to_string();
    args.extend(["--cluster-replicas", &r, "--cluster-yes"]);
    let (ok, out) = cli(&args);
    assert!(ok, "create failed:\n{out}");
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
}

fn field(text: &str, name: &str) -> Option<String> {
    text.split("\r\n")
        .flat_map(|l| l.split('\n'))
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

fn cluster_ok(m: &Member) -> bool {
    field(&m.c("CLUSTER INFO"), "cluster_state").as_deref() == Some("ok")
}

fn role(m: &Member) -> String {
    field(&m.c("INFO replication"), "role").unwrap_or_default()
}

/// Write `n` keys through `redis-cli -c` (following MOVED), read them back.
fn write_and_read_all(entry: u16, n: usize, tag: &str) {
    let mut script = String::new();
    for i in 0..n {
        script.push_str(&format!("SET {tag}:{i} v{i}\n"));
    }
    let cli_bin = peer("redis-cli").unwrap();
    let run = |input: String| {
        use std::io::Write;
        let mut child = Command::new(&cli_bin)
            .args(["-c", "-p", &entry.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    };
    let out = run(script);
    assert_eq!(out.lines().filter(|l| *l == "OK").count(), n, "{out}");
    let mut gets = String::new();
    for i in 0..n {
        gets.push_str(&format!("GET {tag}:{i}\n"));
    }
    let out = run(gets);
    let want: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    // redis-cli -c reports each redirection it followed on its own line.
    let got: Vec<&str> = out.lines().filter(|l| !l.starts_with("-> ")).collect();
    assert_eq!(got, want);
}

fn slot_owner_port(m: &Member, slot: u16) -> u16 {
    let nodes = m.c("CLUSTER NODES");
    for line in nodes.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 9 || !f[2].contains("master") {
            continue;
        }
        for r in &f[8..] {
            let (a, b) = match r.split_once('-') {
                Some((a, b)) => (a.parse::<u16>(), b.parse::<u16>()),
                None => (r.parse(), r.parse()),
            };
            if let (Ok(a), Ok(b)) = (a, b) {
                if (a..=b).contains(&slot) {
                    let addr = f[1].split('@').next().unwrap();
                    return addr.rsplit(':').next().unwrap().parse().unwrap();
                }
            }
        }
    }
    panic!("no owner of slot {slot} in\n{nodes}");
}

fn wait(what: &str, secs: u64, f: impl FnMut() -> bool) {
    assert!(
        common::wait_until(Duration::from_secs(secs), f),
        "timed out waiting for {what}"
    );
}

#[test]
fn create_check_route_and_fail_over() {
    if peer("redis-cli").is_none() {
        return;
    }
    let mut m: Vec<Member> = (0..6).map(|_| Member::ours("")).collect();
    create(&m, 1);
    wait("cluster ok everywhere", 20, || m.iter().all(cluster_ok));

    // --cluster check agrees, CLUSTER INFO/SLOTS as the field checks them.
    let entry = format!("127.0.0.1:{}", m[0].port());
    let (ok, out) = cli(&["--cluster", "check", &entry]);
    assert!(
        ok && out.contains("[OK] All nodes agree about slots configuration."),
        "{out}"
    );
    let info = m[0].c("CLUSTER INFO");
    assert_eq!(
        field(&info, "cluster_slots_assigned").as_deref(),
        Some("16384")
    );
    assert_eq!(field(&info, "cluster_known_nodes").as_deref(), Some("6"));
    assert_eq!(field(&info, "cluster_size").as_deref(), Some("3"));
    // Every master and replica listed (roles spread by gossip).
    wait("CLUSTER SLOTS lists 3 masters and 3 replicas", 10, || {
        let (_, slots) = cli(&["-p", &m[0].port().to_string(), "CLUSTER", "SLOTS"]);
        slots.lines().filter(|l| *l == "127.0.0.1").count() == 6
    });
    assert_eq!(
        field(&m[0].c("INFO cluster"), "cluster_enabled").as_deref(),
        Some("1")
    );

    // Redirections and their texts.
    let owner = slot_owner_port(&m[0], 12182);
    let other = m
        .iter()
        .find(|x| x.port() != owner && role(x) == "master")
        .unwrap();
    assert_eq!(
        other.c("GET foo"),
        format!("-MOVED 12182 127.0.0.1:{owner}\r\n")
    );
    assert_eq!(
        other.c("MSET a 1 b 2"),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(
        other.c("SELECT 1"),
        "-ERR SELECT is not allowed in cluster mode\r\n"
    );
    write_and_read_all(m[0].port(), 300, "k");

    // redis-cli --cluster reshard moves 200 slots with their keys (MIGRATE,
    // RESTORE-ASKING, SETSLOT); every key stays readable.
    let to = m[1].c("CLUSTER MYID").lines().nth(1).unwrap().to_string();
    let to = if role(&m[1]) == "master" {
        to
    } else {
        m[0].c("CLUSTER MYID").lines().nth(1).unwrap().to_string()
    };
    let (ok, out) = cli(&[
        "--cluster",
        "reshard",
        &entry,
        "--cluster-from",
        "all",
        "--cluster-to",
        &to,
        "--cluster-slots",
        "200",
        "--cluster-yes",
    ]);
    assert!(ok, "reshard failed:\n{out}");
    wait("the cluster agrees after the reshard", 20, || {
        let (ok, out) = cli(&["--cluster", "check", &entry]);
        ok && out.contains("[OK] All nodes agree about slots configuration.")
    });
    let (_, got) = cli(&["-c", "-p", &m[0].port().to_string(), "GET", "k:123"]);
    assert_eq!(got.lines().last(), Some("v123"));

    // SIGKILL a master: its replica takes over, writes go on.
    let victim = m.iter().position(|x| x.port() == owner).unwrap();
    let victim_id = m[victim].c("CLUSTER MYID");
    let victim_id = victim_id.lines().nth(1).unwrap().to_string();
    let replica = m
        .iter()
        .position(|x| {
            x.c("CLUSTER NODES")
                .contains(&format!("myself,slave {victim_id}"))
        })
        .expect("the victim has a replica");
    m[victim].kill();
    wait("the replica promoted", 30, || role(&m[replica]) == "master");
    wait("cluster ok again", 20, || {
        m.iter()
            .enumerate()
            .all(|(i, x)| i == victim || cluster_ok(x))
    });
    let survivor = if victim == 0 { 1 } else { 0 };
    write_and_read_all(m[survivor].port(), 100, "after");
    let (_, got) = cli(&["-c", "-p", &m[survivor].port().to_string(), "GET", "k:7"]);
    assert_eq!(got.trim(), "v7");
}

#[test]
fn restart_keeps_id_epochs_and_slots() {
    if peer("redis-cli").is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let cport = free_port();
    let cfg = format!("cluster-enabled = true\ncluster-port = {cport}\nsave = \"\"\n");
    let (id, nodes) = {
        let s = Server::with_data_dir(data.path(), &cfg);
        let mut c = RespConn::connect(s.port);
        assert_eq!(c.c("CLUSTER ADDSLOTSRANGE 0 99 200 200"), "+OK\r\n");
        assert_eq!(c.c("CLUSTER SET-CONFIG-EPOCH 5"), "+OK\r\n");
        assert_eq!(c.c("CLUSTER BUMPEPOCH"), "+STILL 5\r\n");
        assert_eq!(
            c.c("CLUSTER SETSLOT 5 MIGRATING nosuchnode"),
            "-ERR I don't know about node nosuchnode\r\n"
        );
        let id = c.c("CLUSTER MYID");
        let conf = std::fs::read_to_string(data.path().join("nodes.conf")).unwrap();
        let nodes_line = conf.lines().next().unwrap().to_string();
        assert!(
            conf.ends_with("vars currentEpoch 5 lastVoteEpoch 0\n"),
            "{conf}"
        );
        (id, nodes_line)
    };
    assert!(
        nodes.contains("myself,master - 0 0 5 connected 0-99 200"),
        "{nodes}"
    );
    let s = Server::with_data_dir(data.path(), &cfg);
    let mut c = RespConn::connect(s.port);
    assert_eq!(c.c("CLUSTER MYID"), id);
    let info = c.c("CLUSTER INFO");
    assert_eq!(field(&info, "cluster_my_epoch").as_deref(), Some("5"));
    assert_eq!(
        field(&info, "cluster_slots_assigned").as_deref(),
        Some("101")
    );
}

/// The same commands to a real single-node cluster and to ours.
#[test]
fn errors_and_redirects_match_real_redis() {
    let Some(real) = Member::real() else { return };
    let ours = Member::ours("");
    let setup = [
        "CONFIG SET cluster-require-full-coverage no",
        "CLUSTER ADDSLOTSRANGE 0 8000",
    ];
    for m in [&real, &ours] {
        for s in setup {
            assert_eq!(m.c(s), "+OK\r\n");
        }
    }
    wait("single-node clusters ok", 10, || {
        cluster_ok(&real) && cluster_ok(&ours)
    });
    let cases = [
        "GET foo",
        "GET bar",
        "SET bar 1",
        "MGET bar {bar}x",
        "MSET a 1 b 2",
        "CLUSTER KEYSLOT somekey",
        "CLUSTER KEYSLOT {user1000}.following",
        "CLUSTER ADDSLOTS 5",
        "CLUSTER ADDSLOTS 9000 9000",
        "CLUSTER ADDSLOTS 16384",
        "CLUSTER DELSLOTS 9000",
        "CLUSTER ADDSLOTSRANGE 9001 9000",
        "CLUSTER COUNTKEYSINSLOT 5061",
        "CLUSTER COUNTKEYSINSLOT 99999",
        "CLUSTER GETKEYSINSLOT 5061 -1",
        "CLUSTER GETKEYSINSLOT 5061 10",
        "CLUSTER SETSLOT 9000 MIGRATING abc",
        "CLUSTER SETSLOT 5 IMPORTING abc",
        "CLUSTER SETSLOT 5 FOO",
        "CLUSTER REPLICATE abc",
        "CLUSTER FORGET abc",
        "CLUSTER FAILOVER",
        "CLUSTER FAILOVER FOO",
        "CLUSTER COUNT-FAILURE-REPORTS abc",
        "CLUSTER SET-CONFIG-EPOCH -1",
        "CLUSTER MEET 127.0.0.1 abc",
        "CLUSTER MEET nosuchhost 7000",
        "CLUSTER FLUSHSLOTS",
        "SELECT 1",
        "SELECT 0",
        "READONLY",
        "READWRITE",
        "ASKING",
        "EVAL return 1 2 a b",
        "EVAL return 1 1 bar",
    ];
    for case in cases {
        assert_eq!(ours.c(case), real.c(case), "{case}");
    }
    // Not vacuous: these are the texts clients match on.
    assert_eq!(ours.c("GET foo"), "-CLUSTERDOWN Hash slot not served\r\n");
    assert_eq!(
        ours.c("CLUSTER ADDSLOTS 5"),
        "-ERR Slot 5 is already busy\r\n"
    );
}

/// Real redis-server 7.0 nodes and ours in one cluster, created by stock
/// redis-cli, replicas of each kind under masters of the other; a real
/// master's failure is taken over by our replica and the other way round.
#[test]
fn mixed_cluster_with_real_redis() {
    if peer("redis-cli").is_none() {
        return;
    }
    let (Some(r1), Some(r2), Some(r3)) = (Member::real(), Member::real(), Member::real()) else {
        return;
    };
    // redis-cli puts masters first: real, ours, real; then the replicas.
    let mut m = vec![
        r1,
        Member::ours(""),
        r2,
        Member::ours(""),
        r3,
        Member::ours(""),
    ];
    create(&m, 1);
    wait("cluster ok everywhere", 20, || m.iter().all(cluster_ok));
    let entry = format!("127.0.0.1:{}", m[1].port());
    let (ok, out) = cli(&["--cluster", "check", &entry]);
    assert!(
        ok && out.contains("[OK] All nodes agree about slots configuration."),
        "{out}"
    );
    write_and_read_all(m[0].port(), 300, "mix");

    // Each master, with the kind of its replica.
    let masters: Vec<usize> = (0..6).filter(|&i| role(&m[i]) == "master").collect();
    assert_eq!(masters.len(), 3);
    let replica_of = |m: &[Member], i: usize| {
        let id = m[i].c("CLUSTER MYID").lines().nth(1).unwrap().to_string();
        (0..6)
            .find(|&j| {
                m[j].c("CLUSTER NODES")
                    .contains(&format!("myself,slave {id}"))
            })
            .unwrap()
    };
    // A real master whose replica is ours, and one of ours with a real replica.
    let is_ours = |x: &Member| matches!(x, Member::Ours(_));
    let pair_a = masters
        .iter()
        .map(|&i| (i, replica_of(&m, i)))
        .find(|&(i, r)| !is_ours(&m[i]) && is_ours(&m[r]));
    let pair_b = masters
        .iter()
        .map(|&i| (i, replica_of(&m, i)))
        .find(|&(i, r)| is_ours(&m[i]) && !is_ours(&m[r]));
    for (master, replica) in [pair_a, pair_b].into_iter().flatten() {
        wait("the replica in sync", 20, || {
            field(&m[replica].c("INFO replication"), "master_link_status").as_deref() == Some("up")
        });
        m[master].kill();
        wait("the replica promoted", 30, || role(&m[replica]) == "master");
        wait("cluster ok again", 30, || cluster_ok(&m[replica]));
        // Every surviving node leaves its FAIL state on its own clock.
        let port = m[replica].port().to_string();
        wait("reads served again through redis-cli -c", 30, || {
            (0..300).step_by(37).all(|i| {
                let key = format!("mix:{i}");
                let (_, got) = cli(&["-c", "-p", &port, "GET", &key]);
                got.lines().last() == Some(&format!("v{i}"))
            })
        });
    }
    assert!(
        pair_a.is_some() || pair_b.is_some(),
        "redis-cli mixed the kinds"
    );
}
