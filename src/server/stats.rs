//! Server counters for INFO.
//!
//! Per-command counters (commandstats) and traffic counters are kept per worker
//! thread ([`ThreadStats`]): each thread is the only writer of its own block,
//! so counting costs a plain load and store, no contended atomic, and INFO
//! sums the blocks of all threads. Rare events (connections, errors) use
//! shared atomics or a mutex in [`ServerStats`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// Add to a counter that only the current thread writes.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Counters of one command on one thread.
#[derive(Default)]
pub struct CmdCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// Counters owned by one worker thread.
pub struct ThreadStats {
    pub cmds: Box<[CmdCounters]>,
    /// Per-command latency histograms (`latency-tracking`).
    pub hist: super::latency::ThreadHistograms,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Socket reads and reply writes (`total_reads_processed`, `..._writes_...`).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
}

impl ThreadStats {
    pub fn new(ncommands: usize) -> Self {
        ThreadStats {
            cmds: (0..ncommands).map(|_| CmdCounters::default()).collect(),
            hist: super::latency::ThreadHistograms::new(ncommands),
            commands_processed: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            reads_processed: AtomicU64::new(0),
            writes_processed: AtomicU64::new(0),
        }
    }

    #[inline]
    pub fn called(&self, id: usize, usec: u64) {
        let c = &self.cmds[id];
        bump(&c.calls, 1);
        bump(&c.usec, usec);
        bump(&self.commands_processed, 1);
    }

    #[inline]
    pub fn rejected(&self, id: usize) {
        bump(&self.cmds[id].rejected, 1);
    }

    #[inline]
    pub fn failed(&self, id: usize) {
        bump(&self.cmds[id].failed, 1);
    }

    #[inline]
    pub fn net_in(&self, n: usize) {
        bump(&self.net_input_bytes, n as u64);
        bump(&self.reads_processed, 1);
    }

    #[inline]
    pub fn net_out(&self, n: usize) {
        bump(&self.net_output_bytes, n as u64);
        bump(&self.writes_processed, 1);
    }

    /// Zero everything (CONFIG RESETSTAT). Races with the owning thread can
    /// lose an increment or two, which INFO tolerates.
    pub fn reset(&self) {
        for c in self.cmds.iter() {
            c.calls.store(0, Relaxed);
            c.usec.store(0, Relaxed);
            c.rejected.store(0, Relaxed);
            c.failed.store(0, Relaxed);
        }
        self.hist.reset();
        self.commands_processed.store(0, Relaxed);
        self.net_input_bytes.store(0, Relaxed);
        self.net_output_bytes.store(0, Relaxed);
        self.reads_processed.store(0, Relaxed);
        self.writes_processed.store(0, Relaxed);
    }
}

/// Server-wide counters for rare events.
/// How many samples an instantaneous metric averages (Redis's
/// STATS_METRIC_SAMPLES).
const SAMPLES: usize = 16;

/// Redis's instantaneous metrics (`instantaneous_ops_per_sec`, `..._kbps`):
/// the cron samples running totals every 100 ms, and each metric is the mean
/// of its last 16 per-second rates.
#[derive(Default)]
pub struct Instantaneous {
    inner: Mutex<InstantSamples>,
}

#[derive(Default)]
struct InstantSamples {
    last_ms: u64,
    last: [u64; 3],
    rates: [[f64; SAMPLES]; 3],
    next: usize,
}

impl Instantaneous {
    /// Record the running totals (commands, input bytes, output bytes) at
    /// `now_ms`, at most every 100 ms.
    pub fn track(&self, now_ms: u64, totals: [u64; 3]) {
        let mut g = self.inner.lock();
        let elapsed = now_ms.saturating_sub(g.last_ms);
        if g.last_ms != 0 && elapsed < 100 {
            return;
        }
        if g.last_ms != 0 {
            let at = g.next;
            for (i, total) in totals.iter().enumerate() {
                let delta = total.saturating_sub(g.last[i]);
                g.rates[i][at] = delta as f64 * 1000.0 / elapsed as f64;
            }
            g.next = (at + 1) % SAMPLES;
        }
        g.last_ms = now_ms;
        g.last = totals;
    }

    /// Commands per second, input and output bytes per second.
    pub fn rates(&self) -> [f64; 3] {
        let g = self.inner.lock();
        g.rates.map(|r| r.iter().sum::<f64>() / SAMPLES as f64)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        *self.inner.lock() = InstantSamples::default();
    }
}

#[derive(Default)]
pub struct ServerStats {
    pub instantaneous: Instantaneous,
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Clients closed by `maxmemory-clients` (INFO `evicted_clients`).
    pub evicted_clients: AtomicU64,
    /// INFO `client_recent_max_input_buffer`/`_output_buffer` (server::obuf).
    pub client_peaks: super::obuf::RecentPeaks,
    pub total_error_replies: AtomicU64,
    /// Clients waiting in a blocking command (INFO `blocked_clients`).
    pub blocked_clients: AtomicU64,
    /// Of those, the ones with a timeout (INFO `clients_in_timeout_table`).
    pub blocked_with_timeout: AtomicU64,
    /// Error replies by code (`ERR`, `WRONGTYPE`…), for INFO errorstats.
    pub errors: Mutex<HashMap<String, u64>>,
}

impl ServerStats {
    /// Count an error reply under its code (the first word).
    pub fn count_error(&self, msg: &str) {
        self.total_error_replies.fetch_add(1, Relaxed);
        let code = msg.split(' ').next().unwrap_or("ERR");
        let mut errors = self.errors.lock();
        // Redis caps the number of distinct codes at 128.
        if errors.len() < 128 || errors.contains_key(code) {
            *errors.entry(code.to_string()).or_insert(0) += 1;
        }
    }

    pub fn reset(&self) {
        self.total_connections_received.store(0, Relaxed);
        self.rejected_connections.store(0, Relaxed);
        self.evicted_clients.store(0, Relaxed);
        self.total_error_replies.store(0, Relaxed);
        self.errors.lock().clear();
        self.instantaneous.reset();
    }
}
