//! Replication and cluster commands a client may send while connecting to a
//! standalone server: ROLE (Lettuce's and redis-py's topology discovery),
//! READONLY and READWRITE (sent by cluster-aware clients, e.g. Jedis with
//! read-from-replicas, on every connection). Ember has no replication and
//! no cluster mode, so it answers as a Redis 7.2 master without replicas and
//! with cluster support disabled.

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
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
