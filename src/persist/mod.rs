//! Persistence: the RDB serialization format (`rdb/`, also used by
//! DUMP/RESTORE), point-in-time snapshots without fork (`snapshot.rs`), and
//! SAVE/BGSAVE/save points/loading (`save.rs`).

pub mod rdb;
pub mod save;
pub mod snapshot;
