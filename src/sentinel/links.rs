//! Outgoing links: one task per (instance, link kind), created on
//! `Action::Connect`. A link pipelines what the core asks for, remembers
//! which reply belongs to which request, and turns replies into `Input`s.
//! Transport problems (connect failure or timeout, EOF, a reply that takes
//! too long, a protocol error) end the task with `Input::LinkDown`.

use super::core::{Addr, Input, Link, PingReply};
use super::driver::Shared;
use crate::resp::reply::{parse_reply, Frame};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(2000);
/// How long the oldest request on a link may wait for its reply before the
/// link is declared down. The core's own down-after logic is finer grained;
/// this only bounds what a wedged peer can hold.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(15000);

pub struct LinkHandle {
    pub tx: UnboundedSender<LinkCmd>,
    pub gen: u64,
}

#[derive(Debug)]
pub enum LinkCmd {
    Ping,
    Info,
    PublishHello(String),
    AskVote {
        master: String,
        master_addr: Addr,
        epoch: u64,
        runid: Option<String>,
    },
    SlaveOf(Option<Addr>),
    Failover {
        to: Addr,
        timeout_ms: u64,
    },
    ScriptKill,
}

/// What the next reply on the link answers.
#[derive(Debug)]
enum Pending {
    Ignore,
    Ping,
    Info,
    Vote(String),
    /// A reply that belongs to a SLAVEOF transaction (ignored, as Redis does).
    Txn,
    Failover,
}

fn encode(buf: &mut BytesMut, args: &[&str]) {
    crate::resp::encode_command(buf, args);
}

pub async fn run(
    sh: Arc<Shared>,
    addr: Addr,
    link: Link,
    auth: Option<(Option<String>, String)>,
    gen: u64,
    rx: UnboundedReceiver<LinkCmd>,
) {
    let had_txn = match session(&sh, &addr, link, auth, gen, rx).await {
        Ok(()) => return, // Disconnect requested: the core knows.
        Err(had_txn) => had_txn,
    };
    if sh.link_ended(&addr, link, gen) {
        if had_txn {
            sh.input(Input::CommandFailed { addr: addr.clone() });
        }
        sh.input(Input::LinkDown { addr, link });
    }
}

/// Ok(()) = ended because the handle was dropped; Err(had pending txn) = transport failure.
async fn session(
    sh: &Arc<Shared>,
    addr: &Addr,
    link: Link,
    auth: Option<(Option<String>, String)>,
    gen: u64,
    mut rx: UnboundedReceiver<LinkCmd>,
) -> Result<(), bool> {
    let target = if addr.ip.contains(':') {
        format!("[{}]:{}", addr.ip, addr.port)
    } else {
        format!("{}:{}", addr.ip, addr.port)
    };
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&target)).await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("link {:?} to {}: connect failed: {}", link, addr, e);
            return Err(false);
        }
        Err(_) => {
            tracing::debug!("link {:?} to {}: connect timed out", link, addr);
            return Err(false);
        }
    };
    let _ = stream.set_nodelay(true);
    let local_ip = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into());

    let mut pending: VecDeque<(Pending, Instant)> = VecDeque::new();
    let mut out = BytesMut::new();
    let now = Instant::now();
    if let Some((user, pass)) = &auth {
        match user {
            Some(u) => encode(&mut out, &["AUTH", u, pass]),
            None => encode(&mut out, &["AUTH", pass]),
        }
        pending.push_back((Pending::Ignore, now));
    }
    let id8 = &sh.myid[..8.min(sh.myid.len())];
    let name = match link {
        Link::Cmd => format!("sentinel-{}-cmd", id8),
        Link::PubSub => format!("sentinel-{}-pubsub", id8),
    };
    encode(&mut out, &["CLIENT", "SETNAME", &name]);
    pending.push_back((Pending::Ignore, now));
    if link == Link::PubSub {
        encode(&mut out, &["SUBSCRIBE", "__sentinel__:hello"]);
        // Replies on a subscribed link are told apart by shape, not by order.
    }
    if stream.write_all(&out).await.is_err() {
        return Err(false);
    }
    out.clear();
    // Disconnected (or replaced) while we were connecting: say nothing.
    if !sh.link_current(addr, link, gen) {
        return Ok(());
    }
    // A host name is resolved again at every connection (a container may come back with another IP); the
    // core learns the current IP to report it (announce-hostnames no) and to match it in INFO.
    if addr.ip.parse::<std::net::IpAddr>().is_err() {
        if let Ok(peer) = stream.peer_addr() {
            sh.input(Input::Resolved {
                addr: addr.clone(),
                ip: peer.ip().to_string(),
            });
        }
    }
    sh.input(Input::LinkUp {
        addr: addr.clone(),
        link,
        local_ip,
    });

    let (mut rd, mut wr) = stream.into_split();
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut check = tokio::time::interval(Duration::from_millis(250));
    let has_txn = |p: &VecDeque<(Pending, Instant)>| {
        p.iter()
            .any(|(k, _)| matches!(k, Pending::Txn | Pending::Failover))
    };
    loop {
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return Ok(()) };
                let now = Instant::now();
                queue(cmd, &mut out, &mut pending, now);
                // Drain whatever else is queued into the same write.
                while let Ok(c) = rx.try_recv() {
                    queue(c, &mut out, &mut pending, now);
                }
                if wr.write_all(&out).await.is_err() {
                    return Err(has_txn(&pending));
                }
                out.clear();
            }
            r = rd.read_buf(&mut inbuf) => {
                match r {
                    Ok(0) | Err(_) => return Err(has_txn(&pending)),
                    Ok(_) => {}
                }
                loop {
                    let frame = match parse_reply(&mut inbuf) {
                        Ok(Some(f)) => f,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::debug!("link {:?} to {}: {}", link, addr, e.0);
                            return Err(has_txn(&pending));
                        }
                    };
                    if link == Link::PubSub {
                        if let Some(msg) = hello_message(&frame) {
                            sh.input(Input::Hello { msg });
                            continue;
                        }
                        // AUTH / SETNAME replies and subscribe confirmations.
                        if !matches!(frame, Frame::Array(_) | Frame::Push(_)) {
                            pending.pop_front();
                        }
                        continue;
                    }
                    if let Frame::Push(_) = frame {
                        continue;
                    }
                    let Some((kind, _)) = pending.pop_front() else { continue };
                    if let Some(input) = to_input(addr, kind, frame) {
                        sh.input(input);
                    }
                }
            }
            _ = check.tick() => {
                if let Some((_, t)) = pending.front() {
                    if t.elapsed() > REPLY_TIMEOUT {
                        tracing::debug!("link {:?} to {}: reply timeout", link, addr);
                        return Err(has_txn(&pending));
                    }
                }
            }
        }
    }
}

fn queue(
    cmd: LinkCmd,
    out: &mut BytesMut,
    pending: &mut VecDeque<(Pending, Instant)>,
    now: Instant,
) {
    let mut push = |k: Pending| pending.push_back((k, now));
    match cmd {
        LinkCmd::Ping => {
            encode(out, &["PING"]);
            push(Pending::Ping);
        }
        LinkCmd::Info => {
            encode(out, &["INFO"]);
            push(Pending::Info);
        }
        LinkCmd::PublishHello(msg) => {
            encode(out, &["PUBLISH", "__sentinel__:hello", &msg]);
            push(Pending::Ignore);
        }
        LinkCmd::AskVote {
            master,
            master_addr,
            epoch,
            runid,
        } => {
            let port = master_addr.port.to_string();
            let epoch = epoch.to_string();
            let runid = runid.unwrap_or_else(|| "*".into());
            encode(
                out,
                &[
                    "SENTINEL",
                    "is-master-down-by-addr",
                    &master_addr.ip,
                    &port,
                    &epoch,
                    &runid,
                ],
            );
            push(Pending::Vote(master));
        }
        LinkCmd::SlaveOf(master) => {
            encode(out, &["MULTI"]);
            match &master {
                Some(m) => encode(out, &["SLAVEOF", &m.ip, &m.port.to_string()]),
                None => encode(out, &["SLAVEOF", "NO", "ONE"]),
            }
            encode(out, &["CONFIG", "REWRITE"]);
            encode(out, &["CLIENT", "KILL", "TYPE", "normal"]);
            encode(out, &["CLIENT", "KILL", "TYPE", "pubsub"]);
            encode(out, &["EXEC"]);
            for _ in 0..6 {
                push(Pending::Txn);
            }
        }
        LinkCmd::Failover { to, timeout_ms } => {
            encode(
                out,
                &[
                    "FAILOVER",
                    "TO",
                    &to.ip,
                    &to.port.to_string(),
                    "TIMEOUT",
                    &timeout_ms.to_string(),
                ],
            );
            push(Pending::Failover);
        }
        LinkCmd::ScriptKill => {
            encode(out, &["SCRIPT", "KILL"]);
            push(Pending::Ignore);
        }
    }
}

/// `message __sentinel__:hello <msg>` on a subscribed link.
fn hello_message(f: &Frame) -> Option<String> {
    let items = match f {
        Frame::Array(v) | Frame::Push(v) => v,
        _ => return None,
    };
    if items.len() != 3 {
        return None;
    }
    let kind = items[0].as_bytes()?;
    if !kind.eq_ignore_ascii_case(b"message") || items[1].as_bytes()? != b"__sentinel__:hello" {
        return None;
    }
    items[2].as_str()
}

pub fn classify_ping(f: &Frame) -> PingReply {
    match f {
        Frame::Simple(s) if s == "PONG" => PingReply::Pong,
        Frame::Error(e) if e.starts_with("LOADING") => PingReply::Loading,
        Frame::Error(e) if e.starts_with("MASTERDOWN") => PingReply::MasterDown,
        Frame::Error(e) if e.starts_with("BUSY") => PingReply::Busy,
        Frame::Error(e) | Frame::Simple(e) => PingReply::Other(e.clone()),
        other => PingReply::Other(format!("{:?}", other)),
    }
}

fn to_input(addr: &Addr, kind: Pending, frame: Frame) -> Option<Input> {
    match kind {
        Pending::Ignore | Pending::Txn => None,
        Pending::Ping => Some(Input::PingReply {
            addr: addr.clone(),
            reply: classify_ping(&frame),
        }),
        Pending::Info => match frame {
            Frame::Bulk(_) | Frame::Verbatim(..) => Some(Input::InfoReply {
                addr: addr.clone(),
                text: frame.as_str()?,
            }),
            _ => None,
        },
        Pending::Vote(master) => match frame {
            Frame::Array(v) if v.len() == 3 => match (&v[0], &v[1], &v[2]) {
                (Frame::Int(d), Frame::Bulk(leader), Frame::Int(e)) if *e >= 0 => {
                    Some(Input::VoteReply {
                        sentinel: addr.clone(),
                        master,
                        down: *d == 1,
                        leader: String::from_utf8_lossy(leader).into_owned(),
                        leader_epoch: *e as u64,
                    })
                }
                _ => None,
            },
            _ => None,
        },
        Pending::Failover => match frame {
            Frame::Error(e) => {
                tracing::warn!("FAILOVER to {} refused: {}", addr, e);
                Some(Input::CommandFailed { addr: addr.clone() })
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn ping_classes() {
        assert_eq!(
            classify_ping(&Frame::Simple("PONG".into())),
            PingReply::Pong
        );
        assert_eq!(
            classify_ping(&Frame::Error("LOADING Redis is loading".into())),
            PingReply::Loading
        );
        assert_eq!(
            classify_ping(&Frame::Error("MASTERDOWN Link down".into())),
            PingReply::MasterDown
        );
        assert_eq!(
            classify_ping(&Frame::Error("NOAUTH Authentication required.".into())),
            PingReply::Other("NOAUTH Authentication required.".into())
        );
    }

    #[test]
    fn votes_only_from_well_formed_replies() {
        let a = Addr::new("127.0.0.1", 26379);
        let good = Frame::Array(vec![
            Frame::Int(1),
            Frame::Bulk(Bytes::from_static(b"abc")),
            Frame::Int(7),
        ]);
        assert_eq!(
            to_input(&a, Pending::Vote("m".into()), good),
            Some(Input::VoteReply {
                sentinel: a.clone(),
                master: "m".into(),
                down: true,
                leader: "abc".into(),
                leader_epoch: 7
            })
        );
        let bad = Frame::Array(vec![
            Frame::Int(1),
            Frame::Simple("abc".into()),
            Frame::Int(7),
        ]);
        assert_eq!(to_input(&a, Pending::Vote("m".into()), bad), None);
        assert_eq!(
            to_input(&a, Pending::Vote("m".into()), Frame::Error("ERR".into())),
            None
        );
    }

    #[test]
    fn slaveof_is_one_transaction() {
        let mut out = BytesMut::new();
        let mut p = VecDeque::new();
        queue(
            LinkCmd::SlaveOf(Some(Addr::new("10.0.0.1", 6380))),
            &mut out,
            &mut p,
            Instant::now(),
        );
        let text = String::from_utf8_lossy(&out).to_string();
        assert!(text.starts_with("*1\r\n$5\r\nMULTI\r\n*3\r\n$7\r\nSLAVEOF\r\n$8\r\n10.0.0.1\r\n$4\r\n6380\r\n*2\r\n$6\r\nCONFIG\r\n$7\r\nREWRITE\r\n"), "{text}");
        assert!(
            text.ends_with("$6\r\npubsub\r\n*1\r\n$4\r\nEXEC\r\n"),
            "{text}"
        );
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn hello_messages_on_subscribed_links() {
        let f = Frame::Array(vec![
            Frame::Bulk(Bytes::from_static(b"message")),
            Frame::Bulk(Bytes::from_static(b"__sentinel__:hello")),
            Frame::Bulk(Bytes::from_static(b"1,2,3")),
        ]);
        assert_eq!(hello_message(&f), Some("1,2,3".into()));
        let sub = Frame::Array(vec![
            Frame::Bulk(Bytes::from_static(b"subscribe")),
            Frame::Bulk(Bytes::from_static(b"__sentinel__:hello")),
            Frame::Int(1),
        ]);
        assert_eq!(hello_message(&sub), None);
    }
}
