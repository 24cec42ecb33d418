//! Replays every committed fuzz corpus file (fuzz/corpus/<target>/*)
//! through the same entry points the libFuzzer targets call, so CI checks
//! them without libFuzzer or nightly. Regression inputs for bugs the
//! fuzzer found live in the corpus too.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for p in files {
        let data = std::fs::read(&p).unwrap();
        // A panic names the file, so it can be fed to the fuzz target again.
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} fails", p.display());
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus");
    eprintln!("{target}: {n} inputs replayed");
}

#[test]
fn request_parser_corpus() {
    replay("request_parser", rsredis::fuzzing::request_parser);
}

#[test]
fn reply_decoder_corpus() {
    replay("reply_decoder", rsredis::fuzzing::reply_decoder);
}

#[test]
fn rdb_loader_corpus() {
    replay("rdb_loader", rsredis::fuzzing::rdb_loader);
}

#[test]
fn config_loader_corpus() {
    replay("config_loader", rsredis::fuzzing::config_loader);
}
