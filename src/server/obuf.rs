//! `client-output-buffer-limit` for normal clients, as Redis counts it, and
//! the soft-limit timer that runs without traffic.
//!
//! A connection's pending replies are one batch's output, written when the
//! batch ends ([`super::connection`]); Pub/Sub messages wait in a
//! subscriber's outbox ([`crate::pubsub`]), which enforces its own class's
//! limits as messages arrive. Redis also checks every client from its cron,
//! so a client left over its soft limit is closed once the seconds pass even
//! if nothing more is sent to it: [`cron`] does that for subscribers.

use std::sync::atomic::Ordering::Relaxed;

use super::client::ClientInfo;
use super::Server;

/// Redis's fixed per-client reply buffer, which the limit does not count.
const STATIC_BUF: usize = 16 * 1024;
/// What one of Redis's reply blocks holds: 16 KB plus its header, which
/// jemalloc serves from its 20 KB size class (the block keeps it all).
const BLOCK_PAYLOAD: usize = 20480 - 16;
/// What a block counts: its payload, its header and its list node.
const BLOCK_COST: usize = BLOCK_PAYLOAD + 16 + 24;

/// The output-buffer size Redis would report for `pending` reply bytes:
/// what overflows the static buffer, in whole reply blocks.
pub fn counted(pending: usize) -> u64 {
    let over = pending.saturating_sub(STATIC_BUF);
    (over.div_ceil(BLOCK_PAYLOAD) * BLOCK_COST) as u64
}

/// Whether `pending` reply bytes of a normal client reach the hard limit
/// (one relaxed load while it is off). Commands whose reply could outgrow
/// memory (HRANDFIELD with a huge negative count) stop producing once it
/// does: the connection is then closed without the reply.
pub fn at_hard_limit(server: &Server, pending: usize) -> bool {
    let hard = server.pubsub.shared.normal[0].load(Relaxed);
    hard != 0 && counted(pending) >= hard
}

/// Whether a reply bigger than Ember would otherwise build (HRANDFIELD,
/// SRANDMEMBER, ZRANDMEMBER with a huge negative count) may be started: a
/// connection's own command under a normal hard limit, which stops it
/// ([`at_hard_limit`], checked every [`CHECK_EVERY`] elements) and closes
/// the connection without it, as Redis does. Elsewhere (no limit, or in a
/// script, whose reply no limit bounds) the count is refused instead.
pub fn may_start_huge_reply(server: &Server, client: &super::client::Client) -> bool {
    hard_limit_set(server) && !client.in_script
}

/// How often (in elements) a huge reply checks [`at_hard_limit`].
pub const CHECK_EVERY: u64 = 1024;

/// Whether the normal hard limit is set (replies are then kept for the
/// whole batch, as Redis does, and the limit bounds them).
pub fn hard_limit_set(server: &Server) -> bool {
    server.pubsub.shared.normal[0].load(Relaxed) != 0
}

/// `client-output-buffer-limit normal`: whether `pending` reply bytes put
/// this client over its hard limit, or over the soft one for longer than
/// allowed (`soft_since_ms`: since when it has been over, 0 if not). Counts
/// the disconnection and logs it when so. Two relaxed loads while off.
pub fn over_limit(
    server: &Server,
    info: &ClientInfo,
    pending: usize,
    soft_since_ms: &mut u64,
) -> bool {
    let l = &server.pubsub.shared.normal;
    let (hard, soft) = (l[0].load(Relaxed), l[1].load(Relaxed));
    if hard == 0 && soft == 0 {
        return false;
    }
    let used = counted(pending);
    let mut over = hard != 0 && used >= hard;
    if !over && soft != 0 && used >= soft {
        let now = crate::util::now_ms();
        if *soft_since_ms == 0 {
            *soft_since_ms = now;
        } else {
            over = now.saturating_sub(*soft_since_ms) / 1000 > l[2].load(Relaxed);
        }
    } else if !over {
        *soft_since_ms = 0;
    }
    if over {
        server.pubsub.limit_disconnections.fetch_add(1, Relaxed);
        tracing::warn!(
            "Client id={} addr={} closed for overcoming of output buffer limits.",
            info.id,
            info.addr
        );
    }
    over
}

/// Once a second: close subscribers (and monitors) whose outbox has stayed
/// over its soft limit for longer than allowed with no message since.
pub fn cron(server: &Server) {
    let now = crate::util::now_ms();
    let mut late = Vec::new();
    server.clients.for_each(|c| {
        let deadline = c.obuf_soft_deadline_ms.load(Relaxed);
        if deadline != 0 && now >= deadline && !c.killed.load(Relaxed) {
            late.push(c.clone());
        }
    });
    for c in late {
        server.pubsub.limit_disconnections.fetch_add(1, Relaxed);
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.id,
            c.addr
        );
        c.request_kill();
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn counted_in_reply_blocks_past_the_static_buffer() {
        assert_eq!(counted(0), 0);
        assert_eq!(counted(16 * 1024), 0);
        assert_eq!(counted(16 * 1024 + 1), 20504);
        assert_eq!(counted(16 * 1024 + 20464), 20504);
        assert_eq!(counted(16 * 1024 + 20465), 2 * 20504);
        // 1000 KEYS replies of ~112 bytes: over a 100000-byte limit, as in Redis.
        assert!(counted(112_000) >= 100_000);
    }
}
