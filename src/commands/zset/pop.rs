//! Pops: ZPOPMIN ZPOPMAX ZMPOP and the blocking BZPOPMIN BZPOPMAX BZMPOP.

use super::setops::numkeys_positions;
use super::{after_removal, write, Z};
use crate::blocking::{self, BlockOp};
use crate::commands::args::{positive, timeout, MUST_BE_POSITIVE};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Shard;
use crate::protocol::{Args, Reply};

pub const COMMANDS: &[Command] = &[
    Command::new("zpopmin", -2, zpopmin)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "key [count]"),
    Command::new("zpopmax", -2, zpopmax)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "key [count]"),
    Command::new("zmpop", -4, zmpop)
        .flags(WRITE)
        .keys_fn(keys_zmpop)
        .acl(Z)
        .group("sorted-set")
        .doc("7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "numkeys key [key ...] <MIN | MAX> [COUNT count]"),
    Command::new("bzpopmin", -3, bzpopmin)
        .flags(WRITE | FAST | BLOCKING)
        .keys(1, -2, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "key [key ...] timeout"),
    Command::new("bzpopmax", -3, bzpopmax)
        .flags(WRITE | FAST | BLOCKING)
        .keys(1, -2, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "key [key ...] timeout"),
    Command::new("bzmpop", -5, bzmpop)
        .flags(WRITE | BLOCKING)
        .keys_fn(keys_bzmpop)
        .acl(Z)
        .group("sorted-set")
        .doc("7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "timeout numkeys key [key ...] <MIN | MAX> [COUNT count]"),
];

fn keys_zmpop(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 1)
}

fn keys_bzmpop(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 2)
}

/// Reply shapes of the pop family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `[m1, s1, m2, s2…]`: ZPOPMIN/MAX in RESP2 or without a count.
    Flat,
    /// `[[m1, s1], …]`: ZPOPMIN/MAX with a count in RESP3.
    Nested,
    /// `[key, m, s]`: BZPOPMIN/MAX.
    KeyFlat,
    /// `[key, [[m1, s1], …]]`: ZMPOP/BZMPOP.
    KeyNested,
}

/// Pop up to `count` members from the non-empty set at `key` (the caller
/// checked), writing the reply in `shape`.
/// What to pop and how to answer.
#[derive(Clone, Copy)]
struct Pop {
    max: bool,
    count: usize,
    shape: Shape,
}

fn pop_reply(shard: &mut Shard, db: usize, key: &[u8], now: u64, pop: Pop, out: &mut Reply) {
    let Pop { max, count, shape } = pop;
    let Ok(Some(z)) = write(shard, db, key, now) else {
        return;
    };
    let len = z.len();
    let n = count.min(len);
    let (a, b) = if max { (len - n, len) } else { (0, n) };
    match shape {
        Shape::Flat => out.array(2 * n),
        Shape::Nested => out.array(n),
        Shape::KeyFlat => {
            out.array(2 * n + 1);
            out.bulk(key);
        }
        Shape::KeyNested => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    // ZMPOP/BZPOPMIN/BZMPOP… are logged as the pop they did.
    let mut c = itoa::Buffer::new();
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    crate::persist::aof::propagate_instead([name, key, c.format(n).as_bytes()]);
    let nested = matches!(shape, Shape::Nested | Shape::KeyNested);
    z.walk(a, b, max, |m, s| {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(s);
    });
    z.remove_ranks(a, b);
    let empty = z.is_empty();
    let event = if max { "zpopmax" } else { "zpopmin" };
    after_removal(shard, db, key, empty, event);
}

fn zpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if args.len() == 3 {
        Some(positive(&args[2], MUST_BE_POSITIVE)?)
    } else {
        None
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let server = ctx.server;
    let mut shard = server.keyspace.lock(key);
    let len = write(&mut shard, db, key, now)?.map_or(0, |z| z.len());
    if len == 0 || count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let shape = if ctx.out.resp3 && count.is_some() {
        Shape::Nested
    } else {
        Shape::Flat
    };
    pop_reply(
        &mut shard,
        db,
        key,
        now,
        Pop {
            max,
            count: count.unwrap_or(1),
            shape,
        },
        ctx.out,
    );
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, true)
}

/// ZMPOP/BZMPOP arguments after the numkeys at `ni`: keys, MIN|MAX, COUNT.
fn parse_mpop<'a>(args: &Args<'a>, ni: usize) -> Result<(Vec<&'a [u8]>, bool, usize), CmdError> {
    crate::commands::args::mpop(args, ni, "min", "max")
}

/// The first of `keys` that exists: WRONGTYPE if it is not a sorted set.
/// (Sets are never empty, so an existing sorted set has members.)
fn first_ready(
    shard_of: &mut crate::keyspace::MultiLock<'_>,
    db: usize,
    keys: &[&[u8]],
    now: u64,
) -> Result<Option<usize>, CmdError> {
    for (i, k) in keys.iter().enumerate() {
        if write(shard_of.shard(k), db, k, now)?.is_some() {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (keys, max, count) = parse_mpop(&args, 1)?;
    let (db, now) = (ctx.db(), ctx.now);
    let server = ctx.server;
    let mut ml = server.keyspace.lock_keys(keys.iter().copied());
    match first_ready(&mut ml, db, &keys, now)? {
        Some(i) => pop_reply(
            ml.shard(keys[i]),
            db,
            keys[i],
            now,
            Pop {
                max,
                count,
                shape: Shape::KeyNested,
            },
            ctx.out,
        ),
        None => ctx.out.null_array(),
    }
    Ok(())
}

/// BZPOPMIN/BZPOPMAX/BZMPOP: pop now if a key has members, else block.
fn bzpop_generic(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    timeout_arg: &[u8],
    max: bool,
    count: Option<usize>,
) -> CmdResult {
    let timeout = timeout(timeout_arg)?;
    let (db, now) = (ctx.db(), ctx.now);
    let server = ctx.server;
    let mut ml = server.keyspace.lock_keys(keys.iter().copied());
    if let Some(i) = first_ready(&mut ml, db, keys, now)? {
        let shape = if count.is_some() {
            Shape::KeyNested
        } else {
            Shape::KeyFlat
        };
        pop_reply(
            ml.shard(keys[i]),
            db,
            keys[i],
            now,
            Pop {
                max,
                count: count.unwrap_or(1),
                shape,
            },
            ctx.out,
        );
        return Ok(());
    }
    blocking::block(ctx, &mut ml, keys, BlockOp::ZPop { max, count }, timeout);
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    bzpop_generic(ctx, &keys, &args[args.len() - 1], false, None)
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    bzpop_generic(ctx, &keys, &args[args.len() - 1], true, None)
}

fn bzmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (keys, max, count) = parse_mpop(&args, 2)?;
    bzpop_generic(ctx, &keys, &args[1], max, Some(count))
}

/// Serve a client blocked in BZPOPMIN/BZPOPMAX (`count: None`) or BZMPOP on
/// `key`, which just changed. False if the key has nothing for it.
pub fn serve_blocked_pop(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    max: bool,
    count: Option<usize>,
    out: &mut Reply,
) -> bool {
    if !matches!(write(shard, db, key, now), Ok(Some(_))) {
        return false;
    }
    let shape = if count.is_some() {
        Shape::KeyNested
    } else {
        Shape::KeyFlat
    };
    pop_reply(
        shard,
        db,
        key,
        now,
        Pop {
            max,
            count: count.unwrap_or(1),
            shape,
        },
        out,
    );
    true
}
