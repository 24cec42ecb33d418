//! RESP checked against an independent implementation, the `redis-protocol`
//! crate: whatever our reply encoder (`Out`) writes must decode under it to
//! the values we meant (RESP2 and RESP3), and our one reply reader (links
//! and scripts) must read frames it encodes exactly as it reads them back
//! (same value, same length, and "incomplete" for every truncation).

use bytes::BytesMut;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redis_protocol::resp2::types::{OwnedFrame as F2, Resp2Frame};
use redis_protocol::resp3::types::{OwnedFrame as F3, Resp3Frame, VerbatimStringFormat};
use rsredis::resp::reply::{parse_reply, Frame};
use rsredis::resp::{Out, Proto};

/// A reply as a handler means it, before encoding.
#[derive(Debug, Clone)]
enum V {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    NullArray,
    Array(Vec<V>),
    Map(Vec<(V, V)>),
    Set(Vec<V>),
    Push(Vec<V>),
    Bool(bool),
    Double(f64),
    Verbatim(Vec<u8>),
}

fn rand_text(rng: &mut SmallRng, with_crlf: bool) -> String {
    let n = rng.gen_range(0..12);
    (0..n)
        .map(|_| {
            if with_crlf && rng.gen_ratio(1, 8) {
                ['\r', '\n'][rng.gen_range(0..2)]
            } else {
                rng.gen_range(b' '..=b'~') as char
            }
        })
        .collect()
}

fn rand_bytes(rng: &mut SmallRng) -> Vec<u8> {
    let n = if rng.gen_ratio(1, 20) {
        rng.gen_range(0..3000)
    } else {
        rng.gen_range(0..16)
    };
    (0..n).map(|_| rng.gen()).collect()
}

fn rand_int(rng: &mut SmallRng) -> i64 {
    match rng.gen_range(0..4) {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => rng.gen_range(-1000..1000),
        _ => rng.gen(),
    }
}

fn rand_double(rng: &mut SmallRng) -> f64 {
    match rng.gen_range(0..6) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => rng.gen_range(-1000..1000) as f64,
        3 => rng.gen::<f64>() * 10f64.powi(rng.gen_range(-300..300)),
        4 => f64::from_bits(rng.gen::<u64>() & !(0x7ff << 52) | (rng.gen_range(1..0x7fe) << 52)),
        _ => -rng.gen::<f64>(),
    }
}

fn rand_v(rng: &mut SmallRng, depth: u32) -> V {
    let max = if depth >= 3 { 9 } else { 13 };
    match rng.gen_range(0..max) {
        0 => V::Simple(rand_text(rng, false)),
        1 => V::Err(format!("ERR {}", rand_text(rng, true))),
        2 => V::Int(rand_int(rng)),
        3 => V::Bulk(rand_bytes(rng)),
        4 => V::Null,
        5 => V::NullArray,
        6 => V::Bool(rng.gen()),
        7 => V::Double(rand_double(rng)),
        8 => V::Verbatim(rand_bytes(rng)),
        9 => V::Array(
            (0..rng.gen_range(0..5))
                .map(|_| rand_v(rng, depth + 1))
                .collect(),
        ),
        // Map keys and set members unique, as the oracle keeps them in an IndexMap/IndexSet.
        10 => V::Map(
            (0..rng.gen_range(0..4))
                .map(|i| {
                    (
                        V::Bulk(format!("k{i}").into_bytes()),
                        rand_v(rng, depth + 1),
                    )
                })
                .collect(),
        ),
        11 => V::Set(
            (0..rng.gen_range(0..4))
                .map(|i| V::Bulk(format!("m{i}:{}", rng.gen::<u16>()).into_bytes()))
                .collect(),
        ),
        _ => V::Push(
            (0..rng.gen_range(1..4))
                .map(|_| rand_v(rng, depth + 1))
                .collect(),
        ),
    }
}

fn write(out: &mut Out, v: &V) {
    match v {
        V::Simple(s) => out.simple(s),
        V::Err(s) => out.error(s),
        V::Int(n) => out.int(*n),
        V::Bulk(b) => out.bulk(b),
        V::Null => out.null(),
        V::NullArray => out.null_array(),
        V::Array(items) => {
            out.array(items.len());
            items.iter().for_each(|i| write(out, i));
        }
        V::Map(pairs) => {
            out.map(pairs.len());
            for (k, x) in pairs {
                write(out, k);
                write(out, x);
            }
        }
        V::Set(items) => {
            out.set(items.len());
            items.iter().for_each(|i| write(out, i));
        }
        V::Push(items) => {
            out.push(items.len());
            items.iter().for_each(|i| write(out, i));
        }
        V::Bool(b) => out.boolean(*b),
        V::Double(d) => out.double(*d),
        V::Verbatim(t) => out.verbatim(t),
    }
}

fn same_double(text: &[u8], d: f64) -> bool {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .is_some_and(|x| x == d)
}

/// An error line cannot hold CR/LF: Out turns them into spaces, as Redis does.
fn err_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fn check2(v: &V, f: &F2) {
    let ok = match (v, f) {
        (V::Simple(s), F2::SimpleString(d)) => s.as_bytes() == &d[..],
        (V::Err(s), F2::Error(d)) => &err_line(s) == d,
        (V::Int(n), F2::Integer(d)) => n == d,
        (V::Bool(b), F2::Integer(d)) => *b as i64 == *d,
        (V::Bulk(b) | V::Verbatim(b), F2::BulkString(d)) => b == d,
        (V::Double(x), F2::BulkString(d)) => same_double(d, *x),
        (V::Null | V::NullArray, F2::Null) => true,
        (V::Array(items) | V::Set(items) | V::Push(items), F2::Array(d)) => {
            assert_eq!(items.len(), d.len(), "{v:?}");
            items.iter().zip(d).for_each(|(a, b)| check2(a, b));
            true
        }
        (V::Map(pairs), F2::Array(d)) => {
            assert_eq!(pairs.len() * 2, d.len(), "{v:?}");
            for (i, (k, x)) in pairs.iter().enumerate() {
                check2(k, &d[2 * i]);
                check2(x, &d[2 * i + 1]);
            }
            true
        }
        _ => false,
    };
    assert!(ok, "RESP2: meant {v:?}, redis-protocol read {f:?}");
}

fn bulk_eq(v: &V, f: &F3) -> bool {
    matches!((v, f), (V::Bulk(a), F3::BlobString { data, .. }) if a == data)
}

fn check3(v: &V, f: &F3) {
    let ok = match (v, f) {
        (V::Simple(s), F3::SimpleString { data, .. }) => s.as_bytes() == &data[..],
        (V::Err(s), F3::SimpleError { data, .. }) => &err_line(s) == data,
        (V::Int(n), F3::Number { data, .. }) => n == data,
        (V::Bool(b), F3::Boolean { data, .. }) => b == data,
        (V::Bulk(b), F3::BlobString { data, .. }) => b == data,
        (V::Verbatim(b), F3::VerbatimString { data, format, .. }) => {
            b == data && *format == VerbatimStringFormat::Text
        }
        (V::Double(x), F3::Double { data, .. }) => x == data,
        (V::Null | V::NullArray, F3::Null) => true,
        (V::Array(items), F3::Array { data, .. }) | (V::Push(items), F3::Push { data, .. }) => {
            assert_eq!(items.len(), data.len(), "{v:?}");
            items.iter().zip(data).for_each(|(a, b)| check3(a, b));
            true
        }
        // The oracle's decoder does not keep map/set order: match by the
        // (unique, bulk) key or member.
        (V::Set(items), F3::Set { data, .. }) => {
            assert_eq!(items.len(), data.len(), "{v:?}");
            items.iter().all(|a| data.iter().any(|b| bulk_eq(a, b)))
        }
        (V::Map(pairs), F3::Map { data, .. }) => {
            assert_eq!(pairs.len(), data.len(), "{v:?}");
            for (k, x) in pairs {
                let (dk, dx) = data
                    .iter()
                    .find(|(dk, _)| bulk_eq(k, dk))
                    .unwrap_or_else(|| panic!("key {k:?} missing from {f:?}"));
                check3(k, dk);
                check3(x, dx);
            }
            true
        }
        _ => false,
    };
    assert!(ok, "RESP3: meant {v:?}, redis-protocol read {f:?}");
}

#[test]
fn encoder_output_decodes_identically_under_redis_protocol() {
    let mut rng = SmallRng::seed_from_u64(0x0e5c_0de5);
    for round in 0..3000 {
        let v = rand_v(&mut rng, 0);
        for proto in [Proto::Resp2, Proto::Resp3] {
            let mut out = Out::new(proto);
            write(&mut out, &v);
            let wire = out.buf.to_vec();
            let what = || {
                format!(
                    "round {round} {proto:?}: {:?}",
                    String::from_utf8_lossy(&wire)
                )
            };
            match proto {
                Proto::Resp2 => {
                    let (f, used) = redis_protocol::resp2::decode::decode(&wire)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", what()))
                        .unwrap_or_else(|| panic!("{}: incomplete", what()));
                    assert_eq!(used, wire.len(), "{}", what());
                    check2(&v, &f);
                }
                Proto::Resp3 => {
                    let (f, used) = redis_protocol::resp3::decode::complete::decode(&wire)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", what()))
                        .unwrap_or_else(|| panic!("{}: incomplete", what()));
                    assert_eq!(used, wire.len(), "{}", what());
                    check3(&v, &f);
                }
            }
        }
    }
}

fn rand_f3(rng: &mut SmallRng, depth: u32) -> F3 {
    let max = if depth >= 3 { 10 } else { 14 };
    let attributes = None;
    match rng.gen_range(0..max) {
        0 => F3::SimpleString {
            data: rand_text(rng, false).into_bytes(),
            attributes,
        },
        1 => F3::SimpleError {
            data: format!("ERR {}", rand_text(rng, false)),
            attributes,
        },
        2 => F3::Number {
            data: rand_int(rng),
            attributes,
        },
        3 => F3::BlobString {
            data: rand_bytes(rng),
            attributes,
        },
        4 => F3::Null,
        5 => F3::Boolean {
            data: rng.gen(),
            attributes,
        },
        6 => F3::Double {
            data: rand_double(rng),
            attributes,
        },
        7 => F3::VerbatimString {
            data: rand_bytes(rng),
            format: VerbatimStringFormat::Text,
            attributes,
        },
        8 => F3::BlobError {
            data: format!("ERR {}", rand_text(rng, true)).into_bytes(),
            attributes,
        },
        9 => F3::BigNumber {
            data: format!("{}{}", rng.gen::<u64>(), rng.gen::<u64>()).into_bytes(),
            attributes,
        },
        10 => F3::Array {
            data: (0..rng.gen_range(0..5))
                .map(|_| rand_f3(rng, depth + 1))
                .collect(),
            attributes,
        },
        11 => F3::Map {
            data: (0..rng.gen_range(0..4))
                .map(|i| {
                    (
                        F3::BlobString {
                            data: format!("k{i}").into_bytes(),
                            attributes: None,
                        },
                        rand_f3(rng, depth + 1),
                    )
                })
                .collect(),
            attributes,
        },
        12 => F3::Set {
            data: (0..rng.gen_range(0..4))
                .map(|i| F3::Number {
                    data: i,
                    attributes: None,
                })
                .collect(),
            attributes,
        },
        _ => F3::Push {
            data: (0..rng.gen_range(1..4))
                .map(|_| rand_f3(rng, depth + 1))
                .collect(),
            attributes,
        },
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Our reader's view of a frame redis-protocol decoded.
fn expect_link(f: &F3) -> Frame {
    match f {
        F3::SimpleString { data, .. } => Frame::Simple(lossy(data)),
        F3::SimpleError { data, .. } => Frame::Error(data.clone()),
        F3::BlobError { data, .. } => Frame::Error(lossy(data)),
        F3::Number { data, .. } => Frame::Int(*data),
        F3::BlobString { data, .. } => Frame::Bulk(data.clone().into()),
        F3::Null => Frame::Null,
        F3::Boolean { data, .. } => Frame::Bool(*data),
        F3::Double { data, .. } => Frame::Double(*data),
        F3::BigNumber { data, .. } => Frame::BigNum(lossy(data)),
        F3::VerbatimString { data, .. } => Frame::Verbatim("txt".into(), data.clone().into()),
        F3::Array { data, .. } => Frame::Array(data.iter().map(expect_link).collect()),
        F3::Set { data, .. } => Frame::Set(data.iter().map(expect_link).collect()),
        F3::Push { data, .. } => Frame::Push(data.iter().map(expect_link).collect()),
        F3::Map { data, .. } => Frame::Map(
            data.iter()
                .map(|(k, v)| (expect_link(k), expect_link(v)))
                .collect(),
        ),
        other => panic!("not generated: {other:?}"),
    }
}

/// Ours against the oracle's frame.
fn same_link(ours: &Frame, f: &F3) -> bool {
    match (ours, f) {
        (Frame::Array(a), F3::Array { data, .. }) | (Frame::Push(a), F3::Push { data, .. }) => {
            a.len() == data.len() && a.iter().zip(data).all(|(x, y)| same_link(x, y))
        }
        // The oracle does not keep map/set order (keys and members are unique).
        (Frame::Set(a), F3::Set { data, .. }) => {
            a.len() == data.len() && a.iter().all(|x| data.iter().any(|y| same_link(x, y)))
        }
        (Frame::Map(a), F3::Map { data, .. }) => {
            a.len() == data.len()
                && a.iter().all(|(k, v)| {
                    data.iter()
                        .any(|(dk, dv)| same_link(k, dk) && same_link(v, dv))
                })
        }
        _ => *ours == expect_link(f),
    }
}

fn link_decode(wire: &[u8]) -> Option<(Frame, usize)> {
    let mut buf = BytesMut::from(wire);
    let f = parse_reply(&mut buf).unwrap_or_else(|e| panic!("{e:?} on {:?}", lossy(wire)))?;
    Some((f, wire.len() - buf.len()))
}

#[test]
fn our_decoders_agree_with_redis_protocol_on_resp3_frames() {
    let mut rng = SmallRng::seed_from_u64(0xdec0_de03);
    for _ in 0..3000 {
        let frame = rand_f3(&mut rng, 0);
        let mut wire = vec![0; frame.encode_len(false)];
        let n = redis_protocol::resp3::encode::complete::encode(&mut wire, &frame, false).unwrap();
        wire.truncate(n);
        let (theirs, used) = redis_protocol::resp3::decode::complete::decode(&wire)
            .unwrap()
            .unwrap();
        assert_eq!(used, wire.len());
        let (ours, our_used) = link_decode(&wire).expect("complete frame");
        assert_eq!(our_used, used, "{:?}", lossy(&wire));
        assert!(
            same_link(&ours, &theirs),
            "ours {ours:?}\ntheirs {theirs:?}"
        );
        // Every strict prefix is incomplete.
        let cut = rng.gen_range(0..wire.len());
        assert!(
            redis_protocol::resp3::decode::complete::decode(&wire[..cut])
                .unwrap()
                .is_none()
        );
        assert!(
            link_decode(&wire[..cut]).is_none(),
            "{:?}",
            lossy(&wire[..cut])
        );
    }
}

fn rand_f2(rng: &mut SmallRng, depth: u32) -> F2 {
    let max = if depth >= 3 { 5 } else { 6 };
    match rng.gen_range(0..max) {
        0 => F2::SimpleString(rand_text(rng, false).into_bytes()),
        1 => F2::Error(format!("ERR {}", rand_text(rng, false))),
        2 => F2::Integer(rand_int(rng)),
        3 => F2::BulkString(rand_bytes(rng)),
        4 => F2::Null,
        _ => F2::Array(
            (0..rng.gen_range(0..5))
                .map(|_| rand_f2(rng, depth + 1))
                .collect(),
        ),
    }
}

fn same_link2(ours: &Frame, f: &F2) -> bool {
    match (ours, f) {
        (Frame::Simple(s), F2::SimpleString(d)) => s.as_bytes() == &d[..],
        (Frame::Error(s), F2::Error(d)) => s == d,
        (Frame::Int(n), F2::Integer(d)) => n == d,
        (Frame::Bulk(b), F2::BulkString(d)) => b[..] == d[..],
        (Frame::Null, F2::Null) => true,
        (Frame::Array(a), F2::Array(d)) => {
            a.len() == d.len() && a.iter().zip(d).all(|(x, y)| same_link2(x, y))
        }
        _ => false,
    }
}

#[test]
fn our_decoders_agree_with_redis_protocol_on_resp2_frames() {
    let mut rng = SmallRng::seed_from_u64(0xdec0_de02);
    for _ in 0..3000 {
        let frame = rand_f2(&mut rng, 0);
        let mut wire = vec![0; frame.encode_len(false)];
        let n = redis_protocol::resp2::encode::encode(&mut wire, &frame, false).unwrap();
        wire.truncate(n);
        let (theirs, used) = redis_protocol::resp2::decode::decode(&wire)
            .unwrap()
            .unwrap();
        assert_eq!(used, wire.len());
        let (ours, our_used) = link_decode(&wire).expect("complete frame");
        assert_eq!(our_used, used);
        assert!(
            same_link2(&ours, &theirs),
            "ours {ours:?}\ntheirs {theirs:?}"
        );
        let cut = rng.gen_range(0..wire.len());
        assert!(redis_protocol::resp2::decode::decode(&wire[..cut])
            .unwrap()
            .is_none());
        assert!(link_decode(&wire[..cut]).is_none());
    }
}
