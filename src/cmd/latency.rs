//! LATENCY LATEST/HISTORY/RESET/DOCTOR/GRAPH/HISTOGRAM/HELP over the
//! recorder in `crate::latency` (events at or above
//! `latency-monitor-threshold`).

use super::{flags::*, Command, Ctx};
use crate::error::{CmdResult, Error};
use bytes::Bytes;

pub static COMMANDS: &[Command] = &[Command {
    name: "latency",
    arity: -2,
    group: "server",
    since: "2.8.13",
    summary: "A container for latency diagnostics commands",
    subcommands: SUBCOMMANDS,
    ..Command::DEFAULT
}];

const SUB_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "latency|latest",
        arity: 2,
        flags: SUB_FLAGS,
        group: "server",
        since: "2.8.13",
        summary: "Return the latest latency samples for all events.",
        handler: latest,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|history",
        arity: 3,
        flags: SUB_FLAGS,
        group: "server",
        since: "2.8.13",
        args: "event",
        summary: "Return timestamp-latency samples for the event.",
        handler: history,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|reset",
        arity: -2,
        flags: SUB_FLAGS,
        group: "server",
        since: "2.8.13",
        args: "[event [event ...]]",
        summary: "Reset latency data for one or more events.",
        handler: reset,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|doctor",
        arity: 2,
        flags: SUB_FLAGS,
        group: "server",
        since: "2.8.13",
        summary: "Return a human readable latency analysis report.",
        handler: doctor,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|graph",
        arity: 3,
        flags: SUB_FLAGS,
        group: "server",
        since: "2.8.13",
        args: "event",
        summary: "Return a latency graph for the event.",
        handler: graph,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|histogram",
        arity: -2,
        flags: SUB_FLAGS,
        group: "server",
        since: "7.0.0",
        args: "[command [command ...]]",
        summary: "Return the cumulative distribution of latencies of a subset of commands or all commands.",
        handler: histogram,
        ..Command::DEFAULT
    },
    Command {
        name: "latency|help",
        arity: 2,
        flags: LOADING | STALE,
        group: "server",
        since: "2.8.13",
        summary: "Show helpful text about the different subcommands.",
        handler: help,
        ..Command::DEFAULT
    },
];

fn latest(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let l = ctx.srv.latency.latest();
    ctx.out.array(l.len());
    for (name, t, ms, max) in l {
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(t as i64);
        ctx.out.int(ms as i64);
        ctx.out.int(max as i64);
    }
    Ok(())
}

fn history(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let h = ctx.srv.latency.history(&String::from_utf8_lossy(&args[2]));
    ctx.out.array(h.len());
    for (t, ms) in h {
        ctx.out.array(2);
        ctx.out.int(t as i64);
        ctx.out.int(ms as i64);
    }
    Ok(())
}

fn reset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let names: Vec<String> = args[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let n = ctx.srv.latency.reset(&names);
    ctx.out.int(n as i64);
    Ok(())
}

fn doctor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let text = if ctx.client.cfg.latency_monitor_threshold == 0 {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
    } else {
        let l = ctx.srv.latency.latest();
        if l.is_empty() {
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string()
        } else {
            let mut t = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            for (i, (name, _, _, max)) in l.iter().enumerate() {
                let h = ctx.srv.latency.history(name);
                let avg = h.iter().map(|s| s.1).sum::<u64>() / h.len().max(1) as u64;
                t.push_str(&format!(
                    "{}. {}: {} latency spikes (average {}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.\n",
                    i + 1,
                    name,
                    h.len(),
                    avg,
                    max
                ));
            }
            t.push_str("\nI have a few advices for you:\n\n- Check your system for CPU or I/O pressure, and the slow log (SLOWLOG GET) for the commands behind the spikes.\n");
            t
        }
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// An ASCII chart of an event's samples: one column per sample, the
/// tallest at the top, as Redis's sparkline (its exact glyph rules differ).
fn graph(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let h = ctx.srv.latency.history(&name);
    if h.is_empty() {
        return Err(Error::err(format!(
            "No samples available for event '{}'",
            name
        )));
    }
    let max = h.iter().map(|s| s.1).max().unwrap_or(1).max(1);
    let min = h.iter().map(|s| s.1).min().unwrap_or(0);
    let rows = 4u64;
    let mut t = format!(
        "{} - high {} ms, low {} ms (all time high {} ms)\n",
        name,
        max,
        min,
        ctx.srv
            .latency
            .latest()
            .iter()
            .find(|l| l.0 == name)
            .map_or(max, |l| l.3)
    );
    t.push_str(&"-".repeat(80));
    t.push('\n');
    for r in (1..=rows).rev() {
        for s in &h {
            t.push(if s.1 * rows >= r * max { '#' } else { ' ' });
        }
        t.push('\n');
    }
    ctx.out.verbatim(t.as_bytes());
    Ok(())
}

/// A command's name, its (µs, cumulative calls) points and its call count.
type CommandCdf = (&'static str, Vec<(u64, u64)>, u64);

/// The per-command histograms kept while `latency-tracking` is on (the
/// ones INFO latencystats reads): all of them, or those of the named
/// commands (a container names its subcommands); unknown names are skipped.
fn histogram(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let wanted: Vec<String> = args[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let picked = |name: &str| {
        wanted.is_empty()
            || wanted.iter().any(|w| {
                name == w
                    || name
                        .strip_prefix(w.as_str())
                        .is_some_and(|r| r.starts_with('|'))
            })
    };
    let mut rows: Vec<CommandCdf> = ctx
        .store
        .cmdstats
        .values()
        .filter(|c| picked(c.name))
        .filter_map(|c| {
            let h = c.latency.as_ref().filter(|h| h.total() > 0)?;
            Some((c.name, h.cdf_usec(), h.total()))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    let out = &mut *ctx.out;
    out.map(rows.len());
    for (name, cdf, calls) in rows {
        out.bulk(name.as_bytes());
        out.map(2);
        out.bulk(b"calls");
        out.int(calls as i64);
        out.bulk(b"histogram_usec");
        out.map(cdf.len());
        for (us, n) in cdf {
            out.int(us as i64);
            out.int(n as i64);
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    const HELP: &[&str] = &[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(HELP.len());
    for l in HELP {
        ctx.out.simple(l);
    }
    Ok(())
}
