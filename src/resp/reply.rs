//! The one RESP reply reader (RESP2 and RESP3) for everything we read
//! replies from: sentinel links to nodes and other sentinels, and a script's
//! `redis.call`, whose command writes its reply into a scratch buffer that
//! the script sees parsed back (as Redis converts from its reply buffer).
//! Every RESP3 type keeps its own variant, so a caller can tell a push from
//! an array and a set or map from both.

use super::parse::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};

/// One reply frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    /// `-...` or a RESP3 blob error (`!`).
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// `$-1`, `*-1` or RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(f64),
    Bool(bool),
    BigNum(String),
    /// `=`: the three-letter format ("txt", "mkd") and the text.
    Verbatim(String, Bytes),
}

impl Frame {
    /// The bytes of a bulk, simple, verbatim or big-number frame.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Bulk(b) | Frame::Verbatim(_, b) => Some(b),
            Frame::Simple(s) | Frame::BigNum(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<String> {
        self.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

const MAX_DEPTH: usize = 32;

/// Take one complete reply from the front of `buf`; `Ok(None)` = need more bytes (nothing consumed).
pub fn parse_reply(buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
    match parse_frame(buf)? {
        Some((f, end)) => {
            buf.advance(end);
            Ok(Some(f))
        }
        None => Ok(None),
    }
}

/// One complete reply at the start of `buf` and the bytes it used;
/// `Ok(None)` = incomplete.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    frame_at(buf, 0, 0)
}

fn err(s: &str) -> ProtocolError {
    ProtocolError(format!("Protocol error: {}", s))
}

fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rel = buf[pos..].windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[pos..pos + rel], pos + rel + 2))
}

fn int_of(s: &[u8]) -> Result<i64, ProtocolError> {
    crate::util::parse_i64(s).ok_or_else(|| err("bad integer in reply"))
}

fn double_of(s: &[u8]) -> Result<f64, ProtocolError> {
    crate::util::parse_f64(s)
        .or_else(|| std::str::from_utf8(s).ok()?.parse::<f64>().ok())
        .ok_or_else(|| err("bad double in reply"))
}

fn frame_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Frame, usize)>, ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(err("reply nested too deeply"));
    }
    if pos >= buf.len() {
        return Ok(None);
    }
    let Some((l, next)) = line(buf, pos + 1) else {
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(l).into_owned();
    let f = match buf[pos] {
        b'+' => Frame::Simple(text()),
        b'-' => Frame::Error(text()),
        b':' => Frame::Int(int_of(l)?),
        b'_' => Frame::Null,
        b',' => Frame::Double(double_of(l)?),
        b'#' => match l {
            b"t" => Frame::Bool(true),
            b"f" => Frame::Bool(false),
            _ => return Err(err("bad boolean in reply")),
        },
        b'(' => Frame::BigNum(text()),
        b'$' | b'=' | b'!' => {
            let n = int_of(l)?;
            if n < 0 {
                // Only `$-1` is a null; a negative verbatim or error length is malformed.
                if buf[pos] != b'$' {
                    return Err(err("bad length in reply"));
                }
                return Ok(Some((Frame::Null, next)));
            }
            let n = n as usize;
            if buf.len().saturating_sub(next) < n.saturating_add(2) {
                return Ok(None);
            }
            let data = &buf[next..next + n];
            let end = next + n + 2;
            let f = match buf[pos] {
                b'$' => Frame::Bulk(Bytes::copy_from_slice(data)),
                b'!' => Frame::Error(String::from_utf8_lossy(data).into_owned()),
                _ => match data.get(3) {
                    Some(b':') => Frame::Verbatim(
                        String::from_utf8_lossy(&data[..3]).into_owned(),
                        Bytes::copy_from_slice(&data[4..]),
                    ),
                    _ => Frame::Verbatim("txt".into(), Bytes::copy_from_slice(data)),
                },
            };
            return Ok(Some((f, end)));
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int_of(l)?;
            if n < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            let is_map = matches!(buf[pos], b'%' | b'|');
            let count = if is_map {
                (n as usize).saturating_mul(2)
            } else {
                n as usize
            };
            let mut items = Vec::with_capacity(count.min(1024));
            let mut p = next;
            for _ in 0..count {
                match frame_at(buf, p, depth + 1)? {
                    Some((f, e)) => {
                        items.push(f);
                        p = e;
                    }
                    None => return Ok(None),
                }
            }
            let f = match buf[pos] {
                b'>' => Frame::Push(items),
                b'~' => Frame::Set(items),
                b'%' => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Frame::Map(pairs)
                }
                // Attributes precede the real reply: skip them.
                b'|' => return frame_at(buf, p, depth + 1),
                _ => Frame::Array(items),
            };
            return Ok(Some((f, p)));
        }
        c => return Err(err(&format!("unexpected reply type byte '{}'", c as char))),
    };
    Ok(Some((f, next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Option<Frame> {
        let mut b = BytesMut::from(s);
        parse_reply(&mut b).unwrap()
    }

    #[test]
    fn scalars_and_partials() {
        assert_eq!(p(b"+PONG\r\n"), Some(Frame::Simple("PONG".into())));
        assert_eq!(p(b"-ERR x\r\n"), Some(Frame::Error("ERR x".into())));
        assert_eq!(p(b":12\r\n"), Some(Frame::Int(12)));
        assert_eq!(p(b"$-1\r\n"), Some(Frame::Null));
        assert_eq!(p(b"$3\r\nab"), None);
        assert_eq!(p(b"*2\r\n:1\r\n"), None);
        assert_eq!(p(b"+PON"), None);
    }

    #[test]
    fn aggregates_consume_exactly() {
        let mut b = BytesMut::from(
            &b"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n%1\r\n+a\r\n:1\r\n>2\r\n+x\r\n_\r\n"[..],
        );
        assert_eq!(
            parse_reply(&mut b).unwrap(),
            Some(Frame::Array(vec![
                Frame::Int(0),
                Frame::Bulk(Bytes::from_static(b"*")),
                Frame::Int(0)
            ]))
        );
        assert_eq!(
            parse_reply(&mut b).unwrap(),
            Some(Frame::Map(vec![(Frame::Simple("a".into()), Frame::Int(1))]))
        );
        assert_eq!(
            parse_reply(&mut b).unwrap(),
            Some(Frame::Push(vec![Frame::Simple("x".into()), Frame::Null]))
        );
        assert!(b.is_empty());
    }

    fn one(s: &[u8]) -> Option<(Frame, usize)> {
        parse_frame(s).unwrap()
    }

    #[test]
    fn malformed_lengths_are_refused_not_panics() {
        assert!(parse_frame(b"=-5\r\ntxt:x\r\n").is_err());
        assert!(parse_frame(b"=-9223372036854775808\r\n").is_err());
        assert_eq!(one(b"$9223372036854775807\r\nab\r\n"), None);
        assert_eq!(one(b"*-1\r\n"), Some((Frame::Null, 5)));
        assert!(parse_frame(b"#x\r\n").is_err());
        assert!(parse_frame(b",abc\r\n").is_err());
    }

    #[test]
    fn resp3_types_keep_their_variant() {
        let (r, n) = one(b"*3\r\n:1\r\n$-1\r\n+OK\r\n").unwrap();
        assert_eq!(n, 18);
        assert_eq!(
            r,
            Frame::Array(vec![Frame::Int(1), Frame::Null, Frame::Simple("OK".into())])
        );
        let (r, _) = one(b"%1\r\n$1\r\na\r\n,1.5\r\n").unwrap();
        assert_eq!(
            r,
            Frame::Map(vec![(
                Frame::Bulk(Bytes::from_static(b"a")),
                Frame::Double(1.5)
            )])
        );
        assert_eq!(one(b"#t\r\n").unwrap().0, Frame::Bool(true));
        assert_eq!(one(b",inf\r\n").unwrap().0, Frame::Double(f64::INFINITY));
        assert_eq!(one(b"_\r\n").unwrap().0, Frame::Null);
        assert_eq!(one(b"(123\r\n").unwrap().0, Frame::BigNum("123".into()));
        assert_eq!(
            one(b"=6\r\ntxt:hi\r\n").unwrap().0,
            Frame::Verbatim("txt".into(), Bytes::from_static(b"hi"))
        );
        assert_eq!(
            one(b"~1\r\n:2\r\n").unwrap().0,
            Frame::Set(vec![Frame::Int(2)])
        );
        assert_eq!(
            one(b"!5\r\nERR x\r\n").unwrap().0,
            Frame::Error("ERR x".into())
        );
        assert_eq!(one(b"|1\r\n+k\r\n+v\r\n:3\r\n").unwrap().0, Frame::Int(3));
        assert_eq!(one(b"$5\r\nab"), None);
    }
}
