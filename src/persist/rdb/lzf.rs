//! LZF, the compression Redis applies to long strings in RDB files
//! (`rdbcompression yes`).
//!
//! A stream is a sequence of runs, each starting with a control byte:
//! - `000LLLLL`: a literal run of `L + 1` bytes (1..=32) that follow;
//! - `LLLooooo oooooooo` with `LLL` in 1..=6: copy `LLL + 2` bytes from
//!   `ooooo oooooooo + 1` bytes back in the output;
//! - `111ooooo LLLLLLLL oooooooo`: the same with length `LLLLLLLL + 9`.
//!
//! Back references reach at most 8192 bytes back and copy at most 264 bytes;
//! they may overlap the bytes they produce. The compressor is a greedy
//! matcher over a hash of the next three bytes; the decompressor checks
//! every run against both buffers.

const HASH_BITS: u32 = 14;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3); // 264
const MAX_LIT: usize = 1 << 5;

#[inline]
fn hash3(b: &[u8]) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

fn flush_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(MAX_LIT) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

thread_local! {
    /// The match table, reused across calls: allocating and clearing 64 KB
    /// per value cost more than compressing a short string. Entries left by
    /// earlier inputs are harmless: a candidate is used only if it lies
    /// before the current position and its bytes really match.
    static TABLE: std::cell::RefCell<Vec<u32>> = std::cell::RefCell::new(vec![0; 1 << HASH_BITS]);
}

/// Compress `input`; None unless the result is at most `max_out` bytes.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n >= u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut table = t.borrow_mut();
        compress_with(input, max_out, &mut table)
    })
}

fn compress_with(input: &[u8], max_out: usize, table: &mut [u32]) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = Vec::with_capacity(max_out.min(n + n / 32 + 1));
    let (mut ip, mut lit_start) = (0usize, 0usize);
    while ip + 2 < n {
        let h = hash3(&input[ip..]);
        let r = table[h] as usize;
        table[h] = ip as u32;
        if r < ip {
            let dist = ip - r;
            if dist <= MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
                let max_len = MAX_REF.min(n - ip);
                let mut len = 3;
                while len < max_len && input[r + len] == input[ip + len] {
                    len += 1;
                }
                flush_literals(&mut out, &input[lit_start..ip]);
                let off = dist - 1;
                let l = len - 2;
                if l < 7 {
                    out.push(((l as u8) << 5) | (off >> 8) as u8);
                } else {
                    out.push((7 << 5) | (off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                // Index the positions inside the match too (better ratios on
                // repetitive data), as far as three bytes remain.
                let end = ip + len;
                let mut p = ip + 1;
                while p < end && p + 2 < n {
                    table[hash3(&input[p..])] = p as u32;
                    p += 1;
                }
                ip = end;
                lit_start = ip;
                if out.len() > max_out {
                    return None;
                }
                continue;
            }
        }
        ip += 1;
    }
    flush_literals(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

/// Decompress `input` into exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, &'static str> {
    // A 3-byte back reference yields at most 264 bytes: anything claiming
    // more is corrupt, and this bounds the allocation by the input.
    if out_len > input.len().saturating_mul(MAX_REF / 3 + 1) {
        return Err("LZF length exceeds what the compressed data can hold");
    }
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + run > input.len() || out.len() + run > out_len {
                return Err("LZF literal run out of bounds");
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&b) = input.get(ip) else {
                    return Err("LZF truncated back reference");
                };
                len += b as usize;
                ip += 1;
            }
            len += 2;
            let Some(&lo) = input.get(ip) else {
                return Err("LZF truncated back reference");
            };
            ip += 1;
            let back = ((ctrl & 0x1f) << 8 | lo as usize) + 1;
            if back > out.len() || out.len() + len > out_len {
                return Err("LZF back reference out of bounds");
            }
            let from = out.len() - back;
            for k in 0..len {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err("LZF data shorter than its declared length");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello hello world".to_vec(),
            vec![7u8; 100_000],
            (0..70_000u32).map(|i| (i % 251) as u8).collect(),
        ];
        let mut x = 12345u64;
        cases.push(
            (0..5000)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (x >> 60) as u8 + b'a'
                })
                .collect(),
        );
        for c in cases {
            let z = compress(&c, c.len()).expect("compressible");
            assert!(z.len() < c.len());
            assert_eq!(decompress(&z, c.len()).unwrap(), c);
        }
        // Random bytes do not compress under len-4.
        let noise: Vec<u8> = (0..64u64)
            .map(|i| (i.wrapping_mul(0x9E3779B97F4A7C15) >> 56) as u8)
            .collect();
        assert!(compress(&noise, noise.len() - 4).is_none());
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(decompress(&[0x20, 0x00], 3).is_err()); // reference before start
        assert!(decompress(&[0x05, b'a'], 6).is_err()); // truncated literal
        assert!(decompress(&[0x00, b'a'], 2).is_err()); // too short
        assert!(decompress(&[0x00, b'a'], 1 << 40).is_err()); // absurd length
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 4).unwrap(), b"aaaa");
    }
}
