//! Sorted sets: members with IEEE double scores (never NaN), ordered by score
//! and then by member bytes.
//!
//! Two encodings, as in Redis:
//! - [`Packed`] (`OBJECT ENCODING` → `listpack`) while the set has at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value`
//!   bytes;
//! - [`Big`] (`skiplist`) past that: a member arena, a hash index from member
//!   to arena slot, and an order-statistic B+tree ([`tree::Tree`]) over
//!   `(score, slot)` that gives ranks in O(log n).
//!
//! A set only grows from packed to big; store commands (ZRANGESTORE,
//! ZUNIONSTORE, …) pick the encoding of their result by its final size.

pub mod packed;
pub mod tree;

use std::sync::LazyLock;

use hashbrown::HashTable;

pub use packed::Packed;
use tree::{Members, Tree};

pub use super::Limits;

/// Process-wide seeded hasher for member indexes (seeded at random so
/// members cannot be chosen to collide).
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

#[inline]
fn hash(m: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    HASHER.hash_one(m)
}

/// A member and its score in the arena.
#[derive(Clone)]
struct Slot {
    member: Box<[u8]>,
    score: f64,
}

#[derive(Clone, Default)]
struct Slots(Vec<Slot>);

impl Members for Slots {
    #[inline]
    fn member(&self, id: u32) -> &[u8] {
        &self.0[id as usize].member
    }
}

/// The large encoding.
#[derive(Clone, Default)]
pub struct Big {
    slots: Slots,
    free: Vec<u32>,
    index: HashTable<u32>,
    tree: Tree,
}

impl Big {
    fn find(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots.0;
        self.index
            .find(hash(m), |&id| &*slots[id as usize].member == m)
            .copied()
    }

    fn insert(&mut self, m: &[u8], score: f64) {
        let slot = Slot {
            member: m.into(),
            score,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots.0[id as usize] = slot;
                id
            }
            None => {
                self.slots.0.push(slot);
                (self.slots.0.len() - 1) as u32
            }
        };
        let slots = &self.slots.0;
        self.index
            .insert_unique(hash(m), id, |&i| hash(&slots[i as usize].member));
        self.tree.insert((score, id), &self.slots);
    }

    fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let slots = &self.slots.0;
        let entry = self
            .index
            .find_entry(hash(m), |&id| &*slots[id as usize].member == m)
            .ok()?;
        let (id, _) = entry.remove();
        let score = self.slots.0[id as usize].score;
        self.tree.remove((score, id), &self.slots);
        // A free slot has a NaN score (a member never does).
        self.slots.0[id as usize] = Slot {
            member: Box::default(),
            score: f64::NAN,
        };
        self.free.push(id);
        if self.free.len() == self.slots.0.len() {
            // Empty: give everything back.
            *self = Big::default();
        }
        Some(score)
    }

    fn set_score(&mut self, id: u32, new: f64) {
        let old = self.slots.0[id as usize].score;
        self.tree.remove((old, id), &self.slots);
        self.slots.0[id as usize].score = new;
        self.tree.insert((new, id), &self.slots);
    }

    /// ZSCAN: visit up to `count` arena slots from `cursor`, answering the
    /// next cursor (0 when done). A member keeps its slot for as long as it
    /// is in the set, so one present for a whole scan is seen exactly once.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        let slots = &self.slots.0;
        let start = (cursor as usize).min(slots.len());
        let end = start.saturating_add(count).min(slots.len());
        for s in &slots[start..end] {
            if !s.score.is_nan() {
                f(&s.member, s.score);
            }
        }
        if end >= slots.len() {
            0
        } else {
            end as u64
        }
    }

    #[inline]
    fn entry(&self, key: tree::Key) -> (&[u8], f64) {
        (&self.slots.0[key.1 as usize].member, key.0)
    }
}

/// A sorted set.
#[derive(Clone)]
pub enum ZSet {
    Packed(Packed),
    Big(Big),
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_vec() == other.to_vec()
    }
}

impl ZSet {
    /// An empty set in the encoding Redis would pick for `size_hint` members,
    /// the first of which is `value_len_hint` bytes long.
    pub fn with_hint(size_hint: usize, value_len_hint: usize, lim: Limits) -> ZSet {
        if size_hint <= lim.max_entries && value_len_hint <= lim.max_value && lim.max_entries > 0 {
            ZSet::Packed(Packed::default())
        } else {
            ZSet::Big(Big::default())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Packed(p) => p.len(),
            ZSet::Big(b) => b.tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Packed(_) => "listpack",
            ZSet::Big(_) => "skiplist",
        }
    }

    /// Convert to the big encoding.
    pub fn make_big(&mut self) {
        if let ZSet::Packed(p) = self {
            let mut big = Big::default();
            big.slots.0.reserve(p.len());
            for e in p.iter() {
                big.insert(e.member, e.score);
            }
            *self = ZSet::Big(big);
        }
    }

    /// Redis's `zsetTypeMaybeConvert`: about to add up to `size_hint`
    /// members, convert now if that would exceed the packed limit.
    pub fn reserve(&mut self, size_hint: usize, lim: Limits) {
        if matches!(self, ZSet::Packed(_)) && size_hint > lim.max_entries {
            self.make_big();
        }
    }

    /// A result set built by a store command: packed if it fits.
    pub fn fit(&mut self, lim: Limits) {
        if let ZSet::Big(b) = self {
            let max_len = b.slots.0.iter().map(|s| s.member.len()).max().unwrap_or(0);
            if b.tree.len() <= lim.max_entries && max_len <= lim.max_value {
                let mut p = Packed::default();
                b.tree.walk(0, b.tree.len(), false, &mut |k| {
                    p.push(&b.slots.0[k.1 as usize].member, k.0)
                });
                *self = ZSet::Packed(p);
            }
        }
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(p) => p.find(m).map(|(_, e)| e.score),
            ZSet::Big(b) => b.find(m).map(|id| b.slots.0[id as usize].score),
        }
    }

    /// Add member `m` (which must be absent) with `score`, converting to the
    /// big encoding first if the packed form would outgrow `lim`.
    pub fn insert(&mut self, m: &[u8], score: f64, lim: Limits) {
        if let ZSet::Packed(p) = self {
            if p.len() + 1 > lim.max_entries || m.len() > lim.max_value {
                self.make_big();
            }
        }
        match self {
            ZSet::Packed(p) => p.insert(m, score),
            ZSet::Big(b) => b.insert(m, score),
        }
    }

    /// Set the score of a member that is present.
    pub fn set_score(&mut self, m: &[u8], score: f64) {
        match self {
            ZSet::Packed(p) => {
                p.remove(m);
                p.insert(m, score);
            }
            ZSet::Big(b) => {
                if let Some(id) = b.find(m) {
                    b.set_score(id, score);
                }
            }
        }
    }

    /// Add or update; answers the previous score.
    pub fn put(&mut self, m: &[u8], score: f64, lim: Limits) -> Option<f64> {
        match self.score(m) {
            Some(old) => {
                if old != score {
                    self.set_score(m, score);
                }
                Some(old)
            }
            None => {
                self.insert(m, score, lim);
                None
            }
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(p) => p.remove(m),
            ZSet::Big(b) => b.remove(m),
        }
    }

    /// 0-based ascending rank and score of `m`.
    pub fn rank(&self, m: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Packed(p) => p.find(m).map(|(r, e)| (r, e.score)),
            ZSet::Big(b) => {
                let id = b.find(m)?;
                let score = b.slots.0[id as usize].score;
                Some((b.tree.rank((score, id), &b.slots), score))
            }
        }
    }

    /// The member and score at ascending rank `r` (< len).
    pub fn get(&self, r: usize) -> (&[u8], f64) {
        match self {
            ZSet::Packed(p) => p
                .iter()
                .nth(r)
                .map(|e| (e.member, e.score))
                .unwrap_or((&[], 0.0)),
            ZSet::Big(b) => b.entry(b.tree.get(r)),
        }
    }

    /// How many leading members satisfy `below(score, member)`, a predicate
    /// that holds for a prefix of the order and not after it.
    pub fn count_below(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Packed(p) => p.iter().take_while(|e| below(e.score, e.member)).count(),
            ZSet::Big(b) => b
                .tree
                .count_below(|k| below(k.0, &b.slots.0[k.1 as usize].member)),
        }
    }

    /// Visit ranks `start..end` in ascending order, or descending with `rev`.
    pub fn walk<'a>(
        &'a self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&'a [u8], f64),
    ) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match self {
            ZSet::Packed(p) => {
                let it = p.iter().skip(start).take(end - start);
                if rev {
                    let v: Vec<_> = it.collect();
                    v.iter().rev().for_each(|e| f(e.member, e.score));
                } else {
                    it.for_each(|e| f(e.member, e.score));
                }
            }
            ZSet::Big(b) => b.tree.walk(start, end, rev, &mut |k| {
                let (m, s) = b.entry(k);
                f(m, s)
            }),
        }
    }

    /// Remove the members with ranks `start..end`.
    pub fn remove_ranks(&mut self, start: usize, end: usize) {
        match self {
            ZSet::Packed(p) => p.remove_ranks(start, end),
            ZSet::Big(_) => {
                let mut doomed = Vec::with_capacity(end.saturating_sub(start));
                self.walk(start, end, false, |m, _| doomed.push(m.to_vec()));
                for m in doomed {
                    self.remove(&m);
                }
            }
        }
    }

    /// A set holding `members`, which are distinct and sorted by (score,
    /// member): packed if it fits the limits (Redis's
    /// `zsetConvertToListpackIfNeeded` for store commands).
    pub fn from_sorted(members: &[(Vec<u8>, f64)], lim: Limits) -> ZSet {
        let max_len = members.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        if members.len() <= lim.max_entries && max_len <= lim.max_value {
            let mut p = Packed::default();
            for (m, s) in members {
                p.push(m, *s);
            }
            ZSet::Packed(p)
        } else {
            let mut b = Big::default();
            b.slots.0.reserve(members.len());
            for (m, s) in members {
                b.insert(m, *s);
            }
            ZSet::Big(b)
        }
    }

    /// All members and scores, in order (tests, debugging, conversions).
    pub fn to_vec(&self) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::with_capacity(self.len());
        self.walk(0, self.len(), false, |m, s| v.push((m.to_vec(), s)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_big_agree() {
        let lim = Limits::default();
        let mut small = ZSet::with_hint(1, 1, lim);
        let mut big = ZSet::Big(Big::default());
        for i in 0..100u32 {
            let m = format!("m{}", (i * 7) % 50);
            let s = (i % 13) as f64 - 6.0;
            assert_eq!(
                small.put(m.as_bytes(), s, lim),
                big.put(m.as_bytes(), s, lim)
            );
        }
        assert_eq!(small.encoding(), "listpack");
        assert_eq!(small.to_vec(), big.to_vec());
        for i in 0..small.len() {
            assert_eq!(small.get(i), big.get(i));
            let (m, _) = small.get(i);
            assert_eq!(small.rank(m), big.rank(m));
        }
        assert_eq!(
            small.count_below(|s, _| s < 0.0),
            big.count_below(|s, _| s < 0.0)
        );
        small.remove_ranks(3, 9);
        big.remove_ranks(3, 9);
        assert_eq!(small.to_vec(), big.to_vec());
        let mut b2 = big.clone();
        b2.fit(lim);
        assert_eq!(b2.encoding(), "listpack");
        assert_eq!(b2, big);
    }

    #[test]
    fn converts_past_limits() {
        let lim = Limits {
            max_entries: 4,
            max_value: 8,
        };
        let mut z = ZSet::with_hint(1, 1, lim);
        for i in 0..4 {
            z.insert(format!("{i}").as_bytes(), i as f64, lim);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"x", 9.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::with_hint(1, 1, lim);
        z.insert(b"123456789", 1.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.remove(b"123456789"), Some(1.0));
        assert!(z.is_empty());
    }
}
