//! Per-connection state.
//!
//! [`Client`] is owned by the connection's task and holds what only that
//! connection touches (selected db, auth, reply mode). [`ClientInfo`] is the
//! part other connections may read or act on (`CLIENT LIST`, `CLIENT KILL`),
//! shared through the [`ClientRegistry`]; its fields are atomics or small
//! mutexes written by the owning connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed,
};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::blocking::Waiter;
use crate::util::now_ms;

/// `CLIENT REPLY` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress the reply of the next command only.
    SkipNext,
    /// Suppressing the current command's reply (SkipNext moved on).
    Skipping,
}

/// State owned by one connection's task.
pub struct Client {
    pub info: Arc<ClientInfo>,
    /// Selected database.
    pub db: usize,
    /// RESP version (2 or 3).
    pub resp: u8,
    pub authenticated: bool,
    /// The ACL user this connection runs as (the default user until AUTH).
    pub user: Arc<crate::acl::User>,
    /// Close the connection once the pending replies are written (QUIT).
    pub close_after_reply: bool,
    /// A reply was cut short at the output buffer limit (server::obuf):
    /// close the connection without its pending replies.
    pub drop_output: bool,
    pub reply_mode: ReplyMode,
    /// `CLIENT NO-TOUCH on`: reads do not update LRU/LFU.
    pub no_touch: bool,
    /// Set by a blocking command that must wait; the connection waits on it.
    pub blocked: Option<Arc<Waiter>>,
    /// Blocking commands answer at once (inside MULTI/EXEC and scripts).
    pub deny_blocking: bool,
    /// The transaction being queued, between MULTI and EXEC/DISCARD.
    pub multi: Option<MultiState>,
    /// Pub/Sub subscriptions (dropped with the client).
    pub pubsub: crate::pubsub::ClientSubs,
    /// In MONITOR mode (dropping it leaves the mode).
    pub monitor: Option<crate::monitor::Handle>,
    /// The client a script runs its commands as (MONITOR shows `lua`).
    pub in_script: bool,
    /// The AOF loader's client: as Redis's `mustObeyClient`, its writes are
    /// never refused for want of replicas or a failing save.
    pub replaying: bool,
    /// What a replica said in REPLCONF and asked for with PSYNC/SYNC
    /// (src/replication).
    pub repl: Option<Box<crate::replication::Hello>>,
}

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub queue: Vec<Queued>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub aborted: bool,
    /// A queued command is flagged DENYOOM: EXEC is refused when out of
    /// memory (as Redis's `mstate.cmd_flags`).
    pub denyoom: bool,
    /// A queued command is flagged WRITE.
    pub writes: bool,
    /// A queued command is flagged WRITE or MAY_REPLICATE (CLIENT PAUSE
    /// WRITE holds the EXEC).
    pub may_replicate: bool,
    /// A queued command lacks the STALE flag (EXEC is refused by a replica
    /// serving no stale data).
    pub denystale: bool,
}

/// One queued request, owning its arguments.
#[derive(Default)]
pub struct Queued {
    pub buf: Vec<u8>,
    pub ranges: Vec<std::ops::Range<usize>>,
}

impl Queued {
    pub fn new(args: crate::protocol::Args<'_>) -> Queued {
        let mut q = Queued {
            buf: Vec::with_capacity(args.iter().map(|a| a.len()).sum()),
            ranges: Vec::with_capacity(args.len()),
        };
        q.set(args);
        q
    }

    /// Replace the arguments with `args`, keeping the buffers' capacity.
    pub fn set(&mut self, args: crate::protocol::Args<'_>) {
        self.buf.clear();
        self.ranges.clear();
        for a in args.iter() {
            let start = self.buf.len();
            self.buf.extend_from_slice(a);
            self.ranges.push(start..self.buf.len());
        }
    }

    pub fn args(&self) -> crate::protocol::Args<'_> {
        crate::protocol::Args::new(&self.buf, &self.ranges)
    }
}

impl Client {
    /// A new connection, as the default user; authenticated at once when
    /// the default user is `nopass` and on (Redis's `clientSetDefaultAuth`).
    pub fn new(info: Arc<ClientInfo>, user: Arc<crate::acl::User>) -> Self {
        let authenticated = user.with(|s| s.nopass && s.enabled);
        Client {
            info,
            db: 0,
            resp: 2,
            authenticated,
            user,
            close_after_reply: false,
            drop_output: false,
            reply_mode: ReplyMode::On,
            no_touch: false,
            blocked: None,
            deny_blocking: false,
            multi: None,
            pubsub: Default::default(),
            monitor: None,
            in_script: false,
            replaying: false,
            repl: None,
        }
    }

    /// Run as `user` from now on (AUTH, HELLO AUTH, RESET).
    pub fn set_user(&mut self, user: Arc<crate::acl::User>, authenticated: bool) {
        *self.info.user.lock() = user.name.clone();
        self.user = user;
        self.authenticated = authenticated;
    }

    /// Switch database, keeping the shared view in sync.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Relaxed);
    }
}

/// A watched key: database, key, whether it was live when watched.
pub type WatchedKey = (usize, Box<[u8]>, bool);

/// What other connections can see of a client.
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub created_ms: u64,
    pub name: Mutex<Vec<u8>>,
    pub lib_name: Mutex<Vec<u8>>,
    pub lib_ver: Mutex<Vec<u8>>,
    /// Name of the ACL user (CLIENT LIST `user=`, ACL DELUSER).
    pub user: Mutex<Vec<u8>>,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    /// Unix ms of the last command (for `idle`).
    pub last_interaction_ms: AtomicU64,
    /// Command-table id of the last command (for `cmd=`), usize::MAX if none.
    pub last_cmd: AtomicUsize,
    /// Bytes in the query buffer and output buffer (for `qbuf`/`omem`).
    pub qbuf: AtomicUsize,
    /// The query buffer's allocated size (`qbuf-free` is what is left of it).
    pub qbuf_cap: AtomicUsize,
    /// Bytes waiting in the Pub/Sub (or MONITOR, tracking) outbox.
    pub obuf: AtomicUsize,
    /// Reply bytes the connection holds that the socket has not taken yet:
    /// messages moved out of the outbox for the next write, and what is
    /// left of a write the socket is slow to take. With `obuf`, what Redis
    /// counts as the client's pending output ([`ClientInfo::output`]).
    pub unsent: AtomicUsize,
    /// Bytes of the commands queued in MULTI (CLIENT LIST `multi-mem`).
    pub multi_mem: AtomicUsize,
    /// `CLIENT NO-EVICT on`: exempt from `maxmemory-clients` (flag `e`).
    pub no_evict: AtomicBool,
    /// When (Unix ms) the Pub/Sub or MONITOR outbox, over its soft
    /// output-buffer limit, will have been so for too long; 0 if not over.
    /// Kept by the outbox, read by the cron (server::obuf), which clears
    /// it once the output is back under `obuf_soft_limit`, the soft limit
    /// it was set for.
    pub obuf_soft_deadline_ms: AtomicU64,
    pub obuf_soft_limit: AtomicU64,
    /// Set by CLIENT KILL; the connection closes at its next wake-up.
    pub killed: AtomicBool,
    /// The connection task's waker, which a kill wakes (server::connection).
    pub kill_waker: Mutex<Option<std::task::Waker>>,
    /// The wait this client is blocked in, for CLIENT UNBLOCK and CLIENT LIST.
    pub waiter: Mutex<Option<Arc<Waiter>>>,
    /// Queued commands while in MULTI, -1 otherwise (CLIENT LIST `multi=`).
    pub multi: AtomicI64,
    /// Watched keys: database, key, whether it was live when watched.
    pub watched: Mutex<Vec<WatchedKey>>,
    /// What the watched keys cost this client (commands::multi::watch_cost).
    pub watch_mem: AtomicUsize,
    /// What its subscriptions cost it (crate::pubsub::ClientSubs::memory).
    pub sub_mem: AtomicUsize,
    /// What its CLIENT TRACKING BCAST prefixes cost it (crate::tracking).
    pub tracking_mem: AtomicUsize,
    /// Set when a watched key is modified (CLIENT LIST flag `d`).
    pub watch_dirty: Arc<AtomicBool>,
    /// In MONITOR mode (CLIENT LIST flag `O`).
    pub monitoring: AtomicBool,
    /// A replica's link (PSYNC/SYNC took the connection over).
    pub replica: AtomicBool,
    /// The master's link, on a replica (src/replication/replica.rs).
    pub master: AtomicBool,
    /// Held by CLIENT PAUSE (CLIENT LIST flag `b`).
    pub postponed: AtomicBool,
    /// Subscription counts (CLIENT LIST `sub=`/`psub=`/`ssub=`, flag `P`).
    pub subs: crate::pubsub::Counts,
    /// When (Unix ms) the cron should wake the connection to shrink its
    /// buffers if it is still idle; u64::MAX: never (server::trim).
    pub trim_at: AtomicU64,
    /// Set by the cron when it wakes the connection for that.
    pub trim_asked: AtomicBool,
    /// A tracking client redirects its invalidations here (CLIENT TRACKING
    /// ON REDIRECT <this id>): the connection waits for them even when it
    /// subscribes to nothing (a RESP3 target). Sticky, as cheap as it is.
    pub redirect_target: AtomicBool,
    /// The reply buffer's size and recent peak (CLIENT LIST `rbs`, `rbp`).
    pub rbuf: AtomicUsize,
    pub rbp: AtomicUsize,
}

/// Redis's fixed reply buffer size (PROTO_REPLY_CHUNK_BYTES): a new
/// client's, and the most of a reply buffer counted as such (server::trim).
pub const REPLY_BUF: usize = 16 * 1024;

impl ClientInfo {
    /// The client's memory, CLIENT LIST `tot-mem`: query buffer allocation,
    /// reply buffer, pending output, MULTI queue, watched keys,
    /// subscriptions and tracking prefixes, as Redis's getClientMemoryUsage adds them up.
    pub fn memory(&self) -> usize {
        let rbuf = super::trim::reported_rbs(self.rbuf.load(Relaxed));
        rbuf + self.input()
            + self.output()
            + self.multi_mem.load(Relaxed)
            + self.watch_mem.load(Relaxed)
            + self.sub_mem.load(Relaxed)
            + self.tracking_mem.load(Relaxed)
    }

    /// The query buffer's allocation (or its length, if read first).
    pub fn input(&self) -> usize {
        self.qbuf_cap.load(Relaxed).max(self.qbuf.load(Relaxed))
    }

    /// Output not yet taken by the socket (CLIENT LIST `omem`): what waits
    /// in the outbox and what the connection holds unsent, as Redis counts
    /// its reply list until the socket takes it.
    pub fn output(&self) -> usize {
        self.obuf.load(Relaxed) + self.unsent.load(Relaxed)
    }

    /// Ask the connection to close (CLIENT KILL, SHUTDOWN).
    pub fn request_kill(&self) {
        self.killed
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(w) = self.kill_waker.lock().as_ref() {
            w.wake_by_ref();
        }
    }

    pub fn name(&self) -> Vec<u8> {
        self.name.lock().clone()
    }
}

/// All connected clients.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, Arc<ClientInfo>>>,
    connected: AtomicUsize,
}

impl ClientRegistry {
    /// Number of connected clients.
    pub fn count(&self) -> usize {
        self.connected.load(Relaxed)
    }

    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr, fd: i32) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Relaxed) + 1;
        let now = now_ms();
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created_ms: now,
            name: Mutex::new(Vec::new()),
            lib_name: Mutex::new(Vec::new()),
            lib_ver: Mutex::new(Vec::new()),
            user: Mutex::new(b"default".to_vec()),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            last_interaction_ms: AtomicU64::new(now),
            last_cmd: AtomicUsize::new(usize::MAX),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            unsent: AtomicUsize::new(0),
            multi_mem: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            obuf_soft_deadline_ms: AtomicU64::new(0),
            obuf_soft_limit: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill_waker: Mutex::new(None),
            waiter: Mutex::new(None),
            trim_at: AtomicU64::new(u64::MAX),
            trim_asked: AtomicBool::new(false),
            redirect_target: AtomicBool::new(false),
            rbuf: AtomicUsize::new(REPLY_BUF),
            rbp: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            watched: Mutex::new(Vec::new()),
            watch_mem: AtomicUsize::new(0),
            sub_mem: AtomicUsize::new(0),
            tracking_mem: AtomicUsize::new(0),
            watch_dirty: Arc::new(AtomicBool::new(false)),
            monitoring: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            master: AtomicBool::new(false),
            postponed: AtomicBool::new(false),
            subs: Default::default(),
        });
        self.clients.lock().insert(id, info.clone());
        self.connected.fetch_add(1, Relaxed);
        info
    }

    pub fn unregister(&self, id: u64) {
        if self.clients.lock().remove(&id).is_some() {
            self.connected.fetch_sub(1, Relaxed);
        }
    }

    /// A snapshot of all clients, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        let mut v: Vec<_> = self.clients.lock().values().cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// Call `f` on every client (under the registry's lock: keep it short).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<ClientInfo>)) {
        for c in self.clients.lock().values() {
            f(c);
        }
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }
}
