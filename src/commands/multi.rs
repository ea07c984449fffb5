//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC, dispatch queues every command except the ones
//! [`CommandTable::runs_in_multi`](super::CommandTable::runs_in_multi) names,
//! answering `+QUEUED`; a command rejected while queueing (unknown, wrong
//! arity, NOAUTH, an ACL denial, NO_MULTI) marks the transaction aborted. EXEC takes every
//! worker's gate (see `server::gate`) so nothing else runs anywhere while the
//! queue runs, checks the watched keys, and runs the queue with blocking
//! commands answering at once. Blocked clients its writes made ready are
//! served by the connection right after EXEC returns.
//!
//! WATCH registers the client's dirty flag in the watched key's shard
//! (`keyspace::watch`) and remembers whether the key was live. EXEC fails if
//! the flag was set (a write, or a FLUSHDB/FLUSHALL/SWAPDB that changed the
//! key) or if a key that was live at WATCH is not any more (it expired,
//! whether or not it was reclaimed yet; deletions by commands set the flag).

use std::sync::atomic::Ordering::Relaxed;

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::server::client::{ClientInfo, MultiState};
use crate::server::Server;

pub const COMMANDS: &[Command] = &[
    Command::new("multi", 1, multi)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(acl::FAST | acl::TRANSACTION)
        .group("transactions")
        .doc("1.2.0", "O(1)", "Starts a transaction.", ""),
    Command::new("exec", 1, exec)
        .flags(NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG)
        .acl(acl::SLOW | acl::TRANSACTION)
        .group("transactions")
        .doc(
            "1.2.0",
            "Depends on commands in the transaction",
            "Executes all commands in a transaction.",
            "",
        ),
    Command::new("discard", 1, discard)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(acl::FAST | acl::TRANSACTION)
        .group("transactions")
        .doc(
            "2.0.0",
            "O(N), when N is the number of queued commands",
            "Discards a transaction.",
            "",
        ),
    Command::new("watch", -2, watch)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .keys(1, -1, 1)
        .acl(acl::FAST | acl::TRANSACTION)
        .group("transactions")
        .doc(
            "2.2.0",
            "O(1) for every key.",
            "Monitors changes to keys to determine the execution of a transaction.",
            "key [key ...]",
        ),
    Command::new("unwatch", 1, unwatch)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(acl::FAST | acl::TRANSACTION)
        .group("transactions")
        .doc(
            "2.2.0",
            "O(1)",
            "Forgets about watched keys of a transaction.",
            "",
        ),
];

fn multi(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.client.info.multi.store(0, Relaxed);
    ctx.client.info.multi_mem.store(0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    ctx.client.info.multi.store(-1, Relaxed);
    ctx.client.info.multi_mem.store(0, Relaxed);
    if m.aborted {
        unwatch_all(ctx.server, &ctx.client.info);
        return Err(CmdError::coded(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    // Nothing else runs anywhere from here until the gates drop.
    let gates = ctx.server.gates.exclusive();
    let changed = watched_changed(ctx.server, &ctx.client.info, ctx.now);
    unwatch_all(ctx.server, &ctx.client.info);
    if changed {
        drop(gates);
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(m.queue.len());
    // The queue is logged as one MULTI … EXEC record.
    crate::persist::aof::log::transaction();
    let deny = std::mem::replace(&mut ctx.client.deny_blocking, true);
    IN_EXEC.with(|e| e.set(true));
    for q in &m.queue {
        let args = q.args();
        match ctx.server.commands.resolve(args) {
            // Permissions may have changed since the command was queued.
            Ok(entry) => {
                if super::acl_cmd::permitted(ctx.server, ctx.client, ctx.out, entry, args, true) {
                    super::execute(
                        ctx.server, ctx.client, ctx.out, ctx.tstats, ctx.now, entry, args,
                    )
                }
            }
            // Resolved once already when queued; kept for completeness.
            Err(e) => super::reply_error(ctx.server, ctx.out, &e),
        }
    }
    IN_EXEC.with(|e| e.set(false));
    ctx.client.deny_blocking = deny;
    drop(gates);
    Ok(())
}

thread_local! {
    static IN_EXEC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is running an EXEC's queue (Redis's `in_exec`): a
/// background rewrite asked for there is "scheduled", to start once the
/// transaction is over.
pub fn in_exec() -> bool {
    IN_EXEC.with(|e| e.get())
}

/// EXEC refused before it ran (out of memory): the transaction is
/// discarded, its watches dropped.
pub fn abort_exec(server: &crate::server::Server, client: &mut crate::server::client::Client) {
    client.multi = None;
    client.info.multi.store(-1, Relaxed);
    client.info.multi_mem.store(0, Relaxed);
    unwatch_all(server, &client.info);
}

fn discard(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    ctx.client.info.multi.store(-1, Relaxed);
    ctx.client.info.multi_mem.store(0, Relaxed);
    unwatch_all(ctx.server, &ctx.client.info);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let info = &ctx.client.info;
    let db = ctx.db();
    let mut watched = info.watched.lock();
    for key in args.iter().skip(1) {
        if watched.iter().any(|(d, k, _)| *d == db && &**k == key) {
            continue;
        }
        let mut shard = ctx.server.keyspace.lock(key);
        shard.watches.add(db, key, info.id, &info.watch_dirty);
        let live = shard.is_live(db, key, ctx.now);
        drop(shard);
        watched.push((db, key.into(), live));
        info.watch_mem.fetch_add(watch_cost(key), Relaxed);
    }
    ctx.out.ok();
    Ok(())
}

/// What watching `key` costs the client, for `tot-mem` and
/// maxmemory-clients (as Redis counts each watched key's list node and
/// entry): its entry and copy of the key, and its watcher entry in the
/// shard's table.
fn watch_cost(key: &[u8]) -> usize {
    std::mem::size_of::<crate::server::client::WatchedKey>()
        + key.len()
        + crate::keyspace::watch::WATCHER_BYTES
}

fn unwatch(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    unwatch_all(ctx.server, &ctx.client.info);
    ctx.out.ok();
    Ok(())
}

/// Whether a watched key changed since WATCH: flagged by a write, or live
/// then and not now (expired).
fn watched_changed(server: &Server, info: &ClientInfo, now: u64) -> bool {
    if info.watch_dirty.load(Relaxed) {
        return true;
    }
    let watched = info.watched.lock();
    watched
        .iter()
        .any(|(db, key, live)| *live && !server.keyspace.lock(key).is_live(*db, key, now))
}

/// Forget every key the client watches (EXEC, DISCARD, UNWATCH, RESET,
/// disconnect).
pub fn unwatch_all(server: &Server, info: &ClientInfo) {
    let keys = std::mem::take(&mut *info.watched.lock());
    info.watch_mem.store(0, Relaxed);
    for (db, key, _) in &keys {
        server.keyspace.lock(key).watches.remove(*db, key, info.id);
    }
    info.watch_dirty.store(false, Relaxed);
}

/// End any transaction and watch of the client (RESET).
pub fn reset(ctx: &mut Ctx<'_>) {
    ctx.client.multi = None;
    ctx.client.info.multi.store(-1, Relaxed);
    ctx.client.info.multi_mem.store(0, Relaxed);
    unwatch_all(ctx.server, &ctx.client.info);
}
