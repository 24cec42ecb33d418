//! Just enough x87 80-bit `long double` to reproduce INCRBYFLOAT exactly.
//!
//! Redis parses both operands with `strtold`, adds them in extended
//! precision (64-bit mantissa) and stores `%.17Lf` with trailing zeros
//! removed, so `SET f 1000000` + `INCRBYFLOAT f 0.1` gives
//! `1000000.10000000000002274` and `0.1 + 0.2` gives `0.3`. An f64
//! implementation would disagree with both; this module reproduces them with
//! correctly rounded (round-half-even) parsing, addition and printing.

/// Smallest exponent: denormals go down to 2^-16445.
const EMIN: i64 = -16445;
/// Largest exponent of a 64-bit mantissa below 2^16384.
const EMAX: i64 = 16384 - 64;
/// strtold input buffer size in Redis (MAX_LONG_DOUBLE_CHARS).
const MAX_CHARS: usize = 5 * 1024;

/// A finite or infinite extended-precision value: `m * 2^e` (m normalised
/// with its top bit set, except for denormals at EMIN and zero).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ld {
    neg: bool,
    inf: bool,
    m: u64,
    e: i64,
}

impl Ld {
    pub const ZERO: Ld = Ld {
        neg: false,
        inf: false,
        m: 0,
        e: 0,
    };

    const fn infinity(neg: bool) -> Ld {
        Ld {
            neg,
            inf: true,
            m: 0,
            e: 0,
        }
    }

    /// Sum, or None when it is NaN or infinite.
    pub fn add(self, o: Ld) -> Option<Ld> {
        if self.inf || o.inf {
            return None;
        }
        if self.m == 0 {
            return Some(if o.m == 0 { Ld::ZERO } else { o });
        }
        if o.m == 0 {
            return Some(self);
        }
        let (big, small) = if self.e >= o.e { (self, o) } else { (o, self) };
        let d = (big.e - small.e) as u64;
        let b = (big.m as u128) << 62;
        let full = (small.m as u128) << 62;
        let (s, sticky) = if d >= 127 {
            (0u128, true)
        } else {
            let s = full >> d;
            (s, (s << d) != full)
        };
        let base = big.e - 62;
        let r = if big.neg == small.neg {
            round(big.neg, (b + s) | sticky as u128, base, false)
        } else {
            let s = s | sticky as u128;
            if s > b {
                round(small.neg, s - b, base, false)
            } else if s == b {
                Ld::ZERO
            } else {
                round(big.neg, b - s, base, false)
            }
        };
        (!r.inf).then_some(r)
    }

    /// `%.17Lf` with trailing zeros (and a bare '.') removed, "-0" as "0".
    pub fn to_human_string(self) -> String {
        debug_assert!(!self.inf);
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        if self.e >= 0 {
            let mut n = Big::from_u128(self.m as u128);
            n.shl(self.e as u64);
            out.push_str(&n.to_decimal());
        } else {
            const P17: u128 = 100_000_000_000_000_000;
            let p = self.m as u128 * P17;
            let sh = (-self.e) as u32;
            let q = if sh >= 128 {
                0
            } else {
                let q = p >> sh;
                let rem = p - (q << sh);
                let half = 1u128 << (sh - 1);
                if rem > half || (rem == half && q & 1 == 1) {
                    q + 1
                } else {
                    q
                }
            };
            let (int, frac) = (q / P17, q % P17);
            out.push_str(&int.to_string());
            let f = format!("{:017}", frac);
            let f = f.trim_end_matches('0');
            if !f.is_empty() {
                out.push('.');
                out.push_str(f);
            }
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// Round `n * 2^k` (plus a sticky remainder below it) to a 64-bit mantissa.
fn round(neg: bool, n: u128, k: i64, sticky: bool) -> Ld {
    if n == 0 {
        return Ld { neg, ..Ld::ZERO };
    }
    let len = 128 - n.leading_zeros() as i64;
    let e = (k + len - 64).max(EMIN);
    let shift = e - k;
    let (mut m, mut e) = if shift <= 0 {
        ((n << (-shift) as u32) as u64, e)
    } else {
        let (q, round_bit, rest) = if shift > 128 {
            (0u128, false, true)
        } else if shift == 128 {
            (0u128, n >> 127 == 1, n << 1 != 0)
        } else {
            let sh = shift as u32;
            let q = n >> sh;
            let low = n - (q << sh);
            let half = 1u128 << (sh - 1);
            (q, low & half != 0, low & (half - 1) != 0)
        };
        let mut q = q as u64;
        let carry = round_bit && (rest || sticky || q & 1 == 1);
        let mut e = e;
        if carry {
            let (v, over) = q.overflowing_add(1);
            q = v;
            if over {
                q = 1 << 63;
                e += 1;
            }
        }
        (q, e)
    };
    if m == 0 {
        return Ld { neg, ..Ld::ZERO };
    }
    // A denormal that rounded up into the normal range keeps its exponent:
    // its mantissa simply has its top bit set now.
    if e > EMAX {
        return Ld::infinity(neg);
    }
    if m >> 63 == 0 && e > EMIN {
        let z = (m.leading_zeros() as i64).min(e - EMIN);
        m <<= z;
        e -= z;
    }
    Ld {
        neg,
        inf: false,
        m,
        e,
    }
}

/// `strtold` as Redis's string2ld uses it: the whole input must be one
/// number (no spaces), NaN and out-of-range values (overflow, or underflow
/// to zero) are rejected, "inf"/"infinity" are accepted.
pub fn parse(s: &[u8]) -> Option<Ld> {
    if s.is_empty() || s.len() >= MAX_CHARS {
        return None;
    }
    let (neg, rest) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Ld::infinity(neg));
    }
    let v = if lower.len() > 2 && lower.starts_with(b"0x") {
        parse_hex(neg, &lower[2..])?
    } else {
        parse_dec(neg, &lower)?
    };
    if v.inf {
        return None; // overflow (ERANGE with HUGE_VAL)
    }
    Some(v)
}

/// Split "digits[.digits]" + optional exponent marker; returns (mantissa
/// digits, count of fraction digits, exponent text).
fn split_number(s: &[u8], is_digit: fn(u8) -> bool, exp: u8) -> Option<(Vec<u8>, i64, &[u8])> {
    let mut i = 0;
    let mut digits = Vec::new();
    let mut frac = 0i64;
    let mut any = false;
    while i < s.len() && is_digit(s[i]) {
        digits.push(s[i]);
        any = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && is_digit(s[i]) {
            digits.push(s[i]);
            frac += 1;
            any = true;
            i += 1;
        }
    }
    if !any {
        return None;
    }
    let exp_text: &[u8] = if i < s.len() {
        if s[i] != exp || i + 1 == s.len() {
            return None;
        }
        &s[i + 1..]
    } else {
        b""
    };
    Some((digits, frac, exp_text))
}

/// A possibly signed decimal exponent, saturated far beyond any useful range.
fn parse_exp(t: &[u8]) -> Option<i64> {
    if t.is_empty() {
        return Some(0);
    }
    let (neg, d) = match t[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        v = (v * 10 + (c - b'0') as i64).min(1 << 40);
    }
    Some(if neg { -v } else { v })
}

fn parse_dec(neg: bool, s: &[u8]) -> Option<Ld> {
    let (digits, frac, exp) = split_number(s, |c| c.is_ascii_digit(), b'e')?;
    let e10 = parse_exp(exp)? - frac;
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        return Some(Ld { neg, ..Ld::ZERO });
    };
    let digits = &digits[first..];
    let nd = digits.len() as i64;
    // value is in [10^(e10+nd-1), 10^(e10+nd))
    if e10 + nd - 1 > 4933 {
        return Some(Ld::infinity(neg));
    }
    if e10 + nd < -4952 {
        return None; // underflows to zero: ERANGE
    }
    let mut d = Big::zero();
    for chunk in digits.chunks(9) {
        let mut v = 0u32;
        for &c in chunk {
            v = v * 10 + (c - b'0') as u32;
        }
        d.mul_small(10u32.pow(chunk.len() as u32));
        d.add_small(v);
    }
    let r = if e10 >= 0 {
        d.mul_pow10(e10 as u64);
        let (top, k, sticky) = d.top128();
        round(neg, top, k, sticky)
    } else {
        let mut b = Big::from_u128(1);
        b.mul_pow10((-e10) as u64);
        let s = b.bits() as i64 + 72 - d.bits() as i64;
        let mut sticky = false;
        if s >= 0 {
            d.shl(s as u64);
        } else {
            sticky = d.shr_sticky((-s) as u64);
        }
        let (q, rem_nonzero) = d.div_small_quotient(&b, 76);
        round(neg, q, -s, sticky || rem_nonzero)
    };
    if r.m == 0 && !r.inf {
        return None; // nonzero input rounded to zero
    }
    Some(r)
}

fn parse_hex(neg: bool, s: &[u8]) -> Option<Ld> {
    let (digits, frac, exp) = split_number(s, |c| c.is_ascii_hexdigit(), b'p')?;
    let e2 = parse_exp(exp)?.saturating_sub(4 * frac);
    let mut d = Big::zero();
    for &c in &digits {
        d.mul_small(16);
        d.add_small((c as char).to_digit(16).expect("hex digit"));
    }
    if d.is_zero() {
        return Some(Ld { neg, ..Ld::ZERO });
    }
    let (top, k, sticky) = d.top128();
    let k = k.saturating_add(e2);
    if k > EMAX + 64 {
        return Some(Ld::infinity(neg));
    }
    let r = round(neg, top, k, sticky);
    if r.m == 0 && !r.inf {
        return None;
    }
    Some(r)
}

/// Minimal unsigned big integer (little-endian 32-bit limbs).
#[derive(Debug, Clone)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u128(v: u128) -> Big {
        let mut b = Big((0..4).map(|i| (v >> (32 * i)) as u32).collect());
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros() as u64),
        }
    }

    fn bit(&self, i: u64) -> bool {
        let l = (i / 32) as usize;
        l < self.0.len() && (self.0[l] >> (i % 32)) & 1 == 1
    }

    fn mul_small(&mut self, k: u32) {
        let mut carry = 0u64;
        for x in &mut self.0 {
            let v = *x as u64 * k as u64 + carry;
            *x = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, k: u32) {
        let mut carry = k as u64;
        for x in &mut self.0 {
            if carry == 0 {
                return;
            }
            let v = *x as u64 + carry;
            *x = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u64) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        if k > 0 {
            self.mul_small(10u32.pow(k as u32));
        }
    }

    fn shl(&mut self, n: u64) {
        if self.is_zero() {
            return;
        }
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        if bits > 0 {
            let mut carry = 0u32;
            for x in &mut self.0 {
                let v = (*x << bits) | carry;
                carry = *x >> (32 - bits);
                *x = v;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
    }

    /// Shift right, returning whether any 1 bit was shifted out.
    fn shr_sticky(&mut self, n: u64) -> bool {
        let sticky = (0..n.min(self.bits())).any(|i| self.bit(i));
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        if limbs >= self.0.len() {
            self.0.clear();
            return sticky;
        }
        self.0.drain(0..limbs);
        if bits > 0 {
            for i in 0..self.0.len() {
                let hi = self.0.get(i + 1).copied().unwrap_or(0);
                self.0[i] = (self.0[i] >> bits) | (hi << (32 - bits));
            }
        }
        self.trim();
        sticky
    }

    /// The top (up to) 128 bits as `top * 2^k`, and whether lower bits were lost.
    fn top128(&self) -> (u128, i64, bool) {
        let n = self.bits();
        if n <= 128 {
            let mut v = 0u128;
            for (i, &x) in self.0.iter().enumerate() {
                v |= (x as u128) << (32 * i);
            }
            return (v, 0, false);
        }
        let k = n - 128;
        let mut c = self.clone();
        let sticky = c.shr_sticky(k);
        let (v, _, _) = c.top128();
        (v, k as i64, sticky)
    }

    fn cmp_shifted(&self, b: &Big) -> std::cmp::Ordering {
        if self.0.len() != b.0.len() {
            return self.0.len().cmp(&b.0.len());
        }
        for i in (0..self.0.len()).rev() {
            if self.0[i] != b.0[i] {
                return self.0[i].cmp(&b.0[i]);
            }
        }
        std::cmp::Ordering::Equal
    }

    fn sub_assign(&mut self, b: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - b.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            if v < 0 {
                self.0[i] = (v + (1 << 32)) as u32;
                borrow = 1;
            } else {
                self.0[i] = v as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    /// Quotient of self / d when it has at most `max_bits` bits; consumes
    /// self into the remainder. Returns (quotient, remainder != 0).
    fn div_small_quotient(&mut self, d: &Big, max_bits: u32) -> (u128, bool) {
        let mut q = 0u128;
        for i in (0..max_bits).rev() {
            let mut t = d.clone();
            t.shl(i as u64);
            if self.cmp_shifted(&t) != std::cmp::Ordering::Less {
                self.sub_assign(&t);
                q |= 1u128 << i;
            }
        }
        (q, !self.is_zero())
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.0.clone();
        let mut parts = Vec::new();
        while !n.is_empty() {
            let mut rem = 0u64;
            for x in n.iter_mut().rev() {
                let v = (rem << 32) | *x as u64;
                *x = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while n.last() == Some(&0) {
                n.pop();
            }
            parts.push(rem as u32);
        }
        let mut s = parts.last().expect("nonzero").to_string();
        for p in parts.iter().rev().skip(1) {
            s.push_str(&format!("{:09}", p));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> Option<String> {
        let x = parse(a.as_bytes())?;
        let y = parse(b.as_bytes())?;
        x.add(y).map(|v| v.to_human_string())
    }

    fn show(a: &str) -> String {
        parse(a.as_bytes()).unwrap().to_human_string()
    }

    #[test]
    fn matches_redis_7_outputs() {
        // Values observed on a real redis-server 7.0 (x86-64).
        assert_eq!(incr("1000000", "0.1").unwrap(), "1000000.10000000000002274");
        assert_eq!(incr("0.1", "0.2").unwrap(), "0.3");
        assert_eq!(incr("1", "1.5").unwrap(), "2.5");
        assert_eq!(incr("10.5", "0.1").unwrap(), "10.6");
        assert_eq!(incr("0", "0x10").unwrap(), "16");
        assert_eq!(incr("0", "-1.5e-20").unwrap(), "0");
        assert_eq!(incr("0", "3.0e2").unwrap(), "300");
        assert!(incr("0", "1e300").unwrap().starts_with(
            "10000000000000000000089973240795591938705239442732907479382600823212656465961809"
        ));
        assert_eq!(incr("5", "-5").unwrap(), "0");
        assert_eq!(incr("-3", "1").unwrap(), "-2");
    }

    #[test]
    fn parse_rules() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", ".", "0x", "1e5000", "1e-5000", "--1",
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        for good in [
            "1",
            "+1",
            "-1",
            ".5",
            "5.",
            "1E3",
            "0x1p3",
            "inf",
            "-Infinity",
            "1e4000",
            "1e-4940",
        ] {
            assert!(parse(good.as_bytes()).is_some(), "{good:?}");
        }
        assert!(incr("inf", "1").is_none());
        assert!(incr("1e4932", "1e4932").is_none());
        assert_eq!(show("0.1"), "0.1");
        assert_eq!(show("123"), "123");
        assert_eq!(show("-0"), "0");
        assert_eq!(show("1.25"), "1.25");
        assert_eq!(show("0x.8"), "0.5");
    }
}
