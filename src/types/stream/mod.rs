//! Streams (XADD, XRANGE, consumer groups), in Redis's own layout.
//!
//! Entries live in *nodes*: listpacks keyed by their master ID (the ID of
//! the entry that opened the node) in an ordered map, as Redis keeps them
//! in a radix tree. A node starts with a master entry (`count`, `deleted`,
//! the first entry's field names, a 0 terminator); each entry follows as
//! `flags, ms-delta, seq-delta, [num-fields, field, value … | value …],
//! lp-count`, where the SAMEFIELDS flag says the field names are the
//! master's and are left out. A node is closed when it reaches
//! `stream-node-max-bytes` or `stream-node-max-entries`. Deleting an entry
//! only flags it; a node whose live entries are all gone is dropped.
//!
//! Keeping Redis's layout makes a stream as compact as Redis's, lets
//! approximate trimming (`MAXLEN ~`) drop exactly the nodes Redis would,
//! and lets RDB snapshots carry nodes as they are in both directions.
//!
//! Consumer groups are in [`group`].

pub mod group;

use std::collections::BTreeMap;

use crate::persist::rdb::listpack::{self, elem_at, int_at, replace_int, Elem, Writer, FIRST};

pub use group::{Consumer, Group, Nack};

/// An entry ID: milliseconds and sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, None after the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID, None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// `ms-seq` text.
    pub fn format<'b>(&self, buf: &'b mut [u8; 48]) -> &'b [u8] {
        let mut a = itoa::Buffer::new();
        let ms = a.format(self.ms).as_bytes();
        let n = ms.len();
        buf[..n].copy_from_slice(ms);
        buf[n] = b'-';
        let seq = a.format(self.seq).as_bytes();
        buf[n + 1..n + 1 + seq.len()].copy_from_slice(seq);
        &buf[..n + 1 + seq.len()]
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.format(&mut [0; 48]).to_vec()
    }

    /// The 16 big-endian bytes Redis keys nodes (and RDB PELs) by.
    pub fn to_be(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_be(b: &[u8; 16]) -> StreamId {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }
}

/// Entry flags.
pub const FLAG_DELETED: i64 = 1;
pub const FLAG_SAMEFIELDS: i64 = 2;

/// Largest listpack a node may grow to (`STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX: usize = 1 << 30;

/// When a node is closed (`stream-node-max-bytes/-entries`; 0: no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// A node's master entry.
struct Master {
    nfields: usize,
    /// Offset of the first master field.
    fields: usize,
    /// Offset of the first entry.
    first: usize,
}

fn skip(lp: &[u8], mut p: usize, n: usize) -> usize {
    for _ in 0..n {
        match elem_at(lp, p) {
            Some((_, next)) => p = next,
            None => return lp.len().saturating_sub(1),
        }
    }
    p
}

fn master(lp: &[u8]) -> Master {
    let p = skip(lp, FIRST, 2);
    let nfields = int_at(lp, p).max(0) as usize;
    let fields = skip(lp, p, 1);
    let first = skip(lp, fields, nfields + 1);
    Master {
        nfields,
        fields,
        first,
    }
}

/// Whether an element equals `b`, as listpack comparisons go.
fn elem_eq(e: Elem<'_>, b: &[u8]) -> bool {
    match e {
        Elem::Str(s) => s == b,
        Elem::Int(_) => e.with_bytes(|x| x == b),
    }
}

/// One entry of a node, as found in its listpack.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub deleted: bool,
    flags_at: usize,
    lp: &'a [u8],
    same: bool,
    master_fields: usize,
    nfields: usize,
    /// Offset of the first value (SAMEFIELDS) or first field.
    data: usize,
}

impl<'a> Entry<'a> {
    /// Number of field-value pairs.
    pub fn len(&self) -> usize {
        self.nfields
    }

    pub fn is_empty(&self) -> bool {
        self.nfields == 0
    }

    /// Visit the field-value pairs in order.
    pub fn for_each(&self, mut f: impl FnMut(Elem<'a>, Elem<'a>)) {
        let (mut mf, mut p) = (self.master_fields, self.data);
        for _ in 0..self.nfields {
            let field;
            if self.same {
                let Some((e, next)) = elem_at(self.lp, mf) else {
                    return;
                };
                field = e;
                mf = next;
            } else {
                let Some((e, next)) = elem_at(self.lp, p) else {
                    return;
                };
                field = e;
                p = next;
            }
            let Some((value, next)) = elem_at(self.lp, p) else {
                return;
            };
            p = next;
            f(field, value);
        }
    }
}

/// The entries of one node, in order (deleted ones included).
pub struct NodeIter<'a> {
    lp: &'a [u8],
    master_id: StreamId,
    m: Master,
    p: usize,
}

impl<'a> NodeIter<'a> {
    pub fn new(lp: &'a [u8], master_id: StreamId) -> Self {
        let m = master(lp);
        let p = m.first;
        NodeIter {
            lp,
            master_id,
            m,
            p,
        }
    }
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let e = self.entry_at(self.p)?;
        self.p = e.1;
        Some(e.0)
    }
}

impl<'a> NodeIter<'a> {
    /// The entry whose flags element is at `flags_at`, and the offset
    /// after it.
    fn entry_at(&self, flags_at: usize) -> Option<(Entry<'a>, usize)> {
        let lp = self.lp;
        // Each element decoded once: its integer and where the next starts.
        let int = |p: usize| -> Option<(i64, usize)> {
            let (e, next) = elem_at(lp, p)?;
            let v = match e {
                Elem::Int(v) => v,
                Elem::Str(s) => crate::protocol::parse_i64(s).unwrap_or(0),
            };
            Some((v, next))
        };
        let (flags, p) = int(flags_at)?;
        let (ms, p) = int(p)?;
        let (seq, mut p) = int(p)?;
        let same = flags & FLAG_SAMEFIELDS != 0;
        let nfields = if same {
            self.m.nfields
        } else {
            let (n, next) = int(p)?;
            p = next;
            n.max(0) as usize
        };
        let data = p;
        let end = skip(lp, data, if same { nfields } else { 2 * nfields } + 1);
        let e = Entry {
            id: StreamId::new(
                self.master_id.ms.wrapping_add(ms as u64),
                self.master_id.seq.wrapping_add(seq as u64),
            ),
            deleted: flags & FLAG_DELETED != 0,
            flags_at,
            lp,
            same,
            master_fields: self.m.fields,
            nfields,
            data,
        };
        Some((e, end))
    }

    /// The entries from the last back to the first, found through each
    /// entry's lp-count as Redis walks a node backwards.
    pub fn rev(self) -> impl Iterator<Item = Entry<'a>> {
        let mut end = self.lp.len().saturating_sub(1);
        std::iter::from_fn(move || {
            if end <= self.m.first {
                return None;
            }
            let count_at = listpack::elem_before(self.lp, end)?;
            let n = int_at(self.lp, count_at).max(0) as usize;
            let mut p = count_at;
            for _ in 0..n {
                p = listpack::elem_before(self.lp, p)?;
            }
            if p < self.m.first {
                return None;
            }
            end = p;
            self.entry_at(p).map(|(e, _)| e)
        })
    }
}

/// A stream value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Master ID → node listpack.
    nodes: BTreeMap<StreamId, Vec<u8>>,
    length: u64,
    pub last_id: StreamId,
    /// First live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Nodes, in ID order (RDB, MEMORY USAGE, XINFO).
    pub fn nodes(&self) -> impl Iterator<Item = (&StreamId, &Vec<u8>)> {
        self.nodes.iter()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How many nodes Redis's radix tree holding these node keys has
    /// (XINFO STREAM `radix-tree-nodes`): the root, one node per run of
    /// bytes the keys share (a compressed node), one per branch, one leaf
    /// per key, as a fully compressed rax of 16-byte keys is built.
    pub fn radix_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }

    /// Restore a node read from a snapshot (already validated); `length`
    /// and the IDs are set by the loader.
    pub fn push_node(&mut self, master: StreamId, lp: Vec<u8>) {
        self.nodes.insert(master, lp);
    }

    pub fn set_len(&mut self, n: u64) {
        self.length = n;
    }

    /// Add an entry with ID `id` (the caller checked it is above
    /// `last_id`) and `pairs` (field, value, field, value …).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], lim: NodeLimits) {
        let nfields = pairs.len() / 2;
        let total: usize = pairs.iter().map(|b| b.len()).sum();
        let max_bytes = match lim.max_bytes {
            0 => LISTPACK_MAX,
            n => n.min(LISTPACK_MAX),
        };
        let mut tail = self.nodes.last_key_value().map(|(k, _)| *k);
        if let Some(k) = tail {
            let lp = &self.nodes[&k];
            let full = lp.len() + total >= max_bytes
                || (lim.max_entries > 0 && {
                    let count = int_at(lp, FIRST) + int_at(lp, skip(lp, FIRST, 1));
                    count >= lim.max_entries as i64
                });
            if full {
                if let Some(lp) = self.nodes.get_mut(&k) {
                    lp.shrink_to_fit();
                }
                tail = None;
            }
        }
        let mut flags = 0;
        let (master_id, mut w) = match tail {
            None => {
                let mut w = Writer::new();
                w.push_int(1);
                w.push_int(0);
                w.push_int(nfields as i64);
                for f in pairs.iter().step_by(2) {
                    w.push(f);
                }
                w.push_int(0);
                flags |= FLAG_SAMEFIELDS;
                (id, w)
            }
            Some(k) => {
                let Some(lp) = self.nodes.get_mut(&k) else {
                    return;
                };
                let count = int_at(lp, FIRST);
                replace_int(lp, FIRST, count + 1);
                let m = master(lp);
                if m.nfields == nfields {
                    let mut p = m.fields;
                    let mut same = true;
                    for f in pairs.iter().step_by(2) {
                        match elem_at(lp, p) {
                            Some((e, next)) if elem_eq(e, f) => p = next,
                            _ => {
                                same = false;
                                break;
                            }
                        }
                    }
                    if same {
                        flags |= FLAG_SAMEFIELDS;
                    }
                }
                (k, Writer::resume(std::mem::take(lp)))
            }
        };
        let same = flags & FLAG_SAMEFIELDS != 0;
        w.push_int(flags);
        w.push_int(id.ms.wrapping_sub(master_id.ms) as i64);
        w.push_int(id.seq.wrapping_sub(master_id.seq) as i64);
        if !same {
            w.push_int(nfields as i64);
        }
        for pair in pairs.chunks_exact(2) {
            if !same {
                w.push(pair[0]);
            }
            w.push(pair[1]);
        }
        let lp_count = 3 + nfields + if same { 0 } else { nfields + 1 };
        w.push_int(lp_count as i64);
        self.nodes.insert(master_id, w.finish());
        self.length += 1;
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Visit live entries with IDs in `start..=end`, ascending (or
    /// descending when `rev`), while `f` answers true.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(&Entry<'_>) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            let from = self
                .nodes
                .range(..=start)
                .next_back()
                .map(|(k, _)| *k)
                .unwrap_or(start);
            for (mid, lp) in self.nodes.range(from..=end) {
                for e in NodeIter::new(lp, *mid) {
                    if e.deleted || e.id < start {
                        continue;
                    }
                    if e.id > end || !f(&e) {
                        return;
                    }
                }
            }
        } else {
            for (mid, lp) in self.nodes.range(..=end).rev() {
                for e in NodeIter::new(lp, *mid).rev() {
                    if e.deleted || e.id > end || e.id < start {
                        continue;
                    }
                    if !f(&e) {
                        return;
                    }
                }
                if *mid <= start {
                    return;
                }
            }
        }
    }

    /// The live entry with ID `id`, handed to `f`.
    pub fn get<R>(&self, id: StreamId, f: impl FnOnce(&Entry<'_>) -> R) -> Option<R> {
        let mut f = Some(f);
        let mut out = None;
        self.range(id, id, false, |e| {
            if let Some(f) = f.take() {
                out = Some(f(e));
            }
            false
        });
        out
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id, |_| ()).is_some()
    }

    /// First (or last) live entry's ID.
    pub fn edge_id(&self, last: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, last, |e| {
            out = Some(e.id);
            false
        });
        out
    }

    /// Set `first_id` from the entries (after deletions).
    pub fn refresh_first(&mut self) {
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.edge_id(false).unwrap_or(StreamId::MIN)
        };
    }

    /// Delete the live entry `id`; false if there is none. Does not touch
    /// `first_id` or `max_deleted` (XDEL does, once for all its IDs).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&mid, lp)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let found = NodeIter::new(lp, mid)
            .filter(|e| !e.deleted)
            .take_while(|e| e.id <= id)
            .find(|e| e.id == id)
            .map(|e| e.flags_at);
        let Some(at) = found else {
            return false;
        };
        let flags = int_at(lp, at);
        replace_int(lp, at, flags | FLAG_DELETED);
        let count = int_at(lp, FIRST);
        if count <= 1 {
            self.nodes.remove(&mid);
        } else {
            replace_int(lp, FIRST, count - 1);
            let p = skip(lp, FIRST, 1);
            let deleted = int_at(lp, p);
            replace_int(lp, p, deleted + 1);
        }
        self.length -= 1;
        true
    }

    /// Trim from the oldest entries; answers how many went. `approx` only
    /// drops whole nodes; `limit` (0: none) caps the work.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let Some((&mid, lp)) = self.nodes.iter().next() else {
                break;
            };
            let entries = int_at(lp, FIRST).max(0) as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => NodeIter::new(lp, mid).last().is_some_and(|e| e.id < min),
            };
            if remove {
                self.nodes.remove(&mid);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries inside the head node.
            let Some(lp) = self.nodes.get_mut(&mid) else {
                break;
            };
            let mut flag_at = Vec::new();
            let mut length = self.length;
            for e in NodeIter::new(lp, mid) {
                let stop = match how {
                    Trim::MaxLen(max) => length <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted {
                    flag_at.push(e.flags_at);
                    length -= 1;
                }
            }
            // From the back, so a replacement cannot move the offsets still
            // to be replaced.
            for &at in flag_at.iter().rev() {
                let f = int_at(lp, at);
                replace_int(lp, at, f | FLAG_DELETED);
            }
            let n = flag_at.len() as i64;
            let count = int_at(lp, FIRST);
            replace_int(lp, FIRST, count - n);
            let p = skip(lp, FIRST, 1);
            let del = int_at(lp, p);
            replace_int(lp, p, del + n);
            self.length = length;
            deleted += n as u64;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.refresh_first();
        }
        deleted
    }

    /// Estimated heap bytes: nodes (with the map's per-node cost), groups,
    /// their pending entries and consumers (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        const NODE: usize = 48;
        let nodes: usize = self.nodes.values().map(|lp| lp.capacity() + NODE).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                let pel: usize = g.pel.values().map(|n| 2 * NODE + n.consumer.len()).sum();
                let consumers: usize = g
                    .consumers
                    .keys()
                    .map(|c| std::mem::size_of::<Consumer>() + NODE + c.len())
                    .sum();
                name.len() + std::mem::size_of::<Group>() + NODE + pel + consumers
            })
            .sum();
        nodes + groups
    }
}

/// Nodes of a compressed radix tree over `keys` (sorted, distinct, all 16
/// bytes) below the common prefix of length `depth`, that node included.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth == 16 {
        return 1;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    if first[depth] == last[depth] {
        // One way on: a compressed node up to where the keys part (or end).
        let mut d = depth;
        while d < 16 && first[d] == last[d] {
            d += 1;
        }
        return 1 + rax_nodes(keys, d);
    }
    let mut n = 1;
    let mut start = 0;
    for i in 1..=keys.len() {
        if i == keys.len() || keys[i][depth] != keys[start][depth] {
            n += rax_nodes(&keys[start..i], depth + 1);
            start = i;
        }
    }
    n
}

/// Check a node read from a snapshot, as Redis's deep integrity check of
/// stream listpacks: a well-formed master entry, every entry well formed
/// (integers where Redis writes integers), live entries in ID order and not
/// below `master`, counters that match. Answers the node's live entries.
pub fn validate_node(lp: &[u8], master_id: StreamId) -> Result<u64, &'static str> {
    let elems = listpack::parse(lp)?;
    let int = |i: usize| -> Result<i64, &'static str> {
        match elems.get(i) {
            Some(Elem::Int(v)) => Ok(*v),
            Some(Elem::Str(_)) => Err("stream node: not an integer"),
            None => Err("stream node: truncated"),
        }
    };
    let count = int(0)?;
    let deleted = int(1)?;
    let nfields = int(2)?;
    if count < 0 || deleted < 0 || nfields < 0 || nfields as usize > elems.len() {
        return Err("stream node: bad counter");
    }
    let nfields = nfields as usize;
    let mut i = 3 + nfields;
    if int(i)? != 0 {
        return Err("stream node: bad master terminator");
    }
    i += 1;
    let (mut live, mut dead) = (0i64, 0i64);
    let mut prev: Option<StreamId> = None;
    while i < elems.len() {
        let start = i;
        let flags = int(i)?;
        if !(0..=3).contains(&flags) {
            return Err("stream node: bad entry flags");
        }
        let id = StreamId::new(
            master_id.ms.wrapping_add(int(i + 1)? as u64),
            master_id.seq.wrapping_add(int(i + 2)? as u64),
        );
        i += 3;
        if flags & FLAG_SAMEFIELDS != 0 {
            i += nfields;
        } else {
            let n = int(i)?;
            if n < 0 || n as usize > elems.len() {
                return Err("stream node: bad field count");
            }
            i += 1 + 2 * n as usize;
        }
        if i >= elems.len() || int(i)? != (i - start) as i64 {
            return Err("stream node: bad lp-count");
        }
        i += 1;
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            // Deleted entries may sit out of order (XSETID can move the
            // last ID back below one), live ones never do.
            if prev.is_some_and(|p| id <= p) || id < master_id {
                return Err("stream node: IDs out of order");
            }
            prev = Some(id);
            live += 1;
        }
    }
    if live != count || dead != deleted {
        return Err("stream node: counters do not match the entries");
    }
    Ok(live as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &Stream, a: StreamId, b: StreamId, rev: bool) -> Vec<StreamId> {
        let mut v = Vec::new();
        s.range(a, b, rev, |e| {
            v.push(e.id);
            true
        });
        v
    }

    #[test]
    fn backward_walk_matches_forward() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for limits in [
            NodeLimits::default(),
            NodeLimits {
                max_bytes: 300,
                max_entries: 7,
            },
        ] {
            let mut s = Stream::new();
            let mut all = Vec::new();
            for i in 0..2000u64 {
                let id = StreamId::new(10 + i / 3, i % 3);
                let big = "z".repeat((rnd() % 200) as usize);
                let v = i.to_string();
                let pairs: Vec<&[u8]> = match rnd() % 3 {
                    0 => vec![b"a", v.as_bytes(), b"b", b"x"],
                    1 => vec![b"other", big.as_bytes()],
                    _ => vec![b"a", b"-5", b"c", v.as_bytes(), b"d", b"1"],
                };
                s.append(id, &pairs, limits);
                all.push(id);
            }
            for _ in 0..300 {
                let id = all[(rnd() % all.len() as u64) as usize];
                s.delete(id);
            }
            for _ in 0..200 {
                let a = all[(rnd() % all.len() as u64) as usize];
                let b = all[(rnd() % all.len() as u64) as usize];
                let (a, b) = (a.min(b), a.max(b));
                let mut fwd = ids(&s, a, b, false);
                fwd.reverse();
                assert_eq!(ids(&s, a, b, true), fwd);
            }
            let mut fwd = ids(&s, StreamId::MIN, StreamId::MAX, false);
            assert_eq!(fwd.len() as u64, s.len());
            fwd.reverse();
            assert_eq!(ids(&s, StreamId::MIN, StreamId::MAX, true), fwd);
            // Fields read the same both ways.
            let mut f1 = Vec::new();
            s.range(StreamId::MIN, StreamId::MAX, false, |e| {
                e.for_each(|f, v| f1.push((f.to_vec(), v.to_vec())));
                true
            });
            let mut f2 = Vec::new();
            let mut per: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
            s.range(StreamId::MIN, StreamId::MAX, true, |e| {
                let mut one = Vec::new();
                e.for_each(|f, v| one.push((f.to_vec(), v.to_vec())));
                per.push(one);
                true
            });
            for one in per.into_iter().rev() {
                f2.extend(one);
            }
            assert_eq!(f1, f2);
        }
    }
}
