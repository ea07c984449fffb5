//! ZUNION, ZINTER, ZDIFF (and their STORE forms), ZINTERCARD.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{emit, emit_len, Z};
use crate::commands::args::{int, is};
use crate::commands::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::MultiLock;
use crate::num::string2d;
use crate::protocol::{parse_i64, Args};
use crate::types::set::{Member, Set};
use crate::types::zset::ZSet;
use crate::types::Value;

pub const COMMANDS: &[Command] = &[
    Command::new("zunion", -3, zunion)
        .flags(READONLY)
        .keys_fn(keys_at_1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "Returns the union of multiple sorted sets.", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]"),
    Command::new("zinter", -3, zinter)
        .flags(READONLY)
        .keys_fn(keys_at_1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "Returns the intersect of multiple sorted sets.", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]"),
    Command::new("zdiff", -3, zdiff)
        .flags(READONLY)
        .keys_fn(keys_at_1)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "Returns the difference between multiple sorted sets.", "numkeys key [key ...] [WITHSCORES]"),
    Command::new("zunionstore", -4, zunionstore)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .keys_fn(keys_store)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "Stores the union of multiple sorted sets in a key.", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]"),
    Command::new("zinterstore", -4, zinterstore)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .keys_fn(keys_store)
        .acl(Z)
        .group("sorted-set")
        .doc("2.0.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "Stores the intersect of multiple sorted sets in a key.", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]"),
    Command::new("zdiffstore", -4, zdiffstore)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .keys_fn(keys_store)
        .acl(Z)
        .group("sorted-set")
        .doc("6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "Stores the difference of multiple sorted sets in a key.", "destination numkeys key [key ...]"),
    Command::new("zintercard", -3, zintercard)
        .flags(READONLY)
        .keys_fn(keys_at_1)
        .acl(Z)
        .group("sorted-set")
        .doc("7.0.0", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", "Returns the number of members of the intersect of multiple sorted sets.", "numkeys key [key ...] [LIMIT limit]"),
];

pub use crate::commands::args::numkeys_positions;

fn keys_at_1(args: Args<'_>) -> Vec<usize> {
    numkeys_positions(args, 1)
}

fn keys_store(args: Args<'_>) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_positions(args, 2));
    v
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            // inf + -inf: Redis keeps 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// Where the result goes.
enum Dest<'a> {
    Reply,
    Store(&'a [u8]),
    Cardinality,
}

fn zunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 1, Op::Union, Dest::Reply)
}
fn zinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 1, Op::Inter, Dest::Reply)
}
fn zdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 1, Op::Diff, Dest::Reply)
}
fn zunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 2, Op::Union, Dest::Store(args.get(1)))
}
fn zinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 2, Op::Inter, Dest::Store(args.get(1)))
}
fn zdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 2, Op::Diff, Dest::Store(args.get(1)))
}
fn zintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, 1, Op::Inter, Dest::Cardinality)
}

/// Redis's `zunionInterDiffGenericCommand`: numkeys at `ni`, the keys after
/// it, then options.
fn generic(ctx: &mut Ctx<'_>, args: Args<'_>, ni: usize, op: Op, dest: Dest<'_>) -> CmdResult {
    let setnum = int(&args[ni])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    if setnum as u64 > (args.len() - ni - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys: Vec<&[u8]> = (ni + 1..ni + 1 + setnum).map(|i| args.get(i)).collect();
    let (db, now) = (ctx.db(), ctx.now);
    let store_key = match dest {
        Dest::Store(k) => Some(k),
        _ => None,
    };
    let mut ml = ctx
        .server
        .keyspace
        .lock_keys(keys.iter().copied().chain(store_key));
    // Expire and type-check every input first (Redis checks types before
    // reading the options). Plain sets are inputs too: each member scores 1.
    for &k in &keys {
        if let Some(e) = ml.shard(k).read(db, k, now) {
            if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let card = matches!(dest, Dest::Cardinality);
    let mut weights = vec![1.0f64; setnum];
    let mut how = Aggregate::Sum;
    let (mut withscores, mut limit) = (false, 0u64);
    let mut j = ni + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != Op::Diff && !card && remaining > setnum && is(a, "weights") {
            for (w, arg) in weights.iter_mut().zip(args.iter().skip(j + 1)) {
                *w = string2d(arg).ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != Op::Diff && !card && remaining >= 2 && is(a, "aggregate") {
            let v = &args[j + 1];
            how = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if store_key.is_none() && !card && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && is(a, "limit") {
            limit = parse_i64(&args[j + 1])
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?
                as u64;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let result = compute(&mut ml, db, &keys, &weights, op, how, card, limit);
    match dest {
        Dest::Cardinality => ctx.out.int(result.len_or_count as i64),
        Dest::Reply => {
            let out = &mut *ctx.out;
            emit_len(out, result.members.len(), withscores);
            for (m, s) in &result.members {
                emit(out, m, *s, withscores);
            }
        }
        Dest::Store(dst) => {
            let lim = ctx.server.config.zset_limits();
            let z = ZSet::from_sorted(&result.members, lim);
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            let n = super::store(ml.shard(dst), db, dst, z, now, event);
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

struct SetOpResult {
    /// Members sorted by (score, member).
    members: Vec<(Vec<u8>, f64)>,
    /// ZINTERCARD's count.
    len_or_count: usize,
}

#[allow(clippy::too_many_arguments)]
fn compute(
    ml: &mut MultiLock<'_>,
    db: usize,
    keys: &[&[u8]],
    weights: &[f64],
    op: Op,
    how: Aggregate,
    card: bool,
    limit: u64,
) -> SetOpResult {
    // Inputs (None: missing key), with their weights; union and
    // intersection go smallest first, as Redis does.
    let mut inputs: Vec<(Option<Input<'_>>, f64)> = keys
        .iter()
        .zip(weights)
        .map(|(&k, &w)| {
            (
                ml.peek(db, k).and_then(|v| match v {
                    Value::ZSet(z) => Some(Input::Z(z)),
                    Value::Set(s) => Some(Input::S(s)),
                    _ => None,
                }),
                w,
            )
        })
        .collect();
    let len = |z: &Option<Input<'_>>| z.map_or(0, |z| z.len());
    if op != Op::Diff {
        inputs.sort_by_key(|(z, _)| len(z));
    }
    let mut members: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut count = 0usize;
    match op {
        Op::Inter => {
            if let (Some(first), w0) = inputs[0] {
                first.walk(|m, s| {
                    if card && limit > 0 && count as u64 >= limit {
                        return;
                    }
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (other, w) in &inputs[1..] {
                        match other.and_then(|z| z.score(&m)) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => return,
                        }
                    }
                    count += 1;
                    if !card {
                        members.push((m.to_vec(), score));
                    }
                });
            }
        }
        Op::Union => {
            let mut acc: HashMap<Cow<'_, [u8]>, f64, foldhash::fast::RandomState> =
                HashMap::default();
            for (z, w) in &inputs {
                let Some(z) = z else { continue };
                z.walk(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    acc.entry(m)
                        .and_modify(|t| aggregate(t, score, how))
                        .or_insert(score);
                });
            }
            members = acc.into_iter().map(|(m, s)| (m.into_owned(), s)).collect();
        }
        Op::Diff => {
            if let (Some(first), _) = inputs[0] {
                first.walk(|m, s| {
                    if inputs[1..]
                        .iter()
                        .all(|(z, _)| z.is_none_or(|z| z.score(&m).is_none()))
                    {
                        members.push((m.to_vec(), s));
                    }
                });
            }
        }
    }
    // Scores are never NaN here; -0 and 0 tie, as in the index.
    members.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    SetOpResult {
        len_or_count: if card { count } else { members.len() },
        members,
    }
}

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, or a plain set whose
/// members all score 1 (as in Redis).
#[derive(Clone, Copy)]
enum Input<'a> {
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Input<'a> {
    fn len(&self) -> usize {
        match self {
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Input::Z(z) => z.score(m),
            Input::S(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Every member with its score (a sorted set in score order).
    fn walk(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64)) {
        match *self {
            Input::Z(z) => z.walk(0, z.len(), false, |m, s| f(Cow::Borrowed(m), s)),
            Input::S(s) => s.iter().for_each(|m| match m {
                Member::Str(b) => f(Cow::Borrowed(b), 1.0),
                Member::Int(_) => f(Cow::Owned(m.to_vec()), 1.0),
            }),
        }
    }
}
