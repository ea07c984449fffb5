//! Propagation: what each write command appends to the AOF, and in which order.
//!
//! **Ordering.** Shards are locked independently, so two clients on two
//! threads may change the same key one after the other while their commands
//! *finish* in the other order. What must match is the order in which the
//! changes were applied, and the only thing that orders them is the shard
//! lock. So a command takes a global sequence number ([`Log::next_seq`], one
//! `fetch_add`) *while it holds the lock of the first shard it changes*:
//! [`touched`] is called from `Shard::modified`, and lazy/active expiry and
//! eviction call [`deleted`] under the same lock. A multi-key command holds
//! all its shards' locks for its whole run (`lock_keys`), so one number
//! orders all its changes against every other command on those shards.
//!
//! The number lives in a per-thread scope ([`Scope`]) that `commands::execute`
//! opens around a handler. When the handler returns, the scope encodes what
//! to log (the argv as received, or what the handler asked for instead:
//! [`propagate_instead`]) and submits one [`Record`] for the number. Every
//! number taken is submitted exactly once, with an empty record if there is
//! nothing to write, so the writer never waits for a number that will not
//! come. The writer thread (`writer.rs`) keeps submitted records in a small
//! reorder buffer (a `BTreeMap` keyed by sequence number) and writes a record
//! only once every lower number has been written: the file order is the
//! lock order.
//!
//! EXEC opens a scope around the whole transaction ([`transaction`]): its
//! queued commands run in nested scopes that add to the same record, so the
//! transaction is one record (wrapped in MULTI/EXEC when it logs more than
//! one command) under one number. Nothing else runs while EXEC holds the
//! gates, so no other number can fall inside it.
//!
//! Expiry and eviction are logged as `DEL key`, like Redis 7. Inside a scope
//! the DEL joins the command's record (before the command itself); outside
//! one (the cron thread, eviction before a command) it is its own record.
//!
//! `SELECT` is emitted by the writer when a record's database differs from
//! the one the file is in; a record that changes database inside (a
//! transaction with SELECT) carries its own SELECTs.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use parking_lot::{Condvar, Mutex};

/// `appendfsync` as a number, read on the request path.
pub const FSYNC_NO: u8 = 0;
pub const FSYNC_EVERYSEC: u8 = 1;
pub const FSYNC_ALWAYS: u8 = 2;

/// "No database": the record does not depend on one.
pub const NO_DB: u32 = u32::MAX;

/// Append the `#TS:<unix seconds>` annotation (`aof-timestamp-enabled`),
/// which the loader skips and `redis-check-aof --truncate-to-timestamp`
/// cuts at.
pub fn encode_timestamp(buf: &mut Vec<u8>, unix_secs: u64) {
    buf.extend_from_slice(b"#TS:");
    buf.extend_from_slice(itoa::Buffer::new().format(unix_secs).as_bytes());
    buf.extend_from_slice(b"\r\n");
}

/// What one sequence number stands for.
#[derive(Debug, Default)]
pub struct Record {
    pub seq: u64,
    /// The database the first command of `buf` runs in (NO_DB: none).
    pub start_db: u32,
    /// The database the file is in after `buf`.
    pub end_db: u32,
    /// RESP commands; empty for a number that logs nothing.
    pub buf: Vec<u8>,
    /// For replicas only, not the AOF (a master's PING and GETACK).
    pub repl_only: bool,
    /// What the AOF gets instead of `buf`, when the two streams differ (a
    /// script's `redis.set_repl`, a PUBLISH in a transaction): `buf` is
    /// then the replicas' part alone, maybe empty.
    pub aof: Option<Box<Record>>,
    /// `buf` is a transaction wrapped in MULTI/EXEC: a SELECT it needs
    /// goes after the MULTI, as Redis 7 propagates it.
    pub wrapped: bool,
}

/// The MULTI that starts a wrapped record.
pub const MULTI_CMD: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";

/// Append a record's commands to a stream that is in database `*db`:
/// a SELECT first where its database differs (after the MULTI of a
/// wrapped transaction), then `*db` follows it.
pub fn append_record(out: &mut Vec<u8>, db: &mut u32, r: &Record) {
    if r.start_db != NO_DB && r.start_db != *db {
        if r.wrapped && r.buf.starts_with(MULTI_CMD) {
            out.extend_from_slice(MULTI_CMD);
            encode_select(out, r.start_db);
            out.extend_from_slice(&r.buf[MULTI_CMD.len()..]);
        } else {
            encode_select(out, r.start_db);
            out.extend_from_slice(&r.buf);
        }
    } else {
        out.extend_from_slice(&r.buf);
    }
    if r.end_db != NO_DB {
        *db = r.end_db;
    }
}

/// Something to run in the writer once every record below `at` was
/// written and none from `at` on: the replication offset there is the
/// point a replica's snapshot, or a WAIT, stands for.
pub struct SyncPoint {
    pub at: u64,
    pub then: Box<dyn FnOnce(u64) + Send>,
}

/// Where the writer sends records from a given sequence number on.
pub struct Switch {
    /// First sequence number that goes to `to`.
    pub at: u64,
    /// The new incremental file (None: discard records from `at` on).
    pub to: Option<std::fs::File>,
}

/// Submitted records not written yet, shared with the writer.
#[derive(Default)]
pub struct Queue {
    pub pending: BTreeMap<u64, Record>,
    /// The next sequence number the writer will write.
    pub next: u64,
    pub switch: Option<Switch>,
    /// Sequence number from which the last switch applied (for waiters).
    pub switched_at: u64,
    /// Waiting for the writer to reach their number (replication).
    pub points: Vec<SyncPoint>,
    pub stop: bool,
}

/// The propagation log of one server, shared by every shard.
pub struct Log {
    /// Records are taken: the AOF or replication needs them.
    on: AtomicBool,
    /// The AOF is on (records go to a file).
    aof: AtomicBool,
    /// Replication is on (records go to the backlog).
    repl: AtomicBool,
    /// The replication stream (src/replication/backlog.rs).
    pub backlog: crate::replication::backlog::Backlog,
    seq: AtomicU64,
    pub(crate) q: Mutex<Queue>,
    pub(crate) cv: Condvar,
    /// Signalled when a switch was applied.
    pub(crate) switched: Condvar,
    /// Highest sequence number written (and fsynced under `always`) with
    /// every lower one.
    synced: tokio::sync::watch::Sender<u64>,
    policy: AtomicU8,
    /// `aof-timestamp-enabled`: the writer puts a `#TS:<unix seconds>`
    /// annotation before the first record of each second.
    timestamps: AtomicBool,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds the writer sleeps before each
    /// write.
    flush_sleep_us: AtomicU64,
    /// lazyfree-lazy-expire, -eviction, -server-del, by [`Deletion`].
    lazy: [AtomicBool; 3],
}

/// Why the server deleted a key itself. Each reason has its
/// `lazyfree-lazy-*` parameter: on, the value is freed in the background
/// (a big one) and the deletion reaches the AOF and replicas as UNLINK
/// rather than DEL (Redis's propagateDeletion).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    Expired = 0,
    Evicted = 1,
    /// SPOP of the whole set, RESTORE of an expired value over a key.
    Server = 2,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            on: AtomicBool::new(false),
            aof: AtomicBool::new(false),
            repl: AtomicBool::new(false),
            backlog: Default::default(),
            seq: AtomicU64::new(1),
            q: Mutex::new(Queue {
                next: 1,
                ..Queue::default()
            }),
            cv: Condvar::new(),
            switched: Condvar::new(),
            synced: tokio::sync::watch::channel(0).0,
            policy: AtomicU8::new(FSYNC_EVERYSEC),
            timestamps: AtomicBool::new(false),
            flush_sleep_us: AtomicU64::new(0),
            lazy: Default::default(),
        }
    }
}

impl Log {
    /// Whether writes are being logged (for the AOF, replicas or both).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Whether the AOF is on.
    #[inline]
    pub fn aof_on(&self) -> bool {
        self.aof.load(Ordering::Acquire)
    }

    /// Start or stop logging to the AOF. Turning it on must happen at a
    /// cut (every gate held), together with a [`Log::switch_at`].
    pub fn set_on(&self, on: bool) {
        self.aof.store(on, Ordering::Release);
        self.on
            .store(on || self.repl.load(Ordering::Acquire), Ordering::Release);
    }

    /// Whether the replication backlog is fed (a replica connected once).
    #[inline]
    pub fn repl_on(&self) -> bool {
        self.repl.load(Ordering::Acquire)
    }

    /// Start feeding the replication backlog (at a cut, every gate held);
    /// it stays on for the server's life, as Redis keeps its backlog.
    pub fn set_repl_on(&self) {
        self.repl.store(true, Ordering::Release);
        self.on.store(true, Ordering::Release);
    }

    /// Run `then` with the replication offset once the writer has written
    /// every record numbered below `at` and none from `at` on.
    pub fn at_point(&self, at: u64, then: Box<dyn FnOnce(u64) + Send>) {
        let mut q = self.q.lock();
        q.points.push(SyncPoint { at, then });
        drop(q);
        self.cv.notify_one();
    }

    /// Submit `cmd` (RESP, not bound to a database) to the replication
    /// stream alone, not the AOF: the PINGs and GETACKs a master sends its
    /// replicas, DEBUG REPLICATE. Nothing while nothing is logged.
    pub fn submit_alone(&self, cmd: Vec<u8>) {
        if !self.is_on() {
            return;
        }
        let seq = self.take_seq();
        self.submit_all(std::iter::once(Record {
            seq,
            start_db: NO_DB,
            end_db: NO_DB,
            buf: cmd,
            repl_only: true,
            ..Record::default()
        }));
    }

    /// From the configuration: which deletions are lazy.
    pub fn set_lazy(&self, expire: bool, eviction: bool, server_del: bool) {
        self.lazy[Deletion::Expired as usize].store(expire, Ordering::Relaxed);
        self.lazy[Deletion::Evicted as usize].store(eviction, Ordering::Relaxed);
        self.lazy[Deletion::Server as usize].store(server_del, Ordering::Relaxed);
    }

    /// Whether deletions for `why` are lazy (UNLINK).
    #[inline]
    pub fn lazy(&self, why: Deletion) -> bool {
        self.lazy[why as usize].load(Ordering::Relaxed)
    }

    /// DEL or UNLINK, as a deletion for `why` is propagated.
    pub fn del_name(&self, why: Deletion) -> &'static [u8] {
        if self.lazy(why) {
            b"UNLINK"
        } else {
            b"DEL"
        }
    }

    /// The next sequence number that will be handed out.
    pub fn next_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    fn take_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::AcqRel)
    }

    pub fn set_policy(&self, p: u8) {
        self.policy.store(p, Ordering::Relaxed);
    }

    pub fn policy(&self) -> u8 {
        self.policy.load(Ordering::Relaxed)
    }

    pub fn set_timestamps(&self, on: bool) {
        self.timestamps.store(on, Ordering::Relaxed);
    }

    pub fn timestamps(&self) -> bool {
        self.timestamps.load(Ordering::Relaxed)
    }

    pub fn set_flush_sleep_us(&self, us: u64) {
        self.flush_sleep_us.store(us, Ordering::Relaxed);
    }

    pub fn flush_sleep_us(&self) -> u64 {
        self.flush_sleep_us.load(Ordering::Relaxed)
    }

    /// Whether replies must wait for their records to be fsynced.
    #[inline]
    pub fn always(&self) -> bool {
        self.aof_on() && self.policy() == FSYNC_ALWAYS
    }

    /// Hand a record to the writer: at once, or, on a connection's thread
    /// inside a [`Batch`], at the end of the batch (one lock and one wake-up
    /// of the writer for a whole pipeline).
    pub fn submit(&self, r: Record) {
        if BATCHING.with(|b| b.get()) {
            let full = OUTBOX.with(|o| {
                let mut o = o.borrow_mut();
                o.push(r);
                o.len() >= 256
            });
            if full {
                self.flush_outbox();
            }
        } else {
            self.submit_all(std::iter::once(r));
        }
    }

    fn submit_all(&self, rs: impl IntoIterator<Item = Record>) {
        let mut q = self.q.lock();
        for r in rs {
            q.pending.insert(r.seq, r);
        }
        drop(q);
        self.cv.notify_one();
    }

    /// Submit what this thread's batch holds. A connection calls it before
    /// anything that waits (a socket write, waiting for the fsync).
    pub fn flush_outbox(&self) {
        let rs = OUTBOX.with(|o| std::mem::take(&mut *o.borrow_mut()));
        if !rs.is_empty() {
            self.submit_all(rs);
        }
    }

    /// Send records from sequence number `at` on to `to` (a new incr file).
    pub fn switch_at(&self, at: u64, to: Option<std::fs::File>) {
        let mut q = self.q.lock();
        q.switch = Some(Switch { at, to });
        drop(q);
        self.cv.notify_one();
    }

    /// Block until the switch to sequence number `at` was applied.
    pub fn wait_switched(&self, at: u64) {
        let mut q = self.q.lock();
        while q.switched_at < at && !q.stop {
            self.switched
                .wait_for(&mut q, std::time::Duration::from_millis(100));
        }
    }

    /// Mark everything up to `seq` as written/fsynced (the writer).
    pub(crate) fn publish(&self, seq: u64) {
        self.synced.send_if_modified(|v| {
            if seq > *v {
                *v = seq;
                true
            } else {
                false
            }
        });
    }

    /// Highest sequence number written with every lower one.
    pub fn synced(&self) -> u64 {
        *self.synced.borrow()
    }

    /// Wait (async, without blocking the worker thread) until `seq` is
    /// written and, under `always`, fsynced.
    pub async fn wait_synced(&self, seq: u64) {
        if self.synced() >= seq {
            return;
        }
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|&v| v >= seq).await;
    }

    /// Wait until every number handed out so far is written (and fsynced
    /// under `always`): every write applied until now is durable.
    pub async fn wait_all_taken(&self) {
        let upto = self.next_seq().saturating_sub(1);
        self.wait_synced(upto).await
    }
}

thread_local! {
    /// Records of the running batch not handed to the writer yet.
    static OUTBOX: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
    static BATCHING: Cell<bool> = const { Cell::new(false) };
    static CUR: RefCell<Cur> = RefCell::new(Cur::default());
}

/// Where a command's effects go (Redis's PROPAGATE_AOF / PROPAGATE_REPL).
pub const TO_AOF: u8 = 1;
pub const TO_REPLICAS: u8 = 2;
pub const TO_ALL: u8 = TO_AOF | TO_REPLICAS;

/// One stream's part of the record being built.
#[derive(Default, Clone)]
struct Stream {
    buf: Vec<u8>,
    cmds: usize,
    start_db: u32,
    end_db: u32,
}

impl Stream {
    fn push(&mut self, db: u32, cmd: &[u8], n: usize) {
        if self.cmds == 0 {
            self.start_db = db;
        } else if db != self.end_db && db != NO_DB {
            encode_select(&mut self.buf, db);
        }
        if db != NO_DB {
            self.end_db = db;
        }
        self.buf.extend_from_slice(cmd);
        self.cmds += n;
    }

    fn record(&mut self, seq: u64, wrap: bool) -> Record {
        let mut buf = std::mem::take(&mut self.buf);
        let wrapped = wrap && self.cmds > 0;
        if wrapped {
            let mut w = Vec::with_capacity(buf.len() + 32);
            encode(&mut w, [&b"MULTI"[..]]);
            w.extend_from_slice(&buf);
            encode(&mut w, [&b"EXEC"[..]]);
            buf = w;
        }
        let empty = self.cmds == 0;
        self.cmds = 0;
        Record {
            seq,
            start_db: if empty { NO_DB } else { self.start_db },
            end_db: if empty { NO_DB } else { self.end_db },
            buf,
            wrapped,
            ..Record::default()
        }
    }
}

/// The record being built on this thread.
#[derive(Default)]
struct Cur {
    /// Open scopes (EXEC nests its queued commands).
    depth: u32,
    seq: Option<u64>,
    /// The innermost command changed something.
    dirty: bool,
    /// What the innermost command logs instead of its argv.
    instead: Option<(Vec<u8>, usize)>,
    /// Wrap in MULTI/EXEC if more than one command (EXEC).
    multi: bool,
    /// What the replicas get, and the AOF too while `aof` is None.
    repl: Stream,
    /// What the AOF gets once a command went to only one of the two.
    aof: Option<Stream>,
    /// Commands logged to either stream.
    ops: usize,
    /// The innermost command goes to replicas only ([`to_replicas_only`]).
    repl_only_cmd: bool,
}

impl Cur {
    fn push(&mut self, db: u32, cmd: &[u8], n: usize, to: u8) {
        if n == 0 || to == 0 {
            return;
        }
        self.ops += n;
        if to == TO_ALL && self.aof.is_none() {
            self.repl.push(db, cmd, n);
            return;
        }
        // The streams part: the AOF's starts as a copy of what both got.
        let aof = self.aof.get_or_insert_with(|| self.repl.clone());
        if to & TO_AOF != 0 {
            aof.push(db, cmd, n);
        }
        if to & TO_REPLICAS != 0 {
            self.repl.push(db, cmd, n);
        }
    }

    fn finish(&mut self, seq: u64) -> Record {
        // As Redis: several commands of one execution unit are a
        // transaction in both streams, whichever stream each went to.
        let wrap = self.multi && self.ops > 1;
        let mut r = self.repl.record(seq, wrap);
        if let Some(mut a) = self.aof.take() {
            if a.cmds == 0 {
                r.repl_only = true;
            } else {
                r.aof = Some(Box::new(a.record(seq, wrap)));
            }
        }
        self.ops = 0;
        self.multi = false;
        r
    }

    fn clear(&mut self) {
        self.repl.buf.clear();
        self.repl.cmds = 0;
        self.aof = None;
        self.ops = 0;
    }
}

thread_local! {
    /// Where the running script sends its commands (`redis.set_repl`).
    static SCRIPT_TARGET: Cell<u8> = const { Cell::new(TO_ALL) };
}

/// `redis.set_repl(flags)`: where the running script's next commands go.
pub fn set_script_target(to: u8) {
    SCRIPT_TARGET.with(|t| t.set(to & TO_ALL));
}

/// A script's run: its commands go everywhere until `redis.set_repl`
/// says otherwise, and everything after the script does again.
pub struct ScriptTarget(());

impl ScriptTarget {
    pub fn begin() -> ScriptTarget {
        set_script_target(TO_ALL);
        ScriptTarget(())
    }
}

impl Drop for ScriptTarget {
    fn drop(&mut self) {
        set_script_target(TO_ALL);
    }
}

/// Append one RESP command to `out`.
pub fn encode<'a>(out: &mut Vec<u8>, args: impl IntoIterator<Item = &'a [u8]>) {
    let args: Vec<&[u8]> = args.into_iter().collect();
    let mut n = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(n.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(n.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

pub fn encode_select(out: &mut Vec<u8>, db: u32) {
    let mut n = itoa::Buffer::new();
    encode(out, [&b"SELECT"[..], n.format(db).as_bytes()]);
}

/// Called by `Shard::modified` under the shard lock: the running command
/// changed something, so it will be logged; take its sequence number now.
#[inline]
pub fn touched(log: &Log) {
    mark(log, false);
}

/// The running command will be logged (for replicas only: `repl_only`);
/// its sequence number is taken now.
#[inline]
fn mark(log: &Log, repl_only: bool) {
    if !log.is_on() {
        return;
    }
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        if c.depth == 0 {
            return;
        }
        c.dirty = true;
        c.repl_only_cmd |= repl_only;
        if c.seq.is_none() {
            c.seq = Some(log.take_seq());
        }
    });
}

/// A key was deleted by expiry or eviction, under its shard lock: log a DEL
/// (UNLINK when that deletion is lazy).
pub fn deleted(log: &Log, db: usize, key: &[u8], why: Deletion) {
    if !log.is_on() {
        return;
    }
    let mut cmd = Vec::with_capacity(key.len() + 24);
    encode(&mut cmd, [log.del_name(why), key]);
    let alone = CUR.with(|c| {
        let mut c = c.borrow_mut();
        if c.depth == 0 {
            return true;
        }
        if c.seq.is_none() {
            c.seq = Some(log.take_seq());
        }
        c.push(db as u32, &cmd, 1, TO_ALL);
        false
    });
    if alone {
        let seq = log.take_seq();
        log.submit(Record {
            seq,
            start_db: db as u32,
            end_db: db as u32,
            buf: cmd,
            ..Record::default()
        });
    }
}

/// The running command goes to replicas but not to the AOF (PUBLISH and
/// SPUBLISH, as Redis forces their propagation to replicas only): it is
/// logged as if it changed something, in a record the AOF skips.
pub fn to_replicas_only(log: &Log) {
    mark(log, true);
}

/// Log `argv` instead of the running command's own arguments (relative
/// times made absolute, random choices made explicit). Called several times,
/// it logs several commands, in order.
pub fn propagate_instead<'a>(argv: impl IntoIterator<Item = &'a [u8]>) {
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        if c.depth == 0 {
            return;
        }
        let (buf, n) = c.instead.get_or_insert_with(|| (Vec::new(), 0));
        encode(buf, argv);
        *n += 1;
    })
}

/// Log nothing for the running command even though it changed something.
pub fn propagate_nothing() {
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        if c.depth > 0 {
            c.instead = Some((Vec::new(), 0));
        }
    })
}

/// The running scope is a transaction (EXEC): wrap it in MULTI/EXEC.
pub fn transaction() {
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        if c.depth == 1 {
            c.multi = true;
        }
    })
}

/// Forget what the open scope logged so far: a script stopped by SHUTDOWN
/// NOSAVE never completed, and none of its effects reach the AOF (Redis
/// propagates a script's effects only when it returns).
pub fn discard() {
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        c.clear();
        c.dirty = false;
        c.instead = None;
    })
}

/// One command's propagation scope. `end` logs it; dropped without `end`
/// (a handler panicked) it still submits its sequence number.
pub struct Scope<'a> {
    log: Option<&'a Log>,
}

impl<'a> Scope<'a> {
    /// Open a scope (a no-op while logging is off).
    #[inline]
    pub fn begin(log: &'a Log) -> Scope<'a> {
        if !log.is_on() {
            return Scope { log: None };
        }
        CUR.with(|c| {
            let mut c = c.borrow_mut();
            c.depth += 1;
            c.dirty = false;
            c.instead = None;
        });
        Scope { log: Some(log) }
    }

    /// Close the scope: log `argv` (or the override) if the command changed
    /// something, in database `db`.
    pub fn end<'b>(mut self, db: usize, argv: Option<crate::protocol::Args<'b>>) {
        if let Some(log) = self.log.take() {
            close(log, db, argv);
        }
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            close(log, 0, None);
        }
    }
}

fn close(log: &Log, db: usize, argv: Option<crate::protocol::Args<'_>>) {
    let rec = CUR.with(|c| {
        let mut c = c.borrow_mut();
        c.depth = c.depth.saturating_sub(1);
        if std::mem::take(&mut c.dirty) {
            let mut to = SCRIPT_TARGET.with(|t| t.get());
            if c.repl_only_cmd {
                to &= TO_REPLICAS;
            }
            match c.instead.take() {
                Some((buf, n)) => c.push(db as u32, &buf, n, to),
                None => {
                    if let Some(a) = argv {
                        let mut buf = Vec::new();
                        encode(&mut buf, a.iter());
                        c.push(db as u32, &buf, 1, to);
                    }
                }
            }
        }
        c.instead = None;
        c.repl_only_cmd = false;
        if c.depth > 0 {
            return None;
        }
        let rec = c.seq.take().map(|seq| c.finish(seq));
        c.clear();
        c.multi = false;
        rec
    });
    if let Some(r) = rec {
        log.submit(r);
    }
}

/// A connection's batch of pipelined requests: records are collected on the
/// thread and submitted together by [`Log::flush_outbox`] (at the latest when
/// the batch is dropped). Every number taken on the thread is still
/// submitted before the connection waits for anything, so no other thread's
/// record waits on it for longer than the batch runs.
pub struct Batch<'a> {
    log: &'a Log,
}

impl<'a> Batch<'a> {
    pub fn begin(log: &'a Log) -> Batch<'a> {
        BATCHING.with(|b| b.set(true));
        Batch { log }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.log.flush_outbox();
        BATCHING.with(|b| b.set(false));
    }
}
