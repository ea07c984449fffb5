//! A dense hash map: entries in a vector (so every key has a position
//! `0..len`, which random sampling and SCAN rely on) plus a hash index of
//! `u32` positions.
//!
//! It does what `IndexMap` did for the keyspace at 12 bytes less per key:
//! no hash is stored beside each entry (the index is rebuilt from the keys
//! when it grows, and lookups compare keys only after the 7-bit tag in the
//! table's control bytes matched) and positions are `u32` (a table holds one
//! shard's keys of one database).
//!
//! Entries are stored in fixed chunks of [`CHUNK`] slots instead of one
//! vector that doubles: a table wastes at most one partly filled chunk, not
//! up to half its slots, and growing never reallocates (and copies, and
//! fragments the allocator with) a block the size of the whole table. On a
//! cache of small keys these slots are most of the per-key overhead.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::table::{Entry, Key};

type Hasher = foldhash::fast::RandomState;

/// Slots per chunk (a power of two: position → chunk is a shift).
const CHUNK_BITS: u32 = 8;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Entries in fixed chunks. Only the first chunk grows gradually (a table
/// of a few keys stays small); every later one is allocated full size once.
#[derive(Default)]
struct Chunks {
    chunks: Vec<Vec<(Key, Entry)>>,
    len: usize,
}

impl Chunks {
    #[inline]
    fn get(&self, i: usize) -> Option<&(Key, Entry)> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    #[inline]
    fn get_mut(&mut self, i: usize) -> Option<&mut (Key, Entry)> {
        self.chunks
            .get_mut(i >> CHUNK_BITS)?
            .get_mut(i & (CHUNK - 1))
    }

    fn push(&mut self, v: (Key, Entry)) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => {
                let mut c = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK)
                };
                c.push(v);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    /// Remove position `i`, moving the last entry into it.
    fn swap_remove(&mut self, i: usize) -> (Key, Entry) {
        let last_chunk = self.chunks.len() - 1;
        let tail = self.chunks[last_chunk]
            .pop()
            .unwrap_or_else(|| unreachable!("chunks are never empty"));
        if self.chunks[last_chunk].is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        if i == self.len {
            return tail;
        }
        let slot = self
            .get_mut(i)
            .unwrap_or_else(|| unreachable!("position {i} is in range"));
        std::mem::replace(slot, tail)
    }

    fn capacity(&self) -> usize {
        self.chunks.iter().map(|c| c.capacity()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = &(Key, Entry)> {
        self.chunks.iter().flatten()
    }

    fn shrink_to_fit(&mut self) {
        for c in &mut self.chunks {
            c.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }
}

impl std::ops::Index<usize> for Chunks {
    type Output = (Key, Entry);
    #[inline]
    fn index(&self, i: usize) -> &(Key, Entry) {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl std::ops::IndexMut<usize> for Chunks {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut (Key, Entry) {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

#[derive(Default)]
pub struct DenseMap {
    entries: Chunks,
    index: HashTable<u32>,
    hasher: Hasher,
}

impl DenseMap {
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Position of `key`.
    #[inline]
    pub fn get_index_of(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(self.hash(key), |&i| &*entries[i as usize].0 == key)
            .map(|&i| i as usize)
    }

    #[inline]
    pub fn get_index(&self, i: usize) -> Option<(&Key, &Entry)> {
        self.entries.get(i).map(|(k, e)| (k, e))
    }

    #[inline]
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&Key, &mut Entry)> {
        self.entries.get_mut(i).map(|(k, e)| (&*k, e))
    }

    /// Append a key that is not in the map; answers its position.
    pub fn push_new(&mut self, key: Key, entry: Entry) -> usize {
        let i = self.entries.len;
        assert!(i < u32::MAX as usize, "too many keys in one table");
        let h = self.hash(&key);
        self.entries.push((key, entry));
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .insert_unique(h, i as u32, |&j| hasher.hash_one(&*entries[j as usize].0));
        i
    }

    /// Remove the entry at `i`, moving the last one into its place.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<(Key, Entry)> {
        if i >= self.entries.len {
            return None;
        }
        let h = self.hash(&self.entries[i].0);
        if let Ok(slot) = self.index.find_entry(h, |&j| j as usize == i) {
            slot.remove();
        }
        let last = self.entries.len - 1;
        if i != last {
            let hl = self.hash(&self.entries[last].0);
            if let Some(slot) = self.index.find_mut(hl, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        Some(self.entries.swap_remove(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.entries.iter().map(|(k, e)| (k, e))
    }

    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .shrink_to_fit(|&j| hasher.hash_one(&*entries[j as usize].0));
    }
}

impl std::ops::Index<usize> for DenseMap {
    type Output = Entry;
    #[inline]
    fn index(&self, i: usize) -> &Entry {
        &self.entries[i].1
    }
}

impl std::ops::IndexMut<usize> for DenseMap {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.entries[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Str, Value};

    fn entry() -> Entry {
        Entry::new(Value::Str(Str::Int(1)))
    }

    #[test]
    fn positions_and_lookups_survive_swap_removes() {
        let mut m = DenseMap::default();
        for i in 0..1000u32 {
            let k: Key = format!("k{i}").into_bytes().into();
            assert_eq!(m.push_new(k, entry()), i as usize);
        }
        for i in (0..1000).step_by(3) {
            let p = m.get_index_of(format!("k{i}").as_bytes()).unwrap();
            m.swap_remove_index(p);
        }
        assert_eq!(m.len(), 1000 - 334);
        for i in 0..1000 {
            let k = format!("k{i}");
            match m.get_index_of(k.as_bytes()) {
                Some(p) => {
                    assert!(i % 3 != 0);
                    assert_eq!(&**m.get_index(p).unwrap().0, k.as_bytes());
                }
                None => assert!(i % 3 == 0),
            }
        }
        m.shrink_to_fit();
        assert!(m.get_index_of(b"k1").is_some());
    }
}
