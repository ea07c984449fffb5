//! Scripting commands: EVAL, EVALSHA (and their _RO forms), SCRIPT, FUNCTION,
//! FCALL, FCALL_RO. The engine is in `crate::script`.
//!
//! EVAL/EVALSHA/FCALL are dispatched without their worker's read gate and
//! take every gate for writing while the script runs (see
//! [`CommandTable::takes_all_gates`](super::CommandTable::takes_all_gates)),
//! which makes a script atomic with respect to every other client.

use super::{acl, args::numkeys_positions, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse::parse_i64;
use crate::protocol::Args;
use crate::script::{self, sflags, RunSpec};

fn eval_keys(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 2)
}

const EVAL_SYNTAX: &str = "script numkeys [key [key ...]] [arg [arg ...]]";
const EVALSHA_SYNTAX: &str = "sha1 numkeys [key [key ...]] [arg [arg ...]]";
const FCALL_SYNTAX: &str = "function numkeys [key [key ...]] [arg [arg ...]]";
/// EVAL's, EVALSHA's and FCALL's flags (the _RO forms are READONLY
/// instead of MAY_REPLICATE).
const RUN: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;

pub const COMMANDS: &[Command] = &[
    Command::new("eval", -3, eval)
        .flags(RUN | MAY_REPLICATE)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script.",
            EVAL_SYNTAX,
        ),
    Command::new("eval_ro", -3, eval_ro)
        .flags(RUN | READONLY)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script.",
            EVAL_SYNTAX,
        ),
    Command::new("evalsha", -3, evalsha)
        .flags(RUN | MAY_REPLICATE)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script by SHA1 digest.",
            EVALSHA_SYNTAX,
        ),
    Command::new("evalsha_ro", -3, evalsha_ro)
        .flags(RUN | READONLY)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script by SHA1 digest.",
            EVALSHA_SYNTAX,
        ),
    Command::new("fcall", -3, fcall)
        .flags(RUN | MAY_REPLICATE)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "7.0.0",
            "Depends on the function that is executed.",
            "Invokes a function.",
            FCALL_SYNTAX,
        ),
    Command::new("fcall_ro", -3, fcall_ro)
        .flags(RUN | READONLY)
        .keys_fn(eval_keys)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
        .doc(
            "7.0.0",
            "Depends on the function that is executed.",
            "Invokes a read-only function.",
            FCALL_SYNTAX,
        ),
    Command::container("script", SCRIPT_SUBS)
        .acl(acl::SLOW)
        .group("scripting")
        .doc(
            "2.6.0",
            "Depends on subcommand.",
            "A container for Lua scripts management commands.",
            "",
        ),
    Command::container("function", FUNCTION_SUBS)
        .acl(acl::SLOW)
        .group("scripting")
        .doc(
            "7.0.0",
            "Depends on subcommand.",
            "A container for function commands.",
            "",
        ),
];

const fn sub(name: &'static str, arity: i32, h: super::Handler, f: u32) -> Command {
    Command::new(name, arity, h)
        .flags(f)
        .acl(acl::SLOW | acl::SCRIPTING)
        .group("scripting")
}

const SCRIPT_SUBS: &[Command] = &[
    sub("script|exists", -3, script_exists, NOSCRIPT).doc(
        "2.6.0",
        "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
        "Determines whether server-side Lua scripts exist in the script cache.",
        "sha1 [sha1 ...]",
    ),
    sub("script|flush", -2, script_flush, NOSCRIPT).doc(
        "2.6.0",
        "O(N) with N being the number of scripts in cache",
        "Removes all server-side Lua scripts from the script cache.",
        "[ASYNC | SYNC]",
    ),
    sub("script|help", 2, script_help, LOADING | STALE).doc(
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
        "",
    ),
    sub("script|kill", 2, script_kill, NOSCRIPT | ALLOW_BUSY).doc(
        "2.6.0",
        "O(1)",
        "Terminates a server-side Lua script during execution.",
        "",
    ),
    sub("script|load", 3, script_load, NOSCRIPT | STALE).doc(
        "2.6.0",
        "O(N) with N being the length in bytes of the script body.",
        "Loads a server-side Lua script to the script cache.",
        "script",
    ),
];

const FUNCTION_SUBS: &[Command] = &[
    sub("function|delete", 3, function_delete, WRITE | NOSCRIPT).doc(
        "7.0.0",
        "O(1)",
        "Deletes a library and its functions.",
        "library-name",
    ),
    sub("function|dump", 2, function_dump, NOSCRIPT).doc(
        "7.0.0",
        "O(N) where N is the number of functions",
        "Dumps all libraries into a serialized binary payload.",
        "",
    ),
    sub("function|flush", -2, function_flush, WRITE | NOSCRIPT).doc(
        "7.0.0",
        "O(N) where N is the number of functions deleted",
        "Deletes all libraries and functions.",
        "[ASYNC | SYNC]",
    ),
    sub("function|help", 2, function_help, LOADING | STALE).doc(
        "7.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
        "",
    ),
    sub("function|kill", 2, function_kill, NOSCRIPT | ALLOW_BUSY).doc(
        "7.0.0",
        "O(1)",
        "Terminates a function during execution.",
        "",
    ),
    sub("function|list", -2, function_list, NOSCRIPT).doc(
        "7.0.0",
        "O(N) where N is the number of functions",
        "Returns information about all libraries.",
        "[LIBRARYNAME library-name-pattern] [WITHCODE]",
    ),
    sub(
        "function|load",
        -3,
        function_load,
        WRITE | DENYOOM | NOSCRIPT,
    )
    .doc(
        "7.0.0",
        "O(1) (considering compilation time is redundant)",
        "Creates a library.",
        "[REPLACE] function-code",
    ),
    sub(
        "function|restore",
        -3,
        function_restore,
        WRITE | DENYOOM | NOSCRIPT,
    )
    .doc(
        "7.0.0",
        "O(N) where N is the number of functions on the payload",
        "Restores all libraries from a payload.",
        "serialized-value [FLUSH | APPEND | REPLACE]",
    ),
    sub("function|stats", 2, function_stats, NOSCRIPT | ALLOW_BUSY).doc(
        "7.0.0",
        "O(1)",
        "Returns information about a function during execution.",
        "",
    ),
];

/// Names of the commands that take every gate themselves.
pub const GATE_TAKERS: &[&str] = &[
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
];

/// numkeys at 2, with EVAL's checks: (keys, args).
type KeysArgs<'a> = (Args<'a>, Args<'a>);

fn split_keys<'a>(args: Args<'a>, bad_number: CmdError) -> Result<KeysArgs<'a>, CmdError> {
    let n = parse_i64(args.get(2)).ok_or(bad_number)?;
    let rest = args.len() as i64 - 3;
    if n > rest {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let n = n as usize;
    Ok((args.sub(3..3 + n), args.slice(3 + n)))
}

/// Whether `cmd` is EVAL, EVALSHA, FCALL or an _RO form.
fn is_run(cmd: &Command) -> bool {
    cmd.flags & RUN == RUN
}

/// The flags `cmd` really runs `args` with, as Redis's getCommandFlags: a
/// command's own, except for EVAL, EVALSHA and FCALL (and the _RO forms),
/// whose script decides (evalGetCommandFlags): one that declares flags (a
/// shebang, a function's flags) may write and deny OOM unless it says
/// otherwise, and replicates nothing else; one without, or not found, or
/// while the engine is busy elsewhere, keeps the command's flags. For
/// CLIENT PAUSE and MULTI's bookkeeping.
pub fn command_flags(server: &crate::server::Server, cmd: &Command, args: Args<'_>) -> u32 {
    let cmd_flags = cmd.flags;
    if !is_run(cmd) {
        return cmd_flags;
    }
    let declared = if cmd.name.starts_with("fcall") {
        server.scripts.try_flags(args.get(1), true)
    } else if cmd.name.starts_with("evalsha") {
        server.scripts.try_flags(args.get(1), false)
    } else {
        script::shebang_flags(args.get(1)).ok().map(|(f, _)| f)
    };
    match declared {
        Some(f) if f & sflags::COMPAT == 0 => {
            let mut flags = cmd_flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
            if f & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0 {
                flags |= DENYOOM;
            }
            if f & sflags::NO_WRITES == 0 {
                flags |= WRITE;
            }
            if f & sflags::ALLOW_STALE != 0 {
                flags |= STALE;
            }
            flags
        }
        _ => cmd_flags,
    }
}

/// The checks Redis makes on a script's declared flags before running it.
fn prepare(ctx: &Ctx<'_>, flags: u32, ro: bool) -> Result<(bool, bool), CmdError> {
    if flags & sflags::COMPAT != 0 {
        // Without flags a script may not run on a stale replica at all.
        if !ctx.client.replaying && ctx.server.repl.stale(ctx.server) {
            return Err(CmdError::coded(super::MASTERDOWN));
        }
        return Ok((ro, false));
    }
    if flags & sflags::NO_WRITES == 0 && ro {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    if flags & sflags::NO_WRITES == 0 && ctx.server.config.no_good_replicas() {
        return Err(CmdError::coded(super::NOREPLICAS));
    }
    if flags & sflags::NO_WRITES == 0
        && !ctx.client.replaying
        && ctx.server.repl.read_only(ctx.server)
    {
        return Err(CmdError::coded(
            "READONLY Can not run script with write flag on readonly replica",
        ));
    }
    let allow_oom = flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) != 0;
    if !allow_oom && crate::evict::over_limit_fast(&ctx.server.config) {
        return Err(CmdError::coded(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    Ok((
        ro || flags & sflags::NO_WRITES != 0,
        flags & sflags::ALLOW_OOM != 0,
    ))
}

fn eval_generic(ctx: &mut Ctx<'_>, args: Args<'_>, by_sha: bool, ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(args, CmdError::NotInteger)?;
    if by_sha && args.get(1).len() != 40 {
        return Err(CmdError::coded(script::NOSCRIPT));
    }
    let server = ctx.server;
    // Nothing else runs anywhere from here until the gates drop.
    let gates = server.gates.exclusive();
    let mut guard = server.scripts.engine()?;
    let Some(engine) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    let mut lower = [0u8; 40];
    let sha: std::borrow::Cow<'_, str> = if by_sha {
        // Checked above to be 40 bytes; a sha is hex, in either case.
        lower.copy_from_slice(args.get(1));
        lower.make_ascii_lowercase();
        match std::str::from_utf8(&lower) {
            Ok(s) => s.into(),
            Err(_) => return Err(CmdError::coded(script::NOSCRIPT)),
        }
    } else {
        let cached = engine.scripts.len();
        let sha = engine.load_script(args.get(1));
        if engine.scripts.len() != cached {
            server.scripts.update_stats(engine);
        }
        sha?.into()
    };
    let Some(flags) = engine.scripts.get(&*sha).map(|s| s.flags) else {
        return Err(CmdError::coded(script::NOSCRIPT));
    };
    let (read_only, allow_oom) = prepare(ctx, flags, ro)?;
    let spec = RunSpec {
        name: &sha,
        function: false,
        keys,
        argv,
        read_only,
        allow_oom,
        command: args,
    };
    let r = script::run(
        server, engine, ctx.client, ctx.out, ctx.tstats, ctx.now, spec,
    );
    drop(guard);
    drop(gates);
    counted_failure(ctx, r)
}

/// A script's error reply that was counted already still makes a failed call.
fn counted_failure(ctx: &Ctx<'_>, r: Result<bool, CmdError>) -> CmdResult {
    if r? {
        if let Some(e) = ctx.server.commands.get(ctx.cmd.name.as_bytes()) {
            ctx.tstats.failed(e.id);
        }
    }
    Ok(())
}

fn eval(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

fn fcall_generic(ctx: &mut Ctx<'_>, args: Args<'_>, ro: bool) -> CmdResult {
    let server = ctx.server;
    let gates = server.gates.exclusive();
    let mut guard = server.scripts.engine()?;
    let Some(engine) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    let Some((lib, name)) = engine
        .find_function(&String::from_utf8_lossy(args.get(1)))
        .map(|(l, f)| (l.to_owned(), f.to_owned()))
    else {
        return Err(CmdError::err("Function not found"));
    };
    let (keys, argv) = split_keys(args, CmdError::err("Bad number of keys provided"))?;
    let flags = engine
        .libraries
        .get(&lib)
        .and_then(|l| l.functions.get(&name))
        .map_or(0, |f| f.flags);
    let (read_only, allow_oom) = prepare(ctx, flags, ro)?;
    let spec = RunSpec {
        name: &name,
        function: true,
        keys,
        argv,
        read_only,
        allow_oom,
        command: args,
    };
    let r = script::run(
        server, engine, ctx.client, ctx.out, ctx.tstats, ctx.now, spec,
    );
    drop(guard);
    drop(gates);
    counted_failure(ctx, r)
}

fn fcall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, true)
}

// ------------------------------------------------------------------ SCRIPT

fn script_exists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let guard = ctx.server.scripts.engine()?;
    ctx.out.array(args.len() - 2);
    for sha in args.iter().skip(2) {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        let found = guard.as_ref().is_some_and(|e| e.scripts.contains_key(&sha));
        ctx.out.int(found as i64);
    }
    Ok(())
}

/// `[ASYNC | SYNC]` of SCRIPT FLUSH / FUNCTION FLUSH.
fn flush_mode(args: Args<'_>, msg: &'static str) -> CmdResult {
    match args.len() {
        2 => Ok(()),
        3 if super::args::is(args.get(2), "sync") || super::args::is(args.get(2), "async") => {
            Ok(())
        }
        _ => Err(CmdError::err(msg)),
    }
}

fn script_flush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    flush_mode(args, "SCRIPT FLUSH only support SYNC|ASYNC option")?;
    let mut guard = ctx.server.scripts.engine()?;
    if let Some(e) = guard.as_mut() {
        e.flush_scripts();
        ctx.server.scripts.update_stats(e);
    }
    ctx.out.ok();
    Ok(())
}

fn script_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ]);
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.scripts.kill(false)?;
    ctx.out.ok();
    Ok(())
}

fn script_load(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut guard = ctx.server.scripts.engine()?;
    let Some(e) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    let sha = e.load_script(args.get(2));
    ctx.server.scripts.update_stats(e);
    ctx.out.bulk(sha?.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- FUNCTION

fn function_load(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if super::args::is(args.get(i), "replace") {
            replace = true;
        } else {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(args.get(i))
            )));
        }
        i += 1;
    }
    let mut guard = ctx.server.scripts.engine()?;
    let Some(e) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    let r = e.load_library(args.get(i), replace);
    ctx.server.scripts.update_stats(e);
    let name = r?;
    // Functions persist: FUNCTION LOAD/DELETE/FLUSH/RESTORE reach the AOF.
    crate::persist::aof::log::touched(&ctx.server.aof.log);
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut guard = ctx.server.scripts.engine()?;
    let Some(e) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    let name = String::from_utf8_lossy(args.get(2));
    if !e.remove_library(&name) {
        return Err(CmdError::err("Library not found"));
    }
    ctx.server.scripts.update_stats(e);
    crate::persist::aof::log::touched(&ctx.server.aof.log);
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax(args));
    }
    flush_mode(args, "FUNCTION FLUSH only supports SYNC|ASYNC option")?;
    let mut guard = ctx.server.scripts.engine()?;
    if let Some(e) = guard.as_mut() {
        e.flush_functions();
        ctx.server.scripts.update_stats(e);
    }
    crate::persist::aof::log::touched(&ctx.server.aof.log);
    ctx.out.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.scripts.kill(true)?;
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if !with_code && super::args::is(a, "withcode") {
            with_code = true;
        } else if pattern.is_none() && super::args::is(a, "libraryname") {
            if i >= args.len() - 1 {
                return Err(CmdError::err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(args.get(i));
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let guard = ctx.server.scripts.engine()?;
    let Some(e) = guard.as_ref() else {
        ctx.out.array(0);
        return Ok(());
    };
    let libs: Vec<(&String, &script::Library)> = e
        .libraries
        .iter()
        .filter(|(name, _)| pattern.is_none_or(|p| crate::glob::matches(p, name.as_bytes(), false)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for (name, lib) in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for (fname, f) in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(fname.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = sflags::NAMES
                .iter()
                .filter(|(b, _)| f.flags & b != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let scripts = &ctx.server.scripts;
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match scripts.running() {
        Some((name, command, ms)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for a in &command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(ms as i64);
        }
        None => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(scripts.libraries.load(std::sync::atomic::Ordering::Relaxed) as i64);
    out.bulk(b"functions_count");
    out.int(scripts.functions.load(std::sync::atomic::Ordering::Relaxed) as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ]);
    Ok(())
}

// ------------------------------------------------------- DUMP / RESTORE

/// RDB opcode of a function library in a payload (RDB_OPCODE_FUNCTION2).
const OPCODE_FUNCTION: u8 = 245;
/// RDB version written after the payload (Redis 7.2: 11).
const RDB_VERSION: u16 = 11;

/// CRC-64/Jones (reflected, as Redis's `crc64`).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn rdb_len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as usize {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
}

fn read_rdb_string<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let c = *b.get(*pos)?;
    *pos += 1;
    let n = match c >> 6 {
        0 => (c & 0x3f) as usize,
        1 => {
            let d = *b.get(*pos)? as usize;
            *pos += 1;
            ((c as usize & 0x3f) << 8) | d
        }
        2 if c == 0x80 => {
            let v = u32::from_be_bytes(b.get(*pos..*pos + 4)?.try_into().ok()?);
            *pos += 4;
            v as usize
        }
        2 if c == 0x81 => {
            let v = u64::from_be_bytes(b.get(*pos..*pos + 8)?.try_into().ok()?);
            *pos += 8;
            usize::try_from(v).ok()?
        }
        // Integer or LZF-compressed encodings: not produced for code here.
        _ => return None,
    };
    let end = pos.checked_add(n)?;
    let s = b.get(*pos..end)?;
    *pos = end;
    Some(s)
}

fn function_dump(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let guard = ctx.server.scripts.engine()?;
    let mut out = Vec::new();
    if let Some(e) = guard.as_ref() {
        for lib in e.libraries.values() {
            out.push(OPCODE_FUNCTION);
            rdb_len(&mut out, lib.code.len());
            out.extend_from_slice(&lib.code);
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&out);
    Ok(())
}

fn function_restore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if args.len() > 4 {
        return Err(super::args::subcommand_syntax(args));
    }
    let policy = if args.len() > 3 {
        let p = args.get(3);
        if super::args::is(p, "flush") {
            Policy::Flush
        } else if super::args::is(p, "append") {
            Policy::Append
        } else if super::args::is(p, "replace") {
            Policy::Replace
        } else {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    } else {
        Policy::Append
    };
    let payload = args.get(2);
    let bad = || CmdError::err("DUMP payload version or checksum are wrong");
    if payload.len() < 10 {
        return Err(bad());
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| bad())?);
    if version > RDB_VERSION || crc64(0, &payload[..payload.len() - 8]) != crc {
        return Err(bad());
    }
    let mut codes = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        if body[pos] != OPCODE_FUNCTION {
            return Err(CmdError::err("given type is not a function"));
        }
        pos += 1;
        let code = read_rdb_string(body, &mut pos)
            .ok_or_else(|| CmdError::err("can not read data type"))?;
        codes.push(code);
    }
    let mut guard = ctx.server.scripts.engine()?;
    let Some(e) = guard.as_mut() else {
        return Err(CmdError::err("Lua engine not available"));
    };
    // Load into a copy of the library set first so a failure changes nothing.
    let saved: Vec<(String, Vec<u8>)> = e
        .libraries
        .iter()
        .map(|(n, l)| (n.clone(), l.code.clone()))
        .collect();
    if policy == Policy::Append {
        // As Redis's libraryJoin: a name collision aborts before anything loads.
        for code in &codes {
            if let Ok((name, _)) = script::library_metadata(code) {
                if e.libraries.contains_key(&name) {
                    return Err(CmdError::err(format!("Library {name} already exists")));
                }
            }
        }
    }
    if policy == Policy::Flush {
        e.flush_functions();
    }
    let mut result = Ok(());
    for code in &codes {
        if let Err(err) = e.load_library(code, policy == Policy::Replace) {
            result = Err(err);
            break;
        }
    }
    if result.is_err() {
        e.flush_functions();
        for (_, code) in &saved {
            let _ = e.load_library(code, true);
        }
    }
    ctx.server.scripts.update_stats(e);
    result?;
    crate::persist::aof::log::touched(&ctx.server.aof.log);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc64_check_value() {
        assert_eq!(super::crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }
}
