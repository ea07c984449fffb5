//! DUMP and RESTORE: a key's value in Redis's serialized form (an RDB value,
//! the RDB version and a CRC-64; see [`crate::persist::rdb`]), which moves
//! values between Ember and Redis servers either way.

use super::args::{int, is};
use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{access, NO_EXPIRE};
use crate::persist::rdb;
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[
    Command::new("dump", 2, dump)
        .flags(READONLY)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE)
        .doc(
            "2.6.0",
            "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
            "Returns a serialized representation of the value stored at a key.",
            "key",
        ),
    Command::new("restore", -4, restore)
        .flags(WRITE | DENYOOM)
        .keys(1, 1, 1)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .doc(
            "2.6.0",
            "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
            "Creates a key from the serialized representation of a value.",
            "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        ),
];

fn dump(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let payload = {
        // Compressed under `rdbcompression yes` (the default), as Redis does.
        let compress = ctx.server.config.read(|c| c.rdbcompression);
        let mut shard = ctx.server.keyspace.lock(key);
        match shard.read(db, key, now) {
            Some(e) => rdb::dump_payload(&e.value, compress),
            None => {
                ctx.out.null();
                return Ok(());
            }
        }
    };
    ctx.out.bulk(&payload);
    Ok(())
}

fn restore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (db, now, key) = (ctx.db(), ctx.now, &args[1]);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "absttl") {
            absttl = true;
        } else if is(&args[i], "idletime") && more && freq.is_none() {
            let v = int(&args[i + 1])?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            i += 1;
        } else if is(&args[i], "freq") && more && idle.is_none() {
            let v = int(&args[i + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // Decode before taking the shard lock (a big payload takes a while);
    // the errors are still reported in Redis's order: BUSYKEY, then the
    // TTL, then the payload.
    let ttl = int(&args[2]).and_then(|t| {
        if t < 0 {
            Err(CmdError::err("Invalid TTL value, must be >= 0"))
        } else {
            Ok(t)
        }
    });
    let limits = rdb::LoadLimits::of(ctx.server);
    let value = rdb::verify_dump(&args[3], limits.skip_checksum)
        .map_err(|_| CmdError::err("DUMP payload version or checksum are wrong"))
        .and_then(|body| {
            rdb::decode_dump_value(body, &limits).map_err(|e| {
                // As Redis: what was wrong goes to the log at verbose level.
                tracing::debug!("RESTORE: bad payload: {}", e.0);
                CmdError::err("Bad data format")
            })
        });
    let mut shard = ctx.server.keyspace.lock(key);
    if !replace && shard.exists(db, key, now) {
        return Err(CmdError::coded("BUSYKEY Target key name already exists."));
    }
    let ttl = ttl?;
    let value = value?;
    let expire = match (ttl, absttl) {
        (0, _) => NO_EXPIRE,
        (t, true) => t as u64,
        (t, false) => now.saturating_add(t as u64),
    };
    if expire != NO_EXPIRE && crate::keyspace::expire::already_past(expire, now) {
        // Already expired (ABSTTL in the past): the key ends up absent.
        if let Some(gone) = replace.then(|| shard.db(db).remove(key)).flatten() {
            shard.modified(db, key);
            shard.notify(crate::notify::GENERIC, "del", db, key);
            let why = crate::persist::aof::log::Deletion::Server;
            ctx.propagate_del(why, key);
            crate::keyspace::free_deleted(&ctx.server.aof.log, why, gone);
        }
        ctx.out.ok();
        return Ok(());
    }
    let lru = match (access::lfu_mode(), freq, idle) {
        (true, Some(f), _) => access::lfu_with_freq(f as u8, now),
        (false, _, Some(s)) => access::lru_with_idle(s as u64, now),
        _ => access::initial(now),
    };
    shard.db(db).insert_entry(key.into(), value, expire, lru);
    shard.modified(db, key);
    if expire != NO_EXPIRE && !absttl {
        // A relative TTL is logged as the absolute time it ends (argument 2
        // replaced, ABSTTL appended), as Redis rewrites it.
        let mut n = itoa::Buffer::new();
        let at = n.format(expire).as_bytes();
        let argv = args
            .iter()
            .enumerate()
            .map(|(i, a)| if i == 2 { at } else { a });
        crate::persist::aof::propagate_instead(argv.chain([&b"ABSTTL"[..]]));
    }
    shard.notify(crate::notify::GENERIC, "restore", db, key);
    ctx.out.ok();
    Ok(())
}
