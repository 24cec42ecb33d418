//! Clients blocked on keys (BLPOP, BLMOVE, BLMPOP, ...).
//!
//! A blocked client registers one `Waiter` in a FIFO queue per key. Any write
//! to such a key marks it ready (through `Db::touch`, so plain commands,
//! MULTI/EXEC, scripts and other served waiters all count); after each
//! command the executor wakes the first waiter of every ready key. The waiter
//! re-runs its own command in its own critical section, so what it pops is
//! propagated like any other write (a served BLPOP replicates as LPOP). A
//! waiter keeps its place in line until it is served, times out, is
//! unblocked (CLIENT UNBLOCK) or disconnects; its own pop touches the key
//! again, which wakes the next waiter while elements remain.

use crate::store::{Db, SmallBytes};
use bytes::Bytes;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// CLIENT UNBLOCK modes recorded on a waiter.
pub const UNBLOCK_NONE: u8 = 0;
pub const UNBLOCK_TIMEOUT: u8 = 1;
pub const UNBLOCK_ERROR: u8 = 2;

/// One client's wake-up handle, shared with CLIENT UNBLOCK through its ClientHandle.
#[derive(Default)]
pub struct Waiter {
    pub notify: Notify,
    pub unblock: AtomicU8,
    /// Number of keys this waiter is queued on (0 = not blocked). Only changed under the keyspace lock.
    pub queued: std::sync::atomic::AtomicUsize,
}

impl Waiter {
    pub fn is_blocked(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > 0
    }
}

#[derive(Default)]
pub struct Blocking {
    queues: HashMap<(usize, SmallBytes), VecDeque<Arc<Waiter>>>,
}

impl Blocking {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Queue `w` on each key (at the back); no-op for keys it already waits on.
    pub fn register(&mut self, dbs: &mut [Db], keys: &[(usize, Bytes)], w: &Arc<Waiter>) {
        for (db, key) in keys {
            let q = self.queues.entry((*db, SmallBytes::new(key))).or_default();
            if q.iter().any(|x| Arc::ptr_eq(x, w)) {
                continue;
            }
            q.push_back(w.clone());
            *dbs[*db].blocked.entry(SmallBytes::new(key)).or_insert(0) += 1;
            w.queued.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Take `w` out of every queue it is in.
    pub fn unregister(&mut self, dbs: &mut [Db], keys: &[(usize, Bytes)], w: &Arc<Waiter>) {
        for (db, key) in keys {
            let k = (*db, SmallBytes::new(key));
            let Some(q) = self.queues.get_mut(&k) else {
                continue;
            };
            let before = q.len();
            q.retain(|x| !Arc::ptr_eq(x, w));
            if q.len() == before {
                continue;
            }
            w.queued.fetch_sub(1, Ordering::Relaxed);
            if q.is_empty() {
                self.queues.remove(&k);
            }
            if let Some(n) = dbs[*db].blocked.get_mut(&key[..]) {
                *n -= 1;
                if *n == 0 {
                    dbs[*db].blocked.remove(&key[..]);
                }
            }
        }
    }

    /// Wake the waiter queued right after `w` on `key`: a stream reader that
    /// had its look passes the turn on (serving it did not change the key).
    pub fn wake_after(&self, db: usize, key: &[u8], w: &Arc<Waiter>) {
        let Some(q) = self.queues.get(&(db, SmallBytes::new(key))) else {
            return;
        };
        if let Some(pos) = q.iter().position(|x| Arc::ptr_eq(x, w)) {
            if let Some(next) = q.get(pos + 1) {
                next.notify.notify_one();
            }
        }
    }

    /// Wake the first waiter of every key marked ready since the last call.
    pub fn wake_ready(&self, dbs: &mut [Db]) {
        for (i, db) in dbs.iter_mut().enumerate() {
            if db.ready.is_empty() {
                continue;
            }
            for key in db.ready.drain(..) {
                if let Some(w) = self.queues.get(&(i, key)).and_then(|q| q.front()) {
                    w.notify.notify_one();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn fifo_wakeups_follow_writes() {
        let mut dbs = vec![Db::new()];
        let mut b = Blocking::default();
        let (w1, w2) = (Arc::new(Waiter::default()), Arc::new(Waiter::default()));
        let keys = vec![(0, Bytes::from("q"))];
        b.register(&mut dbs, &keys, &w1);
        b.register(&mut dbs, &keys, &w2);
        b.register(&mut dbs, &keys, &w1); // already queued: keeps its place
        assert_eq!(w1.queued.load(Ordering::Relaxed), 1);
        dbs[0].set(b"other", Value::str(b"x"), false);
        assert!(dbs[0].ready.is_empty(), "only blocked-on keys become ready");
        dbs[0].set(b"q", Value::str(b"x"), false);
        b.wake_ready(&mut dbs);
        // w1 holds a permit, w2 does not.
        let waker = futures_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut f1 = std::pin::pin!(w1.notify.notified());
        assert!(f1.as_mut().poll(&mut cx).is_ready());
        let mut f2 = std::pin::pin!(w2.notify.notified());
        assert!(f2.as_mut().poll(&mut cx).is_pending());
        b.unregister(&mut dbs, &keys, &w1);
        b.unregister(&mut dbs, &keys, &w2);
        assert!(b.is_empty());
        assert!(dbs[0].blocked.is_empty());
        assert!(!w1.is_blocked() && !w2.is_blocked());
    }

    fn futures_waker() -> std::task::Waker {
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        Arc::new(Noop).into()
    }

    use std::future::Future;
}
