//! Giving back the buffer memory a connection no longer needs, by Redis's
//! rules (its `clientsCronResizeQueryBuffer` and
//! `clientsCronResizeOutputBuffer`), so an idle client costs about what it
//! costs in Redis rather than two 16 KB buffers.
//!
//! - Query buffer: once the client has been idle for more than 2 s, the
//!   buffer shrinks to what it holds (nothing, mostly), and the connection
//!   waits for its socket to be readable before it makes room again (a TLS
//!   one too: a connection parked in a read has no decrypted bytes left in
//!   rustls, or the read would have taken them). A busy client's buffer
//!   over 32 KB shrinks to its recent peak when that peak is under half of
//!   it.
//! - Reply buffer: the part over 16 KB (Redis's fixed buffer; Redis frees
//!   its reply blocks once written) goes at the next check; below that the
//!   buffer halves or more, down to 1 KB, while its peak stays under half of
//!   it. The peak resets every 5 s (`DEBUG REPLYBUFFER PEAK-RESET-TIME`),
//!   and `DEBUG REPLYBUFFER RESIZING 0` turns this off.
//!
//! A busy connection checks itself at most every [`CHECK_EVERY_MS`] when a
//! batch ends (a time comparison per batch). An idle one publishes in
//! `ClientInfo::trim_at` when a check could next give memory back, and the
//! cron ([`cron`]) wakes it then, so an idle client is woken a few times per
//! idle spell and never again once its buffers are as small as they get.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

use super::client::{ClientInfo, REPLY_BUF};
use super::Server;
use crate::protocol::Reply;

/// A busy connection checks its buffers at most this often.
pub const CHECK_EVERY_MS: u64 = 100;
/// A query buffer given back after this much idle time (Redis: > 2 s).
const IDLE_MS: u64 = 2000;
/// Free room worth a resize (Redis: 4 KB).
const WORTH: usize = 4 * 1024;
/// A busy client's query buffer resizes only above this (PROTO_RESIZE_THRESHOLD).
const RESIZE_THRESHOLD: usize = 32 * 1024;
/// The smallest reply buffer (PROTO_REPLY_MIN_BYTES).
const REPLY_MIN: usize = 1024;
/// Redis's default `reply_buffer_peak_reset_time` (ms).
const DEFAULT_PEAK_RESET_MS: i64 = 5000;

/// The server's trimming settings and counters.
pub struct Settings {
    /// `DEBUG REPLYBUFFER PEAK-RESET-TIME`: ms between reply-peak resets,
    /// -1 never.
    peak_reset_ms: AtomicI64,
    /// `DEBUG REPLYBUFFER RESIZING`.
    resizing: AtomicBool,
    /// `DEBUG PAUSE-CRON`: the cron stops, and with it these checks.
    cron_paused: AtomicBool,
    /// INFO `reply_buffer_shrinks` / `reply_buffer_expands`.
    pub shrinks: AtomicU64,
    pub expands: AtomicU64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            peak_reset_ms: AtomicI64::new(DEFAULT_PEAK_RESET_MS),
            resizing: AtomicBool::new(true),
            cron_paused: AtomicBool::new(false),
            shrinks: AtomicU64::new(0),
            expands: AtomicU64::new(0),
        }
    }
}

impl Settings {
    /// DEBUG REPLYBUFFER PEAK-RESET-TIME: `None` restores the default.
    pub fn set_peak_reset_ms(&self, ms: Option<i64>) {
        self.peak_reset_ms
            .store(ms.unwrap_or(DEFAULT_PEAK_RESET_MS), Relaxed);
    }

    /// DEBUG REPLYBUFFER RESIZING.
    pub fn set_resizing(&self, on: bool) {
        self.resizing.store(on, Relaxed);
    }

    /// DEBUG PAUSE-CRON.
    pub fn pause_cron(&self, on: bool) {
        self.cron_paused.store(on, Relaxed);
    }

    pub fn cron_paused(&self) -> bool {
        self.cron_paused.load(Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.shrinks.store(0, Relaxed);
        self.expands.store(0, Relaxed);
    }
}

/// The reply buffer as Redis reports it (`rbs`): its fixed buffer is at
/// most 16 KB, the rest would be reply blocks.
pub fn reported_rbs(capacity: usize) -> usize {
    capacity.min(REPLY_BUF)
}

/// One connection's trimming state (owned by its task).
pub struct Buffers {
    next_check_ms: u64,
    /// The largest query buffer content since the last check.
    query_peak: usize,
    reply_peak_reset_ms: u64,
    /// The reply buffer's size at the last check.
    reply_cap: usize,
    /// The query buffer was given back while idle: the connection makes
    /// no room in it until its socket is readable.
    pub trimmed: bool,
}

impl Buffers {
    /// A new connection's: Redis starts a client's reply peak at the full
    /// buffer, so nothing shrinks before the first peak reset.
    pub fn new(
        set: &Settings,
        info: &ClientInfo,
        inbuf: &Vec<u8>,
        out: &mut Reply,
        now: u64,
    ) -> Buffers {
        out.peak = out.buf.capacity();
        info.rbuf.store(out.buf.capacity(), Relaxed);
        let b = Buffers {
            next_check_ms: now + CHECK_EVERY_MS,
            query_peak: 0,
            reply_peak_reset_ms: now,
            reply_cap: out.buf.capacity(),
            trimmed: false,
        };
        b.schedule(set, info, (inbuf.len(), inbuf.capacity()), out, false, now);
        b
    }

    /// A batch is about to run on `len` buffered bytes.
    #[inline]
    pub fn saw_query(&mut self, len: usize) {
        self.query_peak = self.query_peak.max(len);
    }

    /// Whether a busy connection should check now (when a batch ends).
    #[inline]
    pub fn due(&self, now: u64) -> bool {
        now >= self.next_check_ms
    }

    /// Check both buffers (the reply buffer is empty: its replies are
    /// written). `need`: bytes of a request being received, from the
    /// buffer's start.
    pub fn check(
        &mut self,
        set: &Settings,
        info: &ClientInfo,
        (inbuf, need): (&mut Vec<u8>, usize),
        out: &mut Reply,
        now: u64,
    ) {
        self.next_check_ms = now + CHECK_EVERY_MS;
        // This check answers the cron's request, if there was one.
        info.trim_asked.store(false, Relaxed);
        if set.cron_paused() {
            info.trim_at.store(now + CHECK_EVERY_MS, Relaxed);
            return;
        }
        let idle = now.saturating_sub(info.last_interaction_ms.load(Relaxed));
        let mut soon = false;

        let (len, cap) = (inbuf.len(), inbuf.capacity());
        if cap - len > WORTH {
            if idle > IDLE_MS {
                inbuf.shrink_to_fit();
                self.trimmed = true;
            } else if cap > RESIZE_THRESHOLD && cap / 2 > self.query_peak {
                inbuf.shrink_to(len.max(self.query_peak).max(need.min(cap)));
            } else if cap > RESIZE_THRESHOLD {
                soon = true;
            }
        }
        self.query_peak = len.max(need);
        info.qbuf_cap.store(inbuf.capacity(), Relaxed);

        if set.resizing.load(Relaxed) && out.is_empty() {
            if out.buf.capacity() > REPLY_BUF {
                out.buf.shrink_to(REPLY_BUF);
            }
            let size = out.buf.capacity();
            if size > self.reply_cap && self.reply_cap < REPLY_BUF {
                set.expands.fetch_add(1, Relaxed);
            }
            let peak = out.peak.min(size);
            if size / 2 >= REPLY_MIN && peak < size / 2 {
                out.buf.shrink_to(REPLY_MIN.max(peak + 1));
                set.shrinks.fetch_add(1, Relaxed);
            }
            let reset = set.peak_reset_ms.load(Relaxed);
            if reset >= 0 && now.saturating_sub(self.reply_peak_reset_ms) >= reset as u64 {
                out.peak = 0;
                self.reply_peak_reset_ms = now;
            }
            self.reply_cap = out.buf.capacity();
            info.rbuf.store(self.reply_cap, Relaxed);
            info.rbp.store(out.peak, Relaxed);
        }

        self.schedule(set, info, (inbuf.len(), inbuf.capacity()), out, soon, now);
    }

    /// Publish when a check could next give something back if the client
    /// stays as it is; never once both buffers are as small as they get.
    /// `soon`: the query buffer may shrink at the next check.
    fn schedule(
        &self,
        set: &Settings,
        info: &ClientInfo,
        (len, cap): (usize, usize),
        out: &Reply,
        soon: bool,
        now: u64,
    ) {
        let mut at = u64::MAX;
        if soon {
            at = now;
        } else if cap - len > WORTH {
            let last = info.last_interaction_ms.load(Relaxed);
            at = last + IDLE_MS + 1;
        }
        let size = out.buf.capacity();
        if set.resizing.load(Relaxed) && size / 2 >= REPLY_MIN {
            if out.peak.min(size) < size / 2 {
                at = now;
            } else {
                let reset = set.peak_reset_ms.load(Relaxed);
                if reset >= 0 {
                    at = at.min(self.reply_peak_reset_ms + reset as u64);
                }
            }
        }
        let at = if at == u64::MAX {
            at
        } else {
            at.max(now + CHECK_EVERY_MS)
        };
        info.trim_at.store(at, Relaxed);
    }
}

/// From the cron: wake the connections whose buffers a check could shrink
/// now. A connection asked once is not asked again until it has checked.
pub fn cron(server: &Server, now: u64) {
    server.clients.for_each(|c| {
        if now >= c.trim_at.load(Relaxed) && !c.trim_asked.load(Relaxed) {
            c.trim_asked.store(true, Relaxed);
            if let Some(w) = c.kill_waker.lock().as_ref() {
                w.wake_by_ref();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> std::sync::Arc<ClientInfo> {
        let reg = Box::leak(Box::default());
        let a = "127.0.0.1:1".parse().unwrap();
        super::super::client::ClientRegistry::register(reg, a, a, -1)
    }

    #[test]
    fn idle_query_buffer_is_given_back_and_reply_buffer_shrinks_after_peak_reset() {
        let info = info();
        let t0 = info.last_interaction_ms.load(Relaxed);
        let set = Settings::default();
        let mut inbuf = Vec::with_capacity(16 * 1024);
        let mut out = Reply::new(false);
        let mut b = Buffers::new(&set, &info, &inbuf, &mut out, t0);
        assert_eq!(info.trim_at.load(Relaxed), t0 + IDLE_MS + 1);
        // Within 2 s nothing goes: the reply peak starts full.
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 1000);
        assert!(inbuf.capacity() >= 16 * 1024 && !b.trimmed);
        assert!(out.buf.capacity() >= 16 * 1024);
        // Past 2 s idle the query buffer is given back.
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 2500);
        assert_eq!(inbuf.capacity(), 0);
        assert!(b.trimmed);
        // The first peak reset (5 s) empties the peak; the next check shrinks.
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 5000);
        let at = info.trim_at.load(Relaxed);
        assert!(at <= t0 + 5000 + CHECK_EVERY_MS, "{at}");
        b.check(&set, &info, (&mut inbuf, 0), &mut out, at);
        assert!(out.buf.capacity() < 2 * REPLY_MIN, "{}", out.buf.capacity());
        assert_eq!(info.trim_at.load(Relaxed), u64::MAX);
    }

    #[test]
    fn a_busy_peak_keeps_the_reply_buffer() {
        let info = info();
        let t0 = info.last_interaction_ms.load(Relaxed);
        let set = Settings::default();
        let mut inbuf = Vec::with_capacity(16 * 1024);
        let mut out = Reply::new(false);
        let mut b = Buffers::new(&set, &info, &inbuf, &mut out, t0);
        // A 12 KB peak holds a 16 KB buffer past the first reset.
        out.peak = 12 * 1024;
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 100);
        assert!(out.buf.capacity() >= 16 * 1024);
        // Once the peak resets, the buffer shrinks.
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 5000);
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 5100);
        assert!(out.buf.capacity() < 2 * REPLY_MIN);
        // DEBUG REPLYBUFFER RESIZING 0: it stays as it is.
        set.set_resizing(false);
        out.buf.reserve(16 * 1024);
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 5200);
        assert!(out.buf.capacity() >= 16 * 1024);
    }

    #[test]
    fn big_busy_query_buffer_shrinks_to_its_recent_peak() {
        let info = info();
        let t0 = info.last_interaction_ms.load(Relaxed);
        let set = Settings::default();
        let mut inbuf: Vec<u8> = Vec::with_capacity(400 * 1024);
        let mut out = Reply::new(false);
        let mut b = Buffers::new(&set, &info, &inbuf, &mut out, t0);
        b.saw_query(400 * 1024);
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 100);
        assert!(inbuf.capacity() >= 400 * 1024, "the peak is recent");
        inbuf.extend_from_slice(&[b'x'; 100]);
        b.saw_query(100);
        b.check(&set, &info, (&mut inbuf, 0), &mut out, t0 + 200);
        assert!(inbuf.capacity() < 1024, "{}", inbuf.capacity());
        assert_eq!(inbuf.len(), 100);
    }
}
