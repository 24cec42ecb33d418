//! The executor: runs one request inside the keyspace critical section.
//! Every gate that depends on a command's declaration lives here, reading
//! the one table: arity, AUTH, subscribed-context, MULTI queueing,
//! propagation, stats, slowlog and MONITOR.

use super::admit::{self, Caller, Verdict};
use super::{flags, table, Command, Ctx, Post};
use crate::error::Error;
use crate::net::client::{Client, ReplyMode};
use crate::resp::Out;
use crate::server::Shared;
use crate::store::{CmdStat, Store};
use bytes::Bytes;
use std::time::Instant;

/// Resolve the command (and subcommand) for a request, checking arity.
pub fn resolve(args: &[Bytes]) -> Result<&'static Command, Error> {
    let t = table();
    let Some(c) = t.get(&args[0]) else {
        return Err(Error::unknown_command(args));
    };
    if !c.subcommands.is_empty() {
        if args.len() < 2 {
            // A container that also runs bare (COMMAND) declares arity -1.
            if c.arity == -1 {
                return Ok(c);
            }
            return Err(Error::arity(c.name));
        }
        let Some(sub) = t.subcommand(c, &args[1]) else {
            return Err(Error::unknown_subcommand(&args[1], c.name));
        };
        if !sub.arity_ok(args.len()) {
            return Err(Error::arity(sub.name));
        }
        return Ok(sub);
    }
    if !c.arity_ok(args.len()) {
        return Err(Error::arity(c.name));
    }
    Ok(c)
}

/// Execute a pipelined batch inside one critical section (the caller holds
/// the keyspace lock). Stops early when a command asks for a follow-up
/// action. Returns when the batch started and how many requests are done;
/// a request that blocked (BLPOP...) or that a pause holds is not done: it
/// stays first in line and is run again when woken or released.
pub fn run_batch(
    srv: &Shared,
    store: &mut Store,
    client: &mut Client,
    out: &mut Out,
    post: &mut Vec<Post>,
    batch: &[Vec<Bytes>],
) -> (Instant, usize) {
    // The batch start is the only clock read besides one per command end.
    let t0 = Instant::now();
    store.cmd_start = t0;
    let mut done = 0;
    for req in batch {
        out.proto = client.proto;
        execute(srv, store, client, out, post, req);
        if post
            .iter()
            .any(|p| matches!(p, Post::Block | Post::Pause { .. }))
        {
            break;
        }
        done += 1;
        if !post.is_empty() {
            break;
        }
    }
    (t0, done)
}

/// Run again a command that blocked (BLPOP...) and was woken: it was
/// admitted when it first ran, so it continues without a second check (as
/// Redis serves a blocked client directly).
pub fn resume(
    srv: &Shared,
    store: &mut Store,
    client: &mut Client,
    out: &mut Out,
    post: &mut Vec<Post>,
    args: &[Bytes],
) {
    store.cmd_start = Instant::now();
    out.proto = client.proto;
    let out_mark = out.len();
    match resolve(args) {
        Ok(cmd) => call(srv, store, client, out, post, cmd, args),
        Err(e) => out.error(&e.to_string()),
    }
    apply_reply_mode(client, out, out_mark);
}

/// Run a command queued in MULTI, for EXEC (inside its critical section).
pub fn run_queued(
    srv: &Shared,
    store: &mut Store,
    client: &mut Client,
    out: &mut Out,
    post: &mut Vec<Post>,
    args: &[Bytes],
) {
    let cmd = match resolve(args) {
        Ok(c) => c,
        Err(e) => return out.error(&e.to_string()),
    };
    let f = admit::effective_flags(srv, store, client, cmd, args);
    match admit::check(srv, Caller::Exec, client, cmd, f, args, Some(&*store)) {
        Verdict::Reject(e) => {
            srv.stats.note_error(store, &e, Some(cmd));
            cmd_stat(store, cmd).rejected_calls += 1;
            out.error(&e.to_string());
        }
        _ => call(srv, store, client, out, post, cmd, args),
    }
}

/// Execute one request from a client or from our master's stream. Replies
/// go to `out`; follow-up actions to `post`.
pub fn execute(
    srv: &Shared,
    store: &mut Store,
    client: &mut Client,
    out: &mut Out,
    post: &mut Vec<Post>,
    args: &[Bytes],
) {
    let out_mark = out.len();
    let cmd = match resolve(args) {
        Ok(c) => c,
        Err(e) => {
            if client.multi.is_some() {
                client.multi_error = true;
            }
            srv.stats.note_error(store, &e, None);
            out.error(&e.to_string());
            apply_reply_mode(client, out, out_mark);
            return;
        }
    };

    let caller = if client.master_link {
        Caller::Master
    } else {
        Caller::Client
    };
    let f = admit::effective_flags(srv, store, client, cmd, args);
    match admit::check(srv, caller, client, cmd, f, args, Some(&*store)) {
        Verdict::Run => {
            client.last_cmd = cmd.name;
            call(srv, store, client, out, post, cmd, args);
            super::tracking::end_of_command(client, cmd);
            // ASKING admits one command (Redis resets it after each, but
            // not inside MULTI, nor after ASKING itself).
            if client.asking && client.multi.is_none() && !super::cluster::keeps_asking(cmd) {
                client.asking = false;
            }
        }
        Verdict::Queue => {
            client.last_cmd = cmd.name;
            client.multi_flags |= f;
            client.multi_deny_stale |= f & flags::STALE == 0;
            client.multi.as_mut().expect("in multi").push(args.to_vec());
            out.simple("QUEUED");
        }
        Verdict::Pause { may_write } => {
            // Not run: the connection waits for the pause to end, then
            // submits it again. Nothing was written for it.
            post.push(Post::Pause { may_write });
            return;
        }
        Verdict::Reject(e) => {
            client.last_cmd = cmd.name;
            let e = if cmd.is(flags::TX_EXEC) {
                // Redis's execCommandAbort: the transaction is discarded.
                super::tx::discard_transaction(store, client);
                Error::msg(format!("EXECABORT Transaction discarded because of: {}", e))
            } else {
                if client.multi.is_some() && e != Error::NoAuth {
                    client.multi_error = true;
                }
                e
            };
            srv.stats.note_error(store, &e, Some(cmd));
            cmd_stat(store, cmd).rejected_calls += 1;
            out.error(&e.to_string());
        }
    }
    apply_reply_mode(client, out, out_mark);
}

/// Run a resolved command: the handler, then propagation, stats, slowlog, MONITOR.
pub fn call(
    srv: &Shared,
    store: &mut Store,
    client: &mut Client,
    out: &mut Out,
    post: &mut Vec<Post>,
    cmd: &'static Command,
    args: &[Bytes],
) {
    // Time is read once per command (when the previous one ended); the Unix
    // time is derived from it without a second clock read.
    // Inside a script or function, every command sees the script's start
    // time (keys expiring meanwhile stay visible, as Redis 7.0).
    let now = match store.frozen_now {
        Some(t) => t,
        None => crate::util::unix_ms_at(store.cmd_start),
    };
    store.set_now_for(now, client.db);
    let dirty_before = store.dirty;
    let effects_before = store.effects.len();
    let result = {
        let mut ctx = Ctx {
            srv,
            store: &mut *store,
            client: &mut *client,
            out: &mut *out,
            post,
            cmd,
            now,
        };
        (cmd.handler)(&mut ctx, args)
    };
    let end = Instant::now();
    let elapsed = end.saturating_duration_since(store.cmd_start);
    store.cmd_start = end;

    // Effects: lazily expired keys first (they were deleted during lookup), then
    // the command's own: explicit ones if the handler recorded any, else the
    // command verbatim when it changed the dataset.
    let own = store.effects.split_off(effects_before);
    store.collect_lazy_expired(client.db);
    if !own.is_empty() {
        store.effects.extend(own);
    } else if cmd.is(flags::WRITE) && store.dirty != dirty_before && store.repl.wants_effects() {
        let db = client.db;
        store.effect(db, args.to_vec());
    }
    let offset_before = store.repl.offset;
    store.flush_effects();
    if store.repl.offset != offset_before {
        client.woff = store.repl.offset;
    }
    if !store.blocking.is_empty() {
        store.blocking.wake_ready(&mut store.dbs);
    }
    if store.tracking.active() {
        super::tracking::after_call(store, client, cmd, args);
    }

    let us = elapsed.as_micros() as u64;
    let st = cmd_stat(store, cmd);
    st.calls += 1;
    st.usec += us;
    if client.cfg.latency_tracking {
        st.latency
            .get_or_insert_with(Default::default)
            .record(elapsed.as_nanos() as u64);
    }
    if let Err(e) = &result {
        st.failed_calls += 1;
        srv.stats.note_error(store, e, Some(cmd));
        out.error(&e.to_string());
    }
    if !cmd.is(flags::SKIP_SLOWLOG) {
        srv.slowlog_maybe(us, args, client);
    }
    let event = if cmd.is(flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    srv.latency
        .add_if_needed(client.cfg.latency_monitor_threshold, event, us / 1000);
    if !cmd.is(flags::SKIP_MONITOR) && !cmd.is(flags::ADMIN) {
        srv.feed_monitors(client, args);
    }
}

fn apply_reply_mode(client: &mut Client, out: &mut Out, mark: usize) {
    match client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => out.truncate(mark),
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skip,
        ReplyMode::Skip => {
            out.truncate(mark);
            client.reply_mode = ReplyMode::On;
        }
    }
}

/// The INFO commandstats counters of `cmd` (created on first use).
pub(crate) fn cmd_stat<'a>(store: &'a mut Store, cmd: &'static Command) -> &'a mut CmdStat {
    store
        .cmdstats
        .entry(cmd as *const Command as usize)
        .or_insert_with(|| CmdStat {
            name: cmd.name,
            ..Default::default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_texts() {
        let r = |v: &[&str]| {
            resolve(
                &v.iter()
                    .map(|s| Bytes::from(s.to_string()))
                    .collect::<Vec<_>>(),
            )
            .map(|c| c.name)
        };
        assert_eq!(r(&["GET", "k"]), Ok("get"));
        assert_eq!(
            r(&["get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            r(&["config", "get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(
            r(&["config", "nope"]).unwrap_err().to_string(),
            "ERR unknown subcommand 'nope'. Try CONFIG HELP."
        );
        assert_eq!(
            r(&["config"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'config' command"
        );
    }
}
