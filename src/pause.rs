//! The one pause: CLIENT PAUSE (ALL or WRITE, with a deadline) and
//! FAILOVER's write pause are purposes of the same mechanism, as in Redis
//! (`pauseActions` with PAUSE_BY_CLIENT_COMMAND / PAUSE_DURING_FAILOVER).
//! The admission check asks `holds`; a held client awaits `wait` with the
//! keyspace lock released, then is admitted again.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseMode {
    /// Every client command waits.
    All,
    /// Commands that may write (flags WRITE or MAY_REPLICATE) wait.
    Write,
}

#[derive(Default)]
struct Purposes {
    /// CLIENT PAUSE: until when, and what.
    client: Option<(Instant, PauseMode)>,
    /// FAILOVER: writes are held until the hand-over ends (no deadline).
    failover: bool,
}

#[derive(Default)]
pub struct Pause {
    purposes: Mutex<Purposes>,
    /// Fast path: false when no purpose is set (one relaxed load per batch).
    active: AtomicBool,
    changed: Notify,
}

impl Pause {
    /// Does a pause hold a command now? `may_write`: the command has WRITE or
    /// MAY_REPLICATE among its (effective) flags.
    #[inline]
    pub fn holds(&self, may_write: bool) -> bool {
        self.active.load(Ordering::Acquire) && self.until(may_write, Instant::now()).is_some()
    }

    /// When the pause holding such a command ends: `Some(None)` = held with
    /// no deadline (failover), `Some(Some(t))` = held until t, None = not held.
    fn until(&self, may_write: bool, now: Instant) -> Option<Option<Instant>> {
        let p = self.purposes.lock();
        if p.failover && may_write {
            return Some(None);
        }
        match p.client {
            Some((until, mode)) if now < until && (mode == PauseMode::All || may_write) => {
                Some(Some(until))
            }
            _ => None,
        }
    }

    /// Wait (without the keyspace lock) until the pause no longer holds such
    /// a command. Ends are signalled; the failover's is also polled in case
    /// the signal raced the check.
    pub async fn wait(&self, may_write: bool) {
        loop {
            let notified = self.changed.notified();
            let wake = match self.until(may_write, Instant::now()) {
                None => return,
                Some(Some(t)) => t,
                Some(None) => Instant::now() + Duration::from_millis(50),
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            }
        }
    }

    /// CLIENT PAUSE: like Redis, a second pause can only extend the end time and widen the mode.
    pub fn client_pause(&self, until: Instant, mode: PauseMode) {
        {
            let mut p = self.purposes.lock();
            let (until, mode) = match p.client {
                Some((old_until, old_mode)) if old_until > Instant::now() => (
                    old_until.max(until),
                    if old_mode == PauseMode::All {
                        PauseMode::All
                    } else {
                        mode
                    },
                ),
                _ => (until, mode),
            };
            p.client = Some((until, mode));
            self.active.store(true, Ordering::Release);
        }
        self.changed.notify_waiters();
    }

    /// CLIENT UNPAUSE.
    pub fn client_unpause(&self) {
        self.set(|p| p.client = None);
    }

    /// FAILOVER holds writes from its start until it ends or is aborted.
    pub fn set_failover(&self, on: bool) {
        self.set(|p| p.failover = on);
    }

    pub fn failover(&self) -> bool {
        self.purposes.lock().failover
    }

    fn set(&self, f: impl FnOnce(&mut Purposes)) {
        {
            let mut p = self.purposes.lock();
            f(&mut p);
            self.active
                .store(p.client.is_some() || p.failover, Ordering::Release);
        }
        self.changed.notify_waiters();
    }
}
