//! The executor: runs one request inside the keyspace critical section.
//! Every gate that depends on a command's declaration lives here, reading
//! the one table: arity, AUTH, subscribed-context, MULTI queueing,
//! propagation, stats, slowlog and MONITOR.

use super::{flags, table, Command, Ctx, Post};
use crate::error::Error;
use crate::net::client::{Client, ReplyMode};
use crate::resp::Out;
use crate::server::Shared;
use crate::store::Store;
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
/// a request that blocked (BLPOP...) is not done: it stays first in line
/// and is run again when woken.
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
        if post.iter().any(|p| matches!(p, Post::Block)) {
            break;
        }
        done += 1;
        if !post.is_empty() {
            break;
        }
    }
    (t0, done)
}

/// Execute one request. Replies go to `out`; follow-up actions to `post`.
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

    client.last_cmd = cmd.name;
    if let Err(e) = gate(srv, client, cmd) {
        if client.multi.is_some() && !matches!(e, Error::NoAuth) {
            client.multi_error = true;
        }
        srv.stats.note_error(store, &e, Some(cmd));
        store.cmdstats_mut(cmd).rejected_calls += 1;
        out.error(&e.to_string());
        apply_reply_mode(client, out, out_mark);
        return;
    }

    // Inside MULTI everything but the transaction commands is queued.
    if client.multi.is_some()
        && !matches!(
            cmd.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        client.multi.as_mut().expect("in multi").push(args.to_vec());
        out.simple("QUEUED");
        apply_reply_mode(client, out, out_mark);
        return;
    }

    call(srv, store, client, out, post, cmd, args);
    apply_reply_mode(client, out, out_mark);
}

/// Checks that depend only on the client's state and the command's declaration.
fn gate(srv: &Shared, client: &Client, cmd: &'static Command) -> Result<(), Error> {
    if !client.authenticated && !cmd.is(flags::NO_AUTH) && srv.auth_required() {
        return Err(Error::NoAuth);
    }
    if client.in_resp2_subscribed_mode() && !cmd.is(flags::SUBSCRIBED_OK) {
        return Err(Error::err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        )));
    }
    if client.multi.is_some() && cmd.is(flags::NO_MULTI) {
        return Err(Error::err("Command not allowed inside a transaction"));
    }
    // The master link applies its master's stream whatever our local state.
    if client.master_link {
        return Ok(());
    }
    // Redis 7.0 also refuses PING here, so monitoring notices the disk error.
    if srv.persist.writes_denied() && (cmd.is(flags::WRITE) || cmd.name == "ping") {
        return Err(Error::msg(crate::persist::dump::MISCONF));
    }
    replication_gate(srv, cmd)
}

/// Writes on replicas and masters short of good replicas; stale reads (§1.10).
fn replication_gate(srv: &Shared, cmd: &'static Command) -> Result<(), Error> {
    use std::sync::atomic::Ordering::Relaxed;
    let r = &srv.repl;
    let replica = r.is_replica();
    if cmd.is(flags::WRITE) {
        if !replica {
            let min = r.min_to_write.load(Relaxed);
            let lag = r.min_max_lag.load(Relaxed);
            if min > 0 && lag > 0 && (r.count_good(lag, crate::repl::mono_ms(srv)) as u64) < min {
                return Err(Error::msg("NOREPLICAS Not enough good replicas to write."));
            }
        } else if r.read_only.load(Relaxed) {
            return Err(Error::msg(
                "READONLY You can't write against a read only replica.",
            ));
        }
    }
    if replica && !cmd.is(flags::STALE) && !r.link_up.load(Relaxed) && !r.serve_stale.load(Relaxed)
    {
        return Err(Error::msg(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ));
    }
    Ok(())
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
    let now = crate::util::unix_ms_at(store.cmd_start);
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
    } else if cmd.is(flags::WRITE) && store.dirty != dirty_before && store.repl.has_sinks() {
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

    let us = elapsed.as_micros() as u64;
    let st = store.cmdstats_mut(cmd);
    st.calls += 1;
    st.usec += us;
    if let Err(e) = &result {
        st.failed_calls += 1;
        srv.stats.note_error(store, e, Some(cmd));
        out.error(&e.to_string());
    }
    if !cmd.is(flags::SKIP_SLOWLOG) {
        srv.slowlog_maybe(us, args, client);
    }
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
