//! CLIENT PAUSE / UNPAUSE: hold clients' commands (all of them, or only
//! those that may write) until a deadline. A paused command waits in its
//! connection task (asynchronously: the worker keeps serving others) right
//! before dispatch, as Redis postpones it in processCommand; replies
//! already produced are sent first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::commands::{flags, script};
use crate::protocol::Args;

use super::client::Client;
use super::Server;

#[derive(Default)]
pub struct Pause {
    /// Unix ms the pause ends (0: none).
    until_ms: AtomicU64,
    /// Only commands that may write are held.
    write_only: AtomicBool,
}

impl Pause {
    /// CLIENT PAUSE: a later end or a stricter mode wins over a running
    /// pause. Keys neither expire nor get evicted until it ends.
    pub fn pause(&self, server: &Server, until_ms: u64, all: bool, now: u64) {
        let running = self.until_ms.load(Relaxed) > now;
        if running {
            self.until_ms.fetch_max(until_ms, Relaxed);
            if all {
                self.write_only.store(false, Relaxed);
            }
        } else {
            self.write_only.store(!all, Relaxed);
            self.until_ms.store(until_ms, Relaxed);
        }
        server.keyspace.hold(self.until_ms.load(Relaxed));
    }

    pub fn unpause(&self, server: &Server) {
        self.until_ms.store(0, Relaxed);
        server.keyspace.hold(0);
    }

    /// Whether a pause is in force at `now`.
    #[inline]
    pub fn active(&self, now: u64) -> bool {
        self.until_ms.load(Relaxed) > now
    }

    /// Whether `client`'s request `args` must wait at `now`: under a WRITE
    /// pause, a command that may write or replicate (EXEC: one queued; a
    /// script: by its declared flags), as Redis's processCommand decides.
    #[inline]
    pub fn holds(&self, server: &Server, client: &Client, args: Args<'_>, now: u64) -> bool {
        self.active(now) && self.holds_now(server, client, args)
    }

    /// [`Pause::holds`] while a pause is in force.
    #[cold]
    #[inline(never)]
    fn holds_now(&self, server: &Server, client: &Client, args: Args<'_>) -> bool {
        if !self.write_only.load(Relaxed) {
            return true;
        }
        let Ok(e) = server.commands.resolve(args) else {
            return false;
        };
        let f = if e.id == server.commands.exec_id {
            match &client.multi {
                Some(m) if m.may_replicate => flags::WRITE,
                _ => 0,
            }
        } else {
            script::command_flags(server, e.cmd, args)
        };
        f & (flags::WRITE | flags::MAY_REPLICATE) != 0
    }
}

/// Wait until `client`'s request `args` may run. Meanwhile the client
/// counts as blocked (INFO `blocked_clients`, CLIENT LIST flag `b`), as a
/// postponed client does in Redis.
pub async fn wait(server: &Server, client: &Client, args: Args<'_>) {
    let _blocked = Postponed::new(server, client);
    loop {
        let now = crate::util::now_ms();
        if !server.pause.holds(server, client, args, now) {
            return;
        }
        let left = server.pause.until_ms.load(Relaxed).saturating_sub(now);
        tokio::time::sleep(Duration::from_millis(left.clamp(1, 10))).await;
    }
}

/// A client held by the pause, counted while the guard lives.
struct Postponed<'a>(&'a Server, &'a Client);

impl<'a> Postponed<'a> {
    fn new(server: &'a Server, client: &'a Client) -> Self {
        server.stats.blocked_clients.fetch_add(1, Relaxed);
        client.info.postponed.store(true, Relaxed);
        Postponed(server, client)
    }
}

impl Drop for Postponed<'_> {
    fn drop(&mut self) {
        self.0.stats.blocked_clients.fetch_sub(1, Relaxed);
        self.1.info.postponed.store(false, Relaxed);
    }
}
