//! CLIENT subcommands and MONITOR.

use super::{flags::*, Command, Ctx, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::net::client::{ClientHandle, ReplyMode};
use crate::pause::PauseMode;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "client",
        arity: -2,
        flags: SENTINEL,
        group: "connection",
        since: "2.4.0",
        summary: "A container for client connection commands.",
        subcommands: CLIENT_SUBS,
        sentinel: Some(crate::sentinel::front::client_command),
        ..Command::DEFAULT
    },
    Command {
        name: "monitor",
        arity: 1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "Listens for all requests received by the server in real-time.",
        handler: monitor,
        ..Command::DEFAULT
    },
];

static CLIENT_SUBS: &[super::Command] = &[
    Command {
        name: "client|id",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "5.0.0",
        summary: "Returns the unique client ID of the connection.",
        handler: client_id,
        ..Command::DEFAULT
    },
    Command {
        name: "client|setname",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "2.6.9",
        args: "connection-name",
        summary: "Sets the connection name.",
        handler: client_setname,
        ..Command::DEFAULT
    },
    Command {
        name: "client|getname",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "2.6.9",
        summary: "Returns the name of the connection.",
        handler: client_getname,
        ..Command::DEFAULT
    },
    Command {
        name: "client|list",
        arity: -2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "2.4.0",
        args: "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
        summary: "Lists open connections.",
        handler: client_list,
        ..Command::DEFAULT
    },
    Command {
        name: "client|info",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.2.0",
        summary: "Returns information about the connection.",
        handler: client_info,
        ..Command::DEFAULT
    },
    Command {
        name: "client|kill",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "2.4.0",
        args: "ip:port | [ID client-id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO]",
        summary: "Terminates open connections.",
        handler: client_kill,
        ..Command::DEFAULT
    },
    Command {
        name: "client|pause",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "3.0.0",
        args: "timeout [WRITE|ALL]",
        summary: "Suspends commands processing.",
        handler: client_pause,
        ..Command::DEFAULT
    },
    Command {
        name: "client|unpause",
        arity: 2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.2.0",
        summary: "Resumes processing commands from paused clients.",
        handler: client_unpause,
        ..Command::DEFAULT
    },
    Command {
        name: "client|reply",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "3.2.0",
        args: "ON|OFF|SKIP",
        summary: "Instructs the server whether to reply to commands.",
        handler: client_reply,
        ..Command::DEFAULT
    },
    Command {
        name: "client|no-evict",
        arity: 3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "7.0.0",
        args: "ON|OFF",
        summary: "Sets the client eviction mode of the connection.",
        handler: client_no_evict,
        ..Command::DEFAULT
    },
    Command {
        name: "client|setinfo",
        arity: 4,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "7.2.0",
        args: "LIB-NAME libname | LIB-VER libver",
        summary: "Sets information specific to the client or connection.",
        handler: client_setinfo,
        ..Command::DEFAULT
    },
    Command {
        name: "client|getredir",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.0.0",
        summary: "Returns the client ID to which the connection's tracking notifications are redirected.",
        handler: super::tracking::getredir,
        ..Command::DEFAULT
    },
    Command {
        name: "client|tracking",
        arity: -3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.0.0",
        args: "ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]",
        summary: "Controls server-assisted client-side caching for the connection.",
        handler: super::tracking::tracking,
        ..Command::DEFAULT
    },
    Command {
        name: "client|caching",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.0.0",
        args: "YES|NO",
        summary: "Instructs the server whether to track the keys in the next request.",
        handler: super::tracking::caching,
        ..Command::DEFAULT
    },
    Command {
        name: "client|trackinginfo",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "6.2.0",
        summary: "Returns information about server-assisted client-side caching for the connection.",
        handler: super::tracking::trackinginfo,
        ..Command::DEFAULT
    },
    Command {
        name: "client|unblock",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "5.0.0",
        args: "client-id [TIMEOUT|ERROR]",
        summary: "Unblocks a client blocked by a blocking command from a different connection.",
        handler: client_unblock,
        ..Command::DEFAULT
    },
    Command {
        name: "client|help",
        arity: 2,
        flags: LOADING | STALE,
        keys: NOKEYS,
        group: "connection",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        handler: client_help,
        ..Command::DEFAULT
    },
];

/// Connection names may not contain spaces or newlines (they break CLIENT LIST).
pub fn validate_name(name: &[u8]) -> Result<(), Error> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Error::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// Leave MONITOR mode (RESET).
pub fn stop_monitor(ctx: &mut Ctx) {
    let h = &ctx.client.handle;
    if h.is_monitor.swap(false, Ordering::Relaxed) {
        let mut mons = ctx.srv.monitors.lock();
        mons.retain(|m| m.id != h.id);
        ctx.srv.monitor_count.store(mons.len(), Ordering::Relaxed);
    }
}

fn client_id(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    validate_name(&args[2])?;
    ctx.client.name = if args[2].is_empty() {
        None
    } else {
        Some(args[2].clone())
    };
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    match &ctx.client.name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Client types as CLIENT LIST/KILL TYPE name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

fn parse_type(arg: &[u8]) -> Result<ClientType, Error> {
    Ok(match arg.to_ascii_lowercase().as_slice() {
        b"normal" => ClientType::Normal,
        b"master" => ClientType::Master,
        b"replica" | b"slave" => ClientType::Replica,
        b"pubsub" => ClientType::PubSub,
        _ => {
            return Err(Error::err(format!(
                "Unknown client type '{}'",
                String::from_utf8_lossy(arg)
            )))
        }
    })
}

/// A client's type, from the flags its connection last published. As in
/// Redis, MONITOR clients count as "normal" (so `CLIENT KILL TYPE normal`,
/// which Sentinel sends at failover, disconnects them).
fn type_of(h: &ClientHandle) -> ClientType {
    let m = h.meta.lock();
    if m.flags.contains('M') {
        ClientType::Master
    } else if m.flags.contains('S') {
        ClientType::Replica
    } else if m.flags.contains('P') {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// Refresh the caller's own CLIENT LIST fields (they are otherwise published after the batch).
fn refresh_self(ctx: &mut Ctx) {
    let free = ctx.client.handle.meta.lock().qbuf_free;
    ctx.client.publish_meta(0, free, ctx.out.len());
}

/// Every registered client, in connection (id) order.
fn all_clients(ctx: &Ctx) -> Vec<Arc<ClientHandle>> {
    let mut v: Vec<_> = ctx.srv.clients.lock().values().cloned().collect();
    v.sort_by_key(|h| h.id);
    v
}

fn client_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let handles: Vec<Arc<ClientHandle>> = if args.len() == 2 {
        all_clients(ctx)
    } else if args.len() == 4 && eq_ic(&args[2], "type") {
        let t = parse_type(&args[3])?;
        refresh_self(ctx);
        all_clients(ctx)
            .into_iter()
            .filter(|h| type_of(h) == t)
            .collect()
    } else if args.len() > 3 && eq_ic(&args[2], "id") {
        let mut ids = Vec::new();
        for a in &args[3..] {
            match parse_i64(a) {
                Some(id) if id > 0 => ids.push(id as u64),
                _ => return Err(Error::err("Invalid client ID")),
            }
        }
        let reg = ctx.srv.clients.lock();
        ids.iter().filter_map(|id| reg.get(id).cloned()).collect()
    } else {
        return Err(Error::Syntax);
    };
    refresh_self(ctx);
    let mut text = String::new();
    for h in &handles {
        text.push_str(&h.info_line());
        text.push('\n');
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn client_info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    refresh_self(ctx);
    let mut line = ctx.client.handle.info_line();
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

/// Kill one client: ourselves after the reply is written, anybody else at once.
fn kill_one(ctx: &mut Ctx, h: &ClientHandle) {
    if h.id == ctx.client.id {
        if !ctx.post.contains(&Post::Close) {
            ctx.post.push(Post::Close);
        }
    } else {
        h.kill();
    }
}

fn client_kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Old form: CLIENT KILL ip:port -> +OK, killing the caller too if it matches.
    if args.len() == 3 {
        let want = String::from_utf8_lossy(&args[2]);
        let found = all_clients(ctx)
            .into_iter()
            .find(|h| h.addr.to_string() == want);
        let Some(h) = found else {
            return Err(Error::err("No such client"));
        };
        kill_one(ctx, &h);
        ctx.out.ok();
        return Ok(());
    }

    // New form: filters, all of which must match; the caller is skipped by default.
    let mut id = None;
    let mut ctype = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    let mut i = 2;
    while i < args.len() {
        let Some(val) = args.get(i + 1) else {
            return Err(Error::Syntax);
        };
        let opt = &args[i];
        if eq_ic(opt, "id") {
            match parse_i64(val) {
                Some(v) if v > 0 => id = Some(v as u64),
                _ => return Err(Error::err("client-id should be greater than 0")),
            }
        } else if eq_ic(opt, "type") {
            ctype = Some(parse_type(val)?);
        } else if eq_ic(opt, "addr") {
            addr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, "laddr") {
            laddr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, "user") {
            // Only the default user exists, and every connection runs as it.
            if &val[..] != b"default" {
                return Err(Error::err(format!(
                    "No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
        } else if eq_ic(opt, "skipme") {
            if eq_ic(val, "yes") {
                skipme = true;
            } else if eq_ic(val, "no") {
                skipme = false;
            } else {
                return Err(Error::Syntax);
            }
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    refresh_self(ctx);
    let mut killed = 0;
    for h in all_clients(ctx) {
        if id.is_some_and(|id| h.id != id)
            || addr.as_ref().is_some_and(|a| h.addr.to_string() != *a)
            || laddr.as_ref().is_some_and(|a| h.laddr.to_string() != *a)
            || ctype.is_some_and(|t| type_of(&h) != t)
            || (skipme && h.id == ctx.client.id)
            // Already killed, just not gone yet (our kills are asynchronous;
            // Redis frees the client at once, so a second KILL never counts it).
            || h.killed.load(std::sync::atomic::Ordering::Relaxed)
        {
            continue;
        }
        kill_one(ctx, &h);
        killed += 1;
    }
    ctx.out.int(killed);
    Ok(())
}

fn client_pause(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(Error::err(
            "unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.",
        ));
    }
    let ms = parse_i64(&args[2])
        .ok_or_else(|| Error::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(Error::err("timeout is negative"));
    }
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(m) if eq_ic(m, "all") => PauseMode::All,
        Some(m) if eq_ic(m, "write") => PauseMode::Write,
        Some(_) => return Err(Error::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    ctx.srv
        .pause
        .client_pause(Instant::now() + Duration::from_millis(ms as u64), mode);
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.pause.client_unpause();
    ctx.out.ok();
    Ok(())
}

fn client_reply(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // OFF and SKIP send no reply of their own (the executor drops output per mode).
    if eq_ic(&args[2], "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq_ic(&args[2], "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(&args[2], "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(Error::Syntax);
    }
    Ok(())
}

fn client_no_evict(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if eq_ic(&args[2], "on") {
        ctx.client.no_evict = true;
    } else if eq_ic(&args[2], "off") {
        ctx.client.no_evict = false;
    } else {
        return Err(Error::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO (Redis 7.2; current client libraries send it on connect).
fn client_setinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let attr = &args[2];
    let val = &args[3];
    let name = if eq_ic(attr, "lib-name") {
        "lib-name"
    } else if eq_ic(attr, "lib-ver") {
        "lib-ver"
    } else {
        return Err(Error::err(format!(
            "Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    };
    if val.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Error::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            name
        )));
    }
    let v = (!val.is_empty()).then(|| val.clone());
    if name == "lib-name" {
        ctx.client.lib_name = v;
    } else {
        ctx.client.lib_ver = v;
    }
    ctx.out.ok();
    Ok(())
}

/// No blocking commands exist yet, so there is never anybody to unblock.
fn client_unblock(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(Error::err(
            "unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
        ));
    }
    let id = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let mut mode = crate::blocking::UNBLOCK_TIMEOUT;
    if let Some(r) = args.get(3) {
        if eq_ic(r, "error") {
            mode = crate::blocking::UNBLOCK_ERROR;
        } else if !eq_ic(r, "timeout") {
            return Err(Error::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    // Only a client blocked on keys can be unblocked; its connection task
    // answers it (null reply or -UNBLOCKED) when woken with the mode set.
    let target = ctx.srv.clients.lock().get(&(id as u64)).cloned();
    let n = match target {
        Some(h) if h.waiter.is_blocked() => {
            h.waiter
                .unblock
                .store(mode, std::sync::atomic::Ordering::Relaxed);
            h.waiter.notify.notify_one();
            1
        }
        _ => 0,
    };
    ctx.out.int(n);
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

fn client_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    super::pubsub::help_reply(ctx, CLIENT_HELP);
    Ok(())
}

fn monitor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // Inside EXEC (the only time effects are held) a client expects one reply per
    // command, which MONITOR cannot honour.
    if ctx.store.in_exec_or_script() {
        return Err(Error::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    let h = &ctx.client.handle;
    // Already monitoring: Redis ignores the command without a reply.
    if h.is_monitor.swap(true, Ordering::Relaxed) {
        return Ok(());
    }
    let mut mons = ctx.srv.monitors.lock();
    mons.push(h.clone());
    ctx.srv.monitor_count.store(mons.len(), Ordering::Relaxed);
    drop(mons);
    ctx.out.ok();
    Ok(())
}
