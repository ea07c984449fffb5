//! ACL SETUSER / GETUSER / DELUSER / USERS / LIST / WHOAMI / CAT / GENPASS /
//! LOG / LOAD / SAVE / DRYRUN / HELP, over the users in `src/acl`; and the
//! helpers dispatch and EXEC use to refuse a command and log it.

use super::{flags::*, Command, Ctx, TableEntry};
use crate::acl::{log::Entry, Context, Denied, Reason};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Args, Reply};
use crate::server::client::Client;
use crate::server::Server;
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[Command::container("acl", ACL).group("server").doc(
    "6.0.0",
    "Depends on subcommand.",
    "A container for Access List Control commands.",
    "",
)];

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const ACL: &[Command] = &[
    Command::new("acl|cat", -2, cat)
        .flags(NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "6.0.0",
            "O(1) since the categories and commands are a fixed set.",
            "Lists the ACL categories, or the commands inside a category.",
            "[category]",
        ),
    Command::new("acl|deluser", -3, deluser)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(1) amortized time considering the typical user.",
            "Deletes ACL users, and terminates their connections.",
            "username [username ...]",
        ),
    Command::new("acl|dryrun", -4, dryrun)
        .flags(ADM)
        .group("server")
        .doc(
            "7.0.0",
            "O(1).",
            "Simulates the execution of a command by a user, without executing the command.",
            "username command [arg [arg ...]]",
        ),
    Command::new("acl|genpass", -2, genpass)
        .flags(NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "6.0.0",
            "O(1)",
            "Generates a pseudorandom, secure password that can be used to identify ACL users.",
            "[bits]",
        ),
    Command::new("acl|getuser", 3, getuser)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of password, command and pattern rules that the user has.",
            "Lists the ACL rules of a user.",
            "username",
        ),
    Command::new("acl|help", 2, help)
        .flags(LOADING | STALE)
        .group("server")
        .doc(
            "6.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
    Command::new("acl|list", 2, list)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of configured users.",
            "Dumps the effective rules in ACL file format.",
            "",
        ),
    Command::new("acl|load", 2, load)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of configured users.",
            "Reloads the rules from the configured ACL file.",
            "",
        ),
    Command::new("acl|log", -2, log)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N) with N being the number of entries shown.",
            "Lists recent security events generated due to ACL rules.",
            "[count | RESET]",
        ),
    Command::new("acl|save", 2, save)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of configured users.",
            "Saves the effective ACL rules in the configured ACL file.",
            "",
        ),
    Command::new("acl|setuser", -3, setuser)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of rules provided.",
            "Creates and modifies an ACL user and its rules.",
            "username [rule [rule ...]]",
        ),
    Command::new("acl|users", 2, users)
        .flags(ADM)
        .group("server")
        .doc(
            "6.0.0",
            "O(N). Where N is the number of configured users.",
            "Lists all ACL users.",
            "",
        ),
    Command::new("acl|whoami", 2, whoami)
        .flags(NOSCRIPT | LOADING | STALE)
        .group("server")
        .doc(
            "6.0.0",
            "O(1)",
            "Returns the authenticated username of the current connection.",
            "",
        ),
];

/// Record a denial or failed AUTH in ACL LOG, with this client's
/// CLIENT LIST line.
pub fn log_denial(
    server: &Server,
    client: &Client,
    reason: Reason,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let context = if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    log_in(server, client, reason, context, object, username);
}

fn log_in(
    server: &Server,
    client: &Client,
    reason: Reason,
    context: Context,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let mut info = String::new();
    super::client::client_line(server, &client.info, &mut info);
    let info = info.trim_end().to_string();
    server.acl.log_event(Entry {
        count: 1,
        reason,
        context,
        object,
        username,
        updated_ms: 0,
        client_info: info,
        entry_id: 0,
        created_ms: 0,
    });
}

/// The permission check of dispatch (and of EXEC, for each queued
/// command): on a denial, log it and answer `NOPERM …`; returns whether
/// the command may run.
#[inline]
pub fn permitted(
    server: &Server,
    client: &Client,
    out: &mut Reply,
    entry: &TableEntry,
    args: Args<'_>,
    in_exec: bool,
) -> bool {
    // Most connections run as a user with every permission: one load.
    if client.user.is_unrestricted() {
        return true;
    }
    permitted_checked(server, client, out, entry, args, in_exec)
}

#[inline(never)]
fn permitted_checked(
    server: &Server,
    client: &Client,
    out: &mut Reply,
    entry: &TableEntry,
    args: Args<'_>,
    in_exec: bool,
) -> bool {
    let Err(d) = crate::acl::check_command(&client.user, entry, args) else {
        return true;
    };
    refuse(server, client, out, entry, args, d, in_exec);
    false
}

/// Log a denial in ACL LOG as Redis's `addACLLogEntry` does for it: the
/// command's full name or the denied key/channel as the object. For
/// callers with their own context and error text (scripts: `Context::Lua`).
pub fn log_denied(
    server: &Server,
    client: &Client,
    entry: &TableEntry,
    args: Args<'_>,
    d: Denied,
    context: Context,
) {
    let object = match d.reason {
        Reason::Command => entry.cmd.name.as_bytes().to_vec(),
        _ => args.get(d.pos).to_vec(),
    };
    let name = client.user.name.clone();
    log_in(server, client, d.reason, context, object, name);
}

fn refuse(
    server: &Server,
    client: &Client,
    out: &mut Reply,
    entry: &TableEntry,
    args: Args<'_>,
    d: Denied,
    in_exec: bool,
) {
    let context = if in_exec || client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    // CLIENT LIST's `cmd=` in the entry: the denied command at top level
    // (Redis sets c->cmd before the check), EXEC inside a transaction.
    let shown = if in_exec {
        server.commands.exec_id
    } else {
        entry.id
    };
    client
        .info
        .last_cmd
        .store(shown, std::sync::atomic::Ordering::Relaxed);
    log_denied(server, client, entry, args, d, context);
    let msg = if in_exec {
        let why = match d.reason {
            Reason::Key => "no permission to touch the specified keys",
            Reason::Channel => "no permission to access one of the channels used as arguments",
            _ => "no permission to execute the command or subcommand",
        };
        format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}")
    } else {
        format!(
            "NOPERM {}",
            d.message(&client.user, entry.cmd.name, args, false)
        )
    };
    super::reply_error(server, out, &CmdError::coded(msg));
}

fn setuser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = args.get(2);
    if name.iter().any(|c| c.is_ascii_whitespace() || *c == 0) {
        return Err(CmdError::err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    let ops: Vec<&[u8]> = args.iter().skip(3).collect();
    ctx.server
        .acl
        .setuser(&ctx.server.commands, name, &ops)
        .map_err(CmdError::err)?;
    if let Some(user) = ctx.server.acl.get(name) {
        disconnect_denied_subscribers(ctx, &user);
    }
    ctx.out.ok();
    Ok(())
}

/// Close the connections of `user` subscribed to channels, patterns or
/// shard channels it may no longer use, as Redis does on ACL SETUSER and
/// ACL LOAD (the caller's own after this reply).
fn disconnect_denied_subscribers(ctx: &mut Ctx<'_>, user: &crate::acl::User) {
    let denied = ctx.server.pubsub.denied(user.name.as_ref(), |kind, name| {
        crate::acl::check_channel(user, name, kind == crate::pubsub::Kind::Pattern)
    });
    for c in denied {
        close(ctx, &c);
    }
}

/// Close connection `c`: at once, or after this reply when it is the
/// caller's own.
fn close(ctx: &mut Ctx<'_>, c: &crate::server::client::ClientInfo) {
    if c.id == ctx.client.info.id {
        ctx.client.close_after_reply = true;
    } else {
        c.request_kill();
    }
}

/// Close the connections of users that were removed (the caller's own
/// after this reply).
fn disconnect(ctx: &mut Ctx<'_>, removed: &[std::sync::Arc<crate::acl::User>]) {
    if removed.is_empty() {
        return;
    }
    for c in ctx.server.clients.all() {
        let name = c.user.lock().clone();
        if removed.iter().any(|u| u.name == name) {
            close(ctx, &c);
        }
    }
    if removed
        .iter()
        .any(|u| std::sync::Arc::ptr_eq(u, &ctx.client.user))
    {
        let default = ctx.server.acl.default_user();
        ctx.client.set_user(default, false);
        ctx.client.close_after_reply = true;
    }
}

fn deluser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.iter().skip(2).any(|n| n == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let removed: Vec<_> = args
        .iter()
        .skip(2)
        .filter_map(|n| ctx.server.acl.deluser(n))
        .collect();
    disconnect(ctx, &removed);
    ctx.out.int(removed.len() as i64);
    Ok(())
}

fn selector_fields(out: &mut Reply, s: &crate::acl::Selector) {
    out.bulk(b"commands");
    out.bulk(s.describe_commands().as_bytes());
    out.bulk(b"keys");
    out.bulk(&s.describe_keys());
    out.bulk(b"channels");
    out.bulk(&s.describe_channels());
}

fn getuser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let Some(u) = ctx.server.acl.get(args.get(2)) else {
        ctx.out.null();
        return Ok(());
    };
    let s = u.state();
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = s.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(s.passwords.len());
    for p in &s.passwords {
        out.bulk(p.as_bytes());
    }
    selector_fields(out, s.root());
    out.bulk(b"selectors");
    out.array(s.selectors.len() - 1);
    for sel in &s.selectors[1..] {
        out.map(3);
        selector_fields(out, sel);
    }
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for u in users {
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&u.name);
        line.push(b' ');
        line.extend_from_slice(&u.with(|s| s.describe()));
        ctx.out.bulk(&line);
    }
    Ok(())
}

fn users(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for u in users {
        ctx.out.bulk(&u.name);
    }
    Ok(())
}

fn whoami(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.bulk(&ctx.client.user.name);
    Ok(())
}

const NO_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// The `aclfile` as configured, and `dir` (relative names are under it).
fn aclfile(ctx: &Ctx<'_>) -> Result<(String, String), CmdError> {
    let (f, dir) = ctx
        .server
        .config
        .read(|c| (c.aclfile.clone(), c.dir.clone()));
    if f.is_empty() {
        return Err(CmdError::err(NO_FILE));
    }
    Ok((f, dir))
}

fn load(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let (file, dir) = aclfile(ctx)?;
    let removed = ctx
        .server
        .acl
        .load_file(&ctx.server.commands, &file, &dir)
        .map_err(CmdError::err)?;
    disconnect(ctx, &removed);
    for user in ctx.server.acl.users() {
        disconnect_denied_subscribers(ctx, &user);
    }
    ctx.out.ok();
    Ok(())
}

fn save(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let (file, dir) = aclfile(ctx)?;
    if let Err(e) = ctx
        .server
        .acl
        .save_file(&crate::config::in_dir(&dir, &file))
    {
        tracing::warn!("Writing ACL file for ACL SAVE: {e}");
        return Err(CmdError::err(
            "There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

fn cat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax(args));
    }
    if args.len() == 2 {
        let names: Vec<&str> = super::acl::NAMES.iter().map(|(_, n)| *n).collect();
        ctx.out.array(names.len());
        for n in names {
            ctx.out.bulk(n.as_bytes());
        }
        return Ok(());
    }
    let want = args.get(2);
    let Some(&(flag, _)) = super::acl::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(want))
    else {
        let w = String::from_utf8_lossy(&want[..want.len().min(128)]).into_owned();
        return Err(CmdError::err(format!("Unknown category '{w}'")));
    };
    let table = &ctx.server.commands;
    let mut names = Vec::new();
    for e in table.top_level() {
        if e.cmd.acl_categories() & flag != 0 {
            names.push(e.cmd.name);
        }
        for &sub in e.subs.values() {
            let s = table.entries[sub].cmd;
            if s.acl_categories() & flag != 0 {
                names.push(s.name);
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// Random bytes from the OS (GENPASS must be unpredictable).
fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        for b in buf.iter_mut() {
            *b = crate::util::rand_u64() as u8;
        }
    }
    buf
}

fn genpass(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax(args));
    }
    let bits = if args.len() == 3 {
        parse_i64(&args[2]).ok_or(CmdError::NotInteger)?
    } else {
        256
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::err(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let hex = b"0123456789abcdef";
    let pass: Vec<u8> = random_bytes(chars)
        .into_iter()
        .map(|b| hex[(b & 15) as usize])
        .collect();
    ctx.out.bulk(&pass);
    Ok(())
}

fn log(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax(args));
    }
    let mut count = 10i64;
    if args.len() == 3 {
        if eq_ic(&args[2], b"reset") {
            ctx.server.acl.log.lock().reset();
            ctx.out.ok();
            return Ok(());
        }
        count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?.max(0);
    }
    let entries: Vec<Entry> = {
        let log = ctx.server.acl.log.lock();
        log.entries
            .iter()
            .take(usize::try_from(count).unwrap_or(0))
            .cloned()
            .collect()
    };
    let now = ctx.now;
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.map(10);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk(e.reason.name().as_bytes());
        out.bulk(b"context");
        out.bulk(e.context.name().as_bytes());
        out.bulk(b"object");
        out.bulk(&e.object);
        out.bulk(b"username");
        out.bulk(&e.username);
        out.bulk(b"age-seconds");
        out.double(now.saturating_sub(e.updated_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.as_bytes());
        out.bulk(b"entry-id");
        out.int(e.entry_id as i64);
        out.bulk(b"timestamp-created");
        out.int(e.created_ms as i64);
        out.bulk(b"timestamp-last-updated");
        out.int(e.updated_ms as i64);
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = args.get(2);
    let Some(u) = ctx.server.acl.get(name) else {
        return Err(CmdError::err(format!(
            "User '{}' not found",
            String::from_utf8_lossy(name)
        )));
    };
    let sub = args.slice(3);
    let table = &ctx.server.commands;
    let entry = table.get(sub.get(0)).and_then(|e| {
        if e.subs.is_empty() || sub.len() < 2 {
            Some(e)
        } else {
            table.sub(e, sub.get(1))
        }
    });
    let Some(entry) = entry else {
        return Err(CmdError::err(format!(
            "Command '{}' not found",
            String::from_utf8_lossy(sub.get(0))
        )));
    };
    if !entry.cmd.arity_ok(sub.len()) {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            entry.cmd.name
        )));
    }
    match crate::acl::check_command(&u, entry, sub) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let msg = d.message(&u, entry.cmd.name, sub, true);
            ctx.out.bulk(msg.as_bytes());
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
