//! The append-only file (Redis 7 multi-part AOF).
//!
//! In `dir`/`appenddirname` (default `appendonlydir`) live a *base* file
//! (the keyspace at one instant), *incremental* files (every write since,
//! as RESP commands) and the *manifest* naming them (`manifest.rs`).
//!
//! * **Propagation** (`log.rs`): each write command that changed something
//!   becomes a record under a global sequence number taken under its shard
//!   lock; the writer thread (`writer.rs`) appends records in sequence
//!   order and fsyncs by `appendfsync` (group commit under `always`).
//! * **Rewrite** (BGREWRITEAOF, auto-rewrite, `CONFIG SET appendonly yes`):
//!   at one cut (every gate held) the log switches to a new incremental
//!   file from the next sequence number on, and the base is taken at that
//!   same instant (`base.rs`), so base + new incr == state. The switch is
//!   recorded in the manifest at once (old base + old incrs + new incr), so
//!   a crash during the rewrite loses nothing; when the base is written the
//!   manifest becomes (new base, new incr) in one atomic rename and the old
//!   files are deleted.
//! * **Loading** (`load.rs`) at startup, before any client: base, then each
//!   incr file, replayed through dispatch.

pub mod base;
pub mod command;
pub mod load;
pub mod log;
pub mod manifest;
mod writer;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::server::Server;
pub use base::{write_base, BaseKind};
pub use log::{propagate_instead, propagate_nothing, Log};
use manifest::{FileInfo, Manifest};

/// Counters for INFO persistence.
#[derive(Default)]
pub struct Stats {
    /// Size of the incr file being written.
    pub incr_size: AtomicU64,
    /// Size of the base plus the incr files before the current one.
    pub base_size: AtomicU64,
    /// `aof_current_size` after the last rewrite (auto-rewrite grows from it).
    pub rewrite_base_size: AtomicU64,
    pub write_ok: AtomicBool,
    pub last_rewrite_ok: AtomicBool,
    pub rewrites: AtomicU64,
    /// Seconds the last rewrite took (-1: none yet).
    pub last_rewrite_secs: AtomicI64,
    /// Unix ms the running rewrite started.
    pub rewrite_started_ms: AtomicU64,
}

/// What asking for a rewrite did (BGREWRITEAOF's reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Started,
    /// It waits for a running BGSAVE (INFO `aof_rewrite_scheduled:1`).
    Scheduled,
    /// One is being written already.
    InProgress,
    /// No thread could be started.
    Failed,
}

/// The AOF of one server.
pub struct Aof {
    pub log: Arc<Log>,
    pub stats: Stats,
    server: OnceLock<Weak<Server>>,
    /// The manifest as last persisted.
    manifest: Mutex<Manifest>,
    /// One rewrite (or enabling) at a time.
    rewrite_lock: Mutex<()>,
    pub rewriting: AtomicBool,
    /// The rewrite waits for its turn (a BGSAVE runs); `rewriting` is set too.
    scheduled: AtomicBool,
    /// Set to stop the running rewrite (`CONFIG SET appendonly no`, as
    /// Redis kills its rewrite child); cleared when one is spawned.
    pub(crate) cancel: AtomicBool,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn fsync_code(s: &str) -> u8 {
    match s {
        "always" => log::FSYNC_ALWAYS,
        "no" => log::FSYNC_NO,
        _ => log::FSYNC_EVERYSEC,
    }
}

impl Aof {
    pub fn new(log: Arc<Log>) -> Aof {
        let stats = Stats::default();
        stats.write_ok.store(true, Relaxed);
        stats.last_rewrite_ok.store(true, Relaxed);
        stats.last_rewrite_secs.store(-1, Relaxed);
        Aof {
            log,
            stats,
            server: OnceLock::new(),
            manifest: Mutex::new(Manifest::default()),
            rewrite_lock: Mutex::new(()),
            rewriting: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            writer: Mutex::new(None),
        }
    }

    fn server(&self) -> Option<Arc<Server>> {
        self.server.get().and_then(|w| w.upgrade())
    }

    /// `aof_current_size`.
    pub fn current_size(&self) -> u64 {
        self.stats.base_size.load(Relaxed) + self.stats.incr_size.load(Relaxed)
    }

    /// Stop the writer after writing what is pending (shutdown).
    pub fn shutdown(&self) {
        self.log.q.lock().stop = true;
        self.log.cv.notify_all();
        if let Some(h) = self.writer.lock().take() {
            let _ = h.join();
        }
    }

    /// Auto-rewrite (`auto-aof-rewrite-percentage` / `-min-size`), checked
    /// by the writer after each write.
    fn maybe_auto_rewrite(&self) {
        if !self.log.aof_on() || self.rewriting.load(Relaxed) {
            return;
        }
        let Some(server) = self.server() else { return };
        let (pct, min) = server
            .config
            .read(|c| (c.auto_aof_rewrite_percentage, c.auto_aof_rewrite_min_size));
        let size = self.current_size();
        if pct == 0 || size < min {
            return;
        }
        let base = self.stats.rewrite_base_size.load(Relaxed).max(1);
        let growth = (size.saturating_sub(base)) * 100 / base;
        if growth >= pct {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
            self.spawn_rewrite(&server, false);
        }
    }

    /// Start a rewrite in the background (BGREWRITEAOF): at once, or
    /// scheduled after a running BGSAVE (one snapshot at a time, as Redis
    /// runs one child), or not at all when one is in progress already.
    pub fn spawn_rewrite(&self, server: &Arc<Server>, enable: bool) -> Start {
        if self.rewriting.load(Relaxed) && self.cancel.load(Relaxed) {
            // A stopped rewrite still winding down (CONFIG SET appendonly
            // no): Redis kills its child synchronously, so a rewrite asked
            // for right after starts; give ours a moment to finish (it
            // stops within milliseconds once past its cut).
            let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while self.rewriting.load(Relaxed) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        if self.rewriting.load(Relaxed) {
            return self.already();
        }
        // Cleared before the rewrite is visible as running, so a stop
        // asked for from then on is not lost.
        self.cancel.store(false, Relaxed);
        if self.rewriting.swap(true, Relaxed) {
            return self.already();
        }
        // After a running BGSAVE, or after the transaction asking for it
        // (the rewrite's snapshot waits for EXEC's gates).
        let busy = server.persist.busy();
        let scheduled = busy || crate::commands::multi::in_exec();
        if scheduled && enable {
            if busy {
                tracing::info!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
            } else {
                tracing::info!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
            }
        }
        self.scheduled.store(scheduled, Relaxed);
        self.stats
            .rewrite_started_ms
            .store(crate::util::now_ms(), Relaxed);
        let server = server.clone();
        let spawned = std::thread::Builder::new()
            .name("ember-aof-rewrite".into())
            .spawn(move || {
                let aof = &server.aof;
                let started = std::time::Instant::now();
                let r = rewrite(&server, enable);
                // Stopped on purpose: not a failure (as Redis's child killed
                // with SIGUSR1).
                let stopped = matches!(&r, Err(e) if e.kind() == io::ErrorKind::Interrupted);
                match &r {
                    Ok(()) => tracing::info!("Background AOF rewrite finished successfully"),
                    Err(_) if stopped => tracing::warn!("Background AOF rewrite stopped"),
                    Err(e) => tracing::warn!("Background AOF rewrite failed: {e}"),
                }
                if !stopped {
                    aof.stats.last_rewrite_ok.store(r.is_ok(), Relaxed);
                }
                aof.stats
                    .last_rewrite_secs
                    .store(started.elapsed().as_secs() as i64, Relaxed);
                aof.stats.rewrites.fetch_add(1, Relaxed);
                aof.rewriting.store(false, Relaxed);
                // CONFIG SET appendonly yes while this one ran (or after it
                // was stopped by `no`): enable now (not after a failure,
                // which would only fail again).
                if (r.is_ok() || stopped)
                    && server.config.read(|c| c.appendonly)
                    && !aof.log.aof_on()
                {
                    aof.spawn_rewrite(&server, true);
                }
            });
        if spawned.is_err() {
            self.scheduled.store(false, Relaxed);
            self.rewriting.store(false, Relaxed);
            return Start::Failed;
        }
        if scheduled {
            Start::Scheduled
        } else {
            Start::Started
        }
    }

    /// A rewrite is asked for while one exists: waiting for its turn (asking
    /// again keeps it scheduled, as in Redis), or running.
    fn already(&self) -> Start {
        if self.scheduled.load(Relaxed) {
            Start::Scheduled
        } else {
            Start::InProgress
        }
    }

    /// Start a rewrite from a handler (which only has `&Server`).
    pub fn start_rewrite(&self, enable: bool) -> Start {
        self.server()
            .map_or(Start::Failed, |server| self.spawn_rewrite(&server, enable))
    }

    /// CONFIG SET changed the configuration from `old`.
    pub fn config_changed(&self, old: &crate::config::Config, new: &crate::config::Config) {
        self.log.set_policy(fsync_code(&new.appendfsync));
        self.log.set_lazy(
            new.lazyfree_lazy_expire,
            new.lazyfree_lazy_eviction,
            new.lazyfree_lazy_server_del,
        );
        self.log.set_timestamps(new.aof_timestamp_enabled);
        if new.appendonly && !old.appendonly {
            // As Redis: the base is written in the background, writes are
            // logged from the cut on.
            if self.start_rewrite(true) == Start::InProgress {
                tracing::warn!("AOF rewrite already running; appendonly will be enabled by it");
            }
        } else if !new.appendonly && old.appendonly {
            self.log.set_on(false);
            if self.rewriting.load(Relaxed) {
                // Redis kills its rewrite child here; ours is a thread,
                // which stops at its next key.
                tracing::info!("Killing running AOF rewrite child (the rewrite thread stops)");
                self.cancel.store(true, Relaxed);
            }
        }
    }

    /// INFO persistence fields.
    pub fn info(&self, w: &mut dyn FnMut(&str, String)) {
        let on = self.log.aof_on();
        let scheduled = self.scheduled.load(Relaxed);
        let rewriting = self.rewriting.load(Relaxed) && !scheduled;
        w("aof_enabled", (on as u8).to_string());
        w("aof_rewrite_in_progress", (rewriting as u8).to_string());
        w("aof_rewrite_scheduled", (scheduled as u8).to_string());
        w(
            "aof_last_rewrite_time_sec",
            self.stats.last_rewrite_secs.load(Relaxed).to_string(),
        );
        let current = if rewriting {
            (crate::util::now_ms().saturating_sub(self.stats.rewrite_started_ms.load(Relaxed))
                / 1000) as i64
        } else {
            -1
        };
        w("aof_current_rewrite_time_sec", current.to_string());
        let ok = |b: bool| if b { "ok" } else { "err" }.to_string();
        w(
            "aof_last_bgrewrite_status",
            ok(self.stats.last_rewrite_ok.load(Relaxed)),
        );
        w(
            "aof_rewrites",
            self.stats.rewrites.load(Relaxed).to_string(),
        );
        w("aof_rewrites_consecutive_failures", "0".into());
        w(
            "aof_last_write_status",
            ok(self.stats.write_ok.load(Relaxed)),
        );
        w("aof_last_cow_size", "0".into());
        if on {
            w("aof_current_size", self.current_size().to_string());
            w(
                "aof_base_size",
                self.stats.rewrite_base_size.load(Relaxed).to_string(),
            );
            w("aof_pending_rewrite", "0".into());
            w("aof_buffer_length", "0".into());
            w("aof_pending_bio_fsync", "0".into());
            w("aof_delayed_fsync", "0".into());
        }
    }
}

/// `dir`/`appenddirname`, and `appendfilename`.
fn paths(server: &Server) -> (PathBuf, String) {
    server.config.read(|c| {
        (
            PathBuf::from(&c.dir).join(&c.appenddirname),
            c.appendfilename.clone(),
        )
    })
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn open_append(p: &std::path::Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
}

/// A new, empty file opened for appending (an old file of that name, left
/// by an earlier run, is emptied).
fn create_new(p: &std::path::Path) -> io::Result<std::fs::File> {
    std::fs::File::create(p)?;
    open_append(p)
}

/// At startup, before any client: start the writer and, with `appendonly
/// yes`, load the AOF (creating an empty one if there is none). Err stops
/// the server from starting.
pub fn startup(server: &Arc<Server>) -> io::Result<()> {
    let aof = &server.aof;
    let _ = aof.server.set(Arc::downgrade(server));
    let (appendonly, fsync, timestamps) = server
        .config
        .read(|c| (c.appendonly, c.appendfsync.clone(), c.aof_timestamp_enabled));
    aof.log.set_policy(fsync_code(&fsync));
    aof.log.set_timestamps(timestamps);
    server.config.read(|c| {
        aof.log.set_lazy(
            c.lazyfree_lazy_expire,
            c.lazyfree_lazy_eviction,
            c.lazyfree_lazy_server_del,
        )
    });
    {
        let a = server.aof.clone();
        let h = std::thread::Builder::new()
            .name("ember-aof".into())
            .spawn(move || writer::run(a))?;
        *aof.writer.lock() = Some(h);
    }
    if !appendonly {
        return Ok(());
    }
    let (dir, fname) = paths(server);
    let mname = manifest::manifest_name(&fname);
    let mpath = dir.join(&mname);
    let mut text = match std::fs::read_to_string(&mpath) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(t) = upgrade_legacy(server, &dir, &fname, &mname, text.as_deref())? {
        text = Some(t);
    }
    let Some(text) = text else {
        // No AOF yet: start one from the current (empty) keyspace.
        std::fs::create_dir_all(&dir)?;
        return rewrite(server, true);
    };
    let m = Manifest::parse(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{e}: {}", mpath.display()),
        )
    })?;
    let started = std::time::Instant::now();
    let commands = load_files(server, &dir, &m)?;
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({commands} commands)",
        started.elapsed().as_secs_f64()
    );
    // History files and files no manifest names are leftovers of an
    // interrupted rewrite or clean-up.
    let mut m = m;
    for h in std::mem::take(&mut m.history) {
        let _ = std::fs::remove_file(dir.join(&h.name));
    }
    remove_orphans(&dir, &fname, &m);
    // Append to the last incr file, or start one.
    let last = match m.incrs.last() {
        Some(l) => l.name.clone(),
        None => {
            let seq = m.last_incr_seq() + 1;
            let name = format!("{fname}.{seq}.incr.aof");
            m.incrs.push(FileInfo {
                name: name.clone(),
                seq,
            });
            create_new(&dir.join(&name))?;
            manifest::persist(&dir, &mname, &m)?;
            name
        }
    };
    let file = open_append(&dir.join(&last))?;
    let before: u64 = m
        .files()
        .filter(|f| f.name != last)
        .map(|f| file_size(&dir.join(&f.name)))
        .sum();
    aof.stats.base_size.store(before, Relaxed);
    let total = before + file_size(&dir.join(&last));
    aof.stats.rewrite_base_size.store(total, Relaxed);
    *aof.manifest.lock() = m;
    aof.log.set_on(true);
    aof.log.switch_at(aof.log.next_seq(), Some(file));
    aof.log.wait_switched(aof.log.next_seq());
    Ok(())
}

/// Replay the files `m` names into the keyspace: the base (its RDB part,
/// then any commands after it), then each incr file. Returns how many
/// commands ran.
fn load_files(server: &Server, dir: &std::path::Path, m: &Manifest) -> io::Result<u64> {
    let truncated_ok = server.config.read(|c| c.aof_load_truncated);
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let mut commands = 0u64;
    let mut r = load::Replayer::new(server);
    let nfiles = m.base.iter().count() + m.incrs.len();
    let mut i = 0;
    if let Some(b) = &m.base {
        i += 1;
        let p = dir.join(&b.name);
        let skip = if is_rdb(&p)? {
            load_rdb_base(server, &p)?
        } else {
            0
        };
        if skip == 0 || file_size(&p) > skip {
            let l =
                load::load_file(&mut r, &p, skip, i == nfiles, truncated_ok).map_err(invalid)?;
            commands += l.commands;
        }
    }
    for inc in &m.incrs {
        i += 1;
        let p = dir.join(&inc.name);
        let l = load::load_file(&mut r, &p, 0, i == nfiles, truncated_ok).map_err(invalid)?;
        commands += l.commands;
    }
    Ok(commands)
}

/// DEBUG LOADAOF: empty the keyspace (and the FUNCTION libraries) and load
/// the AOF on disk back into it, as Redis does: the manifest is read again
/// from disk, its history files are deleted, and the load changes nothing
/// in the AOF itself (the replay is not logged) nor counts as changes since
/// the last save.
///
/// Called without this thread's gate (dispatch lets DEBUG LOADAOF take every
/// gate itself, as EXEC does). A running rewrite finishes first; then every
/// write acknowledged so far is waited for in the file, and the load runs
/// with every gate held, so no other command runs in between. Inside a
/// transaction (the gates held already) neither wait happens: a rewrite
/// running then is an error, and records other threads have not handed to
/// the writer yet are not in the file.
pub fn reload(server: &Server) -> io::Result<()> {
    let aof = &server.aof;
    let nested = server.gates.held_here();
    let _one = if nested {
        aof.rewrite_lock
            .try_lock()
            .ok_or_else(|| io::Error::other("a background AOF rewrite is in progress"))?
    } else {
        aof.rewrite_lock.lock()
    };
    aof.log.flush_outbox();
    let _gates = if nested {
        server.gates.exclusive()
    } else {
        written_and_held(server)
    };
    let (dir, fname) = paths(server);
    let mname = manifest::manifest_name(&fname);
    let mpath = dir.join(&mname);
    // As Redis: the data goes even when there is nothing to load.
    crate::persist::save::empty_data(server);
    let text = std::fs::read_to_string(&mpath)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", mpath.display())))?;
    let mut m = Manifest::parse(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{e}: {}", mpath.display()),
        )
    })?;
    if !m.history.is_empty() {
        for h in std::mem::take(&mut m.history) {
            let _ = std::fs::remove_file(dir.join(&h.name));
        }
        manifest::persist(&dir, &mname, &m)?;
    }
    if m.base.is_none() && m.incrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} names no AOF file", mpath.display()),
        ));
    }
    // INFO says loading:1, and other clients' commands answer LOADING.
    server.persist.loading.store(true, Relaxed);
    let commands = load_files(server, &dir, &m);
    server.persist.loading.store(false, Relaxed);
    let commands = commands?;
    aof.manifest.lock().history.clear();
    server.persist.mark_saved(&server.keyspace);
    tracing::info!("Append Only File loaded by DEBUG LOADAOF ({commands} commands)");
    Ok(())
}

/// Every gate, taken once every write applied before is in the AOF file
/// (written, not necessarily fsynced). A write that slips in between the
/// wait and the gates makes it wait again (a few times at most: under a
/// constant write load it goes on with what the file has).
fn written_and_held(server: &Server) -> crate::server::gate::Exclusive<'_> {
    let log = &server.aof.log;
    for _ in 0..10 {
        let upto = log.next_seq().saturating_sub(1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while log.synced() < upto && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let gates = server.gates.exclusive();
        if log.next_seq().saturating_sub(1) == upto {
            return gates;
        }
    }
    server.gates.exclusive()
}

/// A single-file AOF from Redis before 7.0 (`dir`/`appendfilename`, no
/// manifest) becomes the base of a multi-part AOF, as Redis 7 upgrades it:
/// when the AOF directory is missing, or has no manifest (or an empty one),
/// or a manifest naming only that file as its base while the file is not in
/// the directory yet, the file moves into the directory and a manifest
/// naming it is written first. Returns the new manifest's text.
fn upgrade_legacy(
    server: &Server,
    dir: &std::path::Path,
    fname: &str,
    mname: &str,
    text: Option<&str>,
) -> io::Result<Option<String>> {
    let legacy = PathBuf::from(server.config.read(|c| c.dir.clone())).join(fname);
    if !legacy.is_file() {
        return Ok(None);
    }
    let parsed = text.map(Manifest::parse).transpose().ok().flatten();
    let upgrade = !dir.is_dir()
        || match &parsed {
            None => text.is_none(),
            Some(m) => {
                (m.base.is_none() && m.incrs.is_empty())
                    || (m.incrs.is_empty()
                        && m.base.as_ref().is_some_and(|b| b.name == fname)
                        && !dir.join(fname).exists())
            }
        };
    if !upgrade {
        return Ok(None);
    }
    std::fs::create_dir_all(dir)?;
    let m = Manifest {
        base: Some(FileInfo {
            name: fname.to_string(),
            seq: 1,
        }),
        incrs: Vec::new(),
        history: Vec::new(),
    };
    manifest::persist(dir, mname, &m)?;
    std::fs::rename(&legacy, dir.join(fname)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "Error trying to move the old AOF file {} into dir {}: {e}",
                legacy.display(),
                dir.display()
            ),
        )
    })?;
    tracing::info!(
        "Successfully migrated an old-style AOF file ({fname}) into the AOF directory ({}).",
        dir.display()
    );
    Ok(Some(std::fs::read_to_string(dir.join(mname))?))
}

/// Delete AOF parts (`<appendfilename>.<n>.base|incr.aof|rdb`) and rewrite
/// temp files in `dir` that `m` does not name.
fn remove_orphans(dir: &std::path::Path, fname: &str, m: &Manifest) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let part = name
            .strip_prefix(fname)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|r| {
                let mut it = r.split('.');
                let (n, kind, ext) = (it.next(), it.next(), it.next());
                it.next().is_none()
                    && n.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    && matches!(kind, Some("base" | "incr"))
                    && matches!(ext, Some("aof" | "rdb"))
            });
        let temp = name.starts_with("temp-rewriteaof-");
        if (part || temp) && !m.files().any(|f| f.name == name) {
            tracing::info!("Removing the AOF leftover {name}");
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether a base file is RDB (starts with the `REDIS` magic).
fn is_rdb(p: &std::path::Path) -> io::Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("The append log file {} doesn't exist: {e}", p.display()),
        )
    })?;
    let mut magic = [0u8; 5];
    let n = f.read(&mut magic)?;
    Ok(n == 5 && &magic == b"REDIS")
}

/// Load the RDB part of a base file (an RDB preamble, Redis's default),
/// keys already expired included; returns the offset where it ends
/// (commands may follow it, as in a pre-7.0 single-file AOF).
fn load_rdb_base(server: &Server, p: &std::path::Path) -> io::Result<u64> {
    let f = std::fs::File::open(p)?;
    let input = &mut io::BufReader::with_capacity(1 << 20, f);
    crate::persist::save::load_into(server, input, crate::persist::save::RdbRole::AofBase, false)
        .map(|(_, _, end)| end)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", p.display())))
}

/// Write a new base and switch to a new incr file (see the module comment).
/// `enable`: also turn logging on at the cut (CONFIG SET appendonly yes,
/// first start).
fn rewrite(server: &Server, enable: bool) -> io::Result<()> {
    let aof = &server.aof;
    // One snapshot at a time: a BGSAVE running first (the rewrite is
    // "scheduled" meanwhile, and DEBUG LOADAOF does not wait for it).
    let _turn = crate::persist::save::SnapshotTurn::wait(server);
    if aof.scheduled.swap(false, Relaxed) {
        aof.stats
            .rewrite_started_ms
            .store(crate::util::now_ms(), Relaxed);
    }
    let _one = aof.rewrite_lock.lock();
    if aof.cancel.load(Relaxed) {
        return Err(crate::persist::save::cancelled());
    }
    let (dir, fname) = paths(server);
    std::fs::create_dir_all(&dir)?;
    let mname = manifest::manifest_name(&fname);
    // The manifest in use; when the AOF was off since startup, the one a
    // previous run left on disk (so numbering goes on and its files go).
    let mut old = aof.manifest.lock().clone();
    if old == Manifest::default() {
        if let Ok(text) = std::fs::read_to_string(dir.join(&mname)) {
            old = Manifest::parse(&text).unwrap_or_default();
        }
    }
    let logging = enable || aof.log.aof_on();
    let incr_seq = old.last_incr_seq() + 1;
    let base_seq = old.base_seq() + 1;
    let incr = FileInfo {
        name: format!("{fname}.{incr_seq}.incr.aof"),
        seq: incr_seq,
    };
    let tmp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let mut cut = 0u64;
    let mut cut_err: Option<io::Error> = None;
    let kind = write_base(server, &tmp, &mut || {
        cut = aof.log.next_seq();
        // Stopped before the cut (no command runs meanwhile, so not
        // between this check and the switch): switch nothing.
        if !logging || aof.cancel.load(Relaxed) {
            return;
        }
        let opened = create_new(&dir.join(&incr.name)).and_then(|f| {
            if aof.log.aof_on() {
                // Writes from here on are only in the new incr file: name
                // it in the manifest before anyone is acknowledged.
                let mut interim = old.clone();
                interim.incrs.push(incr.clone());
                manifest::persist(&dir, &mname, &interim)?;
                *aof.manifest.lock() = interim;
            }
            Ok(f)
        });
        match opened {
            Ok(f) => {
                aof.log.switch_at(cut, Some(f));
                aof.log.set_on(true);
            }
            Err(e) => cut_err = Some(e),
        }
    });
    if let Some(e) = cut_err {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let kind = match kind {
        Ok(k) => k,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let base = FileInfo {
        name: format!("{fname}.{base_seq}.base.{}", kind.suffix()),
        seq: base_seq,
    };
    std::fs::rename(&tmp, dir.join(&base.name))?;
    let next = Manifest {
        base: Some(base.clone()),
        incrs: if logging {
            vec![incr.clone()]
        } else {
            Vec::new()
        },
        history: Vec::new(),
    };
    if logging {
        // The old incr file must have everything before the cut.
        aof.log.wait_switched(cut);
    }
    manifest::persist(&dir, &mname, &next)?;
    for f in old.files() {
        if f.name != base.name && f.name != incr.name {
            let _ = std::fs::remove_file(dir.join(&f.name));
        }
    }
    let _ = manifest::fsync_dir(&dir);
    let base_size = file_size(&dir.join(&base.name));
    aof.stats.base_size.store(base_size, Relaxed);
    aof.stats
        .rewrite_base_size
        .store(base_size + aof.stats.incr_size.load(Relaxed), Relaxed);
    *aof.manifest.lock() = next;
    Ok(())
}
