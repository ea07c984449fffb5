//! Generic key commands: DEL UNLINK EXISTS TYPE TOUCH RENAME RENAMENX COPY
//! MOVE KEYS SCAN RANDOMKEY OBJECT DBSIZE FLUSHDB FLUSHALL SWAPDB.

use super::args::{int, is};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::glob;
use crate::keyspace::{Table, NSHARDS};
use crate::notify::{notify, GENERIC};
use crate::protocol::{parse_i64, Args};
use crate::types::{Str, Value};
use crate::util::rand_below;

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, del)
        .flags(WRITE)
        .keys(1, -1, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(N) where N is the number of keys that will be removed.", "Deletes one or more keys.", "key [key ...]"),
    Command::new("unlink", -2, unlink)
        .flags(WRITE | FAST)
        .keys(1, -1, 1)
        .acl(acl::KEYSPACE)
        .doc("4.0.0", "O(1) for each key removed regardless of its size.", "Asynchronously deletes one or more keys.", "key [key ...]"),
    Command::new("exists", -2, exists)
        .flags(READONLY | FAST)
        .keys(1, -1, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(N) where N is the number of keys to check.", "Determines whether one or more keys exist.", "key [key ...]"),
    Command::new("type", 2, type_cmd)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(1)", "Determines the type of value stored at a key.", "key"),
    Command::new("touch", -2, touch)
        .flags(READONLY | FAST)
        .keys(1, -1, 1)
        .acl(acl::KEYSPACE)
        .doc("3.2.1", "O(N) where N is the number of keys that will be touched.", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "key [key ...]"),
    Command::new("rename", 3, rename)
        .flags(WRITE)
        .keys(1, 2, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(1)", "Renames a key and overwrites the destination.", "key newkey"),
    Command::new("renamenx", 3, renamenx)
        .flags(WRITE | FAST)
        .keys(1, 2, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(1)", "Renames a key only when the target key name doesn't exist.", "key newkey"),
    Command::new("copy", -3, copy)
        .flags(WRITE | DENYOOM)
        .keys(1, 2, 1)
        .acl(acl::KEYSPACE)
        .doc("6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "Copies the value of a key to a new key.", "source destination [DB destination-db] [REPLACE]"),
    Command::new("move", 3, move_cmd)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(1)", "Moves a key to another database.", "key db"),
    Command::new("keys", 2, keys)
        .flags(READONLY)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .doc("1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "Returns all key names that match a pattern.", "pattern"),
    Command::new("scan", -2, scan)
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Iterates over the key names in the database.", "cursor [MATCH pattern] [COUNT count] [TYPE type]"),
    Command::new("randomkey", 1, randomkey)
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .doc("1.0.0", "O(1)", "Returns a random key name from the database.", ""),
    Command::new("dbsize", 1, dbsize)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .group("server")
        .doc("1.0.0", "O(1)", "Returns the number of keys in the database.", ""),
    Command::new("flushdb", -1, flushdb)
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .group("server")
        .doc("1.0.0", "O(N) where N is the number of keys in the selected database", "Remove all keys from the current database.", "[ASYNC | SYNC]"),
    Command::new("flushall", -1, flushall)
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .group("server")
        .doc("1.0.0", "O(N) where N is the total number of keys in all databases", "Removes all keys from all databases.", "[ASYNC | SYNC]"),
    Command::new("swapdb", 3, swapdb)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .group("server")
        .doc("4.0.0", "O(N) where N is the count of clients watching or blocking on keys from both databases.", "Swaps two Redis databases.", "index1 index2"),
    Command::container("object", OBJECT)
        .doc("2.2.3", "Depends on subcommand.", "A container for object introspection commands.", ""),
];

const OBJECT: &[Command] = &[
    Command::new("object|encoding", 3, object_encoding)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.2.3",
            "O(1)",
            "Returns the internal encoding of a Redis object.",
            "key",
        ),
    Command::new("object|freq", 3, object_freq)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "4.0.0",
            "O(1)",
            "Returns the logarithmic access frequency counter of a Redis object.",
            "key",
        ),
    Command::new("object|idletime", 3, object_idletime)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.2.3",
            "O(1)",
            "Returns the time since the last access to a Redis object.",
            "key",
        ),
    Command::new("object|refcount", 3, object_refcount)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.2.3",
            "O(1)",
            "Returns the reference count of a value of a key.",
            "key",
        ),
    Command::new("object|help", 2, object_help)
        .flags(LOADING | STALE)
        .acl(acl::KEYSPACE)
        .doc(
            "6.2.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
];

fn del(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let lazy = ctx.server.config.read(|c| c.lazyfree_lazy_user_del);
    del_generic(ctx, args, lazy)
}

/// DEL, with big values freed in the background (see `lazyfree`).
fn unlink(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    del_generic(ctx, args, true)
}

fn del_generic(ctx: &mut Ctx<'_>, args: Args<'_>, lazy: bool) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let mut n = 0;
    let mut gone = Vec::new();
    if args.len() == 2 {
        let key = &args[1];
        let mut shard = ctx.server.keyspace.lock(key);
        if shard.exists(db, key, now) {
            gone.extend(shard.db(db).remove(key));
            shard.modified(db, key);
            ctx.notify(GENERIC, "del", key);
            n = 1;
        }
    } else {
        let mut ml = ctx.server.keyspace.lock_keys(args.slice(1).iter());
        for key in args.slice(1).iter() {
            let shard = ml.shard(key);
            if shard.exists(db, key, now) {
                gone.extend(shard.db(db).remove(key));
                shard.modified(db, key);
                ctx.notify(GENERIC, "del", key);
                n += 1;
            }
        }
    }
    // Freed after the locks are given back, big ones off this thread.
    for e in gone {
        if lazy {
            crate::lazyfree::drop_value(e.value);
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Counted as reads (hits, misses) but no access time changes, as Redis.
    let _no_touch = crate::keyspace::access::NoTouch::begin();
    count_live(ctx, args)
}

fn touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    count_live(ctx, args)
}

/// How many of the keys exist, read (and touched, unless told otherwise).
fn count_live(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let mut ml = ctx.server.keyspace.lock_keys(args.slice(1).iter());
    let n = args
        .slice(1)
        .iter()
        .filter(|key| ml.shard(key).read(db, key, now).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let _no_touch = crate::keyspace::access::NoTouch::begin();
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let name = shard
        .read(db, key, now)
        .map_or("none", |e| e.value.type_name());
    ctx.out.simple(name);
    Ok(())
}

/// RENAME/RENAMENX: move the entry (value, TTL, access clock) to `dst`.
fn rename_generic(ctx: &mut Ctx<'_>, args: Args<'_>, nx: bool) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let (src, dst) = (&args[1], &args[2]);
    let mut ml = ctx.server.keyspace.lock_keys([src, dst]);
    if !ml.shard(src).exists(db, src, now) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && ml.shard(dst).exists(db, dst, now) {
        ctx.out.int(0);
        return Ok(());
    }
    let Some(entry) = ml.shard(src).db(db).remove(src) else {
        return Err(CmdError::NoSuchKey);
    };
    ml.shard(src).modified(db, src);
    let dshard = ml.shard(dst);
    let expire = entry.expire();
    dshard
        .db(db)
        .insert_entry(dst.into(), entry.value, expire, entry.lru);
    dshard.modified(db, dst);
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// Parse a database index argument: not a number → not-an-integer error,
/// out of range → `ERR DB index is out of range`.
fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let v = int(arg)?;
    if v < 0 || v > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if v as usize >= ctx.server.keyspace.ndbs() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(v as usize)
}

fn copy(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (src_db, now) = (ctx.db(), ctx.now);
    let (mut dst_db, mut replace) = (src_db, false);
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            dst_db = db_index(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (src, dst) = (&args[1], &args[2]);
    if src_db == dst_db && src == dst {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let mut ml = ctx.server.keyspace.lock_keys([src, dst]);
    let Some((value, expire)) = ml
        .shard(src)
        .read(src_db, src, now)
        .map(|e| (e.value.clone(), e.expire()))
    else {
        ctx.out.int(0);
        return Ok(());
    };
    let dshard = ml.shard(dst);
    if dshard.exists(dst_db, dst, now) && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    // Redis deletes the old destination and adds a new key (`new` event).
    dshard.db(dst_db).remove(dst);
    dshard.db(dst_db).insert(dst, value, expire, now);
    dshard.modified(dst_db, dst);
    notify(&ctx.server.pubsub, GENERIC, "copy_to", dst_db, dst);
    ctx.out.int(1);
    Ok(())
}

fn move_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (src_db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let dst_db = db_index(ctx, &args[2])?;
    if dst_db == src_db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    // Both databases' tables for this key live in the same shard.
    let mut shard = ctx.server.keyspace.lock(key);
    if !shard.exists(src_db, key, now) || shard.exists(dst_db, key, now) {
        ctx.out.int(0);
        return Ok(());
    }
    let Some(entry) = shard.db(src_db).remove(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let expire = entry.expire();
    shard
        .db(dst_db)
        .insert_entry(key.into(), entry.value, expire, entry.lru);
    shard.modified(src_db, key);
    shard.modified(dst_db, key);
    let ps = &ctx.server.pubsub;
    notify(ps, GENERIC, "move_from", src_db, key);
    notify(ps, GENERIC, "move_to", dst_db, key);
    ctx.out.int(1);
    Ok(())
}

fn keys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, pattern) = (ctx.db(), ctx.now, &args[1]);
    let all = pattern == b"*";
    let at = ctx.out.begin_deferred();
    let mut n = 0;
    // One shard at a time: other clients keep running between shards.
    for i in 0..NSHARDS {
        let shard = ctx.server.keyspace.lock_shard(i);
        for (k, e) in shard.db_ref(db).iter() {
            if !e.is_expired(now) && (all || glob::matches(pattern, k, false)) {
                ctx.out.bulk(k);
                n += 1;
            }
        }
    }
    ctx.out.end_array(at, n);
    Ok(())
}

/// SCAN's cursor packs the shard index (low bits) with the position cursor of
/// that shard's table (see `Table::scan`).
fn scan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = super::args::scan_cursor(&args[1])?;
    let super::args::ScanOpts {
        pattern,
        count,
        type_filter,
    } = super::args::scan_opts(&args, 2, true)?;
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard_idx = (cursor % NSHARDS as u64) as usize;
    let mut table_cursor = cursor / NSHARDS as u64;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut expired: Vec<Vec<u8>> = Vec::new();
    // Expired keys passed are deleted (and propagated), as Redis's SCAN
    // expires them; not while expiry is held (CLIENT PAUSE, a replica).
    let reclaim = !ctx.server.keyspace.held(now);
    let mut visited = 0;
    let next = loop {
        let mut shard = ctx.server.keyspace.lock_shard(shard_idx);
        table_cursor = shard
            .db_ref(db)
            .scan(table_cursor, count - visited, |k, e| {
                visited += 1;
                if e.is_expired(now) {
                    if reclaim {
                        expired.push(k.to_vec());
                    }
                    return;
                }
                if let Some(p) = pattern {
                    if !glob::matches(p, k, false) {
                        return;
                    }
                }
                if let Some(t) = type_filter {
                    if !t.eq_ignore_ascii_case(e.value.type_name().as_bytes()) {
                        return;
                    }
                }
                found.push(k.to_vec());
            });
        for k in expired.drain(..) {
            // (Through the lookup: it deletes, counts and logs the DEL.)
            shard.exists(db, &k, now);
        }
        drop(shard);
        if table_cursor == 0 {
            shard_idx += 1;
            if shard_idx == NSHARDS {
                break 0;
            }
        }
        if visited >= count {
            break table_cursor * NSHARDS as u64 + shard_idx as u64;
        }
    };
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    // Random shards first (cheap when the keyspace is not tiny), then a sweep
    // from a random start so a single key is still found.
    let start = rand_below(NSHARDS);
    for attempt in 0..(2 * NSHARDS) {
        let i = if attempt < NSHARDS {
            rand_below(NSHARDS)
        } else {
            (start + attempt) % NSHARDS
        };
        let mut shard = ctx.server.keyspace.lock_shard(i);
        // Skip (and reclaim) expired keys a bounded number of times; while
        // expiry is held (CLIENT PAUSE, a replica) they are only skipped.
        let reclaim = !ctx.server.keyspace.held(now);
        for _ in 0..16 {
            let Some(pos) = shard.db_ref(db).random_position() else {
                break;
            };
            let table: &mut Table = shard.db(db);
            let expired = table.at(pos).is_some_and(|(_, e)| e.is_expired(now));
            if expired {
                if reclaim {
                    let (k, gone) = table.remove_at(pos);
                    let why = crate::persist::aof::log::Deletion::Expired;
                    crate::persist::aof::log::deleted(&shard.log, db, &k, why);
                    crate::keyspace::free_deleted(&shard.log, why, gone);
                    shard.expired(db, &k);
                }
                continue;
            }
            if let Some((k, _)) = shard.db_ref(db).at(pos) {
                ctx.out.bulk(k);
                return Ok(());
            }
        }
    }
    ctx.out.null();
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let n = ctx.server.keyspace.dbsize(ctx.db());
    ctx.out.int(n as i64);
    Ok(())
}

/// `[ASYNC | SYNC]` of FLUSHDB/FLUSHALL: true for ASYNC.
fn flush_mode(ctx: &Ctx<'_>, args: Args<'_>) -> Result<bool, CmdError> {
    match args.len() {
        // Neither: `lazyfree-lazy-user-flush` decides, as in Redis.
        1 => Ok(ctx.server.config.read(|c| c.lazyfree_lazy_user_flush)),
        2 if is(&args[1], "async") => Ok(true),
        2 if is(&args[1], "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

/// Empty the given databases in every shard; ASYNC frees the old tables on a
/// background thread so the command returns at once.
fn flush(ctx: &mut Ctx<'_>, dbs: std::ops::Range<usize>, asynchronous: bool) {
    let mut old: Vec<Table> = Vec::new();
    {
        let mut all = ctx.server.keyspace.lock_all();
        for shard in all.shards() {
            let mut removed = 0;
            for db in dbs.clone() {
                shard.db_flushing(db, ctx.now);
                removed += shard.db(db).len() as u64;
                // Empty when a running snapshot took the contents over.
                let t = shard.db(db).take();
                if !t.is_empty() {
                    old.push(t);
                }
            }
            shard.stats.dirty += removed;
        }
        // Logged even when nothing was there, as Redis does.
        crate::persist::aof::log::touched(ctx.server.keyspace.log());
    }
    crate::tracking::Tracking::flushed(&ctx.server.pubsub);
    if asynchronous && !old.is_empty() {
        let keys: u64 = old.iter().map(|t| t.len() as u64).sum();
        crate::lazyfree::free_later(old, keys);
    }
    ctx.out.ok();
}

fn flushdb(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let asynchronous = flush_mode(ctx, args)?;
    let db = ctx.db();
    flush(ctx, db..db + 1, asynchronous);
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let asynchronous = flush_mode(ctx, args)?;
    let n = ctx.server.keyspace.ndbs();
    flush(ctx, 0..n, asynchronous);
    crate::persist::save::after_flushall(ctx.server);
    Ok(())
}

fn swapdb(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let ndbs = ctx.server.keyspace.ndbs();
    let parse = |arg: &[u8], which: &'static str| -> Result<usize, CmdError> {
        let v = parse_i64(arg)
            .filter(|v| (i32::MIN as i64..=i32::MAX as i64).contains(v))
            .ok_or_else(|| CmdError::err(which))?;
        if v < 0 || v as usize >= ndbs {
            return Err(CmdError::DbIndexOutOfRange);
        }
        Ok(v as usize)
    };
    let a = parse(&args[1], "invalid first DB index")?;
    let b = parse(&args[2], "invalid second DB index")?;
    if a != b {
        let mut all = ctx.server.keyspace.lock_all();
        for shard in all.shards() {
            shard.dbs_swapping(a, b, ctx.now);
            shard.dbs_mut().swap(a, b);
            shard.stats.dirty += 1;
            shard.db_swapped(a);
            shard.db_swapped(b);
        }
        crate::persist::aof::log::touched(ctx.server.keyspace.log());
    }
    ctx.out.ok();
    Ok(())
}

/// The entry's value for OBJECT subcommands, without touching its access time.
fn object_lookup<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&crate::keyspace::Entry) -> R,
) -> Option<R> {
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard = ctx.server.keyspace.lock(key);
    // Through `exists` so an expired key is reclaimed (and logged) as such.
    if !shard.exists(db, key, now) {
        return None;
    }
    shard.db(db).get_mut(key, now).map(|e| f(e))
}

fn object_encoding(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    match object_lookup(ctx, &args[2], |e| e.value.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now;
    let Some(bits) = object_lookup(ctx, &args[2], |e| e.lru) else {
        ctx.out.null();
        return Ok(());
    };
    if !ctx.server.config.policy().is_lfu() {
        return Err(CmdError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    ctx.out
        .int(crate::keyspace::access::lfu_decayed(bits, now) as i64);
    Ok(())
}

fn object_idletime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now;
    let Some(bits) = object_lookup(ctx, &args[2], |e| e.lru) else {
        ctx.out.null();
        return Ok(());
    };
    if ctx.server.config.policy().is_lfu() {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    ctx.out
        .int((crate::keyspace::access::lru_idle_ms(bits, now) / 1000) as i64);
    Ok(())
}

/// OBJECT REFCOUNT's answer: Redis shares the integers 0..10000 between
/// keys (refcount INT_MAX) unless maxmemory is set with an LRU/LFU policy
/// (each key then needs its own access data); every other value has a
/// single owner. (Redis decides when the value is stored; this answers by
/// the settings in force.)
pub fn refcount(server: &crate::server::Server, value: &Value) -> i64 {
    let shared = server.config.maxmemory() == 0 || !server.config.policy().tracks_access();
    match value {
        Value::Str(Str::Int(n)) if shared && (0..10000).contains(n) => i32::MAX as i64,
        _ => 1,
    }
}

fn object_refcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let server = ctx.server;
    match object_lookup(ctx, &args[2], |e| refcount(server, &e.value)) {
        Some(n) => ctx.out.int(n),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
