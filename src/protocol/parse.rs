//! Request parsing: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! commands (`GET k\r\n`, as typed into telnet).
//!
//! The parser never copies a multibulk argument: it records where each argument
//! lies in the read buffer, and the command sees borrowed slices of that buffer.
//! It never allocates according to a length the client *declared*; buffers only
//! grow with bytes that actually arrived, so `*2147483647` or `$2147483648`
//! cost nothing but an error.
//!
//! Error texts are Redis's (`networking.c`), because client libraries and tests
//! match on them.

use std::ops::{Index, Range};

/// Longest inline request, or `*<count>` / `$<len>` line, without a newline
/// before the server gives up (Redis's PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;

/// Most arguments a multibulk request may declare (Redis refuses more than
/// INT_MAX; we keep the same bound).
pub const MULTIBULK_MAX: i64 = i32::MAX as i64;

/// A protocol violation: the connection is answered with `-ERR <text>` and closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(s: &str) -> Self {
        ProtocolError(format!("Protocol error: {s}"))
    }
}

/// Limits that apply while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest bulk argument accepted: `proto-max-bulk-len`, or
    /// [`UNAUTH_BULK`] for a client that must still authenticate.
    pub max_bulk_len: i64,
    /// The most arguments in a request: [`MULTIBULK_MAX`], or
    /// [`UNAUTH_MULTIBULK`] before authentication. As in Redis, no one can
    /// make the server buffer much before logging in.
    pub max_multibulk: i64,
    /// The tighter limits are in force (their errors have their own text).
    pub unauthenticated: bool,
    /// `proto-max-bulk-len` itself (longer is an invalid length, even
    /// before authentication).
    pub proto_max_bulk_len: i64,
}

impl Limits {
    /// After a command that may have authenticated the client (AUTH,
    /// HELLO AUTH, RESET, an ACL change): the limits that now apply.
    #[inline]
    pub fn follow(&mut self, authenticated: bool) {
        if self.unauthenticated == authenticated {
            *self = Limits::new(self.proto_max_bulk_len, authenticated);
        }
    }

    /// The limits for a client, authenticated or not, under
    /// `proto-max-bulk-len` = `max_bulk_len`.
    #[inline]
    pub fn new(max_bulk_len: i64, authenticated: bool) -> Limits {
        if authenticated {
            Limits {
                max_bulk_len,
                max_multibulk: MULTIBULK_MAX,
                unauthenticated: false,
                proto_max_bulk_len: max_bulk_len,
            }
        } else {
            Limits {
                max_bulk_len: max_bulk_len.min(UNAUTH_BULK as i64),
                max_multibulk: UNAUTH_MULTIBULK,
                unauthenticated: true,
                proto_max_bulk_len: max_bulk_len,
            }
        }
    }
}

/// Most arguments in a request from a client that must authenticate.
pub const UNAUTH_MULTIBULK: i64 = 10;
/// Largest argument from a client that must authenticate.
pub const UNAUTH_BULK: usize = 16384;

impl Default for Limits {
    fn default() -> Self {
        Limits::new(512 * 1024 * 1024, true)
    }
}

/// Where a request's arguments are, after a successful parse.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet for a whole request.
    Incomplete,
    /// An empty request (a blank inline line, `*0`, `*-1`): skip `consumed` bytes.
    Empty { consumed: usize },
    /// A multibulk request: argument ranges point into the read buffer.
    Multibulk { consumed: usize },
    /// An inline request: argument ranges point into the parser's scratch buffer.
    Inline { consumed: usize },
}

/// Reusable parsing state for one connection: the argument ranges of the last
/// request and a scratch buffer for inline arguments (which need unescaping and
/// so cannot borrow the read buffer).
#[derive(Default)]
pub struct Parser {
    pub ranges: Vec<Range<usize>>,
    pub scratch: Vec<u8>,
    /// After [`Parsed::Incomplete`] inside a bulk argument: the bytes the
    /// request needs from its start to the end of that argument (0 if not
    /// known), so the read buffer can grow to fit it instead of doubling.
    pub need: usize,
}

/// The arguments of one request, borrowed from the buffer they were parsed from.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    pub fn new(buf: &'a [u8], ranges: &'a [Range<usize>]) -> Self {
        Args { buf, ranges }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// The i-th argument (0 is the command name).
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.buf[self.ranges[i].clone()]
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        self.ranges.iter().map(|r| &self.buf[r.clone()])
    }
    /// Arguments `range` (which must be in bounds), as a sub-view.
    pub fn sub(&self, range: Range<usize>) -> Args<'a> {
        Args {
            buf: self.buf,
            ranges: &self.ranges[range],
        }
    }
    /// Arguments from `from` to the end, as a sub-view.
    pub fn slice(&self, from: usize) -> Args<'a> {
        Args {
            buf: self.buf,
            ranges: &self.ranges[from.min(self.ranges.len())..],
        }
    }
}

impl Index<usize> for Args<'_> {
    type Output = [u8];
    #[inline]
    fn index(&self, i: usize) -> &[u8] {
        &self.buf[self.ranges[i].clone()]
    }
}

/// The common count or length line, `<digits>\r\n` at `buf[at..]`: its value
/// and the index of its `\r`, in one pass. Anything else (a sign, a leading
/// zero, more than 18 digits, a line not yet complete) is None, and the
/// general path ([`find_crlf`] then [`parse_i64`]) judges it, so both paths
/// agree wherever this one answers: the digits hold no `\r`, so the first
/// CRLF is the one after them.
#[inline(always)]
fn quick_number(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let digits = buf.get(at..)?;
    let mut v: u64 = 0;
    let mut n = 0;
    while n < digits.len() && n < 18 && digits[n].is_ascii_digit() {
        v = v * 10 + (digits[n] - b'0') as u64;
        n += 1;
    }
    if n == 0 || (n > 1 && digits[0] == b'0') {
        return None;
    }
    match digits.get(n..n + 2) {
        Some(b"\r\n") => Some((v, at + n)),
        _ => None,
    }
}

/// Find `\r\n` in `buf[from..]`, returning the index of the `\r`.
#[inline]
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = memchr(b'\r', &buf[i..]) {
        let p = i + off;
        if p + 1 < buf.len() {
            if buf[p + 1] == b'\n' {
                return Some(p);
            }
            i = p + 1;
        } else {
            return None;
        }
    }
    None
}

#[inline]
fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Parse a signed decimal integer the way Redis's `string2ll` does: no
/// whitespace, no `+`, no leading zeros (except "0").
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

impl Parser {
    /// Give back what a request with more than `keep` arguments (or a
    /// large inline one) left allocated.
    #[inline]
    pub fn shrink(&mut self, keep: usize) {
        if self.ranges.capacity() > keep {
            self.ranges = Vec::new();
        }
        if self.scratch.capacity() > keep * 16 {
            self.scratch = Vec::new();
        }
    }

    /// Parse one request from the start of `buf`.
    pub fn parse(&mut self, buf: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
        self.ranges.clear();
        self.need = 0;
        match buf.first() {
            None => Ok(Parsed::Incomplete),
            Some(b'*') => self.parse_multibulk(buf, limits),
            Some(_) => self.parse_inline(buf),
        }
    }

    /// The next request at the front of `buf`, past any empty ones (blank
    /// inline lines, `*0`, `*-1`): the bytes those took, and the request
    /// that starts there. Never [`Parsed::Empty`].
    pub fn next_request(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<(usize, Parsed), ProtocolError> {
        let mut skipped = 0;
        loop {
            match self.parse(&buf[skipped..], limits)? {
                Parsed::Empty { consumed } => skipped += consumed,
                parsed => return Ok((skipped, parsed)),
            }
        }
    }

    /// The arguments of the last parse, given the buffer it was parsed from.
    pub fn args<'a>(&'a self, buf: &'a [u8], parsed: &Parsed) -> Args<'a> {
        match parsed {
            Parsed::Inline { .. } => Args::new(&self.scratch, &self.ranges),
            _ => Args::new(buf, &self.ranges),
        }
    }

    fn parse_multibulk(&mut self, buf: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
        let (count, eol) = match quick_number(buf, 1) {
            Some((n, eol)) if n <= limits.max_multibulk as u64 => (n as i64, eol),
            _ => {
                let Some(eol) = find_crlf(buf, 1) else {
                    if buf.len() > INLINE_MAX {
                        return Err(ProtocolError::new("too big mbulk count string"));
                    }
                    return Ok(Parsed::Incomplete);
                };
                match parse_i64(&buf[1..eol]) {
                    Some(n) if n <= limits.max_multibulk => (n, eol),
                    Some(n) if n <= MULTIBULK_MAX && limits.unauthenticated => {
                        return Err(ProtocolError::new("unauthenticated multibulk length"))
                    }
                    _ => return Err(ProtocolError::new("invalid multibulk length")),
                }
            }
        };
        let mut pos = eol + 2;
        if count <= 0 {
            return Ok(Parsed::Empty { consumed: pos });
        }
        // Reserve by what is plausible for the bytes at hand, never by `count`.
        let hint = (count as usize).min(buf.len() / 4 + 1).min(1024);
        self.ranges.reserve(hint);
        for _ in 0..count {
            if pos >= buf.len() {
                return Ok(Parsed::Incomplete);
            }
            if buf[pos] != b'$' {
                let got = buf[pos] as char;
                return Err(ProtocolError(format!(
                    "Protocol error: expected '$', got '{got}'"
                )));
            }
            let (len, eol) = match quick_number(buf, pos + 1) {
                Some((n, eol)) if n <= limits.max_bulk_len.max(0) as u64 => (n as usize, eol),
                _ => {
                    let Some(eol) = find_crlf(buf, pos + 1) else {
                        if buf.len() - pos > INLINE_MAX {
                            return Err(ProtocolError::new("too big bulk count string"));
                        }
                        return Ok(Parsed::Incomplete);
                    };
                    match parse_i64(&buf[pos + 1..eol]) {
                        Some(n) if (0..=limits.max_bulk_len).contains(&n) => (n as usize, eol),
                        // Within proto-max-bulk-len, but not before AUTH.
                        Some(n)
                            if limits.unauthenticated
                                && (0..=limits.proto_max_bulk_len).contains(&n) =>
                        {
                            return Err(ProtocolError::new("unauthenticated bulk length"))
                        }
                        _ => return Err(ProtocolError::new("invalid bulk length")),
                    }
                }
            };
            let start = eol + 2;
            let end = start + len;
            if buf.len() < end + 2 {
                self.need = end + 2;
                return Ok(Parsed::Incomplete);
            }
            // Redis does not verify the trailing CRLF; it skips two bytes.
            self.ranges.push(start..end);
            pos = end + 2;
        }
        Ok(Parsed::Multibulk { consumed: pos })
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        // Redis looks for the newline with strchr, which stops at a NUL: a
        // NUL before the newline means no complete line yet (until the
        // inline size limit turns it into an error). Mirror that exactly.
        let nl = memchr(b'\n', buf).filter(|&nl| memchr(0, &buf[..nl]).is_none());
        let Some(nl) = nl else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(Parsed::Incomplete);
        };
        let consumed = nl + 1;
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.scratch.clear();
        if !split_args(line, &mut self.scratch, &mut self.ranges) {
            return Err(ProtocolError::new("unbalanced quotes in request"));
        }
        if self.ranges.is_empty() {
            return Ok(Parsed::Empty { consumed });
        }
        Ok(Parsed::Inline { consumed })
    }
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// C's `isspace`: the separators of Redis's `sdssplitargs`.
#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Split an inline line into arguments with the quoting rules of Redis's
/// `sdssplitargs`: whitespace separates; "double quotes" allow `\n \r \t \b \a
/// \\ \" \xHH`; 'single quotes' allow `\'`; a closing quote must be followed by
/// whitespace or the end. Unescaped bytes go to `out`, their ranges to `ranges`.
/// Returns false on unbalanced quotes.
pub fn split_args(line: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<Range<usize>>) -> bool {
    // Redis splits a C string: a NUL byte ends the line (and leaves any open
    // quote unbalanced). Without this cut, a NUL outside quotes would be
    // neither part of an argument nor a separator, and the loop below would
    // never advance. (Requests never get here with a NUL, see parse_inline;
    // config-file lines can.)
    let line = match memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let start = out.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        out.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing.
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        ranges.push(start..out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_number_agrees_with_the_general_path() {
        let lines: &[&[u8]] = &[
            b"0\r\n",
            b"7\r\n",
            b"16\r\n",
            b"00\r\n",
            b"01\r\n",
            b"-1\r\n",
            b"+3\r\n",
            b"3\r",
            b"3",
            b"",
            b"\r\n",
            b"3\rx\r\n",
            b"3 \r\n",
            b"123456789012345678\r\n",
            b"1234567890123456789\r\n",
            b"9223372036854775807\r\n",
            b"9223372036854775808\r\n",
            b"12x\r\n",
            b"5\n",
        ];
        for line in lines {
            let general = find_crlf(line, 0).and_then(|eol| Some((parse_i64(&line[..eol])?, eol)));
            if let Some((v, eol)) = quick_number(line, 0) {
                assert_eq!(
                    Some((v as i64, eol)),
                    general,
                    "{:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        assert_eq!(quick_number(b"*16\r\n", 1), Some((16, 3)));
        assert_eq!(quick_number(b"01\r\n", 0), None);
        assert_eq!(quick_number(b"1234567890123456789\r\n", 0), None);
    }

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::default();
        let mut pos = 0;
        let mut reqs = Vec::new();
        let limits = Limits::default();
        loop {
            let parsed = p.parse(&input[pos..], &limits)?;
            match parsed {
                Parsed::Incomplete => return Ok(reqs),
                Parsed::Empty { consumed } => pos += consumed,
                Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => {
                    let args = p.args(&input[pos..], &parsed);
                    reqs.push(args.iter().map(|a| a.to_vec()).collect());
                    pos += consumed;
                }
            }
        }
    }

    #[test]
    fn multibulk_and_inline_mixed() {
        let r =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\n\r\n*0\r\n").unwrap();
        assert_eq!(
            r,
            vec![
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![b"PING".to_vec()],
                vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()],
            ]
        );
    }

    #[test]
    fn every_split_point_is_incomplete_then_whole() {
        let req = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = Parser::default();
        for cut in 0..req.len() {
            assert_eq!(
                p.parse(&req[..cut], &Limits::default()).unwrap(),
                Parsed::Incomplete
            );
        }
        assert_eq!(
            p.parse(req, &Limits::default()).unwrap(),
            Parsed::Multibulk {
                consumed: req.len()
            }
        );
    }

    #[test]
    fn errors_have_redis_text() {
        let e = |b: &[u8]| parse_all(b).unwrap_err().0;
        assert_eq!(
            e(b"*2\r\n$2147483648\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*abc\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(e(b"*1\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
        assert_eq!(
            e(b"set a \"b\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(b"set a \"b\"c\n"),
            "Protocol error: unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(e(&big), "Protocol error: too big inline request");
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(e(&big), "Protocol error: too big mbulk count string");
    }

    #[test]
    fn nul_in_an_inline_line() {
        // Found by the property test below: this used to loop forever.
        // Like Redis, a NUL before the newline leaves the line incomplete.
        let mut p = Parser::default();
        let limits = Limits::default();
        assert_eq!(
            p.parse(b"ECHO x\0y\r\nPING\r\n", &limits).unwrap(),
            Parsed::Incomplete
        );
        let mut big = b"ECHO x\0y\r\n".to_vec();
        big.extend(vec![b'a'; INLINE_MAX]);
        assert_eq!(
            p.parse(&big, &limits).unwrap_err().0,
            "Protocol error: too big inline request"
        );
        // split_args itself (also used for config files) stops at a NUL.
        let (mut out, mut ranges) = (Vec::new(), Vec::new());
        assert!(split_args(b"SET a\0b c", &mut out, &mut ranges));
        assert_eq!(ranges.len(), 2);
        assert!(!split_args(b"SET \"a\0\"", &mut out, &mut ranges));
    }

    #[test]
    fn inline_escapes() {
        let r = parse_all(b"echo \"a\\x41\\n\" 'it\\'s'\r\n").unwrap();
        assert_eq!(r[0][1], b"aA\n");
        assert_eq!(r[0][2], b"it's");
    }

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b""), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn encode(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest! {
        /// No input makes the parser panic, and it never claims more bytes
        /// than it was given.
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut p = Parser::default();
            let limits = Limits::new(1 << 20, true);
            let mut pos = 0;
            while pos < input.len() {
                match p.parse(&input[pos..], &limits) {
                    Ok(Parsed::Incomplete) | Err(_) => break,
                    Ok(Parsed::Empty { consumed })
                    | Ok(Parsed::Multibulk { consumed })
                    | Ok(Parsed::Inline { consumed }) => {
                        prop_assert!(consumed > 0 && consumed <= input.len() - pos);
                        pos += consumed;
                    }
                }
            }
        }

        /// Any multibulk request parses back to its arguments, and every
        /// proper prefix of it is incomplete.
        #[test]
        fn multibulk_round_trips(args in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..40), 1..8)) {
            let wire = encode(&args);
            let mut p = Parser::default();
            let limits = Limits::default();
            for cut in 0..wire.len() {
                prop_assert_eq!(p.parse(&wire[..cut], &limits).unwrap(), Parsed::Incomplete);
            }
            let parsed = p.parse(&wire, &limits).unwrap();
            prop_assert_eq!(&parsed, &Parsed::Multibulk { consumed: wire.len() });
            let got: Vec<Vec<u8>> = p.args(&wire, &parsed).iter().map(|a| a.to_vec()).collect();
            prop_assert_eq!(got, args);
        }
    }
}
