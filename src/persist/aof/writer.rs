//! The AOF writer thread: writes submitted records in sequence order, and
//! fsyncs by `appendfsync`.
//!
//! Records wait in the log's reorder buffer until every lower sequence
//! number has arrived; the writer then takes *all* that are ready in one go,
//! writes them with one `write`, and:
//!
//! * `always`: fsyncs, then publishes the highest sequence number written.
//!   A connection ending a batch waits (async) until that number reaches
//!   every number handed out so far, so no reply leaves before the writes
//!   it made or could have read are durable. This is group commit: however
//!   many clients wrote meanwhile, one fsync covers them all.
//! * `everysec`: publishes at once, fsyncs when a second has passed since
//!   the last fsync (also when idle, so the last writes are durable within
//!   about a second). Nobody waits for the fsync; Redis's "postpone the
//!   write while a background fsync runs, up to 2 s" rule is not needed
//!   because here writing and fsyncing never block a client.
//! * `no`: publishes at once, never fsyncs (the kernel flushes).
//!
//! A failed write is retried every second with the same bytes (the file is
//! truncated back to its last good length first); `aof_last_write_status`
//! reads `err` meanwhile, and under `always` nobody is acknowledged.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::log::{encode_timestamp, Log, FSYNC_ALWAYS, FSYNC_EVERYSEC, NO_DB};
use super::Aof;

/// How long records gather before a write under everysec/no, and the
/// amount that is written at once regardless.
const COALESCE: Duration = Duration::from_micros(500);
const COALESCE_BYTES: usize = 64 * 1024;

pub(super) fn run(aof: Arc<Aof>) {
    let log: &Log = &aof.log;
    let mut file: Option<File> = None;
    let mut db = NO_DB;
    let mut buf: Vec<u8> = Vec::new();
    let mut unsynced = false;
    let mut last_fsync = Instant::now();
    // Bytes in `buf` belong to records up to this number.
    let mut upto = 0u64;
    // Records up to this number are fsynced in the AOF.
    let mut fsynced = 0u64;
    let mut retry_at: Option<Instant> = None;
    let mut coalesced = false;
    // The second of the last `#TS:` annotation written (Redis's
    // aof_cur_timestamp: kept across files).
    let mut stamped = 0u64;
    loop {
        let mut q = log.q.lock();
        let mut switch = None;
        let stop;
        loop {
            let limit = q.switch.as_ref().map_or(u64::MAX, |s| s.at);
            while q.next < limit {
                let next = q.next;
                reach_points(&mut q.points, next, log);
                let Some(r) = q.pending.remove(&next) else {
                    break;
                };
                if !r.buf.is_empty() && log.repl_on() {
                    log.backlog.feed(&r);
                }
                // The AOF's part, where the streams differ.
                let a = r.aof.as_deref().unwrap_or(&r);
                if file.is_some() && !a.buf.is_empty() && !r.repl_only {
                    if log.timestamps() {
                        let now = crate::util::now_ms() / 1000;
                        if now > stamped {
                            encode_timestamp(&mut buf, now);
                            stamped = now;
                        }
                    }
                    super::log::append_record(&mut buf, &mut db, a);
                }
                upto = next;
                q.next += 1;
            }
            let next = q.next;
            reach_points(&mut q.points, next, log);
            // Bytes not written yet belong to the old file: switch after.
            if q.switch.is_some() && q.next >= limit && buf.is_empty() {
                switch = q.switch.take();
            }
            let fsync_due = unsynced
                && log.policy() == FSYNC_EVERYSEC
                && last_fsync.elapsed() >= Duration::from_secs(1);
            let retry_due = retry_at.is_some_and(|t| Instant::now() >= t);
            if (upto > log.synced() && retry_at.is_none())
                || retry_due
                || switch.is_some()
                || fsync_due
                || q.stop
            {
                stop = q.stop;
                break;
            }
            log.cv.wait_for(&mut q, Duration::from_millis(250));
        }
        drop(q);
        // Under everysec/no nobody waits for the write: let a moment's
        // records gather (many clients, one write) instead of waking and
        // writing per record, as Redis writes once per event-loop turn.
        if !coalesced
            && !stop
            && switch.is_none()
            && log.policy() != FSYNC_ALWAYS
            && !buf.is_empty()
            && buf.len() < COALESCE_BYTES
        {
            coalesced = true;
            std::thread::sleep(COALESCE);
            continue;
        }
        coalesced = false;

        let can_write = retry_at.is_none_or(|t| Instant::now() >= t);
        if !buf.is_empty() && can_write {
            // DEBUG AOF-FLUSH-SLEEP: a slow disk, for tests.
            let nap = log.flush_sleep_us();
            if nap > 0 && file.is_some() {
                std::thread::sleep(Duration::from_micros(nap));
            }
            if let Some(f) = file.as_mut() {
                let good = aof.stats.incr_size.load(Relaxed);
                match f.write_all(&buf) {
                    Ok(()) => {
                        aof.stats.incr_size.fetch_add(buf.len() as u64, Relaxed);
                        buf.clear();
                        unsynced = true;
                        retry_at = None;
                        if !aof.stats.write_ok.swap(true, Relaxed) {
                            tracing::warn!("AOF write error looks solved, Redis can write again.");
                        }
                    }
                    Err(e) => {
                        if aof.stats.write_ok.swap(false, Relaxed) {
                            tracing::warn!("Error writing to the AOF file: {e}");
                        }
                        // Drop a partial write so the retry does not leave
                        // half a command in the middle of the file.
                        let _ = f.set_len(good);
                        retry_at = Some(Instant::now() + Duration::from_secs(1));
                    }
                }
            } else {
                buf.clear();
            }
        }
        if buf.is_empty() {
            let policy = log.policy();
            let due = policy == FSYNC_ALWAYS
                || (policy == FSYNC_EVERYSEC && last_fsync.elapsed() >= Duration::from_secs(1))
                || switch.is_some()
                || stop;
            if unsynced && due {
                if let Some(f) = file.as_ref() {
                    if let Err(e) = f.sync_data() {
                        tracing::warn!("fsync of the AOF file failed: {e}");
                    }
                }
                unsynced = false;
                last_fsync = Instant::now();
            }
            log.publish(upto);
            // Nothing written is waiting for an fsync: all up to here is
            // on disk (WAITAOF; records without AOF bytes count too).
            if !unsynced && file.is_some() && upto > fsynced {
                fsynced = upto;
                if let Some(server) = aof.server() {
                    server.repl.aof_fsynced(upto);
                }
            }
        }
        if let Some(sw) = switch {
            file = sw.to;
            db = NO_DB;
            aof.stats.incr_size.store(
                file.as_ref()
                    .and_then(|f| f.metadata().ok())
                    .map_or(0, |m| m.len()),
                Relaxed,
            );
            let mut q = log.q.lock();
            q.switched_at = sw.at;
            drop(q);
            log.switched.notify_all();
        }
        if stop {
            return;
        }
        aof.maybe_auto_rewrite();
    }
}

/// Run the sync points whose number the writer reached: every record below
/// `next` is in the replication stream, none from `next` on.
fn reach_points(points: &mut Vec<super::log::SyncPoint>, next: u64, log: &Log) {
    if points.is_empty() {
        return;
    }
    let offset = log.backlog.end();
    let mut i = 0;
    while i < points.len() {
        if points[i].at <= next {
            let p = points.swap_remove(i);
            (p.then)(offset);
        } else {
            i += 1;
        }
    }
}
