//! Redis listpacks (hash/zset small encodings and quicklist nodes): a
//! validating decoder and a byte-exact encoder.
//!
//! Layout: `u32 LE total bytes`, `u16 LE element count` (65535 = unknown),
//! entries, `0xFF`. Entry: encoding + data, then a back length (1-5 bytes)
//! holding the size of encoding + data.

/// One decoded element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as Redis would return it (integers in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            Elem::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
            Elem::Str(s) => s.to_vec(),
        }
    }
}

/// Size of the back length for an entry of `l` bytes (encoding + data).
pub fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Decode a whole listpack blob; Err(reason) when it is malformed.
pub fn decode(b: &[u8]) -> Result<Vec<Elem<'_>>, String> {
    if b.len() < 7 {
        return Err(format!("listpack too short ({} bytes)", b.len()));
    }
    let total = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if total != b.len() {
        return Err(format!(
            "listpack header says {} bytes but the blob has {}",
            total,
            b.len()
        ));
    }
    let count = u16::from_le_bytes([b[4], b[5]]);
    let mut out = Vec::with_capacity(if count == u16::MAX {
        16
    } else {
        count as usize
    });
    let mut p = 6;
    let short = || "listpack entry runs past its end".to_string();
    loop {
        let c = *b.get(p).ok_or_else(short)?;
        if c == 0xFF {
            if p + 1 != b.len() {
                return Err("listpack has bytes after its end marker".into());
            }
            break;
        }
        let (elem, hdr_data) = if c & 0x80 == 0 {
            (Elem::Int((c & 0x7f) as i64), 1)
        } else if c & 0xC0 == 0x80 {
            let n = (c & 0x3f) as usize;
            let s = b.get(p + 1..p + 1 + n).ok_or_else(short)?;
            (Elem::Str(s), 1 + n)
        } else if c & 0xE0 == 0xC0 {
            let lo = *b.get(p + 1).ok_or_else(short)? as u64;
            let v = (((c & 0x1f) as u64) << 8) | lo;
            (Elem::Int(sign_extend(v, 13)), 2)
        } else if c & 0xF0 == 0xE0 {
            let lo = *b.get(p + 1).ok_or_else(short)? as usize;
            let n = (((c & 0x0f) as usize) << 8) | lo;
            let s = b.get(p + 2..p + 2 + n).ok_or_else(short)?;
            (Elem::Str(s), 2 + n)
        } else {
            let int = |w: usize| -> Result<i64, String> {
                let d = b.get(p + 1..p + 1 + w).ok_or_else(short)?;
                let mut v = 0u64;
                for (i, &x) in d.iter().enumerate() {
                    v |= (x as u64) << (8 * i);
                }
                Ok(sign_extend(v, 8 * w as u32))
            };
            match c {
                0xF0 => {
                    let d = b.get(p + 1..p + 5).ok_or_else(short)?;
                    let n = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
                    let s = b
                        .get(p + 5..p + 5usize.checked_add(n).ok_or_else(short)?)
                        .ok_or_else(short)?;
                    (Elem::Str(s), 5 + n)
                }
                0xF1 => (Elem::Int(int(2)?), 3),
                0xF2 => (Elem::Int(int(3)?), 4),
                0xF3 => (Elem::Int(int(4)?), 5),
                0xF4 => (Elem::Int(int(8)?), 9),
                _ => return Err(format!("invalid listpack entry encoding 0x{c:02x}")),
            }
        };
        let bl = backlen_size(hdr_data);
        // Check the back length really encodes the entry size.
        let back = b.get(p + hdr_data..p + hdr_data + bl).ok_or_else(short)?;
        if decode_backlen(back) != Some(hdr_data as u64) {
            return Err("listpack entry has a wrong back length".into());
        }
        out.push(elem);
        p += hdr_data + bl;
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(format!(
            "listpack header says {} elements but holds {}",
            count,
            out.len()
        ));
    }
    Ok(out)
}

/// Read a back length stored in forward order (as it sits in the blob).
fn decode_backlen(bytes: &[u8]) -> Option<u64> {
    // Read from the last byte backwards: 7 bits each, continuation bit 128.
    let mut v = 0u64;
    let mut shift = 0;
    for (i, &x) in bytes.iter().rev().enumerate() {
        v |= ((x & 0x7f) as u64) << shift;
        shift += 7;
        let more = x & 0x80 != 0;
        let last = i + 1 == bytes.len();
        if more == last {
            return None;
        }
    }
    Some(v)
}

fn encode_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let chunk = ((l >> (7 * i)) & 0x7f) as u8;
        // Every byte but the first written (the last read) has the continuation bit.
        out.push(if i == n - 1 { chunk } else { chunk | 0x80 });
    }
}

/// Builds a listpack the way Redis encodes one.
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Append an element; strings that are canonical integers are stored as
    /// integers, as Redis does.
    pub fn push(&mut self, s: &[u8]) {
        match crate::util::parse_i64(s) {
            Some(i) => self.push_int(i),
            None => self.push_str(s),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-(1i64 << 23)..(1i64 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        encode_backlen(&mut self.buf, l);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        encode_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Bytes so far plus the end marker (what `finish` would return).
    pub fn len_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let c = if self.count < u16::MAX as usize {
            self.count as u16
        } else {
            u16::MAX
        };
        self.buf[4..6].copy_from_slice(&c.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(enc_data: &[u8]) -> Vec<u8> {
        let mut v = enc_data.to_vec();
        encode_backlen(&mut v, enc_data.len());
        v
    }

    fn wrap(entries: &[Vec<u8>], count: u16) -> Vec<u8> {
        let mut b = vec![0u8; 6];
        for e in entries {
            b.extend_from_slice(e);
        }
        b.push(0xFF);
        let t = b.len() as u32;
        b[..4].copy_from_slice(&t.to_le_bytes());
        b[4..6].copy_from_slice(&count.to_le_bytes());
        b
    }

    #[test]
    fn backlen_bytes() {
        let mut v = Vec::new();
        encode_backlen(&mut v, 5);
        assert_eq!(v, [5]);
        v.clear();
        encode_backlen(&mut v, 500);
        assert_eq!(v, [(500u32 >> 7) as u8, ((500u32 & 127) | 128) as u8]);
        assert_eq!(decode_backlen(&v), Some(500));
        for l in [
            127usize,
            128,
            16382,
            16383,
            2097150,
            2097151,
            268435454,
            268435455,
            1 << 30,
        ] {
            v.clear();
            encode_backlen(&mut v, l);
            assert_eq!(v.len(), backlen_size(l));
            assert_eq!(decode_backlen(&v), Some(l as u64), "{l}");
        }
    }

    #[test]
    fn decodes_every_encoding() {
        let s63 = vec![b'a'; 63];
        let s4000 = vec![b'b'; 4000];
        let s70000 = vec![b'c'; 70000];
        let mut e6 = vec![0x80 | 63];
        e6.extend_from_slice(&s63);
        let mut e12 = vec![0xE0 | (4000 >> 8) as u8, (4000 & 0xff) as u8];
        e12.extend_from_slice(&s4000);
        let mut e32 = vec![0xF0];
        e32.extend_from_slice(&70000u32.to_le_bytes());
        e32.extend_from_slice(&s70000);
        let entries = vec![
            entry(&[7]),                            // uint7
            entry(&[0xC0 | 0x1f, 0xff]),            // int13 = -1
            entry(&[0xC0 | 0x0f, 0xff]),            // int13 = 4095
            entry(&[0xF1, 0x00, 0x80]),             // int16 = -32768
            entry(&[0xF2, 0xff, 0xff, 0x7f]),       // int24 = 8388607
            entry(&[0xF2, 0x00, 0x00, 0x80]),       // int24 = -8388608
            entry(&[0xF3, 0x00, 0x00, 0x00, 0x80]), // int32 min
            {
                let mut v = vec![0xF4];
                v.extend_from_slice(&i64::MIN.to_le_bytes());
                entry(&v)
            },
            entry(&e6),
            entry(&e12),
            entry(&e32),
            entry(&[0x80]), // empty string
        ];
        let lp = wrap(&entries, entries.len() as u16);
        let got = decode(&lp).unwrap();
        assert_eq!(
            got,
            vec![
                Elem::Int(7),
                Elem::Int(-1),
                Elem::Int(4095),
                Elem::Int(-32768),
                Elem::Int(8388607),
                Elem::Int(-8388608),
                Elem::Int(i32::MIN as i64),
                Elem::Int(i64::MIN),
                Elem::Str(&s63),
                Elem::Str(&s4000),
                Elem::Str(&s70000),
                Elem::Str(b""),
            ]
        );
        // Unknown count is fine.
        assert_eq!(decode(&wrap(&entries, u16::MAX)).unwrap().len(), 12);
    }

    #[test]
    fn builder_round_trip_and_redis_bytes() {
        let mut b = Builder::new();
        for s in [
            &b"a"[..],
            b"1",
            b"-1",
            b"100000",
            b"1.5",
            b"007",
            b"9000000000",
        ] {
            b.push(s);
        }
        b.push_str(&[b'z'; 5000]);
        let lp = b.finish();
        let got: Vec<Vec<u8>> = decode(&lp).unwrap().iter().map(|e| e.to_vec()).collect();
        assert_eq!(
            got[..7],
            [
                &b"a"[..],
                b"1",
                b"-1",
                b"100000",
                b"1.5",
                b"007",
                b"9000000000"
            ]
        );
        assert_eq!(got[7], vec![b'z'; 5000]);
        // A tiny hash {"a": "1"} exactly as Redis 7.0 lays it out.
        let mut b = Builder::new();
        b.push(b"a");
        b.push(b"1");
        assert_eq!(b.finish(), [0x0c, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xff]);
    }

    #[test]
    fn malformed() {
        assert!(decode(&[1, 2, 3]).is_err());
        let good = wrap(&[entry(&[5])], 1);
        let mut bad = good.clone();
        bad[0] = 99;
        assert!(decode(&bad).unwrap_err().contains("header says"));
        let bad_count = wrap(&[entry(&[5])], 2);
        assert!(decode(&bad_count).is_err());
        let bad_enc = wrap(&[entry(&[0xF7])], 1);
        assert!(decode(&bad_enc).unwrap_err().contains("0xf7"));
        let long_str = wrap(&[vec![0x85, b'a']], 1);
        assert!(decode(&long_str).is_err());
        let mut huge = vec![0xF0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&wrap(&[huge], 1)).is_err());
    }
}
