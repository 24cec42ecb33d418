//! Generic key commands.

use super::{cmd, flags::*, Ctx};
use crate::error::CmdResult;
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    cmd(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "key [key ...]",
        "Deletes one or more keys.",
        del,
    ),
    cmd(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "key [key ...]",
        "Determines whether one or more keys exist.",
        exists,
    ),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.db().remove(k).is_some() {
            n += 1;
        }
    }
    ctx.dirty(n);
    ctx.out.int(n as i64);
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.db().exists(k) {
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}
