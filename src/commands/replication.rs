//! Replication and cluster commands. The master side of replication:
//! REPLCONF, PSYNC and SYNC (a replica's handshake; src/replication serves
//! the link), ROLE and WAIT. READONLY and READWRITE (sent by cluster-aware
//! clients, e.g. Jedis with read-from-replicas, on every connection),
//! ASKING and every CLUSTER subcommand answer that cluster support is
//! disabled, as standalone Redis does (cluster clients such as redis-py's
//! RedisCluster recognise that text).

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse::parse_i64;
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[
    Command::new("replconf", -1, replconf)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc(
            "3.0.0",
            "O(1)",
            "An internal command for configuring the replication stream.",
            "",
        ),
    Command::new("psync", -3, psync)
        .flags(NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc(
            "2.8.0",
            "",
            "An internal command used in replication.",
            "replicationid offset",
        ),
    Command::new("sync", 1, psync)
        .flags(NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc("1.0.0", "", "An internal command used in replication.", ""),
    Command::new("replicaof", 3, replicaof)
        .flags(NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc(
            "5.0.0",
            "O(1)",
            "Configures a server as replica of another, or promotes it to a master.",
            "host port | NO ONE",
        ),
    Command::new("slaveof", 3, replicaof)
        .flags(NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc(
            "1.0.0",
            "O(1)",
            "Sets a Redis server as a replica of another, or promotes it to being a master.",
            "host port | NO ONE",
        ),
    Command::new("role", 1, role)
        .flags(NOSCRIPT | LOADING | STALE | FAST)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .group("server")
        .doc("2.8.12", "O(1)", "Returns the replication role.", ""),
    Command::new("readonly", 1, cluster_disabled)
        .flags(FAST | LOADING | STALE)
        .acl(acl::CONNECTION)
        .group("cluster")
        .doc(
            "3.0.0",
            "O(1)",
            "Enables read-only queries for a connection to a Redis Cluster replica node.",
            "",
        ),
    Command::new("readwrite", 1, cluster_disabled)
        .flags(FAST | LOADING | STALE)
        .acl(acl::CONNECTION)
        .group("cluster")
        .doc(
            "3.0.0",
            "O(1)",
            "Enables read-write queries for a connection to a Reids Cluster replica node.",
            "",
        ),
    Command::new("asking", 1, cluster_disabled)
        .flags(FAST)
        .acl(acl::CONNECTION)
        .group("cluster")
        .doc(
            "3.0.0",
            "O(1)",
            "Signals that a cluster client is following an -ASK redirect.",
            "",
        ),
    Command::new("wait", 3, wait)
        .acl(acl::CONNECTION)
        .group("generic")
        .doc(
            "3.0.0",
            "O(1)",
            "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
            "numreplicas timeout",
        ),
    Command::new("waitaof", 4, waitaof)
        .flags(NOSCRIPT)
        .acl(acl::CONNECTION)
        .group("generic")
        .doc(
            "7.2.0",
            "O(1)",
            "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
            "numlocal numreplicas timeout",
        ),
    Command::container("cluster", CLUSTER).group("cluster").doc(
        "3.0.0",
        "Depends on subcommand.",
        "A container for Redis Cluster commands.",
        "",
    ),
];

/// WAITAOF numlocal numreplicas timeout: `[local, replicas]`, whether this
/// server's AOF has fsynced every write made so far (the connection's
/// included) and how many replicas' AOFs have (their REPLCONF ACK … FACK).
/// It answers once `numlocal` (0 or 1) and `numreplicas` are met, or at the
/// timeout with what there is; inside MULTI or a script, at once.
fn waitaof(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let numlocal = parse_i64(&args[1])
        .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
    if !(0..=1).contains(&numlocal) {
        return Err(CmdError::err(
            "value is out of range, value must between 0 and 1",
        ));
    }
    let numreplicas = super::args::positive(&args[2], super::args::MUST_BE_POSITIVE)? as u64;
    let timeout = super::args::timeout_int_ms(&args[3])?;
    let server = ctx.server;
    let (log, repl) = (&server.aof.log, &server.repl);
    if repl.is_replica() {
        return Err(CmdError::err("WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated."));
    }
    if numlocal > 0 && !log.aof_on() {
        return Err(CmdError::err(
            "WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
        ));
    }
    // Every record numbered so far (this connection's are submitted first).
    log.flush_outbox();
    let at = log.next_seq();
    let ack =
        crate::replication::WaitAck::for_aof(numreplicas, numlocal == 1, at - 1, log.aof_on());
    if ctx.client.deny_blocking || (numlocal == 0 && numreplicas == 0) {
        ack.offset
            .store(log.backlog.end(), std::sync::atomic::Ordering::Relaxed);
        let (local, n) = repl.counts(&ack);
        ctx.out.array(2);
        ctx.out.int(local as i64);
        ctx.out.int(n as i64);
        return Ok(());
    }
    wait_for(ctx, ack, at, timeout);
    Ok(())
}

/// Block the client until `ack` is met (the replicas are asked for an
/// ACK) or `timeout` passes; the stream offset it waits for is the one
/// where record `at` begins.
fn wait_for(
    ctx: &mut Ctx<'_>,
    ack: std::sync::Arc<crate::replication::WaitAck>,
    at: u64,
    timeout: u64,
) {
    let (log, repl) = (&ctx.server.aof.log, &ctx.server.repl);
    crate::blocking::block_keyless(
        ctx,
        crate::blocking::BlockOp::Replicas(ack.clone()),
        timeout,
    );
    let Some(waiter) = ctx.client.blocked.clone() else {
        return;
    };
    repl.add_wait(waiter, ack.clone());
    if let Some(server) = ctx.server.arc() {
        log.at_point(
            at,
            Box::new(move |offset| {
                ack.offset
                    .store(offset, std::sync::atomic::Ordering::Relaxed);
                server.repl.check_waits();
            }),
        );
    }
    if repl.connected() > 0 {
        let mut getack = Vec::with_capacity(40);
        crate::persist::aof::log::encode(&mut getack, [&b"REPLCONF"[..], b"GETACK", b"*"]);
        log.submit_alone(getack);
    }
}

/// WAIT numreplicas timeout: the number of replicas that acknowledged
/// every write made so far (the connection's included). It answers once
/// `numreplicas` did, or at the timeout (0: until unblocked) with how many
/// did; asking for none, or inside MULTI or a script, answers at once.
/// The replicas are asked for an ACK (`REPLCONF GETACK *` in the stream).
fn wait(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let numreplicas = parse_i64(&args[1])
        .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
    let timeout = super::args::timeout_int_ms(&args[2])?;
    let log = &ctx.server.aof.log;
    let repl = &ctx.server.repl;
    if repl.is_replica() {
        return Err(CmdError::err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    if numreplicas <= 0 || ctx.client.deny_blocking {
        ctx.out.int(repl.acked(log.backlog.end()) as i64);
        return Ok(());
    }
    // The offset to wait for is where the stream stands once every record
    // numbered so far is in it (this connection's are submitted first).
    log.flush_outbox();
    let at = log.next_seq();
    wait_for(
        ctx,
        crate::replication::WaitAck::new(numreplicas as u64),
        at,
        timeout,
    );
    Ok(())
}

/// REPLCONF <option> <value> ...: what a replica tells its master before
/// PSYNC (listening-port, ip-address, capa). `ACK` is only meaningful on
/// a replica's link (src/replication/master.rs reads it there) and, like
/// `GETACK` on a master, gets no reply.
fn replconf(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::err("syntax error"));
    }
    let mut i = 1;
    while i < args.len() {
        let (opt, val) = (&args[i], &args[i + 1]);
        let hello = ctx.client.repl.get_or_insert_with(Default::default);
        if opt.eq_ignore_ascii_case(b"listening-port") {
            let port = parse_i64(val)
                .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
            hello.listening_port = port.clamp(0, u16::MAX as i64) as u16;
        } else if opt.eq_ignore_ascii_case(b"ip-address") {
            // As Redis, a bounded length (and no line breaks: INFO shows it).
            if val.len() >= 256 {
                return Err(CmdError::err(format!(
                    "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    val.len()
                )));
            }
            if val.iter().any(|&b| b == b'\r' || b == b'\n' || b == b',') {
                return Err(CmdError::err("Invalid REPLCONF ip-address"));
            }
            hello.ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if opt.eq_ignore_ascii_case(b"capa") {
            if val.eq_ignore_ascii_case(b"eof") {
                hello.capa_eof = true;
            } else if val.eq_ignore_ascii_case(b"psync2") {
                hello.capa_psync2 = true;
            }
        } else if opt.eq_ignore_ascii_case(b"ack") || opt.eq_ignore_ascii_case(b"getack") {
            return Ok(());
        } else if opt.eq_ignore_ascii_case(b"rdb-only")
            || opt.eq_ignore_ascii_case(b"rdb-filter-only")
        {
            // Accepted as Redis accepts them (for redis-cli --rdb).
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
        i += 2;
    }
    ctx.out.ok();
    Ok(())
}

/// REPLICAOF host port | NO ONE (and the deprecated SLAVEOF): follow a
/// master (src/replication/replica.rs), or stop following and take writes.
fn replicaof(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let repl = &ctx.server.repl;
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        repl.set_no_master(ctx.server);
        crate::server::oom::set_replica(false, &ctx.server.config.snapshot());
        ctx.out.ok();
        return Ok(());
    }
    if ctx
        .client
        .info
        .replica
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(CmdError::err(
            "Command is not valid when client is a replica.",
        ));
    }
    let port = parse_i64(&args[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::err("Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let Some(server) = ctx.server.arc() else {
        return Err(CmdError::err("the server is shutting down"));
    };
    if !repl.set_master(&server, &host, port as u16) {
        ctx.out
            .raw(b"+OK Already connected to specified master\r\n");
        return Ok(());
    }
    crate::server::oom::set_replica(true, &ctx.server.config.snapshot());
    ctx.out.ok();
    Ok(())
}

/// PSYNC replicationid offset / SYNC: the connection becomes a replica's
/// link once the replies before it are written (the connection loop hands
/// it to src/replication/master.rs, which answers).
fn psync(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if ctx
        .client
        .info
        .replica
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Ok(());
    }
    if ctx.server.repl.upstream().is_some_and(|u| {
        u.state.load(std::sync::atomic::Ordering::Relaxed) != crate::replication::replica::CONNECTED
    }) {
        return Err(CmdError::coded(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let psync = if args.len() == 1 {
        crate::replication::Psync {
            replid: Vec::new(),
            offset: -1,
            legacy: true,
        }
    } else {
        let offset = parse_i64(&args[2])
            .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
        crate::replication::Psync {
            replid: args[1].to_vec(),
            offset,
            legacy: false,
        }
    };
    ctx.client.repl.get_or_insert_with(Default::default).psync = Some(psync);
    Ok(())
}

/// Every CLUSTER subcommand of Redis 7.2: without cluster mode each answers
/// that cluster support is disabled (an unknown one gets the usual
/// unknown-subcommand error from the table).
const CLUSTER: &[Command] = &[
    Command::new("cluster|addslots", -3, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the total number of hash slot arguments", "Assigns new hash slots to a node.", "slot [slot ...]"),
    Command::new("cluster|addslotsrange", -4, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "Assigns new hash slot ranges to a node.", "start-slot end-slot [start-slot end-slot ...]"),
    Command::new("cluster|bumpepoch", 2, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Advances the cluster config epoch.", ""),
    Command::new("cluster|count-failure-reports", 3, cluster_disabled)
        .flags(ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the number of failure reports", "Returns the number of active failure reports active for a node.", "node-id"),
    Command::new("cluster|countkeysinslot", 3, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Returns the number of keys in a hash slot.", "slot"),
    Command::new("cluster|delslots", -3, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the total number of hash slot arguments", "Sets hash slots as unbound for a node.", "slot [slot ...]"),
    Command::new("cluster|delslotsrange", -4, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "Sets hash slot ranges as unbound for a node.", "start-slot end-slot [start-slot end-slot ...]"),
    Command::new("cluster|failover", -2, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Forces a replica to perform a manual failover of its master.", "[FORCE | TAKEOVER]"),
    Command::new("cluster|flushslots", 2, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Deletes all slots information from a node.", ""),
    Command::new("cluster|forget", 3, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Removes a node from the nodes table.", "node-id"),
    Command::new("cluster|getkeysinslot", 4, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the number of requested keys", "Returns the key names in a hash slot.", "slot count"),
    Command::new("cluster|help", 2, cluster_disabled)
        .flags(LOADING | STALE)
        .group("cluster")
        .doc("5.0.0", "O(1)", "Returns helpful text about the different subcommands.", ""),
    Command::new("cluster|info", 2, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Returns information about the state of a node.", ""),
    Command::new("cluster|keyslot", 3, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the number of bytes in the key", "Returns the hash slot for a key.", "key"),
    Command::new("cluster|links", 2, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("7.0.0", "O(N) where N is the total number of Cluster nodes", "Returns a list of all TCP links to and from peer nodes.", ""),
    Command::new("cluster|meet", -4, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Forces a node to handshake with another node.", "ip port [cluster-bus-port]"),
    Command::new("cluster|myid", 2, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Returns the ID of a node.", ""),
    Command::new("cluster|myshardid", 2, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("7.2.0", "O(1)", "Returns the shard ID of a node.", ""),
    Command::new("cluster|nodes", 2, cluster_disabled)
        .flags(STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the total number of Cluster nodes", "Returns the cluster configuration for a node.", ""),
    Command::new("cluster|replicas", 3, cluster_disabled)
        .flags(ADMIN | STALE)
        .group("cluster")
        .doc("5.0.0", "O(N) where N is the number of replicas.", "Lists the replica nodes of a master node.", "node-id"),
    Command::new("cluster|replicate", 3, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Configure a node as replica of a master node.", "node-id"),
    Command::new("cluster|reset", -2, cluster_disabled)
        .flags(ADMIN | STALE | NOSCRIPT)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.", "Resets a node.", "[HARD | SOFT]"),
    Command::new("cluster|saveconfig", 2, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Forces a node to save the cluster configuration to disk.", ""),
    Command::new("cluster|set-config-epoch", 3, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Sets the configuration epoch for a new node.", "config-epoch"),
    Command::new("cluster|setslot", -4, cluster_disabled)
        .flags(NO_ASYNC_LOADING | ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(1)", "Binds a hash slot to a node.", "slot <IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE>"),
    Command::new("cluster|shards", 2, cluster_disabled)
        .flags(LOADING | STALE)
        .group("cluster")
        .doc("7.0.0", "O(N) where N is the total number of cluster nodes", "Returns the mapping of cluster slots to shards.", ""),
    Command::new("cluster|slaves", 3, cluster_disabled)
        .flags(ADMIN | STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the number of replicas.", "Lists the replica nodes of a master node.", "node-id"),
    Command::new("cluster|slots", 2, cluster_disabled)
        .flags(LOADING | STALE)
        .group("cluster")
        .doc("3.0.0", "O(N) where N is the total number of Cluster nodes", "Returns the mapping of cluster slots to nodes.", ""),
];

/// `master`, the replication offset (INFO's `master_repl_offset`, always 0
/// here) and the (empty) list of replicas.
fn role(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.repl.role(ctx.server, ctx.out);
    Ok(())
}

fn cluster_disabled(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}
