//! Sorted-set commands. The type itself is `types::zset`; this family is
//! split by concern: members and scores here, ranges in `range.rs`,
//! union/intersection/difference in `setops.rs`, pops (blocking too) in
//! `pop.rs`.

mod pop;
mod range;
mod setops;

pub use pop::serve_blocked_pop;

use super::args::{int, is};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Shard, NO_EXPIRE};
use crate::num::string2d;
use crate::protocol::{Args, Reply};
use crate::types::zset::ZSet;
use crate::types::Value;

const Z: u64 = acl::SORTEDSET;

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, zadd)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]"),
    Command::new("zincrby", 4, zincrby)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", "Increments the score of a member in a sorted set.", "key increment member"),
    Command::new("zrem", -3, zrem)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "key member [member ...]"),
    Command::new("zcard", 2, zcard)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(1)", "Returns the number of members in a sorted set.", "key"),
    Command::new("zscore", 3, zscore)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(1)", "Returns the score of a member in a sorted set.", "key member"),
    Command::new("zmscore", -3, zmscore)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(N) where N is the number of members being requested.", "Returns the score of one or more members in a sorted set.", "key member [member ...]"),
    Command::new("zrank", -3, zrank)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(log(N))", "Returns the index of a member in a sorted set ordered by ascending scores.", "key member [WITHSCORE]"),
    Command::new("zrevrank", -3, zrevrank)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(log(N))", "Returns the index of a member in a sorted set ordered by descending scores.", "key member [WITHSCORE]"),
    Command::new("zrandmember", -2, zrandmember)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(N) where N is the number of members returned", "Returns one or more random members from a sorted set.", "key [count [WITHSCORES]]"),
    Command::new("zscan", -3, zscan)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Iterates over members and scores of a sorted set.", "key cursor [MATCH pattern] [COUNT count]"),
];

/// Every sorted-set command, for the command table.
pub fn commands() -> Vec<&'static [Command]> {
    vec![COMMANDS, range::COMMANDS, setops::COMMANDS, pop::COMMANDS]
}

/// The sorted set at `key` for reading: None if missing, WRONGTYPE if the key
/// holds another type.
#[inline]
pub(crate) fn read<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut ZSet>, CmdError> {
    shard.read_as(db, key, now)
}

/// As [`read`], for a write (no hit/miss counting).
#[inline]
pub(crate) fn write<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut ZSet>, CmdError> {
    shard.write_as(db, key, now)
}

/// Delete `key` if its set became empty, and record the change.
/// `event` is the command's keyspace notification (raised first).
pub(crate) fn after_removal(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now_empty: bool,
    event: &str,
) {
    shard.notify(crate::notify::ZSET, event, db, key);
    shard.removed_from(db, key, now_empty);
}

/// Store `z` at `key` for a *STORE command; answers the stored length.
/// A non-empty result raises `event`.
pub(crate) fn store(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    z: ZSet,
    now: u64,
    event: &str,
) -> usize {
    let n = z.len();
    shard.store_result(db, key, Value::ZSet(Box::new(z)), n == 0, now);
    if n > 0 {
        shard.notify(crate::notify::ZSET, event, db, key);
    }
    n
}

/// One member of a reply, with its score when asked: flat in RESP2, a
/// `[member, score]` pair in RESP3.
#[inline]
pub(crate) fn emit(out: &mut Reply, m: &[u8], score: f64, withscores: bool) {
    if withscores && out.resp3 {
        out.array(2);
    }
    out.bulk(m);
    if withscores {
        out.double(score);
    }
}

/// Array header for `n` members (doubled for RESP2 WITHSCORES).
#[inline]
pub(crate) fn emit_len(out: &mut Reply, n: usize, withscores: bool) {
    out.array(if withscores && !out.resp3 { 2 * n } else { n });
}

/// A score argument (ZADD, ZINCRBY).
fn score_arg(arg: &[u8]) -> Result<f64, CmdError> {
    string2d(arg).ok_or(CmdError::NotFloat)
}

/// ZADD's options.
#[derive(Default, Clone, Copy)]
pub(crate) struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What adding one member did.
enum Added {
    New,
    Updated,
    /// Present with the same score (counts as processed).
    Same,
    /// Skipped by NX/XX/GT/LT.
    Skipped,
}

/// Redis's `zsetAdd`: add or update `m`, answering what happened and the
/// resulting score; Err if INCR produced NaN.
fn add_one(
    z: &mut ZSet,
    m: &[u8],
    score: f64,
    f: AddFlags,
    lim: crate::types::zset::Limits,
) -> Result<(Added, f64), CmdError> {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return Ok((Added::Skipped, cur));
            }
            let mut new = score;
            if f.incr {
                new += cur;
                if new.is_nan() {
                    return Err(CmdError::err("resulting score is not a number (NaN)"));
                }
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok((Added::Skipped, cur));
            }
            if new != cur {
                z.set_score(m, new);
                Ok((Added::Updated, new))
            } else {
                Ok((Added::Same, new))
            }
        }
        None if f.xx => Ok((Added::Skipped, score)),
        None => {
            z.insert(m, score, lim);
            Ok((Added::New, score))
        }
    }
}

fn zadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut f = AddFlags::default();
    let mut ch = false;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nx") {
            f.nx = true;
        } else if is(a, "xx") {
            f.xx = true;
        } else if is(a, "ch") {
            ch = true;
        } else if is(a, "incr") {
            f.incr = true;
        } else if is(a, "gt") {
            f.gt = true;
        } else if is(a, "lt") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = args.len() - i;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest / 2;
    let mut scores = Vec::with_capacity(pairs);
    for p in 0..pairs {
        scores.push(score_arg(&args[i + 2 * p])?);
    }
    let members = |p: usize| args.get(i + 2 * p + 1);
    add_generic(ctx, &args[1], &scores, members, f, ch)
}

fn zincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let score = score_arg(&args[2])?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_generic(ctx, &args[1], &[score], |_| args.get(3), f, false)
}

/// Add `scores[i]` for `member(i)` to the set at `key` (ZADD, ZINCRBY,
/// GEOADD), replying as ZADD does.
pub(crate) fn add_generic<'a>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    scores: &[f64],
    member: impl Fn(usize) -> &'a [u8],
    f: AddFlags,
    ch: bool,
) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let lim = ctx.server.config.zset_limits();
    let mut shard = ctx.server.keyspace.lock(key);
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last = 0.0;
    let mut created = None;
    let z = match write(&mut shard, db, key, now)? {
        Some(z) => {
            z.reserve(scores.len(), lim);
            z
        }
        None if f.xx => {
            // No key and XX: nothing to do.
            if f.incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        None => &mut *created.insert(ZSet::with_hint(scores.len(), member(0).len(), lim)),
    };
    let mut failed = None;
    for (p, &score) in scores.iter().enumerate() {
        match add_one(z, member(p), score, f, lim) {
            Ok((what, s)) => {
                match what {
                    Added::New => added += 1,
                    Added::Updated => updated += 1,
                    Added::Same => {}
                    Added::Skipped => continue,
                }
                processed += 1;
                last = s;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if let Some(z) = created.filter(|z| !z.is_empty()) {
        shard
            .db(db)
            .insert(key, Value::ZSet(Box::new(z)), NO_EXPIRE, now);
    }
    if added + updated > 0 {
        shard.modified(db, key);
        let event = if f.incr { "zincr" } else { "zadd" };
        shard.notify(crate::notify::ZSET, event, db, key);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if f.incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(z) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in args.iter().skip(2) {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let empty = z.is_empty();
    if deleted > 0 {
        after_removal(&mut shard, db, key, empty, "zrem");
    }
    ctx.out.int(deleted);
    Ok(())
}

fn zcard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = read(&mut shard, db, key, now)?.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    match read(&mut shard, db, key, now)?.and_then(|z| z.score(&args[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let z = read(&mut shard, db, key, now)?;
    ctx.out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx<'_>, args: Args<'_>, rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::WrongArity(ctx.cmd.name.to_string()));
    }
    let withscore = args.len() == 4;
    if withscore && !is(&args[3], "withscore") {
        return Err(CmdError::Syntax);
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let found = read(&mut shard, db, key, now)?.and_then(|z| {
        let len = z.len();
        z.rank(&args[2])
            .map(|(r, s)| (if rev { len - 1 - r } else { r }, s))
    });
    match found {
        Some((r, s)) => {
            if withscore {
                ctx.out.array(2);
            }
            ctx.out.int(r as i64);
            if withscore {
                ctx.out.double(s);
            }
        }
        None if withscore => ctx.out.null_array(),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// Largest reply ZRANDMEMBER with a negative count will build; beyond it the
/// count is refused (Redis would try, and exhaust memory), unless an output
/// buffer limit stops the reply (server::obuf::reply_cap).
const RANDMEMBER_MAX: u64 = 1 << 26;

fn zrandmember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    if args.len() == 2 {
        let mut shard = ctx.server.keyspace.lock(key);
        match read(&mut shard, db, key, now)? {
            Some(z) => {
                let (m, _) = z.get(crate::util::rand_below(z.len()));
                ctx.out.bulk(m);
            }
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = int(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withscores")) {
        return Err(CmdError::Syntax);
    }
    let withscores = args.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(z) = read(&mut shard, db, key, now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let server = ctx.server;
    let out = &mut *ctx.out;
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let size = z.len();
    if !uniq || count == 1 {
        // Under an output limit the reply stops at it (server::obuf).
        let cap = crate::server::obuf::reply_cap(server, ctx.client);
        if count > RANDMEMBER_MAX && cap.is_none() {
            return Err(CmdError::err("value is out of range"));
        }
        let cap = cap.unwrap_or(usize::MAX);
        emit_len(out, count as usize, withscores);
        for _ in 0..count {
            if out.len() >= cap {
                ctx.client.drop_output = true;
                break;
            }
            let (m, s) = z.get(crate::util::rand_below(size));
            emit(out, m, s, withscores);
        }
        return Ok(());
    }
    if count as usize >= size {
        // The whole set, highest score first (Redis's set-iterator order).
        emit_len(out, size, withscores);
        z.walk(0, size, true, |m, s| emit(out, m, s, withscores));
        return Ok(());
    }
    // `count` distinct ranks, in random order: a partial shuffle when the
    // sample is a large part of the set, rejection sampling otherwise.
    let count = count as usize;
    let ranks: Vec<usize> = if count * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + crate::util::rand_below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = crate::util::rand_below(size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    emit_len(out, count, withscores);
    for r in ranks {
        let (m, s) = z.get(r);
        emit(out, m, s, withscores);
    }
    Ok(())
}

fn zscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = super::args::scan_cursor(&args[2])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(z) = read(&mut shard, db, key, now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let super::args::ScanOpts { pattern, count, .. } = super::args::scan_opts(&args, 3, false)?;
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let keep = |m: &[u8]| pattern.is_none_or(|p| crate::glob::matches(p, m, false));
    let next = match &*z {
        // A packed set answers whole, in one call, as Redis does.
        ZSet::Packed(p) => {
            found.extend(
                p.iter()
                    .filter(|e| keep(e.member))
                    .map(|e| (e.member, e.score)),
            );
            0
        }
        ZSet::Big(b) => b.scan(cursor, count, |m, s| {
            if keep(m) {
                found.push((m, s));
            }
        }),
    };
    let out = &mut *ctx.out;
    out.array(2);
    let mut buf = itoa::Buffer::new();
    out.bulk(buf.format(next).as_bytes());
    // Scores are bulk strings even in RESP3, printed as Redis prints them
    // for each encoding: shortest form from a listpack, `%.17Lg` otherwise.
    let packed = matches!(&*z, ZSet::Packed(_));
    out.array(found.len() * 2);
    for (m, s) in found {
        out.bulk(m);
        if packed {
            let mut t = [0u8; 32];
            out.bulk(crate::protocol::reply::format_double(s, &mut t));
        } else {
            let mut t = [0u8; 64];
            out.bulk(crate::num::fmt_g17(s, &mut t));
        }
    }
    Ok(())
}
