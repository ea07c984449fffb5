//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP, over the parameter table
//! in `config/mod.rs`.

use super::{flags::*, Command, Ctx};
use crate::config::{find_param, rewrite_text, Config};
use crate::error::{CmdError, CmdResult};
use crate::glob;
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[Command::container("config", CONFIG).group("server").doc(
    "2.0.0",
    "Depends on subcommand.",
    "A container for server configuration commands.",
    "",
)];

const CONFIG: &[Command] = &[
    Command::new("config|get", -3, get)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "Returns the effective values of configuration parameters.",
            "parameter [parameter ...]",
        ),
    Command::new("config|set", -4, set)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "Sets configuration parameters in-flight.",
            "parameter value [parameter value ...]",
        ),
    Command::new("config|resetstat", 2, resetstat)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc("2.0.0", "O(1)", "Resets the server's statistics.", ""),
    Command::new("config|rewrite", 2, rewrite)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "2.8.0",
            "O(1)",
            "Persists the effective configuration to file.",
            "",
        ),
    Command::new("config|help", 2, help)
        .flags(LOADING | STALE)
        .group("server")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
];

fn get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let config = ctx.server.config.snapshot();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pattern in args.slice(2).iter() {
        let pattern_s = String::from_utf8_lossy(pattern).to_ascii_lowercase();
        // Hidden parameters answer only to their exact name, as in Redis.
        let glob = pattern_s.contains(['*', '?', '[']);
        for p in crate::config::params() {
            if glob && crate::config::compat::HIDDEN.contains(&p.name) {
                continue;
            }
            for name in std::iter::once(&p.name).chain(p.aliases.iter()) {
                if glob::matches(pattern_s.as_bytes(), name.as_bytes(), true)
                    && !pairs.iter().any(|(n, _)| n == name)
                {
                    pairs.push((name.to_string(), (p.get)(&config)));
                }
            }
        }
    }
    ctx.out.map(pairs.len());
    for (n, v) in &pairs {
        ctx.out.bulk(n.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

static SET_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    // One CONFIG SET at a time, from the copy to the commit: two on
    // different workers would otherwise each commit a copy without the
    // other's change (and the listeners could disagree with the config).
    let _serial = SET_LOCK.lock();
    // Apply every pair to a copy; commit only if all succeed.
    let mut next: Config = ctx.server.config.snapshot();
    let mut seen: Vec<&str> = Vec::new();
    let protected_ok = ctx.server.config.read(|c| {
        crate::config::protected_action_allowed(
            &c.enable_protected_configs,
            ctx.client.info.addr.ip(),
        )
    });
    for i in (2..args.len()).step_by(2) {
        let name = String::from_utf8_lossy(&args[i]).into_owned();
        let Some(p) = find_param(&name) else {
            return Err(CmdError::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        let failed = |why: &str| {
            CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        if seen.contains(&p.name) {
            return Err(failed("duplicate parameter"));
        }
        seen.push(p.name);
        if !p.mutable {
            return Err(failed("can't set immutable config"));
        }
        if crate::config::PROTECTED.contains(&p.name) && !protected_ok {
            return Err(failed("can't set protected config"));
        }
        let value = String::from_utf8_lossy(&args[i + 1]).into_owned();
        (p.set)(&mut next, &[value]).map_err(|e| failed(&e))?;
    }
    let server = ctx.server;
    // Listeners and TLS: all or nothing, before anything is committed.
    let current = server.config.snapshot();
    // The OOM score, then listeners: each undone if what follows fails.
    let oom = seen.iter().find(|n| n.starts_with("oom-score-adj"));
    if let Some(name) = oom {
        crate::server::oom::apply(&next).map_err(|why| {
            let _ = crate::server::oom::apply(&current);
            CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        })?;
    }
    crate::server::listen::config_set(server, &current, &next, &seen).map_err(|(name, why)| {
        if oom.is_some() {
            let _ = crate::server::oom::apply(&current);
        }
        CmdError::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    })?;
    if seen.contains(&"requirepass") {
        server
            .acl
            .set_requirepass(&server.commands, next.requirepass.as_deref());
    }
    server.acl.set_log_max_len(next.acllog_max_len as usize);
    server
        .acl
        .set_pubsub_default(next.acl_pubsub_default == "allchannels");
    crate::persist::save::KEY_DELAY_US.store(
        next.rdb_key_save_delay,
        std::sync::atomic::Ordering::Relaxed,
    );
    let old = ctx.server.config.update(|c| std::mem::replace(c, next));
    ctx.server
        .aof
        .config_changed(&old, &ctx.server.config.snapshot());
    ctx.server.repl.refresh_good(ctx.server);
    let backlog_size = ctx.server.config.read(|c| c.repl_backlog_size);
    if backlog_size != old.repl_backlog_size {
        ctx.server.aof.log.backlog.set_size(backlog_size as usize);
    }
    // A lowered maxmemory-clients (or maxmemory under a percentage) evicts
    // at once, as Redis does before its next command.
    crate::server::client_evict::check(ctx.server);
    ctx.out.ok();
    Ok(())
}

fn resetstat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.stats.reset();
    ctx.server.trim.reset_stats();
    for t in ctx.server.thread_stats.lock().iter() {
        t.reset();
    }
    ctx.server.keyspace.reset_stats();
    ctx.server
        .pubsub
        .limit_disconnections
        .store(0, std::sync::atomic::Ordering::Relaxed);
    ctx.server.acl.reset_stats();
    crate::keyspace::expire::reset_stats();
    crate::lazyfree::reset_stats();
    ctx.out.ok();
    Ok(())
}

fn rewrite(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.server.config.read(|c| c.config_file.is_none()) {
        return Err(CmdError::err("The server is running without a config file"));
    }
    rewrite_file(ctx.server, false)
        .map_err(|e| CmdError::err(format!("Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

/// Rewrite the config file (CONFIG REWRITE; `all`: every directive, as
/// DEBUG CONFIG-REWRITE-FORCE-ALL). The error is the I/O error's text.
pub fn rewrite_file(server: &crate::server::Server, all: bool) -> Result<(), String> {
    let config = server.config.snapshot();
    let Some(path) = config.config_file.clone() else {
        return Err("No such file or directory".into());
    };
    let original = std::fs::read_to_string(&path).unwrap_or_default();
    let text = rewrite_text(&original, &config, all);
    // Users: rewritten from the live ACL unless they live in an aclfile
    // (then the file's `user` lines are dropped), as Redis does.
    let users = config
        .aclfile
        .is_empty()
        .then(|| String::from_utf8_lossy(&server.acl.file_text()).into_owned());
    let text = rewrite_users(&text, users.as_deref());
    let tmp = path.with_extension("rewrite.tmp");
    let result = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = result {
        tracing::warn!("CONFIG REWRITE failed: {e}");
        return Err(e.to_string());
    }
    tracing::info!("CONFIG REWRITE executed with success.");
    Ok(())
}

/// Replace the `user` lines of a rewritten config with `users` (one
/// `user …` line each), at the first one's place or appended.
fn rewrite_users(text: &str, users: Option<&str>) -> String {
    let mut out = String::new();
    let mut placed = false;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.eq_ignore_ascii_case("user") {
            if !placed {
                out.push_str(users.unwrap_or(""));
                placed = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if let (false, Some(u)) = (placed, users) {
        if !out.contains("# Generated by CONFIG REWRITE\n") {
            out.push_str("# Generated by CONFIG REWRITE\n");
        }
        out.push_str(u);
    }
    out
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
