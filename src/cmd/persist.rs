//! Persistence commands: SAVE, BGSAVE, LASTSAVE (the machinery lives in
//! `crate::persist`).

use super::{flags::*, Command, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::util::eq_ic;
use bytes::Bytes;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "save",
        arity: 1,
        flags: ADMIN | NOSCRIPT | NO_MULTI,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "Synchronously save the dataset to disk",
        handler: save,
        ..Command::DEFAULT
    },
    Command {
        name: "bgsave",
        arity: -1,
        flags: ADMIN | NOSCRIPT,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "[SCHEDULE]",
        summary: "Asynchronously save the dataset to disk",
        handler: bgsave,
        ..Command::DEFAULT
    },
    Command {
        name: "bgrewriteaof",
        arity: 1,
        flags: ADMIN | NOSCRIPT,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "Asynchronously rewrite the append-only file",
        handler: bgrewriteaof,
        ..Command::DEFAULT
    },
    Command {
        name: "lastsave",
        acl: &["admin", "dangerous"],
        arity: 1,
        flags: LOADING | STALE | FAST,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "Get the UNIX time stamp of the last successful save to disk",
        handler: lastsave,
        ..Command::DEFAULT
    },
];

fn save(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.persist.save(ctx.store)?;
    ctx.out.ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if eq_ic(&args[1], "schedule") => true,
        _ => return Err(Error::Syntax),
    };
    if ctx.srv.persist.bgsave(ctx.store, schedule)? {
        ctx.out.simple("Background saving started");
    } else {
        ctx.out.simple("Background saving scheduled");
    }
    Ok(())
}

fn bgrewriteaof(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.srv.aof.start_rewrite(ctx.store)? {
        ctx.out
            .simple("Background append only file rewriting started");
    } else {
        ctx.out
            .simple("Background append only file rewriting scheduled");
    }
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out
        .int(ctx.srv.persist.last_save.load(Ordering::Relaxed) as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testkit::Harness;

    #[test]
    fn save_and_bgsave_in_a_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = Harness::new();
        h.srv.config.write().dir = dir.path().display().to_string();
        h.srv.config_changed();
        h.run("SET a 1");
        assert_eq!(h.run("SAVE"), "+OK\r\n");
        assert!(dir.path().join("dump.rdb").exists());
        assert_eq!(h.run("BGSAVE x"), "-ERR syntax error\r\n");
        let r = h.run("BGSAVE");
        assert_eq!(r, "+Background saving started\r\n");
        for _ in 0..200 {
            if !h
                .srv
                .persist
                .bgsave_in_progress
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(h
            .run("INFO persistence")
            .contains("rdb_last_bgsave_status:ok"));
        assert!(!dir
            .path()
            .join(format!("temp-bg-{}.rdb", std::process::id()))
            .exists());
    }
}
