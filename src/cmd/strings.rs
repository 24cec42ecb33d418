//! String commands.

use super::{cmd, flags::*, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::Value;
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    cmd("get", 2, READONLY | FAST, KEY1, "string", "1.0.0", "key", "Returns the string value of a key.", get),
    cmd("set", -3, WRITE | DENYOOM, KEY1, "string", "1.0.0", "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
];

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match db.get(&args[1]) {
        None => ctx.out.null(),
        Some(Value::Str(s)) => ctx.out.bulk(s.as_bytes()),
        Some(_) => return Err(Error::WrongType),
    }
    Ok(())
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 3 {
        return Err(Error::Syntax);
    }
    ctx.db().set(&args[1], Value::str(&args[2]), false);
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}
