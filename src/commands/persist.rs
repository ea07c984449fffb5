//! Snapshot commands: SAVE, BGSAVE (LASTSAVE and SHUTDOWN live with the
//! server commands). The work is in `crate::persist::save`.

use super::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::persist::save::{self, Refused};
use crate::protocol::Args;
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[
    Command::new("save", 1, save_cmd)
        .flags(ADMIN | NOSCRIPT | NO_MULTI)
        .group("server")
        .doc(
            "1.0.0",
            "O(N) where N is the total number of keys in all databases",
            "Synchronously saves the database(s) to disk.",
            "",
        ),
    Command::new("bgsave", -1, bgsave)
        .flags(ADMIN | NOSCRIPT)
        .group("server")
        .doc(
            "1.0.0",
            "O(1)",
            "Asynchronously saves the database(s) to disk.",
            "[SCHEDULE]",
        ),
];

fn save_cmd(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    match save::save(ctx.server) {
        Err(Refused::InProgress) => Err(CmdError::err("Background save already in progress")),
        // Redis answers a failed SAVE with a bare "ERR" (the log says why).
        Ok(Err(_)) => Err(CmdError::coded("ERR")),
        Ok(Ok(())) => {
            ctx.out.ok();
            Ok(())
        }
    }
}

fn bgsave(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if eq_ic(&args[1], b"schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let p = &ctx.server.persist;
    if p.bgsave_in_progress
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(CmdError::err("Background save already in progress"));
    }
    match save::bgsave(ctx.server) {
        Ok(()) => ctx.out.simple("Background saving started"),
        // Another snapshot (a foreground SAVE or an AOF rewrite) runs.
        Err(Refused::InProgress) if schedule => {
            p.bgsave_scheduled.store(true, std::sync::atomic::Ordering::Relaxed);
            ctx.out.simple("Background saving scheduled");
        }
        Err(Refused::InProgress) => {
            return Err(CmdError::err(
                "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ))
        }
    }
    Ok(())
}
