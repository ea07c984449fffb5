//! SLOWLOG GET/LEN/RESET/HELP and LATENCY LATEST/HISTORY/RESET/HISTOGRAM/
//! DOCTOR/GRAPH/HELP. The data lives in `server::latency`.

use super::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Args;
use crate::server::latency::Summed;

pub const COMMANDS: &[Command] = &[
    Command::container("slowlog", SLOWLOG).group("server").doc(
        "2.2.12",
        "Depends on subcommand.",
        "A container for slow log commands.",
        "",
    ),
    Command::container("latency", LATENCY).group("server").doc(
        "2.8.13",
        "Depends on subcommand.",
        "A container for latency diagnostics commands.",
        "",
    ),
];

const SLOWLOG: &[Command] = &[
    Command::new("slowlog|get", -2, slowlog_get)
        .flags(ADMIN | LOADING | STALE)
        .group("server")
        .doc(
            "2.2.12",
            "O(N) where N is the number of entries returned",
            "Returns the slow log's entries.",
            "[count]",
        ),
    Command::new("slowlog|len", 2, slowlog_len)
        .flags(ADMIN | LOADING | STALE)
        .group("server")
        .doc(
            "2.2.12",
            "O(1)",
            "Returns the number of entries in the slow log.",
            "",
        ),
    Command::new("slowlog|reset", 2, slowlog_reset)
        .flags(ADMIN | LOADING | STALE)
        .group("server")
        .doc(
            "2.2.12",
            "O(N) where N is the number of entries in the slowlog",
            "Clears all entries from the slow log.",
            "",
        ),
    Command::new("slowlog|help", 2, slowlog_help)
        .flags(LOADING | STALE)
        .group("server")
        .doc(
            "6.2.0",
            "O(1)",
            "Show helpful text about the different subcommands",
            "",
        ),
];

const L: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const LATENCY: &[Command] = &[
    Command::new("latency|latest", 2, latest)
        .flags(L)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Returns the latest latency samples for all events.",
            "",
        ),
    Command::new("latency|history", 3, history)
        .flags(L)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Returns timestamp-latency samples for an event.",
            "event",
        ),
    Command::new("latency|reset", -2, reset)
        .flags(L)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Resets the latency data for one or more events.",
            "[event [event ...]]",
        ),
    Command::new("latency|histogram", -2, histogram)
        .flags(L)
        .group("server")
        .doc(
            "7.0.0",
            "O(N) where N is the number of commands with latency information being retrieved.",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
            "[command [command ...]]",
        ),
    Command::new("latency|doctor", 2, doctor)
        .flags(L)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Returns a human-readable latency analysis report.",
            "",
        ),
    Command::new("latency|graph", 3, graph)
        .flags(L)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Returns a latency graph for an event.",
            "event",
        ),
    Command::new("latency|help", 2, latency_help)
        .flags(LOADING | STALE)
        .group("server")
        .doc(
            "2.8.13",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
];

fn slowlog_get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let log = &ctx.server.slowlog;
    let count = match args.len() {
        2 => 10,
        3 => {
            let n = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|n| *n >= -1)
                .ok_or_else(|| CmdError::err("count should be greater than or equal to -1"))?;
            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
        _ => return Err(super::args::subcommand_syntax(args)),
    };
    let out = &mut *ctx.out;
    log.with_newest(count, |entries| {
        let entries: Vec<_> = entries.collect();
        out.array(entries.len());
        for e in entries {
            out.array(6);
            out.int(e.id as i64);
            out.int(e.time as i64);
            out.int(e.usec as i64);
            out.array(e.args.len());
            for a in &e.args {
                out.bulk(a);
            }
            out.bulk(e.peer.as_bytes());
            out.bulk(&e.name);
        }
    });
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.server.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
    ]);
    Ok(())
}

fn latest(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let events = ctx.server.latency.latest();
    ctx.out.array(events.len());
    for (event, time, last, max) in events {
        ctx.out.array(4);
        ctx.out.bulk(event.as_bytes());
        ctx.out.int(time as i64);
        ctx.out.int(last as i64);
        ctx.out.int(max as i64);
    }
    Ok(())
}

fn history(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let samples = ctx.server.latency.history(&args[2]);
    ctx.out.array(samples.len());
    for (time, ms) in samples {
        ctx.out.array(2);
        ctx.out.int(time as i64);
        ctx.out.int(ms as i64);
    }
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let m = &ctx.server.latency;
    let n = if args.len() == 2 {
        m.reset(None)
    } else {
        args.iter().skip(2).map(|e| m.reset(Some(e))).sum()
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// The summed histogram of one table entry, if it has samples.
fn summed(ctx: &Ctx<'_>, id: usize) -> Option<Summed> {
    let threads = ctx.server.thread_stats.lock();
    let parts: Vec<_> = threads.iter().filter_map(|t| t.hist.get(id)).collect();
    Summed::of(parts.into_iter())
}

fn histogram(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let table = &ctx.server.commands;
    let mut ids: Vec<usize> = Vec::new();
    if args.len() == 2 {
        ids.extend(table.entries.iter().map(|e| e.id));
    } else {
        for name in args.iter().skip(2) {
            let Some(e) = table.get_full(name) else {
                continue;
            };
            ids.push(e.id);
            // A container's subcommands too, as Redis.
            let mut subs: Vec<usize> = e.subs.values().copied().collect();
            subs.sort();
            ids.extend(subs.into_iter().map(|i| table.entries[i].id));
        }
    }
    let with_data: Vec<(usize, Summed)> = ids
        .into_iter()
        .filter_map(|id| summed(ctx, id).map(|s| (id, s)))
        .collect();
    ctx.out.map(with_data.len());
    for (id, s) in with_data {
        let name = table.entries[id].cmd.name;
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(s.total as i64);
        ctx.out.bulk(b"histogram_usec");
        let cdf = s.cdf();
        ctx.out.map(cdf.len());
        for (us, n) in cdf {
            ctx.out.int(us as i64);
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

fn doctor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let threshold = ctx.server.config.latency_threshold();
    let events = ctx.server.latency.latest();
    let mut report = String::new();
    if threshold == 0 && events.is_empty() {
        report.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
    } else if events.is_empty() {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better tonight.\n");
    } else {
        report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (i, (event, _, last, max)) in events.iter().enumerate() {
            let samples = ctx.server.latency.history(event.as_bytes());
            let avg = samples.iter().map(|s| s.1).sum::<u64>() / samples.len().max(1) as u64;
            report.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.\n",
                i + 1,
                event,
                samples.len(),
                avg,
                max.max(last)
            ));
        }
        report.push_str("\nI have a few advices for you:\n\n- Check your slow log (SLOWLOG GET) for the commands that take longest, and avoid O(N) commands on big values.\n");
    }
    ctx.out.verbatim(report.as_bytes());
    Ok(())
}

fn graph(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let samples = ctx.server.latency.history(&args[2]);
    if samples.is_empty() {
        return Err(CmdError::err(format!(
            "No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    }
    // A plain text chart: one row per sample, bars scaled to the maximum.
    let max = samples.iter().map(|s| s.1).max().unwrap_or(1).max(1);
    let name = String::from_utf8_lossy(&args[2]);
    let mut text = format!(
        "{name} - high {max} ms, low {} ms\n",
        samples.iter().map(|s| s.1).min().unwrap_or(0)
    );
    for (t, ms) in samples {
        let bar = "#".repeat(((ms * 40) / max).max(1) as usize);
        text.push_str(&format!("{t} {ms:>6} ms {bar}\n"));
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.lines(&[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Print this help.",
    ]);
    Ok(())
}
