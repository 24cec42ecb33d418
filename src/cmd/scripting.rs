//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//! Scripts run inside the critical section the executor already holds; their
//! effects (the commands they ran) reach replicas wrapped in MULTI/EXEC.

use super::{flags::*, Command, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::scripting::ScriptFlags;
use crate::scripting::{noscript, Engine, NOTBUSY_ERR};
use crate::server::Shared;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "eval",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        args: "script numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Execute a Lua script server side",
        handler: eval,
        dyn_flags: Some(eval_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "evalsha",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        args: "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Execute a Lua script server side",
        handler: evalsha,
        dyn_flags: Some(evalsha_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "eval_ro",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | STALE | READONLY,
        keys: NOKEYS,
        group: "scripting",
        since: "7.0.0",
        args: "script numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Execute a read-only Lua script server side",
        handler: eval_ro,
        dyn_flags: Some(eval_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "evalsha_ro",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | STALE | READONLY,
        keys: NOKEYS,
        group: "scripting",
        since: "7.0.0",
        args: "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Execute a read-only Lua script server side",
        handler: evalsha_ro,
        dyn_flags: Some(evalsha_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "script",
        arity: -2,
        flags: 0,
        group: "scripting",
        since: "2.6.0",
        summary: "A container for Lua scripts management commands",
        subcommands: SCRIPT_SUBCOMMANDS,
        ..Command::DEFAULT
    },
];

static SCRIPT_SUBCOMMANDS: &[super::Command] = &[
    Command {
        name: "script|load",
        arity: 3,
        flags: NOSCRIPT | STALE,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        args: "script",
        summary: "Load the specified Lua script into the script cache.",
        handler: script_load,
        ..Command::DEFAULT
    },
    Command {
        name: "script|exists",
        arity: -3,
        flags: NOSCRIPT,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        args: "sha1 [sha1 ...]",
        summary: "Check existence of scripts in the script cache.",
        handler: script_exists,
        ..Command::DEFAULT
    },
    Command {
        name: "script|flush",
        arity: -2,
        flags: NOSCRIPT,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        args: "[ASYNC|SYNC]",
        summary: "Remove all the scripts from the script cache.",
        handler: script_flush,
        ..Command::DEFAULT
    },
    Command {
        name: "script|kill",
        arity: 2,
        flags: NOSCRIPT | ALLOW_BUSY,
        keys: NOKEYS,
        group: "scripting",
        since: "2.6.0",
        summary: "Kill the script currently in execution.",
        handler: script_kill,
        lock_free: Some(script_kill_busy),
        ..Command::DEFAULT
    },
    Command {
        name: "script|help",
        arity: 2,
        flags: LOADING | STALE,
        keys: NOKEYS,
        group: "scripting",
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        handler: script_help,
        ..Command::DEFAULT
    },
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

/// EVAL's flags for the admission check: the script's shebang flags
/// (cached, or parsed from the body), as Redis's evalGetCommandFlags.
fn eval_flags(srv: &Shared, _: &crate::store::Store, args: &[Bytes], declared: u32) -> u32 {
    let sha = crate::scripting::sha1_hex(&args[1]);
    let cached = srv.lua.lock().as_ref().and_then(|e| e.flags(&sha));
    match cached
        .map(Ok)
        .unwrap_or_else(|| ScriptFlags::of_body(&args[1]))
    {
        Ok(sf) => sf.command_flags(declared),
        // A bad shebang: EVAL itself reports it.
        Err(_) => declared,
    }
}

fn evalsha_flags(srv: &Shared, _: &crate::store::Store, args: &[Bytes], declared: u32) -> u32 {
    let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match srv.lua.lock().as_ref().and_then(|e| e.flags(&sha)) {
        Some(sf) => sf.command_flags(declared),
        None => declared,
    }
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, true, true)
}

fn run_script(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, readonly: bool) -> CmdResult {
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
        // scriptPrepareForRun: the server-state rules already ran in the
        // admission check with the script's flags; this one is EVAL_RO's own.
        let sf = eng.flags(&sha).unwrap_or_default();
        if !sf.shebang && super::admit::stale(ctx.srv, &ctx.client.cfg) {
            return Err(Error::msg(super::admit::MASTERDOWN));
        }
        if readonly && sf.shebang && !sf.no_writes {
            return Err(Error::err(
                "Can not execute a script with write flag using *_ro command.",
            ));
        }
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

/// SCRIPT KILL while a script holds the keyspace: ask it to stop.
fn script_kill_busy(srv: &Shared, _: &[Bytes], out: &mut crate::resp::Out) {
    match srv.scripts.request_kill(false) {
        Ok(()) => out.ok(),
        Err(e) => out.error(e),
    }
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
