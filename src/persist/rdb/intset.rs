//! Redis's intset blob (`intset.c`, RDB type 11): encoding (bytes per
//! integer: 2, 4 or 8; u32 LE), count (u32 LE), then the integers
//! little-endian, strictly ascending.

/// The blob of sorted, distinct integers, at the smallest width that holds
/// them all.
pub fn write(sorted: &[i64]) -> Vec<u8> {
    let width = sorted
        .iter()
        .map(|&v| {
            if i16::try_from(v).is_ok() {
                2
            } else if i32::try_from(v).is_ok() {
                4
            } else {
                8
            }
        })
        .max()
        .unwrap_or(2);
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for &v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// The integers of an intset blob, validated (known width, exact size,
/// non-empty, strictly ascending).
pub fn parse(b: &[u8]) -> Result<Vec<i64>, &'static str> {
    if b.len() < 8 {
        return Err("intset too short");
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("intset invalid encoding");
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(b.len()) {
        return Err("intset size mismatch");
    }
    if count == 0 {
        return Err("intset is empty");
    }
    let mut out = Vec::with_capacity(count);
    for c in b[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&last| last >= v) {
            return Err("intset not sorted");
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_validation() {
        assert_eq!(
            write(&[1, 2, 3]),
            [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]
        );
        for v in [vec![-5, 7], vec![-70000, 1], vec![i64::MIN, 0, i64::MAX]] {
            assert_eq!(parse(&write(&v)).unwrap(), v);
        }
        assert_eq!(write(&[1, 70000])[0], 4);
        assert!(parse(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err()); // unsorted
        assert!(parse(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0]).is_err()); // duplicate
        assert!(parse(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).is_err()); // width
        assert!(parse(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err()); // empty
        assert!(parse(&[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err()); // size
    }
}
