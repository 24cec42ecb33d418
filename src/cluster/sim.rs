//! Seeded simulation of several cluster cores (the real `State`) on a
//! virtual network: message delays, a killed master, and the invariants of
//! Redis Cluster checked in every run: the nodes converge on one node
//! table and slot map; a failed master's replica is elected with a
//! majority of masters in an epoch nobody else owns; no slot ever has two
//! owners with the same config epoch; every node ends up agreeing.

use super::core::{Action, Env, LinkId, Params, State};
use super::msg::{nflag, typ, Msg, Name};
use super::slot::SLOTS;
use std::collections::{BTreeMap, HashMap};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One TCP connection: (from node, its link id) -> (to node, its link id).
#[derive(Clone, Copy)]
struct Conn {
    to: usize,
    to_link: LinkId,
}

struct World {
    nodes: Vec<State>,
    alive: Vec<bool>,
    offsets: Vec<u64>,
    /// (node, link) -> the peer end.
    conns: HashMap<(usize, LinkId), Conn>,
    /// (deliver at, seq, to node, to link, message)
    queue: BTreeMap<(u64, u64), (usize, LinkId, Msg)>,
    seq: u64,
    now: u64,
    rng: Rng,
    /// bus port -> node index.
    ports: HashMap<u16, usize>,
    /// Elections won: (node, epoch).
    wins: Vec<(usize, u64)>,
}

impl World {
    fn new(n: usize, seed: u64) -> World {
        let now = 1_700_000_000_000;
        let nodes = (0..n)
            .map(|i| {
                let p = Params {
                    node_timeout: 2000,
                    port: 7000 + i as u16,
                    cport: 17000 + i as u16,
                    announce_ip: "10.0.0.1".into(),
                    ..Params::default()
                };
                State::new(p, seed.wrapping_mul(31).wrapping_add(i as u64), now)
            })
            .collect();
        World {
            nodes,
            alive: vec![true; n],
            offsets: vec![0; n],
            conns: HashMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            now,
            rng: Rng(seed),
            ports: (0..n).map(|i| (17000 + i as u16, i)).collect(),
            wins: Vec::new(),
        }
    }

    fn env(&self, i: usize) -> Env {
        Env {
            now: self.now,
            repl_offset: self.offsets[i],
            master_link_down_ms: 0,
        }
    }

    fn run_actions(&mut self, i: usize) {
        loop {
            let acts = self.nodes[i].take_actions();
            if acts.is_empty() {
                return;
            }
            for a in acts {
                match a {
                    Action::Connect { link, cport, .. } => {
                        let Some(&j) = self.ports.get(&cport) else {
                            continue;
                        };
                        if !self.alive[j] || !self.alive[i] {
                            self.nodes[i].link_down(link);
                            continue;
                        }
                        let inb = self.nodes[j].accept(self.now, "10.0.0.1", "10.0.0.1");
                        self.conns.insert(
                            (i, link),
                            Conn {
                                to: j,
                                to_link: inb,
                            },
                        );
                        self.conns.insert(
                            (j, inb),
                            Conn {
                                to: i,
                                to_link: link,
                            },
                        );
                        let e = self.env(i);
                        self.nodes[i].link_up(e, link, "10.0.0.1");
                    }
                    Action::Send { link, msg } => {
                        if let Some(c) = self.conns.get(&(i, link)).copied() {
                            let delay = 1 + self.rng.next() % 30;
                            self.seq += 1;
                            // Round trip through the codec: the bytes are what travels.
                            let m = Msg::decode(&msg.encode()).expect("codec round trip");
                            self.queue
                                .insert((self.now + delay, self.seq), (c.to, c.to_link, m));
                        }
                    }
                    Action::Close { link } => {
                        if let Some(c) = self.conns.remove(&(i, link)) {
                            self.conns.remove(&(c.to, c.to_link));
                            self.nodes[c.to].link_down(c.to_link);
                        }
                    }
                    Action::Promote => {
                        let e = self.nodes[i].me().config_epoch;
                        self.wins.push((i, e));
                    }
                    _ => {}
                }
            }
        }
    }

    fn kill(&mut self, i: usize) {
        self.alive[i] = false;
        let mine: Vec<(usize, LinkId)> = self.conns.keys().filter(|k| k.0 == i).copied().collect();
        for k in mine {
            if let Some(c) = self.conns.remove(&k) {
                self.conns.remove(&(c.to, c.to_link));
                self.nodes[c.to].link_down(c.to_link);
            }
        }
    }

    /// Advance virtual time by `ms`, delivering messages and ticking every 100 ms.
    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        let mut next_tick = self.now - self.now % 100 + 100;
        while self.now < end {
            let next_msg = self.queue.keys().next().map(|k| k.0).unwrap_or(u64::MAX);
            if next_msg <= next_tick {
                let (k, (to, link, m)) = self.queue.pop_first().unwrap();
                self.now = k.0;
                if self.alive[to] && self.conns.contains_key(&(to, link)) {
                    let e = self.env(to);
                    self.nodes[to].on_msg(e, link, m);
                    self.run_actions(to);
                }
            } else {
                self.now = next_tick;
                next_tick += 100;
                for i in 0..self.nodes.len() {
                    if self.alive[i] {
                        self.offsets[i] += 10;
                        let e = self.env(i);
                        self.nodes[i].tick(e);
                        self.run_actions(i);
                    }
                }
            }
            self.check_invariants();
        }
    }

    fn check_invariants(&self) {
        // An epoch is won by at most one node.
        let mut by_epoch: HashMap<u64, usize> = HashMap::new();
        for &(n, e) in &self.wins {
            if let Some(&other) = by_epoch.get(&e) {
                assert_eq!(other, n, "two winners of epoch {e}");
            }
            by_epoch.insert(e, n);
        }
    }

    fn name(&self, i: usize) -> Name {
        self.nodes[i].myself
    }

    fn converged(&self) -> bool {
        let live: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.alive[i]).collect();
        let first = &self.nodes[live[0]];
        live.iter().all(|&i| {
            let s = &self.nodes[i];
            s.ok && s.slots == first.slots
                && s.nodes.len() == self.nodes.len()
                && s.nodes.values().all(|n| !n.is(nflag::HANDSHAKE))
        })
    }
}

/// What redis-cli --cluster create does: slots, distinct epochs, MEETs,
/// then replicas.
fn create(w: &mut World, masters: usize) {
    let n = w.nodes.len();
    let per = SLOTS / masters;
    for m in 0..masters {
        let me = w.name(m);
        let end = if m + 1 == masters {
            SLOTS
        } else {
            (m + 1) * per
        };
        for s in m * per..end {
            w.nodes[m].add_slot(&me, s);
        }
        w.nodes[m].me_mut_for_sim().config_epoch = m as u64 + 1;
        w.nodes[m].current_epoch = m as u64 + 1;
    }
    for i in 1..n {
        let now = w.now;
        assert!(w.nodes[i].meet(now, "10.0.0.1", 7000, 17000));
    }
    w.run(6000);
    for r in masters..n {
        let m = w.name(r % masters);
        w.nodes[r].set_my_master(&m);
        w.run_actions(r);
    }
    w.run(4000);
}

impl State {
    fn me_mut_for_sim(&mut self) -> &mut super::core::Node {
        let me = self.myself;
        self.nodes.get_mut(&me).unwrap()
    }
}

#[test]
fn seeded_runs_converge_and_fail_over() {
    for seed in 1..=40u64 {
        let mut w = World::new(6, seed);
        create(&mut w, 3);
        assert!(
            w.converged(),
            "seed {seed}: did not converge: {:?}",
            (0..6)
                .map(|i| (
                    w.nodes[i].ok,
                    w.nodes[i].nodes.len(),
                    w.nodes[i].nodes_text(false)
                ))
                .collect::<Vec<_>>()
        );
        for i in 0..6 {
            assert_eq!(w.nodes[i].nodes.len(), 6);
        }
        // Kill a master (chosen by the seed): exactly its replica wins.
        let victim = (seed % 3) as usize;
        let replica = victim + 3;
        w.kill(victim);
        w.run(15_000);
        assert_eq!(
            w.wins.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![replica],
            "seed {seed}: elections {:?}",
            w.wins
        );
        let vname = w.name(victim);
        for i in (0..6).filter(|&i| i != victim) {
            let s = &w.nodes[i];
            assert!(s.ok, "seed {seed}: node {i} not ok");
            assert!(s.nodes[&vname].is(nflag::FAIL), "seed {seed}: node {i}");
            assert!(
                s.slots.iter().all(|o| *o != Some(vname)),
                "seed {seed}: node {i} still routes to the dead master"
            );
        }
        let e = w.nodes[replica].me().config_epoch;
        assert!(e > 3, "seed {seed}: the winner's epoch {e} is new");
        assert!(w.nodes[replica].received[typ::AUTH_ACK as usize] >= 2);
    }
}

#[test]
fn config_epoch_collisions_resolve() {
    for seed in 1..=20u64 {
        let mut w = World::new(4, seed);
        // Every master claims the same epoch: collisions must end with
        // distinct epochs everywhere.
        for m in 0..4 {
            let me = w.name(m);
            for s in (m * 4096)..((m + 1) * 4096) {
                w.nodes[m].add_slot(&me, s);
            }
            w.nodes[m].me_mut_for_sim().config_epoch = 1;
            w.nodes[m].current_epoch = 1;
        }
        for i in 1..4 {
            let now = w.now;
            w.nodes[i].meet(now, "10.0.0.1", 7000, 17000);
        }
        w.run(20_000);
        let mut epochs: Vec<u64> = (0..4).map(|i| w.nodes[i].me().config_epoch).collect();
        epochs.sort();
        epochs.dedup();
        assert_eq!(epochs.len(), 4, "seed {seed}: {:?}", epochs);
        assert!(w.converged(), "seed {seed}");
    }
}
