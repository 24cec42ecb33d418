//! Redis glob-style matching, with Redis 7.0's exact behaviour (util.c
//! `stringmatchlen`): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
//!
//! Quirks kept on purpose, because clients see them:
//! - the empty subject matches only the empty pattern: `*` does not match
//!   `""` (KEYS and SCAN special-case the lone `*` before calling us, so
//!   `KEYS *` lists the empty key while `PSUBSCRIBE *` misses `PUBLISH ""`);
//! - a `*` is never tried against an empty remainder (`a*` still matches
//!   `a`, because trailing `*`s are skipped once the subject is used up);
//! - in a class, `\` escapes the next byte when there is one (so `[a\]`
//!   is an unterminated class matching `a` or `]`), an unterminated class
//!   ends with the pattern, `x-y` is a range even when `y` is the `]`, a
//!   reversed range is swapped, and range bounds compare as C's signed char;
//! - `nocase` folds ASCII letters only, and not for an escaped class byte.
//!
//! Cost bound (CVE-2022-36021): when the rest of the pattern after a `*`
//! fails at every position of the subject, no earlier `*` can do better by
//! eating more, so the whole match fails at once. This keeps the work
//! polynomial (about pattern length x subject length per star level) where
//! plain backtracking is exponential in the number of stars. Nesting deeper
//! than 1000 stars is refused (no match), as Redis does.

/// Does `s` match the glob `pattern`? `nocase` folds ASCII case.
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer, 0)
}

const MAX_NESTING: u32 = 1000;

/// C's `tolower` in the C locale on a (signed) char value.
fn lower(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// A byte as C's signed `char` would promote to int (x86/ARM64 Linux builds
/// of Redis compare range bounds that way).
fn schar(b: u8) -> i32 {
    b as i8 as i32
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(p: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // Redis reads one byte past the pattern's length (its NUL terminator):
    // `at` gives 0 there.
    let at = |i: usize| p.get(i).copied().unwrap_or(0);
    let (mut pi, mut si) = (0usize, 0usize);
    while pi < p.len() && si < s.len() {
        match p[pi] {
            b'*' => {
                while pi + 1 < p.len() && p[pi + 1] == b'*' {
                    pi += 1;
                }
                if pi + 1 == p.len() {
                    return true;
                }
                for start in si..s.len() {
                    if match_impl(&p[pi + 1..], &s[start..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                // The rest failed from every position: an earlier `*` eating
                // more would only start it later, so give up everywhere.
                *skip_longer = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                pi += 1;
                let not = at(pi) == b'^';
                if not {
                    pi += 1;
                }
                let c = s[si];
                let mut matched = false;
                loop {
                    let left = p.len() - pi.min(p.len());
                    if at(pi) == b'\\' && left >= 2 {
                        pi += 1;
                        if p[pi] == c {
                            matched = true;
                        }
                    } else if at(pi) == b']' {
                        break;
                    } else if left == 0 {
                        // Unterminated class: the pattern's end closes it.
                        pi -= 1;
                        break;
                    } else if left >= 3 && p[pi + 1] == b'-' {
                        let (mut lo, mut hi) = (schar(p[pi]), schar(p[pi + 2]));
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let mut x = schar(c);
                        if nocase {
                            lo = lower(lo);
                            hi = lower(hi);
                            x = lower(x);
                        }
                        pi += 2;
                        if x >= lo && x <= hi {
                            matched = true;
                        }
                    } else if eq(p[pi], c, nocase) {
                        matched = true;
                    }
                    pi += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            b => {
                let b = if b == b'\\' && pi + 1 < p.len() {
                    pi += 1;
                    p[pi]
                } else {
                    b
                };
                if !eq(b, s[si], nocase) {
                    return false;
                }
                si += 1;
            }
        }
        pi += 1;
        if si == s.len() {
            while pi < p.len() && p[pi] == b'*' {
                pi += 1;
            }
            break;
        }
    }
    pi == p.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(!m("user:*:x", "user:1:y"));
        assert!(m("user:*:x", "user:1:x"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a*", "a"));
        assert!(!m("a*?", "a"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
    }

    #[test]
    fn star_does_not_match_the_empty_string() {
        // Redis: PSUBSCRIBE * does not receive PUBLISH "" (KEYS * is special-cased by the caller).
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("*?", ""));
        assert!(!m("[a]", ""));
    }

    #[test]
    fn classes() {
        // Reversed range is swapped.
        assert!(m("[z-a]", "q"));
        assert!(!m("[z-a]", "A"));
        // `x-]` is a range up to ']' (0x5d) and the class is then unterminated.
        for c in ["a", "]", "^", "_", "`"] {
            assert!(m("[a-]", c), "{c}");
        }
        assert!(!m("[a-]", "b"));
        assert!(!m("[a-]", "-"));
        // A backslash before the final ']' escapes it: unterminated class {a, ]}.
        assert!(m("[a\\]", "a"));
        assert!(m("[a\\]", "]"));
        assert!(!m("[a\\]", "\\"));
        // A lone backslash at the very end of a class is a literal.
        assert!(m("[\\", "\\"));
        assert!(!m("[\\", "["));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        // Unterminated classes end with the pattern.
        assert!(m("[ab", "b"));
        assert!(!m("[ab", "bx"));
        assert!(!m("[", "x"));
        assert!(m("[^", "x"));
        // `]` right after `[` closes an empty class (never matches), `[^]` always matches.
        assert!(!m("[]", "a"));
        assert!(m("[^]", "a"));
        // Literal dash not between two bytes.
        assert!(m("[-a]", "-"));
        assert!(!m("x[a-c-e]", "xd"));
        assert!(m("x[a-c-e]", "x-"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\", "\\"));
        assert!(m("a\\", "a\\"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "x"));
        assert!(m("\\[a]", "[a]"));
    }

    #[test]
    fn nocase() {
        let mi = |p: &str, s: &str| matches(p.as_bytes(), s.as_bytes(), true);
        assert!(mi("MAXMEMORY*", "maxmemory-policy"));
        assert!(mi("[A-C]x", "bX"));
        assert!(mi("[abc]", "B"));
        assert!(mi("\\A", "a"));
        // An escaped byte in a class is compared exactly.
        assert!(!mi("[\\A]", "a"));
        assert!(!m("[A-C]", "b"));
    }

    #[test]
    fn high_bytes_compare_as_signed_char() {
        // 0x80 is -128 as a C char: [\x80-a] spans -128..97, so 0x20 is inside, 0xff (-1) too.
        assert!(matches(b"[\x80-a]", b" ", false));
        assert!(matches(b"[\x80-a]", b"\xff", false));
        assert!(!matches(b"[\x80-a]", b"b", false));
        assert!(matches(b"[a-\x80]", b"\xff", false));
    }

    #[test]
    fn hopeless_patterns_give_up_fast() {
        let pat = format!("{}b", "a*".repeat(40));
        let s = "a".repeat(5000);
        let t = std::time::Instant::now();
        assert!(!m(&pat, &s));
        assert!(m(&pat, &format!("{s}b")));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn nesting_is_capped_like_redis() {
        let s = "a".repeat(1100);
        assert!(m(&"*a".repeat(999), &s));
        assert!(!m(&"*a".repeat(1001), &s));
    }
}
