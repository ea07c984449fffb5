//! HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST, over
//! string values in Redis's layout (types::hll).

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::STRING;
use crate::protocol::Args;
use crate::types::hll::{self, Corrupt, REGISTERS};
use crate::types::{Str, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", -2, pfadd)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::HYPERLOGLOG)
        .group("hyperloglog")
        .doc("2.8.9", "O(1) to add every element.", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", "key [element [element ...]]"),
    Command::new("pfcount", -2, pfcount)
        .flags(READONLY | MAY_REPLICATE)
        .keys(1, -1, 1)
        .acl(acl::HYPERLOGLOG)
        .group("hyperloglog")
        .doc("2.8.9", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", "key [key ...]"),
    Command::new("pfmerge", -2, pfmerge)
        .flags(WRITE | DENYOOM)
        .keys(1, -1, 1)
        .acl(acl::HYPERLOGLOG)
        .group("hyperloglog")
        .doc("2.8.9", "O(N) to merge N HyperLogLogs, but with high constant times.", "Merges one or more HyperLogLog values into a single key.", "destkey [sourcekey [sourcekey ...]]"),
    Command::new("pfdebug", 3, pfdebug)
        .flags(WRITE | DENYOOM | ADMIN)
        .keys(2, 2, 1)
        .acl(acl::HYPERLOGLOG)
        .group("hyperloglog")
        .doc("2.8.9", "N/A", "Internal commands for debugging HyperLogLog values.", "subcommand key"),
    Command::new("pfselftest", 1, pfselftest)
        .flags(ADMIN)
        .acl(acl::HYPERLOGLOG)
        .group("hyperloglog")
        .doc("2.8.9", "N/A", "An internal command for testing HyperLogLog values.", ""),
];

/// A string that is not a sketch (Redis's text, its own code).
fn not_hll() -> CmdError {
    CmdError::coded("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt(_: Corrupt) -> CmdError {
    CmdError::coded("INVALIDOBJ Corrupted HLL object detected")
}

/// The sketch in a value, for reading: WRONGTYPE for other types, and for
/// strings that are not sketches (an integer-encoded string never is).
fn sketch(value: &Value) -> Result<&[u8], CmdError> {
    match value {
        Value::Str(Str::Bytes(b) | Str::Raw(b)) if hll::is_hll(b) => Ok(b),
        Value::Str(_) => Err(not_hll()),
        _ => Err(CmdError::WrongType),
    }
}

/// The sketch in a value, for changing it in place (the string becomes
/// `raw`, as Redis unshares it).
fn sketch_mut(value: &mut Value) -> Result<&mut Vec<u8>, CmdError> {
    sketch(value)?;
    match value {
        Value::Str(s) => Ok(s.make_raw()),
        _ => Err(CmdError::WrongType),
    }
}

fn pfadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let sparse_max = ctx.server.config.hll_sparse_max();
    let mut shard = ctx.server.keyspace.lock(key);
    // Changes, as Redis counts them toward save points: one per register
    // raised, one more for a new key.
    let mut updated = 0u64;
    match shard.write(db, key, now) {
        Some(e) => {
            let v = sketch_mut(&mut e.value)?;
            for ele in args.slice(2).iter() {
                match hll::add(v, ele, sparse_max) {
                    Ok(changed) => updated += changed as u64,
                    // Redis answers the error; what was added stays.
                    Err(c) => return Err(corrupt(c)),
                }
            }
            if updated > 0 {
                hll::invalidate(v);
            }
        }
        None => {
            let mut v = hll::new_sparse();
            updated = 1;
            for ele in args.slice(2).iter() {
                // A fresh sketch is well formed: adding cannot fail.
                updated += hll::add(&mut v, ele, sparse_max).unwrap_or(false) as u64;
            }
            hll::invalidate(&mut v);
            shard
                .db(db)
                .insert(key, Value::Str(Str::Raw(v)), NO_EXPIRE, now);
        }
    }
    if updated > 0 {
        shard.modified(db, key);
        shard.stats.dirty += updated - 1;
        ctx.notify(STRING, "pfadd", key);
    }
    ctx.out.int((updated > 0) as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    if args.len() > 2 {
        // The union of several sketches; nothing is cached.
        let keys = args.slice(1);
        let mut ml = ctx.server.keyspace.lock_keys(keys.iter());
        let mut max = vec![0u8; REGISTERS];
        for key in keys.iter() {
            if let Some(e) = ml.shard(key).read(db, key, now) {
                hll::merge_into(&mut max, sketch(&e.value)?).map_err(corrupt)?;
            }
        }
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = &args[1];
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(e) = shard.read(db, key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let v = sketch_mut(&mut e.value)?;
    if let Some(card) = hll::cached(v) {
        ctx.out.int(card as i64);
        return Ok(());
    }
    let card = hll::count(v).map_err(corrupt)?;
    hll::set_cache(v, card);
    // The cache is a change of the value (Redis propagates this PFCOUNT).
    shard.modified(db, key);
    ctx.out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, dest) = (ctx.db(), ctx.now, &args[1]);
    let sparse_max = ctx.server.config.hll_sparse_max();
    let keys = args.slice(1);
    let mut ml = ctx.server.keyspace.lock_keys(keys.iter());
    let mut max = vec![0u8; REGISTERS];
    let mut dense = false;
    for key in keys.iter() {
        if let Some(e) = ml.shard(key).read(db, key, now) {
            let v = sketch(&e.value)?;
            dense |= !hll::is_sparse(v);
            hll::merge_into(&mut max, v).map_err(corrupt)?;
        }
    }
    let shard = ml.shard(dest);
    if shard.write(db, dest, now).is_none() {
        shard.db(db).insert(
            dest,
            Value::Str(Str::Raw(hll::new_sparse())),
            NO_EXPIRE,
            now,
        );
    }
    let Some(e) = shard.write(db, dest, now) else {
        return Err(CmdError::err("PFMERGE destination vanished"));
    };
    let v = sketch_mut(&mut e.value)?;
    if dense {
        hll::to_dense(v).map_err(corrupt)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // The sources were checked; a sparse destination may turn dense.
            let _ = hll::set(v, i, m, sparse_max);
        }
    }
    hll::invalidate(v);
    shard.modified(db, dest);
    ctx.notify(STRING, "pfadd", dest);
    ctx.out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[2]);
    let sub = &args[1];
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(e) = shard.write(db, key, now) else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let v = sketch_mut(&mut e.value)?;
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    if is(b"getreg") {
        let converted = hll::to_dense(v).map_err(corrupt)?;
        ctx.out.array(REGISTERS);
        for i in 0..REGISTERS {
            ctx.out.int(hll::dense_get(&v[hll::HDR..], i) as i64);
        }
        if converted {
            // Logged (Redis forces propagation), but no key event.
            shard.dirtied();
        }
    } else if is(b"decode") {
        if !hll::is_sparse(v) {
            return Err(CmdError::err("HLL encoding is not sparse"));
        }
        ctx.out.bulk(hll::decode(v).as_bytes());
    } else if is(b"encoding") {
        ctx.out
            .simple(if hll::is_sparse(v) { "sparse" } else { "dense" });
    } else if is(b"todense") {
        let converted = hll::to_dense(v).map_err(corrupt)?;
        if converted {
            // Logged (Redis forces propagation), but no key event.
            shard.dirtied();
        }
        ctx.out.int(converted as i64);
    } else {
        return Err(CmdError::err(format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// PFSELFTEST: the dense register packing, then sparse and dense sketches
/// fed the same ten million elements, which must agree, and whose estimate
/// must stay within six standard errors at each power of ten.
fn pfselftest(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    match selftest(ctx.server.config.hll_sparse_max()) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(why) => Err(CmdError::coded(format!("TESTFAILED {why}"))),
    }
}

fn selftest(sparse_max: usize) -> Result<(), String> {
    let mut seed = crate::util::now_ms() | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut dense = hll::new_sparse();
    hll::to_dense(&mut dense).map_err(|_| "dense conversion failed")?;
    let mut want = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        let regs = &mut dense[hll::HDR..];
        for (i, w) in want.iter_mut().enumerate() {
            *w = (rand() & 63) as u8;
            hll::dense_put(regs, i, *w);
        }
        for (i, &w) in want.iter().enumerate() {
            let got = hll::dense_get(regs, i);
            if got != w {
                return Err(format!("Register {i} should be {w} but is {got}"));
            }
        }
    }
    dense[hll::HDR..].fill(0);
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let salt = rand();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ salt).to_le_bytes();
        let _ = hll::add(&mut dense, &ele, sparse_max);
        let _ = hll::add(&mut sparse, &ele, sparse_max);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max / 2 && !hll::is_sparse(&sparse) {
            return Err("sparse encoding not used".into());
        }
        let d = hll::count(&dense).map_err(|_| "dense count failed")?;
        if hll::count(&sparse).ok() != Some(d) {
            return Err("dense/sparse disagree".into());
        }
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        let abserr = checkpoint.abs_diff(d);
        if abserr > maxerr {
            return Err(format!("Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}
