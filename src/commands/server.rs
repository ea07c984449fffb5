//! Server commands: TIME, LASTSAVE, SHUTDOWN, DEBUG.

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[
    Command::new("time", 1, time)
        .flags(LOADING | STALE | FAST)
        .group("server")
        .doc("2.6.0", "O(1)", "Returns the server time.", ""),
    Command::new("lastsave", 1, lastsave)
        .flags(LOADING | STALE | FAST)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc("1.0.0", "O(1)", "Returns the Unix timestamp of the last successful save to disk.", ""),
    Command::new("shutdown", -1, shutdown)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY)
        .group("server")
        .doc("1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]"),
    Command::new("debug", -2, debug)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc("1.0.0", "Depends on subcommand.", "A container for debugging commands.", "subcommand [argument ...]"),
];

fn time(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    // The server's start time until a save succeeds, as Redis.
    let t = ctx
        .server
        .persist
        .last_save
        .load(std::sync::atomic::Ordering::Relaxed);
    ctx.out.int(t as i64);
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut save, mut nosave, mut force) = (false, false, false);
    for a in args.iter().skip(1) {
        if eq_ic(a, b"save") {
            save = true;
        } else if eq_ic(a, b"nosave") {
            nosave = true;
        } else if eq_ic(a, b"force") {
            force = true;
        } else if eq_ic(a, b"abort") {
            return Err(CmdError::err("No shutdown in progress."));
        } else if !eq_ic(a, b"now") {
            return Err(CmdError::Syntax);
        }
    }
    if save && nosave {
        return Err(CmdError::Syntax);
    }
    // While a script is busy only SHUTDOWN NOSAVE goes through (Redis).
    if !nosave {
        if let Some(busy) = ctx.server.scripts.busy(ctx.server) {
            return Err(CmdError::coded(busy));
        }
    }
    tracing::warn!("User requested shutdown...");
    if !crate::persist::save::save_for_shutdown(ctx.server, save, nosave) && !force {
        return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
    }
    ctx.server.request_shutdown();
    // Like Redis, a successful SHUTDOWN sends no reply: the connection closes.
    ctx.client.close_after_reply = true;
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load the file back.
fn debug_reload(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut save, mut flush) = (true, true);
    for a in args.iter().skip(2) {
        if eq_ic(a, b"nosave") {
            save = false;
        } else if eq_ic(a, b"noflush") {
            flush = false;
        } else if !eq_ic(a, b"merge") {
            return Err(CmdError::err(
                "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let server = ctx.server;
    if save && !matches!(crate::persist::save::save(server), Ok(Ok(()))) {
        return Err(CmdError::coded("ERR"));
    }
    if flush {
        let mut all = server.keyspace.lock_all();
        for shard in all.shards() {
            for db in 0..server.keyspace.ndbs() {
                shard.db_flushing(db, ctx.now);
                drop(shard.db(db).take());
            }
        }
    }
    let path = crate::persist::save::rdb_path(server);
    let loaded = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            let input = &mut std::io::BufReader::new(f);
            crate::persist::save::load_into(server, input, crate::persist::save::RdbRole::Snapshot)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = loaded {
        tracing::warn!("DEBUG RELOAD: {e}");
        return Err(CmdError::err(
            "Error trying to load the RDB dump, check server logs.",
        ));
    }
    ctx.out.ok();
    Ok(())
}

fn debug(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let sub = &args[1];
    if eq_ic(sub, b"sleep") && args.len() == 3 {
        let secs: f64 = std::str::from_utf8(&args[2])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or(CmdError::NotFloat)?;
        // Blocks this worker thread, as DEBUG SLEEP blocks Redis.
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"set-active-expire") && args.len() == 3 {
        let on = match &args[2] {
            b"0" => false,
            b"1" => true,
            _ => return Err(CmdError::NotInteger),
        };
        crate::keyspace::expire::set_active_expire(on);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"reload") {
        debug_reload(ctx, args)
    } else if eq_ic(sub, b"digest") && args.len() == 2 {
        // The whole dataset, under every shard lock (one consistent view;
        // keys past their TTL but not yet reclaimed count, as in Redis).
        let mut d = super::digest::Digest::default();
        let mut all = ctx.server.keyspace.lock_all();
        for db in 0..ctx.server.keyspace.ndbs() {
            let mut keys = Vec::new();
            for shard in all.shards() {
                let t = shard.db_ref(db);
                keys.extend(t.iter().map(|(k, e)| super::digest::key_digest(k, e)));
            }
            super::digest::add_db(&mut d, db, keys.into_iter());
        }
        drop(all);
        ctx.out.simple(&super::digest::hex(&d));
        Ok(())
    } else if eq_ic(sub, b"digest-value") {
        // Each key's value as it is stored (not expired first), zeros if absent.
        ctx.out.array(args.len() - 2);
        let db = ctx.db();
        for key in args.slice(2).iter() {
            let mut d = super::digest::Digest::default();
            let mut shard = ctx.server.keyspace.lock(key);
            let t = shard.db(db);
            if let Some((_, e)) = t.position(key).and_then(|p| t.at(p)) {
                super::digest::add_value(&mut d, e);
            }
            drop(shard);
            ctx.out.simple(&super::digest::hex(&d));
        }
        Ok(())
    } else if eq_ic(sub, b"help") {
        const LINES: &[&str] = &[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Available options:",
            "    * MERGE: Merge the content of the RDB instead of flushing the current",
            "      DB.",
            "    * NOFLUSH: Do not flush the current DB before loading the RDB file.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help.",
        ];
        ctx.out.lines(LINES);
        Ok(())
    } else {
        Err(super::args::subcommand_syntax(args))
    }
}
