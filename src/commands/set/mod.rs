//! Set commands. The type itself is `types::set`; this family is split by
//! concern: members here, random members (SPOP, SRANDMEMBER) in
//! `random.rs`, intersection/union/difference (and SMEMBERS, which Redis
//! answers as the intersection of one set) in `ops.rs`.

mod ops;
mod random;

use super::args::{scan_cursor, scan_opts, ScanOpts};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Shard, NO_EXPIRE};
use crate::protocol::{Args, Reply};
use crate::types::set::{Member, Set};
use crate::types::Value;

const S: u64 = acl::SET;

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, sadd)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Adds one or more members to a set. Creates the key if it doesn't exist.", "key member [member ...]"),
    Command::new("srem", -3, srem)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the number of members to be removed.", "Removes one or more members from a set. Deletes the set if the last member was removed.", "key member [member ...]"),
    Command::new("scard", 2, scard)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(1)", "Returns the number of members in a set.", "key"),
    Command::new("sismember", 3, sismember)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(1)", "Determines whether a member belongs to a set.", "key member"),
    Command::new("smismember", -3, smismember)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("6.2.0", "O(N) where N is the number of elements being checked for membership", "Determines whether multiple members belong to a set.", "key member [member ...]"),
    Command::new("smove", 4, smove)
        .flags(WRITE | FAST)
        .keys(1, 2, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(1)", "Moves a member from one set to another.", "source destination member"),
    Command::new("sscan", -3, sscan)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Iterates over members of a set.", "key cursor [MATCH pattern] [COUNT count]"),
];

/// Every set command, for the command table.
pub fn commands() -> Vec<&'static [Command]> {
    vec![COMMANDS, random::COMMANDS, ops::COMMANDS]
}

/// The set at `key` for reading: None if missing, WRONGTYPE if the key holds
/// another type.
#[inline]
pub(crate) fn read<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut Set>, CmdError> {
    shard.read_as(db, key, now)
}

/// As [`read`], for a write (no hit/miss counting).
#[inline]
pub(crate) fn write<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut Set>, CmdError> {
    shard.write_as(db, key, now)
}

/// After members left the set at `key`: raise `event`, delete the key if
/// the set became empty, and record the change.
fn after_removal(shard: &mut Shard, db: usize, key: &[u8], now_empty: bool, event: &str) {
    shard.notify(crate::notify::SET, event, db, key);
    shard.removed_from(db, key, now_empty);
}

/// Store `s` at `key` for a *STORE command (raising `event`); answers the
/// stored length.
fn store(shard: &mut Shard, db: usize, key: &[u8], s: Set, now: u64, event: &str) -> usize {
    let n = s.len();
    shard.store_result(db, key, Value::Set(Box::new(s)), n == 0, now);
    if n > 0 {
        shard.notify(crate::notify::SET, event, db, key);
    }
    n
}

/// One member of a reply, as a bulk string.
#[inline]
fn emit(out: &mut Reply, m: Member<'_>) {
    match m {
        Member::Str(s) => out.bulk(s),
        Member::Int(n) => out.bulk_int(n),
    }
}

fn sadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = ctx.server.config.set_limits();
    let hint = args.len() - 2;
    let mut shard = ctx.server.keyspace.lock(key);
    let mut created = None;
    let s = match write(&mut shard, db, key, now)? {
        Some(s) => {
            s.reserve(hint, lim);
            s
        }
        None => &mut *created.insert(Set::create(&args[2], hint, lim)),
    };
    let mut added = 0;
    for m in args.iter().skip(2) {
        if s.add(m, lim) {
            added += 1;
        }
    }
    if let Some(s) = created {
        shard
            .db(db)
            .insert(key, Value::Set(Box::new(s)), NO_EXPIRE, now);
    }
    if added > 0 {
        shard.modified(db, key);
        shard.notify(crate::notify::SET, "sadd", db, key);
    }
    ctx.out.int(added);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in args.iter().skip(2) {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    let empty = s.is_empty();
    if deleted > 0 {
        after_removal(&mut shard, db, key, empty, "srem");
    }
    ctx.out.int(deleted);
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = read(&mut shard, db, key, now)?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let found = read(&mut shard, db, key, now)?.is_some_and(|s| s.contains(&args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let s = read(&mut shard, db, key, now)?;
    ctx.out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        let found = s.as_ref().is_some_and(|s| s.contains(m));
        ctx.out.int(found as i64);
    }
    Ok(())
}

/// SMOVE locks both keys' shards together, so the move is atomic even when
/// they live in different shards.
fn smove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let (src, dst, m) = (args.get(1), args.get(2), args.get(3));
    let lim = ctx.server.config.set_limits();
    let mut ml = ctx.server.keyspace.lock_keys([src, dst]);
    // Look both up first (expiring them), as Redis does, then check types.
    let src_is_set = ml
        .shard(src)
        .write(db, src, now)
        .map(|e| matches!(e.value, Value::Set(_)));
    let dst_is_set = ml
        .shard(dst)
        .write(db, dst, now)
        .map(|e| matches!(e.value, Value::Set(_)));
    match src_is_set {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    if dst_is_set == Some(false) {
        return Err(CmdError::WrongType);
    }
    let shard = ml.shard(src);
    let Ok(Some(from)) = write(shard, db, src, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    if src == dst {
        let found = from.contains(m);
        ctx.out.int(found as i64);
        return Ok(());
    }
    if !from.remove(m) {
        ctx.out.int(0);
        return Ok(());
    }
    let empty = from.is_empty();
    after_removal(shard, db, src, empty, "srem");
    let shard = ml.shard(dst);
    let added = match write(shard, db, dst, now) {
        Ok(Some(to)) => to.add(m, lim),
        _ => {
            let mut to = Set::create(m, 1, lim);
            to.add(m, lim);
            shard
                .db(db)
                .insert(dst, Value::Set(Box::new(to)), NO_EXPIRE, now);
            true
        }
    };
    if added {
        shard.modified(db, dst);
        shard.notify(crate::notify::SET, "sadd", db, dst);
    }
    ctx.out.int(1);
    Ok(())
}

fn sscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = scan_cursor(&args[2])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = read(&mut shard, db, key, now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let ScanOpts { pattern, count, .. } = scan_opts(&args, 3, false)?;
    let keep = |m: &[u8]| pattern.is_none_or(|p| crate::glob::matches(p, m, false));
    let mut found: Vec<Member<'_>> = Vec::new();
    let next = match &*s {
        // Compact encodings answer whole, in one call, as Redis does.
        Set::Ints(_) | Set::Packed(_) => {
            found.extend(s.iter().filter(|m| m.with_bytes(keep)));
            0
        }
        Set::Hash(b) => b.scan(cursor, count, |m| {
            if keep(m) {
                found.push(Member::Str(m));
            }
        }),
    };
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(found.len());
    for m in found {
        emit(out, m);
    }
    Ok(())
}
