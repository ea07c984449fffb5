//! The libraries Redis gives scripts beyond Lua's own: `cjson`, `cmsgpack`,
//! `bit` (LuaBitOp) and `struct`, written here in Rust against their
//! documented behaviour.
//!
//! Errors: a library function that fails returns [`fail`], which raises the
//! message with the script's position in front, so it reaches the script
//! (or its `pcall`) exactly as the C libraries' `luaL_error` raises theirs,
//! without mlua's callback decoration (see `script::raise_here`).

mod bit;
pub mod cjson;
mod cmsgpack;
mod structlib;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

/// A failed call: raise `msg` at the script's line.
fn fail(lua: &Lua, msg: &str) -> mlua::Result<MultiValue> {
    Err(super::raise_here(lua, msg))
}

fn one(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([v]))
}

/// cjson.null: a NULL light userdata, as lua_cjson's.
pub fn json_null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        _ => "userdata",
    }
}

fn as_num(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => {
            let s = s.to_str().ok()?;
            let t = s.trim();
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
            }
            t.parse().ok()
        }
        _ => None,
    }
}

/// C's `%.<prec>g`.
pub fn fmt_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = prec.max(1);
    let e = format!("{:.*e}", p - 1, x);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip(mant), sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip(&format!("{:.*}", decimals, x))
    }
}

/// Register the four libraries' raw functions into `raw` (one table per
/// library); the engine wraps them and builds the read-only globals.
pub fn register(lua: &Lua, raw: &Table) -> mlua::Result<cjson::Settings> {
    let json = cjson::register(lua, raw)?;
    cmsgpack::register(lua, raw)?;
    raw.raw_set("bit", bit::lib(lua)?)?;
    raw.raw_set("struct", structlib::lib(lua)?)?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format() {
        assert_eq!(fmt_g(1.0, 14), "1");
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(1e20, 14), "1e+20");
        assert_eq!(fmt_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(fmt_g(0.00001, 14), "1e-05");
        assert_eq!(fmt_g(2.5e-3, 14), "0.0025");
    }
}
