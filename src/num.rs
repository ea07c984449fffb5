//! Number parsing that must accept and reject exactly what Redis does. The
//! work is done by the C library's `strtod`/`strtold` (csrc/longdouble.c),
//! as in Redis, so hex floats, `inf`, `infinity` and range errors agree.

use std::os::raw::{c_int, c_long, c_longlong};

extern "C" {
    fn ember_strtod(s: *const u8, len: usize, out: *mut f64, range_err: *mut c_int) -> c_long;
    fn ember_parse_timeout(s: *const u8, len: usize, ms: *mut c_longlong) -> c_int;
    fn ember_fmt_g17(v: f64, out: *mut u8, cap: usize) -> c_int;
    fn ember_ld_human(v: f64, out: *mut u8, cap: usize) -> c_long;
}

/// `v` as Redis's human long-double form (`%.17Lf`, trailing zeros
/// dropped): GEOPOS and WITHCOORD coordinates.
pub fn fmt_human(v: f64, buf: &mut [u8; 400]) -> &[u8] {
    // SAFETY: `buf` is 400 writable bytes; the C side writes at most `cap`.
    let n = unsafe { ember_ld_human(v, buf.as_mut_ptr(), buf.len()) };
    &buf[..n.max(0) as usize]
}

/// `v` printed with C's `%.17Lg` (Redis's `ld2string` in `LD_STR_AUTO` mode).
pub fn fmt_g17(v: f64, buf: &mut [u8; 64]) -> &[u8] {
    // SAFETY: `buf` is 64 writable bytes; the C side writes at most `cap`.
    let n = unsafe { ember_fmt_g17(v, buf.as_mut_ptr(), buf.len()) };
    &buf[..n.max(0) as usize]
}

/// `strtod` over `b` (up to its first NUL): the value, how many bytes were
/// consumed and whether a range error was reported.
pub fn strtod(b: &[u8]) -> (f64, usize, bool) {
    let (mut out, mut range_err) = (0.0f64, 0 as c_int);
    // SAFETY: the pointer and length describe `b`; the C side copies at most
    // `len` bytes and writes only through the two out-pointers.
    let n = unsafe { ember_strtod(b.as_ptr(), b.len(), &mut out, &mut range_err) };
    (out, n.max(0) as usize, range_err != 0)
}

/// The common score or increment, an optional `-` and at most 15 digits,
/// converted without strtod (about 450 instructions for "0"). Below 10^15
/// every integer is an exact double, so the value is exactly strtod's;
/// "-0" stays -0.0 as it is there.
#[inline]
fn small_integer(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    let v = v as f64;
    Some(if neg { -v } else { v })
}

/// Redis's `string2d`: the whole text is a double, no leading space, no
/// overflow or underflow to zero, not NaN.
pub fn string2d(b: &[u8]) -> Option<f64> {
    if let Some(v) = small_integer(b) {
        return Some(v);
    }
    if b.is_empty() || b[0].is_ascii_whitespace() || b[0] == 0x0b {
        return None;
    }
    let (v, n, range_err) = strtod(b);
    if n != b.len() || v.is_nan() || (range_err && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// Why a blocking timeout was refused (the error text is Redis's).
#[derive(Debug, PartialEq, Eq)]
pub enum TimeoutError {
    NotFloat,
    OutOfRange,
    Negative,
}

impl TimeoutError {
    pub fn message(&self) -> &'static str {
        match self {
            TimeoutError::NotFloat => "timeout is not a float or out of range",
            TimeoutError::OutOfRange => "timeout is out of range",
            TimeoutError::Negative => "timeout is negative",
        }
    }
}

/// A blocking command's timeout argument (seconds, fractions allowed) in
/// milliseconds, rounded up as Redis does: `0.0001` is 1 ms, `0` is forever.
pub fn timeout_ms(b: &[u8]) -> Result<u64, TimeoutError> {
    let mut ms: c_longlong = 0;
    // SAFETY: as in `strtod`.
    match unsafe { ember_parse_timeout(b.as_ptr(), b.len(), &mut ms) } {
        0 => Ok(ms as u64),
        -1 => Err(TimeoutError::NotFloat),
        -2 => Err(TimeoutError::OutOfRange),
        _ => Err(TimeoutError::Negative),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_integers_read_as_strtod_reads_them() {
        for text in [
            &b"0"[..],
            b"-0",
            b"7",
            b"-7",
            b"007",
            b"123456789012345",
            b"-999999999999999",
            b"1234567890123456",
            b"-",
            b"",
            b"1.",
            b"+1",
            b"1e3",
            b"12a",
        ] {
            let (v, n, range_err) = strtod(text);
            let slow = (n == text.len() && !text.is_empty() && !range_err).then_some(v);
            if let Some(fast) = small_integer(text) {
                let slow = slow.expect("strtod reads it whole");
                assert_eq!(
                    fast.to_bits(),
                    slow.to_bits(),
                    "{:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        assert_eq!(
            small_integer(b"-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(small_integer(b"1234567890123456"), None);
    }

    #[test]
    fn doubles_as_redis_reads_them() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"+inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"infinity"), Some(f64::INFINITY));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"1e-310"), Some(1e-310));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x002",
        ] {
            assert_eq!(string2d(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(strtod(b"(1"), (0.0, 0, false));
        assert_eq!(strtod(b"1\x00x"), (1.0, 1, false));
    }

    #[test]
    fn g17() {
        let mut b = [0u8; 64];
        assert_eq!(fmt_g17(0.1, &mut b), b"0.10000000000000001");
        assert_eq!(fmt_g17(1.5, &mut b), b"1.5");
        assert_eq!(fmt_g17(f64::INFINITY, &mut b), b"inf");
        assert_eq!(fmt_g17(1e100, &mut b), b"1e+100");
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout_ms(b"0"), Ok(0));
        assert_eq!(timeout_ms(b"0.001"), Ok(1));
        assert_eq!(timeout_ms(b"0.0001"), Ok(1));
        assert_eq!(timeout_ms(b"1.5"), Ok(1500));
        assert_eq!(timeout_ms(b"-1"), Err(TimeoutError::Negative));
        assert_eq!(timeout_ms(b"x"), Err(TimeoutError::NotFloat));
        assert_eq!(timeout_ms(b"1e30"), Err(TimeoutError::OutOfRange));
        assert_eq!(timeout_ms(b"inf"), Err(TimeoutError::OutOfRange));
    }
}
