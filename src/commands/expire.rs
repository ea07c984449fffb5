//! TTL commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), TTL PTTL
//! EXPIRETIME PEXPIRETIME PERSIST.

use super::args::{int, is, Unit};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::GENERIC;
use crate::protocol::Args;

const SET_SYNTAX: &str = "key seconds [NX | XX | GT | LT]";

pub const COMMANDS: &[Command] = &[
    Command::new("expire", -3, expire)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "1.0.0",
            "O(1)",
            "Sets the expiration time of a key in seconds.",
            SET_SYNTAX,
        ),
    Command::new("pexpire", -3, pexpire)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.6.0",
            "O(1)",
            "Sets the expiration time of a key in milliseconds.",
            "key milliseconds [NX | XX | GT | LT]",
        ),
    Command::new("expireat", -3, expireat)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "1.2.0",
            "O(1)",
            "Sets the expiration time of a key to a Unix timestamp.",
            "key unix-time-seconds [NX | XX | GT | LT]",
        ),
    Command::new("pexpireat", -3, pexpireat)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.6.0",
            "O(1)",
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "key unix-time-milliseconds [NX | XX | GT | LT]",
        ),
    Command::new("ttl", 2, ttl)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "1.0.0",
            "O(1)",
            "Returns the expiration time in seconds of a key.",
            "key",
        ),
    Command::new("pttl", 2, pttl)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.6.0",
            "O(1)",
            "Returns the expiration time in milliseconds of a key.",
            "key",
        ),
    Command::new("expiretime", 2, expiretime)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "7.0.0",
            "O(1)",
            "Returns the expiration time of a key as a Unix timestamp.",
            "key",
        ),
    Command::new("pexpiretime", 2, pexpiretime)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "7.0.0",
            "O(1)",
            "Returns the expiration time of a key as a Unix milliseconds timestamp.",
            "key",
        ),
    Command::new("persist", 2, persist)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.2.0",
            "O(1)",
            "Removes the expiration time of a key.",
            "key",
        ),
];

fn expire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, Unit::Seconds, true)
}
fn pexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, Unit::Millis, true)
}
fn expireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, Unit::Seconds, false)
}
fn pexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, Unit::Millis, false)
}

/// The shared body of the four EXPIRE commands (Redis's `expireGenericCommand`).
fn expire_generic(ctx: &mut Ctx<'_>, args: Args<'_>, unit: Unit, relative: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in args.iter().skip(3) {
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if is(a, "gt") {
            gt = true;
        } else if is(a, "lt") {
            lt = true;
        } else {
            let opt = String::from_utf8_lossy(a);
            return Err(CmdError::err(format!("Unsupported option {opt}")));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let v = int(&args[2])?;
    let bad = CmdError::InvalidExpire(ctx.cmd.name);
    // Unlike SET, a zero or negative time is allowed: the key is deleted.
    let ms = match unit {
        Unit::Seconds => v.checked_mul(1000).ok_or(bad.clone())?,
        Unit::Millis => v,
    };
    let when = if relative {
        ms.checked_add(ctx.now as i64).ok_or(bad)?
    } else {
        ms
    };

    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(e) = shard.write(db, key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = e.expire();
    // A key without a TTL counts as an infinite TTL for GT/LT.
    let allowed = if nx {
        current == NO_EXPIRE
    } else if xx {
        current != NO_EXPIRE
    } else {
        true
    } && if gt {
        current != NO_EXPIRE && when > current as i64
    } else if lt {
        current == NO_EXPIRE || when < current as i64
    } else {
        true
    };
    if !allowed {
        ctx.out.int(0);
        return Ok(());
    }
    let table = shard.db(db);
    let event = if when <= 0 || crate::keyspace::expire::already_past(when as u64, now) {
        table.remove(key);
        ctx.propagate_del(crate::persist::aof::log::Deletion::Expired, key);
        "del"
    } else {
        table.set_expire(key, when as u64);
        // Logged as an absolute time in ms, whatever the form used.
        let mut n = itoa::Buffer::new();
        ctx.propagate_instead(&[b"PEXPIREAT", key, n.format(when).as_bytes()]);
        "expire"
    };
    shard.modified(db, key);
    ctx.notify(GENERIC, event, key);
    ctx.out.int(1);
    Ok(())
}

/// What the TTL family reports for a key: -2 missing, -1 no TTL, else the
/// absolute expiry in ms.
fn expire_of(ctx: &mut Ctx<'_>, key: &[u8]) -> i64 {
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard = ctx.server.keyspace.lock(key);
    match shard.read(db, key, now) {
        None => -2,
        Some(e) if !e.has_ttl() => -1,
        Some(e) => e.expire() as i64,
    }
}

fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], ms: bool, absolute: bool) -> CmdResult {
    // A read for the stats, but the key's access time stays (as Redis).
    let _no_touch = crate::keyspace::access::NoTouch::begin();
    let at = expire_of(ctx, key);
    let v = if at < 0 {
        at
    } else {
        let v = if absolute {
            at
        } else {
            (at - ctx.now as i64).max(0)
        };
        // Seconds are rounded to the nearest, as Redis does.
        if ms {
            v
        } else {
            (v + 500) / 1000
        }
    };
    ctx.out.int(v);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, &args[1], false, false)
}
fn pttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, &args[1], true, false)
}
fn expiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, &args[1], false, true)
}
fn pexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, &args[1], true, true)
}

fn persist(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let had = match shard.write(db, key, now) {
        Some(e) => e.has_ttl(),
        None => false,
    };
    if had {
        shard.db(db).set_expire(key, NO_EXPIRE);
        shard.modified(db, key);
        ctx.notify(GENERIC, "persist", key);
    }
    ctx.out.int(had as i64);
    Ok(())
}
