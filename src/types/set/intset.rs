//! The `intset` encoding: a sorted array of distinct integers, stored at the
//! smallest width (16, 32 or 64 bits) that holds every member, as Redis's
//! `intset.c` does. Lookups are binary searches; an insert that needs a wider
//! type upgrades the whole array once (and it never narrows again).

/// Sorted, distinct integers at one width.
#[derive(Clone, Debug, PartialEq)]
pub enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

/// Run `$body` with `$v` bound to the array, whatever its width.
macro_rules! each {
    ($s:expr, $v:ident => $body:expr) => {
        match $s {
            IntSet::W16($v) => $body,
            IntSet::W32($v) => $body,
            IntSet::W64($v) => $body,
        }
    };
}

/// Any width as an i64.
#[inline]
fn widen<T: Copy + Into<i64>>(x: &T) -> i64 {
    (*x).into()
}

/// Width rank of a value: 0 for 16 bits, 1 for 32, 2 for 64.
fn width(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        0
    } else if i32::try_from(v).is_ok() {
        1
    } else {
        2
    }
}

impl IntSet {
    pub fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn rank(&self) -> u8 {
        match self {
            IntSet::W16(_) => 0,
            IntSet::W32(_) => 1,
            IntSet::W64(_) => 2,
        }
    }

    /// The member at position `i` (< len), in ascending order.
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        each!(self, v => v.get(i).map_or(0, widen))
    }

    /// Position of `x`, or where it would go.
    fn search(&self, x: i64) -> Result<usize, usize> {
        if width(x) > self.rank() {
            // Wider than every member: below the smallest or above the largest.
            return Err(if x < 0 { 0 } else { self.len() });
        }
        match self {
            IntSet::W16(v) => v.binary_search(&(x as i16)),
            IntSet::W32(v) => v.binary_search(&(x as i32)),
            IntSet::W64(v) => v.binary_search(&x),
        }
    }

    pub fn contains(&self, x: i64) -> bool {
        self.search(x).is_ok()
    }

    /// Widen the array so it can hold values of width rank `to`.
    fn upgrade(&mut self, to: u8) {
        if to <= self.rank() {
            return;
        }
        let all: Vec<i64> = each!(&*self, v => v.iter().map(widen).collect());
        *self = if to == 1 {
            IntSet::W32(all.into_iter().map(|x| x as i32).collect())
        } else {
            IntSet::W64(all)
        };
    }

    /// Add `x`; false if it was present.
    pub fn insert(&mut self, x: i64) -> bool {
        self.upgrade(width(x));
        let Err(at) = self.search(x) else {
            return false;
        };
        match self {
            IntSet::W16(v) => v.insert(at, x as i16),
            IntSet::W32(v) => v.insert(at, x as i32),
            IntSet::W64(v) => v.insert(at, x),
        }
        true
    }

    /// Remove `x`; false if it was absent.
    pub fn remove(&mut self, x: i64) -> bool {
        let Ok(at) = self.search(x) else {
            return false;
        };
        each!(self, v => {
            v.remove(at);
            if v.capacity() > 2 * v.len() + 16 {
                v.shrink_to_fit();
            }
        });
        true
    }

    /// Remove the member at position `i` (< len), answering it.
    pub fn remove_at(&mut self, i: usize) -> i64 {
        each!(self, v => widen(&v.remove(i)))
    }

    pub fn min(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.get(0))
    }

    pub fn max(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.get(self.len() - 1))
    }

    pub fn reserve(&mut self, n: usize) {
        each!(self, v => v.reserve(n))
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Bytes used by the members.
    pub fn bytes(&self) -> usize {
        self.len() << self.rank() << 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_order() {
        let mut s = IntSet::default();
        assert!(s.insert(5));
        assert!(s.insert(-3));
        assert!(!s.insert(5));
        assert!(matches!(s, IntSet::W16(_)));
        assert!(!s.contains(70000));
        assert!(s.insert(70000));
        assert!(matches!(s, IntSet::W32(_)));
        assert!(!s.contains(i64::MIN));
        assert!(s.insert(i64::MIN));
        assert!(matches!(s, IntSet::W64(_)));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 70000]);
        assert!(s.remove(-3));
        assert!(!s.remove(-3));
        assert_eq!(s.min(), Some(i64::MIN));
        assert_eq!(s.max(), Some(70000));
        assert_eq!(s.bytes(), 3 * 8);
    }
}
