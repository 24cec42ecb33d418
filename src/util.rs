//! Small formatting and parsing helpers with Redis's exact semantics.

/// Parse a signed 64-bit integer the way Redis's string2ll does: no spaces,
/// no leading '+', no leading zeros (except "0"), no "-0".
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let v = parse_i64(s)?;
    (v >= 0).then_some(v as u64)
}

/// Parse a double like Redis's string2d/strtold: accepts inf/-inf, rejects NaN,
/// empty strings and surrounding spaces.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let st = std::str::from_utf8(s).ok()?;
    if st.is_empty() || st.starts_with(char::is_whitespace) || st.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = st.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => st.parse::<f64>().ok()?,
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Format a double as Redis 7.0 replies with it (`%.17g`, `inf`, `-inf`).
pub fn fmt_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    fmt_g(d, 17)
}

/// C's `%.{prec}g`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e_form = format!("{:.*e}", prec - 1, d);
    let (mant, exp) = e_form.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Format a double the way INCRBYFLOAT stores it: plain decimal notation,
/// shortest text that round-trips (Redis uses long double `%.17Lf` + trimming,
/// which prints the same for values a double can hold exactly enough).
pub fn fmt_human_double(d: f64) -> String {
    let s = format!("{}", d);
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Milliseconds since the Unix epoch.
/// The one monotonic clock: milliseconds since the process first read it,
/// starting at 1 (so 0 can mean "never"). ACK times, script start, lags.
pub fn mono_ms() -> u64 {
    static T0: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    T0.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A monotonic reading turned into Unix ms without a second clock read: the
/// offset between the two clocks is resynchronised by `resync_clock` (the
/// periodic job calls it), so wall-clock changes show up within a tick.
pub fn unix_ms_at(t: std::time::Instant) -> u64 {
    let (base, offset) = clock_base();
    let mono = t.saturating_duration_since(*base).as_micros() as i64;
    ((mono + offset.load(std::sync::atomic::Ordering::Relaxed)) / 1000) as u64
}

fn clock_base() -> &'static (std::time::Instant, std::sync::atomic::AtomicI64) {
    static BASE: std::sync::OnceLock<(std::time::Instant, std::sync::atomic::AtomicI64)> =
        std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let base = std::time::Instant::now();
        (base, std::sync::atomic::AtomicI64::new(now_us() as i64))
    })
}

pub fn resync_clock() {
    let (base, offset) = clock_base();
    // Offsets in microseconds so the derived milliseconds round like the wall clock's.
    let mono = base.elapsed().as_micros() as i64;
    offset.store(now_us() as i64 - mono, std::sync::atomic::Ordering::Relaxed);
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Case-insensitive ASCII comparison against a lowercase literal.
#[inline]
pub fn eq_ic(a: &[u8], lower: &str) -> bool {
    a.eq_ignore_ascii_case(lower.as_bytes())
}

/// 40 random hex characters (run ids, replication ids).
pub fn random_hex40() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_string2ll() {
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"012"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"0"), Some(0));
    }

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(fmt_double(1.1), "1.1000000000000001");
        assert_eq!(fmt_double(3.0), "3");
        assert_eq!(fmt_double(1e20), "1e+20");
        assert_eq!(fmt_double(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(fmt_double(f64::INFINITY), "inf");
        assert_eq!(fmt_double(-2.5), "-2.5");
        assert_eq!(fmt_double(123456.0), "123456");
    }

    #[test]
    fn derived_unix_clock_tracks_the_wall_clock() {
        resync_clock();
        let derived = unix_ms_at(std::time::Instant::now()) as i64;
        assert!((derived - now_ms() as i64).abs() < 50);
    }

    #[test]
    fn human_doubles() {
        assert_eq!(fmt_human_double(10.6), "10.6");
        assert_eq!(fmt_human_double(5000.0), "5000");
        assert_eq!(fmt_human_double(-0.0), "0");
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
    }
}
