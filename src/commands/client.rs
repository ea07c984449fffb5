//! CLIENT ID / SETNAME / GETNAME / SETINFO / LIST / INFO / KILL / REPLY /
//! NO-EVICT / NO-TOUCH / HELP.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::connection::valid_name;
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::server::client::{ClientInfo, ReplyMode};
use crate::server::Server;
use crate::util::{eq_ic, now_ms};

pub const COMMANDS: &[Command] = &[Command::container("client", CLIENT)
    .group("connection")
    .doc(
        "2.4.0",
        "Depends on subcommand.",
        "A container for client connection commands.",
        "",
    )];

const F: u32 = NOSCRIPT | LOADING | STALE;

const CLIENT: &[Command] = &[
    Command::new("client|id", 2, id)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("5.0.0", "O(1)", "Returns the unique client ID of the connection.", ""),
    Command::new("client|setname", 3, setname)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("2.6.9", "O(1)", "Sets the connection name.", "connection-name"),
    Command::new("client|getname", 2, getname)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("2.6.9", "O(1)", "Returns the name of the connection.", ""),
    Command::new("client|setinfo", 4, setinfo)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("7.2.0", "O(1)", "Sets information specific to the client or connection.", "LIB-NAME libname | LIB-VER libver"),
    Command::new("client|list", -2, list)
        .flags(ADMIN | F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("2.4.0", "O(N) where N is the number of client connections", "Lists open connections.", "[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]"),
    Command::new("client|info", 2, info)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.2.0", "O(1)", "Returns information about the connection.", ""),
    Command::new("client|kill", -3, kill)
        .flags(ADMIN | F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("2.4.0", "O(N) where N is the number of client connections", "Terminates open connections.", "ip:port | [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes | no] [MAXAGE maxage]"),
    Command::new("client|reply", 3, reply)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("3.2.0", "O(1)", "Instructs the server whether to reply to commands.", "ON | OFF | SKIP"),
    Command::new("client|no-evict", 3, no_evict)
        .flags(ADMIN | F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("7.0.0", "O(1)", "Sets the client eviction mode of the connection.", "ON | OFF"),
    Command::new("client|no-touch", 3, no_touch)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("7.2.0", "O(1)", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "ON | OFF"),
    Command::new("client|unblock", -3, unblock)
        .flags(ADMIN | F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("5.0.0", "O(log N) where N is the number of client connections", "Unblocks a client blocked by a blocking command from a different connection.", "client-id [TIMEOUT | ERROR]"),
    Command::new("client|pause", -3, pause)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("3.0.0", "O(1)", "Suspends commands processing.", "timeout [WRITE | ALL]"),
    Command::new("client|unpause", 2, unpause)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.2.0", "O(N) Where N is the number of paused clients", "Resumes processing commands from paused clients.", ""),
    Command::new("client|tracking", -3, tracking)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.0.0", "O(1). Some options may introduce additional complexity.", "Controls server-assisted client-side caching for the connection.", "ON | OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"),
    Command::new("client|caching", 3, caching)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.0.0", "O(1)", "Instructs the server whether to track the keys in the next request.", "YES | NO"),
    Command::new("client|getredir", 2, getredir)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.0.0", "O(1)", "Returns the client ID to which the connection's tracking notifications are redirected.", ""),
    Command::new("client|trackinginfo", 2, trackinginfo)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.2.0", "O(1)", "Returns information about server-assisted client-side caching for the connection.", ""),
    Command::new("client|help", 2, help)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("5.0.0", "O(1)", "Returns helpful text about the different subcommands.", ""),
];

fn id(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.client.info.id as i64);
    Ok(())
}

fn setname(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !valid_name(&args[2]) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *ctx.client.info.name.lock() = args[2].to_vec();
    ctx.out.ok();
    Ok(())
}

fn getname(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let name = ctx.client.info.name();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Errors name the attribute as the client spelled it (go-redis and
    // Jedis send `LIB-NAME`), as Redis 7.2 does.
    let field = if eq_ic(&args[2], b"lib-name") {
        &ctx.client.info.lib_name
    } else if eq_ic(&args[2], b"lib-ver") {
        &ctx.client.info.lib_ver
    } else {
        let opt = String::from_utf8_lossy(&args[2]);
        return Err(CmdError::err(format!("Unrecognized option '{opt}'")));
    };
    if !valid_name(&args[3]) {
        let what = String::from_utf8_lossy(&args[2]);
        return Err(CmdError::err(format!(
            "{what} cannot contain spaces, newlines or special characters."
        )));
    }
    *field.lock() = args[3].to_vec();
    ctx.out.ok();
    Ok(())
}

/// Whether the client is in Pub/Sub mode (CLIENT LIST/KILL TYPE pubsub).
fn is_pubsub(c: &ClientInfo) -> bool {
    c.subs.0.iter().any(|n| n.load(Relaxed) > 0)
}

/// Redis's client types (CLIENT LIST/KILL TYPE, getClientType).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

impl ClientType {
    fn parse(lower: &[u8]) -> Option<ClientType> {
        Some(match lower {
            b"normal" => ClientType::Normal,
            b"replica" | b"slave" => ClientType::Replica,
            b"pubsub" => ClientType::PubSub,
            b"master" => ClientType::Master,
            _ => return None,
        })
    }

    fn of(c: &ClientInfo) -> ClientType {
        if c.master.load(Relaxed) {
            ClientType::Master
        } else if c.replica.load(Relaxed) && !c.monitoring.load(Relaxed) {
            ClientType::Replica
        } else if is_pubsub(c) {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

/// The `flags=` field: Redis's letters, in Redis's order.
fn client_flags(c: &ClientInfo, tracking: &Option<(crate::tracking::Mode, bool)>) -> String {
    // Redis's order (networking.c getClientPeerId's flags).
    let mut f = String::new();
    if c.monitoring.load(Relaxed) {
        f.push('O');
    } else if c.replica.load(Relaxed) {
        f.push('S');
    }
    if c.master.load(Relaxed) {
        f.push('M');
    }
    if is_pubsub(c) {
        f.push('P');
    }
    if c.multi.load(Relaxed) >= 0 {
        f.push('x');
    }
    if c.waiter.lock().is_some() || c.postponed.load(Relaxed) {
        f.push('b');
    }
    if let Some((mode, broken)) = tracking {
        f.push('t');
        if *broken {
            f.push('R');
        }
        if mode.bcast {
            f.push('B');
        }
    }
    if c.watch_dirty.load(Relaxed) {
        f.push('d');
    }
    if c.no_evict.load(Relaxed) {
        f.push('e');
    }
    if f.is_empty() {
        f.push('N');
    }
    f
}

/// One `CLIENT LIST` line, with Redis's fields in Redis's order.
pub(crate) fn client_line(server: &Server, c: &ClientInfo, out: &mut String) {
    // Being closed (CLIENT KILL, ACL changes): gone, as Redis frees it at once.
    if c.killed.load(Relaxed) {
        return;
    }
    let now = now_ms();
    let cmd = server
        .commands
        .entries
        .get(c.last_cmd.load(Relaxed))
        .map_or("NULL", |e| e.cmd.name);
    let qbuf = c.qbuf.load(Relaxed);
    let qbuf_cap = c.qbuf_cap.load(Relaxed).max(qbuf);
    let tracking = server.pubsub.tracking.settings(c.id);
    let redir = tracking.as_ref().map_or(-1, |(m, _)| m.redirect as i64);
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(&c.name.lock()),
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_interaction_ms.load(Relaxed)) / 1000,
        client_flags(c, &tracking),
        c.db.load(Relaxed),
        c.subs.0[0].load(Relaxed),
        c.subs.0[1].load(Relaxed),
        c.subs.0[2].load(Relaxed),
        c.multi.load(Relaxed),
        qbuf,
        qbuf_cap - qbuf,
        c.multi_mem.load(Relaxed),
        crate::server::trim::reported_rbs(c.rbuf.load(Relaxed)),
        c.rbp.load(Relaxed),
        c.output(),
        c.memory(),
        cmd,
        String::from_utf8_lossy(&c.user.lock()),
        redir,
        c.resp.load(Relaxed),
        String::from_utf8_lossy(&c.lib_name.lock()),
        String::from_utf8_lossy(&c.lib_ver.lock()),
    );
}

fn list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // As Redis 7.2: `TYPE <type>` alone, or `ID <id> [<id> ...]` (any
    // 64-bit integer; one line per argument that names a connected client,
    // in argument order, repeats included), or nothing.
    let mut text = String::new();
    if args.len() == 4 && eq_ic(&args[2], b"type") {
        let t = args.get(3).to_ascii_lowercase();
        let Some(kind) = ClientType::parse(&t) else {
            let t = String::from_utf8_lossy(&args[3]);
            return Err(CmdError::err(format!("Unknown client type '{t}'")));
        };
        for c in ctx.server.clients.all() {
            if ClientType::of(&c) == kind {
                client_line(ctx.server, &c, &mut text);
            }
        }
    } else if args.len() > 3 && eq_ic(&args[2], b"id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in args.slice(3).iter() {
            match crate::protocol::parse_i64(a) {
                Some(n) => ids.push(n),
                None => return Err(CmdError::err("Invalid client ID")),
            }
        }
        for id in ids {
            if let Some(c) = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.server.clients.get(id))
            {
                client_line(ctx.server, &c, &mut text);
            }
        }
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        for c in ctx.server.clients.all() {
            client_line(ctx.server, &c, &mut text);
        }
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn info(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let mut text = String::new();
    client_line(ctx.server, &ctx.client.info, &mut text);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn kill(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let me = ctx.client.info.id;
    // Old form: CLIENT KILL ip:port, answers OK or an error.
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let target = ctx
            .server
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == addr);
        let Some(c) = target else {
            return Err(CmdError::err("No such client"));
        };
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            c.request_kill();
        }
        ctx.out.ok();
        return Ok(());
    }
    let mut id: Option<u64> = None;
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut user: Option<Vec<u8>> = None;
    let mut maxage: Option<u64> = None;
    let mut skipme = true;
    let mut kind: Option<ClientType> = None;
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let (opt, val) = (&args[i], args.get(i + 1));
        if eq_ic(opt, b"id") {
            match crate::protocol::parse_i64(val) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Err(CmdError::err("client-id should be greater than 0")),
            }
        } else if eq_ic(opt, b"type") {
            match ClientType::parse(&val.to_ascii_lowercase()) {
                Some(k) => kind = Some(k),
                None => {
                    let t = String::from_utf8_lossy(val);
                    return Err(CmdError::err(format!("Unknown client type '{t}'")));
                }
            }
        } else if eq_ic(opt, b"addr") {
            addr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, b"laddr") {
            laddr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, b"user") {
            if ctx.server.acl.get(val).is_none() {
                let u = String::from_utf8_lossy(val);
                return Err(CmdError::err(format!("No such user '{u}'")));
            }
            user = Some(val.to_vec());
        } else if eq_ic(opt, b"skipme") {
            if eq_ic(val, b"yes") {
                skipme = true;
            } else if eq_ic(val, b"no") {
                skipme = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else if eq_ic(opt, b"maxage") {
            match crate::protocol::parse_i64(val) {
                Some(n) if n >= 0 => maxage = Some(n as u64),
                _ => return Err(CmdError::NotInteger),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let now = now_ms();
    let mut killed = 0;
    for c in ctx.server.clients.all() {
        let matches = kind.is_none_or(|k| k == ClientType::of(&c))
            && id.is_none_or(|v| v == c.id)
            && addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
            && laddr.as_ref().is_none_or(|a| *a == c.laddr.to_string())
            && user.as_ref().is_none_or(|u| *u == *c.user.lock())
            && maxage.is_none_or(|m| now.saturating_sub(c.created_ms) / 1000 >= m)
            && !(skipme && c.id == me);
        if matches {
            if c.id == me {
                ctx.client.close_after_reply = true;
            } else {
                c.request_kill();
            }
            killed += 1;
        }
    }
    ctx.out.int(killed);
    Ok(())
}

fn reply(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if eq_ic(&args[2], b"on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq_ic(&args[2], b"off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(&args[2], b"skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, b"on") {
        Ok(true)
    } else if eq_ic(arg, b"off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn no_evict(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let on = on_off(&args[2])?;
    ctx.client.info.no_evict.store(on, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn no_touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ctx.client.no_touch = on_off(&args[2])?;
    ctx.out.ok();
    Ok(())
}

fn unblock(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let id = crate::commands::args::int(&args[2])?;
    let error = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], b"timeout") => false,
        4 if eq_ic(&args[3], b"error") => true,
        4 => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(CmdError::Syntax),
    };
    let waiter = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(id))
        .and_then(|c| c.waiter.lock().clone());
    let outcome = if error {
        crate::blocking::Outcome::Unblocked
    } else {
        crate::blocking::Outcome::Timeout
    };
    let done = waiter.is_some_and(|w| w.finish(outcome));
    ctx.out.int(done as i64);
    Ok(())
}

fn pause(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let all = match args.len() {
        3 => true,
        4 if eq_ic(&args[3], b"all") => true,
        4 if eq_ic(&args[3], b"write") => false,
        4 => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => return Err(CmdError::Syntax),
    };
    let ms = super::args::timeout_int_ms(&args[2])?;
    let now = now_ms();
    ctx.server
        .pause
        .pause(ctx.server, now.saturating_add(ms), all, now);
    ctx.out.ok();
    Ok(())
}

fn unpause(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.pause.unpause(ctx.server);
    ctx.out.ok();
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]: checks in Redis's order.
fn tracking(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let hub = &ctx.server.pubsub;
    let me = ctx.client.info.id;
    let mut mode = crate::tracking::Mode::default();
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let a = &args[i];
        if eq_ic(a, b"redirect") && more {
            i += 1;
            if mode.redirect != 0 {
                return Err(CmdError::err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = crate::commands::args::int(&args[i])?;
            if id <= 0 || !hub.tracking.connected(id as u64) {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            mode.redirect = id as u64;
        } else if eq_ic(a, b"bcast") {
            mode.bcast = true;
        } else if eq_ic(a, b"optin") {
            mode.optin = true;
        } else if eq_ic(a, b"optout") {
            mode.optout = true;
        } else if eq_ic(a, b"noloop") {
            mode.noloop = true;
        } else if eq_ic(a, b"prefix") && more {
            i += 1;
            mode.prefixes.push(args[i].into());
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if eq_ic(&args[2], b"off") {
        if ctx.client.pubsub.tracking.on {
            hub.tracking.disable(me);
            ctx.client.pubsub.tracking = Default::default();
        }
        ctx.out.ok();
        return Ok(());
    }
    if !eq_ic(&args[2], b"on") {
        return Err(CmdError::Syntax);
    }
    let cur = ctx.client.pubsub.tracking;
    if !mode.bcast && !mode.prefixes.is_empty() {
        return Err(CmdError::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if cur.on && cur.bcast != mode.bcast {
        return Err(CmdError::err("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(CmdError::err(
            "OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if mode.optin && mode.optout {
        return Err(CmdError::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if (mode.optin && cur.optout) || (mode.optout && cur.optin) {
        return Err(CmdError::err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
    }
    if mode.bcast {
        let overlaps = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
        for (n, p) in mode.prefixes.iter().enumerate() {
            if let Some(e) = hub.tracking.overlapping(me, p).filter(|_| cur.on) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(&e)
                )));
            }
            if let Some(q) = mode.prefixes[n + 1..].iter().find(|q| overlaps(p, q)) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(q)
                )));
            }
        }
    }
    ctx.client.pubsub.tracking = crate::pubsub::ClientTracking {
        on: true,
        bcast: mode.bcast,
        optin: mode.optin,
        optout: mode.optout,
        caching: None,
    };
    hub.tracking.enable(me, mode);
    ctx.out.ok();
    Ok(())
}

fn caching(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let t = &mut ctx.client.pubsub.tracking;
    if !t.on {
        return Err(CmdError::err("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    }
    if eq_ic(&args[2], b"yes") {
        if !t.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
        t.caching = Some(true);
    } else if eq_ic(&args[2], b"no") {
        if !t.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
        t.caching = Some(false);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

fn getredir(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let r = match ctx.server.pubsub.tracking.settings(ctx.client.info.id) {
        Some((m, _)) if ctx.client.pubsub.tracking.on => m.redirect as i64,
        _ => -1,
    };
    ctx.out.int(r);
    Ok(())
}

fn trackinginfo(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let t = ctx.client.pubsub.tracking;
    let state = ctx
        .server
        .pubsub
        .tracking
        .mode(ctx.client.info.id)
        .filter(|_| t.on);
    let mut flags: Vec<&str> = Vec::new();
    match &state {
        None => flags.push("off"),
        Some((m, broken)) => {
            flags.push("on");
            if m.bcast {
                flags.push("bcast");
            }
            if m.optin {
                flags.push("optin");
                if t.caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if m.optout {
                flags.push("optout");
                if t.caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if m.noloop {
                flags.push("noloop");
            }
            if *broken {
                flags.push("broken_redirect");
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(state.as_ref().map_or(-1, |(m, _)| m.redirect as i64));
    out.bulk(b"prefixes");
    let mut prefixes = state.map(|(m, _)| m.prefixes).unwrap_or_default();
    prefixes.sort();
    out.array(prefixes.len());
    for p in prefixes {
        out.bulk(&p);
    }
    Ok(())
}

/// After any command of a tracking client: remember the keys a read-only
/// command read (default mode, OPTIN/OPTOUT permitting), then clear a
/// CLIENT CACHING choice unless this was CLIENT CACHING or in MULTI.
pub(crate) fn tracking_after(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let cmd = ctx.cmd;
    let t = ctx.client.pubsub.tracking;
    let skip =
        t.bcast || (t.optin && t.caching != Some(true)) || (t.optout && t.caching == Some(false));
    // A read-only script is not itself a read: the commands it runs are,
    // for its caller (the script client carries the caller's mode).
    let script = matches!(cmd.name, "eval_ro" | "evalsha_ro" | "fcall_ro");
    if cmd.has(READONLY) && !skip && !script {
        let pos = cmd.key_positions(args);
        if !pos.is_empty() {
            let hub = &ctx.server.pubsub;
            hub.tracking
                .remember(hub, ctx.client.info.id, pos.iter().map(|&i| args.get(i)));
        }
    }
    // CLIENT CACHING lasts for the caller's whole next command, scripts
    // included.
    if cmd.name != "client|caching" && ctx.client.multi.is_none() && !ctx.client.in_script {
        ctx.client.pubsub.tracking.caching = None;
    }
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
