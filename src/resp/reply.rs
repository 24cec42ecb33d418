//! Client-side reply reader: what a node or a sentinel answers to the
//! commands we send it (sentinel links, tools). RESP2 and RESP3 types.

use super::parse::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};

/// One reply frame. RESP3 aggregate types are kept apart so callers can tell
/// a push (`>`) from an ordinary array.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// `$-1`, `*-1` or RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Push(Vec<Frame>),
    /// Doubles, booleans, big numbers and verbatim strings, as their text.
    Other(String),
}

impl Frame {
    /// The bytes of a bulk/simple/verbatim string frame.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Bulk(b) => Some(b),
            Frame::Simple(s) | Frame::Other(s) => Some(s.as_bytes()),
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
    match frame_at(buf, 0, 0)? {
        Some((f, end)) => {
            buf.advance(end);
            Ok(Some(f))
        }
        None => Ok(None),
    }
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
        b',' | b'#' | b'(' => Frame::Other(text()),
        b'$' | b'=' | b'!' => {
            let n = int_of(l)?;
            if n < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            let n = n as usize;
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            let data = &buf[next..next + n];
            let end = next + n + 2;
            let f = match buf[pos] {
                b'$' => Frame::Bulk(Bytes::copy_from_slice(data)),
                b'!' => Frame::Error(String::from_utf8_lossy(data).into_owned()),
                // Verbatim: skip the "txt:" format prefix.
                _ => Frame::Other(
                    String::from_utf8_lossy(data.get(4..).unwrap_or(data)).into_owned(),
                ),
            };
            return Ok(Some((f, end)));
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int_of(l)?;
            if n < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            let is_map = matches!(buf[pos], b'%' | b'|');
            let count = if is_map { n as usize * 2 } else { n as usize };
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
}
