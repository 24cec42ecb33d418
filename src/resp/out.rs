//! Reply encoder. Handlers write straight into the connection's output
//! buffer; the protocol version decides how nulls, maps, sets, doubles and
//! pushes look on the wire.

use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

pub struct Out {
    pub buf: BytesMut,
    pub proto: Proto,
}

impl Out {
    pub fn new(proto: Proto) -> Self {
        Out {
            buf: BytesMut::with_capacity(16 * 1024),
            proto,
        }
    }

    pub fn resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    #[inline]
    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.put_u8(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.put_slice(b.format(n).as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.put_u8(b'+');
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// `msg` is the full error text without the leading '-', e.g. "ERR syntax error".
    pub fn error(&mut self, msg: &str) {
        self.buf.put_u8(b'-');
        // An error line cannot carry newlines; Redis replaces them with spaces.
        for &c in msg.as_bytes() {
            self.buf
                .put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.put_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// The null array (RESP2 `*-1`, RESP3 `_`).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// A map of `n` pairs; RESP2 flattens it to an array of 2n.
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    pub fn push(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    pub fn boolean(&mut self, v: bool) {
        if self.resp3() {
            self.buf.put_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A double: RESP3 `,`, RESP2 a bulk string, both formatted like Redis 7.0's `%.17g`.
    pub fn double(&mut self, d: f64) {
        let s = crate::util::fmt_double(d);
        if self.resp3() {
            self.buf.put_u8(b',');
            self.buf.put_slice(s.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A verbatim text (RESP3 `=len\r\ntxt:...`), a plain bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3() {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    pub fn bulks<I, B>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.array(items.len());
        for b in items {
            self.bulk(b.as_ref());
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.put_slice(bytes);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn truncate(&mut self, n: usize) {
        self.buf.truncate(n);
    }
}

/// Encode an argument vector as a RESP array of bulk strings (used for propagation).
pub fn encode_command(buf: &mut BytesMut, args: &[impl AsRef<[u8]>]) {
    let mut b = itoa::Buffer::new();
    buf.put_u8(b'*');
    buf.put_slice(b.format(args.len()).as_bytes());
    buf.put_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        buf.put_u8(b'$');
        buf.put_slice(b.format(a.len()).as_bytes());
        buf.put_slice(b"\r\n");
        buf.put_slice(a);
        buf.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut o = Out::new(Proto::Resp2);
        o.null();
        o.null_array();
        o.map(1);
        o.double(1.5);
        assert_eq!(&o.buf[..], b"$-1\r\n*-1\r\n*2\r\n$3\r\n1.5\r\n");
        let mut o = Out::new(Proto::Resp3);
        o.null();
        o.map(1);
        o.double(1.5);
        o.verbatim(b"hi");
        assert_eq!(&o.buf[..], b"_\r\n%1\r\n,1.5\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn errors_never_span_lines() {
        let mut o = Out::new(Proto::Resp2);
        o.error("ERR a\r\nb");
        assert_eq!(&o.buf[..], b"-ERR a  b\r\n");
    }
}
