//! Lists: a deque of packed nodes (Redis's quicklist of listpacks).
//!
//! Elements live in [`Node`]s, each one contiguous buffer of entries laid out
//! as `varint(len) bytes backlen`, where `backlen` is the size of the first
//! two parts written so it can be read from its last byte: an entry can be
//! stepped over forwards and backwards, so both ends and any index are
//! reachable without a per-element pointer. A 3-byte element costs 5 bytes,
//! as in Redis's listpack.
//!
//! A node holds as much as `list-max-listpack-size` allows: with a negative
//! value, at most 4/8/16/32/64 KB of entries; with a positive one, at most
//! that many entries (and at most 8 KB, Redis's safety limit). Pushes fill
//! the end node and open a new one when it is full; inserts in the middle
//! split a node that grows past the limit.
//!
//! Once the list is a `quicklist`, an element of at least the packed
//! threshold (1 GB, Redis's; DEBUG QUICKLIST-PACKED-THRESHOLD moves it) is
//! a *plain* node of its own, as in Redis: nothing else joins that node,
//! and it is written to RDB as a plain node.
//!
//! `OBJECT ENCODING` says `listpack` while the list is one node within the
//! limit and `quicklist` once it outgrew that, and (as Redis 7.2 does) goes
//! back to `listpack` only when it shrinks to one node under half the limit,
//! so a list near the threshold does not flip at every push and pop.

use std::collections::VecDeque;

/// Redis's default packed threshold: 1 GB.
pub const DEFAULT_PACKED_THRESHOLD: u64 = 1 << 30;

/// DEBUG QUICKLIST-PACKED-THRESHOLD's argument as the threshold it sets
/// (0: back to 1 GB); None when too large (Redis's limit: 1 MB under 4 GB).
pub fn packed_threshold(sz: u64) -> Option<u64> {
    match sz {
        0 => Some(DEFAULT_PACKED_THRESHOLD),
        sz if sz > (1u64 << 32) - (1 << 20) => None,
        sz => Some(sz),
    }
}

/// Node size limits from `list-max-listpack-size`: (bytes, entries), and
/// the packed threshold: an element of `plain` bytes or more is a plain
/// node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimit {
    pub bytes: usize,
    pub count: usize,
    pub plain: usize,
}

/// Redis's per-node byte limit for a positive (count) fill.
const SIZE_SAFETY_LIMIT: usize = 8192;

impl NodeLimit {
    /// The limit `list-max-listpack-size` = `fill` gives.
    pub fn from_fill(fill: i64) -> NodeLimit {
        if fill >= 0 {
            NodeLimit {
                bytes: SIZE_SAFETY_LIMIT,
                count: (fill as usize).max(1),
                plain: DEFAULT_PACKED_THRESHOLD as usize,
            }
        } else {
            let level = ((-(fill + 1)) as usize).min(4);
            NodeLimit {
                bytes: 4096 << level,
                count: usize::MAX,
                plain: DEFAULT_PACKED_THRESHOLD as usize,
            }
        }
    }

    /// The same with another packed threshold.
    pub fn with_plain(self, plain: u64) -> NodeLimit {
        NodeLimit {
            plain: usize::try_from(plain).unwrap_or(usize::MAX),
            ..self
        }
    }

    /// Whether an element of `len` bytes is a plain node (in a quicklist).
    #[inline]
    fn is_large(&self, len: usize) -> bool {
        len >= self.plain
    }

    /// Whether a node of `bytes` and `count` entries is over the limit.
    #[inline]
    fn exceeded(&self, bytes: usize, count: usize) -> bool {
        bytes > self.bytes || count > self.count
    }
}

impl Default for NodeLimit {
    fn default() -> Self {
        NodeLimit::from_fill(-2)
    }
}

fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Bytes an element of `len` bytes takes in a node.
#[inline]
pub fn entry_size(len: usize) -> usize {
    let head = varint_len(len) + len;
    head + varint_len(head)
}

#[cfg(test)]
fn encode(data: &[u8]) -> Vec<u8> {
    let mut v = vec![0; entry_size(data.len())];
    Writer(&mut v).entry(data);
    v
}

/// Writes an entry into a gap of exactly its size.
struct Writer<'a>(&'a mut [u8]);

impl Writer<'_> {
    fn put(&mut self, b: u8) {
        let s = std::mem::take(&mut self.0);
        s[0] = b;
        self.0 = &mut s[1..];
    }
    fn varint(&mut self, mut n: usize) {
        while n >= 0x80 {
            self.put((n as u8) | 0x80);
            n >>= 7;
        }
        self.put(n as u8);
    }
    fn bytes(&mut self, d: &[u8]) {
        let s = std::mem::take(&mut self.0);
        s[..d.len()].copy_from_slice(d);
        self.0 = &mut s[d.len()..];
    }
    /// `varint(len) bytes backlen`, exactly `entry_size(data.len())` bytes.
    fn entry(&mut self, data: &[u8]) {
        self.varint(data.len());
        self.bytes(data);
        self.backlen(varint_len(data.len()) + data.len());
    }

    /// `n` written so that it reads back from its last byte towards its
    /// first: the last byte holds the low 7 bits, a set high bit means more
    /// precede.
    fn backlen(&mut self, n: usize) {
        let groups = varint_len(n);
        for g in (0..groups).rev() {
            let bits = ((n >> (7 * g)) & 0x7f) as u8;
            self.put(if g == groups - 1 { bits } else { bits | 0x80 });
        }
    }
}

/// One packed run of entries.
#[derive(Clone, Default, PartialEq)]
struct Node {
    buf: Vec<u8>,
    count: usize,
    /// One large element alone (Redis's PLAIN container).
    plain: bool,
}

impl Node {
    /// The element starting at `pos`, and where the next entry starts.
    #[inline]
    fn at(&self, pos: usize) -> (&[u8], usize) {
        let b = &self.buf;
        let (mut n, mut shift, mut p) = (0usize, 0, pos);
        loop {
            let byte = b[p];
            p += 1;
            n |= ((byte & 0x7f) as usize) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let data = &b[p..p + n];
        let end = p + n;
        (data, end + varint_len(end - pos))
    }

    /// Start of the entry that ends at `end`.
    #[inline]
    fn before(&self, end: usize) -> usize {
        let b = &self.buf;
        let (mut n, mut shift, mut p) = (0usize, 0, end);
        loop {
            p -= 1;
            let byte = b[p];
            n |= ((byte & 0x7f) as usize) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        p - n
    }

    /// Byte offset of entry `i` (`0..=count`; `count` is the end), walking
    /// from the nearer end.
    fn offset(&self, i: usize) -> usize {
        if i <= self.count / 2 {
            let mut p = 0;
            for _ in 0..i {
                p = self.at(p).1;
            }
            p
        } else {
            let mut p = self.buf.len();
            for _ in i..self.count {
                p = self.before(p);
            }
            p
        }
    }

    /// Room for `size` more bytes, growing as a vector does but never past
    /// the node limit: a full node then holds no slack (Vec's doubling
    /// alone would leave an 8 KB node in a 13 KB buffer).
    fn reserve(&mut self, size: usize, lim: NodeLimit) {
        let need = self.buf.len() + size;
        if need > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).max(need).min(lim.bytes.max(need));
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// Insert an entry at byte offset `pos`, opening the gap in place (no
    /// temporary buffer: pushes are the hot path).
    fn insert_at(&mut self, pos: usize, data: &[u8]) {
        let size = entry_size(data.len());
        if pos == self.buf.len() {
            self.buf.resize(pos + size, 0);
        } else {
            self.buf.splice(pos..pos, std::iter::repeat_n(0u8, size));
        }
        Writer(&mut self.buf[pos..pos + size]).entry(data);
        self.count += 1;
    }

    /// Remove entries `i..j`.
    fn remove_range(&mut self, i: usize, j: usize) {
        if i >= j {
            return;
        }
        if i == 0 && j == self.count {
            self.buf = Vec::new();
            self.count = 0;
            return;
        }
        let a = self.offset(i);
        let mut b = a;
        for _ in i..j {
            b = self.at(b).1;
        }
        self.buf.drain(a..b);
        self.count -= j - i;
    }

    /// A new node holding `data` alone (`plain`: as a large element).
    fn alone(data: &[u8], plain: bool) -> Node {
        let mut n = Node {
            plain,
            ..Node::default()
        };
        n.insert_at(0, data);
        n
    }

    /// Split off entries `i..` into a new node.
    fn split_off(&mut self, i: usize) -> Node {
        let at = self.offset(i);
        let rest = self.buf.split_off(at);
        let n = Node {
            buf: rest,
            count: self.count - i,
            plain: false,
        };
        self.count = i;
        n
    }
}

/// A list value.
#[derive(Clone, Default, PartialEq)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Reported as `quicklist` (else `listpack`).
    quick: bool,
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("len", &self.len)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// The name `OBJECT ENCODING` answers.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Before adding elements of `add_bytes` encoded bytes in all (`add`
    /// of them): switch to `quicklist` if one node would not hold them.
    pub fn grow_check(&mut self, add: usize, add_bytes: usize, lim: NodeLimit) {
        if !self.quick {
            let bytes = self.nodes.front().map_or(0, |n| n.buf.len());
            if lim.exceeded(bytes + add_bytes, self.len + add) {
                self.quick = true;
            }
        }
    }

    /// After removing elements: back to `listpack` when one node is left
    /// and it is under half the limit. A count limit (positive fill) has no
    /// size limit to halve in Redis (the 8 KB safety limit only caps growth),
    /// so then only the count is compared.
    pub fn shrink_check(&mut self, lim: NodeLimit) {
        if self.quick && self.nodes.len() <= 1 && !self.nodes.front().is_some_and(|n| n.plain) {
            let bytes = self.nodes.front().map_or(0, |n| n.buf.len());
            let by_count = lim.count != usize::MAX;
            if (by_count || bytes <= lim.bytes / 2) && self.len <= lim.count / 2 {
                self.quick = false;
            }
        }
    }

    /// Push one element at an end (callers ran `grow_check`).
    pub fn push(&mut self, end: End, data: &[u8], lim: NodeLimit) {
        let size = entry_size(data.len());
        let large = self.quick && lim.is_large(data.len());
        let fits = |n: &Node| !large && !n.plain && !lim.exceeded(n.buf.len() + size, n.count + 1);
        match end {
            End::Left => match self.nodes.front_mut() {
                Some(n) if fits(n) => {
                    n.reserve(size, lim);
                    n.insert_at(0, data)
                }
                _ => self.nodes.push_front(Node::alone(data, large)),
            },
            End::Right => match self.nodes.back_mut() {
                Some(n) if fits(n) => {
                    n.reserve(size, lim);
                    let at = n.buf.len();
                    n.insert_at(at, data)
                }
                _ => self.nodes.push_back(Node::alone(data, large)),
            },
        }
        self.len += 1;
    }

    /// Push many elements with one conversion check (LPUSH/RPUSH).
    pub fn push_all<'a>(
        &mut self,
        end: End,
        items: impl Iterator<Item = &'a [u8]> + Clone,
        lim: NodeLimit,
    ) {
        let (n, bytes) = items
            .clone()
            .fold((0, 0), |(n, b), d| (n + 1, b + entry_size(d.len())));
        self.grow_check(n, bytes, lim);
        for d in items {
            self.push(end, d, lim);
        }
    }

    /// Pop one element from an end.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let node = match end {
            End::Left => self.nodes.front_mut()?,
            End::Right => self.nodes.back_mut()?,
        };
        let v = match end {
            End::Left => {
                let (d, next) = node.at(0);
                let v = d.to_vec();
                node.buf.drain(..next);
                v
            }
            End::Right => {
                let start = node.before(node.buf.len());
                let v = node.at(start).0.to_vec();
                node.buf.truncate(start);
                v
            }
        };
        node.count -= 1;
        if node.count == 0 {
            match end {
                End::Left => self.nodes.pop_front(),
                End::Right => self.nodes.pop_back(),
            };
        }
        self.len -= 1;
        Some(v)
    }

    /// Node and entry-in-node of element `i` (< len).
    fn locate(&self, mut i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            for (ni, n) in self.nodes.iter().enumerate() {
                if i < n.count {
                    return (ni, i);
                }
                i -= n.count;
            }
        } else {
            let mut from_end = self.len - i;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if from_end <= n.count {
                    return (ni, n.count - from_end);
                }
                from_end -= n.count;
            }
        }
        (self.nodes.len(), 0)
    }

    /// Resolve a Redis index (negative counts from the end).
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if i < 0 { len.checked_add(i)? } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// Element `i` (< len).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (ni, ei) = self.locate(i);
        let n = &self.nodes[ni];
        Some(n.at(n.offset(ei)).0)
    }

    /// Replace element `i` (< len); false if out of range.
    pub fn set(&mut self, i: usize, data: &[u8], lim: NodeLimit) -> bool {
        if i >= self.len {
            return false;
        }
        // Redis 7.2 checks growth as for one more entry (it does not
        // subtract the one replaced).
        self.grow_check(1, entry_size(data.len()), lim);
        let large = self.quick && lim.is_large(data.len());
        let (ni, ei) = self.locate(i);
        let n = &mut self.nodes[ni];
        if large || n.plain {
            // A plain element in, or out of a plain node: the node is
            // replaced, or cut around the element (as Redis's
            // quicklistReplaceEntry).
            if n.count == 1 {
                *n = Node::alone(data, large);
            } else {
                let mut rest = n.split_off(ei);
                rest.remove_range(0, 1);
                self.nodes.insert(ni + 1, Node::alone(data, large));
                if rest.count > 0 {
                    self.nodes.insert(ni + 2, rest);
                }
                if self.nodes[ni].count == 0 {
                    self.nodes.remove(ni);
                }
            }
        } else {
            n.remove_range(ei, ei + 1);
            n.insert_at(n.offset(ei), data);
            self.split_if_needed(ni, lim);
        }
        self.shrink_check(lim);
        true
    }

    /// Insert before (or after) element `i` (< len).
    pub fn insert(&mut self, i: usize, after: bool, data: &[u8], lim: NodeLimit) {
        self.grow_check(1, entry_size(data.len()), lim);
        let large = self.quick && lim.is_large(data.len());
        let (ni, ei) = self.locate(i);
        let ei = if after { ei + 1 } else { ei };
        self.len += 1;
        let n = &mut self.nodes[ni];
        if !large && !n.plain {
            n.insert_at(n.offset(ei), data);
            self.split_if_needed(ni, lim);
            return;
        }
        if !large {
            // Next to a plain node: into the neighbour on that side if it
            // takes one more, as Redis does, else a node of its own.
            let size = entry_size(data.len());
            let side = if ei == 0 {
                ni.checked_sub(1)
            } else {
                Some(ni + 1).filter(|&j| j < self.nodes.len())
            };
            if let Some(j) = side {
                let m = &mut self.nodes[j];
                if !m.plain && !lim.exceeded(m.buf.len() + size, m.count + 1) {
                    let at = if ei == 0 { m.buf.len() } else { 0 };
                    m.insert_at(at, data);
                    return;
                }
            }
        }
        let n = &mut self.nodes[ni];
        if ei == 0 {
            self.nodes.insert(ni, Node::alone(data, large));
        } else if ei == n.count {
            self.nodes.insert(ni + 1, Node::alone(data, large));
        } else {
            let rest = n.split_off(ei);
            self.nodes.insert(ni + 1, Node::alone(data, large));
            self.nodes.insert(ni + 2, rest);
        }
    }

    /// A node that grew past the limit is cut in two halves.
    fn split_if_needed(&mut self, ni: usize, lim: NodeLimit) {
        let n = &mut self.nodes[ni];
        if n.count > 1 && lim.exceeded(n.buf.len(), n.count) {
            let half = n.count / 2;
            let rest = n.split_off(half);
            self.nodes.insert(ni + 1, rest);
            self.split_if_needed(ni + 1, lim);
            self.split_if_needed(ni, lim);
        }
    }

    /// Remove elements `start..start+count` (clamped).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        let end = start.saturating_add(count).min(self.len);
        if start >= end {
            return;
        }
        let mut pos = 0;
        let mut ni = 0;
        while ni < self.nodes.len() && pos < end {
            let c = self.nodes[ni].count;
            let (a, b) = (start.max(pos), end.min(pos + c));
            pos += c;
            if a < b {
                self.nodes[ni].remove_range(a - (pos - c), b - (pos - c));
                self.len -= b - a;
            }
            if self.nodes[ni].count == 0 {
                self.nodes.remove(ni);
            } else {
                ni += 1;
            }
        }
    }

    /// Visit elements from index `from` onwards (towards the right), or from
    /// `from` backwards (towards the left) when `rev`, while `f` says go on.
    pub fn walk(&self, from: usize, rev: bool, mut f: impl FnMut(&[u8]) -> bool) {
        if from >= self.len {
            return;
        }
        let (mut ni, ei) = self.locate(from);
        if !rev {
            let mut pos = self.nodes[ni].offset(ei);
            loop {
                let n = &self.nodes[ni];
                while pos < n.buf.len() {
                    let (d, next) = n.at(pos);
                    if !f(d) {
                        return;
                    }
                    pos = next;
                }
                ni += 1;
                if ni == self.nodes.len() {
                    return;
                }
                pos = 0;
            }
        } else {
            let n = &self.nodes[ni];
            let mut end = n.at(n.offset(ei)).1;
            loop {
                let n = &self.nodes[ni];
                while end > 0 {
                    let start = n.before(end);
                    if !f(n.at(start).0) {
                        return;
                    }
                    end = start;
                }
                if ni == 0 {
                    return;
                }
                ni -= 1;
                end = self.nodes[ni].buf.len();
            }
        }
    }

    /// Remove up to `limit` (0: all) elements equal to `x`, scanning from
    /// the left or (`from_right`) the right. Answers how many went.
    pub fn remove_matching(&mut self, x: &[u8], limit: usize, from_right: bool) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = if from_right {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        for ni in order {
            if limit != 0 && removed == limit {
                break;
            }
            let n = &mut self.nodes[ni];
            // Collect the byte ranges of matching entries in this node.
            let mut spans = Vec::new();
            let mut pos = 0;
            while pos < n.buf.len() {
                let (d, next) = n.at(pos);
                if d == x {
                    spans.push((pos, next));
                }
                pos = next;
            }
            if from_right {
                spans.reverse();
            }
            if limit != 0 {
                spans.truncate(limit - removed);
            }
            if spans.is_empty() {
                continue;
            }
            removed += spans.len();
            n.count -= spans.len();
            spans.sort_unstable();
            let old = std::mem::take(&mut n.buf);
            let mut buf = Vec::with_capacity(old.len());
            let mut last = 0;
            for (a, b) in spans.iter().copied() {
                buf.extend_from_slice(&old[last..a]);
                last = b;
            }
            buf.extend_from_slice(&old[last..]);
            n.buf = buf;
        }
        self.nodes.retain(|n| n.count > 0);
        self.len -= removed;
        removed
    }

    /// Every element, left to right.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes().flatten()
    }

    /// The elements node by node (RDB writes one listpack per node).
    pub fn nodes(&self) -> impl Iterator<Item = impl Iterator<Item = &[u8]> + '_> + '_ {
        self.nodes_with_kind().map(|(_, n)| n)
    }

    /// The elements node by node, each with whether it is a plain node.
    pub fn nodes_with_kind(
        &self,
    ) -> impl Iterator<Item = (bool, impl Iterator<Item = &[u8]> + '_)> + '_ {
        self.nodes.iter().map(|n| {
            (n.plain, {
                let mut pos = 0;
                std::iter::from_fn(move || {
                    (pos < n.buf.len()).then(|| {
                        let (d, next) = n.at(pos);
                        pos = next;
                        d
                    })
                })
            })
        })
    }

    /// Build a list from elements in order (SORT STORE, RDB load later).
    pub fn from_iter<'a>(items: impl Iterator<Item = &'a [u8]> + Clone, lim: NodeLimit) -> List {
        let mut l = List::new();
        l.push_all(End::Right, items, lim);
        l
    }

    /// Number of nodes (for tests and MEMORY-style introspection).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of entries in all nodes (DEBUG OBJECT `ql_uncompressed_size`).
    pub fn node_bytes(&self) -> usize {
        self.nodes.iter().map(|n| n.buf.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model_check(l: &List, m: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), m.len());
        let got: Vec<Vec<u8>> = l.iter().map(|d| d.to_vec()).collect();
        let want: Vec<Vec<u8>> = m.iter().cloned().collect();
        assert_eq!(got, want);
        assert_eq!(l.nodes.iter().map(|n| n.count).sum::<usize>(), l.len());
        assert!(l.nodes.iter().all(|n| n.count > 0));
        for (i, w) in m.iter().enumerate() {
            assert_eq!(l.get(i), Some(&w[..]));
        }
        let mut rev = Vec::new();
        if !m.is_empty() {
            l.walk(m.len() - 1, true, |d| {
                rev.push(d.to_vec());
                true
            });
        }
        rev.reverse();
        assert_eq!(rev, want);
    }

    #[test]
    fn pushed_nodes_hold_no_slack_past_the_limit() {
        let lim = NodeLimit::from_fill(-2);
        let mut l = List::default();
        for i in 0..50_000 {
            let end = if i % 2 == 0 { End::Right } else { End::Left };
            l.push(end, format!("item-{i}").as_bytes(), lim);
        }
        assert!(l.nodes.len() > 10);
        for n in &l.nodes {
            assert!(
                n.buf.capacity() <= lim.bytes,
                "{} > {}",
                n.buf.capacity(),
                lim.bytes
            );
        }
    }

    #[test]
    fn entries_step_both_ways() {
        for n in [
            0usize,
            1,
            125,
            126,
            127,
            128,
            300,
            16380,
            16383,
            16384,
            1 << 20,
        ] {
            let data = vec![7u8; n];
            let mut buf = vec![];
            buf.extend(encode(b"x"));
            buf.extend(encode(&data));
            assert_eq!(buf.len() - 3, entry_size(n));
            let node = Node {
                buf,
                count: 2,
                plain: false,
            };
            let (d, next) = node.at(3);
            assert_eq!(d, &data[..]);
            assert_eq!(next, node.buf.len());
            assert_eq!(node.before(node.buf.len()), 3);
            assert_eq!(node.before(3), 0);
        }
    }

    #[test]
    fn fill_limits_match_redis() {
        assert_eq!(NodeLimit::from_fill(-2).bytes, 8192);
        assert_eq!(NodeLimit::from_fill(-1).bytes, 4096);
        assert_eq!(NodeLimit::from_fill(-5).bytes, 65536);
        assert_eq!(NodeLimit::from_fill(-100).bytes, 65536);
        assert_eq!(NodeLimit::from_fill(0).count, 1);
        assert_eq!(NodeLimit::from_fill(5).count, 5);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(usize, Vec<u8>),
        Insert(usize, bool, Vec<u8>),
        RemoveRange(usize, usize),
        RemoveMatching(Vec<u8>, usize, bool),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(0u8..3, 0..3),
            prop::collection::vec(any::<u8>(), 100..300),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), elem()).prop_map(|(l, e)| Op::Push(l, e)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (0usize..200, elem()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (0usize..200, any::<bool>(), elem()).prop_map(|(i, a, e)| Op::Insert(i, a, e)),
            1 => (0usize..200, 0usize..50).prop_map(|(s, c)| Op::RemoveRange(s, c)),
            1 => (elem(), 0usize..3, any::<bool>()).prop_map(|(e, n, r)| Op::RemoveMatching(e, n, r)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_deque(
            ops in prop::collection::vec(op(), 1..300),
            fill in prop_oneof![Just(-1i64), Just(-2), Just(3), Just(1)],
            plain in prop_oneof![Just(DEFAULT_PACKED_THRESHOLD), Just(1), Just(2), Just(150)],
        ) {
            let lim = NodeLimit::from_fill(fill).with_plain(plain);
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for o in ops {
                match o {
                    Op::Push(left, e) => {
                        l.grow_check(1, entry_size(e.len()), lim);
                        if left { l.push(End::Left, &e, lim); m.push_front(e); }
                        else { l.push(End::Right, &e, lim); m.push_back(e); }
                    }
                    Op::Pop(left) => {
                        let (a, b) = if left { (l.pop(End::Left), m.pop_front()) } else { (l.pop(End::Right), m.pop_back()) };
                        prop_assert_eq!(a, b);
                    }
                    Op::Set(i, e) => {
                        let ok = l.set(i, &e, lim);
                        prop_assert_eq!(ok, i < m.len());
                        if ok { m[i] = e; }
                    }
                    Op::Insert(i, after, e) => {
                        if i < m.len() {
                            l.insert(i, after, &e, lim);
                            m.insert(if after { i + 1 } else { i }, e);
                        }
                    }
                    Op::RemoveRange(s, c) => {
                        l.remove_range(s, c);
                        let end = (s + c).min(m.len());
                        if s < end { m.drain(s..end); }
                    }
                    Op::RemoveMatching(e, n, right) => {
                        let got = l.remove_matching(&e, n, right);
                        let mut removed = 0;
                        let idx: Vec<usize> = if right { (0..m.len()).rev().collect() } else { (0..m.len()).collect() };
                        let mut kill = Vec::new();
                        for i in idx {
                            if m[i] == e && (n == 0 || removed < n) { kill.push(i); removed += 1; }
                        }
                        kill.sort_unstable();
                        for i in kill.into_iter().rev() { m.remove(i); }
                        prop_assert_eq!(got, removed);
                    }
                }
                model_check(&l, &m);
                for n in &l.nodes {
                    prop_assert!(n.count == 1 || !lim.exceeded(n.buf.len(), n.count));
                    // A plain node is one large element, alone.
                    prop_assert!(!n.plain || (n.count == 1 && n.buf.len() > lim.plain));
                }
                // Only a quicklist has plain nodes, and it stays one.
                prop_assert!(l.quick || l.nodes.iter().all(|n| !n.plain));
            }
        }
    }
}
