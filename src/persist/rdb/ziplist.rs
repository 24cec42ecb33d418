//! Redis 6.x ziplists (types 10, 12, 13 and the nodes of type 14) and the
//! even older zipmap (type 9): validating decoders only (7.0 never writes them).

use super::listpack::Elem;

/// Decode a whole ziplist blob; Err(reason) when it is malformed.
pub fn decode(b: &[u8]) -> Result<Vec<Elem<'_>>, String> {
    if b.len() < 11 {
        return Err(format!("ziplist too short ({} bytes)", b.len()));
    }
    let total = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if total != b.len() {
        return Err(format!(
            "ziplist header says {} bytes but the blob has {}",
            total,
            b.len()
        ));
    }
    let count = u16::from_le_bytes([b[8], b[9]]);
    let mut out = Vec::new();
    let mut p = 10;
    let short = || "ziplist entry runs past its end".to_string();
    let mut prev_len = 0usize;
    loop {
        let first = *b.get(p).ok_or_else(short)?;
        if first == 0xFF {
            if p + 1 != b.len() {
                return Err("ziplist has bytes after its end marker".into());
            }
            break;
        }
        let start = p;
        // prevlen
        let prevlen = if first < 0xFE {
            p += 1;
            first as usize
        } else {
            let d = b.get(p + 1..p + 5).ok_or_else(short)?;
            p += 5;
            u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize
        };
        if prevlen != prev_len {
            return Err("ziplist entry has a wrong previous-entry length".into());
        }
        let c = *b.get(p).ok_or_else(short)?;
        let int = |at: usize, w: usize| -> Result<i64, String> {
            let d = b.get(at..at + w).ok_or_else(short)?;
            let mut v = 0u64;
            for (i, &x) in d.iter().enumerate() {
                v |= (x as u64) << (8 * i);
            }
            let shift = 64 - 8 * w as u32;
            Ok(((v << shift) as i64) >> shift)
        };
        let (elem, used) = match c >> 6 {
            0 => {
                let n = (c & 0x3f) as usize;
                (Elem::Str(b.get(p + 1..p + 1 + n).ok_or_else(short)?), 1 + n)
            }
            1 => {
                let lo = *b.get(p + 1).ok_or_else(short)? as usize;
                let n = (((c & 0x3f) as usize) << 8) | lo;
                (Elem::Str(b.get(p + 2..p + 2 + n).ok_or_else(short)?), 2 + n)
            }
            2 => {
                if c != 0x80 {
                    return Err(format!("invalid ziplist entry encoding 0x{c:02x}"));
                }
                let d = b.get(p + 1..p + 5).ok_or_else(short)?;
                let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
                let end = (p + 5).checked_add(n).ok_or_else(short)?;
                (Elem::Str(b.get(p + 5..end).ok_or_else(short)?), 5 + n)
            }
            _ => match c {
                0xC0 => (Elem::Int(int(p + 1, 2)?), 3),
                0xD0 => (Elem::Int(int(p + 1, 4)?), 5),
                0xE0 => (Elem::Int(int(p + 1, 8)?), 9),
                0xF0 => (Elem::Int(int(p + 1, 3)?), 4),
                0xFE => (Elem::Int(int(p + 1, 1)?), 2),
                0xF1..=0xFD => (Elem::Int((c & 0x0f) as i64 - 1), 1),
                _ => return Err(format!("invalid ziplist entry encoding 0x{c:02x}")),
            },
        };
        p += used;
        prev_len = p - start;
        out.push(elem);
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(format!(
            "ziplist header says {} elements but holds {}",
            count,
            out.len()
        ));
    }
    Ok(out)
}

/// A field/value pair borrowed from a blob.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decode a zipmap (Redis <= 2.4 small hashes): field/value pairs.
pub fn decode_zipmap(b: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    let short = || "zipmap entry runs past its end".to_string();
    let mut p = 1; // zmlen
    let mut out = Vec::new();
    let len_at = |p: usize| -> Result<Option<(usize, usize)>, String> {
        let c = *b.get(p).ok_or_else(short)?;
        match c {
            0xFF => Ok(None),
            0xFE => {
                let d = b.get(p + 1..p + 5).ok_or_else(short)?;
                Ok(Some((
                    u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize,
                    5,
                )))
            }
            n => Ok(Some((n as usize, 1))),
        }
    };
    loop {
        let Some((klen, kh)) = len_at(p)? else {
            if p + 1 != b.len() {
                return Err("zipmap has bytes after its end marker".into());
            }
            break;
        };
        p += kh;
        let key = b
            .get(p..p.checked_add(klen).ok_or_else(short)?)
            .ok_or_else(short)?;
        p += klen;
        let Some((vlen, vh)) = len_at(p)? else {
            return Err("zipmap field without a value".into());
        };
        p += vh;
        let free = *b.get(p).ok_or_else(short)? as usize;
        p += 1;
        let val = b
            .get(p..p.checked_add(vlen).ok_or_else(short)?)
            .ok_or_else(short)?;
        p += vlen + free;
        out.push((key, val));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a ziplist from (encoding + data) parts, filling in prevlens.
    fn build(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![0u8; 10];
        let mut prev = 0usize;
        let mut tail = 10;
        for part in parts {
            tail = b.len();
            let start = b.len();
            if prev < 254 {
                b.push(prev as u8);
            } else {
                b.push(0xFE);
                b.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            b.extend_from_slice(part);
            prev = b.len() - start;
        }
        b.push(0xFF);
        let total = b.len() as u32;
        b[..4].copy_from_slice(&total.to_le_bytes());
        b[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        b[8..10].copy_from_slice(&(parts.len() as u16).to_le_bytes());
        b
    }

    #[test]
    fn decodes_every_encoding() {
        let s300 = vec![b'q'; 300];
        let s20000 = vec![b'r'; 20000];
        let mut str14 = vec![0x40 | (300 >> 8) as u8, (300 & 0xff) as u8];
        str14.extend_from_slice(&s300);
        let mut str32 = vec![0x80];
        str32.extend_from_slice(&20000u32.to_be_bytes());
        str32.extend_from_slice(&s20000);
        let parts = vec![
            vec![0x03, b'a', b'b', b'c'],
            str14,
            str32, // next entry needs a 5-byte prevlen
            vec![0xC0, 0x00, 0x80],
            vec![0xD0, 0xff, 0xff, 0xff, 0x7f],
            {
                let mut v = vec![0xE0];
                v.extend_from_slice(&(-9000000000i64).to_le_bytes());
                v
            },
            vec![0xF0, 0x00, 0x00, 0x80],
            vec![0xFE, 0x80],
            vec![0xF1],
            vec![0xFD],
            vec![0x00],
        ];
        let zl = build(&parts);
        let got = decode(&zl).unwrap();
        assert_eq!(
            got,
            vec![
                Elem::Str(b"abc"),
                Elem::Str(&s300),
                Elem::Str(&s20000),
                Elem::Int(-32768),
                Elem::Int(i32::MAX as i64),
                Elem::Int(-9000000000),
                Elem::Int(-8388608),
                Elem::Int(-128),
                Elem::Int(0),
                Elem::Int(12),
                Elem::Str(b""),
            ]
        );
    }

    #[test]
    fn malformed() {
        let zl = build(&[vec![0x03, b'a', b'b', b'c']]);
        let mut bad = zl.clone();
        bad[10] = 9; // wrong prevlen
        assert!(decode(&bad).is_err());
        let mut bad = zl.clone();
        bad[11] = 0x3f; // string longer than the blob
        assert!(decode(&bad).is_err());
        let mut bad = zl;
        bad[8] = 5;
        assert!(decode(&bad).is_err());
        assert!(decode(&[0; 4]).is_err());
    }

    #[test]
    fn zipmap() {
        // zmlen 2, "a" -> "xy" (1 free byte), "bb" -> "" , end
        let zm = [2, 1, b'a', 2, 1, b'x', b'y', 0, 2, b'b', b'b', 0, 0, 0xFF];
        assert_eq!(
            decode_zipmap(&zm).unwrap(),
            vec![(&b"a"[..], &b"xy"[..]), (&b"bb"[..], &b""[..])]
        );
        assert!(decode_zipmap(&zm[..6]).is_err());
    }
}
