//! CLIENT subcommands and MONITOR.

use super::{cmd, container, flags::*, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use bytes::Bytes;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[super::Command] = &[container(
    "client",
    -2,
    SENTINEL_OK,
    "connection",
    "2.4.0",
    "A container for client connection commands.",
    CLIENT_SUBS,
)];

const SENTINEL_OK: u32 = 0;

static CLIENT_SUBS: &[super::Command] = &[
    cmd(
        "client|id",
        2,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        "connection",
        "5.0.0",
        "",
        "Returns the unique client ID of the connection.",
        client_id,
    ),
    cmd(
        "client|setname",
        3,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        "connection",
        "2.6.9",
        "connection-name",
        "Sets the connection name.",
        client_setname,
    ),
    cmd(
        "client|getname",
        2,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        "connection",
        "2.6.9",
        "",
        "Returns the name of the connection.",
        client_getname,
    ),
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
