//! The coordinated FAILOVER command (Redis 6.2+), master side.
//!
//! `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]` holds client writes (like
//! CLIENT PAUSE WRITE: they wait, they don't fail) and enters
//! `waiting-for-sync` until the target replica (without TO: any replica)
//! acknowledged our whole replication stream. Then, in the same keyspace
//! critical section (no write can slip in), the master turns itself into a
//! replica of the target (`failover-in-progress`) without dropping its own
//! replicas, and its link sends `PSYNC <replid> <offset+1> FAILOVER`. The
//! target promotes itself and answers `+CONTINUE`; writes are released (and
//! now get -READONLY here). A rejected PSYNC, FAILOVER ABORT or (without
//! FORCE) the timeout put everything back. Other replicas are not
//! reconfigured: they stay attached to this node, which passes the new
//! master's stream on (what Redis does).

use crate::server::Shared;
use crate::store::Store;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    None,
    WaitForSync,
    InProgress,
}

impl State {
    /// INFO `master_failover_state`.
    pub fn name(self) -> &'static str {
        match self {
            State::None => "no-failover",
            State::WaitForSync => "waiting-for-sync",
            State::InProgress => "failover-in-progress",
        }
    }
}

#[derive(Default)]
pub struct Failover {
    pub state: State,
    /// The replica to hand over to (chosen when it catches up if no TO was given).
    pub target: Option<(String, u16)>,
    /// TIMEOUT: when waiting-for-sync gives up (or, with FORCE, proceeds).
    pub end: Option<Instant>,
    pub force: bool,
    /// Bumped by every FAILOVER: a driver task of an older one stops.
    pub gen: u64,
}

fn target_name(f: &Failover) -> String {
    match &f.target {
        Some((h, p)) => format!("{h}:{p}"),
        None => "any replica".to_string(),
    }
}

/// Start a failover (the command validated everything). Keyspace lock held.
pub fn begin(srv: &Shared, target: Option<(String, u16)>, timeout_ms: u64, force: bool) {
    let gen = {
        let mut f = srv.repl.failover.lock();
        match &target {
            Some((h, p)) => tracing::info!("FAILOVER requested to {}:{}.", h, p),
            None => tracing::info!("FAILOVER requested to any replica."),
        }
        f.target = target;
        f.end = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        f.force = force;
        f.state = State::WaitForSync;
        f.gen += 1;
        f.gen
    };
    srv.pause.set_failover(true);
    // The replication cron also calls `step`; this task reacts to ACKs at once.
    if let (Some(me), Ok(rt)) = (srv.arc(), tokio::runtime::Handle::try_current()) {
        rt.spawn(drive(me, gen));
    }
}

/// Back to normal: forget the failover and release the held writes.
pub fn clear(srv: &Shared) {
    {
        let mut f = srv.repl.failover.lock();
        f.state = State::None;
        f.target = None;
        f.end = None;
        f.force = false;
    }
    srv.pause.set_failover(false);
}

/// Give up (ABORT, timeout, the target refused). If we had already turned
/// into a replica, become a master again. Keyspace lock held.
pub fn abort(srv: &Shared, store: &mut Store, why: &str) {
    let state = {
        let f = srv.repl.failover.lock();
        if f.state == State::None {
            return;
        }
        if f.target.is_some() {
            tracing::info!("FAILOVER to {} aborted: {}", target_name(&f), why);
        } else {
            tracing::info!("FAILOVER to any replica aborted: {}", why);
        }
        f.state
    };
    if state == State::InProgress {
        super::replica::unset_master(srv, store);
    }
    clear(srv);
}

/// The state, for the replica link (PSYNC ... FAILOVER) and INFO.
pub fn state(srv: &Shared) -> State {
    srv.repl.failover.lock().state
}

/// One check of a waiting failover (Redis's updateFailoverStatus): the
/// timeout, then whether the target (or any replica) acked our offset; if so
/// turn into its replica right here, under the keyspace lock.
pub fn step(srv: &Shared, store: &mut Store) {
    let (target, end, force) = {
        let f = srv.repl.failover.lock();
        if f.state != State::WaitForSync {
            return;
        }
        (f.target.clone(), f.end, f.force)
    };
    if end.is_some_and(|e| Instant::now() >= e) {
        if force {
            if let Some((h, p)) = target {
                tracing::info!("FAILOVER to {}:{} time out exceeded, failing over.", h, p);
                hand_over(srv, store, &h, p);
                return;
            }
        }
        abort(srv, store, "Replica never caught up before timeout");
        return;
    }
    let offset = store.repl.offset;
    let synced = {
        let reps = srv.repl.replicas.lock();
        match &target {
            Some((h, p)) => reps
                .iter()
                .find(|r| r.ip.eq_ignore_ascii_case(h) && r.port == *p)
                .filter(|r| r.ack_offset.load(Ordering::Relaxed) == offset)
                .map(|_| (h.clone(), *p)),
            None => reps
                .iter()
                .find(|r| r.ack_offset.load(Ordering::Relaxed) == offset)
                .map(|r| (r.ip.clone(), r.port)),
        }
    };
    if let Some((h, p)) = synced {
        tracing::info!("Failover target {}:{} is synced, failing over.", h, p);
        hand_over(srv, store, &h, p);
    }
}

/// Become a replica of the target; the link sends PSYNC ... FAILOVER.
fn hand_over(srv: &Shared, store: &mut Store, host: &str, port: u16) {
    {
        let mut f = srv.repl.failover.lock();
        f.state = State::InProgress;
        f.target = Some((host.to_string(), port));
    }
    super::replica::set_master_keep_replicas(srv, store, host, port);
}

/// The target answered our PSYNC ... FAILOVER: done, or roll back.
pub async fn psync_answered(srv: &Shared, accepted: bool) {
    if state(srv) != State::InProgress {
        return;
    }
    if accepted {
        clear(srv);
    } else {
        abort(
            srv,
            &mut *srv.store_lock().await,
            "Failover target rejected psync request",
        );
    }
}

/// Sending the PSYNC failed.
pub async fn write_error(srv: &Shared) {
    if state(srv) == State::InProgress {
        abort(
            srv,
            &mut *srv.store_lock().await,
            "Write error to failover target",
        );
    }
}

/// Re-check on every ACK (and every 100 ms for the timeout) until the
/// failover leaves waiting-for-sync.
async fn drive(srv: Arc<Shared>, gen: u64) {
    let mut acks = srv.repl.acks.subscribe();
    loop {
        {
            let mut store = srv.store_lock().await;
            {
                let f = srv.repl.failover.lock();
                if f.gen != gen || f.state != State::WaitForSync {
                    return;
                }
            }
            step(&srv, &mut store);
        }
        tokio::select! {
            r = acks.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_match_redis() {
        assert_eq!(State::None.name(), "no-failover");
        assert_eq!(State::WaitForSync.name(), "waiting-for-sync");
        assert_eq!(State::InProgress.name(), "failover-in-progress");
    }
}
