//! Range commands: by rank, by score and by member (lex), to read, count,
//! store or remove.

use super::{emit, emit_len, read, write, Z};
use crate::commands::args::{int, is};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::strtod;
use crate::protocol::Args;
use crate::types::zset::ZSet;

pub const COMMANDS: &[Command] = &[
    Command::new("zcount", 4, zcount)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Returns the count of members in a sorted set that have scores within a range.", "key min max"),
    Command::new("zlexcount", 4, zlexcount)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.8.9", "O(log(N)) with N being the number of elements in the sorted set.", "Returns the number of members in a sorted set within a lexicographical range.", "key min max"),
    Command::new("zrange", -4, zrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "Returns members in a sorted set within a range of indexes.", "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"),
    Command::new("zrangestore", -5, zrangestore)
        .flags(WRITE | DENYOOM)
        .keys(1, 2, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", "Stores a range of members from sorted set in a key.", "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]"),
    Command::new("zrevrange", -4, zrevrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "Returns members in a sorted set within a range of indexes in reverse order.", "key start stop [WITHSCORES]"),
    Command::new("zrangebyscore", -4, zrangebyscore)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.0.5", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Returns members in a sorted set within a range of scores.", "key min max [WITHSCORES] [LIMIT offset count]"),
    Command::new("zrevrangebyscore", -4, zrevrangebyscore)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Returns members in a sorted set within a range of scores in reverse order.", "key max min [WITHSCORES] [LIMIT offset count]"),
    Command::new("zrangebylex", -4, zrangebylex)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Returns members in a sorted set within a lexicographical range.", "key min max [LIMIT offset count]"),
    Command::new("zrevrangebylex", -4, zrevrangebylex)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Returns members in a sorted set within a lexicographical range in reverse order.", "key max min [LIMIT offset count]"),
    Command::new("zremrangebyrank", 4, zremrangebyrank)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "key start stop"),
    Command::new("zremrangebyscore", 4, zremrangebyscore)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "key min max"),
    Command::new("zremrangebylex", 4, zremrangebylex)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(Z)
        .group("sorted-set")
        .doc("2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "key min max"),
];

/// A score interval; `(` makes an end exclusive.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

/// One end of a score range, read as Redis's `zslParseRange` reads it (plain
/// `strtod` on the C string: leading space and a trailing NUL are fine).
fn score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (ex, text) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let c_len = text.iter().position(|&c| c == 0).unwrap_or(text.len());
    let (v, consumed, _) = strtod(text);
    (consumed == c_len && !v.is_nan()).then_some((v, ex))
}

impl ScoreRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        match (score_bound(min), score_bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
                min,
                max,
                minex,
                maxex,
            }),
            _ => Err(CmdError::err("min or max is not a float")),
        }
    }
    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
    fn below_min(&self, s: f64) -> bool {
        if self.minex {
            s <= self.min
        } else {
            s < self.min
        }
    }
    fn within_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

/// One end of a lex range.
#[derive(Clone, Copy, Debug)]
enum Lex<'a> {
    /// `-`
    Min,
    /// `+`
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// A member interval, as in ZRANGEBYLEX.
#[derive(Clone, Copy, Debug)]
pub struct LexRange<'a> {
    min: Lex<'a>,
    max: Lex<'a>,
}

fn lex_bound(b: &[u8]) -> Option<Lex<'_>> {
    // `+`/`-` must be alone (Redis reads a C string: a NUL ends it).
    let alone = b.len() == 1 || b.get(1) == Some(&0);
    match b.first() {
        Some(b'+') if alone => Some(Lex::Max),
        Some(b'-') if alone => Some(Lex::Min),
        Some(b'(') => Some(Lex::Excl(&b[1..])),
        Some(b'[') => Some(Lex::Incl(&b[1..])),
        _ => None,
    }
}

impl<'a> LexRange<'a> {
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
        match (lex_bound(min), lex_bound(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::err("min or max not valid string range item")),
        }
    }
    fn is_empty(&self) -> bool {
        use std::cmp::Ordering::*;
        let key = |l: Lex<'a>| match l {
            Lex::Min => (0, &[][..], false),
            Lex::Max => (2, &[][..], true),
            Lex::Incl(v) => (1, v, false),
            Lex::Excl(v) => (1, v, true),
        };
        let (a, b) = (key(self.min), key(self.max));
        match (a.0, a.1).cmp(&(b.0, b.1)) {
            Greater => true,
            Equal => a.2 || b.2,
            Less => false,
        }
    }
    fn below_min(&self, m: &[u8]) -> bool {
        match self.min {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(v) => m < v,
            Lex::Excl(v) => m <= v,
        }
    }
    fn within_max(&self, m: &[u8]) -> bool {
        match self.max {
            Lex::Max => true,
            Lex::Min => false,
            Lex::Incl(v) => m <= v,
            Lex::Excl(v) => m < v,
        }
    }
}

/// Which members a range command selects.
#[derive(Clone, Copy, Debug)]
pub enum Spec<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// Ascending ranks `lo..hi` of the members in `spec`, before REV/LIMIT.
fn span(z: &ZSet, spec: &Spec<'_>) -> (usize, usize) {
    let len = z.len();
    match *spec {
        Spec::Rank(start, end) => rank_span(start, end, len).unwrap_or_default(),
        Spec::Score(r) if r.is_empty() => (0, 0),
        Spec::Score(r) => {
            let lo = z.count_below(|s, _| r.below_min(s));
            let hi = z.count_below(|s, _| r.within_max(s));
            (lo, hi.max(lo))
        }
        Spec::Lex(r) if r.is_empty() => (0, 0),
        Spec::Lex(r) => {
            let lo = z.count_below(|_, m| r.below_min(m));
            let hi = z.count_below(|_, m| r.within_max(m));
            (lo, hi.max(lo))
        }
    }
}

/// Redis's rank arithmetic: negative counts from the end, clamped; None
/// when the range is empty.
fn rank_span(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize + 1))
}

/// The ranks to visit, in ascending terms, and whether to walk them backward.
fn select(z: &ZSet, spec: &Spec<'_>, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    let len = z.len();
    if let Spec::Rank(start, end) = *spec {
        // REV ranks count from the highest score.
        return match rank_span(start, end, len) {
            Some((a, b)) if rev => (len - b, len - a),
            Some(s) => s,
            None => (0, 0),
        };
    }
    if offset < 0 || (offset > 0 && offset as usize >= len) {
        return (0, 0);
    }
    let (lo, hi) = span(z, spec);
    let n = hi - lo;
    let skip = (offset as usize).min(n);
    let take = if limit < 0 {
        n - skip
    } else {
        (limit as usize).min(n - skip)
    };
    if rev {
        (hi - skip - take, hi - skip)
    } else {
        (lo + skip, lo + skip + take)
    }
}

fn zcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = ScoreRange::parse(&args[2], &args[3])?;
    count_generic(ctx, &args[1], Spec::Score(r))
}

fn zlexcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = LexRange::parse(&args[2], &args[3])?;
    count_generic(ctx, &args[1], Spec::Lex(r))
}

fn count_generic(ctx: &mut Ctx<'_>, key: &[u8], spec: Spec<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = match read(&mut shard, db, key, now)? {
        Some(z) => {
            let (lo, hi) = span(z, &spec);
            hi - lo
        }
        None => 0,
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// How a ZRANGE-family command was invoked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeArgs<'a> {
    spec: Spec<'a>,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

/// Redis's `zrangeGenericCommand` argument handling: `first` is the index of
/// the source key; `by`/`rev` are preset by the legacy commands.
fn parse_range<'a>(
    args: &Args<'a>,
    first: usize,
    store: bool,
    mut by: By,
    preset_rev: Option<bool>,
) -> Result<RangeArgs<'a>, CmdError> {
    let mut rev = preset_rev.unwrap_or(false);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = int(args.get(j + 1))?;
            limit = int(args.get(j + 2))?;
            j += 2;
        } else if preset_rev.is_none() && !rev && is(a, "rev") {
            rev = true;
        } else if by == By::Auto && is(a, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is(a, "byscore") {
            by = By::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if by == By::Auto {
        by = By::Rank;
    }
    if limit != -1 && by == By::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (args.get(first + 1), args.get(first + 2));
    if rev && by != By::Rank {
        // Given as max, min.
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match by {
        By::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
        By::Lex => Spec::Lex(LexRange::parse(lo, hi)?),
        _ => Spec::Rank(int(lo)?, int(hi)?),
    };
    Ok(RangeArgs {
        spec,
        rev,
        withscores,
        offset,
        limit,
    })
}

fn range_reply(ctx: &mut Ctx<'_>, args: Args<'_>, by: By, rev: Option<bool>) -> CmdResult {
    let r = parse_range(&args, 1, false, by, rev)?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(z) = read(&mut shard, db, key, now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (a, b) = select(z, &r.spec, r.rev, r.offset, r.limit);
    let out = &mut *ctx.out;
    emit_len(out, b - a, r.withscores);
    z.walk(a, b, r.rev, |m, s| emit(out, m, s, r.withscores));
    Ok(())
}

fn zrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Auto, None)
}

fn zrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_reply(ctx, args, By::Lex, Some(true))
}

fn zrangestore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = parse_range(&args, 2, true, By::Auto, None)?;
    let (db, now) = (ctx.db(), ctx.now);
    let (dst, src) = (&args[1], &args[2]);
    let lim = ctx.server.config.zset_limits();
    let mut ml = ctx.server.keyspace.lock_keys([dst, src]);
    let result = match read(ml.shard(src), db, src, now)? {
        None => ZSet::with_hint(0, 0, lim),
        Some(z) => {
            let (a, b) = select(z, &r.spec, r.rev, r.offset, r.limit);
            let hint = if matches!(r.spec, Spec::Rank(..)) {
                b - a
            } else {
                0
            };
            let mut out = ZSet::with_hint(hint, 0, lim);
            // Insert in reply order, as Redis does: it decides when the
            // result converts to the big encoding (and a packed `-0` is 0).
            z.walk(a, b, r.rev, |m, s| out.insert(m, s, lim));
            out
        }
    };
    let n = super::store(ml.shard(dst), db, dst, result, now, "zrangestore");
    ctx.out.int(n as i64);
    Ok(())
}

fn remrange_generic(ctx: &mut Ctx<'_>, key: &[u8], spec: Spec<'_>) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(z) = write(&mut shard, db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (a, b) = span(z, &spec);
    if b > a {
        z.remove_ranks(a, b);
        let empty = z.is_empty();
        let event = match spec {
            Spec::Rank(..) => "zremrangebyrank",
            Spec::Score(_) => "zremrangebyscore",
            Spec::Lex(_) => "zremrangebylex",
        };
        super::after_removal(&mut shard, db, key, empty, event);
    }
    ctx.out.int((b - a) as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let spec = Spec::Rank(int(&args[2])?, int(&args[3])?);
    remrange_generic(ctx, &args[1], spec)
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let spec = Spec::Score(ScoreRange::parse(&args[2], &args[3])?);
    remrange_generic(ctx, &args[1], spec)
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let spec = Spec::Lex(LexRange::parse(&args[2], &args[3])?);
    remrange_generic(ctx, &args[1], spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_as_redis() {
        assert_eq!(score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(score_bound(b""), Some((0.0, false)));
        assert_eq!(score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(score_bound(b"1x"), None);
        assert_eq!(score_bound(b"nan"), None);
        assert_eq!(score_bound(b"(nan"), None);
    }

    #[test]
    fn rank_spans() {
        assert_eq!(rank_span(0, -1, 5), Some((0, 5)));
        assert_eq!(rank_span(-2, -1, 5), Some((3, 5)));
        assert_eq!(rank_span(-100, 100, 5), Some((0, 5)));
        assert_eq!(rank_span(3, 2, 5), None);
        assert_eq!(rank_span(5, 10, 5), None);
        assert_eq!(rank_span(0, i64::MAX, 5), Some((0, 5)));
        assert_eq!(rank_span(i64::MIN, i64::MIN, 5), None);
    }
}
