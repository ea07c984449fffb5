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

use super::client::{Client, REPLY_BUF};
use super::Server;

/// Redis's fixed per-client reply buffer, which the limit does not count.
const STATIC_BUF: usize = REPLY_BUF;
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

/// For a reply that may grow without bound (HRANDFIELD, SRANDMEMBER,
/// ZRANDMEMBER with a negative count): the pending output length at which a
/// connection's own command must stop producing, read once when it starts.
/// `Some` under a normal hard limit, outside scripts (no limit bounds a
/// script's reply); None otherwise, when a count too big to build is
/// refused instead. A command that stops sets [`Client::drop_output`]: the
/// connection is closed without the cut reply, as Redis closes a client
/// whose output passed the limit mid-command.
///
/// [`Client::drop_output`]: super::client::Client::drop_output
pub fn reply_cap(server: &Server, client: &Client) -> Option<usize> {
    let hard = server.pubsub.shared.normal[0].load(Relaxed);
    if hard == 0 || client.in_script {
        return None;
    }
    // The shortest output that `counted` puts at the limit.
    let blocks = hard.div_ceil(BLOCK_COST as u64) as usize;
    Some(STATIC_BUF + blocks.saturating_sub(1) * BLOCK_PAYLOAD + 1)
}

/// Whether the normal hard limit is set (replies are then kept for the
/// whole batch, as Redis does, and the limit bounds them).
pub fn hard_limit_set(server: &Server) -> bool {
    server.pubsub.shared.normal[0].load(Relaxed) != 0
}

/// After each command (connection loop, busy-script hook): whether the
/// client must be closed without its `pending` replies, because a command
/// cut its reply short ([`reply_cap`]) or the replies are over the normal
/// limit. Counts the disconnection and logs it when so.
pub fn must_close(
    server: &Server,
    client: &Client,
    pending: usize,
    soft_since_ms: &mut u64,
) -> bool {
    let close = client.drop_output || over_limit(server, pending, soft_since_ms);
    if close {
        server.pubsub.limit_disconnections.fetch_add(1, Relaxed);
        tracing::warn!(
            "Client id={} addr={} closed for overcoming of output buffer limits.",
            client.info.id,
            client.info.addr
        );
    }
    close
}

/// When a client first over its soft limit at `since_ms` (Unix ms) has been
/// over it for too long: more than `secs` whole seconds, counted as Redis
/// counts them, in Unix seconds (`now - since > secs`, both truncated). The
/// once-a-second cron runs just after each second starts, so a client left
/// over the limit is closed between `secs` and `secs + 1` seconds after.
pub fn soft_deadline(since_ms: u64, secs: u64) -> u64 {
    (since_ms / 1000 + secs + 1) * 1000
}

/// `client-output-buffer-limit normal`: whether `pending` reply bytes put
/// this client over its hard limit, or over the soft one for longer than
/// allowed (`soft_since_ms`: since when it has been over, 0 if not). Two
/// relaxed loads while off.
fn over_limit(server: &Server, pending: usize, soft_since_ms: &mut u64) -> bool {
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
            over = now >= soft_deadline(*soft_since_ms, l[2].load(Relaxed));
        }
    } else if !over {
        *soft_since_ms = 0;
    }
    over
}

/// Once a second, as Redis's clientsCron: close subscribers (and monitors)
/// whose output has stayed over its soft limit for longer than allowed
/// with no message since; forget the soft-limit timer of those back under
/// it; note the largest input and output buffers for INFO.
pub fn cron(server: &Server) {
    let now = crate::util::now_ms();
    let mut late = Vec::new();
    let (mut input, mut output) = (0, 0);
    server.clients.for_each(|c| {
        input = input.max(c.input());
        output = output.max(c.output());
        let deadline = c.obuf_soft_deadline_ms.load(Relaxed);
        if deadline == 0 || c.killed.load(Relaxed) {
            return;
        }
        if (c.output() as u64) < c.obuf_soft_limit.load(Relaxed) {
            // Written out meanwhile: the timer starts again next time. An
            // append that set a new deadline since keeps it.
            let _ = c
                .obuf_soft_deadline_ms
                .compare_exchange(deadline, 0, Relaxed, Relaxed);
        } else if now >= deadline {
            late.push(c.clone());
        }
    });
    server.stats.client_peaks.record(now / 1000, input, output);
    for c in late {
        // Drained since it was listed (the outbox resets the deadline)?
        let deadline = c.obuf_soft_deadline_ms.load(Relaxed);
        if deadline == 0 || crate::util::now_ms() < deadline {
            continue;
        }
        server.pubsub.limit_disconnections.fetch_add(1, Relaxed);
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.id,
            c.addr
        );
        c.request_kill();
    }
}

/// Seconds of history for INFO's `client_recent_max_*_buffer`.
const PEAK_SLOTS: usize = 8;

/// The largest client query buffer and pending output seen in each of the
/// last seconds, as Redis's ClientsPeakMemInput/Output: one slot per Unix
/// second (modulo [`PEAK_SLOTS`]), the next one cleared as each fills, so
/// INFO reports the peak of the last several seconds without a scan.
#[derive(Default)]
pub struct RecentPeaks(parking_lot::Mutex<[(usize, usize); PEAK_SLOTS]>);

impl RecentPeaks {
    /// The cron's sample for Unix second `second`.
    pub fn record(&self, second: u64, input: usize, output: usize) {
        let idx = (second % PEAK_SLOTS as u64) as usize;
        let mut slots = self.0.lock();
        slots[(idx + 1) % PEAK_SLOTS] = (0, 0);
        let slot = &mut slots[idx];
        *slot = (slot.0.max(input), slot.1.max(output));
    }

    /// (input, output): the largest of the recent slots.
    pub fn max(&self) -> (usize, usize) {
        self.0
            .lock()
            .iter()
            .fold((0, 0), |(i, o), s| (i.max(s.0), o.max(s.1)))
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

    #[test]
    fn soft_deadline_counts_whole_unix_seconds() {
        // First over at 10.999 s with 2 seconds allowed: over once the Unix
        // second passes 12, at 13.000 (Redis: 13 - 10 > 2).
        assert_eq!(super::soft_deadline(10_999, 2), 13_000);
        assert_eq!(super::soft_deadline(10_000, 2), 13_000);
        assert_eq!(super::soft_deadline(10_000, 0), 11_000);
    }

    #[test]
    fn recent_peaks_keep_the_last_seconds() {
        let p = super::RecentPeaks::default();
        p.record(100, 10, 0);
        p.record(101, 5, 7);
        assert_eq!(p.max(), (10, 7));
        // Six seconds on, 100's slot is still there; at 107 it is cleared.
        p.record(106, 1, 1);
        assert_eq!(p.max(), (10, 7));
        p.record(107, 1, 1);
        assert_eq!(p.max(), (5, 7));
        p.record(108, 0, 0);
        assert_eq!(p.max(), (1, 1));
    }

    #[test]
    fn reply_cap_is_the_shortest_output_at_the_limit() {
        for hard in [1u64, 20504, 20505, 100_000, 1 << 20] {
            let blocks = hard.div_ceil(super::BLOCK_COST as u64) as usize;
            let cap = super::STATIC_BUF + blocks.saturating_sub(1) * super::BLOCK_PAYLOAD + 1;
            assert!(counted(cap) >= hard, "{hard}");
            assert!(counted(cap - 1) < hard, "{hard}");
        }
    }
}
