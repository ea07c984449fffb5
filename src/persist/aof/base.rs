//! The AOF base file: the whole keyspace (and the FUNCTION libraries) at
//! one instant, as commands that recreate it (`aof-use-rdb-preamble no`
//! style).
//!
//! [`write_base`] is the one place a base is produced, so the snapshot
//! engine can replace it with an RDB preamble (`.base.rdb`) later. Its
//! contract: call `at_cut` exactly once *at the instant the base stands
//! for*, with no command running anywhere (every gate held), so that every
//! write with a sequence number below the log's `next_seq` at that moment is
//! in the base and every later one is not. The caller uses `at_cut` to
//! start the new incremental file at that number.
//!
//! For now the instant is made by holding every gate while the keyspace is
//! *cloned* shard by shard (a memory copy, no formatting); the clone is then
//! written out with the gates released. This costs a second copy of the
//! data and a pause of the copy's duration; the point-in-time snapshot
//! engine (src/persist/snapshot.rs) is meant to remove both.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::log::{encode, encode_select};
use crate::keyspace::NSHARDS;
use crate::server::Server;
use crate::types::Value;

/// What format a base was written in (decides its file name suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseKind {
    /// RESP commands: `.base.aof`.
    Aof,
    /// An RDB file: `.base.rdb`.
    Rdb,
}

impl BaseKind {
    pub fn suffix(self) -> &'static str {
        match self {
            BaseKind::Aof => "aof",
            BaseKind::Rdb => "rdb",
        }
    }
}

/// Items per command in the base, like Redis's AOF_REWRITE_ITEMS_PER_CMD.
const ITEMS_PER_CMD: usize = 64;

/// Write a base of the whole keyspace to `path` (fsynced). See the module
/// comment for `at_cut`.
pub fn write_base(server: &Server, path: &Path, at_cut: &mut dyn FnMut()) -> io::Result<BaseKind> {
    // `rdb-key-save-delay`, per key in both formats (as Redis).
    let delay = server.config.read(|c| c.rdb_key_save_delay);
    crate::persist::save::KEY_DELAY_US.store(delay, std::sync::atomic::Ordering::Relaxed);
    if server.config.read(|c| c.aof_use_rdb_preamble) {
        return write_rdb_base(server, path, at_cut);
    }
    let now = crate::util::now_ms();
    let (functions, snapshot) = {
        let _gates = server.gates.exclusive();
        let started = std::time::Instant::now();
        at_cut();
        let cut = (server.scripts.library_codes(), clone_keyspace(server, now));
        server
            .keyspace
            .note_snapshot(started.elapsed().as_micros() as u64);
        cut
    };
    let cancel = &server.aof.cancel;
    let file = std::fs::File::create(path)?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut buf = Vec::with_capacity(1 << 16);
    if server.config.read(|c| c.aof_timestamp_enabled) {
        // As Redis: an AOF-format base starts with the time of the rewrite.
        super::log::encode_timestamp(&mut buf, now / 1000);
    }
    // The FUNCTION libraries come first, as in Redis's rewrite.
    for code in &functions {
        encode(&mut buf, [&b"FUNCTION"[..], b"LOAD", code]);
    }
    for (db, keys) in snapshot.iter().enumerate() {
        if keys.is_empty() {
            continue;
        }
        encode_select(&mut buf, db as u32);
        for (key, value, expire) in keys {
            // rdb-key-save-delay applies per key here too, as in Redis.
            if delay > 0 {
                crate::persist::save::key_delay(delay, Some(cancel));
            }
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(crate::persist::save::cancelled());
            }
            write_value(&mut buf, key, value);
            if *expire != crate::keyspace::NO_EXPIRE {
                let mut n = itoa::Buffer::new();
                encode(
                    &mut buf,
                    [&b"PEXPIREAT"[..], key, n.format(*expire).as_bytes()],
                );
            }
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    w.write_all(&buf)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(BaseKind::Aof)
}

/// The default base (`aof-use-rdb-preamble yes`): an RDB file of the
/// point-in-time snapshot (src/persist/snapshot.rs), taken at the cut with
/// every gate held for only the instant the snapshot begins; clients keep
/// running while it is written. The caller holds the snapshot turn (one
/// snapshot at a time: a BGSAVE in progress was waited for first).
fn write_rdb_base(server: &Server, path: &Path, at_cut: &mut dyn FnMut()) -> io::Result<BaseKind> {
    let now = crate::util::now_ms();
    let (compress, checksum) = server.config.read(|c| (c.rdbcompression, c.rdbchecksum));
    let snap = {
        let _gates = (!server.gates.owned()).then(|| server.gates.exclusive());
        let mut snap =
            crate::persist::snapshot::Snapshot::begin(&server.keyspace, compress, now, at_cut);
        snap.functions = server.scripts.library_codes();
        server.keyspace.note_snapshot(snap.begin_us);
        snap
    };
    let cancel = Some(&server.aof.cancel);
    crate::persist::save::write_rdb(&server.keyspace, snap, path, checksum, true, cancel)?;
    Ok(BaseKind::Rdb)
}

type Snapshot = Vec<Vec<(Vec<u8>, Value, u64)>>;

/// Copy every live key of every database, one shard lock at a time (the
/// caller holds the gates, so nothing changes in between).
fn clone_keyspace(server: &Server, now: u64) -> Snapshot {
    let ndbs = server.keyspace.ndbs();
    let mut out: Snapshot = (0..ndbs).map(|_| Vec::new()).collect();
    for i in 0..NSHARDS {
        let shard = server.keyspace.lock_shard(i);
        for (db, keys) in out.iter_mut().enumerate() {
            for (k, e) in shard.db_ref(db).iter() {
                if e.is_expired(now) {
                    continue;
                }
                keys.push((k.to_vec(), e.value.clone(), e.expire()));
            }
        }
    }
    out
}

/// Commands that recreate `value` at `key`.
fn write_value(buf: &mut Vec<u8>, key: &[u8], value: &Value) {
    match value {
        Value::Str(s) => s.with_bytes(|b| encode(buf, [&b"SET"[..], key, b])),
        Value::List(l) => {
            let items: Vec<&[u8]> = l.iter().collect();
            for chunk in items.chunks(ITEMS_PER_CMD) {
                encode(
                    buf,
                    [&b"RPUSH"[..], key]
                        .into_iter()
                        .chain(chunk.iter().copied()),
                );
            }
        }
        Value::Hash(h) => {
            let pairs: Vec<(&[u8], &[u8])> = h.iter().collect();
            for chunk in pairs.chunks(ITEMS_PER_CMD) {
                encode(
                    buf,
                    [&b"HSET"[..], key]
                        .into_iter()
                        .chain(chunk.iter().flat_map(|(f, v)| [*f, *v])),
                );
            }
        }
        Value::Set(s) => {
            let members: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            for chunk in members.chunks(ITEMS_PER_CMD) {
                encode(
                    buf,
                    [&b"SADD"[..], key]
                        .into_iter()
                        .chain(chunk.iter().map(|m| m.as_slice())),
                );
            }
        }
        Value::ZSet(z) => {
            let n = z.len();
            let mut start = 0;
            while start < n {
                let end = (start + ITEMS_PER_CMD).min(n);
                let scores: Vec<String> = (start..end).map(|r| score_text(z.get(r).1)).collect();
                let mut args: Vec<&[u8]> = vec![b"ZADD", key];
                for (i, r) in (start..end).enumerate() {
                    args.push(scores[i].as_bytes());
                    args.push(z.get(r).0);
                }
                encode(buf, args);
                start = end;
            }
        }
        Value::Stream(s) => write_stream(buf, key, s),
    }
}

/// A stream as Redis rewrites one: its entries as XADDs (an empty stream
/// as an XADD trimmed to nothing), XSETID for its counters, then each
/// group, its pending entries as forced XCLAIMs and its idle consumers.
fn write_stream(buf: &mut Vec<u8>, key: &[u8], s: &crate::types::Stream) {
    use crate::types::stream::StreamId;
    let id_text = |id: StreamId| id.to_vec();
    if s.is_empty() {
        let id = id_text(StreamId::new(0, 1));
        encode(buf, [&b"XADD"[..], key, b"MAXLEN", b"0", &id, b"x", b"y"]);
    } else {
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            let id = id_text(e.id);
            let mut fields: Vec<Vec<u8>> = Vec::with_capacity(e.len() * 2);
            e.for_each(|f, v| {
                fields.push(f.to_vec());
                fields.push(v.to_vec());
            });
            encode(
                buf,
                [&b"XADD"[..], key, &id]
                    .into_iter()
                    .chain(fields.iter().map(|f| f.as_slice())),
            );
            true
        });
    }
    let mut n = itoa::Buffer::new();
    encode(
        buf,
        [
            &b"XSETID"[..],
            key,
            &id_text(s.last_id),
            b"ENTRIESADDED",
            n.format(s.entries_added).as_bytes(),
            b"MAXDELETEDID",
            &id_text(s.max_deleted),
        ],
    );
    for (name, g) in &s.groups {
        encode(
            buf,
            [
                &b"XGROUP"[..],
                b"CREATE",
                key,
                name,
                &id_text(g.last_id),
                b"ENTRIESREAD",
                n.format(g.entries_read).as_bytes(),
            ],
        );
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode(buf, [&b"XGROUP"[..], b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let mut t = itoa::Buffer::new();
                let mut rc = itoa::Buffer::new();
                encode(
                    buf,
                    [
                        &b"XCLAIM"[..],
                        key,
                        name,
                        cname,
                        b"0",
                        &id_text(*id),
                        b"TIME",
                        t.format(nack.delivery_time).as_bytes(),
                        b"RETRYCOUNT",
                        rc.format(nack.delivery_count).as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

/// A score as text that parses back to the same double (`inf`, `-inf`, or
/// the shortest round-trip form).
pub fn score_text(s: f64) -> String {
    if s.is_infinite() {
        if s > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        ryu::Buffer::new().format_finite(s).to_string()
    }
}
