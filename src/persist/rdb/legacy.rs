//! Read-only parsers for the compact encodings of older RDB versions:
//! ziplists (`ziplist.c`; RDB types 10, 12, 13 and the nodes of 14) and
//! zipmaps (`zipmap.c`; type 9, Redis before 2.6). Ember never writes these.
//!
//! A ziplist is a 10-byte header (total bytes u32 LE, offset of the last
//! entry u32 LE, entry count u16 LE, 65535 meaning "count them"), entries,
//! and a 0xFF terminator. Each entry is the previous entry's size (1 byte,
//! or 0xFE and 4 bytes LE), an encoding with the string length or integer
//! type, then the payload. Everything is checked against the buffer.

use super::listpack::Elem;

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| acc << 8 | x as u64)
}

/// Every element of a ziplist, validated.
pub fn ziplist(zl: &[u8]) -> Result<Vec<Elem<'_>>, &'static str> {
    const HEADER: usize = 10;
    if zl.len() < HEADER + 1 {
        return Err("ziplist too short");
    }
    if le(&zl[0..4]) as usize != zl.len() {
        return Err("ziplist header size mismatch");
    }
    if zl[zl.len() - 1] != 0xFF {
        return Err("ziplist not terminated");
    }
    let tail = le(&zl[4..8]) as usize;
    let count = le(&zl[8..10]) as usize;
    let end = zl.len() - 1;
    let mut out = Vec::with_capacity(count.min(end / 2));
    let (mut p, mut prev_size, mut last_start) = (HEADER, 0usize, HEADER);
    while p < end {
        let start = p;
        let get = |from: usize, n: usize| -> Result<&[u8], &'static str> {
            zl.get(from..from.saturating_add(n))
                .filter(|_| from + n <= end)
                .ok_or("ziplist entry out of bounds")
        };
        let prevlen = if zl[p] < 254 {
            p += 1;
            zl[p - 1] as usize
        } else if zl[p] == 254 {
            let v = le(get(p + 1, 4)?) as usize;
            p += 5;
            v
        } else {
            return Err("ziplist invalid prevlen");
        };
        if prevlen != prev_size {
            return Err("ziplist prevlen mismatch");
        }
        let enc = *get(p, 1)?.first().ok_or("ziplist entry out of bounds")?;
        let elem = match enc >> 6 {
            0 => {
                let n = (enc & 0x3f) as usize;
                let s = get(p + 1, n)?;
                p += 1 + n;
                Elem::Str(s)
            }
            1 => {
                let n = ((enc & 0x3f) as usize) << 8 | get(p + 1, 1)?[0] as usize;
                let s = get(p + 2, n)?;
                p += 2 + n;
                Elem::Str(s)
            }
            2 => {
                if enc != 0x80 {
                    return Err("ziplist invalid string encoding");
                }
                let b = get(p + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                let s = get(p + 5, n)?;
                p += 5 + n;
                Elem::Str(s)
            }
            _ => {
                let (v, n) = match enc {
                    0xC0 => (le(get(p + 1, 2)?) as u16 as i16 as i64, 2),
                    0xD0 => (le(get(p + 1, 4)?) as u32 as i32 as i64, 4),
                    0xE0 => (le(get(p + 1, 8)?) as i64, 8),
                    0xF0 => ((((le(get(p + 1, 3)?) as u32) << 8) as i32 >> 8) as i64, 3),
                    0xFE => (get(p + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => ((enc & 0x0f) as i64 - 1, 0),
                    _ => return Err("ziplist invalid integer encoding"),
                };
                p += 1 + n;
                Elem::Int(v)
            }
        };
        out.push(elem);
        prev_size = p - start;
        last_start = start;
    }
    if p != end {
        return Err("ziplist entries overrun the terminator");
    }
    if tail != last_start {
        return Err("ziplist tail offset mismatch");
    }
    if count != 65535 && count != out.len() {
        return Err("ziplist entry count mismatch");
    }
    Ok(out)
}

/// A field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (field, value) pairs of a zipmap, validated.
pub fn zipmap(zm: &[u8]) -> Result<Vec<Pair<'_>>, &'static str> {
    let bad = "zipmap out of bounds";
    let declared = *zm.first().ok_or(bad)? as usize;
    let mut p = 1;
    let len_at = |p: &mut usize| -> Result<usize, &'static str> {
        let b = *zm.get(*p).ok_or(bad)?;
        match b {
            0..=253 => {
                *p += 1;
                Ok(b as usize)
            }
            254 => {
                let v = zm.get(*p + 1..*p + 5).ok_or(bad)?;
                *p += 5;
                Ok(u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize)
            }
            _ => Err("zipmap invalid length"),
        }
    };
    let mut out = Vec::new();
    loop {
        match zm.get(p) {
            None => return Err(bad),
            Some(0xFF) => break,
            Some(_) => {}
        }
        let klen = len_at(&mut p)?;
        let key = zm.get(p..p.saturating_add(klen)).ok_or(bad)?;
        p += klen;
        let vlen = len_at(&mut p)?;
        let free = *zm.get(p).ok_or(bad)? as usize;
        p += 1;
        let val = zm.get(p..p.saturating_add(vlen)).ok_or(bad)?;
        p = p.saturating_add(vlen).saturating_add(free);
        out.push((key, val));
    }
    if p + 1 != zm.len() {
        return Err("zipmap has data after its terminator");
    }
    if declared < 254 && declared != out.len() {
        return Err("zipmap entry count mismatch");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_redis_ziplist() {
        // RPUSH of "a", 1, 300, "hello" as Redis 3.2 stored a ziplist.
        let entries: Vec<Vec<u8>> = vec![
            vec![0x00, 0x01, b'a'],
            vec![0x03, 0xF2],
            vec![0x02, 0xC0, 0x2C, 0x01],
            vec![0x04, 0x05, b'h', b'e', b'l', b'l', b'o'],
        ];
        let body: Vec<u8> = entries.concat();
        let tail = 10 + 3 + 2 + 4;
        let total = 10 + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&4u16.to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        let got = ziplist(&zl).unwrap();
        assert_eq!(
            got,
            vec![
                Elem::Str(b"a"),
                Elem::Int(1),
                Elem::Int(300),
                Elem::Str(b"hello")
            ]
        );
        for cut in 0..zl.len() {
            assert!(ziplist(&zl[..cut]).is_err());
        }
        for i in 0..zl.len() {
            let mut bad = zl.clone();
            bad[i] ^= 0xA5;
            let _ = ziplist(&bad);
        }
    }

    #[test]
    fn parses_a_zipmap() {
        let zm = [
            2, 1, b'a', 1, 0, b'x', 2, b'b', b'c', 3, 2, b'y', b'z', b'w', 0, 0, 0xFF,
        ];
        assert_eq!(
            zipmap(&zm).unwrap(),
            vec![(&b"a"[..], &b"x"[..]), (&b"bc"[..], &b"yzw"[..])]
        );
        for cut in 0..zm.len() {
            assert!(zipmap(&zm[..cut]).is_err());
        }
    }
}
