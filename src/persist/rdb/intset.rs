//! Redis intsets (type 11): `u32 LE encoding` (2, 4 or 8), `u32 LE count`,
//! then sorted little-endian integers of that width.

/// Decode an intset blob; Err(reason) when it is malformed.
pub fn decode(b: &[u8]) -> Result<Vec<i64>, String> {
    if b.len() < 8 {
        return Err(format!("intset too short ({} bytes)", b.len()));
    }
    let enc = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(enc, 2 | 4 | 8) {
        return Err(format!("intset has an invalid encoding {enc}"));
    }
    if count.checked_mul(enc).and_then(|n| n.checked_add(8)) != Some(b.len()) {
        return Err(format!(
            "intset of {count} x {enc}-byte integers cannot be {} bytes",
            b.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    for c in b[8..].chunks_exact(enc) {
        let v = match enc {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&l| l >= v) {
            return Err("intset is not sorted or has duplicates".into());
        }
        out.push(v);
    }
    Ok(out)
}

/// Encode sorted, distinct integers with the narrowest width, as Redis does.
pub fn encode(sorted: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| sorted.iter().all(|v| (lo..=hi).contains(v));
    let enc = if fits(i16::MIN as i64, i16::MAX as i64) {
        2
    } else if fits(i32::MIN as i64, i32::MAX as i64) {
        4
    } else {
        8
    };
    let mut b = Vec::with_capacity(8 + enc * sorted.len());
    b.extend_from_slice(&(enc as u32).to_le_bytes());
    b.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for &v in sorted {
        b.extend_from_slice(&v.to_le_bytes()[..enc]);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_widths() {
        for v in [
            vec![1i64, 2, 3],
            vec![-40000, 5, 70000],
            vec![-9000000000, 0, 9000000000],
            vec![],
        ] {
            assert_eq!(decode(&encode(&v)).unwrap(), v);
        }
        assert_eq!(encode(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(encode(&[70000])[0], 4);
        assert_eq!(encode(&[1 << 40])[0], 8);
    }

    #[test]
    fn malformed() {
        assert!(decode(&[2, 0, 0, 0]).is_err());
        assert!(decode(&[3, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
