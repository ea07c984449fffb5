//! The fuzz corpus as a regression test: every input the fuzzers kept
//! (`fuzz/corpus/<target>/`) and every crash reproducer
//! (`tests/fuzz-regress/<target>/`) goes through the same entry points the
//! fuzz targets call (`ember::fuzzing`), on stable Rust. Each must return
//! without a panic, and without any single allocation over the fuzzers'
//! `-malloc_limit_mb` (256 MB): a bigger one from a small input means a
//! declared length was trusted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, remembering the largest single request.
struct Watch;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
const LIMIT: usize = 256 << 20;

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Relaxed);
        if l.size() > LIMIT {
            // Refused, as the fuzzer's malloc limit would: the caller's
            // allocation error aborts the test with the size in the log.
            return std::ptr::null_mut();
        }
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Relaxed);
        if new > LIMIT {
            return std::ptr::null_mut();
        }
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Watch = Watch;

fn run(target: &str, f: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("fuzz/corpus").join(target),
        root.join("tests/fuzz-regress").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if !p.is_file() || p.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            LARGEST.store(0, Relaxed);
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{target}: {} panicked", p.display());
            let largest = LARGEST.load(Relaxed);
            assert!(
                largest <= LIMIT,
                "{target}: {} allocated {largest} bytes at once",
                p.display()
            );
            n += 1;
        }
    }
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn request_parser_corpus() {
    run("request_parser", ember::fuzzing::request_parser);
}

#[test]
fn config_corpus() {
    run("config", ember::fuzzing::config);
}

#[test]
fn rdb_corpus() {
    run("rdb", ember::fuzzing::rdb);
}

#[test]
fn aof_corpus() {
    run("aof", ember::fuzzing::aof);
}
