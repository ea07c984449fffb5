//! List commands. The type is `types::list`; this file has the commands that
//! push, pop, read and edit one list; `moves.rs` has LMOVE, LMPOP and every
//! blocking command, which share the pop/move operations with the code that
//! serves blocked clients.

mod moves;

pub use moves::{serve_blocked_move, serve_blocked_pop};

use super::args::{int, is, positive, MUST_BE_POSITIVE};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Shard, NO_EXPIRE};
use crate::protocol::{Args, Reply};
use crate::server::Server;
use crate::types::list::{entry_size, End, List, NodeLimit};
use crate::types::Value;

const L: u64 = acl::LIST;

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, lpush)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]"),
    Command::new("rpush", -3, rpush)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]"),
    Command::new("lpushx", -3, lpushx)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepends one or more elements to a list only when the list exists.", "key element [element ...]"),
    Command::new("rpushx", -3, rpushx)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Appends an element to a list only when the list exists.", "key element [element ...]"),
    Command::new("lpop", -2, lpop)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N) where N is the number of elements returned", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "key [count]"),
    Command::new("rpop", -2, rpop)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N) where N is the number of elements returned", "Returns and removes the last elements of the list. Deletes the list if the last element was popped.", "key [count]"),
    Command::new("llen", 2, llen)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(1)", "Returns the length of a list.", "key"),
    Command::new("lrange", 4, lrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "Returns a range of elements from a list.", "key start stop"),
    Command::new("lindex", 3, lindex)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", "Returns an element from a list by its index.", "key index"),
    Command::new("lset", 4, lset)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "Sets the value of an element in a list by its index.", "key index element"),
    Command::new("linsert", 5, linsert)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", "Inserts an element before or after another element in a list.", "key <BEFORE | AFTER> pivot element"),
    Command::new("lrem", 4, lrem)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", "Removes elements from a list. Deletes the list if the last element was removed.", "key count element"),
    Command::new("ltrim", 4, ltrim)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("1.0.0", "O(N) where N is the number of elements to be removed by the operation.", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "key start stop"),
    Command::new("lpos", -3, lpos)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(L)
        .group("list")
        .doc("6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", "Returns the index of matching elements in a list.", "key element [RANK rank] [COUNT num-matches] [MAXLEN len]"),
];

/// Every list command, for the command table.
pub fn commands() -> Vec<&'static [Command]> {
    vec![COMMANDS, moves::COMMANDS]
}

/// The node limit `list-max-listpack-size` gives now, with the packed
/// threshold.
pub(crate) fn limit(server: &Server) -> NodeLimit {
    NodeLimit::from_fill(server.config.list_max_size()).with_plain(
        server
            .config
            .list_packed_threshold
            .load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// The list at `key` for reading: None if missing, WRONGTYPE if the key
/// holds another type.
#[inline]
pub(crate) fn read<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut List>, CmdError> {
    shard.read_as(db, key, now)
}

/// As [`read`], for a write (no hit/miss counting).
#[inline]
pub(crate) fn write<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut List>, CmdError> {
    shard.write_as(db, key, now)
}

/// After elements left the list at `key`: delete it if empty (as Redis
/// does), else let its encoding shrink back; record the change.
/// `event` is the command's keyspace notification, raised first.
pub(crate) fn after_removal(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    lim: NodeLimit,
    event: &str,
) {
    shard.notify(crate::notify::LIST, event, db, key);
    let empty = match shard.db(db).get_mut(key, now) {
        Some(e) => match &mut e.value {
            Value::List(l) if l.is_empty() => true,
            Value::List(l) => {
                l.shrink_check(lim);
                false
            }
            _ => false,
        },
        None => false,
    };
    shard.removed_from(db, key, empty);
}

/// The `lpop`/`rpop` event name of a pop at `end`.
pub(crate) fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// Push `items` at `end` of the list at `key`, creating it unless `only_if_exists`.
/// Answers the new length (0 when nothing was there and nothing was made).
#[allow(clippy::too_many_arguments)]
pub(crate) fn push_into<'a>(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    end: End,
    items: impl Iterator<Item = &'a [u8]> + Clone,
    only_if_exists: bool,
    lim: NodeLimit,
) -> Result<usize, CmdError> {
    let len = match write(shard, db, key, now)? {
        Some(l) => {
            l.push_all(end, items, lim);
            l.len()
        }
        None if only_if_exists => return Ok(0),
        None => {
            let mut l = List::new();
            l.push_all(end, items, lim);
            let n = l.len();
            shard
                .db(db)
                .insert(key, Value::List(Box::new(l)), NO_EXPIRE, now);
            n
        }
    };
    shard.modified(db, key);
    let event = match end {
        End::Left => "lpush",
        End::Right => "rpush",
    };
    shard.notify(crate::notify::LIST, event, db, key);
    Ok(len)
}

fn push_generic(ctx: &mut Ctx<'_>, args: Args<'_>, end: End, xx: bool) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let items = (2..args.len()).map(|i| args.get(i));
    let n = push_into(&mut shard, db, key, now, end, items, xx, lim)?;
    ctx.out.int(n as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Right, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(ctx.cmd.name.to_string()));
    }
    let count = if args.len() == 3 {
        Some(positive(&args[2], MUST_BE_POSITIVE)?)
    } else {
        None
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = write(&mut shard, db, key, now)? else {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    match count {
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        None => {
            if let Some(v) = l.pop(end) {
                ctx.out.bulk(&v);
            }
        }
        Some(c) => emit_pop(l, end, c, ctx.out),
    }
    after_removal(&mut shard, db, key, now, lim, pop_event(end));
    Ok(())
}

/// Pop up to `count` elements from `end` of `l` and write them as an array,
/// nearest the end first (LPOP/RPOP with a count, LMPOP, BLMPOP).
pub(crate) fn emit_pop(l: &mut List, end: End, count: usize, out: &mut Reply) {
    let n = count.min(l.len());
    out.array(n);
    let mut left = n;
    let (from, rev) = match end {
        End::Left => (0, false),
        End::Right => (l.len() - 1, true),
    };
    l.walk(from, rev, |d| {
        out.bulk(d);
        left -= 1;
        left > 0
    });
    match end {
        End::Left => l.remove_range(0, n),
        End::Right => l.remove_range(l.len() - n, n),
    }
}

fn lpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Left)
}

fn rpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Right)
}

fn llen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = read(&mut shard, db, key, now)?.map_or(0, |l| l.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// Redis's start/stop conversion for LRANGE/LTRIM: `Some((start, end))`
/// inclusive, or None when the range is empty.
fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn lrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = read(&mut shard, db, key, now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    match range(start, end, l.len()) {
        None => ctx.out.array(0),
        Some((a, b)) => {
            let out = &mut *ctx.out;
            out.array(b - a + 1);
            let mut left = b - a + 1;
            l.walk(a, false, |d| {
                out.bulk(d);
                left -= 1;
                left > 0
            });
        }
    }
    Ok(())
}

fn lindex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = read(&mut shard, db, key, now)? else {
        ctx.out.null();
        return Ok(());
    };
    let i = int(&args[2])?;
    match l.index(i).and_then(|i| l.get(i)) {
        Some(d) => ctx.out.bulk(d),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let l = write(&mut shard, db, key, now)?.ok_or(CmdError::NoSuchKey)?;
    let i = int(&args[2])?;
    // Redis 7.2 runs its growing check (one more entry of this size) before
    // it looks at the index, so even an out-of-range LSET can convert.
    l.grow_check(1, entry_size(args[3].len()), lim);
    match l.index(i) {
        Some(i) => {
            l.set(i, &args[3], lim);
        }
        None => return Err(CmdError::IndexOutOfRange),
    }
    shard.modified(db, key);
    shard.notify(crate::notify::LIST, "lset", db, key);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    // As Redis 7.2: the growing check runs before the pivot is sought, so a
    // LINSERT that finds no pivot can still convert to quicklist.
    l.grow_check(1, entry_size(args[4].len()), lim);
    let pivot = &args[3];
    let mut at = None;
    let mut i = 0;
    l.walk(0, false, |d| {
        if d == pivot {
            at = Some(i);
            return false;
        }
        i += 1;
        true
    });
    let Some(at) = at else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(at, after, &args[4], lim);
    let n = l.len();
    shard.modified(db, key);
    shard.notify(crate::notify::LIST, "linsert", db, key);
    ctx.out.int(n as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let count = int(&args[2])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let limit_n = count.unsigned_abs().min(usize::MAX as u64) as usize;
    let removed = l.remove_matching(&args[3], limit_n, count < 0);
    if removed > 0 {
        after_removal(&mut shard, db, key, now, lim, "lrem");
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = limit(ctx.server);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = write(&mut shard, db, key, now)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = l.len();
    match range(start, end, len) {
        None => l.remove_range(0, len),
        Some((a, b)) => {
            l.remove_range(b + 1, len - b - 1);
            l.remove_range(0, a);
        }
    }
    after_removal(&mut shard, db, key, now, lim, "ltrim");
    ctx.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut rank, mut count, mut maxlen): (i64, Option<usize>, usize) = (1, None, 0);
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j];
        if is(opt, "rank") && more {
            let r = int(&args[j + 1])?;
            if r == i64::MIN {
                return Err(CmdError::err(
                    "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            if r == 0 {
                return Err(CmdError::err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            rank = r;
        } else if is(opt, "count") && more {
            count = Some(positive(&args[j + 1], "COUNT can't be negative")?);
        } else if is(opt, "maxlen") && more {
            maxlen = positive(&args[j + 1], "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(l) = read(&mut shard, db, key, now)? else {
        if count.is_some() {
            ctx.out.array(0);
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let rev = rank < 0;
    let rank = rank.unsigned_abs();
    let len = l.len();
    let ele = &args[2];
    let (mut index, mut matches) = (0usize, 0u64);
    let mut found: Vec<i64> = Vec::new();
    let from = if rev { len - 1 } else { 0 };
    l.walk(from, rev, |d| {
        if maxlen != 0 && index >= maxlen {
            return false;
        }
        if d == ele {
            matches += 1;
            if matches >= rank {
                let at = if rev { len - index - 1 } else { index };
                found.push(at as i64);
                match count {
                    None => return false,
                    Some(c) if c != 0 && found.len() >= c => return false,
                    _ => {}
                }
            }
        }
        index += 1;
        true
    });
    match count {
        Some(_) => {
            ctx.out.array(found.len());
            for i in found {
                ctx.out.int(i);
            }
        }
        None => match found.first() {
            Some(&i) => ctx.out.int(i),
            None => ctx.out.null(),
        },
    }
    Ok(())
}
