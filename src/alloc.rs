//! A counting global allocator: `used_memory` in INFO is the bytes the process
//! really holds through the allocator, not an estimate per key.
//!
//! Every allocation adds its size to a counter, every free subtracts it. To
//! keep this off the contended path on many cores, the counter is striped: a
//! thread adds to one of [`STRIPES`] cache-line-sized slots chosen once per
//! thread, and readers sum the slots. A slot can go negative (memory freed on
//! another thread than it was allocated on); only the sum means anything.
//!
//! The binary installs it with `#[global_allocator]`; a process that does not
//! (the test harness) reports 0 from [`allocated`], and INFO falls back to RSS.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;

/// The allocator underneath the counter. mimalloc rather than the system
/// (glibc) malloc: glibc adds an 8-byte header to every block and rounds
/// small blocks up to 32 bytes, which for a keyspace of millions of small
/// keys and values is a third of the memory; mimalloc's size classes are
/// 8 bytes apart up to 64, with no per-block header (docs/ARCHITECTURE.md).
static INNER: MiMalloc = MiMalloc;

/// The name INFO's `mem_allocator` reports.
pub const ALLOCATOR_NAME: &str = "mimalloc";
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

const STRIPES: usize = 64;

#[repr(align(128))]
struct Slot(AtomicIsize);

static SLOTS: [Slot; STRIPES] = [const { Slot(AtomicIsize::new(0)) }; STRIPES];
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn slot() -> &'static AtomicIsize {
    let i = STRIPE
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_STRIPE.fetch_add(1, Relaxed) % STRIPES;
                s.set(i);
            }
            i
        })
        // During thread teardown the thread-local is gone: use slot 0.
        .unwrap_or(0);
    &SLOTS[i].0
}

/// mimalloc, counted.
pub struct CountingAlloc;

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the underlying allocator.
        let p = unsafe { INNER.alloc(layout) };
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the underlying allocator.
        unsafe { INNER.dealloc(ptr, layout) };
        slot().fetch_sub(layout.size() as isize, Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the underlying allocator.
        let p = unsafe { INNER.alloc_zeroed(layout) };
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the underlying allocator.
        let p = unsafe { INNER.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            slot().fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

/// Record that the binary installed [`CountingAlloc`] (called from main).
pub fn mark_installed() {
    INSTALLED.store(true, Relaxed);
}

/// Bytes currently allocated through [`CountingAlloc`], or None if it is not
/// the process's allocator.
pub fn allocated() -> Option<usize> {
    if !INSTALLED.load(Relaxed) {
        return None;
    }
    let sum: isize = SLOTS.iter().map(|s| s.0.load(Relaxed)).sum();
    Some(sum.max(0) as usize)
}

/// Resident set size of the process in bytes (Linux), or 0.
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The machine's physical memory in bytes (Linux `MemTotal`), or 0.
pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Current used memory: allocator bytes when counted, else RSS.
pub fn used_memory() -> usize {
    allocated().unwrap_or_else(rss)
}

/// Record the current usage in the peak (called by the cron tick and INFO)
/// and return the peak so far.
pub fn sample_peak() -> usize {
    let used = used_memory();
    PEAK.fetch_max(used, Relaxed).max(used)
}

static STARTUP: AtomicUsize = AtomicUsize::new(0);

/// Record usage once the server is up and empty (`used_memory_startup`).
pub fn mark_startup() {
    STARTUP.store(used_memory(), Relaxed);
}

/// Usage recorded by [`mark_startup`].
pub fn startup() -> usize {
    STARTUP.load(Relaxed)
}

/// Approximate bytes held by the dataset: usage above the startup baseline.
/// (Redis subtracts its measured per-client and replication overhead too;
/// Ember does not track those apart, so client buffers count here.)
pub fn dataset() -> usize {
    used_memory().saturating_sub(startup())
}

thread_local! {
    /// (ticks, total, own stripe) of this thread's last full sum.
    static LAST_SUM: Cell<(u64, usize, isize)> = const { Cell::new((0, 0, 0)) };
}

/// Microseconds a thread reuses its last full sum in [`used_memory_fast`].
const FAST_SUM_US: u64 = 50;

/// [`used_memory`] for the per-command maxmemory check. Summing 64 stripes
/// means a cache miss per stripe another core is writing; instead a thread
/// sums at most every [`FAST_SUM_US`] and in between adds its own stripe's
/// change since, so its own writes count at once and only other threads'
/// last few microseconds of allocation can be missed.
pub fn used_memory_fast() -> usize {
    if !INSTALLED.load(Relaxed) {
        return rss();
    }
    let now = crate::util::ticks();
    let mine = slot().load(Relaxed);
    LAST_SUM
        .try_with(|c| {
            let (t, total, was) = c.get();
            if t != 0 && crate::util::ticks_to_us(now.wrapping_sub(t)) < FAST_SUM_US {
                return (total as isize + (mine - was)).max(0) as usize;
            }
            let sum = allocated().unwrap_or(0);
            c.set((now, sum, mine));
            sum
        })
        .unwrap_or_else(|_| used_memory())
}
