//! Server-assisted client-side caching (CLIENT TRACKING), as Redis 7.0's
//! tracking.c: the table of keys each tracking client has read (one-shot:
//! a key's entry is dropped when it is invalidated), the prefixes of
//! clients in BCAST mode with the keys modified under them since the last
//! broadcast, and where each client's invalidations go.
//!
//! Kept under the keyspace lock (in `Store`), so invalidations are produced
//! in the total write order; delivery is a `Push` on the receiving
//! connection's channel. Keys are global, not per database, as in Redis.

use crate::push::Push;
use bytes::Bytes;
use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// A client's tracking options (CLIENT TRACKING ON ...), kept by the client.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Client id invalidations go to; 0 for this connection.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// BCAST prefixes, sorted (as Redis's radix tree lists them).
    pub prefixes: BTreeSet<Bytes>,
    /// CLIENT CACHING yes/no given for the next command (OPTIN/OPTOUT).
    pub caching: bool,
    /// The redirect target was gone when an invalidation was due (flag R).
    pub broken: Arc<AtomicBool>,
}

impl Opts {
    /// Whether the keys read by the command now running are remembered.
    pub fn remembers_reads(&self) -> bool {
        // OPTIN: only after CACHING yes; OPTOUT: unless CACHING no.
        let opted_in = !self.optin || self.caching;
        let opted_out = self.optout && self.caching;
        !self.bcast && opted_in && !opted_out
    }
}

struct Target {
    tx: UnboundedSender<Push>,
    redirect: Option<(u64, UnboundedSender<Push>)>,
    bcast: bool,
    noloop: bool,
    broken: Arc<AtomicBool>,
    resp3: bool,
}

impl Target {
    fn send(&self, keys: Option<Vec<Bytes>>) {
        match &self.redirect {
            Some((to, tx)) => {
                let p = Push::Invalidate {
                    keys,
                    redirected: true,
                    null_resp3: self.resp3,
                };
                // The receiver is dropped with its connection: the target is gone.
                if tx.send(p).is_err() {
                    self.broken.store(true, Ordering::Relaxed);
                    let _ = self.tx.send(Push::RedirBroken(*to));
                }
            }
            None => {
                let _ = self.tx.send(Push::Invalidate {
                    keys,
                    redirected: false,
                    null_resp3: self.resp3,
                });
            }
        }
    }
}

#[derive(Default)]
struct Prefix {
    clients: BTreeSet<u64>,
    /// Keys modified under this prefix since the last broadcast, with the
    /// client that modified each last (None: the server itself, e.g. expiry).
    keys: BTreeMap<Bytes, Option<u64>>,
}

#[derive(Default)]
pub struct Tracking {
    /// Key -> ids of the clients that read it (default mode).
    table: HashMap<Bytes, Vec<u64>>,
    items: usize,
    /// By id: creation order, the order Redis walks its client list.
    clients: BTreeMap<u64, Target>,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// Keys in `prefixes` wait for `broadcast`.
    pending: bool,
}

/// Redis's stringCheckPrefix: two prefixes overlap when one starts the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// The BCAST prefix checks of CLIENT TRACKING ON, with Redis's error texts.
pub fn check_prefixes(existing: &BTreeSet<Bytes>, new: &[Bytes]) -> Result<(), String> {
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlaps(e, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(e)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlaps(p, q)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(q)
            ));
        }
    }
    Ok(())
}

impl Tracking {
    /// Some client tracks: modified keys must be looked at.
    pub fn active(&self) -> bool {
        !self.clients.is_empty()
    }

    /// Enable (or re-enable with new options) tracking for client `id`.
    /// `opts.prefixes` must already hold the client's full prefix set.
    pub fn enable(
        &mut self,
        id: u64,
        tx: &UnboundedSender<Push>,
        redirect: Option<(u64, UnboundedSender<Push>)>,
        opts: &Opts,
        resp3: bool,
    ) {
        if opts.bcast {
            for p in &opts.prefixes {
                self.prefixes
                    .entry(p.clone())
                    .or_default()
                    .clients
                    .insert(id);
            }
        }
        self.clients.insert(
            id,
            Target {
                tx: tx.clone(),
                redirect,
                bcast: opts.bcast,
                noloop: opts.noloop,
                broken: opts.broken.clone(),
                resp3,
            },
        );
    }

    /// The tracking client switched protocol (HELLO).
    pub fn set_resp3(&mut self, id: u64, resp3: bool) {
        if let Some(t) = self.clients.get_mut(&id) {
            t.resp3 = resp3;
        }
    }

    /// Stop tracking for client `id` (CLIENT TRACKING OFF, RESET, disconnect).
    /// Its entries in the key table stay until invalidated, as in Redis.
    pub fn disable(&mut self, id: u64, prefixes: &BTreeSet<Bytes>) {
        for p in prefixes {
            if let Some(state) = self.prefixes.get_mut(p) {
                state.clients.remove(&id);
                if state.clients.is_empty() {
                    self.prefixes.remove(p);
                }
            }
        }
        self.clients.remove(&id);
        if self.clients.is_empty() {
            // Nobody left to tell: the table would only hold dead ids.
            self.table.clear();
            self.items = 0;
        }
    }

    /// Remember that client `id` read `keys` (trackingRememberKeys).
    pub fn remember<'a>(&mut self, id: u64, keys: impl Iterator<Item = &'a [u8]>) {
        for k in keys {
            let ids = match self.table.get_mut(k) {
                Some(ids) => ids,
                None => self.table.entry(Bytes::copy_from_slice(k)).or_default(),
            };
            if !ids.contains(&id) {
                ids.push(id);
                self.items += 1;
            }
        }
    }

    /// `key` was modified by client `by` (None: by the server, e.g. expiry):
    /// tell every client that read it, and queue it for BCAST prefixes.
    pub fn invalidate(&mut self, key: &[u8], by: Option<u64>) {
        self.invalidate_raw(key, by, true);
    }

    fn invalidate_raw(&mut self, key: &[u8], by: Option<u64>, bcast: bool) {
        if bcast && !self.prefixes.is_empty() {
            for (p, state) in self.prefixes.iter_mut() {
                if key.starts_with(p) {
                    state.keys.insert(Bytes::copy_from_slice(key), by);
                    self.pending = true;
                }
            }
        }
        let Some(ids) = self.table.remove(key) else {
            return;
        };
        self.items -= ids.len();
        let key = Bytes::copy_from_slice(key);
        for id in ids {
            let Some(t) = self.clients.get(&id) else {
                continue;
            };
            // Entries left from before a switch to BCAST are not sent.
            if t.bcast || (t.noloop && by == Some(id)) {
                continue;
            }
            t.send(Some(vec![key.clone()]));
        }
    }

    /// Send what BCAST prefixes collected (Redis does it before sleeping;
    /// here after each command).
    pub fn broadcast(&mut self) {
        if !self.pending {
            return;
        }
        self.pending = false;
        for state in self.prefixes.values_mut() {
            if state.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut state.keys);
            let all: Vec<Bytes> = keys.keys().cloned().collect();
            for id in &state.clients {
                let Some(t) = self.clients.get(id) else {
                    continue;
                };
                if t.noloop {
                    // Leave out the keys this client changed last itself.
                    let some: Vec<Bytes> = keys
                        .iter()
                        .filter(|(_, by)| **by != Some(*id))
                        .map(|(k, _)| k.clone())
                        .collect();
                    if !some.is_empty() {
                        t.send(Some(some));
                    }
                } else {
                    t.send(Some(all.clone()));
                }
            }
        }
    }

    /// A flush: every tracking client is told "all keys" (a null), and the
    /// key table is emptied (trackingInvalidateKeysOnFlush).
    pub fn invalidate_all(&mut self) {
        for t in self.clients.values() {
            t.send(None);
        }
        self.table.clear();
        self.items = 0;
    }

    /// Keep the key table within `tracking-table-max-keys` (0: no limit): drop keys (telling
    /// their readers, as if modified) until under the limit.
    pub fn limit(&mut self, max_keys: usize) {
        if max_keys == 0 || self.table.len() <= max_keys {
            return;
        }
        let over = self.table.len() - max_keys;
        let victims: Vec<Bytes> = self.table.keys().take(over).cloned().collect();
        for k in victims {
            self.invalidate_raw(&k, None, false);
        }
    }

    /// INFO tracking_total_keys.
    pub fn keys(&self) -> usize {
        self.table.len()
    }

    /// INFO tracking_total_items.
    pub fn items(&self) -> usize {
        self.items
    }

    /// INFO tracking_total_prefixes.
    pub fn prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// INFO tracking_clients.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn keys_of(p: Push) -> (Option<Vec<Bytes>>, bool) {
        match p {
            Push::Invalidate {
                keys, redirected, ..
            } => (keys, redirected),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn default_mode_is_one_shot_and_noloop_skips_own_writes() {
        let mut t = Tracking::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let opts = Opts {
            noloop: true,
            ..Default::default()
        };
        t.enable(7, &tx, None, &opts, true);
        t.remember(7, [b"a".as_slice(), b"b"].into_iter());
        assert_eq!((t.keys(), t.items()), (2, 2));
        t.invalidate(b"a", Some(9));
        assert_eq!(
            keys_of(rx.try_recv().unwrap()).0.unwrap(),
            vec![Bytes::from("a")]
        );
        t.invalidate(b"a", Some(9));
        assert!(rx.try_recv().is_err(), "one-shot: a is no longer tracked");
        t.invalidate(b"b", Some(7));
        assert!(rx.try_recv().is_err(), "NOLOOP: own write");
        assert_eq!(t.keys(), 0);
    }

    #[test]
    fn bcast_collects_sorted_keys_per_prefix() {
        let mut t = Tracking::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let opts = Opts {
            bcast: true,
            prefixes: [Bytes::from("user:")].into_iter().collect(),
            ..Default::default()
        };
        t.enable(1, &tx, None, &opts, true);
        t.invalidate(b"user:2", None);
        t.invalidate(b"other", None);
        t.invalidate(b"user:1", None);
        t.broadcast();
        let (keys, _) = keys_of(rx.try_recv().unwrap());
        assert_eq!(
            keys.unwrap(),
            vec![Bytes::from("user:1"), Bytes::from("user:2")]
        );
        assert!(rx.try_recv().is_err());
        t.disable(1, &opts.prefixes);
        assert_eq!(t.prefixes(), 0);
    }

    #[test]
    fn broken_redirect_is_reported_to_the_tracking_client() {
        let mut t = Tracking::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (rtx, rrx) = mpsc::unbounded_channel::<Push>();
        drop(rrx);
        let opts = Opts {
            redirect: 5,
            ..Default::default()
        };
        t.enable(1, &tx, Some((5, rtx)), &opts, true);
        t.remember(1, [b"k".as_slice()].into_iter());
        t.invalidate(b"k", None);
        assert!(matches!(rx.try_recv().unwrap(), Push::RedirBroken(5)));
        assert!(opts.broken.load(Ordering::Relaxed));
    }

    #[test]
    fn limit_evicts_with_invalidations() {
        let mut t = Tracking::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        t.enable(1, &tx, None, &Opts::default(), true);
        t.remember(1, [b"a".as_slice(), b"b", b"c"].into_iter());
        t.limit(2);
        assert_eq!(t.keys(), 2);
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn prefix_overlap_texts() {
        let existing: BTreeSet<Bytes> = [Bytes::from("ab")].into_iter().collect();
        assert_eq!(
            check_prefixes(&existing, &[Bytes::from("a")]).unwrap_err(),
            "ERR Prefix 'a' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap."
        );
        assert!(check_prefixes(&existing, &[Bytes::from("b"), Bytes::from("c")]).is_ok());
        assert!(
            check_prefixes(&BTreeSet::new(), &[Bytes::from("x"), Bytes::from("xy")])
                .unwrap_err()
                .contains("another provided prefix 'xy'")
        );
    }
}
