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
