//! One database's keys within one shard.
//!
//! Keys live in a dense hash map ([`super::dense::DenseMap`]): every entry also
//! has a *position* `0..len`, so a uniformly random key is one random number
//! away (eviction sampling, RANDOMKEY). Removal is `swap_remove`: the last
//! entry moves into the hole, keeping positions dense.
//!
//! Keys with a TTL are also listed in `volatile`, a vector of their positions,
//! so a random key *with a TTL* is O(1) too (active expiry, volatile-*
//! eviction). Each such entry remembers its slot in `volatile` (`vpos`), and
//! the two structures are kept pointing at each other whenever an entry moves.
//! This costs 4 bytes per key with a TTL instead of a second copy of the key.
//!
//! SCAN walks positions from the top down. Removal only ever moves the *last*
//! entry, so an entry present for the whole scan can only move from a position
//! the cursor has already passed (it was returned) to anywhere (possibly
//! returned again, which SCAN allows), or from below the cursor to below the
//! cursor (still to come). New entries are appended above. Hence every key
//! present from start to end is returned at least once.

use crate::persist::snapshot::TableSnap;
use crate::types::Value;
use crate::util::rand_below;

pub type Key = Box<[u8]>;

/// Sentinel for "no TTL" in [`Entry::expire`]. Redis expiry times are absolute
/// Unix milliseconds; 0 would already be in the past, so it is free to use.
pub const NO_EXPIRE: u64 = 0;

/// What the keyspace keeps for each key.
#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix ms, or [`NO_EXPIRE`].
    expire: u64,
    /// Bits 0..31: this entry's index in `Table::volatile` (meaningful only
    /// with a TTL). Bit 31: the snapshot mark (see [`crate::persist::snapshot`]):
    /// an entry whose mark differs from its table's has not been saved by the
    /// running snapshot yet.
    vpos: u32,
    /// Access clock for LRU or LFU bits; see [`super::access`].
    pub lru: u32,
}

impl Entry {
    /// A new entry without TTL (tests).
    #[cfg(test)]
    pub(crate) fn new(value: Value) -> Entry {
        Entry {
            value,
            expire: NO_EXPIRE,
            vpos: 0,
            lru: 0,
        }
    }
    #[inline]
    pub fn expire(&self) -> u64 {
        self.expire
    }
    #[inline]
    pub fn has_ttl(&self) -> bool {
        self.expire != NO_EXPIRE
    }
    #[inline]
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire != NO_EXPIRE && self.expire <= now
    }
    #[inline]
    fn vpos(&self) -> usize {
        (self.vpos & !MARK) as usize
    }
    #[inline]
    fn set_vpos(&mut self, v: usize) {
        self.vpos = (self.vpos & MARK) | v as u32;
    }
    #[inline]
    fn mark(&self) -> u32 {
        self.vpos & MARK
    }
    #[inline]
    fn set_mark(&mut self, mark: u32) {
        self.vpos = (self.vpos & !MARK) | mark;
    }
}

/// The snapshot-mark bit of [`Entry::vpos`].
const MARK: u32 = 1 << 31;

type Map = super::dense::DenseMap;

/// The keys of one database in one shard.
#[derive(Default)]
pub struct Table {
    map: Map,
    volatile: Vec<u32>,
    /// 1 + the position of the key the last insert created (0: none), so
    /// the `modified` that follows can raise the `new` keyspace event.
    created: u32,
    /// The mark new entries get ([`MARK`] or 0); flipped when a snapshot
    /// starts, so every entry present then counts as not yet saved.
    mark: u32,
    /// Present while a snapshot that has not finished this table runs.
    snap: Option<Box<TableSnap>>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Position of a key, expired or not.
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        self.map.get_index_of(key)
    }

    /// The live entry for `key`, deleting it first if it has expired (lazy
    /// expiry). Returns `(entry, expired_now)` where `expired_now` tells the
    /// caller a key was reclaimed (for stats and notifications).
    #[inline]
    pub fn lookup(&mut self, key: &[u8], now: u64) -> Lookup<'_> {
        static NEVER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        self.lookup_keeping(key, now, &NEVER)
    }

    /// As [`Table::lookup`], but an expired key is only reported missing,
    /// not deleted, while `held_until` (Unix ms) is after `now` (CLIENT
    /// PAUSE holds expiry).
    #[inline]
    pub fn lookup_keeping(
        &mut self,
        key: &[u8],
        now: u64,
        held_until: &std::sync::atomic::AtomicU64,
    ) -> Lookup<'_> {
        match self.map.get_index_of(key) {
            None => Lookup::Missing,
            Some(i) if self.map[i].is_expired(now) && !super::expire::loading() => {
                self.expire_at(i, now, held_until)
            }
            Some(i) => {
                self.preserve(i);
                Lookup::Found(&mut self.map[i])
            }
        }
    }

    /// The entry at `i` has expired: delete it, unless expiry is held.
    #[cold]
    #[inline(never)]
    fn expire_at(
        &mut self,
        i: usize,
        now: u64,
        held_until: &std::sync::atomic::AtomicU64,
    ) -> Lookup<'_> {
        if held_until.load(std::sync::atomic::Ordering::Relaxed) > now {
            return Lookup::Missing;
        }
        Lookup::Expired(self.remove_at(i).1)
    }

    /// The live entry for `key`, if any (lazy expiry as in [`Table::lookup`],
    /// minus the report). Prefer `Shard::get` which also counts stats.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        match self.lookup(key, now) {
            Lookup::Found(e) => Some(e),
            _ => None,
        }
    }

    /// Entry at a position, with its key.
    #[inline]
    pub fn at(&self, i: usize) -> Option<(&Key, &Entry)> {
        self.map.get_index(i)
    }

    #[inline]
    pub fn at_mut(&mut self, i: usize) -> Option<(&Key, &mut Entry)> {
        if i < self.map.len() {
            self.preserve(i);
        }
        self.map.get_index_mut(i)
    }

    /// Before the entry at `i` changes or goes: if a snapshot is running and
    /// has not saved it yet, save it now, as it is (copy-on-write, per entry).
    #[inline]
    fn preserve(&mut self, i: usize) {
        if let Some(snap) = self.snap.as_deref_mut() {
            if let Some((key, entry)) = self.map.get_index_mut(i) {
                if entry.mark() != self.mark {
                    entry.set_mark(self.mark);
                    snap.preserve(key, entry);
                }
            }
        }
    }

    /// Insert or overwrite `key`. An overwrite replaces value and TTL (as SET
    /// does); returns the old entry.
    pub fn insert(&mut self, key: &[u8], value: Value, expire: u64, now: u64) -> Option<Entry> {
        let lru = super::access::initial(now);
        match self.map.get_index_of(key) {
            Some(i) => {
                self.preserve(i);
                let (old_expire, vpos) = (self.map[i].expire, self.map[i].vpos);
                // An overwrite keeps the key's access frequency under LFU
                // (as Redis's dbSetValue), else it counts as an access.
                let lru = if super::access::lfu_mode() {
                    self.map[i].lru
                } else {
                    lru
                };
                let old = std::mem::replace(
                    &mut self.map[i],
                    Entry {
                        value,
                        expire: old_expire,
                        vpos,
                        lru,
                    },
                );
                self.set_expire_at(i, expire);
                Some(old)
            }
            None => {
                let i = self.map.push_new(
                    key.into(),
                    Entry {
                        value,
                        expire: NO_EXPIRE,
                        vpos: self.mark,
                        lru,
                    },
                );
                self.set_expire_at(i, expire);
                self.created = i as u32 + 1;
                None
            }
        }
    }

    /// Insert an entry under an owned key, replacing any old one (RENAME, MOVE).
    pub fn insert_entry(&mut self, key: Key, value: Value, expire: u64, lru: u32) -> Option<Entry> {
        let old = self.remove(&key);
        let i = self.map.push_new(
            key,
            Entry {
                value,
                expire: NO_EXPIRE,
                vpos: self.mark,
                lru,
            },
        );
        self.set_expire_at(i, expire);
        // Redis deletes and re-adds the key: `new` even over an old one.
        self.created = i as u32 + 1;
        old
    }

    /// Whether the last insert created `key` (and forget it either way).
    #[inline]
    pub fn take_created(&mut self, key: &[u8]) -> bool {
        if self.created == 0 {
            return false;
        }
        let c = std::mem::take(&mut self.created);
        self.at(c as usize - 1).is_some_and(|(k, _)| &**k == key)
    }

    /// Remove `key` (expired or not); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let i = self.map.get_index_of(key)?;
        Some(self.remove_at(i).1)
    }

    /// Remove the entry at position `i`, keeping `volatile` consistent.
    pub fn remove_at(&mut self, i: usize) -> (Key, Entry) {
        let last = self.map.len() - 1;
        // The snapshot needs the removed entry, and the last one if it is
        // about to move below the snapshot's cursor, where it would be missed.
        if let Some(moved_behind) = self.snap.as_deref().map(|s| i != last && i < s.cursor) {
            self.preserve(i);
            if moved_behind {
                self.preserve(last);
            }
        }
        // Drop it from the volatile index first, while positions are unchanged.
        if self.map[i].has_ttl() {
            self.volatile_remove(self.map[i].vpos());
        }
        let removed = self
            .map
            .swap_remove_index(i)
            .unwrap_or_else(|| unreachable!("position {i} is in range"));
        // The entry that was last now sits at `i`; repoint its volatile slot.
        if i != last {
            let moved = &self.map[i];
            if moved.has_ttl() {
                self.volatile[moved.vpos()] = i as u32;
            }
        }
        removed
    }

    /// Set or clear (with [`NO_EXPIRE`]) the TTL of the entry at position `i`.
    pub fn set_expire_at(&mut self, i: usize, expire: u64) {
        self.preserve(i);
        let had = self.map[i].has_ttl();
        match (had, expire != NO_EXPIRE) {
            (false, true) => {
                let v = self.volatile.len();
                self.map[i].set_vpos(v);
                self.volatile.push(i as u32);
            }
            (true, false) => self.volatile_remove(self.map[i].vpos()),
            _ => {}
        }
        self.map[i].expire = expire;
    }

    /// Set the TTL of `key`; false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire: u64) -> bool {
        match self.map.get_index_of(key) {
            Some(i) => {
                self.set_expire_at(i, expire);
                true
            }
            None => false,
        }
    }

    fn volatile_remove(&mut self, vpos: usize) {
        self.volatile.swap_remove(vpos);
        if let Some(&moved) = self.volatile.get(vpos) {
            self.map[moved as usize].set_vpos(vpos);
        }
    }

    /// A uniformly random position, if the table is not empty.
    pub fn random_position(&self) -> Option<usize> {
        (!self.map.is_empty()).then(|| rand_below(self.map.len()))
    }

    /// A uniformly random position among keys with a TTL.
    pub fn random_volatile_position(&self) -> Option<usize> {
        (!self.volatile.is_empty()).then(|| self.volatile[rand_below(self.volatile.len())] as usize)
    }

    /// Visit positions downward from `cursor` (0 = start from the top) until at
    /// least `count` positions have been visited; returns the next cursor for
    /// this table (0 = this table is done). See the module comment for why
    /// this order is safe.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&Key, &Entry)) -> u64 {
        let mut pos = if cursor == 0 {
            self.map.len()
        } else {
            (cursor as usize).min(self.map.len())
        };
        let mut visited = 0;
        while pos > 0 && visited < count {
            pos -= 1;
            let (k, e) = self
                .map
                .get_index(pos)
                .unwrap_or_else(|| unreachable!("pos < len"));
            f(k, e);
            visited += 1;
        }
        pos as u64
    }

    /// Iterate every entry (SAVE, KEYS, DEBUG).
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter()
    }

    /// Remove everything, returning the old contents (FLUSHDB ASYNC frees
    /// them on another thread). While a snapshot still needs them, the old
    /// contents go to the snapshot instead, and an empty table is returned.
    pub fn take(&mut self) -> Table {
        let mut old = std::mem::take(self);
        self.mark = old.mark;
        match old.snap.take() {
            Some(snap) => {
                (*snap).adopt(old);
                Table::default()
            }
            None => old,
        }
    }

    /// A snapshot begins (see [`crate::persist::snapshot`]): every entry
    /// present now counts as not yet saved.
    pub(crate) fn snapshot_begin(&mut self, snap: Box<TableSnap>) {
        self.mark ^= MARK;
        self.snap = Some(snap);
    }

    /// Whether a snapshot still has to walk this table.
    pub(crate) fn snapshot_active(&self) -> bool {
        self.snap.is_some()
    }

    /// One step of the snapshot's walk: save up to `n` more positions (or
    /// until `out` holds `max_bytes`), after the pre-images clients already
    /// saved. Returns the database the output belongs to; the table leaves
    /// the snapshot when its walk is complete.
    pub(crate) fn snapshot_step(
        &mut self,
        n: usize,
        max_bytes: usize,
        out: &mut Vec<u8>,
        keys: &mut u64,
    ) -> usize {
        let Some(snap) = self.snap.as_deref_mut() else {
            return 0;
        };
        snap.drain_into(out);
        let db = snap.db();
        let end = snap.end.min(self.map.len());
        let stop = (snap.cursor + n).min(end);
        while let Some(snap) = self.snap.as_deref_mut() {
            let i = snap.cursor;
            if i >= stop || out.len() >= max_bytes {
                break;
            }
            snap.cursor += 1;
            if let Some((key, entry)) = self.map.get_index_mut(i) {
                if entry.mark() != self.mark {
                    entry.set_mark(self.mark);
                    crate::persist::snapshot::serialize(snap, key, entry, out, keys);
                }
            }
        }
        if let Some(snap) = self.snap.as_deref_mut() {
            if snap.cursor >= end {
                snap.drain_into(out);
                self.snap = None;
            }
        }
        db
    }

    /// Visit the entries a snapshot had not saved when this table was
    /// flushed (the snapshot owns the table then).
    pub(crate) fn for_unsaved(&self, mut f: impl FnMut(&Key, &Entry)) {
        for (k, e) in self.map.iter() {
            if e.mark() != self.mark {
                f(k, e);
            }
        }
    }

    /// Give memory back after mass deletion (e.g. a million keys expired).
    pub fn maybe_shrink(&mut self) {
        let cap = self.map.capacity();
        if cap > 64 && self.map.len() < cap / 8 {
            self.map.shrink_to_fit();
            self.volatile.shrink_to_fit();
        }
    }

    /// Check the invariants linking `map` and `volatile` (tests).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        let mut with_ttl = 0;
        for (i, (_, e)) in self.map.iter().enumerate() {
            if e.has_ttl() {
                with_ttl += 1;
                assert_eq!(self.volatile[e.vpos()] as usize, i);
            }
        }
        assert_eq!(with_ttl, self.volatile.len());
    }
}

/// The result of [`Table::lookup`].
pub enum Lookup<'a> {
    Found(&'a mut Entry),
    /// The key existed but had expired; it has just been deleted (its
    /// entry is the caller's to free, maybe lazily).
    Expired(Entry),
    Missing,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Str, Value};

    fn v(s: &str) -> Value {
        Value::Str(Str::from_bytes(s.as_bytes()))
    }

    #[test]
    fn volatile_index_follows_swaps() {
        let mut t = Table::default();
        for i in 0..200u64 {
            let exp = if i % 3 == 0 { 1_000 + i } else { NO_EXPIRE };
            t.insert(format!("k{i}").as_bytes(), v("x"), exp, 0);
        }
        t.check_invariants();
        for i in (0..200).step_by(7) {
            t.remove(format!("k{i}").as_bytes());
            t.check_invariants();
        }
        for i in (1..200).step_by(5) {
            t.set_expire(format!("k{i}").as_bytes(), 5);
            t.check_invariants();
        }
        for i in (0..200).step_by(2) {
            t.set_expire(format!("k{i}").as_bytes(), NO_EXPIRE);
            t.check_invariants();
        }
        while let Some(p) = t.random_position() {
            t.remove_at(p);
            t.check_invariants();
        }
    }

    #[test]
    fn lazy_expiry() {
        let mut t = Table::default();
        t.insert(b"a", v("1"), 100, 0);
        assert!(matches!(t.lookup(b"a", 99), Lookup::Found(_)));
        assert!(matches!(t.lookup(b"a", 100), Lookup::Expired(_)));
        assert!(matches!(t.lookup(b"a", 100), Lookup::Missing));
        assert_eq!(t.volatile_len(), 0);
    }

    #[test]
    fn scan_returns_survivors_despite_churn() {
        let mut t = Table::default();
        for i in 0..1000 {
            t.insert(format!("keep{i}").as_bytes(), v("x"), NO_EXPIRE, 0);
            t.insert(format!("tmp{i}").as_bytes(), v("x"), NO_EXPIRE, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = t.scan(cursor, 10, |k, _| {
                seen.insert(k.clone());
            });
            // Churn: delete some temporaries, add new ones.
            for j in 0..5 {
                t.remove(format!("tmp{}", round * 5 + j).as_bytes());
                t.insert(format!("new{round}_{j}").as_bytes(), v("x"), NO_EXPIRE, 0);
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(
                seen.contains(format!("keep{i}").as_bytes()),
                "keep{i} missed"
            );
        }
    }
}
