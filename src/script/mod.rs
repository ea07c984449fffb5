//! Lua scripting: EVAL scripts and FUNCTION libraries (Lua 5.1 via `mlua`).
//!
//! **One Lua state per server, behind the gates.** A script runs while its
//! worker holds *every* gate for writing (like EXEC, see `server::gate`), so
//! nothing else runs anywhere until it ends: one state is all that can ever
//! be in use, and one state means one script cache, one set of function
//! libraries and one number for `used_memory_lua`, as in Redis. The state
//! sits in a mutex that is only taken by a gate holder (EVAL/FCALL with all
//! gates, SCRIPT/FUNCTION commands under their read gate), so it is never
//! contended. mlua allocates through the Rust global allocator, so the
//! state's memory is inside `used_memory`.
//!
//! **Commands from scripts** (`redis.call`) go through the normal
//! [`execute`](crate::commands::execute) path with a script client (the
//! caller's database, `deny_blocking` so BLPOP & co. answer at once, the
//! script's RESP version) into a scratch reply, whose bytes
//! [`convert`] turns into Lua values. Keys need not be declared in KEYS:
//! each command locks its own shards as usual. Clients blocked on keys a
//! script wrote are served by the connection after the script returns.
//!
//! **Busy scripts.** While a script runs, other workers' commands wait for
//! their gate with a timed loop ([`admit`]); once the script has run longer
//! than `busy-reply-threshold` they answer `-BUSY` instead, except commands
//! flagged ALLOW_BUSY (SCRIPT KILL, FUNCTION KILL/STATS…), which then run
//! without the gate. SCRIPT KILL sets a flag that a Lua count hook checks
//! every few thousand instructions; the same hook serves the connections of
//! the script's *own* worker thread meanwhile (`server::busy`).
//!
//! **Sandbox.** `sandbox.lua` builds the read-only globals, the `redis` API
//! and the error handler that adds `script: <name>, on @user_script:<line>.`
//! to runtime errors; `libs.rs` has cjson, cmsgpack, bit and struct.

pub mod convert;
pub mod libs;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::debug::HookTriggers;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use parking_lot::{Mutex, MutexGuard};

use crate::commands::{flags, Command};
use crate::error::CmdError;
use crate::protocol::{Args, Reply};
use crate::server::client::Client;
use crate::server::stats::ThreadStats;
use crate::server::Server;

/// Script flags (shebang `flags=` and function flags).
pub mod sflags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 2;
    pub const ALLOW_STALE: u32 = 4;
    pub const NO_CLUSTER: u32 = 8;
    pub const ALLOW_CROSS_SLOT: u32 = 16;
    /// EVAL without a shebang: Redis 6 compatible behaviour.
    pub const COMPAT: u32 = 32;

    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    pub fn parse(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }
}

pub const BUSY_SCRIPT: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
const KILLED: &str = "Script killed by user with SCRIPT KILL...";

/// Scripting state of one server.
#[derive(Default)]
pub struct Scripts {
    engine: Mutex<Option<Engine>>,
    /// Unix ms at which the running script started; 0 when none runs.
    started_ms: AtomicU64,
    /// The running script is a function (FCALL), not an EVAL script.
    is_function: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    kill: Arc<AtomicBool>,
    /// The running script has called a write command (it cannot be killed).
    pub(crate) wrote: AtomicBool,
    /// Index of the worker thread running the script (valid while one runs).
    worker: AtomicUsize,
    /// The server is shutting down: a running script was stopped for it.
    shutdown: AtomicBool,
    /// Name and arguments of the running function (FUNCTION STATS).
    running: Mutex<Option<(String, Vec<Vec<u8>>)>>,
    /// For INFO, updated after each engine operation.
    pub lua_memory: AtomicUsize,
    pub cached_scripts: AtomicUsize,
    pub scripts_memory: AtomicUsize,
    pub functions_memory: AtomicUsize,
    pub libraries: AtomicUsize,
    pub functions: AtomicUsize,
}

/// A cached EVAL script. Its compiled function lives in the Lua table
/// `Engine::eval_fns` (by sha), not as a Rust handle: mlua keeps every
/// handle in one auxiliary Lua stack of at most 8000 slots, so a handle per
/// script would stop scripting after some 8000 cached scripts.
pub struct Script {
    pub body: Vec<u8>,
    pub flags: u32,
}

/// A registered function of a library (its callback is in
/// `Engine::callbacks`, by name, for the reason given at [`Script`]).
pub struct Func {
    pub flags: u32,
    pub description: Option<String>,
}

/// A loaded function library.
pub struct Library {
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, Func>,
}

/// The Lua state and what lives in it.
pub struct Engine {
    lua: Lua,
    globals: Table,
    eval_env: Table,
    fn_env: Table,
    hooks: Table,
    run_eval: Function,
    /// Unix ms after which a running FUNCTION LOAD body is stopped (0: none).
    load_deadline: Arc<AtomicU64>,
    run_fn: Function,
    load_fn: Function,
    pub scripts: HashMap<String, Script>,
    /// sha → compiled EVAL script.
    eval_fns: Table,
    /// Function name → FUNCTION callback.
    callbacks: Table,
    pub libraries: BTreeMap<String, Library>,
    /// Function name, lowercased (FCALL finds functions case-insensitively,
    /// as Redis) → library name.
    pub functions: HashMap<String, String>,
    /// Runs since the last incremental GC step.
    runs_since_gc: u32,
    /// cjson's settings, back to the defaults on SCRIPT FLUSH.
    json_settings: libs::cjson::Settings,
}

/// Every this many runs, this many incremental GC steps (as Redis's
/// LUA_GC_CYCLE_PERIOD): garbage from many small scripts is collected
/// without a full cycle's latency.
const GC_PERIOD: u32 = 50;

fn version_num() -> f64 {
    let mut n = 0u32;
    for part in crate::REDIS_VERSION.split('.').take(3) {
        n = (n << 8) | part.parse::<u32>().unwrap_or(0);
    }
    n as f64
}

pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

impl Engine {
    fn new(kill: Arc<AtomicBool>) -> mlua::Result<Engine> {
        // The debug library is needed by the error handler only; the sandbox
        // takes getinfo and removes `debug` from the globals.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let raw = lua.create_table()?;
        let json_settings = libs::register(&lua, &raw)?;
        let hooks = lua.create_table()?;
        // Whether SCRIPT/FUNCTION KILL stopped the run: the sandbox's pcall
        // and xpcall then pass the error on instead of catching it.
        let killed = kill.clone();
        hooks.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed.load(Relaxed)))?,
        )?;
        api_functions(&lua, &hooks)?;
        random_functions(&lua, &hooks)?;
        // Each library function raises its failures through `raise`.
        for lib in raw.pairs::<Value, Table>() {
            let (_, t) = lib?;
            for entry in t.clone().pairs::<Value, Value>() {
                let (k, v) = entry?;
                let Value::Function(f) = v else { continue };
                let h = hooks.clone();
                let wrapped = lua.create_function(move |lua, args: MultiValue| {
                    let r: MultiValue = f.call(args)?;
                    if r.front().is_some_and(|v| *v == libs::fail_marker()) {
                        let msg = match r.get(1) {
                            Some(Value::String(s)) => s.to_string_lossy(),
                            _ => String::new(),
                        };
                        let text = format!("{}{msg}", position(lua));
                        return Err(raise(&h, Value::String(lua.create_string(&text)?)));
                    }
                    Ok(r)
                })?;
                t.raw_set(k, wrapped)?;
            }
        }
        let api: Table = lua
            .load(include_str!("sandbox.lua"))
            .set_name("=ember")
            .call((
                lua.globals(),
                raw,
                libs::fail_marker(),
                hooks.clone(),
                crate::REDIS_VERSION,
                version_num(),
            ))?;
        let hook_kill = kill;
        let load_deadline = Arc::new(AtomicU64::new(0));
        let deadline = load_deadline.clone();
        let h = hooks.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(10_000),
            move |lua, _| {
                // A busy script lets this worker's other connections in
                // (BUSY replies, SCRIPT KILL…): server::busy.
                crate::server::busy::tick();
                let text = if hook_kill.load(Relaxed) {
                    KILLED
                } else {
                    let d = deadline.load(Relaxed);
                    if d == 0 || crate::util::now_ms() <= d {
                        return Ok(mlua::VmState::Continue);
                    }
                    "FUNCTION LOAD timeout"
                };
                Err(raise(
                    &h,
                    Value::Table(convert::error_table(lua, text.as_bytes())?),
                ))
            },
        )?;
        let (eval_fns, callbacks) = (lua.create_table()?, lua.create_table()?);
        Ok(Engine {
            globals: api.get("G")?,
            eval_env: api.get("E")?,
            fn_env: api.get("F")?,
            run_eval: api.get("run_eval")?,
            run_fn: api.get("run_fn")?,
            load_fn: api.get("load")?,
            hooks,
            load_deadline,
            lua,
            scripts: HashMap::new(),
            eval_fns,
            callbacks,
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
            runs_since_gc: 0,
            json_settings,
        })
    }

    /// Compile and cache an EVAL script (or find it); returns its sha.
    pub fn load_script(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang_flags(body)?;
        let func = self
            .lua
            .load(&body[skip..])
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.eval_env.clone())
            .into_function()
            .map_err(|e| {
                CmdError::err(format!(
                    "Error compiling script (new function): {}",
                    lua_message(&e)
                ))
            })?;
        self.eval_fns
            .raw_set(sha.as_str(), func)
            .map_err(internal)?;
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.to_vec(),
                flags,
            },
        );
        Ok(sha)
    }

    /// Load a function library (FUNCTION LOAD / RESTORE). Returns its name.
    pub fn load_library(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        self.gc_tick();
        let (name, skip) = library_metadata(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(CmdError::err(format!("Library '{name}' already exists")));
        }
        let chunk = self
            .lua
            .load(&code[skip..])
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(self.fn_env.clone())
            .into_function()
            .map_err(|e| CmdError::err(format!("Error compiling function: {}", lua_message(&e))))?;
        // A library body gets 500 ms, as in Redis.
        self.load_deadline
            .store(crate::util::now_ms() + 500, Relaxed);
        let r: mlua::Result<(bool, Value)> = self.load_fn.call(chunk);
        self.load_deadline.store(0, Relaxed);
        let (ok, res) = r.map_err(internal)?;
        if !ok {
            let msg = match res {
                Value::String(s) => s.to_string_lossy(),
                _ => "ERR unknown error".into(),
            };
            return Err(CmdError::err(format!("Error registering functions: {msg}")));
        }
        let Value::Table(reg) = res else {
            return Err(CmdError::err("No functions registered"));
        };
        let mut functions = BTreeMap::new();
        let mut callbacks = Vec::new();
        for entry in reg.sequence_values::<Table>() {
            let entry = entry.map_err(internal)?;
            let fname: String = entry.get("name").map_err(internal)?;
            let callback: Function = entry.get("callback").map_err(internal)?;
            let description: Option<String> = entry.get("description").map_err(internal)?;
            let mut fl = 0;
            let ftab: Table = entry.get("flags").map_err(internal)?;
            for f in ftab.sequence_values::<String>() {
                fl |= sflags::parse(&f.map_err(internal)?).unwrap_or(0);
            }
            callbacks.push((fname.clone(), callback));
            functions.insert(
                fname,
                Func {
                    flags: fl,
                    description,
                },
            );
        }
        if functions.is_empty() {
            return Err(CmdError::err("No functions registered"));
        }
        for f in functions.keys() {
            if let Some(lib) = self.functions.get(&f.to_ascii_lowercase()) {
                if *lib != name {
                    return Err(CmdError::err(format!("Function {f} already exists")));
                }
            }
        }
        self.remove_library(&name);
        for f in functions.keys() {
            self.functions.insert(f.to_ascii_lowercase(), name.clone());
        }
        for (f, callback) in callbacks {
            self.callbacks.raw_set(f, callback).map_err(internal)?;
        }
        self.libraries.insert(
            name.clone(),
            Library {
                code: code.to_vec(),
                functions,
            },
        );
        Ok(name)
    }

    pub fn remove_library(&mut self, name: &str) -> bool {
        match self.libraries.remove(name) {
            Some(lib) => {
                for f in lib.functions.keys() {
                    self.functions.remove(&f.to_ascii_lowercase());
                    let _ = self.callbacks.raw_set(f.as_str(), Value::Nil);
                }
                true
            }
            None => false,
        }
    }

    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        if let Ok(t) = self.lua.create_table() {
            self.eval_fns = t;
        }
        self.json_settings.reset();
        let _ = self.lua.gc_collect();
    }

    /// The library and the registered name of function `name`, matched
    /// case-insensitively as Redis's FCALL does.
    pub fn find_function(&self, name: &str) -> Option<(&str, &str)> {
        let lib_name = self.functions.get(&name.to_ascii_lowercase())?;
        let lib = self.libraries.get(lib_name)?;
        let fname = match lib.functions.get_key_value(name) {
            Some((k, _)) => k,
            None => lib
                .functions
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))?,
        };
        Some((lib_name, fname))
    }

    /// Count a run (or a FUNCTION LOAD); every [`GC_PERIOD`] of them, take
    /// that many incremental GC steps.
    fn gc_tick(&mut self) {
        self.runs_since_gc += 1;
        if self.runs_since_gc >= GC_PERIOD {
            self.runs_since_gc = 0;
            for _ in 0..GC_PERIOD {
                if self.lua.gc_step().unwrap_or(true) {
                    break;
                }
            }
        }
    }

    /// The compiled EVAL script with this sha.
    pub fn script_fn(&self, sha: &str) -> Option<Function> {
        self.eval_fns.raw_get(sha).ok()
    }

    /// The callback of the function registered as `name`.
    pub fn function_callback(&self, name: &str) -> Option<Function> {
        self.callbacks.raw_get(name).ok()
    }

    pub fn flush_functions(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        if let Ok(t) = self.lua.create_table() {
            self.callbacks = t;
        }
        let _ = self.lua.gc_collect();
    }
}

/// Raise `v` as the Lua error value of a Rust callback: mlua would give Lua a
/// userdata for an `Err`, so the value waits in `hooks.pending`, where the
/// sandbox's handler and `pcall` pick it up.
fn raise(hooks: &Table, v: Value) -> mlua::Error {
    let _ = hooks.raw_set("pending", v);
    mlua::Error::RuntimeError("ember: pending error".into())
}

/// Raise "Attempt to modify a readonly table" if `t` is one of the
/// sandbox's read-only proxies (`hooks.proxies`).
fn refuse_readonly(lua: &Lua, hooks: &Table, t: &Table) -> mlua::Result<()> {
    if let Ok(Value::Table(proxies)) = hooks.raw_get::<Value>("proxies") {
        if proxies.raw_get::<bool>(t.clone()).unwrap_or(false) {
            let e = lua.create_string("Attempt to modify a readonly table")?;
            return Err(raise(hooks, Value::String(e)));
        }
    }
    Ok(())
}

/// `user_script:3: ` for the Lua code calling the current Rust function (as
/// `luaL_error` prefixes messages).
fn position(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| {
        let src = d.source();
        match (src.short_src, d.current_line()) {
            (Some(s), Some(l)) => format!("{s}:{l}: "),
            _ => String::new(),
        }
    })
    .unwrap_or_default()
}

/// Lua's `lua_tonumber`: numbers and numeric strings, else 0.
fn to_number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// The `redis.*` functions written in Rust, into `hooks`.
fn api_functions(lua: &Lua, hooks: &Table) -> mlua::Result<()> {
    let err = |lua: &Lua, text: &str| -> mlua::Result<Value> {
        Ok(Value::Table(convert::error_table(lua, text.as_bytes())?))
    };
    for raise_errors in [true, false] {
        let h = hooks.clone();
        let f = lua.create_function(move |lua, _: convert::CallArgs| {
            // Hold the arguments while Lua runs (a lookup may take a GC step,
            // and a __gc finalizer may itself call redis.call); hand them
            // back just before the command hook takes them.
            let args = convert::CALL_ARGS.with_borrow_mut(std::mem::take);
            let Ok(Value::Function(cmd)) = h.raw_get::<Value>("cmd") else {
                return Err(raise(
                    &h,
                    err(lua, "redis.call can only be used inside a script")?,
                ));
            };
            convert::CALL_ARGS.with_borrow_mut(|a| *a = args);
            let (v, is_err): (Value, bool) = cmd.call(raise_errors)?;
            if is_err {
                return Err(raise(&h, v));
            }
            Ok(v)
        })?;
        hooks.raw_set(if raise_errors { "call" } else { "pcall" }, f)?;
    }
    let h = hooks.clone();
    hooks.raw_set(
        "setresp",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise(
                    &h,
                    err(lua, "redis.setresp() requires one argument.")?,
                ));
            }
            let v = to_number(args.front()).unwrap_or(0.0).trunc();
            if v != 2.0 && v != 3.0 {
                return Err(raise(&h, err(lua, "RESP version must be 2 or 3.")?));
            }
            if let Ok(Value::Function(resp)) = h.raw_get::<Value>("resp") {
                resp.call::<()>(v as i64)?;
            }
            Ok(())
        })?,
    )?;
    let h = hooks.clone();
    hooks.raw_set(
        "set_repl",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise(&h, err(lua, "redis.set_repl() requires one argument.")?));
            }
            let v = to_number(args.front()).unwrap_or(0.0).trunc();
            if !(0.0..=3.0).contains(&v) {
                return Err(raise(
                    &h,
                    err(
                        lua,
                        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    )?,
                ));
            }
            Ok(())
        })?,
    )?;
    let h = hooks.clone();
    hooks.raw_set(
        "log",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() < 2 {
                return Err(raise(
                    &h,
                    err(lua, "redis.log() requires two arguments or more.")?,
                ));
            }
            let Some(level) = to_number(args.front()) else {
                return Err(raise(
                    &h,
                    err(lua, "First argument must be a number (log level).")?,
                ));
            };
            let level = level.trunc();
            if !(0.0..=3.0).contains(&level) {
                return Err(raise(&h, err(lua, "Invalid debug level.")?));
            }
            let mut msg = String::new();
            for (i, a) in args.iter().skip(1).enumerate() {
                let s = match a {
                    Value::String(s) => s.to_string_lossy(),
                    Value::Integer(n) => n.to_string(),
                    Value::Number(n) => libs::fmt_g(*n, 14),
                    _ => continue,
                };
                if i > 0 {
                    msg.push(' ');
                }
                msg.push_str(&s);
            }
            match level as i64 {
                0 => tracing::debug!("{msg}"),
                1 | 2 => tracing::info!("{msg}"),
                _ => tracing::warn!("{msg}"),
            }
            Ok(())
        })?,
    )?;
    let h = hooks.clone();
    hooks.raw_set(
        "sha1hex",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise(&h, err(lua, "wrong number of arguments")?));
            }
            let bytes = match args.front() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                Some(Value::Integer(i)) => i.to_string().into_bytes(),
                Some(Value::Number(n)) => libs::fmt_g(*n, 14).into_bytes(),
                _ => Vec::new(),
            };
            lua.create_string(sha1_hex(&bytes))
        })?,
    )?;
    let h = hooks.clone();
    hooks.raw_set(
        "acl_check_cmd",
        lua.create_function(move |lua, args: MultiValue| {
            if args.is_empty() {
                let e = err(
                    lua,
                    "Please specify at least one argument for this redis lib call",
                )?;
                return Err(raise(&h, e));
            }
            if args
                .iter()
                .any(|a| !matches!(a, Value::String(_) | Value::Integer(_) | Value::Number(_)))
            {
                let e = err(
                    lua,
                    "Lua redis lib command arguments must be strings or integers",
                )?;
                return Err(raise(&h, e));
            }
            let Ok(Value::Function(check)) = h.raw_get::<Value>("acl_check") else {
                return Err(raise(
                    &h,
                    err(lua, "redis.acl_check_cmd can only be used inside a script")?,
                ));
            };
            match check.call::<Option<bool>>(args)? {
                Some(allowed) => Ok(allowed),
                None => {
                    let e = err(lua, "Invalid command passed to redis.acl_check_cmd()")?;
                    Err(raise(&h, e))
                }
            }
        })?,
    )?;
    // setmetatable, which cannot replace a read-only table's metatable
    // (Redis's "Attempt to modify a readonly table"). A Rust function, like
    // Lua's, so its errors name the script's line.
    let h = hooks.clone();
    hooks.raw_set(
        "setmetatable",
        lua.create_function(move |lua, args: MultiValue| {
            let fail = |text: String| -> mlua::Error {
                match lua.create_string(format!("{}{text}", position(lua))) {
                    Ok(s) => raise(&h, Value::String(s)),
                    Err(e) => e,
                }
            };
            let t = match args.front() {
                Some(Value::Table(t)) => t.clone(),
                other => {
                    let got = other.map_or("no value", libs::type_name);
                    return Err(fail(format!(
                        "bad argument #1 to 'setmetatable' (table expected, got {got})"
                    )));
                }
            };
            let mt = match args.get(1) {
                None | Some(Value::Nil) => None,
                Some(Value::Table(m)) => Some(m.clone()),
                Some(_) => {
                    return Err(fail(
                        "bad argument #2 to 'setmetatable' (nil or table expected)".into(),
                    ))
                }
            };
            refuse_readonly(lua, &h, &t)?;
            if let Some(cur) = t.metatable() {
                if !cur.raw_get::<Value>("__metatable")?.is_nil() {
                    return Err(fail("cannot change a protected metatable".into()));
                }
            }
            t.set_metatable(mt)?;
            Ok(t)
        })?,
    )?;
    let h = hooks.clone();
    hooks.raw_set(
        "rawset",
        lua.create_function(move |lua, (t, k, v): (Table, Value, Value)| {
            refuse_readonly(lua, &h, &t)?;
            t.raw_set(k, v)?;
            Ok(t)
        })?,
    )?;
    hooks.raw_set(
        "errtext",
        lua.create_function(|lua, s: mlua::LuaString| {
            lua.create_string(convert::error_text(&s.as_bytes()))
        })?,
    )?;
    Ok(())
}

/// `math.random` / `math.randomseed` as Redis replaces them: the 48-bit
/// `lrand48` generator (same sequence on every platform, seeded as Redis's
/// `rand.c` is at start), not the C library's `rand()`.
fn random_functions(lua: &Lua, hooks: &Table) -> mlua::Result<()> {
    const A: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;
    const MAX: i64 = i32::MAX as i64;
    let state = Arc::new(AtomicU64::new(0x1234_ABCD_330E));
    let st = state.clone();
    let h = hooks.clone();
    let bad = |lua: &Lua, h: &Table, n: usize, what: &str| -> mlua::Error {
        let text = format!("{}bad argument #{n} to 'random' ({what})", position(lua));
        match lua.create_string(&text) {
            Ok(s) => raise(h, Value::String(s)),
            Err(e) => e,
        }
    };
    let random = lua.create_function(move |lua, args: MultiValue| {
        let x = (st.load(Relaxed).wrapping_mul(A).wrapping_add(0xB)) & MASK;
        st.store(x, Relaxed);
        let r = ((x >> 17) as i64 % MAX) as f64 / MAX as f64;
        let int = |i: usize| -> mlua::Result<i64> {
            match args.get(i) {
                Some(v) => match to_number(Some(v)) {
                    Some(n) => Ok(n as i64),
                    None => Err(bad(
                        lua,
                        &h,
                        i + 1,
                        &format!("number expected, got {}", v.type_name()),
                    )),
                },
                None => Err(bad(lua, &h, i + 1, "number expected, got no value")),
            }
        };
        match args.len() {
            0 => Ok(r),
            1 => {
                let u = int(0)?;
                if u < 1 {
                    return Err(bad(lua, &h, 1, "interval is empty"));
                }
                Ok((r * u as f64).floor() + 1.0)
            }
            2 => {
                let (l, u) = (int(0)?, int(1)?);
                if l > u {
                    return Err(bad(lua, &h, 2, "interval is empty"));
                }
                Ok((r * (u - l + 1) as f64).floor() + l as f64)
            }
            _ => {
                let text = format!("{}wrong number of arguments", position(lua));
                Err(raise(&h, Value::String(lua.create_string(&text)?)))
            }
        }
    })?;
    let h = hooks.clone();
    let seed = lua.create_function(move |lua, args: MultiValue| {
        let Some(n) = to_number(args.front()) else {
            let text = format!(
                "{}bad argument #1 to 'randomseed' (number expected, got {})",
                position(lua),
                args.front().map_or("no value", |v| v.type_name())
            );
            return Err(raise(&h, Value::String(lua.create_string(&text)?)));
        };
        state.store((((n as i64 as u32) as u64) << 16 | 0x330E) & MASK, Relaxed);
        Ok(())
    })?;
    let math: Table = lua.globals().get("math")?;
    math.raw_set("random", random)?;
    math.raw_set("randomseed", seed)?;
    Ok(())
}

fn internal(e: mlua::Error) -> CmdError {
    CmdError::err(format!("Lua engine error: {}", lua_message(&e)))
}

/// The plain Lua message of an mlua error.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}

/// `#!lua flags=a,b` on an EVAL script: its flags and where the code starts
/// (at the newline, so line numbers stay the user's). No shebang: COMPAT.
pub fn shebang_flags(body: &[u8]) -> Result<(u32, usize), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((sflags::COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(CmdError::err("Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    if parts.is_empty() {
        return Err(CmdError::err("Invalid engine in script shebang"));
    }
    if parts[0] != "#!lua" {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {}",
            parts[0]
        )));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix("flags=") {
            for f in list.split(',') {
                match sflags::parse(f) {
                    Some(b) => flags |= b,
                    None if f.is_empty() && list.is_empty() => {}
                    None => {
                        return Err(CmdError::err(format!(
                            "Unexpected flag in script shebang: {f}"
                        )))
                    }
                }
            }
        } else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {p}")));
        }
    }
    Ok((flags, end))
}

/// `#!lua name=mylib` of a function library: its name and where code starts.
/// The first line splits as Redis's `sdssplitargs` does (so `name="foo"` is
/// `foo`); the first word minus `#!` names the engine.
pub fn library_metadata(code: &[u8]) -> Result<(String, usize), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(CmdError::err("Invalid library metadata"));
    };
    let parts = match crate::acl::rules::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(CmdError::err("Invalid library metadata")),
    };
    let engine = String::from_utf8_lossy(parts[0].get(2..).unwrap_or_default()).into_owned();
    let mut name: Option<String> = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(CmdError::err(
                    "Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(String::from_utf8_lossy(&p[5..]).into_owned());
        } else {
            return Err(CmdError::err(format!(
                "Invalid metadata value given: {}",
                String::from_utf8_lossy(p)
            )));
        }
    }
    let Some(name) = name else {
        return Err(CmdError::err("Library name was not given"));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(CmdError::err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    Ok((name, end))
}

impl Scripts {
    /// Every FUNCTION library's code, for snapshots (no engine is created
    /// when none exists). The caller holds the gates, so no script runs.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.engine
            .lock()
            .as_ref()
            .map(|e| e.libraries.values().map(|l| l.code.clone()).collect())
            .unwrap_or_default()
    }

    /// Load libraries read from a snapshot (replacing same-named ones).
    pub fn restore_libraries(&self, codes: &[Vec<u8>]) -> Result<(), CmdError> {
        let mut guard = self.engine()?;
        let Some(e) = guard.as_mut() else {
            return Err(CmdError::err("Lua engine not available"));
        };
        for code in codes {
            e.load_library(code, true)?;
        }
        self.update_stats(e);
        Ok(())
    }

    /// The engine, created on first use.
    pub fn engine(&self) -> Result<MutexGuard<'_, Option<Engine>>, CmdError> {
        let mut g = self.engine.lock();
        if g.is_none() {
            *g = Some(Engine::new(self.kill.clone()).map_err(internal)?);
        }
        Ok(g)
    }

    /// Refresh the INFO numbers from the engine.
    pub fn update_stats(&self, e: &Engine) {
        self.lua_memory.store(e.lua.used_memory(), Relaxed);
        self.cached_scripts.store(e.scripts.len(), Relaxed);
        let mem: usize = e
            .scripts
            .iter()
            .map(|(k, s)| k.len() + s.body.len() + 64)
            .sum();
        self.scripts_memory.store(mem, Relaxed);
        let fmem: usize = e
            .libraries
            .iter()
            .map(|(k, l)| k.len() + l.code.len() + 64 * (1 + l.functions.len()))
            .sum();
        self.functions_memory.store(fmem, Relaxed);
        self.libraries.store(e.libraries.len(), Relaxed);
        self.functions.store(e.functions.len(), Relaxed);
    }

    /// The BUSY error while a script has run past `busy-reply-threshold`.
    pub fn busy(&self, server: &Server) -> Option<&'static str> {
        let started = self.started_ms.load(Relaxed);
        if started == 0 {
            return None;
        }
        let limit = server.config.busy_reply_threshold();
        if limit == 0 || crate::util::now_ms().saturating_sub(started) < limit {
            return None;
        }
        Some(self.busy_text())
    }

    /// The BUSY text for the running script (EVAL) or function (FCALL).
    pub fn busy_text(&self) -> &'static str {
        if self.is_function.load(Relaxed) {
            BUSY_FUNCTION
        } else {
            BUSY_SCRIPT
        }
    }

    /// The worker thread running a script, if one runs.
    pub fn busy_worker(&self) -> Option<usize> {
        if self.started_ms.load(Relaxed) == 0 {
            return None;
        }
        Some(self.worker.load(Relaxed))
    }

    /// SCRIPT KILL (`function` false) / FUNCTION KILL (true).
    pub fn kill(&self, function: bool) -> Result<(), CmdError> {
        if self.started_ms.load(Relaxed) == 0 {
            return Err(CmdError::coded(
                "NOTBUSY No scripts in execution right now.",
            ));
        }
        if self.wrote.load(Relaxed) {
            return Err(CmdError::coded("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
        }
        let is_function = self.is_function.load(Relaxed);
        if !function && is_function {
            return Err(CmdError::coded(BUSY_FUNCTION));
        }
        if function && !is_function {
            return Err(CmdError::coded(BUSY_SCRIPT));
        }
        self.kill.store(true, Relaxed);
        Ok(())
    }

    /// Stop the running script whatever it did (SHUTDOWN): the kill hook
    /// fires at its next check.
    pub fn abort(&self) {
        self.shutdown.store(true, Relaxed);
        if self.started_ms.load(Relaxed) != 0 {
            self.kill.store(true, Relaxed);
        }
    }

    /// The running function's name, arguments and run time (FUNCTION STATS).
    pub fn running(&self) -> Option<(String, Vec<Vec<u8>>, u64)> {
        let started = self.started_ms.load(Relaxed);
        let r = self.running.lock().clone()?;
        if started == 0 || !self.is_function.load(Relaxed) {
            return None;
        }
        Some((r.0, r.1, crate::util::now_ms().saturating_sub(started)))
    }
}

/// Take the calling worker's gate for a command, or refuse it with BUSY once
/// a script has run past `busy-reply-threshold` (ALLOW_BUSY commands then run
/// without the gate). Returns the guard (None on a thread without a gate or
/// for an ALLOW_BUSY command while busy).
#[inline]
pub fn admit<'a>(
    server: &'a Server,
    cmd: &Command,
) -> Result<Option<parking_lot::RwLockReadGuard<'a, ()>>, CmdError> {
    // The gate is free unless a transaction or script holds every gate.
    if let Ok(g) = server.gates.try_read_for(std::time::Duration::ZERO) {
        return Ok(g);
    }
    admit_waiting(server, cmd)
}

#[inline(never)]
fn admit_waiting<'a>(
    server: &'a Server,
    cmd: &Command,
) -> Result<Option<parking_lot::RwLockReadGuard<'a, ()>>, CmdError> {
    let mut wait = std::time::Duration::ZERO;
    loop {
        if let Ok(g) = server.gates.try_read_for(wait) {
            return Ok(g);
        }
        if let Some(busy) = server.scripts.busy(server) {
            if cmd.has(flags::ALLOW_BUSY) {
                return Ok(None);
            }
            return Err(CmdError::coded(busy));
        }
        // This thread serves its connections for its own busy script: it
        // holds every gate, waiting would never end.
        if crate::server::busy::serving() {
            return Err(CmdError::coded(server.scripts.busy_text()));
        }
        wait = std::time::Duration::from_millis(5);
    }
}

/// What one run needs.
pub struct RunSpec<'a> {
    /// The sha (EVAL) or function name (FCALL), as errors name it.
    pub name: &'a str,
    pub function: bool,
    pub keys: Vec<&'a [u8]>,
    pub argv: Vec<&'a [u8]>,
    pub read_only: bool,
    pub allow_oom: bool,
    /// The whole command, for FUNCTION STATS.
    pub command: Vec<Vec<u8>>,
}

/// Mutable state of a run, shared by the `redis.call` callback.
struct RunState<'a> {
    server: &'a Server,
    tstats: &'a ThreadStats,
    now: u64,
    client: Client,
    scratch: Reply,
    buf: Vec<u8>,
    ranges: Vec<std::ops::Range<usize>>,
    read_only: bool,
    allow_oom: bool,
    oom_at_start: bool,
    resp3: bool,
}

/// Marks a script as running (for BUSY / KILL) until dropped.
struct Running<'a>(&'a Scripts);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.started_ms.store(0, Relaxed);
        *self.0.running.lock() = None;
        self.0.kill.store(false, Relaxed);
        crate::server::busy::end();
    }
}

/// Run a script or function. The caller holds every gate. On success the
/// reply is written to `out` and the result says whether that reply is an
/// error already counted in the error stats (the caller still counts a
/// failed call); other script errors are returned as the error reply.
#[allow(clippy::too_many_arguments)]
pub fn run(
    server: &Server,
    engine: &mut Engine,
    caller: &mut Client,
    out: &mut Reply,
    tstats: &ThreadStats,
    now: u64,
    spec: RunSpec<'_>,
    func_of: impl FnOnce(&Engine) -> Option<Function>,
) -> Result<bool, CmdError> {
    // Its writes reach the AOF as the commands it ran, wrapped in
    // MULTI/EXEC when there are several (Redis 7's effects replication).
    crate::persist::aof::log::transaction();
    let scripts = &server.scripts;
    let mark = out.len();
    let Some(func) = func_of(engine) else {
        return Err(CmdError::coded(NOSCRIPT));
    };
    let lua = &engine.lua;
    let mk = |items: &[&[u8]]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, k) in items.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(k)?)?;
        }
        Ok(t)
    };
    let keys = mk(&spec.keys).map_err(internal)?;
    let argv = mk(&spec.argv).map_err(internal)?;
    if !spec.function {
        engine
            .globals
            .raw_set("KEYS", keys.clone())
            .map_err(internal)?;
        engine
            .globals
            .raw_set("ARGV", argv.clone())
            .map_err(internal)?;
    }
    // The script client shares the caller's ClientInfo; its commands must not
    // show as the caller's last command (CLIENT LIST cmd=).
    let last_cmd = caller.info.last_cmd.load(Relaxed);
    let mut client = Client::new(caller.info.clone(), caller.user.clone());
    client.authenticated = true;
    client.db = caller.db;
    client.deny_blocking = true;
    client.in_script = true;
    // The keys its commands read are tracked for the caller (Redis's call()
    // remembers them for server.current_client).
    client.pubsub.tracking = caller.pubsub.tracking;
    let state = RefCell::new(RunState {
        server,
        tstats,
        now,
        client,
        scratch: Reply::new(false),
        buf: Vec::new(),
        ranges: Vec::new(),
        read_only: spec.read_only,
        allow_oom: spec.allow_oom,
        oom_at_start: crate::evict::over_limit_fast(&server.config),
        resp3: false,
    });

    scripts.kill.store(false, Relaxed);
    scripts.wrote.store(false, Relaxed);
    scripts.is_function.store(spec.function, Relaxed);
    scripts.worker.store(crate::server::busy::worker(), Relaxed);
    *scripts.running.lock() = Some((spec.name.to_string(), spec.command.clone()));
    scripts
        .started_ms
        .store(crate::util::now_ms().max(1), Relaxed);
    let running = Running(scripts);

    let hooks = &engine.hooks;
    let result: mlua::Result<(bool, Value)> = lua.scope(|scope| {
        let cmd = scope.create_function(|lua, raise: bool| {
            call_command(lua, &mut state.borrow_mut(), raise)
        })?;
        let resp = scope.create_function(|_, v: i64| {
            state.borrow_mut().resp3 = v == 3;
            Ok(())
        })?;
        // redis.acl_check_cmd: None when no such command (or subcommand),
        // else whether the calling user may run it with these arguments.
        let acl_check = scope.create_function(|_, args: MultiValue| {
            let mut call = convert::CallBuf::default();
            call.fill(&args);
            if call.bad {
                return Ok(None);
            }
            let cargs = call.args();
            let commands = &server.commands;
            let Some(top) = commands.get(cargs.get(0)).map(|e| e.id) else {
                return Ok(None);
            };
            let mut entry = &commands.entries[top];
            if !entry.cmd.subcommands.is_empty() {
                match (cargs.len() > 1)
                    .then(|| commands.sub(entry, cargs.get(1)))
                    .flatten()
                {
                    Some(sub) => entry = sub,
                    None => return Ok(None),
                }
            }
            let user = &state.borrow().client.user;
            Ok(Some(crate::acl::check_command(user, entry, cargs).is_ok()))
        })?;
        hooks.raw_set("cmd", cmd)?;
        hooks.raw_set("resp", resp)?;
        hooks.raw_set("acl_check", acl_check)?;
        let r = if spec.function {
            engine.run_fn.call((func, keys, argv))
        } else {
            engine.run_eval.call(func)
        };
        hooks.raw_set("cmd", Value::Nil)?;
        hooks.raw_set("resp", Value::Nil)?;
        hooks.raw_set("acl_check", Value::Nil)?;
        r
    });
    let stopped_for_shutdown = scripts.shutdown.load(Relaxed) && scripts.kill.load(Relaxed);
    drop(running);
    caller.info.last_cmd.store(last_cmd, Relaxed);
    if stopped_for_shutdown {
        // Stopped by SHUTDOWN (NOSAVE): as in Redis, whose process exits
        // there, the caller gets no reply and the effects are not logged.
        crate::persist::aof::log::discard();
        out.buf.truncate(mark);
        caller.close_after_reply = true;
        return Ok(false);
    }
    let (ok, value) = result.map_err(internal)?;
    let script_resp3 = state.borrow().resp3;
    if !spec.function {
        let _ = engine.globals.raw_set("KEYS", Value::Nil);
        let _ = engine.globals.raw_set("ARGV", Value::Nil);
    }
    engine.gc_tick();
    // Only the Lua heap changes in a run (the cache and libraries do not).
    scripts.lua_memory.store(engine.lua.used_memory(), Relaxed);
    // An error already counted (it came from a command) is written as is;
    // any other goes through the error path, which counts it.
    let counted = |v: &Value| match v {
        Value::Table(t) => t
            .raw_get::<bool>("ignore_error_stats_update")
            .unwrap_or(false),
        _ => false,
    };
    if !ok {
        let msg = failure_message(&value, spec.name);
        if counted(&value) {
            out.error(&msg);
            return Ok(true);
        }
        return Err(CmdError::coded(msg));
    }
    if let Value::Table(t) = &value {
        if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
            if counted(&value) {
                out.error(&e.to_string_lossy());
                return Ok(true);
            }
            return Err(CmdError::coded(e.to_string_lossy()));
        }
    }
    convert::ToReply { out, script_resp3 }.write(&value);
    Ok(false)
}

/// The error reply of a failed run: the error's message, plus where it was
/// raised (`script: <name>, on @user_script:<line>.`).
fn failure_message(v: &Value, name: &str) -> String {
    let Value::Table(t) = v else {
        let msg = match v {
            Value::String(s) => s.to_string_lossy(),
            _ => "execution failure".into(),
        };
        let msg: String = msg.chars().take(100).collect();
        return format!("ERR Error running script {name}, {msg}");
    };
    let get = |k: &str| -> Option<String> {
        match t.raw_get::<Value>(k).ok()? {
            Value::String(s) => Some(s.to_string_lossy()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Number(n) => Some(libs::fmt_g(n, 14)),
            _ => None,
        }
    };
    let mut msg = get("err").unwrap_or_default();
    if let (Some(source), Some(line)) = (get("source"), get("line")) {
        msg.push_str(&format!(" script: {name}, on {source}:{line}."));
    }
    msg
}

/// `redis.call` / `redis.pcall`: run one command for the script. Returns the
/// converted reply and whether it is an error to raise.
/// Run the command whose arguments [`convert::CallArgs`] just collected.
fn call_command(lua: &Lua, st: &mut RunState<'_>, raise: bool) -> mlua::Result<(Value, bool)> {
    // A command refused here counts in the error stats now, once (Redis's
    // afterErrorReply on the script client).
    let server = st.server;
    let fail = |lua: &Lua, text: &str| -> mlua::Result<(Value, bool)> {
        let t = convert::counted_error_table(lua, text.as_bytes())?;
        let shown = convert::error_text(text.as_bytes());
        server.stats.count_error(&String::from_utf8_lossy(&shown));
        Ok((Value::Table(t), raise))
    };
    // Take the collected arguments (the buffers trade places, so both keep
    // their capacity for the next call).
    let bad = convert::CALL_ARGS.with_borrow_mut(|a| {
        std::mem::swap(&mut st.buf, &mut a.buf);
        std::mem::swap(&mut st.ranges, &mut a.ranges);
        a.bad
    });
    if st.ranges.is_empty() && !bad {
        return fail(
            lua,
            "Please specify at least one argument for this redis lib call",
        );
    }
    if bad {
        return fail(
            lua,
            "Lua redis lib command arguments must be strings or integers",
        );
    }
    let cargs = Args::new(&st.buf, &st.ranges);
    // A known command refused before it runs counts as a rejected call of
    // it (Redis's scriptCall: ERROR_COMMAND_REJECTED).
    let tstats = st.tstats;
    let entry = match server.commands.resolve(cargs) {
        Ok(e) => e,
        Err(CmdError::WrongArity(_)) => {
            if let Some(top) = server.commands.get(cargs.get(0)) {
                let sub = (cargs.len() > 1)
                    .then(|| server.commands.sub(top, cargs.get(1)))
                    .flatten();
                tstats.rejected(sub.unwrap_or(top).id);
            }
            return fail(
                lua,
                "Wrong number of args calling Redis command from script",
            );
        }
        Err(_) => return fail(lua, "Unknown Redis command called from script"),
    };
    let cmd = entry.cmd;
    let fail = |lua: &Lua, text: &str| {
        tstats.rejected(entry.id);
        fail(lua, text)
    };
    if cmd.has(flags::NOSCRIPT) {
        return fail(lua, "This Redis command is not allowed from script");
    }
    // The caller's ACL applies to what the script runs (Redis's
    // scriptVerifyACL), logged with context `lua`.
    if let Err(d) = crate::acl::check_command(&st.client.user, entry, cargs) {
        let msg = d.message(&st.client.user, cmd.name, cargs, false);
        crate::commands::acl_cmd::log_denied(
            server,
            &st.client,
            entry,
            cargs,
            d,
            crate::acl::Context::Lua,
        );
        return fail(lua, &format!("ACL failure in script: {msg}"));
    }
    if st.read_only && cmd.has(flags::WRITE | flags::MAY_REPLICATE) {
        return fail(
            lua,
            "Write commands are not allowed from read-only scripts.",
        );
    }
    // Only reachable by scripts without flags: one that may write was
    // refused before it ran (see commands::script::prepare).
    if cmd.has(flags::WRITE) && server.config.no_good_replicas() {
        return fail(lua, &format!("-{}", crate::commands::NOREPLICAS));
    }
    let scripts = &server.scripts;
    if !st.allow_oom && st.oom_at_start && !scripts.wrote.load(Relaxed) && cmd.has(flags::DENYOOM) {
        return fail(lua, &format!("-{}", crate::commands::OOM_ERROR));
    }
    if cmd.has(flags::WRITE) {
        scripts.wrote.store(true, Relaxed);
    }
    st.scratch.buf.clear();
    st.scratch.resp3 = st.resp3;
    st.client.resp = if st.resp3 { 3 } else { 2 };
    let entry_id = entry.id;
    crate::commands::execute(
        server,
        &mut st.client,
        &mut st.scratch,
        st.tstats,
        st.now,
        entry,
        cargs,
    );
    let _ = entry_id;
    st.client.blocked = None;
    let reply = &st.scratch.buf;
    if raise && reply.first() == Some(&b'-') {
        let end = reply.len().saturating_sub(2);
        return Ok((
            Value::Table(convert::counted_error_table(lua, &reply[..end.max(1)])?),
            true,
        ));
    }
    Ok((convert::reply_to_lua(lua, reply)?, false))
}
