//! Server-assisted client-side caching (CLIENT TRACKING).
//!
//! Default mode: the keys a tracking client reads (READONLY commands, and
//! the READONLY commands its scripts run) are remembered in a table key →
//! client ids; when a key is modified (any write, expiry, eviction) each of
//! those clients gets one invalidation and the key is forgotten. BCAST mode:
//! modified keys are collected per prefix (sorted, each once, with who
//! modified it last) and [`Tracking::flush_bcast`] sends one push per prefix
//! listing them, at the end of each command batch and of each cron turn, as
//! Redis does in beforeSleep; nothing is remembered. FLUSHALL/FLUSHDB send
//! a null invalidation ("everything") to every tracking client.
//!
//! The table sits behind one mutex that is a *leaf*, like the Pub/Sub
//! registry: while holding it only subscriber outbox mutexes are taken, so
//! it is safe to invalidate from code holding shard locks. Delivery reuses
//! the Pub/Sub outboxes ([`Subscriber`]). Keys are tracked by name, across
//! databases, as Redis does. While no client tracks, a modification costs
//! one relaxed atomic load.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::pubsub::{PubSub, Subscriber};

/// Redis's default `tracking-table-max-keys` (when the table grows past
/// it, keys are invalidated, arbitrary ones first, until it fits).
pub const DEFAULT_MAX_KEYS: u64 = 1_000_000;

thread_local! {
    /// Id of the client whose command runs on this thread (0: none), for NOLOOP.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// Whether that command runs inside a script (BCAST's NOLOOP sees its
    /// writes as the script client's, not the caller's, as Redis does).
    static IN_SCRIPT: Cell<bool> = const { Cell::new(false) };
}

/// Set the client running a command on this thread (0 when done) and
/// whether a script of that client runs it.
pub fn set_current(id: u64, in_script: bool) {
    CURRENT.with(|c| c.set(id));
    IN_SCRIPT.with(|c| c.set(in_script));
}

fn current() -> u64 {
    CURRENT.with(|c| c.get())
}

/// Who modifies keys now, for BCAST's NOLOOP: the running client, or 0
/// for a script's commands and for the server itself (expiry), which Redis
/// signals without the calling client.
fn writer(expiry: bool) -> u64 {
    if expiry || IN_SCRIPT.with(|c| c.get()) {
        0
    } else {
        current()
    }
}

/// One tracking client's mode, as CLIENT TRACKING set it.
#[derive(Clone, Default)]
pub struct Mode {
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// BCAST prefixes, in the order given.
    pub prefixes: Vec<Box<[u8]>>,
}

struct Tracked {
    /// Its mode, without prefixes (they are in `prefixes`).
    mode: Mode,
    /// Its BCAST prefixes, sorted (so an overlap check is a few lookups).
    prefixes: BTreeSet<Box<[u8]>>,
    /// What they cost the client ([`prefix_cost`]).
    bytes: usize,
    /// The redirect client was gone when an invalidation was due.
    broken: bool,
}

/// The registered prefixes `key` starts with: one lookup per length of
/// `key` when there are more prefixes than that, a scan otherwise (Redis
/// scans them all).
fn matching<'a, V>(prefixes: &'a BTreeMap<Box<[u8]>, V>, key: &[u8]) -> Vec<&'a [u8]> {
    if prefixes.len() > key.len() + 1 {
        (0..=key.len())
            .filter_map(|n| prefixes.get_key_value(&key[..n]).map(|(p, _)| &**p))
            .collect()
    } else {
        prefixes
            .keys()
            .map(|p| &**p)
            .filter(|p| key.starts_with(p))
            .collect()
    }
}

/// What one BCAST prefix costs its client, for `tot-mem` and
/// maxmemory-clients: its copy and entry in the client's set, and its id
/// in the shared prefix table (whose entry for the prefix is shared and
/// not counted, as Redis counts only the client's own prefix tree).
fn prefix_cost(p: &[u8]) -> usize {
    p.len() + std::mem::size_of::<Box<[u8]>>() + std::mem::size_of::<u64>()
}

/// BCAST keys modified under one prefix → who modified each last.
type Modified = BTreeMap<Box<[u8]>, u64>;

#[derive(Default)]
struct Inner {
    /// Key → ids of the clients that may cache it (default mode).
    table: HashMap<Box<[u8]>, HashSet<u64>>,
    items: usize,
    clients: HashMap<u64, Tracked>,
    /// Outboxes of every connection (for redirects and own pushes).
    conns: HashMap<u64, Weak<Subscriber>>,
    /// BCAST: prefix → keys modified since the last flush (sorted, as
    /// Redis's radix tree lists them) → who modified each last (0: the
    /// server or a script).
    pending: BTreeMap<Box<[u8]>, Modified>,
    /// BCAST: each registered prefix → the clients that registered it (as
    /// Redis's prefix table), so a write looks at the distinct prefixes,
    /// not at every tracking client.
    prefixes: BTreeMap<Box<[u8]>, Vec<u64>>,
}

impl Inner {
    /// Client `id` (tracking) registers BCAST prefix `p`, once.
    fn add_prefix(&mut self, id: u64, p: &[u8]) {
        let Some(t) = self.clients.get_mut(&id) else {
            return;
        };
        if !t.prefixes.insert(p.into()) {
            return;
        }
        t.bytes += prefix_cost(p);
        let ids = match self.prefixes.get_mut(p) {
            Some(ids) => ids,
            None => self.prefixes.entry(p.into()).or_default(),
        };
        if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
        }
    }

    /// Client `id` stops tracking: forget it and its prefixes.
    fn drop_client(&mut self, id: u64) -> bool {
        let Some(t) = self.clients.remove(&id) else {
            return false;
        };
        for p in &t.prefixes {
            if let Some(ids) = self.prefixes.get_mut(p) {
                ids.retain(|&i| i != id);
                if ids.is_empty() {
                    self.prefixes.remove(p);
                }
            }
        }
        self.set_memory(id, 0);
        true
    }

    /// Tell the client's registry entry what its prefixes cost it.
    fn set_memory(&self, id: u64, bytes: usize) {
        if let Some(s) = self.conns.get(&id).and_then(Weak::upgrade) {
            s.info.tracking_mem.store(bytes, Relaxed);
        }
    }
}

/// The server's tracking state.
pub struct Tracking {
    /// Tracking clients (the hot-path check).
    active: AtomicUsize,
    /// BCAST keys wait in `Inner::pending` (the flush's quick check).
    pending: AtomicBool,
    /// The table is known to hold at most this many keys (the limit it was
    /// last brought under): [`Tracking::limit`]'s quick check.
    within: AtomicU64,
    inner: Mutex<Inner>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            active: AtomicUsize::new(0),
            pending: AtomicBool::new(false),
            within: AtomicU64::new(u64::MAX),
            inner: Mutex::default(),
        }
    }
}

/// What an invalidation carries.
#[derive(Clone, Copy)]
enum What<'a> {
    Key(&'a [u8]),
    /// Several keys in one push (BCAST).
    Keys(&'a [&'a [u8]]),
    /// Everything (FLUSHALL / FLUSHDB).
    All,
}

impl Tracking {
    /// Whether any client tracks.
    #[inline]
    pub fn any(&self) -> bool {
        self.active.load(Relaxed) != 0
    }

    /// Register a connection's outbox.
    pub fn register(&self, id: u64, sub: &Arc<Subscriber>) {
        self.inner.lock().conns.insert(id, Arc::downgrade(sub));
    }

    /// A connection ended: forget its outbox and its tracking.
    pub fn unregister(&self, id: u64) {
        let mut g = self.inner.lock();
        if g.drop_client(id) {
            self.active.fetch_sub(1, Relaxed);
        }
        g.conns.remove(&id);
    }

    /// Whether client `id` is connected (REDIRECT's check).
    pub fn connected(&self, id: u64) -> bool {
        self.inner.lock().conns.contains_key(&id)
    }

    /// CLIENT TRACKING ON: enable or update (prefixes are added to those
    /// already set).
    pub fn enable(&self, id: u64, mode: Mode) {
        let mut g = self.inner.lock();
        if mode.redirect != 0 {
            if let Some(target) = g.conns.get(&mode.redirect).and_then(Weak::upgrade) {
                // Have the target's task (maybe waiting for input only)
                // wait for the pushes too: it wakes once and re-waits.
                let info = &target.info;
                if !info.redirect_target.swap(true, Relaxed) {
                    info.trim_asked.store(true, Relaxed);
                    if let Some(w) = info.kill_waker.lock().as_ref() {
                        w.wake_by_ref();
                    }
                }
            }
        }
        let Mode { prefixes, .. } = &mode;
        let settings = Mode {
            prefixes: Vec::new(),
            ..mode.clone()
        };
        let bcast = settings.bcast;
        match g.clients.get_mut(&id) {
            Some(t) => {
                t.mode = settings;
                t.broken = false;
            }
            None => {
                g.clients.insert(
                    id,
                    Tracked {
                        mode: settings,
                        prefixes: BTreeSet::new(),
                        bytes: 0,
                        broken: false,
                    },
                );
                self.active.fetch_add(1, Relaxed);
            }
        }
        if bcast {
            // Prefixes add to those already set; none at all: every key.
            for p in prefixes {
                g.add_prefix(id, p);
            }
            if g.clients.get(&id).is_some_and(|t| t.prefixes.is_empty()) {
                g.add_prefix(id, b"");
            }
        }
        let bytes = g.clients.get(&id).map_or(0, |t| t.bytes);
        g.set_memory(id, bytes);
    }

    /// A BCAST prefix of client `id` that `p` overlaps (one starts with the
    /// other), the smallest, as Redis reports it.
    pub fn overlapping(&self, id: u64, p: &[u8]) -> Option<Box<[u8]>> {
        let g = self.inner.lock();
        let set = &g.clients.get(&id)?.prefixes;
        // At most one of p's own prefixes is there (they would overlap),
        // and it sorts before any prefix that starts with p.
        if let Some(e) = (0..=p.len()).find_map(|n| set.get(&p[..n])) {
            return Some(e.clone());
        }
        set.range::<[u8], _>((std::ops::Bound::Included(p), std::ops::Bound::Unbounded))
            .next()
            .filter(|e| e.starts_with(p))
            .cloned()
    }

    /// CLIENT TRACKING OFF (keys it read stay in the table until touched,
    /// as in Redis; they are skipped then).
    pub fn disable(&self, id: u64) {
        let mut g = self.inner.lock();
        if g.drop_client(id) {
            self.active.fetch_sub(1, Relaxed);
        }
    }

    /// The client's mode, with its prefixes sorted, and whether its
    /// redirect is broken.
    pub fn mode(&self, id: u64) -> Option<(Mode, bool)> {
        let g = self.inner.lock();
        g.clients.get(&id).map(|t| {
            let prefixes = t.prefixes.iter().cloned().collect();
            (
                Mode {
                    prefixes,
                    ..t.mode.clone()
                },
                t.broken,
            )
        })
    }

    /// The client's mode without its prefixes (CLIENT LIST, GETREDIR), and
    /// whether its redirect is broken.
    pub fn settings(&self, id: u64) -> Option<(Mode, bool)> {
        let g = self.inner.lock();
        g.clients.get(&id).map(|t| (t.mode.clone(), t.broken))
    }

    /// The client read `keys`: remember them.
    pub fn remember<'k>(&self, hub: &PubSub, id: u64, keys: impl Iterator<Item = &'k [u8]>) {
        let mut g = self.inner.lock();
        for k in keys {
            let set = g.table.entry(k.into()).or_default();
            if set.insert(id) {
                g.items += 1;
            }
        }
        let max = hub.shared.tracking_max_keys.load(Relaxed);
        evict_over(hub, &mut g, max as usize, usize::MAX);
        if max > 0 {
            self.within.store(max, Relaxed);
        }
    }

    /// Keep the table within `tracking-table-max-keys` after the limit was
    /// lowered (CONFIG SET), as Redis does before each command and in its
    /// cron: invalidate keys until it fits, at most 1,000 per call. Answers
    /// whether it invalidated any (their pushes then go before the reply).
    pub fn limit(hub: &PubSub) -> bool {
        if !hub.tracking.any() {
            return false;
        }
        let max = hub.shared.tracking_max_keys.load(Relaxed);
        if max == 0 || hub.tracking.within.load(Relaxed) <= max {
            return false;
        }
        let mut g = hub.tracking.inner.lock();
        let before = g.table.len();
        evict_over(hub, &mut g, max as usize, 1000);
        if g.table.len() <= max as usize {
            hub.tracking.within.store(max, Relaxed);
        }
        g.table.len() != before
    }

    /// `key` was modified (written, expired, evicted).
    #[inline]
    pub fn touched(hub: &PubSub, key: &[u8]) {
        if hub.tracking.any() {
            Self::invalidate(hub, key, false);
        }
    }

    /// `key` expired (the server deletes it, not the client that ran into
    /// it: BCAST's NOLOOP does not hide it).
    #[inline]
    pub fn expired(hub: &PubSub, key: &[u8]) {
        if hub.tracking.any() {
            Self::invalidate(hub, key, true);
        }
    }

    #[cold]
    fn invalidate(hub: &PubSub, key: &[u8], expiry: bool) {
        let me = current();
        let mut g = hub.tracking.inner.lock();
        // BCAST: collected under each matching prefix, sent by flush_bcast.
        let g = &mut *g;
        let mut queued = false;
        for p in matching(&g.prefixes, key) {
            let keys = match g.pending.get_mut(p) {
                Some(keys) => keys,
                None => g.pending.entry(p.into()).or_default(),
            };
            match keys.get_mut(key) {
                Some(w) => *w = writer(expiry),
                None => {
                    keys.insert(key.into(), writer(expiry));
                }
            }
            queued = true;
        }
        if queued && !hub.tracking.pending.load(Relaxed) {
            hub.tracking.pending.store(true, Relaxed);
        }
        invalidate_key(hub, g, key, me);
    }

    /// Send the BCAST keys collected since the last flush: for each prefix
    /// (in sorted order) one push listing its keys to every client that
    /// registered it; a NOLOOP client's list leaves out the keys it modified
    /// last itself, and nothing is sent if none is left. Redis does this
    /// once per event loop turn (beforeSleep); Ember after each command
    /// batch of a connection and each cron turn.
    pub fn flush_bcast(hub: &PubSub) {
        let t = &hub.tracking;
        if !t.pending.load(Relaxed) {
            return;
        }
        let mut g = t.inner.lock();
        t.pending.store(false, Relaxed);
        let pending = std::mem::take(&mut g.pending);
        let mut keys: Vec<&[u8]> = Vec::new();
        for (prefix, modified) in &pending {
            let ids: Vec<(u64, bool)> = g
                .prefixes
                .get(prefix)
                .into_iter()
                .flatten()
                .filter_map(|id| g.clients.get(id).map(|t| (*id, t.mode.noloop)))
                .collect();
            for (id, noloop) in ids {
                keys.clear();
                keys.extend(
                    modified
                        .iter()
                        .filter(|(_, &w)| !(noloop && w == id))
                        .map(|(k, _)| &**k),
                );
                if !keys.is_empty() {
                    send(hub, &mut g, id, What::Keys(&keys));
                }
            }
        }
    }

    /// FLUSHALL / FLUSHDB: every tracking client is told to drop everything.
    pub fn flushed(hub: &PubSub) {
        // Keys of clients that turned tracking off stay in the table (as in
        // Redis) until invalidated: a flush forgets them too.
        let mut g = hub.tracking.inner.lock();
        let ids: Vec<u64> = g.clients.keys().copied().collect();
        for id in ids {
            send(hub, &mut g, id, What::All);
        }
        g.table.clear();
        g.items = 0;
    }

    /// INFO: (tracking_clients, tracking_total_keys, tracking_total_items,
    /// tracking_total_prefixes).
    pub fn info(&self) -> (usize, usize, usize, usize) {
        let g = self.inner.lock();
        (g.clients.len(), g.table.len(), g.items, g.prefixes.len())
    }
}

/// Invalidate tracked keys (arbitrary ones first) until the table holds at
/// most `max` (0: no limit), or `effort` keys were invalidated.
fn evict_over(hub: &PubSub, g: &mut Inner, max: usize, mut effort: usize) {
    if max == 0 {
        return;
    }
    while g.table.len() > max && effort > 0 {
        let Some(k) = g.table.keys().next().cloned() else {
            break;
        };
        invalidate_key(hub, g, &k, 0);
        effort -= 1;
    }
}

/// Send `key`'s invalidation to the default-mode clients that read it, and
/// forget it.
fn invalidate_key(hub: &PubSub, g: &mut Inner, key: &[u8], me: u64) {
    let Some(ids) = g.table.remove(key) else {
        return;
    };
    g.items -= ids.len();
    for id in ids {
        let skip = match g.clients.get(&id) {
            Some(t) => t.mode.bcast || (t.mode.noloop && id == me),
            None => true,
        };
        if !skip {
            send(hub, g, id, What::Key(key));
        }
    }
}

fn push_header(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
}

/// Deliver one invalidation to tracking client `id` (or its redirect).
fn send(hub: &PubSub, g: &mut Inner, id: u64, what: What<'_>) {
    let Some(t) = g.clients.get_mut(&id) else {
        return;
    };
    let own = g.conns.get(&id).and_then(Weak::upgrade);
    let own_resp3 = own.as_ref().is_some_and(|s| s.resp3());
    let redirect = t.mode.redirect;
    let (target, redirected) = if redirect != 0 {
        match g.conns.get(&redirect).and_then(Weak::upgrade) {
            Some(s) => (s, true),
            None => {
                t.broken = true;
                if let Some(s) = own.filter(|_| own_resp3) {
                    let mut buf = b">2\r\n$21\r\ntracking-redir-broken\r\n:".to_vec();
                    buf.extend_from_slice(itoa::Buffer::new().format(redirect).as_bytes());
                    buf.extend_from_slice(b"\r\n");
                    s.push_raw(hub, &buf);
                }
                return;
            }
        }
    } else {
        match own {
            Some(s) => (s, false),
            None => return,
        }
    };
    let mut buf = Vec::with_capacity(64);
    if target.resp3() {
        push_header(&mut buf);
    } else if redirected && target.info.subs.0.iter().any(|n| n.load(Relaxed) > 0) {
        buf.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        // RESP2 without a redirect: nowhere to send it.
        return;
    }
    match what {
        What::Key(k) => {
            let mut num = itoa::Buffer::new();
            buf.extend_from_slice(b"*1\r\n$");
            buf.extend_from_slice(num.format(k.len()).as_bytes());
            buf.extend_from_slice(b"\r\n");
            buf.extend_from_slice(k);
            buf.extend_from_slice(b"\r\n");
        }
        What::Keys(keys) => {
            let mut num = itoa::Buffer::new();
            buf.push(b'*');
            buf.extend_from_slice(num.format(keys.len()).as_bytes());
            buf.extend_from_slice(b"\r\n");
            for k in keys {
                buf.push(b'$');
                buf.extend_from_slice(num.format(k.len()).as_bytes());
                buf.extend_from_slice(b"\r\n");
                buf.extend_from_slice(k);
                buf.extend_from_slice(b"\r\n");
            }
        }
        // Null in the tracking client's own protocol, as Redis writes it.
        What::All => buf.extend_from_slice(if own_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    target.push_raw(hub, &buf);
}
