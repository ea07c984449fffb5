//! Intersection, union and difference: SINTER SINTERCARD SINTERSTORE SUNION
//! SUNIONSTORE SDIFF SDIFFSTORE, and SMEMBERS (the intersection of one set,
//! as in Redis). All keys are locked together, so each command is atomic.

use super::{emit, store, S};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::MultiLock;
use crate::protocol::{parse_i64, Args};
use crate::types::set::{Member, Set, SetLimits};
use crate::types::Value;

pub const COMMANDS: &[Command] = &[
    Command::new("smembers", 2, smembers)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the set cardinality.", "Returns all members of a set.", "key"),
    Command::new("sinter", -2, sinter)
        .flags(READONLY)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Returns the intersect of multiple sets.", "key [key ...]"),
    Command::new("sintercard", -3, sintercard)
        .flags(READONLY)
        .keys_fn(keys_sintercard)
        .acl(S)
        .group("set")
        .doc("7.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Returns the number of members of the intersect of multiple sets.", "numkeys key [key ...] [LIMIT limit]"),
    Command::new("sinterstore", -3, sinterstore)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Stores the intersect of multiple sets in a key.", "destination key [key ...]"),
    Command::new("sunion", -2, sunion)
        .flags(READONLY)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Returns the union of multiple sets.", "key [key ...]"),
    Command::new("sunionstore", -3, sunionstore)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Stores the union of multiple sets in a key.", "destination key [key ...]"),
    Command::new("sdiff", -2, sdiff)
        .flags(READONLY)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Returns the difference of multiple sets.", "key [key ...]"),
    Command::new("sdiffstore", -3, sdiffstore)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Stores the difference of multiple sets in a key.", "destination key [key ...]"),
];

/// SINTERCARD's keys: `numkeys` at 1, then that many.
fn keys_sintercard(args: Args<'_>) -> Vec<usize> {
    match parse_i64(args.get(1)) {
        Some(n) if n > 0 && (n as u64) < (args.len() - 1) as u64 => (2..2 + n as usize).collect(),
        _ => Vec::new(),
    }
}

/// Look every input up (lazy expiry, hit/miss stats) and check its type:
/// WRONGTYPE for the first that is not a set, in argument order, as Redis.
fn check_inputs(ml: &mut MultiLock<'_>, db: usize, keys: &[&[u8]], now: u64) -> CmdResult {
    for &k in keys {
        if let Some(e) = ml.shard(k).read(db, k, now) {
            if !matches!(e.value, Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    Ok(())
}

/// The (already checked) inputs: None for a missing key.
fn inputs<'m>(ml: &'m MultiLock<'_>, db: usize, keys: &[&[u8]]) -> Vec<Option<&'m Set>> {
    keys.iter()
        .map(|&k| match ml.peek(db, k) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// Where a result goes.
#[derive(Clone, Copy)]
enum Dest<'a> {
    Reply,
    Store(&'a [u8]),
    /// SINTERCARD, stopping at the limit (0: none).
    Cardinality(u64),
}

fn smembers(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    inter_generic(ctx, &[args.get(1)], Dest::Reply)
}

fn sinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    inter_generic(ctx, &keys, Dest::Reply)
}

fn sinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    inter_generic(ctx, &keys, Dest::Store(args.get(1)))
}

fn sintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let numkeys = parse_i64(&args[1])
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys as u64 > (args.len() - 2) as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if crate::commands::args::is(&args[j], "limit") && j + 1 < args.len() {
            limit = parse_i64(&args[j + 1])
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?
                as u64;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| args.get(i)).collect();
    inter_generic(ctx, &keys, Dest::Cardinality(limit))
}

/// Redis's `sinterGenericCommand`: walk the smallest set, keep the members
/// every other set has.
fn inter_generic(ctx: &mut Ctx<'_>, keys: &[&[u8]], dest: Dest<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let lim = ctx.server.config.set_limits();
    let dst = match dest {
        Dest::Store(k) => Some(k),
        _ => None,
    };
    let mut ml = ctx
        .server
        .keyspace
        .lock_keys(keys.iter().copied().chain(dst));
    check_inputs(&mut ml, db, keys, now)?;
    let found = inputs(&ml, db, keys);
    let out = &mut *ctx.out;
    let Some(mut sets) = found.into_iter().collect::<Option<Vec<&Set>>>() else {
        // A missing key is an empty set, and so is the intersection.
        match dest {
            Dest::Store(k) => {
                if ml.shard(k).db(db).remove(k).is_some() {
                    ml.shard(k).modified(db, k);
                    ml.shard(k).notify(crate::notify::GENERIC, "del", db, k);
                }
                out.int(0);
            }
            Dest::Cardinality(_) => out.int(0),
            Dest::Reply => out.set(0),
        }
        return Ok(());
    };
    // Smallest first (a stable sort, like the merge sort behind glibc's qsort).
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let in_all = |m: Member<'_>| {
        sets[1..]
            .iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains_member(m))
    };
    match dest {
        Dest::Cardinality(limit) => {
            let mut n = 0u64;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit > 0 && n >= limit {
                        break;
                    }
                }
            }
            out.int(n as i64);
        }
        Dest::Reply => {
            let members: Vec<Member<'_>> = first.iter().filter(|&m| in_all(m)).collect();
            out.set(members.len());
            for m in members {
                emit(out, m);
            }
        }
        Dest::Store(k) => {
            // Redis starts the result as an intset when the smallest input
            // is one, a listpack otherwise, and makes an all-integer result
            // an intset at the end if it fits.
            let mut result = match first {
                Set::Ints(_) => Set::default(),
                _ => Set::new_packed(),
            };
            let mut only_integers = true;
            for m in first.iter().filter(|&m| in_all(m)) {
                only_integers &= m.as_int().is_some();
                result.add_member(m, lim);
            }
            if only_integers {
                result.maybe_to_intset(lim);
            }
            result.shrink_to_fit();
            let n = store(ml.shard(k), db, k, result, now, "sinterstore");
            out.int(n as i64);
        }
    }
    Ok(())
}

/// The union of `sets` built as Redis builds it: starting from an empty
/// intset and adding every member of every set in argument order, so the
/// result's encoding and order are Redis's.
pub(super) fn union_of(sets: &[Option<&Set>], lim: SetLimits) -> Set {
    let mut result = Set::default();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            result.add_member(m, lim);
        }
    }
    result
}

/// The difference of `sets[0]` and the others, with the algorithm Redis's
/// `sunionDiffGenericCommand` would pick (it matters for the encoding of the
/// result: algorithm 2 first copies the whole first set).
fn diff_of(sets: &[Option<&Set>], lim: SetLimits) -> Set {
    let mut result = Set::default();
    let Some(first) = sets[0] else {
        return result;
    };
    let same = sets[1..]
        .iter()
        .any(|s| s.is_some_and(|s| std::ptr::eq(s, first)));
    if same {
        return result;
    }
    let (mut one, mut two) = (0u64, 0u64);
    for s in sets.iter().flatten() {
        one += first.len() as u64;
        two += s.len() as u64;
    }
    if one / 2 <= two {
        for m in first.iter() {
            if !sets[1..].iter().flatten().any(|s| s.contains_member(m)) {
                result.add_member(m, lim);
            }
        }
    } else {
        for (j, s) in sets.iter().enumerate() {
            let Some(s) = s else { continue };
            for m in s.iter() {
                if j == 0 {
                    result.add_member(m, lim);
                } else {
                    result.remove_member(m);
                }
            }
            if result.is_empty() {
                break;
            }
        }
    }
    result
}

fn sunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    union_diff(ctx, &keys, None, false)
}

fn sunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    union_diff(ctx, &keys, Some(args.get(1)), false)
}

fn sdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    union_diff(ctx, &keys, None, true)
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    union_diff(ctx, &keys, Some(args.get(1)), true)
}

fn union_diff(ctx: &mut Ctx<'_>, keys: &[&[u8]], dst: Option<&[u8]>, diff: bool) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let lim = ctx.server.config.set_limits();
    let mut ml = ctx
        .server
        .keyspace
        .lock_keys(keys.iter().copied().chain(dst));
    check_inputs(&mut ml, db, keys, now)?;
    let sets = inputs(&ml, db, keys);
    let result = if diff {
        diff_of(&sets, lim)
    } else {
        union_of(&sets, lim)
    };
    let out = &mut *ctx.out;
    match dst {
        None => {
            out.set(result.len());
            result.iter().for_each(|m| emit(out, m));
        }
        Some(k) => {
            let event = if diff { "sdiffstore" } else { "sunionstore" };
            let n = store(ml.shard(k), db, k, result, now, event);
            out.int(n as i64);
        }
    }
    Ok(())
}
