//! MEMORY USAGE STATS DOCTOR PURGE HELP.
//!
//! `used_memory` itself is exact (the counting allocator, src/alloc.rs), but
//! the share of one key cannot be read off an allocator, so MEMORY USAGE
//! estimates it the way Redis does: the bytes of the key and entry, plus the
//! value's payload, where for collections the first `SAMPLES` elements
//! (default 5, 0 = all) are measured and the average is scaled to the length.

use super::args::{int, is};
use super::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::types::{Str, Value};

pub const COMMANDS: &[Command] = &[Command::container("memory", MEMORY).doc(
    "4.0.0",
    "Depends on subcommand.",
    "A container for memory diagnostics commands.",
    "",
)];

const MEMORY: &[Command] = &[
    Command::new("memory|doctor", 2, doctor).doc(
        "4.0.0",
        "O(1)",
        "Outputs a memory problems report.",
        "",
    ),
    Command::new("memory|help", 2, help)
        .flags(LOADING | STALE)
        .doc(
            "4.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
    Command::new("memory|malloc-stats", 2, malloc_stats).doc(
        "4.0.0",
        "Depends on how much memory is allocated, could be slow",
        "Returns the allocator statistics.",
        "",
    ),
    Command::new("memory|purge", 2, purge).doc(
        "4.0.0",
        "Depends on how much memory is allocated, could be slow",
        "Asks the allocator to release memory.",
        "",
    ),
    Command::new("memory|stats", 2, stats).doc(
        "4.0.0",
        "O(1)",
        "Returns details about memory usage.",
        "",
    ),
    Command::new("memory|usage", -3, usage)
        .flags(READONLY)
        .keys(2, 2, 1)
        .doc(
            "4.0.0",
            "O(N) where N is the number of samples.",
            "Estimates the memory usage of a key.",
            "key [SAMPLES count]",
        ),
];

/// Bytes the keyspace spends per key besides key and value: the entry
/// (value enum, expiry, access bits) and the dense map's index slot.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<crate::keyspace::Entry>() + 16;
/// Per-element bookkeeping of the large encodings (boxes, hash slots, tree
/// links); the compact encodings spend a few bytes.
const BIG_ELEMENT: usize = 48;
const SMALL_ELEMENT: usize = 4;

/// Average element cost of the first `samples` elements, scaled to `len`.
fn scaled(len: usize, samples: usize, sizes: impl Iterator<Item = usize>) -> usize {
    let (mut n, mut sum) = (0usize, 0usize);
    for s in sizes.take(samples) {
        n += 1;
        sum += s;
    }
    if n == 0 {
        0
    } else {
        (sum as f64 / n as f64 * len as f64) as usize
    }
}

/// Estimated heap bytes of a value, sampling `samples` elements (0: all).
pub fn value_size(v: &Value, samples: usize) -> usize {
    let samples = if samples == 0 { usize::MAX } else { samples };
    let per = |enc: &str| {
        if matches!(enc, "listpack" | "intset" | "quicklist") {
            SMALL_ELEMENT
        } else {
            BIG_ELEMENT
        }
    };
    match v {
        Value::Str(Str::Int(_)) => 0,
        Value::Str(Str::Bytes(b) | Str::Raw(b)) => b.capacity(),
        Value::List(l) => {
            let extra = per(l.encoding());
            std::mem::size_of_val(&**l)
                + scaled(l.len(), samples, l.iter().map(|e| e.len() + extra))
        }
        Value::Hash(h) => {
            let extra = per(h.encoding());
            scaled(
                h.len(),
                samples,
                h.iter().map(|(f, v)| f.len() + v.len() + extra),
            )
        }
        Value::Set(s) => {
            let extra = per(s.encoding());
            let sizes = s.iter().map(|m| m.with_bytes(|b| b.len()) + extra);
            std::mem::size_of_val(&**s) + scaled(s.len(), samples, sizes)
        }
        Value::ZSet(z) => {
            let extra = per(z.encoding()) + 8;
            let n = z.len();
            let sizes = (0..n).map(|r| z.get(r).0.len() + extra);
            std::mem::size_of_val(&**z) + scaled(n, samples, sizes)
        }
        Value::Stream(s) => std::mem::size_of_val(&**s) + s.heap_bytes(),
    }
}

fn usage(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut samples = 5usize;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "samples") && i + 1 < args.len() {
            let n = int(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = n as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = &args[2];
    let (db, now) = (ctx.db(), ctx.now);
    let size = {
        let mut shard = ctx.server.keyspace.lock(key);
        // Reclaims (and logs) an expired key first.
        shard.exists(db, key, now);
        shard
            .db(db)
            .get_mut(key, now)
            .map(|e| key.len() + ENTRY_OVERHEAD + value_size(&e.value, samples))
    };
    match size {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let used = crate::alloc::used_memory() as u64;
    let peak = crate::alloc::sample_peak() as u64;
    let startup = crate::alloc::startup() as u64;
    let rss = crate::alloc::rss() as u64;
    let mut keys = 0u64;
    let ndbs = ctx.server.keyspace.ndbs();
    for db in 0..ndbs {
        keys += ctx.server.keyspace.db_counts(db).0 as u64;
    }
    let dataset = used.saturating_sub(startup);
    let ints: [(&str, u64); 6] = [
        ("peak.allocated", peak),
        ("total.allocated", used),
        ("startup.allocated", startup),
        ("clients.normal", 0),
        ("keys.count", keys),
        ("keys.bytes-per-key", dataset.checked_div(keys).unwrap_or(0)),
    ];
    ctx.out.map(ints.len() + 4);
    for (k, v) in ints {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v as i64);
    }
    ctx.out.bulk(b"dataset.bytes");
    ctx.out.int(dataset as i64);
    ctx.out.bulk(b"dataset.percentage");
    ctx.out.double(if used > startup {
        dataset as f64 * 100.0 / (used - startup) as f64
    } else {
        0.0
    });
    ctx.out.bulk(b"peak.percentage");
    ctx.out.double(if peak > 0 {
        used as f64 * 100.0 / peak as f64
    } else {
        0.0
    });
    ctx.out.bulk(b"fragmentation");
    ctx.out.double(if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    });
    Ok(())
}

fn doctor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let used = crate::alloc::used_memory() as u64;
    let rss = crate::alloc::rss() as u64;
    let max = ctx.server.config.maxmemory();
    let mut text = String::from("Ember memory report (allocator: mimalloc, counted).\n");
    if used < 5 << 20 {
        text.push_str(
            "The instance is empty or uses very little memory (under 5 MB): nothing to diagnose.\n",
        );
    } else {
        let frag = rss as f64 / used as f64;
        if frag > 1.4 {
            text.push_str(&format!(
                " * High fragmentation: RSS is {frag:.2} times used memory. MEMORY PURGE may return some to the OS.\n"
            ));
        }
        if max > 0 && used > max {
            text.push_str(&format!(
                " * Used memory ({used}) is above maxmemory ({max}); policy {}.\n",
                ctx.server.config.policy().name()
            ));
        }
        if text.lines().count() == 1 {
            text.push_str("No memory issues detected (fragmentation and maxmemory look fine).\n");
        }
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn malloc_stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let text = format!(
        "mimalloc (counted): allocated {} bytes, rss {} bytes\n",
        crate::alloc::used_memory(),
        crate::alloc::rss()
    );
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn purge(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    // mimalloc returns freed pages to the OS on its own schedule; nothing to
    // force here.
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
