//! Sets of binary-safe members.
//!
//! Three encodings, chosen by the rules of Redis 7.2's `t_set.c`:
//! - [`IntSet`] (`intset`): while every member is an integer in canonical
//!   form (what `string2ll` accepts: no sign `+`, no leading zeros, fits in
//!   64 bits) and there are at most `set-max-intset-entries`;
//! - [`Packed`] (`listpack`): small sets of other members, at most
//!   `set-max-listpack-entries` of at most `set-max-listpack-value` bytes,
//!   in insertion order;
//! - [`Big`] (`hashtable`) past those.
//!
//! A set only moves to a larger encoding as it grows (intset → listpack or
//! hashtable, listpack → hashtable). Commands that build a new set (the
//! *STORE commands, SPOP with a large count) pick the result's encoding the
//! way Redis builds it, through the same [`Set::add`] rules.

pub mod big;
pub mod intset;
pub mod packed;

pub use big::Big;
pub use intset::IntSet;
pub use packed::Packed;

pub use super::SetLimits;
use crate::protocol::parse_i64;

/// Redis caps intsets at 2^30 entries whatever the config says.
const INTSET_HARD_MAX: usize = 1 << 30;

/// A member as an encoding holds it: an intset gives integers, the others
/// bytes.
#[derive(Clone, Copy, Debug)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Member<'a> {
    /// Run `f` on the member's bytes (an integer is formatted in decimal).
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Str(s) => f(s),
            Member::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The member's bytes, formatting an integer into `buf`.
    #[inline]
    pub fn bytes<'b>(&self, buf: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Member::Str(s) => s,
            Member::Int(n) => buf.format(n).as_bytes(),
        }
    }

    /// The member as an integer, when it is one in canonical form.
    #[inline]
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Member::Int(n) => Some(n),
            Member::Str(s) => parse_i64(s),
        }
    }

    fn len(&self) -> usize {
        match *self {
            Member::Str(s) => s.len(),
            Member::Int(n) => digits(n),
        }
    }
}

/// Decimal length of `n`, sign included (Redis's `sdigits10`).
fn digits(n: i64) -> usize {
    itoa::Buffer::new().format(n).len()
}

/// A set.
#[derive(Clone)]
pub enum Set {
    Ints(IntSet),
    Packed(Packed),
    Hash(Big),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::default())
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned()),
            )
            .finish()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

/// Iterator over a set's members, in the encoding's order (ascending for an
/// intset, insertion order for a listpack).
pub enum Iter<'a> {
    Ints(&'a IntSet, usize),
    Packed(Box<dyn Iterator<Item = packed::At<'a>> + 'a>),
    Hash(std::slice::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    #[inline]
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Ints(s, i) => (*i < s.len()).then(|| {
                *i += 1;
                Member::Int(s.get(*i - 1))
            }),
            Iter::Packed(it) => it.next().map(|e| Member::Str(e.member)),
            Iter::Hash(it) => it.next().map(|m| Member::Str(m)),
        }
    }
}

impl Set {
    /// Redis's `setTypeCreate`: an empty set in the encoding for about
    /// `size_hint` members, the first of which is `first`.
    pub fn create(first: &[u8], size_hint: usize, lim: SetLimits) -> Set {
        if parse_i64(first).is_some() && size_hint <= lim.max_intset {
            Set::Ints(IntSet::default())
        } else if size_hint <= lim.max_entries {
            Set::Packed(Packed::default())
        } else {
            Set::Hash(Big::with_capacity(size_hint))
        }
    }

    /// An empty listpack-encoded set.
    pub fn new_packed() -> Set {
        Set::Packed(Packed::default())
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(s) => s.len(),
            Set::Packed(p) => p.len(),
            Set::Hash(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Packed(_) => "listpack",
            Set::Hash(_) => "hashtable",
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            Set::Ints(s) => Iter::Ints(s, 0),
            Set::Packed(p) => Iter::Packed(Box::new(p.iter())),
            Set::Hash(b) => Iter::Hash(b.members_slice().iter()),
        }
    }

    /// The member at position `i` (< len) of the encoding's order.
    pub fn get(&self, i: usize) -> Member<'_> {
        match self {
            Set::Ints(s) => Member::Int(s.get(i)),
            Set::Packed(p) => Member::Str(p.get(i)),
            Set::Hash(b) => Member::Str(b.get(i)),
        }
    }

    /// A uniformly random member of a non-empty set.
    pub fn random(&self) -> Member<'_> {
        self.get(crate::util::rand_below(self.len()))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.contains_member(Member::Str(m))
    }

    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match self {
            Set::Ints(s) => m.as_int().is_some_and(|n| s.contains(n)),
            Set::Packed(p) => m.with_bytes(|b| p.contains(b)),
            Set::Hash(b) => m.with_bytes(|x| b.contains(x)),
        }
    }

    /// Convert to the hashtable encoding, sized for `cap` members.
    pub fn make_hash(&mut self, cap: usize) {
        if matches!(self, Set::Hash(_)) {
            return;
        }
        let mut b = Big::with_capacity(cap.max(self.len()));
        for m in self.iter() {
            m.with_bytes(|x| b.insert(x));
        }
        *self = Set::Hash(b);
    }

    /// Redis's `setTypeMaybeConvert`: about to add up to `size_hint`
    /// members, go to a hashtable now if that would outgrow the encoding.
    pub fn reserve(&mut self, size_hint: usize, lim: SetLimits) {
        let over = match self {
            Set::Packed(_) => size_hint > lim.max_entries,
            Set::Ints(_) => size_hint > lim.max_intset,
            Set::Hash(_) => false,
        };
        if over {
            self.make_hash(size_hint);
        }
    }

    /// Add `m`; false if it was present. Converts as Redis's
    /// `setTypeAddAux` does.
    pub fn add(&mut self, m: &[u8], lim: SetLimits) -> bool {
        self.add_member(Member::Str(m), lim)
    }

    pub fn add_member(&mut self, m: Member<'_>, lim: SetLimits) -> bool {
        match self {
            Set::Hash(b) => m.with_bytes(|x| b.insert(x)),
            Set::Packed(p) => {
                let mut buf = itoa::Buffer::new();
                let x = m.bytes(&mut buf);
                if p.contains(x) {
                    return false;
                }
                if p.len() < lim.max_entries && x.len() <= lim.max_value {
                    p.push(x);
                } else {
                    let n = p.len() + 1;
                    self.make_hash(n);
                    if let Set::Hash(b) = self {
                        b.insert(x);
                    }
                }
                true
            }
            Set::Ints(s) => {
                if let Some(n) = m.as_int() {
                    if !s.insert(n) {
                        return false;
                    }
                    if s.len() > lim.max_intset.min(INTSET_HARD_MAX) {
                        let n = s.len();
                        self.make_hash(n);
                    }
                    return true;
                }
                // A non-integer: a listpack if everything fits one, else a
                // hashtable.
                let n = s.len();
                let widest = match (s.min(), s.max()) {
                    (Some(lo), Some(hi)) => digits(lo).max(digits(hi)),
                    _ => 0,
                };
                if n < lim.max_entries && m.len() <= lim.max_value && widest <= lim.max_value {
                    let mut p = Packed::with_capacity((n + 1) * (widest + 1) + m.len() + 1);
                    for v in s.iter() {
                        p.push(itoa::Buffer::new().format(v).as_bytes());
                    }
                    m.with_bytes(|x| p.push(x));
                    *self = Set::Packed(p);
                } else {
                    self.make_hash(n + 1);
                    if let Set::Hash(b) = self {
                        m.with_bytes(|x| b.insert(x));
                    }
                }
                true
            }
        }
    }

    /// Remove `m`; false if absent.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.remove_member(Member::Str(m))
    }

    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match self {
            Set::Ints(s) => m.as_int().is_some_and(|n| s.remove(n)),
            Set::Packed(p) => m.with_bytes(|x| p.remove(x)),
            Set::Hash(b) => m.with_bytes(|x| b.remove(x)),
        }
    }

    /// Remove and answer the member at position `i` (< len).
    pub fn remove_at(&mut self, i: usize) -> Vec<u8> {
        match self {
            Set::Ints(s) => itoa::Buffer::new()
                .format(s.remove_at(i))
                .as_bytes()
                .to_vec(),
            Set::Packed(p) => p.remove_at(i),
            Set::Hash(b) => b.remove_at(i).into_vec(),
        }
    }

    /// Remove and answer a random member of a non-empty set.
    pub fn pop_random(&mut self) -> Vec<u8> {
        let i = crate::util::rand_below(self.len());
        self.remove_at(i)
    }

    /// Redis's `maybeConvertToIntset`: for a set known to hold only
    /// integers, go to an intset if it is small enough for one.
    pub fn maybe_to_intset(&mut self, lim: SetLimits) {
        if matches!(self, Set::Ints(_)) || self.len() > lim.max_intset.min(INTSET_HARD_MAX) {
            return;
        }
        let mut s = IntSet::default();
        s.reserve(self.len());
        for m in self.iter() {
            if let Some(n) = m.as_int() {
                s.insert(n);
            }
        }
        *self = Set::Ints(s);
    }

    /// Give back spare capacity (after building a result).
    pub fn shrink_to_fit(&mut self) {
        if let Set::Packed(p) = self {
            p.shrink_to_fit();
        }
    }

    /// Approximate bytes used by the members.
    pub fn bytes(&self) -> usize {
        match self {
            Set::Ints(s) => s.bytes(),
            Set::Packed(p) => p.bytes(),
            Set::Hash(b) => b.bytes(),
        }
    }

    /// All members as byte strings, in the encoding's order (tests).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(|m| m.to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(max_intset: usize, max_entries: usize, max_value: usize) -> SetLimits {
        SetLimits {
            max_intset,
            max_entries,
            max_value,
        }
    }

    #[test]
    fn intset_converts_by_redis_rules() {
        let l = lim(4, 3, 5);
        let mut s = Set::create(b"1", 1, l);
        for m in ["3", "1", "2"] {
            s.add(m.as_bytes(), l);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            s.to_vec(),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]
        );
        // Non-canonical integers are strings.
        assert!(!s.contains(b"01"));
        assert!(s.add(b"a", l));
        // 3 members < max_entries(3) is false: hashtable.
        assert_eq!(s.encoding(), "hashtable");

        let mut s = Set::create(b"10", 1, l);
        s.add(b"10", l);
        s.add(b"x", l);
        assert_eq!(s.encoding(), "listpack");
        assert_eq!(s.to_vec(), vec![b"10".to_vec(), b"x".to_vec()]);

        // Too many integers: hashtable.
        let mut s = Set::create(b"1", 1, l);
        for i in 0..5 {
            s.add(i.to_string().as_bytes(), l);
        }
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);

        // An integer member wider than max_value blocks the listpack.
        let mut s = Set::create(b"1", 1, l);
        s.add(b"-100000", l);
        s.add(b"a", l);
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn listpack_grows_into_hashtable() {
        let l = lim(512, 2, 4);
        let mut s = Set::create(b"a", 1, l);
        assert!(s.add(b"a", l));
        assert!(!s.add(b"a", l));
        assert!(s.add(b"b", l));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.add(b"c", l));
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::create(b"a", 1, l);
        s.add(b"toolong", l);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.remove(b"toolong"));
        assert!(s.is_empty());
    }

    #[test]
    fn equality_ignores_encoding() {
        let l = SetLimits::default();
        let mut a = Set::create(b"1", 1, l);
        let mut b = Set::Hash(Big::default());
        for m in ["1", "2", "3"] {
            a.add(m.as_bytes(), l);
            b.add(m.as_bytes(), l);
        }
        assert_eq!(a, b);
        b.remove(b"2");
        assert_ne!(a, b);
        b.maybe_to_intset(l);
        assert_eq!(b.encoding(), "intset");
    }
}
