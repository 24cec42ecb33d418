//! HyperLogLog in Redis 7.0's exact representation (`hyperloglog.c`).
//!
//! An HLL is a plain string: a 16-byte header (`HYLL`, encoding byte, three
//! unused bytes, the cached cardinality as 8 little-endian bytes whose top
//! bit marks it stale), then either 16384 packed 6-bit registers (dense,
//! 12304 bytes in all) or a run-length sparse form of ZERO / XZERO / VAL
//! opcodes. Every byte must be what Redis writes, so that GET of an HLL is
//! identical on both servers and either server reads the other's HLLs (RDB,
//! replication, DUMP). That is why the codec is hand-written here: the sparse
//! update splits and merges opcodes in Redis's order, and the estimator is
//! Ertl's improved estimator as Redis computes it, so PFCOUNT agrees.

pub const P: u32 = 14;
pub const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
pub const BITS: usize = 6;
pub const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const HDR: usize = 16;
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The HLL is corrupted (Redis: `-INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Redis's MurmurHash64A (little-endian reads), as `hyperloglog.c` uses it.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Register index and run length of the pattern `000..1` (hllPatLen).
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

/// A new, empty HLL: sparse, one XZERO covering every register, cache valid (0).
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR + 2];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    xzero_set(&mut v[HDR..], REGISTERS);
    v
}

/// Whether a string is an HLL as Redis checks it (isHLLObjectOrReply).
pub fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 1 << 7;
}

/// The cached cardinality, if valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    (s[15] & 0x80 == 0).then(|| u64::from_le_bytes(s[8..16].try_into().expect("8 bytes")))
}

pub fn set_cache(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

// ------------------------------------------------------------------ dense

pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

pub fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = v as u32;
    regs[byte] &= !((REGISTER_MAX as u32) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        let fb8 = 8 - fb;
        *b &= !((REGISTER_MAX as u32) >> fb8) as u8;
        *b |= (v >> fb8) as u8;
    }
}

fn dense_update(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

// ------------------------------------------------------------------ sparse opcodes

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
fn xzero_len(p: &[u8]) -> usize {
    (((p[0] & 0x3f) as usize) << 8 | p[1] as usize) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
fn val_op(v: u8, len: usize) -> u8 {
    ((v - 1) << 2) | (len as u8 - 1) | 0x80
}
fn zero_op(len: usize) -> u8 {
    len as u8 - 1
}
fn xzero_set(p: &mut [u8], len: usize) {
    let l = len - 1;
    p[0] = (l >> 8) as u8 | 0x40;
    p[1] = (l & 0xff) as u8;
}

/// Walk sparse opcodes: `f(kind, value, runlen)` with kind 0 = zero run, 1 = value run.
fn walk_sparse(
    ops: &[u8],
    mut f: impl FnMut(u8, usize) -> Result<(), Corrupt>,
) -> Result<(), Corrupt> {
    let mut p = 0;
    while p < ops.len() {
        let b = ops[p];
        if is_zero(b) {
            f(0, zero_len(b))?;
            p += 1;
        } else if is_xzero(b) {
            if p + 1 >= ops.len() {
                return Err(Corrupt);
            }
            f(0, xzero_len(&ops[p..]))?;
            p += 2;
        } else {
            f(val_value(b), val_len(b))?;
            p += 1;
        }
    }
    Ok(())
}

/// Convert to dense in place (hllSparseToDense); a dense HLL is left alone.
pub fn to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = DENSE;
    let mut idx = 0usize;
    let regs = &mut dense[HDR..];
    walk_sparse(&s[HDR..], |v, len| {
        if v != 0 {
            if idx + len > REGISTERS {
                return Err(Corrupt);
            }
            for k in idx..idx + len {
                dense_set(regs, k, v);
            }
        }
        idx += len;
        Ok(())
    })?;
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// Set register `index` to `count` if greater (hllSparseSet). Returns
/// whether a register changed; promotes to dense when needed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: the opcode covering `index`.
    let end = s.len();
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let b = s[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_xzero(b) {
            if p + 1 >= end {
                return Err(Corrupt);
            }
            span = xzero_len(&s[p..]);
            oplen = 2;
        } else {
            span = val_len(b);
            oplen = 1;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = s[p];
    let (zero, xzero) = (is_zero(b), is_xzero(b));
    let runlen = if zero {
        zero_len(b)
    } else if xzero {
        xzero_len(&s[p..])
    } else {
        val_len(b)
    };
    let mut updated_in_place = false;
    if !zero && !xzero {
        if val_value(b) >= count {
            return Ok(false);
        }
        if runlen == 1 {
            s[p] = val_op(count, 1);
            updated_in_place = true;
        }
    }
    if zero && runlen == 1 {
        s[p] = val_op(count, 1);
        updated_in_place = true;
    }
    if !updated_in_place {
        // Step 2: replace the opcode by up to three.
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        let zero_run = |seq: &mut Vec<u8>, len: usize| {
            if len > ZERO_MAX_LEN {
                let mut two = [0u8; 2];
                xzero_set(&mut two, len);
                seq.extend_from_slice(&two);
            } else {
                seq.push(zero_op(len));
            }
        };
        if zero || xzero {
            if index != first {
                zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                zero_run(&mut seq, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
        let oldlen = if xzero { 2 } else { 1 };
        if seq.len() > oldlen && s.len() + seq.len() - oldlen > max_bytes {
            return promote(s, index, count);
        }
        s.splice(p..p + oldlen, seq);
    }
    // Step 4: merge adjacent equal VAL opcodes, scanning up to 5 from prev.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && !is_zero(s[p + 1]) && !is_xzero(s[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(s[p + 1]);
                if len <= VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, len);
                    s.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(s)?;
    dense_update(&mut s[HDR..], index, count);
    Ok(true)
}

/// PFADD of one element (hllAdd): whether a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(s, index, count, max_bytes)
}

/// Raise register `index` to `count` in either encoding.
pub fn set_register(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    match s[4] {
        DENSE => Ok(dense_update(&mut s[HDR..], index, count)),
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

/// Max-merge an HLL's registers into `max` (hllMerge).
pub fn merge_into(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        let regs = &s[HDR..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    walk_sparse(&s[HDR..], |v, len| {
        if i + len > REGISTERS {
            return Err(Corrupt);
        }
        if v != 0 {
            for m in &mut max[i..i + len] {
                if v > *m {
                    *m = v;
                }
            }
        }
        i += len;
        Ok(())
    })?;
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram (hllCount, Ertl's estimator).
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality of a stored HLL.
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    if s[4] == DENSE {
        let regs = &s[HDR..];
        for i in 0..REGISTERS {
            histo[dense_get(regs, i) as usize] += 1;
        }
    } else {
        let mut idx = 0usize;
        walk_sparse(&s[HDR..], |v, len| {
            histo[v as usize] += len as u32;
            idx += len;
            Ok(())
        })?;
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&histo))
}

/// The cardinality of raw registers (one byte each: a PFCOUNT union).
pub fn count_raw(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        histo[r as usize] += 1;
    }
    estimate(&histo)
}

/// PFDEBUG DECODE's text of a sparse HLL.
pub fn decode_sparse(s: &[u8]) -> String {
    let mut out = Vec::new();
    let ops = &s[HDR..];
    let mut p = 0;
    while p < ops.len() {
        let b = ops[p];
        if is_zero(b) {
            out.push(format!("z:{}", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            if p + 1 >= ops.len() {
                break;
            }
            out.push(format!("Z:{}", xzero_len(&ops[p..])));
            p += 2;
        } else {
            out.push(format!("v:{},{}", val_value(b), val_len(b)));
            p += 1;
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_and_run_match_redis() {
        // PFADD k <e>; PFDEBUG DECODE k on redis-server 7.0 gave
        // "Z:9216 v:1,1 Z:7167", "Z:12711 v:2,1 Z:3672", "Z:9467 v:2,1 Z:6916".
        assert_eq!(pat_len(b"hello"), (9216, 1));
        assert_eq!(pat_len(b"a"), (12711, 2));
        assert_eq!(pat_len(b"redis"), (9467, 2));
        let mut s = new_sparse();
        add(&mut s, b"hello", 3000).unwrap();
        assert_eq!(decode_sparse(&s), "Z:9216 v:1,1 Z:7167");
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sp = new_sparse();
        let mut de = new_sparse();
        to_dense(&mut de).unwrap();
        for i in 0..3000u32 {
            let e = i.to_string();
            add(&mut sp, e.as_bytes(), usize::MAX).unwrap();
            add(&mut de, e.as_bytes(), usize::MAX).unwrap();
        }
        assert_eq!(sp[4], SPARSE);
        assert_eq!(count(&sp).unwrap(), count(&de).unwrap());
        let mut conv = sp.clone();
        to_dense(&mut conv).unwrap();
        assert_eq!(conv[HDR..], de[HDR..]);
        let c = count(&sp).unwrap() as f64;
        assert!((c - 3000.0).abs() < 3000.0 * 0.05, "estimate {c}");
    }

    #[test]
    fn promotion_at_the_limit() {
        let mut s = new_sparse();
        let mut i = 0u32;
        while s[4] == SPARSE {
            add(&mut s, &i.to_le_bytes(), 3000).unwrap();
            assert!(s[4] != SPARSE || s.len() <= 3000);
            i += 1;
        }
        assert_eq!(s.len(), DENSE_SIZE);
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut s = new_sparse();
        s.truncate(HDR + 1);
        s[HDR] = 0x00; // ZERO of 1: does not cover all registers
        assert_eq!(count(&s), Err(Corrupt));
        let mut m = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut m, &s), Err(Corrupt));
    }

    #[test]
    fn empty_counts_zero() {
        assert_eq!(count(&new_sparse()).unwrap(), 0);
    }
}
