//! SORT and SORT_RO: sort the elements of a list, set or sorted set,
//! numerically or bytewise, optionally by weights read from other keys
//! (`BY weight_*`, `BY h_*->field`), returning or storing either the
//! elements or values read through `GET` patterns.
//!
//! The behaviour is Redis's `sortCommandGeneric` step by step: options are
//! parsed first (syntax errors win), then the key's type is checked; a `BY`
//! pattern without `*` means "don't sort" (lists and sorted sets keep their
//! order, honouring DESC and taking LIMIT as a range; sets keep their
//! iteration order unless STOREd, when they are sorted ALPHA so the stored
//! list is deterministic); LIMIT is clamped to the collection; numeric sort
//! uses C `strtod` on each value (a missing weight is 0) with ties broken by
//! comparing the elements' bytes; ALPHA compares bytes (Redis uses
//! `strcoll`, which in the C/C.UTF-8 locale compares up to the first NUL,
//! except when storing, where it compares the whole strings); ALPHA BY
//! orders missing weights first and leaves equal weights in load order.
//!
//! Locking. `BY`/`GET` patterns name keys in any shard, which are only known
//! once the elements have been read. Without such lookups the command runs
//! under the locks of the source and STORE destination together, so it is
//! atomic. With them, the elements are read under the source's lock, which
//! is then released; each pattern key is read under its own short lock; and
//! the result is stored under the destination's lock. So such a SORT is not
//! atomic across keys (Redis, single-threaded, is): a concurrent writer may
//! change a weight between two lookups. The alternative, `lock_all` for the
//! whole command, would stall every other client for the duration of the
//! sort, which is O(N log N) in the collection's size.

use std::cmp::Ordering;

use super::args::{int, is};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Shard;
use crate::protocol::Args;
use crate::types::list::List;
use crate::types::Value;

const CATS: u64 = acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS;

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

pub const COMMANDS: &[Command] = &[
    Command::new("sort", -2, sort)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .keys_fn(keys_sort)
        .acl(CATS)
        .group("generic")
        .doc("1.0.0", COMPLEXITY, "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]"),
    Command::new("sort_ro", -2, sort_ro)
        .flags(READONLY | MOVABLE_KEYS)
        .keys(1, 1, 1)
        .acl(CATS)
        .group("generic")
        .doc("7.0.0", COMPLEXITY, "Returns the sorted elements of a list, a set, or a sorted set.", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]"),
];

/// SORT's keys: the sorted key and, when given, the last STORE destination
/// (Redis's `sortGetKeys`, which skips the arguments of LIMIT, GET and BY).
fn keys_sort(args: Args<'_>) -> Vec<usize> {
    if args.len() < 2 {
        return Vec::new();
    }
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "limit") {
            i += 2;
        } else if is(a, "get") || is(a, "by") {
            i += 1;
        } else if is(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// The parsed options.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    offset: i64,
    count: i64,
    by: Option<&'a [u8]>,
    /// BY names a constant (no `*`): nothing to sort, nothing to look up.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
    /// STORE, or called from a script: an unsorted set's output must not
    /// depend on its iteration order, so Redis sorts it ALPHA.
    ordered: bool,
}

/// `full_access`: whether the user may read every key (asked only when a
/// BY pattern or GET needs it).
fn parse<'a>(
    args: &Args<'a>,
    readonly: bool,
    full_access: &mut dyn FnMut() -> bool,
) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        offset: 0,
        count: -1,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
        ordered: false,
    };
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            o.offset = int(&args[j + 1])?;
            o.count = int(&args[j + 2])?;
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if is(a, "by") && left >= 1 {
            let p = args.get(j + 1);
            o.by = Some(p);
            // Like Redis's strchr: a '*' after an embedded NUL is not seen.
            o.dontsort = !cstr(p).contains(&b'*');
            // A real pattern reads keys no ACL check saw: it needs a user
            // who may read every key.
            if !o.dontsort && !full_access() {
                return Err(CmdError::err(
                    "BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if is(a, "get") && left >= 1 {
            if !full_access() {
                return Err(CmdError::err(
                    "GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// The part of `b` a C string function sees: up to the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// What a BY/GET pattern names for one element (Redis's
/// `lookupKeyByPattern`).
enum Target<'p> {
    /// `#`: the element itself.
    Element,
    /// The string at `key`, or the hash field `field` of `key`.
    Key {
        key: Vec<u8>,
        field: Option<&'p [u8]>,
    },
    /// No `*` in the pattern: always nil.
    Nothing,
}

/// Substitute `elem` for the first `*` of `pattern`; a `->` after the `*`
/// with something after it splits off a hash field. The searches stop at an
/// embedded NUL, as Redis's `strchr`/`strstr` do; the key and field keep
/// every byte.
fn target<'p>(pattern: &'p [u8], elem: &[u8]) -> Target<'p> {
    let c = cstr(pattern);
    if c == b"#" {
        return Target::Element;
    }
    let Some(star) = c.iter().position(|&b| b == b'*') else {
        return Target::Nothing;
    };
    let arrow = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&f| f + 2 < c.len());
    let (post_end, field) = match arrow {
        Some(f) => (f, Some(&pattern[f + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + (post_end - star - 1));
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..post_end]);
    Target::Key { key, field }
}

/// Whether a pattern makes SORT read other keys.
fn reads_keys(pattern: &[u8]) -> bool {
    matches!(target(pattern, b""), Target::Key { .. })
}

/// Reads the value behind a [`Target::Key`]: a string, or a hash field.
type Fetch<'f> = dyn FnMut(&[u8], Option<&[u8]>) -> Option<Vec<u8>> + 'f;

/// The value a pattern names for `elem`, or None (nil).
fn resolve(pattern: &[u8], elem: &[u8], fetch: &mut Fetch<'_>) -> Option<Vec<u8>> {
    match target(pattern, elem) {
        Target::Element => Some(elem.to_vec()),
        Target::Key { key, field } => fetch(&key, field),
        Target::Nothing => None,
    }
}

/// The elements to sort, read under the source's lock.
struct Loaded {
    elems: Vec<Vec<u8>>,
    /// The output range `start..end` of `elems` (after sorting).
    start: usize,
    end: usize,
    /// Sort them (false: their order is final).
    sort: bool,
    alpha: bool,
    by: bool,
}

/// Redis's LIMIT clamping for a collection of `len`: the output range as
/// `start..end` (possibly empty).
fn clamp(offset: i64, count: i64, len: usize) -> (usize, usize) {
    let n = len as i64;
    let mut start = offset.clamp(0, n);
    let count = count.clamp(-1, n);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    end = end.min(n - 1);
    if end < start {
        return (0, 0);
    }
    (start as usize, end as usize + 1)
}

/// Read the elements of the key to sort, in the order Redis loads them.
fn load(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    o: &Opts<'_>,
) -> Result<Loaded, CmdError> {
    let (mut sort, mut alpha, mut by) = (!o.dontsort, o.alpha, o.by.is_some());
    let mut elems = Vec::new();
    let (start, end) = match shard.read(db, key, now).map(|e| &mut e.value) {
        None => (0, 0),
        Some(Value::List(l)) => {
            let (start, end) = clamp(o.offset, o.count, l.len());
            if sort {
                elems.reserve(l.len());
                elems.extend(l.iter().map(<[u8]>::to_vec));
                (start, end)
            } else {
                // Only the range, from the tail when DESC.
                let want = end - start;
                elems.reserve(want);
                if want > 0 {
                    let from = if o.desc { l.len() - 1 - start } else { start };
                    l.walk(from, o.desc, |d| {
                        elems.push(d.to_vec());
                        elems.len() < want
                    });
                }
                (0, elems.len())
            }
        }
        Some(Value::Set(s)) => {
            if o.dontsort && o.ordered {
                (sort, alpha, by) = (true, true, false);
            }
            elems.reserve(s.len());
            elems.extend(s.iter().map(|m| m.to_vec()));
            clamp(o.offset, o.count, s.len())
        }
        Some(Value::ZSet(z)) => {
            // Redis converts a listpack sorted set to a skiplist for SORT
            // (permanently; OBJECT ENCODING shows it).
            z.make_big();
            let len = z.len();
            let (start, end) = clamp(o.offset, o.count, len);
            if sort {
                elems.reserve(len);
                z.walk(0, len, false, |m, _| elems.push(m.to_vec()));
                (start, end)
            } else {
                // Rank order (reversed for DESC), the range only.
                elems.reserve(end - start);
                if o.desc {
                    z.walk(len - end, len - start, true, |m, _| elems.push(m.to_vec()));
                } else {
                    z.walk(start, end, false, |m, _| elems.push(m.to_vec()));
                }
                (0, elems.len())
            }
        }
        Some(_) => return Err(CmdError::WrongType),
    };
    Ok(Loaded {
        elems,
        start,
        end,
        sort,
        alpha,
        by,
    })
}

/// What an element is compared by.
enum Weight {
    Score(f64),
    /// ALPHA BY: the weight's bytes, None when missing.
    Bytes(Option<Vec<u8>>),
    /// ALPHA without BY: the element itself.
    Element,
}

/// Parse a weight as Redis does: C `strtod` over the C string, which must
/// be consumed up to its end (or an embedded NUL), without a range error
/// and not NaN. (An empty string is 0.)
fn score(b: &[u8]) -> Option<f64> {
    let (v, n, range_err) = crate::num::strtod(b);
    let whole = n == b.len() || b[n] == 0;
    (whole && !range_err && !v.is_nan()).then_some(v)
}

/// Sort `l.elems` in place; Err if a score can't be parsed.
fn sort_elems(l: &mut Loaded, o: &Opts<'_>, storing: bool, fetch: &mut Fetch<'_>) -> CmdResult {
    let mut bad = false;
    let mut items: Vec<(Vec<u8>, Weight)> = Vec::with_capacity(l.elems.len());
    for e in l.elems.drain(..) {
        let by = if l.by { o.by } else { None };
        let w = match (l.alpha, by) {
            (true, None) => Weight::Element,
            (true, Some(p)) => Weight::Bytes(resolve(p, &e, fetch)),
            (false, None) => Weight::Score(score(&e).unwrap_or_else(|| {
                bad = true;
                0.0
            })),
            (false, Some(p)) => Weight::Score(match resolve(p, &e, fetch) {
                None => 0.0,
                Some(v) => score(&v).unwrap_or_else(|| {
                    bad = true;
                    0.0
                }),
            }),
        };
        items.push((e, w));
    }
    if bad {
        return Err(CmdError::err(
            "One or more scores can't be converted into double",
        ));
    }
    // Redis's strcoll compares C strings; a STOREd sort compares all bytes.
    let text = |a: &[u8], b: &[u8]| {
        if storing {
            a.cmp(b)
        } else {
            cstr(a).cmp(cstr(b))
        }
    };
    let cmp = |a: &(Vec<u8>, Weight), b: &(Vec<u8>, Weight)| -> Ordering {
        let c = match (&a.1, &b.1) {
            (Weight::Score(x), Weight::Score(y)) => x
                .partial_cmp(y)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0)),
            (Weight::Bytes(x), Weight::Bytes(y)) => match (x, y) {
                (Some(x), Some(y)) => text(x, y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            _ => text(&a.0, &b.0),
        };
        if o.desc {
            c.reverse()
        } else {
            c
        }
    };
    // Stable, as glibc's merge-sort qsort is: equal ALPHA BY weights keep
    // their load order.
    items.sort_by(cmp);
    l.elems.extend(items.into_iter().map(|(e, _)| e));
    Ok(())
}

/// The output values: the elements, or one value per GET pattern each.
fn output(l: &Loaded, o: &Opts<'_>, fetch: &mut Fetch<'_>) -> Vec<Option<Vec<u8>>> {
    let range = &l.elems[l.start..l.end];
    if o.gets.is_empty() {
        return range.iter().map(|e| Some(e.clone())).collect();
    }
    let mut out = Vec::with_capacity(range.len() * o.gets.len());
    for e in range {
        for p in &o.gets {
            out.push(resolve(p, e, fetch));
        }
    }
    out
}

/// Write the result to `dest` as a list (deleting it when empty); answers
/// the count.
fn store(ctx: &Ctx<'_>, shard: &mut Shard, dest: &[u8], values: Vec<Option<Vec<u8>>>) -> usize {
    let (db, now) = (ctx.db(), ctx.now);
    let n = values.len();
    let lim = super::list::limit(ctx.server);
    let list = List::from_iter(values.iter().map(|v| v.as_deref().unwrap_or(b"")), lim);
    if ctx.server.aof.log.is_on() {
        // Logged as its result: with BY/GET patterns the keys read are not
        // locked together, so re-running the SORT could read other values.
        crate::persist::aof::propagate_instead([&b"DEL"[..], dest]);
        for chunk in values.chunks(64) {
            crate::persist::aof::propagate_instead(
                [&b"RPUSH"[..], dest]
                    .into_iter()
                    .chain(chunk.iter().map(|v| v.as_deref().unwrap_or(b""))),
            );
        }
    }
    shard.store_result(db, dest, Value::List(Box::new(list)), n == 0, now);
    if n > 0 {
        shard.notify(crate::notify::LIST, "sortstore", db, dest);
    }
    n
}

fn reply(ctx: &mut Ctx<'_>, values: Vec<Option<Vec<u8>>>) {
    ctx.out.array(values.len());
    for v in values {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
}

fn sort_generic(ctx: &mut Ctx<'_>, args: Args<'_>, readonly: bool) -> CmdResult {
    let mut full_access = || {
        ctx.server
            .commands
            .resolve(args)
            .is_ok_and(|e| crate::acl::unrestricted_read(&ctx.client.user, e, args))
    };
    let mut o = parse(&args, readonly, &mut full_access)?;
    o.ordered = o.store.is_some() || ctx.client.in_script;
    let (db, now, key) = (ctx.db(), ctx.now, args.get(1));
    let lookups =
        (!o.dontsort && o.by.is_some_and(reads_keys)) || o.gets.iter().any(|g| reads_keys(g));
    if !lookups {
        // Only the source and destination: one atomic step under both locks.
        // No pattern names a key, so `fetch` is never called.
        let mut none = |_: &[u8], _: Option<&[u8]>| None;
        let keys = std::iter::once(key).chain(o.store);
        let mut lock = ctx.server.keyspace.lock_keys(keys);
        let mut l = load(lock.shard(key), db, key, now, &o)?;
        if l.sort {
            sort_elems(&mut l, &o, o.store.is_some(), &mut none)?;
        }
        let values = output(&l, &o, &mut none);
        match o.store {
            Some(dest) => {
                let n = store(ctx, lock.shard(dest), dest, values);
                ctx.out.int(n as i64);
            }
            None => reply(ctx, values),
        }
        return Ok(());
    }
    let mut l = {
        let mut shard = ctx.server.keyspace.lock(key);
        load(&mut shard, db, key, now, &o)?
    };
    // Each pattern key under its own lock, none held across lookups.
    let ks = &ctx.server.keyspace;
    let mut fetch = |k: &[u8], field: Option<&[u8]>| -> Option<Vec<u8>> {
        let mut shard = ks.lock(k);
        let e = shard.read(db, k, now)?;
        match (&e.value, field) {
            (Value::Str(s), None) => Some(s.to_vec()),
            (Value::Hash(h), Some(f)) => h.get(f).map(<[u8]>::to_vec),
            _ => None,
        }
    };
    if l.sort {
        sort_elems(&mut l, &o, o.store.is_some(), &mut fetch)?;
    }
    let values = output(&l, &o, &mut fetch);
    match o.store {
        Some(dest) => {
            let mut shard = ctx.server.keyspace.lock(dest);
            let n = store(ctx, &mut shard, dest, values);
            drop(shard);
            ctx.out.int(n as i64);
        }
        None => reply(ctx, values),
    }
    Ok(())
}

fn sort(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(t: Target<'_>) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        match t {
            Target::Key { key, field } => Some((key, field.map(<[u8]>::to_vec))),
            _ => None,
        }
    }

    #[test]
    fn patterns_substitute_like_redis() {
        assert!(matches!(target(b"#", b"x"), Target::Element));
        assert!(matches!(target(b"#\0junk", b"x"), Target::Element));
        assert!(matches!(target(b"nostar", b"x"), Target::Nothing));
        assert!(matches!(target(b"a\0*", b"x"), Target::Nothing));
        assert_eq!(key_of(target(b"w_*", b"1")), Some((b"w_1".to_vec(), None)));
        assert_eq!(
            key_of(target(b"h_*->f", b"1")),
            Some((b"h_1".to_vec(), Some(b"f".to_vec())))
        );
        // Only the first '*' is substituted; "->" before the '*' is no field.
        assert_eq!(
            key_of(target(b"a->*b*", b"1")),
            Some((b"a->1b*".to_vec(), None))
        );
        // A trailing "->" is part of the key.
        assert_eq!(
            key_of(target(b"x:*->", b"a")),
            Some((b"x:a->".to_vec(), None))
        );
        // The field is everything after the first "->".
        assert_eq!(
            key_of(target(b"*->a->b", b"k")),
            Some((b"k".to_vec(), Some(b"a->b".to_vec())))
        );
    }

    #[test]
    fn limit_clamps_like_redis() {
        assert_eq!(clamp(0, -1, 5), (0, 5));
        assert_eq!(clamp(1, 2, 5), (1, 3));
        assert_eq!(clamp(-3, 2, 5), (0, 2));
        assert_eq!(clamp(4, 100, 5), (4, 5));
        assert_eq!(clamp(5, 1, 5), (0, 0));
        assert_eq!(clamp(2, 0, 5), (0, 0));
        assert_eq!(clamp(i64::MAX, i64::MAX, 5), (0, 0));
        assert_eq!(clamp(i64::MIN, i64::MIN, 5), (0, 5));
        assert_eq!(clamp(0, -1, 0), (0, 0));
    }

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(score(b""), Some(0.0));
        assert_eq!(score(b" 2"), Some(2.0));
        assert_eq!(score(b"0x10"), Some(16.0));
        assert_eq!(score(b"1\0junk"), Some(1.0));
        assert_eq!(score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(score(b"1 "), None);
        assert_eq!(score(b"  "), None);
        assert_eq!(score(b"nan"), None);
        assert_eq!(score(b"1e400"), None);
        assert_eq!(score(b"1e-310"), None);
    }
}
