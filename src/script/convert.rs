//! Conversions between Redis replies and Lua values, with Redis 7.2's rules
//! (`script_lua.c`).
//!
//! **Reply → Lua** (what `redis.call` returns): a command runs into a scratch
//! [`Reply`] in the script's protocol (`redis.setresp`, RESP2 by default) and
//! those bytes are parsed here: integer → number, bulk → string, null bulk or
//! null array (RESP2) → `false`, status → `{ok=...}`, error → `{err=...}`,
//! array → array table; RESP3 adds map → `{map={...}}`, set →
//! `{set={member=true}}`, null → `nil`, boolean → boolean, double →
//! `{double=n}`, big number → `{big_number="..."}`, verbatim →
//! `{verbatim_string={format=..., string=...}}`.
//!
//! **Lua → reply** (what a script returns): string → bulk, number → integer
//! (truncated), `true` → 1 / `false` → null (RESP2 script; under RESP3 both are
//! booleans), a table with `err` → error, `ok` → status, `double`,
//! `big_number`, `verbatim_string`, `map`, `set` → those types, any other table
//! → array of its elements up to the first nil; everything else → null.

use mlua::{Lua, Table, Value};

use crate::protocol::reply::format_double;
use crate::protocol::Reply;

/// Deepest nesting converted either way (Redis stops at its Lua stack limit).
const MAX_DEPTH: usize = 500;

/// The `{err=...}` table Redis builds for an error text (`luaPushErrorBuff`):
/// `-CODE msg` keeps its code, a text without the dash gets `ERR`; trailing
/// CR/LF are trimmed.
pub fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(error_text(text))?)?;
    Ok(t)
}

/// An [`error_table`] marked `ignore_error_stats_update`: the error was
/// already counted when the command failed, so the script's reply of it is
/// not counted again (as Redis).
pub fn counted_error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let t = error_table(lua, text)?;
    t.raw_set("ignore_error_stats_update", true)?;
    Ok(t)
}

/// The text of [`error_table`].
pub fn error_text(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let trim = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !trim(b)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|b| !trim(b)).map_or(start, |e| e + 1);
    let mut out = Vec::with_capacity(code.len() + 1 + end - start);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(&msg[start..end]);
    out
}

/// Parse one reply from `buf` (our own encoder's output, so well formed) into
/// a Lua value.
pub fn reply_to_lua(lua: &Lua, buf: &[u8]) -> mlua::Result<Value> {
    let mut pos = 0;
    parse(lua, buf, &mut pos, 0)
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = *pos;
    let end = buf[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(buf.len(), |p| start + p);
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

fn num(s: &[u8]) -> i64 {
    crate::protocol::parse::parse_i64(s).unwrap_or(0)
}

fn parse(lua: &Lua, buf: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if *pos >= buf.len() || depth > MAX_DEPTH {
        return Ok(Value::Nil);
    }
    let kind = buf[*pos];
    *pos += 1;
    let l = line(buf, pos);
    let single = |field: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(field, v)?;
        Ok(Value::Table(t))
    };
    match kind {
        b':' => Ok(Value::Number(num(l) as f64)),
        b'+' => single("ok", Value::String(lua.create_string(l)?)),
        b'-' => {
            let mut text = Vec::with_capacity(l.len() + 1);
            text.push(b'-');
            text.extend_from_slice(l);
            Ok(Value::Table(counted_error_table(lua, &text)?))
        }
        b'$' | b'=' => {
            let n = num(l);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let n = n as usize;
            let end = pos.saturating_add(n).min(buf.len());
            let data = &buf[*pos..end];
            *pos = (end + 2).min(buf.len());
            if kind == b'=' {
                let (format, text) = if data.len() >= 4 {
                    (&data[..3], &data[4..])
                } else {
                    (&b"txt"[..], data)
                };
                let v = lua.create_table()?;
                v.raw_set("format", lua.create_string(format)?)?;
                v.raw_set("string", lua.create_string(text)?)?;
                return single("verbatim_string", Value::Table(v));
            }
            Ok(Value::String(lua.create_string(data)?))
        }
        b'*' | b'>' => {
            let n = num(l);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 0..n as usize {
                let v = parse(lua, buf, pos, depth + 1)?;
                t.raw_set(i + 1, v)?;
            }
            Ok(Value::Table(t))
        }
        b'%' => {
            let t = lua.create_table()?;
            for _ in 0..num(l).max(0) {
                let k = parse(lua, buf, pos, depth + 1)?;
                let v = parse(lua, buf, pos, depth + 1)?;
                if !k.is_nil() {
                    t.raw_set(k, v)?;
                }
            }
            single("map", Value::Table(t))
        }
        b'~' => {
            let t = lua.create_table()?;
            for _ in 0..num(l).max(0) {
                let k = parse(lua, buf, pos, depth + 1)?;
                if !k.is_nil() {
                    t.raw_set(k, true)?;
                }
            }
            single("set", Value::Table(t))
        }
        b'|' => {
            // An attribute: not given to scripts (as Redis), the reply
            // that follows it is.
            for _ in 0..num(l).max(0).saturating_mul(2) {
                parse(lua, buf, pos, depth + 1)?;
            }
            parse(lua, buf, pos, depth + 1)
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(l == b"t")),
        b',' => {
            let s = std::str::from_utf8(l).unwrap_or("0");
            let d = match s {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => s.parse().unwrap_or(0.0),
            };
            single("double", Value::Number(d))
        }
        b'(' => single("big_number", Value::String(lua.create_string(l)?)),
        _ => Ok(Value::Nil),
    }
}

/// How a script's return value is written.
pub struct ToReply<'a> {
    pub out: &'a mut Reply,
    /// The script's protocol (`redis.setresp`): decides how booleans convert.
    pub script_resp3: bool,
}

impl ToReply<'_> {
    /// Write `v`. Returns the error text when the top-level value is an error
    /// (so the caller can count it in the error statistics).
    pub fn write(&mut self, v: &Value) -> Option<String> {
        self.value(v, 0)
    }

    fn value(&mut self, v: &Value, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            self.out.error("ERR reached lua stack limit");
            return None;
        }
        match v {
            Value::String(s) => self.out.bulk(&s.as_bytes()),
            Value::Boolean(b) => {
                if self.script_resp3 {
                    self.out.boolean(*b);
                } else if *b {
                    self.out.int(1);
                } else {
                    self.out.null();
                }
            }
            Value::Integer(i) => self.out.int(*i),
            Value::Number(n) => self.out.int(c_cast(*n)),
            Value::Table(t) => return self.table(t, depth),
            _ => self.out.null(),
        }
        None
    }

    fn table(&mut self, t: &Table, depth: usize) -> Option<String> {
        let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
        if let Value::String(e) = field("err") {
            let text = String::from_utf8_lossy(&e.as_bytes()).into_owned();
            self.out.error(&text);
            return Some(text);
        }
        if let Value::String(s) = field("ok") {
            let s: Vec<u8> = s
                .as_bytes()
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            self.out.simple_bytes(&s);
            return None;
        }
        match field("double") {
            Value::Number(d) => {
                self.out.double(d);
                return None;
            }
            Value::Integer(i) => {
                self.out.double(i as f64);
                return None;
            }
            _ => {}
        }
        if let Value::String(s) = field("big_number") {
            let s: Vec<u8> = s
                .as_bytes()
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            if self.out.resp3 {
                self.out.raw(b"(");
                self.out.raw(&s);
                self.out.raw(b"\r\n");
            } else {
                self.out.bulk(&s);
            }
            return None;
        }
        if let Value::Table(v) = field("verbatim_string") {
            if let (Ok(Value::String(f)), Ok(Value::String(s))) =
                (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
            {
                let (f, s) = (f.as_bytes(), s.as_bytes());
                if self.out.resp3 {
                    let mut b = itoa::Buffer::new();
                    self.out.raw(b"=");
                    self.out
                        .raw(b.format(s.len() + f.len().min(3) + 1).as_bytes());
                    self.out.raw(b"\r\n");
                    let mut fmt = [b' '; 3];
                    for (d, c) in fmt.iter_mut().zip(f.iter()) {
                        *d = *c;
                    }
                    self.out.raw(&fmt[..f.len().min(3)]);
                    self.out.raw(b":");
                    self.out.raw(&s);
                    self.out.raw(b"\r\n");
                } else {
                    self.out.bulk(&s);
                }
                return None;
            }
        }
        if let Value::Table(m) = field("map") {
            let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().flatten().collect();
            self.out.map(pairs.len());
            for (k, v) in &pairs {
                self.value(k, depth + 1);
                self.value(v, depth + 1);
            }
            return None;
        }
        if let Value::Table(s) = field("set") {
            let keys: Vec<Value> = s
                .pairs::<Value, Value>()
                .flatten()
                .map(|(k, _)| k)
                .collect();
            self.out.set(keys.len());
            for k in &keys {
                self.value(k, depth + 1);
            }
            return None;
        }
        let mut items = Vec::new();
        let mut i = 1usize;
        loop {
            match t.raw_get::<Value>(i) {
                Ok(Value::Nil) | Err(_) => break,
                Ok(v) => items.push(v),
            }
            i += 1;
        }
        self.out.array(items.len());
        for v in &items {
            self.value(v, depth + 1);
        }
        None
    }
}

/// C's `(long long)` of a double on x86-64: NaN and out-of-range values
/// give i64::MIN (what Redis replies for `return 0/0`).
pub fn c_cast(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// A Lua number as a command argument: an integer when it is one exactly,
/// otherwise the shortest text that reads back as the same double.
pub fn number_arg(n: f64, out: &mut Vec<u8>) {
    if n.fract() == 0.0 && n.abs() < 9.2e18 {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(n as i64).as_bytes());
    } else {
        let mut tmp = [0u8; 32];
        out.extend_from_slice(format_double(n, &mut tmp));
    }
}

/// The arguments of a `redis.call`/`redis.pcall`, as command bytes.
#[derive(Default)]
pub struct CallBuf {
    pub buf: Vec<u8>,
    pub ranges: Vec<std::ops::Range<usize>>,
    /// An argument was neither a string nor a number.
    pub bad: bool,
}

impl CallBuf {
    fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
        self.bad = false;
    }

    /// Replace the contents with `values` as command arguments.
    pub fn fill(&mut self, values: &mlua::MultiValue) {
        self.clear();
        for v in values.iter() {
            match v {
                Value::String(s) => self.push_str(&s.as_bytes()),
                Value::Integer(i) => self.push_number(*i as f64),
                Value::Number(n) => self.push_number(*n),
                _ => self.bad = true,
            }
        }
    }

    pub fn args(&self) -> crate::protocol::Args<'_> {
        crate::protocol::Args::new(&self.buf, &self.ranges)
    }

    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(s);
        self.ranges.push(start..self.buf.len());
    }

    fn push_number(&mut self, n: f64) {
        let start = self.buf.len();
        number_arg(n, &mut self.buf);
        self.ranges.push(start..self.buf.len());
    }
}

thread_local! {
    /// Where [`CallArgs`] leaves the arguments for the command hook.
    pub static CALL_ARGS: std::cell::RefCell<CallBuf> = std::cell::RefCell::default();
}

/// A Rust callback's argument type that copies the arguments into
/// [`CALL_ARGS`] straight from the Lua stack. mlua's own conversion keeps a
/// handle per argument in an auxiliary stack of at most 8000 slots, so
/// `redis.call('lpush', k, unpack(t))` with 7999 elements (which Redis
/// takes) would fail; this one needs no slot and no allocation per argument.
pub struct CallArgs;

impl mlua::FromLuaMulti for CallArgs {
    fn from_lua_multi(values: mlua::MultiValue, _: &Lua) -> mlua::Result<Self> {
        CALL_ARGS.with_borrow_mut(|a| a.fill(&values));
        Ok(CallArgs)
    }

    unsafe fn from_stack_args(
        nargs: std::os::raw::c_int,
        _i: usize,
        _to: Option<&str>,
        lua: &mlua::state::RawLua,
    ) -> mlua::Result<Self> {
        use mlua::ffi;
        let state = lua.state();
        CALL_ARGS.with_borrow_mut(|a| {
            a.clear();
            for k in 0..nargs {
                let idx = -nargs + k;
                // SAFETY: `idx` is one of the callback's `nargs` arguments
                // on the stack of `state`, which Lua keeps alive during the
                // call; lua_tolstring on a string value does not change the
                // stack, and the bytes are copied before anything else runs.
                unsafe {
                    match ffi::lua_type(state, idx) {
                        ffi::LUA_TSTRING => {
                            let mut len = 0usize;
                            let p = ffi::lua_tolstring(state, idx, &mut len);
                            if p.is_null() {
                                a.bad = true;
                            } else {
                                a.push_str(std::slice::from_raw_parts(p as *const u8, len));
                            }
                        }
                        ffi::LUA_TNUMBER => a.push_number(ffi::lua_tonumber(state, idx)),
                        _ => a.bad = true,
                    }
                }
            }
        });
        // Drop the arguments from the stack: Lua lets a C function hold at
        // most 8000 slots, so with 8000 arguments nothing more could be
        // pushed (the command hook's call, the results). Only the top
        // `nargs` slots are removed; mlua's reserved slot sits below them.
        // SAFETY: the top `nargs` values are this call's arguments.
        unsafe { ffi::lua_settop(state, -nargs - 1) };
        Ok(CallArgs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        assert_eq!(error_text(b"-WRONGTYPE bad\r\n"), b"WRONGTYPE bad");
        assert_eq!(error_text(b"-boom"), b"ERR boom");
        assert_eq!(error_text(b"plain text"), b"ERR plain text");
    }

    #[test]
    fn round_trip_shapes() {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, b"*3\r\n:1\r\n$-1\r\n+OK\r\n").unwrap();
        let mut out = Reply::new(false);
        ToReply {
            out: &mut out,
            script_resp3: false,
        }
        .write(&v);
        // nil bulk → false → null; the array stops there? No: false is not nil.
        assert_eq!(out.buf, b"*3\r\n:1\r\n$-1\r\n+OK\r\n");
    }
}
