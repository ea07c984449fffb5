//! `cmsgpack`: lua-cmsgpack's pack, unpack, unpack_one and unpack_limit.

use super::{as_num, fail, one};
use mlua::{Lua, MultiValue, Table, Value};

pub fn register(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let mp = lua.create_table()?;
    mp.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return fail(lua, "MessagePack pack needs input.");
            }
            let mut out = Vec::new();
            for a in args.iter() {
                mp_encode(a, &mut out, 0);
            }
            one(Value::String(lua.create_string(&out)?))
        })?,
    )?;
    mp.raw_set(
        "unpack",
        lua.create_function(|lua, s: Value| {
            let Value::String(s) = s else {
                return fail(lua, "bad argument #1 to 'unpack' (string expected)");
            };
            unpack(lua, &s.as_bytes(), None, 0)
        })?,
    )?;
    mp.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| unpack_some(lua, &args, "unpack_one", false))?,
    )?;
    mp.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| unpack_some(lua, &args, "unpack_limit", true))?,
    )?;
    raw.raw_set("cmsgpack", mp)?;
    Ok(())
}

/// Decode values from `offset` on: all of them (`limit` None), or at most
/// `limit`, then preceded by where to go on (-1: the input is used up).
fn unpack(lua: &Lua, b: &[u8], limit: Option<usize>, offset: usize) -> mlua::Result<MultiValue> {
    let mut pos = offset;
    let mut vals = Vec::new();
    while pos < b.len() && limit.is_none_or(|l| vals.len() < l) {
        match mp_decode(lua, b, &mut pos, 0) {
            Ok(v) => vals.push(v),
            Err(e) => return fail(lua, e),
        }
    }
    if limit.is_some() {
        let next = if pos >= b.len() { -1 } else { pos as i64 };
        vals.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_iter(vals))
}

/// unpack_one(s [, offset]) and unpack_limit(s, limit [, offset]).
fn unpack_some(
    lua: &Lua,
    args: &MultiValue,
    name: &str,
    with_limit: bool,
) -> mlua::Result<MultiValue> {
    let Some(Value::String(s)) = args.front() else {
        return fail(
            lua,
            &format!("bad argument #1 to '{name}' (string expected)"),
        );
    };
    let int_arg = |i: usize, default: Option<f64>| -> Result<i64, String> {
        match args.get(i) {
            None | Some(Value::Nil) if default.is_some() => Ok(default.unwrap_or(0.0) as i64),
            Some(v) => as_num(v)
                .map(|n| n as i64)
                .ok_or_else(|| format!("bad argument #{} to '{name}' (number expected)", i + 1)),
            None => Err(format!(
                "bad argument #{} to '{name}' (number expected, got no value)",
                i + 1
            )),
        }
    };
    let (limit, offset) = if with_limit {
        (int_arg(1, None), int_arg(2, Some(0.0)))
    } else {
        (Ok(1), int_arg(1, Some(0.0)))
    };
    let (limit, offset) = match (limit, offset) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(e), _) | (_, Err(e)) => return fail(lua, &e),
    };
    let b = s.as_bytes();
    let len = b.len() as i64;
    if offset < 0 || limit < 0 {
        // lua-cmsgpack prints the input length where it says limit.
        return fail(
            lua,
            &format!("Invalid request to unpack with offset of {offset} and limit of {len}."),
        );
    }
    if offset > len {
        return fail(
            lua,
            &format!("Start offset {offset} greater than input length {len}."),
        );
    }
    // Limit 0 at offset 0 decodes everything, with no offset in front.
    let limit = (limit != 0 || offset != 0).then_some(limit as usize);
    unpack(lua, &b, limit, offset as usize)
}

fn mp_len(out: &mut Vec<u8>, n: usize, fix: u8, fixmax: usize, b8: Option<u8>, b16: u8, b32: u8) {
    if n < fixmax {
        out.push(fix | n as u8);
    } else if let (Some(c), true) = (b8, n <= 0xff) {
        out.push(c);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn mp_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        let u = n as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_number(out: &mut Vec<u8>, n: f64) {
    if n.is_finite() && n.fract() == 0.0 && (-9.2e18..=1.8e19).contains(&n) {
        if n >= 9.2e18 {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        } else {
            mp_int(out, n as i64);
        }
    } else if (n as f32) as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_encode(v: &Value, out: &mut Vec<u8>, depth: usize) {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => mp_int(out, *i),
        Value::Number(n) => mp_number(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
            mp_len(out, b.len(), 0xa0, 32, Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < 16 => {
            // An array when the keys are exactly 1..n.
            let mut count = 0usize;
            let mut max = 0usize;
            let mut array = true;
            for (k, _) in t.pairs::<Value, Value>().flatten() {
                count += 1;
                match k {
                    Value::Integer(i) if i >= 1 => max = max.max(i as usize),
                    Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n as usize),
                    _ => array = false,
                }
            }
            if array && max == count {
                mp_len(out, count, 0x90, 16, None, 0xdc, 0xdd);
                for i in 1..=count {
                    let e: Value = t.raw_get(i).unwrap_or(Value::Nil);
                    mp_encode(&e, out, depth + 1);
                }
            } else {
                mp_len(out, count, 0x80, 16, None, 0xde, 0xdf);
                for (k, val) in t.pairs::<Value, Value>().flatten() {
                    mp_encode(&k, out, depth + 1);
                    mp_encode(&val, out, depth + 1);
                }
            }
        }
        _ => out.push(0xc0),
    }
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], &'static str> {
    let end = pos.checked_add(n).filter(|&e| e <= b.len());
    match end {
        Some(e) => {
            let s = &b[*pos..e];
            *pos = e;
            Ok(s)
        }
        None => Err("Missing bytes in input."),
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
}

fn mp_decode(lua: &Lua, b: &[u8], pos: &mut usize, depth: usize) -> Result<Value, &'static str> {
    if depth > 1000 {
        return Err("Bad data format in input.");
    }
    let c = take(b, pos, 1)?[0];
    let le = |_| "Bad data format in input.";
    let string = |lua: &Lua, s: &[u8]| lua.create_string(s).map(Value::String).map_err(le);
    let array = |lua: &Lua, pos: &mut usize, n: usize| -> Result<Value, &'static str> {
        let t = lua.create_table().map_err(le)?;
        for i in 0..n {
            let v = mp_decode(lua, b, pos, depth + 1)?;
            t.raw_set(i + 1, v).map_err(le)?;
        }
        Ok(Value::Table(t))
    };
    let map = |lua: &Lua, pos: &mut usize, n: usize| -> Result<Value, &'static str> {
        let t = lua.create_table().map_err(le)?;
        for _ in 0..n {
            let k = mp_decode(lua, b, pos, depth + 1)?;
            let v = mp_decode(lua, b, pos, depth + 1)?;
            if !k.is_nil() {
                t.raw_set(k, v).map_err(le)?;
            }
        }
        Ok(Value::Table(t))
    };
    Ok(match c {
        0x00..=0x7f => Value::Number(c as f64),
        0x80..=0x8f => return map(lua, pos, (c & 0x0f) as usize),
        0x90..=0x9f => return array(lua, pos, (c & 0x0f) as usize),
        0xa0..=0xbf => {
            let s = take(b, pos, (c & 0x1f) as usize)?;
            string(lua, s)?
        }
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let n = take(b, pos, 1)?[0] as usize;
            string(lua, take(b, pos, n)?)?
        }
        0xc5 | 0xda => {
            let n = be(take(b, pos, 2)?) as usize;
            string(lua, take(b, pos, n)?)?
        }
        0xc6 | 0xdb => {
            let n = be(take(b, pos, 4)?) as usize;
            string(lua, take(b, pos, n)?)?
        }
        0xca => {
            let v = f32::from_bits(be(take(b, pos, 4)?) as u32);
            Value::Number(v as f64)
        }
        0xcb => {
            let v = f64::from_bits(be(take(b, pos, 8)?));
            Value::Number(v)
        }
        0xcc => Value::Number(be(take(b, pos, 1)?) as f64),
        0xcd => Value::Number(be(take(b, pos, 2)?) as f64),
        0xce => Value::Number(be(take(b, pos, 4)?) as f64),
        0xcf => Value::Number(be(take(b, pos, 8)?) as f64),
        0xd0 => Value::Number(be(take(b, pos, 1)?) as u8 as i8 as f64),
        0xd1 => Value::Number(be(take(b, pos, 2)?) as u16 as i16 as f64),
        0xd2 => Value::Number(be(take(b, pos, 4)?) as u32 as i32 as f64),
        0xd3 => Value::Number(be(take(b, pos, 8)?) as i64 as f64),
        0xdc => {
            let n = be(take(b, pos, 2)?) as usize;
            return array(lua, pos, n);
        }
        0xdd => {
            let n = be(take(b, pos, 4)?) as usize;
            return array(lua, pos, n);
        }
        0xde => {
            let n = be(take(b, pos, 2)?) as usize;
            return map(lua, pos, n);
        }
        0xdf => {
            let n = be(take(b, pos, 4)?) as usize;
            return map(lua, pos, n);
        }
        0xe0..=0xff => Value::Number(c as i8 as f64),
        _ => return Err("Bad data format in input."),
    })
}
