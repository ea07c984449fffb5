//! The libraries Redis gives scripts beyond Lua's own: `cjson`, `cmsgpack`,
//! `bit` (LuaBitOp) and `struct`, written here in Rust against their
//! documented behaviour.
//!
//! Errors: a library function that fails returns [`fail`]'s marker and a
//! message; the Lua wrapper the engine puts around each function raises it
//! with `error(msg, 0)`, so the message reaches the script (or its `pcall`)
//! exactly as the C libraries raise theirs, without mlua's callback
//! decoration.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

/// Address whose light userdata marks a failed library call.
static FAIL_MARK: u8 = 0;

pub fn fail_marker() -> Value {
    Value::LightUserData(LightUserData(
        &FAIL_MARK as *const u8 as *mut std::ffi::c_void,
    ))
}

/// A failed call: marker + message.
fn fail(lua: &Lua, msg: &str) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([
        fail_marker(),
        Value::String(lua.create_string(msg)?),
    ]))
}

fn one(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([v]))
}

/// cjson.null: a NULL light userdata, as lua_cjson's.
pub fn json_null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn type_name(v: &Value) -> &'static str {
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
pub fn register(lua: &Lua, raw: &Table) -> mlua::Result<()> {
    let cjson = lua.create_table()?;
    cjson.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            match json_encode(&v, &mut out, 0) {
                Ok(()) => one(Value::String(lua.create_string(&out)?)),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    cjson.raw_set(
        "decode",
        lua.create_function(|lua, s: Value| {
            let s = match s {
                Value::Integer(i) => lua.create_string(i.to_string())?,
                Value::Number(n) => lua.create_string(fmt_g(n, 14))?,
                Value::String(s) => s,
                other => {
                    return fail(
                        lua,
                        &format!(
                            "bad argument #1 to 'decode' (string expected, got {})",
                            type_name(&other)
                        ),
                    )
                }
            };
            let b = s.as_bytes();
            let mut p = JsonParser { s: &b, i: 0 };
            match p.document(lua) {
                Ok(v) => one(v),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    cjson.raw_set("null", json_null())?;
    raw.raw_set("cjson", cjson)?;

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
            let b = s.as_bytes();
            let mut pos = 0;
            let mut vals = Vec::new();
            while pos < b.len() {
                match mp_decode(lua, &b, &mut pos, 0) {
                    Ok(v) => vals.push(v),
                    Err(e) => return fail(lua, e),
                }
            }
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    raw.raw_set("cmsgpack", mp)?;

    raw.raw_set("bit", bit_lib(lua)?)?;
    raw.raw_set("struct", struct_lib(lua)?)?;
    Ok(())
}

// ---------------------------------------------------------------- cjson

fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{:04x}", c).as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(fmt_g(n, 14).as_bytes());
    Ok(())
}

fn json_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => json_number(*i as f64, out)?,
        Value::Number(n) => json_number(*n, out)?,
        Value::String(s) => json_string(&s.as_bytes(), out),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            if depth >= 1000 {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            // An array when every key is a positive integer (and not too
            // sparse, as cjson's default encode_sparse_array 2/10).
            let mut max = 0usize;
            let mut items = 0usize;
            let mut array = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, _) = pair.map_err(|e| e.to_string())?;
                items += 1;
                match k {
                    Value::Integer(i) if i >= 1 => max = max.max(i as usize),
                    Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n as usize),
                    _ => array = false,
                }
            }
            if array && items > 0 {
                if max > items * 2 && max > 10 {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    let e: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    json_encode(&e, out, depth + 1)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair.map_err(|e| e.to_string())?;
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::String(s) => json_string(&s.as_bytes(), out),
                        Value::Integer(i) => {
                            out.push(b'"');
                            json_number(*i as f64, out)?;
                            out.push(b'"');
                        }
                        Value::Number(n) => {
                            out.push(b'"');
                            json_number(*n, out)?;
                            out.push(b'"');
                        }
                        _ => {
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .into(),
                            )
                        }
                    }
                    out.push(b':');
                    json_encode(&val, out, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ))
        }
    }
    Ok(())
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err(&self, what: &str, found: &str) -> String {
        format!(
            "Expected {what} but found {found} at character {}",
            self.i + 1
        )
    }

    fn found(&self) -> &'static str {
        match self.s.get(self.i) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            _ => "invalid token",
        }
    }

    fn document(&mut self, lua: &Lua) -> Result<Value, String> {
        let v = self.value(lua, 0)?;
        self.ws();
        if self.i < self.s.len() {
            return Err(self.err("the end", self.found()));
        }
        Ok(v)
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> Result<Value, String> {
        self.ws();
        if depth > 1000 {
            return Err(format!(
                "Found too many nested data structures ({}) at character {}",
                depth,
                self.i + 1
            ));
        }
        let le = |e: mlua::Error| e.to_string();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let t = lua.create_table().map_err(le)?;
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("object key string", self.found()));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(self.err("colon", self.found()));
                    }
                    self.i += 1;
                    let v = self.value(lua, depth + 1)?;
                    t.raw_set(lua.create_string(&k).map_err(le)?, v)
                        .map_err(le)?;
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or object end", self.found())),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let t = lua.create_table().map_err(le)?;
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::Table(t));
                }
                let mut n = 1;
                loop {
                    let v = self.value(lua, depth + 1)?;
                    t.raw_set(n, v).map_err(le)?;
                    n += 1;
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or array end", self.found())),
                    }
                }
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(Value::String(lua.create_string(&s).map_err(le)?))
            }
            Some(_) => {
                let rest = &self.s[self.i..];
                for (word, v) in [
                    (&b"true"[..], Value::Boolean(true)),
                    (b"false", Value::Boolean(false)),
                    (b"null", json_null()),
                ] {
                    if rest.starts_with(word) {
                        self.i += word.len();
                        return Ok(v);
                    }
                }
                let end = rest
                    .iter()
                    .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                let num = std::str::from_utf8(&rest[..end])
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok());
                match num {
                    Some(n) if end > 0 => {
                        self.i += end;
                        Ok(Value::Number(n))
                    }
                    _ if rest[0] == b'-' || rest[0].is_ascii_digit() => {
                        Err(self.err("value", "invalid number"))
                    }
                    _ => Err(self.err("value", "invalid token")),
                }
            }
            None => Err(self.err("value", "T_END")),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.i += 4;
        Some(v)
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let start = self.i;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                self.i = start;
                return Err(self.err("value", "invalid token"));
            };
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        continue;
                    };
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let Some(mut cp) = self.hex4() else {
                                self.i = start;
                                return Err(self.err("value", "invalid token"));
                            };
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                if let Some(lo) = self.hex4() {
                                    cp = 0x10000
                                        + ((cp - 0xd800) << 10)
                                        + (lo.wrapping_sub(0xdc00) & 0x3ff);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

// ---------------------------------------------------------------- cmsgpack

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

// ---------------------------------------------------------------- bit

/// LuaBitOp's argument normalisation: round to an integer, wrap to 32 bits.
fn tobit(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    let r = x.round_ties_even().rem_euclid(4294967296.0);
    r as u64 as u32 as i32
}

fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
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

// ---------------------------------------------------------------- struct

struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
    little: bool,
    maxalign: usize,
}

impl Fmt<'_> {
    fn num(&mut self, default: usize) -> usize {
        let start = self.i;
        let mut n = 0usize;
        while let Some(c) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n.saturating_mul(10).saturating_add((c - b'0') as usize);
            self.i += 1;
        }
        if self.i == start {
            default
        } else {
            n
        }
    }

    /// Next option: (kind, size), handling the endianness/alignment ones.
    fn next(&mut self) -> Option<Result<(u8, usize), String>> {
        loop {
            let c = *self.f.get(self.i)?;
            self.i += 1;
            let size = match c {
                b'<' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'=' => {
                    self.little = cfg!(target_endian = "little");
                    continue;
                }
                b'!' => {
                    self.maxalign = self.num(8);
                    continue;
                }
                b' ' => continue,
                b'b' | b'B' | b'x' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' => 8,
                b'i' | b'I' => {
                    let n = self.num(4);
                    if !(1..=8).contains(&n) {
                        return Some(Err(format!("integral size {n} is larger than limit of 8")));
                    }
                    n
                }
                b'f' => 4,
                b'd' => 8,
                b'c' => self.num(1),
                b's' => 0,
                other => {
                    return Some(Err(format!("invalid format option '{}'", other as char)));
                }
            };
            return Some(Ok((c, size)));
        }
    }

    fn pad(&self, pos: usize, kind: u8, size: usize) -> usize {
        if matches!(kind, b'c' | b's' | b'x') || self.maxalign <= 1 {
            return 0;
        }
        let align = size.min(self.maxalign);
        if align == 0 || !align.is_power_of_two() {
            return 0;
        }
        (align - (pos & (align - 1))) & (align - 1)
    }
}

fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let Some(Value::String(f)) = args.front() else {
                return fail(lua, "bad argument #1 to 'pack' (string expected)");
            };
            let f = f.as_bytes();
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut out: Vec<u8> = Vec::new();
            let mut ai = 1;
            while let Some(opt) = fmt.next() {
                let (kind, size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                let pad = fmt.pad(out.len(), kind, size);
                out.extend(std::iter::repeat_n(0u8, pad));
                let a = args.get(ai).cloned().unwrap_or(Value::Nil);
                match kind {
                    b'x' => {
                        out.push(0);
                        continue;
                    }
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let Some(n) = as_num(&a) else {
                            return fail(
                                lua,
                                &format!("bad argument #{} to 'pack' (number expected)", ai + 1),
                            );
                        };
                        let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                        let bytes = v.to_le_bytes();
                        if fmt.little {
                            out.extend_from_slice(&bytes[..size]);
                        } else {
                            out.extend(bytes[..size].iter().rev());
                        }
                    }
                    b'f' | b'd' => {
                        let Some(n) = as_num(&a) else {
                            return fail(
                                lua,
                                &format!("bad argument #{} to 'pack' (number expected)", ai + 1),
                            );
                        };
                        let bytes: Vec<u8> = if kind == b'f' {
                            let v = n as f32;
                            if fmt.little {
                                v.to_le_bytes().to_vec()
                            } else {
                                v.to_be_bytes().to_vec()
                            }
                        } else if fmt.little {
                            n.to_le_bytes().to_vec()
                        } else {
                            n.to_be_bytes().to_vec()
                        };
                        out.extend_from_slice(&bytes);
                    }
                    b'c' | b's' => {
                        let s = match &a {
                            Value::String(s) => s.as_bytes().to_vec(),
                            Value::Integer(_) | Value::Number(_) => {
                                let mut v = Vec::new();
                                crate::script::convert::number_arg(
                                    as_num(&a).unwrap_or(0.0),
                                    &mut v,
                                );
                                v
                            }
                            _ => {
                                return fail(
                                    lua,
                                    &format!(
                                        "bad argument #{} to 'pack' (string expected)",
                                        ai + 1
                                    ),
                                )
                            }
                        };
                        if kind == b's' {
                            out.extend_from_slice(&s);
                            out.push(0);
                        } else {
                            let n = if size == 0 { s.len() } else { size };
                            if s.len() < n {
                                return fail(
                                    lua,
                                    &format!(
                                        "bad argument #{} to 'pack' (string too short)",
                                        ai + 1
                                    ),
                                );
                            }
                            out.extend_from_slice(&s[..n]);
                        }
                    }
                    _ => {}
                }
                ai += 1;
            }
            one(Value::String(lua.create_string(&out)?))
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let (Some(Value::String(f)), Some(Value::String(data))) = (args.front(), args.get(1))
            else {
                return fail(lua, "bad argument to 'unpack' (string expected)");
            };
            let f = f.as_bytes();
            let data = data.as_bytes();
            let mut pos = match args.get(2).and_then(as_num) {
                Some(n) if n >= 1.0 => n as usize - 1,
                _ => 0,
            };
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut vals = Vec::new();
            let mut last_num: Option<usize> = None;
            while let Some(opt) = fmt.next() {
                let (kind, mut size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                pos += fmt.pad(pos, kind, size);
                if kind == b'c' && size == 0 {
                    match last_num.take() {
                        Some(n) => {
                            vals.pop();
                            size = n;
                        }
                        None => return fail(lua, "format 'c0' needs a previous size"),
                    }
                }
                if kind != b's' && pos + size > data.len() {
                    return fail(lua, "bad argument #2 to 'unpack' (data string too short)");
                }
                last_num = None;
                match kind {
                    b'x' => pos += 1,
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let bytes = &data[pos..pos + size];
                        let mut v: u64 = 0;
                        if fmt.little {
                            for (k, b) in bytes.iter().enumerate() {
                                v |= (*b as u64) << (8 * k);
                            }
                        } else {
                            for b in bytes {
                                v = (v << 8) | *b as u64;
                            }
                        }
                        let signed = matches!(kind, b'b' | b'h' | b'l' | b'i');
                        let n = if signed && size < 8 {
                            let shift = 64 - 8 * size;
                            (((v << shift) as i64) >> shift) as f64
                        } else if signed {
                            v as i64 as f64
                        } else {
                            v as f64
                        };
                        pos += size;
                        last_num = Some(n.max(0.0) as usize);
                        vals.push(Value::Number(n));
                    }
                    b'f' => {
                        let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                        let v = if fmt.little {
                            f32::from_le_bytes(b)
                        } else {
                            f32::from_be_bytes(b)
                        };
                        pos += 4;
                        vals.push(Value::Number(v as f64));
                    }
                    b'd' => {
                        let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                        let v = if fmt.little {
                            f64::from_le_bytes(b)
                        } else {
                            f64::from_be_bytes(b)
                        };
                        pos += 8;
                        vals.push(Value::Number(v));
                    }
                    b'c' => {
                        vals.push(Value::String(lua.create_string(&data[pos..pos + size])?));
                        pos += size;
                    }
                    b's' => {
                        let Some(end) =
                            data.get(pos..).and_then(|d| d.iter().position(|&b| b == 0))
                        else {
                            return fail(lua, "unfinished string in data");
                        };
                        vals.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                        pos += end + 1;
                    }
                    _ => {}
                }
            }
            vals.push(Value::Number((pos + 1) as f64));
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|lua, f: Value| {
            let Value::String(f) = f else {
                return fail(lua, "bad argument #1 to 'size' (string expected)");
            };
            let f = f.as_bytes();
            let mut fmt = Fmt {
                f: &f,
                i: 0,
                little: true,
                maxalign: 1,
            };
            let mut pos = 0usize;
            while let Some(opt) = fmt.next() {
                let (kind, size) = match opt {
                    Ok(o) => o,
                    Err(e) => return fail(lua, &e),
                };
                if kind == b's' || (kind == b'c' && size == 0) {
                    return fail(lua, "options 'c0' - 's' have undefined sizes");
                }
                pos += fmt.pad(pos, kind, size) + size;
            }
            one(Value::Number(pos as f64))
        })?,
    )?;
    Ok(t)
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

    #[test]
    fn bits() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
    }
}
