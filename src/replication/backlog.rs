//! The replication stream and its backlog.
//!
//! The AOF writer thread (persist/aof/writer.rs) hands every record to
//! [`Backlog::feed`] in sequence order, so the stream is the same ordered
//! list of commands the AOF gets, with a `SELECT` wherever the database
//! changes (as Redis's `replicationFeedSlaves`). Offsets are Redis's: the
//! stream's first byte has offset 1 and `master_repl_offset` is the offset
//! of the last byte fed.
//!
//! One buffer serves every replica, as Redis 7 shares its replication
//! buffer: it keeps at least the last `repl-backlog-size` bytes (what a
//! reconnecting replica may continue from with `PSYNC`) and, beyond that,
//! whatever a connected replica has not been sent yet (each replica *pins*
//! its offset). A replica that falls further behind than its output-buffer
//! hard limit is disconnected by its own task (src/replication/master.rs),
//! so the buffer stays bounded.

use std::collections::{BTreeMap, VecDeque};

use parking_lot::Mutex;

use crate::persist::aof::log::{append_record, Record, NO_DB};

/// `repl-backlog-size` by default.
const DEFAULT_SIZE: usize = 1 << 20;

pub struct Backlog {
    inner: Mutex<Inner>,
    /// `master_repl_offset` as replica tasks wait on it.
    end_tx: tokio::sync::watch::Sender<u64>,
}

struct Inner {
    /// Bytes with offsets `first ..= end`.
    data: VecDeque<u8>,
    first: u64,
    end: u64,
    /// The database the stream is in (NO_DB: a SELECT goes first).
    db: u32,
    size: usize,
    /// Whether it was ever fed (`repl_backlog_active`).
    active: bool,
    /// Replica id -> offset of the next byte it needs.
    pins: BTreeMap<u64, u64>,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog {
            inner: Mutex::new(Inner {
                data: VecDeque::new(),
                first: 1,
                end: 0,
                db: NO_DB,
                size: DEFAULT_SIZE,
                active: false,
                pins: BTreeMap::new(),
            }),
            end_tx: tokio::sync::watch::channel(0).0,
        }
    }
}

/// What [`Backlog::read`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Bytes were appended to the output.
    Some,
    /// Nothing after the offset yet.
    Nothing,
    /// The offset is no longer held.
    Gone,
}

impl Backlog {
    /// Append one record of the ordered log (the AOF writer, in order).
    pub fn feed(&self, r: &Record) {
        let end = {
            let mut b = self.inner.lock();
            if !b.active {
                return;
            }
            // The record's bytes with the SELECT it needs (if any).
            let mut db = b.db;
            if r.start_db != NO_DB && r.start_db != db {
                let mut with_select = Vec::with_capacity(r.buf.len() + 24);
                append_record(&mut with_select, &mut db, r);
                b.push(&with_select);
            } else {
                b.push(&r.buf);
                if r.end_db != NO_DB {
                    db = r.end_db;
                }
            }
            b.db = db;
            b.trim();
            b.end
        };
        self.end_tx.send_replace(end);
    }

    /// Start keeping the stream (the first replica).
    pub fn start(&self) {
        self.inner.lock().active = true;
    }

    /// Make the next record start with a SELECT: a replica's stream starts
    /// here (the writer, at the sync point of its snapshot), as Redis
    /// resets `slaveseldb` when a full sync starts.
    pub fn reselect(&self) {
        self.inner.lock().db = NO_DB;
    }

    /// Free the buffer (`repl-backlog-ttl` passed without replicas) unless
    /// a replica pinned it meanwhile; true if freed. The caller changes the
    /// replication ID, so a replica that comes back resyncs in full.
    pub fn free_if_unpinned(&self) -> bool {
        let mut b = self.inner.lock();
        if !b.active || !b.pins.is_empty() {
            return false;
        }
        b.active = false;
        b.data = VecDeque::new();
        b.first = b.end + 1;
        true
    }

    /// `master_repl_offset`.
    pub fn end(&self) -> u64 {
        self.inner.lock().end
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.end_tx.subscribe()
    }

    /// Whether a replica may continue from `offset` (the next byte it
    /// needs): it is held, or it is the next byte to come.
    pub fn holds(&self, offset: u64) -> bool {
        let b = self.inner.lock();
        b.active && offset >= b.first && offset <= b.end + 1
    }

    /// Keep the stream from `offset` on for replica `id` (until unpinned).
    pub fn pin(&self, id: u64, offset: u64) {
        self.inner.lock().pins.insert(id, offset);
    }

    pub fn unpin(&self, id: u64) {
        let mut b = self.inner.lock();
        b.pins.remove(&id);
        b.trim();
    }

    /// Append up to `max` bytes from `offset` on to `out` and move `id`'s
    /// pin past them.
    pub fn read(&self, id: u64, offset: u64, max: usize, out: &mut Vec<u8>) -> Read {
        let mut b = self.inner.lock();
        if offset < b.first {
            return Read::Gone;
        }
        if offset > b.end {
            return Read::Nothing;
        }
        let from = (offset - b.first) as usize;
        let n = (b.data.len() - from).min(max);
        let (x, y) = b.data.as_slices();
        let to = from + n;
        if from < x.len() {
            out.extend_from_slice(&x[from..to.min(x.len())]);
        }
        if to > x.len() {
            out.extend_from_slice(&y[from.saturating_sub(x.len())..to - x.len()]);
        }
        if let Some(p) = b.pins.get_mut(&id) {
            *p = offset + n as u64;
        }
        b.trim();
        Read::Some
    }

    /// CONFIG SET repl-backlog-size.
    pub fn set_size(&self, size: usize) {
        let mut b = self.inner.lock();
        b.size = size.max(16 * 1024);
        b.trim();
    }

    /// INFO replication's backlog fields.
    pub fn info(&self) -> BacklogInfo {
        let b = self.inner.lock();
        BacklogInfo {
            active: b.active,
            size: b.size,
            first: if b.active { b.first } else { 0 },
            histlen: b.data.len(),
            offset: b.end,
            memory: b.data.capacity(),
        }
    }
}

pub struct BacklogInfo {
    pub active: bool,
    pub size: usize,
    pub first: u64,
    pub histlen: usize,
    pub offset: u64,
    /// Bytes allocated for the buffer (INFO `mem_replication_backlog`).
    pub memory: usize,
}

impl Inner {
    fn push(&mut self, bytes: &[u8]) {
        self.data.extend(bytes);
        self.end += bytes.len() as u64;
    }

    /// Drop what neither the backlog size nor a pinned replica keeps.
    fn trim(&mut self) {
        let keep_size = self.end.saturating_sub(self.size as u64) + 1;
        let pinned = self.pins.values().copied().min().unwrap_or(u64::MAX);
        let keep_from = keep_size.min(pinned).max(self.first);
        let drop = (keep_from - self.first) as usize;
        if drop > 0 {
            let drop = drop.min(self.data.len());
            self.data.drain(..drop);
            self.first += drop as u64;
            // Give back what a burst grew the buffer to.
            if self.data.capacity() > 4 * self.size.max(self.data.len()) {
                self.data.shrink_to(self.size.max(self.data.len()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(start_db: u32, end_db: u32, buf: &[u8]) -> Record {
        Record {
            seq: 0,
            start_db,
            end_db,
            buf: buf.to_vec(),
            ..Record::default()
        }
    }

    #[test]
    fn offsets_start_at_one_and_a_select_precedes_a_new_database() {
        let b = Backlog::default();
        b.feed(&rec(0, 0, b"ignored"));
        assert_eq!(b.end(), 0, "nothing is kept before the first replica");
        b.start();
        b.reselect();
        b.feed(&rec(0, 0, b"AB"));
        let mut out = Vec::new();
        assert_eq!(b.read(1, 1, 1 << 20, &mut out), Read::Some);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\nAB");
        let end = b.end();
        b.feed(&rec(0, 0, b"C"));
        out.clear();
        assert_eq!(b.read(1, end + 1, 1 << 20, &mut out), Read::Some);
        assert_eq!(out, b"C", "same database: no SELECT");
        assert_eq!(b.read(1, b.end() + 1, 10, &mut out), Read::Nothing);
        b.reselect();
        b.feed(&rec(NO_DB, NO_DB, b"P"));
        b.feed(&rec(3, 3, b"D"));
        out.clear();
        assert_eq!(b.read(1, end + 2, 1 << 20, &mut out), Read::Some);
        assert_eq!(out, b"P*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\nD");
    }

    #[test]
    fn keeps_the_backlog_size_and_what_a_replica_still_needs() {
        let b = Backlog::default();
        b.start();
        b.set_size(16 * 1024);
        b.pin(7, 1);
        let chunk = vec![b'x'; 10_000];
        for _ in 0..10 {
            b.feed(&rec(NO_DB, NO_DB, &chunk));
        }
        // Pinned at 1: nothing dropped.
        assert!(b.holds(1));
        let mut out = Vec::new();
        assert_eq!(b.read(7, 1, 50_000, &mut out), Read::Some);
        assert_eq!(out.len(), 50_000);
        assert!(!b.holds(1), "dropped once read");
        assert!(b.holds(50_001));
        b.unpin(7);
        let i = b.info();
        assert_eq!(i.histlen, 16 * 1024);
        assert_eq!(i.first, 100_000 - 16 * 1024 + 1);
        assert_eq!(b.read(7, 1, 10, &mut out), Read::Gone);
        assert!(b.holds(100_001), "the next byte to come");
        assert!(!b.holds(100_002));
    }
}
