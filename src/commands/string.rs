//! String commands.

use super::args::{self, is, Unit};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::{GENERIC, STRING};
use crate::protocol::Args;
use crate::types::string::{incr_by_float, FloatAddError, STRING_MAX};
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
    Command::new("setnx", 3, setnx)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Set the string value of a key only when the key doesn't exist.", "key value"),
    Command::new("setex", 4, setex)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.0.0", "O(1)", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "key seconds value"),
    Command::new("psetex", 4, psetex)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.6.0", "O(1)", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "key milliseconds value"),
    Command::new("getset", 3, getset)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Returns the previous string value of a key after setting it to a new value.", "key value"),
    Command::new("getdel", 2, getdel)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("6.2.0", "O(1)", "Returns the string value of a key after deleting the key.", "key"),
    Command::new("getex", -2, getex)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("6.2.0", "O(1)", "Returns the string value of a key after setting its expiration time.", "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]"),
    Command::new("mget", -2, mget)
        .flags(READONLY | FAST)
        .keys(1, -1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(N) where N is the number of keys to retrieve.", "Atomically returns the string values of one or more keys.", "key [key ...]"),
    Command::new("mset", -3, mset)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 2)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.1", "O(N) where N is the number of keys to set.", "Atomically creates or modifies the string values of one or more keys.", "key value [key value ...]"),
    Command::new("msetnx", -3, msetnx)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 2)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.1", "O(N) where N is the number of keys to set.", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "key value [key value ...]"),
    Command::new("append", 3, append)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.0.0", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value"),
    Command::new("strlen", 2, strlen)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.2.0", "O(1)", "Returns the length of a string value.", "key"),
    Command::new("getrange", 4, getrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.4.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Returns a substring of the string stored at a key.", "key start end"),
    Command::new("substr", 4, getrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Returns a substring from a string value.", "key start end"),
    Command::new("setrange", 4, setrange)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.2.0", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "key offset value"),
    Command::new("incr", 2, incr)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key"),
    Command::new("decr", 2, decr)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key"),
    Command::new("incrby", 3, incrby)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment"),
    Command::new("decrby", 3, decrby)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("1.0.0", "O(1)", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "key decrement"),
    Command::new("incrbyfloat", 3, incrbyfloat)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("2.6.0", "O(1)", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment"),
    Command::new("lcs", -3, lcs)
        .flags(READONLY)
        .keys(1, 2, 1)
        .acl(acl::STRING)
        .group("string")
        .doc("7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, respectively", "Finds the longest common substring.", "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]"),
];

/// Write a string entry's value as a bulk reply, or fail with WRONGTYPE.
#[inline]
pub fn reply_str(ctx: &mut Ctx<'_>, value: &Value) -> CmdResult {
    match value {
        Value::Str(s) => {
            s.with_bytes(|b| ctx.out.bulk(b));
            Ok(())
        }
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
    /// PXAT: the same, logged as given.
    AtAsGiven(u64),
}

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<u64> = None;
    // PXAT given: propagated as it came (Redis rewrites EX/PX/EXAT only).
    let mut as_given = false;
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
            let (unit, relative) = args::expire_option(a).ok_or(CmdError::Syntax)?;
            expire = Some(args::expire_time(v, unit, relative, ctx.now, "set")?);
            as_given = !relative && matches!(unit, args::Unit::Millis);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let how = match (expire, keepttl) {
        (Some(at), _) if as_given => SetExpire::AtAsGiven(at),
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
    let sets_ttl = matches!(how, SetExpire::At(_) | SetExpire::AtAsGiven(_));
    let expire = match how {
        SetExpire::Clear => NO_EXPIRE,
        SetExpire::Keep => old_ttl.unwrap_or(NO_EXPIRE),
        SetExpire::At(at) | SetExpire::AtAsGiven(at) => at,
    };
    let table = shard.db(db);
    let past = expire != NO_EXPIRE && crate::keyspace::expire::already_past(expire, now);
    if past {
        // An absolute time already past: the key ends up deleted.
        table.remove(key);
        ctx.propagate_instead(&[b"DEL", key]);
    } else {
        table.insert(key, Value::Str(Str::from_bytes(value)), expire, now);
        if let SetExpire::At(at) = how {
            // Relative times are logged as absolute (Redis 7: SET … PXAT).
            let mut n = itoa::Buffer::new();
            ctx.propagate_instead(&[b"SET", key, value, b"PXAT", n.format(at).as_bytes()]);
        }
    }
    shard.modified(db, key);
    ctx.notify(STRING, "set", key);
    if sets_ttl {
        ctx.notify(GENERIC, "expire", key);
    }
    if past {
        // Redis stores it and expires it at once: `expired` follows.
        ctx.notify(crate::notify::EXPIRED, "expired", key);
    }
    if !get {
        ctx.out.ok();
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    if shard.write(db, key, now).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    shard
        .db(db)
        .insert(key, Value::Str(Str::from_bytes(&args[2])), NO_EXPIRE, now);
    shard.modified(db, key);
    ctx.notify(STRING, "set", key);
    ctx.out.int(1);
    Ok(())
}

fn setex_generic(ctx: &mut Ctx<'_>, args: Args<'_>, unit: Unit) -> CmdResult {
    let at = args::expire_time(&args[2], unit, true, ctx.now, ctx.cmd.name)?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        SetExpire::At(at),
        false,
        false,
        false,
    )
}

fn setex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    setex_generic(ctx, args, Unit::Seconds)
}

fn psetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    setex_generic(ctx, args, Unit::Millis)
}

fn getset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Propagated as the SET it is, as Redis rewrites it.
    ctx.propagate_instead(&[b"SET", &args[1], &args[2]]);
    set_generic(
        ctx,
        &args[1],
        &args[2],
        SetExpire::Clear,
        false,
        false,
        true,
    )
}

fn getdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    // Propagated as the DEL it is, as Redis does.
    ctx.propagate_instead(&[b"DEL", key]);
    let mut shard = ctx.server.keyspace.lock(key);
    match shard.read(db, key, now) {
        None => ctx.out.null(),
        Some(e) => {
            reply_str(ctx, &e.value)?;
            shard.db(db).remove(key);
            shard.modified(db, key);
            ctx.notify(GENERIC, "del", key);
        }
    }
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    /// What GETEX does to the TTL once the key is found.
    enum Change<'a> {
        Keep,
        Persist,
        At(&'a [u8], Unit, bool),
    }
    // Options are checked for syntax first; the time itself only after the
    // key lookup, as Redis orders it (a missing key answers nil even with an
    // invalid time).
    let mut change = Change::Keep;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let next = (i + 1 < args.len()).then(|| args.get(i + 1));
        let free = matches!(change, Change::Keep);
        if is(a, "persist") && free {
            change = Change::Persist;
        } else if let (Some(v), true) = (next, free) {
            let (unit, relative) = args::expire_option(a).ok_or(CmdError::Syntax)?;
            change = Change::At(v, unit, relative);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(e) = shard.read(db, key, now) else {
        ctx.out.null();
        return Ok(());
    };
    if !matches!(e.value, Value::Str(_)) {
        return Err(CmdError::WrongType);
    }
    let target = match change {
        Change::Keep => None,
        Change::Persist => Some(NO_EXPIRE),
        Change::At(v, unit, relative) => Some(args::expire_time(v, unit, relative, now, "getex")?),
    };
    let had_ttl = e.has_ttl();
    reply_str(ctx, &e.value)?;
    match target {
        None => {}
        Some(t) if t != NO_EXPIRE && crate::keyspace::expire::already_past(t, now) => {
            shard.db(db).remove(key);
            ctx.propagate_del(crate::persist::aof::log::Deletion::Expired, key);
            shard.modified(db, key);
            ctx.notify(GENERIC, "del", key);
        }
        Some(t) if t != NO_EXPIRE || had_ttl => {
            shard.db(db).set_expire(key, t);
            if t == NO_EXPIRE {
                ctx.propagate_instead(&[b"PERSIST", key]);
            } else {
                let mut n = itoa::Buffer::new();
                ctx.propagate_instead(&[b"PEXPIREAT", key, n.format(t).as_bytes()]);
            }
            shard.modified(db, key);
            let event = if t == NO_EXPIRE { "persist" } else { "expire" };
            ctx.notify(GENERIC, event, key);
        }
        Some(_) => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let keys = args.slice(1);
    let mut ml = ctx.server.keyspace.lock_keys(keys.iter());
    ctx.out.array(keys.len());
    for key in keys.iter() {
        match ml.shard(key).read(db, key, now).map(|e| &e.value) {
            Some(Value::Str(s)) => s.with_bytes(|b| ctx.out.bulk(b)),
            // Missing keys and other types both answer nil.
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

/// MSET/MSETNX: set every pair atomically; with `nx`, only if none exists.
fn mset_generic(ctx: &mut Ctx<'_>, args: Args<'_>, nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(ctx.cmd.name.to_string()));
    }
    let (db, now) = (ctx.db(), ctx.now);
    let pairs = args.len() / 2;
    let key = |i: usize| args.get(1 + 2 * i);
    let mut ml = ctx.server.keyspace.lock_keys((0..pairs).map(key));
    if nx && (0..pairs).any(|i| ml.shard(key(i)).exists(db, key(i), now)) {
        ctx.out.int(0);
        return Ok(());
    }
    for i in 0..pairs {
        let (k, v) = (key(i), args.get(2 + 2 * i));
        let shard = ml.shard(k);
        shard
            .db(db)
            .insert(k, Value::Str(Str::from_bytes(v)), NO_EXPIRE, now);
        shard.modified(db, k);
        ctx.notify(STRING, "set", k);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    mset_generic(ctx, args, false)
}

fn msetnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    mset_generic(ctx, args, true)
}

/// The size limit for strings built by APPEND/SETRANGE (`proto-max-bulk-len`).
fn check_size(ctx: &Ctx<'_>, total: u64) -> CmdResult {
    let limit = ctx
        .server
        .config
        .proto_max_bulk_len()
        .min(STRING_MAX as u64 * 8);
    if total > limit {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

fn append(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, tail) = (ctx.db(), ctx.now, &args[1], &args[2]);
    let mut shard = ctx.server.keyspace.lock(key);
    let len = match shard.write(db, key, now) {
        None => {
            shard
                .db(db)
                .insert(key, Value::Str(Str::from_bytes(tail)), NO_EXPIRE, now);
            tail.len()
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            check_size(ctx, (s.len() + tail.len()) as u64)?;
            let bytes = s.make_raw();
            Str::reserve_like_sds(bytes, bytes.len() + tail.len());
            bytes.extend_from_slice(tail);
            bytes.len()
        }
    };
    shard.modified(db, key);
    ctx.notify(STRING, "append", key);
    ctx.out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = match shard.read(db, key, now).map(|e| &e.value) {
        None => 0,
        Some(Value::Str(s)) => s.len(),
        Some(_) => return Err(CmdError::WrongType),
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// The byte range GETRANGE returns for `start..=end` over `len` bytes, with
/// Redis's clamping of negative and out-of-range indexes.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    match shard.read(db, key, now).map(|e| &e.value) {
        None => ctx.out.bulk(b""),
        Some(Value::Str(s)) => s.with_bytes(|b| match clamp_range(start, end, b.len()) {
            Some((a, z)) => ctx.out.bulk(&b[a..=z]),
            None => ctx.out.bulk(b""),
        }),
        Some(_) => return Err(CmdError::WrongType),
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let offset = args::int(&args[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let (db, now, key, value) = (ctx.db(), ctx.now, &args[1], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let len = match shard.write(db, key, now) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_size(ctx, offset + value.len() as u64)?;
            // Exactly the size it needs, as Redis's sdsnewlen.
            let mut bytes = Vec::with_capacity(offset as usize + value.len());
            bytes.resize(offset as usize, 0);
            bytes.extend_from_slice(value);
            let n = bytes.len();
            shard
                .db(db)
                .insert(key, Value::Str(Str::Raw(bytes)), NO_EXPIRE, now);
            n
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            if value.is_empty() {
                ctx.out.int(s.len() as i64);
                return Ok(());
            }
            check_size(ctx, offset + value.len() as u64)?;
            let bytes = s.make_raw();
            let end = offset as usize + value.len();
            if bytes.len() < end {
                Str::reserve_like_sds(bytes, end);
                bytes.resize(end, 0);
            }
            bytes[offset as usize..end].copy_from_slice(value);
            bytes.len()
        }
    };
    shard.modified(db, key);
    ctx.notify(STRING, "setrange", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// INCR and friends: add `by` to the integer at `key` (0 if missing),
/// keeping its TTL.
fn incr_generic(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = match shard.write(db, key, now) {
        None => {
            shard
                .db(db)
                .insert(key, Value::Str(Str::Int(by)), NO_EXPIRE, now);
            by
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            let cur = s.as_int().ok_or(CmdError::NotInteger)?;
            let n = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            *s = Str::Int(n);
            n
        }
    };
    shard.modified(db, key);
    ctx.notify(STRING, "incrby", key);
    ctx.out.int(n);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    incr_generic(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    incr_generic(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let by = args::int(&args[2])?;
    incr_generic(ctx, &args[1], by)
}

fn decrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let by = args::int(&args[2])?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_generic(ctx, &args[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, inc) = (ctx.db(), ctx.now, &args[1], &args[2]);
    let mut shard = ctx.server.keyspace.lock(key);
    let cur = match shard.write(db, key, now).map(|e| &e.value) {
        None => b"0".to_vec(),
        Some(Value::Str(s)) => s.to_vec(),
        Some(_) => return Err(CmdError::WrongType),
    };
    let sum = incr_by_float(&cur, inc).map_err(|e| match e {
        FloatAddError::NotFloat => CmdError::NotFloat,
        FloatAddError::NanOrInfinity => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    ctx.out.bulk(&sum);
    // Logged as the result, so replay does not redo float arithmetic.
    ctx.propagate_instead(&[b"SET", key, &sum, b"KEEPTTL"]);
    // Redis keeps the result as a string object (`embstr`), never as `int`,
    // even when it is integral.
    let value = Value::Str(Str::Bytes(sum));
    match shard.db(db).position(key) {
        Some(i) => {
            if let Some((_, e)) = shard.db(db).at_mut(i) {
                e.value = value;
            }
        }
        None => {
            shard.db(db).insert(key, value, NO_EXPIRE, now);
        }
    }
    shard.modified(db, key);
    ctx.notify(STRING, "incrbyfloat", key);
    Ok(())
}

/// Largest dynamic-programming table LCS builds (4 bytes per cell). Redis
/// answers "Insufficient memory" when its allocation fails; Ember refuses
/// up front rather than let one command take gigabytes.
const LCS_MAX_TABLE: u64 = 512 * 1024 * 1024;

fn lcs(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let (ka, kb) = (&args[1], &args[2]);
    let (a, b) = {
        let mut ml = ctx.server.keyspace.lock_keys([ka, kb]);
        let mut fetch = |k: &[u8]| -> Result<Vec<u8>, CmdError> {
            match ml.shard(k).read(db, k, now).map(|e| &e.value) {
                None => Ok(Vec::new()),
                Some(Value::Str(s)) => Ok(s.to_vec()),
                Some(_) => Err(CmdError::err(
                    "The specified keys must contain string values",
                )),
            }
        };
        let a = fetch(ka);
        let b = fetch(kb);
        (a?, b?)
    };
    let (mut get_len, mut get_idx, mut with_len, mut min_len) = (false, false, false, 0u64);
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        if is(opt, "idx") {
            get_idx = true;
        } else if is(opt, "len") {
            get_len = true;
        } else if is(opt, "withmatchlen") {
            with_len = true;
        } else if is(opt, "minmatchlen") && i + 1 < args.len() {
            min_len = args::int(&args[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if get_len && get_idx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (n, m) = (a.len(), b.len());
    if (n as u64 + 1) * (m as u64 + 1) * 4 > LCS_MAX_TABLE {
        return Err(CmdError::err("Insufficient memory"));
    }
    // table[i * (m + 1) + j] = LCS length of a[..i] and b[..j].
    let w = m + 1;
    let mut table = vec![0u32; (n + 1) * w];
    for i in 1..=n {
        for j in 1..=m {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[n * w + m];
    if get_len {
        ctx.out.int(total as i64);
        return Ok(());
    }
    // Walk back from the end, collecting the common subsequence and, for IDX,
    // the matching ranges (reported last-first, as Redis does).
    let mut common = vec![0u8; total as usize];
    let mut ranges: Vec<[u64; 5]> = Vec::new();
    let mut current: Option<[u64; 4]> = None; // a_start a_end b_start b_end
    let (mut i, mut j, mut k) = (n, m, total as usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[k - 1] = a[i - 1];
            let (ii, jj) = ((i - 1) as u64, (j - 1) as u64);
            match &mut current {
                None => current = Some([ii, ii, jj, jj]),
                // Matches while walking back are always contiguous.
                Some(r) => {
                    r[0] = ii;
                    r[2] = jj;
                }
            }
            if ii == 0 || jj == 0 {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            if let Some(r) = current.take() {
                let len = r[1] - r[0] + 1;
                if min_len == 0 || len >= min_len {
                    ranges.push([r[0], r[1], r[2], r[3], len]);
                }
            }
        }
    }
    if !get_idx {
        ctx.out.bulk(&common);
        return Ok(());
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for r in &ranges {
        ctx.out.array(2 + with_len as usize);
        ctx.out.array(2);
        ctx.out.int(r[0] as i64);
        ctx.out.int(r[1] as i64);
        ctx.out.array(2);
        ctx.out.int(r[2] as i64);
        ctx.out.int(r[3] as i64);
        if with_len {
            ctx.out.int(r[4] as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(total as i64);
    Ok(())
}
