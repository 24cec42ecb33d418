//! Entry points shared by the libFuzzer targets in `fuzz/` and the corpus
//! replay test (`tests/fuzz_corpus.rs`), so CI replays the committed corpus
//! through exactly the code the fuzzer exercised. Each function takes
//! arbitrary bytes and panics only when an invariant of the code under test
//! is broken (that panic is the finding).

use crate::resp::parse::{parse_request, Limits};
use crate::resp::reply::parse_reply;
use bytes::BytesMut;

/// Request parser: the whole input at once, then the same input fed in
/// small pieces (as a socket delivers it); both must yield the same
/// requests and the same error. The first byte picks the limits.
pub fn request_parser(data: &[u8]) {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        // A small cap now and then reaches the "invalid bulk length" path.
        max_bulk_len: if sel & 1 == 0 { 512 * 1024 * 1024 } else { 64 },
        authenticated: sel & 2 == 0,
    };
    let whole = run_requests(data, &limits, data.len().max(1));
    let step = 1 + (sel >> 2) as usize % 7;
    let pieces = run_requests(data, &limits, step);
    assert_eq!(whole, pieces, "fed whole vs in {step}-byte pieces");
}

type ParseLog = (Vec<Vec<bytes::Bytes>>, Option<String>);

fn run_requests(data: &[u8], limits: &Limits, step: usize) -> ParseLog {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in data.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match parse_request(&mut buf, limits) {
                Ok(Some(req)) => {
                    assert!(buf.len() < before, "a request consumed nothing");
                    out.push(req);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "need-more consumed bytes");
                    break;
                }
                Err(e) => return (out, Some(e.0)),
            }
        }
    }
    (out, None)
}

/// Reply decoders: the link reader (`resp::reply`) fed whole and in pieces,
/// and the scripting reader (`scripting::reply`) on the same bytes.
pub fn reply_decoder(data: &[u8]) {
    let whole = run_replies(data, data.len().max(1));
    let pieces = run_replies(data, 3);
    assert_eq!(whole, pieces, "fed whole vs in 3-byte pieces");

    let mut rest = data;
    while let Some((_, used)) = crate::scripting::reply::parse(rest) {
        assert!(used > 0 && used <= rest.len(), "bad length {used}");
        rest = &rest[used..];
    }
}

fn run_replies(data: &[u8], step: usize) -> String {
    let mut buf = BytesMut::new();
    let mut out = String::new();
    for chunk in data.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match parse_reply(&mut buf) {
                Ok(Some(f)) => {
                    assert!(buf.len() < before, "a reply consumed nothing");
                    out.push_str(&format!("{f:?}\n"));
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "need-more consumed bytes");
                    break;
                }
                Err(e) => {
                    out.push_str(&e.0);
                    return out;
                }
            }
        }
    }
    out
}

/// RDB loader: any bytes load or fail with an error; never a panic, and
/// (checked by libFuzzer's -malloc_limit_mb / -timeout) never a huge
/// allocation or a hang.
pub fn rdb_loader(data: &[u8]) {
    let opts = crate::persist::rdb::LoadOpts {
        databases: 16,
        now_ms: 1_700_000_000_000,
        drop_expired: true,
        limits: crate::store::EncodingLimits::default(),
        key_load_delay_us: 0,
    };
    // Without a valid header nearly every input would stop at byte 0: the
    // fuzzer starts from the corpus, which has real headers.
    let _ = crate::persist::rdb::load(data, &opts);
}

/// Config loader: TOML text to Config; bad input is an error, not a panic.
/// A config that loads must also answer `get` for every parameter.
pub fn config_loader(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = crate::config::Config::from_toml_str(text) {
        for p in crate::config::PARAMS.iter() {
            assert!(cfg.get(p.name).is_some(), "no value for {}", p.name);
        }
    }
}
