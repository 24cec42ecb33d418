//! Functions (Redis 7.0): FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/KILL/
//! DUMP/RESTORE/HELP and FCALL/FCALL_RO. The registry is
//! `scripting::functions`; the libraries' code is part of the dataset.
//!
//! FUNCTION LOAD/DELETE/FLUSH/RESTORE are writes that change the dataset:
//! they reach replicas verbatim (as Redis) and count for save points.
//! FCALL is admitted by its function's declared flags (`fcall_flags`, the
//! table's `dyn_flags`, as EVAL with a shebang); what it runs is
//! propagated as effects, in MULTI/EXEC, like a script.

use super::{flags::*, Command, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::scripting::functions::{self, Functions, Restore};
use crate::server::Shared;
use crate::store::Store;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "fcall",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE,
        group: "scripting",
        since: "7.0.0",
        args: "function numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Invoke a function",
        handler: fcall,
        dyn_flags: Some(fcall_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "fcall_ro",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -3,
        flags: NOSCRIPT | SKIP_MONITOR | STALE | READONLY,
        group: "scripting",
        since: "7.0.0",
        args: "function numkeys [key [key ...]] [arg [arg ...]]",
        summary: "Invoke a read-only function",
        handler: fcall_ro,
        dyn_flags: Some(fcall_flags),
        ..Command::DEFAULT
    },
    Command {
        name: "function",
        arity: -2,
        group: "scripting",
        since: "7.0.0",
        summary: "A container for function commands",
        subcommands: SUBCOMMANDS,
        ..Command::DEFAULT
    },
];

static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "function|load",
        arity: -3,
        flags: WRITE | DENYOOM | NOSCRIPT,
        keys: NOKEYS,
        group: "scripting",
        since: "7.0.0",
        args: "[REPLACE] function-code",
        summary: "Create a function with the given arguments (name, code, description)",
        handler: function_load,
        ..Command::DEFAULT
    },
    Command {
        name: "function|delete",
        arity: 3,
        flags: WRITE | NOSCRIPT,
        group: "scripting",
        since: "7.0.0",
        args: "library-name",
        summary: "Delete a function by name",
        handler: function_delete,
        ..Command::DEFAULT
    },
    Command {
        name: "function|flush",
        arity: -2,
        flags: WRITE | NOSCRIPT,
        group: "scripting",
        since: "7.0.0",
        args: "[ASYNC|SYNC]",
        summary: "Deleting all functions",
        handler: function_flush,
        ..Command::DEFAULT
    },
    Command {
        name: "function|restore",
        arity: -3,
        flags: WRITE | DENYOOM | NOSCRIPT,
        group: "scripting",
        since: "7.0.0",
        args: "serialized-value [FLUSH|APPEND|REPLACE]",
        summary: "Restore all the functions on the given payload",
        handler: function_restore,
        ..Command::DEFAULT
    },
    Command {
        name: "function|dump",
        arity: 2,
        flags: NOSCRIPT,
        group: "scripting",
        since: "7.0.0",
        summary: "Dump all functions into a serialized binary payload",
        handler: function_dump,
        ..Command::DEFAULT
    },
    Command {
        name: "function|list",
        arity: -2,
        flags: NOSCRIPT,
        group: "scripting",
        since: "7.0.0",
        args: "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        summary: "List information about all the functions",
        handler: function_list,
        ..Command::DEFAULT
    },
    Command {
        name: "function|stats",
        arity: 2,
        flags: NOSCRIPT | ALLOW_BUSY,
        group: "scripting",
        since: "7.0.0",
        summary:
            "Return information about the function currently running (name, description, duration)",
        handler: function_stats,
        lock_free: Some(function_stats_busy),
        ..Command::DEFAULT
    },
    Command {
        name: "function|kill",
        arity: 2,
        flags: NOSCRIPT | ALLOW_BUSY,
        group: "scripting",
        since: "7.0.0",
        summary: "Kill the function currently in execution.",
        handler: function_kill,
        lock_free: Some(function_kill_busy),
        ..Command::DEFAULT
    },
    Command {
        name: "function|help",
        arity: 2,
        flags: LOADING | STALE,
        group: "scripting",
        since: "7.0.0",
        summary: "Show helpful text about the different subcommands",
        handler: function_help,
        ..Command::DEFAULT
    },
];

/// The registry, in step with the dataset's code.
fn registry<'a>(srv: &'a Shared, store: &Store) -> parking_lot::MutexGuard<'a, Functions> {
    let mut f = srv.functions.lock();
    f.sync(&store.functions);
    f
}

/// FCALL's flags for the admission check: its function's declared flags
/// (Redis's fcallGetCommandFlags); the declared ones when it is unknown.
fn fcall_flags(srv: &Shared, store: &Store, args: &[Bytes], declared: u32) -> u32 {
    match registry(srv, store).flags_of(&args[1]) {
        Some(sf) => sf.command_flags(declared),
        None => declared,
    }
}

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &[Bytes], ro: bool) -> CmdResult {
    let mut reg = registry(ctx.srv, ctx.store);
    let Some((meta, f)) = reg.find(&args[1]) else {
        return Err(Error::err("Function not found"));
    };
    let numkeys = parse_i64(&args[2]).ok_or_else(|| Error::err("Bad number of keys provided"))?;
    if numkeys > args.len() as i64 - 3 {
        return Err(Error::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(Error::err("Number of keys can't be negative"));
    }
    // scriptPrepareForRun: the server-state rules ran in the admission
    // check with the function's flags; these are the function's own.
    if ctx.srv.cluster.get().is_some() && meta.flags.no_cluster {
        return Err(Error::err(
            "Can not run script on cluster, 'no-cluster' flag is set.",
        ));
    }
    if ro && !meta.flags.no_writes {
        return Err(Error::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    let (libs, funcs) = (reg.libs.len(), reg.function_count());
    ctx.srv.scripts.set_call(&meta.name, args, libs, funcs);
    let split = 3 + numkeys as usize;
    let (keys, argv) = (&args[3..split], &args[split..]);
    // Every command the function runs is propagated together, in MULTI/EXEC.
    ctx.store.hold_effects += 1;
    // A function may run long: hand this worker's other duties to another
    // thread first (as EVAL), so other clients get -BUSY and FUNCTION KILL.
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let r = if multi_thread {
        tokio::task::block_in_place(|| reg.call(ctx, &meta, f, keys, argv, ro))
    } else {
        reg.call(ctx, &meta, f, keys, argv, ro)
    };
    ctx.store.hold_effects -= 1;
    r
}

/// After a change: the dataset keeps the new code (RDB, full sync), and
/// the command counts as a change (replicated verbatim, save points).
fn changed(ctx: &mut Ctx, reg: &mut Functions) {
    ctx.store.functions = reg.publish();
    ctx.dirty(1);
}

fn function_load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let mut at = 2;
    while at < args.len() - 1 {
        if eq_ic(&args[at], "replace") {
            replace = true;
            at += 1;
            continue;
        }
        return Err(Error::err(format!(
            "Unknown option given: {}",
            String::from_utf8_lossy(&args[at])
        )));
    }
    let mut reg = registry(ctx.srv, ctx.store);
    // Our master's libraries load whatever they take (mustObeyClient).
    let timeout = !ctx.client.master_link;
    let name = reg.load(&args[at], replace, timeout)?;
    changed(ctx, &mut reg);
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut reg = registry(ctx.srv, ctx.store);
    if !reg.unlink(&String::from_utf8_lossy(&args[2])) {
        return Err(Error::err("Library not found"));
    }
    changed(ctx, &mut reg);
    ctx.out.ok();
    Ok(())
}

fn syntax(args: &[Bytes]) -> Error {
    Error::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(syntax(args));
    }
    if args.len() == 3 && !eq_ic(&args[2], "sync") && !eq_ic(&args[2], "async") {
        return Err(Error::err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    let mut reg = registry(ctx.srv, ctx.store);
    reg.clear();
    changed(ctx, &mut reg);
    ctx.out.ok();
    Ok(())
}

fn function_restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(syntax(args));
    }
    let policy = match args.get(3) {
        None => Restore::Append,
        Some(p) if eq_ic(p, "append") => Restore::Append,
        Some(p) if eq_ic(p, "replace") => Restore::Replace,
        Some(p) if eq_ic(p, "flush") => Restore::Flush,
        Some(_) => {
            return Err(Error::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let codes = functions::parse_payload(&args[2])?;
    let mut reg = registry(ctx.srv, ctx.store);
    reg.restore(codes, policy)?;
    changed(ctx, &mut reg);
    ctx.out.ok();
    Ok(())
}

fn function_dump(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let p = functions::dump_payload(&ctx.store.functions.codes);
    ctx.out.bulk(&p);
    Ok(())
}

fn function_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !with_code && eq_ic(a, "withcode") {
            with_code = true;
        } else if pattern.is_none() && eq_ic(a, "libraryname") {
            if i >= args.len() - 1 {
                return Err(Error::err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(Error::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let reg = registry(ctx.srv, ctx.store);
    let libs: Vec<_> = reg
        .libs
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::glob::matches(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for l in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.funcs.len());
        for f in &l.funcs {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names = f.flag_names();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

fn stats_reply(
    out: &mut crate::resp::Out,
    running: Option<(&str, &[Bytes], u64)>,
    libs: usize,
    funcs: usize,
) {
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some((name, cmd, ms)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(cmd.len());
            for a in cmd {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(ms as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
}

fn function_stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // Under the keyspace lock no script runs.
    let reg = registry(ctx.srv, ctx.store);
    let (l, f) = (reg.libs.len(), reg.function_count());
    drop(reg);
    stats_reply(ctx.out, None, l, f);
    Ok(())
}

/// FUNCTION STATS while a script holds the keyspace (Redis answers it
/// during a function, and refuses it during EVAL).
fn function_stats_busy(srv: &Shared, _: &[Bytes], out: &mut crate::resp::Out) {
    let busy = &srv.scripts;
    if !busy.is_function() {
        out.error(crate::scripting::BUSY_ERR);
        return;
    }
    let (name, cmd) = busy.running_call();
    let (l, f) = busy.function_counts();
    stats_reply(out, Some((&name, &cmd, busy.running_ms())), l, f);
}

fn function_kill_busy(srv: &Shared, _: &[Bytes], out: &mut crate::resp::Out) {
    match srv.scripts.request_kill(true) {
        Ok(()) => out.ok(),
        Err(e) => out.error(e),
    }
}

fn function_kill(_ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // Under the keyspace lock no function runs (while one runs, the
    // connection layer answers FUNCTION KILL itself).
    Err(Error::msg(crate::scripting::NOTBUSY_ERR))
}

fn function_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    const HELP: &[&str] = &[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(HELP.len());
    for l in HELP {
        ctx.out.simple(l);
    }
    Ok(())
}
