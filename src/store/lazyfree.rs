//! Freeing large values off the critical section: UNLINK, DEL with
//! `lazyfree-lazy-user-del`, FLUSHALL/FLUSHDB ASYNC and the snapshot's parked
//! databases hand what they drop to one background thread, as Redis's
//! lazyfree BIO thread does. Dropping a 10M-element set takes a second; the
//! keyspace lock is not held meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// Values whose freeing costs more than this many allocations go to the
/// thread (Redis's LAZYFREE_THRESHOLD); smaller ones are cheaper to drop here.
pub const THRESHOLD: usize = 64;

type Garbage = Box<dyn Send>;

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> &'static Mutex<mpsc::Sender<Garbage>> {
    static TX: OnceLock<Mutex<mpsc::Sender<Garbage>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Garbage>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for g in rx {
                    drop(g);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawn the lazyfree thread");
        Mutex::new(tx)
    })
}

/// Drop `v` on the lazyfree thread.
pub fn free<T: Send + 'static>(v: T) {
    PENDING.fetch_add(1, Ordering::Relaxed);
    let tx = sender().lock().unwrap_or_else(|e| e.into_inner());
    if let Err(mpsc::SendError(g)) = tx.send(Box::new(v)) {
        // The thread is gone (process exiting): free here.
        drop(g);
        PENDING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Objects handed over and not yet freed (INFO lazyfree_pending_objects).
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects freed by the thread so far (INFO lazyfreed_objects).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn frees_in_the_background() {
        let before = super::freed();
        super::free(vec![0u8; 1 << 20]);
        let t0 = std::time::Instant::now();
        while super::freed() == before {
            assert!(t0.elapsed().as_secs() < 10, "never freed");
            std::thread::yield_now();
        }
    }
}
