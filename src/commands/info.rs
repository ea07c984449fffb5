//! INFO, with Redis's section and field names (clients and monitoring tools
//! parse them; ioredis waits for `loading:0`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::{flags::*, Command, Ctx};
use crate::error::CmdResult;
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[Command::new("info", -1, info)
    .flags(LOADING | STALE)
    .acl(super::acl::DANGEROUS)
    .group("server")
    .doc(
        "1.0.0",
        "O(1)",
        "Returns information and statistics about the server.",
        "[section [section ...]]",
    )];

/// Sections in output order, and whether `default` includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("keyspace", true),
];

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut wanted: Vec<&str> = Vec::new();
    if args.len() == 1 {
        wanted.extend(SECTIONS.iter().filter(|s| s.1).map(|s| s.0));
    }
    for a in args.iter().skip(1) {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "all" | "everything" => wanted.extend(SECTIONS.iter().map(|s| s.0)),
            "default" => wanted.extend(SECTIONS.iter().filter(|s| s.1).map(|s| s.0)),
            other => {
                if let Some(s) = SECTIONS.iter().find(|s| s.0 == other) {
                    wanted.push(s.0);
                }
            }
        }
    }
    let mut text = String::new();
    for (name, _) in SECTIONS {
        if !wanted.contains(name) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        section(ctx, name, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// (user, system) CPU seconds of this process, from /proc/self/stat.
fn cpu_times() -> (f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((
                f.get(11)?.parse::<f64>().ok()? / ticks,
                f.get(12)?.parse::<f64>().ok()? / ticks,
            ))
        })
        .unwrap_or((0.0, 0.0))
}

fn section(ctx: &mut Ctx<'_>, name: &str, t: &mut String) {
    let server = ctx.server;
    let config = server.config.snapshot();
    let w = |t: &mut String, k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(t, "{k}:{v}\r\n");
    };
    match name {
        "server" => {
            let uptime = server.started.elapsed().as_secs();
            t.push_str("# Server\r\n");
            w(t, "redis_version", &crate::REDIS_VERSION);
            w(t, "redis_git_sha1", &"00000000");
            w(t, "redis_git_dirty", &0);
            w(t, "redis_build_id", &"0");
            w(t, "redis_mode", &"standalone");
            w(t, "ember_version", &crate::EMBER_VERSION);
            w(
                t,
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            w(t, "arch_bits", &(usize::BITS));
            w(t, "multiplexing_api", &"epoll");
            w(t, "process_id", &std::process::id());
            w(t, "process_supervised", &"no");
            w(t, "run_id", &server.run_id);
            w(t, "tcp_port", &server.port());
            w(t, "server_time_usec", &crate::util::now_us());
            w(t, "uptime_in_seconds", &uptime);
            w(t, "uptime_in_days", &(uptime / 86400));
            w(t, "hz", &server.config.hz());
            w(t, "configured_hz", &config.hz);
            // Redis's LRU clock: seconds, 24 bits.
            w(
                t,
                "lru_clock",
                &((crate::util::now_ms() / 1000) & 0xFF_FFFF),
            );
            w(
                t,
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            w(
                t,
                "config_file",
                &config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            // Worker threads run whole connections; there are no I/O threads.
            w(t, "io_threads_active", &0);
        }
        "clients" => {
            t.push_str("# Clients\r\n");
            w(t, "connected_clients", &server.clients.count());
            w(t, "cluster_connections", &0);
            w(t, "maxclients", &config.maxclients);
            let (input, output) = server.stats.client_peaks.max();
            w(t, "client_recent_max_input_buffer", &input);
            w(t, "client_recent_max_output_buffer", &output);
            w(
                t,
                "blocked_clients",
                &server.stats.blocked_clients.load(Relaxed),
            );
            w(t, "tracking_clients", &server.pubsub.tracking.info().0);
            w(
                t,
                "clients_in_timeout_table",
                &server.stats.blocked_with_timeout.load(Relaxed),
            );
            let (mut blocking_keys, mut on_nokey) = (0usize, 0usize);
            for i in 0..crate::keyspace::NSHARDS {
                let shard = server.keyspace.lock_shard(i);
                blocking_keys += shard.waiters.keys();
                on_nokey += shard.waiters.keys_on_nokey();
            }
            w(t, "total_blocking_keys", &blocking_keys);
            // Keys with an XREADGROUP waiting: it wakes when they go away.
            w(t, "total_blocking_keys_on_nokey", &on_nokey);
        }
        "memory" => {
            let rss = crate::alloc::rss() as u64;
            let used = crate::alloc::used_memory() as u64;
            let peak = crate::alloc::sample_peak() as u64;
            t.push_str("# Memory\r\n");
            w(t, "used_memory", &used);
            w(t, "used_memory_human", &human(used));
            w(t, "used_memory_rss", &rss);
            w(t, "used_memory_rss_human", &human(rss));
            w(t, "used_memory_peak", &peak);
            w(t, "used_memory_peak_human", &human(peak));
            let peak_perc = if peak > 0 {
                used as f64 * 100.0 / peak as f64
            } else {
                0.0
            };
            w(t, "used_memory_peak_perc", &format!("{peak_perc:.2}%"));
            let startup = crate::alloc::startup() as u64;
            let dataset = used.saturating_sub(startup);
            // What is not the dataset: here, what the server held at startup.
            w(t, "used_memory_overhead", &startup);
            w(t, "used_memory_startup", &startup);
            w(t, "used_memory_dataset", &dataset);
            let perc = if used > startup {
                dataset as f64 * 100.0 / (used - startup) as f64
            } else {
                0.0
            };
            w(t, "used_memory_dataset_perc", &format!("{perc:.2}%"));
            let system = crate::alloc::total_system_memory();
            w(t, "total_system_memory", &system);
            w(t, "total_system_memory_human", &human(system));
            let sc = &server.scripts;
            let lua = sc.lua_memory.load(Relaxed) as u64;
            w(t, "used_memory_lua", &lua);
            w(t, "used_memory_vm_eval", &lua);
            w(t, "used_memory_lua_human", &human(lua));
            w(
                t,
                "used_memory_scripts_eval",
                &sc.scripts_memory.load(Relaxed),
            );
            w(
                t,
                "number_of_cached_scripts",
                &sc.cached_scripts.load(Relaxed),
            );
            w(t, "number_of_functions", &sc.functions.load(Relaxed));
            w(t, "number_of_libraries", &sc.libraries.load(Relaxed));
            w(t, "used_memory_vm_functions", &lua);
            let scripts =
                (sc.scripts_memory.load(Relaxed) + sc.functions_memory.load(Relaxed)) as u64;
            w(t, "used_memory_vm_total", &(2 * lua));
            w(t, "used_memory_vm_total_human", &human(2 * lua));
            w(
                t,
                "used_memory_functions",
                &sc.functions_memory.load(Relaxed),
            );
            w(t, "used_memory_scripts", &scripts);
            w(t, "used_memory_scripts_human", &human(scripts));
            w(t, "maxmemory", &config.maxmemory);
            w(t, "maxmemory_human", &human(config.maxmemory));
            w(t, "maxmemory_policy", &config.maxmemory_policy);
            let frag = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            w(t, "mem_fragmentation_ratio", &format!("{frag:.2}"));
            w(t, "mem_fragmentation_bytes", &(rss as i64 - used as i64));
            // Eviction counts all memory (the replication backlog too);
            // there are no cluster links.
            let backlog = server.aof.log.backlog.info().memory;
            w(t, "mem_not_counted_for_evict", &0);
            w(t, "mem_replication_backlog", &backlog);
            w(t, "mem_total_replication_buffers", &backlog);
            w(t, "mem_clients_slaves", &0);
            w(
                t,
                "mem_clients_normal",
                &crate::server::client_evict::total(server),
            );
            w(t, "mem_cluster_links", &0);
            w(t, "mem_allocator", &crate::alloc::ALLOCATOR_NAME);
            w(t, "active_defrag_running", &0);
            let (pending, freed) = crate::lazyfree::stats();
            w(t, "lazyfree_pending_objects", &pending);
            w(t, "lazyfreed_objects", &freed);
        }
        "persistence" => {
            t.push_str("# Persistence\r\n");
            let p = &server.persist;
            let bg = p.bgsave_in_progress.load(Relaxed);
            let now = crate::util::now_ms();
            w(t, "loading", &(p.loading.load(Relaxed) as u8));
            w(t, "async_loading", &0);
            w(t, "current_cow_peak", &0);
            w(
                t,
                "current_cow_size",
                &crate::persist::snapshot::COW_BYTES.load(Relaxed),
            );
            w(t, "current_cow_size_age", &0);
            w(t, "current_fork_perc", &"0.00");
            w(t, "current_save_keys_processed", &0);
            w(t, "current_save_keys_total", &0);
            w(
                t,
                "rdb_changes_since_last_save",
                &p.changes(&server.keyspace),
            );
            w(t, "rdb_bgsave_in_progress", &(bg as u8));
            w(t, "rdb_last_save_time", &p.last_save.load(Relaxed));
            let ok = if p.last_bgsave_ok.load(Relaxed) {
                "ok"
            } else {
                "err"
            };
            w(t, "rdb_last_bgsave_status", &ok);
            w(
                t,
                "rdb_last_bgsave_time_sec",
                &p.last_bgsave_secs.load(Relaxed),
            );
            let current = if bg {
                (now.saturating_sub(p.bgsave_started_ms.load(Relaxed)) / 1000) as i64
            } else {
                -1
            };
            w(t, "rdb_current_bgsave_time_sec", &current);
            w(t, "rdb_saves", &p.saves.load(Relaxed));
            w(t, "rdb_last_cow_size", &p.last_cow_size.load(Relaxed));
            w(
                t,
                "rdb_last_load_keys_expired",
                &p.loaded_expired.load(Relaxed),
            );
            w(t, "rdb_last_load_keys_loaded", &p.loaded_keys.load(Relaxed));
            server.aof.info(&mut |k, v| w(t, k, &v));
        }
        "stats" => {
            let ks = server.keyspace.stats();
            let (cmds, net_in, net_out, reads, writes) = server.traffic_totals();
            let [ops, in_bps, out_bps] = server.stats.instantaneous.rates();
            t.push_str("# Stats\r\n");
            w(
                t,
                "total_connections_received",
                &server.stats.total_connections_received.load(Relaxed),
            );
            w(t, "total_commands_processed", &cmds);
            w(t, "instantaneous_ops_per_sec", &(ops as u64));
            w(t, "total_net_input_bytes", &net_in);
            w(t, "total_net_output_bytes", &net_out);
            // No replication: its traffic and syncs are zero.
            w(t, "total_net_repl_input_bytes", &0);
            w(t, "total_net_repl_output_bytes", &0);
            w(
                t,
                "instantaneous_input_kbps",
                &format!("{:.2}", in_bps / 1024.0),
            );
            w(
                t,
                "instantaneous_output_kbps",
                &format!("{:.2}", out_bps / 1024.0),
            );
            w(t, "instantaneous_input_repl_kbps", &"0.00");
            w(t, "instantaneous_output_repl_kbps", &"0.00");
            w(
                t,
                "rejected_connections",
                &server.stats.rejected_connections.load(Relaxed),
            );
            let repl = &server.repl;
            w(t, "sync_full", &repl.sync_full.load(Relaxed));
            w(t, "sync_partial_ok", &repl.sync_partial_ok.load(Relaxed));
            w(t, "sync_partial_err", &repl.sync_partial_err.load(Relaxed));
            w(t, "expired_keys", &ks.expired_keys);
            let (stale, capped, cycle_ms) = crate::keyspace::expire::stats();
            w(t, "expired_stale_perc", &format!("{:.2}", stale * 100.0));
            w(t, "expired_time_cap_reached_count", &capped);
            w(t, "expire_cycle_cpu_milliseconds", &cycle_ms);
            w(t, "evicted_keys", &ks.evicted_keys);
            w(
                t,
                "evicted_clients",
                &server.stats.evicted_clients.load(Relaxed),
            );
            w(t, "keyspace_hits", &ks.keyspace_hits);
            w(t, "keyspace_misses", &ks.keyspace_misses);
            let ps = &server.pubsub;
            w(
                t,
                "pubsub_channels",
                &ps.count(crate::pubsub::Kind::Channel),
            );
            w(
                t,
                "pubsub_patterns",
                &ps.count(crate::pubsub::Kind::Pattern),
            );
            w(
                t,
                "pubsubshard_channels",
                &ps.count(crate::pubsub::Kind::Shard),
            );
            // Snapshots do not fork (docs/ARCHITECTURE.md): these count
            // snapshots begun (BGSAVE, SAVE, rewrites, full syncs) and the
            // time the last one held every shard to fix its instant, the
            // pause that stands for Redis's fork. There is no active
            // defrag.
            let (forks, fork_us) = ctx.server.keyspace.snapshot_stats();
            w(t, "latest_fork_usec", &fork_us);
            w(t, "total_forks", &forks);
            w(t, "migrate_cached_sockets", &ctx.server.migrate.count());
            w(t, "slave_expires_tracked_keys", &0);
            w(t, "active_defrag_hits", &0);
            w(t, "active_defrag_misses", &0);
            w(t, "active_defrag_key_hits", &0);
            w(t, "active_defrag_key_misses", &0);
            w(t, "total_active_defrag_time", &0);
            w(t, "current_active_defrag_time", &0);
            let (_, tkeys, titems, tprefixes) = ps.tracking.info();
            w(t, "tracking_total_keys", &tkeys);
            w(t, "tracking_total_items", &titems);
            w(t, "tracking_total_prefixes", &tprefixes);
            // Errors in replies to a master or while loading the AOF: Ember
            // has no master, and a bad AOF stops the load.
            w(t, "unexpected_error_replies", &0);
            w(
                t,
                "total_error_replies",
                &server.stats.total_error_replies.load(Relaxed),
            );
            w(t, "total_reads_processed", &reads);
            w(t, "total_writes_processed", &writes);
            // Worker threads run whole connections; there are no I/O threads.
            w(t, "io_threaded_reads_processed", &0);
            w(t, "io_threaded_writes_processed", &0);
            w(
                t,
                "reply_buffer_shrinks",
                &server.trim.shrinks.load(Relaxed),
            );
            w(
                t,
                "reply_buffer_expands",
                &server.trim.expands.load(Relaxed),
            );
            w(
                t,
                "client_output_buffer_limit_disconnections",
                &ps.limit_disconnections.load(Relaxed),
            );
            let [auth, cmd, key, channel] = server.acl.denied_counts();
            w(t, "acl_access_denied_auth", &auth);
            w(t, "acl_access_denied_cmd", &cmd);
            w(t, "acl_access_denied_key", &key);
            w(t, "acl_access_denied_channel", &channel);
        }
        "replication" => {
            t.push_str("# Replication\r\n");
            server.repl.info(server, &mut |k, v| w(t, k, v));
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            t.push_str("# CPU\r\n");
            w(t, "used_cpu_sys", &format!("{sys:.6}"));
            w(t, "used_cpu_user", &format!("{user:.6}"));
        }
        "modules" => t.push_str("# Modules\r\n"),
        "errorstats" => {
            t.push_str("# Errorstats\r\n");
            let errors = server.stats.errors.lock();
            let mut codes: Vec<_> = errors.iter().collect();
            codes.sort();
            for (code, n) in codes {
                let _ = write!(t, "errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => {
            t.push_str("# Latencystats\r\n");
            let percentiles = server
                .config
                .read(|c| c.latency_tracking_info_percentiles.clone());
            let threads = server.thread_stats.lock();
            for e in &server.commands.entries {
                let parts: Vec<_> = threads.iter().filter_map(|ts| ts.hist.get(e.id)).collect();
                let Some(h) = crate::server::latency::Summed::of(parts.into_iter()) else {
                    continue;
                };
                let _ = write!(t, "latency_percentiles_usec_{}:", e.cmd.name);
                for (i, p) in percentiles.iter().enumerate() {
                    if i > 0 {
                        t.push(',');
                    }
                    let us = h.percentile_ns(*p) as f64 / 1000.0;
                    let _ = write!(t, "p{}={us:.3}", crate::config::format_percentile(*p));
                }
                t.push_str("\r\n");
            }
        }
        "commandstats" => {
            t.push_str("# Commandstats\r\n");
            let threads = server.thread_stats.lock();
            for e in &server.commands.entries {
                let sum = |f: &dyn Fn(&crate::server::stats::CmdCounters) -> u64| -> u64 {
                    threads.iter().map(|ts| f(&ts.cmds[e.id])).sum()
                };
                let calls = sum(&|c| c.calls.load(Relaxed));
                let rejected = sum(&|c| c.rejected.load(Relaxed));
                let failed = sum(&|c| c.failed.load(Relaxed));
                if calls == 0 && rejected == 0 && failed == 0 {
                    continue;
                }
                let usec = sum(&|c| c.usec.load(Relaxed));
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    t,
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                    e.cmd.name
                );
            }
        }
        "keyspace" => {
            t.push_str("# Keyspace\r\n");
            for db in 0..server.keyspace.ndbs() {
                let (keys, expires) = server.keyspace.db_counts(db);
                if keys > 0 {
                    let _ = write!(t, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}
