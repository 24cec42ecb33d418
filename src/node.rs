//! Running a data node: bind, serve, run the periodic jobs, shut down gracefully.

use crate::config::Config;
use crate::server::Shared;
use crate::store::expire::{expire_step, SAMPLE};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(
    config: Config,
    set_level: Option<crate::logging::LevelSetter>,
) -> Result<(), String> {
    let dir = config.dir.clone();
    if dir != "." {
        std::env::set_current_dir(&dir).map_err(|e| format!("can't chdir to '{}': {}", dir, e))?;
    }
    let mut shared = Shared::new(config);
    if let Some(f) = set_level {
        Arc::get_mut(&mut shared).expect("fresh").log_level = Some(f);
    }
    let srv = shared;
    let listeners = crate::net::bind_all(&srv).await?;
    tracing::info!(
        "rsredis {} (Redis {} compatible) pid={} run_id={}",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_VERSION,
        std::process::id(),
        srv.run_id
    );
    for a in crate::net::describe(&listeners) {
        tracing::info!("Ready to accept connections on {}", a);
    }
    tokio::spawn(expire_loop(srv.clone()));
    tokio::spawn(crate::repl::replica::supervisor(srv.clone()));
    boot_replicaof(&srv)?;
    tokio::spawn(signals(srv.clone()));
    crate::net::serve(srv.clone(), listeners).await;

    // Graceful: no new connections; let in-flight batches finish and flush.
    tracing::info!("User requested shutdown...");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.clients.lock().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!("rsredis is now ready to exit, bye bye...");
    Ok(())
}

/// `replicaof = "host port"` in the config: follow that master from the start
/// (no cached history: the first PSYNC is `PSYNC ? -1`).
fn boot_replicaof(srv: &Shared) -> Result<(), String> {
    let spec = srv.config.read().replicaof.clone();
    let parts: Vec<&str> = spec.split_whitespace().collect();
    match parts.as_slice() {
        [] => Ok(()),
        [host, port] => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("replicaof: invalid master port '{}'", port))?;
            let mut store = srv.store.lock();
            crate::repl::replica::set_master(srv, &mut store, host, port, false);
            // A fresh node has no history to offer: `set_master` keeps `cached` only for former masters.
            if let Some(m) = srv.repl.master.lock().as_mut() {
                m.cached = false;
            }
            Ok(())
        }
        _ => Err(format!("replicaof: expected \"host port\", got '{}'", spec)),
    }
}

async fn signals(srv: Arc<Shared>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::info!("Received SIGINT scheduling shutdown..."),
    }
    srv.begin_shutdown();
}

/// Active expiry, `hz` times a second: per database, sample keys with a TTL
/// and repeat while more than a quarter of a sample had expired, for at most
/// 25% of the period. The lock is released between steps.
async fn expire_loop(srv: Arc<Shared>) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::from_entropy();
    loop {
        let hz = srv.config.read().hz.max(1) as u64;
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        if srv.is_shutting_down() {
            return;
        }
        crate::util::resync_clock();
        // A running script holds the keyspace lock (and Redis does not expire during scripts).
        if srv.scripts.running() {
            continue;
        }
        let budget = period / 4;
        let start = Instant::now();
        let ndb = srv.store.lock().dbs.len();
        'dbs: for db in 0..ndb {
            loop {
                let expired = {
                    let mut st = srv.store.lock();
                    if !st.active_expire || !st.dbs[db].expire_deletes {
                        break 'dbs;
                    }
                    st.stats.expire_cycles += 1;
                    let now = crate::util::now_ms();
                    st.dbs[db].now = now;
                    expire_step(&mut st, db, &mut rng)
                };
                if expired <= SAMPLE / 4 {
                    break;
                }
                if start.elapsed() > budget {
                    break 'dbs;
                }
            }
        }
    }
}
