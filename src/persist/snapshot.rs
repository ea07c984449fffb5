//! Point-in-time snapshots of the whole keyspace without fork.
//!
//! Redis forks and lets the kernel copy pages that change while the child
//! writes them out. Ember copies on write *per entry*, and only in serialized
//! form:
//!
//! * **Begin.** Under every shard lock at once ([`Snapshot::begin`], a few
//!   microseconds per table), each non-empty table flips its *mark* and gets a
//!   [`TableSnap`]. Every entry carries one mark bit; an entry whose bit
//!   differs from its table's has not been saved yet. New entries are created
//!   with the table's current mark, so they count as saved (they are not part
//!   of the snapshot). That instant is the snapshot's point in time.
//! * **Walk.** The saver visits each table's positions in ascending order, a
//!   few hundred per lock hold, serializing unsaved entries (and marking them)
//!   into a buffer it writes to the file after releasing the lock. Entries
//!   present at the start only ever sit below the table's length at the start
//!   (removal moves the *last* entry down into the hole; new ones append), so
//!   the walk stops there.
//! * **Copy on write.** Any access that may change an entry
//!   (`Table::lookup`, `at_mut`, `insert`, `remove_at`, `set_expire_at`)
//!   first calls `preserve`: if a snapshot still needs the entry as it was,
//!   it is serialized *now*, into the table's `TableSnap` buffer, and marked.
//!   A removal that moves the last entry below the walk's cursor preserves
//!   that entry too, since the walk would not see it again. Each entry is thus
//!   serialized exactly once, by whichever comes first; the total work equals
//!   a plain save's.
//! * **FLUSHDB/FLUSHALL** hand a table the snapshot still needs to the
//!   snapshot (`Table::take`), which saves what is left of it and frees it;
//!   SWAPDB moves tables with their snapshot state, and each table remembers
//!   the database it was in at the start.
//!
//! Extra memory is the serialized (RDB) form of the entries written to while
//! the save runs, held only until the saver writes it out (it drains the
//! buffers every step), plus tables flushed during the save; never a second
//! copy of the dataset in memory form. No client waits longer than one step
//! (a few hundred entries) or the serialization of one value it touches.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::Mutex;

use super::rdb;
use crate::keyspace::{Entry, Keyspace, Table, NSHARDS};

/// Positions a saver step walks per lock hold.
const STEP: usize = 256;
/// Output a step stops at (large values).
const STEP_BYTES: usize = 256 * 1024;
/// A table's pre-image buffer is handed to the saver at this size.
const HANDOFF_BYTES: usize = 64 * 1024;

/// What one snapshot shares between the saver and the tables.
pub(crate) struct Shared {
    compress: bool,
    /// The snapshot's instant: entries expired by then are left out.
    start_ms: u64,
    /// Pre-images handed off by tables, per database.
    chunks: Mutex<Vec<(usize, Vec<u8>)>>,
    /// Tables flushed while the snapshot still needed them.
    adopted: Mutex<Vec<(usize, Table)>>,
    /// Bytes of pre-images currently held, and the peak.
    held: AtomicU64,
    peak: AtomicU64,
    /// Keys saved by clients' copy-on-write.
    keys: AtomicU64,
}

/// Pre-image bytes held by all running snapshots of the process: like
/// Redis's AOF and replica buffers, not counted as used memory for eviction
/// (`crate::evict`), so a save under heavy writes does not evict keys.
pub static COW_BYTES: AtomicU64 = AtomicU64::new(0);

impl Shared {
    fn hold(&self, delta: u64) {
        let now = self.held.fetch_add(delta, Relaxed) + delta;
        self.peak.fetch_max(now, Relaxed);
        COW_BYTES.fetch_add(delta, Relaxed);
    }
    fn release(&self, delta: u64) {
        self.held.fetch_sub(delta, Relaxed);
        COW_BYTES.fetch_sub(delta, Relaxed);
    }
}

/// A table's part in a running snapshot.
pub struct TableSnap {
    /// Positions below this have been walked.
    pub(crate) cursor: usize,
    /// The walk ends here: the table's length at the start.
    pub(crate) end: usize,
    /// The database the table was at when the snapshot began.
    db: usize,
    /// Pre-images written by clients, not yet handed to the saver.
    out: Vec<u8>,
    shared: Arc<Shared>,
}

impl TableSnap {
    /// Save an entry as it is now (it has not been saved yet).
    pub(crate) fn preserve(&mut self, key: &[u8], entry: &Entry) {
        if entry.is_expired(self.shared.start_ms) {
            return;
        }
        let before = self.out.len();
        write_keyed(&mut self.out, key, entry, &self.shared);
        self.shared.hold((self.out.len() - before) as u64);
        self.shared.keys.fetch_add(1, Relaxed);
        if self.out.len() >= HANDOFF_BYTES {
            let buf = std::mem::take(&mut self.out);
            self.shared.chunks.lock().push((self.db, buf));
        }
    }

    /// A flushed table the snapshot still needs.
    pub(crate) fn adopt(mut self, table: Table) {
        let shared = self.shared.clone();
        if !self.out.is_empty() {
            let buf = std::mem::take(&mut self.out);
            shared.chunks.lock().push((self.db, buf));
        }
        shared.adopted.lock().push((self.db, table));
    }

    /// Move this table's pre-images to `out` (the saver).
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) {
        self.shared.release(self.out.len() as u64);
        out.append(&mut self.out);
    }

    pub(crate) fn db(&self) -> usize {
        self.db
    }
}

/// The saver's own serialization of an entry during its walk.
pub(crate) fn serialize(
    snap: &TableSnap,
    key: &[u8],
    entry: &Entry,
    out: &mut Vec<u8>,
    keys: &mut u64,
) {
    if !entry.is_expired(snap.shared.start_ms) {
        write_keyed(out, key, entry, &snap.shared);
        *keys += 1;
    }
}

/// One key as the RDB holds it: its `IDLE` or `FREQ` record (by the
/// eviction policy, as Redis saves them), then the entry.
fn write_keyed(out: &mut Vec<u8>, key: &[u8], entry: &Entry, shared: &Shared) {
    match crate::keyspace::access::record(entry.lru, shared.start_ms) {
        crate::keyspace::access::Record::None => {}
        crate::keyspace::access::Record::Idle(s) => rdb::write_idle(out, s),
        crate::keyspace::access::Record::Freq(f) => rdb::write_freq(out, f),
    }
    rdb::write_entry(out, key, &entry.value, entry.expire(), shared.compress);
}

/// Figures of a finished snapshot.
#[derive(Debug, Default, Clone, Copy)]
pub struct SnapshotStats {
    pub keys: u64,
    /// Peak bytes held for copy-on-write pre-images.
    pub cow_peak: u64,
}

/// A snapshot that has begun: the keyspace as it was at [`Snapshot::begin`].
pub struct Snapshot {
    shared: Arc<Shared>,
    /// Total `dirty` of all shards at the start.
    pub dirty_at_start: u64,
    pub started_ms: u64,
    /// FUNCTION libraries' code at the instant (set by the caller, who
    /// holds the gates), written before the keys.
    pub functions: Vec<Vec<u8>>,
    /// How long fixing the instant held every shard, in µs.
    pub begin_us: u64,
}

impl Snapshot {
    /// Fix the point in time. `at_start` runs while every shard is locked,
    /// so whatever it does (e.g. switching AOF files) happens exactly at
    /// the snapshot's instant.
    pub fn begin(ks: &Keyspace, compress: bool, now_ms: u64, at_start: impl FnOnce()) -> Snapshot {
        let shared = Arc::new(Shared {
            compress,
            start_ms: now_ms,
            chunks: Mutex::new(Vec::new()),
            adopted: Mutex::new(Vec::new()),
            held: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            keys: AtomicU64::new(0),
        });
        let mut dirty = 0;
        let started = std::time::Instant::now();
        {
            let mut all = ks.lock_all();
            for shard in all.shards() {
                dirty += shard.stats.dirty;
                for (db, t) in shard.dbs_mut().iter_mut().enumerate() {
                    if !t.is_empty() {
                        t.snapshot_begin(Box::new(TableSnap {
                            cursor: 0,
                            end: t.len(),
                            db,
                            out: Vec::new(),
                            shared: shared.clone(),
                        }));
                    }
                }
            }
            at_start();
        }
        Snapshot {
            begin_us: started.elapsed().as_micros() as u64,
            shared,
            dirty_at_start: dirty,
            started_ms: now_ms,
            functions: Vec::new(),
        }
    }

    /// Serialize the snapshot, handing `(db, bytes)` pieces to `sink`. The
    /// walk always completes (it is what ends copy-on-write), even after the
    /// sink fails; the first error is returned.
    pub fn write(
        self,
        ks: &Keyspace,
        sink: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<SnapshotStats> {
        self.write_slowly(ks, 0, None, sink)
    }

    /// [`Snapshot::write`], sleeping `key_delay_us` per key walked, outside
    /// the locks (`rdb-key-save-delay`, for tests of long saves).
    pub fn write_slowly(
        self,
        ks: &Keyspace,
        key_delay_us: u64,
        cancel: Option<&AtomicBool>,
        sink: &mut dyn FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<SnapshotStats> {
        let mut failed: Option<io::Error> = None;
        let mut keys = 0u64;
        let mut emit = |db: usize, bytes: &[u8], failed: &mut Option<io::Error>| {
            if failed.is_none() && !bytes.is_empty() {
                if let Err(e) = sink(db, bytes) {
                    *failed = Some(e);
                }
            }
        };
        let mut buf = Vec::with_capacity(STEP_BYTES);
        let mut walked_before = 0u64;
        for si in 0..NSHARDS {
            loop {
                buf.clear();
                let step = {
                    let mut shard = ks.lock_shard(si);
                    // Any table of this shard still walking (SWAPDB may have
                    // moved tables between database slots).
                    shard
                        .dbs_mut()
                        .iter_mut()
                        .find(|t| t.snapshot_active())
                        .map(|t| t.snapshot_step(STEP, STEP_BYTES, &mut buf, &mut keys))
                };
                let Some(db) = step else { break };
                emit(db, &buf, &mut failed);
                // Once writing failed (or was cancelled) the walk only has
                // to finish: no more delay.
                if key_delay_us > 0 && failed.is_none() {
                    let walked = keys - walked_before;
                    crate::persist::save::key_delay(
                        key_delay_us.saturating_mul(walked.max(1)),
                        cancel,
                    );
                }
                walked_before = keys;
                self.drain_chunks(&mut |db, b| emit(db, b, &mut failed));
            }
        }
        self.drain_chunks(&mut |db, b| emit(db, b, &mut failed));
        // Tables flushed during the save: nobody else sees them any more.
        let adopted = std::mem::take(&mut *self.shared.adopted.lock());
        for (db, table) in adopted {
            buf.clear();
            table.for_unsaved(|k, e| {
                if !e.is_expired(self.shared.start_ms) {
                    write_keyed(&mut buf, k, e, &self.shared);
                    keys += 1;
                }
                if buf.len() >= STEP_BYTES {
                    emit(db, &buf, &mut failed);
                    buf.clear();
                }
            });
            emit(db, &buf, &mut failed);
        }
        let stats = SnapshotStats {
            keys: keys + self.shared.keys.load(Relaxed),
            cow_peak: self.shared.peak.load(Relaxed),
        };
        match failed {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    fn drain_chunks(&self, emit: &mut dyn FnMut(usize, &[u8])) {
        if self.shared.held.load(Relaxed) == 0 {
            return;
        }
        let chunks = std::mem::take(&mut *self.shared.chunks.lock());
        for (db, bytes) in chunks {
            self.shared.release(bytes.len() as u64);
            emit(db, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Str, Value};

    fn s(v: &str) -> Value {
        Value::Str(Str::from_bytes(v.as_bytes()))
    }

    /// Decode what a snapshot wrote (stub-independent: through rdb::load).
    fn contents(pieces: &[(usize, Vec<u8>)]) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
        let mut file = Vec::new();
        rdb::write_header(&mut file, &[]);
        let mut cur = None;
        for (db, b) in pieces {
            if cur != Some(*db) {
                rdb::write_select_db(&mut file, *db);
                cur = Some(*db);
            }
            file.extend_from_slice(b);
        }
        let mut crc = rdb::Crc64::new();
        crc.update(&file);
        rdb::write_eof(&mut file, &mut crc, true);
        let limits = rdb::LoadLimits::default();
        let mut got = Vec::new();
        rdb::load(&mut &file[..], &limits, &mut |l| {
            let v = match l.value {
                Value::Str(s) => s.to_vec(),
                _ => b"?".to_vec(),
            };
            got.push((l.db, l.key.to_vec(), v));
            Ok(())
        })
        .unwrap();
        got.sort();
        got
    }

    #[test]
    fn snapshot_is_point_in_time_under_concurrent_changes() {
        let ks = Keyspace::new(4);
        let now = 1_000;
        let mut want = Vec::new();
        for i in 0..5000 {
            let k = format!("k{i}");
            ks.lock(k.as_bytes())
                .db(i % 3)
                .insert(k.as_bytes(), s(&format!("v{i}")), 0, now);
            want.push((i % 3, k.into_bytes(), format!("v{i}").into_bytes()));
        }
        want.sort();
        let snap = Snapshot::begin(&ks, false, now, || {});
        // Change everything in every way while the snapshot is unwritten.
        for i in 0..5000 {
            let k = format!("k{i}");
            let mut sh = ks.lock(k.as_bytes());
            match i % 5 {
                0 => {
                    sh.db(i % 3).remove(k.as_bytes());
                }
                1 => {
                    sh.db(i % 3).insert(k.as_bytes(), s("changed"), 0, now);
                }
                2 => {
                    sh.db(i % 3).set_expire(k.as_bytes(), 5);
                }
                _ => {
                    sh.db(i % 3)
                        .insert(format!("new{i}").as_bytes(), s("x"), 0, now);
                }
            }
        }
        // FLUSHDB of db 2 and SWAPDB 0 1 mid-way.
        {
            let mut all = ks.lock_all();
            for sh in all.shards() {
                drop(sh.db(2).take());
                sh.dbs_mut().swap(0, 1);
            }
        }
        let mut pieces = Vec::new();
        snap.write(&ks, &mut |db, b| {
            pieces.push((db, b.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(contents(&pieces), want);
        // Afterwards the marks are consistent: a second snapshot sees the
        // current state exactly.
        let snap = Snapshot::begin(&ks, false, now, || {});
        let mut pieces = Vec::new();
        snap.write(&ks, &mut |db, b| {
            pieces.push((db, b.to_vec()));
            Ok(())
        })
        .unwrap();
        let got = contents(&pieces);
        let mut now_state = Vec::new();
        let mut all = ks.lock_all();
        for sh in all.shards() {
            for db in 0..4 {
                for (k, e) in sh.db_ref(db).iter() {
                    if let (Value::Str(v), false) = (&e.value, e.is_expired(now)) {
                        now_state.push((db, k.to_vec(), v.to_vec()));
                    }
                }
            }
        }
        now_state.sort();
        assert_eq!(got, now_state);
    }

    /// One writer thread changes keys while another thread saves; the
    /// snapshot must equal the writer's history replayed up to the instant
    /// the snapshot began.
    #[test]
    fn concurrent_writer_and_saver_agree_with_history() {
        use std::collections::BTreeMap;
        use std::sync::atomic::AtomicUsize;
        let ks = Arc::new(Keyspace::new(2));
        let op = |i: usize| (i * 7919 % 3000, i % 7);
        let apply = move |t: &mut Table, i: usize| {
            let (k, kind) = op(i);
            let key = format!("k{k}");
            match kind {
                0 | 1 => {
                    t.remove(key.as_bytes());
                }
                6 if i % 1000 == 6 => {
                    drop(t.take());
                }
                _ => {
                    t.insert(key.as_bytes(), s(&format!("v{i}")), 0, 0);
                }
            }
        };
        let model = |upto: usize| {
            let mut m = BTreeMap::new();
            for i in 0..upto {
                let (k, kind) = op(i);
                match kind {
                    0 | 1 => {
                        m.remove(&k);
                    }
                    6 if i % 1000 == 6 => m.clear(),
                    _ => {
                        m.insert(k, format!("v{i}"));
                    }
                }
            }
            m
        };
        let done = Arc::new(AtomicUsize::new(0));
        let total = 60_000;
        let writer = {
            let (ks, done) = (ks.clone(), done.clone());
            std::thread::spawn(move || {
                for i in 0..total {
                    let (k, kind) = op(i);
                    if kind == 6 && i % 1000 == 6 {
                        let mut all = ks.lock_all();
                        for sh in all.shards() {
                            apply(sh.db(0), i);
                        }
                        done.store(i + 1, Relaxed);
                    } else {
                        let key = format!("k{k}");
                        let mut sh = ks.lock(key.as_bytes());
                        apply(sh.db(0), i);
                        done.store(i + 1, Relaxed);
                    }
                }
            })
        };
        let mut rounds = 0;
        while done.load(Relaxed) < total && rounds < 50 {
            rounds += 1;
            let mut at = 0;
            let snap = Snapshot::begin(&ks, false, 0, || at = done.load(Relaxed));
            let mut pieces = Vec::new();
            snap.write(&ks, &mut |db, b| {
                pieces.push((db, b.to_vec()));
                Ok(())
            })
            .unwrap();
            let got: Vec<_> = contents(&pieces)
                .into_iter()
                .map(|(_, k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
                .collect();
            let want: Vec<_> = model(at)
                .into_iter()
                .map(|(k, v)| (format!("k{k}"), v))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            assert_eq!(got, want, "snapshot at op {at}");
        }
        writer.join().unwrap();
        assert!(rounds > 1);
    }

    #[test]
    fn failed_sink_still_ends_the_snapshot() {
        let ks = Keyspace::new(1);
        for i in 0..1000 {
            let k = format!("k{i}");
            ks.lock(k.as_bytes())
                .db(0)
                .insert(k.as_bytes(), s("v"), 0, 0);
        }
        let snap = Snapshot::begin(&ks, false, 0, || {});
        let r = snap.write(&ks, &mut |_, _| Err(io::Error::other("disk full")));
        assert!(r.is_err());
        let mut all = ks.lock_all();
        for sh in all.shards() {
            assert!(!sh.db(0).snapshot_active());
        }
    }
}
