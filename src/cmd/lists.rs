//! List commands (the basic set; the data-types issue completes the family).

use super::{cmd, flags::*, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::Value;
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[cmd(
    "lpush",
    -3,
    WRITE | DENYOOM | FAST,
    KEY1,
    "list",
    "1.0.0",
    "key element [element ...]",
    "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
    lpush,
)];

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    if db.get_mut(&args[1]).is_none() {
        db.set(&args[1], Value::List(Default::default()), false);
    }
    let e = db.get_mut(&args[1]).expect("just created");
    let Value::List(l) = &mut e.value else {
        return Err(Error::WrongType);
    };
    for a in &args[2..] {
        l.push_front(a.clone());
    }
    let n = l.len();
    ctx.dirty(args.len() as u64 - 2);
    ctx.out.int(n as i64);
    Ok(())
}
