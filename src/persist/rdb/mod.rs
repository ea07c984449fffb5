//! The RDB format: Redis's serialization of a dataset (snapshots, `DUMP`,
//! `RESTORE`, replication payloads), written and read without any Redis
//! code.
//!
//! A file is `REDIS` + four version digits, then opcodes: `AUX` fields
//! (name/value strings: redis-ver, ctime, ...), `SELECTDB` and `RESIZEDB`
//! per database, per key an optional `EXPIRETIME_MS` (or `EXPIRETIME` in
//! seconds, old files), `IDLE` or `FREQ`, then the value's type byte, the
//! key and the value, and finally `EOF` and a CRC-64 ([`Crc64`]) of every
//! byte before it (0 when saved with `rdbchecksum no`). A `DUMP` payload is
//! one value (type byte + payload), the RDB version as 2 bytes LE and the
//! CRC-64 of both.
//!
//! Lengths are 6, 14, 32 or 64 bit prefixes; strings are raw, integer
//! encoded (int8/16/32) or LZF-compressed ([`lzf`]).
//!
//! **Written** (RDB version 10, which Redis 7.0 and later load): strings
//! integer-encoded when they are a canonical integer that fits 32 bits and
//! LZF-compressed when `compress` is set, the string is over 20 bytes and
//! compression saves at least 4 bytes (as Redis); lists as
//! `QUICKLIST_2` of listpack nodes (one per Ember node; a `PLAIN` node for
//! an element of 1 GiB or more, as Redis); hashes as `HASH_LISTPACK` when
//! listpack-encoded, else `HASH`; sorted sets as `ZSET_LISTPACK` or
//! `ZSET_2` (binary scores); sets as `SET_INTSET` or `SET` (never
//! `SET_LISTPACK`, which is RDB 11). Listpacks and intsets are built exactly
//! as Redis builds them ([`listpack`], [`intset`]), since Redis validates
//! them deeply (`sanitize-dump-payload`).
//!
//! **Read** (versions 1 to 11): every value type Redis writes except modules
//! and streams: `STRING`, `LIST`, `SET`, `ZSET` (text scores), `HASH`,
//! `ZSET_2`, `HASH_ZIPMAP`, `LIST_ZIPLIST`, `SET_INTSET`, `ZSET_ZIPLIST`,
//! `HASH_ZIPLIST`, `LIST_QUICKLIST` (ziplist nodes), `HASH_LISTPACK`,
//! `ZSET_LISTPACK`, `LIST_QUICKLIST_2` (plain and packed nodes) and
//! `SET_LISTPACK`. Values are rebuilt through Ember's own types under the
//! live thresholds ([`LoadLimits`]), so they end in the encoding Ember
//! would pick for that content. **Rejected** with a clear [`RdbError`]:
//! module values and module AUX data, streams, functions (`FUNCTION2`),
//! unknown types and opcodes, and any corrupt input: every length is checked
//! against the data actually present (reads grow buffers as bytes arrive, so
//! a huge declared length allocates nothing), every embedded listpack,
//! ziplist, zipmap and intset is fully validated, duplicate members/fields
//! and NaN scores are errors, the checksum is verified. Empty collections
//! are skipped when loading a file (as Redis does) and are an error in a
//! DUMP payload.

pub mod crc64;
pub mod intset;
pub mod legacy;
pub mod listpack;
mod load;
pub mod lzf;
mod stream;
#[cfg(test)]
mod tests;

pub use crc64::Crc64;
pub use load::{decode_dump, decode_dump_value, load, verify_dump};

use crate::protocol::parse_i64;
use crate::types::{Hash, Set, Str, Value, ZSet};

/// The RDB version written (Redis 7.0 loads it; 7.2 writes 11).
pub const RDB_VERSION: u32 = 10;
/// The newest version read.
pub const RDB_VERSION_MAX: u32 = 11;

/// Value type bytes.
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes between keys.
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Quicklist node containers (`LIST_QUICKLIST_2`).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;
/// Elements from this size on go in a node of their own, unpacked (Redis's
/// quicklist `packed_threshold`).
const PLAIN_THRESHOLD: usize = 1 << 30;

/// An AUX field value.
pub enum Aux<'a> {
    Str(&'a [u8]),
    Int(i64),
}

/// A key read from a file.
#[derive(Debug)]
pub struct Loaded {
    pub db: usize,
    pub key: Box<[u8]>,
    pub value: Value,
    /// Absolute expiry in Unix ms, 0 for none.
    pub expire_ms: u64,
    /// Seconds idle when saved (`IDLE`, written under an LRU policy).
    pub idle: Option<u64>,
    /// LFU counter when saved (`FREQ`, written under an LFU policy).
    pub freq: Option<u8>,
}

impl Loaded {
    /// The entry's access bits from the saved `IDLE`/`FREQ`, for the
    /// current policy (as Redis: `FREQ` only counts under an LFU policy,
    /// `IDLE` only under the others); None when the file has none that
    /// applies, so the key gets fresh bits.
    pub fn access_bits(&self, now_ms: u64) -> Option<u32> {
        use crate::keyspace::access;
        if access::lfu_mode() {
            self.freq.map(|f| access::lfu_with_freq(f, now_ms))
        } else {
            self.idle.map(|s| access::lru_with_idle(s, now_ms))
        }
    }
}

/// Why an RDB stream or DUMP payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError(pub String);

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RDB error: {}", self.0)
    }
}

impl std::error::Error for RdbError {}

/// What a whole-file load found besides the keys.
#[derive(Debug, Default)]
pub struct LoadInfo {
    pub version: u32,
    /// Keys passed to the sink.
    pub keys: u64,
    /// Empty collections skipped (an old Redis bug could save them).
    pub empty_skipped: u64,
    /// AUX fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// FUNCTION libraries (`FUNCTION2` records: each library's code).
    pub functions: Vec<Vec<u8>>,
    /// Stream offset just past the EOF record and checksum (an AOF base
    /// may go on with commands after its RDB preamble).
    pub end_offset: u64,
}

/// The encoding thresholds loaded values are built under.
#[derive(Clone, Copy, Debug)]
pub struct LoadLimits {
    pub hash: crate::types::Limits,
    pub zset: crate::types::Limits,
    pub set: crate::types::SetLimits,
    /// `list-max-listpack-size`, as configured.
    pub list_max_listpack_size: i64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: CRC-64s (of RDB files and DUMP
    /// payloads) are not checked.
    pub skip_checksum: bool,
}

/// Redis's (and Ember's) default thresholds.
impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            hash: Default::default(),
            zset: Default::default(),
            set: Default::default(),
            list_max_listpack_size: -2,
            skip_checksum: false,
        }
    }
}

impl LoadLimits {
    /// The live thresholds of a running server.
    pub fn of(server: &crate::server::Server) -> LoadLimits {
        let c = &server.config;
        LoadLimits {
            hash: c.hash_limits(),
            zset: c.zset_limits(),
            set: c.set_limits(),
            list_max_listpack_size: c.list_max_size(),
            skip_checksum: server
                .persist
                .skip_checksum
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

// ---------------------------------------------------------------- writing

/// A length prefix.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// An integer in the int8/16/32 string encodings, if it fits one.
fn write_int_string(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(x) = i8::try_from(v) {
        out.extend_from_slice(&[0xC0, x as u8]);
    } else if let Ok(x) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = i32::try_from(v) {
        out.push(0xC2);
        out.extend_from_slice(&x.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// A string as Redis's `rdbSaveRawString` writes it: integer-encoded when
/// it is a canonical integer of at most 11 characters that fits 32 bits,
/// LZF-compressed when `compress`, longer than 20 bytes and at least 4
/// bytes smaller that way, else raw.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if write_int_string(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, z.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `REDIS0010` and the AUX fields.
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, Aux<'_>)]) {
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    for (name, value) in aux {
        out.push(opcode::AUX);
        write_string(out, name.as_bytes(), false);
        match value {
            Aux::Str(s) => write_string(out, s, false),
            Aux::Int(n) => write_string(out, itoa::Buffer::new().format(*n).as_bytes(), false),
        }
    }
}

/// A FUNCTION library (`FUNCTION2`: its code, as Redis 7 writes it).
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(opcode::FUNCTION2);
    write_string(out, code, false);
}

pub fn write_select_db(out: &mut Vec<u8>, db: usize) {
    out.push(opcode::SELECTDB);
    write_len(out, db as u64);
}

pub fn write_resize_db(out: &mut Vec<u8>, keys: u64, expires: u64) {
    out.push(opcode::RESIZEDB);
    write_len(out, keys);
    write_len(out, expires);
}

/// The `IDLE` opcode (seconds since last access, for LRU policies): goes
/// before [`write_entry`] of its key.
pub fn write_idle(out: &mut Vec<u8>, idle_secs: u64) {
    out.push(opcode::IDLE);
    write_len(out, idle_secs);
}

/// The `FREQ` opcode (LFU counter): goes before [`write_entry`] of its key.
pub fn write_freq(out: &mut Vec<u8>, freq: u8) {
    out.extend_from_slice(&[opcode::FREQ, freq]);
}

/// One key: `EXPIRETIME_MS` when `expire_ms != 0`, then type, key, value.
pub fn write_entry(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64, compress: bool) {
    if expire_ms != 0 {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&expire_ms.to_le_bytes());
    }
    out.push(type_of(value));
    write_string(out, key, compress);
    write_payload(out, value, compress);
}

/// A value alone (type byte + payload), as in a DUMP payload.
pub fn write_value(out: &mut Vec<u8>, value: &Value, compress: bool) {
    out.push(type_of(value));
    write_payload(out, value, compress);
}

/// `EOF` and the checksum of everything before it, `EOF` included (`crc`
/// holds the running checksum of the bytes written before this call).
pub fn write_eof(out: &mut Vec<u8>, crc: &mut Crc64, checksum: bool) {
    out.push(opcode::EOF);
    crc.update(&[opcode::EOF]);
    let v = if checksum { crc.value() } else { 0 };
    out.extend_from_slice(&v.to_le_bytes());
}

/// The DUMP payload of a value: value, RDB version (2 bytes LE), CRC-64.
pub fn dump_payload(value: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value, compress);
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The type byte a value is written under.
fn type_of(v: &Value) -> u8 {
    match v {
        Value::Str(_) => types::STRING,
        Value::List(_) => types::LIST_QUICKLIST_2,
        Value::Hash(Hash::Listpack(_)) => types::HASH_LISTPACK,
        Value::Hash(Hash::Table(_)) => types::HASH,
        Value::Set(s) => match **s {
            Set::Ints(_) => types::SET_INTSET,
            _ => types::SET,
        },
        Value::ZSet(z) => match **z {
            ZSet::Packed(_) => types::ZSET_LISTPACK,
            ZSet::Big(_) => types::ZSET_2,
        },
        Value::Stream(_) => types::STREAM_LISTPACKS_2,
    }
}

/// A score as a listpack element, as Redis's `d2string` + `lpAppend` store
/// it: an integer when it is one exactly (within ±2^62), `inf`/`-inf`, `-0`,
/// else `%.17g` text (which reads back to the same double).
fn push_score(w: &mut listpack::Writer, score: f64) {
    // Redis's range for printing a double as an integer (`double2ll`).
    const HALF: f64 = (i64::MAX / 2) as f64;
    let integral = (-HALF..=HALF).contains(&score) && (score as i64) as f64 == score;
    if integral && !(score == 0.0 && score.is_sign_negative()) {
        w.push_int(score as i64);
    } else if score.is_infinite() {
        w.push_str(if score > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let mut buf = [0u8; 64];
        w.push_str(crate::num::fmt_g17(score, &mut buf));
    }
}

fn write_payload(out: &mut Vec<u8>, value: &Value, compress: bool) {
    match value {
        Value::Str(s) => match s {
            Str::Int(n) => write_string(out, itoa::Buffer::new().format(*n).as_bytes(), compress),
            Str::Bytes(b) | Str::Raw(b) => write_string(out, b, compress),
        },
        Value::List(l) => write_list(out, l, compress),
        Value::Hash(Hash::Listpack(lp)) => {
            let mut w = listpack::Writer::new();
            for e in lp.iter() {
                w.push(e.field);
                w.push(e.value);
            }
            write_string(out, &w.finish(), compress);
        }
        Value::Hash(h) => {
            write_len(out, h.len() as u64);
            for (f, v) in h.iter() {
                write_string(out, f, compress);
                write_string(out, v, compress);
            }
        }
        Value::Set(s) => match &**s {
            Set::Ints(i) => {
                let v: Vec<i64> = i.iter().collect();
                write_string(out, &intset::write(&v), compress);
            }
            s => {
                write_len(out, s.len() as u64);
                for m in s.iter() {
                    m.with_bytes(|b| write_string(out, b, compress));
                }
            }
        },
        Value::ZSet(z) => match &**z {
            ZSet::Packed(_) => {
                let mut w = listpack::Writer::new();
                z.walk(0, z.len(), false, |m, s| {
                    w.push(m);
                    push_score(&mut w, s);
                });
                write_string(out, &w.finish(), compress);
            }
            ZSet::Big(_) => {
                write_len(out, z.len() as u64);
                // Highest first, as Redis writes it (its loader then
                // inserts at the head of the skiplist).
                z.walk(0, z.len(), true, |m, s| {
                    write_string(out, m, compress);
                    out.extend_from_slice(&s.to_le_bytes());
                });
            }
        },
        Value::Stream(s) => stream::write(out, s, compress),
    }
}

/// A list as `QUICKLIST_2`: one packed node per Ember node, a plain node
/// for each of Ember's (see types::list), and an element of
/// [`PLAIN_THRESHOLD`] bytes or more in a plain node of its own whatever
/// node holds it (the threshold may have been raised meanwhile).
fn write_list(out: &mut Vec<u8>, l: &crate::types::List, compress: bool) {
    let plain = |node_plain: bool, e: &[u8]| node_plain || e.len() >= PLAIN_THRESHOLD;
    let mut count = 0u64;
    for (p, node) in l.nodes_with_kind() {
        let mut open = false;
        for e in node {
            if plain(p, e) {
                count += 1 + open as u64;
                open = false;
            } else {
                open = true;
            }
        }
        count += open as u64;
    }
    write_len(out, count);
    for (p, node) in l.nodes_with_kind() {
        let mut w = listpack::Writer::new();
        for e in node {
            if plain(p, e) {
                if !w.is_empty() {
                    write_len(out, CONTAINER_PACKED);
                    write_string(out, &std::mem::take(&mut w).finish(), compress);
                }
                write_len(out, CONTAINER_PLAIN);
                write_string(out, e, compress);
            } else {
                w.push(e);
            }
        }
        if !w.is_empty() {
            write_len(out, CONTAINER_PACKED);
            write_string(out, &w.finish(), compress);
        }
    }
}
