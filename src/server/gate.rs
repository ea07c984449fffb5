//! Gates: what makes MULTI/EXEC atomic across shards.
//!
//! Each worker thread (and the cron thread) owns one gate, a reader-writer
//! lock nobody else reads (except the spare worker of a one-worker server,
//! which shares worker 0's: see server::start). Every command a worker
//! dispatches holds its own gate for reading while it runs, and so do
//! serving blocked clients and the cron thread's active-expiry cycle:
//! uncontended, only that thread touches the lock's cache line, so a read
//! costs two uncontended atomic operations.
//!
//! EXEC takes *every* gate for writing, in a fixed order (worker 0..n, then
//! cron), holding none of them for reading (dispatch does not take the read
//! gate for EXEC), then runs its queue and releases them. While it holds
//! them no other command, expiry cycle or blocked-client service runs
//! anywhere, so the transaction is atomic; the queued commands still lock
//! their own shards as usual (shard locks are not reentrant, so EXEC cannot
//! simply hold them all). Two EXECs on different workers cannot deadlock:
//! both take the gates in the same order, from nothing. Nothing that holds a
//! shard lock ever waits for a gate.

use std::cell::Cell;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A lock on its own cache line, so neighbouring threads' gates do not
/// false-share.
#[repr(align(128))]
struct Padded(RwLock<()>);

pub struct Gates {
    gates: Box<[Padded]>,
}

thread_local! {
    /// This thread's gate, `usize::MAX` on a thread without one.
    static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
}

impl Gates {
    /// `n` gates: one per worker thread plus one for the cron thread.
    pub fn new(n: usize) -> Gates {
        Gates {
            gates: (0..n).map(|_| Padded(RwLock::new(()))).collect(),
        }
    }

    /// The cron thread's gate (the last), which the replica link's thread
    /// shares for reading.
    pub fn cron_gate(&self) -> usize {
        self.gates.len() - 1
    }

    /// Make gate `i` the calling thread's own.
    pub fn adopt(&self, i: usize) {
        MINE.with(|m| m.set(i));
    }

    /// Hold the calling thread's gate for one command (None on a thread
    /// without a gate, or one that holds every gate already).
    #[inline]
    pub fn read(&self) -> Option<RwLockReadGuard<'_, ()>> {
        let i = MINE.with(|m| m.get());
        let g = self.gates.get(i)?;
        if let Some(r) = g.0.try_read() {
            return Some(r);
        }
        if self.held_here() {
            return None;
        }
        Some(g.0.read())
    }

    /// Whether the calling thread holds every gate ([`Gates::exclusive`]).
    pub fn held_here(&self) -> bool {
        HELD.with(|h| h.get())
    }

    /// Whether the calling thread has a gate of its own (a worker or cron).
    pub fn owned(&self) -> bool {
        MINE.with(|m| m.get()) < self.gates.len()
    }

    /// Like [`Gates::read`], giving up after `wait` (Err) while every gate is
    /// held elsewhere (a running script: the caller checks for BUSY).
    #[inline]
    #[allow(clippy::result_unit_err)]
    pub fn try_read_for(
        &self,
        wait: std::time::Duration,
    ) -> Result<Option<RwLockReadGuard<'_, ()>>, ()> {
        let i = MINE.with(|m| m.get());
        match self.gates.get(i) {
            None => Ok(None),
            // Zero wait (every command's first try): no clock read.
            Some(g) if wait.is_zero() => g.0.try_read().map(Some).ok_or(()),
            Some(g) => match g.0.try_read_for(wait) {
                Some(guard) => Ok(Some(guard)),
                None => Err(()),
            },
        }
    }

    /// Hold every gate (EXEC, scripts). The caller must not hold its own for
    /// reading. Nested calls on a thread that holds them already (EVAL queued
    /// in a transaction runs inside EXEC) take nothing.
    pub fn exclusive(&self) -> Exclusive<'_> {
        if HELD.with(|h| h.get()) {
            return Exclusive {
                _guards: Vec::new(),
                outer: false,
            };
        }
        let guards = self.gates.iter().map(|g| g.0.write()).collect();
        HELD.with(|h| h.set(true));
        Exclusive {
            _guards: guards,
            outer: true,
        }
    }
}

thread_local! {
    /// Whether this thread holds every gate (inside [`Gates::exclusive`]).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Every gate, held until dropped.
pub struct Exclusive<'a> {
    _guards: Vec<RwLockWriteGuard<'a, ()>>,
    outer: bool,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        if self.outer {
            HELD.with(|h| h.set(false));
        }
    }
}
