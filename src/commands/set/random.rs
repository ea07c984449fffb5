//! Random members: SPOP and SRANDMEMBER.

use super::{after_removal, emit, read, write, S};
use crate::commands::args::{positive, MUST_BE_POSITIVE};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Args};
use crate::types::set::{Member, Set};
use crate::util::rand_below;

pub const COMMANDS: &[Command] = &[
    Command::new("spop", -2, spop)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "key [count]"),
    Command::new("srandmember", -2, srandmember)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(S)
        .group("set")
        .doc("1.0.0", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "Get one or multiple random members from a set", "key [count]"),
];

/// Largest reply SRANDMEMBER with a negative count will build; beyond it the
/// count is refused (Redis would try, and exhaust memory), as ZRANDMEMBER,
/// unless an output buffer limit stops the reply (server::obuf::reply_cap).
const RANDMEMBER_MAX: u64 = 1 << 26;

/// How much bigger than what remains a pop must be for SPOP to rebuild the
/// set from the members it keeps (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// `k` distinct positions out of `0..n` (k <= n), as a mask (Floyd's
/// algorithm: k random draws, no rejection loop).
fn sample_mask(n: usize, k: usize) -> Vec<bool> {
    let mut mask = vec![false; n];
    for j in n - k..n {
        let t = rand_below(j + 1);
        if mask[t] {
            mask[j] = true;
        } else {
            mask[t] = true;
        }
    }
    mask
}

fn spop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    if args.len() == 3 {
        return spop_count(ctx, args);
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = write(&mut shard, db, key, now)? else {
        ctx.out.null();
        return Ok(());
    };
    let m = s.pop_random();
    let empty = s.is_empty();
    ctx.out.bulk(&m);
    // The random choice is logged as what it chose (Redis: SREM).
    ctx.propagate_instead(&[b"SREM", key, &m]);
    after_removal(&mut shard, db, key, empty, "spop");
    Ok(())
}

fn spop_count(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let count = positive(&args[2], MUST_BE_POSITIVE)? as u64;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = ctx.server.config.set_limits();
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = write(&mut shard, db, key, now)? else {
        ctx.out.set(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let size = s.len();
    let out = &mut *ctx.out;
    if count >= size as u64 {
        // The whole set, in the order of its union with nothing (Redis
        // answers through SUNION).
        let all = super::ops::union_of(&[Some(&*s)], lim);
        out.set(all.len());
        all.iter().for_each(|m| emit(out, m));
        ctx.propagate_del(crate::persist::aof::log::Deletion::Server, key);
        after_removal(&mut shard, db, key, true, "spop");
        return Ok(());
    }
    // The members taken, for the AOF (only collected while it is on).
    let logging = ctx.server.aof.log.is_on();
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let count = count as usize;
    let remaining = size - count;
    out.set(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Few members go: take them out one by one (a listpack in one pass,
        // keeping its order).
        if let Set::Packed(p) = s {
            let mask = sample_mask(size, count);
            for (i, e) in p.iter().enumerate() {
                if mask[i] {
                    out.bulk(e.member);
                    if logging {
                        popped.push(e.member.to_vec());
                    }
                }
            }
            p.retain_positions(|i| !mask[i]);
        } else {
            for _ in 0..count {
                let m = s.pop_random();
                out.bulk(&m);
                if logging {
                    popped.push(m);
                }
            }
        }
    } else {
        // Most members go: build a new set from those that stay, answer the
        // rest. The new set's encoding is Redis's: listpack from a listpack
        // or a hashtable, intset from an intset.
        let keep = sample_mask(size, remaining);
        let mut kept = match s {
            Set::Ints(_) => Set::default(),
            _ => Set::new_packed(),
        };
        for (i, m) in s.iter().enumerate() {
            if keep[i] {
                kept.add_member(m, lim);
            } else {
                emit(out, m);
                if logging {
                    popped.push(m.to_vec());
                }
            }
        }
        *s = kept;
    }
    if logging {
        // SREMs of at most 1024 members each, as Redis propagates them.
        for batch in popped.chunks(1024) {
            crate::persist::aof::propagate_instead(
                [&b"SREM"[..], key]
                    .into_iter()
                    .chain(batch.iter().map(|m| m.as_slice())),
            );
        }
    }
    after_removal(&mut shard, db, key, false, "spop");
    Ok(())
}

fn srandmember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    if args.len() == 2 {
        let mut shard = ctx.server.keyspace.lock(key);
        match read(&mut shard, db, key, now)? {
            Some(s) => emit(ctx.out, s.random()),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = read(&mut shard, db, key, now)? else {
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
    let size = s.len();
    if !uniq || count == 1 {
        // Under an output limit the reply stops at it (server::obuf).
        let cap = crate::server::obuf::reply_cap(server, ctx.client);
        if count > RANDMEMBER_MAX && cap.is_none() {
            return Err(CmdError::err("value is out of range"));
        }
        let cap = cap.unwrap_or(usize::MAX);
        out.array(count as usize);
        for _ in 0..count {
            if out.len() >= cap {
                ctx.client.drop_output = true;
                break;
            }
            emit(out, s.random());
        }
        return Ok(());
    }
    if count >= size as u64 {
        out.array(size);
        s.iter().for_each(|m| emit(out, m));
        return Ok(());
    }
    let count = count as usize;
    if let Set::Packed(_) = s {
        // Distinct members in listpack order, as Redis samples a listpack.
        let mask = sample_mask(size, count);
        out.array(count);
        for (i, m) in s.iter().enumerate() {
            if mask[i] {
                emit(out, m);
            }
        }
        return Ok(());
    }
    // Distinct positions in random order: a partial shuffle when the sample
    // is a large part of the set, rejection sampling otherwise.
    let picks: Vec<usize> = if count * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + rand_below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = rand_below(size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    out.array(count);
    for i in picks {
        let m: Member<'_> = s.get(i);
        emit(out, m);
    }
    Ok(())
}
