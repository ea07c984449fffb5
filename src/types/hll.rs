//! HyperLogLog sketches, kept in string values in Redis's own layout so that
//! a key written by either server reads the same in the other (GET, DUMP,
//! RDB, AOF all carry the bytes unchanged).
//!
//! Layout (Redis's `struct hllhdr` and the two encodings it documents):
//! - 16-byte header: `HYLL`, the encoding (0 dense, 1 sparse), 3 unused
//!   bytes, then the cached cardinality as 8 little-endian bytes whose top
//!   bit set means "stale".
//! - Dense: 16384 registers of 6 bits, packed from the least significant
//!   bit of each byte (12288 bytes).
//! - Sparse: a run-length code. `00xxxxxx` is 1–64 zero registers,
//!   `01xxxxxx yyyyyyyy` 1–16384 zero registers, `1vvvvvxx` 1–4 registers
//!   of value 1–32. An empty sketch is one 16384-zero opcode.
//!
//! A sparse sketch becomes dense when a register needs a value above 32, or
//! when it would grow past `hll-sparse-max-bytes`. Updates split and merge
//! opcodes the way Redis does, so the same commands leave the same bytes.
//! The estimate is Ertl's ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), as Redis 5+ computes it.

/// Register index bits.
const P: u32 = 14;
/// Hash bits left for the zero-run count.
const Q: usize = 64 - P as usize;
pub const REGISTERS: usize = 1 << P;
pub const HDR: usize = 16;
/// Length of a dense sketch.
pub const DENSE_SIZE: usize = HDR + REGISTERS * 6 / 8;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Largest value a sparse VAL opcode holds, and its longest run.
const VAL_MAX: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;

/// A sparse sketch whose opcodes do not cover exactly 16384 registers.
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Whether a string is a sketch PFADD/PFCOUNT/PFMERGE accept: the magic, a
/// known encoding and, when dense, the exact length.
pub fn is_hll(b: &[u8]) -> bool {
    b.len() >= HDR
        && &b[..4] == b"HYLL"
        && b[4] <= SPARSE
        && (b[4] != DENSE || b.len() == DENSE_SIZE)
}

pub fn is_sparse(b: &[u8]) -> bool {
    b[4] == SPARSE
}

/// An empty sketch (sparse, cached cardinality 0).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    push_xzero(&mut v, REGISTERS);
    v
}

fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push(0x40 | (l >> 8) as u8);
    v.push((l & 0xff) as u8);
}

fn push_zeros(v: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        push_xzero(v, len);
    } else {
        v.push((len - 1) as u8);
    }
}

fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// One sparse opcode: how many registers it covers, their value (0 for the
/// zero runs) and its length in bytes. A two-byte opcode cut short by the
/// end of the string reads its second byte as 0, as Redis's does.
#[inline]
fn opcode(s: &[u8], p: usize) -> (usize, u8, usize) {
    let b = s[p];
    if b & 0xc0 == 0 {
        ((b & 0x3f) as usize + 1, 0, 1)
    } else if b & 0x80 != 0 {
        ((b & 3) as usize + 1, ((b >> 2) & 0x1f) + 1, 1)
    } else {
        let lo = s.get(p + 1).copied().unwrap_or(0) as usize;
        (((((b & 0x3f) as usize) << 8) | lo) + 1, 0, 2)
    }
}

/// The register and zero-run length (1..=Q+1) an element hashes to.
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The bit past Q ends the run, so the count is at most Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// MurmurHash64A (Austin Appleby's, public domain), little-endian words.
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Register `i` of a dense register area.
#[inline]
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let b0 = regs[byte] as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

/// Set register `i` of a dense register area.
#[inline]
pub fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let v = v as u32 & 63;
    regs[byte] = (regs[byte] as u32 & !(63 << fb) | (v << fb)) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        let fb8 = 8 - fb;
        *b1 = (*b1 as u32 & !(63 >> fb8) | (v >> fb8)) as u8;
    }
}

/// Raise register `index` to `count`; whether it changed.
fn dense_set(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_put(regs, index, count);
        true
    } else {
        false
    }
}

/// Walk a sparse sketch's opcodes: `f(first register, run, value)` for
/// each, except a VAL run that would pass the last register, which ends the
/// walk when `stop_at_overflow` and is skipped otherwise. The opcodes must
/// cover exactly the 16384 registers.
fn sparse_runs(
    v: &[u8],
    stop_at_overflow: bool,
    mut f: impl FnMut(usize, usize, u8),
) -> Result<(), Corrupt> {
    let (mut idx, mut p) = (0usize, HDR);
    while p < v.len() {
        let (run, value, len) = opcode(v, p);
        if value > 0 && idx + run > REGISTERS {
            if stop_at_overflow {
                break;
            }
        } else {
            f(idx, run, value);
        }
        idx += run;
        p += len;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Make a sparse sketch dense (the header, cache included, is kept).
/// Whether it changed anything.
pub fn to_dense(v: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if v[4] == DENSE {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR..];
    sparse_runs(v, true, |first, run, value| {
        if value > 0 {
            for r in first..first + run {
                dense_put(regs, r, value);
            }
        }
    })?;
    *v = dense;
    Ok(true)
}

/// Raise register `index` of a sketch to `count` (PFADD, PFMERGE). Whether
/// it changed; a sparse sketch may become dense on the way.
pub fn set(v: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if v[4] == DENSE {
        return Ok(dense_set(&mut v[HDR..], index, count));
    }
    if count > VAL_MAX {
        return promote(v, index, count);
    }
    // Find the opcode covering `index`.
    let (mut p, mut first, mut prev, mut span) = (HDR, 0usize, None, 0usize);
    let (mut value, mut oplen) = (0u8, 1usize);
    while p < v.len() {
        (span, value, oplen) = opcode(v, p);
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= v.len() {
        return Err(Corrupt);
    }
    let is_val = v[p] & 0x80 != 0;
    if is_val && value >= count {
        return Ok(false);
    }
    if span == 1 && oplen == 1 {
        // A one-register VAL or ZERO opcode is rewritten in place.
        v[p] = val_op(count, 1);
    } else {
        // Split into (before, our register, after).
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if index != first {
            if is_val {
                seq.push(val_op(value, index - first));
            } else {
                push_zeros(&mut seq, index - first);
            }
        }
        seq.push(val_op(count, 1));
        if index != last {
            if is_val {
                seq.push(val_op(value, last - index));
            } else {
                push_zeros(&mut seq, last - index);
            }
        }
        if seq.len() > oplen && v.len() + seq.len() - oplen > sparse_max {
            return promote(v, index, count);
        }
        if p + oplen > v.len() {
            // A two-byte opcode cut short by the end, whose second byte
            // read as 0: Redis's string has that 0 (its terminator), so the
            // new opcodes replace both bytes there too.
            v.push(0);
        }
        v.splice(p..p + oplen, seq);
    }
    merge_vals(v, prev.unwrap_or(HDR));
    invalidate(v);
    Ok(true)
}

/// Merge adjacent VAL opcodes of equal value, scanning up to five opcodes
/// from `p` (the one before the change), as Redis does after an update.
fn merge_vals(v: &mut Vec<u8>, mut p: usize) {
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        let b = v[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0x80 == 0 {
            p += 1;
            continue;
        }
        if let Some(&n) = v.get(p + 1) {
            if n & 0x80 != 0 {
                let (l1, v1, _) = opcode(v, p);
                let (l2, v2, _) = opcode(v, p + 1);
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    v[p + 1] = val_op(v1, l1 + l2);
                    v.remove(p);
                    // Try the merged opcode against the next one.
                    continue;
                }
            }
        }
        p += 1;
    }
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(v)?;
    Ok(dense_set(&mut v[HDR..], index, count))
}

/// PFADD of one element.
pub fn add(v: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set(v, index, count, sparse_max)
}

pub fn invalidate(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// The cached cardinality, if it is current.
pub fn cached(v: &[u8]) -> Option<u64> {
    (v[15] & 0x80 == 0).then(|| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&v[8..16]);
        u64::from_le_bytes(b)
    })
}

pub fn set_cache(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Raise `max` (one byte per register) to the sketch's registers.
pub fn merge_into(max: &mut [u8], v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&v[HDR..], i));
        }
        return Ok(());
    }
    // Only VAL runs are sure to lie within the registers.
    sparse_runs(v, true, |first, run, value| {
        if value > 0 {
            for m in &mut max[first..first + run] {
                *m = (*m).max(value);
            }
        }
    })
}

/// The estimated cardinality of a sketch.
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    if v[4] == DENSE {
        for i in 0..REGISTERS {
            histo[dense_get(&v[HDR..], i) as usize] += 1;
        }
    } else {
        // Redis's histogram reads on past a VAL run that overflows, so
        // opcodes left after the last register make PFCOUNT of this one
        // key fail, where its decoders (PFMERGE, several keys) stop there.
        sparse_runs(v, false, |_, run, value| {
            let h = &mut histo[value as usize];
            *h = h.saturating_add(run as u32);
        })?;
    }
    Ok(estimate(&histo))
}

/// The estimated cardinality of registers held one per byte (PFCOUNT of
/// several keys).
pub fn count_raw(regs: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs {
        histo[(r & 63) as usize] += 1;
    }
    estimate(&histo)
}

/// Ertl's estimator over the register-value histogram.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    // 1 / (2 ln 2): the limit of the bias-correction constant.
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powf(2.0) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE: the sparse opcodes as `z:<n> Z:<n> v:<value>,<n>`.
pub fn decode(v: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR;
    while p < v.len() {
        let (run, value, len) = opcode(v, p);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&match (value, len) {
            (0, 1) => format!("z:{run}"),
            (0, _) => format!("Z:{run}"),
            _ => format!("v:{value},{run}"),
        });
        p += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_matches_the_reference() {
        // With no input and seed 0 every step keeps 0. The element hashes
        // themselves are checked against redis-server (tests/hll.rs).
        assert_eq!(murmur64a(b"", 0), 0);
        assert_ne!(murmur64a(b"", 1), 0);
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        let mut x: u32 = 12345;
        let mut want = vec![0u8; REGISTERS];
        for (i, w) in want.iter_mut().enumerate() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *w = (x >> 16) as u8 & 63;
            dense_put(&mut regs, i, *w);
        }
        for (i, w) in want.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), *w, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        for i in 0..2000u32 {
            let e = i.to_le_bytes();
            add(&mut sparse, &e, 1 << 20).unwrap();
            add(&mut dense, &e, 1 << 20).unwrap();
        }
        assert!(is_sparse(&sparse));
        assert_eq!(count(&sparse), count(&dense));
        let c = count(&dense).unwrap();
        assert!((1900..2100).contains(&c), "{c}");
        let mut max = vec![0u8; REGISTERS];
        merge_into(&mut max, &sparse).unwrap();
        assert_eq!(count_raw(&max), c);
    }

    #[test]
    fn an_empty_sketch_counts_zero() {
        let v = new_sparse();
        assert_eq!(v.len(), HDR + 2);
        assert!(is_hll(&v));
        assert_eq!(count(&v), Ok(0));
        assert_eq!(decode(&v), "Z:16384");
    }

    #[test]
    fn runs_past_the_registers_never_index_out_of_range() {
        // A 16384-zero run, then more zeros, then a value.
        let mut v = new_sparse();
        v.extend_from_slice(&[0x05, 0x80]);
        let mut max = vec![0u8; REGISTERS];
        assert_eq!(merge_into(&mut max, &v), Err(Corrupt));
        assert_eq!(count(&v), Err(Corrupt));
        assert_eq!(to_dense(&mut v.clone()), Err(Corrupt));
        // Exactly the registers, then a value: the decoders stop there.
        let mut v = new_sparse();
        v.push(0x80);
        assert_eq!(merge_into(&mut max, &v), Ok(()));
        assert_eq!(count(&v), Err(Corrupt));
    }

    #[test]
    fn a_cut_short_two_byte_opcode_is_replaced_whole() {
        // XZERO 255, then an XZERO whose second byte is missing (16129).
        let mut v = new_sparse();
        v.truncate(HDR);
        v.extend_from_slice(&[0x40, 0xfe, 0x7f]);
        assert_eq!(count(&v), Ok(0));
        for e in 0..200u32 {
            add(&mut v, &e.to_le_bytes(), 3000).unwrap();
        }
        let mut max = vec![0u8; REGISTERS];
        merge_into(&mut max, &v).unwrap();
        // Many zero runs past the end do not overflow the histogram.
        let mut w = new_sparse();
        for _ in 0..300_000 {
            w.extend_from_slice(&[0x7f, 0xff]);
        }
        assert_eq!(count(&w), Err(Corrupt));
    }

    #[test]
    fn truncated_sparse_is_corrupt() {
        let mut v = new_sparse();
        v.truncate(HDR + 1);
        assert_eq!(count(&v), Err(Corrupt));
        v.truncate(HDR);
        assert_eq!(add(&mut v, b"a", 3000), Err(Corrupt));
    }
}
