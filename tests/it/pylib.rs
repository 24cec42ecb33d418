//! Real client libraries against the real binary: a job queue run by a real
//! `rq` worker, a real Celery worker (Redis broker and result backend), a
//! redis-py session store, and a Lua rate limiter called
//! through EVALSHA by several clients at once (scripts in tests/py/).
//! Skipped when python3 with `redis` and `rq` is missing, unless
//! RSREDIS_REQUIRE_INTEROP=1 (CI installs them).

use crate::common::*;
use std::process::Command;

fn python_with(modules: &[&str]) -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg(
            modules
                .iter()
                .map(|m| format!("import {m}"))
                .collect::<Vec<_>>()
                .join(";"),
        )
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("RSREDIS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("python3 with {modules:?} is required (RSREDIS_REQUIRE_INTEROP=1): pip install redis rq");
        }
        eprintln!("skipping: python3 with {modules:?} not available");
    }
    ok
}

fn run_script(name: &str, modules: &[&str]) {
    if !python_with(modules) {
        return;
    }
    let s = Server::start();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py");
    let out = Command::new("python3")
        .arg(format!("{dir}/{name}"))
        .arg("--port")
        .arg(s.port.to_string())
        .current_dir(dir)
        .output()
        .expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "{name} failed:\n{text}\nserver log:\n{}",
        s.logs()
    );
}

#[test]
fn rq_worker_runs_500_jobs_with_results_in_streams() {
    run_script("rq_jobs.py", &["redis", "rq"]);
}

#[test]
fn celery_worker_runs_200_tasks_with_redis_broker_and_backend() {
    run_script("celery_jobs.py", &["redis", "celery", "packaging"]);
}

#[test]
fn redis_py_session_store() {
    run_script("session_store.py", &["redis"]);
}

#[test]
fn lua_rate_limiter_through_evalsha() {
    run_script("rate_limiter.py", &["redis"]);
}

/// redis-py's client-side cache (RESP3 + CLIENT TRACKING): 400 repeated reads
/// reach the server 0 times; a write by another client, and FLUSHALL, drop
/// the cached entries (tests/py/client_cache.py; it passes against a real
/// redis-server 7.0 the same way).
#[test]
fn redis_py_client_side_cache_is_invalidated_by_writes() {
    run_script("client_cache.py", &["redis", "redis.cache"]);
}
