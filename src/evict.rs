//! maxmemory eviction: the eight policies of Redis over sampled candidates.
//!
//! [`perform`] runs before every command while `maxmemory` is set and
//! `used_memory` (the counting allocator, src/alloc.rs) is above it, and
//! from the cron thread (so lowering `maxmemory` with CONFIG SET frees memory
//! without traffic). It deletes keys until usage is under the limit or the
//! time budget of one call (`maxmemory-eviction-tenacity`) is spent; in the
//! latter case the command still runs and the cron carries on, as Redis's
//! eviction time proc does. Only when nothing at all can be evicted
//! (`noeviction`, or a volatile-* policy without keys that have a TTL) does
//! it report out-of-memory, and then the dispatcher refuses commands flagged
//! DENYOOM.
//!
//! Candidate choice, as Redis's evict.c:
//! * `*-random`: a uniformly random key (with a TTL for volatile-random) of
//!   the next shard, round-robin over shards.
//! * `*-lru`, `*-lfu`, `volatile-ttl`: each step samples `maxmemory-samples`
//!   keys of each database of the next shard and merges them into a shared
//!   pool of the [`POOL_SIZE`] best candidates seen so far (largest idle
//!   time; lowest decayed LFU counter; nearest expiry). The best is evicted.
//!   The pool persists across calls, so its quality accumulates like Redis's.
//!   A candidate is remembered by its position (shard, database, slot of the
//!   dense table), not by a copy of its key, and before eviction the entry
//!   at that position must still carry the sampled access bits and expiry.
//!   If it does, it scores exactly what was sampled — the same key, or one
//!   that moved into the slot and is just as good a victim — and it is
//!   evicted; otherwise (deleted, accessed since sampling, TTL changed) it
//!   is dropped. So sampling allocates nothing, and unlike Redis a key read
//!   after it was sampled is not evicted on the stale score.
//!
//! Locking: the pool has its own mutex, never held together with a shard
//! lock. A shard lock is held for one sample or one deletion.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::ConfigStore;
use crate::keyspace::{access, Keyspace, NSHARDS};

/// Candidates kept between samples (Redis's EVPOOL_SIZE).
pub const POOL_SIZE: usize = 16;

/// `maxmemory-policy`, in the order of `POLICY_NAMES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Policy {
    NoEviction = 0,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

const POLICY_NAMES: [&str; 8] = [
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
];

const ALL: [Policy; 8] = [
    Policy::NoEviction,
    Policy::AllKeysLru,
    Policy::VolatileLru,
    Policy::AllKeysLfu,
    Policy::VolatileLfu,
    Policy::AllKeysRandom,
    Policy::VolatileRandom,
    Policy::VolatileTtl,
];

impl Policy {
    /// The policy named `name` (validated by the config layer; anything
    /// else is noeviction).
    pub fn from_name(name: &str) -> Policy {
        POLICY_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map_or(Policy::NoEviction, |i| ALL[i])
    }

    pub fn from_index(i: u32) -> Policy {
        ALL.get(i as usize).copied().unwrap_or(Policy::NoEviction)
    }

    pub fn name(self) -> &'static str {
        POLICY_NAMES[self as usize]
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// Whether keys carry their own access data (an LRU or LFU policy), so
    /// values cannot be shared between keys.
    pub fn tracks_access(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLru | Policy::VolatileLru | Policy::AllKeysLfu | Policy::VolatileLfu
        )
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }
}

/// A sampled key waiting in the pool.
#[derive(Clone, Copy)]
struct Candidate {
    /// Higher is a better victim.
    score: u64,
    shard: u32,
    db: u32,
    /// Position in the table when sampled.
    pos: u32,
    /// The entry's access bits and expiry when sampled (staleness check).
    lru: u32,
    expire: u64,
}

/// The shared candidate pool, sorted by ascending score (best last).
static POOL: Mutex<Vec<Candidate>> = Mutex::new(Vec::new());
/// Next shard to sample.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// Time one call may spend evicting, from `maxmemory-eviction-tenacity`:
/// Redis's curve (500 µs at the default 10, growing 15% a step, unlimited at
/// 100).
pub fn time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        100.. => None,
        0..=10 => Some(Duration::from_micros(50 * tenacity as u64)),
        t => Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(t as i32 - 10)) as u64,
        )),
    }
}

/// Whether usage is above a non-zero `maxmemory` (cheap: 64 relaxed loads).
#[inline]
pub fn over_limit(config: &ConfigStore) -> bool {
    let max = config.maxmemory();
    max > 0 && counted(crate::alloc::used_memory()) > max
}

/// Used memory as eviction counts it: without snapshot copy-on-write buffers.
#[inline]
fn counted(used: usize) -> u64 {
    (used as u64).saturating_sub(
        crate::persist::snapshot::COW_BYTES.load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// As [`over_limit`], with the per-thread cached sum (dispatch, per
/// command; [`perform`] then decides on the exact sum).
#[inline]
pub fn over_limit_fast(config: &ConfigStore) -> bool {
    let max = config.maxmemory();
    max > 0 && counted(crate::alloc::used_memory_fast()) > max
}

/// Evict until under `maxmemory` or out of time. Returns true when memory
/// is over the limit and nothing could be evicted: the caller refuses
/// DENYOOM commands.
pub fn perform(ks: &Keyspace, config: &ConfigStore) -> bool {
    perform_within(ks, config, time_limit(config.eviction_tenacity()))
}

/// As [`perform`] with an explicit time budget (None: until done). The cron
/// thread uses a quarter of its tick, like active expiry, so lowering
/// `maxmemory` by gigabytes converges in seconds without traffic.
pub fn perform_within(ks: &Keyspace, config: &ConfigStore, limit: Option<Duration>) -> bool {
    // Nothing is evicted (and nothing refused for it) while CLIENT PAUSE
    // holds, as in Redis.
    if !over_limit(config) || ks.held(crate::util::now_ms()) {
        return false;
    }
    let policy = config.policy();
    if policy == Policy::NoEviction {
        return true;
    }
    let samples = config.maxmemory_samples();
    let start = Instant::now();
    let mut freed = 0u32;
    loop {
        if !evict_one(ks, policy, samples) {
            // Nothing (more) evictable: out of memory if still over (as
            // Redis, even when this call evicted some keys first).
            return over_limit(config);
        }
        if !over_limit(config) {
            return false;
        }
        freed += 1;
        // The clock is read every 16 evictions, as Redis does.
        if freed.is_multiple_of(16) && limit.is_some_and(|l| start.elapsed() >= l) {
            // Still over, but making progress: let the command run; the
            // cron thread continues.
            return false;
        }
    }
}

/// Delete one key chosen by `policy`; false if no key qualifies.
fn evict_one(ks: &Keyspace, policy: Policy, samples: usize) -> bool {
    match policy {
        Policy::NoEviction => false,
        Policy::AllKeysRandom | Policy::VolatileRandom => evict_random(ks, policy.volatile_only()),
        _ => evict_from_pool(ks, policy, samples),
    }
}

fn next_shard() -> usize {
    NEXT_SHARD.fetch_add(1, Relaxed) % NSHARDS
}

/// Delete the key at `pos` of `db` in `shard` as an eviction.
fn evict_at(shard: &mut crate::keyspace::Shard, db: usize, pos: usize) {
    let (key, entry) = shard.db(db).remove_at(pos);
    crate::persist::aof::log::deleted(
        &shard.log,
        db,
        &key,
        crate::persist::aof::log::Deletion::Evicted,
    );
    shard.modified(db, &key);
    shard.stats.evicted_keys += 1;
    crate::notify::notify(&shard.pubsub, crate::notify::EVICTED, "evicted", db, &key);
    // In the background with lazyfree-lazy-eviction (a big value): memory
    // then comes back a little later, and eviction may take a few more
    // keys meanwhile, as in Redis.
    crate::keyspace::free_deleted(
        &shard.log,
        crate::persist::aof::log::Deletion::Evicted,
        entry,
    );
}

fn evict_random(ks: &Keyspace, volatile: bool) -> bool {
    for _ in 0..NSHARDS {
        let mut shard = ks.lock_shard(next_shard());
        for db in 0..ks.ndbs() {
            let t = shard.db_ref(db);
            let pos = if volatile {
                t.random_volatile_position()
            } else {
                t.random_position()
            };
            if let Some(pos) = pos {
                evict_at(&mut shard, db, pos);
                return true;
            }
        }
    }
    false
}

/// How good a victim an entry is under `policy` (higher: evict sooner).
fn score(policy: Policy, e: &crate::keyspace::Entry, now: u64) -> u64 {
    match policy {
        Policy::AllKeysLfu | Policy::VolatileLfu => 255 - access::lfu_decayed(e.lru, now) as u64,
        Policy::VolatileTtl => u64::MAX - e.expire(),
        _ => access::lru_idle_ms(e.lru, now),
    }
}

/// Sample `samples` keys of each database of shard `i` into the pool;
/// returns how many keys it looked at.
fn sample_shard(ks: &Keyspace, i: usize, policy: Policy, samples: usize) -> usize {
    let volatile = policy.volatile_only();
    // Skip cloning keys that could not enter a full pool.
    let threshold = {
        let pool = POOL.lock();
        if pool.len() >= POOL_SIZE {
            pool.first().map_or(0, |c| c.score)
        } else {
            0
        }
    };
    let mut found = 0;
    let mut picked: Vec<Candidate> = Vec::with_capacity(samples);
    {
        let shard = ks.lock_shard(i);
        let now = crate::util::now_ms();
        for db in 0..ks.ndbs() {
            let t = shard.db_ref(db);
            let n = if volatile { t.volatile_len() } else { t.len() };
            if n == 0 {
                continue;
            }
            found += samples.min(n);
            for _ in 0..samples.min(n) {
                let pos = if volatile {
                    t.random_volatile_position()
                } else {
                    t.random_position()
                };
                let Some((p, (_, e))) = pos.and_then(|p| Some((p, t.at(p)?))) else {
                    continue;
                };
                let s = score(policy, e, now);
                if s >= threshold {
                    picked.push(Candidate {
                        score: s,
                        shard: i as u32,
                        db: db as u32,
                        pos: p as u32,
                        lru: e.lru,
                        expire: e.expire(),
                    });
                }
            }
        }
    }
    if !picked.is_empty() {
        let mut pool = POOL.lock();
        for c in picked {
            if pool
                .iter()
                .any(|p| p.shard == c.shard && p.db == c.db && p.pos == c.pos)
            {
                continue;
            }
            let at = pool.partition_point(|p| p.score <= c.score);
            pool.insert(at, c);
            if pool.len() > POOL_SIZE {
                pool.remove(0);
            }
        }
    }
    found
}

fn evict_from_pool(ks: &Keyspace, policy: Policy, samples: usize) -> bool {
    let volatile = policy.volatile_only();
    // Sample shards until `samples` keys were seen (one shard when the
    // keyspace is large, as many as needed when it is small), then evict the
    // best pooled candidate. Two laps over every shard without an eviction
    // mean nothing qualifies.
    let mut visited = 0;
    while visited < 2 * NSHARDS {
        let mut seen = 0;
        while seen < samples && visited < 2 * NSHARDS {
            seen += sample_shard(ks, next_shard(), policy, samples);
            visited += 1;
        }
        loop {
            let Some(c) = POOL.lock().pop() else {
                break;
            };
            let mut shard = ks.lock_shard(c.shard as usize);
            let (db, pos) = (c.db as usize, c.pos as usize);
            let still = shard.db_ref(db).at(pos).is_some_and(|(_, e)| {
                e.lru == c.lru && e.expire() == c.expire && (!volatile || e.has_ttl())
            });
            if still {
                evict_at(&mut shard, db, pos);
                return true;
            }
        }
        if seen == 0 && visited >= NSHARDS {
            return false;
        }
    }
    false
}

/// Forget pooled candidates (FLUSHALL, tests).
pub fn clear_pool() {
    POOL.lock().clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ALL {
            assert_eq!(Policy::from_name(p.name()), p);
            assert_eq!(Policy::from_index(p as u32), p);
        }
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(100), None);
        assert!(time_limit(20).is_some_and(|d| d > Duration::from_millis(1)));
    }
}
