//! Replication and cluster commands a client may send while connecting to a
//! standalone server: ROLE (Lettuce's and redis-py's topology discovery),
//! READONLY and READWRITE (sent by cluster-aware clients, e.g. Jedis with
//! read-from-replicas, on every connection). Ember has no replication and
//! no cluster mode, so it answers as a Redis 7.2 master without replicas and
//! with cluster support disabled: ASKING and every CLUSTER subcommand answer
//! so, as standalone Redis does (cluster clients such as redis-py's
//! RedisCluster recognise that text).

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse::parse_i64;
use crate::protocol::Args;

pub const COMMANDS: &[Command] = &[
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
    Command::container("cluster", CLUSTER).group("cluster").doc(
        "3.0.0",
        "Depends on subcommand.",
        "A container for Redis Cluster commands.",
        "",
    ),
];

/// WAIT numreplicas timeout: the number of replicas that acknowledged the
/// connection's writes, which is 0 without replication. Asking for none
/// answers at once; asking for more waits out the timeout (0: until
/// unblocked), as a Redis master without replicas does, except inside
/// MULTI or a script, which never block.
fn wait(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let numreplicas = parse_i64(&args[1])
        .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
    let timeout = super::args::timeout_int_ms(&args[2])?;
    if numreplicas <= 0 || ctx.client.deny_blocking {
        ctx.out.int(0);
        return Ok(());
    }
    crate::blocking::block_keyless(ctx, crate::blocking::BlockOp::Replicas, timeout);
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
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

fn cluster_disabled(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}
