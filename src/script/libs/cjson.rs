//! `cjson`: lua-cjson 2.1's encode/decode and its configuration functions
//! (`encode_max_depth`, `encode_sparse_array`, ...). A script's change stays
//! for later scripts until SCRIPT FLUSH, as in Redis (which makes a new Lua
//! state there). Unlike Redis, whose functions have a Lua state of their
//! own, EVAL scripts and functions share these settings.

use super::{fail, fmt_g, json_null, one, type_name};
use crate::num;
use mlua::{Lua, MultiValue, Table, Value};
use parking_lot::Mutex;
use std::sync::Arc;

/// lua-cjson's settings, with its defaults.
#[derive(Clone, Copy)]
struct Cfg {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: i64,
    /// 0 off (an error), 1 on (`nan`, `inf`), 2 `null`.
    encode_invalid: i64,
    /// Accept `nan`, `inf`, hex and `+1` when decoding (lua-cjson's default).
    decode_invalid: bool,
    keep_buffer: bool,
}

impl Default for Cfg {
    fn default() -> Self {
        Cfg {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            encode_invalid: 0,
            decode_invalid: true,
            keep_buffer: true,
        }
    }
}

/// The settings of a state's cjson, to put back to the defaults (SCRIPT
/// FLUSH, which in Redis makes a new Lua state).
#[derive(Clone)]
pub struct Settings(Arc<Mutex<Cfg>>);

impl Settings {
    pub fn reset(&self) {
        *self.0.lock() = Cfg::default();
    }
}

pub fn register(lua: &Lua, raw: &Table) -> mlua::Result<Settings> {
    let cfg = Arc::new(Mutex::new(Cfg::default()));
    let cjson = lua.create_table()?;
    let c = cfg.clone();
    cjson.raw_set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let cfg = *c.lock();
            let mut out = Vec::new();
            match json_encode(&cfg, &v, &mut out, 0) {
                Ok(()) => one(Value::String(lua.create_string(&out)?)),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    let c = cfg.clone();
    cjson.raw_set(
        "decode",
        lua.create_function(move |lua, s: Value| {
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
            let cfg = *c.lock();
            let b = s.as_bytes();
            let mut p = JsonParser { s: &b, i: 0, cfg };
            match p.document(lua) {
                Ok(v) => one(v),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    cjson.raw_set("null", json_null())?;
    // The configuration functions: each takes its new value(s), nil keeps
    // the current one, and returns the value(s) now in force.
    config_fn(lua, &cjson, &cfg, "encode_max_depth", 1, |_, a, c| {
        int_option(a, 0, &mut c.encode_max_depth, 1, i32::MAX as i64)
    })?;
    config_fn(lua, &cjson, &cfg, "decode_max_depth", 1, |_, a, c| {
        int_option(a, 0, &mut c.decode_max_depth, 1, i32::MAX as i64)
    })?;
    config_fn(
        lua,
        &cjson,
        &cfg,
        "encode_number_precision",
        1,
        |_, a, c| int_option(a, 0, &mut c.precision, 1, 14),
    )?;
    config_fn(lua, &cjson, &cfg, "encode_keep_buffer", 1, |_, a, c| {
        bool_option(a, 0, &mut c.keep_buffer)
    })?;
    config_fn(lua, &cjson, &cfg, "decode_invalid_numbers", 1, |_, a, c| {
        bool_option(a, 0, &mut c.decode_invalid)
    })?;
    config_fn(
        lua,
        &cjson,
        &cfg,
        "encode_invalid_numbers",
        1,
        |lua, a, c| {
            let v = enum_option(a, 0, &["off", "on", "null"], c.encode_invalid)?;
            c.encode_invalid = v;
            Ok(vec![match v {
                0 | 1 => Value::Boolean(v == 1),
                _ => Value::String(lua.create_string("null")?),
            }])
        },
    )?;
    config_fn(lua, &cjson, &cfg, "encode_sparse_array", 3, |_, a, c| {
        let mut r = bool_option(a, 0, &mut c.sparse_convert)?;
        r.extend(int_option(a, 1, &mut c.sparse_ratio, 0, i32::MAX as i64)?);
        r.extend(int_option(a, 2, &mut c.sparse_safe, 0, i32::MAX as i64)?);
        Ok(r)
    })?;
    raw.raw_set("cjson", cjson)?;
    Ok(Settings(cfg))
}

type Setter = fn(&Lua, &MultiValue, &mut Cfg) -> Result<Vec<Value>, OptError>;

/// An option's bad value: the message after "bad argument #N to 'name' (".
struct OptError(usize, String);

impl From<mlua::Error> for OptError {
    fn from(e: mlua::Error) -> Self {
        OptError(0, e.to_string())
    }
}

fn config_fn(
    lua: &Lua,
    t: &Table,
    cfg: &Arc<Mutex<Cfg>>,
    name: &'static str,
    nargs: usize,
    set: Setter,
) -> mlua::Result<()> {
    let cfg = cfg.clone();
    t.raw_set(
        name,
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() > nargs {
                return fail(
                    lua,
                    &format!(
                        "bad argument #{} to '{name}' (found too many arguments)",
                        nargs + 1
                    ),
                );
            }
            // Settings change only when every argument is good. The lock is
            // not held while Lua runs (an allocation may run a finalizer).
            let mut next = *cfg.lock();
            match set(lua, &args, &mut next) {
                Ok(vals) => {
                    *cfg.lock() = next;
                    Ok(MultiValue::from_iter(vals))
                }
                Err(OptError(i, msg)) => {
                    fail(lua, &format!("bad argument #{} to '{name}' ({msg})", i + 1))
                }
            }
        })?,
    )
}

fn int_option(
    args: &MultiValue,
    i: usize,
    setting: &mut i64,
    min: i64,
    max: i64,
) -> Result<Vec<Value>, OptError> {
    match args.get(i) {
        None | Some(Value::Nil) => {}
        Some(v) => {
            let Some(n) = super::as_num(v) else {
                return Err(OptError(
                    i,
                    format!("number expected, got {}", type_name(v)),
                ));
            };
            // luaL_checkinteger truncates toward zero.
            let n = n as i64;
            if n < min || n > max {
                // lua-cjson names argument 1 whichever it checks.
                return Err(OptError(
                    0,
                    format!("expected integer between {min} and {max}"),
                ));
            }
            *setting = n;
        }
    }
    Ok(vec![Value::Integer(*setting)])
}

fn bool_option(args: &MultiValue, i: usize, setting: &mut bool) -> Result<Vec<Value>, OptError> {
    *setting = enum_option(args, i, &["off", "on"], *setting as i64)? == 1;
    Ok(vec![Value::Boolean(*setting)])
}

/// A boolean (false/true are options 0 and 1) or one of `options` by name.
fn enum_option(
    args: &MultiValue,
    i: usize,
    options: &[&str],
    current: i64,
) -> Result<i64, OptError> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(current),
        Some(Value::Boolean(b)) => Ok(*b as i64),
        Some(v) => {
            let name = match v {
                Value::String(s) => s.to_string_lossy(),
                Value::Integer(n) => n.to_string(),
                Value::Number(n) => fmt_g(*n, 14),
                other => {
                    return Err(OptError(
                        i,
                        format!("string expected, got {}", type_name(other)),
                    ))
                }
            };
            match options.iter().position(|o| *o == name) {
                Some(k) => Ok(k as i64),
                None => Err(OptError(i, format!("invalid option '{name}'"))),
            }
        }
    }
}

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

fn json_number(cfg: &Cfg, n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        match cfg.encode_invalid {
            0 => return Err("Cannot serialise number: must not be NaN or Inf".into()),
            // Never "-nan", whatever the sign bit.
            1 if n.is_nan() => {
                out.extend_from_slice(b"nan");
                return Ok(());
            }
            1 => {}
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    out.extend_from_slice(fmt_g(n, cfg.precision as usize).as_bytes());
    Ok(())
}

fn json_encode(cfg: &Cfg, v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => json_number(cfg, *i as f64, out)?,
        Value::Number(n) => json_number(cfg, *n, out)?,
        Value::String(s) => json_string(&s.as_bytes(), out),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            if depth as i64 >= cfg.encode_max_depth {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            // An array when every key is a positive integer and it is not
            // too sparse (encode_sparse_array: convert, ratio, safe).
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
            if array && items > 0 && cfg.sparse_ratio > 0 {
                let sparse =
                    max as i64 > items as i64 * cfg.sparse_ratio && max as i64 > cfg.sparse_safe;
                if sparse && !cfg.sparse_convert {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                array = !sparse;
            }
            if array && items > 0 {
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    let e: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    json_encode(cfg, &e, out, depth + 1)?;
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
                            json_number(cfg, *i as f64, out)?;
                            out.push(b'"');
                        }
                        Value::Number(n) => {
                            out.push(b'"');
                            json_number(cfg, *n, out)?;
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
                    json_encode(cfg, &val, out, depth + 1)?;
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
    cfg: Cfg,
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

    /// Entering an object or array at `depth` (the top level's is 1).
    fn descend(&self, depth: usize) -> Result<(), String> {
        if depth as i64 > self.cfg.decode_max_depth {
            return Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.i + 1
            ));
        }
        Ok(())
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> Result<Value, String> {
        self.ws();
        let le = |e: mlua::Error| e.to_string();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.descend(depth + 1)?;
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
                self.descend(depth + 1)?;
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
                // lua-cjson hands numbers to strtod. Hex, inf, nan, a
                // leading + or leading zeros are not JSON; they are taken
                // only with decode_invalid_numbers (on by default).
                let c = rest[0];
                if c == b'-' || c.is_ascii_digit() {
                    if !self.cfg.decode_invalid && invalid_number(rest) {
                        return Err(self.err("value", "invalid number"));
                    }
                } else if !(self.cfg.decode_invalid && invalid_number(rest)) {
                    return Err(self.err("value", "invalid token"));
                }
                let (n, used, _) = num::strtod(rest);
                if used == 0 {
                    return Err(self.err("value", "invalid number"));
                }
                self.i += used;
                Ok(Value::Number(n))
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

/// lua-cjson's test for number syntax JSON does not allow: a leading `+`,
/// hex, leading zeros, inf or nan.
fn invalid_number(s: &[u8]) -> bool {
    let mut p = s;
    match p.first() {
        Some(b'+') => return true,
        Some(b'-') => p = &p[1..],
        _ => {}
    }
    match p.first() {
        Some(b'0') => matches!(p.get(1), Some(c) if (c | 0x20) == b'x' || c.is_ascii_digit()),
        Some(c) if *c <= b'9' => false,
        _ => {
            let head = p.get(..3).unwrap_or_default();
            head.eq_ignore_ascii_case(b"inf") || head.eq_ignore_ascii_case(b"nan")
        }
    }
}
