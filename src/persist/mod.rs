//! Persistence: RDB snapshots (`rdb/` is the file format, `snapshot.rs` the
//! point-in-time copy without fork, `save.rs` the files, commands and save
//! points).

pub mod rdb;
pub mod save;
pub mod snapshot;
