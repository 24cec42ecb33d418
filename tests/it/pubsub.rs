//! Pub/sub: exact RESP2 and RESP3 reply shapes, subscribed-mode rules,
//! PUBSUB introspection and fan-out to several subscribers.
use crate::common::*;
use std::time::Duration;

fn publish(s: &Server, ch: &str, msg: &str) -> i64 {
    let mut c = s.client();
    redis::cmd("PUBLISH")
        .arg(ch)
        .arg(msg)
        .query(&mut c)
        .unwrap()
}

/// `*3 $kind $name :count` (RESP2) for a subscribe/unsubscribe confirmation.
fn confirm2(kind: &str, name: &str, count: i64) -> String {
    format!(
        "*3\r\n${}\r\n{}\r\n${}\r\n{}\r\n:{}\r\n",
        kind.len(),
        kind,
        name.len(),
        name,
        count
    )
}

#[test]
fn resp2_subscribe_publish_unsubscribe_shapes() {
    let s = Server::start();
    let mut r = s.raw();
    // Nothing to unsubscribe from: a nil channel and a zero count.
    r.roundtrip(
        &resp(&["UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    r.roundtrip(
        &resp(&["PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
    );
    // One confirmation per channel, counting channels + patterns.
    let want = confirm2("subscribe", "news", 1) + &confirm2("subscribe", "sport", 2);
    r.roundtrip(&resp(&["SUBSCRIBE", "news", "sport"]), want.as_bytes());
    // Subscribing twice to the same channel does not raise the count.
    r.roundtrip(
        &resp(&["SUBSCRIBE", "news"]),
        confirm2("subscribe", "news", 2).as_bytes(),
    );
    r.roundtrip(
        &resp(&["PSUBSCRIBE", "n*"]),
        confirm2("psubscribe", "n*", 3).as_bytes(),
    );

    // Subscribed mode: PING has its own shape, other commands are refused.
    r.roundtrip(&resp(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    r.roundtrip(&resp(&["PING", "hi"]), b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    r.roundtrip(
        &resp(&["GET", "x"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    r.roundtrip(
        &resp(&["CLIENT", "INFO"]),
        b"-ERR Can't execute 'client|info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );

    // A message on "news" reaches us twice: once by channel, once by pattern.
    assert_eq!(publish(&s, "news", "hello"), 2);
    let msg = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    let pmsg = "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    let got = r.read_n(msg.len() + pmsg.len());
    let got = String::from_utf8_lossy(&got);
    assert!(got.contains(msg) && got.contains(pmsg), "{got:?}");
    assert_eq!(publish(&s, "sport", "goal"), 1);
    let m2 = "*3\r\n$7\r\nmessage\r\n$5\r\nsport\r\n$4\r\ngoal\r\n";
    assert_eq!(String::from_utf8_lossy(&r.read_n(m2.len())), m2);
    assert_eq!(publish(&s, "other", "x"), 0);

    // Unsubscribing from a channel we never joined still confirms it.
    let want = confirm2("unsubscribe", "news", 2) + &confirm2("unsubscribe", "zzz", 2);
    r.roundtrip(&resp(&["UNSUBSCRIBE", "news", "zzz"]), want.as_bytes());
    // No arguments: every remaining channel, then patterns separately.
    r.roundtrip(
        &resp(&["UNSUBSCRIBE"]),
        confirm2("unsubscribe", "sport", 1).as_bytes(),
    );
    r.roundtrip(
        &resp(&["PUNSUBSCRIBE"]),
        confirm2("punsubscribe", "n*", 0).as_bytes(),
    );
    // Back to normal mode.
    r.roundtrip(&resp(&["GET", "x"]), b"$-1\r\n");
    r.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
}

#[test]
fn unsubscribe_all_confirms_each_channel() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&resp(&["SUBSCRIBE", "a", "b", "c"]));
    let n: usize = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, c)| confirm2("subscribe", c, i as i64 + 1).len())
        .sum();
    r.read_n(n);
    r.send(&resp(&["UNSUBSCRIBE"]));
    // Order follows the set, counts go 2, 1, 0.
    let got =
        String::from_utf8_lossy(&r.read_n(3 * confirm2("unsubscribe", "a", 0).len())).into_owned();
    for c in ["a", "b", "c"] {
        assert!(
            got.contains(&format!("$11\r\nunsubscribe\r\n$1\r\n{c}\r\n")),
            "{got:?}"
        );
    }
    assert!(got.ends_with(":0\r\n") && got.contains(":2\r\n") && got.contains(":1\r\n"));
    r.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
}

#[test]
fn resp3_uses_push_frames_and_allows_commands() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&resp(&["HELLO", "3"]));
    r.read_for(Duration::from_millis(200));
    r.roundtrip(
        &resp(&["UNSUBSCRIBE"]),
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
    );
    r.roundtrip(
        &resp(&["SUBSCRIBE", "ch"]),
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    r.roundtrip(
        &resp(&["PSUBSCRIBE", "c?"]),
        b">3\r\n$10\r\npsubscribe\r\n$2\r\nc?\r\n:2\r\n",
    );
    // RESP3 has no subscribed-mode restriction.
    r.roundtrip(&resp(&["GET", "k"]), b"_\r\n");
    r.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
    assert_eq!(publish(&s, "ch", "m"), 2);
    let a = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n";
    let b = ">4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$1\r\nm\r\n";
    let got = String::from_utf8_lossy(&r.read_n(a.len() + b.len())).into_owned();
    assert!(got.contains(a) && got.contains(b), "{got:?}");
    r.roundtrip(
        &resp(&["PUNSUBSCRIBE", "c?"]),
        b">3\r\n$12\r\npunsubscribe\r\n$2\r\nc?\r\n:1\r\n",
    );
    r.roundtrip(
        &resp(&["UNSUBSCRIBE"]),
        b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
    );
}

#[test]
fn pubsub_introspection() {
    let s = Server::start();
    let mut r1 = s.raw();
    let mut r2 = s.raw();
    r1.send(&resp(&["SUBSCRIBE", "news.tech", "news.art"]));
    r1.read_n(2 * confirm2("subscribe", "news.tech", 1).len() - 1);
    r2.send(&resp(&["SUBSCRIBE", "news.tech"]));
    r2.read_n(confirm2("subscribe", "news.tech", 1).len());
    r2.send(&resp(&["PSUBSCRIBE", "news.*", "x*"]));
    r2.read_n(confirm2("psubscribe", "news.*", 2).len() + confirm2("psubscribe", "x*", 3).len());

    let mut c = s.client();
    let mut chans: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").query(&mut c).unwrap();
    chans.sort();
    assert_eq!(chans, vec!["news.art", "news.tech"]);
    let chans: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("*tech")
        .query(&mut c)
        .unwrap();
    assert_eq!(chans, vec!["news.tech"]);
    let mut raw = s.raw();
    raw.roundtrip(
        &resp(&["PUBSUB", "NUMSUB", "news.tech", "news.art", "none"]),
        b"*6\r\n$9\r\nnews.tech\r\n:2\r\n$8\r\nnews.art\r\n:1\r\n$4\r\nnone\r\n:0\r\n",
    );
    raw.roundtrip(&resp(&["PUBSUB", "NUMSUB"]), b"*0\r\n");
    raw.roundtrip(&resp(&["PUBSUB", "NUMPAT"]), b":2\r\n");
    raw.roundtrip(
        &resp(&["PUBSUB", "NUMPAT", "x"]),
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
    );
    raw.roundtrip(
        &resp(&["PUBSUB", "CHANNELS", "a", "b"]),
        b"-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n",
    );
    raw.roundtrip(
        &resp(&["PUBSUB", "NOPE"]),
        b"-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n",
    );
    raw.send(&resp(&["PUBSUB", "HELP"]));
    let help = String::from_utf8_lossy(&raw.read_for(Duration::from_millis(200))).into_owned();
    assert!(help.starts_with("*14\r\n+PUBSUB <subcommand>"), "{help:?}");

    // Disconnecting subscribers clears their registrations.
    drop(r1);
    drop(r2);
    assert!(wait_until(Duration::from_secs(3), || {
        let n: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut c).unwrap();
        let ch: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").query(&mut c).unwrap();
        n == 0 && ch.is_empty()
    }));
}

#[test]
fn one_publisher_three_subscribers() {
    let s = Server::start();
    let mut subs: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for (i, r) in subs.iter_mut().enumerate() {
        if i < 2 {
            r.roundtrip(
                &resp(&["SUBSCRIBE", "jobs"]),
                confirm2("subscribe", "jobs", 1).as_bytes(),
            );
        } else {
            r.roundtrip(
                &resp(&["PSUBSCRIBE", "j*"]),
                confirm2("psubscribe", "j*", 1).as_bytes(),
            );
        }
    }
    let mut p = s.client();
    for i in 0..20 {
        let n: i64 = redis::cmd("PUBLISH")
            .arg("jobs")
            .arg(format!("job-{i}"))
            .query(&mut p)
            .unwrap();
        assert_eq!(n, 3);
    }
    for (i, r) in subs.iter_mut().enumerate() {
        let mut want = String::new();
        for j in 0..20 {
            let m = format!("job-{j}");
            if i < 2 {
                want += &format!(
                    "*3\r\n$7\r\nmessage\r\n$4\r\njobs\r\n${}\r\n{m}\r\n",
                    m.len()
                );
            } else {
                want += &format!(
                    "*4\r\n$8\r\npmessage\r\n$2\r\nj*\r\n$4\r\njobs\r\n${}\r\n{m}\r\n",
                    m.len()
                );
            }
        }
        // Messages arrive complete and in publish order.
        assert_eq!(String::from_utf8_lossy(&r.read_n(want.len())), want);
    }
    // The redis crate's own pub/sub API works against us too.
    let mut c = s.client();
    let mut ps = c.as_pubsub();
    ps.subscribe("crate").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(publish(&s, "crate", "payload"), 1);
    let msg = ps.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "crate");
    assert_eq!(msg.get_payload::<String>().unwrap(), "payload");
}

#[test]
fn reset_and_quit_leave_subscribed_mode() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&resp(&["SUBSCRIBE", "a"]));
    r.read_n(confirm2("subscribe", "a", 1).len());
    r.roundtrip(&resp(&["RESET"]), b"+RESET\r\n");
    r.roundtrip(&resp(&["GET", "x"]), b"$-1\r\n");
    let mut c = s.client();
    let n: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("a")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, vec![("a".to_string(), 0)]);
    r.send(&resp(&["SUBSCRIBE", "a"]));
    r.read_n(confirm2("subscribe", "a", 1).len());
    r.roundtrip(&resp(&["QUIT"]), b"+OK\r\n");
    assert!(r.is_closed());
    assert!(wait_until(Duration::from_secs(3), || publish(&s, "a", "x") == 0));
}

#[test]
fn subscribe_inside_multi() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SUBSCRIBE", "ch"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&["EXEC"]),
        format!("*1\r\n{}", confirm2("subscribe", "ch", 1)).as_bytes(),
    );
    r.roundtrip(&resp(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn shard_channels_are_a_separate_namespace() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        &resp(&["SUNSUBSCRIBE"]),
        b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n",
    );
    let want = confirm2("ssubscribe", "s1", 1) + &confirm2("ssubscribe", "s2", 2);
    r.roundtrip(&resp(&["SSUBSCRIBE", "s1", "s2"]), want.as_bytes());
    // Shard subscriptions are counted apart from channels and patterns...
    r.roundtrip(
        &resp(&["SUBSCRIBE", "s1"]),
        confirm2("subscribe", "s1", 1).as_bytes(),
    );
    // ...but they do put a RESP2 client in subscribed mode.
    r.roundtrip(
        &resp(&["UNSUBSCRIBE"]),
        confirm2("unsubscribe", "s1", 0).as_bytes(),
    );
    r.roundtrip(&resp(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");

    let mut c = s.client();
    let spub = |c: &mut redis::Connection, ch: &str| -> i64 {
        redis::cmd("SPUBLISH").arg(ch).arg("hi").query(c).unwrap()
    };
    assert_eq!(spub(&mut c, "s1"), 1);
    let m = "*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n";
    assert_eq!(String::from_utf8_lossy(&r.read_n(m.len())), m);
    // PUBLISH does not reach shard subscribers, nor SPUBLISH pattern subscribers.
    assert_eq!(publish(&s, "s1", "x"), 0);
    let mut p = s.raw();
    p.roundtrip(
        &resp(&["PSUBSCRIBE", "s*"]),
        confirm2("psubscribe", "s*", 1).as_bytes(),
    );
    assert_eq!(spub(&mut c, "s2"), 1);
    let m = "*3\r\n$8\r\nsmessage\r\n$2\r\ns2\r\n$2\r\nhi\r\n";
    assert_eq!(String::from_utf8_lossy(&r.read_n(m.len())), m);

    let mut q = s.raw();
    q.roundtrip(
        &resp(&["PUBSUB", "SHARDNUMSUB", "s1", "zz"]),
        b"*4\r\n$2\r\ns1\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
    );
    q.roundtrip(
        &resp(&["PUBSUB", "SHARDCHANNELS", "*1"]),
        b"*1\r\n$2\r\ns1\r\n",
    );
    q.roundtrip(&resp(&["PUBSUB", "CHANNELS"]), b"*0\r\n");
    let info: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert!(
        info.contains(" flags=P db=0 sub=0 psub=0 ssub=2 "),
        "{info}"
    );

    r.roundtrip(
        &resp(&["SUNSUBSCRIBE", "s2"]),
        confirm2("sunsubscribe", "s2", 1).as_bytes(),
    );
    drop(r);
    assert!(wait_until(Duration::from_secs(3), || spub(&mut c, "s1") == 0));
    q.roundtrip(&resp(&["PUBSUB", "SHARDCHANNELS"]), b"*0\r\n");
}
