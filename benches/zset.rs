//! Criterion benchmarks of the sorted-set index, to justify its shape (see
//! docs/ARCHITECTURE.md): Ember's big encoding (member arena + hash index +
//! order-statistic B+tree) against the two obvious std alternatives, a
//! `BTreeSet<(score, member)>` (no ranks: ZRANK must count) and a sorted
//! `Vec` (ranks by binary search, O(n) inserts), at 200,000 members.
//!
//! `cargo bench --bench zset`. For comparison on one machine, not pass/fail.

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ember::types::zset::{Limits, ZSet};

const N: u64 = 200_000;

/// A score with a total order, for the std containers.
#[derive(Clone, Copy, PartialEq)]
struct Score(f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

fn member(i: u64) -> Vec<u8> {
    format!("m:{i:012}").into_bytes()
}

/// Scores in a scrambled order so inserts land all over the index.
fn score(i: u64) -> f64 {
    (i.wrapping_mul(2_654_435_761) % N) as f64
}

fn ember_set() -> ZSet {
    let lim = Limits {
        max_entries: 0,
        max_value: 0,
    };
    let mut z = ZSet::with_hint(N as usize, 64, lim);
    for i in 0..N {
        z.insert(&member(i), score(i), lim);
    }
    z
}

fn btree_set() -> BTreeSet<(Score, Vec<u8>)> {
    (0..N).map(|i| (Score(score(i)), member(i))).collect()
}

fn sorted_vec() -> Vec<(Score, Vec<u8>)> {
    let mut v: Vec<_> = (0..N).map(|i| (Score(score(i)), member(i))).collect();
    v.sort();
    v
}

fn benches(c: &mut Criterion) {
    let lim = Limits {
        max_entries: 0,
        max_value: 0,
    };
    let z = ember_set();
    let b = btree_set();
    let v = sorted_vec();
    let probe = member(N / 3);
    let probe_score = score(N / 3);

    let mut g = c.benchmark_group("zrank");
    g.bench_function("ember", |bn| {
        bn.iter(|| black_box(z.rank(black_box(&probe))))
    });
    g.bench_function("btreeset_count", |bn| {
        bn.iter(|| black_box(b.range(..(Score(probe_score), probe.clone())).count()))
    });
    g.bench_function("sorted_vec", |bn| {
        bn.iter(|| black_box(v.binary_search(&(Score(probe_score), probe.clone()))))
    });
    g.finish();

    let mut g = c.benchmark_group("zrevrange_top10");
    g.bench_function("ember", |bn| {
        bn.iter(|| {
            let mut n = 0.0;
            z.walk(z.len() - 10, z.len(), true, |_, s| n += s);
            black_box(n)
        })
    });
    g.bench_function("btreeset", |bn| {
        bn.iter(|| black_box(b.iter().rev().take(10).map(|e| e.0 .0).sum::<f64>()))
    });
    g.finish();

    // ZINCRBY: move one member to a new score (remove + insert).
    let mut g = c.benchmark_group("zincrby");
    let mut zz = z.clone();
    let mut bb = b.clone();
    let mut vv = v.clone();
    let mut i = 0u64;
    g.bench_function("ember", |bn| {
        bn.iter(|| {
            i = (i + 7919) % N;
            let m = member(i);
            let s = zz.score(&m).unwrap_or(0.0);
            zz.set_score(&m, s + 1.0);
        })
    });
    // The std set needs its own member → score map to find the key.
    let mut bscores: std::collections::HashMap<Vec<u8>, f64> =
        (0..N).map(|i| (member(i), score(i))).collect();
    g.bench_function("btreeset_plus_map", |bn| {
        bn.iter(|| {
            i = (i + 7919) % N;
            let m = member(i);
            let s = bscores.get_mut(&m).expect("present");
            bb.remove(&(Score(*s), m.clone()));
            *s += 1.0;
            bb.insert((Score(*s), m));
        })
    });
    g.bench_function("sorted_vec", |bn| {
        bn.iter(|| {
            i = (i + 7919) % N;
            let key = (Score(score(i)), member(i));
            if let Ok(at) = vv.binary_search(&key) {
                let (s, m) = vv.remove(at);
                let new = (Score(s.0 + 0.5), m);
                let to = vv.binary_search(&new).unwrap_or_else(|e| e);
                vv.insert(to, new);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("build_200k");
    g.sample_size(10);
    g.bench_function("ember", |bn| {
        bn.iter_batched(|| (), |_| black_box(ember_set()), BatchSize::PerIteration)
    });
    g.bench_function("btreeset", |bn| {
        bn.iter_batched(|| (), |_| black_box(btree_set()), BatchSize::PerIteration)
    });
    g.finish();
    let _ = lim;
}

criterion_group!(zset, benches);
criterion_main!(zset);
