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
mod run;

use run::{acl_allowed, call_command, with_run};
pub use run::{run, RunSpec};

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::debug::HookTriggers;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use parking_lot::{Mutex, MutexGuard};

use crate::commands::{flags, Command};
use crate::error::CmdError;
use crate::protocol::Args;
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

/// The running function's name and command line, for FUNCTION STATS, in
/// buffers that the next run reuses. Only FCALL fills it: FUNCTION STATS
/// shows no EVAL script.
#[derive(Default)]
struct RunningCall {
    name: String,
    command: crate::server::client::Queued,
}

impl RunningCall {
    fn set(&mut self, name: &str, command: Args<'_>) {
        self.name.clear();
        self.name.push_str(name);
        self.command.set(command);
    }
}

/// Scripting state of one server.
#[derive(Default)]
pub struct Scripts {
    engine: Mutex<Option<Engine>>,
    /// Unix ms at which the running script started; 0 when none runs.
    started_ms: AtomicU64,
    /// The running script is a function (FCALL), not an EVAL script.
    is_function: AtomicBool,
    /// "Slow script detected" was logged for the running script.
    pub(crate) slow_logged: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    kill: Arc<AtomicBool>,
    /// The running script has called a write command (it cannot be killed).
    pub(crate) wrote: AtomicBool,
    /// Index of the worker thread running the script (valid while one runs).
    worker: AtomicUsize,
    /// The server is shutting down: a running script was stopped for it.
    shutdown: AtomicBool,
    /// Name and arguments of the running function (FUNCTION STATS).
    running: Mutex<RunningCall>,
    /// For INFO, updated after each engine operation.
    pub lua_memory: AtomicUsize,
    pub cached_scripts: AtomicUsize,
    pub scripts_memory: AtomicUsize,
    pub functions_memory: AtomicUsize,
    pub libraries: AtomicUsize,
    pub functions: AtomicUsize,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript` commands.
    pub deny_disabled: AtomicBool,
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
    run_eval: Function,
    /// Unix ms after which a running FUNCTION LOAD body is stopped (0: none).
    load_deadline: Arc<AtomicU64>,
    run_fn: Function,
    /// [`run::enter`], which calls `run_eval` or `run_fn` for a run.
    enter: Function,
    /// "KEYS" and "ARGV", for `enter`.
    names: (mlua::LuaString, mlua::LuaString),
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
    /// Buffers of the last run, reused by the next.
    run_bufs: run::RunBufs,
    /// cjson's settings, back to the defaults on SCRIPT FLUSH.
    json_settings: libs::cjson::Settings,
}

/// Every this many runs, one incremental GC step of this many KB (as Redis's
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
        let hooks = lua.create_table()?;
        // Library functions raise their failures through `raise_here`.
        lua.set_app_data(Hooks(hooks.clone()));
        let json_settings = libs::register(&lua, &raw)?;
        // Whether SCRIPT/FUNCTION KILL stopped the run: the sandbox's pcall
        // and xpcall then pass the error on instead of catching it.
        let killed = kill.clone();
        hooks.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed.load(Relaxed)))?,
        )?;
        api_functions(&lua, &hooks)?;
        random_functions(&lua, &hooks)?;
        let api: Table = lua
            .load(include_str!("sandbox.lua"))
            .set_name("=ember")
            .call((
                lua.globals(),
                raw,
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
            // SAFETY: `enter` is only called by `run::call_lua`, with the
            // arguments it documents.
            enter: unsafe { lua.create_c_function(run::enter)? },
            names: (lua.create_string("KEYS")?, lua.create_string("ARGV")?),
            load_fn: api.get("load")?,
            load_deadline,
            lua,
            scripts: HashMap::new(),
            eval_fns,
            callbacks,
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
            runs_since_gc: 0,
            run_bufs: Default::default(),
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
    /// an incremental GC step.
    fn gc_tick(&mut self) {
        self.runs_since_gc += 1;
        if self.runs_since_gc >= GC_PERIOD {
            self.runs_since_gc = 0;
            // One LUA_GCSTEP of GC_PERIOD KB, as Redis's call: Lua keeps
            // stepping until that much debt is paid or the cycle ends.
            // SAFETY: lua_gc runs in exec_raw's protected call (a __gc
            // error or out-of-memory is returned, not thrown past Rust);
            // it neither reads nor leaves values on the stack.
            let _ = unsafe {
                self.lua.exec_raw::<()>((), |state| {
                    mlua::ffi::lua_gc(
                        state,
                        mlua::ffi::LUA_GCSTEP,
                        GC_PERIOD as std::os::raw::c_int,
                    );
                })
            };
        }
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

/// The hooks table, as Lua app data, for [`raise_here`].
struct Hooks(Table);

/// Raise `msg` from a Rust library function, prefixed with the calling
/// script's position (`user_script:1: `), as a C library's luaL_error.
pub(crate) fn raise_here(lua: &Lua, msg: &str) -> mlua::Error {
    let text = format!("{}{msg}", position(lua));
    let Some(hooks) = lua.app_data_ref::<Hooks>() else {
        return mlua::Error::RuntimeError(text);
    };
    match lua.create_string(&text) {
        Ok(s) => raise(&hooks.0, Value::String(s)),
        Err(e) => e,
    }
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
            let Some(r) = with_run(|st| call_command(lua, st, raise_errors)) else {
                return Err(raise(
                    &h,
                    err(lua, "redis.call can only be used inside a script")?,
                ));
            };
            let (v, is_err) = r?;
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
            // Outside a run (FUNCTION LOAD) there is nothing to set.
            with_run(|st| st.resp3 = v == 3.0);
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
            // Outside a run (FUNCTION LOAD) there is nothing to set.
            with_run(|_| crate::persist::aof::log::set_script_target(v as u8));
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
            let Some(allowed) = with_run(|st| acl_allowed(st, &args)) else {
                return Err(raise(
                    &h,
                    err(lua, "redis.acl_check_cmd can only be used inside a script")?,
                ));
            };
            match allowed {
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

    /// Drop every FUNCTION library (DEBUG LOADAOF empties them with the
    /// data). Nothing to do when no engine was ever made.
    pub fn clear_functions(&self) {
        if let Some(e) = self.engine.lock().as_mut() {
            e.flush_functions();
            self.update_stats(e);
        }
    }

    /// Load libraries read from a snapshot; a same-named one is replaced
    /// only with `replace` (DEBUG RELOAD MERGE), else it is an error.
    pub fn restore_libraries(&self, codes: &[Vec<u8>], replace: bool) -> Result<(), CmdError> {
        let mut guard = self.engine()?;
        let Some(e) = guard.as_mut() else {
            return Err(CmdError::err("Lua engine not available"));
        };
        for code in codes {
            e.load_library(code, replace)?;
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

    /// The declared flags of the cached script `sha` (`function` false) or
    /// of the function `name`, if the engine is free now (None also when
    /// there is no such script). Never waits: a caller outside the gates
    /// must not block its worker on a script running elsewhere.
    pub fn try_flags(&self, name: &[u8], function: bool) -> Option<u32> {
        let g = self.engine.try_lock()?;
        let e = g.as_ref()?;
        let name = std::str::from_utf8(name).ok()?;
        if function {
            let (lib, f) = e.find_function(name)?;
            e.libraries.get(lib)?.functions.get(f).map(|f| f.flags)
        } else {
            e.scripts.get(&name.to_ascii_lowercase()).map(|s| s.flags)
        }
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
        let elapsed = crate::util::now_ms().saturating_sub(started);
        if limit == 0 || elapsed < limit {
            return None;
        }
        if !self.slow_logged.swap(true, Relaxed) {
            let kill = if self.is_function.load(Relaxed) {
                "FUNCTION KILL"
            } else {
                "SCRIPT KILL"
            };
            tracing::warn!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {kill} command."
            );
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
        if started == 0 || !self.is_function.load(Relaxed) {
            return None;
        }
        let r = self.running.lock();
        let command = r.command.args();
        Some((
            r.name.clone(),
            command.iter().map(<[u8]>::to_vec).collect(),
            crate::util::now_ms().saturating_sub(started),
        ))
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

/// Redis's error for a command without the LOADING flag while the data
/// set is being loaded.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// The LOADING error, if a load runs and `cmd` may not run during one.
pub fn loading_error(server: &Server, cmd: &Command) -> Option<CmdError> {
    (server.persist.loading.load(Relaxed) && !cmd.has(flags::LOADING))
        .then(|| CmdError::coded(LOADING_ERROR))
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
        // This thread serves its connections for its own busy script: it
        // holds every gate, waiting would never end.
        let serving = crate::server::busy::serving();
        // Otherwise a thread that holds every gate is replaying the AOF
        // itself (DEBUG LOADAOF): nothing else runs, go ahead.
        if !serving && server.gates.held_here() {
            return Ok(None);
        }
        // DEBUG LOADAOF holds every gate while it loads: as in Redis, what
        // may not run during a load answers LOADING (the rest waits).
        if let Some(e) = loading_error(server, cmd) {
            return Err(e);
        }
        if let Some(busy) = server.scripts.busy(server) {
            if cmd.has(flags::ALLOW_BUSY) {
                return Ok(None);
            }
            return Err(CmdError::coded(busy));
        }
        if serving {
            return Err(CmdError::coded(server.scripts.busy_text()));
        }
        wait = std::time::Duration::from_millis(5);
    }
}
