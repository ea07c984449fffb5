//! The access bits of an entry ([`super::Entry::lru`]): an LRU clock, or
//! under an LFU `maxmemory-policy` a decaying logarithmic access counter.
//!
//! * **LRU** (any non-LFU policy): the time of the last access in units of
//!   [`LRU_TICK_MS`] (100 ms), truncated to 32 bits. Idle time is a wrapping
//!   difference, exact for idle times under 13 years. Redis keeps 24 bits of
//!   seconds; a finer tick lets eviction tell apart keys touched within the
//!   same second.
//! * **LFU** (`allkeys-lfu`, `volatile-lfu`): as Redis's object.c, the low 8
//!   bits are a logarithmic counter (incremented with probability
//!   `1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)`, saturating at
//!   255) and the next 16 bits the time of the last decrement in minutes.
//!   Reading the counter first subtracts one per `lfu-decay-time` minutes
//!   elapsed. New keys start at [`LFU_INIT_VAL`] so they are not evicted
//!   before they had a chance to be read.
//!
//! Which mode is active, and the LFU parameters, are process-wide atomics
//! refreshed from the configuration whenever it changes (`ConfigStore`):
//! the keyspace reads them on every access without a config lock.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

/// Milliseconds per LRU clock tick.
pub const LRU_TICK_MS: u64 = 100;
/// The counter of a new key under LFU (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u8 = 5;

static LFU: AtomicBool = AtomicBool::new(false);
/// Whether the eviction policy is an LRU one (snapshots then record idle
/// times, as Redis's RDB does).
static LRU_POLICY: AtomicBool = AtomicBool::new(false);
static LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static DECAY_TIME: AtomicU32 = AtomicU32::new(1);

/// Set the mode and LFU parameters (config refresh).
pub fn configure(lfu: bool, log_factor: u32, decay_time: u32) {
    LFU.store(lfu, Relaxed);
    LOG_FACTOR.store(log_factor, Relaxed);
    DECAY_TIME.store(decay_time, Relaxed);
}

/// Set whether the eviction policy is an LRU one (config refresh).
pub fn set_lru_policy(lru: bool) {
    LRU_POLICY.store(lru, Relaxed);
}

/// What a snapshot records before a key, as Redis's RDB does: the idle time
/// (`IDLE`, seconds) under an LRU policy, the LFU counter (`FREQ`) under an
/// LFU one, nothing otherwise.
pub enum Record {
    None,
    Idle(u64),
    Freq(u8),
}

/// [`Record`] for an entry's access bits now.
pub fn record(bits: u32, now_ms: u64) -> Record {
    if lfu_mode() {
        Record::Freq(lfu_decayed(bits, now_ms))
    } else if LRU_POLICY.load(Relaxed) {
        Record::Idle(lru_idle_ms(bits, now_ms) / 1000)
    } else {
        Record::None
    }
}

/// Access bits for a loaded key from its `IDLE` / `FREQ` record: each
/// applies only under the matching policy (as Redis's objectSetLRUOrLFU),
/// else the key counts as new.
pub fn loaded(idle_secs: Option<u64>, freq: Option<u8>, now_ms: u64) -> u32 {
    match (lfu_mode(), idle_secs, freq) {
        (true, _, Some(f)) => lfu_with_freq(f, now_ms),
        (false, Some(s), _) if LRU_POLICY.load(Relaxed) => lru_with_idle(s, now_ms),
        _ => initial(now_ms),
    }
}

/// Whether entries currently carry LFU bits.
#[inline]
pub fn lfu_mode() -> bool {
    LFU.load(Relaxed)
}

/// The LRU clock at `now_ms`.
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / LRU_TICK_MS) as u32
}

/// Milliseconds since an LRU stamp.
#[inline]
pub fn lru_idle_ms(lru: u32, now_ms: u64) -> u64 {
    lru_clock(now_ms).wrapping_sub(lru) as u64 * LRU_TICK_MS
}

/// Minutes clock of LFU entries (16 bits).
#[inline]
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

/// The counter after applying the decay since its last decrement.
#[inline]
pub fn lfu_decayed(bits: u32, now_ms: u64) -> u8 {
    let counter = (bits & 0xFF) as u8;
    let then = (bits >> 8) & 0xFFFF;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= then {
        now - then
    } else {
        0xFFFF - then + now
    };
    let decay = DECAY_TIME.load(Relaxed);
    let periods = elapsed.checked_div(decay).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u8)
}

/// Logarithmic increment of an LFU counter.
#[inline]
fn lfu_incr(counter: u8) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * LOG_FACTOR.load(Relaxed) as f64 + 1.0);
    // A uniform draw in [0, 1).
    let r = (crate::util::rand_u64() >> 11) as f64 / (1u64 << 53) as f64;
    if r < p {
        counter + 1
    } else {
        counter
    }
}

#[inline]
fn lfu_pack(counter: u8, now_ms: u64) -> u32 {
    (lfu_minutes(now_ms) << 8) | counter as u32
}

/// LRU bits of a key last accessed `idle_secs` ago (RESTORE IDLETIME, the
/// RDB `IDLE` opcode); an idle time beyond half the clock's range is
/// clamped to it, as Redis clamps.
pub fn lru_with_idle(idle_secs: u64, now_ms: u64) -> u32 {
    let ticks = idle_secs
        .saturating_mul(1000 / LRU_TICK_MS)
        .min((u32::MAX / 2) as u64);
    lru_clock(now_ms).wrapping_sub(ticks as u32)
}

/// LFU bits with counter `freq` as of now (RESTORE FREQ, the RDB `FREQ`
/// opcode).
pub fn lfu_with_freq(freq: u8, now_ms: u64) -> u32 {
    lfu_pack(freq, now_ms)
}

/// The access bits of a newly written key.
#[inline]
pub fn initial(now_ms: u64) -> u32 {
    if lfu_mode() {
        lfu_pack(LFU_INIT_VAL, now_ms)
    } else {
        lru_clock(now_ms)
    }
}

thread_local! {
    /// Set while a command runs that must not change access times: TYPE,
    /// EXISTS, the TTL family and OBJECT (Redis's LOOKUP_NOTOUCH), and any
    /// command but TOUCH of a `CLIENT NO-TOUCH on` client.
    static NO_TOUCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, key lookups on this thread leave access times alone.
pub struct NoTouch {
    _flag: crate::util::ScopedFlag,
}

impl NoTouch {
    pub fn begin() -> NoTouch {
        NoTouch {
            _flag: crate::util::ScopedFlag::set(&NO_TOUCH),
        }
    }
}

/// Record an access (Shard::read / Shard::write).
#[inline]
pub fn touch(bits: &mut u32, now_ms: u64) {
    if NO_TOUCH.with(|t| t.get()) {
        return;
    }
    *bits = if lfu_mode() {
        lfu_pack(lfu_incr(lfu_decayed(*bits, now_ms)), now_ms)
    } else {
        lru_clock(now_ms)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        // Only the pure helpers: the global mode is left alone so parallel
        // tests are unaffected.
        let now = 10 * 60_000;
        let mut c = LFU_INIT_VAL;
        for _ in 0..1000 {
            c = lfu_incr(c);
        }
        assert!(c > LFU_INIT_VAL && c < 40, "counter {c}");
        let bits = lfu_pack(c, now);
        assert_eq!(lfu_decayed(bits, now), c);
        // Three minutes later, with decay time 1: three less.
        assert_eq!(lfu_decayed(bits, now + 3 * 60_000), c - 3);
        assert_eq!(lfu_decayed(bits, now + 300 * 60_000), 0);
    }

    #[test]
    fn lru_idle_wraps() {
        let now = 1_700_000_000_000u64;
        assert_eq!(lru_idle_ms(lru_clock(now - 5000), now), 5000);
    }
}
