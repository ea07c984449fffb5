//! Server commands: TIME, LASTSAVE, SHUTDOWN, DEBUG (its subcommands are
//! in debug.rs).

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
    Command::new("debug", -2, super::debug::debug)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc("1.0.0", "Depends on subcommand.", "A container for debugging commands.", "subcommand [argument ...]"),
];

fn time(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    // Inside a script or a transaction the time is the one the whole unit
    // runs at (Redis caches it once per execution unit).
    let us = if ctx.client.in_script || super::multi::in_exec() {
        ctx.now * 1000
    } else {
        crate::util::now_us()
    };
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
    ctx.server
        .listeners
        .wait_closed(std::time::Duration::from_secs(2));
    // Like Redis, a successful SHUTDOWN sends no reply: the connection closes.
    ctx.client.close_after_reply = true;
    Ok(())
}
