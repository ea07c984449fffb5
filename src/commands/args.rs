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
