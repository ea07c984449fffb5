//! Stream commands: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XSETID here,
//! XREAD/XREADGROUP in `read`, consumer groups in `group`, XINFO in `info`.
//! The stream itself is `types::stream`.

mod group;
mod info;
mod read;

pub use read::serve_blocked_read;
pub use read::StreamRead;

use super::{acl, args::is, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::STREAM;
use crate::persist::rdb::listpack::Elem;
use crate::protocol::{parse_i64, Args, Reply};
use crate::types::stream::{Entry, StreamId, Trim, LISTPACK_MAX};
use crate::types::{Stream, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("xadd", -5, xadd)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "Appends a new message to a stream. Creates the key if it doesn't exist.", "key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]"),
    Command::new("xlen", 2, xlen)
        .flags(READONLY | FAST)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(1)", "Return the number of messages in a stream.", "key"),
    Command::new("xrange", -4, xrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the messages from a stream within a range of IDs.", "key start end [COUNT count]"),
    Command::new("xrevrange", -4, xrevrange)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the messages from a stream within a range of IDs in reverse order.", "key end start [COUNT count]"),
    Command::new("xdel", -3, xdel)
        .flags(WRITE | FAST)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", "Returns the number of messages after removing them from a stream.", "key id [id ...]"),
    Command::new("xtrim", -4, xtrim)
        .flags(WRITE)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "Deletes messages from the beginning of a stream.", "key MAXLEN|MINID [=|~] threshold [LIMIT count]"),
    Command::new("xsetid", -3, xsetid)
        .flags(WRITE | DENYOOM | FAST)
        .keys(1, 1, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc("5.0.0", "O(1)", "An internal command for replicating stream values.", "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"),
    read::XREAD,
    read::XREADGROUP,
    group::XACK,
    group::XPENDING,
    group::XCLAIM,
    group::XAUTOCLAIM,
    group::XGROUP,
    info::XINFO,
];

fn invalid_id() -> CmdError {
    CmdError::err("Invalid stream ID specified as stream command argument")
}

/// An unsigned number as Redis's `string2ull` takes it: a canonical
/// non-negative integer, else what C's `strtoull` accepts in full (leading
/// blanks, a sign, digits; a `-` negates modulo 2^64; overflow is refused).
fn ull(b: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(b) {
        return u64::try_from(v).ok();
    }
    let (i, neg) = crate::commands::args::c_sign(b);
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// An ID argument: `ms-seq`, or `ms` (the sequence is `missing_seq`);
/// `-` and `+` too unless `strict`. With `auto_seq`, `ms-*` is taken and
/// answers `seq_given: false`.
pub(crate) fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    match arg {
        b"-" if !strict => return Ok((StreamId::MIN, true)),
        b"+" if !strict => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    match arg.iter().position(|&c| c == b'-') {
        None => {
            let ms = ull(arg).ok_or_else(invalid_id)?;
            Ok((StreamId::new(ms, missing_seq), true))
        }
        Some(dash) => {
            let ms = ull(&arg[..dash]).ok_or_else(invalid_id)?;
            let rest = &arg[dash + 1..];
            if auto_seq && rest == b"*" {
                return Ok((StreamId::new(ms, 0), false));
            }
            let seq = ull(rest).ok_or_else(invalid_id)?;
            Ok((StreamId::new(ms, seq), true))
        }
    }
}

/// A strict ID (no `-`/`+`), missing sequence 0.
pub(crate) fn parse_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_full(arg, 0, true, false).map(|(id, _)| id)
}

/// A range bound: `(` excludes it.
pub(crate) fn parse_bound(arg: &[u8], end: bool) -> Result<StreamId, CmdError> {
    let missing = if end { u64::MAX } else { 0 };
    if arg.len() > 1 && arg[0] == b'(' {
        let (id, _) = parse_id_full(&arg[1..], missing, true, false)?;
        let moved = if end { id.decr() } else { id.incr() };
        moved.ok_or_else(|| {
            CmdError::err(if end {
                "invalid end ID for the interval"
            } else {
                "invalid start ID for the interval"
            })
        })
    } else {
        parse_id_full(arg, missing, false, false).map(|(id, _)| id)
    }
}

pub(crate) fn bulk_elem(out: &mut Reply, e: Elem<'_>) {
    match e {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => out.bulk_int(n),
    }
}

pub(crate) fn bulk_id(out: &mut Reply, id: StreamId) {
    out.bulk(id.format(&mut [0; 48]));
}

/// `[id, [field, value, …]]`.
pub(crate) fn reply_entry(out: &mut Reply, e: &Entry<'_>) {
    out.array(2);
    bulk_id(out, e.id);
    out.array(e.len() * 2);
    e.for_each(|f, v| {
        bulk_elem(out, f);
        bulk_elem(out, v);
    });
}

/// Entries of `s` in `start..=end` (at most `count`, 0: all) as an array.
pub(crate) fn reply_range(
    out: &mut Reply,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> usize {
    let at = out.begin_deferred();
    let mut n = 0;
    s.range(start, end, rev, |e| {
        reply_entry(out, e);
        n += 1;
        count == 0 || n < count
    });
    out.end_array(at, n);
    n
}

/// XADD/XTRIM options.
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// 0: no limit.
    limit: u64,
    nomkstream: bool,
    /// Index of the ID argument (XADD).
    id_at: usize,
    /// The ID (XADD; None for `*`) and whether its sequence was given.
    id: Option<(StreamId, bool)>,
}

fn parse_trim(ctx: &Ctx<'_>, args: &Args<'_>, xadd: bool) -> Result<TrimArgs, CmdError> {
    let mut t = TrimArgs {
        trim: None,
        approx: false,
        limit: 0,
        nomkstream: false,
        id_at: 0,
        id: None,
    };
    let mut limit_given = false;
    let n = args.len();
    let mut i = 2;
    while i < n {
        let more = n - 1 - i;
        let opt = &args[i];
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if t.trim.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            t.approx = false;
            let next = &args[i + 1];
            if more >= 2 && (next == b"~" || next == b"=") {
                t.approx = next == b"~";
                i += 1;
            }
            let v = &args[i + 1];
            if is(opt, "maxlen") {
                let max = parse_i64(v).ok_or(CmdError::NotInteger)?;
                if max < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                t.trim = Some(Trim::MaxLen(max as u64));
            } else {
                t.trim = Some(Trim::MinId(parse_id(v)?));
            }
            i += 2;
            continue;
        } else if is(opt, "limit") && more > 0 {
            let l = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if l < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            t.limit = l as u64;
            limit_given = true;
            i += 2;
            continue;
        } else if xadd && is(opt, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            t.id = Some(parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    t.id_at = i;
    if t.limit > 0 && t.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.client.replaying {
        // The AOF carries exact trims (see `propagate_trim`).
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            return Err(CmdError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if t.approx {
        let per = ctx.server.config.stream_node_limits().max_entries as u64;
        t.limit = per.saturating_mul(100);
        if t.limit == 0 {
            t.limit = 10000;
        }
        t.limit = t.limit.min(1_000_000);
    }
    Ok(t)
}

/// The trim as the AOF should replay it: exact, to where it got.
fn trim_argv(s: &Stream, trim: Trim) -> [Vec<u8>; 3] {
    match trim {
        Trim::MaxLen(_) => [
            b"MAXLEN".to_vec(),
            b"=".to_vec(),
            itoa::Buffer::new().format(s.len()).as_bytes().to_vec(),
        ],
        // Emptied: everything below the threshold went, the new entry too.
        Trim::MinId(min) if s.is_empty() => [b"MINID".to_vec(), b"=".to_vec(), min.to_vec()],
        Trim::MinId(_) => [b"MINID".to_vec(), b"=".to_vec(), s.first_id.to_vec()],
    }
}

fn xadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let t = parse_trim(ctx, &args, true)?;
    let field_at = t.id_at + 1;
    let nf = args.len().saturating_sub(field_at);
    if nf < 2 || nf % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = t.id {
        if id == StreamId::MIN {
            return Err(CmdError::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let pairs: Vec<&[u8]> = (field_at..args.len()).map(|i| args.get(i)).collect();
    let total: usize = pairs.iter().map(|p| p.len()).sum();
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let lim = ctx.server.config.stream_node_limits();
    let mut shard = ctx.server.keyspace.lock(key);
    let created = match shard.write_as::<Stream>(db, key, now)? {
        Some(_) => false,
        None if t.nomkstream => {
            ctx.out.null();
            return Ok(());
        }
        None => true,
    };
    let mut fresh = Stream::new();
    let s: &mut Stream = if created {
        &mut fresh
    } else {
        match shard.write_as::<Stream>(db, key, now)? {
            Some(s) => s,
            None => return Err(CmdError::err("XADD stream vanished")),
        }
    };
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let id = match t.id {
        None => {
            if now > s.last_id.ms {
                Some(StreamId::new(now, 0))
            } else {
                s.last_id.incr()
            }
        }
        Some((id, true)) => Some(id),
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    None
                } else {
                    Some(StreamId::new(id.ms, s.last_id.seq + 1))
                }
            } else {
                Some(id)
            }
        }
    };
    let Some(id) = id.filter(|id| *id > s.last_id) else {
        return Err(CmdError::err(
            "The ID specified in XADD is equal or smaller than the target stream top item",
        ));
    };
    if total > LISTPACK_MAX {
        return Err(CmdError::err("Elements are too large to be stored"));
    }
    s.append(id, &pairs, lim);
    let trimmed = match t.trim {
        Some(how) => s.trim(how, t.approx, t.limit),
        None => 0,
    };
    let trim_text = t.trim.filter(|_| t.approx).map(|how| trim_argv(s, how));
    if created {
        shard
            .db(db)
            .insert(key, Value::Stream(Box::new(fresh)), NO_EXPIRE, now);
    }
    shard.modified(db, key);
    drop(shard);
    // The ID text on the stack: the reply and (when logged) the argument.
    let mut idbuf = [0u8; 48];
    let idtext = id.format(&mut idbuf);
    ctx.out.bulk(idtext);
    ctx.notify(STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(STREAM, "xtrim", key);
    }
    // Log the ID actually used and an exact trim.
    if t.id.is_none_or(|(_, given)| !given) || trim_text.is_some() {
        let mut argv: Vec<&[u8]> = vec![b"XADD", key];
        if t.nomkstream {
            argv.push(b"NOMKSTREAM");
        }
        if let Some(tt) = &trim_text {
            argv.extend(tt.iter().map(|v| v.as_slice()));
        } else if t.trim.is_some() {
            // An exact trim replays as given.
            for i in 2..t.id_at {
                if !is(&args[i], "nomkstream") {
                    argv.push(args.get(i));
                }
            }
        }
        argv.push(idtext);
        argv.extend(pairs.iter().copied());
        ctx.propagate_instead(&argv);
    }
    Ok(())
}

fn xlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let n = shard
        .read_as::<Stream>(db, key, now)?
        .map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn range_generic(ctx: &mut Ctx<'_>, args: Args<'_>, rev: bool) -> CmdResult {
    let (a, b) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = parse_bound(a, false)?;
    let end = parse_bound(b, true)?;
    let mut count: i64 = -1;
    let mut i = 4;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            count = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?.max(0);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.read_as::<Stream>(db, key, now)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.null_array();
        return Ok(());
    }
    reply_range(ctx.out, s, start, end, count.max(0) as usize, rev);
    Ok(())
}

fn xrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, true)
}

fn xdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.write_as::<Stream>(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = (2..args.len())
        .map(|i| parse_id(args.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0u64;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            first |= id == s.first_id;
            if id > s.max_deleted {
                s.max_deleted = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.is_empty() {
            s.first_id = StreamId::MIN;
        } else if first {
            s.refresh_first();
        }
        shard.modified(db, key);
        shard.stats.dirty += deleted - 1;
        drop(shard);
        ctx.notify(STREAM, "xdel", key);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn xtrim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let t = parse_trim(ctx, &args, false)?;
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.write_as::<Stream>(db, key, now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(how) = t.trim else {
        return Err(CmdError::Syntax);
    };
    let deleted = s.trim(how, t.approx, t.limit);
    if deleted > 0 {
        let exact = trim_argv(s, how);
        shard.modified(db, key);
        shard.stats.dirty += deleted - 1;
        drop(shard);
        ctx.notify(STREAM, "xtrim", key);
        if t.approx {
            let mut argv: Vec<&[u8]> = vec![b"XTRIM", key];
            argv.extend(exact.iter().map(|v| v.as_slice()));
            ctx.propagate_instead(&argv);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn xsetid(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let id = parse_id(&args[2])?;
    let mut entries_added: i64 = -1;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "entriesadded") && more > 0 {
            entries_added = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if entries_added < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
        } else if is(&args[i], "maxdeletedid") && more > 0 {
            max_del = parse_id(&args[i + 1])?;
            if id < max_del {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.write_as::<Stream>(db, key, now)? else {
        return Err(CmdError::NoSuchKey);
    };
    if id < s.max_deleted {
        return Err(CmdError::err(
            "The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ));
    }
    if !s.is_empty() {
        if s.edge_id(true).is_some_and(|top| id < top) {
            return Err(CmdError::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if max_del != StreamId::MIN {
        s.max_deleted = max_del;
    }
    shard.dirtied();
    drop(shard);
    ctx.out.ok();
    ctx.notify(STREAM, "xsetid", key);
    Ok(())
}
