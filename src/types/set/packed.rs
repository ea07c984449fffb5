//! The `listpack` encoding of a small set: one contiguous buffer of entries
//! in insertion order, each a varint length and the member bytes. Every
//! operation is a linear scan, which for at most `set-max-listpack-entries`
//! (128) short members beats any pointer structure; the order is the one
//! Redis's listpack keeps, so SMEMBERS answers in the same order as Redis.

#[derive(Clone, Default)]
pub struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// One decoded entry: where it starts and ends, and the member.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub start: usize,
    pub end: usize,
    pub member: &'a [u8],
}

fn put_varint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

impl Packed {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An empty buffer with room for about `bytes` bytes of entries.
    pub fn with_capacity(bytes: usize) -> Packed {
        Packed {
            buf: Vec::with_capacity(bytes),
            len: 0,
        }
    }

    #[inline]
    fn at(&self, pos: usize) -> At<'_> {
        let b = &self.buf;
        let mut p = pos;
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let byte = b[p];
            p += 1;
            n |= ((byte & 0x7f) as usize) << shift;
            if byte < 0x80 {
                break;
            }
            shift += 7;
        }
        At {
            start: pos,
            end: p + n,
            member: &b[p..p + n],
        }
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = At<'_>> + '_ {
        let mut pos = 0;
        std::iter::from_fn(move || {
            (pos < self.buf.len()).then(|| {
                let e = self.at(pos);
                pos = e.end;
                e
            })
        })
    }

    pub fn find(&self, m: &[u8]) -> Option<At<'_>> {
        self.iter().find(|e| e.member == m)
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.find(m).is_some()
    }

    /// The entry at position `i` (< len).
    pub fn get(&self, i: usize) -> &[u8] {
        self.iter().nth(i).map_or(&[], |e| e.member)
    }

    /// Append a member that is not present.
    pub fn push(&mut self, m: &[u8]) {
        put_varint(&mut self.buf, m.len());
        self.buf.extend_from_slice(m);
        self.len += 1;
    }

    fn remove_span(&mut self, start: usize, end: usize) {
        self.buf.drain(start..end);
        self.len -= 1;
        if self.buf.capacity() > 2 * self.buf.len() + 64 {
            self.buf.shrink_to_fit();
        }
    }

    /// Remove `m`; false if absent.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.find(m) {
            Some(e) => {
                let (s, t) = (e.start, e.end);
                self.remove_span(s, t);
                true
            }
            None => false,
        }
    }

    /// Remove the entry at position `i` (< len), answering its member.
    pub fn remove_at(&mut self, i: usize) -> Vec<u8> {
        let Some(e) = self.iter().nth(i) else {
            return Vec::new();
        };
        let (s, t, m) = (e.start, e.end, e.member.to_vec());
        self.remove_span(s, t);
        m
    }

    /// Keep only the entries whose position `keep` accepts (in order).
    pub fn retain_positions(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut out = Packed::with_capacity(self.buf.len());
        for (i, e) in self.iter().enumerate() {
            if keep(i) {
                out.push(e.member);
            }
        }
        *self = out;
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Bytes used by the entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }
}
