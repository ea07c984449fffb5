//! Persistence: the RDB serialization format ([`rdb`]), used by snapshots
//! and by DUMP/RESTORE.

pub mod rdb;
