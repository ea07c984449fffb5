//! Persistence: the RDB serialization format (`rdb/`, also used by
//! DUMP/RESTORE), point-in-time snapshots without fork (`snapshot.rs`),
//! SAVE/BGSAVE/save points/loading (`save.rs`), and the append-only file
//! (`aof/`).

pub mod aof;
pub mod rdb;
pub mod save;
pub mod snapshot;
