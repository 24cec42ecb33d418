//! Running a data node: bind, serve, run the periodic jobs, shut down gracefully.

use crate::config::Config;
use crate::server::Shared;
use crate::store::expire::{expire_step, SAMPLE};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(
    mut config: Config,
    set_level: Option<crate::logging::LevelSetter>,
) -> Result<(), String> {
    let dir = config.dir.clone();
    if dir != "." {
        std::env::set_current_dir(&dir).map_err(|e| format!("can't chdir to '{}': {}", dir, e))?;
    }
    // Like Redis (CONFIG GET dir shows getcwd): from now on `dir` is absolute,
    // so the dump path does not depend on the working directory.
    if let Ok(cwd) = std::env::current_dir() {
        config.dir = cwd.display().to_string();
    }
    let pidfile = crate::ops::PidFile::create(&config.pidfile);
    let supervised = config.supervised.clone();
    let srv = Shared::with_log_level(config, set_level);
    srv.notifier.log_startup(&supervised);
    tokio::spawn(crate::logging::reopen_on_sighup());
    // Like Redis: listen first, then load the dump; meanwhile clients get
    // -LOADING (commands without the `loading` flag) and INFO shows loading:1.
    // The role is known before the first client arrives (Redis reads
    // `replicaof` with its config); the link starts once the dump is loaded.
    boot_replicaof(&srv)?;
    let listeners = crate::net::bind_all(&srv).await?;
    // After binding: with `port 0` the announced port is the one we got.
    let cluster_enabled = srv.config.read().cluster_enabled;
    if cluster_enabled {
        let port = srv.tcp_port.load(std::sync::atomic::Ordering::Relaxed) as u16;
        let cl = crate::cluster::Cluster::open(&srv.config.read(), port)?;
        let _ = srv.cluster.set(cl.clone());
        crate::cluster::bus::start(srv.clone(), cl).await?;
    }
    let addrs = crate::net::describe(&listeners);
    let aof_on = srv.aof.settings.read().enabled;
    let manifest = match srv.aof.read_manifest() {
        Ok(m) => m,
        Err(e) if aof_on => return Err(e),
        Err(e) => {
            tracing::warn!("{e} (appendonly is off: ignored)");
            None
        }
    };
    if (aof_on && manifest.is_some()) || (!aof_on && srv.persist.settings().path.exists()) {
        srv.persist.begin_loading();
        for a in &addrs {
            tracing::info!("Listening on {}, loading the dataset", a);
        }
    }
    let serving = tokio::spawn(crate::net::serve(srv.clone(), listeners));
    {
        let loader = srv.clone();
        // Like Redis: with appendonly yes the AOF is the dataset, the dump is not read.
        let loaded = tokio::task::spawn_blocking(move || match (aof_on, manifest) {
            (false, _) => loader.persist.load_at_startup(),
            (true, None) => loader
                .aof
                .create_at_startup()
                .map_err(|e| format!("Can't create the AOF: {e}")),
            (true, Some(m)) => load_aof(&loader, &m),
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        if let Err(e) = loaded {
            srv.begin_shutdown();
            serving.abort();
            return Err(e);
        }
    }
    tracing::info!(
        "rsredis {} (Redis {} compatible) pid={} run_id={}",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_VERSION,
        std::process::id(),
        srv.run_id
    );
    for a in addrs {
        tracing::info!("Ready to accept connections on {}", a);
    }
    tokio::spawn(expire_loop(srv.clone()));
    tokio::spawn(persist_loop(srv.clone()));
    tokio::spawn(clients_loop(srv.clone()));
    tokio::spawn(crate::repl::replica::supervisor(srv.clone()));
    // Like Redis 7.0: a master is ready once its dataset is loaded; a
    // replica after its first successful sync with its master (repl/replica.rs).
    if srv.repl.is_replica() {
        srv.notifier.status("Waiting for MASTER <-> REPLICA sync");
    } else {
        srv.notifier.ready("Ready to accept connections");
    }
    tokio::spawn(signals(srv.clone()));
    let _ = serving.await;

    // Graceful: no new connections; let in-flight batches finish and flush.
    tracing::info!("User requested shutdown...");
    srv.notifier.stopping();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.clients.lock().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let srv = srv.clone();
        let _ = tokio::task::spawn_blocking(move || {
            srv.persist.final_save();
            srv.aof.shutdown();
        })
        .await;
    }
    if let Some(p) = pidfile {
        tracing::info!("Removing the pid file.");
        p.remove();
    }
    tracing::info!("rsredis is now ready to exit, bye bye...");
    Ok(())
}

/// Load the AOF the manifest lists: the BASE's RDB installed directly, every
/// command run through the executor as our master's stream is (a client
/// obeyed whatever our state), then append to the last INCR file.
fn load_aof(srv: &Arc<Shared>, m: &crate::persist::aof::manifest::Manifest) -> Result<(), String> {
    use crate::cmd::exec;
    use crate::net::client::{Client, ClientHandle};
    let t = Instant::now();
    let s = srv.aof.settings.read().clone();
    let total: u64 = m
        .load_order()
        .map(|e| std::fs::metadata(s.dir.join(&e.name)).map_or(0, |md| md.len()))
        .sum();
    srv.persist.start_loading(total);
    let opts = srv.persist.settings().load_opts(true);
    let addr: std::net::SocketAddr = "0.0.0.0:0".parse().expect("addr");
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = Arc::new(ClientHandle::new(0, addr, addr, tx));
    let mut client = Client::new(handle, true, srv.config_snapshot());
    client.master_link = true;
    let mut out = crate::resp::Out::new(crate::resp::Proto::Resp2);
    let mut post = Vec::new();
    let mut commands = 0u64;
    let mut install = |loaded: crate::persist::rdb::Loaded| srv.persist.install(loaded);
    let mut apply = |args: Vec<bytes::Bytes>| {
        if exec::resolve(&args).is_err() {
            return Err(format!(
                "Unknown command '{}'",
                String::from_utf8_lossy(&args[0])
            ));
        }
        let mut store = srv.store.lock();
        exec::execute(srv, &mut store, &mut client, &mut out, &mut post, &args);
        out.buf.clear();
        post.clear();
        commands += 1;
        Ok(())
    };
    let mut hooks = crate::persist::aof::loader::Hooks {
        install_rdb: &mut install,
        apply: &mut apply,
    };
    let r = crate::persist::aof::loader::load(&s.dir, m, &opts, s.load_truncated, &mut hooks);
    let sizes = match r {
        Ok(sizes) => sizes,
        Err(e) => {
            srv.persist.end_loading();
            return Err(e);
        }
    };
    srv.persist
        .loading_loaded_bytes
        .store(total, std::sync::atomic::Ordering::Relaxed);
    srv.aof
        .open_after_load(sizes)
        .map_err(|e| format!("Can't open the AOF for appending: {e}"))?;
    srv.persist.end_loading();
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({commands} commands)",
        t.elapsed().as_secs_f64()
    );
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
    crate::net::shutdown_signal().await;
    srv.begin_shutdown();
}

/// Clients cron, once a second: buffer peaks for INFO.
async fn clients_loop(srv: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if srv.is_shutting_down() {
            return;
        }
        srv.clients_cron();
    }
}

/// Persistence cron, once a second: scheduled BGSAVE and `save` points.
async fn persist_loop(srv: Arc<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if srv.is_shutting_down() {
            return;
        }
        if srv.scripts.running() {
            continue;
        }
        let s = srv.clone();
        let _ = tokio::task::spawn_blocking(move || {
            s.persist.cron();
            s.aof.cron();
        })
        .await;
    }
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
        let ndb = srv.store_lock().await.dbs.len();
        'dbs: for db in 0..ndb {
            loop {
                let expired = {
                    let mut st = srv.store_lock().await;
                    if !st.active_expire || !st.dbs[db].expire_deletes {
                        break 'dbs;
                    }
                    st.stats.expire_cycles += 1;
                    let now = crate::util::now_ms();
                    st.dbs[db].now = now;
                    let n = expire_step(&mut st, db, &mut rng);
                    if st.tracking.active() {
                        // Expired keys invalidate client caches (no client did it).
                        st.tracking_sync(None);
                    }
                    n
                };
                if expired <= SAMPLE / 4 {
                    break;
                }
                if start.elapsed() > budget {
                    srv.store.lock().stats.expire_time_cap_reached += 1;
                    break 'dbs;
                }
            }
        }
        let took = start.elapsed();
        srv.store.lock().stats.expire_cycle_us += took.as_micros() as u64;
        let th = srv.config.read().latency_monitor_threshold;
        srv.latency
            .add_if_needed(th, "expire-cycle", took.as_millis() as u64);
    }
}
