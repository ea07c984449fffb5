//! Reading RDB streams and DUMP payloads. See the module documentation for
//! what is accepted and rejected.

use std::io::Read;

use super::listpack::Elem;
use super::{
    intset, legacy, listpack, lzf, opcode, types, Crc64, LoadInfo, LoadLimits, Loaded, RdbError,
    CONTAINER_PACKED, CONTAINER_PLAIN, RDB_VERSION_MAX,
};
use crate::protocol::parse_i64;
use crate::types::hash::Table;
use crate::types::list::{List, NodeLimit};
use crate::types::set::Big;
use crate::types::{Hash, Set, Str, Value, ZSet};

/// Largest number of elements pre-allocated from a count read from a
/// stream: beyond this, collections grow as elements actually arrive. (For
/// a DUMP payload the bound is its size, as every element takes a byte,
/// up to a million.)
const PREALLOC_MAX: usize = 65536;
/// Buffer growth step while reading a long string.
const READ_CHUNK: usize = 1 << 20;

/// A buffered reader that counts its offset and checksums what it consumed.
struct Reader<'a> {
    inner: &'a mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes of `buf` before this are already in `crc`.
    crc_pos: usize,
    crc: Crc64,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Most elements a declared count may pre-allocate.
    prealloc: usize,
}

type Result<T> = std::result::Result<T, RdbError>;

mod stream;

impl<'a> Reader<'a> {
    /// A reader with a `cap`-byte buffer (at least one byte).
    fn new(inner: &'a mut dyn Read, cap: usize) -> Self {
        Reader {
            inner,
            buf: vec![0; cap.max(1)].into_boxed_slice(),
            pos: 0,
            end: 0,
            crc_pos: 0,
            crc: Crc64::new(),
            base: 0,
            prealloc: PREALLOC_MAX,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn err<T>(&self, msg: impl std::fmt::Display) -> Result<T> {
        Err(RdbError(format!("{msg} (at offset {})", self.offset())))
    }

    /// Make at least one byte available; false at end of input.
    fn fill(&mut self) -> Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.crc.update(&self.buf[self.crc_pos..self.end]);
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        self.crc_pos = 0;
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return self.err(format_args!("read failed: {e}")),
            }
        }
    }

    /// The checksum of everything consumed so far.
    fn crc_now(&mut self) -> u64 {
        self.crc.update(&self.buf[self.crc_pos..self.pos]);
        self.crc_pos = self.pos;
        self.crc.value()
    }

    fn u8(&mut self) -> Result<u8> {
        if !self.fill()? {
            return self.err("unexpected end of input");
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Fill `dst` completely.
    fn exact(&mut self, dst: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < dst.len() {
            if !self.fill()? {
                return self.err("unexpected end of input");
            }
            let n = (self.end - self.pos).min(dst.len() - done);
            dst[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        self.exact(&mut a)?;
        Ok(a)
    }

    /// `n` bytes, the buffer growing only as they arrive.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let Ok(n) = usize::try_from(n) else {
            return self.err("length too large");
        };
        let mut v = Vec::with_capacity(n.min(READ_CHUNK));
        while v.len() < n {
            if !self.fill()? {
                return self.err(format_args!("unexpected end of input in a {n}-byte string"));
            }
            let k = (self.end - self.pos).min(n - v.len());
            v.extend_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
        }
        Ok(v)
    }

    /// A length prefix, or the special-encoding number of a `11xxxxxx` one.
    fn len_or_enc(&mut self) -> Result<std::result::Result<u64, u8>> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Ok((b & 0x3f) as u64),
            1 => Ok(((b & 0x3f) as u64) << 8 | self.u8()? as u64),
            2 => match b {
                0x80 => Ok(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => return self.err(format_args!("invalid length prefix 0x{b:02x}")),
            },
            _ => Err(b & 0x3f),
        })
    }

    fn len(&mut self) -> Result<u64> {
        match self.len_or_enc()? {
            Ok(n) => Ok(n),
            Err(_) => self.err("expected a length, found a string encoding"),
        }
    }

    /// A string in any encoding.
    fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_or_enc()? {
            Ok(n) => self.bytes(n),
            Err(0) => Ok(itoa_vec(self.u8()? as i8 as i64)),
            Err(1) => Ok(itoa_vec(i16::from_le_bytes(self.array()?) as i64)),
            Err(2) => Ok(itoa_vec(i32::from_le_bytes(self.array()?) as i64)),
            Err(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                if clen == 0 || ulen == 0 {
                    return self.err("invalid LZF string lengths");
                }
                let z = self.bytes(clen)?;
                let Ok(ulen) = usize::try_from(ulen) else {
                    return self.err("LZF length too large");
                };
                match lzf::decompress(&z, ulen) {
                    Ok(v) => Ok(v),
                    Err(e) => self.err(e),
                }
            }
            Err(e) => self.err(format_args!("unknown string encoding {e}")),
        }
    }

    /// A text double (`ZSET` type): length byte 253/254/255 for nan/+inf/-inf.
    fn text_double(&mut self) -> Result<f64> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(n as u64)?;
                match parse_score(&b) {
                    Some(v) => Ok(v),
                    None => self.err("invalid double value"),
                }
            }
        }
    }
}

fn itoa_vec(v: i64) -> Vec<u8> {
    itoa::Buffer::new().format(v).as_bytes().to_vec()
}

/// A score stored as text: all of it must be a number (nan allowed; the
/// caller rejects it).
fn parse_score(b: &[u8]) -> Option<f64> {
    let (v, used, _) = crate::num::strtod(b);
    (used == b.len() && !b.is_empty()).then_some(v)
}

/// A listpack or ziplist element used as a score.
fn elem_score(e: &Elem<'_>) -> Option<f64> {
    match *e {
        Elem::Int(n) => Some(n as f64),
        Elem::Str(s) => parse_score(s),
    }
}

/// Builds a value from elements as they are read, with Ember's conversion
/// rules and a duplicate check.
struct Build<'l> {
    lim: &'l LoadLimits,
    /// Pre-allocation bound ([`Reader::prealloc`]).
    cap: usize,
}

impl Build<'_> {
    fn list(&self, items: &[Vec<u8>]) -> Option<Value> {
        if items.is_empty() {
            return None;
        }
        let lim = NodeLimit::from_fill(self.lim.list_max_listpack_size);
        let l = List::from_iter(items.iter().map(|v| v.as_slice()), lim);
        Some(Value::List(Box::new(l)))
    }

    /// A hash of `n` pairs (`n` as declared: only a hint).
    fn hash_for(&self, n: u64) -> Hash {
        if n > self.lim.hash.max_entries as u64 {
            Hash::Table(Box::new(Table::with_capacity((n as usize).min(self.cap))))
        } else {
            Hash::default()
        }
    }

    fn hash_add(&self, h: &mut Hash, f: &[u8], v: &[u8]) -> std::result::Result<(), &'static str> {
        if h.set(f, v, self.lim.hash) {
            Ok(())
        } else {
            Err("duplicate hash field")
        }
    }

    /// A set for `n` members (a hint), the first being `first`: the
    /// encoding `Set::create` would pick, without trusting `n` for memory.
    fn set_for(&self, first: &[u8], n: u64) -> Set {
        let hint = usize::try_from(n).unwrap_or(usize::MAX);
        let lim = self.lim.set;
        if (parse_i64(first).is_some() && hint <= lim.max_intset) || hint <= lim.max_entries {
            Set::create(first, hint.min(lim.max_entries), lim)
        } else {
            Set::Hash(Big::with_capacity(hint.min(self.cap)))
        }
    }

    fn set_add(&self, s: &mut Set, m: &[u8]) -> std::result::Result<(), &'static str> {
        if s.add(m, self.lim.set) {
            Ok(())
        } else {
            Err("duplicate set member")
        }
    }

    fn zset_for(&self, n: u64, first_len: usize) -> ZSet {
        ZSet::with_hint(
            usize::try_from(n).unwrap_or(usize::MAX),
            first_len,
            self.lim.zset,
        )
    }

    fn zset_add(
        &self,
        z: &mut ZSet,
        m: &[u8],
        score: f64,
    ) -> std::result::Result<(), &'static str> {
        if score.is_nan() {
            return Err("sorted set score is NaN");
        }
        if z.score(m).is_some() {
            return Err("duplicate sorted set member");
        }
        z.insert(m, score, self.lim.zset);
        Ok(())
    }

    /// A hash from alternating field/value elements.
    fn hash_from_elems(&self, e: &[Elem<'_>]) -> std::result::Result<Option<Value>, &'static str> {
        if !e.len().is_multiple_of(2) {
            return Err("hash with an odd number of elements");
        }
        if e.is_empty() {
            return Ok(None);
        }
        let mut h = self.hash_for((e.len() / 2) as u64);
        for p in e.chunks_exact(2) {
            let f = p[0].to_vec();
            p[1].with_bytes(|v| self.hash_add(&mut h, &f, v))?;
        }
        Ok(Some(Value::Hash(h)))
    }

    /// A sorted set from alternating member/score elements.
    fn zset_from_elems(&self, e: &[Elem<'_>]) -> std::result::Result<Option<Value>, &'static str> {
        if !e.len().is_multiple_of(2) {
            return Err("sorted set with an odd number of elements");
        }
        if e.is_empty() {
            return Ok(None);
        }
        let first_len = e[0].with_bytes(|b| b.len());
        let mut z = self.zset_for((e.len() / 2) as u64, first_len);
        for p in e.chunks_exact(2) {
            let score = elem_score(&p[1]).ok_or("invalid sorted set score")?;
            p[0].with_bytes(|m| self.zset_add(&mut z, m, score))?;
        }
        Ok(Some(Value::ZSet(Box::new(z))))
    }

    fn set_from_elems(&self, e: &[Elem<'_>]) -> std::result::Result<Option<Value>, &'static str> {
        let Some(first) = e.first() else {
            return Ok(None);
        };
        let mut s = first.with_bytes(|f| self.set_for(f, e.len() as u64));
        for m in e {
            m.with_bytes(|b| self.set_add(&mut s, b))?;
        }
        Ok(Some(Value::Set(Box::new(s))))
    }
}

/// Read a value of type `ty`; None for an empty collection.
fn read_value(r: &mut Reader<'_>, ty: u8, lim: &LoadLimits) -> Result<Option<Value>> {
    let b = Build {
        lim,
        cap: r.prealloc,
    };
    // Blob-based types report structural errors as strings; tag them with
    // the offset here.
    macro_rules! check {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(msg) => return r.err(msg),
            }
        };
    }
    // A packed blob that does not parse: Redis's words for which one
    // ("Hash ziplist integrity check failed."), then what was wrong.
    macro_rules! intact {
        ($what:literal, $e:expr) => {
            match $e {
                Ok(v) => v,
                Err(why) => {
                    return r.err(format_args!(
                        concat!($what, " integrity check failed ({})"),
                        why
                    ))
                }
            }
        };
    }
    Ok(match ty {
        types::STRING => {
            let s = r.string()?;
            let v = match (s.len() <= 20).then(|| parse_i64(&s)).flatten() {
                Some(n) => Str::Int(n),
                None => Str::Bytes(s),
            };
            Some(Value::Str(v))
        }
        types::LIST => {
            let n = r.len()?;
            let mut items = Vec::with_capacity((n as usize).min(r.prealloc));
            for _ in 0..n {
                items.push(r.string()?);
            }
            b.list(&items)
        }
        types::SET => {
            let n = r.len()?;
            if n == 0 {
                return Ok(None);
            }
            let first = r.string()?;
            let mut s = b.set_for(&first, n);
            check!(b.set_add(&mut s, &first));
            for _ in 1..n {
                let m = r.string()?;
                check!(b.set_add(&mut s, &m));
            }
            Some(Value::Set(Box::new(s)))
        }
        types::ZSET | types::ZSET_2 => {
            let n = r.len()?;
            if n == 0 {
                return Ok(None);
            }
            let mut z: Option<ZSet> = None;
            for _ in 0..n {
                let m = r.string()?;
                let score = if ty == types::ZSET_2 {
                    f64::from_le_bytes(r.array()?)
                } else {
                    r.text_double()?
                };
                let z = z.get_or_insert_with(|| b.zset_for(n, m.len()));
                check!(b.zset_add(z, &m, score));
            }
            z.map(|z| Value::ZSet(Box::new(z)))
        }
        types::HASH => {
            let n = r.len()?;
            if n == 0 {
                return Ok(None);
            }
            let mut h = b.hash_for(n);
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                check!(b.hash_add(&mut h, &f, &v));
            }
            Some(Value::Hash(h))
        }
        types::HASH_ZIPMAP => {
            let blob = r.string()?;
            let pairs = intact!("Zipmap", legacy::zipmap(&blob));
            // Redis's zipmap check refuses an empty one (not an empty key).
            if pairs.is_empty() {
                return r.err("Zipmap integrity check failed (no entries)");
            }
            let mut h = b.hash_for(pairs.len() as u64);
            for (f, v) in pairs {
                check!(b.hash_add(&mut h, f, v));
            }
            Some(Value::Hash(h))
        }
        types::LIST_ZIPLIST => {
            let blob = r.string()?;
            let e = intact!("List ziplist", legacy::ziplist(&blob));
            let items: Vec<Vec<u8>> = e.iter().map(|x| x.to_vec()).collect();
            b.list(&items)
        }
        types::SET_INTSET => {
            let blob = r.string()?;
            let ints = intact!("Intset", intset::parse(&blob));
            let e: Vec<Elem<'_>> = ints.iter().map(|&v| Elem::Int(v)).collect();
            intact!("Intset", b.set_from_elems(&e))
        }
        types::SET_LISTPACK => {
            let blob = r.string()?;
            let e = intact!("Set listpack", listpack::parse(&blob));
            if e.is_empty() {
                return r.err("empty listpack");
            }
            intact!("Set listpack", b.set_from_elems(&e))
        }
        types::ZSET_ZIPLIST => {
            let blob = r.string()?;
            let e = intact!("Zset ziplist", legacy::ziplist(&blob));
            // Duplicates fail the check too, as in Redis.
            intact!("Zset ziplist", b.zset_from_elems(&e))
        }
        types::HASH_ZIPLIST => {
            let blob = r.string()?;
            let e = intact!("Hash ziplist", legacy::ziplist(&blob));
            // Duplicates fail the check too, as in Redis.
            intact!("Hash ziplist", b.hash_from_elems(&e))
        }
        types::HASH_LISTPACK => {
            let blob = r.string()?;
            let e = intact!("Hash listpack", listpack::parse(&blob));
            // Duplicates fail the check too, as in Redis.
            intact!("Hash listpack", b.hash_from_elems(&e))
        }
        types::ZSET_LISTPACK => {
            let blob = r.string()?;
            let e = intact!("Zset listpack", listpack::parse(&blob));
            // Duplicates fail the check too, as in Redis.
            intact!("Zset listpack", b.zset_from_elems(&e))
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = r.len()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = if ty == types::LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    CONTAINER_PACKED
                };
                if container != CONTAINER_PLAIN && container != CONTAINER_PACKED {
                    return r.err(format_args!(
                        "Quicklist integrity check failed (node container {container})"
                    ));
                }
                let blob = r.string()?;
                // As Redis: no node, plain or packed, is zero bytes.
                if blob.is_empty() {
                    return r.err("quicklist node of length 0");
                }
                match container {
                    CONTAINER_PLAIN => items.push(blob),
                    _ => {
                        let e = if ty == types::LIST_QUICKLIST {
                            intact!("Ziplist", legacy::ziplist(&blob))
                        } else {
                            intact!("Listpack", listpack::parse(&blob))
                        };
                        // Redis skips empty nodes.
                        items.extend(e.iter().map(|x| x.to_vec()));
                    }
                }
            }
            b.list(&items)
        }
        types::MODULE_PRE_GA | types::MODULE_2 => {
            let id = r.len()?;
            return r.err(format_args!(
                "module type '{}' is not supported (module values cannot be loaded)",
                module_name(id)
            ));
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
            Some(stream::read(r, ty)?)
        }
        t => return r.err(format_args!("unknown value type {t}")),
    })
}

/// The 9-character name a module type id encodes (Redis's
/// `moduleTypeNameByID`).
fn module_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CHARSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// Parse a complete RDB stream, calling `sink` for every key (expired keys
/// included: the caller decides; empty collections are skipped).
pub fn load(
    input: &mut dyn Read,
    limits: &LoadLimits,
    sink: &mut dyn FnMut(Loaded) -> Result<()>,
) -> Result<LoadInfo> {
    let mut r = Reader::new(input, 64 * 1024);
    let magic: [u8; 9] = match r.array() {
        Ok(m) => m,
        Err(_) => return r.err("not an RDB file (too short)"),
    };
    if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
        return Err(RdbError("not an RDB file (bad signature)".into()));
    }
    let version: u32 = magic[5..]
        .iter()
        .fold(0, |acc, &d| acc * 10 + (d - b'0') as u32);
    if version == 0 || version > RDB_VERSION_MAX {
        return Err(RdbError(format!("unsupported RDB version {version}")));
    }
    let mut info = LoadInfo {
        version,
        ..LoadInfo::default()
    };
    let (mut db, mut expire_ms, mut idle, mut freq) = (0usize, 0u64, None, None);
    loop {
        let op = r.u8()?;
        match op {
            opcode::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                info.aux.push((k, v));
            }
            opcode::RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            opcode::EXPIRETIME_MS => expire_ms = u64::from_le_bytes(r.array()?),
            opcode::EXPIRETIME => {
                expire_ms = u32::from_le_bytes(r.array()?) as u64 * 1000;
            }
            opcode::SELECTDB => {
                let n = r.len()?;
                db = match usize::try_from(n) {
                    Ok(d) if d <= u32::MAX as usize => d,
                    _ => return r.err(format_args!("database index {n} out of range")),
                };
            }
            opcode::IDLE => idle = Some(r.len()?),
            opcode::FREQ => freq = Some(r.u8()?),
            opcode::MODULE_AUX => {
                return r.err("module auxiliary data is not supported");
            }
            opcode::FUNCTION2 => {
                let code = r.string()?;
                info.functions.push(code);
            }
            opcode::FUNCTION_PRE_GA => {
                return r.err("pre-GA (7.0 RC) function records are not supported");
            }
            opcode::EOF => {
                if version >= 5 {
                    let expected = r.crc_now();
                    let stored = u64::from_le_bytes(match r.array() {
                        Ok(a) => a,
                        Err(_) => return r.err("unexpected end of input in the checksum"),
                    });
                    if stored != 0 && stored != expected && !limits.skip_checksum {
                        return r.err(format_args!(
                            "Wrong RDB checksum expected: ({expected:x}) got ({stored:x}): RDB CRC error"
                        ));
                    }
                }
                info.end_offset = r.offset();
                return Ok(info);
            }
            ty => {
                let key = r.string()?;
                let at = r.offset();
                let value = read_value(&mut r, ty, limits)?;
                if let Some(value) = value {
                    info.keys += 1;
                    sink(Loaded {
                        db,
                        key: key.into_boxed_slice(),
                        value,
                        expire_ms,
                        idle,
                        freq,
                    })
                    .map_err(|e| RdbError(format!("{} (key at offset {at})", e.0)))?;
                } else {
                    // As Redis: skipped, not an error; the first ten logged.
                    info.empty_skipped += 1;
                    if info.empty_skipped <= 10 {
                        tracing::info!(
                            "rdbLoadObject skipping empty key: {}",
                            String::from_utf8_lossy(&key)
                        );
                    }
                }
                (expire_ms, idle, freq) = (0, None, None);
            }
        }
    }
}

/// Check a DUMP payload's footer (RDB version no newer than we read, CRC-64
/// of value and version, unless `skip_crc`) and answer the value bytes.
pub fn verify_dump(payload: &[u8], skip_crc: bool) -> Result<&[u8]> {
    if payload.len() < 10 {
        return Err(RdbError("DUMP payload too short".into()));
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]) as u32;
    if version > RDB_VERSION_MAX {
        return Err(RdbError(format!(
            "DUMP payload RDB version {version} is newer than supported"
        )));
    }
    if skip_crc {
        return Ok(body);
    }
    let mut c = Crc64::new();
    c.update(&payload[..payload.len() - 8]);
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    if c.value() != u64::from_le_bytes(stored) {
        return Err(RdbError("DUMP payload checksum mismatch".into()));
    }
    Ok(body)
}

/// The value of a verified DUMP body (type byte + payload); an empty
/// collection is an error.
pub fn decode_dump_value(body: &[u8], limits: &LoadLimits) -> Result<Value> {
    let mut input = body;
    let mut r = Reader::new(&mut input, body.len().min(64 * 1024));
    r.prealloc = body.len().min(1 << 20);
    let ty = r.u8()?;
    if ty >= opcode::FUNCTION2 {
        return r.err(format_args!("invalid value type {ty}"));
    }
    match read_value(&mut r, ty, limits)? {
        Some(v) => Ok(v),
        None => r.err("empty collection"),
    }
}

/// Parse one DUMP payload: verify its version and checksum, return the value.
pub fn decode_dump(payload: &[u8], limits: &LoadLimits) -> Result<Value> {
    decode_dump_value(verify_dump(payload, limits.skip_checksum)?, limits)
}
