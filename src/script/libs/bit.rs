//! `bit`: LuaBitOp 1.0.2 (32-bit operations on Lua numbers).

use super::{as_num, fail, one, type_name};
use mlua::{Lua, MultiValue, Table, Value};

/// LuaBitOp's argument normalisation: round to an integer, wrap to 32 bits.
fn tobit(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    let r = x.round_ties_even().rem_euclid(4294967296.0);
    r as u64 as u32 as i32
}

pub fn lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    fn arg(args: &MultiValue, i: usize, name: &str) -> Result<i32, String> {
        match args.get(i) {
            Some(v) => match as_num(v) {
                Some(n) => Ok(tobit(n)),
                None => Err(format!(
                    "bad argument #{} to '{}' (number expected, got {})",
                    i + 1,
                    name,
                    type_name(v)
                )),
            },
            None => Err(format!(
                "bad argument #{} to '{}' (number expected, got no value)",
                i + 1,
                name
            )),
        }
    }
    type Op = fn(&MultiValue, &'static str) -> Result<i32, String>;
    let ops: [(&'static str, Op); 11] = [
        ("tobit", |a, n| arg(a, 0, n)),
        ("bnot", |a, n| arg(a, 0, n).map(|x| !x)),
        ("band", |a, n| fold(a, n, |x, y| x & y)),
        ("bor", |a, n| fold(a, n, |x, y| x | y)),
        ("bxor", |a, n| fold(a, n, |x, y| x ^ y)),
        ("lshift", |a, n| {
            Ok(((arg(a, 0, n)? as u32) << (arg(a, 1, n)? & 31)) as i32)
        }),
        ("rshift", |a, n| {
            Ok(((arg(a, 0, n)? as u32) >> (arg(a, 1, n)? & 31)) as i32)
        }),
        ("arshift", |a, n| Ok(arg(a, 0, n)? >> (arg(a, 1, n)? & 31))),
        ("rol", |a, n| {
            Ok((arg(a, 0, n)? as u32).rotate_left((arg(a, 1, n)? & 31) as u32) as i32)
        }),
        ("ror", |a, n| {
            Ok((arg(a, 0, n)? as u32).rotate_right((arg(a, 1, n)? & 31) as u32) as i32)
        }),
        ("bswap", |a, n| Ok(arg(a, 0, n)?.swap_bytes())),
    ];
    fn fold(a: &MultiValue, name: &str, f: fn(i32, i32) -> i32) -> Result<i32, String> {
        let mut acc = arg(a, 0, name)?;
        for i in 1..a.len() {
            acc = f(acc, arg(a, i, name)?);
        }
        Ok(acc)
    }
    for (name, op) in ops {
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| match op(&args, name) {
                Ok(v) => one(Value::Number(v as f64)),
                Err(e) => fail(lua, &e),
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let x = match arg(&args, 0, "tohex") {
                Ok(x) => x as u32,
                Err(e) => return fail(lua, &e),
            };
            let n = if args.len() > 1 {
                match arg(&args, 1, "tohex") {
                    Ok(n) => n,
                    Err(e) => return fail(lua, &e),
                }
            } else {
                8
            };
            let upper = n < 0;
            let n = n.unsigned_abs().min(8) as usize;
            let s = if upper {
                format!("{:08X}", x)
            } else {
                format!("{:08x}", x)
            };
            one(Value::String(lua.create_string(&s[8 - n..])?))
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn bits() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
    }
}
