//! The ordered index of a large sorted set: an order-statistic B+tree over
//! `(score, member id)` keys.
//!
//! Leaves hold up to [`MAX`] keys in two parallel vectors (scores, ids);
//! inner nodes hold up to [`MAX`] children, and for each child its size and
//! its greatest key. Sizes give rank ↔ position in O(log n); greatest keys
//! route a search (the child to enter is the first whose greatest key is not
//! below the target). Keys compare by score, then by member bytes, which the
//! tree reads through [`Members`] (the member arena of the sorted set), so
//! each member's bytes are stored once. Scores are never NaN.
//!
//! Why a B+tree and not Redis's skiplist: 12 bytes per key in contiguous
//! arrays (a skiplist node is ~40 bytes plus a separate allocation), and a
//! lookup touches ~4 nodes at a million members instead of ~20 scattered
//! ones. `benches/zset.rs` compares the two index shapes.

use std::cmp::Ordering;

/// Most keys in a leaf / children in an inner node.
pub const MAX: usize = 64;
/// Fewest keys / children a non-root node keeps after a removal.
const MIN: usize = MAX / 3;

/// A key: score and member id.
pub type Key = (f64, u32);

/// Where the tree reads member bytes to break score ties.
pub trait Members {
    fn member(&self, id: u32) -> &[u8];
}

/// Compare two keys: by score, then by member bytes.
#[inline]
pub fn cmp_keys<M: Members + ?Sized>(a: Key, b: Key, m: &M) -> Ordering {
    match a.0.partial_cmp(&b.0) {
        Some(Ordering::Equal) | None => {
            if a.1 == b.1 {
                Ordering::Equal
            } else {
                m.member(a.1).cmp(m.member(b.1))
            }
        }
        Some(o) => o,
    }
}

#[derive(Clone)]
struct Leaf {
    scores: Vec<f64>,
    ids: Vec<u32>,
}

#[derive(Clone)]
struct Inner {
    kids: Vec<Node>,
    sizes: Vec<u32>,
    last: Vec<Key>,
    /// Sum of `sizes`.
    total: usize,
}

#[derive(Clone)]
enum Node {
    Leaf(Box<Leaf>),
    Inner(Box<Inner>),
}

impl Leaf {
    fn new() -> Leaf {
        Leaf {
            scores: Vec::with_capacity(MAX + 1),
            ids: Vec::with_capacity(MAX + 1),
        }
    }
    #[inline]
    fn key(&self, i: usize) -> Key {
        (self.scores[i], self.ids[i])
    }
    /// First position whose key is not below `k`.
    fn lower_bound<M: Members + ?Sized>(&self, k: Key, m: &M) -> usize {
        let (mut lo, mut hi) = (0, self.ids.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if cmp_keys(self.key(mid), k, m) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl Node {
    fn size(&self) -> usize {
        match self {
            Node::Leaf(l) => l.ids.len(),
            Node::Inner(n) => n.total,
        }
    }
    /// Number of keys (leaf) or children (inner).
    fn width(&self) -> usize {
        match self {
            Node::Leaf(l) => l.ids.len(),
            Node::Inner(n) => n.kids.len(),
        }
    }
    fn last(&self) -> Key {
        match self {
            Node::Leaf(l) => {
                let i = l.ids.len() - 1;
                l.key(i)
            }
            Node::Inner(n) => n.last[n.last.len() - 1],
        }
    }
    /// Split off the upper half into a new sibling.
    fn split(&mut self) -> Node {
        match self {
            Node::Leaf(l) => {
                let at = l.ids.len() / 2;
                let mut r = Leaf::new();
                r.scores.extend(l.scores.drain(at..));
                r.ids.extend(l.ids.drain(at..));
                Node::Leaf(Box::new(r))
            }
            Node::Inner(n) => {
                let at = n.kids.len() / 2;
                let sizes = n.sizes.split_off(at);
                let total: usize = sizes.iter().map(|&s| s as usize).sum();
                n.total -= total;
                Node::Inner(Box::new(Inner {
                    kids: n.kids.split_off(at),
                    sizes,
                    last: n.last.split_off(at),
                    total,
                }))
            }
        }
    }
    /// Append all of `other` (a right sibling of the same kind) to self.
    fn absorb(&mut self, other: Node) {
        match (self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                a.scores.extend_from_slice(&b.scores);
                a.ids.extend_from_slice(&b.ids);
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let b = *b;
                a.total += b.total;
                a.kids.extend(b.kids);
                a.sizes.extend(b.sizes);
                a.last.extend(b.last);
            }
            _ => unreachable!("siblings are always at the same depth"),
        }
    }
}

impl Inner {
    /// The child that holds (or would hold) `k`.
    fn route<M: Members + ?Sized>(&self, k: Key, m: &M) -> usize {
        let (mut lo, mut hi) = (0, self.last.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if cmp_keys(self.last[mid], k, m) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.min(self.kids.len() - 1)
    }
    fn refresh(&mut self, i: usize) {
        let s = self.kids[i].size();
        self.total = self.total + s - self.sizes[i] as usize;
        self.sizes[i] = s as u32;
        self.last[i] = self.kids[i].last();
    }
    fn size_before(&self, i: usize) -> usize {
        self.sizes[..i].iter().map(|&s| s as usize).sum()
    }
    /// Child `i` fell below the minimum: merge it with a neighbour, and split
    /// the result again if it is too wide (which amounts to borrowing).
    fn rebalance(&mut self, i: usize) {
        if self.kids.len() < 2 {
            return;
        }
        let a = if i + 1 < self.kids.len() { i } else { i - 1 };
        let right = self.kids.remove(a + 1);
        self.total -= self.sizes.remove(a + 1) as usize;
        self.last.remove(a + 1);
        self.kids[a].absorb(right);
        if self.kids[a].width() > MAX {
            let r = self.kids[a].split();
            self.kids.insert(a + 1, r);
            self.sizes.insert(a + 1, 0);
            self.last.insert(a + 1, (0.0, 0));
            self.refresh(a + 1);
        }
        self.refresh(a);
    }
}

/// The ordered index.
#[derive(Clone)]
pub struct Tree {
    root: Node,
    len: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root: Node::Leaf(Box::new(Leaf::new())),
            len: 0,
        }
    }
}

impl Tree {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Insert a key that is not in the tree.
    pub fn insert<M: Members + ?Sized>(&mut self, k: Key, m: &M) {
        if let Some(right) = insert_rec(&mut self.root, k, m) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Box::new(Leaf::new())));
            let mut inner = Inner {
                sizes: vec![0, 0],
                last: vec![(0.0, 0); 2],
                kids: vec![left, right],
                total: 0,
            };
            inner.refresh(0);
            inner.refresh(1);
            self.root = Node::Inner(Box::new(inner));
        }
        self.len += 1;
    }

    /// Remove a key; false if it was not there.
    pub fn remove<M: Members + ?Sized>(&mut self, k: Key, m: &M) -> bool {
        if !remove_rec(&mut self.root, k, m) {
            return false;
        }
        self.len -= 1;
        if let Node::Inner(n) = &mut self.root {
            if n.kids.len() == 1 {
                let only = n.kids.pop().expect("one child");
                self.root = only;
            }
        }
        true
    }

    /// 0-based rank of a key that is in the tree.
    pub fn rank<M: Members + ?Sized>(&self, k: Key, m: &M) -> usize {
        let mut node = &self.root;
        let mut rank = 0;
        loop {
            match node {
                Node::Leaf(l) => return rank + l.lower_bound(k, m),
                Node::Inner(n) => {
                    let i = n.route(k, m);
                    rank += n.size_before(i);
                    node = &n.kids[i];
                }
            }
        }
    }

    /// The key at rank `r` (< len).
    pub fn get(&self, mut r: usize) -> Key {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(l) => return l.key(r),
                Node::Inner(n) => {
                    let mut i = 0;
                    while r >= n.sizes[i] as usize {
                        r -= n.sizes[i] as usize;
                        i += 1;
                    }
                    node = &n.kids[i];
                }
            }
        }
    }

    /// How many leading keys satisfy `below` (which must be true for a prefix
    /// of the order and false after it).
    pub fn count_below(&self, below: impl Fn(Key) -> bool) -> usize {
        let mut node = &self.root;
        let mut n_below = 0;
        loop {
            match node {
                Node::Leaf(l) => {
                    let (mut lo, mut hi) = (0, l.ids.len());
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        if below(l.key(mid)) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    return n_below + lo;
                }
                Node::Inner(n) => {
                    let i = n.last.partition_point(|&k| below(k));
                    if i == n.kids.len() {
                        return n_below + n.size_before(i);
                    }
                    n_below += n.size_before(i);
                    node = &n.kids[i];
                }
            }
        }
    }

    /// Visit the keys with ranks in `start..end`, ascending or (`rev`)
    /// descending.
    pub fn walk(&self, start: usize, end: usize, rev: bool, f: &mut impl FnMut(Key)) {
        if start < end {
            walk_rec(&self.root, 0, start, end.min(self.len), rev, f);
        }
    }
}

fn insert_rec<M: Members + ?Sized>(node: &mut Node, k: Key, m: &M) -> Option<Node> {
    match node {
        Node::Leaf(l) => {
            let at = l.lower_bound(k, m);
            l.scores.insert(at, k.0);
            l.ids.insert(at, k.1);
        }
        Node::Inner(n) => {
            let i = n.route(k, m);
            let split = insert_rec(&mut n.kids[i], k, m);
            n.refresh(i);
            if let Some(right) = split {
                n.kids.insert(i + 1, right);
                n.sizes.insert(i + 1, 0);
                n.last.insert(i + 1, (0.0, 0));
                n.refresh(i + 1);
            }
        }
    }
    (node.width() > MAX).then(|| node.split())
}

fn remove_rec<M: Members + ?Sized>(node: &mut Node, k: Key, m: &M) -> bool {
    match node {
        Node::Leaf(l) => {
            let at = l.lower_bound(k, m);
            if at < l.ids.len() && l.ids[at] == k.1 {
                l.scores.remove(at);
                l.ids.remove(at);
                true
            } else {
                false
            }
        }
        Node::Inner(n) => {
            let i = n.route(k, m);
            if !remove_rec(&mut n.kids[i], k, m) {
                return false;
            }
            if n.kids[i].width() < MIN {
                n.rebalance(i);
            } else {
                n.refresh(i);
            }
            true
        }
    }
}

fn walk_rec(node: &Node, off: usize, start: usize, end: usize, rev: bool, f: &mut impl FnMut(Key)) {
    match node {
        Node::Leaf(l) => {
            let (a, b) = (start.max(off) - off, end.min(off + l.ids.len()) - off);
            if rev {
                (a..b).rev().for_each(|i| f(l.key(i)));
            } else {
                (a..b).for_each(|i| f(l.key(i)));
            }
        }
        Node::Inner(n) => {
            if rev {
                let mut hi = off + node.size();
                for i in (0..n.kids.len()).rev() {
                    let lo = hi - n.sizes[i] as usize;
                    if lo < end && hi > start {
                        walk_rec(&n.kids[i], lo, start, end, rev, f);
                    }
                    hi = lo;
                }
            } else {
                let mut lo = off;
                for i in 0..n.kids.len() {
                    let hi = lo + n.sizes[i] as usize;
                    if lo < end && hi > start {
                        walk_rec(&n.kids[i], lo, start, end, rev, f);
                    }
                    lo = hi;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Members for tests: id → bytes.
    struct Names(Vec<Vec<u8>>);
    impl Members for Names {
        fn member(&self, id: u32) -> &[u8] {
            &self.0[id as usize]
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        Rank(u8),
        Get(u16),
        Below(i8),
        Walk(u16, u16, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), -5i8..5).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => any::<u8>().prop_map(Op::Rank),
            1 => any::<u16>().prop_map(Op::Get),
            1 => (-6i8..6).prop_map(Op::Below),
            1 => (any::<u16>(), any::<u16>(), any::<bool>()).prop_map(|(a, b, r)| Op::Walk(a, b, r)),
        ]
    }

    /// Check the tree's structure: sizes, greatest keys, widths, order.
    fn check(node: &Node, m: &Names, root: bool) -> (usize, Key) {
        match node {
            Node::Leaf(l) => {
                assert!(l.ids.len() <= MAX);
                assert!(root || l.ids.len() >= MIN);
                for w in 1..l.ids.len() {
                    assert_eq!(cmp_keys(l.key(w - 1), l.key(w), m), Ordering::Less);
                }
                (
                    l.ids.len(),
                    if l.ids.is_empty() {
                        (0.0, 0)
                    } else {
                        l.key(l.ids.len() - 1)
                    },
                )
            }
            Node::Inner(n) => {
                assert!(n.kids.len() <= MAX && n.kids.len() >= if root { 2 } else { MIN });
                let mut total = 0;
                for (i, kid) in n.kids.iter().enumerate() {
                    let (s, last) = check(kid, m, false);
                    assert_eq!(s, n.sizes[i] as usize);
                    assert_eq!(last, n.last[i]);
                    total += s;
                }
                assert_eq!(total, n.total);
                (total, n.last[n.last.len() - 1])
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The tree against a sorted Vec model, under random operations.
        #[test]
        fn matches_sorted_vec(ops in proptest::collection::vec(op(), 1..3000)) {
            // Members are 256 fixed names whose byte order differs from id order.
            let names = Names((0..=255u32).map(|i| format!("{:03}", (i * 37) % 256).into_bytes()).collect());
            let mut tree = Tree::default();
            let mut model: Vec<Key> = Vec::new();
            let mut score_of: [Option<f64>; 256] = [None; 256];
            let sort = |v: &mut Vec<Key>| v.sort_by(|a, b| cmp_keys(*a, *b, &names));
            for op in ops {
                match op {
                    Op::Insert(id, s) => {
                        if let Some(old) = score_of[id as usize] {
                            prop_assert!(tree.remove((old, id as u32), &names));
                            model.retain(|k| k.1 != id as u32);
                        }
                        let k = (s as f64 * 0.5, id as u32);
                        tree.insert(k, &names);
                        model.push(k);
                        sort(&mut model);
                        score_of[id as usize] = Some(k.0);
                    }
                    Op::Remove(id) => {
                        let removed = match score_of[id as usize].take() {
                            Some(s) => tree.remove((s, id as u32), &names),
                            None => tree.remove((0.0, id as u32), &names),
                        };
                        let had = model.iter().any(|k| k.1 == id as u32);
                        prop_assert_eq!(removed, had);
                        model.retain(|k| k.1 != id as u32);
                    }
                    Op::Rank(id) => {
                        if let Some(s) = score_of[id as usize] {
                            let want = model.iter().position(|k| k.1 == id as u32).unwrap();
                            prop_assert_eq!(tree.rank((s, id as u32), &names), want);
                        }
                    }
                    Op::Get(r) => {
                        if !model.is_empty() {
                            let r = r as usize % model.len();
                            prop_assert_eq!(tree.get(r), model[r]);
                        }
                    }
                    Op::Below(b) => {
                        let b = b as f64 * 0.5;
                        let want = model.iter().take_while(|k| k.0 < b).count();
                        prop_assert_eq!(tree.count_below(|k| k.0 < b), want);
                    }
                    Op::Walk(a, b, rev) => {
                        let (a, b) = (a as usize % (model.len() + 2), b as usize % (model.len() + 2));
                        let mut got = Vec::new();
                        tree.walk(a, b, rev, &mut |k| got.push(k));
                        let mut want: Vec<Key> = model.iter().copied().skip(a).take(b.saturating_sub(a)).collect();
                        if rev { want.reverse(); }
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(tree.len(), model.len());
            }
            let (size, _) = check(&tree.root, &names, true);
            prop_assert_eq!(size, model.len());
        }
    }

    #[test]
    fn large_sequential_and_reverse_removal() {
        let names = Names((0..20_000u32).map(|i| i.to_be_bytes().to_vec()).collect());
        let mut tree = Tree::default();
        for i in 0..20_000u32 {
            tree.insert(((i % 100) as f64, i), &names);
        }
        check(&tree.root, &names, true);
        for i in (0..20_000u32).step_by(3) {
            assert!(tree.remove(((i % 100) as f64, i), &names));
        }
        check(&tree.root, &names, true);
        for r in (0..tree.len()).step_by(97) {
            let k = tree.get(r);
            assert_eq!(tree.rank(k, &names), r);
        }
        for i in 0..20_000u32 {
            if i % 3 != 0 {
                assert!(tree.remove(((i % 100) as f64, i), &names));
            }
        }
        assert!(tree.is_empty());
        check(&tree.root, &names, true);
    }
}
