//! The `hashtable` encoding of a large set: members in a dense array, found
//! through a seeded hash index of array positions.
//!
//! The dense array gives O(1) random members (SPOP, SRANDMEMBER) and O(1)
//! removal by moving the last member into the hole. SSCAN walks the array
//! from the end towards the start: a removal only ever moves a member to a
//! lower position, and new members land at the end, so a member present for
//! a whole scan is never skipped (it may be seen twice), as SCAN promises.

use std::sync::LazyLock;

use hashbrown::HashTable;

/// Process-wide seeded hasher (seeded at random so members cannot be
/// chosen to collide).
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

#[inline]
fn hash(m: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    HASHER.hash_one(m)
}

#[derive(Clone, Default)]
pub struct Big {
    members: Vec<Box<[u8]>>,
    index: HashTable<u32>,
}

impl Big {
    pub fn with_capacity(n: usize) -> Big {
        Big {
            members: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        let ms = &self.members;
        self.index
            .find(hash(m), |&i| &*ms[i as usize] == m)
            .is_some()
    }

    /// Add `m`; false if present.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        let h = hash(m);
        let ms = &self.members;
        if self.index.find(h, |&i| &*ms[i as usize] == m).is_some() {
            return false;
        }
        let id = self.members.len() as u32;
        self.members.push(m.into());
        let ms = &self.members;
        self.index.insert_unique(h, id, |&i| hash(&ms[i as usize]));
        true
    }

    /// Remove `m`; false if absent.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let ms = &self.members;
        let Ok(entry) = self.index.find_entry(hash(m), |&i| &*ms[i as usize] == m) else {
            return false;
        };
        let (id, _) = entry.remove();
        self.remove_slot(id as usize);
        true
    }

    /// Drop the member at `pos` (its index entry is already gone), moving
    /// the last member into its place.
    fn remove_slot(&mut self, pos: usize) -> Box<[u8]> {
        let last = self.members.len() - 1;
        if pos != last {
            let moved = hash(&self.members[last]);
            if let Some(slot) = self.index.find_mut(moved, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        let m = self.members.swap_remove(pos);
        if self.members.capacity() > 2 * self.members.len() + 64 {
            self.members.shrink_to_fit();
            let ms = &self.members;
            self.index.shrink_to_fit(|&i| hash(&ms[i as usize]));
        }
        m
    }

    /// The member at position `i` (< len); positions are in no useful order.
    pub fn get(&self, i: usize) -> &[u8] {
        self.members.get(i).map_or(&[], |m| m)
    }

    /// Remove the member at position `i` (< len), answering it.
    pub fn remove_at(&mut self, i: usize) -> Box<[u8]> {
        let h = hash(&self.members[i]);
        if let Ok(e) = self.index.find_entry(h, |&j| j as usize == i) {
            e.remove();
        }
        self.remove_slot(i)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.members.iter().map(|m| &**m)
    }

    /// The members, in position order.
    pub fn members_slice(&self) -> &[Box<[u8]>] {
        &self.members
    }

    /// SSCAN: visit up to `count` members below the cursor's position
    /// (cursor 0 starts at the end), answering the next cursor (0 when done).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8])) -> u64 {
        let n = self.members.len();
        let top = if cursor == 0 {
            n
        } else {
            (cursor as usize).min(n)
        };
        let bottom = top.saturating_sub(count);
        for m in self.members[bottom..top].iter().rev() {
            f(m);
        }
        bottom as u64
    }

    /// Bytes used by the members (for memory estimates).
    pub fn bytes(&self) -> usize {
        self.members.iter().map(|m| m.len()).sum::<usize>() + self.members.len() * 21
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_positions() {
        let mut b = Big::default();
        for i in 0..100 {
            assert!(b.insert(format!("m{i}").as_bytes()));
        }
        assert!(!b.insert(b"m5"));
        assert!(b.remove(b"m0"));
        assert!(!b.remove(b"m0"));
        assert_eq!(b.len(), 99);
        for i in 1..100 {
            assert!(b.contains(format!("m{i}").as_bytes()));
        }
        let m = b.remove_at(10).to_vec();
        assert!(!b.contains(&m));
        assert_eq!(b.len(), 98);
        for i in 0..b.len() {
            let m = b.get(i).to_vec();
            assert!(b.contains(&m));
        }
    }

    #[test]
    fn scan_sees_every_stable_member() {
        let mut b = Big::default();
        for i in 0..50 {
            b.insert(format!("{i}").as_bytes());
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut removed = 0;
        loop {
            cursor = b.scan(cursor, 7, |m| {
                seen.insert(m.to_vec());
            });
            // Remove some members between calls.
            if removed < 10 {
                b.remove(format!("{removed}").as_bytes());
                removed += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 10..50 {
            assert!(seen.contains(format!("{i}").as_bytes()), "missed {i}");
        }
    }
}
