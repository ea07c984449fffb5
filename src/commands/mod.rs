//! The command table and dispatch.
//!
//! Each family module (`string.rs`, `keys.rs`, …) exports a `COMMANDS` slice of
//! [`Command`] entries; [`CommandTable::build`] gathers them once at startup.
//! [`dispatch`] runs every generic check off an entry (lookup, subcommand,
//! arity, authentication) and then calls the handler, so a handler only deals
//! with its own arguments.

pub mod args;
pub mod table;

pub mod acl_cmd;
pub mod bits;
pub mod client;
pub mod cmdmeta;
pub mod command;
pub mod config_cmd;
pub mod connection;
pub mod debug;
pub mod digest;
pub mod dump;
pub mod expire;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod info;
pub mod keys;
pub mod keyspecs;
pub mod latency;
pub mod list;
pub mod memory;
pub mod migrate;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod replication;
pub mod script;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

pub use table::{acl, flags, Command, Handler};

/// Name → index maps with a fast hasher (command lookup runs per request).
type NameMap = std::collections::HashMap<&'static [u8], usize, foldhash::fast::RandomState>;

use std::cell::Cell;

use crate::error::CmdError;
use crate::protocol::{Args, Reply};
use crate::server::client::Client;
use crate::server::stats::ThreadStats;
use crate::server::Server;

/// Everything a handler may use while it runs.
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// Current Unix time in ms, read once per batch of pipelined requests
    /// (like Redis's `commandTimeSnapshot`, all expiry decisions of one
    /// command agree; a batch spans microseconds).
    pub now: u64,
    /// The entry being executed (subcommand entry for containers).
    pub cmd: &'static Command,
    /// This worker thread's counters.
    pub tstats: &'a ThreadStats,
}

impl Ctx<'_> {
    /// The database the client has selected.
    #[inline]
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// Log `argv` to the AOF instead of this command's own arguments (see
    /// `persist::aof::log`); several calls log several commands.
    pub fn propagate_instead(&self, argv: &[&[u8]]) {
        crate::persist::aof::propagate_instead(argv.iter().copied());
    }

    /// Log this command as the deletion of `key` it amounts to: DEL, or
    /// UNLINK when deletions for `why` are lazy (lazyfree-lazy-*), as Redis.
    pub fn propagate_del(&self, why: crate::persist::aof::log::Deletion, key: &[u8]) {
        self.propagate_instead(&[self.server.aof.log.del_name(why), key]);
    }
}

/// Every family's table, in the order `COMMAND` lists them.
pub fn families() -> Vec<&'static [Command]> {
    let mut v = vec![
        connection::COMMANDS,
        string::COMMANDS,
        bits::COMMANDS,
        hll::COMMANDS,
        geo::COMMANDS,
        stream::COMMANDS,
        keys::COMMANDS,
        expire::COMMANDS,
        server::COMMANDS,
        persist::COMMANDS,
        latency::COMMANDS,
        config_cmd::COMMANDS,
        client::COMMANDS,
        info::COMMANDS,
        memory::COMMANDS,
        command::COMMANDS,
        hash::COMMANDS,
        sort::COMMANDS,
        multi::COMMANDS,
        pubsub::COMMANDS,
        replication::COMMANDS,
        dump::COMMANDS,
        migrate::COMMANDS,
        crate::persist::aof::command::COMMANDS,
        acl_cmd::COMMANDS,
        script::COMMANDS,
        crate::monitor::COMMANDS,
    ];
    v.extend(list::commands());
    v.extend(set::commands());
    v.extend(zset::commands());
    v
}

/// An entry with its stats index and, for containers, its subcommands.
pub struct TableEntry {
    pub cmd: &'static Command,
    /// Index into per-command statistics.
    pub id: usize,
    /// Subcommand name (lower case, without `container|`) → entry index.
    pub subs: NameMap,
}

/// All commands, looked up case-insensitively by name.
pub struct CommandTable {
    /// Top-level commands first, then subcommands.
    pub entries: Vec<TableEntry>,
    by_name: NameMap,
    /// Number of top-level commands (they are `entries[..top]`).
    pub top: usize,
    /// Id of EXEC (dispatched without its worker's gate).
    pub exec_id: usize,
    /// DEBUG (gated by `enable-debug-command`) and PING (refused with
    /// writes under MISCONF), checked by id on the request path.
    pub debug_id: usize,
    pub ping_id: usize,
    /// Ids of the commands that run, not queue, inside MULTI.
    not_queued: [usize; 6],
    /// Ids of the commands a RESP2 client may run while subscribed.
    pubsub_ok: [usize; 9],
    /// Ids of EVAL, EVALSHA, FCALL and their _RO forms: like EXEC they take
    /// every gate themselves.
    script_ids: Vec<usize>,
}

/// Longest command name we look up; longer names are unknown by definition.
const MAX_NAME: usize = 64;

/// Names up to this long are remembered by [`CommandTable::get`].
const LAST_NAME: usize = 16;

/// The last top-level name a thread looked up, as the client spelt it, and
/// its entry.
#[derive(Clone, Copy)]
struct LastName {
    /// Address of the table it belongs to.
    table: usize,
    len: u8,
    /// The name's bytes, zero-padded: one comparison checks them all.
    name: u128,
    id: usize,
}

/// A name of at most [`LAST_NAME`] bytes as one zero-padded number.
#[inline]
fn packed_name(name: &[u8]) -> u128 {
    let mut b = [0u8; LAST_NAME];
    b[..name.len()].copy_from_slice(name);
    u128::from_le_bytes(b)
}

thread_local! {
    static LAST: Cell<LastName> = const {
        Cell::new(LastName {
            table: 0,
            len: 0,
            name: 0,
            id: 0,
        })
    };
}

/// Lower-case `name` into `buf`, or None if it is too long to be a command.
#[inline]
fn lower<'b>(name: &[u8], buf: &'b mut [u8; MAX_NAME]) -> Option<&'b [u8]> {
    if name.len() > MAX_NAME {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(&buf[..name.len()])
}

impl CommandTable {
    pub fn build() -> CommandTable {
        let mut entries = Vec::new();
        let mut by_name = NameMap::default();
        let all: Vec<&'static Command> = families().into_iter().flatten().collect();
        for cmd in &all {
            let id = entries.len();
            let dup = by_name.insert(cmd.name.as_bytes(), id);
            assert!(dup.is_none(), "command {} is in the table twice", cmd.name);
            entries.push(TableEntry {
                cmd,
                id,
                subs: NameMap::default(),
            });
        }
        let top = entries.len();
        for (parent, cmd) in all.iter().enumerate() {
            for sub in cmd.subcommands {
                let id = entries.len();
                let short = sub.name.rsplit('|').next().unwrap_or(sub.name);
                entries[parent].subs.insert(short.as_bytes(), id);
                entries.push(TableEntry {
                    cmd: sub,
                    id,
                    subs: NameMap::default(),
                });
            }
        }
        let id = |name: &str| by_name.get(name.as_bytes()).copied().unwrap_or(usize::MAX);
        let exec_id = id("exec");
        let not_queued = [
            exec_id,
            id("discard"),
            id("multi"),
            id("watch"),
            id("quit"),
            id("reset"),
        ];
        let pubsub_ok = [
            id("subscribe"),
            id("unsubscribe"),
            id("psubscribe"),
            id("punsubscribe"),
            id("ssubscribe"),
            id("sunsubscribe"),
            id("ping"),
            id("quit"),
            id("reset"),
        ];
        let script_ids = script::GATE_TAKERS.iter().map(|n| id(n)).collect();
        let (debug_id, ping_id) = (id("debug"), id("ping"));
        CommandTable {
            entries,
            by_name,
            top,
            exec_id,
            debug_id,
            ping_id,
            not_queued,
            pubsub_ok,
            script_ids,
        }
    }

    /// Whether the entry is EXEC, DISCARD, QUIT or RESET: inside MULTI the
    /// only commands not refused while out of memory.
    pub fn oom_exempt_in_multi(&self, id: usize) -> bool {
        let q = &self.not_queued;
        [q[0], q[1], q[4], q[5]].contains(&id)
    }

    /// Whether a RESP2 client in Pub/Sub mode may run the entry (its
    /// top-level command's id).
    pub fn allowed_in_pubsub(&self, id: usize) -> bool {
        self.pubsub_ok.contains(&id)
    }

    /// Whether the request takes every gate itself (EXEC, EVAL, FCALL…,
    /// DEBUG LOADAOF), so dispatch must not hold the worker's read gate for
    /// it.
    pub fn takes_all_gates(&self, id: usize, args: Args<'_>) -> bool {
        id == self.exec_id
            || self.script_ids.contains(&id)
            || (id == self.debug_id && args.len() == 2 && crate::util::eq_ic(&args[1], b"loadaof"))
    }

    /// Whether the entry runs at once inside MULTI instead of being queued.
    pub fn runs_in_multi(&self, id: usize) -> bool {
        self.not_queued.contains(&id)
    }

    /// Look a top-level command up by name, any case.
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&TableEntry> {
        // Pipelines mostly repeat a command: the last name this thread
        // looked up is compared first, before lower-casing and hashing.
        let me = self as *const CommandTable as usize;
        // Clients spell a command the same way every time, so the bytes
        // are compared as sent (another spelling just misses the cache).
        let short = (1..=LAST_NAME).contains(&name.len());
        let packed = if short { packed_name(name) } else { 0 };
        if short {
            let last = LAST.with(Cell::get);
            if last.table == me && last.len as usize == name.len() && last.name == packed {
                return self.entries.get(last.id);
            }
        }
        self.get_uncached(name, short, packed)
    }

    /// [`CommandTable::get`] past its one-entry cache.
    #[inline(never)]
    fn get_uncached(&self, name: &[u8], short: bool, packed: u128) -> Option<&TableEntry> {
        let me = self as *const CommandTable as usize;
        let mut buf = [0u8; MAX_NAME];
        let lname = lower(name, &mut buf)?;
        let id = *self.by_name.get(lname)?;
        if short {
            LAST.with(|l| {
                l.set(LastName {
                    table: me,
                    len: name.len() as u8,
                    name: packed,
                    id,
                })
            });
        }
        self.entries.get(id)
    }

    /// Look up `name` or `container|sub`.
    pub fn get_full(&self, name: &[u8]) -> Option<&TableEntry> {
        match name.iter().position(|&b| b == b'|') {
            None => self.get(name),
            Some(p) => self.sub(self.get(&name[..p])?, &name[p + 1..]),
        }
    }

    /// A subcommand of a container, any case.
    pub fn sub(&self, parent: &TableEntry, name: &[u8]) -> Option<&TableEntry> {
        let mut buf = [0u8; MAX_NAME];
        let lname = lower(name, &mut buf)?;
        parent.subs.get(lname).map(|&i| &self.entries[i])
    }

    /// Top-level entries.
    pub fn top_level(&self) -> &[TableEntry] {
        &self.entries[..self.top]
    }

    /// Resolve a request to the entry that will run it, or the error Redis
    /// gives (unknown command / subcommand, wrong arity).
    pub fn resolve(&self, args: Args<'_>) -> Result<&TableEntry, CmdError> {
        let name = args.get(0);
        let Some(entry) = self.get(name) else {
            return Err(unknown_command(args));
        };
        let entry = if entry.cmd.subcommands.is_empty()
            || (args.len() < 2 && entry.cmd.handler.is_some())
        {
            // A plain command, or one like COMMAND that also runs bare.
            entry
        } else {
            if args.len() < 2 {
                return Err(CmdError::WrongArity(entry.cmd.name.to_string()));
            }
            match self.sub(entry, args.get(1)) {
                Some(sub) => sub,
                None => {
                    let sub = String::from_utf8_lossy(args.get(1));
                    return Err(CmdError::err(format!(
                        "unknown subcommand '{}'. Try {} HELP.",
                        truncate_chars(&sub, 128),
                        entry.cmd.name.to_ascii_uppercase()
                    )));
                }
            }
        };
        if !entry.cmd.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(entry.cmd.name.to_string()));
        }
        Ok(entry)
    }
}

fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Redis's unknown-command error: the name (at most 128 bytes) and the
/// arguments quoted, until their text reaches 128 bytes.
pub fn unknown_command(args: Args<'_>) -> CmdError {
    let name = String::from_utf8_lossy(&args.get(0)[..args.get(0).len().min(128)]).into_owned();
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        let a = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        rest.push('\'');
        rest.push_str(&a);
        rest.push_str("' ");
    }
    CmdError::err(format!(
        "unknown command '{name}', with args beginning with: {rest}"
    ))
}

/// Execute one request: resolve, check, run, account. The reply (or error) is
/// appended to `out`. `now` is the Unix time in ms the connection read once
/// for the batch this request came in.
pub fn dispatch(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    tstats: &ThreadStats,
    now: u64,
    args: Args<'_>,
) {
    let entry = match server.commands.resolve(args) {
        Ok(e) => e,
        Err(e) => {
            if let Some(top) = server.commands.get(args.get(0)) {
                tstats.rejected(top.id);
            }
            flag_transaction(client);
            reply_error(server, out, &e);
            return;
        }
    };
    let cmd = entry.cmd;
    // DEBUG is refused unless `enable-debug-command` allows it (Redis 7).
    if entry.id == server.commands.debug_id && !debug_allowed(server, client) {
        tstats.rejected(entry.id);
        flag_transaction(client);
        reply_error(
            server,
            out,
            &CmdError::err("DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."),
        );
        return;
    }
    // A pipelined command of a connection whose user was just deleted (its
    // connection is closing): it runs as the unauthenticated default user.
    if client.user.is_deleted() {
        client.set_user(server.acl.default_user(), false);
        client.close_after_reply = true;
    }
    if !client.authenticated && !cmd.has(flags::NO_AUTH) && server.auth_required() {
        tstats.rejected(entry.id);
        flag_transaction(client);
        reply_error(
            server,
            out,
            &CmdError::coded("NOAUTH Authentication required."),
        );
        return;
    }
    // ACL: the command, its keys (src/acl), right after authentication as
    // in Redis's processCommand; inside MULTI a denied command is refused
    // at queue time and the transaction aborts.
    // (A NO_MULTI command inside MULTI gets Redis's earlier "not allowed
    // inside a transaction" below instead.)
    let no_multi = client.multi.is_some()
        && cmd.has(flags::NO_MULTI)
        && !server.commands.runs_in_multi(entry.id);
    if !no_multi && !acl_cmd::permitted(server, client, out, entry, args, false) {
        tstats.rejected(entry.id);
        flag_transaction(client);
        return;
    }
    // A monitor may not touch the keyspace (Redis treats it as a replica).
    if client.monitor.is_some() && cmd.has(flags::READONLY | flags::WRITE | flags::MAY_REPLICATE) {
        tstats.rejected(entry.id);
        reply_error(
            server,
            out,
            &CmdError::err(crate::monitor::MONITOR_KEYSPACE),
        );
        return;
    }
    // What the command really does, for the checks below: a script's
    // declared flags stand for EVAL's or FCALL's own (Redis's
    // getCommandFlags), so a shebang script that may write is refused on a
    // read-only replica as any write is.
    let cf = script::command_flags(server, cmd, args);
    // maxmemory: evict before any command (under this worker's gate, so not
    // inside another client's EXEC), refuse growing ones if nothing could be
    // evicted. Checked before MULTI queueing, as Redis does.
    // Not while a script is busy (as Redis): its worker holds every gate.
    if crate::evict::over_limit_fast(&server.config) && server.scripts.busy(server).is_none() {
        let oom = {
            let _gate = server.gates.read();
            crate::evict::perform(&server.keyspace, &server.config)
        };
        // Invalidations of keys just evicted go before this command's
        // reply, as in Redis, which evicts before it runs the command.
        if let Some(s) = client.pubsub.subscriber() {
            s.drain_into(&mut out.buf);
        }
        if oom {
            let queued_denyoom = entry.id == server.commands.exec_id
                && client.multi.as_ref().is_some_and(|m| m.denyoom);
            if queued_denyoom {
                tstats.rejected(entry.id);
                multi::abort_exec(server, client);
                reply_error(
                    server,
                    out,
                    &CmdError::coded(format!(
                        "EXECABORT Transaction discarded because of: {OOM_ERROR}"
                    )),
                );
                return;
            }
            // Inside MULTI, queueing itself grows memory: everything but
            // EXEC, DISCARD, QUIT and RESET is refused (as Redis).
            let queueing = client.multi.is_some() && !server.commands.oom_exempt_in_multi(entry.id);
            if cf & flags::DENYOOM != 0 || queueing {
                tstats.rejected(entry.id);
                flag_transaction(client);
                reply_error(server, out, &CmdError::coded(OOM_ERROR));
                return;
            }
        }
    }
    // Keys over a lowered tracking-table-max-keys are invalidated before
    // the command (after the OOM check, as Redis orders them); their pushes
    // go before its reply.
    if crate::tracking::Tracking::limit(&server.pubsub) {
        if let Some(s) = client.pubsub.subscriber() {
            s.drain_into(&mut out.buf);
        }
    }
    // A failing background save refuses writes (and PING) with MISCONF,
    // after the OOM check, as Redis orders them.
    if server.persist.writes_refused(server)
        && !client.replaying
        && (cf & flags::WRITE != 0 || entry.id == server.commands.ping_id)
    {
        tstats.rejected(entry.id);
        flag_transaction(client);
        reply_error(server, out, &CmdError::coded(crate::persist::save::MISCONF));
        return;
    }
    // min-replicas-to-write set: no replica can acknowledge a write (EXEC
    // counts as one when it has a write queued).
    // A read-only replica takes writes from its master only.
    let writes = !client.replaying
        && (cf & flags::WRITE != 0
            || (entry.id == server.commands.exec_id
                && client.multi.as_ref().is_some_and(|m| m.writes)));
    let refusal = if writes && server.config.no_good_replicas() {
        Some(NOREPLICAS)
    } else if writes && server.repl.read_only(server) {
        Some(READONLY_REPLICA)
    } else {
        None
    };
    // A replica whose link is down, with replica-serve-stale-data no,
    // answers only the commands flagged STALE (INFO, REPLICAOF...).
    let refusal = refusal.or_else(|| {
        let denystale = cf & flags::STALE == 0
            || (entry.id == server.commands.exec_id
                && client.multi.as_ref().is_some_and(|m| m.denystale));
        (denystale && !client.replaying && server.repl.stale(server)).then_some(MASTERDOWN)
    });
    if let Some(why) = refusal {
        tstats.rejected(entry.id);
        if entry.id == server.commands.exec_id {
            multi::abort_exec(server, client);
            let text = format!("EXECABORT Transaction discarded because of: {why}");
            reply_error(server, out, &CmdError::coded(text));
        } else {
            flag_transaction(client);
            reply_error(server, out, &CmdError::coded(why));
        }
        return;
    }
    // A RESP2 connection in Pub/Sub mode can only (un)subscribe, PING, QUIT
    // and RESET (RESP3 can interleave anything with its push frames).
    if client.resp == 2 && client.pubsub.active() {
        let top = server
            .commands
            .get(args.get(0))
            .map_or(usize::MAX, |t| t.id);
        if !server.commands.allowed_in_pubsub(top) {
            tstats.rejected(entry.id);
            flag_transaction(client);
            reply_error(
                server,
                out,
                &CmdError::err(format!(
                    "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    cmd.name
                )),
            );
            return;
        }
    }
    if let Some(m) = client.multi.as_mut() {
        if !server.commands.runs_in_multi(entry.id) {
            let f = cf;
            m.denyoom |= f & flags::DENYOOM != 0;
            m.writes |= f & flags::WRITE != 0;
            m.may_replicate |= f & (flags::WRITE | flags::MAY_REPLICATE) != 0;
            m.denystale |= f & flags::STALE == 0;
            client
                .info
                .last_cmd
                .store(entry.id, std::sync::atomic::Ordering::Relaxed);
            if cmd.has(flags::NO_MULTI) {
                tstats.rejected(entry.id);
                m.aborted = true;
                reply_error(
                    server,
                    out,
                    &CmdError::err("Command not allowed inside a transaction"),
                );
                return;
            }
            // A busy script refuses it before it is queued (Redis's
            // processCommand order), and the transaction will abort.
            if !cmd.has(flags::ALLOW_BUSY) {
                if let Some(busy) = server.scripts.busy(server) {
                    tstats.rejected(entry.id);
                    m.aborted = true;
                    reply_error(server, out, &CmdError::coded(busy));
                    return;
                }
            }
            let queued = crate::server::client::Queued::new(args);
            // What Redis's multiStateMemOverhead counts: the arguments.
            let bytes = queued.buf.len() + queued.ranges.len() * 16;
            m.queue.push(queued);
            use std::sync::atomic::Ordering::Relaxed;
            client.info.multi.store(m.queue.len() as i64, Relaxed);
            let before = client.info.multi_mem.fetch_add(bytes, Relaxed);
            // Checked each time the queue passes another 64 KB.
            if (before >> 16) != ((before + bytes) >> 16)
                && crate::server::client_evict::check(server)
                && client.info.killed.load(Relaxed)
            {
                // Evicted: no reply, as Redis frees the client.
                return;
            }
            out.simple("QUEUED");
            return;
        }
    }
    // The worker's gate, held while the command runs (see server::gate);
    // EXEC and scripts take every gate themselves. While a script has run
    // past busy-reply-threshold, commands answer BUSY (see script::admit).
    let _gate = if server.commands.takes_all_gates(entry.id, args) {
        // Not the load's own replay (DEBUG LOADAOF).
        let loading = (!client.replaying)
            .then(|| crate::script::loading_error(server, cmd))
            .flatten();
        if let Some(e) = loading {
            tstats.rejected(entry.id);
            if entry.id == server.commands.exec_id {
                multi::abort_exec(server, client);
            }
            reply_error(server, out, &e);
            return;
        }
        if let Some(busy) = server.scripts.busy(server) {
            tstats.rejected(entry.id);
            // A refused EXEC discards the transaction (Redis's rejectCommand).
            let e = if entry.id == server.commands.exec_id {
                multi::abort_exec(server, client);
                CmdError::coded(format!(
                    "EXECABORT Transaction discarded because of: {busy}"
                ))
            } else {
                CmdError::coded(busy)
            };
            reply_error(server, out, &e);
            return;
        }
        None
    } else {
        match crate::script::admit(server, cmd) {
            Ok(g) => g,
            Err(e) => {
                tstats.rejected(entry.id);
                flag_transaction(client);
                reply_error(server, out, &e);
                return;
            }
        }
    };
    execute(server, client, out, tstats, now, entry, args);
}

fn debug_allowed(server: &Server, client: &Client) -> bool {
    server.config.read(|c| {
        crate::config::protected_action_allowed(&c.enable_debug_command, client.info.addr.ip())
    })
}

/// The error for a DENYOOM command while over `maxmemory`.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
/// A command refused by a replica whose link is down (Redis's
/// `masterdownerr`).
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
/// A write to a read-only replica (Redis's `roslaveerr`).
pub const READONLY_REPLICA: &str = "READONLY You can't write against a read only replica.";
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// A command was rejected while queueing: the transaction will abort.
fn flag_transaction(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Run a resolved, checked request (dispatch, and EXEC for its queue).
pub fn execute(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    tstats: &ThreadStats,
    now: u64,
    entry: &TableEntry,
    args: Args<'_>,
) {
    let cmd = entry.cmd;
    let Some(handler) = cmd.handler else {
        // Containers always resolve to a subcommand above.
        reply_error(server, out, &unknown_command(args));
        return;
    };
    client
        .info
        .last_cmd
        .store(entry.id, std::sync::atomic::Ordering::Relaxed);
    let started = crate::util::ticks();
    let mut ctx = Ctx {
        server,
        client,
        out,
        now,
        cmd,
        tstats,
    };
    // What this command logs to the AOF (persist::aof::log).
    let scope = crate::persist::aof::log::Scope::begin(&server.aof.log);
    let tracking = server.pubsub.tracking.any();
    if tracking {
        crate::tracking::set_current(ctx.client.info.id, ctx.client.in_script);
    }
    // MONITOR: scripts (SKIP_MONITOR) show before the commands they run,
    // everything else once it ran (so EXEC follows its transaction).
    let monitoring = server.monitors.active();
    if monitoring && cmd.has(flags::SKIP_MONITOR) {
        crate::monitor::feed(server, ctx.client, cmd.name, args);
    }
    // CLIENT NO-TOUCH: nothing this command reads or writes is touched,
    // unless it is TOUCH itself (as Redis's lookupKey).
    let _no_touch =
        (ctx.client.no_touch && cmd.name != "touch").then(crate::keyspace::access::NoTouch::begin);
    let result = handler(&mut ctx, args);
    if tracking {
        crate::tracking::set_current(0, false);
    }
    // A writable replica expires the keys its own clients gave a TTL.
    if cmd.has(flags::WRITE) && !ctx.client.replaying && server.repl.is_replica() {
        server
            .repl
            .remember_written(server, ctx.client.db, cmd, args);
    }
    if ctx.client.pubsub.tracking.on {
        crate::commands::client::tracking_after(&mut ctx, args);
    }
    scope.end(ctx.client.db, Some(args));
    if monitoring && crate::monitor::shown(cmd) {
        crate::monitor::feed(server, ctx.client, cmd.name, args);
    }
    let ns = crate::util::ticks_to_ns(crate::util::ticks().wrapping_sub(started));
    if let Some(w) = &ctx.client.blocked {
        // Counted once it is unblocked (`unblocked`), as Redis does; its
        // permissions are checked again when it is served.
        let _ = w.call.set(crate::blocking::Call {
            user: ctx.client.user.clone(),
            id: entry.id,
            args: crate::server::client::Queued::new(args),
            ns,
        });
        latency_sample(server, cmd, ns / 1000, now);
    } else {
        tstats.called(entry.id, ns / 1000);
        observe(server, ctx.client, tstats, entry, args, ns, now);
    }
    if let Err(e) = result {
        tstats.failed(entry.id);
        reply_error(server, ctx.out, &e);
    }
}

/// Latency histogram, slow log and latency monitor for one executed command.
#[inline]
fn observe(
    server: &Server,
    client: &Client,
    tstats: &ThreadStats,
    entry: &TableEntry,
    args: Args<'_>,
    ns: u64,
    now: u64,
) {
    if server.config.latency_tracking() {
        tstats.hist.record(entry.id, ns);
    }
    slowlog(server, client, entry.cmd, args, ns / 1000, now);
    latency_sample(server, entry.cmd, ns / 1000, now);
}

/// A blocked command of `client` ended: count it, as Redis's
/// updateStatsOnUnblock (answered with an error: a failed call; refused by
/// the ACL when it would have been served: a rejected call, whose NOPERM
/// goes to `out` and to ACL LOG).
pub fn unblocked(
    server: &Server,
    client: &Client,
    tstats: &ThreadStats,
    (waiter, how): (&crate::blocking::Waiter, Unblocked),
    now: u64,
    out: &mut Reply,
) {
    let Some(call) = waiter.call.get() else {
        return;
    };
    let Some(entry) = server.commands.entries.get(call.id) else {
        return;
    };
    if let Unblocked::Denied(d) = how {
        // Redis's reprocessing of the command: NOPERM, ACL LOG, rejected.
        let args = call.args.args();
        out.error(&format!(
            "NOPERM {}",
            d.message(&call.user, entry.cmd.name, args, false)
        ));
        server.stats.count_error("NOPERM");
        acl_cmd::log_denied(
            server,
            client,
            entry,
            args,
            d,
            crate::acl::Context::Toplevel,
        );
        tstats.rejected(call.id);
        return;
    }
    tstats.called(call.id, call.ns / 1000);
    if how == Unblocked::Failed {
        tstats.failed(call.id);
    }
    if server.config.latency_tracking() {
        tstats.hist.record(call.id, call.ns);
    }
    slowlog(
        server,
        client,
        entry.cmd,
        call.args.args(),
        call.ns / 1000,
        now,
    );
}

/// How a blocked command ended, for its statistics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unblocked {
    Ok,
    /// Answered with an error (CLIENT UNBLOCK ERROR).
    Failed,
    /// Refused by the ACL when it would have been served.
    Denied(crate::acl::Denied),
}

/// The slow log entry of one command, if it took long enough.
#[inline(always)]
fn slowlog(server: &Server, client: &Client, cmd: &Command, args: Args<'_>, usec: u64, now: u64) {
    let slower_than = server.config.slowlog_slower_than();
    if slower_than >= 0 && usec as i64 >= slower_than && !cmd.has(flags::SKIP_SLOWLOG) {
        slowlog_push(server, client, cmd, args, usec, now);
    }
}

#[cold]
#[inline(never)]
fn slowlog_push(
    server: &Server,
    client: &Client,
    cmd: &Command,
    args: Args<'_>,
    usec: u64,
    now: u64,
) {
    let max_len = server.config.read(|c| c.slowlog_max_len) as usize;
    server.slowlog.push(
        args,
        crate::monitor::redacted(cmd.name, args),
        usec,
        now / 1000,
        client.info.addr.to_string(),
        client.info.name.lock().clone(),
        max_len,
    );
}

/// LATENCY monitor sample of one command.
#[inline]
fn latency_sample(server: &Server, cmd: &Command, usec: u64, now: u64) {
    let threshold = server.config.latency_threshold();
    if threshold > 0 && usec / 1000 >= threshold {
        let event = if cmd.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        server.latency.add(event, usec / 1000, now / 1000);
    }
}

/// Write an error reply and count it in `INFO errorstats`.
pub fn reply_error(server: &Server, out: &mut Reply, e: &CmdError) {
    let msg = e.message();
    server.stats.count_error(&msg);
    out.error(&msg);
}

#[cfg(test)]
mod tests {
    use super::CommandTable;

    #[test]
    fn lookup_is_case_insensitive_and_the_last_name_cache_is_exact() {
        let t = CommandTable::build();
        let get = t.get(b"get").map(|e| e.id);
        assert!(get.is_some());
        for name in [&b"GET"[..], b"gEt", b"get"] {
            assert_eq!(t.get(name).map(|e| e.id), get);
        }
        // Names near the cached one are looked up, not matched by it.
        assert!(t.get(b"ge").is_none());
        assert!(t.get(b"getx").is_none());
        assert_eq!(t.get(b"GETSET").map(|e| e.cmd.name), Some("getset"));
        assert_eq!(t.get(b"get").map(|e| e.id), get);
        assert!(t.get(b"").is_none());
        assert_eq!(
            t.get(b"ZREVRANGEBYSCORE").map(|e| e.cmd.name),
            Some("zrevrangebyscore")
        );
        assert_eq!(t.get(&[b'x'; 80]).map(|e| e.id), None);
        // A second table (another server in the same process) has its own.
        let t2 = CommandTable::build();
        assert_eq!(t2.get(b"set").map(|e| e.cmd.name), Some("set"));
        assert_eq!(t.get(b"set").map(|e| e.cmd.name), Some("set"));
    }
}
