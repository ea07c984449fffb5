//! Redis's listpack format (`listpack.c`), as RDB types 16, 17, 18 (nodes)
//! and 20 carry it: a 6-byte header (total bytes, u32 LE; element count,
//! u16 LE, 65535 meaning "count them"), the entries, and a 0xFF terminator.
//! Each entry is an encoding byte (with its payload) followed by a
//! "backlen", the entry's own size written so it can be read from its last
//! byte backwards.
//!
//! [`Writer`] produces what Redis itself would (integers in the smallest
//! integer encoding, strings with the smallest length prefix), since Redis
//! validates listpacks deeply on load; [`parse`] checks every bound, every
//! backlen, the header and the terminator.

use crate::protocol::parse_i64;

/// An element: integers are stored in binary form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// The element as bytes (an integer in decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Elem::Str(s) => f(s),
            Elem::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }
}

const HEADER: usize = 6;
const EOF: u8 = 0xFF;
const NUMELE_UNKNOWN: usize = 65535;

/// Size of a backlen for an entry of `l` bytes (thresholds of Redis's
/// `lpEncodeBacklen`).
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Append the backlen of an entry of `l` bytes: big-endian groups of 7 bits,
/// all but the first with the high bit set.
fn put_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for g in (0..n).rev() {
        let bits = ((l >> (7 * g)) & 0x7f) as u8;
        out.push(if g == n - 1 { bits } else { bits | 0x80 });
    }
}

/// Builds one listpack.
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes so far (header included, terminator not).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Append an element given as bytes: a canonical integer is stored as an
    /// integer (as `lpAppend` does).
    pub fn push(&mut self, s: &[u8]) {
        match parse_i64(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            b.push(0xC0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if let Ok(x) = i16::try_from(v) {
            b.push(0xF1);
            b.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            b.push(0xF3);
            b.extend_from_slice(&x.to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let n = s.len();
        if n < 64 {
            b.push(0x80 | n as u8);
        } else if n < 4096 {
            b.push(0xE0 | (n >> 8) as u8);
            b.push(n as u8);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let num = self.count.min(NUMELE_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&num.to_le_bytes());
        self.buf
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| acc << 8 | x as u64)
}

/// Sign-extend the low `bits` of `u`.
fn sext(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// The element starting at `p` (before `end`, the terminator's offset) and
/// its size without the backlen.
fn decode(lp: &[u8], p: usize, end: usize) -> Result<(Elem<'_>, usize), &'static str> {
    let need = |n: usize| -> Result<&[u8], &'static str> {
        lp.get(p + 1..p + 1 + n)
            .filter(|_| p + 1 + n <= end)
            .ok_or("listpack entry out of bounds")
    };
    let b = lp[p];
    Ok(if b & 0x80 == 0 {
        (Elem::Int((b & 0x7f) as i64), 1)
    } else if b & 0xC0 == 0x80 {
        let n = (b & 0x3f) as usize;
        (Elem::Str(need(n)?), 1 + n)
    } else if b & 0xE0 == 0xC0 {
        let lo = need(1)?[0];
        let u = ((b & 0x1f) as u64) << 8 | lo as u64;
        (Elem::Int(sext(u, 13)), 2)
    } else if b & 0xF0 == 0xE0 {
        let lo = need(1)?[0] as usize;
        let n = ((b & 0x0f) as usize) << 8 | lo;
        let s = lp
            .get(p + 2..p + 2 + n)
            .filter(|_| p + 2 + n <= end)
            .ok_or("listpack entry out of bounds")?;
        (Elem::Str(s), 2 + n)
    } else {
        match b {
            0xF0 => {
                let n = le(need(4)?) as usize;
                let s = lp
                    .get(p + 5..p.saturating_add(5).saturating_add(n))
                    .filter(|_| p + 5 + n <= end)
                    .ok_or("listpack entry out of bounds")?;
                (Elem::Str(s), 5 + n)
            }
            0xF1 => (Elem::Int(sext(le(need(2)?), 16)), 3),
            0xF2 => (Elem::Int(sext(le(need(3)?), 24)), 4),
            0xF3 => (Elem::Int(sext(le(need(4)?), 32)), 5),
            0xF4 => (Elem::Int(le(need(8)?) as i64), 9),
            _ => return Err("listpack invalid entry encoding"),
        }
    })
}

/// Every element of a listpack, validated.
pub fn parse(lp: &[u8]) -> Result<Vec<Elem<'_>>, &'static str> {
    if lp.len() < HEADER + 1 {
        return Err("listpack too short");
    }
    if le(&lp[0..4]) as usize != lp.len() {
        return Err("listpack header size mismatch");
    }
    if lp[lp.len() - 1] != EOF {
        return Err("listpack not terminated");
    }
    let numele = le(&lp[4..6]) as usize;
    let end = lp.len() - 1;
    let mut out = Vec::with_capacity(numele.min(end / 2));
    let mut p = HEADER;
    while p < end {
        let (elem, size) = decode(lp, p, end)?;
        let bl = backlen_size(size);
        let at = p + size;
        if at + bl > end {
            return Err("listpack entry out of bounds");
        }
        let mut want = Vec::with_capacity(5);
        put_backlen(&mut want, size);
        if lp[at..at + bl] != want[..] {
            return Err("listpack backlen mismatch");
        }
        out.push(elem);
        p = at + bl;
    }
    if numele != NUMELE_UNKNOWN && numele != out.len() {
        return Err("listpack element count mismatch");
    }
    Ok(out)
}

/// The element at offset `p` of a well-formed listpack (one this process
/// built, or one [`parse`] accepted) and the offset of the next element;
/// None at the terminator or on a malformed element.
pub fn elem_at(lp: &[u8], p: usize) -> Option<(Elem<'_>, usize)> {
    let end = lp.len().checked_sub(1)?;
    if p < HEADER || p >= end {
        return None;
    }
    let (e, size) = decode(lp, p, end).ok()?;
    let next = p + size + backlen_size(size);
    (next <= end).then_some((e, next))
}

/// The offset of the element that ends where `p` starts (`p` is an element
/// or the terminator), read from its backlen; None before the first.
pub fn elem_before(lp: &[u8], p: usize) -> Option<usize> {
    if p <= HEADER || p >= lp.len() {
        return None;
    }
    let (mut at, mut len, mut shift) = (p - 1, 0usize, 0u32);
    loop {
        let b = *lp.get(at)?;
        len |= ((b & 0x7f) as usize).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 28 || at <= HEADER {
            return None;
        }
        at -= 1;
    }
    let start = at.checked_sub(len)?;
    (start >= HEADER).then_some(start)
}

/// The element at `p` read as an integer (0 if it is not one).
pub fn int_at(lp: &[u8], p: usize) -> i64 {
    match elem_at(lp, p) {
        Some((Elem::Int(v), _)) => v,
        Some((Elem::Str(s), _)) => parse_i64(s).unwrap_or(0),
        None => 0,
    }
}

/// Offset of the first element.
pub const FIRST: usize = HEADER;

/// Replace the element at `p` with the integer `v` (as `lpReplaceInteger`),
/// fixing the header's byte total. Answers the change in size.
pub fn replace_int(lp: &mut Vec<u8>, p: usize, v: i64) -> isize {
    let Some((_, next)) = elem_at(lp, p) else {
        return 0;
    };
    let mut w = Writer::new();
    w.push_int(v);
    let new = &w.buf[HEADER..];
    let delta = new.len() as isize - (next - p) as isize;
    lp.splice(p..next, new.iter().copied());
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    delta
}

impl Writer {
    /// Go on appending to a finished listpack.
    pub fn resume(mut lp: Vec<u8>) -> Writer {
        if lp.len() < HEADER + 1 {
            return Writer::new();
        }
        let mut count = le(&lp[4..6]) as usize;
        if count == NUMELE_UNKNOWN {
            count = 0;
            let mut p = HEADER;
            while let Some((_, next)) = elem_at(&lp, p) {
                count += 1;
                p = next;
            }
        }
        lp.pop();
        Writer { buf: lp, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_redis_writes() {
        // RPUSH l 1 2 3 in Redis 7: DUMP shows this listpack node.
        let mut w = Writer::new();
        for s in ["1", "2", "3"] {
            w.push(s.as_bytes());
        }
        assert_eq!(
            w.finish(),
            [0x0d, 0, 0, 0, 3, 0, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0xff]
        );
    }

    #[test]
    fn round_trips_every_encoding() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8388607,
            -8388608,
            8388608,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        let strs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"-0".to_vec(),
            b"01".to_vec(),
            vec![b'x'; 63],
            vec![b'x'; 64],
            vec![b'x'; 4095],
            vec![b'x'; 4096],
            vec![b'y'; 20000],
        ];
        let mut w = Writer::new();
        for &i in &ints {
            w.push_int(i);
        }
        for s in &strs {
            w.push(s);
        }
        let lp = w.finish();
        let got = parse(&lp).unwrap();
        assert_eq!(got.len(), ints.len() + strs.len());
        for (g, &i) in got.iter().zip(&ints) {
            assert_eq!(*g, Elem::Int(i));
        }
        for (g, s) in got[ints.len()..].iter().zip(&strs) {
            assert_eq!(*g, Elem::Str(s));
        }
        // Every truncation or single-byte change is caught or still parses
        // without panicking.
        for cut in 0..lp.len().min(200) {
            assert!(parse(&lp[..cut]).is_err());
        }
        for i in 0..lp.len().min(300) {
            let mut bad = lp.clone();
            bad[i] ^= 0x5a;
            let _ = parse(&bad);
        }
    }
}
