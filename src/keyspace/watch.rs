//! WATCH: per shard, which clients watch which keys.
//!
//! Each watching client has one "dirty" flag (`Arc<AtomicBool>`). A write to
//! a watched key (`Shard::modified`), or a FLUSHDB/FLUSHALL/SWAPDB that
//! changes it, sets the flag of every client watching it; EXEC then answers a
//! null array instead of running. `Shard::modified` looks here only when
//! the shard has watched keys, so the write path stays free otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

/// One client's watch on a key: database, client id, its dirty flag.
type Watcher = (usize, u64, Arc<AtomicBool>);

/// What one watcher entry takes in a shard's table (the key's own entry
/// is shared by its watchers).
pub const WATCHER_BYTES: usize = std::mem::size_of::<Watcher>();

/// The watched keys of one shard.
#[derive(Default)]
pub struct Watches {
    map: HashMap<Box<[u8]>, Vec<Watcher>, foldhash::fast::RandomState>,
}

impl Watches {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Client `id` watches `key` in `db` (once).
    pub fn add(&mut self, db: usize, key: &[u8], id: u64, flag: &Arc<AtomicBool>) {
        let v = match self.map.get_mut(key) {
            Some(v) => v,
            None => self.map.entry(key.into()).or_default(),
        };
        if !v.iter().any(|w| w.0 == db && w.1 == id) {
            v.push((db, id, flag.clone()));
        }
    }

    /// Client `id` no longer watches `key` in `db`.
    pub fn remove(&mut self, db: usize, key: &[u8], id: u64) {
        if let Some(v) = self.map.get_mut(key) {
            v.retain(|w| !(w.0 == db && w.1 == id));
            if v.is_empty() {
                self.map.remove(key);
            }
        }
    }

    /// `key` in `db` changed: every client watching it is dirty.
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8]) {
        if let Some(v) = self.map.get(key) {
            for w in v.iter().filter(|w| w.0 == db) {
                w.2.store(true, Relaxed);
            }
        }
    }

    /// Dirty the watchers in `db` of every watched key for which `changed`
    /// says yes (whole-database events).
    pub fn touch_db(&self, db: usize, mut changed: impl FnMut(&[u8]) -> bool) {
        for (key, v) in &self.map {
            if v.iter().any(|w| w.0 == db) && changed(key) {
                for w in v.iter().filter(|w| w.0 == db) {
                    w.2.store(true, Relaxed);
                }
            }
        }
    }
}
