//! The compact form of a small hash (Redis's `listpack` encoding): one
//! exactly-sized byte buffer of `[varint field len][field][varint value
//! len][value]` pairs in insertion order. Every operation is a linear scan,
//! which for the at most `hash-max-listpack-entries` (128) pairs beats any
//! pointer structure; a pair of short strings costs 2 bytes of overhead, and
//! the buffer has no spare capacity (it is reallocated on each change, as
//! Redis reallocates its listpacks).

/// Largest buffer kept in this form (Redis's `LISTPACK_MAX_SAFETY_SIZE`):
/// a write that would grow it past this converts the hash instead.
pub const MAX_BYTES: usize = 1 << 30;

#[derive(Clone, Default)]
pub struct Listpack {
    buf: Box<[u8]>,
    /// Number of pairs. The buffer is at most [`MAX_BYTES`] and a pair takes
    /// at least 2 bytes, so this fits.
    len: u32,
}

/// The pairs of a listpack, in order.
pub struct Iter<'a> {
    lp: &'a Listpack,
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Pair<'a>;

    #[inline]
    fn next(&mut self) -> Option<Pair<'a>> {
        (self.pos < self.lp.buf.len()).then(|| {
            let e = self.lp.at(self.pos);
            self.pos = e.end;
            e
        })
    }
}

/// One decoded pair and where it lies in the buffer.
#[derive(Clone, Copy)]
pub struct Pair<'a> {
    pub start: usize,
    /// Where the value's length prefix starts.
    pub value_at: usize,
    pub end: usize,
    pub field: &'a [u8],
    pub value: &'a [u8],
}

fn put_varint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// Read a varint at `p`: (value, position after it).
#[inline]
fn get_varint(b: &[u8], mut p: usize) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let byte = b[p];
        p += 1;
        n |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return (n, p);
        }
        shift += 7;
    }
}

/// Bytes one encoded string takes.
pub fn encoded_len(s: &[u8]) -> usize {
    varint_len(s.len()) + s.len()
}

impl Listpack {
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes used by the pairs.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    fn at(&self, pos: usize) -> Pair<'_> {
        let b = &self.buf;
        let (flen, p) = get_varint(b, pos);
        let value_at = p + flen;
        let (vlen, q) = get_varint(b, value_at);
        Pair {
            start: pos,
            value_at,
            end: q + vlen,
            field: &b[p..p + flen],
            value: &b[q..q + vlen],
        }
    }

    /// Pairs in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { lp: self, pos: 0 }
    }

    pub fn find(&self, field: &[u8]) -> Option<Pair<'_>> {
        self.iter().find(|e| e.field == field)
    }

    /// Change the buffer through a `Vec`, leaving it exactly sized.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        f(&mut v);
        self.buf = v.into_boxed_slice();
    }

    /// Append a pair whose field is not present.
    pub fn push(&mut self, field: &[u8], value: &[u8]) {
        self.edit(|v| {
            v.reserve_exact(encoded_len(field) + encoded_len(value));
            put_varint(v, field.len());
            v.extend_from_slice(field);
            put_varint(v, value.len());
            v.extend_from_slice(value);
        });
        self.len += 1;
    }

    /// Set `field` to `value`, in place if present (keeping its position),
    /// appended otherwise. Answers whether the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let Some(e) = self.find(field) else {
            self.push(field, value);
            return true;
        };
        if e.value == value {
            return false;
        }
        let (from, to) = (e.value_at, e.end);
        self.edit(|v| {
            let mut enc = Vec::with_capacity(encoded_len(value));
            put_varint(&mut enc, value.len());
            enc.extend_from_slice(value);
            v.splice(from..to, enc);
        });
        false
    }

    /// Remove `field`; answers whether it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(e) = self.find(field) else {
            return false;
        };
        let (from, to) = (e.start, e.end);
        self.edit(|v| {
            v.drain(from..to);
        });
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_keep_insertion_order() {
        let mut lp = Listpack::default();
        assert!(lp.set(b"a", b"1"));
        assert!(lp.set(b"b", b"22"));
        assert!(lp.set(b"", b""));
        let long = vec![b'x'; 300];
        assert!(lp.set(b"c", &long));
        assert!(!lp.set(b"a", b"111"));
        assert_eq!(lp.len(), 4);
        let v: Vec<(&[u8], &[u8])> = lp.iter().map(|e| (e.field, e.value)).collect();
        assert_eq!(
            v,
            vec![
                (&b"a"[..], &b"111"[..]),
                (b"b", b"22"),
                (b"", b""),
                (b"c", &long[..])
            ]
        );
        assert!(lp.remove(b"b"));
        assert!(!lp.remove(b"b"));
        assert_eq!(lp.find(b"c").map(|e| e.value.len()), Some(300));
        assert_eq!(lp.find(b"").map(|e| e.value), Some(&b""[..]));
        assert_eq!(lp.bytes(), (2 + 1 + 3) + 2 + (1 + 1 + 2 + 300));
        assert!(lp.remove(b"a") && lp.remove(b"") && lp.remove(b"c"));
        assert!(lp.is_empty() && lp.bytes() == 0);
    }
}
