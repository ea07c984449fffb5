//! String commands.

use super::args::{self, is, Unit};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::protocol::Args;
use crate::types::{Str, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, get)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Returns the string value of a key.", "key"),
    Command::new("set", -3, set)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc(
            "1.0.0",
            "O(1)",
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
        ),
];

/// Write a string entry's value as a bulk reply, or fail with WRONGTYPE.
#[inline]
pub fn reply_str(ctx: &mut Ctx<'_>, value: &Value) -> CmdResult {
    match value {
        Value::Str(s) => {
            s.with_bytes(|b| ctx.out.bulk(b));
            Ok(())
        }
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

fn get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = &args[1];
    let mut shard = ctx.server.keyspace.lock(key);
    match shard.read(ctx.client.db, key, ctx.now) {
        Some(e) => reply_str(ctx, &e.value),
        None => {
            ctx.out.null();
            Ok(())
        }
    }
}

/// What SET does about an existing TTL.
enum SetExpire {
    /// Clear any TTL (plain SET).
    Clear,
    Keep,
    At(u64),
}

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<u64> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = (i + 1 < args.len()).then(|| args.get(i + 1));
        if is(a, "nx") && !xx {
            nx = true;
        } else if is(a, "xx") && !nx {
            xx = true;
        } else if is(a, "get") {
            get = true;
        } else if is(a, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if let (Some(v), false, true) = (next, keepttl, expire.is_none()) {
            let (unit, relative) = if is(a, "ex") {
                (Unit::Seconds, true)
            } else if is(a, "px") {
                (Unit::Millis, true)
            } else if is(a, "exat") {
                (Unit::Seconds, false)
            } else if is(a, "pxat") {
                (Unit::Millis, false)
            } else {
                return Err(CmdError::Syntax);
            };
            expire = Some(args::expire_time(v, unit, relative, ctx.now, "set")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let how = match (expire, keepttl) {
        (Some(at), _) => SetExpire::At(at),
        (None, true) => SetExpire::Keep,
        (None, false) => SetExpire::Clear,
    };
    set_generic(ctx, &args[1], &args[2], how, nx, xx, get)
}

fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    how: SetExpire,
    nx: bool,
    xx: bool,
    get: bool,
) -> CmdResult {
    let db = ctx.client.db;
    let now = ctx.now;
    let mut shard = ctx.server.keyspace.lock(key);
    let old_ttl = match shard.write(db, key, now) {
        Some(e) => {
            if get {
                // SET ... GET answers the old value, and refuses other types.
                reply_str(ctx, &e.value)?;
            }
            if nx {
                if !get {
                    ctx.out.null();
                }
                return Ok(());
            }
            Some(e.expire())
        }
        None => {
            if get {
                ctx.out.null();
            }
            if xx {
                if !get {
                    ctx.out.null();
                }
                return Ok(());
            }
            None
        }
    };
    let expire = match how {
        SetExpire::Clear => NO_EXPIRE,
        SetExpire::Keep => old_ttl.unwrap_or(NO_EXPIRE),
        SetExpire::At(at) => at,
    };
    let table = shard.db(db);
    if expire != NO_EXPIRE && expire <= now {
        // An absolute time already past: the key ends up deleted.
        table.remove(key);
    } else {
        table.insert(key, Value::Str(Str::from_bytes(value)), expire, now);
    }
    shard.modified(db, key);
    if !get {
        ctx.out.ok();
    }
    Ok(())
}
