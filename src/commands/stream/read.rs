//! XREAD and XREADGROUP, blocking or not. A blocked read waits on its keys
//! (`blocking::BlockOp::Stream`) and is served by the writer that adds to
//! one of them, as Redis serves it by running the command again.

use super::{parse_id, reply_entry};
use crate::blocking::{self, BlockOp};
use crate::commands::{acl, args::is, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Shard;
use crate::protocol::{parse_i64, Args, Reply};
use crate::types::stream::StreamId;
use crate::types::{Stream, Value};

pub const XREAD: Command = Command::new("xread", -4, xread)
    .flags(BLOCKING | READONLY | MOVABLE_KEYS)
    .keys_fn(keys_xread)
    .acl(acl::STREAM)
    .group("stream")
    .doc("5.0.0", "", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]");

pub const XREADGROUP: Command = Command::new("xreadgroup", -7, xreadgroup)
    .flags(BLOCKING | WRITE | MOVABLE_KEYS)
    .keys_fn(keys_xread)
    .acl(acl::STREAM)
    .group("stream")
    .doc("5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]");

/// Keys of XREAD/XREADGROUP: the first half of what follows STREAMS.
fn keys_xread(args: Args<'_>) -> Vec<usize> {
    let n = args.len();
    let Some(at) = (1..n).find(|&i| is(&args[i], "streams")) else {
        return Vec::new();
    };
    let rest = n - at - 1;
    if !rest.is_multiple_of(2) {
        return Vec::new();
    }
    (at + 1..at + 1 + rest / 2).collect()
}

/// A group's name and a consumer's.
pub type GroupConsumer = (Box<[u8]>, Box<[u8]>);

/// What a blocked read waits for.
#[derive(Debug, Clone)]
pub struct StreamRead {
    /// Each key and the ID entries must be above (`>`: the group's).
    pub keys: Vec<(Box<[u8]>, StreamId)>,
    /// Group and consumer (XREADGROUP).
    pub group: Option<GroupConsumer>,
    pub noack: bool,
    /// 0: no limit.
    pub count: usize,
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::coded(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// Deliver new entries above the group's last ID (`>`) or the consumer's
/// pending history from `from`, writing `[key, entries]` (the caller
/// wrote the frame). Propagates the effects as Redis does (XCLAIM per
/// delivery, the group's position).
#[allow(clippy::too_many_arguments)]
fn group_read(
    out: &mut Reply,
    s: &mut Stream,
    key: &[u8],
    gname: &[u8],
    cname: &[u8],
    history_from: Option<StreamId>,
    noack: bool,
    count: usize,
    now: u64,
) {
    let Some(mut g) = s.groups.remove(gname) else {
        out.array(0);
        return;
    };
    let mut argvs: Vec<Vec<Vec<u8>>> = Vec::new();
    if let Some(from) = history_from {
        // The consumer's own pending entries from `from`.
        let ids: Vec<StreamId> = g
            .consumers
            .get(cname)
            .map(|c| {
                c.pel
                    .range(from..)
                    .take(if count == 0 { usize::MAX } else { count })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        out.array(ids.len());
        for id in ids {
            let found = s.get(id, |e| reply_entry(out, e)).is_some();
            if !found {
                out.array(2);
                super::bulk_id(out, id);
                out.null_array();
            } else if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = now;
                n.delivery_count = n.delivery_count.wrapping_add(1);
            }
        }
    } else {
        let start = g.last_id.incr().unwrap_or(StreamId::MAX);
        let mut ids = Vec::new();
        let at = out.begin_deferred();
        let mut n = 0;
        if g.last_id < StreamId::MAX {
            s.range(start, StreamId::MAX, false, |e| {
                reply_entry(out, e);
                ids.push(e.id);
                n += 1;
                count == 0 || n < count
            });
        }
        out.end_array(at, n);
        for id in ids {
            s.advance_group(&mut g, id);
            if !noack {
                g.deliver(id, cname, now);
                let nack = &g.pel[&id];
                argvs.push(super::group::claim_argv(key, gname, id, nack, g.last_id));
                if let Some(c) = g.consumers.get_mut(cname) {
                    c.active_time = now as i64;
                }
            }
        }
        // The group's new position travels in the XCLAIMs' LASTID; only
        // NOACK reads (no XCLAIM) propagate it on its own, as Redis 7.2.
        if n > 0 && noack {
            argvs.push(super::group::setid_argv(key, gname, &g));
        }
    }
    s.groups.insert(gname.into(), g);
    for a in &argvs {
        crate::persist::aof::propagate_instead(a.iter().map(|v| v.as_slice()));
    }
}

struct Parsed<'a> {
    block: Option<u64>,
    count: usize,
    noack: bool,
    group: Option<(&'a [u8], &'a [u8])>,
    /// Index of the first key.
    keys_at: usize,
    nkeys: usize,
}

fn parse<'a>(ctx: &Ctx<'_>, args: &'a Args<'_>, grouped: bool) -> Result<Parsed<'a>, CmdError> {
    let name = if grouped { "xreadgroup" } else { "xread" };
    let mut p = Parsed {
        block: None,
        count: 0,
        noack: false,
        group: None,
        keys_at: 0,
        nkeys: 0,
    };
    let n = args.len();
    let mut i = 1;
    while i < n {
        let more = n - i - 1;
        let o = &args[i];
        if is(o, "block") && more > 0 {
            if ctx.client.in_script {
                return Err(CmdError::err(format!(
                    "{name} command is not allowed with BLOCK option from scripts"
                )));
            }
            p.block = Some(crate::commands::args::timeout_int_ms(&args[i + 1])?);
            i += 1;
        } else if is(o, "count") && more > 0 {
            let c = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            p.count = c.max(0) as usize;
            i += 1;
        } else if is(o, "streams") && more > 0 {
            let rest = n - i - 1;
            if !rest.is_multiple_of(2) {
                let sym = if grouped { '>' } else { '$' };
                return Err(CmdError::err(format!(
                    "Unbalanced '{name}' list of streams: for each stream key an ID or '{sym}' must be specified."
                )));
            }
            p.keys_at = i + 1;
            p.nkeys = rest / 2;
            break;
        } else if is(o, "group") && more >= 2 {
            if !grouped {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            p.group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if is(o, "noack") {
            if !grouped {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            p.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if p.keys_at == 0 {
        return Err(CmdError::Syntax);
    }
    if grouped && p.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(p)
}

fn xread(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    read_generic(ctx, args, false)
}

fn xreadgroup(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    read_generic(ctx, args, true)
}

fn read_generic(ctx: &mut Ctx<'_>, args: Args<'_>, grouped: bool) -> CmdResult {
    let p = parse(ctx, &args, grouped)?;
    let keys: Vec<&[u8]> = (0..p.nkeys).map(|i| args.get(p.keys_at + i)).collect();
    let (db, now) = (ctx.db(), ctx.now);
    let server = ctx.server;
    let mut ml = server.keyspace.lock_keys(keys.iter().copied());
    // Resolve IDs (and check types and groups) before serving anything.
    let mut ids = Vec::with_capacity(p.nkeys);
    for (i, key) in keys.iter().enumerate() {
        let arg = args.get(p.keys_at + p.nkeys + i);
        let shard = ml.shard(key);
        let s = shard.read_as::<Stream>(db, key, now)?;
        if let Some((g, _)) = p.group {
            if !s.as_ref().is_some_and(|s| s.groups.contains_key(g)) {
                return Err(nogroup(key, g));
            }
        }
        let id = if arg == b"$" {
            if grouped {
                return Err(CmdError::err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            s.map_or(StreamId::MIN, |s| s.last_id)
        } else if arg == b">" {
            if !grouped {
                return Err(CmdError::err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            StreamId::MAX
        } else {
            parse_id(arg)?
        };
        ids.push(id);
    }
    let resp3 = ctx.client.resp == 3;
    let mut body = Reply::new(resp3);
    let mut served = 0usize;
    let mut changed = false;
    let mut created_on: Vec<&[u8]> = Vec::new();
    if grouped {
        // What XREADGROUP changes is logged as its effects, never as itself.
        crate::persist::aof::log::propagate_nothing();
    }
    for (i, key) in keys.iter().enumerate() {
        let shard = ml.shard(key);
        let Ok(Some(s)) = shard.read_as::<Stream>(db, key, now) else {
            continue;
        };
        let gt = ids[i];
        let mut sync = false;
        let mut history = None;
        if let Some((gname, cname)) = p.group {
            let Some(g) = s.groups.get_mut(gname) else {
                continue;
            };
            let (c, created) = g.consumer(cname, now);
            c.seen_time = now;
            if created {
                changed = true;
                if p.noack {
                    log_created(key, gname, cname);
                }
                created_on.push(*key);
            }
            let glast = g.last_id;
            if gt != StreamId::MAX {
                sync = true;
                history = gt.incr().or(Some(StreamId::MAX));
            } else if !s.is_empty() && s.edge_id(true).is_some_and(|top| top > glast) {
                sync = true;
            }
        } else if !s.is_empty() && s.edge_id(true).is_some_and(|top| top > gt) {
            sync = true;
        }
        if !sync {
            continue;
        }
        served += 1;
        if !resp3 {
            body.array(2);
        }
        body.bulk(key);
        match p.group {
            Some((gname, cname)) => {
                group_read(
                    &mut body, s, key, gname, cname, history, p.noack, p.count, now,
                );
                changed = true;
            }
            None => {
                let start = gt.incr().unwrap_or(StreamId::MAX);
                super::reply_range(&mut body, s, start, StreamId::MAX, p.count, false);
            }
        }
        if grouped {
            // Counted and logged; not a change WATCH sees (as in Redis).
            shard.dirtied();
        }
    }
    if changed && served == 0 {
        // Only consumers were created.
        ml.shard(keys[0]).dirtied();
    }
    for key in created_on {
        ml.shard(key)
            .notify(crate::notify::STREAM, "xgroup-createconsumer", db, key);
    }
    if served > 0 {
        if resp3 {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        ctx.out.raw(&body.buf);
        return Ok(());
    }
    match p.block {
        None => {
            ctx.out.null_array();
        }
        Some(timeout) => {
            let op = StreamRead {
                keys: keys
                    .iter()
                    .zip(&ids)
                    .map(|(k, id)| (Box::<[u8]>::from(*k), *id))
                    .collect(),
                group: p.group.map(|(g, c)| (g.into(), c.into())),
                noack: p.noack,
                count: p.count,
            };
            blocking::block(ctx, &mut ml, &keys, BlockOp::Stream(Box::new(op)), timeout);
        }
    }
    Ok(())
}

/// Log a consumer this read created: only a NOACK read's, as Redis 7.2
/// (otherwise the XCLAIMs of what it delivers create it on replay).
fn log_created(key: &[u8], g: &[u8], c: &[u8]) {
    crate::persist::aof::propagate_instead([&b"XGROUP"[..], b"CREATECONSUMER", key, g, c]);
}

/// Serve a read blocked on `key`, which just changed: false if it has
/// nothing for it yet. An XREADGROUP whose stream or group went away is
/// answered its error, as Redis answers when it runs the command again.
pub fn serve_blocked_read(
    shard: &mut Shard,
    db: usize,
    key: &[u8],
    now: u64,
    op: &StreamRead,
    out: &mut Reply,
) -> bool {
    let Some(&(_, gt)) = op.keys.iter().find(|(k, _)| **k == *key) else {
        return false;
    };
    let entry = shard.write(db, key, now);
    let s = match entry.map(|e| &mut e.value) {
        Some(Value::Stream(s)) => s,
        Some(_) if op.group.is_some() => {
            out.error(&CmdError::WrongType.message());
            return true;
        }
        None => {
            if let Some((g, _)) = &op.group {
                out.error(&nogroup(key, g).message());
                return true;
            }
            return false;
        }
        Some(_) => return false,
    };
    let mut created = false;
    let ready = match &op.group {
        Some((g, c)) => match s.groups.get_mut(&**g) {
            None => {
                out.error(&nogroup(key, g).message());
                return true;
            }
            Some(grp) => {
                let last = grp.last_id;
                let (cons, fresh) = grp.consumer(c, now);
                cons.seen_time = now;
                created = fresh;
                s.edge_id(true).is_some_and(|top| top > last)
            }
        },
        None => s.edge_id(true).is_some_and(|top| top > gt),
    };
    if created {
        if let (Some((g, c)), true) = (&op.group, op.noack) {
            log_created(key, g, c);
        }
        shard.dirtied();
        shard.notify(crate::notify::STREAM, "xgroup-createconsumer", db, key);
    }
    // Found again: the borrow above ended with the notification.
    let Some(Value::Stream(s)) = shard.write(db, key, now).map(|e| &mut e.value) else {
        return false;
    };
    if !ready {
        return false;
    }
    let resp3 = out.resp3;
    if resp3 {
        out.map(1);
    } else {
        out.array(1);
        out.array(2);
    }
    out.bulk(key);
    match &op.group {
        Some((g, c)) => {
            group_read(out, s, key, g, c, None, op.noack, op.count, now);
            shard.dirtied();
        }
        None => {
            let start = gt.incr().unwrap_or(StreamId::MAX);
            super::reply_range(out, s, start, StreamId::MAX, op.count, false);
        }
    }
    true
}
