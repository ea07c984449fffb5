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
}

impl ThreadStats {
    pub fn new(ncommands: usize) -> Self {
        ThreadStats {
            cmds: (0..ncommands).map(|_| CmdCounters::default()).collect(),
            hist: super::latency::ThreadHistograms::new(ncommands),
            commands_processed: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
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
    }

    #[inline]
    pub fn net_out(&self, n: usize) {
        bump(&self.net_output_bytes, n as u64);
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
    }
}

/// Server-wide counters for rare events.
#[derive(Default)]
pub struct ServerStats {
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
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
        self.total_error_replies.store(0, Relaxed);
        self.errors.lock().clear();
    }
}
