//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//! Scripts run inside the critical section the executor already holds; their
//! effects (the commands they ran) reach replicas wrapped in MULTI/EXEC.

use super::{cmd, container, flags::*, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::scripting::{noscript, Engine, NOTBUSY_ERR};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    cmd(
        "eval",
        -3,
        NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE,
        NOKEYS,
        "scripting",
        "2.6.0",
        "script numkeys [key [key ...]] [arg [arg ...]]",
        "Execute a Lua script server side",
        eval,
    ),
    cmd(
        "evalsha",
        -3,
        NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE,
        NOKEYS,
        "scripting",
        "2.6.0",
        "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        "Execute a Lua script server side",
        eval,
    ),
    cmd(
        "eval_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | READONLY,
        NOKEYS,
        "scripting",
        "7.0.0",
        "script numkeys [key [key ...]] [arg [arg ...]]",
        "Execute a read-only Lua script server side",
        eval,
    ),
    cmd(
        "evalsha_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | READONLY,
        NOKEYS,
        "scripting",
        "7.0.0",
        "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        "Execute a read-only Lua script server side",
        eval,
    ),
    container(
        "script",
        -2,
        0,
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands",
        SCRIPT_SUBCOMMANDS,
    ),
];

static SCRIPT_SUBCOMMANDS: &[super::Command] = &[
    cmd(
        "script|load",
        3,
        NOSCRIPT | STALE,
        NOKEYS,
        "scripting",
        "2.6.0",
        "script",
        "Load the specified Lua script into the script cache.",
        script_load,
    ),
    cmd(
        "script|exists",
        -3,
        NOSCRIPT,
        NOKEYS,
        "scripting",
        "2.6.0",
        "sha1 [sha1 ...]",
        "Check existence of scripts in the script cache.",
        script_exists,
    ),
    cmd(
        "script|flush",
        -2,
        NOSCRIPT,
        NOKEYS,
        "scripting",
        "2.6.0",
        "[ASYNC|SYNC]",
        "Remove all the scripts from the script cache.",
        script_flush,
    ),
    cmd(
        "script|kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NOKEYS,
        "scripting",
        "2.6.0",
        "",
        "Kill the script currently in execution.",
        script_kill,
    ),
    cmd(
        "script|help",
        2,
        LOADING | STALE,
        NOKEYS,
        "scripting",
        "5.0.0",
        "",
        "Show helpful text about the different subcommands",
        script_help,
    ),
];

/// The engine, created on first use (and again after SCRIPT FLUSH).
fn with_engine<R>(
    ctx: &mut Ctx,
    f: impl FnOnce(&mut Engine, &mut Ctx) -> Result<R, Error>,
) -> Result<R, Error> {
    let srv = ctx.srv;
    let mut slot = srv.lua.lock();
    if slot.is_none() {
        *slot = Some(
            Engine::new(srv.scripts.clone())
                .map_err(|e| Error::err(format!("Lua initialization failed: {}", e)))?,
        );
    }
    f(slot.as_mut().expect("engine"), ctx)
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by_sha = ctx.cmd.name.starts_with("evalsha");
    let readonly = ctx.cmd.name.ends_with("_ro");
    let numkeys = match parse_i64(&args[2]) {
        Some(n) => n,
        None => return Err(Error::NotInteger),
    };
    if numkeys < 0 {
        return Err(Error::err("Number of keys can't be negative"));
    }
    if numkeys as usize > args.len() - 3 {
        return Err(Error::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let split = 3 + numkeys as usize;
    let keys = &args[3..split];
    let argv = &args[split..];
    // Every command the script runs is propagated together, in MULTI/EXEC.
    ctx.store.hold_effects += 1;
    let r = with_engine(ctx, |eng, ctx| {
        let sha = if by_sha {
            let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            if !eng.exists(&sha) {
                return Err(noscript());
            }
            sha
        } else {
            eng.load(&args[1])?
        };
        // A script may run long: hand this worker's other duties (its task
        // queue, the I/O driver) to another thread first, so other clients
        // still get -BUSY and SCRIPT KILL is heard.
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(|| eng.run(ctx, &sha, keys, argv, readonly))
        } else {
            eng.run(ctx, &sha, keys, argv, readonly)
        }
    });
    ctx.store.hold_effects -= 1;
    r
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sha = with_engine(ctx, |eng, _| eng.load(&args[2]))?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found: Vec<bool> = {
        let slot = ctx.srv.lua.lock();
        args[2..]
            .iter()
            .map(|a| {
                let sha = String::from_utf8_lossy(a).to_ascii_lowercase();
                slot.as_ref().is_some_and(|e| e.exists(&sha))
            })
            .collect()
    };
    ctx.out.array(found.len());
    for f in found {
        ctx.out.int(f as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {}
        3 if eq_ic(&args[2], "sync") || eq_ic(&args[2], "async") => {}
        _ => return Err(Error::err("SCRIPT FLUSH only support SYNC|ASYNC option")),
    }
    // A new VM: the cache and any state scripts left behind go away.
    let old = ctx.srv.lua.lock().take();
    drop(old);
    ctx.out.ok();
    Ok(())
}

fn script_kill(_ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // Reached under the keyspace lock, so no script is running right now
    // (while one runs, the connection layer answers SCRIPT KILL itself).
    Err(Error::msg(NOTBUSY_ERR))
}

fn script_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    const HELP: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(HELP.len());
    for l in HELP {
        ctx.out.simple(l);
    }
    Ok(())
}
