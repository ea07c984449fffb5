//! Reply encoding for RESP2 and RESP3.
//!
//! Commands write replies straight into the connection's output buffer through
//! [`Reply`]; all replies of one pipelined batch leave in one `write`. The
//! encoder knows the client's protocol version, so a command asks for "a map"
//! or "a null" and gets `%2`/`_` under RESP3 and `*4`/`$-1` under RESP2.

/// The output buffer of one connection, with the protocol it speaks.
#[derive(Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    /// true after `HELLO 3`.
    pub resp3: bool,
    /// The most bytes written out at once since the connection last reset
    /// it (server::trim sizes the buffer by it).
    pub peak: usize,
}

/// The bytes of the most common replies.
pub const OK: &[u8] = b"+OK\r\n";

impl Reply {
    pub fn new(resp3: bool) -> Self {
        Reply {
            buf: Vec::with_capacity(16 * 1024),
            resp3,
            peak: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.push(prefix);
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Raw, already-encoded bytes.
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(OK);
    }

    /// `+text` (a status reply). `text` must not contain CR or LF.
    #[inline]
    pub fn simple(&mut self, text: &str) {
        self.simple_bytes(text.as_bytes());
    }

    pub fn simple_bytes(&mut self, text: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-text`: `text` starts with the error code (`ERR ...`, `WRONGTYPE ...`).
    /// CR and LF inside are replaced with spaces, as Redis does, so an error
    /// can never break the framing.
    pub fn error(&mut self, text: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk string: `$-1` (RESP2) or `_` (RESP3).
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` (RESP2) or `_` (RESP3).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` (RESP3) or an array of 2n (RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set of `n` elements: `~n` (RESP3) or an array (RESP2).
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A push frame (`>n`, RESP3) or an array (RESP2 pub/sub messages).
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// A boolean: `#t`/`#f` (RESP3) or `:1`/`:0` (RESP2).
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A double: `,<repr>` (RESP3) or a bulk string (RESP2), in Redis's
    /// formatting ([`format_double`]).
    pub fn double(&mut self, d: f64) {
        let mut tmp = [0u8; 32];
        let s = format_double(d, &mut tmp);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...`, RESP3) or a bulk string (RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An array of status lines (the shape of every `... HELP` reply).
    pub fn lines(&mut self, lines: &[&str]) {
        self.array(lines.len());
        for l in lines {
            self.simple(l);
        }
    }

    /// Start an aggregate whose length is not known yet; finish it with
    /// [`Reply::end_array`]. Used rarely (the header is spliced in afterwards).
    pub fn begin_deferred(&mut self) -> usize {
        self.buf.len()
    }

    /// Insert an array header of `n` at a position from [`Reply::begin_deferred`].
    pub fn end_array(&mut self, at: usize, n: usize) {
        self.end_deferred(at, b'*', n as i64);
    }

    /// Insert a map header for `n` pairs at a position from [`Reply::begin_deferred`].
    pub fn end_map(&mut self, at: usize, n: usize) {
        if self.resp3 {
            self.end_deferred(at, b'%', n as i64);
        } else {
            self.end_deferred(at, b'*', 2 * n as i64);
        }
    }

    fn end_deferred(&mut self, at: usize, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        let mut hdr = [0u8; 24];
        hdr[0] = prefix;
        hdr[1..1 + digits.len()].copy_from_slice(digits);
        hdr[1 + digits.len()..3 + digits.len()].copy_from_slice(b"\r\n");
        let hdr = &hdr[..3 + digits.len()];
        self.buf.splice(at..at, hdr.iter().copied());
    }
}

/// Format a double as Redis 7.2 replies with it: `inf`, `-inf`, `nan`, integral
/// values without a fraction (`3`), otherwise the shortest text that reads back
/// as the same double, with a signed exponent where one is used (`1e+100`).
pub fn format_double(d: f64, tmp: &mut [u8; 32]) -> &[u8] {
    if d.is_nan() {
        return b"nan";
    }
    if d.is_infinite() {
        return if d > 0.0 { b"inf" } else { b"-inf" };
    }
    let mut rb = ryu::Buffer::new();
    let s = rb.format_finite(d).as_bytes();
    // ryu writes "1.0" for integral values and "1e100"/"1e-7" for exponents.
    let s = s.strip_suffix(b".0").unwrap_or(s);
    let mut n = 0;
    for (i, &c) in s.iter().enumerate() {
        tmp[n] = c;
        n += 1;
        if c == b'e' && s.get(i + 1) != Some(&b'-') {
            tmp[n] = b'+';
            n += 1;
        }
    }
    &tmp[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut r2 = Reply::new(false);
        let mut r3 = Reply::new(true);
        for r in [&mut r2, &mut r3] {
            r.map(1);
            r.bulk(b"a");
            r.null();
            r.boolean(true);
            r.double(1.5);
        }
        assert_eq!(r2.buf, b"*2\r\n$1\r\na\r\n$-1\r\n:1\r\n$3\r\n1.5\r\n");
        assert_eq!(r3.buf, b"%1\r\n$1\r\na\r\n_\r\n#t\r\n,1.5\r\n");
    }

    #[test]
    fn deferred_header() {
        let mut r = Reply::new(false);
        r.int(7);
        let at = r.begin_deferred();
        r.bulk(b"x");
        r.bulk(b"y");
        r.end_array(at, 2);
        assert_eq!(r.buf, b":7\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
    }

    #[test]
    fn doubles() {
        let mut t = [0u8; 32];
        assert_eq!(format_double(3.0, &mut t), b"3");
        let mut t = [0u8; 32];
        assert_eq!(format_double(0.1, &mut t), b"0.1");
        let mut t = [0u8; 32];
        assert_eq!(format_double(1e100, &mut t), b"1e+100");
        let mut t = [0u8; 32];
        assert_eq!(format_double(f64::NEG_INFINITY, &mut t), b"-inf");
        let mut t = [0u8; 32];
        assert_eq!(format_double(-2.5e-7, &mut t), b"-2.5e-7");
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut r = Reply::new(false);
        r.error("ERR a\r\nb");
        assert_eq!(r.buf, b"-ERR a  b\r\n");
    }
}
