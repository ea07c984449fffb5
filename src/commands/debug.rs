//! DEBUG and its subcommands (RELOAD, DIGEST, DIGEST-VALUE, POPULATE,
//! SLEEP, SET-ACTIVE-EXPIRE, OBJECT, PROTOCOL, PAUSE-CRON, REPLYBUFFER,
//! CONFIG-REWRITE-FORCE-ALL, LOADAOF, AOF-FLUSH-SLEEP,
//! SET-SKIP-CHECKSUM-VALIDATION), for tests and diagnostics; refused unless
//! `enable-debug-command` allows it (commands::debug_allowed).

use super::digest::{self, Digest};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::protocol::Args;
use crate::types::{Str, Value};
use crate::util::eq_ic;

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty (keys and FUNCTION
/// libraries), load the file back. Without MERGE a key or library that is
/// already there fails the load (Redis panics on the key; we answer the
/// error), with MERGE the file's replaces it.
fn debug_reload(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for a in args.iter().skip(2) {
        if eq_ic(a, b"nosave") {
            save = false;
        } else if eq_ic(a, b"noflush") {
            flush = false;
        } else if eq_ic(a, b"merge") {
            merge = true;
        } else {
            return Err(CmdError::err(
                "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let server = ctx.server;
    if save && !matches!(crate::persist::save::save(server), Ok(Ok(()))) {
        return Err(CmdError::err(
            "Error trying to save the RDB dump, check server logs.",
        ));
    }
    if flush {
        crate::persist::save::empty_data(server);
    }
    let path = crate::persist::save::rdb_path(server);
    let loaded = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            let input = &mut std::io::BufReader::new(f);
            let role = crate::persist::save::RdbRole::Snapshot;
            crate::persist::save::load_into(server, input, role, merge).map_err(|e| e.to_string())
        });
    if let Err(e) = loaded {
        tracing::warn!("DEBUG RELOAD: {e}");
        return Err(CmdError::err(
            "Error trying to load the RDB dump, check server logs.",
        ));
    }
    tracing::info!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

pub fn debug(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let sub = &args[1];
    if eq_ic(sub, b"sleep") && args.len() == 3 {
        let secs: f64 = std::str::from_utf8(&args[2])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or(CmdError::NotFloat)?;
        // Blocks this worker thread, as DEBUG SLEEP blocks Redis.
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"set-active-expire") && args.len() == 3 {
        let on = match &args[2] {
            b"0" => false,
            b"1" => true,
            _ => return Err(CmdError::NotInteger),
        };
        ctx.server
            .keyspace
            .active_expire
            .store(on, std::sync::atomic::Ordering::Relaxed);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"quicklist-packed-threshold") && args.len() == 3 {
        let sz = std::str::from_utf8(&args[2])
            .ok()
            .and_then(crate::config::parse_memory)
            .and_then(crate::types::list::packed_threshold)
            .ok_or_else(|| {
                CmdError::err("argument must be a memory value bigger than 1 and smaller than 4gb")
            })?;
        ctx.server
            .config
            .list_packed_threshold
            .store(sz, std::sync::atomic::Ordering::Relaxed);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"set-disable-deny-scripts") && args.len() == 3 {
        // As Redis: atoi; scripts may then call `noscript` commands.
        ctx.server.scripts.deny_disabled.store(
            super::args::atoi(&args[2]) != 0,
            std::sync::atomic::Ordering::Relaxed,
        );
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"config-rewrite-force-all") && args.len() == 2 {
        super::config_cmd::rewrite_file(ctx.server, true)
            .map_err(|e| CmdError::err(format!("CONFIG-REWRITE-FORCE-ALL failed: {e}")))?;
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"protocol") && args.len() == 3 {
        protocol(ctx, &args[2])
    } else if eq_ic(sub, b"object") && args.len() == 3 {
        debug_object(ctx, &args[2])
    } else if eq_ic(sub, b"pause-cron") && args.len() == 3 {
        ctx.server.trim.pause_cron(super::args::atoi(&args[2]) != 0);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"replybuffer") && args.len() == 4 {
        let trim = &ctx.server.trim;
        if eq_ic(&args[2], b"peak-reset-time") {
            if eq_ic(&args[3], b"never") {
                trim.set_peak_reset_ms(Some(-1));
            } else if eq_ic(&args[3], b"reset") {
                trim.set_peak_reset_ms(None);
            } else {
                trim.set_peak_reset_ms(Some(super::args::int(&args[3])?));
            }
        } else if eq_ic(&args[2], b"resizing") {
            trim.set_resizing(super::args::atoi(&args[3]) != 0);
        } else {
            return Err(super::args::subcommand_syntax(args));
        }
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"reload") {
        debug_reload(ctx, args)
    } else if eq_ic(sub, b"set-skip-checksum-validation") && args.len() == 3 {
        let skip = super::args::atoi(&args[2]) != 0;
        ctx.server
            .persist
            .skip_checksum
            .store(skip, std::sync::atomic::Ordering::Relaxed);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"aof-flush-sleep") && args.len() == 3 {
        // As Redis: atoi, a negative or junk value is 0.
        let us = super::args::atoi(&args[2]).max(0) as u64;
        ctx.server.aof.log.set_flush_sleep_us(us);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"loadaof") && args.len() == 2 {
        // Dispatch let it run without this worker's gate: it takes them all.
        if let Err(e) = crate::persist::aof::reload(ctx.server) {
            tracing::warn!("DEBUG LOADAOF: {e}");
            return Err(CmdError::err(
                "Error trying to load the AOF files, check server logs.",
            ));
        }
        // The replay logged nothing, and neither does DEBUG.
        crate::persist::aof::log::discard();
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"replicate") && args.len() >= 3 {
        // The arguments go to the replicas' stream as a command, as is.
        let mut cmd = Vec::new();
        crate::persist::aof::log::encode(&mut cmd, args.slice(2).iter());
        ctx.server.aof.log.submit_alone(cmd);
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, b"digest") && args.len() == 2 {
        digest(ctx)
    } else if eq_ic(sub, b"digest-value") {
        digest_value(ctx, args)
    } else if eq_ic(sub, b"populate") && (3..=5).contains(&args.len()) {
        populate(ctx, args)
    } else if eq_ic(sub, b"help") {
        const LINES: &[&str] = &[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "AOF-FLUSH-SLEEP <microsec>",
            "    Server will sleep before flushing the AOF, this is used for testing.",
            "CONFIG-REWRITE-FORCE-ALL",
            "    Like CONFIG REWRITE but writes all configuration options, including",
            "    keywords not listed in original configuration file or default values.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "LOADAOF",
            "    Flush the AOF buffers on disk and reload the AOF in memory.",
            "OBJECT <key>",
            "    Show low level info about the `key` and associated value.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "PAUSE-CRON <0|1>",
            "    Stop periodic cron job processing.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Available options:",
            "    * MERGE: Merge the content of the RDB instead of flushing the current",
            "      DB.",
            "    * NOFLUSH: Do not flush the current DB before loading the RDB file.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
            "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
            "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
            "    In case NEVER is provided the last observed peak will never be reset",
            "    In case RESET is provided the peak reset time will be restored to the default value",
            "REPLYBUFFER RESIZING <0|1>",
            "    Enable or disable the reply buffer resize cron job",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
            "SET-DISABLE-DENY-SCRIPTS <0|1>",
            "    For testing only: scripts may run commands flagged 'noscript'.",
            "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
            "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help.",
        ];
        ctx.out.lines(LINES);
        Ok(())
    } else {
        Err(super::args::subcommand_syntax(args))
    }
}

/// DEBUG OBJECT key, in Redis's words: where the value is, its refcount and
/// encoding, its RDB length, its LRU/LFU field as Redis keeps it (the LRU
/// clock in seconds, 24 bits; or the LFU minutes and counter), its idle
/// seconds, and for a quicklist its nodes. Like Redis it looks the key up
/// without expiring it.
fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    use crate::keyspace::access;
    let (db, now) = (ctx.db(), ctx.now);
    let lfu = ctx.server.config.policy().is_lfu();
    let (compress, fill, compress_depth) = ctx.server.config.read(|c| {
        (
            c.rdbcompression,
            c.list_max_listpack_size,
            c.list_compress_depth,
        )
    });
    let line = {
        let shard = ctx.server.keyspace.lock(key);
        let t = shard.db_ref(db);
        let Some((_, e)) = t.position(key).and_then(|p| t.at(p)) else {
            return Err(CmdError::err("no such key"));
        };
        let mut rdb = Vec::new();
        crate::persist::rdb::write_value(&mut rdb, &e.value, compress);
        let (lru, idle) = if lfu {
            (e.lru & 0xFF_FFFF, 0)
        } else {
            let idle_ms = access::lru_idle_ms(e.lru, now);
            (
                ((now - idle_ms.min(now)) / 1000) as u32 & 0xFF_FFFF,
                idle_ms / 1000,
            )
        };
        let mut line = format!(
            "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            &e.value,
            super::keys::refcount(ctx.server, &e.value),
            e.value.encoding(),
            rdb.len().saturating_sub(1),
            lru,
            idle,
        );
        if let Value::List(l) = &e.value {
            if l.encoding() == "quicklist" {
                let nodes = l.node_count();
                line.push_str(&format!(
                    " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
                    nodes,
                    l.len() as f64 / nodes.max(1) as f64,
                    fill,
                    (compress_depth != 0) as u8,
                    l.node_bytes(),
                ));
            }
        }
        line
    };
    ctx.out.simple(&line);
    Ok(())
}

/// DEBUG PROTOCOL <type>: Redis's sample reply of each RESP3 type (RESP2
/// clients get its RESP2 form).
fn protocol(ctx: &mut Ctx<'_>, name: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    let is = |t: &[u8]| eq_ic(name, t);
    if is(b"string") {
        out.bulk(b"Hello World");
    } else if is(b"integer") {
        out.int(12345);
    } else if is(b"double") {
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        out.double(3.141);
    } else if is(b"bignum") {
        const BIG: &[u8] = b"1234567999999999999999999999999999999";
        if out.resp3 {
            out.raw(b"(");
            out.raw(BIG);
            out.raw(b"\r\n");
        } else {
            out.bulk(BIG);
        }
    } else if is(b"null") {
        out.null();
    } else if is(b"array") || is(b"set") {
        if is(b"set") {
            out.set(3);
        } else {
            out.array(3);
        }
        (0..3).for_each(|j| out.int(j));
    } else if is(b"map") {
        out.map(3);
        for j in 0..3 {
            out.int(j);
            out.boolean(j == 1);
        }
    } else if is(b"attrib") {
        // An attribute, then the reply it annotates (RESP2: the reply only).
        if out.resp3 {
            out.raw(b"|1\r\n");
            out.bulk(b"key-popularity");
            out.array(2);
            out.bulk(b"key:123");
            out.int(90);
        }
        out.bulk(b"Some real reply following the attribute");
    } else if is(b"push") {
        if !out.resp3 {
            return Err(CmdError::err("RESP2 is not supported by this command"));
        }
        out.push(2);
        out.bulk(b"server-cpu-usage");
        out.int(42);
        out.bulk(b"Some real reply following the push reply");
    } else if is(b"true") || is(b"false") {
        out.boolean(is(b"true"));
    } else if is(b"verbatim") {
        out.verbatim(b"This is a verbatim\nstring");
    } else {
        return Err(CmdError::err(
            "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ));
    }
    Ok(())
}

/// DEBUG DIGEST: the whole dataset, under every shard lock (one consistent
/// view; keys past their TTL but not yet reclaimed count, as in Redis).
fn digest(ctx: &mut Ctx<'_>) -> CmdResult {
    let mut d = Digest::default();
    let mut all = ctx.server.keyspace.lock_all();
    for db in 0..ctx.server.keyspace.ndbs() {
        let mut keys = Vec::new();
        for shard in all.shards() {
            let t = shard.db_ref(db);
            keys.extend(t.iter().map(|(k, e)| digest::key_digest(k, e)));
        }
        digest::add_db(&mut d, db, keys.into_iter());
    }
    drop(all);
    ctx.out.simple(&digest::hex(&d));
    Ok(())
}

/// DEBUG DIGEST-VALUE key...: each value as stored (not expired first),
/// zeros for a missing key.
fn digest_value(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ctx.out.array(args.len() - 2);
    let db = ctx.db();
    for key in args.slice(2).iter() {
        let mut d = Digest::default();
        let shard = ctx.server.keyspace.lock(key);
        let t = shard.db_ref(db);
        if let Some((_, e)) = t.position(key).and_then(|p| t.at(p)) {
            digest::add_value(&mut d, e);
        }
        drop(shard);
        ctx.out.simple(&digest::hex(&d));
    }
    Ok(())
}

/// A count or size for DEBUG POPULATE (`getPositiveLongFromObjectOrReply`:
/// Redis's one message for a negative number and for a non-number).
fn non_negative(arg: &[u8]) -> Result<u64, CmdError> {
    super::args::positive(arg, super::args::MUST_BE_POSITIVE).map(|n| n as u64)
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:0` .. `prefix:count-1`
/// (`key:` by default; the name cut at 127 bytes, as Redis's buffer cuts
/// it) holding `value:<n>`, or that text zero-padded or cut to `size`
/// bytes. Existing keys are left alone. As in Redis, nothing is propagated
/// to the AOF and no notification but `new` is raised.
fn populate(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let count = non_negative(&args[2])?;
    // A size of 0 is no size, as in Redis; one past proto-max-bulk-len is
    // refused (Redis would try to allocate it).
    let size = match args.len() {
        5 => match non_negative(&args[4])? {
            0 => None,
            n if n > ctx.server.config.proto_max_bulk_len() => {
                return Err(CmdError::err("size is larger than proto-max-bulk-len"))
            }
            n => Some(n as usize),
        },
        _ => None,
    };
    let prefix: &[u8] = if args.len() >= 4 { &args[3] } else { b"key" };
    let (db, now) = (ctx.db(), ctx.now);
    let mut key = Vec::with_capacity(128);
    let mut num = itoa::Buffer::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(num.format(j).as_bytes());
        key.truncate(127);
        let mut shard = ctx.server.keyspace.lock(&key);
        if shard.write(db, &key, now).is_some() {
            continue;
        }
        let text = format!("value:{j}");
        let value = match size {
            None => text.into_bytes(),
            Some(n) => {
                let mut v = vec![0u8; n];
                let k = n.min(text.len());
                v[..k].copy_from_slice(&text.as_bytes()[..k]);
                v
            }
        };
        shard
            .db(db)
            .insert(&key, Value::Str(Str::from_bytes(&value)), NO_EXPIRE, now);
        shard.modified(db, &key);
    }
    crate::persist::aof::propagate_nothing();
    ctx.out.ok();
    Ok(())
}
