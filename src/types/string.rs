//! The string type. Like Redis, a string that is the canonical decimal form of
//! a 64-bit integer is kept as that integer (`OBJECT ENCODING` = `int`), which
//! makes counters (`INCR`) cheap and small; everything else is a byte buffer
//! (`embstr` up to 44 bytes as created by SET, otherwise `raw`).

use crate::protocol::parse_i64;

/// Longest string reported as `embstr` (Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_MAX: usize = 44;

/// Largest string a command may create (Redis's `proto-max-bulk-len` default,
/// also the APPEND/SETRANGE/SETBIT limit).
pub const STRING_MAX: usize = 512 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    /// An integer kept in binary form.
    Int(i64),
    /// Bytes as written by SET and friends (`embstr` when short).
    Bytes(Vec<u8>),
    /// Bytes that were modified in place (APPEND, SETRANGE, SETBIT): Redis
    /// reports these as `raw` whatever their length.
    Raw(Vec<u8>),
}

impl Str {
    /// A string value from client bytes, stored as an integer when it is one.
    pub fn from_bytes(b: &[u8]) -> Str {
        if b.len() <= 20 {
            if let Some(n) = parse_i64(b) {
                return Str::Int(n);
            }
        }
        Str::Bytes(b.to_vec())
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Bytes(b) if b.len() <= EMBSTR_MAX => "embstr",
            Str::Bytes(_) | Str::Raw(_) => "raw",
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            Str::Bytes(b) | Str::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Call `f` with the string's bytes, formatting an integer on the stack.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Bytes(b) | Str::Raw(b) => f(b),
        }
    }

    /// The bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The value as an integer, if it is one (INCR and friends).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Str::Int(n) => Some(*n),
            Str::Bytes(b) | Str::Raw(b) => parse_i64(b),
        }
    }

    /// Make room for the value to reach `newlen` bytes as Redis's
    /// `sdsMakeRoomFor` does: double while under 1 MB, then 1 MB more at a
    /// time (a growing string does not reserve as much again as it holds).
    pub fn reserve_like_sds(bytes: &mut Vec<u8>, newlen: usize) {
        const MAX_PREALLOC: usize = 1024 * 1024;
        if bytes.capacity() >= newlen {
            return;
        }
        let target = if newlen < MAX_PREALLOC {
            newlen * 2
        } else {
            newlen + MAX_PREALLOC
        };
        bytes.reserve_exact(target - bytes.len());
    }

    /// Mutable bytes for in-place edits (APPEND, SETRANGE, SETBIT); turns the
    /// value into the `raw` form.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        let bytes = match std::mem::replace(self, Str::Raw(Vec::new())) {
            Str::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            Str::Bytes(b) | Str::Raw(b) => b,
        };
        *self = Str::Raw(bytes);
        match self {
            Str::Raw(b) => b,
            _ => unreachable!("just set to Raw"),
        }
    }
}

extern "C" {
    fn ember_ld_add(
        cur: *const u8,
        cur_len: usize,
        inc: *const u8,
        inc_len: usize,
        out: *mut u8,
        cap: usize,
    ) -> std::os::raw::c_long;
}

/// Why INCRBYFLOAT failed.
#[derive(Debug, PartialEq, Eq)]
pub enum FloatAddError {
    /// The current value or the increment is not a valid float.
    NotFloat,
    /// The sum is NaN or infinite.
    NanOrInfinity,
}

/// `cur + inc` computed and formatted exactly as Redis's INCRBYFLOAT does
/// (long double arithmetic, `%.17Lf` with trailing zeros removed).
pub fn incr_by_float(cur: &[u8], inc: &[u8]) -> Result<Vec<u8>, FloatAddError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    // SAFETY: the pointers and lengths describe live buffers; the C side reads
    // at most `*_len` bytes of the inputs and writes at most `cap` bytes.
    let n = unsafe {
        ember_ld_add(
            cur.as_ptr(),
            cur.len(),
            inc.as_ptr(),
            inc.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        -2 => Err(FloatAddError::NanOrInfinity),
        n if n < 0 => Err(FloatAddError::NotFloat),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incrbyfloat_matches_redis_long_double_output() {
        // Expected values printed by a real redis-server on x86-64.
        let cases: &[(&str, &str, &str)] = &[
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("0", "123456.7", "123456.70000000000000284"),
            ("0", "1e20", "100000000000000000000"),
            ("0", "3.0e3", "3000"),
            ("0", "1.5e-7", "0.00000015"),
            ("0", "-0.0", "0"),
            ("5", "-5", "0"),
            ("0", "99999999999.99", "99999999999.99000000208616257"),
        ];
        for (a, b, want) in cases {
            let got = incr_by_float(a.as_bytes(), b.as_bytes()).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), *want, "{a} + {b}");
        }
        assert_eq!(incr_by_float(b"1", b" 1"), Err(FloatAddError::NotFloat));
        assert_eq!(incr_by_float(b"1", b"1x"), Err(FloatAddError::NotFloat));
        assert_eq!(incr_by_float(b"abc", b"1"), Err(FloatAddError::NotFloat));
        assert_eq!(incr_by_float(b"1", b"nan"), Err(FloatAddError::NotFloat));
        assert_eq!(incr_by_float(b"2\0\0", b"1"), Err(FloatAddError::NotFloat));
        assert_eq!(
            incr_by_float(b"1", b"inf"),
            Err(FloatAddError::NanOrInfinity)
        );
    }
}
