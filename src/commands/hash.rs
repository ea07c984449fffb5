//! Hash commands. The type itself is `types::hash`; Redis's rules on when a
//! hash changes encoding live there (`Hash::prepare`, `Hash::set`).

use super::args::{int, is, scan_cursor};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Shard, NO_EXPIRE};
use crate::notify::HASH;
use crate::protocol::{Args, Reply};
use crate::types::hash::Hash;
use crate::types::string::{incr_by_float, FloatAddError};
use crate::types::Value;
use crate::util::rand_below;

const H: u64 = acl::HASH;

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, hset)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "Creates or modifies the value of a field in a hash.", "key field value [field value ...]"),
    Command::new("hsetnx", 4, hsetnx)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1)", "Sets the value of a field in a hash only when the field doesn't exist.", "key field value"),
    Command::new("hget", 3, hget)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1)", "Returns the value of a field in a hash.", "key field"),
    Command::new("hmget", -3, hmget)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the number of fields being requested.", "Returns the values of all fields in a hash.", "key field [field ...]"),
    Command::new("hmset", -4, hset)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the number of fields being set.", "Sets the values of multiple fields.", "key field value [field value ...]"),
    Command::new("hdel", -3, hdel)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the number of fields to be removed.", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "key field [field ...]"),
    Command::new("hlen", 2, hlen)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1)", "Returns the number of fields in a hash.", "key"),
    Command::new("hstrlen", 3, hstrlen)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("3.2.0", "O(1)", "Returns the length of the value of a field.", "key field"),
    Command::new("hexists", 3, hexists)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1)", "Determines whether a field exists in a hash.", "key field"),
    Command::new("hkeys", 2, hkeys)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the size of the hash.", "Returns all fields in a hash.", "key"),
    Command::new("hvals", 2, hvals)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the size of the hash.", "Returns all values in a hash.", "key"),
    Command::new("hgetall", 2, hgetall)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(N) where N is the size of the hash.", "Returns all fields and values in a hash.", "key"),
    Command::new("hincrby", 4, hincrby)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.0.0", "O(1)", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "key field increment"),
    Command::new("hincrbyfloat", 4, hincrbyfloat)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.6.0", "O(1)", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "key field increment"),
    Command::new("hscan", -3, hscan)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Iterates over fields and values of a hash.", "key cursor [MATCH pattern] [COUNT count] [NOVALUES]"),
    Command::new("hrandfield", -2, hrandfield)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(H)
        .group("hash")
        .doc("6.2.0", "O(N) where N is the number of fields returned", "Returns one or more random fields from a hash.", "key [count [WITHVALUES]]"),
];

/// The hash at `key` for reading: None if missing, WRONGTYPE if the key
/// holds another type.
#[inline]
fn read<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut Hash>, CmdError> {
    shard.read_as(db, key, now)
}

/// As [`read`], for a write (no hit/miss counting).
#[inline]
fn write<'s>(
    shard: &'s mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut Hash>, CmdError> {
    shard.write_as(db, key, now)
}

/// Run `f` on the hash at `key`, or on a new empty one if the key is
/// missing; a new hash is stored only if `f` left it non-empty (so a failed
/// write creates nothing). The caller records the change.
fn with_hash<R>(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut Hash) -> R,
) -> Result<R, CmdError> {
    let mut created = None;
    let h = match write(shard, db, key, now)? {
        Some(h) => h,
        None => created.insert(Hash::default()),
    };
    let r = f(h);
    if let Some(h) = created.filter(|h| !h.is_empty()) {
        shard.db(db).insert(key, Value::Hash(h), NO_EXPIRE, now);
    }
    Ok(r)
}

/// HSET and HMSET (which differ only in their reply).
fn hset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity(ctx.cmd.name.to_string()));
    }
    let lim = ctx.server.config.hash_limits();
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let created = with_hash(&mut shard, db, key, now, |h| {
        h.prepare(args.slice(2).iter(), lim);
        let mut created = 0;
        for i in (2..args.len()).step_by(2) {
            created += h.set(args.get(i), args.get(i + 1), lim) as i64;
        }
        created
    })?;
    shard.modified(db, key);
    ctx.notify(HASH, "hset", key);
    if ctx.cmd.name == "hmset" {
        ctx.out.ok();
    } else {
        ctx.out.int(created);
    }
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let lim = ctx.server.config.hash_limits();
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let (field, value) = (args.get(2), args.get(3));
    let mut shard = ctx.server.keyspace.lock(key);
    let set = with_hash(&mut shard, db, key, now, |h| {
        if h.contains(field) {
            return false;
        }
        h.prepare([field, value].into_iter(), lim);
        h.set(field, value, lim);
        true
    })?;
    if set {
        shard.modified(db, key);
        ctx.notify(HASH, "hset", key);
    }
    ctx.out.int(set as i64);
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    match read(&mut shard, db, key, now)?.and_then(|h| h.get(&args[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let h = read(&mut shard, db, key, now)?;
    ctx.out.array(args.len() - 2);
    for f in args.iter().skip(2) {
        match h.as_ref().and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(h) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for f in args.iter().skip(2) {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        let empty = h.is_empty();
        shard.notify(HASH, "hdel", db, key);
        shard.removed_from(db, key, empty);
    }
    ctx.out.int(deleted);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = read(&mut shard, db, key, now)?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = read(&mut shard, db, key, now)?
        .and_then(|h| h.get(&args[2]))
        .map_or(0, |v| v.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let found = read(&mut shard, db, key, now)?.is_some_and(|h| h.contains(&args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

/// HKEYS, HVALS and HGETALL (a map in RESP3).
fn getall_generic(ctx: &mut Ctx<'_>, args: Args<'_>, fields: bool, values: bool) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let h = read(&mut shard, db, key, now)?;
    let n = h.as_ref().map_or(0, |h| h.len());
    let out = &mut *ctx.out;
    if fields && values {
        out.map(n);
    } else {
        out.array(n);
    }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if fields {
                out.bulk(f);
            }
            if values {
                out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, true, false)
}

fn hvals(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, false, true)
}

fn hgetall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, true, true)
}

fn hincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let by = int(&args[3])?;
    let lim = ctx.server.config.hash_limits();
    let (db, now, key, field) = (ctx.db(), ctx.now, &args[1], args.get(2));
    let mut shard = ctx.server.keyspace.lock(key);
    let n = with_hash(&mut shard, db, key, now, |h| {
        let cur = match h.get(field) {
            None => 0,
            Some(v) => crate::protocol::parse_i64(v)
                .ok_or_else(|| CmdError::err("hash value is not an integer"))?,
        };
        let n = cur.checked_add(by).ok_or(CmdError::Overflow)?;
        h.set(field, itoa::Buffer::new().format(n).as_bytes(), lim);
        Ok(n)
    })??;
    shard.modified(db, key);
    ctx.notify(HASH, "hincrby", key);
    ctx.out.int(n);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let inc = args.get(3);
    // The increment alone first: Redis refuses an infinite one up front.
    match incr_by_float(b"0", inc) {
        Ok(_) => {}
        Err(FloatAddError::NotFloat) => return Err(CmdError::NotFloat),
        Err(FloatAddError::NanOrInfinity) => return Err(CmdError::err("value is NaN or Infinity")),
    }
    let lim = ctx.server.config.hash_limits();
    let (db, now, key, field) = (ctx.db(), ctx.now, &args[1], args.get(2));
    let mut shard = ctx.server.keyspace.lock(key);
    let out = &mut *ctx.out;
    with_hash(&mut shard, db, key, now, |h| {
        let cur = h.get(field).unwrap_or(b"0");
        // The increment is valid, so a parse failure is the stored value's.
        let sum = incr_by_float(cur, inc).map_err(|e| match e {
            FloatAddError::NotFloat => CmdError::err("hash value is not a float"),
            FloatAddError::NanOrInfinity => {
                CmdError::err("increment would produce NaN or Infinity")
            }
        })?;
        h.set(field, &sum, lim);
        out.bulk(&sum);
        // Logged as the result (Redis: HSET key field value).
        crate::persist::aof::propagate_instead([&b"HSET"[..], key, field, &sum]);
        Ok(())
    })??;
    shard.modified(db, key);
    ctx.notify(HASH, "hincrbyfloat", key);
    Ok(())
}

fn hscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = scan_cursor(&args[2])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(h) = read(&mut shard, db, key, now)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    // MATCH and COUNT as every SCAN, plus NOVALUES (Redis 7.4).
    let (mut pattern, mut count, mut novalues) = (None, 10usize, false);
    let mut i = 3;
    while i < args.len() {
        let (a, has_value) = (args.get(i), i + 1 < args.len());
        if is(a, "count") && has_value {
            let c = int(args.get(i + 1))?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = c.min(1 << 30) as usize;
            i += 2;
        } else if is(a, "match") && has_value {
            pattern = Some(args.get(i + 1)).filter(|p| *p != b"*");
            i += 2;
        } else if is(a, "novalues") {
            novalues = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keep = |f: &[u8]| pattern.is_none_or(|p| crate::glob::matches(p, f, false));
    let mut found: Vec<(&[u8], &[u8])> = Vec::new();
    let next = match &*h {
        // A listpack answers whole, in one call, as Redis does.
        Hash::Listpack(_) => {
            found.extend(h.iter().filter(|(f, _)| keep(f)));
            0
        }
        Hash::Table(t) => t.scan(cursor, count, |f, v| {
            if keep(f) {
                found.push((f, v));
            }
        }),
    };
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(if novalues {
        found.len()
    } else {
        2 * found.len()
    });
    for (f, v) in found {
        out.bulk(f);
        if !novalues {
            out.bulk(v);
        }
    }
    Ok(())
}

/// Largest reply HRANDFIELD with a negative count will build; beyond it the
/// count is refused (Redis would try, and exhaust memory), unless an output
/// buffer limit stops the reply (server::obuf::reply_cap).
const RANDFIELD_MAX: u64 = 1 << 26;

/// One field of an HRANDFIELD reply, with its value when asked: flat in
/// RESP2, a `[field, value]` pair in RESP3.
#[inline]
fn emit(out: &mut Reply, (f, v): (&[u8], &[u8]), withvalues: bool) {
    if withvalues && out.resp3 {
        out.array(2);
    }
    out.bulk(f);
    if withvalues {
        out.bulk(v);
    }
}

fn hrandfield(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    if args.len() == 2 {
        let mut shard = ctx.server.keyspace.lock(key);
        match read(&mut shard, db, key, now)? {
            Some(h) => {
                let (f, _) = h.nth(rand_below(h.len()));
                ctx.out.bulk(f);
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
    if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let withvalues = args.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(h) = read(&mut shard, db, key, now)? else {
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
    let size = h.len();
    let len = |n: usize| if withvalues && !out.resp3 { 2 * n } else { n };
    if uniq && count as usize >= size {
        // The whole hash, in its own order.
        out.array(len(size));
        for p in h.iter() {
            emit(out, p, withvalues);
        }
        return Ok(());
    }
    // Random access: O(1) in a hashtable; a listpack is decoded once.
    let decoded: Vec<(&[u8], &[u8])> = match &*h {
        Hash::Listpack(_) => h.iter().collect(),
        Hash::Table(_) => Vec::new(),
    };
    let pick = |i: usize| match &*h {
        Hash::Listpack(_) => decoded[i],
        Hash::Table(t) => t.nth(i),
    };
    if !uniq || count == 1 {
        // Under an output limit the reply stops at it (server::obuf).
        let cap = crate::server::obuf::reply_cap(server, ctx.client);
        if count > RANDFIELD_MAX && cap.is_none() {
            return Err(CmdError::err("value is out of range"));
        }
        let cap = cap.unwrap_or(usize::MAX);
        out.array(len(count as usize));
        for _ in 0..count {
            if out.len() >= cap {
                ctx.client.drop_output = true;
                break;
            }
            emit(out, pick(rand_below(size)), withvalues);
        }
        return Ok(());
    }
    // `count` (< size) distinct positions: a partial shuffle when the sample
    // is a large part of the hash, rejection sampling otherwise.
    let count = count as usize;
    let mut chosen: Vec<usize> = if count * 3 > size {
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
    if matches!(&*h, Hash::Listpack(_)) {
        // Redis samples a listpack in its own order.
        chosen.sort_unstable();
    }
    out.array(len(count));
    for i in chosen {
        emit(out, pick(i), withvalues);
    }
    Ok(())
}
