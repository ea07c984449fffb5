//! Consumer-group commands: XGROUP (CREATE SETID DESTROY CREATECONSUMER
//! DELCONSUMER HELP), XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use super::{bulk_id, parse_bound, parse_id, reply_entry};
use crate::commands::{acl, args::is, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::notify::STREAM;
use crate::protocol::{parse_i64, Args};
use crate::types::stream::{group::INVALID_ENTRIES_READ, Group, Nack, StreamId};
use crate::types::{Stream, Value};

pub const XACK: Command = Command::new("xack", -4, xack)
    .flags(WRITE | FAST)
    .keys(1, 1, 1)
    .acl(acl::STREAM)
    .group("stream")
    .doc("5.0.0", "O(1) for each message ID processed.", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", "key group id [id ...]");

pub const XPENDING: Command = Command::new("xpending", -3, xpending)
    .flags(READONLY)
    .keys(1, 1, 1)
    .acl(acl::STREAM)
    .group("stream")
    .doc("5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "Returns the information and entries from a stream consumer group's pending entries list.", "key group [[IDLE min-idle-time] start end count [consumer]]");

pub const XCLAIM: Command = Command::new("xclaim", -6, xclaim)
    .flags(WRITE | FAST)
    .keys(1, 1, 1)
    .acl(acl::STREAM)
    .group("stream")
    .doc("5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]");

pub const XAUTOCLAIM: Command = Command::new("xautoclaim", -6, xautoclaim)
    .flags(WRITE | FAST)
    .keys(1, 1, 1)
    .acl(acl::STREAM)
    .group("stream")
    .doc("6.2.0", "O(1) if COUNT is small.", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", "key group consumer min-idle-time start [COUNT count] [JUSTID]");

pub const XGROUP: Command = Command::container("xgroup", XGROUP_SUBS)
    .group("stream")
    .doc(
        "5.0.0",
        "Depends on subcommand.",
        "A container for consumer groups commands.",
        "",
    );

const XGROUP_SUBS: &[Command] = &[
    Command::new("xgroup|create", -5, create)
        .flags(WRITE | DENYOOM)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Creates a consumer group.",
            "key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]",
        ),
    Command::new("xgroup|createconsumer", 5, createconsumer)
        .flags(WRITE | DENYOOM)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "6.2.0",
            "O(1)",
            "Creates a consumer in a consumer group.",
            "key group consumer",
        ),
    Command::new("xgroup|delconsumer", 5, delconsumer)
        .flags(WRITE)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Deletes a consumer from a consumer group.",
            "key group consumer",
        ),
    Command::new("xgroup|destroy", 4, destroy)
        .flags(WRITE)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(N) where N is the number of entries in the group's pending entries list (PEL).",
            "Destroys a consumer group.",
            "key group",
        ),
    Command::new("xgroup|setid", -5, setid)
        .flags(WRITE)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Sets the last-delivered ID of a consumer group.",
            "key group id|$ [ENTRIESREAD entries-read]",
        ),
    Command::new("xgroup|help", 2, help)
        .flags(LOADING | STALE)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
];

fn nogroup_for(key: &[u8], g: &[u8]) -> CmdError {
    CmdError::coded(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(g)
    ))
}

fn nogroup_named(key: &[u8], g: &[u8]) -> CmdError {
    CmdError::coded(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(g),
        String::from_utf8_lossy(key)
    ))
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Print this help.",
    ]);
    Ok(())
}

/// CREATE/SETID options: MKSTREAM (CREATE only) and ENTRIESREAD.
fn group_opts(args: &Args<'_>, create: bool) -> Result<(bool, i64), CmdError> {
    let (mut mkstream, mut entries_read) = (false, INVALID_ENTRIES_READ);
    let mut i = 5;
    while i < args.len() {
        if create && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "entriesread") && i + 1 < args.len() {
            entries_read = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(crate::commands::args::subcommand_syntax(*args));
        }
    }
    Ok((mkstream, entries_read))
}

fn need_key() -> CmdError {
    CmdError::err("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
}

fn create(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mkstream, entries_read) = group_opts(&args, true)?;
    if args.len() > 8 {
        return Err(crate::commands::args::subcommand_syntax(args));
    }
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let exists = shard.write_as::<Stream>(db, key, now)?.is_some();
    if !exists && !mkstream {
        return Err(need_key());
    }
    let id_arg = &args[4];
    let parse = |s: Option<&Stream>| -> Result<StreamId, CmdError> {
        if id_arg == b"$" {
            Ok(s.map_or(StreamId::MIN, |s| s.last_id))
        } else {
            parse_id(id_arg)
        }
    };
    if !exists {
        let id = parse(None)?;
        let mut s = Stream::new();
        s.groups.insert(name.into(), Group::new(id, entries_read));
        shard
            .db(db)
            .insert(key, Value::Stream(Box::new(s)), NO_EXPIRE, now);
    } else {
        let Some(s) = shard.write_as::<Stream>(db, key, now)? else {
            return Err(need_key());
        };
        let id = parse(Some(s))?;
        if s.groups.contains_key(name) {
            return Err(CmdError::coded(
                "BUSYGROUP Consumer Group name already exists",
            ));
        }
        s.groups.insert(name.into(), Group::new(id, entries_read));
    }
    // Only a new key is a modification watchers see, as in Redis.
    if exists {
        shard.dirtied();
    } else {
        shard.modified(db, key);
    }
    drop(shard);
    ctx.out.ok();
    ctx.notify(STREAM, "xgroup-create", key);
    Ok(())
}

/// The group named in `args[3]` of the stream at `args[2]`, with
/// XGROUP's errors.
macro_rules! group_of {
    ($shard:ident, $db:expr, $key:expr, $name:expr, $now:expr) => {{
        let Some(s) = $shard.write_as::<Stream>($db, $key, $now)? else {
            return Err(need_key());
        };
        let last = s.last_id;
        match s.groups.get_mut($name) {
            Some(g) => (g, last),
            None => return Err(nogroup_named($key, $name)),
        }
    }};
}

fn setid(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (_, entries_read) = group_opts(&args, false)?;
    if args.len() != 5 && args.len() != 7 {
        return Err(crate::commands::args::subcommand_syntax(args));
    }
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let (g, last) = group_of!(shard, db, key, name, now);
    let id = if &args[4] == b"$" {
        last
    } else {
        super::parse_id_full(&args[4], 0, false, false)?.0
    };
    g.last_id = id;
    g.entries_read = entries_read;
    shard.dirtied();
    drop(shard);
    ctx.out.ok();
    ctx.notify(STREAM, "xgroup-setid", key);
    Ok(())
}

fn destroy(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.write_as::<Stream>(db, key, now)? else {
        return Err(need_key());
    };
    if s.groups.remove(name).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    // Readers blocked on the group hear that it is gone.
    shard.wake(db, key);
    drop(shard);
    ctx.out.int(1);
    ctx.notify(STREAM, "xgroup-destroy", key);
    Ok(())
}

fn createconsumer(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let (g, _) = group_of!(shard, db, key, name, now);
    let (_, created) = g.consumer(&args[4], now);
    if created {
        shard.dirtied();
        drop(shard);
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    ctx.out.int(created as i64);
    Ok(())
}

fn delconsumer(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let (g, _) = group_of!(shard, db, key, name, now);
    let pending = match g.delete_consumer(&args[4]) {
        Some(n) => {
            shard.dirtied();
            drop(shard);
            ctx.notify(STREAM, "xgroup-delconsumer", key);
            n
        }
        None => 0,
    };
    ctx.out.int(pending as i64);
    Ok(())
}

fn xack(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[1], &args[2]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(g) = shard
        .read_as::<Stream>(db, key, now)?
        .and_then(|s| s.groups.get_mut(name))
    else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = (3..args.len())
        .map(|i| parse_id(args.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count();
    if acked > 0 {
        shard.dirtied();
        shard.stats.dirty += acked as u64 - 1;
    }
    ctx.out.int(acked as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let n = args.len();
    if n != 3 && !(6..=9).contains(&n) {
        return Err(CmdError::Syntax);
    }
    let (db, now, key, name) = (ctx.db(), ctx.now, &args[1], &args[2]);
    let mut range = None;
    if n >= 6 {
        let mut at = 3;
        let mut minidle = 0i64;
        if is(&args[3], "idle") {
            minidle = parse_i64(&args[4]).ok_or(CmdError::NotInteger)?;
            if n < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = parse_i64(&args[at + 2]).ok_or(CmdError::NotInteger)?.max(0) as usize;
        let start = parse_bound(&args[at], false)?;
        let end = parse_bound(&args[at + 1], true)?;
        let consumer = (at + 3 < n).then(|| args.get(at + 3));
        range = Some((minidle, start, end, count, consumer));
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(g) = shard
        .read_as::<Stream>(db, key, now)?
        .and_then(|s| s.groups.get(name))
    else {
        return Err(nogroup_for(key, name));
    };
    let out = &mut *ctx.out;
    let Some((minidle, start, end, count, consumer)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                bulk_id(out, *first);
                bulk_id(out, *last);
                let busy: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                out.array(busy.len());
                for (name, c) in busy {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(c.pel.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let row = |out: &mut crate::protocol::Reply, id: StreamId, nack: &Nack| -> bool {
        if minidle > 0 && (now as i64).wrapping_sub(nack.delivery_time as i64) < minidle {
            return false;
        }
        out.array(4);
        bulk_id(out, id);
        out.bulk(&nack.consumer);
        out.int((now as i64).wrapping_sub(nack.delivery_time as i64).max(0));
        out.int(nack.delivery_count as i64);
        true
    };
    let at = out.begin_deferred();
    let mut emitted = 0;
    if start <= end && count > 0 {
        match consumer {
            Some(cname) => {
                let Some(c) = g.consumers.get(cname) else {
                    out.end_array(at, 0);
                    return Ok(());
                };
                for id in c.pel.range(start..=end) {
                    if let Some(nack) = g.pel.get(id) {
                        if row(out, *id, nack) {
                            emitted += 1;
                            if emitted == count {
                                break;
                            }
                        }
                    }
                }
            }
            None => {
                for (id, nack) in g.pel.range(start..=end) {
                    if row(out, *id, nack) {
                        emitted += 1;
                        if emitted == count {
                            break;
                        }
                    }
                }
            }
        }
    }
    out.end_array(at, emitted);
    Ok(())
}

/// The XCLAIM a replica or the AOF replays for one claim (or for a
/// pending entry dropped because its message is gone).
pub(super) fn claim_argv(
    key: &[u8],
    g: &[u8],
    id: StreamId,
    n: &Nack,
    last: StreamId,
) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        g.to_vec(),
        n.consumer.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        n.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        n.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_vec(),
    ]
}

/// The XGROUP SETID that replays a group's position and read counter.
pub(super) fn setid_argv(key: &[u8], gname: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        gname.to_vec(),
        g.last_id.to_vec(),
        b"ENTRIESREAD".to_vec(),
        g.entries_read.to_string().into_bytes(),
    ]
}

/// The XGROUP CREATECONSUMER that replays a consumer's creation.
pub(super) fn createconsumer_argv(key: &[u8], gname: &[u8], cname: &[u8]) -> Vec<Vec<u8>> {
    [&b"XGROUP"[..], b"CREATECONSUMER", key, gname, cname]
        .iter()
        .map(|a| a.to_vec())
        .collect()
}

fn log_all(argvs: &[Vec<Vec<u8>>]) {
    crate::persist::aof::log::propagate_nothing();
    for a in argvs {
        crate::persist::aof::propagate_instead(a.iter().map(|v| v.as_slice()));
    }
}

fn xclaim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, gname, cname) = (ctx.db(), ctx.now, &args[1], &args[2], &args[3]);
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.read_as::<Stream>(db, key, now)? else {
        return Err(nogroup_for(key, gname));
    };
    if !s.groups.contains_key(gname) {
        return Err(nogroup_for(key, gname));
    }
    let minidle = parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match parse_id(&args[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        let num = |j: usize, what: &str| {
            parse_i64(&args[j])
                .ok_or_else(|| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more > 0 {
            j += 1;
            deliverytime = (now as i64).saturating_sub(num(j, "IDLE")?);
        } else if is(opt, "time") && more > 0 {
            j += 1;
            deliverytime = num(j, "TIME")?;
        } else if is(opt, "retrycount") && more > 0 {
            j += 1;
            retrycount = num(j, "RETRYCOUNT")?;
        } else if is(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_id(&args[j])?;
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
        j += 1;
    }
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now as i64 {
        deliverytime = now as i64;
    }
    let Some(mut g) = s.groups.remove(gname) else {
        return Err(nogroup_for(key, gname));
    };
    let mut changed = false;
    let mut propagate_last = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last = true;
        changed = true;
    }
    let (c, created) = g.consumer(cname, now);
    c.seen_time = now;
    changed |= created;
    let mut argvs: Vec<Vec<Vec<u8>>> = Vec::new();
    let out = &mut *ctx.out;
    let at = out.begin_deferred();
    let mut n = 0;
    for id in ids {
        let exists = s.contains(id);
        if !exists {
            if let Some(nack) = g.pel.get(&id) {
                argvs.push(claim_argv(key, gname, id, nack, g.last_id));
                propagate_last = false;
                g.ack(id);
                changed = true;
            }
            continue;
        }
        let had = g.pel.contains_key(&id);
        if !had {
            if !force {
                continue;
            }
            g.pel.insert(
                id,
                Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: cname.into(),
                },
            );
        } else if minidle > 0 {
            let idle = (now as i64).wrapping_sub(g.pel[&id].delivery_time as i64);
            if idle < minidle {
                continue;
            }
        }
        let Some(nack) = g.transfer(id, cname) else {
            continue;
        };
        nack.delivery_time = deliverytime as u64;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count = nack.delivery_count.wrapping_add(1);
        }
        let nack = nack.clone();
        if justid {
            bulk_id(out, id);
        } else {
            s.get(id, |e| reply_entry(out, e));
        }
        n += 1;
        if let Some(c) = g.consumers.get_mut(cname) {
            c.active_time = now as i64;
        }
        argvs.push(claim_argv(key, gname, id, &nack, g.last_id));
        propagate_last = false;
        changed = true;
    }
    if propagate_last {
        argvs.push(setid_argv(key, gname, &g));
    }
    if created {
        argvs.insert(0, createconsumer_argv(key, gname, cname));
    }
    s.groups.insert(Box::from(gname), g);
    out.end_array(at, n);
    log_all(&argvs);
    if changed {
        shard.dirtied();
    }
    if created {
        shard.notify(STREAM, "xgroup-createconsumer", db, key);
    }
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key, gname, cname) = (ctx.db(), ctx.now, &args[1], &args[2], &args[3]);
    let minidle = parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = parse_bound(&args[5], false)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    const MAX_COUNT: i64 = i64::MAX / 16;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "count") && more > 0 {
            count = match parse_i64(&args[j + 1]) {
                Some(c) if (1..=MAX_COUNT).contains(&c) => c,
                _ => return Err(CmdError::err("COUNT must be > 0")),
            };
            j += 1;
        } else if is(&args[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let mut shard = ctx.server.keyspace.lock(key);
    let Some(s) = shard.read_as::<Stream>(db, key, now)? else {
        return Err(nogroup_for(key, gname));
    };
    let Some(mut g) = s.groups.remove(gname) else {
        return Err(nogroup_for(key, gname));
    };
    let (c, created) = g.consumer(cname, now);
    c.seen_time = now;
    let mut changed = created;
    let mut attempts = count.saturating_mul(10);
    let mut left = count;
    let mut argvs: Vec<Vec<Vec<u8>>> = Vec::new();
    if created {
        argvs.push(createconsumer_argv(key, gname, cname));
    }
    let mut deleted = Vec::new();
    let mut body = crate::protocol::Reply::new(ctx.out.resp3);
    let mut claimed = 0usize;
    let mut cursor = Some(start);
    let mut next_id = StreamId::MIN;
    while let Some(from) = cursor {
        let Some(id) = g.pel.range(from..).next().map(|(id, _)| *id) else {
            cursor = None;
            break;
        };
        if attempts == 0 || left == 0 {
            next_id = id;
            break;
        }
        attempts -= 1;
        cursor = id.incr();
        if !s.contains(id) {
            if let Some(nack) = g.pel.get(&id) {
                argvs.push(claim_argv(key, gname, id, nack, g.last_id));
            }
            g.ack(id);
            deleted.push(id);
            left -= 1;
            changed = true;
            continue;
        }
        if minidle > 0 && (now as i64).wrapping_sub(g.pel[&id].delivery_time as i64) < minidle {
            continue;
        }
        let Some(nack) = g.transfer(id, cname) else {
            continue;
        };
        nack.delivery_time = now;
        if !justid {
            nack.delivery_count = nack.delivery_count.wrapping_add(1);
        }
        let nack = nack.clone();
        if justid {
            bulk_id(&mut body, id);
        } else {
            s.get(id, |e| reply_entry(&mut body, e));
        }
        claimed += 1;
        left -= 1;
        if let Some(c) = g.consumers.get_mut(cname) {
            c.active_time = now as i64;
        }
        argvs.push(claim_argv(key, gname, id, &nack, g.last_id));
        changed = true;
    }
    let _ = cursor;
    s.groups.insert(Box::from(gname), g);
    let out = &mut *ctx.out;
    out.array(3);
    bulk_id(out, next_id);
    out.array(claimed);
    out.raw(&body.buf);
    out.array(deleted.len());
    for id in deleted {
        bulk_id(out, id);
    }
    log_all(&argvs);
    if changed {
        shard.dirtied();
    }
    if created {
        shard.notify(STREAM, "xgroup-createconsumer", db, key);
    }
    Ok(())
}
