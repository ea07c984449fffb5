//! Small helpers shared across the server: clocks, a fast random source,
//! case-insensitive comparison.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in milliseconds since the Unix epoch (expiry times are
/// absolute Unix milliseconds, as in Redis).
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Wall-clock time in microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Mix the clock with a per-thread address so threads start apart.
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    let s = now_us() ^ addr.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15;
    if s == 0 {
        1
    } else {
        s
    }
}

/// A fast thread-local pseudo-random number (xorshift64*). Good for sampling
/// keys; not for anything secret.
#[inline]
pub fn rand_u64() -> u64 {
    RNG.with(|c| {
        let mut x = c.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        c.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A random index in `0..n` (n > 0).
#[inline]
pub fn rand_below(n: usize) -> usize {
    ((rand_u64() as u128 * n as u128) >> 64) as usize
}

/// ASCII case-insensitive equality, for command names and options.
#[inline]
pub fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A cheap monotonic tick counter for timing commands (commandstats, later
/// SLOWLOG): the CPU's time-stamp counter on x86_64 (invariant on every CPU
/// that runs servers today), nanoseconds since first use elsewhere. Two
/// `clock_gettime` calls per command were 14% of the server's CPU in a
/// pipelined GET benchmark; two TSC reads cost a few nanoseconds.
#[inline]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions; it only reads a counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

/// Nanoseconds per tick in 32.32 fixed point, measured once against the
/// monotonic clock (integer conversions: a float division per command showed
/// in profiles).
fn ns_per_tick_q32() -> u64 {
    static Q: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *Q.get_or_init(|| {
        let t0 = std::time::Instant::now();
        let c0 = ticks();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let c1 = ticks();
        let ns = t0.elapsed().as_secs_f64() * 1e9;
        let q = ns / (c1.wrapping_sub(c0)) as f64 * 4294967296.0;
        if q.is_finite() && q >= 1.0 && q < u32::MAX as f64 * 4294967296.0 {
            q as u64
        } else {
            1 << 32
        }
    })
}

/// Calibrate the tick clock now (at startup) rather than on first use.
pub fn calibrate_ticks() {
    ns_per_tick_q32();
}

/// Convert a tick difference into nanoseconds.
#[inline]
pub fn ticks_to_ns(t: u64) -> u64 {
    ((t as u128 * ns_per_tick_q32() as u128) >> 32).min(u64::MAX as u128) as u64
}

/// Convert a tick difference into microseconds.
#[inline]
pub fn ticks_to_us(t: u64) -> u64 {
    ticks_to_ns(t) / 1000
}

/// Sets a thread-local flag while alive and restores its previous value
/// when dropped (nesting-safe): the guards of keyspace::access::NoTouch and
/// keyspace::expire::Loading.
pub struct ScopedFlag {
    flag: &'static std::thread::LocalKey<Cell<bool>>,
    before: bool,
}

impl ScopedFlag {
    pub fn set(flag: &'static std::thread::LocalKey<Cell<bool>>) -> ScopedFlag {
        let before = flag.with(|f| f.replace(true));
        ScopedFlag { flag, before }
    }
}

impl Drop for ScopedFlag {
    fn drop(&mut self) {
        let before = self.before;
        self.flag.with(|f| f.set(before));
    }
}
