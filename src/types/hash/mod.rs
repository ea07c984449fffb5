//! Hashes: a map from field to value, both binary strings.
//!
//! Two encodings, as in Redis:
//! - [`Listpack`] (`OBJECT ENCODING` → `listpack`) while the hash has at
//!   most `hash-max-listpack-entries` pairs and no field or value longer than
//!   `hash-max-listpack-value` bytes: one exactly-sized buffer, pairs in
//!   insertion order;
//! - [`Table`] (`hashtable`) past either limit: an arena of pairs plus a hash
//!   index.
//!
//! A hash only converts from listpack to hashtable, never back. The points
//! where Redis converts are kept: [`Hash::prepare`] before a write of
//! several pairs (HSET, HMSET, HSETNX; it also decides a new hash's encoding
//! up front by the number of pairs), and [`Hash::set`] for each pair (an
//! over-long field or value, or more pairs than the limit).

pub mod listpack;
pub mod table;

pub use listpack::Listpack;
pub use table::Table;

pub use super::Limits;

/// A hash value.
#[derive(Clone)]
pub enum Hash {
    Listpack(Listpack),
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::default())
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

/// Equal as maps: the same pairs, whatever the encoding or order.
impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// Pairs of either encoding.
pub enum Iter<'a> {
    Listpack(listpack::Iter<'a>),
    Table(table::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack(l) => l.next().map(|e| (e.field, e.value)),
            Iter::Table(t) => t.next(),
        }
    }
}

impl Hash {
    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(l) => l.len(),
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Convert to the hashtable encoding, with room for `extra` more pairs.
    pub fn make_table(&mut self, extra: usize) {
        match self {
            Hash::Listpack(l) => {
                let mut t = Table::with_capacity(l.len().saturating_add(extra));
                for e in l.iter() {
                    t.push(e.field, e.value);
                }
                *self = Hash::Table(Box::new(t));
            }
            Hash::Table(t) => t.reserve(extra),
        }
    }

    /// Redis's `hashTypeTryConversion`, before writing the pairs
    /// `args[0], args[1], …` (fields and values alternating): convert when
    /// they are more pairs than the listpack limit (even if some fields are
    /// already present), when any of them is longer than the value limit, or
    /// when the listpack would outgrow its safety size.
    pub fn prepare<'a>(&mut self, args: impl ExactSizeIterator<Item = &'a [u8]>, lim: Limits) {
        let Hash::Listpack(l) = self else {
            return;
        };
        let pairs = args.len() / 2;
        if pairs > lim.max_entries {
            // Bounded by the request itself: its arguments are in memory.
            self.make_table(pairs);
            return;
        }
        let mut sum = 0usize;
        for a in args {
            if a.len() > lim.max_value {
                self.make_table(0);
                return;
            }
            sum += a.len();
        }
        if l.bytes().saturating_add(sum) > listpack::MAX_BYTES {
            self.make_table(0);
        }
    }

    /// Set `field` to `value`; answers whether the field is new. Converts as
    /// Redis's `hashTypeSet`: before, if the field or value is longer than
    /// the value limit; after, if there are more pairs than the entry limit.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if let Hash::Listpack(l) = self {
            if field.len() > lim.max_value
                || value.len() > lim.max_value
                || l.bytes() + field.len() + value.len() + 20 > listpack::MAX_BYTES
            {
                self.make_table(1);
            }
        }
        match self {
            Hash::Listpack(l) => {
                let new = l.set(field, value);
                if l.len() > lim.max_entries {
                    self.make_table(0);
                }
                new
            }
            Hash::Table(t) => t.set(field, value),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(l) => l.find(field).map(|e| e.value),
            Hash::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Remove `field`; answers whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(l) => l.remove(field),
            Hash::Table(t) => t.remove(field),
        }
    }

    /// Pairs: insertion order for a listpack, arena order for a hashtable.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Hash::Listpack(l) => Iter::Listpack(l.iter()),
            Hash::Table(t) => Iter::Table(t.iter()),
        }
    }

    /// The pair at position `i` (< len) in [`Hash::iter`] order: O(1) for a
    /// hashtable, a scan for a listpack.
    pub fn nth(&self, i: usize) -> (&[u8], &[u8]) {
        match self {
            Hash::Listpack(l) => l
                .iter()
                .nth(i)
                .map(|e| (e.field, e.value))
                .unwrap_or((&[], &[])),
            Hash::Table(t) => t.nth(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(entries: usize, value: usize) -> Limits {
        Limits {
            max_entries: entries,
            max_value: value,
        }
    }

    #[test]
    fn converts_past_limits_never_back() {
        let l = lim(4, 8);
        let mut h = Hash::default();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", l));
        }
        assert_eq!(h.encoding(), "listpack");
        let small = h.clone();
        assert!(h.set(b"f4", b"v", l));
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"f4"));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h, small, "equal as maps across encodings");

        let mut h = Hash::default();
        h.set(b"f", b"123456789", l);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = Hash::default();
        let args: [&[u8]; 10] = [b"a", b"1", b"a", b"1", b"a", b"1", b"a", b"1", b"a", b"1"];
        h.prepare(args.iter().copied(), l);
        assert_eq!(h.encoding(), "hashtable", "5 pairs > 4, duplicates or not");

        let mut h = Hash::default();
        h.prepare([&b"a"[..], b"1"].into_iter(), lim(0, 8));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn small_header() {
        // Box<Hash> is one small allocation (a 32-byte malloc chunk) beside
        // the listpack buffer.
        assert!(
            std::mem::size_of::<Hash>() <= 24,
            "{}",
            std::mem::size_of::<Hash>()
        );
    }

    #[test]
    fn encodings_agree() {
        let l = Limits::default();
        let mut a = Hash::default();
        let mut b = Hash::default();
        b.make_table(0);
        for i in 0..100u32 {
            let f = format!("f{}", (i * 7) % 40);
            let v = format!("{i}");
            assert_eq!(
                a.set(f.as_bytes(), v.as_bytes(), l),
                b.set(f.as_bytes(), v.as_bytes(), l)
            );
            if i % 5 == 0 {
                let g = format!("f{}", i % 11);
                assert_eq!(a.remove(g.as_bytes()), b.remove(g.as_bytes()));
            }
        }
        assert_eq!(a.encoding(), "listpack");
        assert_eq!(a, b);
        for i in 0..a.len() {
            let (f, v) = a.nth(i);
            assert_eq!(b.get(f), Some(v));
        }
    }
}
