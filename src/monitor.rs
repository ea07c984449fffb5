//! MONITOR: every command any client runs is streamed, as a status line, to
//! the clients in monitor mode (Redis's `replicationFeedMonitors`).
//!
//! A monitor reuses the Pub/Sub delivery path ([`crate::pubsub::Subscriber`]):
//! the feeding thread appends the encoded line to the monitor's outbox and
//! wakes its connection, which writes it out. The outbox is bounded by the
//! `normal` class of `client-output-buffer-limit` (monitors are normal
//! clients in Redis), and in any case by [`FALLBACK_HARD_LIMIT`], so a
//! monitor that never reads is closed instead of growing without bound.
//!
//! Cost while nobody monitors: one relaxed atomic load per command.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::commands::table::{flags::*, Command};
use crate::commands::Ctx;
use crate::error::CmdResult;
use crate::protocol::Args;
use crate::pubsub::Subscriber;
use crate::server::client::Client;
use crate::server::Server;

/// Hard cap on a monitor's pending output when the `normal` limits are
/// 0 (unlimited): Redis would grow without bound; Ember closes the monitor.
pub const FALLBACK_HARD_LIMIT: u64 = 256 << 20;

/// The clients in monitor mode.
#[derive(Default)]
pub struct Monitors {
    active: AtomicUsize,
    list: RwLock<Vec<Arc<Subscriber>>>,
}

impl Monitors {
    /// Whether anyone monitors (one relaxed load).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed) != 0
    }

    fn add(&self, sub: Arc<Subscriber>) {
        let mut l = self.list.write();
        l.push(sub);
        self.active.store(l.len(), Relaxed);
    }

    fn remove(&self, id: u64) {
        let mut l = self.list.write();
        l.retain(|s| s.info.id != id);
        self.active.store(l.len(), Relaxed);
    }
}

/// A client's monitor mode; leaving it (RESET, disconnect) is dropping it.
pub struct Handle {
    server: Arc<Server>,
    id: u64,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.server.monitors.remove(self.id);
    }
}

/// Append `arg` quoted as Redis's `sdscatrepr` does.
pub fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &b in arg {
        match b {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
        }
    }
    out.push(b'"');
}

/// Which arguments Redis 7.2 shows as `(redacted)` in MONITOR and the
/// SLOWLOG: every AUTH argument, HELLO's AUTH username and password,
/// MIGRATE's AUTH password or AUTH2 username and password, everything ACL
/// SETUSER was given, and the values CONFIG SET gives the sensitive
/// parameters (masteruser, masterauth, requirepass).
pub fn redacted(name: &str, args: Args<'_>) -> Vec<usize> {
    match name {
        "auth" => (1..args.len()).collect(),
        "hello" => match args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
            Some(i) => (i + 1..(i + 3).min(args.len())).collect(),
            None => Vec::new(),
        },
        "migrate" => crate::commands::migrate::secret_args(args).collect(),
        "acl|setuser" => (2..args.len()).collect(),
        "config|set" => (2..args.len())
            .step_by(2)
            .filter(|&i| {
                let p = args.get(i);
                i + 1 < args.len()
                    && [&b"masteruser"[..], b"masterauth", b"requirepass"]
                        .iter()
                        .any(|s| p.eq_ignore_ascii_case(s))
            })
            .map(|i| i + 1)
            .collect(),
        _ => Vec::new(),
    }
}

/// The MONITOR line for one command.
pub fn line(client: &Client, name: &str, args: Args<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut num = itoa::Buffer::new();
    out.push(b'+');
    out.extend_from_slice(num.format(now.as_secs()).as_bytes());
    out.extend_from_slice(format!(".{:06} [", now.subsec_micros()).as_bytes());
    out.extend_from_slice(num.format(client.db).as_bytes());
    out.push(b' ');
    if client.in_script {
        out.extend_from_slice(b"lua");
    } else {
        out.extend_from_slice(client.info.addr.to_string().as_bytes());
    }
    out.push(b']');
    let hide = redacted(name, args);
    for (i, a) in args.iter().enumerate() {
        out.push(b' ');
        if hide.contains(&i) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, a);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Send one command to every monitor.
pub fn feed(server: &Server, client: &Client, name: &str, args: Args<'_>) {
    let line = line(client, name, args);
    let (hard, soft, secs) = server.config.read(|c| c.client_output_buffer_limit[0]);
    let hard = if hard == 0 { FALLBACK_HARD_LIMIT } else { hard };
    let list = server.monitors.list.read();
    for m in list.iter() {
        if !m.push_limited(&line, (hard, soft, secs), &server.pubsub.shared) {
            server
                .pubsub
                .limit_disconnections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Whether commands of this kind are shown: not SKIP_MONITOR (scripts feed
/// themselves before they run) nor ADMIN ones.
#[inline]
pub fn shown(cmd: &Command) -> bool {
    !cmd.has(SKIP_MONITOR | ADMIN)
}

/// The error for a command that touches the keyspace from a monitor.
pub const MONITOR_KEYSPACE: &str = "Replica can't interact with the keyspace";

pub static COMMANDS: &[Command] = &[Command::new("monitor", 1, monitor)
    .flags(ADMIN | NOSCRIPT | LOADING | STALE)
    .group("server")
    .doc(
        "1.0.0",
        "",
        "Listens for all requests received by the server in real-time.",
        "",
    )];

fn monitor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.client.deny_blocking {
        return Err(crate::error::CmdError::err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // Already monitoring: ignored, without a reply (as Redis).
    if ctx.client.monitor.is_some() {
        return Ok(());
    }
    let Some(server) = ctx.server.arc() else {
        return Ok(());
    };
    let resp3 = ctx.client.resp == 3;
    ctx.client
        .pubsub
        .attach(&ctx.server.pubsub, &ctx.client.info, resp3);
    let Some(sub) = ctx.client.pubsub.subscriber().cloned() else {
        return Ok(());
    };
    ctx.server.monitors.add(sub);
    ctx.client
        .info
        .monitoring
        .store(true, std::sync::atomic::Ordering::Relaxed);
    ctx.client.monitor = Some(Handle {
        server,
        id: ctx.client.info.id,
    });
    ctx.out.simple("OK");
    Ok(())
}
