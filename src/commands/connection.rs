//! Connection commands: PING, ECHO, QUIT, SELECT.

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Args};

pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, ping)
        .flags(FAST | STALE | LOADING)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc(
            "1.0.0",
            "O(1)",
            "Returns the server's liveliness response.",
            "[message]",
        ),
    Command::new("echo", 2, echo)
        .flags(FAST | STALE | LOADING)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("1.0.0", "O(1)", "Returns the given string.", "message"),
    Command::new("quit", -1, quit)
        .flags(ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("1.0.0", "O(1)", "Closes the connection.", ""),
    Command::new("select", 2, select)
        .flags(LOADING | STALE | FAST)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("2.0.0", "O(1)", "Changes the selected database.", "index"),
];

fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let db = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    if db < 0 || db as usize >= ctx.server.keyspace.ndbs() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.select(db as usize);
    ctx.out.ok();
    Ok(())
}
