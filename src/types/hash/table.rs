//! The large form of a hash (`OBJECT ENCODING` → `hashtable`): a dense arena
//! of pairs, each one allocation holding `[varint field len][field][value]`,
//! and a `hashbrown::HashTable<u32>` from field to arena slot (4 bytes per
//! field; the field bytes are stored once, in the arena).
//!
//! The arena stays dense: removing a pair moves the *last* pair into the
//! hole. That gives a uniformly random pair in O(1) (HRANDFIELD), and a SCAN
//! cursor that walks the arena from the top down: since pairs only ever move
//! downwards, and new pairs append above the cursor, a pair present for the
//! whole scan is returned at least once (the argument of the keyspace SCAN
//! in `keyspace/table.rs`).

use std::sync::LazyLock;

use hashbrown::HashTable;

/// Process-wide seeded hasher for field indexes (seeded at random so fields
/// cannot be chosen to collide).
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

#[inline]
fn hash(f: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    HASHER.hash_one(f)
}

/// One pair's allocation: split into (field, value).
#[inline]
fn split(p: &[u8]) -> (&[u8], &[u8]) {
    let (mut n, mut shift, mut i) = (0usize, 0, 0);
    loop {
        let byte = p[i];
        i += 1;
        n |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    (&p[i..i + n], &p[i + n..])
}

#[inline]
fn field_of(p: &[u8]) -> &[u8] {
    split(p).0
}

fn encode(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut v = Vec::with_capacity(super::listpack::encoded_len(field) + value.len());
    let mut n = field.len();
    while n >= 0x80 {
        v.push((n as u8) | 0x80);
        n >>= 7;
    }
    v.push(n as u8);
    v.extend_from_slice(field);
    v.extend_from_slice(value);
    v.into_boxed_slice()
}

/// The pairs of a table, in arena order.
pub struct Iter<'a>(std::slice::Iter<'a, Box<[u8]>>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|p| split(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

#[derive(Clone, Default)]
pub struct Table {
    pairs: Vec<Box<[u8]>>,
    index: HashTable<u32>,
}

impl Table {
    pub fn with_capacity(n: usize) -> Table {
        Table {
            pairs: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Room for `n` more pairs.
    pub fn reserve(&mut self, n: usize) {
        self.pairs.reserve(n);
        let pairs = &self.pairs;
        self.index
            .reserve(n, |&i| hash(field_of(&pairs[i as usize])));
    }

    fn find(&self, field: &[u8]) -> Option<u32> {
        let pairs = &self.pairs;
        self.index
            .find(hash(field), |&i| field_of(&pairs[i as usize]) == field)
            .copied()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|i| split(&self.pairs[i as usize]).1)
    }

    /// The pair at arena position `i` (< len).
    pub fn nth(&self, i: usize) -> (&[u8], &[u8]) {
        split(&self.pairs[i])
    }

    /// Append a pair whose field is absent.
    pub fn push(&mut self, field: &[u8], value: &[u8]) {
        let id = self.pairs.len() as u32;
        self.pairs.push(encode(field, value));
        let pairs = &self.pairs;
        self.index
            .insert_unique(hash(field), id, |&i| hash(field_of(&pairs[i as usize])));
    }

    /// Set `field` to `value`; answers whether the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(i) => {
                self.pairs[i as usize] = encode(field, value);
                false
            }
            None => {
                self.push(field, value);
                true
            }
        }
    }

    /// Remove `field`; answers whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let pairs = &self.pairs;
        let Ok(entry) = self
            .index
            .find_entry(hash(field), |&i| field_of(&pairs[i as usize]) == field)
        else {
            return false;
        };
        let (id, _) = entry.remove();
        let last = (self.pairs.len() - 1) as u32;
        if id != last {
            // The last pair moves into the hole: repoint its index entry.
            let h = hash(field_of(&self.pairs[last as usize]));
            if let Some(slot) = self.index.find_mut(h, |&i| i == last) {
                *slot = id;
            }
        }
        self.pairs.swap_remove(id as usize);
        let n = self.pairs.len();
        if self.pairs.capacity() > 2 * n + 16 {
            self.pairs.shrink_to_fit();
            let pairs = &self.pairs;
            self.index
                .shrink_to(n, |&i| hash(field_of(&pairs[i as usize])));
        }
        true
    }

    /// Pairs in arena order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.pairs.iter())
    }

    /// HSCAN: visit up to `count` arena positions below `cursor` (0 = start
    /// at the top), answering the next cursor (0 when done).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        let top = if cursor == 0 {
            self.pairs.len()
        } else {
            (cursor.min(self.pairs.len() as u64)) as usize
        };
        let bottom = top.saturating_sub(count);
        for p in self.pairs[bottom..top].iter().rev() {
            let (k, v) = split(p);
            f(k, v);
        }
        bottom as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_remove_keeps_index_consistent() {
        let mut t = Table::default();
        for i in 0..1000u32 {
            assert!(t.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes()));
        }
        assert!(!t.set(b"f5", b"new"));
        assert_eq!(t.get(b"f5"), Some(&b"new"[..]));
        for i in (0..1000u32).step_by(3) {
            assert!(t.remove(format!("f{i}").as_bytes()));
        }
        assert!(!t.remove(b"f0"));
        assert_eq!(t.len(), 666);
        for i in 0..1000u32 {
            let want = (i % 3 != 0).then(|| {
                if i == 5 {
                    b"new".to_vec()
                } else {
                    format!("v{i}").into_bytes()
                }
            });
            assert_eq!(t.get(format!("f{i}").as_bytes()).map(|v| v.to_vec()), want);
        }
    }

    #[test]
    fn scan_sees_every_stable_pair_despite_removals() {
        let mut t = Table::default();
        for i in 0..200u32 {
            t.push(format!("f{i}").as_bytes(), b"v");
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0u32;
        loop {
            cursor = t.scan(cursor, 7, |k, _| {
                seen.insert(k.to_vec());
            });
            // Remove and add pairs between calls; f0..f99 stay throughout.
            t.remove(format!("f{}", 100 + round).as_bytes());
            t.push(format!("new{round}").as_bytes(), b"v");
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100u32 {
            assert!(seen.contains(format!("f{i}").as_bytes()), "missed f{i}");
        }
    }
}
