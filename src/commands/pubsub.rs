//! Pub/Sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
//! SSUBSCRIBE SUNSUBSCRIBE SPUBLISH and the PUBSUB introspection container.
//! The registry and delivery live in `src/pubsub.rs`.
//!
//! Replies follow Redis 7.2: one `subscribe`/`unsubscribe`… confirmation per
//! name (an array under RESP2, a push frame under RESP3) carrying the
//! client's subscription count after it; a mass unsubscribe with nothing to
//! drop still answers once, with a null name and 0.

use super::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::pubsub::Kind;

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, subscribe)
        .flags(SUB)
        .group("pubsub")
        .doc(
            "2.0.0",
            "O(N) where N is the number of channels to subscribe to.",
            "Listens for messages published to channels.",
            "channel [channel ...]",
        ),
    Command::new("unsubscribe", -1, unsubscribe)
        .flags(SUB)
        .group("pubsub")
        .doc(
            "2.0.0",
            "O(N) where N is the number of channels to unsubscribe.",
            "Stops listening to messages posted to channels.",
            "[channel [channel ...]]",
        ),
    Command::new("psubscribe", -2, psubscribe)
        .flags(SUB)
        .group("pubsub")
        .doc(
            "2.0.0",
            "O(N) where N is the number of patterns to subscribe to.",
            "Listens for messages published to channels that match one or more patterns.",
            "pattern [pattern ...]",
        ),
    Command::new("punsubscribe", -1, punsubscribe)
        .flags(SUB)
        .group("pubsub")
        .doc(
            "2.0.0",
            "O(N) where N is the number of patterns to unsubscribe.",
            "Stops listening to messages published to channels that match one or more patterns.",
            "[pattern [pattern ...]]",
        ),
    Command::new("publish", 3, publish)
        .flags(PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE)
        .group("pubsub")
        .doc(
            "2.0.0",
            "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
            "Posts a message to a channel.",
            "channel message",
        ),
    Command::new("ssubscribe", -2, ssubscribe)
        .flags(SUB)
        .keys(1, -1, 1)
        .group("pubsub")
        .doc(
            "7.0.0",
            "O(N) where N is the number of shard channels to subscribe to.",
            "Listens for messages published to shard channels.",
            "shardchannel [shardchannel ...]",
        ),
    Command::new("sunsubscribe", -1, sunsubscribe)
        .flags(SUB)
        .keys(1, -1, 1)
        .group("pubsub")
        .doc(
            "7.0.0",
            "O(N) where N is the number of shard channels to unsubscribe.",
            "Stops listening to messages posted to shard channels.",
            "[shardchannel [shardchannel ...]]",
        ),
    Command::new("spublish", 3, spublish)
        .flags(PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE)
        .keys(1, 1, 1)
        .group("pubsub")
        .doc(
            "7.0.0",
            "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            "Post a message to a shard channel",
            "shardchannel message",
        ),
    Command::container("pubsub", PUBSUB_SUBS)
        .group("pubsub")
        .doc(
            "2.8.0",
            "Depends on subcommand.",
            "A container for Pub/Sub commands.",
            "",
        ),
];

const INTRO: u32 = PUBSUB | LOADING | STALE;

const PUBSUB_SUBS: &[Command] = &[
    Command::new("pubsub|channels", -2, channels)
        .flags(INTRO)
        .group("pubsub")
        .doc(
            "2.8.0",
            "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
            "Returns the active channels.",
            "[pattern]",
        ),
    Command::new("pubsub|help", 2, help)
        .flags(LOADING | STALE)
        .group("pubsub")
        .doc(
            "6.2.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
    Command::new("pubsub|numpat", 2, numpat)
        .flags(INTRO)
        .group("pubsub")
        .doc(
            "2.8.0",
            "O(1)",
            "Returns a count of unique pattern subscriptions.",
            "",
        ),
    Command::new("pubsub|numsub", -2, numsub)
        .flags(INTRO)
        .group("pubsub")
        .doc(
            "2.8.0",
            "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
            "Returns a count of subscribers to channels.",
            "[channel [channel ...]]",
        ),
    Command::new("pubsub|shardchannels", -2, shardchannels)
        .flags(INTRO)
        .group("pubsub")
        .doc(
            "7.0.0",
            "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
            "Returns the active shard channels.",
            "[pattern]",
        ),
    Command::new("pubsub|shardnumsub", -2, shardnumsub)
        .flags(INTRO)
        .group("pubsub")
        .doc(
            "7.0.0",
            "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
            "Returns the count of subscribers of shard channels.",
            "[shardchannel [shardchannel ...]]",
        ),
];

/// The confirmation label of each kind, for subscribing and unsubscribing.
fn labels(kind: Kind) -> (&'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
    }
}

/// The count a confirmation carries: channels + patterns, or shard channels.
fn count_for(ctx: &Ctx<'_>, kind: Kind) -> usize {
    let s = &ctx.client.pubsub;
    match kind {
        Kind::Shard => s.shard_count(),
        _ => s.count(),
    }
}

fn confirm(ctx: &mut Ctx<'_>, label: &[u8], name: Option<&[u8]>, count: usize) {
    let out = &mut *ctx.out;
    out.push(3);
    out.bulk(label);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn do_subscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    let resp3 = ctx.client.resp == 3;
    let info = ctx.client.info.clone();
    ctx.client.pubsub.attach(&hub, &info, resp3);
    let (label, _) = labels(kind);
    let mut e = hub.edit(&mut ctx.client.pubsub);
    e.drain_into(&mut ctx.out.buf);
    for name in args.iter().skip(1) {
        e.add(kind, name);
        let n = match kind {
            Kind::Shard => e.subs.shard_count(),
            _ => e.subs.count(),
        };
        let out = &mut *ctx.out;
        out.push(3);
        out.bulk(label);
        out.bulk(name);
        out.int(n as i64);
    }
    Ok(())
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let (_, label) = labels(kind);
    let hub = ctx.server.pubsub.clone();
    if ctx.client.pubsub.subscriber().is_none() {
        // Never subscribed: nothing to drop.
        if args.len() == 1 {
            confirm(ctx, label, None, 0);
        } else {
            for name in args.iter().skip(1) {
                confirm(ctx, label, Some(name), 0);
            }
        }
        return Ok(());
    }
    let mut e = hub.edit(&mut ctx.client.pubsub);
    e.drain_into(&mut ctx.out.buf);
    let names: Vec<Box<[u8]>> = if args.len() == 1 {
        e.list(kind)
    } else {
        args.iter().skip(1).map(Box::from).collect()
    };
    if names.is_empty() {
        drop(e);
        let n = count_for(ctx, kind);
        confirm(ctx, label, None, n);
        return Ok(());
    }
    for name in &names {
        e.remove(kind, name);
        let n = match kind {
            Kind::Shard => e.subs.shard_count(),
            _ => e.subs.count(),
        };
        let out = &mut *ctx.out;
        out.push(3);
        out.bulk(label);
        out.bulk(name);
        out.int(n as i64);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_subscribe(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_subscribe(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Inside MULTI/EXEC (and scripts) a client expects one reply per
    // command; Redis refuses SSUBSCRIBE there (SUBSCRIBE keeps its old
    // allowance inside MULTI).
    if ctx.client.deny_blocking {
        return Err(CmdError::err(
            "SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    do_subscribe(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Shard)
}

fn publish(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    // Replicas' subscribers get it too (not the AOF), as in Redis.
    crate::persist::aof::log::to_replicas_only(&ctx.server.aof.log);
    let n = ctx.server.pubsub.publish(false, &args[1], &args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn spublish(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    crate::persist::aof::log::to_replicas_only(&ctx.server.aof.log);
    let n = ctx.server.pubsub.publish(true, &args[1], &args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn list_names(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax(args));
    }
    let pattern = (args.len() == 3).then(|| args.get(2));
    let names = ctx.server.pubsub.names(kind, pattern);
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn channels(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    list_names(ctx, args, Kind::Channel)
}

fn shardchannels(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    list_names(ctx, args, Kind::Shard)
}

fn counts(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    ctx.out.array((args.len() - 2) * 2);
    for name in args.iter().skip(2) {
        ctx.out.bulk(name);
        let n = ctx.server.pubsub.numsub(kind, name);
        ctx.out.int(n as i64);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    counts(ctx, args, Kind::Channel)
}

fn shardnumsub(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    counts(ctx, args, Kind::Shard)
}

fn numpat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let n = ctx.server.pubsub.count(Kind::Pattern);
    ctx.out.int(n as i64);
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}
