//! Criterion benchmarks of the request path's pieces:
//! - request parsing: Ember's parser (argument ranges into the read buffer)
//!   against the `redis-protocol` crate's RESP2 decoders, on a pipeline of
//!   16 SET and 16 GET requests;
//! - reply encoding (bulk strings, integers, arrays);
//! - keyspace get/set through a shard lock.
//!
//! `cargo bench --bench core`. Numbers are for comparison on one machine, not
//! pass/fail.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember::keyspace::{Keyspace, NO_EXPIRE};
use ember::protocol::{Limits, Parsed, Parser, Reply};
use ember::types::{Str, Value};

fn pipeline() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..16 {
        let k = format!("key:{i:08}");
        buf.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$16\r\nvalue-of-16bytes\r\n",
                k.len()
            )
            .as_bytes(),
        );
        buf.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
    }
    buf
}

fn parsing(c: &mut Criterion) {
    let buf = pipeline();
    let mut g = c.benchmark_group("parse_pipeline_32_requests");
    g.throughput(Throughput::Elements(32));
    g.bench_function("ember", |b| {
        let mut p = Parser::default();
        let limits = Limits::default();
        b.iter(|| {
            let mut pos = 0;
            let mut total = 0;
            while pos < buf.len() {
                match p.parse(&buf[pos..], &limits) {
                    Ok(Parsed::Multibulk { consumed }) => {
                        let args = p.args(&buf[pos..], &Parsed::Multibulk { consumed });
                        total += args.get(args.len() - 1).len();
                        pos += consumed;
                    }
                    _ => break,
                }
            }
            black_box(total)
        })
    });
    g.bench_function("redis_protocol_owned", |b| {
        b.iter(|| {
            let mut pos = 0;
            let mut n = 0;
            while let Ok(Some((frame, used))) = redis_protocol::resp2::decode::decode(&buf[pos..]) {
                black_box(&frame);
                pos += used;
                n += 1;
            }
            black_box(n)
        })
    });
    let bytes = Bytes::from(buf.clone());
    g.bench_function("redis_protocol_bytes", |b| {
        b.iter(|| {
            let mut rest = bytes.clone();
            let mut n = 0;
            while let Ok(Some((frame, used))) = redis_protocol::resp2::decode::decode_bytes(&rest) {
                black_box(&frame);
                rest = rest.slice(used..);
                n += 1;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(32));
    g.bench_function("32_mixed_replies", |b| {
        let mut out = Reply::new(false);
        b.iter(|| {
            out.buf.clear();
            for i in 0..16 {
                out.ok();
                out.bulk(black_box(b"value-of-16bytes"));
                out.int(black_box(i));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn keyspace(c: &mut Criterion) {
    let ks = Keyspace::new(16);
    let keys: Vec<String> = (0..100_000).map(|i| format!("key:{i:08}")).collect();
    for k in &keys {
        ks.lock(k.as_bytes()).db(0).insert(
            k.as_bytes(),
            Value::Str(Str::from_bytes(b"v")),
            NO_EXPIRE,
            0,
        );
    }
    let mut g = c.benchmark_group("keyspace_100k");
    let mut i = 0;
    g.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            let k = keys[i].as_bytes();
            let mut shard = ks.lock(k);
            black_box(shard.read(0, k, 1).is_some())
        })
    });
    g.bench_function("set", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            let k = keys[i].as_bytes();
            let mut shard = ks.lock(k);
            black_box(shard.db(0).insert(
                k,
                Value::Str(Str::from_bytes(b"value-of-16bytes")),
                NO_EXPIRE,
                1,
            ));
        })
    });
    g.finish();
}

criterion_group!(benches, parsing, encoding, keyspace);
criterion_main!(benches);
