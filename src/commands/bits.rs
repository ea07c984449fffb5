//! Bitmap commands over string values: SETBIT GETBIT BITCOUNT BITPOS BITOP.
//! Bit 0 is the most significant bit of byte 0, as in Redis.

use super::args::{int, is};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::{GENERIC, STRING};
use crate::protocol::{parse_i64, Args};
use crate::types::{Str, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("setbit", 4, setbit)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("2.2.0", "O(1)", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", "key offset value"),
    Command::new("getbit", 3, getbit)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("2.2.0", "O(1)", "Returns a bit value by offset.", "key offset"),
    Command::new("bitcount", -2, bitcount)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("2.6.0", "O(N)", "Counts the number of set bits (population counting) in a string.", "key [start end [BYTE | BIT]]"),
    Command::new("bitpos", -3, bitpos)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("2.8.7", "O(N)", "Finds the first set (1) or clear (0) bit in a string.", "key bit [start [end [BYTE | BIT]]]"),
    Command::new("bitop", -4, bitop)
        .flags(WRITE | DENYOOM)
        .keys(2, -1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("2.6.0", "O(N)", "Performs bitwise operations on multiple strings, and stores the result.", "<AND | OR | XOR | NOT> destkey key [key ...]"),
    Command::new("bitfield", -2, bitfield)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("3.2.0", "O(1) for each subcommand specified", "Performs arbitrary bitfield integer operations on strings.", "key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value | INCRBY encoding offset increment ...]"),
    Command::new("bitfield_ro", -2, bitfield_ro)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::BITMAP)
        .group("bitmap")
        .doc("6.0.0", "O(1) for each subcommand specified", "Performs arbitrary read-only bitfield integer operations on strings.", "key [GET encoding offset [GET encoding offset ...]]"),
];

/// A bit offset argument: non-negative and within `proto-max-bulk-len` bytes.
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("bit offset is not an integer or out of range");
    let v = parse_i64(arg).ok_or_else(bad)?;
    if v < 0 || (v as u64 >> 3) >= ctx.server.config.proto_max_bulk_len() {
        return Err(bad());
    }
    Ok(v as u64)
}

fn setbit(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let offset = bit_offset(ctx, &args[2])?;
    let on = match parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let mut shard = ctx.server.keyspace.lock(key);
    // Redis signals nothing when the bit (and the length) stays the same.
    let mut changed = true;
    let old = match shard.write(db, key, now) {
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            let bytes = s.make_raw();
            let grows = bytes.len() <= byte;
            if grows {
                crate::types::Str::reserve_like_sds(bytes, byte + 1);
                bytes.resize(byte + 1, 0);
            }
            let old = bytes[byte] & mask != 0;
            changed = grows || old != on;
            if on {
                bytes[byte] |= mask;
            } else {
                bytes[byte] &= !mask;
            }
            old
        }
        None => {
            let mut bytes = vec![0u8; byte + 1];
            if on {
                bytes[byte] |= mask;
            }
            shard
                .db(db)
                .insert(key, Value::Str(Str::Raw(bytes)), NO_EXPIRE, now);
            false
        }
    };
    if changed {
        shard.modified(db, key);
        ctx.notify(STRING, "setbit", key);
    }
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let offset = bit_offset(ctx, &args[2])?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let bit = match shard.read(db, key, now).map(|e| &e.value) {
        None => 0,
        Some(Value::Str(s)) => s.with_bytes(|b| {
            b.get((offset >> 3) as usize)
                .map_or(0, |&x| (x >> (7 - (offset & 7))) & 1)
        }),
        Some(_) => return Err(CmdError::WrongType),
    };
    ctx.out.int(bit as i64);
    Ok(())
}

/// A byte range plus masks for partial first/last bytes (BIT ranges).
struct Span {
    start: usize,
    end: usize,
    /// Bits of the first byte that lie before the range.
    first_out: u8,
    /// Bits of the last byte that lie after the range.
    last_out: u8,
}

/// Normalise a `start end [BYTE|BIT]` range over a string of `len` bytes, as
/// BITCOUNT and BITPOS do. None when the range is empty.
fn span(start: i64, end: i64, bit: bool, len: usize) -> Option<Span> {
    let total = if bit { len as i64 * 8 } else { len as i64 };
    let fix = |v: i64| if v < 0 { (total + v).max(0) } else { v };
    let (start, mut end) = (fix(start), fix(end));
    if end >= total {
        end = total - 1;
    }
    if start > end || total == 0 {
        return None;
    }
    if bit {
        Some(Span {
            start: (start >> 3) as usize,
            end: (end >> 3) as usize,
            first_out: !(0xFFu8 >> (start & 7)),
            last_out: (1u16 << (7 - (end & 7))) as u8 - 1,
        })
    } else {
        Some(Span {
            start: start as usize,
            end: end as usize,
            first_out: 0,
            last_out: 0,
        })
    }
}

/// `BYTE` (false) or `BIT` (true).
fn unit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "byte") {
        Ok(false)
    } else if is(arg, "bit") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

fn bitcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    // A missing key counts 0 before the range is even parsed, as in Redis.
    let s = match shard.read(db, key, now).map(|e| &e.value) {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(Value::Str(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
    };
    let count = s.with_bytes(|b| -> Result<u64, CmdError> {
        let sp = match args.len() {
            2 => span(0, -1, false, b.len()),
            4 | 5 => {
                let (start, end) = (int(&args[2])?, int(&args[3])?);
                // Redis answers 0 for an inverted negative range before it
                // even looks at the unit argument.
                if start < 0 && end < 0 && start > end {
                    return Ok(0);
                }
                let bit = if args.len() == 5 {
                    unit(&args[4])?
                } else {
                    false
                };
                span(start, end, bit, b.len())
            }
            _ => return Err(CmdError::Syntax),
        };
        Ok(sp.map_or(0, |sp| {
            let ones: u64 = b[sp.start..=sp.end]
                .iter()
                .map(|x| x.count_ones() as u64)
                .sum();
            ones - (b[sp.start] & sp.first_out).count_ones() as u64
                - (b[sp.end] & sp.last_out).count_ones() as u64
        }))
    })?;
    ctx.out.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let want = match int(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    // A missing key is an endless run of zeros.
    let s = match shard.read(db, key, now).map(|e| &e.value) {
        None => {
            ctx.out.int(if want { -1 } else { 0 });
            return Ok(());
        }
        Some(Value::Str(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
    };
    let pos = s.with_bytes(|b| -> Result<i64, CmdError> {
        if args.len() > 6 {
            return Err(CmdError::Syntax);
        }
        let start = if args.len() >= 4 { int(&args[3])? } else { 0 };
        let end_given = args.len() >= 5;
        let end = if end_given { int(&args[4])? } else { -1 };
        let bit = if args.len() == 6 {
            unit(&args[5])?
        } else {
            false
        };
        let Some(sp) = span(start, end, bit, b.len()) else {
            return Ok(-1);
        };
        for (i, &byte) in b.iter().enumerate().take(sp.end + 1).skip(sp.start) {
            let mut x = byte;
            // Bits outside the range must never match.
            let out = if i == sp.start { sp.first_out } else { 0 }
                | if i == sp.end { sp.last_out } else { 0 };
            x = if want { x & !out } else { x | out };
            let found = if want { x } else { !x };
            if found != 0 {
                return Ok((i * 8) as i64 + found.leading_zeros() as i64);
            }
        }
        // Past the end: zeros continue forever unless the range was explicit.
        Ok(if !want && !end_given {
            ((sp.end + 1) * 8) as i64
        } else {
            -1
        })
    })?;
    ctx.out.int(pos);
    Ok(())
}

#[derive(Clone, Copy)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let op = if is(&args[1], "and") {
        Op::And
    } else if is(&args[1], "or") {
        Op::Or
    } else if is(&args[1], "xor") {
        Op::Xor
    } else if is(&args[1], "not") {
        Op::Not
    } else {
        return Err(CmdError::Syntax);
    };
    let sources = args.slice(3);
    if matches!(op, Op::Not) && sources.len() != 1 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let (db, now, dest) = (ctx.db(), ctx.now, &args[2]);
    let mut ml = ctx.server.keyspace.lock_keys(args.slice(2).iter());
    let mut inputs: Vec<Vec<u8>> = Vec::with_capacity(sources.len());
    for key in sources.iter() {
        match ml.shard(key).read(db, key, now).map(|e| &e.value) {
            None => inputs.push(Vec::new()),
            Some(Value::Str(s)) => inputs.push(s.to_vec()),
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    let len = inputs.iter().map(Vec::len).max().unwrap_or(0);
    let mut result = vec![0u8; len];
    for (i, r) in result.iter_mut().enumerate() {
        let byte = |v: &Vec<u8>| v.get(i).copied().unwrap_or(0);
        *r = match op {
            Op::Not => !byte(&inputs[0]),
            Op::And => inputs.iter().fold(0xFF, |acc, v| acc & byte(v)),
            Op::Or => inputs.iter().fold(0, |acc, v| acc | byte(v)),
            Op::Xor => inputs.iter().fold(0, |acc, v| acc ^ byte(v)),
        };
    }
    let shard = ml.shard(dest);
    if result.is_empty() {
        // An empty result deletes the destination.
        if shard.db(db).remove(dest).is_some() {
            shard.modified(db, dest);
            ctx.notify(GENERIC, "del", dest);
        }
    } else {
        shard
            .db(db)
            .insert(dest, Value::Str(Str::Raw(result)), NO_EXPIRE, now);
        shard.modified(db, dest);
        ctx.notify(STRING, "set", dest);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// What BITFIELD does when a SET or INCRBY leaves the field's range.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation on a field of `bits` bits at bit `offset`.
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let bad = || {
        CmdError::err(
            "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i' | b'I') => true,
        Some(b'u' | b'U') => false,
        _ => return Err(bad()),
    };
    let bits = parse_i64(&arg[1..]).ok_or_else(bad)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(bad());
    }
    Ok((signed, bits as u32))
}

/// `N` (bits) or `#N` (N fields of `bits`), within `proto-max-bulk-len`.
fn field_offset(ctx: &Ctx<'_>, arg: &[u8], bits: u32) -> Result<u64, CmdError> {
    let bad = || CmdError::err("bit offset is not an integer or out of range");
    let (mul, digits) = match arg.strip_prefix(b"#") {
        Some(rest) => (bits as i64, rest),
        None => (1, arg),
    };
    let v = parse_i64(digits)
        .and_then(|v| v.checked_mul(mul))
        .ok_or_else(bad)?;
    if v < 0 || (v as u64 >> 3) >= ctx.server.config.proto_max_bulk_len() {
        return Err(bad());
    }
    Ok(v as u64)
}

fn parse_fields(ctx: &Ctx<'_>, args: Args<'_>, read_only: bool) -> Result<Vec<Field>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i - 1;
        let opt = &args[i];
        if is(opt, "overflow") && left >= 1 {
            let v = &args[i + 1];
            overflow = if is(v, "wrap") {
                Overflow::Wrap
            } else if is(v, "sat") {
                Overflow::Sat
            } else if is(v, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        }
        let (op, need) = if is(opt, "get") && left >= 2 {
            (FieldOp::Get, 3)
        } else if is(opt, "set") && left >= 3 {
            (FieldOp::Set(0), 4)
        } else if is(opt, "incrby") && left >= 3 {
            (FieldOp::IncrBy(0), 4)
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&args[i + 1])?;
        let offset = field_offset(ctx, &args[i + 2], bits)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(int(&args[i + 3])?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(int(&args[i + 3])?),
        };
        if read_only && !matches!(op, FieldOp::Get) {
            return Err(CmdError::err(
                "BITFIELD_RO only supports the GET subcommand",
            ));
        }
        ops.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        i += need;
    }
    Ok(ops)
}

/// Read `bits` bits at bit `offset` (most significant first); missing bytes are 0.
fn read_field(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for k in 0..bits as u64 {
        let bit = offset + k;
        let byte = b.get((bit >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1) as u64;
    }
    v
}

fn write_field(b: &mut [u8], offset: u64, bits: u32, v: u64) {
    for k in 0..bits as u64 {
        let bit = offset + k;
        let on = (v >> (bits as u64 - 1 - k)) & 1 == 1;
        let mask = 0x80u8 >> (bit & 7);
        let byte = &mut b[(bit >> 3) as usize];
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// The field's value as a signed number (sign-extended) or unsigned.
fn field_value(raw: u64, signed: bool, bits: u32) -> i128 {
    if signed && bits < 64 && raw >> (bits - 1) & 1 == 1 {
        raw as i128 - (1i128 << bits)
    } else if signed {
        raw as i64 as i128
    } else {
        raw as i128
    }
}

/// Fit `v` into the field: None when it overflows under FAIL.
fn fit(v: i128, signed: bool, bits: u32, overflow: Overflow) -> Option<i128> {
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if (min..=max).contains(&v) {
        return Some(v);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if v > max { max } else { min }),
        Overflow::Wrap => {
            let m = v.rem_euclid(1i128 << bits);
            Some(if signed && m > max {
                m - (1i128 << bits)
            } else {
                m
            })
        }
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) -> CmdResult {
    let ops = parse_fields(ctx, args, read_only)?;
    let writes = ops.iter().any(|f| !matches!(f.op, FieldOp::Get));
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let mut results: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    if !writes {
        let empty = Str::Raw(Vec::new());
        let s = match shard.read(db, key, now).map(|e| &e.value) {
            None => &empty,
            Some(Value::Str(s)) => s,
            Some(_) => return Err(CmdError::WrongType),
        };
        s.with_bytes(|b| {
            for f in &ops {
                let v = field_value(read_field(b, f.offset, f.bits), f.signed, f.bits);
                results.push(Some(v as i64));
            }
        });
    } else {
        let needed = ops
            .iter()
            .filter(|f| !matches!(f.op, FieldOp::Get))
            .map(|f| ((f.offset + f.bits as u64 - 1) >> 3) as usize + 1)
            .max()
            .unwrap_or(0);
        let mut created = false;
        if shard.write(db, key, now).is_none() {
            shard
                .db(db)
                .insert(key, Value::Str(Str::Raw(Vec::new())), NO_EXPIRE, now);
            created = true;
        }
        let Some(e) = shard.write(db, key, now) else {
            return Err(CmdError::NoSuchKey);
        };
        let Value::Str(s) = &mut e.value else {
            return Err(CmdError::WrongType);
        };
        let b = s.make_raw();
        // As Redis's bitfieldGeneric: each write counts as a change when the
        // key was created or grew, or the field's value differs.
        let grew = created || b.len() < needed;
        if b.len() < needed {
            if !created {
                crate::types::Str::reserve_like_sds(b, needed);
            }
            b.resize(needed, 0);
        }
        let mut changes = 0u64;
        for f in &ops {
            let old = field_value(read_field(b, f.offset, f.bits), f.signed, f.bits);
            let (target, reply_old) = match f.op {
                FieldOp::Get => {
                    results.push(Some(old as i64));
                    continue;
                }
                // An unsigned SET takes the value's 64-bit pattern, as Redis does.
                FieldOp::Set(v) if !f.signed => (v as u64 as i128, true),
                FieldOp::Set(v) => (v as i128, true),
                FieldOp::IncrBy(d) => (old + d as i128, false),
            };
            match fit(target, f.signed, f.bits, f.overflow) {
                None => results.push(None),
                Some(new) => {
                    write_field(b, f.offset, f.bits, new as u64);
                    if grew || new != old {
                        changes += 1;
                    }
                    results.push(Some(if reply_old { old } else { new } as i64));
                }
            }
        }
        // A key created without a change is still recorded (and logged).
        if changes > 0 || created {
            shard.modified(db, key);
            shard.stats.dirty += changes.saturating_sub(1);
            ctx.notify(STRING, "setbit", key);
        }
    }
    ctx.out.array(results.len());
    for r in results {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, true)
}
