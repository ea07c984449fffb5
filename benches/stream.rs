//! Criterion benchmarks of the stream type (listpack nodes, as Redis keeps
//! them): appending, reading ranges from the head and the middle, and exact
//! trimming, at 100,000 entries.
//!
//! `cargo bench --bench stream`. For comparison on one machine, not pass/fail.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ember::types::stream::{NodeLimits, Stream, StreamId, Trim};

const N: u64 = 100_000;

fn filled() -> Stream {
    let mut s = Stream::new();
    for i in 0..N {
        let v = i.to_string();
        s.append(
            StreamId::new(1_700_000_000_000 + i, 0),
            &[b"sensor", b"t1", b"value", v.as_bytes()],
            NodeLimits::default(),
        );
    }
    s
}

fn benches(c: &mut Criterion) {
    c.bench_function("xadd 1000 entries", |b| {
        b.iter_batched(
            Stream::new,
            |mut s| {
                for i in 0..1000u64 {
                    s.append(
                        StreamId::new(i + 1, 0),
                        &[b"sensor", b"t1", b"value", b"42"],
                        NodeLimits::default(),
                    );
                }
                s
            },
            BatchSize::SmallInput,
        )
    });
    let s = filled();
    c.bench_function("xrange head count 10", |b| {
        b.iter(|| {
            let mut n = 0usize;
            s.range(StreamId::MIN, StreamId::MAX, false, |e| {
                e.for_each(|f, v| n += black_box((f, v)).0.with_bytes(|x| x.len()));
                n < 40
            });
            n
        })
    });
    let mid = StreamId::new(1_700_000_000_000 + N / 2, 0);
    c.bench_function("xrange middle count 10", |b| {
        b.iter(|| {
            let mut k = 0;
            s.range(mid, StreamId::MAX, false, |e| {
                black_box(e.id);
                k += 1;
                k < 10
            });
            k
        })
    });
    c.bench_function("xrevrange tail count 10", |b| {
        b.iter(|| {
            let mut k = 0;
            s.range(StreamId::MIN, StreamId::MAX, true, |e| {
                black_box(e.id);
                k += 1;
                k < 10
            });
            k
        })
    });
    c.bench_function("xtrim maxlen = 90000 (exact)", |b| {
        b.iter_batched(
            || s.clone(),
            |mut s| s.trim(Trim::MaxLen(90_000), false, 0),
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(stream, benches);
criterion_main!(stream);
