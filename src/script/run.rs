//! One run of a script or function: the per-run state that `redis.call`
//! reaches through a thread-local pointer, the protected call into Lua, and
//! the commands a script runs (`redis.call` / `redis.pcall`).

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering::Relaxed;

use std::os::raw::c_int;

use mlua::{ffi, Lua, MultiValue, Value};

use super::{convert, internal, libs, Engine, Scripts};
use crate::commands::flags;
use crate::error::CmdError;
use crate::protocol::{Args, Reply};
use crate::server::client::Client;
use crate::server::stats::ThreadStats;
use crate::server::Server;

/// What one run needs.
pub struct RunSpec<'a> {
    /// The sha (EVAL) or function name (FCALL), as errors name it.
    pub name: &'a str,
    pub function: bool,
    pub keys: Args<'a>,
    pub argv: Args<'a>,
    pub read_only: bool,
    pub allow_oom: bool,
    /// The whole command, for FUNCTION STATS.
    pub command: Args<'a>,
}

/// Buffers a run needs, kept in the engine between runs so that a run
/// allocates none once they have grown.
#[derive(Default)]
pub(super) struct RunBufs {
    /// The reply of the command a script called.
    scratch: Reply,
    /// That command's arguments (traded with [`convert::CALL_ARGS`]).
    call: convert::CallBuf,
}

/// Mutable state of a run, shared by the `redis.call` callback.
pub(super) struct RunState<'a> {
    server: &'a Server,
    tstats: &'a ThreadStats,
    now: u64,
    client: Client,
    bufs: RunBufs,
    read_only: bool,
    allow_oom: bool,
    oom_at_start: bool,
    pub(super) resp3: bool,
}

/// Marks a script as running (for BUSY / KILL) until dropped.
struct Running<'a>(&'a Scripts);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.started_ms.store(0, Relaxed);
        self.0.kill.store(false, Relaxed);
        crate::server::busy::end();
    }
}

thread_local! {
    /// The run in progress on this thread, for the `redis.*` callbacks:
    /// set by [`run`] around its Lua call (see [`Current`]), null otherwise.
    static CURRENT: Cell<*const RefCell<RunState<'static>>> = const { Cell::new(std::ptr::null()) };
}

/// Makes a run's state the thread's [`CURRENT`] until dropped. The callbacks
/// are built once with the engine; this is what lets them reach the run
/// without a per-run `Lua::scope` (which created and destroyed three
/// functions per run).
struct Current(*const RefCell<RunState<'static>>);

impl Current {
    fn set(state: &RefCell<RunState<'_>>) -> Current {
        let p = (state as *const RefCell<RunState<'_>>).cast::<RefCell<RunState<'static>>>();
        Current(CURRENT.with(|c| c.replace(p)))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Call `f` with the run in progress on this thread; `None` when there is
/// none (FUNCTION LOAD's body, say) or when it is already borrowed (a
/// callback reached from inside a command's own conversion).
pub(super) fn with_run<R>(f: impl FnOnce(&mut RunState<'_>) -> R) -> Option<R> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null CURRENT points at the RefCell on the stack of the
    // `run` below this frame on this same thread: `Current` restores the
    // previous value before `run` returns or unwinds, and Lua calls its
    // callbacks synchronously on the thread that called into it. The
    // 'static lifetime is never let out of `f`'s borrow.
    let cell = unsafe { &*p };
    let mut st = cell.try_borrow_mut().ok()?;
    Some(f(&mut st))
}

/// `redis.acl_check_cmd`: `None` when no such command (or subcommand), else
/// whether the calling user may run it with these arguments.
pub(super) fn acl_allowed(st: &RunState<'_>, args: &MultiValue) -> Option<bool> {
    let mut call = convert::CallBuf::default();
    call.fill(args);
    if call.bad {
        return None;
    }
    let cargs = call.args();
    let commands = &st.server.commands;
    let mut entry = commands.get(cargs.get(0))?;
    if !entry.cmd.subcommands.is_empty() {
        entry = (cargs.len() > 1)
            .then(|| commands.sub(entry, cargs.get(1)))
            .flatten()?;
    }
    Some(crate::acl::check_command(&st.client.user, entry, cargs).is_ok())
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
) -> Result<bool, CmdError> {
    // Its writes reach the AOF as the commands it ran, wrapped in
    // MULTI/EXEC when there are several (Redis 7's effects replication).
    crate::persist::aof::log::transaction();
    let _target = crate::persist::aof::log::ScriptTarget::begin();
    let scripts = &server.scripts;
    let mark = out.len();
    // The script client shares the caller's ClientInfo; its commands must not
    // show as the caller's last command (CLIENT LIST cmd=).
    let last_cmd = caller.info.last_cmd.load(Relaxed);
    let mut client = Client::new(caller.info.clone(), caller.user.clone());
    client.authenticated = true;
    client.db = caller.db;
    client.deny_blocking = true;
    client.in_script = true;
    // The AOF loader's or the master's script obeys like them.
    client.replaying = caller.replaying;
    // The keys its commands read are tracked for the caller (Redis's call()
    // remembers them for server.current_client).
    client.pubsub.tracking = caller.pubsub.tracking;
    let state = RefCell::new(RunState {
        server,
        tstats,
        now,
        client,
        bufs: std::mem::take(&mut engine.run_bufs),
        read_only: spec.read_only,
        allow_oom: spec.allow_oom,
        oom_at_start: crate::evict::over_limit_fast(&server.config),
        resp3: false,
    });

    scripts.kill.store(false, Relaxed);
    scripts.wrote.store(false, Relaxed);
    scripts.slow_logged.store(false, Relaxed);
    scripts.is_function.store(spec.function, Relaxed);
    scripts.worker.store(crate::server::busy::worker(), Relaxed);
    if spec.function {
        scripts.running.lock().set(spec.name, spec.command);
    }
    scripts
        .started_ms
        .store(crate::util::now_ms().max(1), Relaxed);
    let running = Running(scripts);

    let current = Current::set(&state);
    let result = call_lua(engine, &spec);
    drop(current);
    let state = state.into_inner();
    engine.run_bufs = state.bufs;
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
    let script_resp3 = state.resp3;
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

/// Call the script (`run_eval(f)`, with KEYS and ARGV as globals for the
/// run) or the function (`run_fn(f, keys, argv)`) through [`enter`]: one
/// protected call that finds `f` and builds the two tables straight on the
/// Lua stack, with no mlua handle per string.
fn call_lua(engine: &Engine, spec: &RunSpec<'_>) -> mlua::Result<(bool, Value)> {
    let runner = if spec.function {
        (&engine.callbacks, &engine.run_fn)
    } else {
        (&engine.eval_fns, &engine.run_eval)
    };
    let spec = mlua::LightUserData((spec as *const RunSpec<'_>).cast_mut().cast());
    let (keys, argv) = &engine.names;
    engine
        .enter
        .call((spec, &engine.globals, runner.0, runner.1, keys, argv))
}

/// The C function behind [`call_lua`], called (by mlua's protected call)
/// with a pointer to the [`RunSpec`], G, the table of compiled scripts or
/// of function callbacks, `run_eval` or `run_fn`, and the strings "KEYS"
/// and "ARGV" (passed in, so that no run hashes them). Returns `ok, value`.
///
/// # Safety
/// Only for [`call_lua`]'s call: argument 1 must point at a live `RunSpec`.
/// A Lua error raised in here (out of memory, say) unwinds by longjmp to
/// that protected call; nothing on this frame needs dropping. Lua gives a C
/// function LUA_MINSTACK (20) free slots, of which this uses at most 6.
pub(super) unsafe extern "C-unwind" fn enter(state: *mut ffi::lua_State) -> c_int {
    unsafe fn push_bytes(state: *mut ffi::lua_State, b: &[u8]) {
        unsafe { ffi::lua_pushlstring(state, b.as_ptr().cast(), b.len()) };
    }
    unsafe fn push_array(state: *mut ffi::lua_State, items: Args<'_>) {
        unsafe {
            ffi::lua_createtable(state, items.len().min(c_int::MAX as usize) as c_int, 0);
            for (i, item) in items.iter().enumerate() {
                push_bytes(state, item);
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
        }
    }
    // G[name] = items (a new array) or nil; G is argument 2, the name the
    // argument at `name`.
    unsafe fn set_global(state: *mut ffi::lua_State, name: c_int, items: Option<Args<'_>>) {
        unsafe {
            ffi::lua_pushvalue(state, name);
            match items {
                Some(items) => push_array(state, items),
                None => ffi::lua_pushnil(state),
            }
            ffi::lua_rawset(state, 2);
        }
    }
    unsafe {
        let spec = &*(ffi::lua_touserdata(state, 1) as *const RunSpec<'_>);
        // the runner, then f = fns[name]
        ffi::lua_pushvalue(state, 4);
        push_bytes(state, spec.name.as_bytes());
        ffi::lua_rawget(state, 3);
        if spec.function {
            push_array(state, spec.keys);
            push_array(state, spec.argv);
            ffi::lua_call(state, 3, 2);
        } else {
            set_global(state, 5, Some(spec.keys));
            set_global(state, 6, Some(spec.argv));
            ffi::lua_call(state, 1, 2);
            set_global(state, 5, None);
            set_global(state, 6, None);
        }
    }
    2
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
pub(super) fn call_command(
    lua: &Lua,
    st: &mut RunState<'_>,
    raise: bool,
) -> mlua::Result<(Value, bool)> {
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
    convert::CALL_ARGS.with_borrow_mut(|a| std::mem::swap(&mut st.bufs.call, a));
    let bad = st.bufs.call.bad;
    if st.bufs.call.ranges.is_empty() && !bad {
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
    let cargs = st.bufs.call.args();
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
    if cmd.has(flags::NOSCRIPT)
        && !server
            .scripts
            .deny_disabled
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        return fail(lua, "This Redis command is not allowed from script");
    }
    // On a stale replica (link down, replica-serve-stale-data no) an
    // allow-stale script runs only the commands flagged STALE.
    if !cmd.has(flags::STALE) && !st.client.replaying && server.repl.stale(server) {
        return fail(lua, "Can not execute the command on a stale replica");
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
    let scripts = &server.scripts;
    // The server's state may refuse a write, until the script has written:
    // then it cannot be failed half way (Redis's SCRIPT_WRITE_DIRTY). The
    // NOREPLICAS case is only reachable by scripts without flags: one that
    // may write was refused before it ran (see commands::script::prepare).
    if cmd.has(flags::WRITE) && !scripts.wrote.load(Relaxed) {
        let refusal = if !st.client.replaying && server.repl.read_only(server) {
            Some(crate::commands::READONLY_REPLICA)
        } else if !st.client.replaying && server.persist.writes_refused(server) {
            Some(crate::persist::save::MISCONF)
        } else if server.config.no_good_replicas() {
            Some(crate::commands::NOREPLICAS)
        } else {
            None
        };
        if let Some(why) = refusal {
            return fail(lua, &format!("-{why}"));
        }
    }
    if !st.allow_oom && st.oom_at_start && !scripts.wrote.load(Relaxed) && cmd.has(flags::DENYOOM) {
        return fail(lua, &format!("-{}", crate::commands::OOM_ERROR));
    }
    if cmd.has(flags::WRITE) {
        scripts.wrote.store(true, Relaxed);
    }
    st.bufs.scratch.buf.clear();
    st.bufs.scratch.resp3 = st.resp3;
    st.client.resp = if st.resp3 { 3 } else { 2 };
    crate::commands::execute(
        server,
        &mut st.client,
        &mut st.bufs.scratch,
        st.tstats,
        st.now,
        entry,
        cargs,
    );
    st.client.blocked = None;
    let reply = &st.bufs.scratch.buf;
    if raise && reply.first() == Some(&b'-') {
        let end = reply.len().saturating_sub(2);
        return Ok((
            Value::Table(convert::counted_error_table(lua, &reply[..end.max(1)])?),
            true,
        ));
    }
    Ok((convert::reply_to_lua(lua, reply)?, false))
}
