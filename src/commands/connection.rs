//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET.

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Args};
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, ping)
        .flags(FAST)
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
    Command::new("hello", -1, hello)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc(
            "6.0.0",
            "O(1)",
            "Handshakes with the Redis server.",
            "[protover [AUTH username password] [SETNAME clientname]]",
        ),
    Command::new("auth", -2, auth)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc(
            "1.0.0",
            "O(N) where N is the number of passwords defined for the user",
            "Authenticates the connection.",
            "[username] password",
        ),
    Command::new("reset", 1, reset)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(acl::CONNECTION)
        .group("connection")
        .doc("6.2.0", "O(1)", "Resets the connection.", ""),
];

fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if ctx.client.resp == 2 && ctx.client.pubsub.active() {
        // In RESP2 Pub/Sub mode PING answers in the shape of a message.
        if args.len() > 2 {
            return Err(CmdError::WrongArity("ping".into()));
        }
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(if args.len() == 2 { &args[1] } else { b"" });
        return Ok(());
    }
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

/// Authenticate as `user`/`pass`: on success the connection runs as that
/// user; a failure is logged in ACL LOG (reason `auth`).
fn check_password(
    ctx: &mut Ctx<'_>,
    name: &[u8],
    user: &[u8],
    pass: &[u8],
) -> Result<(), CmdError> {
    match ctx.server.acl.authenticate(user, pass) {
        Some(u) => {
            ctx.client.set_user(u, true);
            Ok(())
        }
        None => {
            super::acl_cmd::log_denial(
                ctx.server,
                ctx.client,
                crate::acl::Reason::Auth,
                name.to_vec(),
                user.to_vec(),
            );
            Err(CmdError::coded(
                "WRONGPASS invalid username-password pair or user is disabled.",
            ))
        }
    }
}

fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 && ctx.server.acl.default_user().with(|s| s.nopass) {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass) = if args.len() == 3 {
        (args.get(1), args.get(2))
    } else {
        (&b"default"[..], args.get(1))
    };
    check_password(ctx, args.get(0), user, pass)?;
    ctx.out.ok();
    Ok(())
}

/// Client names (and CLIENT SETINFO values) may hold only printable
/// non-space ASCII (Redis's rule). Redis 7.2 checks them as C strings, so
/// the check ends at a NUL byte (what follows it is kept unchecked).
pub fn valid_name(name: &[u8]) -> bool {
    name.iter()
        .take_while(|&&c| c != 0)
        .all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut ver = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = parse_i64(&args[1])
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::coded("NOPROTO unsupported protocol version"));
        }
        ver = Some(v as u8);
        i = 2;
    }
    let mut creds = None;
    let mut name = None;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ic(&args[i], b"auth") && more >= 2 {
            creds = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if eq_ic(&args[i], b"setname") && more >= 1 {
            let n = args.get(i + 1);
            if !valid_name(n) {
                return Err(CmdError::err(
                    "Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(n);
            i += 2;
        } else {
            let opt = String::from_utf8_lossy(&args[i]);
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{opt}'"
            )));
        }
    }
    if let Some((user, pass)) = creds {
        check_password(ctx, args.get(0), user, pass)?;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::coded(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = name {
        *ctx.client.info.name.lock() = n.to_vec();
    }
    if let Some(v) = ver {
        ctx.client.resp = v;
        ctx.client
            .info
            .resp
            .store(v, std::sync::atomic::Ordering::Relaxed);
        ctx.out.resp3 = v == 3;
        ctx.client.pubsub.set_resp3(v == 3);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(ctx.client.resp as i64);
    out.bulk(b"id");
    out.int(ctx.client.info.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    super::multi::reset(ctx);
    let c = &mut *ctx.client;
    // Subscriptions are dropped without confirmations, as Redis does.
    c.pubsub.clear();
    if c.pubsub.tracking.on {
        if let Some(hub) = c.pubsub.hub() {
            hub.tracking.disable(c.info.id);
        }
        c.pubsub.tracking = Default::default();
    }
    c.monitor = None;
    c.info
        .monitoring
        .store(false, std::sync::atomic::Ordering::Relaxed);
    c.pubsub.set_resp3(false);
    c.select(0);
    c.resp = 2;
    c.info.resp.store(2, std::sync::atomic::Ordering::Relaxed);
    ctx.out.resp3 = false;
    c.reply_mode = crate::server::client::ReplyMode::On;
    c.info
        .no_evict
        .store(false, std::sync::atomic::Ordering::Relaxed);
    c.no_touch = false;
    c.info.name.lock().clear();
    let default = ctx.server.acl.default_user();
    let authenticated = default.with(|s| s.nopass && s.enabled);
    c.set_user(default, authenticated);
    ctx.out.simple("RESET");
    Ok(())
}
