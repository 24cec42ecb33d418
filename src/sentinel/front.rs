//! The RESP server of a sentinel: what clients (redis-cli, client libraries,
//! HAProxy) and other sentinels talk to. Served by the shared connection
//! loop (`net::service`, this file implements its `Service`); the commands
//! are the SENTINEL / ONLY_SENTINEL declarations of the one command table
//! (`cmd`), whose `sentinel` handlers are the `*_command` functions here.

use super::core::Reply;
use super::driver::{shutdown, ClientMeta, Delivery, Shared, Subscriber};
use crate::cmd::{flags, Command};
use crate::error::{CmdResult, Error};
use crate::net::{Flow, Service};
use crate::resp::{parse_request, Limits, Out, Proto};
use crate::util::eq_ic;
use bytes::{Bytes, BytesMut};
use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub async fn bind(sh: &Shared) -> Result<Vec<TcpListener>, String> {
    let out = crate::net::bind_addrs(&sh.cfg.bind, sh.cfg.port).await?;
    if let Some(a) = out.first().and_then(|l| l.local_addr().ok()) {
        sh.tcp_port.store(a.port() as u64, Ordering::Relaxed);
    }
    Ok(out)
}

pub async fn serve(sh: Arc<Shared>, listeners: Vec<TcpListener>) {
    crate::net::serve(sh, listeners).await;
}

/// One client connection of the sentinel.
pub struct Conn {
    id: u64,
    proto: Proto,
    authed: bool,
    channels: HashSet<String>,
    patterns: HashSet<String>,
    close: bool,
}

impl Conn {
    fn sub_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// What a sentinel handler may touch.
pub struct Ctx<'a> {
    pub sh: &'a Arc<Shared>,
    pub conn: &'a mut Conn,
    pub out: &'a mut Out,
}

impl Service for Shared {
    type Session = Conn;
    type Push = Delivery;
    /// A sentinel never suspends a request.
    type Event = std::convert::Infallible;

    fn accept(&self, _stream: &TcpStream) -> bool {
        self.stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        true
    }

    fn open(
        self: &Arc<Self>,
        _stream: &TcpStream,
        addr: SocketAddr,
        laddr: SocketAddr,
    ) -> (Conn, UnboundedReceiver<Delivery>) {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        self.clients.lock().insert(
            id,
            ClientMeta {
                addr: addr.to_string(),
                laddr: laddr.to_string(),
                name: String::new(),
                created: Instant::now(),
                last_cmd: "NULL".into(),
            },
        );
        self.stats.connected.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = unbounded_channel();
        self.subs.lock().insert(
            id,
            Subscriber {
                channels: HashSet::new(),
                patterns: HashSet::new(),
                tx,
            },
        );
        let c = Conn {
            id,
            proto: Proto::Resp2,
            authed: self.cfg.requirepass.is_none(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            close: false,
        };
        (c, rx)
    }

    fn process<'a>(
        self: &'a Arc<Self>,
        c: &'a mut Conn,
        inbuf: &'a mut BytesMut,
        out: &'a mut Out,
    ) -> impl Future<Output = Flow> + Send + 'a {
        std::future::ready(process(self, c, inbuf, out))
    }

    fn push(&self, c: &Conn, out: &mut Out, d: &Delivery) {
        out.proto = c.proto;
        deliver(out, d);
    }

    async fn close(&self, c: &mut Conn) {
        self.subs.lock().remove(&c.id);
        self.clients.lock().remove(&c.id);
        self.stats.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Run every complete request in order; QUIT or a protocol error ends the
/// connection (requests after it are not run).
fn process(sh: &Arc<Shared>, c: &mut Conn, inbuf: &mut BytesMut, out: &mut Out) -> Flow {
    let limits = Limits::default();
    loop {
        match parse_request(inbuf, &limits) {
            Ok(Some(args)) => {
                if args.is_empty() {
                    continue;
                }
                out.proto = c.proto;
                dispatch(sh, c, &args, out);
                if c.close {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                out.error(&format!("ERR {}", e.0));
                c.close = true;
                break;
            }
        }
    }
    if c.close {
        Flow::Close
    } else {
        Flow::Continue
    }
}

fn deliver(out: &mut Out, d: &Delivery) {
    match &d.pattern {
        Some(p) => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(p.as_bytes());
        }
        None => {
            out.push(3);
            out.bulk(b"message");
        }
    }
    out.bulk(d.channel.as_bytes());
    out.bulk(d.message.as_bytes());
}

/// Render a core reply in the client's protocol.
pub fn render(out: &mut Out, r: &Reply) {
    match r {
        Reply::Ok => out.ok(),
        Reply::Simple(s) => out.simple(s),
        Reply::Error(e) => out.error(e),
        Reply::Int(n) => out.int(*n),
        Reply::Bulk(b) => out.bulk(b),
        Reply::Null => out.null_array(),
        Reply::Array(items) => {
            out.array(items.len());
            for i in items {
                render(out, i);
            }
        }
        Reply::Map(pairs) => {
            out.map(pairs.len());
            for (k, v) in pairs {
                out.bulk(k.as_bytes());
                render(out, v);
            }
        }
    }
}

/// The commands only a sentinel serves, declared in the one table
/// (`cmd::table` registers them; the shared ones are declared with the data
/// node's families and flagged SENTINEL).
pub static COMMANDS: &[Command] = &[
    Command {
        name: "sentinel",
        arity: -2,
        flags: flags::ADMIN | flags::ONLY_SENTINEL,
        group: "sentinel",
        summary: "A container for Redis Sentinel commands",
        since: "2.8.4",
        args: "subcommand [arg ...]",
        sentinel: Some(sentinel_command),
        ..Command::DEFAULT
    },
    // The data node has no ACL yet: when it has, this declaration moves to
    // its family, flagged SENTINEL.
    Command {
        name: "acl",
        arity: -2,
        flags: flags::ONLY_SENTINEL,
        group: "server",
        summary: "A container for Access List Control commands",
        since: "6.0.0",
        args: "subcommand [arg ...]",
        sentinel: Some(acl_command),
        ..Command::DEFAULT
    },
];

fn dispatch(sh: &Arc<Shared>, c: &mut Conn, args: &[Bytes], out: &mut Out) {
    sh.stats.commands_processed.fetch_add(1, Ordering::Relaxed);
    let found = crate::cmd::table()
        .sentinel_get(&args[0])
        .and_then(|cmd| Some((cmd, cmd.sentinel?)));
    let Some((cmd, handler)) = found else {
        out.error(&Error::unknown_command(args).to_string());
        return;
    };
    if !cmd.arity_ok(args.len()) {
        out.error(&Error::arity(cmd.name).to_string());
        return;
    }
    if let Some(m) = sh.clients.lock().get_mut(&c.id) {
        m.last_cmd = cmd.name.to_string();
    }
    if !c.authed && !cmd.is(flags::NO_AUTH) {
        out.error(&Error::NoAuth.to_string());
        return;
    }
    if c.proto == Proto::Resp2 && c.sub_count() > 0 && !cmd.is(flags::SUBSCRIBED_OK) {
        out.error(&format!("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd.name));
        return;
    }
    let mut ctx = Ctx { sh, conn: c, out };
    if let Err(e) = handler(&mut ctx, args) {
        ctx.out.error(&e.to_string());
    }
}

// The handlers the table names (`sentinel:` of each declaration).

pub fn ping_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ping(ctx.conn, args, ctx.out)
}

pub fn info_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let text = info(ctx.sh, args);
    // Unlike a node, a sentinel's INFO stays a plain bulk string under RESP3.
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

pub fn role_command(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let names = ctx.sh.core.lock().master_names();
    ctx.out.array(2);
    ctx.out.bulk(b"sentinel");
    ctx.out.bulks(names.iter());
    Ok(())
}

pub fn hello_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    hello(ctx.sh, ctx.conn, args, ctx.out)
}

pub fn auth_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    auth(ctx.sh, ctx.conn, args, ctx.out)
}

pub fn client_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    client_cmd(ctx.sh, ctx.conn, args, ctx.out)
}

pub fn command_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    command_cmd(args, ctx.out)
}

fn acl_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if eq_ic(&args[1], "whoami") {
        ctx.out.bulk(b"default");
        Ok(())
    } else {
        Err(Error::unknown_subcommand(&args[1], "ACL"))
    }
}

pub fn subscribe_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe(ctx.sh, ctx.conn, &args[1..], false, ctx.out);
    Ok(())
}

pub fn psubscribe_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe(ctx.sh, ctx.conn, &args[1..], true, ctx.out);
    Ok(())
}

pub fn unsubscribe_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe(ctx.sh, ctx.conn, &args[1..], false, ctx.out);
    Ok(())
}

pub fn punsubscribe_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe(ctx.sh, ctx.conn, &args[1..], true, ctx.out);
    Ok(())
}

pub fn publish_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if &args[1][..] != b"__sentinel__:hello" {
        return Err(Error::err(
            "Only HELLO messages are accepted by Sentinel instances.",
        ));
    }
    let msg = String::from_utf8_lossy(&args[2]).into_owned();
    ctx.sh.input(super::core::Input::Hello { msg });
    ctx.out.int(1);
    Ok(())
}

fn sentinel_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a: Vec<Vec<u8>> = args[1..].iter().map(|b| b.to_vec()).collect();
    let reply = ctx.sh.sentinel_command(&a);
    render(ctx.out, &reply);
    Ok(())
}

pub fn shutdown_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2
        || (args.len() == 2
            && !["nosave", "save", "now", "force", "abort"]
                .iter()
                .any(|o| eq_ic(&args[1], o)))
    {
        return Err(Error::Syntax);
    }
    shutdown(ctx.sh)
}

pub fn quit_command(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.conn.close = true;
    Ok(())
}

fn ping(c: &Conn, args: &[Bytes], out: &mut Out) -> Result<(), Error> {
    if args.len() > 2 {
        return Err(Error::arity("ping"));
    }
    if c.proto == Proto::Resp2 && c.sub_count() > 0 {
        out.array(2);
        out.bulk(b"pong");
        out.bulk(args.get(1).map(|b| &b[..]).unwrap_or(b""));
    } else if let Some(m) = args.get(1) {
        out.bulk(m);
    } else {
        out.simple("PONG");
    }
    Ok(())
}

fn check_password(sh: &Shared, user: &[u8], pass: &[u8]) -> Result<(), Error> {
    if user != b"default" {
        return Err(Error::WrongPass);
    }
    match &sh.cfg.requirepass {
        None => Ok(()),
        Some(p) if p.as_bytes() == pass => Ok(()),
        Some(_) => Err(Error::WrongPass),
    }
}

fn auth(sh: &Shared, c: &mut Conn, args: &[Bytes], out: &mut Out) -> Result<(), Error> {
    let (user, pass) = crate::resp::hello::auth_args(args, sh.cfg.requirepass.is_some())?;
    check_password(sh, user, pass)?;
    c.authed = true;
    out.ok();
    Ok(())
}

fn hello(sh: &Shared, c: &mut Conn, args: &[Bytes], out: &mut Out) -> Result<(), Error> {
    let h = crate::resp::hello::parse(args, |user, pass| check_password(sh, user, pass))?;
    if h.authed {
        c.authed = true;
    }
    if !c.authed {
        return Err(Error::msg(crate::resp::hello::NOAUTH));
    }
    if let Some(n) = h.setname {
        if let Some(m) = sh.clients.lock().get_mut(&c.id) {
            m.name = String::from_utf8_lossy(&n).into_owned();
        }
    }
    let proto = h.proto;
    if let Some(p) = proto {
        c.proto = p;
        out.proto = p;
    }
    out.map(6);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if c.proto == Proto::Resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(c.id as i64);
    out.bulk(b"mode");
    out.bulk(b"sentinel");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn client_cmd(sh: &Shared, c: &mut Conn, args: &[Bytes], out: &mut Out) -> Result<(), Error> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "setname" if args.len() == 3 => {
            let n = String::from_utf8_lossy(&args[2]).into_owned();
            if n.bytes().any(|b| b <= b' ' || b > b'~') {
                return Err(Error::err(
                    "Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            if let Some(m) = sh.clients.lock().get_mut(&c.id) {
                m.name = n;
            }
            out.ok();
        }
        "getname" if args.len() == 2 => {
            let name = sh
                .clients
                .lock()
                .get(&c.id)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            if name.is_empty() {
                out.null();
            } else {
                out.bulk(name.as_bytes());
            }
        }
        "id" if args.len() == 2 => out.int(c.id as i64),
        "list" | "info" => {
            let clients = sh.clients.lock();
            let line = |id: &u64, m: &ClientMeta| {
                format!(
                    "id={} addr={} laddr={} fd=0 name={} age={} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp=2\n",
                    id, m.addr, m.laddr, m.name, m.created.elapsed().as_secs(), m.last_cmd
                )
            };
            let text: String = if sub == "info" {
                clients
                    .get(&c.id)
                    .map(|m| line(&c.id, m))
                    .unwrap_or_default()
            } else {
                let mut ids: Vec<_> = clients.keys().copied().collect();
                ids.sort();
                ids.iter().map(|id| line(id, &clients[id])).collect()
            };
            out.verbatim(text.as_bytes());
        }
        "kill" => {
            // Sentinel clients are not killed from here; answer like a node that found no one.
            if args.len() == 3 {
                return Err(Error::err("No such client"));
            }
            out.int(0);
        }
        "setinfo" | "no-evict" | "no-touch" | "reply" | "tracking" => out.ok(),
        "help" => {
            out.array(1);
            out.simple("CLIENT <subcommand> [<arg> ...]. Subcommands are: SETNAME GETNAME ID LIST INFO KILL");
        }
        _ => return Err(Error::unknown_subcommand(&args[1], "CLIENT")),
    }
    Ok(())
}

/// COMMAND on a sentinel: the sentinel's view of the one table.
fn command_cmd(args: &[Bytes], out: &mut Out) -> Result<(), Error> {
    let t = crate::cmd::table();
    let all = &t.sentinel_all;
    if args.len() == 1 {
        out.array(all.len());
        for c in all {
            crate::cmd::command::command_info_reply(out, c);
        }
        return Ok(());
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" => out.int(all.len() as i64),
        "docs" => {
            let cmds: Vec<&Command> = if args.len() == 2 {
                all.clone()
            } else {
                args[2..].iter().filter_map(|a| t.sentinel_get(a)).collect()
            };
            out.map(cmds.len());
            for c in cmds {
                out.bulk(c.name.as_bytes());
                crate::cmd::command::command_docs_reply(out, c);
            }
        }
        "info" => {
            out.array(args.len() - 2);
            for a in &args[2..] {
                match t.sentinel_get(a) {
                    Some(c) => crate::cmd::command::command_info_reply(out, c),
                    None => out.null_array(),
                }
            }
        }
        "list" => out.bulks(all.iter().map(|c| c.name.as_bytes())),
        _ => return Err(Error::unknown_subcommand(&args[1], "COMMAND")),
    }
    Ok(())
}

fn subscribe(sh: &Shared, c: &mut Conn, names: &[Bytes], pattern: bool, out: &mut Out) {
    for n in names {
        let n = String::from_utf8_lossy(n).into_owned();
        if pattern {
            c.patterns.insert(n.clone());
        } else {
            c.channels.insert(n.clone());
        }
        out.push(3);
        out.bulk(if pattern { b"psubscribe" } else { b"subscribe" });
        out.bulk(n.as_bytes());
        out.int(c.sub_count() as i64);
    }
    sync_subs(sh, c);
}

fn unsubscribe(sh: &Shared, c: &mut Conn, names: &[Bytes], pattern: bool, out: &mut Out) {
    let kind: &[u8] = if pattern {
        b"punsubscribe"
    } else {
        b"unsubscribe"
    };
    let list: Vec<String> = if names.is_empty() {
        let set = if pattern { &c.patterns } else { &c.channels };
        let mut v: Vec<String> = set.iter().cloned().collect();
        v.sort();
        v
    } else {
        names
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    };
    if list.is_empty() {
        out.push(3);
        out.bulk(kind);
        out.null();
        out.int(c.sub_count() as i64);
    }
    for n in list {
        if pattern {
            c.patterns.remove(&n);
        } else {
            c.channels.remove(&n);
        }
        out.push(3);
        out.bulk(kind);
        out.bulk(n.as_bytes());
        out.int(c.sub_count() as i64);
    }
    sync_subs(sh, c);
}

fn sync_subs(sh: &Shared, c: &Conn) {
    if let Some(s) = sh.subs.lock().get_mut(&c.id) {
        s.channels = c.channels.clone();
        s.patterns = c.patterns.clone();
    }
}

fn info(sh: &Shared, args: &[Bytes]) -> String {
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "default" || w == "everything");
    let want = |s: &str| all || wanted.iter().any(|w| w == s);
    let mut parts = Vec::new();
    if want("server") {
        let up = sh.start.elapsed().as_secs();
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let cfgf = sh
            .cfg
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        parts.push(format!(
            "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:sentinel\r\nos:{} {}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
            crate::REDIS_VERSION,
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            crate::ops::Notifier::new(&sh.cfg.supervised).mode(),
            sh.run_id,
            sh.tcp_port.load(Ordering::Relaxed),
            now_us,
            up,
            up / 86400,
            sh.hz.load(Ordering::Relaxed),
            sh.hz.load(Ordering::Relaxed),
            (now_us / 1_000_000) & ((1 << 24) - 1),
            exe,
            cfgf
        ));
    }
    if want("clients") {
        parts.push(format!(
            // No client limit, no buffer peaks tracked (fields left out); no
            // blocking commands, no tracking, no cluster: those zeros are true.
            "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nblocked_clients:0\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
            sh.stats.connected.load(Ordering::Relaxed)
        ));
    }
    if want("cpu") {
        let (u, s) = cpu_times();
        parts.push(format!(
            "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n",
            s, u
        ));
    }
    if want("stats") {
        let (chans, pats) = {
            let subs = sh.subs.lock();
            (
                subs.values().map(|s| s.channels.len()).sum::<usize>(),
                subs.values().map(|s| s.patterns.len()).sum::<usize>(),
            )
        };
        parts.push(format!(
            // No keyspace and no client limit: the zeros below are true.
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:0\r\nexpired_keys:0\r\nevicted_keys:0\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\n",
            sh.stats.connections_received.load(Ordering::Relaxed),
            sh.stats.commands_processed.load(Ordering::Relaxed),
            chans,
            pats,
        ));
    }
    if want("sentinel") {
        let mut s = sh.core.lock().info_section(sh.now());
        if !s.ends_with("\r\n") {
            s.push_str("\r\n");
        }
        parts.push(s);
    }
    let mut text = parts.join("\r\n");
    // Like Redis: sections separated by a blank line, no trailing CRLF after the last.
    while text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    }
    text.push_str("\r\n");
    text
}

fn cpu_times() -> (f64, f64) {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks.
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    let after = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0;
    let u = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let st = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (u, st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_render_per_protocol() {
        let r = Reply::Array(vec![Reply::Map(vec![
            ("name".into(), Reply::Bulk(b"m".to_vec())),
            ("port".into(), Reply::Bulk(b"6379".to_vec())),
        ])]);
        let mut o = Out::new(Proto::Resp2);
        render(&mut o, &r);
        assert_eq!(
            &o.buf[..],
            b"*1\r\n*4\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\nport\r\n$4\r\n6379\r\n"
        );
        let mut o = Out::new(Proto::Resp3);
        render(&mut o, &r);
        assert!(o.buf.starts_with(b"*1\r\n%2\r\n"));
        let mut o = Out::new(Proto::Resp2);
        render(&mut o, &Reply::Null);
        assert_eq!(&o.buf[..], b"*-1\r\n");
        let mut o = Out::new(Proto::Resp3);
        render(&mut o, &Reply::Null);
        assert_eq!(&o.buf[..], b"_\r\n");
    }
}
