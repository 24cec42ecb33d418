//! LZF (liblzf's format, as used for RDB strings): decompression and a
//! simple greedy compressor producing the same format.
//!
//! Format: a control byte `c`. `c < 32`: `c + 1` literal bytes follow.
//! Otherwise a back reference: `len = c >> 5` (7 means "add the next byte"),
//! offset = `((c & 0x1f) << 8) | next byte`, copy `len + 2` bytes starting
//! `offset + 1` bytes back (the copy may overlap its own output).

/// Decompress `input` into exactly `out_len` bytes; None when the data is
/// malformed or does not produce exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let c = input[i] as usize;
        i += 1;
        if c < 32 {
            let n = c + 1;
            if i + n > input.len() || out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(&input[i..i + n]);
            i += n;
        } else {
            let mut len = c >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let low = *input.get(i)? as usize;
            i += 1;
            let back = ((c & 0x1f) << 8) + low + 1;
            let len = len + 2;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

/// Largest hash table: 2^14 slots of u32.
const MAX_HLOG: u32 = 14;
const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3); // 264

#[inline]
fn hash3(b: &[u8], i: usize, hlog: u32) -> usize {
    let v = ((b[i] as u32) << 16) | ((b[i + 1] as u32) << 8) | b[i + 2] as u32;
    (v.wrapping_mul(2654435761) >> (32 - hlog)) as usize
}

#[inline]
fn table_hit(cand: usize) -> bool {
    cand != u32::MAX as usize
}

/// Compress `input`; None when the result would not be shorter than
/// `max_out` bytes (then the caller stores the string uncompressed).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || input.len() >= u32::MAX as usize {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(max_out.min(input.len()));
    // A table sized to the input: short strings (the common case) stay cheap.
    let hlog = (usize::BITS - input.len().leading_zeros()).clamp(8, MAX_HLOG);
    let mut table = vec![u32::MAX; 1 << hlog];
    let mut lit_start = 0; // first byte of the pending literal run
    let mut i = 0;
    let n = input.len();

    fn flush_literals(out: &mut Vec<u8>, lits: &[u8]) {
        for chunk in lits.chunks(MAX_LIT) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
    }

    while i + 2 < n {
        let h = hash3(input, i, hlog);
        let cand = table[h] as usize;
        table[h] = i as u32;
        if table_hit(cand) && i - cand <= MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
            let off = i - cand - 1;
            let maxlen = (n - i).min(MAX_REF);
            let mut len = 3;
            while len < maxlen && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush_literals(&mut out, &input[lit_start..i]);
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            // Index the positions inside the match (cheaply: a few of them).
            let end = i + len;
            let mut j = i + 1;
            while j < end && j + 2 < n {
                table[hash3(input, j, hlog)] = j as u32;
                j += 1;
            }
            i = end;
            lit_start = i;
            if out.len() >= max_out {
                return None;
            }
        } else {
            i += 1;
        }
    }
    flush_literals(&mut out, &input[lit_start..]);
    (out.len() < max_out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn round_trip() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut cases: Vec<Vec<u8>> = vec![
            b"a".to_vec(),
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            vec![b'x'; 10_000],
            b"hello hello hello hello hello world".repeat(50),
        ];
        for _ in 0..300 {
            let len = rng.gen_range(1..3000);
            let alphabet = rng.gen_range(1..=255u16);
            cases.push((0..len).map(|_| rng.gen_range(0..alphabet) as u8).collect());
        }
        for c in cases {
            if let Some(z) = compress(&c, c.len() + 64) {
                assert_eq!(decompress(&z, c.len()).as_deref(), Some(&c[..]));
            }
        }
        let big = vec![b'x'; 10_000];
        let z = compress(&big, big.len()).unwrap();
        assert!(z.len() < 200, "{}", z.len());
    }

    #[test]
    fn incompressible_gives_none() {
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
    }

    #[test]
    fn malformed_never_panics() {
        assert!(decompress(&[0x20, 0x00], 3).is_none()); // back ref before start
        assert!(decompress(&[0x05, b'a'], 6).is_none()); // truncated literal
        assert!(decompress(&[0x00, b'a'], 2).is_none()); // short output
        assert!(decompress(&[0x00, b'a', 0xe0], 10).is_none()); // truncated ref
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 4).unwrap(), b"aaaa");
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for _ in 0..2000 {
            let v: Vec<u8> = (0..rng.gen_range(0..40)).map(|_| rng.gen()).collect();
            let _ = decompress(&v, rng.gen_range(0..200));
        }
    }
}
