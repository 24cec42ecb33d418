//! What SCAN, HSCAN, SSCAN and ZSCAN share: the cursor and the COUNT/MATCH options.

use crate::error::Error;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

/// A SCAN cursor, parsed like C's strtoul as Redis 7.0 does: an optional sign
/// (a negative value wraps), digits, nothing else; "" is cursor 0.
pub fn parse_cursor(s: &[u8]) -> Result<u64, Error> {
    let invalid = || Error::err("invalid cursor");
    if s.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// COUNT and MATCH of HSCAN/SSCAN/ZSCAN (Redis looks at them only when the key exists).
pub struct ScanOpts<'a> {
    pub count: usize,
    /// None for no pattern or "*" (matches everything).
    pub pattern: Option<&'a [u8]>,
}

impl<'a> ScanOpts<'a> {
    pub fn parse(args: &'a [Bytes], from: usize) -> Result<Self, Error> {
        let mut opts = ScanOpts {
            count: 10,
            pattern: None,
        };
        let mut i = from;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            if eq_ic(&args[i], "count") && has_value {
                let c = parse_i64(&args[i + 1]).ok_or(Error::NotInteger)?;
                if c < 1 {
                    return Err(Error::Syntax);
                }
                opts.count = c.min(1 << 32) as usize;
            } else if eq_ic(&args[i], "match") && has_value {
                opts.pattern = (&args[i + 1][..] != b"*").then_some(&args[i + 1][..]);
            } else {
                return Err(Error::Syntax);
            }
            i += 2;
        }
        Ok(opts)
    }

    pub fn matches(&self, s: &[u8]) -> bool {
        self.pattern
            .is_none_or(|p| crate::glob::matches(p, s, false))
    }
}

/// The reply for a missing key: cursor 0 and no elements.
pub fn reply_empty(out: &mut crate::resp::Out) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}

/// The `[cursor, [...n elements]]` header; the caller writes the elements.
pub fn reply_header(out: &mut crate::resp::Out, next: u64, n: usize) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_like_strtoul() {
        assert_eq!(parse_cursor(b"").unwrap(), 0);
        assert_eq!(parse_cursor(b"42").unwrap(), 42);
        assert_eq!(parse_cursor(b"+7").unwrap(), 7);
        assert_eq!(parse_cursor(b"-1").unwrap(), u64::MAX);
        assert_eq!(
            parse_cursor(b"x").unwrap_err().to_string(),
            "ERR invalid cursor"
        );
        assert!(parse_cursor(b"99999999999999999999999").is_err());
    }

    #[test]
    fn options() {
        let a: Vec<Bytes> = ["hscan", "k", "0", "MATCH", "a*", "count", "5"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let o = ScanOpts::parse(&a, 3).unwrap();
        assert_eq!((o.count, o.pattern), (5, Some(&b"a*"[..])));
        assert!(o.matches(b"abc") && !o.matches(b"b"));
        let a: Vec<Bytes> = ["x", "COUNT", "0"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(ScanOpts::parse(&a, 1).err(), Some(Error::Syntax));
    }
}
