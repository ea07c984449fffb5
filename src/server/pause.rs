//! CLIENT PAUSE / UNPAUSE: hold clients' commands (all of them, or only
//! those that may write) until a deadline. A paused command waits in its
//! connection task (asynchronously: the worker keeps serving others) right
//! before dispatch, as Redis postpones it in processCommand; replies
//! already produced are sent first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::commands::flags;
use crate::protocol::Args;

use super::Server;

#[derive(Default)]
pub struct Pause {
    /// Unix ms the pause ends (0: none).
    until_ms: AtomicU64,
    /// Only commands that may write are held.
    write_only: AtomicBool,
}

impl Pause {
    /// CLIENT PAUSE: a later end or a stricter mode wins over a running pause.
    pub fn pause(&self, until_ms: u64, all: bool, now: u64) {
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
    }

    pub fn unpause(&self) {
        self.until_ms.store(0, Relaxed);
    }

    /// Whether a pause is in force at `now`.
    #[inline]
    pub fn active(&self, now: u64) -> bool {
        self.until_ms.load(Relaxed) > now
    }

    /// Whether `args` must wait at `now`.
    pub fn holds(&self, server: &Server, args: Args<'_>, now: u64) -> bool {
        if !self.active(now) {
            return false;
        }
        if !self.write_only.load(Relaxed) {
            return true;
        }
        match server.commands.resolve(args) {
            Ok(e) => e.cmd.has(flags::WRITE) || e.cmd.has(flags::MAY_REPLICATE),
            Err(_) => false,
        }
    }
}

/// Wait until `args` may run.
pub async fn wait(server: &Server, args: Args<'_>) {
    loop {
        let now = crate::util::now_ms();
        if !server.pause.holds(server, args, now) {
            return;
        }
        let left = server.pause.until_ms.load(Relaxed).saturating_sub(now);
        tokio::time::sleep(Duration::from_millis(left.clamp(1, 10))).await;
    }
}
