//! CLUSTER subcommands, ASKING, READONLY, READWRITE (Redis 7.0's
//! clusterCommand texts). The state lives in `crate::cluster`; a handler
//! changes it under the state lock and `Cluster::commit` saves nodes.conf
//! before the reply and hands other actions to the bus driver.

use super::{flags::*, Command, Ctx, NOKEYS};
use crate::cluster::core::{name_str, FailoverMode, State};
use crate::cluster::msg::{nflag, Name};
use crate::cluster::route::endpoint;
use crate::cluster::slot::{key_slot, ranges, SLOTS};
use crate::cluster::Cluster;
use crate::error::{CmdResult, Error};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::sync::Arc;

const DISABLED: &str = "This instance has cluster support disabled";

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $handler:expr, $args:literal, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: NOKEYS,
            group: "cluster",
            since: "3.0.0",
            args: $args,
            summary: $summary,
            handler: $handler,
            ..Command::DEFAULT
        }
    };
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "cluster",
        arity: -2,
        group: "cluster",
        since: "3.0.0",
        summary: "A container for Redis Cluster commands",
        subcommands: SUBCOMMANDS,
        ..Command::DEFAULT
    },
    Command {
        acl: &["connection"],
        ..sub!(
            "asking",
            1,
            FAST,
            asking,
            "",
            "Sent by cluster clients after an -ASK redirect"
        )
    },
    Command {
        acl: &["connection"],
        ..sub!(
            "readonly",
            1,
            FAST | LOADING | STALE,
            readonly,
            "",
            "Enables read queries for a connection to a Redis Cluster replica node."
        )
    },
    Command {
        acl: &["connection"],
        ..sub!(
            "readwrite",
            1,
            FAST | LOADING | STALE,
            readwrite,
            "",
            "Enables read-write queries for a connection to a Reids Cluster replica node."
        )
    },
];

static SUBCOMMANDS: &[Command] = &[
    sub!(
        "cluster|info",
        2,
        STALE,
        info,
        "",
        "Returns information about the state of a node."
    ),
    sub!(
        "cluster|myid",
        2,
        STALE,
        myid,
        "",
        "Returns the ID of a node."
    ),
    sub!(
        "cluster|nodes",
        2,
        STALE,
        nodes,
        "",
        "Returns the cluster configuration for a node."
    ),
    sub!(
        "cluster|slots",
        2,
        LOADING | STALE,
        slots,
        "",
        "Returns the mapping of cluster slots to nodes."
    ),
    sub!(
        "cluster|shards",
        2,
        LOADING | STALE,
        shards,
        "",
        "Returns the mapping of cluster slots to shards."
    ),
    sub!(
        "cluster|replicas",
        3,
        ADMIN | STALE,
        replicas,
        "node-id",
        "Lists the replica nodes of a master node."
    ),
    sub!(
        "cluster|slaves",
        3,
        ADMIN | STALE,
        replicas,
        "node-id",
        "Lists the replica nodes of a master node."
    ),
    sub!(
        "cluster|keyslot",
        3,
        STALE,
        keyslot,
        "key",
        "Returns the hash slot for a key."
    ),
    sub!(
        "cluster|countkeysinslot",
        3,
        STALE,
        countkeysinslot,
        "slot",
        "Returns the number of keys in a hash slot."
    ),
    sub!(
        "cluster|getkeysinslot",
        4,
        STALE,
        getkeysinslot,
        "slot count",
        "Returns the key names in a hash slot."
    ),
    sub!(
        "cluster|meet",
        -4,
        ADMIN | STALE,
        meet,
        "ip port [cluster-bus-port]",
        "Forces a node to handshake with another node."
    ),
    sub!(
        "cluster|forget",
        3,
        ADMIN | STALE,
        forget,
        "node-id",
        "Removes a node from the nodes table."
    ),
    sub!(
        "cluster|addslots",
        -3,
        ADMIN | STALE,
        addslots,
        "slot [slot ...]",
        "Assigns new hash slots to a node."
    ),
    sub!(
        "cluster|addslotsrange",
        -4,
        ADMIN | STALE,
        addslotsrange,
        "start-slot end-slot [start-slot end-slot ...]",
        "Assigns new hash slot ranges to a node."
    ),
    sub!(
        "cluster|delslots",
        -3,
        ADMIN | STALE,
        delslots,
        "slot [slot ...]",
        "Sets hash slots as unbound for a node."
    ),
    sub!(
        "cluster|delslotsrange",
        -4,
        ADMIN | STALE,
        delslotsrange,
        "start-slot end-slot [start-slot end-slot ...]",
        "Sets hash slot ranges as unbound for a node."
    ),
    sub!(
        "cluster|flushslots",
        2,
        ADMIN | STALE,
        flushslots,
        "",
        "Deletes all slots information from a node."
    ),
    sub!(
        "cluster|setslot",
        -4,
        ADMIN | STALE,
        setslot,
        "slot IMPORTING node-id|MIGRATING node-id|NODE node-id|STABLE",
        "Binds a hash slot to a node."
    ),
    sub!(
        "cluster|replicate",
        3,
        ADMIN | STALE,
        replicate,
        "node-id",
        "Configure a node as replica of a master node."
    ),
    sub!(
        "cluster|failover",
        -2,
        ADMIN | STALE,
        failover,
        "[FORCE|TAKEOVER]",
        "Forces a replica to perform a manual failover of its master."
    ),
    sub!(
        "cluster|reset",
        -2,
        ADMIN | STALE | NOSCRIPT,
        reset,
        "[HARD|SOFT]",
        "Resets a node."
    ),
    sub!(
        "cluster|saveconfig",
        2,
        ADMIN | STALE,
        saveconfig,
        "",
        "Forces a node to save the cluster configuration to disk."
    ),
    sub!(
        "cluster|bumpepoch",
        2,
        ADMIN | STALE,
        bumpepoch,
        "",
        "Advances the cluster config epoch."
    ),
    sub!(
        "cluster|set-config-epoch",
        3,
        ADMIN | STALE,
        set_config_epoch,
        "config-epoch",
        "Sets the configuration epoch for a new node."
    ),
    sub!(
        "cluster|count-failure-reports",
        3,
        ADMIN | STALE,
        count_failure_reports,
        "node-id",
        "Returns the number of active failure reports active for a node."
    ),
    sub!(
        "cluster|links",
        2,
        STALE,
        links,
        "",
        "Returns a list of all TCP links to and from peer nodes."
    ),
];

fn cl(ctx: &Ctx) -> Result<Arc<Cluster>, Error> {
    ctx.srv
        .cluster
        .get()
        .cloned()
        .ok_or_else(|| Error::err(DISABLED))
}

fn env(ctx: &Ctx, c: &Cluster) -> crate::cluster::core::Env {
    c.offset
        .store(ctx.store.repl.offset, std::sync::atomic::Ordering::Relaxed);
    crate::cluster::bus::env(ctx.srv, c)
}

fn asking(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cl(ctx)?;
    ctx.client.asking = true;
    ctx.out.ok();
    Ok(())
}

fn readonly(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cl(ctx)?;
    ctx.client.cluster_readonly = true;
    ctx.out.ok();
    Ok(())
}

fn readwrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cl(ctx)?;
    ctx.client.cluster_readonly = false;
    ctx.out.ok();
    Ok(())
}

/// Does ASKING survive this command? Only ASKING itself keeps it.
pub fn keeps_asking(cmd: &'static Command) -> bool {
    std::ptr::eq(cmd, &COMMANDS[1])
}

fn info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let assigned = st.slots.iter().filter(|s| s.is_some()).count();
    let (pfail, fail) = st.slots_pfail_fail();
    let mut s = String::new();
    s.push_str(&format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:{}\r\ncluster_slots_fail:{}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
        if st.ok { "ok" } else { "fail" },
        assigned,
        assigned - pfail - fail,
        pfail,
        fail,
        st.nodes.len(),
        st.size,
        st.current_epoch,
        st.node_epoch(st.me()),
    ));
    let names = crate::cluster::msg::typ::NAMES;
    for (i, n) in st.sent.iter().enumerate() {
        if *n > 0 {
            s.push_str(&format!(
                "cluster_stats_messages_{}_sent:{}\r\n",
                names[i], n
            ));
        }
    }
    s.push_str(&format!(
        "cluster_stats_messages_sent:{}\r\n",
        st.sent.iter().sum::<u64>()
    ));
    for (i, n) in st.received.iter().enumerate() {
        if *n > 0 {
            s.push_str(&format!(
                "cluster_stats_messages_{}_received:{}\r\n",
                names[i], n
            ));
        }
    }
    s.push_str(&format!(
        "cluster_stats_messages_received:{}\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n",
        st.received.iter().sum::<u64>()
    ));
    ctx.out.verbatim(s.as_bytes());
    Ok(())
}

fn myid(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let name = c.state.lock().myself;
    ctx.out.bulk(&name);
    Ok(())
}

fn nodes(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let text = c.state.lock().nodes_text(false);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn preferred(ctx: &Ctx) -> String {
    ctx.srv
        .config
        .read()
        .cluster_preferred_endpoint_type
        .clone()
}

/// One node of a CLUSTER SLOTS range (addNodeToNodeReply).
fn slot_node(ctx: &mut Ctx, st: &State, n: &Name, pref: &str) {
    let n = &st.nodes[n];
    ctx.out.array(4);
    match pref {
        "hostname" => ctx.out.bulk(if n.hostname.is_empty() {
            b"?"
        } else {
            n.hostname.as_bytes()
        }),
        "unknown-endpoint" => ctx.out.null(),
        _ => ctx.out.bulk(n.ip.as_bytes()),
    }
    ctx.out.int(n.port as i64);
    ctx.out.bulk(&n.name);
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if pref != "ip" {
        extra.push(("ip", &n.ip));
    }
    if pref != "hostname" && !n.hostname.is_empty() {
        extra.push(("hostname", &n.hostname));
    }
    ctx.out.map(extra.len());
    for (k, v) in extra {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
}

fn slots(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let pref = preferred(ctx);
    let mut entries = Vec::new();
    for n in st.nodes.values() {
        if !n.is_master() || n.numslots == 0 {
            continue;
        }
        for (a, b) in ranges(n.slots.iter()) {
            entries.push((n.name, a, b));
        }
    }
    ctx.out.array(entries.len());
    for (name, a, b) in entries {
        let reps: Vec<Name> = st
            .replicas_of(&name)
            .into_iter()
            .filter(|r| !st.nodes[r].is(nflag::FAIL))
            .collect();
        ctx.out.array(3 + reps.len());
        ctx.out.int(a as i64);
        ctx.out.int(b as i64);
        slot_node(ctx, &st, &name, &pref);
        for r in reps {
            slot_node(ctx, &st, &r, &pref);
        }
    }
    Ok(())
}

fn shards(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let pref = preferred(ctx);
    let my_offset = ctx.store.repl.offset;
    let masters: Vec<Name> = st
        .nodes
        .values()
        .filter(|n| n.is_master())
        .map(|n| n.name)
        .collect();
    ctx.out.array(masters.len());
    for m in masters {
        ctx.out.map(2);
        ctx.out.bulk(b"slots");
        let r = ranges(st.nodes[&m].slots.iter());
        ctx.out.array(r.len() * 2);
        for (a, b) in r {
            ctx.out.int(a as i64);
            ctx.out.int(b as i64);
        }
        ctx.out.bulk(b"nodes");
        let mut members = vec![m];
        members.extend(st.replicas_of(&m));
        ctx.out.array(members.len());
        for name in members {
            let n = &st.nodes[&name];
            let has_host = !n.hostname.is_empty();
            ctx.out.map(7 + has_host as usize);
            ctx.out.bulk(b"id");
            ctx.out.bulk(&n.name);
            ctx.out.bulk(b"port");
            ctx.out.int(n.port as i64);
            ctx.out.bulk(b"ip");
            ctx.out.bulk(n.ip.as_bytes());
            ctx.out.bulk(b"endpoint");
            let ep = endpoint(n, &pref);
            let host = ep.rsplit_once(':').map_or("", |(h, _)| h);
            ctx.out.bulk(host.as_bytes());
            if has_host {
                ctx.out.bulk(b"hostname");
                ctx.out.bulk(n.hostname.as_bytes());
            }
            ctx.out.bulk(b"role");
            ctx.out.bulk(if n.is_master() {
                b"master" as &[u8]
            } else {
                b"replica"
            });
            ctx.out.bulk(b"replication-offset");
            let off = if n.is(nflag::MYSELF) {
                my_offset
            } else {
                n.repl_offset
            };
            ctx.out.int(off as i64);
            ctx.out.bulk(b"health");
            ctx.out.bulk(if n.is(nflag::FAIL) {
                b"fail" as &[u8]
            } else if n.is_master() || off > 0 {
                b"online"
            } else {
                b"loading"
            });
        }
    }
    Ok(())
}

fn lookup(st: &State, arg: &[u8]) -> Result<Name, Error> {
    st.lookup(arg)
        .map(|n| n.name)
        .ok_or_else(|| Error::err(format!("Unknown node {}", String::from_utf8_lossy(arg))))
}

fn replicas(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let m = lookup(&st, &args[2])?;
    if !st.nodes[&m].is_master() {
        return Err(Error::err("The specified node is not a master"));
    }
    let reps = st.replicas_of(&m);
    ctx.out.array(reps.len());
    for r in reps {
        ctx.out.bulk(st.describe(&st.nodes[&r]).as_bytes());
    }
    Ok(())
}

fn keyslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.out.int(key_slot(&args[2]) as i64);
    Ok(())
}

fn parse_slot(a: &[u8]) -> Result<usize, Error> {
    match parse_i64(a) {
        Some(s) if (0..SLOTS as i64).contains(&s) => Ok(s as usize),
        _ => Err(Error::err("Invalid or out of range slot")),
    }
}

/// Keys of db 0 in a slot (a scan: no per-slot index yet).
fn keys_in_slot(ctx: &mut Ctx, slot: usize, limit: usize) -> Vec<Bytes> {
    let mut v = Vec::new();
    let db = &ctx.store.dbs[0];
    let mut cursor = 0;
    loop {
        cursor = db.scan(cursor, 1000, |e| {
            if v.len() < limit && key_slot(e.key.as_bytes()) as usize == slot {
                v.push(Bytes::copy_from_slice(e.key.as_bytes()));
            }
        });
        if cursor == 0 || v.len() >= limit {
            break;
        }
    }
    v
}

fn countkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cl(ctx)?;
    let slot = match parse_i64(&args[2]) {
        Some(s) if (0..SLOTS as i64).contains(&s) => s as usize,
        _ => return Err(Error::err("Invalid slot")),
    };
    let n = keys_in_slot(ctx, slot, usize::MAX).len();
    ctx.out.int(n as i64);
    Ok(())
}

fn getkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cl(ctx)?;
    let (slot, count) = match (parse_i64(&args[2]), parse_i64(&args[3])) {
        (Some(s), Some(c)) if (0..SLOTS as i64).contains(&s) && c >= 0 => (s as usize, c as usize),
        _ => return Err(Error::err("Invalid slot or number of keys")),
    };
    let keys = keys_in_slot(ctx, slot, count);
    ctx.out.bulks(keys.iter());
    Ok(())
}

fn meet(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    if args.len() > 5 {
        return Err(Error::err("syntax error"));
    }
    let port_s = String::from_utf8_lossy(&args[3]).into_owned();
    let port = match parse_i64(&args[3]) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => {
            return Err(Error::err(format!(
                "Invalid TCP base port specified: {}",
                port_s
            )))
        }
    };
    let cport = match args.get(4) {
        Some(a) => match parse_i64(a) {
            Some(p) if (0..=65535).contains(&p) => p as u16,
            _ => {
                return Err(Error::err(format!(
                    "Invalid TCP bus port specified: {}",
                    String::from_utf8_lossy(a)
                )))
            }
        },
        None => port.wrapping_add(10000),
    };
    let ip = String::from_utf8_lossy(&args[2]).into_owned();
    let mut st = c.state.lock();
    if !st.meet(crate::util::now_ms(), &ip, port, cport) {
        return Err(Error::err(format!(
            "Invalid node address specified: {}:{}",
            ip, port_s
        )));
    }
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn forget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let mut st = c.state.lock();
    let n = lookup(&st, &args[2])?;
    if n == st.myself {
        return Err(Error::err("I tried hard but I can't forget myself..."));
    }
    if st.me().is(nflag::SLAVE) && st.me().master == Some(n) {
        return Err(Error::err("Can't forget my master!"));
    }
    st.forget(&n, crate::util::now_ms());
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn change_slots(ctx: &mut Ctx, slots: Vec<usize>, add: bool) -> CmdResult {
    let c = cl(ctx)?;
    let mut st = c.state.lock();
    let mut seen = vec![false; SLOTS];
    for &s in &slots {
        if add && st.slots[s].is_some() {
            return Err(Error::err(format!("Slot {} is already busy", s)));
        }
        if !add && st.slots[s].is_none() {
            return Err(Error::err(format!("Slot {} is already unassigned", s)));
        }
        if seen[s] {
            return Err(Error::err(format!("Slot {} specified multiple times", s)));
        }
        seen[s] = true;
    }
    let me = st.myself;
    for s in slots {
        if add {
            st.importing.remove(&(s as u16));
            st.add_slot(&me, s);
        } else {
            st.del_slot(s);
        }
    }
    let e = env(ctx, &c);
    st.update_state(e);
    st.actions.push(crate::cluster::core::Action::SaveConfig);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn addslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = args[2..]
        .iter()
        .map(|a| parse_slot(a))
        .collect::<Result<Vec<_>, _>>()?;
    change_slots(ctx, slots, true)
}

fn delslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = args[2..]
        .iter()
        .map(|a| parse_slot(a))
        .collect::<Result<Vec<_>, _>>()?;
    change_slots(ctx, slots, false)
}

fn slot_ranges(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<usize>, Error> {
    if args.len() % 2 == 1 {
        return Err(Error::err(format!(
            "wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let mut v = Vec::new();
    for pair in args[2..].chunks(2) {
        let (a, b) = (parse_slot(&pair[0])?, parse_slot(&pair[1])?);
        if a > b {
            return Err(Error::err(format!(
                "start slot number {} is greater than end slot number {}",
                a, b
            )));
        }
        v.extend(a..=b);
    }
    Ok(v)
}

fn addslotsrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let v = slot_ranges(ctx, args)?;
    change_slots(ctx, v, true)
}

fn delslotsrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let v = slot_ranges(ctx, args)?;
    change_slots(ctx, v, false)
}

fn flushslots(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    if !ctx.store.dbs[0].is_empty() {
        return Err(Error::err(
            "DB must be empty to perform CLUSTER FLUSHSLOTS.",
        ));
    }
    let mut st = c.state.lock();
    for s in 0..SLOTS {
        if st.slots[s] == Some(st.myself) {
            st.del_slot(s);
        }
    }
    let e = env(ctx, &c);
    st.update_state(e);
    st.actions.push(crate::cluster::core::Action::SaveConfig);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn setslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let mut st = c.state.lock();
    if st.me().is(nflag::SLAVE) {
        return Err(Error::err("Please use SETSLOT only with masters."));
    }
    let slot = parse_slot(&args[2])?;
    let s16 = slot as u16;
    let action = &args[3];
    let node = |st: &State| -> Result<Name, Error> {
        let a = &args[4];
        st.lookup(a).map(|n| n.name).ok_or_else(|| {
            Error::err(format!(
                "I don't know about node {}",
                String::from_utf8_lossy(a)
            ))
        })
    };
    if eq_ic(action, "migrating") && args.len() == 5 {
        if st.slots[slot] != Some(st.myself) {
            return Err(Error::err(format!(
                "I'm not the owner of hash slot {}",
                slot
            )));
        }
        let n = node(&st)?;
        if !st.nodes[&n].is_master() {
            return Err(Error::err("Target node is not a master"));
        }
        st.migrating.insert(s16, n);
    } else if eq_ic(action, "importing") && args.len() == 5 {
        if st.slots[slot] == Some(st.myself) {
            return Err(Error::err(format!(
                "I'm already the owner of hash slot {}",
                slot
            )));
        }
        let n = node(&st)?;
        if !st.nodes[&n].is_master() {
            return Err(Error::err("Target node is not a master"));
        }
        st.importing.insert(s16, n);
    } else if eq_ic(action, "stable") && args.len() == 4 {
        st.migrating.remove(&s16);
        st.importing.remove(&s16);
    } else if eq_ic(action, "node") && args.len() == 5 {
        let n = st.lookup(&args[4]).map(|n| n.name).ok_or_else(|| {
            Error::err(format!(
                "Unknown node {}",
                String::from_utf8_lossy(&args[4])
            ))
        })?;
        if !st.nodes[&n].is_master() {
            return Err(Error::err("Target node is not a master"));
        }
        drop(st);
        let nkeys = keys_in_slot(ctx, slot, 1).len();
        let mut st = c.state.lock();
        if st.slots[slot] == Some(st.myself) && n != st.myself && nkeys != 0 {
            return Err(Error::err(format!(
                "Can't assign hashslot {} to a different node while I still hold keys for this hash slot.",
                slot
            )));
        }
        if nkeys == 0 {
            st.migrating.remove(&s16);
        }
        if n == st.myself && st.importing.remove(&s16).is_some() && st.bump_epoch() {
            let e = st.me().config_epoch;
            st.actions.push(crate::cluster::core::Action::Log(format!(
                "configEpoch updated after importing slot {}: {}",
                slot, e
            )));
        }
        st.del_slot(slot);
        st.add_slot(&n, slot);
        let e = env(ctx, &c);
        st.update_state(e);
        st.actions.push(crate::cluster::core::Action::SaveConfig);
        c.commit(&mut st);
        ctx.out.ok();
        return Ok(());
    } else {
        return Err(Error::err(
            "Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
        ));
    }
    st.actions.push(crate::cluster::core::Action::SaveConfig);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn replicate(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let mut st = c.state.lock();
    let n = lookup(&st, &args[2])?;
    if n == st.myself {
        return Err(Error::err("Can't replicate myself"));
    }
    if !st.nodes[&n].is_master() {
        return Err(Error::err("I can only replicate a master, not a replica."));
    }
    if st.me().is_master() && (st.me().numslots != 0 || !ctx.store.dbs[0].is_empty()) {
        return Err(Error::err(
            "To set a master the node must be empty and without assigned slots.",
        ));
    }
    st.set_my_master(&n);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn failover(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let mode = match args.get(2) {
        None => FailoverMode::Default,
        Some(a) if eq_ic(a, "force") && args.len() == 3 => FailoverMode::Force,
        Some(a) if eq_ic(a, "takeover") && args.len() == 3 => FailoverMode::Takeover,
        _ => return Err(Error::Syntax),
    };
    let mut st = c.state.lock();
    if st.me().is_master() {
        return Err(Error::err("You should send CLUSTER FAILOVER to a replica"));
    }
    let Some(m) = st.me().master.and_then(|m| st.nodes.get(&m)) else {
        return Err(Error::err("I'm a replica but my master is unknown to me"));
    };
    if mode == FailoverMode::Default
        && (m.is(nflag::FAIL)
            || !ctx
                .srv
                .repl
                .link_up
                .load(std::sync::atomic::Ordering::Relaxed))
    {
        return Err(Error::err(
            "Master is down or failed, please use CLUSTER FAILOVER FORCE",
        ));
    }
    let e = env(ctx, &c);
    st.start_manual_failover(e, mode);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn reset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let hard = match args.get(2) {
        None => false,
        Some(a) if eq_ic(a, "hard") && args.len() == 3 => true,
        Some(a) if eq_ic(a, "soft") && args.len() == 3 => false,
        _ => return Err(Error::Syntax),
    };
    let mut st = c.state.lock();
    if st.me().is_master() && !ctx.store.dbs[0].is_empty() {
        return Err(Error::err(
            "CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    if st.me().is(nflag::SLAVE) {
        // A replica forgets its data with its master (emptyData).
        let n = ctx.store.dbs[0].len() as u64;
        ctx.store.dbs[0].take_all();
        ctx.store.dirty += n;
    }
    st.reset(hard);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn saveconfig(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    c.save()
        .map_err(|e| Error::err(format!("error saving the cluster node config: {}", e)))?;
    ctx.out.ok();
    Ok(())
}

fn bumpepoch(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let mut st = c.state.lock();
    let bumped = st.bump_epoch();
    let e = st.me().config_epoch;
    c.commit(&mut st);
    ctx.out.simple(&format!(
        "{} {}",
        if bumped { "BUMPED" } else { "STILL" },
        e
    ));
    Ok(())
}

fn set_config_epoch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let epoch = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let mut st = c.state.lock();
    if epoch < 0 {
        return Err(Error::err(format!(
            "Invalid config epoch specified: {}",
            epoch
        )));
    }
    if st.nodes.len() > 1 {
        return Err(Error::err(
            "The user can assign a config epoch only when the node does not know any other node.",
        ));
    }
    if st.me().config_epoch != 0 {
        return Err(Error::err("Node config epoch is already non-zero"));
    }
    let me = st.myself;
    st.nodes.get_mut(&me).unwrap().config_epoch = epoch as u64;
    if st.current_epoch < epoch as u64 {
        st.current_epoch = epoch as u64;
    }
    st.actions.push(crate::cluster::core::Action::SaveConfig);
    c.commit(&mut st);
    ctx.out.ok();
    Ok(())
}

fn count_failure_reports(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let n = lookup(&st, &args[2])?;
    let timeout = st.params.node_timeout * 2;
    let now = crate::util::now_ms();
    let count = st.nodes[&n]
        .fail_reports
        .iter()
        .filter(|(_, t)| now.saturating_sub(*t) <= timeout)
        .count();
    ctx.out.int(count as i64);
    Ok(())
}

fn links(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let c = cl(ctx)?;
    let st = c.state.lock();
    let mut rows = Vec::new();
    for n in st.nodes.values() {
        for (l, dir) in [(n.link, "to"), (n.inbound, "from")] {
            if let Some(li) = l.and_then(|l| st.links.get(&l)) {
                rows.push((dir, n.name, li.ctime));
            }
        }
    }
    ctx.out.array(rows.len());
    for (dir, name, ctime) in rows {
        ctx.out.map(6);
        ctx.out.bulk(b"direction");
        ctx.out.bulk(dir.as_bytes());
        ctx.out.bulk(b"node");
        ctx.out.bulk(name_str(&name).as_bytes());
        ctx.out.bulk(b"create-time");
        ctx.out.int(ctime as i64);
        ctx.out.bulk(b"events");
        ctx.out
            .bulk(if dir == "to" { b"rw" as &[u8] } else { b"r" });
        ctx.out.bulk(b"send-buffer-allocated");
        ctx.out.int(0);
        ctx.out.bulk(b"send-buffer-used");
        ctx.out.int(0);
    }
    Ok(())
}
