//! `maxmemory-clients`: client eviction, as in Redis 7. When the memory of
//! all clients together reaches the limit, the largest clients are closed
//! until it is below again; `CLIENT NO-EVICT on` exempts a client.
//!
//! A client's memory is what CLIENT LIST reports as `tot-mem`
//! ([`ClientInfo::memory`]): its query buffer's allocation, its reply
//! buffer, what waits in its Pub/Sub outbox and the commands it queued in
//! MULTI. The check runs after each read that grew a query buffer, after a
//! command is queued, and at every cron tick (a lowered limit, outboxes
//! filled by publishers); one relaxed load while the limit is off. It sums
//! the registry (Redis keeps clients in memory-size buckets instead; Ember
//! walks them only while the feature is on).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::client::ClientInfo;
use super::Server;

/// Redis's floor, so that a tiny setting cannot lock every client out.
const MIN_LIMIT: u64 = 128 * 1024;

/// The limit in bytes for `maxmemory-clients` (negative: a percentage of
/// maxmemory) and `maxmemory`; 0: off (also a percentage of no maxmemory).
pub fn limit(maxmemory_clients: i64, maxmemory: u64) -> u64 {
    let v = if maxmemory_clients < 0 {
        if maxmemory == 0 {
            return 0;
        }
        (maxmemory as f64 * maxmemory_clients.unsigned_abs() as f64 / 100.0) as u64
    } else if maxmemory_clients > 0 {
        maxmemory_clients as u64
    } else {
        return 0;
    };
    v.max(MIN_LIMIT)
}

/// A client's memory may grow this much before its own commands check.
const GROWTH: usize = 16 * 1024;

/// Before each command, as Redis runs its client eviction before each one:
/// whether to check the clients now. So while the limit is on: when some
/// outbox grew by another 16 KB (a publisher, tracking pushes), or this
/// client's own memory grew by 16 KB since its last check (`checked_at`:
/// WATCH, SUBSCRIBE, tracking prefixes). One relaxed load while it is off.
#[inline]
pub fn due(server: &Server, info: &ClientInfo, checked_at: &mut usize) -> bool {
    if server.pubsub.shared.client_mem_limit.load(Relaxed) == 0 {
        return false;
    }
    let grew = &server.pubsub.shared.clients_grew;
    let mem = info.memory();
    let own = mem >= *checked_at + GROWTH;
    if own || mem < *checked_at {
        *checked_at = mem;
    }
    (grew.load(Relaxed) && grew.swap(false, Relaxed)) || own
}

/// Evict clients while all clients together use the limit or more.
/// Returns whether any was evicted.
pub fn check(server: &Server) -> bool {
    let limit = server.pubsub.shared.client_mem_limit.load(Relaxed);
    if limit == 0 {
        return false;
    }
    // One check at a time (connections and the cron may all ask): another
    // one running now sees the same clients and evicts what is needed.
    static RUNNING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let Some(_one) = RUNNING.try_lock() else {
        return false;
    };
    let mut total = 0u64;
    let mut candidates: Vec<(usize, Arc<ClientInfo>)> = Vec::new();
    server.clients.for_each(|c| {
        if c.killed.load(Relaxed) {
            return;
        }
        let mem = c.memory();
        total += mem as u64;
        if !c.no_evict.load(Relaxed) {
            candidates.push((mem, c.clone()));
        }
    });
    if total < limit {
        return false;
    }
    // Largest first, as Redis's buckets order them.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut evicted = false;
    for (mem, c) in candidates {
        if total < limit {
            break;
        }
        let mut line = String::new();
        crate::commands::client::client_line(server, &c, &mut line);
        if line.is_empty() {
            continue; // closed meanwhile
        }
        tracing::info!("Evicting client: {}", line.trim_end());
        c.request_kill();
        server.stats.evicted_clients.fetch_add(1, Relaxed);
        total -= mem as u64;
        evicted = true;
    }
    if total >= limit {
        tracing::warn!("Over client maxmemory after evicting all evictable clients");
    }
    evicted
}

/// The memory of normal and Pub/Sub clients together (INFO
/// `mem_clients_normal`).
pub fn total(server: &Server) -> u64 {
    let mut total = 0u64;
    server.clients.for_each(|c| total += c.memory() as u64);
    total
}

#[cfg(test)]
mod tests {
    use super::limit;

    #[test]
    fn limit_is_bytes_or_a_share_of_maxmemory_with_a_floor() {
        assert_eq!(limit(0, 1 << 30), 0);
        assert_eq!(limit(3_000_000, 0), 3_000_000);
        assert_eq!(limit(1000, 0), 128 * 1024);
        assert_eq!(limit(-7, 6 << 20), (6 << 20) * 7 / 100);
        assert_eq!(limit(-7, 0), 0);
    }
}
