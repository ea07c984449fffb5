//! Replication, master side: Redis replicas (and anything that speaks the
//! protocol: `redis-server --replicaof`, `redis-cli --rdb`) sync from Ember.
//!
//! A replica connects as a client, says `REPLCONF listening-port …` and
//! `REPLCONF capa eof capa psync2`, then `PSYNC <replid> <offset>` (or the
//! old `SYNC`). The connection is then handed to [`master::serve`]: a full
//! resync sends `+FULLRESYNC <replid> <offset>` and a point-in-time RDB
//! snapshot, a partial one `+CONTINUE`, and from then on the replication
//! stream ([`backlog`]) from the replica's offset, while the replica's
//! `REPLCONF ACK <offset>` come back on the same socket (WAIT counts them).
//!
//! As a replica (`REPLICAOF host port`), [`replica`] follows a master.
//!
//! The stream is the ordered propagation log the AOF gets (persist/aof/
//! log.rs): at the snapshot's instant, with every gate held, logging is
//! turned on and a sync point is left at the log's next sequence number;
//! the AOF writer thread runs it once every earlier record is in the
//! stream, which gives the offset the snapshot stands for.

pub mod backlog;
pub mod master;
pub mod replica;

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::blocking::{Outcome, Waiter};
use crate::protocol::reply::Reply;
use crate::server::Server;

/// What a connecting replica said (REPLCONF) and asked for (PSYNC/SYNC).
#[derive(Debug, Default)]
pub struct Hello {
    pub listening_port: u16,
    pub ip: Option<String>,
    /// `capa eof`: it accepts a diskless (EOF-marked) payload.
    pub capa_eof: bool,
    /// `capa psync2`: `+CONTINUE` carries the replication ID.
    pub capa_psync2: bool,
    pub psync: Option<Psync>,
}

#[derive(Debug)]
pub struct Psync {
    /// The replication ID it followed (`?`: none).
    pub replid: Vec<u8>,
    /// The offset of the next byte it needs (-1: none).
    pub offset: i64,
    /// The old `SYNC`: no `+FULLRESYNC` line before the payload.
    pub legacy: bool,
}

/// A replica's link state, as INFO names it.
pub const WAIT_BGSAVE: u8 = 0;
pub const SEND_BULK: u8 = 1;
pub const ONLINE: u8 = 2;

/// One connected replica.
pub struct Link {
    pub client_id: u64,
    pub ip: String,
    pub port: AtomicU16,
    pub state: AtomicU8,
    /// The offset it acknowledged (REPLCONF ACK).
    pub ack: AtomicU64,
    /// The offset it has fsynced in its own AOF (REPLCONF ACK … FACK).
    pub fack: AtomicU64,
    /// Unix ms of its last ACK.
    pub ack_ms: AtomicU64,
}

/// What a WAIT waits for: `want` replicas acknowledging `offset`, which
/// the AOF writer fills in once the client's writes are in the stream.
#[derive(Debug)]
pub struct WaitAck {
    pub want: u64,
    pub offset: AtomicU64,
    /// WAITAOF: replicas count only once their AOF has it (FACK), and
    /// `local` asks for this server's AOF fsync of records up to `seq`.
    pub aof: Option<AofWait>,
}

#[derive(Debug)]
pub struct AofWait {
    pub local: bool,
    pub seq: u64,
    /// The AOF was on: without it there is no local copy (Redis's
    /// fsynced_reploff of -1).
    pub aof_on: bool,
}

const UNKNOWN: u64 = u64::MAX;

impl WaitAck {
    pub fn new(want: u64) -> Arc<WaitAck> {
        Arc::new(WaitAck {
            want,
            offset: AtomicU64::new(UNKNOWN),
            aof: None,
        })
    }

    /// WAITAOF's: `local` (0 or 1) fsyncs here of records up to `seq`.
    pub fn for_aof(want: u64, local: bool, seq: u64, aof_on: bool) -> Arc<WaitAck> {
        Arc::new(WaitAck {
            want,
            offset: AtomicU64::new(UNKNOWN),
            aof: Some(AofWait { local, seq, aof_on }),
        })
    }
}

#[derive(Default)]
pub struct Repl {
    links: Mutex<Vec<Arc<Link>>>,
    waits: Mutex<Vec<(Arc<Waiter>, Arc<WaitAck>)>>,
    /// Unix ms of the last PING put in the stream.
    last_ping_ms: AtomicU64,
    /// Records up to this number are fsynced in this server's AOF (the
    /// AOF writer; WAITAOF's local copy).
    aof_fsynced: AtomicU64,
    /// Unix ms since when no replica is connected (0: one is).
    alone_since_ms: AtomicU64,
    /// This server's replication ID (the run ID at first): a new one
    /// whenever its stream no longer continues what replicas were sent
    /// (the backlog freed, the data replaced by a master's), as Redis's
    /// changeReplicationId, so no replica continues over a gap.
    replid: Mutex<String>,
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// As a replica: the master followed, and how far.
    pub following: replica::Following,
    pub position: Mutex<replica::Position>,
    /// Keys given a TTL on a writable replica by its own clients (Redis's
    /// slaveKeysWithExpire): the master never DELs them, so the replica
    /// expires them itself ([`replica::expire_written`]).
    pub written: Mutex<std::collections::HashSet<(usize, Box<[u8]>)>>,
}

impl Repl {
    /// The replication ID (set from the run ID at startup).
    pub fn replid(&self) -> String {
        self.replid.lock().clone()
    }

    pub fn set_replid(&self, id: &str) {
        *self.replid.lock() = id.to_string();
    }

    /// A new replication ID (see the field).
    pub fn change_replid(&self) {
        *self.replid.lock() = crate::server::random_hex(40);
    }

    /// Whether this server follows a master (REPLICAOF).
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.following.on.load(Relaxed)
    }

    /// A replica whose link is down that serves no stale data
    /// (`replica-serve-stale-data no`).
    pub fn stale(&self, server: &Server) -> bool {
        self.is_replica()
            && !server.config.read(|c| c.replica_serve_stale_data)
            && self
                .upstream()
                .is_some_and(|u| u.state.load(Relaxed) != replica::CONNECTED)
    }

    /// Writes from ordinary clients are refused (`replica-read-only`).
    #[inline]
    pub fn read_only(&self, server: &Server) -> bool {
        self.is_replica() && server.config.read(|c| c.replica_read_only)
    }

    pub fn upstream(&self) -> Option<Arc<replica::Upstream>> {
        self.following.up.lock().clone()
    }

    /// REPLICAOF host port: follow that master (false: already following
    /// it). Our own replicas are dropped so that they resync.
    pub fn set_master(&self, server: &Arc<Server>, host: &str, port: u16) -> bool {
        let mut cur = self.following.up.lock();
        if cur
            .as_ref()
            .is_some_and(|u| u.host == host && u.port == port)
        {
            return false;
        }
        if let Some(old) = cur.take() {
            old.stop.store(true, Relaxed);
        }
        let up = replica::Upstream::new(host.to_string(), port);
        *cur = Some(up.clone());
        self.following.on.store(true, Relaxed);
        server.keyspace.hold_as_replica(true);
        drop(cur);
        tracing::info!("Connecting to MASTER {host}:{port} (REPLICAOF)");
        self.drop_replicas(server);
        // Blocked clients would be served by the master's writes: they are
        // answered now, as Redis's disconnectAllBlockedClients.
        for c in server.clients.all() {
            let waiter = c.waiter.lock().clone();
            if let Some(w) = waiter {
                w.finish(crate::blocking::Outcome::Served(
                    b"-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n".to_vec(),
                ));
            }
        }
        replica::spawn(server, up);
        true
    }

    /// REPLICAOF NO ONE: stop following. The data stays; a later REPLICAOF
    /// starts with a full resync (this server may take writes meanwhile).
    pub fn set_no_master(&self, server: &Server) {
        if let Some(old) = self.following.up.lock().take() {
            old.stop.store(true, Relaxed);
            tracing::info!("MASTER MODE enabled");
        }
        self.following.on.store(false, Relaxed);
        server.keyspace.hold_as_replica(false);
        self.written.lock().clear();
        *self.position.lock() = Default::default();
    }

    /// After a write by one of a replica's own clients: remember its keys
    /// that now have a TTL.
    pub fn remember_written(
        &self,
        server: &Server,
        db: usize,
        cmd: &crate::commands::Command,
        args: crate::protocol::Args<'_>,
    ) {
        for pos in cmd.key_positions(args) {
            let key = args.get(pos);
            let mut shard = server.keyspace.lock(key);
            let t = shard.db(db);
            let ttl = t
                .position(key)
                .and_then(|p| t.at(p))
                .is_some_and(|(_, e)| e.has_ttl());
            drop(shard);
            if ttl {
                self.written.lock().insert((db, key.into()));
            }
        }
    }

    /// Close every replica's link (they reconnect and resync).
    pub fn drop_replicas(&self, server: &Server) {
        let ids: Vec<u64> = self.links.lock().iter().map(|l| l.client_id).collect();
        for id in ids {
            if let Some(c) = server.clients.get(id) {
                c.request_kill();
            }
        }
    }

    /// Count the online replicas that acknowledged within
    /// min-replicas-max-lag (Redis's refreshGoodSlavesCount: on every ACK,
    /// link change, config change and cron turn).
    pub fn refresh_good(&self, server: &Server) {
        let now = crate::util::now_ms();
        let max_lag = server.config.read(|c| c.min_replicas_max_lag) * 1000;
        let good = self
            .links
            .lock()
            .iter()
            .filter(|l| {
                l.state.load(Relaxed) == ONLINE
                    && now.saturating_sub(l.ack_ms.load(Relaxed)) <= max_lag
            })
            .count();
        server.config.set_good_replicas(good as u64);
    }

    pub fn register(&self, link: Arc<Link>) {
        self.links.lock().push(link);
        self.alone_since_ms.store(0, Relaxed);
    }

    pub fn unregister(&self, client_id: u64) {
        let mut links = self.links.lock();
        links.retain(|l| l.client_id != client_id);
        if links.is_empty() {
            self.alone_since_ms.store(crate::util::now_ms(), Relaxed);
        }
        drop(links);
        self.check_waits();
    }

    /// Replicas connected (in any state).
    pub fn connected(&self) -> usize {
        self.links.lock().len()
    }

    /// Online replicas that acknowledged `offset` (0 while it is unknown).
    pub fn acked(&self, offset: u64) -> u64 {
        if offset == UNKNOWN {
            return 0;
        }
        self.links
            .lock()
            .iter()
            .filter(|l| l.state.load(Relaxed) == ONLINE && l.ack.load(Relaxed) >= offset)
            .count() as u64
    }

    /// Replicas whose AOF has everything up to `offset` (FACK).
    pub fn aof_acked(&self, offset: u64) -> u64 {
        if offset == UNKNOWN {
            return 0;
        }
        self.links
            .lock()
            .iter()
            .filter(|l| l.state.load(Relaxed) == ONLINE && l.fack.load(Relaxed) >= offset)
            .count() as u64
    }

    /// Records up to this number are fsynced in this server's AOF.
    pub fn local_fsynced(&self) -> u64 {
        self.aof_fsynced.load(Relaxed)
    }

    /// The AOF writer fsynced records up to `seq`: answer the WAITAOFs
    /// that waited for it.
    pub fn aof_fsynced(&self, seq: u64) {
        self.aof_fsynced.fetch_max(seq, Relaxed);
        self.check_waits();
    }

    /// What a WAIT or WAITAOF has now: (local copies, replicas).
    pub fn counts(&self, ack: &WaitAck) -> (u64, u64) {
        let offset = ack.offset.load(Relaxed);
        match &ack.aof {
            None => (0, self.acked(offset)),
            Some(a) => (
                (a.aof_on && self.local_fsynced() >= a.seq) as u64,
                self.aof_acked(offset),
            ),
        }
    }

    /// A WAIT blocked: it is answered by [`Repl::check_waits`] or times out.
    pub fn add_wait(&self, waiter: Arc<Waiter>, ack: Arc<WaitAck>) {
        self.waits.lock().push((waiter, ack));
        self.check_waits();
    }

    /// Answer the WAITs enough replicas acknowledged; forget ended ones.
    pub fn check_waits(&self) {
        let mut waits = self.waits.lock();
        if waits.is_empty() {
            return;
        }
        waits.retain(|(w, ack)| {
            if !w.is_waiting() {
                return false;
            }
            let (local, n) = self.counts(ack);
            let mut r = Reply::new(false);
            match &ack.aof {
                None if n >= ack.want && ack.want > 0 => r.int(n as i64),
                Some(a) if n >= ack.want && local >= a.local as u64 => {
                    r.array(2);
                    r.int(local as i64);
                    r.int(n as i64);
                }
                _ => return true,
            }
            w.finish(Outcome::Served(r.buf));
            false
        });
    }

    /// INFO replication.
    pub fn info(&self, server: &Server, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
        let links = self.links.lock().clone();
        let b = server.aof.log.backlog.info();
        let up = self.upstream();
        let (replid, offset) = match &up {
            // As a replica: the master's ID and the offset applied from it.
            Some(_) => {
                let p = self.position.lock();
                (p.replid.clone(), p.offset)
            }
            None => (self.replid(), b.offset),
        };
        match &up {
            None => w("role", &"master"),
            Some(up) => {
                let now = crate::util::now_ms();
                w("role", &"slave");
                w("master_host", &up.host);
                w("master_port", &up.port);
                let state = up.state.load(Relaxed);
                let linked = state == replica::CONNECTED;
                w("master_link_status", &if linked { "up" } else { "down" });
                let io = up.last_io_ms.load(Relaxed);
                let ago = if io == 0 {
                    -1
                } else {
                    (now.saturating_sub(io) / 1000) as i64
                };
                w("master_last_io_seconds_ago", &ago);
                let syncing = state == replica::SYNC;
                w("master_sync_in_progress", &(syncing as u8));
                w(
                    "slave_read_repl_offset",
                    &(offset + up.unapplied.load(Relaxed)),
                );
                w("slave_repl_offset", &offset);
                if syncing {
                    let total = up.sync_total.load(Relaxed);
                    let read = up.sync_read.load(Relaxed);
                    w("master_sync_total_bytes", &(total as i64));
                    w("master_sync_read_bytes", &read);
                    w("master_sync_left_bytes", &total.saturating_sub(read));
                    let perc = if total > 0 {
                        read as f64 * 100.0 / total as f64
                    } else {
                        0.0
                    };
                    w("master_sync_perc", &format_args!("{perc:.2}"));
                    w("master_sync_last_io_seconds_ago", &ago);
                }
                let down = up.down_since_ms.load(Relaxed);
                if !linked && down > 0 {
                    w(
                        "master_link_down_since_seconds",
                        &(now.saturating_sub(down) / 1000),
                    );
                }
                w("slave_priority", &100);
                let ro = server.config.read(|c| c.replica_read_only);
                w("slave_read_only", &(ro as u8));
                w("replica_announced", &1);
            }
        }
        w("connected_slaves", &links.len());
        if let Some(good) = server.config.good_replicas() {
            w("min_slaves_good_slaves", &good);
        }
        let now = crate::util::now_ms();
        for (i, l) in links.iter().enumerate() {
            let state = match l.state.load(Relaxed) {
                WAIT_BGSAVE => "wait_bgsave",
                SEND_BULK => "send_bulk",
                _ => "online",
            };
            let lag = now.saturating_sub(l.ack_ms.load(Relaxed)) / 1000;
            w(
                &format!("slave{i}"),
                &format_args!(
                    "ip={},port={},state={state},offset={},lag={lag}",
                    l.ip,
                    l.port.load(Relaxed),
                    l.ack.load(Relaxed)
                ),
            );
        }
        w("master_failover_state", &"no-failover");
        w("master_replid", &replid);
        w(
            "master_replid2",
            &"0000000000000000000000000000000000000000",
        );
        w("master_repl_offset", &offset);
        w("second_repl_offset", &-1);
        w("repl_backlog_active", &(b.active as u8));
        w("repl_backlog_size", &b.size);
        w("repl_backlog_first_byte_offset", &b.first);
        w("repl_backlog_histlen", &b.histlen);
    }

    /// ROLE: as a master, its offset and each replica's address and ACK;
    /// as a replica, its master, the link's state and the offset applied.
    pub fn role(&self, server: &Server, out: &mut Reply) {
        if let Some(up) = self.upstream() {
            out.array(5);
            out.bulk(b"slave");
            out.bulk(up.host.as_bytes());
            out.int(up.port as i64);
            out.bulk(up.state_name().as_bytes());
            let linked = up.state.load(Relaxed) == replica::CONNECTED;
            out.int(if linked {
                self.position.lock().offset as i64
            } else {
                -1
            });
            return;
        }
        let links = self.links.lock().clone();
        out.array(3);
        out.bulk(b"master");
        out.int(server.aof.log.backlog.end() as i64);
        let online: Vec<_> = links
            .iter()
            .filter(|l| l.state.load(Relaxed) == ONLINE)
            .collect();
        out.array(online.len());
        for l in online {
            out.array(3);
            out.bulk(l.ip.as_bytes());
            out.bulk(itoa::Buffer::new().format(l.port.load(Relaxed)).as_bytes());
            out.bulk(itoa::Buffer::new().format(l.ack.load(Relaxed)).as_bytes());
        }
    }
}

/// From the cron: a PING in the stream every `repl-ping-replica-period`
/// seconds while replicas are connected, so they see the master alive.
/// It also counts the good replicas for min-replicas-to-write.
pub fn cron(server: &Server) {
    let repl = &server.repl;
    let now = crate::util::now_ms();
    let period = server.config.read(|c| c.repl_ping_replica_period * 1000);
    repl.refresh_good(server);
    {
        // Deletions, as any command's, between transactions.
        let _gate = server.gates.read();
        replica::expire_written(server, now);
    }
    let ttl = server.config.read(|c| c.repl_backlog_ttl);
    let alone = repl.alone_since_ms.load(Relaxed);
    let backlog = &server.aof.log.backlog;
    if ttl > 0
        && alone > 0
        && repl.connected() == 0
        && now.saturating_sub(alone) / 1000 >= ttl
        && backlog.free_if_unpinned()
    {
        // What comes next does not continue what replicas had.
        repl.change_replid();
        tracing::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
    }
    // On the period's beat whether or not replicas are there, as Redis's
    // cron counts it: a replica that just attached gets its first PING at
    // the next beat, not at once (the test suite's stream readers set a long
    // period and expect none).
    if now.saturating_sub(repl.last_ping_ms.load(Relaxed)) < period {
        return;
    }
    repl.last_ping_ms.store(now, Relaxed);
    if repl.connected() > 0 {
        let mut ping = Vec::with_capacity(14);
        crate::persist::aof::log::encode(&mut ping, [&b"PING"[..]]);
        server.aof.log.submit_alone(ping);
    }
}
