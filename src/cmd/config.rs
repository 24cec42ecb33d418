//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP over the one parameter table (src/config).

use super::{Command, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use bytes::Bytes;
use std::sync::atomic::Ordering;

use super::server::{help, io_text, ADM, LS};

pub static COMMANDS: &[Command] = &[Command {
    name: "config",
    arity: -2,
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands",
    subcommands: CONFIG_SUBS,
    ..Command::DEFAULT
}];

static CONFIG_SUBS: &[Command] = &[
    Command {
        name: "config|get",
        arity: -3,
        flags: ADM,
        keys: NOKEYS,
        group: "server",
        since: "2.0.0",
        args: "parameter [parameter ...]",
        summary: "Get the values of configuration parameters",
        handler: config_get,
        ..Command::DEFAULT
    },
    Command {
        name: "config|set",
        arity: -4,
        flags: ADM,
        keys: NOKEYS,
        group: "server",
        since: "2.0.0",
        args: "parameter value [parameter value ...]",
        summary: "Set configuration parameters to the given values",
        handler: config_set,
        ..Command::DEFAULT
    },
    Command {
        name: "config|resetstat",
        arity: 2,
        flags: ADM,
        keys: NOKEYS,
        group: "server",
        since: "2.0.0",
        summary: "Reset the stats returned by INFO",
        handler: config_resetstat,
        ..Command::DEFAULT
    },
    Command {
        name: "config|rewrite",
        arity: 2,
        flags: ADM,
        keys: NOKEYS,
        group: "server",
        since: "2.8.0",
        summary: "Rewrite the configuration file with the in memory configuration",
        handler: config_rewrite,
        ..Command::DEFAULT
    },
    Command {
        name: "config|help",
        arity: 2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        handler: config_help,
        ..Command::DEFAULT
    },
];

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

fn config_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cfg = ctx.srv.config.read();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for a in &args[2..] {
        let pat = String::from_utf8_lossy(a);
        if !has_glob(&pat) {
            if let Some(p) = crate::config::find_param(&pat) {
                if seen.insert(pat.to_ascii_lowercase()) {
                    pairs.push((pat.to_string(), (p.get)(&cfg)));
                }
            }
            continue;
        }
        for p in crate::config::PARAMS {
            for name in std::iter::once(&p.name).chain(p.aliases.iter()) {
                if crate::glob::matches(pat.as_bytes(), name.as_bytes(), true)
                    && seen.insert(name.to_string())
                {
                    pairs.push((name.to_string(), (p.get)(&cfg)));
                }
            }
        }
    }
    drop(cfg);
    // `port = 0` means "let the OS pick": report the port actually in use.
    for (k, v) in &mut pairs {
        if v == "0" && crate::config::find_param(k).is_some_and(|p| p.name == "port") {
            *v = ctx.srv.tcp_port.load(Ordering::Relaxed).to_string();
        }
    }
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if (args.len() - 2) % 2 != 0 {
        return Err(Error::Syntax);
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(&p[0]).into_owned(),
                String::from_utf8_lossy(&p[1]).into_owned(),
            )
        })
        .collect();
    // First every name (unknown, immutable, duplicate), then every value: nothing changes unless all pass.
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, _) in &pairs {
        let Some(p) = crate::config::find_param(name) else {
            return Err(Error::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{}'",
                name
            )));
        };
        if !p.mutable {
            return Err(Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                name
            )));
        }
        if seen.contains(&p.name) {
            return Err(Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                name
            )));
        }
        seen.push(p.name);
    }
    let old_dir = ctx.srv.config.read().dir.clone();
    let mut new = ctx.srv.config.read().clone();
    for (name, value) in &pairs {
        new.set(name, value).map_err(Error::err)?;
    }
    if new.dir != old_dir {
        let arg = pairs
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case("dir"))
            .map_or("dir", |(n, _)| n.as_str());
        std::env::set_current_dir(&new.dir).map_err(|e| {
            Error::err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - {}",
                arg,
                io_text(&e)
            ))
        })?;
        if let Ok(cwd) = std::env::current_dir() {
            new.dir = cwd.display().to_string();
        }
    }
    ctx.store.limits = crate::store::EncodingLimits::from_config(&new);
    *ctx.srv.config.write() = new;
    ctx.srv.config_changed();
    if let Err(e) = ctx.srv.aof.apply_appendonly(ctx.store) {
        // Redis keeps the new value off when the AOF can't be turned on.
        ctx.srv.config.write().appendonly = ctx.srv.aof.enabled();
        ctx.srv.config_changed();
        return Err(Error::err(format!(
            "CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
        )));
    }
    // The rest of this batch already runs with the new values.
    ctx.client.refresh_config(ctx.srv);
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.stats.reset();
    ctx.store.cmdstats.clear();
    ctx.store.errorstats.clear();
    ctx.store.stats.expired_keys = 0;
    for db in &mut ctx.store.dbs {
        db.hits = 0;
        db.misses = 0;
    }
    *super::info::OPS_SAMPLE.lock() = None;
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let cfg = ctx.srv.config.read().clone();
    let Some(path) = cfg.config_file.clone() else {
        return Err(Error::err("The server is running without a config file"));
    };
    if let Err(e) = crate::config::rewrite::rewrite(&cfg, &path) {
        tracing::warn!("CONFIG REWRITE failed: {}", e);
        return Err(Error::err(format!(
            "Rewriting config file: {}",
            io_text(&e)
        )));
    }
    tracing::info!("CONFIG REWRITE executed with success.");
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- COMMAND
