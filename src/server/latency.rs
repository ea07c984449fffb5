//! Latency observability: per-command latency histograms (INFO latencystats,
//! LATENCY HISTOGRAM), the latency monitor's event series (LATENCY LATEST /
//! HISTORY / RESET), and the slow log (SLOWLOG).
//!
//! Histograms are per worker thread and per command, allocated on a
//! command's first call on that thread, and written only by that thread
//! (plain loads and stores, no contended atomics); readers sum the threads.
//! Buckets are log-linear: 32 linear sub-buckets per power of two of
//! nanoseconds, from 1,024 ns (Redis's floor) to about 1 s (its ceiling), so
//! a percentile is within about 3% of the true value (Redis's HDR histogram
//! keeps 2 significant digits).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::protocol::Args;

/// Sub-buckets per power of two.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Powers of two covered: 2^10 ns .. 2^30 ns (~1.07 s).
const MIN_POW: u32 = 10;
const POWERS: usize = 20;
pub const BUCKETS: usize = POWERS * SUB;

/// One command's histogram on one thread.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The bucket of a duration in nanoseconds (clamped to the covered range).
#[inline]
fn bucket(ns: u64) -> usize {
    let v = ns.clamp(1 << MIN_POW, (1u64 << (MIN_POW as usize + POWERS)) - 1);
    let pow = 63 - v.leading_zeros(); // >= MIN_POW
    let sub = ((v >> (pow - SUB_BITS)) as usize) & (SUB - 1);
    (pow - MIN_POW) as usize * SUB + sub
}

/// The highest duration (ns) a bucket holds.
fn bucket_top(b: usize) -> u64 {
    let pow = (b / SUB) as u32 + MIN_POW;
    let sub = (b % SUB) as u64;
    (1u64 << pow) + ((sub + 1) << (pow - SUB_BITS)) - 1
}

impl Histogram {
    /// Record one duration; only the owning thread calls this.
    #[inline]
    pub fn record(&self, ns: u64) {
        let c = &self.counts[bucket(ns)];
        c.store(c.load(Relaxed) + 1, Relaxed);
    }

    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Relaxed);
        }
    }
}

/// Per-command histograms of one thread, allocated on first use.
pub struct ThreadHistograms {
    cmds: Box<[OnceLock<Histogram>]>,
}

impl ThreadHistograms {
    pub fn new(ncommands: usize) -> Self {
        ThreadHistograms {
            cmds: (0..ncommands).map(|_| OnceLock::new()).collect(),
        }
    }

    #[inline]
    pub fn record(&self, id: usize, ns: u64) {
        if let Some(h) = self.cmds.get(id) {
            h.get_or_init(Histogram::default).record(ns);
        }
    }

    pub fn get(&self, id: usize) -> Option<&Histogram> {
        self.cmds.get(id).and_then(|h| h.get())
    }

    pub fn reset(&self) {
        for h in self.cmds.iter().filter_map(|h| h.get()) {
            h.reset();
        }
    }
}

/// One command's histogram summed over threads.
pub struct Summed {
    counts: Vec<u64>,
    pub total: u64,
}

impl Summed {
    pub fn of<'a>(parts: impl Iterator<Item = &'a Histogram>) -> Option<Summed> {
        let mut counts = vec![0u64; BUCKETS];
        let mut any = false;
        for h in parts {
            any = true;
            for (s, c) in counts.iter_mut().zip(h.counts.iter()) {
                *s += c.load(Relaxed);
            }
        }
        let total = counts.iter().sum();
        (any && total > 0).then_some(Summed { counts, total })
    }

    /// The value (ns) at percentile `p` (0..=100), as the highest value of
    /// the bucket holding it (as HDR's value_at_percentile).
    pub fn percentile_ns(&self, p: f64) -> u64 {
        let want = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return bucket_top(b);
            }
        }
        bucket_top(BUCKETS - 1)
    }

    /// LATENCY HISTOGRAM's cumulative distribution over power-of-two
    /// buckets from 1,024 ns: (upper bound in µs, cumulative count), only
    /// where the count grows.
    pub fn cdf(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut prev = 0u64;
        for k in 0..POWERS {
            // Values up to 1024 ns * 2^k: every bucket below the one that
            // value starts.
            let cum: u64 = self.counts[..=k * SUB].iter().sum();
            if cum > prev {
                out.push(((1024u64 << k) / 1000, cum));
            }
            prev = cum;
        }
        if self.total > prev {
            out.push(((1024u64 << POWERS) / 1000, self.total));
        }
        out
    }
}

/// Samples kept per latency event (Redis's LATENCY_TS_LEN).
const SERIES_LEN: usize = 160;

/// One event's time series: at most one sample per second (the maximum).
struct Series {
    samples: VecDeque<(u64, u64)>,
    max: u64,
}

/// The latency monitor's events (`latency-monitor-threshold`).
#[derive(Default)]
pub struct Monitor {
    events: Mutex<Vec<(String, Series)>>,
}

impl Monitor {
    /// Record `ms` for `event` at Unix second `now`.
    pub fn add(&self, event: &str, ms: u64, now: u64) {
        let mut events = self.events.lock();
        let i = match events.iter().position(|(e, _)| e == event) {
            Some(i) => i,
            None => {
                events.push((
                    event.to_string(),
                    Series {
                        samples: VecDeque::new(),
                        max: 0,
                    },
                ));
                events.len() - 1
            }
        };
        let s = &mut events[i].1;
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(ms),
            _ => {
                if s.samples.len() == SERIES_LEN {
                    s.samples.pop_front();
                }
                s.samples.push_back((now, ms));
            }
        }
    }

    /// LATENCY LATEST: (event, last time, last ms, max ms).
    pub fn latest(&self) -> Vec<(String, u64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .filter_map(|(e, s)| s.samples.back().map(|&(t, ms)| (e.clone(), t, ms, s.max)))
            .collect()
    }

    /// LATENCY HISTORY event: (time, ms), oldest first.
    pub fn history(&self, event: &[u8]) -> Vec<(u64, u64)> {
        self.events
            .lock()
            .iter()
            .find(|(e, _)| e.as_bytes() == event)
            .map(|(_, s)| s.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// LATENCY RESET [event]: how many series were dropped.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        events.retain(|(e, _)| event.is_some_and(|want| !e.as_bytes().eq_ignore_ascii_case(want)));
        before - events.len()
    }
}

/// Arguments a slow-log entry keeps (Redis's SLOWLOG_ENTRY_MAX_ARGC/STRING).
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_STRING: usize = 128;

pub struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub usec: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// The slow log: newest first.
#[derive(Default)]
pub struct SlowLog {
    entries: Mutex<VecDeque<SlowEntry>>,
    next_id: AtomicU64,
}

impl SlowLog {
    /// Add an entry for a command that took `usec`; the arguments in
    /// `redact` are secrets, shown as `(redacted)` as Redis does.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &self,
        args: Args<'_>,
        redact: Vec<usize>,
        usec: u64,
        now_s: u64,
        peer: String,
        name: Vec<u8>,
        max_len: usize,
    ) {
        let argc = args.len();
        let kept = argc.min(SLOWLOG_MAX_ARGC);
        let mut v = Vec::with_capacity(kept);
        for j in 0..kept {
            if kept != argc && j == kept - 1 {
                v.push(format!("... ({} more arguments)", argc - kept + 1).into_bytes());
            } else if redact.contains(&j) {
                v.push(b"(redacted)".to_vec());
            } else {
                let a = &args[j];
                if a.len() > SLOWLOG_MAX_STRING {
                    let mut s = a[..SLOWLOG_MAX_STRING].to_vec();
                    s.extend_from_slice(
                        format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_STRING).as_bytes(),
                    );
                    v.push(s);
                } else {
                    v.push(a.to_vec());
                }
            }
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let mut entries = self.entries.lock();
        entries.push_front(SlowEntry {
            id,
            time: now_s,
            usec,
            args: v,
            peer,
            name,
        });
        entries.truncate(max_len);
    }

    /// Apply `slowlog-max-len` after CONFIG SET.
    pub fn trim(&self, max_len: usize) {
        self.entries.lock().truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// Visit the newest `count` entries.
    pub fn with_newest<R>(
        &self,
        count: usize,
        f: impl FnOnce(&mut dyn Iterator<Item = &SlowEntry>) -> R,
    ) -> R {
        let entries = self.entries.lock();
        f(&mut entries.iter().take(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order() {
        let mut prev = 0;
        for b in 0..BUCKETS {
            let top = bucket_top(b);
            assert!(top > prev || b == 0);
            assert_eq!(bucket(top), b, "top of bucket {b}");
            assert_eq!(bucket(top + 1).min(BUCKETS - 1), (b + 1).min(BUCKETS - 1));
            prev = top;
        }
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_are_close() {
        let h = Histogram::default();
        for ns in 1..=100_000u64 {
            h.record(ns * 100); // 100 ns .. 10 ms, uniform
        }
        let s = Summed::of(std::iter::once(&h)).unwrap();
        for p in [50.0, 99.0, 99.9] {
            let want = p / 100.0 * 10_000_000.0;
            let got = s.percentile_ns(p) as f64;
            assert!((got - want).abs() / want < 0.04, "p{p}: {got} vs {want}");
        }
        let cdf = s.cdf();
        assert_eq!(cdf.first().map(|c| c.0), Some(1));
        assert_eq!(cdf.last().map(|c| c.1), Some(100_000));
    }

    #[test]
    fn monitor_keeps_one_sample_per_second_and_the_max() {
        let m = Monitor::default();
        m.add("command", 5, 100);
        m.add("command", 9, 100);
        m.add("command", 3, 101);
        assert_eq!(m.history(b"command"), vec![(100, 9), (101, 3)]);
        assert_eq!(m.latest(), vec![("command".to_string(), 101, 3, 9)]);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert!(m.latest().is_empty());
    }
}
