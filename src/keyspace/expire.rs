//! Active expiry: reclaim keys whose TTL passed even if nobody touches them.
//!
//! Modelled on Redis's `activeExpireCycle`: for each shard and database with
//! keys that have a TTL, sample [`KEYS_PER_LOOP`] random such keys and delete
//! the expired ones; repeat while more than [`ACCEPTABLE_STALE_PERCENT`] of a
//! sample was expired (the table is probably full of dead keys), stopping when
//! the cycle's time budget is spent. The next cycle resumes at the shard where
//! this one stopped. A shard lock is held for at most [`LOOPS_PER_LOCK`]
//! samples at a time, so clients wait microseconds, not the whole cycle.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Keyspace, NSHARDS};
use crate::util::now_ms;

/// Keys sampled per loop (Redis: ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
pub const KEYS_PER_LOOP: usize = 20;
/// Keep looping on a table while more than this share of a sample was stale.
pub const ACCEPTABLE_STALE_PERCENT: usize = 10;
/// Sample loops per lock acquisition.
pub const LOOPS_PER_LOCK: usize = 16;

thread_local! {
    /// Set while this thread replays a file (the AOF): see [`Loading`].
    static LOADING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, nothing expires on this thread, as nothing expires while
/// Redis loads: lookups treat keys past their TTL as live, and a TTL given
/// already past is kept rather than deleting the key. Replaying an AOF thus
/// rebuilds what its commands built when they ran (an APPEND to a key whose
/// TTL has since passed extends it, and does not make a new key without a
/// TTL); what is expired goes once the load is done.
pub struct Loading {
    _flag: crate::util::ScopedFlag,
}

impl Loading {
    pub fn begin() -> Loading {
        Loading {
            _flag: crate::util::ScopedFlag::set(&LOADING),
        }
    }
}

/// Whether a [`Loading`] guard is alive on this thread.
#[inline]
pub fn loading() -> bool {
    LOADING.with(|l| l.get())
}

/// Whether the absolute expiry time `at` (Unix ms, not NO_EXPIRE) is
/// already past at `now`, so that a command setting it deletes the key
/// instead: never while loading (Redis's `checkAlreadyExpired`).
#[inline]
pub fn already_past(at: u64, now: u64) -> bool {
    at <= now && !loading()
}

/// Where the next cycle starts (shard index).
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// INFO stats of the active cycle: microseconds spent, cycles that ran out
/// of time, and Redis's running estimate of the stale share (f64 bits).
static CYCLE_US: AtomicU64 = AtomicU64::new(0);
static CAP_REACHED: AtomicU64 = AtomicU64::new(0);
static STALE_PERC: AtomicU64 = AtomicU64::new(0);

/// `expired_stale_perc`, `expired_time_cap_reached_count` and
/// `expire_cycle_cpu_milliseconds`.
pub fn stats() -> (f64, u64, u64) {
    (
        f64::from_bits(STALE_PERC.load(Ordering::Relaxed)),
        CAP_REACHED.load(Ordering::Relaxed),
        CYCLE_US.load(Ordering::Relaxed) / 1000,
    )
}

/// CONFIG RESETSTAT.
pub fn reset_stats() {
    CYCLE_US.store(0, Ordering::Relaxed);
    CAP_REACHED.store(0, Ordering::Relaxed);
    STALE_PERC.store(0, Ordering::Relaxed);
}

/// Account one cycle as Redis's activeExpireCycle does: the stale share of
/// its samples folds into the running estimate with weight 0.05.
fn record_cycle(started: Instant, sampled: usize, expired: usize, capped: bool) {
    CYCLE_US.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    if capped {
        CAP_REACHED.fetch_add(1, Ordering::Relaxed);
    }
    let current = if sampled > 0 {
        expired as f64 / sampled as f64
    } else {
        0.0
    };
    let old = f64::from_bits(STALE_PERC.load(Ordering::Relaxed));
    STALE_PERC.store((current * 0.05 + old * 0.95).to_bits(), Ordering::Relaxed);
}

/// Run one active expiry cycle with the given time budget; returns how many
/// keys it deleted.
pub fn active_expire_cycle(ks: &Keyspace, budget: Duration) -> usize {
    if !ks.active_expire.load(Ordering::Relaxed) || ks.held(crate::util::now_ms()) {
        return 0;
    }
    let start = Instant::now();
    let first = NEXT_SHARD.load(Ordering::Relaxed) % NSHARDS;
    let (mut deleted, mut sampled) = (0, 0);
    // Visit shards round-robin; keep going around while some shard still
    // looked stale and the budget allows.
    let mut pass_stale = true;
    while pass_stale {
        pass_stale = false;
        for n in 0..NSHARDS {
            let i = (first + n) % NSHARDS;
            if start.elapsed() >= budget {
                NEXT_SHARD.store(i, Ordering::Relaxed);
                record_cycle(start, sampled, deleted, true);
                return deleted;
            }
            let (d, s, stale) = expire_shard(ks, i);
            deleted += d;
            sampled += s;
            pass_stale |= stale;
        }
    }
    NEXT_SHARD.store(first.wrapping_add(1), Ordering::Relaxed);
    record_cycle(start, sampled, deleted, false);
    deleted
}

/// Sample one shard; returns (deleted, sampled, still looks stale).
fn expire_shard(ks: &Keyspace, i: usize) -> (usize, usize, bool) {
    let mut shard = ks.lock_shard(i);
    let now = now_ms();
    let (mut deleted, mut sampled) = (0, 0);
    let mut stale = false;
    let ndbs = ks.ndbs();
    let log = shard.log.clone();
    for db in 0..ndbs {
        if shard.db_ref(db).volatile_len() == 0 {
            continue;
        }
        for _ in 0..LOOPS_PER_LOCK {
            let table = shard.db(db);
            let sample = KEYS_PER_LOOP.min(table.volatile_len());
            if sample == 0 {
                break;
            }
            let mut expired = 0;
            for _ in 0..sample {
                let table = shard.db(db);
                let Some(pos) = table.random_volatile_position() else {
                    break;
                };
                let is_expired = table.at(pos).is_some_and(|(_, e)| e.is_expired(now));
                if is_expired {
                    let (key, gone) = table.remove_at(pos);
                    crate::persist::aof::log::deleted(
                        &log,
                        db,
                        &key,
                        crate::persist::aof::log::Deletion::Expired,
                    );
                    super::free_deleted(&log, crate::persist::aof::log::Deletion::Expired, gone);
                    // Counts it in expired_keys and raises `expired`.
                    shard.expired(db, &key);
                    expired += 1;
                }
            }
            deleted += expired;
            sampled += sample;
            if expired * 100 <= sample * ACCEPTABLE_STALE_PERCENT {
                break;
            }
            stale = true;
        }
        shard.db(db).maybe_shrink();
    }
    (deleted, sampled, stale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Str, Value};

    #[test]
    fn cycle_reclaims_expired_keys_only() {
        let ks = Keyspace::new(2);
        let now = now_ms();
        for i in 0..5000 {
            let key = format!("dead{i}");
            let mut s = ks.lock(key.as_bytes());
            s.db(1)
                .insert(key.as_bytes(), Value::Str(Str::Int(1)), now - 1, now);
        }
        for i in 0..100 {
            let key = format!("live{i}");
            let mut s = ks.lock(key.as_bytes());
            s.db(1)
                .insert(key.as_bytes(), Value::Str(Str::Int(1)), now + 60_000, now);
        }
        let mut total = 0;
        for _ in 0..100 {
            total += active_expire_cycle(&ks, Duration::from_millis(50));
            if ks.dbsize(1) == 100 {
                break;
            }
        }
        assert_eq!(total, 5000);
        assert_eq!(ks.dbsize(1), 100);
        assert_eq!(ks.stats().expired_keys, 5000);
    }
}
