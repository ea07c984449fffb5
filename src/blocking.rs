//! Blocking commands (BZPOPMIN, BLPOP, …): clients waiting for keys.
//!
//! A command that finds none of its keys ready registers a [`Waiter`] in the
//! queue of each key, in the shards that own them, *under the same shard
//! locks it used to look*, so no write can slip between the look and the
//! registration. Its connection then sleeps on the waiter (no CPU) until it
//! is served, times out, is unblocked (`CLIENT UNBLOCK`) or disconnects.
//!
//! Serving is done by the writer, as in Redis: every write path calls
//! `Shard::modified`, which marks a key with waiters as *ready* and records
//! the shard in a per-thread list. Right after the writing command returns,
//! its connection calls [`serve_pending`], which locks each such shard and,
//! key by key, runs the first waiting client's operation on its behalf
//! (first come, first served) for as long as the key has data. The result
//! goes to the waiter as finished reply bytes. A waiter queued on several
//! keys is served once: the first server claims it under its state lock,
//! and the stale queue entries are dropped when met or when it cleans up.
//!
//! Serving runs before the writer's next pipelined command and before its
//! reply is written, so anything that saw the write also sees the waiter
//! served. Inside MULTI or a script (`Client::deny_blocking`) a blocking
//! command answers its timeout reply at once instead of blocking.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::Mutex;
use tokio::sync::Notify;

use std::sync::atomic::Ordering::Relaxed;

use crate::commands::Ctx;
use crate::keyspace::{Locked, MultiLock};
use crate::protocol::Reply;
use crate::server::client::ClientInfo;
use crate::server::Server;
use crate::types::list::End;

/// How a wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// Served: the reply to send.
    Served(Vec<u8>),
    /// Timed out, or `CLIENT UNBLOCK id TIMEOUT`.
    Timeout,
    /// `CLIENT UNBLOCK id ERROR`.
    Unblocked,
    /// The client's ACL no longer allows the command when it would be
    /// served (the error text, after `NOPERM `).
    Denied(crate::acl::Denied),
}

/// The command a waiter runs, for the ACL check when it is served and the
/// slow log once it is unblocked.
pub struct Call {
    pub user: Arc<crate::acl::User>,
    /// Command-table id.
    pub id: usize,
    pub args: crate::server::client::Queued,
    /// Nanoseconds its first run took (its statistics wait until it is
    /// unblocked, as in Redis: `commands::unblocked`).
    pub ns: u64,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Call({})", self.id)
    }
}

/// What to do for a waiter once one of its keys is ready.
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BZPOPMIN/BZPOPMAX (`count: None`) and BZMPOP (`count: Some`).
    ZPop { max: bool, count: Option<usize> },
    /// BLPOP/BRPOP (`count: None`) and BLMPOP (`count: Some`).
    ListPop { end: End, count: Option<usize> },
    /// BLMOVE/BRPOPLPUSH: pop from the ready key, push onto `dst`.
    ListMove {
        from: End,
        to: End,
        dst: Box<[u8]>,
        /// BRPOPLPUSH (propagated as RPOPLPUSH, BLMOVE as LMOVE).
        rpoplpush: bool,
        /// BLMOVE's wherefrom and whereto as the client wrote them (the
        /// LMOVE propagated carries them as they are, as Redis's).
        sides: Box<[Box<[u8]>; 2]>,
    },
    /// XREAD/XREADGROUP with BLOCK.
    Stream(Box<crate::commands::stream::StreamRead>),
    /// WAIT for replicas: on no key; answered when enough replicas
    /// acknowledged (src/replication), or by timeout with how many did.
    Replicas(std::sync::Arc<crate::replication::WaitAck>),
}

impl BlockOp {
    /// Run the operation on `key`, writing the reply; false if the key has
    /// nothing for it (missing, empty or of another type). `acc` holds the
    /// locks of every key the operation touches.
    fn serve(
        &self,
        server: &Server,
        acc: &mut dyn Locked,
        db: usize,
        key: &[u8],
        now: u64,
        out: &mut Reply,
    ) -> bool {
        match self {
            BlockOp::ZPop { max, count } => crate::commands::zset::serve_blocked_pop(
                acc.shard_for(key),
                db,
                key,
                now,
                *max,
                *count,
                out,
            ),
            BlockOp::ListPop { end, count } => crate::commands::list::serve_blocked_pop(
                server,
                acc.shard_for(key),
                db,
                key,
                now,
                *end,
                *count,
                out,
            ),
            BlockOp::ListMove {
                from,
                to,
                dst,
                rpoplpush,
                sides,
            } => crate::commands::list::serve_blocked_move(
                server,
                acc,
                db,
                (key, dst),
                now,
                (*from, *to),
                (*rpoplpush, [&sides[0], &sides[1]]),
                out,
            ),
            BlockOp::Stream(op) => crate::commands::stream::serve_blocked_read(
                acc.shard_for(key),
                db,
                key,
                now,
                op,
                out,
            ),
            BlockOp::Replicas(_) => false,
        }
    }

    /// Whether the waiter must hear about its key going away or changing
    /// type (XREADGROUP: its group is gone), not only about new data.
    fn unblock_on_nokey(&self) -> bool {
        matches!(self, BlockOp::Stream(op) if op.group.is_some())
    }

    /// Whether a waiter that could not be served stays out of the way of
    /// those behind it (reads consume nothing, so each is tried).
    fn passes(&self) -> bool {
        matches!(self, BlockOp::Stream(_))
    }

    /// Whether a key whose value has type `ty` (TYPE's name) can serve this
    /// operation. Waiters for another type are passed over, not in the way.
    fn wants(&self, ty: &str) -> bool {
        match self {
            BlockOp::ZPop { .. } => ty == "zset",
            BlockOp::ListPop { .. } | BlockOp::ListMove { .. } => ty == "list",
            BlockOp::Stream(_) => ty == "stream",
            BlockOp::Replicas(_) => false,
        }
    }

    /// A second key the operation writes, when it has one (BLMOVE's
    /// destination): serving then needs that key's shard locked too.
    fn second_key(&self) -> Option<&[u8]> {
        match self {
            BlockOp::ListMove { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// The reply of a wait that timed out.
    pub fn timeout_reply(&self, server: &Server, out: &mut Reply) {
        match self {
            BlockOp::ZPop { .. } | BlockOp::ListPop { .. } | BlockOp::Stream(_) => out.null_array(),
            BlockOp::ListMove { .. } => out.null(),
            BlockOp::Replicas(ack) => {
                let (local, n) = server.repl.counts(ack);
                if ack.aof.is_some() {
                    // WAITAOF: [local copies, replicas].
                    out.array(2);
                    out.int(local as i64);
                }
                out.int(n as i64)
            }
        }
    }
}

/// Where a wait stands.
#[derive(Debug)]
enum State {
    Waiting,
    Ended(Outcome),
    /// Ended, and the connection took the outcome.
    Taken,
}

/// A client waiting on keys.
#[derive(Debug)]
pub struct Waiter {
    pub client_id: u64,
    pub db: usize,
    /// Distinct keys, in the order given.
    pub keys: Vec<Box<[u8]>>,
    pub op: BlockOp,
    pub resp3: bool,
    /// Unix ms when the wait times out; 0 waits forever.
    pub deadline_ms: u64,
    /// Set right after the command blocked (`commands::execute`).
    pub call: std::sync::OnceLock<Call>,
    state: Mutex<State>,
    notify: Notify,
}

impl Waiter {
    pub fn is_waiting(&self) -> bool {
        matches!(*self.state.lock(), State::Waiting)
    }

    /// End the wait with `o` unless it already ended; true if this did.
    pub fn finish(&self, o: Outcome) -> bool {
        let mut st = self.state.lock();
        if !matches!(*st, State::Waiting) {
            return false;
        }
        *st = State::Ended(o);
        drop(st);
        self.notify.notify_one();
        true
    }

    /// Sleep until the wait ends (the permit of an earlier `finish` counts).
    pub async fn ended(&self) {
        self.notify.notified().await
    }

    /// The outcome, once ended (once).
    pub fn take(&self) -> Option<Outcome> {
        let mut st = self.state.lock();
        match std::mem::replace(&mut *st, State::Taken) {
            State::Ended(o) => Some(o),
            State::Waiting => {
                *st = State::Waiting;
                None
            }
            State::Taken => None,
        }
    }
}

/// One key's queue: database, key, waiters in arrival order, and whether
/// the key is in `Queues::ready` (so marking it again is O(1)).
type KeyQueue = (usize, Box<[u8]>, VecDeque<Arc<Waiter>>, bool);

/// The waiters queued on one shard's keys, and which of them became ready.
#[derive(Default)]
pub struct Queues {
    table: HashTable<KeyQueue>,
    ready: Vec<(usize, Box<[u8]>)>,
}

fn hash(db: usize, key: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x5eed).build_hasher();
    db.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

thread_local! {
    /// Shards with ready keys, filled by `Shard::modified` on this thread.
    static PENDING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl Queues {
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with queued waiters (INFO `total_blocking_keys`).
    pub fn keys(&self) -> usize {
        self.table.len()
    }

    /// Keys with a waiter that also wakes when the key goes away (INFO
    /// `total_blocking_keys_on_nokey`).
    pub fn keys_on_nokey(&self) -> usize {
        self.table
            .iter()
            .filter(|e| {
                e.2.iter()
                    .any(|w| w.is_waiting() && w.op.unblock_on_nokey())
            })
            .count()
    }

    fn add(&mut self, db: usize, key: &[u8], w: Arc<Waiter>) {
        let h = hash(db, key);
        match self.table.find_mut(h, |e| e.0 == db && &*e.1 == key) {
            Some(e) => e.2.push_back(w),
            None => {
                self.table
                    .insert_unique(h, (db, key.into(), VecDeque::from([w]), false), |e| {
                        hash(e.0, &e.1)
                    });
            }
        }
    }

    fn remove(&mut self, db: usize, key: &[u8], w: &Arc<Waiter>) {
        if let Ok(mut e) = self
            .table
            .find_entry(hash(db, key), |e| e.0 == db && &*e.1 == key)
        {
            e.get_mut().2.retain(|x| !Arc::ptr_eq(x, w));
            if e.get().2.is_empty() {
                e.remove();
            }
        }
    }

    /// First waiter on a key that a value of type `ty` can serve, in arrival
    /// order. Waiters for other types stay queued behind it (as in Redis,
    /// a BZPOPMIN client does not hold up BLPOP clients on a list); ended
    /// waiters met at the front are dropped.
    fn first_for(
        &mut self,
        db: usize,
        key: &[u8],
        ty: Option<&str>,
        tried: &[Arc<Waiter>],
    ) -> Option<Arc<Waiter>> {
        let mut e = self
            .table
            .find_entry(hash(db, key), |e| e.0 == db && &*e.1 == key)
            .ok()?;
        while e.get().2.front().is_some_and(|w| !w.is_waiting()) {
            e.get_mut().2.pop_front();
        }
        if e.get().2.is_empty() {
            e.remove();
            return None;
        }
        e.get()
            .2
            .iter()
            .find(|w| {
                let wanted = match ty {
                    Some(ty) => w.op.wants(ty) || (ty != "stream" && w.op.unblock_on_nokey()),
                    None => w.op.unblock_on_nokey(),
                };
                wanted && w.is_waiting() && !tried.iter().any(|t| Arc::ptr_eq(t, w))
            })
            .cloned()
    }

    /// Called by `Shard::modified`: if clients wait on the key, mark it ready
    /// and remember that shard `shard` needs serving.
    pub fn touch(&mut self, db: usize, key: &[u8], shard: usize) {
        match self
            .table
            .find_mut(hash(db, key), |e| e.0 == db && &*e.1 == key)
        {
            Some(e) if !e.3 => e.3 = true,
            _ => return,
        }
        self.ready.push((db, key.into()));
        PENDING.with(|p| p.borrow_mut().push(shard));
    }

    /// The key is being served: a later write must mark it ready again.
    fn unmark(&mut self, db: usize, key: &[u8]) {
        if let Some(e) = self
            .table
            .find_mut(hash(db, key), |e| e.0 == db && &*e.1 == key)
        {
            e.3 = false;
        }
    }
}

impl Queues {
    /// Mark every key of `db` with waiters ready (SWAPDB brought new data).
    pub fn touch_db(&mut self, db: usize, shard: usize) {
        let keys: Vec<Box<[u8]>> = self
            .table
            .iter()
            .filter(|e| e.0 == db)
            .map(|e| e.1.clone())
            .collect();
        for k in keys {
            self.touch(db, &k, shard);
        }
    }
}

/// Block the client running `ctx` on `keys` until one can serve `op`, or
/// `timeout_ms` passes (0: forever). `ml` must hold the locks of every key's
/// shard, the same locks under which the caller found no key ready.
pub fn block(
    ctx: &mut Ctx<'_>,
    ml: &mut MultiLock<'_>,
    keys: &[&[u8]],
    op: BlockOp,
    timeout_ms: u64,
) {
    block_on(ctx, Some(ml), keys, op, timeout_ms)
}

/// Block the client running `ctx` on no key (WAIT): only the timeout or
/// CLIENT UNBLOCK ends it.
pub fn block_keyless(ctx: &mut Ctx<'_>, op: BlockOp, timeout_ms: u64) {
    block_on(ctx, None, &[], op, timeout_ms)
}

fn block_on(
    ctx: &mut Ctx<'_>,
    mut ml: Option<&mut MultiLock<'_>>,
    keys: &[&[u8]],
    op: BlockOp,
    timeout_ms: u64,
) {
    if ctx.client.deny_blocking {
        op.timeout_reply(ctx.server, ctx.out);
        return;
    }
    let deadline_ms = if timeout_ms == 0 {
        0
    } else {
        ctx.now.saturating_add(timeout_ms)
    };
    let w = new_waiter(
        ctx.client.info.id,
        ctx.db(),
        keys,
        op,
        ctx.client.resp == 3,
        deadline_ms,
    );
    if let Some(ml) = ml.as_mut() {
        for key in &w.keys {
            ml.shard(key).waiters.add(w.db, key, w.clone());
        }
    }
    ctx.server.stats.blocked_clients.fetch_add(1, Relaxed);
    if deadline_ms != 0 {
        ctx.server.stats.blocked_with_timeout.fetch_add(1, Relaxed);
    }
    *ctx.client.info.waiter.lock() = Some(w.clone());
    ctx.client.blocked = Some(w);
}

/// Cleans up after a wait however the connection leaves it: ends the wait
/// (so no writer serves it any more), unqueues it, clears the client's view.
pub struct Blocked<'a> {
    pub server: &'a Server,
    pub waiter: Arc<Waiter>,
    pub info: &'a ClientInfo,
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.waiter.finish(Outcome::Timeout);
        unregister(self.server, &self.waiter);
        *self.info.waiter.lock() = None;
        self.server.stats.blocked_clients.fetch_sub(1, Relaxed);
        if self.waiter.deadline_ms != 0 {
            self.server.stats.blocked_with_timeout.fetch_sub(1, Relaxed);
        }
    }
}

/// Remove `w` from every queue it is in (after it ended, however it ended).
pub fn unregister(server: &Server, w: &Arc<Waiter>) {
    for key in &w.keys {
        server.keyspace.lock(key).waiters.remove(w.db, key, w);
    }
}

/// Build a waiter for the given keys (duplicates are dropped).
pub fn new_waiter(
    client_id: u64,
    db: usize,
    keys: &[&[u8]],
    op: BlockOp,
    resp3: bool,
    deadline_ms: u64,
) -> Arc<Waiter> {
    let mut distinct: Vec<Box<[u8]>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| &**d == *k) {
            distinct.push((*k).into());
        }
    }
    Arc::new(Waiter {
        client_id,
        db,
        keys: distinct,
        op,
        resp3,
        deadline_ms,
        call: std::sync::OnceLock::new(),
        state: Mutex::new(State::Waiting),
        notify: Notify::new(),
    })
}

/// Why `w`'s user may no longer run its command, if so: permissions are
/// checked again when a blocked command is served, as Redis reprocesses
/// it. Ends the wait with the denial.
fn denied(server: &Server, w: &Waiter, st: &mut State) -> bool {
    let Some(call) = w.call.get() else {
        return false;
    };
    let Some(entry) = server.commands.entries.get(call.id) else {
        return false;
    };
    let args = call.args.args();
    match crate::acl::check_command(&call.user, entry, args) {
        Ok(()) => false,
        Err(d) => {
            *st = State::Ended(Outcome::Denied(d));
            w.notify.notify_one();
            true
        }
    }
}

/// Serve the waiters of every key made ready on this thread since the last
/// call. Cheap when nothing is pending.
pub fn serve_pending(server: &Server, now: u64) {
    if PENDING.with(|p| p.borrow().is_empty()) {
        return;
    }
    // Like a command, serving holds this worker's gate (see server::gate):
    // after an EXEC it runs once the transaction is over.
    let _gate = server.gates.read();
    // Keys expire against the time of serving, not the command's (a
    // transaction that slept past a TTL it set serves no one, as Redis
    // updates its cached time here).
    let now = crate::util::now_ms().max(now);
    loop {
        let Some(i) = PENDING.with(|p| p.borrow_mut().pop()) else {
            return;
        };
        let mut shard = server.keyspace.lock_shard(i);
        let ready = std::mem::take(&mut shard.waiters.ready);
        for (db, key) in ready {
            shard.waiters.unmark(db, &key);
            let mut tried: Vec<Arc<Waiter>> = Vec::new();
            loop {
                // Looked at without effects: an expired key is not
                // deleted (nor its DEL propagated) just by this check.
                let ty = shard.live_type(db, &key, now);
                let Some(w) = shard.waiters.first_for(db, &key, ty, &tried) else {
                    break;
                };
                if let Some(dst) = w.op.second_key() {
                    if server.keyspace.shard_of(dst) != i {
                        // Two shards: give this one up and take both in
                        // ascending order, as every multi-key command does.
                        drop(shard);
                        let go_on = serve_across(server, &w, db, &key, dst, now);
                        shard = server.keyspace.lock_shard(i);
                        if go_on {
                            continue;
                        }
                        break;
                    }
                }
                let mut out = Reply::new(w.resp3);
                // Hold the waiter's state while serving, so a timeout cannot
                // end it between the pop and the hand-over.
                let mut st = w.state.lock();
                if !matches!(*st, State::Waiting) || denied(server, &w, &mut st) {
                    continue;
                }
                let scope = crate::persist::aof::log::Scope::begin(&server.aof.log);
                let served = w.op.serve(server, &mut *shard, db, &key, now, &mut out);
                scope.end(db, None);
                if !served {
                    if w.op.passes() {
                        drop(st);
                        tried.push(w);
                        continue;
                    }
                    break;
                }
                *st = State::Ended(Outcome::Served(out.buf));
                drop(st);
                w.notify.notify_one();
            }
        }
    }
}

/// Serve `w`, first in line on `key`, whose operation also writes `dst` in
/// another shard. Answers whether to keep serving the key's queue.
fn serve_across(
    server: &Server,
    w: &Arc<Waiter>,
    db: usize,
    key: &[u8],
    dst: &[u8],
    now: u64,
) -> bool {
    let mut ml = server.keyspace.lock_keys([key, dst]);
    // The queue (or the key) may have changed while no lock was held.
    let shard = ml.shard(key);
    let Some(ty) = shard.live_type(db, key, now) else {
        return false;
    };
    match shard.waiters.first_for(db, key, Some(ty), &[]) {
        Some(first) if Arc::ptr_eq(&first, w) => {}
        Some(_) => return true,
        None => return false,
    }
    let mut out = Reply::new(w.resp3);
    let mut st = w.state.lock();
    if !matches!(*st, State::Waiting) || denied(server, w, &mut st) {
        return true;
    }
    let scope = crate::persist::aof::log::Scope::begin(&server.aof.log);
    let served = w.op.serve(server, &mut ml, db, key, now, &mut out);
    scope.end(db, None);
    if !served {
        return false;
    }
    *st = State::Ended(Outcome::Served(out.buf));
    drop(st);
    w.notify.notify_one();
    true
}
