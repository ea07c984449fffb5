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
    match ctx.server.aof.start_rewrite(false) {
        super::Start::Started => ctx
            .out
            .simple("Background append only file rewriting started"),
        super::Start::Scheduled => ctx
            .out
            .simple("Background append only file rewriting scheduled"),
        super::Start::InProgress => {
            return Err(CmdError::err(
                "Background append only file rewriting already in progress",
            ))
        }
        super::Start::Failed => return Err(CmdError::err(
            "Can't execute an AOF background rewriting. Please check the server logs for more information.",
        )),
    }
    Ok(())
}
