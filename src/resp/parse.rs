//! Streaming RESP request parser: multibulk frames and inline commands.
//!
//! The parser never trusts a length header for allocation: it only looks at
//! bytes that have arrived, so a `$2147483648` header costs nothing but the
//! error reply.

use bytes::{Bytes, BytesMut};

/// Longest inline request or length line Redis accepts before a newline (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bulk_len: u64,
    /// Before AUTH, Redis refuses large frames so an unauthenticated peer cannot make it buffer much.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(s: impl Into<String>) -> Self {
        ProtocolError(format!("Protocol error: {}", s.into()))
    }
}

/// One parsed request: the argument vector (possibly empty for blank lines, which the caller skips).
pub type Request = Vec<Bytes>;

/// Try to take one complete request from the front of `buf`.
/// `Ok(None)` means more bytes are needed; nothing is consumed in that case.
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Request>, ProtocolError> {
    Ok(parse_one::<false>(buf, limits)?.map(|(req, _)| req))
}

/// `parse_request` that also returns the request's exact bytes, without
/// copying them: a replica passes its master's stream on verbatim.
pub fn parse_request_frame(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<(Request, Bytes)>, ProtocolError> {
    Ok(parse_one::<true>(buf, limits)?.map(|(req, f)| (req, f.unwrap_or_default())))
}

/// One request; with FRAME, also its bytes (a reference count, not a copy).
fn parse_one<const FRAME: bool>(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<(Request, Option<Bytes>)>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'*' {
        parse_multibulk::<FRAME>(buf, limits)
    } else {
        parse_inline::<FRAME>(buf)
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\r', &buf[from..]).map(|i| i + from)
}

#[inline]
fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn parse_int(s: &[u8]) -> Option<i64> {
    crate::util::parse_i64(s)
}

fn parse_multibulk<const FRAME: bool>(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<(Request, Option<Bytes>)>, ProtocolError> {
    let Some(nl) = find_crlf(buf, 1) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(None);
    };
    let count = match parse_int(&buf[1..nl]) {
        Some(n) if n <= i32::MAX as i64 => n,
        _ => return Err(ProtocolError::new("invalid multibulk length")),
    };
    if !limits.authenticated && count > 10 {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    if nl + 1 >= buf.len() {
        return Ok(None);
    }
    let pos = nl + 2;
    if count <= 0 {
        let frame = buf.split_to(pos);
        return Ok(Some((Vec::new(), FRAME.then(|| frame.freeze()))));
    }
    // First pass: validate every header and find where the frame ends, storing nothing.
    let Some(end) = scan_bulks(buf, pos, count as usize, limits, |_, _| {})? else {
        return Ok(None);
    };
    // Second pass over the complete frame: slice the arguments (one allocation).
    let frame = buf.split_to(end).freeze();
    let mut args = Vec::with_capacity(count as usize);
    scan_bulks(&frame, pos, count as usize, limits, |s, e| {
        args.push(frame.slice(s..e))
    })?;
    Ok(Some((args, FRAME.then_some(frame))))
}

/// Walk `count` bulk strings starting at `pos`, calling `f(start, end)` for each.
/// Returns the position after the last one, or None when more bytes are needed.
fn scan_bulks(
    buf: &[u8],
    mut pos: usize,
    count: usize,
    limits: &Limits,
    mut f: impl FnMut(usize, usize),
) -> Result<Option<usize>, ProtocolError> {
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(ProtocolError::new(format!(
                "expected '$', got '{}'",
                buf[pos] as char
            )));
        }
        let Some(nl) = find_crlf(buf, pos + 1) else {
            if buf.len() - pos > INLINE_MAX {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(None);
        };
        let len = match parse_int(&buf[pos + 1..nl]) {
            Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n as usize,
            _ => return Err(ProtocolError::new("invalid bulk length")),
        };
        if !limits.authenticated && len > 16384 {
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let start = nl + 2;
        let end = start + len;
        if end + 2 > buf.len() {
            return Ok(None);
        }
        f(start, end);
        pos = end + 2;
    }
    Ok(Some(pos))
}

fn parse_inline<const FRAME: bool>(
    buf: &mut BytesMut,
) -> Result<Option<(Request, Option<Bytes>)>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut end = nl;
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    match split_args(&line[..end]) {
        Some(args) => Ok(Some((args, FRAME.then(|| line.freeze())))),
        None => Err(ProtocolError::new("unbalanced quotes in request")),
    }
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Split a line the way redis-cli and Redis's inline parser do (sdssplitargs):
/// whitespace separates, "double quotes" understand \n \r \t \b \a \xHH escapes,
/// 'single quotes' only \'. A closing quote must be followed by a space or the end.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if line[i] == b'\\' && i + 1 < n {
                    let c = match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    };
                    cur.push(c);
                    i += 2;
                    continue;
                }
                if line[i] == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(line[i]);
                i += 1;
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                }
                if line[i] == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(line[i]);
                i += 1;
            } else {
                if i >= n || line[i].is_ascii_whitespace() {
                    break;
                }
                match line[i] {
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(Bytes::from(cur));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(r) = parse_request(&mut buf, &Limits::default())? {
            out.push(r.iter().map(|b| b.to_vec()).collect());
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_pipeline() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            r,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn split_frames_wait_for_more() {
        let full = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(
                parse_request(&mut buf, &Limits::default()).unwrap(),
                None,
                "cut {cut}"
            );
            assert_eq!(buf.len(), cut, "nothing consumed on partial input");
            buf.extend_from_slice(&full[cut..]);
            let r = parse_request(&mut buf, &Limits::default())
                .unwrap()
                .unwrap();
            assert_eq!(r.len(), 3);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn inline_commands() {
        let r = parse_all(b"PING\r\ninfo replication\nset k \"a b\\x41\" 'c\\'d'\r\n").unwrap();
        assert_eq!(r[0], vec![b"PING".to_vec()]);
        assert_eq!(r[1], vec![b"info".to_vec(), b"replication".to_vec()]);
        assert_eq!(
            r[2],
            vec![
                b"set".to_vec(),
                b"k".to_vec(),
                b"a bA".to_vec(),
                b"c'd".to_vec()
            ]
        );
    }

    #[test]
    fn protocol_errors_use_redis_texts() {
        let e = |i: &[u8]| parse_all(i).unwrap_err().0;
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            e(b"*1\r\n$2147483648\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(e(b"*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            e(b"*1\r\n+foo\r\n"),
            "Protocol error: expected '$', got '+'"
        );
        assert_eq!(
            e(b"set k \"abc\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(e(&big), "Protocol error: too big inline request");
    }

    #[test]
    fn hostile_header_does_not_allocate() {
        let mut buf = BytesMut::from(&b"*1000000\r\n$536870912\r\nab"[..]);
        assert_eq!(parse_request(&mut buf, &Limits::default()).unwrap(), None);
        assert!(buf.capacity() < 4096);
    }

    #[test]
    fn unauthenticated_limits() {
        let lim = Limits {
            authenticated: false,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"*100\r\n"[..]);
        assert_eq!(
            parse_request(&mut buf, &lim).unwrap_err().0,
            "Protocol error: unauthenticated multibulk length"
        );
    }

    #[test]
    fn empty_lines_and_zero_counts() {
        let r = parse_all(b"\r\n*0\r\n*-1\r\nPING\r\n").unwrap();
        assert_eq!(r.len(), 4);
        assert!(r[0].is_empty() && r[1].is_empty() && r[2].is_empty());
    }
}
