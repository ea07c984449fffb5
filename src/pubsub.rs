//! Pub/Sub: the registry of subscriptions and message delivery across
//! worker threads.
//!
//! The registry ([`PubSub`]) maps channel, pattern and shard-channel names to
//! the subscribed clients. It sits behind one `RwLock` that is a *leaf*: a
//! holder never takes another lock except a subscriber's outbox mutex (also a
//! leaf), so it can be published to from anywhere, including from inside
//! write commands and the expiry and eviction paths that hold shard locks.
//! Publishers take it for reading (many at once); SUBSCRIBE & co. take it for
//! writing, briefly.
//!
//! Delivery never blocks a publisher on a subscriber. Each subscribed
//! connection has a [`Subscriber`] with an *outbox*, a byte buffer of
//! encoded messages: the publisher appends under the outbox mutex and wakes
//! the subscriber's connection task with a `Notify`; that task (on its own
//! worker thread) moves the outbox into its socket. Appends for one
//! subscriber from one publisher happen in publish order, so ordering per
//! publisher and subscriber is kept. A subscriber's own command replies and
//! its messages stay in order too: the connection drains the outbox before
//! each command's reply, and the subscription commands drain it while they
//! hold the registry for writing (when no delivery can be half done).
//!
//! Slow subscribers: an outbox that grows past the `pubsub` class of
//! `client-output-buffer-limit` (hard limit, or soft limit for longer than
//! its seconds) is dropped at once and its client closed, as Redis does, so
//! a client that never reads cannot make the server's memory grow without
//! bound.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::server::client::ClientInfo;

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// Values shared with the live configuration, read without its lock.
#[derive(Default)]
pub struct Shared {
    /// `notify-keyspace-events` as class bits ([`crate::notify`]).
    pub notify_flags: AtomicU32,
    /// `client-output-buffer-limit pubsub <hard> <soft> <soft seconds>`.
    pub hard_limit: AtomicU64,
    pub soft_limit: AtomicU64,
    pub soft_seconds: AtomicU64,
    /// `tracking-table-max-keys` (0: unlimited).
    pub tracking_max_keys: AtomicU64,
    /// `client-output-buffer-limit normal <hard> <soft> <soft seconds>`.
    pub normal: [AtomicU64; 3],
    /// `maxmemory-clients` in bytes (0: off), see server::client_evict.
    pub client_mem_limit: AtomicU64,
    /// Some client's outbox grew by another 16 KB while that limit is on:
    /// the next command checks the clients (server::client_evict::due).
    pub clients_grew: AtomicBool,
}

/// Subscribers of one name, by client id.
type Subs = HashMap<u64, Arc<Subscriber>>;

#[derive(Default)]
struct Registry {
    /// Channels, patterns and shard channels, indexed by [`Kind`].
    maps: [HashMap<Box<[u8]>, Subs>; 3],
}

/// The server's subscriptions.
pub struct PubSub {
    pub shared: Arc<Shared>,
    reg: RwLock<Registry>,
    /// Subscriptions of every kind, server-wide: publishing skips the lock
    /// while nobody is subscribed to anything.
    active: AtomicUsize,
    /// Clients closed for exceeding the output buffer limit (INFO).
    pub limit_disconnections: AtomicU64,
    /// Client-side caching (CLIENT TRACKING), delivered through outboxes.
    pub tracking: crate::tracking::Tracking,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new(Arc::default())
    }
}

impl PubSub {
    pub fn new(shared: Arc<Shared>) -> PubSub {
        PubSub {
            shared,
            reg: RwLock::default(),
            active: AtomicUsize::new(0),
            limit_disconnections: AtomicU64::new(0),
            tracking: Default::default(),
        }
    }

    /// `notify-keyspace-events` class bits (one relaxed load).
    #[inline]
    pub fn notify_flags(&self) -> u32 {
        self.shared.notify_flags.load(Relaxed)
    }

    /// Whether anyone is subscribed to anything.
    #[inline]
    pub fn has_subscribers(&self) -> bool {
        self.active.load(Relaxed) != 0
    }

    /// PUBLISH / SPUBLISH: deliver `msg` on `channel` (and, for a plain
    /// channel, to every matching pattern); returns the number of receivers.
    pub fn publish(&self, shard: bool, channel: &[u8], msg: &[u8]) -> usize {
        if !self.has_subscribers() {
            return 0;
        }
        let reg = self.reg.read();
        let mut n = 0;
        let (kind, label): (Kind, &[u8]) = if shard {
            (Kind::Shard, b"smessage")
        } else {
            (Kind::Channel, b"message")
        };
        if let Some(subs) = reg.maps[kind.index()].get(channel) {
            for s in subs.values() {
                s.deliver(self, &[label, channel, msg]);
                n += 1;
            }
        }
        if !shard {
            for (pat, subs) in &reg.maps[Kind::Pattern.index()] {
                if crate::glob::matches(pat, channel, false) {
                    for s in subs.values() {
                        s.deliver(self, &[b"pmessage", pat, channel, msg]);
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Number of channels / patterns / shard channels with subscribers.
    pub fn count(&self, kind: Kind) -> usize {
        self.reg.read().maps[kind.index()].len()
    }

    /// Names of `kind` with subscribers matching `pattern` (all if None).
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        self.reg.read().maps[kind.index()]
            .keys()
            .filter(|k| pattern.is_none_or(|p| crate::glob::matches(p, k, false)))
            .cloned()
            .collect()
    }

    /// The connections of user `user` subscribed to a name `allowed` now
    /// refuses (after an ACL change; Redis's ACLKillPubsubClientsIfNeeded).
    pub fn denied(
        &self,
        user: &[u8],
        allowed: impl Fn(Kind, &[u8]) -> bool,
    ) -> Vec<Arc<ClientInfo>> {
        let reg = self.reg.read();
        let mut out: Vec<Arc<ClientInfo>> = Vec::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for (name, subs) in &reg.maps[kind.index()] {
                for sub in subs.values() {
                    if out.iter().any(|c| c.id == sub.info.id) || *sub.info.user.lock() != user {
                        continue;
                    }
                    if !allowed(kind, name) {
                        out.push(sub.info.clone());
                    }
                }
            }
        }
        out
    }

    /// Subscribers of channel `name` of `kind` (pattern subscribers excluded).
    pub fn numsub(&self, kind: Kind, name: &[u8]) -> usize {
        self.reg.read().maps[kind.index()]
            .get(name)
            .map_or(0, |s| s.len())
    }

    /// Lock the registry for changing a client's subscriptions.
    pub fn edit<'a>(&'a self, subs: &'a mut ClientSubs) -> Edit<'a> {
        Edit {
            hub: self,
            reg: self.reg.write(),
            subs,
        }
    }
}

/// The registry locked for writing, with one client's subscriptions.
pub struct Edit<'a> {
    hub: &'a PubSub,
    reg: parking_lot::RwLockWriteGuard<'a, Registry>,
    pub subs: &'a mut ClientSubs,
}

impl Edit<'_> {
    /// Move already-delivered messages into `out`, ahead of the replies
    /// about to be written (no delivery can be in progress now).
    pub fn drain_into(&mut self, out: &mut Vec<u8>) {
        if let Some(s) = &self.subs.sub {
            s.drain_into(out);
        }
    }

    /// Subscribe; false if already subscribed.
    pub fn add(&mut self, kind: Kind, name: &[u8]) -> bool {
        let Some(sub) = self.subs.sub.clone() else {
            return false;
        };
        if !self.subs.sets[kind.index()].insert(name) {
            return false;
        }
        self.reg.maps[kind.index()]
            .entry(name.into())
            .or_default()
            .insert(sub.info.id, sub.clone());
        self.hub.active.fetch_add(1, Relaxed);
        sub.info_count(kind, self.subs.sets[kind.index()].len());
        sub.info.sub_mem.store(self.subs.memory(), Relaxed);
        true
    }

    /// Unsubscribe; false if not subscribed.
    pub fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        if !self.subs.sets[kind.index()].remove(name) {
            return false;
        }
        let map = &mut self.reg.maps[kind.index()];
        if let Some(s) = map.get_mut(name) {
            if let Some(sub) = &self.subs.sub {
                s.remove(&sub.info.id);
            }
            if s.is_empty() {
                map.remove(name);
            }
        }
        self.hub.active.fetch_sub(1, Relaxed);
        if let Some(sub) = &self.subs.sub {
            sub.info_count(kind, self.subs.sets[kind.index()].len());
            sub.info.sub_mem.store(self.subs.memory(), Relaxed);
        }
        true
    }

    /// The client's names of `kind`, in subscription order.
    pub fn list(&self, kind: Kind) -> Vec<Box<[u8]>> {
        self.subs.sets[kind.index()].names()
    }
}

/// A set of names that remembers insertion order (UNSUBSCRIBE without
/// arguments answers in subscription order).
#[derive(Default)]
struct OrderedSet {
    seq: u64,
    by_name: HashMap<Box<[u8]>, u64>,
    order: BTreeMap<u64, Box<[u8]>>,
    /// What the names cost this client ([`OrderedSet::cost`]).
    bytes: usize,
}

impl OrderedSet {
    /// What one name costs its client, for `tot-mem` and maxmemory-clients:
    /// its two copies and index entries here, and the client's entry among
    /// the name's subscribers in the registry. The registry's entry for the
    /// name itself is shared by its subscribers and not counted, as Redis
    /// counts only each client's own dictionary entries.
    fn cost(name: &[u8]) -> usize {
        2 * (name.len() + std::mem::size_of::<(Box<[u8]>, u64)>() + 1)
            + std::mem::size_of::<(u64, Arc<Subscriber>)>()
            + 1
    }

    fn insert(&mut self, name: &[u8]) -> bool {
        if self.by_name.contains_key(name) {
            return false;
        }
        self.seq += 1;
        self.by_name.insert(name.into(), self.seq);
        self.order.insert(self.seq, name.into());
        self.bytes += Self::cost(name);
        true
    }

    fn remove(&mut self, name: &[u8]) -> bool {
        match self.by_name.remove(name) {
            Some(seq) => {
                self.order.remove(&seq);
                self.bytes -= Self::cost(name);
                true
            }
            None => false,
        }
    }

    fn len(&self) -> usize {
        self.by_name.len()
    }

    fn names(&self) -> Vec<Box<[u8]>> {
        self.order.values().cloned().collect()
    }
}

/// One connection's subscriptions, owned by its task. Dropping it (the
/// connection ended, however) removes them from the registry.
#[derive(Default)]
pub struct ClientSubs {
    hub: Option<Arc<PubSub>>,
    sub: Option<Arc<Subscriber>>,
    sets: [OrderedSet; 3],
    /// This client's CLIENT TRACKING state (the table is in `PubSub`).
    pub tracking: ClientTracking,
}

/// The connection-side copy of a client's tracking mode.
#[derive(Default, Clone, Copy)]
pub struct ClientTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    /// CLIENT CACHING YES (Some(true)) / NO (Some(false)) for the next command.
    pub caching: Option<bool>,
}

impl ClientSubs {
    /// Make sure this client can receive messages (before subscribing).
    pub fn attach(&mut self, hub: &Arc<PubSub>, info: &Arc<ClientInfo>, resp3: bool) {
        if self.sub.is_none() {
            self.hub = Some(hub.clone());
            self.sub = Some(Arc::new(Subscriber {
                info: info.clone(),
                resp3: AtomicBool::new(resp3),
                outbox: Mutex::new(Outbox::default()),
                ready: Notify::new(),
            }));
            if let Some(s) = &self.sub {
                hub.tracking.register(info.id, s);
            }
        }
    }

    /// The hub, once attached.
    pub fn hub(&self) -> Option<&Arc<PubSub>> {
        self.hub.as_ref()
    }

    /// The outbox, once this client has ever subscribed.
    pub fn subscriber(&self) -> Option<&Arc<Subscriber>> {
        self.sub.as_ref()
    }

    /// Channels + patterns (the count SUBSCRIBE/PSUBSCRIBE replies carry).
    pub fn count(&self) -> usize {
        self.sets[0].len() + self.sets[1].len()
    }

    /// Shard channels (the count SSUBSCRIBE replies carry).
    pub fn shard_count(&self) -> usize {
        self.sets[2].len()
    }

    /// What the client's subscriptions cost it ([`OrderedSet::cost`]).
    pub fn memory(&self) -> usize {
        self.sets.iter().map(|s| s.bytes).sum()
    }

    /// Whether the client is in Pub/Sub mode (any subscription).
    pub fn active(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    /// The protocol messages are encoded in (HELLO, RESET).
    pub fn set_resp3(&self, resp3: bool) {
        if let Some(s) = &self.sub {
            s.resp3.store(resp3, Relaxed);
        }
    }

    /// Drop every subscription without replies (RESET, disconnect).
    pub fn clear(&mut self) {
        let Some(hub) = self.hub.clone() else {
            return;
        };
        if !self.active() {
            return;
        }
        let mut e = hub.edit(self);
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in e.list(kind) {
                e.remove(kind, &name);
            }
        }
    }
}

impl Drop for ClientSubs {
    fn drop(&mut self) {
        self.clear();
        if let (Some(hub), Some(sub)) = (&self.hub, &self.sub) {
            hub.tracking.unregister(sub.info.id);
        }
    }
}

/// Messages waiting to be written to one subscriber.
#[derive(Default)]
struct Outbox {
    buf: Vec<u8>,
    /// Closed for exceeding the limit: nothing more is queued.
    dead: bool,
}

/// The receiving end of one subscribed connection.
pub struct Subscriber {
    pub info: Arc<ClientInfo>,
    resp3: AtomicBool,
    outbox: Mutex<Outbox>,
    /// Woken when the outbox goes from empty to not empty.
    pub ready: Notify,
}

impl Subscriber {
    /// Append one message (an array, or a push frame under RESP3, of bulk
    /// strings) and enforce the output buffer limit.
    fn deliver(&self, hub: &PubSub, parts: &[&[u8]]) {
        let resp3 = self.resp3.load(Relaxed);
        self.append(hub, |buf| {
            let mut num = itoa::Buffer::new();
            buf.push(if resp3 { b'>' } else { b'*' });
            buf.extend_from_slice(num.format(parts.len()).as_bytes());
            buf.extend_from_slice(b"\r\n");
            for p in parts {
                buf.push(b'$');
                buf.extend_from_slice(num.format(p.len()).as_bytes());
                buf.extend_from_slice(b"\r\n");
                buf.extend_from_slice(p);
                buf.extend_from_slice(b"\r\n");
            }
        });
    }

    /// Whether messages are encoded for RESP3.
    pub fn resp3(&self) -> bool {
        self.resp3.load(Relaxed)
    }

    /// Append an already encoded message (tracking invalidations).
    pub fn push_raw(&self, hub: &PubSub, bytes: &[u8]) {
        self.append(hub, |buf| buf.extend_from_slice(bytes));
    }

    fn append(&self, hub: &PubSub, encode: impl FnOnce(&mut Vec<u8>)) {
        let limits = (
            hub.shared.hard_limit.load(Relaxed),
            hub.shared.soft_limit.load(Relaxed),
            hub.shared.soft_seconds.load(Relaxed),
        );
        if !self.append_limited(encode, limits, &hub.shared) {
            hub.limit_disconnections.fetch_add(1, Relaxed);
        }
    }

    /// Append pre-encoded bytes (a MONITOR line) under the given
    /// (hard, soft, soft seconds) limit; false once the client is closed
    /// for exceeding it.
    pub fn push_limited(&self, bytes: &[u8], limits: (u64, u64, u64), shared: &Shared) -> bool {
        self.append_limited(|buf| buf.extend_from_slice(bytes), limits, shared)
    }

    /// Append under an output-buffer limit (0: none): a client over the
    /// hard limit, or over the soft one for longer than its seconds, has its
    /// outbox dropped and is closed (false; already closed: true, nothing
    /// appended). What counts is all its pending output: the outbox and
    /// what the connection has not written yet ([`ClientInfo::output`]).
    fn append_limited(
        &self,
        encode: impl FnOnce(&mut Vec<u8>),
        (hard, soft, secs): (u64, u64, u64),
        shared: &Shared,
    ) -> bool {
        let mut ob = self.outbox.lock();
        if ob.dead {
            return true;
        }
        let was_empty = ob.buf.is_empty();
        let before = ob.buf.len();
        encode(&mut ob.buf);
        let info = &*self.info;
        info.obuf.store(ob.buf.len(), Relaxed);
        // maxmemory-clients: checked before the next command, as Redis
        // checks before each one, once per 16 KB an outbox grows.
        if ob.buf.len() >> 14 != before >> 14 && shared.client_mem_limit.load(Relaxed) != 0 {
            shared.clients_grew.store(true, Relaxed);
        }
        let used = info.output() as u64;
        let mut over = hard != 0 && used >= hard;
        if !over && soft != 0 && used >= soft {
            let now = crate::util::now_ms();
            let deadline = info.obuf_soft_deadline_ms.load(Relaxed);
            if deadline == 0 {
                info.obuf_soft_limit.store(soft, Relaxed);
                info.obuf_soft_deadline_ms
                    .store(crate::server::obuf::soft_deadline(now, secs), Relaxed);
            } else {
                over = now >= deadline;
            }
        } else if !over {
            info.obuf_soft_deadline_ms.store(0, Relaxed);
        }
        if over {
            ob.dead = true;
            ob.buf = Vec::new();
            info.obuf.store(0, Relaxed);
            info.obuf_soft_deadline_ms.store(0, Relaxed);
            drop(ob);
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                info.id,
                info.addr
            );
            info.request_kill();
            return false;
        }
        drop(ob);
        if was_empty {
            self.ready.notify_one();
        }
        true
    }

    /// Move pending messages to the end of `out`, which the connection
    /// writes next: they count as its unsent output until it does (the
    /// soft-limit timer runs on, as Redis's does until the socket takes
    /// the bytes).
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        // `obuf` is the outbox length, stored under the lock by every append:
        // this thread's own appends are always seen, and one from another
        // thread seen late is drained at the next call (its append also
        // wakes the connection). Saves a lock per command when idle.
        if self.info.obuf.load(Relaxed) == 0 {
            return;
        }
        let mut ob = self.outbox.lock();
        if ob.buf.is_empty() {
            return;
        }
        let moved = ob.buf.len();
        if out.is_empty() {
            std::mem::swap(out, &mut ob.buf);
        } else {
            out.extend_from_slice(&ob.buf);
            ob.buf.clear();
        }
        if ob.buf.capacity() > 64 * 1024 {
            ob.buf = Vec::new();
        }
        // Under the lock: an append from another thread right after the
        // unlock must leave its own length there, or this connection would
        // skip the outbox it was just woken for and never be woken again.
        // And the bytes are counted unsent before they leave the outbox, so
        // an append never sees them in neither.
        self.info.unsent.fetch_add(moved, Relaxed);
        self.info.obuf.store(0, Relaxed);
        drop(ob);
    }
}

/// Per-client subscription counts, for CLIENT LIST `sub=`/`psub=`/`ssub=`.
#[derive(Default)]
pub struct Counts(pub [AtomicUsize; 3]);

impl Subscriber {
    fn info_count(&self, kind: Kind, n: usize) {
        self.info.subs.0[kind.index()].store(n, Relaxed);
    }
}
