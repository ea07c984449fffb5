//! Argument parsing shared by command families, with Redis's error replies.

use crate::error::CmdError;
use crate::protocol::parse_i64;
use crate::util::eq_ic;

/// An integer argument (`ERR value is not an integer or out of range`).
#[inline]
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Whether an option argument matches `name` (case-insensitive).
#[inline]
pub fn is(arg: &[u8], name: &str) -> bool {
    eq_ic(arg, name.as_bytes())
}

/// The unit of an expire argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Millis,
}

/// Turn an expire argument into an absolute Unix-ms time, as Redis's
/// `getExpireMillisecondsOrReply`: not a number → not-an-integer error; zero,
/// negative, or overflowing → `invalid expire time in '<cmd>' command`.
/// `relative` adds `now` (EX/PX) as opposed to EXAT/PXAT.
pub fn expire_time(
    arg: &[u8],
    unit: Unit,
    relative: bool,
    now: u64,
    cmd: &'static str,
) -> Result<u64, CmdError> {
    let v = int(arg)?;
    let bad = CmdError::InvalidExpire(cmd);
    if v <= 0 {
        return Err(bad);
    }
    let mut ms = match unit {
        Unit::Seconds => v.checked_mul(1000).ok_or(bad.clone())?,
        Unit::Millis => v,
    };
    if relative {
        ms = ms.checked_add(now as i64).ok_or(bad.clone())?;
    }
    if ms <= 0 {
        return Err(bad);
    }
    Ok(ms as u64)
}

/// The expire options of SET and GETEX: `EX`/`PX` (relative) and
/// `EXAT`/`PXAT` (absolute), as (unit, relative).
pub fn expire_option(arg: &[u8]) -> Option<(Unit, bool)> {
    if is(arg, "ex") {
        Some((Unit::Seconds, true))
    } else if is(arg, "px") {
        Some((Unit::Millis, true))
    } else if is(arg, "exat") {
        Some((Unit::Seconds, false))
    } else if is(arg, "pxat") {
        Some((Unit::Millis, false))
    } else {
        None
    }
}

/// A SCAN-family cursor (`ERR invalid cursor`).
pub fn scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::err("invalid cursor"))
}

/// Options of SCAN, ZSCAN, … (`MATCH`, `COUNT`, and `TYPE` where allowed).
pub struct ScanOpts<'a> {
    /// None also when the pattern is `*`.
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_filter: Option<&'a [u8]>,
}

/// Parse scan options from `args[from..]`.
pub fn scan_opts<'a>(
    args: &crate::protocol::Args<'a>,
    from: usize,
    allow_type: bool,
) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        type_filter: None,
    };
    let mut i = from;
    while i < args.len() {
        let (a, has_value) = (args.get(i), i + 1 < args.len());
        if is(a, "count") && has_value {
            let c = int(args.get(i + 1))?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = c.min(1 << 30) as usize;
        } else if is(a, "match") && has_value {
            o.pattern = Some(args.get(i + 1)).filter(|p| *p != b"*");
        } else if allow_type && is(a, "type") && has_value {
            o.type_filter = Some(args.get(i + 1));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(o)
}

/// The arguments of ZMPOP/LMPOP and their blocking forms after the
/// `numkeys` at `ni`: the keys, which of the two words (`first`/`second`,
/// e.g. MIN|MAX, LEFT|RIGHT) was given (true for `second`), and COUNT
/// (default 1). Errors and their order as Redis's `*mpopGenericCommand`.
pub fn mpop<'a>(
    args: &crate::protocol::Args<'a>,
    ni: usize,
    first: &str,
    second: &str,
) -> Result<(Vec<&'a [u8]>, bool, usize), CmdError> {
    let numkeys = parse_i64(args.get(ni))
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))? as u64;
    let where_idx = (ni as u64).saturating_add(numkeys).saturating_add(1);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let which = if is(args.get(where_idx), first) {
        false
    } else if is(args.get(where_idx), second) {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && is(args.get(j), "count") && j + 1 < args.len() {
            let c = parse_i64(args.get(j + 1))
                .filter(|&n| n >= 1)
                .ok_or_else(|| CmdError::err("count should be greater than 0"))?;
            count = Some(c as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = (ni + 1..where_idx).map(|i| args.get(i)).collect();
    Ok((keys, which, count.unwrap_or(1)))
}

/// Key positions of a `numkeys key [key ...]` list whose count is at `at`
/// (COMMAND GETKEYS of ZUNION, LMPOP, …).
pub fn numkeys_positions(args: crate::protocol::Args<'_>, at: usize) -> Vec<usize> {
    let n = match args.iter().nth(at).and_then(parse_i64) {
        Some(n) if n > 0 && (n as usize) < args.len() - at => n as usize,
        _ => return Vec::new(),
    };
    (at + 1..at + 1 + n).collect()
}

/// Redis's text for a count that must not be negative.
pub const MUST_BE_POSITIVE: &str = "value is out of range, must be positive";

/// A count that must be >= 0 (`getPositiveLongFromObjectOrReply` with a
/// message): Redis answers `msg` for a non-integer too.
pub fn positive(arg: &[u8], msg: &'static str) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::err(msg)),
    }
}

/// A blocking command's timeout in ms (0: forever), with Redis's errors.
pub fn timeout(arg: &[u8]) -> Result<u64, CmdError> {
    crate::num::timeout_ms(arg).map_err(|e| CmdError::err(e.message()))
}

/// A timeout in whole milliseconds (WAIT, CLIENT PAUSE: Redis's
/// `getTimeoutFromObjectOrReply` in UNIT_MILLISECONDS), with its errors.
pub fn timeout_int_ms(arg: &[u8]) -> Result<u64, CmdError> {
    let ms = crate::protocol::parse::parse_i64(arg)
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    // As Redis: the deadline (now + timeout) must fit in 64 signed bits.
    if ms > i64::MAX - crate::util::now_ms() as i64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(ms as u64)
}

/// Redis's `addReplySubcommandSyntaxError`: a container's subcommand with
/// arguments it does not take (`args[0]` is the container, `args[1]` the
/// subcommand, shown up to 128 characters).
pub fn subcommand_syntax(args: crate::protocol::Args<'_>) -> CmdError {
    let sub: String = String::from_utf8_lossy(args.get(1))
        .chars()
        .take(128)
        .collect();
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        String::from_utf8_lossy(args.get(0)).to_uppercase()
    ))
}

/// Where the digits of a number C's `strto*`/`atoi` read start (past
/// leading blanks, `isspace`'s six, and one sign), and whether it is negative.
pub fn c_sign(b: &[u8]) -> (usize, bool) {
    let i = b
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .count();
    match b.get(i) {
        Some(b'-') => (i + 1, true),
        Some(b'+') => (i + 1, false),
        _ => (i, false),
    }
}

/// C's `atoi`: leading blanks, a sign, then digits up to the first other
/// byte; 0 when there are none.
pub fn atoi(b: &[u8]) -> i64 {
    let (i, neg) = c_sign(b);
    let mut n: i64 = 0;
    for &c in b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
    {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}
