//! A small RESP2/RESP3 reply parser: a command called from a script writes
//! its reply into a scratch buffer, and the script sees it parsed back (as
//! Redis converts from its reply buffer).

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// RESP2 nil bulk / nil array, RESP3 null.
    Nil,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    Bool(bool),
    BigNum(Vec<u8>),
    Verbatim(Vec<u8>, Vec<u8>),
}

/// Parse one reply from the start of `buf`; returns it and the bytes used.
pub fn parse(buf: &[u8]) -> Option<(Reply, usize)> {
    let mut p = Parser { buf, pos: 0 };
    let r = p.reply()?;
    Some((r, p.pos))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> Option<&[u8]> {
        let rest = &self.buf[self.pos..];
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        self.pos += end + 2;
        Some(&rest[..end])
    }

    fn num(&mut self) -> Option<i64> {
        crate::util::parse_i64(self.line()?)
    }

    fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        if self.buf.len() < self.pos.checked_add(n)?.checked_add(2)? {
            return None;
        }
        let v = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n + 2;
        Some(v)
    }

    fn items(&mut self, n: i64) -> Option<Vec<Reply>> {
        let mut v = Vec::with_capacity(n.clamp(0, 1024) as usize);
        for _ in 0..n {
            v.push(self.reply()?);
        }
        Some(v)
    }

    fn reply(&mut self) -> Option<Reply> {
        let t = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(match t {
            b'+' => Reply::Status(self.line()?.to_vec()),
            b'-' => Reply::Error(self.line()?.to_vec()),
            b':' => Reply::Int(self.num()?),
            b'$' => {
                let n = self.num()?;
                if n < 0 {
                    Reply::Nil
                } else {
                    Reply::Bulk(self.bytes(n as usize)?)
                }
            }
            b'*' | b'>' => {
                let n = self.num()?;
                if n < 0 {
                    Reply::Nil
                } else {
                    Reply::Array(self.items(n)?)
                }
            }
            b'~' => {
                let n = self.num()?;
                Reply::Set(self.items(n)?)
            }
            b'%' => {
                let n = self.num()?;
                let mut v = Vec::new();
                for _ in 0..n {
                    let k = self.reply()?;
                    let val = self.reply()?;
                    v.push((k, val));
                }
                Reply::Map(v)
            }
            b'_' => {
                self.line()?;
                Reply::Nil
            }
            b',' => {
                let l = self.line()?;
                Reply::Double(
                    crate::util::parse_f64(l)
                        .or_else(|| std::str::from_utf8(l).ok()?.parse::<f64>().ok())?,
                )
            }
            b'#' => Reply::Bool(self.line()? == b"t"),
            b'(' => Reply::BigNum(self.line()?.to_vec()),
            b'=' => {
                // A negative length is malformed (was: a wrapped slice bound and a panic).
                let n = usize::try_from(self.num()?).ok()?;
                let v = self.bytes(n)?;
                if v.len() >= 4 && v[3] == b':' {
                    Reply::Verbatim(v[..3].to_vec(), v[4..].to_vec())
                } else {
                    Reply::Verbatim(b"txt".to_vec(), v)
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lengths_are_refused_not_panics() {
        assert_eq!(parse(b"=-5\r\ntxt:x\r\n"), None);
        assert_eq!(parse(b"=-9223372036854775808\r\n"), None);
        assert_eq!(parse(b"$9223372036854775807\r\nab\r\n"), None);
        assert_eq!(parse(b"*-1\r\n"), Some((Reply::Nil, 5)));
    }

    #[test]
    fn parses_resp2_and_resp3() {
        let (r, n) = parse(b"*3\r\n:1\r\n$-1\r\n+OK\r\n").unwrap();
        assert_eq!(n, 18);
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Nil,
                Reply::Status(b"OK".to_vec())
            ])
        );
        let (r, _) = parse(b"%1\r\n$1\r\na\r\n,1.5\r\n").unwrap();
        assert_eq!(
            r,
            Reply::Map(vec![(Reply::Bulk(b"a".to_vec()), Reply::Double(1.5))])
        );
        assert_eq!(parse(b"#t\r\n").unwrap().0, Reply::Bool(true));
        assert_eq!(parse(b"_\r\n").unwrap().0, Reply::Nil);
        assert_eq!(
            parse(b"(123\r\n").unwrap().0,
            Reply::BigNum(b"123".to_vec())
        );
        assert_eq!(
            parse(b"=6\r\ntxt:hi\r\n").unwrap().0,
            Reply::Verbatim(b"txt".to_vec(), b"hi".to_vec())
        );
        assert_eq!(
            parse(b"-ERR x\r\n").unwrap().0,
            Reply::Error(b"ERR x".to_vec())
        );
        assert!(parse(b"$5\r\nab").is_none());
    }
}
