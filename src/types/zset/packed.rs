//! The compact form of a small sorted set (Redis's `listpack` encoding): one
//! contiguous buffer of entries in order, each an 8-byte score, a varint
//! member length and the member bytes. Every operation is a linear scan,
//! which for the at most `zset-max-listpack-entries` (128) entries beats any
//! pointer structure and costs ~10 bytes of overhead per member.

#[derive(Clone, Default)]
pub struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// One decoded entry: where it starts, where it ends, member and score.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub start: usize,
    pub end: usize,
    pub member: &'a [u8],
    pub score: f64,
}

fn put_varint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Redis's listpack stores an integral score as an integer, so `-0` comes
/// back as `0` from this encoding (and only from this one).
#[inline]
fn zero_unsigned(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

impl Packed {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Decode the entry starting at `pos`.
    #[inline]
    fn at(&self, pos: usize) -> At<'_> {
        let b = &self.buf;
        let mut score = [0u8; 8];
        score.copy_from_slice(&b[pos..pos + 8]);
        let mut p = pos + 8;
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
            score: f64::from_le_bytes(score),
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

    /// The entry of member `m`, with its rank.
    pub fn find(&self, m: &[u8]) -> Option<(usize, At<'_>)> {
        self.iter().enumerate().find(|(_, e)| e.member == m)
    }

    /// Insert a member that is not present, in (score, member) order.
    pub fn insert(&mut self, m: &[u8], score: f64) {
        let score = zero_unsigned(score);
        let pos = self
            .iter()
            .find(|e| e.score > score || (e.score == score && e.member > m))
            .map_or(self.buf.len(), |e| e.start);
        let mut entry = Vec::with_capacity(8 + 5 + m.len());
        entry.extend_from_slice(&score.to_le_bytes());
        put_varint(&mut entry, m.len());
        entry.extend_from_slice(m);
        self.buf.splice(pos..pos, entry);
        self.len += 1;
    }

    /// Append an entry that sorts after every present one.
    pub fn push(&mut self, m: &[u8], score: f64) {
        let score = zero_unsigned(score);
        self.buf.extend_from_slice(&score.to_le_bytes());
        put_varint(&mut self.buf, m.len());
        self.buf.extend_from_slice(m);
        self.len += 1;
    }

    /// Remove the entry spanning `start..end`.
    pub fn remove_span(&mut self, start: usize, end: usize) {
        self.buf.drain(start..end);
        self.len -= 1;
        if self.buf.capacity() > 2 * self.buf.len() + 64 {
            self.buf.shrink_to_fit();
        }
    }

    /// Remove member `m`, answering its score.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let (_, e) = self.find(m)?;
        let (start, end, score) = (e.start, e.end, e.score);
        self.remove_span(start, end);
        Some(score)
    }

    /// Remove the entries with ranks `start..end`.
    pub fn remove_ranks(&mut self, start: usize, end: usize) {
        let spans: Vec<(usize, usize)> = self
            .iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .map(|e| (e.start, e.end))
            .collect();
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            self.buf.drain(first.0..last.1);
            self.len -= spans.len();
        }
    }

    /// Bytes used by the entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }
}
