//! The keyspace: all databases, partitioned into independently locked shards.
//!
//! A key belongs to a Redis Cluster hash slot (CRC16 of the key, or of its
//! `{hash tag}`, mod 16384); slots are grouped into [`NSHARDS`] shards
//! (`slot % NSHARDS`). Each shard sits behind its own mutex and holds, for
//! each of the 16 databases, a [`Table`] of that shard's keys. Commands on
//! keys in different shards never contend; a multi-key command locks every
//! shard it needs *in ascending shard order* ([`Keyspace::lock_keys`]), so two
//! such commands can never deadlock, and holds them all while it runs, so it
//! is atomic. Because the partition follows hash slots, keys that share a
//! `{tag}` share a shard, and cluster mode can later hand out slots without
//! re-laying out anything.
//!
//! Rule for callers: never lock a second shard while holding one, except
//! through `lock_keys`/`lock_all`.

pub mod access;
pub mod dense;
pub mod expire;
pub mod table;
pub mod watch;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::types::Value;

pub use table::{Entry, Key, Lookup, Table, NO_EXPIRE};

/// Number of shards. A power of two dividing 16384, so each shard owns a fixed
/// set of hash slots. 64 keeps contention low at 16 cores while the per-shard
/// overhead (16 empty tables) stays negligible.
pub const NSHARDS: usize = 64;

/// Redis Cluster's number of hash slots.
pub const SLOTS: u16 = 16384;

/// The hash slot of a key: CRC16 (XMODEM) of the key, or of the part between
/// the first `{` and the next `}` when that part is non-empty.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match find_byte(key, b'{') {
        Some(open) => match find_byte(&key[open + 1..], b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16_xmodem(hashed) % SLOTS
}

/// The first `needle` in `hay`, eight bytes per step: a word XORed with the
/// needle repeated has a zero byte where they match, and the lowest such
/// byte is the first match (borrows only run upwards from a zero byte).
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * needle as u64;
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pattern;
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| at + i)
}

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
/// Redis Cluster uses for key slots. Eight bytes per step ("slicing by 8"):
/// the eight table lookups of a step are independent, where the classic
/// one-byte loop waits for each lookup before the next (that loop was about
/// 7% of the server's CPU in a pipelined GET profile with 16-byte keys). The
/// `crc16` crate checks both loops in tests.
#[inline]
pub fn crc16_xmodem(data: &[u8]) -> u16 {
    let t = &CRC16_TABLES;
    let mut crc: u16 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        // The CRC so far folds into the block's first two bytes; byte i of
        // the block then counts as itself followed by 7 - i zero bytes.
        let hi = (c[0] ^ (crc >> 8) as u8) as usize;
        let lo = (c[1] ^ crc as u8) as usize;
        crc = t[7][hi]
            ^ t[6][lo]
            ^ t[5][c[2] as usize]
            ^ t[4][c[3] as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc << 8) ^ t[0][((crc >> 8) as u8 ^ b) as usize];
    }
    crc
}

/// `CRC16_TABLES[k][v]`: the CRC of byte `v` followed by `k` zero bytes.
const CRC16_TABLES: [[u16; 256]; 8] = {
    let mut t = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// Counters kept per shard (summed for INFO), updated under the shard lock.
#[derive(Default, Debug, Clone, Copy)]
pub struct ShardStats {
    pub expired_keys: u64,
    /// Keys deleted by maxmemory eviction.
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Changes since the last save (Redis's `server.dirty`).
    pub dirty: u64,
}

/// One shard: a table per database, plus counters.
pub struct Shard {
    dbs: Box<[Table]>,
    pub stats: ShardStats,
    /// Position in the keyspace's shard array.
    index: usize,
    /// Clients blocked on this shard's keys.
    pub waiters: crate::blocking::Queues,
    /// Clients watching this shard's keys (WATCH).
    pub watches: watch::Watches,
    /// The AOF propagation log (shared by every shard).
    pub log: Arc<crate::persist::aof::Log>,
    /// Where keyspace notifications of expiry and eviction go.
    pub pubsub: Arc<crate::pubsub::PubSub>,
    /// Unix ms until which keys do not expire ([`Keyspace::hold`]).
    held_until: Arc<AtomicU64>,
}

impl Shard {
    fn new(
        ndbs: usize,
        index: usize,
        log: Arc<crate::persist::aof::Log>,
        pubsub: Arc<crate::pubsub::PubSub>,
        held_until: Arc<AtomicU64>,
    ) -> Self {
        Shard {
            held_until,
            log,
            dbs: (0..ndbs).map(|_| Table::default()).collect(),
            stats: ShardStats::default(),
            index,
            waiters: Default::default(),
            watches: Default::default(),
            pubsub,
        }
    }

    /// A key was found expired and deleted (lazily or by the active cycle):
    /// count it and raise the `expired` event.
    #[inline]
    pub fn expired(&mut self, db: usize, key: &[u8]) {
        expired_in(&mut self.stats, &self.pubsub, db, key);
    }

    /// The table of database `db` (callers validated `db` at SELECT time).
    #[inline]
    pub fn db(&mut self, db: usize) -> &mut Table {
        &mut self.dbs[db]
    }

    #[inline]
    pub fn db_ref(&self, db: usize) -> &Table {
        &self.dbs[db]
    }

    pub fn dbs_mut(&mut self) -> &mut [Table] {
        &mut self.dbs
    }

    /// Look a key up for reading: lazy expiry, hit/miss counting, LRU touch.
    #[inline]
    pub fn read(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        match self.dbs[db].lookup_keeping(key, now, &self.held_until) {
            Lookup::Found(e) => {
                self.stats.keyspace_hits += 1;
                access::touch(&mut e.lru, now);
                Some(e)
            }
            Lookup::Expired(gone) => {
                expired_by_lookup(&mut self.stats, &self.pubsub, &self.log, db, key, gone);
                self.stats.keyspace_misses += 1;
                crate::notify::notify(&self.pubsub, crate::notify::KEY_MISS, "keymiss", db, key);
                None
            }
            Lookup::Missing => {
                self.stats.keyspace_misses += 1;
                crate::notify::notify(&self.pubsub, crate::notify::KEY_MISS, "keymiss", db, key);
                None
            }
        }
    }

    /// Look a key up for writing: lazy expiry and LRU touch, no hit/miss count.
    #[inline]
    pub fn write(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        match self.dbs[db].lookup(key, now) {
            Lookup::Found(e) => {
                access::touch(&mut e.lru, now);
                Some(e)
            }
            Lookup::Expired(gone) => {
                expired_by_lookup(&mut self.stats, &self.pubsub, &self.log, db, key, gone);
                None
            }
            Lookup::Missing => None,
        }
    }

    /// The value of type `T` at `key`, for reading (as [`Shard::read`]): None
    /// if missing, WRONGTYPE if the key holds another type.
    #[inline]
    pub fn read_as<T: crate::types::Typed>(
        &mut self,
        db: usize,
        key: &[u8],
        now: u64,
    ) -> Result<Option<&mut T>, crate::error::CmdError> {
        match self.read(db, key, now) {
            None => Ok(None),
            Some(e) => T::of(&mut e.value)
                .map(Some)
                .ok_or(crate::error::CmdError::WrongType),
        }
    }

    /// As [`Shard::read_as`], for a write (no hit/miss counting).
    #[inline]
    pub fn write_as<T: crate::types::Typed>(
        &mut self,
        db: usize,
        key: &[u8],
        now: u64,
    ) -> Result<Option<&mut T>, crate::error::CmdError> {
        match self.write(db, key, now) {
            None => Ok(None),
            Some(e) => T::of(&mut e.value)
                .map(Some)
                .ok_or(crate::error::CmdError::WrongType),
        }
    }

    /// Whether a live key exists (lazy-expires it otherwise); no stats, no touch.
    pub fn exists(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        match self.dbs[db].lookup_keeping(key, now, &self.held_until) {
            Lookup::Found(_) => true,
            Lookup::Expired(gone) => {
                expired_by_lookup(&mut self.stats, &self.pubsub, &self.log, db, key, gone);
                false
            }
            Lookup::Missing => false,
        }
    }

    /// After removing from the collection at `key`: delete the key when the
    /// collection is now empty (Redis never keeps empty collections), and
    /// record the change.
    /// The caller raises its own event (`hdel`, `lpop`…) first; an emptied
    /// collection then raises `del`, as in Redis.
    pub fn removed_from(&mut self, db: usize, key: &[u8], now_empty: bool) {
        if now_empty {
            self.dbs[db].remove(key);
        }
        self.modified(db, key);
        if now_empty {
            self.notify(crate::notify::GENERIC, "del", db, key);
        }
    }

    /// Raise a keyspace notification (see `src/notify.rs`).
    #[inline]
    pub fn notify(&self, class: u32, event: &str, db: usize, key: &[u8]) {
        crate::notify::notify(&self.pubsub, class, event, db, key);
    }

    /// Store the result of a *STORE command at `key`, replacing whatever is
    /// there (TTL included); an empty result deletes the key instead (and
    /// raises `del` if there was one; the caller raises its store event
    /// for a non-empty result).
    pub fn store_result(&mut self, db: usize, key: &[u8], value: Value, empty: bool, now: u64) {
        if empty {
            if self.dbs[db].remove(key).is_some() {
                self.modified(db, key);
                self.notify(crate::notify::GENERIC, "del", db, key);
            }
        } else {
            self.dbs[db].insert(key, value, NO_EXPIRE, now);
            self.modified(db, key);
        }
    }

    /// SWAPDB: every key of `db` may hold new data for waiting clients.
    pub fn db_swapped(&mut self, db: usize) {
        if !self.waiters.is_empty() {
            self.waiters.touch_db(db, self.index);
        }
    }

    /// Record that `key` in `db` was modified. Every write path calls this once
    /// per key it changes: it counts toward save points and is the single hook
    /// where WATCH invalidation and blocked-client wake-ups attach.
    #[inline]
    /// A change that is counted and logged but that watchers, trackers and
    /// blocked clients do not see: Redis's bare `server.dirty++` (PFDEBUG's
    /// encoding conversions).
    pub fn dirtied(&mut self) {
        self.stats.dirty += 1;
        crate::persist::aof::log::touched(&self.log);
    }

    /// A change that blocked clients hear about but watchers and trackers
    /// do not: Redis's `signalKeyAsReady` plus `server.dirty++` without
    /// `signalModifiedKey` (XGROUP DESTROY).
    pub fn wake(&mut self, db: usize, key: &[u8]) {
        self.dirtied();
        if !self.waiters.is_empty() {
            self.waiters.touch(db, key, self.index);
        }
    }

    pub fn modified(&mut self, db: usize, key: &[u8]) {
        self.stats.dirty += 1;
        crate::persist::aof::log::touched(&self.log);
        crate::tracking::Tracking::touched(&self.pubsub, key);
        if self.dbs[db].take_created(key) {
            // Raised before the command's own event, as Redis's dbAdd does.
            crate::notify::notify(&self.pubsub, crate::notify::NEW, "new", db, key);
        }
        if !self.waiters.is_empty() {
            self.waiters.touch(db, key, self.index);
        }
        if !self.watches.is_empty() {
            self.watches.touch(db, key);
        }
    }

    /// The type of the live value at `key`, with no side effect (no lazy
    /// expiry, stats or LRU touch: Redis's LOOKUP_NOEFFECTS, as it checks
    /// whether a blocked client can be served).
    pub fn live_type(&self, db: usize, key: &[u8], now: u64) -> Option<&'static str> {
        let t = &self.dbs[db];
        t.position(key)
            .and_then(|p| t.at(p))
            .filter(|(_, e)| !e.is_expired(now))
            .map(|(_, e)| e.value.type_name())
    }

    /// Whether `key` holds a live (present, not expired) value; no lazy
    /// expiry, no stats.
    pub fn is_live(&self, db: usize, key: &[u8], now: u64) -> bool {
        live_in(&self.dbs[db], key, now)
    }

    /// `db` is about to be emptied (FLUSHDB/FLUSHALL): watched keys that
    /// hold a live value are modified (a stale or missing one is not, as in
    /// Redis).
    pub fn db_flushing(&mut self, db: usize, now: u64) {
        if !self.waiters.is_empty() {
            // XREADGROUP waiters learn that their group is gone.
            self.waiters.touch_db(db, self.index);
        }
        if !self.watches.is_empty() {
            let t = &self.dbs[db];
            self.watches.touch_db(db, |k| live_in(t, k, now));
        }
    }

    /// Databases `a` and `b` are about to be swapped: a watched key of
    /// either that is live in either changes.
    pub fn dbs_swapping(&mut self, a: usize, b: usize, now: u64) {
        if !self.watches.is_empty() {
            let (ta, tb) = (&self.dbs[a], &self.dbs[b]);
            let changed = |k: &[u8]| live_in(ta, k, now) || live_in(tb, k, now);
            self.watches.touch_db(a, changed);
            self.watches.touch_db(b, changed);
        }
    }
}

/// [`Shard::expired`] on the fields, for lookups that still borrow a table.
#[inline]
fn expired_in(stats: &mut ShardStats, pubsub: &crate::pubsub::PubSub, db: usize, key: &[u8]) {
    stats.expired_keys += 1;
    crate::tracking::Tracking::expired(pubsub, key);
    crate::notify::notify(pubsub, crate::notify::EXPIRED, "expired", db, key);
}

/// A lookup found `key` expired and deleted it: count it, raise
/// `expired`, log the deletion and free the value (in the background with
/// lazyfree-lazy-expire). Fields apart, as the lookup still borrows a table.
#[cold]
fn expired_by_lookup(
    stats: &mut ShardStats,
    pubsub: &crate::pubsub::PubSub,
    log: &crate::persist::aof::Log,
    db: usize,
    key: &[u8],
    gone: Entry,
) {
    expired_in(stats, pubsub, db, key);
    let why = crate::persist::aof::log::Deletion::Expired;
    crate::persist::aof::log::deleted(log, db, key, why);
    free_deleted(log, why, gone);
}

/// Free the entry of a key the server deleted itself: in the background
/// (a big value) when that kind of deletion is lazy.
pub fn free_deleted(
    log: &crate::persist::aof::Log,
    why: crate::persist::aof::log::Deletion,
    gone: Entry,
) {
    if log.lazy(why) {
        crate::lazyfree::drop_value(gone.value);
    }
}

fn live_in(t: &Table, key: &[u8], now: u64) -> bool {
    t.position(key)
        .and_then(|p| t.at(p))
        .is_some_and(|(_, e)| !e.is_expired(now))
}

/// Pads a value to its own cache line so neighbouring shard locks do not
/// false-share.
#[repr(align(128))]
struct Padded<T>(T);

/// All databases of the server.
pub struct Keyspace {
    shards: Box<[Padded<Mutex<Shard>>]>,
    ndbs: usize,
    log: Arc<crate::persist::aof::Log>,
    held_until: Arc<AtomicU64>,
    /// What CLIENT PAUSE asked for ([`Keyspace::hold`]).
    pause_until: AtomicU64,
    /// A replica: expiry and eviction are held for as long as it is one.
    replica: std::sync::atomic::AtomicBool,
    /// DEBUG SET-ACTIVE-EXPIRE: whether the background expiry cycle runs
    /// (tests turn it off to observe lazy expiry alone).
    pub active_expire: std::sync::atomic::AtomicBool,
    /// Snapshots begun, and how long the last one held every shard to
    /// begin (INFO `total_forks`, `latest_fork_usec`: the pause that stands
    /// for Redis's fork).
    snapshots: AtomicU64,
    latest_snapshot_us: AtomicU64,
}

impl Keyspace {
    pub fn new(ndbs: usize) -> Self {
        Self::with_pubsub(ndbs, Default::default())
    }

    /// A keyspace whose expiry and eviction events go to `pubsub`.
    pub fn with_pubsub(ndbs: usize, pubsub: Arc<crate::pubsub::PubSub>) -> Self {
        let log = Arc::new(crate::persist::aof::Log::default());
        let held_until = Arc::new(AtomicU64::new(0));
        Keyspace {
            shards: (0..NSHARDS)
                .map(|i| {
                    let shard =
                        Shard::new(ndbs, i, log.clone(), pubsub.clone(), held_until.clone());
                    Padded(Mutex::new(shard))
                })
                .collect(),
            ndbs,
            log,
            held_until,
            pause_until: AtomicU64::new(0),
            replica: std::sync::atomic::AtomicBool::new(false),
            active_expire: std::sync::atomic::AtomicBool::new(true),
            snapshots: AtomicU64::new(0),
            latest_snapshot_us: AtomicU64::new(0),
        }
    }

    /// CLIENT PAUSE: until Unix ms `until` (0: from now on) no key expires
    /// and none is evicted, as Redis pauses its expire and evict actions.
    /// Reads still see an expired key as missing; it is deleted (and
    /// counted) once the hold ends.
    pub fn hold(&self, until_ms: u64) {
        self.pause_until.store(until_ms, Relaxed);
        self.apply_hold();
    }

    /// A replica holds expiry and eviction the same way, as Redis's
    /// replicas leave both to their master (its DELs come in the stream):
    /// reads see an expired key as missing, the master's commands see it
    /// (they run under `expire::Loading`), and nothing is evicted
    /// (`replica-ignore-maxmemory yes`).
    pub fn hold_as_replica(&self, on: bool) {
        self.replica.store(on, Relaxed);
        self.apply_hold();
    }

    fn apply_hold(&self) {
        let until = if self.replica.load(Relaxed) {
            u64::MAX
        } else {
            self.pause_until.load(Relaxed)
        };
        self.held_until.store(until, Relaxed);
    }

    /// Whether expiry and eviction are held at `now`.
    #[inline]
    pub fn held(&self, now: u64) -> bool {
        self.held_until.load(Relaxed) > now
    }

    /// The AOF propagation log every shard reports to.
    /// A background snapshot began (BGSAVE, a rewrite, a full sync: what
    /// Redis forks for); fixing its instant held every shard `us` µs.
    pub fn note_snapshot(&self, us: u64) {
        self.snapshots.fetch_add(1, Relaxed);
        self.latest_snapshot_us.store(us, Relaxed);
    }

    /// (snapshots begun, µs the last one held every shard to begin).
    pub fn snapshot_stats(&self) -> (u64, u64) {
        (
            self.snapshots.load(Relaxed),
            self.latest_snapshot_us.load(Relaxed),
        )
    }

    pub fn log(&self) -> &Arc<crate::persist::aof::Log> {
        &self.log
    }

    /// Number of databases (`databases` config).
    pub fn ndbs(&self) -> usize {
        self.ndbs
    }

    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        key_slot(key) as usize % NSHARDS
    }

    /// Lock the shard holding `key`.
    #[inline]
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.shards[self.shard_of(key)].0.lock()
    }

    /// Lock shard `i` (for whole-keyspace walks, one shard at a time).
    pub fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].0.lock()
    }

    /// Lock every shard any of `keys` lives in, in ascending order.
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> MultiLock<'_> {
        let mut idx: Vec<usize> = keys.into_iter().map(|k| self.shard_of(k)).collect();
        idx.sort_unstable();
        idx.dedup();
        MultiLock {
            guards: idx
                .into_iter()
                .map(|i| (i, self.shards[i].0.lock()))
                .collect(),
        }
    }

    /// Lock every shard (FLUSHALL, SWAPDB, snapshots of the whole keyspace).
    pub fn lock_all(&self) -> MultiLock<'_> {
        MultiLock {
            guards: self
                .shards
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.0.lock()))
                .collect(),
        }
    }

    /// Number of live-or-not-yet-reclaimed keys in `db` (DBSIZE; Redis also
    /// counts keys whose TTL passed but that were not reclaimed yet).
    pub fn dbsize(&self, db: usize) -> usize {
        (0..NSHARDS)
            .map(|i| self.lock_shard(i).db_ref(db).len())
            .sum()
    }

    /// `(keys, keys_with_ttl)` of `db`, for INFO keyspace.
    pub fn db_counts(&self, db: usize) -> (usize, usize) {
        (0..NSHARDS).fold((0, 0), |(k, v), i| {
            let s = self.lock_shard(i);
            let t = s.db_ref(db);
            (k + t.len(), v + t.volatile_len())
        })
    }

    /// Counters summed over shards.
    pub fn stats(&self) -> ShardStats {
        let mut sum = ShardStats::default();
        for i in 0..NSHARDS {
            let s = self.lock_shard(i).stats;
            sum.expired_keys += s.expired_keys;
            sum.evicted_keys += s.evicted_keys;
            sum.keyspace_hits += s.keyspace_hits;
            sum.keyspace_misses += s.keyspace_misses;
            sum.dirty += s.dirty;
        }
        sum
    }

    /// Zero the hit/miss/expired counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for i in 0..NSHARDS {
            let mut s = self.lock_shard(i);
            let dirty = s.stats.dirty;
            s.stats = ShardStats {
                dirty,
                ..ShardStats::default()
            };
        }
    }
}

/// Something holding the lock of every shard a command touches: a
/// [`MultiLock`], or one [`Shard`] when all keys are known to live in it.
/// Lets an operation over two keys (LMOVE) run the same way in both cases.
pub trait Locked {
    /// The locked shard holding `key`.
    fn shard_for(&mut self, key: &[u8]) -> &mut Shard;
}

impl Locked for Shard {
    fn shard_for(&mut self, _key: &[u8]) -> &mut Shard {
        self
    }
}

impl Locked for MultiLock<'_> {
    fn shard_for(&mut self, key: &[u8]) -> &mut Shard {
        self.shard(key)
    }
}

/// Several shards locked together, in ascending order.
pub struct MultiLock<'a> {
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl<'a> MultiLock<'a> {
    /// The locked shard holding `key`. The key must have been passed to
    /// `lock_keys` (or the lock must be `lock_all`).
    pub fn shard(&mut self, key: &[u8]) -> &mut Shard {
        let i = key_slot(key) as usize % NSHARDS;
        let at = self
            .guards
            .binary_search_by_key(&i, |(j, _)| *j)
            .unwrap_or_else(|_| panic!("shard {i} was not locked for this key"));
        &mut self.guards[at].1
    }

    /// Read-only view of a live key's value in a locked shard (no expiry, no
    /// stats: for commands that already looked the key up with `read`).
    pub fn peek(&self, db: usize, key: &[u8]) -> Option<&crate::types::Value> {
        let i = key_slot(key) as usize % NSHARDS;
        let at = self.guards.binary_search_by_key(&i, |(j, _)| *j).ok()?;
        let t = self.guards[at].1.db_ref(db);
        t.position(key).and_then(|p| t.at(p)).map(|(_, e)| &e.value)
    }

    /// Every locked shard.
    pub fn shards(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_table_matches_reference_crate() {
        let mut data = Vec::new();
        for i in 0..300u32 {
            data.push((i.wrapping_mul(2654435761) >> 13) as u8);
            assert_eq!(
                crc16_xmodem(&data),
                crc16::State::<crc16::XMODEM>::calculate(&data)
            );
        }
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    #[test]
    fn find_byte_matches_position() {
        let mut data = Vec::new();
        for i in 0..200u32 {
            data.push(b"ab{}c"[(i.wrapping_mul(2654435761) >> 7) as usize % 5]);
            for start in 0..data.len().min(9) {
                for needle in [b'{', b'}', b'x'] {
                    assert_eq!(
                        find_byte(&data[start..], needle),
                        data[start..].iter().position(|&b| b == needle)
                    );
                }
            }
        }
        assert_eq!(find_byte(&[0x80, 0x7b, 0x7b], b'{'), Some(1));
        assert_eq!(find_byte(&[0xfb; 20], b'{'), None);
    }

    #[test]
    fn slots_match_redis_cluster() {
        // Values from `CLUSTER KEYSLOT` on Redis.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(
            key_slot(b"{}x"),
            crc16::State::<crc16::XMODEM>::calculate(b"{}x") % SLOTS
        );
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }
}
