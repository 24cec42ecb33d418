//! RESP codec micro-benchmarks: the request parser on a pipelined batch and
//! on inline commands, and the reply encoder on bulk replies.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsredis::resp::{parse_request, Limits, Out, Proto};

fn set_pipeline(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("key:{:012}", i);
        let val = "x".repeat(3);
        v.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n{}\r\n",
                key.len(),
                key,
                val.len(),
                val
            )
            .as_bytes(),
        );
    }
    v
}

fn parse_all(input: &[u8], limits: &Limits) -> usize {
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while let Some(req) = parse_request(&mut buf, limits).expect("valid input") {
        n += req.len();
        black_box(&req);
    }
    n
}

fn bench_parse(c: &mut Criterion) {
    let limits = Limits::default();
    let pipeline = set_pipeline(16);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(16));
    g.bench_function("multibulk_set_pipeline_16", |b| {
        b.iter(|| parse_all(black_box(&pipeline), &limits))
    });

    let inline: Vec<u8> = (0..16)
        .flat_map(|i| format!("SET key:{:012} \"a value\"\r\n", i).into_bytes())
        .collect();
    g.bench_function("inline_set_16", |b| {
        b.iter(|| parse_all(black_box(&inline), &limits))
    });

    let big = {
        let v = "v".repeat(64 * 1024);
        format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{}\r\n", v.len(), v).into_bytes()
    };
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("multibulk_set_64k_value", |b| {
        b.iter(|| parse_all(black_box(&big), &limits))
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let small = b"val:123456".to_vec();
    let large = vec![b'z'; 16 * 1024];
    let mut out = Out::new(Proto::Resp2);
    g.throughput(Throughput::Elements(1));
    g.bench_function("bulk_10b", |b| {
        b.iter(|| {
            out.buf.clear();
            out.bulk(black_box(&small));
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("bulk_16k", |b| {
        b.iter(|| {
            out.buf.clear();
            out.bulk(black_box(&large));
            black_box(out.len())
        })
    });
    let mut out3 = Out::new(Proto::Resp3);
    g.throughput(Throughput::Elements(100));
    g.bench_function("array_100_bulks_resp3_null_tail", |b| {
        b.iter(|| {
            out3.buf.clear();
            out3.array(101);
            for _ in 0..100 {
                out3.bulk(black_box(&small));
            }
            out3.null();
            black_box(out3.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
