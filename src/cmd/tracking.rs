//! Client-side caching commands: CLIENT TRACKING, CACHING, GETREDIR,
//! TRACKINGINFO (Redis 7.0's texts and checks, in its order), and the
//! executor's hook that remembers keys read and tells readers of keys
//! written (the registry itself is `crate::tracking`).

use super::{flags, CmdResult, Command, Ctx};
use crate::error::Error;
use crate::net::client::Client;
use crate::store::Store;
use crate::tracking::{check_prefixes, Opts};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// After a command ran (keyspace lock held): invalidations for the keys it
/// modified, then, for a read-only command of a tracking client, the keys
/// it read are remembered (trackingRememberKeys). Scripts' own commands
/// count; EVAL_RO/FCALL_RO themselves (NOSCRIPT) do not, as in Redis.
pub fn after_call(store: &mut Store, client: &Client, cmd: &Command, args: &[Bytes]) {
    store.tracking_sync(Some(client.id));
    let Some(t) = &client.tracking else {
        return;
    };
    if !cmd.is(flags::READONLY) || cmd.is(flags::NOSCRIPT) || !t.remembers_reads() {
        return;
    }
    let pos = cmd.keys_of(args);
    if pos.is_empty() {
        return;
    }
    store.tracking.remember(
        client.id,
        pos.iter().filter_map(|&i| args.get(i)).map(|k| &k[..]),
    );
    store
        .tracking
        .limit(client.cfg.tracking_table_max_keys.max(0) as usize);
}

/// CLIENT CACHING's flag lasts for one command (a whole MULTI/EXEC), not
/// past any other CLIENT subcommand (Redis's resetClient).
pub fn end_of_command(client: &mut Client, cmd: &Command) {
    if let Some(t) = client.tracking.as_mut() {
        if t.caching && client.multi.is_none() && !cmd.name.starts_with("client|") {
            t.caching = false;
        }
    }
}

/// Tracking off for this client (CLIENT TRACKING OFF, RESET, disconnect).
pub fn disable(store: &mut Store, client: &mut Client) {
    if let Some(t) = client.tracking.take() {
        store.tracking.disable(client.id, &t.prefixes);
        store.tracking_changed();
    }
}

pub fn tracking(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut redirect: i64 = 0;
    let mut redirect_tx = None;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if eq_ic(a, "redirect") && more {
            j += 1;
            if redirect != 0 {
                return Err(Error::err(
                    "A client can only redirect to a single other client",
                ));
            }
            redirect = crate::util::parse_i64(&args[j]).ok_or(Error::NotInteger)?;
            // The target must exist now (it may go away later: flag R).
            let target = u64::try_from(redirect)
                .ok()
                .and_then(|id| ctx.srv.clients.lock().get(&id).map(|h| h.tx.clone()));
            match target {
                Some(tx) => redirect_tx = Some(tx),
                None => {
                    return Err(Error::err(
                        "The client ID you want redirect to does not exist",
                    ))
                }
            }
        } else if eq_ic(a, "bcast") {
            bcast = true;
        } else if eq_ic(a, "optin") {
            optin = true;
        } else if eq_ic(a, "optout") {
            optout = true;
        } else if eq_ic(a, "noloop") {
            noloop = true;
        } else if eq_ic(a, "prefix") && more {
            j += 1;
            prefixes.push(args[j].clone());
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }

    if eq_ic(&args[2], "off") {
        disable(ctx.store, ctx.client);
        ctx.out.ok();
        return Ok(());
    }
    if !eq_ic(&args[2], "on") {
        return Err(Error::Syntax);
    }
    let old = ctx.client.tracking.as_ref();
    if !bcast && !prefixes.is_empty() {
        return Err(Error::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if old.is_some_and(|o| o.bcast != bcast) {
        return Err(Error::err("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if bcast && (optin || optout) {
        return Err(Error::err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if optin && optout {
        return Err(Error::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if old.is_some_and(|o| (optin && o.optout) || (optout && o.optin)) {
        return Err(Error::err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    let mut all: BTreeSet<Bytes> = old.map(|o| o.prefixes.clone()).unwrap_or_default();
    if bcast {
        check_prefixes(&all, &prefixes).map_err(Error::msg)?;
        if prefixes.is_empty() {
            // BCAST without PREFIX: every key.
            prefixes.push(Bytes::new());
        }
        // Copies: request bytes would pin the whole read buffer.
        all.extend(prefixes.iter().map(|p| Bytes::copy_from_slice(p)));
    }
    let opts = Opts {
        redirect: redirect as u64,
        bcast,
        optin,
        optout,
        noloop,
        prefixes: all,
        caching: old.is_some_and(|o| o.caching),
        broken: Default::default(),
    };
    let target = redirect_tx.map(|tx| (redirect as u64, tx));
    let id = ctx.client.id;
    let resp3 = ctx.client.proto == crate::resp::Proto::Resp3;
    ctx.store
        .tracking
        .enable(id, &ctx.client.handle.tx, target, &opts, resp3);
    ctx.store.tracking_changed();
    ctx.client.tracking = Some(opts);
    ctx.out.ok();
    Ok(())
}

pub fn caching(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(t) = ctx.client.tracking.as_mut() else {
        return Err(Error::err("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    };
    if eq_ic(&args[2], "yes") {
        if !t.optin {
            return Err(Error::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ic(&args[2], "no") {
        if !t.optout {
            return Err(Error::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(Error::Syntax);
    }
    t.caching = true;
    ctx.out.ok();
    Ok(())
}

pub fn getredir(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let r = ctx
        .client
        .tracking
        .as_ref()
        .map_or(-1, |t| t.redirect as i64);
    ctx.out.int(r);
    Ok(())
}

pub fn trackinginfo(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let t = ctx.client.tracking.as_ref();
    let mut fl: Vec<&str> = Vec::new();
    match t {
        None => fl.push("off"),
        Some(t) => {
            fl.push("on");
            if t.bcast {
                fl.push("bcast");
            }
            if t.optin {
                fl.push("optin");
                if t.caching {
                    fl.push("caching-yes");
                }
            }
            if t.optout {
                fl.push("optout");
                if t.caching {
                    fl.push("caching-no");
                }
            }
            if t.noloop {
                fl.push("noloop");
            }
            if t.broken.load(Ordering::Relaxed) {
                fl.push("broken_redirect");
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(fl.len());
    for f in fl {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(t.map_or(-1, |t| t.redirect as i64));
    out.bulk(b"prefixes");
    match t {
        Some(t) => {
            out.array(t.prefixes.len());
            for p in &t.prefixes {
                out.bulk(p);
            }
        }
        None => out.array(0),
    }
    Ok(())
}
