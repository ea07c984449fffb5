//! Ember: a Redis-compatible in-memory key-value server.
//!
//! Layers, from the wire inwards: [`protocol`] (RESP parsing and encoding, no
//! I/O), [`server`] (listeners, worker threads, connections), [`commands`]
//! (the declarative command table and one module per command family),
//! [`keyspace`] (sharded databases, expiry), [`types`] (value types).
//! docs/ARCHITECTURE.md walks through the request path.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod commands;
pub mod config;
pub mod error;
pub mod evict;
#[doc(hidden)]
pub mod fuzzing;
pub mod glob;
pub mod keyspace;
pub mod lazyfree;
pub mod monitor;
pub mod notify;
pub mod num;
pub mod persist;
pub mod protocol;
pub mod pubsub;
pub mod replication;
pub mod script;
pub mod server;
pub mod tracking;
pub mod types;
pub mod util;

/// The Redis version Ember reports (INFO, HELLO): clients enable features by it.
pub const REDIS_VERSION: &str = "7.2.4";
/// Ember's own version.
pub const EMBER_VERSION: &str = env!("CARGO_PKG_VERSION");
