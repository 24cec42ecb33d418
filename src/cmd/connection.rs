//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, SWAPDB, HELLO, AUTH.

use super::{flags::*, Command, Ctx, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Proto;
use crate::util::parse_i64;
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "ping",
        arity: -1,
        flags: FAST | SUBSCRIBED_OK | DISK_ERROR_PROBE | SENTINEL,
        keys: NOKEYS,
        group: "connection",
        since: "1.0.0",
        args: "[message]",
        summary: "Returns the server's liveliness response.",
        handler: ping,
        sentinel: Some(crate::sentinel::front::ping_command),
        ..Command::DEFAULT
    },
    Command {
        name: "echo",
        arity: 2,
        flags: FAST,
        keys: NOKEYS,
        group: "connection",
        since: "1.0.0",
        args: "message",
        summary: "Returns the given string.",
        handler: echo,
        ..Command::DEFAULT
    },
    Command {
        name: "quit",
        arity: -1,
        flags: FAST | NO_AUTH | SUBSCRIBED_OK | STALE | ALLOW_BUSY | LOADING | NO_QUEUE | SENTINEL,
        keys: NOKEYS,
        group: "connection",
        since: "1.0.0",
        summary: "Closes the connection.",
        handler: quit,
        sentinel: Some(crate::sentinel::front::quit_command),
        ..Command::DEFAULT
    },
    Command {
        name: "reset",
        arity: 1,
        flags: FAST | NO_AUTH | SUBSCRIBED_OK | STALE | LOADING | NOSCRIPT | NO_QUEUE,
        keys: NOKEYS,
        group: "connection",
        since: "6.2.0",
        summary: "Resets the connection.",
        handler: reset,
        ..Command::DEFAULT
    },
    Command {
        name: "select",
        arity: 2,
        flags: FAST | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "1.0.0",
        args: "index",
        summary: "Changes the selected database.",
        handler: select,
        ..Command::DEFAULT
    },
    Command {
        name: "swapdb",
        acl: &["keyspace", "dangerous"],
        arity: 3,
        flags: WRITE | FAST,
        keys: NOKEYS,
        group: "server",
        since: "4.0.0",
        args: "index1 index2",
        summary: "Swaps two Redis databases.",
        handler: swapdb,
        ..Command::DEFAULT
    },
    Command {
        name: "hello",
        arity: -1,
        flags: FAST | NO_AUTH | STALE | LOADING | NOSCRIPT | ALLOW_BUSY | SENTINEL,
        keys: NOKEYS,
        group: "connection",
        since: "6.0.0",
        args: "[protover [AUTH username password] [SETNAME clientname]]",
        summary: "Handshakes with the Redis server.",
        handler: hello,
        sentinel: Some(crate::sentinel::front::hello_command),
        ..Command::DEFAULT
    },
    Command {
        name: "auth",
        arity: -2,
        flags: FAST | NO_AUTH | STALE | LOADING | NOSCRIPT | ALLOW_BUSY | SENTINEL,
        keys: NOKEYS,
        group: "connection",
        since: "1.0.0",
        args: "[username] password",
        summary: "Authenticates the connection.",
        handler: auth,
        sentinel: Some(crate::sentinel::front::auth_command),
        ..Command::DEFAULT
    },
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(Error::arity("ping"));
    }
    if ctx.client.in_resp2_subscribed_mode() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map(|b| &b[..]).unwrap_or(b""));
    } else if let Some(m) = args.get(1) {
        ctx.out.bulk(m);
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.post.push(Post::Close);
    Ok(())
}

fn reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    super::tx::unwatch_all(ctx.store, ctx.client);
    super::pubsub::unsubscribe_everything(ctx);
    super::client::stop_monitor(ctx);
    super::tracking::disable(ctx.store, ctx.client);
    ctx.client.db = 0;
    ctx.client.proto = Proto::Resp2;
    ctx.out.proto = Proto::Resp2;
    ctx.client.reply_mode = crate::net::client::ReplyMode::On;
    ctx.client.name = None;
    ctx.client.no_evict = false;
    if ctx.client.auth_required() {
        ctx.client.authenticated = false;
    }
    ctx.out.simple("RESET");
    Ok(())
}

fn db_index(ctx: &Ctx, arg: &[u8], err: Error) -> Result<usize, Error> {
    let i = parse_i64(arg).ok_or(err)?;
    if i < 0 || i as usize >= ctx.store.dbs.len() {
        return Err(Error::DbIndexOutOfRange);
    }
    Ok(i as usize)
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let i = db_index(ctx, &args[1], Error::NotInteger)?;
    if i != 0 && ctx.srv.cluster.get().is_some() {
        return Err(Error::err("SELECT is not allowed in cluster mode"));
    }
    ctx.client.db = i;
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a = db_index(ctx, &args[1], Error::err("invalid first DB index"))?;
    let b = db_index(ctx, &args[2], Error::err("invalid second DB index"))?;
    if a != b {
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = ctx.store.dbs.split_at_mut(hi);
        left[lo].swap_contents(&mut right[0]);
    }
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

/// Check a password for `user` against requirepass (there is only the default user).
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> Result<(), Error> {
    let required = ctx.srv.config.read().requirepass.clone();
    if user != b"default" {
        return Err(Error::WrongPass);
    }
    if required.is_empty() || required.as_bytes() == pass {
        Ok(())
    } else {
        Err(Error::WrongPass)
    }
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (user, pass) = crate::resp::hello::auth_args(args, ctx.client.auth_required())?;
    match check_password(ctx, user, pass) {
        Ok(()) => {
            ctx.client.authenticated = true;
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            tracing::warn!("failed AUTH attempt from {}", ctx.client.handle.addr);
            Err(e)
        }
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let h = crate::resp::hello::parse(args, |user, pass| check_password(ctx, user, pass))?;
    if h.authed {
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated && ctx.client.auth_required() {
        return Err(Error::msg(crate::resp::hello::NOAUTH));
    }
    if let Some(n) = h.setname {
        super::client::validate_name(&n)?;
        ctx.client.name = if n.is_empty() { None } else { Some(n) };
    }
    let proto = h.proto;
    if let Some(p) = proto {
        ctx.client.proto = p;
        if ctx.client.tracking.is_some() {
            let id = ctx.client.id;
            ctx.store.tracking.set_resp3(id, p == Proto::Resp3);
        }
        ctx.out.proto = p;
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if ctx.client.proto == Proto::Resp3 {
        3
    } else {
        2
    });
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}
