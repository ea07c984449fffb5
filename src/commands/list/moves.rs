//! LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH
//! BLMPOP. A blocking command that finds data runs exactly like its
//! non-blocking form; otherwise it registers a waiter (`crate::blocking`),
//! and whoever next writes one of its keys serves it with the same
//! operations through [`serve_blocked_pop`] / [`serve_blocked_move`].

use super::{after_removal, emit_pop, limit, pop_event, push_into, write, L};
use crate::blocking::{self, BlockOp};
use crate::commands::args::{is, mpop, numkeys_positions, timeout};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Locked, Shard};
use crate::protocol::{Args, Reply};
use crate::server::Server;
use crate::types::list::{entry_size, End, NodeLimit};

pub const COMMANDS: &[Command] = &[
    Command::new("lmove", 5, lmove)
        .flags(WRITE | DENYOOM)
        .keys(1, 2, 1)
        .acl(L)
        .group("list")
        .doc("6.2.0", "O(1)", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "source destination <LEFT | RIGHT> <LEFT | RIGHT>"),
    Command::new("rpoplpush", 3, rpoplpush)
        .flags(WRITE | DENYOOM)
        .keys(1, 2, 1)
        .acl(L)
        .group("list")
        .doc("1.2.0", "O(1)", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "source destination"),
    Command::new("lmpop", -4, lmpop)
        .flags(WRITE)
        .keys_fn(keys_lmpop)
        .acl(L)
        .group("list")
        .doc("7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "numkeys key [key ...] <LEFT | RIGHT> [COUNT count]"),
    Command::new("blpop", -3, blpop)
        .flags(WRITE | BLOCKING)
        .keys(1, -2, 1)
        .acl(L)
        .group("list")
        .doc("2.0.0", "O(N) where N is the number of provided keys.", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout"),
    Command::new("brpop", -3, brpop)
        .flags(WRITE | BLOCKING)
        .keys(1, -2, 1)
        .acl(L)
        .group("list")
        .doc("2.0.0", "O(N) where N is the number of provided keys.", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout"),
    Command::new("brpoplpush", 4, brpoplpush)
        .flags(WRITE | DENYOOM | BLOCKING)
        .keys(1, 2, 1)
        .acl(L)
        .group("list")
        .doc("2.2.0", "O(1)", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "source destination timeout"),
    Command::new("blmove", 6, blmove)
        .flags(WRITE | DENYOOM | BLOCKING)
        .keys(1, 2, 1)
        .acl(L)
        .group("list")
        .doc("6.2.0", "O(1)", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout"),
    Command::new("blmpop", -5, blmpop)
        .flags(WRITE | BLOCKING)
        .keys_fn(keys_blmpop)
        .acl(L)
        .group("list")
        .doc("7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]"),
];

fn keys_lmpop(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 1)
}

fn keys_blmpop(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 2)
}

/// `LEFT` or `RIGHT`.
fn end_arg(arg: &[u8]) -> Result<End, CmdError> {
    if is(arg, "left") {
        Ok(End::Left)
    } else if is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Move one element from `from` of `src` to `to` of `dst`, both locked in
/// `acc`. None when `src` does not exist; WRONGTYPE (and nothing moved) when
/// either key holds another type. A list moved onto itself rotates in place
/// and keeps its TTL.
pub(crate) fn move_one(
    acc: &mut dyn Locked,
    db: usize,
    src: &[u8],
    dst: &[u8],
    (from, to): (End, End),
    now: u64,
    lim: NodeLimit,
) -> Result<Option<Vec<u8>>, CmdError> {
    if write(acc.shard_for(src), db, src, now)?.is_none() {
        return Ok(None);
    }
    if src != dst {
        write(acc.shard_for(dst), db, dst, now)?;
    }
    let shard = acc.shard_for(src);
    let Some(l) = write(shard, db, src, now)? else {
        return Ok(None);
    };
    let Some(v) = l.pop(from) else {
        return Ok(None);
    };
    if src == dst {
        l.grow_check(1, entry_size(v.len()), lim);
        l.push(to, &v, lim);
        // Redis runs its after-pop shrinking check here too.
        l.shrink_check(lim);
        shard.modified(db, src);
        let push = match to {
            End::Left => "lpush",
            End::Right => "rpush",
        };
        shard.notify(crate::notify::LIST, push, db, src);
        shard.notify(crate::notify::LIST, pop_event(from), db, src);
        return Ok(Some(v));
    }
    // As Redis: the push's event comes before the pop's (and `del`).
    push_into(
        acc.shard_for(dst),
        db,
        dst,
        now,
        to,
        std::iter::once(&v[..]),
        false,
        lim,
    )?;
    after_removal(acc.shard_for(src), db, src, now, lim, pop_event(from));
    // Two keys changed, one change counted (`rdb_changes_since_last_save`),
    // as Redis's lmoveGenericCommand counts it.
    let dirty = &mut acc.shard_for(dst).stats.dirty;
    *dirty = dirty.saturating_sub(1);
    Ok(Some(v))
}

fn lmove_generic(ctx: &mut Ctx<'_>, args: Args<'_>, ends: (End, End)) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let (src, dst) = (&args[1], &args[2]);
    let lim = limit(ctx.server);
    let mut ml = ctx.server.keyspace.lock_keys([src, dst]);
    match move_one(&mut ml, db, src, dst, ends, now, lim)? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lmove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let ends = (end_arg(&args[3])?, end_arg(&args[4])?);
    lmove_generic(ctx, args, ends)
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    lmove_generic(ctx, args, (End::Right, End::Left))
}

/// BLMOVE and BRPOPLPUSH (served at once or later) are propagated as the
/// LMOVE and RPOPLPUSH they did, as Redis rewrites them: BLMOVE's
/// wherefrom and whereto (`sides`) as the client wrote them.
fn propagate_move(rpoplpush: bool, src: &[u8], dst: &[u8], sides: [&[u8]; 2]) {
    if rpoplpush {
        crate::persist::aof::propagate_instead([&b"RPOPLPUSH"[..], src, dst]);
    } else {
        crate::persist::aof::propagate_instead([&b"LMOVE"[..], src, dst, sides[0], sides[1]]);
    }
}

/// BLMOVE/BRPOPLPUSH: move now if the source has elements, else block.
fn blmove_generic(ctx: &mut Ctx<'_>, args: Args<'_>, ends: (End, End), t: u64) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let (src, dst) = (&args[1], &args[2]);
    let lim = limit(ctx.server);
    let server = ctx.server;
    let mut ml = server.keyspace.lock_keys([src, dst]);
    let rpoplpush = ctx.cmd.name == "brpoplpush";
    let sides: [&[u8]; 2] = if rpoplpush {
        [b"", b""]
    } else {
        [&args[3], &args[4]]
    };
    if let Some(v) = move_one(&mut ml, db, src, dst, ends, now, lim)? {
        propagate_move(rpoplpush, src, dst, sides);
        ctx.out.bulk(&v);
        return Ok(());
    }
    let op = BlockOp::ListMove {
        from: ends.0,
        to: ends.1,
        dst: dst.into(),
        rpoplpush,
        sides: Box::new(sides.map(Box::from)),
    };
    blocking::block(ctx, &mut ml, &[src], op, t);
    Ok(())
}

fn blmove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let ends = (end_arg(&args[3])?, end_arg(&args[4])?);
    let t = timeout(&args[5])?;
    blmove_generic(ctx, args, ends, t)
}

fn brpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let t = timeout(&args[3])?;
    blmove_generic(ctx, args, (End::Right, End::Left), t)
}

/// Pop from the first of `keys` that has elements: `[key, element]` when
/// `count` is None (BLPOP/BRPOP), `[key, [elements…]]` otherwise. False when
/// none has any; WRONGTYPE stops at the first key of another type.
fn pop_first(
    server: &Server,
    ml: &mut crate::keyspace::MultiLock<'_>,
    db: usize,
    keys: &[&[u8]],
    now: u64,
    how: (End, Option<usize>),
    out: &mut Reply,
) -> Result<bool, CmdError> {
    for k in keys {
        if write(ml.shard(k), db, k, now)?.is_some() {
            pop_reply(server, ml.shard(k), db, k, now, how, out);
            return Ok(true);
        }
    }
    Ok(false)
}

/// Pop from the list at `key` (known to exist) and reply with the key.
fn pop_reply(
    server: &Server,
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    (end, count): (End, Option<usize>),
    out: &mut Reply,
) {
    let lim = limit(server);
    let Ok(Some(l)) = write(shard, db, key, now) else {
        return;
    };
    out.array(2);
    out.bulk(key);
    // BLPOP/BRPOP/BLMPOP/LMPOP are logged as the pop they did.
    let pop: &[u8] = match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    };
    match count {
        None => crate::persist::aof::propagate_instead([pop, key]),
        Some(c) => {
            // The count actually popped, as Redis logs it.
            let mut n = itoa::Buffer::new();
            let c = c.min(l.len());
            crate::persist::aof::propagate_instead([pop, key, n.format(c).as_bytes()]);
        }
    }
    match count {
        None => match l.pop(end) {
            Some(v) => out.bulk(&v),
            None => out.null(),
        },
        Some(c) => emit_pop(l, end, c, out),
    }
    after_removal(shard, db, key, now, lim, pop_event(end));
}

fn lmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (keys, right, count) = mpop(&args, 1, "left", "right")?;
    let end = if right { End::Right } else { End::Left };
    let (db, now, server) = (ctx.db(), ctx.now, ctx.server);
    let mut ml = server.keyspace.lock_keys(keys.iter().copied());
    if !pop_first(server, &mut ml, db, &keys, now, (end, Some(count)), ctx.out)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// BLPOP/BRPOP/BLMPOP: pop now if a key has elements, else block.
fn bpop_generic(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    timeout_arg: &[u8],
    end: End,
    count: Option<usize>,
) -> CmdResult {
    let t = timeout(timeout_arg)?;
    let (db, now, server) = (ctx.db(), ctx.now, ctx.server);
    let mut ml = server.keyspace.lock_keys(keys.iter().copied());
    if pop_first(server, &mut ml, db, keys, now, (end, count), ctx.out)? {
        return Ok(());
    }
    blocking::block(ctx, &mut ml, keys, BlockOp::ListPop { end, count }, t);
    Ok(())
}

fn blpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    bpop_generic(ctx, &keys, &args[args.len() - 1], End::Left, None)
}

fn brpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    bpop_generic(ctx, &keys, &args[args.len() - 1], End::Right, None)
}

fn blmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (keys, right, count) = mpop(&args, 2, "left", "right")?;
    let end = if right { End::Right } else { End::Left };
    bpop_generic(ctx, &keys, &args[1], end, Some(count))
}

/// Serve a client blocked in BLPOP/BRPOP (`count: None`) or BLMPOP on `key`,
/// which just changed. False if the key has no list for it.
#[allow(clippy::too_many_arguments)]
pub fn serve_blocked_pop(
    server: &Server,
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    end: End,
    count: Option<usize>,
    out: &mut Reply,
) -> bool {
    if !matches!(write(shard, db, key, now), Ok(Some(_))) {
        return false;
    }
    pop_reply(server, shard, db, key, now, (end, count), out);
    true
}

/// Serve a client blocked in BLMOVE/BRPOPLPUSH on `src`. False if `src` has
/// no list; a destination of another type ends the wait with WRONGTYPE, as
/// Redis's re-run of the command would.
#[allow(clippy::too_many_arguments)]
pub fn serve_blocked_move(
    server: &Server,
    acc: &mut dyn Locked,
    db: usize,
    (src, dst): (&[u8], &[u8]),
    now: u64,
    (from, to): (End, End),
    (rpoplpush, sides): (bool, [&[u8]; 2]),
    out: &mut Reply,
) -> bool {
    if !matches!(write(acc.shard_for(src), db, src, now), Ok(Some(_))) {
        return false;
    }
    match move_one(acc, db, src, dst, (from, to), now, limit(server)) {
        Ok(Some(v)) => {
            propagate_move(rpoplpush, src, dst, sides);
            out.bulk(&v)
        }
        Ok(None) => return false,
        Err(e) => out.error(&e.message()),
    }
    true
}
