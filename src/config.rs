//! Server configuration: the typed settings and the live store that
//! `CONFIG GET/SET` reads and writes.
//!
//! Values read on the request path (bulk length limit, query buffer limit,
//! password presence) are mirrored in atomics so connections never take the
//! config lock per request.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

use parking_lot::RwLock;

/// Every setting Ember has, with Redis's names (as `snake_case` fields).
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub protected_mode: bool,
    pub databases: usize,
    pub maxclients: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub hz: u32,
    pub requirepass: Option<Vec<u8>>,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub loglevel: String,
    pub logfile: String,
    pub dir: String,
    pub dbfilename: String,
    /// Worker threads serving connections; 0 = one per CPU.
    pub worker_threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            protected_mode: true,
            databases: 16,
            maxclients: 10000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            hz: 10,
            requirepass: None,
            timeout: 0,
            tcp_keepalive: 300,
            loglevel: "notice".into(),
            logfile: String::new(),
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            worker_threads: 0,
        }
    }
}

/// The live configuration.
pub struct ConfigStore {
    inner: RwLock<Config>,
    proto_max_bulk_len: AtomicU64,
    query_buffer_limit: AtomicU64,
    maxclients: AtomicU64,
    hz: AtomicU32,
    auth_required: AtomicBool,
}

impl ConfigStore {
    pub fn new(c: Config) -> Self {
        let store = ConfigStore {
            proto_max_bulk_len: AtomicU64::new(0),
            query_buffer_limit: AtomicU64::new(0),
            maxclients: AtomicU64::new(0),
            hz: AtomicU32::new(0),
            auth_required: AtomicBool::new(false),
            inner: RwLock::new(c),
        };
        store.refresh_hot();
        store
    }

    /// A copy of the whole configuration.
    pub fn snapshot(&self) -> Config {
        self.inner.read().clone()
    }

    /// Read a value under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&Config) -> R) -> R {
        f(&self.inner.read())
    }

    /// Change values under the lock, then refresh the atomics.
    pub fn update<R>(&self, f: impl FnOnce(&mut Config) -> R) -> R {
        let r = f(&mut self.inner.write());
        self.refresh_hot();
        r
    }

    fn refresh_hot(&self) {
        let c = self.inner.read();
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Relaxed);
        self.query_buffer_limit
            .store(c.client_query_buffer_limit, Relaxed);
        self.maxclients.store(c.maxclients, Relaxed);
        self.hz.store(c.hz.clamp(1, 500), Relaxed);
        self.auth_required.store(c.requirepass.is_some(), Relaxed);
    }

    #[inline]
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.proto_max_bulk_len.load(Relaxed)
    }
    #[inline]
    pub fn query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Relaxed)
    }
    #[inline]
    pub fn maxclients(&self) -> u64 {
        self.maxclients.load(Relaxed)
    }
    #[inline]
    pub fn hz(&self) -> u32 {
        self.hz.load(Relaxed)
    }
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Relaxed)
    }
}
