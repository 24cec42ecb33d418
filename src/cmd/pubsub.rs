//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH and the PUBSUB introspection container.
//!
//! Subscription state lives in two places that must agree: the client's own
//! `subs`/`psubs` sets (what it is subscribed to, and the counts in the
//! confirmations) and the shared registry (who receives a PUBLISH).

use super::{flags::*, Command, Ctx, Keys, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::net::client::Client;
use crate::pubsub::{PubSub, Registry};
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "subscribe",
        arity: -2,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | SENTINEL,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.0.0",
        args: "channel [channel ...]",
        summary: "Listens for messages published to channels.",
        handler: subscribe,
        sentinel: Some(crate::sentinel::front::subscribe_command),
        ..Command::DEFAULT
    },
    Command {
        name: "unsubscribe",
        arity: -1,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | SENTINEL,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.0.0",
        args: "[channel [channel ...]]",
        summary: "Stops listening to messages posted to channels.",
        handler: unsubscribe,
        sentinel: Some(crate::sentinel::front::unsubscribe_command),
        ..Command::DEFAULT
    },
    Command {
        name: "psubscribe",
        arity: -2,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | SENTINEL,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.0.0",
        args: "pattern [pattern ...]",
        summary: "Listens for messages published to channels that match one or more patterns.",
        handler: psubscribe,
        sentinel: Some(crate::sentinel::front::psubscribe_command),
        ..Command::DEFAULT
    },
    Command {
        name: "punsubscribe",
        arity: -1,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | SENTINEL,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.0.0",
        args: "[pattern [pattern ...]]",
        summary:
            "Stops listening to messages published to channels that match one or more patterns.",
        handler: punsubscribe,
        sentinel: Some(crate::sentinel::front::punsubscribe_command),
        ..Command::DEFAULT
    },
    // MAY_REPLICATE: PUBLISH is propagated to replicas and held by CLIENT PAUSE WRITE,
    // as in Redis 7.0 (which special-cases it rather than flagging it).
    Command {
        name: "publish",
        arity: 3,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE | SENTINEL,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.0.0",
        args: "channel message",
        summary: "Posts a message to a channel.",
        handler: publish,
        sentinel: Some(crate::sentinel::front::publish_command),
        ..Command::DEFAULT
    },
    Command {
        name: "ssubscribe",
        arity: -2,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        keys: Keys {
            first: 1,
            last: -1,
            step: 1,
        },
        group: "pubsub",
        since: "7.0.0",
        args: "shardchannel [shardchannel ...]",
        summary: "Listens for messages published to shard channels.",
        handler: ssubscribe,
        ..Command::DEFAULT
    },
    Command {
        name: "sunsubscribe",
        arity: -1,
        flags: PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        keys: Keys {
            first: 1,
            last: -1,
            step: 1,
        },
        group: "pubsub",
        since: "7.0.0",
        args: "[shardchannel [shardchannel ...]]",
        summary: "Stops listening to messages posted to shard channels.",
        handler: sunsubscribe,
        ..Command::DEFAULT
    },
    Command {
        name: "spublish",
        arity: 3,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        keys: KEY1,
        group: "pubsub",
        since: "7.0.0",
        args: "shardchannel message",
        summary: "Post a message to a shard channel",
        handler: spublish,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub",
        arity: -2,
        flags: 0,
        group: "pubsub",
        since: "2.8.0",
        summary: "A container for Pub/Sub commands.",
        subcommands: PUBSUB_SUBS,
        ..Command::DEFAULT
    },
];

static PUBSUB_SUBS: &[super::Command] = &[
    Command {
        name: "pubsub|channels",
        arity: -2,
        flags: PUBSUB | LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.8.0",
        args: "[pattern]",
        summary: "Returns the active channels.",
        handler: pubsub_channels,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub|numsub",
        arity: -2,
        flags: PUBSUB | LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.8.0",
        args: "[channel [channel ...]]",
        summary: "Returns a count of subscribers to channels.",
        handler: pubsub_numsub,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub|numpat",
        arity: 2,
        flags: PUBSUB | LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "2.8.0",
        summary: "Returns a count of unique pattern subscriptions.",
        handler: pubsub_numpat,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub|shardchannels",
        arity: -2,
        flags: PUBSUB | LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "7.0.0",
        args: "[pattern]",
        summary: "Returns the active shard channels.",
        handler: pubsub_shardchannels,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub|shardnumsub",
        arity: -2,
        flags: PUBSUB | LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "7.0.0",
        args: "[shardchannel [shardchannel ...]]",
        summary: "Returns the count of subscribers of shard channels.",
        handler: pubsub_shardnumsub,
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub|help",
        arity: 2,
        flags: LOADING | STALE,
        keys: NOKEYS,
        group: "pubsub",
        since: "6.2.0",
        summary: "Returns helpful text about the different subcommands.",
        handler: pubsub_help,
        ..Command::DEFAULT
    },
];

/// Drop every subscription of the calling client (RESET).
pub fn unsubscribe_everything(ctx: &mut Ctx) {
    let mut ps = ctx.srv.pubsub.lock();
    for c in ctx.client.subs.drain() {
        ps.channels.remove(&c, ctx.client.id);
    }
    for p in ctx.client.psubs.drain() {
        ps.patterns.remove(&p, ctx.client.id);
    }
    for c in ctx.client.ssubs.drain() {
        ps.shard.remove(&c, ctx.client.id);
    }
}

/// One confirmation: `[kind, name, count]` (a `>3` push in RESP3); `None` = nil name.
/// The count is channels + patterns, or shard channels alone for the S- commands.
fn confirm(ctx: &mut Ctx, kind: &[u8], name: Option<&[u8]>) {
    let count = if kind == b"ssubscribe" || kind == b"sunsubscribe" {
        ctx.client.ssubs.len()
    } else {
        ctx.client.subscriptions()
    };
    let out = &mut *ctx.out;
    out.push(3);
    out.bulk(kind);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// The three subscription namespaces share one add/remove logic.
#[derive(Clone, Copy)]
enum Space {
    Channel,
    Pattern,
    Shard,
}

impl Space {
    fn client_set(self, c: &mut Client) -> &mut HashSet<Bytes> {
        match self {
            Space::Channel => &mut c.subs,
            Space::Pattern => &mut c.psubs,
            Space::Shard => &mut c.ssubs,
        }
    }

    fn registry(self, ps: &mut PubSub) -> &mut Registry {
        match self {
            Space::Channel => &mut ps.channels,
            Space::Pattern => &mut ps.patterns,
            Space::Shard => &mut ps.shard,
        }
    }
}

fn subscribe_in(ctx: &mut Ctx, args: &[Bytes], space: Space, verb: &[u8]) -> CmdResult {
    for name in &args[1..] {
        // Copied: a clone of the request bytes would pin the connection's read buffer.
        if space
            .client_set(ctx.client)
            .insert(Bytes::copy_from_slice(name))
        {
            space.registry(&mut ctx.srv.pubsub.lock()).add(
                name,
                ctx.client.id,
                &ctx.client.handle.tx,
            );
        }
        confirm(ctx, verb, Some(name));
    }
    Ok(())
}

/// Unsubscribe from the given names, or from everything in this space when none are given.
fn unsubscribe_in(ctx: &mut Ctx, args: &[Bytes], space: Space, verb: &[u8]) -> CmdResult {
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        space.client_set(ctx.client).iter().cloned().collect()
    };
    if names.is_empty() {
        confirm(ctx, verb, None);
        return Ok(());
    }
    for name in &names {
        if space.client_set(ctx.client).remove(name) {
            space
                .registry(&mut ctx.srv.pubsub.lock())
                .remove(name, ctx.client.id);
        }
        confirm(ctx, verb, Some(name));
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_in(ctx, args, Space::Channel, b"subscribe")
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_in(ctx, args, Space::Pattern, b"psubscribe")
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_in(ctx, args, Space::Shard, b"ssubscribe")
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_in(ctx, args, Space::Channel, b"unsubscribe")
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_in(ctx, args, Space::Pattern, b"punsubscribe")
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_in(ctx, args, Space::Shard, b"sunsubscribe")
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = ctx.srv.pubsub.lock().spublish(&args[1], &args[2]);
    ctx.srv
        .stats
        .pubsub_messages
        .fetch_add(1, Ordering::Relaxed);
    if ctx.store.repl.has_sinks() {
        ctx.propagate(args.to_vec());
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = ctx.srv.pubsub.lock().publish(&args[1], &args[2]);
    ctx.srv
        .stats
        .pubsub_messages
        .fetch_add(1, Ordering::Relaxed);
    // Replicas deliver the message to their own subscribers.
    if ctx.store.repl.has_sinks() {
        ctx.propagate(args.to_vec());
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active names, sorted.
fn list_names(ctx: &mut Ctx, args: &[Bytes], space: Space, sub: &str) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            sub
        )));
    }
    let mut names = space
        .registry(&mut ctx.srv.pubsub.lock())
        .names(args.get(2).map(|p| &p[..]));
    names.sort();
    ctx.out.bulks(names.iter());
    Ok(())
}

/// PUBSUB NUMSUB / SHARDNUMSUB name...: name, count pairs.
fn count_subscribers(ctx: &mut Ctx, args: &[Bytes], space: Space) -> CmdResult {
    let mut ps = ctx.srv.pubsub.lock();
    let reg = space.registry(&mut ps);
    ctx.out.array((args.len() - 2) * 2);
    for ch in &args[2..] {
        ctx.out.bulk(ch);
        ctx.out.int(reg.count(ch) as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    list_names(ctx, args, Space::Channel, "channels")
}

fn pubsub_shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    list_names(ctx, args, Space::Shard, "shardchannels")
}

fn pubsub_numsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, args, Space::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, args, Space::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let n = ctx.srv.pubsub.lock().patterns.len();
    ctx.out.int(n as i64);
    Ok(())
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// A help reply: an array of status lines, as Redis's HELP subcommands send.
pub fn help_reply(ctx: &mut Ctx, lines: &[&str]) {
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

fn pubsub_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help_reply(ctx, PUBSUB_HELP);
    Ok(())
}
