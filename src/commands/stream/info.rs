//! XINFO STREAM / GROUPS / CONSUMERS / HELP.

use super::{bulk_id, reply_entry, reply_range};
use crate::commands::{acl, args::is, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Args, Reply};
use crate::types::stream::{group::INVALID_ENTRIES_READ, Group, StreamId};
use crate::types::Stream;

pub const XINFO: Command = Command::container("xinfo", XINFO_SUBS).group("stream").doc(
    "5.0.0",
    "Depends on subcommand.",
    "A container for stream introspection commands.",
    "",
);

const XINFO_SUBS: &[Command] = &[
    Command::new("xinfo|consumers", 4, consumers)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns a list of the consumers in a consumer group.",
            "key group",
        ),
    Command::new("xinfo|groups", 3, groups)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns a list of the consumer groups of a stream.",
            "key",
        ),
    Command::new("xinfo|stream", -3, stream)
        .flags(READONLY)
        .keys(2, 2, 1)
        .acl(acl::STREAM)
        .group("stream")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns information about a stream.",
            "key [FULL [COUNT count]]",
        ),
    Command::new("xinfo|help", 2, help)
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

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Print this help.",
    ]);
    Ok(())
}

fn key(out: &mut Reply, k: &str) {
    out.bulk(k.as_bytes());
}

fn entries_read(out: &mut Reply, g: &Group) {
    if g.entries_read != INVALID_ENTRIES_READ {
        out.int(g.entries_read);
    } else {
        out.null();
    }
}

fn lag(out: &mut Reply, s: &Stream, g: &Group) {
    match s.lag(g) {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// The stream at `args[2]`, or Redis's `no such key`.
macro_rules! stream_of {
    ($ctx:ident, $shard:ident, $args:ident) => {{
        let (db, now) = ($ctx.db(), $ctx.now);
        match $shard.read_as::<Stream>(db, &$args[2], now)? {
            Some(s) => s,
            None => return Err(CmdError::NoSuchKey),
        }
    }};
}

fn consumers(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now as i64;
    let mut shard = ctx.server.keyspace.lock(&args[2]);
    let s = stream_of!(ctx, shard, args);
    let Some(g) = s.groups.get(&args[3]) else {
        return Err(CmdError::coded(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(&args[3]),
            String::from_utf8_lossy(&args[2])
        )));
    };
    let out = &mut *ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(4);
        key(out, "name");
        out.bulk(name);
        key(out, "pending");
        out.int(c.pel.len() as i64);
        key(out, "idle");
        out.int(now.wrapping_sub(c.seen_time as i64).max(0));
        key(out, "inactive");
        out.int(if c.active_time != -1 {
            now.wrapping_sub(c.active_time)
        } else {
            -1
        });
    }
    Ok(())
}

fn groups(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut shard = ctx.server.keyspace.lock(&args[2]);
    let s = stream_of!(ctx, shard, args);
    let out = &mut *ctx.out;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        key(out, "name");
        out.bulk(name);
        key(out, "consumers");
        out.int(g.consumers.len() as i64);
        key(out, "pending");
        out.int(g.pel.len() as i64);
        key(out, "last-delivered-id");
        bulk_id(out, g.last_id);
        key(out, "entries-read");
        entries_read(out, g);
        key(out, "lag");
        lag(out, s, g);
    }
    Ok(())
}

fn stream(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let opts = args.len() - 3;
    let mut full = false;
    let mut count: i64 = 10;
    if opts > 0 {
        if (opts != 1 && opts != 3) || !is(&args[3], "full") {
            return Err(crate::commands::args::subcommand_syntax(args));
        }
        full = true;
        if opts == 3 {
            if !is(&args[4], "count") {
                return Err(crate::commands::args::subcommand_syntax(args));
            }
            count = parse_i64(&args[5]).ok_or(CmdError::NotInteger)?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut shard = ctx.server.keyspace.lock(&args[2]);
    let s = stream_of!(ctx, shard, args);
    let out = &mut *ctx.out;
    out.map(if full { 9 } else { 10 });
    key(out, "length");
    out.int(s.len() as i64);
    key(out, "radix-tree-keys");
    out.int(s.node_count() as i64);
    // Ember keeps nodes in an ordered map: this is the size of the radix
    // tree Redis would build over the same keys.
    key(out, "radix-tree-nodes");
    out.int(s.radix_nodes() as i64);
    key(out, "last-generated-id");
    bulk_id(out, s.last_id);
    key(out, "max-deleted-entry-id");
    bulk_id(out, s.max_deleted);
    key(out, "entries-added");
    out.int(s.entries_added as i64);
    key(out, "recorded-first-entry-id");
    bulk_id(out, s.first_id);
    if !full {
        key(out, "groups");
        out.int(s.groups.len() as i64);
        for (name, rev) in [("first-entry", false), ("last-entry", true)] {
            key(out, name);
            let mut found = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
                reply_entry(out, e);
                found = true;
                false
            });
            if !found {
                out.null();
            }
        }
        return Ok(());
    }
    let count = count as usize;
    key(out, "entries");
    reply_range(out, s, StreamId::MIN, StreamId::MAX, count, false);
    key(out, "groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        key(out, "name");
        out.bulk(name);
        key(out, "last-delivered-id");
        bulk_id(out, g.last_id);
        key(out, "entries-read");
        entries_read(out, g);
        key(out, "lag");
        lag(out, s, g);
        key(out, "pel-count");
        out.int(g.pel.len() as i64);
        key(out, "pending");
        let take = if count == 0 { usize::MAX } else { count };
        let pel: Vec<_> = g.pel.iter().take(take).collect();
        out.array(pel.len());
        for (id, n) in pel {
            out.array(4);
            bulk_id(out, *id);
            out.bulk(&n.consumer);
            out.int(n.delivery_time as i64);
            out.int(n.delivery_count as i64);
        }
        key(out, "consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(5);
            key(out, "name");
            out.bulk(cname);
            key(out, "seen-time");
            out.int(c.seen_time as i64);
            key(out, "active-time");
            out.int(c.active_time);
            key(out, "pel-count");
            out.int(c.pel.len() as i64);
            key(out, "pending");
            let ids: Vec<_> = c.pel.iter().take(take).collect();
            out.array(ids.len());
            for id in ids {
                out.array(3);
                bulk_id(out, *id);
                let n = g.pel.get(id);
                out.int(n.map_or(0, |n| n.delivery_time as i64));
                out.int(n.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}
