//! COMMAND and its subcommands: introspection generated from the command table.

use super::{flags::*, table, Command, Ctx, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::util::eq_ic;
use bytes::Bytes;

use super::server::{help, lower, LS};

pub static COMMANDS: &[Command] = &[
    // COMMAND is a container that also runs on its own (arity -1): the
    // executor resolves a bare `COMMAND` to this declaration.
    Command {
        name: "command",
        acl: &["connection"],
        arity: -1,
        flags: LS | SENTINEL,
        keys: super::NOKEYS,
        group: "server",
        summary: "Get array of Redis command details",
        since: "2.8.13",
        args: "",
        handler: command_all,
        subcommands: COMMAND_SUBS,
        sentinel: Some(crate::sentinel::front::command_command),
        ..Command::DEFAULT
    },
];

static COMMAND_SUBS: &[Command] = &[
    Command {
        name: "command|count",
        acl: &["connection"],
        arity: 2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "2.8.13",
        summary: "Get total number of Redis commands",
        handler: command_count,
        ..Command::DEFAULT
    },
    Command {
        name: "command|docs",
        acl: &["connection"],
        arity: -2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "7.0.0",
        args: "[command-name [command-name ...]]",
        summary: "Get array of specific Redis command documentation",
        handler: command_docs,
        ..Command::DEFAULT
    },
    Command {
        name: "command|getkeys",
        acl: &["connection"],
        arity: -4,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "2.8.13",
        args: "command [arg [arg ...]]",
        summary: "Extract keys given a full Redis command",
        handler: command_getkeys,
        ..Command::DEFAULT
    },
    Command {
        name: "command|help",
        acl: &["connection"],
        arity: 2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        handler: command_help,
        ..Command::DEFAULT
    },
    Command {
        name: "command|info",
        acl: &["connection"],
        arity: -2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "2.8.13",
        args: "[command-name [command-name ...]]",
        summary: "Get array of specific Redis command details, or all when no argument is given.",
        handler: command_info,
        ..Command::DEFAULT
    },
    Command {
        name: "command|list",
        acl: &["connection"],
        arity: -2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "7.0.0",
        args: "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]",
        summary: "Get an array of Redis command names",
        handler: command_list,
        ..Command::DEFAULT
    },
];

pub(crate) fn command_info_reply(out: &mut Out, c: &Command) {
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let mut names: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| c.is(*f))
        .map(|(_, n)| *n)
        .collect();
    if c.movable_keys.is_some() {
        names.push("movablekeys");
    }
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(c.keys.first as i64);
    out.int(c.keys.last as i64);
    out.int(c.keys.step as i64);
    let cats = c.acl_categories();
    out.set(cats.len());
    for cat in &cats {
        out.simple(cat);
    }
    out.set(0); // tips
    if c.keys.first > 0 {
        out.array(1);
        key_spec_reply(out, c);
    } else {
        out.array(0);
    }
    out.array(c.subcommands.len());
    for s in c.subcommands {
        command_info_reply(out, s);
    }
}

/// One range key spec derived from (first, last, step).
fn key_spec_reply(out: &mut Out, c: &Command) {
    let flags: &[&str] = if c.is(READONLY) {
        &["RO", "access"]
    } else if c.is(WRITE) {
        &["RW", "update"]
    } else {
        &[]
    };
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(c.keys.first as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if c.keys.last < 0 {
        c.keys.last as i64
    } else {
        (c.keys.last - c.keys.first) as i64
    });
    out.bulk(b"keystep");
    out.int(c.keys.step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// Find a command by `name` or `container|sub`.
fn lookup_full(name: &[u8]) -> Option<&'static Command> {
    let t = table();
    match name.iter().position(|&b| b == b'|') {
        None => t.get(name),
        Some(i) => {
            let c = t.get(&name[..i])?;
            t.subcommand(c, &name[i + 1..])
        }
    }
}

fn command_all(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let all = &table().all;
    ctx.out.array(all.len());
    for c in all {
        command_info_reply(ctx.out, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.int(table().all.len() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for a in &args[2..] {
        match lookup_full(a) {
            Some(c) => command_info_reply(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// One argument of a COMMAND DOCS reply, derived from the synopsis text.
#[derive(Debug, Default, PartialEq)]
struct DocArg {
    name: String,
    kind: &'static str,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    args: Vec<DocArg>,
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase())
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn word_arg(w: &str) -> DocArg {
    if is_token(w) {
        DocArg {
            name: w.to_ascii_lowercase(),
            kind: "pure-token",
            token: Some(w.to_string()),
            ..Default::default()
        }
    } else {
        DocArg {
            name: w.to_string(),
            kind: if w == "key" { "key" } else { "string" },
            ..Default::default()
        }
    }
}

/// Parse a synopsis like `key value [EX seconds|PX ms] [key ...]` into doc arguments.
fn parse_synopsis(s: &str) -> Vec<DocArg> {
    let spaced = s
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('|', " | ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    parse_seq(&toks, &mut pos)
}

/// A sequence up to a closing `]` (consumed by the caller) or the end.
fn parse_seq(toks: &[&str], pos: &mut usize) -> Vec<DocArg> {
    // Alternatives at this level: collect groups split by `|`.
    let mut alts: Vec<Vec<DocArg>> = vec![Vec::new()];
    while *pos < toks.len() {
        let t = toks[*pos];
        *pos += 1;
        let cur = alts.last_mut().expect("one group");
        match t {
            "]" => {
                *pos -= 1;
                break;
            }
            "|" => alts.push(Vec::new()),
            "..." => {
                if let Some(last) = cur.last_mut() {
                    last.multiple = true;
                }
            }
            "[" => {
                let inner = parse_seq(toks, pos);
                if toks.get(*pos) == Some(&"]") {
                    *pos += 1;
                }
                // `x [x ...]` is how a repeated argument is written.
                let repeat = inner.len() == 1
                    && inner[0].multiple
                    && cur.last().is_some_and(|l| l.name == inner[0].name);
                if repeat {
                    if let Some(l) = cur.last_mut() {
                        l.multiple = true;
                    }
                    continue;
                }
                let mut a = if inner.len() == 1 {
                    inner.into_iter().next().expect("one")
                } else {
                    DocArg {
                        name: "block".into(),
                        kind: "block",
                        args: inner,
                        ..Default::default()
                    }
                };
                a.optional = true;
                cur.push(a);
            }
            w => cur.push(word_arg(w)),
        }
    }
    if alts.len() == 1 {
        return alts.pop().expect("one group");
    }
    let args = alts
        .into_iter()
        .map(|mut g| {
            if g.len() == 1 {
                g.pop().expect("one")
            } else {
                DocArg {
                    name: "block".into(),
                    kind: "block",
                    args: g,
                    ..Default::default()
                }
            }
        })
        .collect();
    vec![DocArg {
        name: "choice".into(),
        kind: "oneof",
        args,
        ..Default::default()
    }]
}

fn doc_arg_reply(out: &mut Out, a: &DocArg) {
    let mut flags = Vec::new();
    if a.optional {
        flags.push("optional");
    }
    if a.multiple {
        flags.push("multiple");
    }
    let n = 2
        + usize::from(a.kind == "key")
        + usize::from(a.token.is_some())
        + usize::from(!flags.is_empty())
        + usize::from(!a.args.is_empty());
    out.map(n);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if a.kind == "key" {
        out.bulk(b"key_spec_index");
        out.int(0);
    }
    if let Some(t) = &a.token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if !flags.is_empty() {
        out.bulk(b"flags");
        out.set(flags.len());
        for f in flags {
            out.simple(f);
        }
    }
    if !a.args.is_empty() {
        out.bulk(b"arguments");
        out.array(a.args.len());
        for x in &a.args {
            doc_arg_reply(out, x);
        }
    }
}

pub(crate) fn command_docs_reply(out: &mut Out, c: &Command) {
    let args = parse_synopsis(c.args);
    let n = 3 + usize::from(!args.is_empty()) + usize::from(!c.subcommands.is_empty());
    out.map(n);
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if !args.is_empty() {
        out.bulk(b"arguments");
        out.array(args.len());
        for a in &args {
            doc_arg_reply(out, a);
        }
    }
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(s.name.as_bytes());
            command_docs_reply(out, s);
        }
    }
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cmds: Vec<&'static Command> = if args.len() == 2 {
        table().all.clone()
    } else {
        args[2..].iter().filter_map(|a| lookup_full(a)).collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.name.as_bytes());
        command_docs_reply(ctx.out, c);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    enum Filter {
        None,
        Module,
        AclCat(String),
        Pattern(Bytes),
    }
    let filter = match args.len() {
        2 => Filter::None,
        5 if eq_ic(&args[2], "filterby") => {
            if eq_ic(&args[3], "module") {
                Filter::Module
            } else if eq_ic(&args[3], "aclcat") {
                Filter::AclCat(format!("@{}", lower(&args[4])))
            } else if eq_ic(&args[3], "pattern") {
                Filter::Pattern(args[4].clone())
            } else {
                return Err(Error::Syntax);
            }
        }
        _ => return Err(Error::Syntax),
    };
    let mut names: Vec<&'static str> = Vec::new();
    for c in &table().all {
        for x in std::iter::once(*c).chain(c.subcommands.iter()) {
            let keep = match &filter {
                Filter::None => true,
                Filter::Module => false,
                Filter::AclCat(cat) => x.acl_categories().iter().any(|c| c == cat),
                Filter::Pattern(p) => crate::glob::matches(p, x.name.as_bytes(), true),
            };
            if keep {
                names.push(x.name);
            }
        }
    }
    ctx.out.bulks(names.iter());
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[2..];
    let t = table();
    let Some(mut c) = t.get(&sub[0]) else {
        return Err(Error::err("Invalid command specified"));
    };
    if !c.subcommands.is_empty() && sub.len() >= 2 {
        c = t
            .subcommand(c, &sub[1])
            .ok_or_else(|| Error::err("Invalid command specified"))?;
    }
    if !c.arity_ok(sub.len()) {
        return Err(Error::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = c.keys_of(sub);
    if keys.is_empty() {
        return Err(Error::err("The command has no key arguments"));
    }
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(&sub[i]);
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- keyspace-wide

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synopsis_to_doc_args() {
        let a = parse_synopsis("key [key ...]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "key");
        assert!(a[0].multiple);
        let a = parse_synopsis("[ASYNC|SYNC]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "oneof");
        assert!(a[0].optional);
        assert_eq!(a[0].args[0].token.as_deref(), Some("ASYNC"));
        let a = parse_synopsis("[protover [AUTH username password] [SETNAME clientname]]");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "block");
        assert_eq!(a[0].args.len(), 3);
        assert!(parse_synopsis("").is_empty());
    }

    #[test]
    fn every_synopsis_parses() {
        for c in &table().all {
            for x in std::iter::once(*c).chain(c.subcommands.iter()) {
                let _ = parse_synopsis(x.args);
            }
        }
    }

    #[test]
    fn bare_command_resolves_to_the_container() {
        let r = |v: &[&str]| {
            super::super::exec::resolve(
                &v.iter()
                    .map(|s| Bytes::from(s.to_string()))
                    .collect::<Vec<_>>(),
            )
            .map(|c| c.name)
        };
        assert_eq!(r(&["COMMAND"]), Ok("command"));
        assert_eq!(r(&["command", "count"]), Ok("command|count"));
        assert_eq!(
            r(&["config"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'config' command"
        );
        assert_eq!(
            r(&["command", "getkeys", "get"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'command|getkeys' command"
        );
    }
}
