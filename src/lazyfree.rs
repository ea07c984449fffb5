//! Freeing big values off the request path (UNLINK, DEL under
//! `lazyfree-lazy-user-del`, FLUSHALL/FLUSHDB ASYNC), as Redis's lazyfree
//! does: a value whose freeing costs more than [`THRESHOLD`] allocations
//! goes to one background thread; smaller ones are freed at once, where
//! handing them over would cost more than freeing them.

use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use crate::types::{Hash, Set, Value, ZSet};

/// Redis's `LAZYFREE_THRESHOLD`.
pub const THRESHOLD: usize = 64;

/// Objects handed over and not yet freed; objects freed in the background
/// (INFO `lazyfree_pending_objects`, `lazyfreed_objects`).
static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

type Job = (Box<dyn Send>, u64);

fn worker() -> Option<Sender<Job>> {
    static TX: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    let tx = TX.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for (garbage, objects) in rx {
                    drop(garbage);
                    // Counted as freed before it stops being pending: a
                    // reader that sees nothing pending sees it freed.
                    FREED.fetch_add(objects, Relaxed);
                    PENDING.fetch_sub(objects, Release);
                }
            });
        if spawned.is_err() {
            tracing::warn!("lazyfree: no background thread; freeing inline");
        }
        Mutex::new(tx)
    });
    tx.lock().ok().map(|t| t.clone())
}

/// Free `garbage` (counted as `objects` freed objects) in the background;
/// inline if the thread is gone.
pub fn free_later<T: Send + 'static>(garbage: T, objects: u64) {
    PENDING.fetch_add(objects, Relaxed);
    let job: Job = (Box::new(garbage), objects);
    if let Some(tx) = worker() {
        if let Err(back) = tx.send(job) {
            drop(back);
            PENDING.fetch_sub(objects, Relaxed);
        }
    } else {
        drop(job);
        PENDING.fetch_sub(objects, Relaxed);
    }
}

/// Roughly how many allocations freeing `v` takes (Redis's
/// `lazyfreeGetFreeEffort`: nodes of a list, entries of a hash table or
/// skiplist, stream nodes plus groups times the first group's PEL; 1 for
/// a compact encoding).
pub fn effort(v: &Value) -> usize {
    match v {
        Value::Str(_) => 1,
        Value::List(l) => l.nodes().count(),
        Value::Hash(h @ Hash::Table(_)) => h.len(),
        Value::Hash(_) => 1,
        Value::Set(s) => match **s {
            Set::Ints(_) => 1,
            _ if s.encoding() == "listpack" => 1,
            _ => s.len(),
        },
        Value::ZSet(z) => match **z {
            ZSet::Packed(_) => 1,
            ZSet::Big(_) => z.len(),
        },
        // A radix tree has more nodes than keys: this many keys is enough.
        Value::Stream(s) if s.node_count() > THRESHOLD => s.node_count(),
        Value::Stream(s) => {
            let groups = s.groups.len();
            let first_pel = s.groups.values().next().map_or(0, |g| g.pel.len());
            s.radix_nodes() + groups * (1 + first_pel)
        }
    }
}

/// Drop a value just removed from the keyspace: in the background when it
/// is big, else now.
pub fn drop_value(v: Value) {
    if effort(&v) > THRESHOLD {
        free_later(v, 1);
    }
}

/// (`lazyfree_pending_objects`, `lazyfreed_objects`).
pub fn stats() -> (u64, u64) {
    let pending = PENDING.load(Acquire);
    (pending, FREED.load(Relaxed))
}

/// CONFIG RESETSTAT (the pending count is a state, not a statistic).
pub fn reset_stats() {
    FREED.store(0, Relaxed);
}
