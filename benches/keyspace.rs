//! Keyspace micro-benchmarks: `Db` inserts, lookups and a full SCAN over 100k keys.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rsredis::store::{Db, Value};

const N: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..N).map(|i| format!("key:{i}").into_bytes()).collect()
}

fn filled(keys: &[Vec<u8>]) -> Db {
    let mut db = Db::new();
    for (i, k) in keys.iter().enumerate() {
        db.set(k, Value::str(format!("val:{i}").as_bytes()), false);
    }
    db
}

fn bench_db(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("db");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("set_100k_new_keys", |b| {
        b.iter_batched(
            Db::new,
            |mut db| {
                for k in &keys {
                    db.set(k, Value::str(b"value"), false);
                }
                db
            },
            BatchSize::LargeInput,
        )
    });

    let mut db = filled(&keys);
    g.bench_function("overwrite_100k", |b| {
        b.iter(|| {
            for k in &keys {
                db.set(k, Value::str(b"other"), false);
            }
        })
    });

    g.bench_function("get_100k_hits", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for k in &keys {
                if let Some(Value::Str(s)) = db.get(k) {
                    n += s.as_bytes().len();
                }
            }
            black_box(n)
        })
    });

    let misses: Vec<Vec<u8>> = (0..N).map(|i| format!("nokey:{i}").into_bytes()).collect();
    g.bench_function("get_100k_misses", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for k in &misses {
                n += db.get(k).is_some() as usize;
            }
            black_box(n)
        })
    });

    g.bench_function("scan_100k_count_100", |b| {
        b.iter(|| {
            let mut cursor = 0;
            let mut seen = 0usize;
            loop {
                cursor = db.scan(cursor, 100, |e| {
                    seen += e.key.as_bytes().len();
                });
                if cursor == 0 {
                    break;
                }
            }
            black_box(seen)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_db);
criterion_main!(benches);
