//! BGREWRITEAOF.

use crate::commands::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[Command::new("bgrewriteaof", 1, bgrewriteaof)
    .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING)
    .acl(acl::DANGEROUS)
    .group("server")
    .doc(
        "1.0.0",
        "O(1)",
        "Asynchronously rewrites the append-only file to disk.",
        "",
    )];

fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if !ctx.server.aof.start_rewrite(false) {
        return Err(CmdError::err(
            "Background append only file rewriting already in progress",
        ));
    }
    ctx.out
        .simple("Background append only file rewriting started");
    Ok(())
}
