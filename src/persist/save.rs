//! RDB files: SAVE, BGSAVE, save points, loading at startup, shutdown saves,
//! and the state INFO `# Persistence` reports.
//!
//! A save writes `temp-<pid>.rdb` in `dir`, fsyncs it, renames it over
//! `dbfilename` and fsyncs the directory, so the previous snapshot survives
//! any failure (disk full, unwritable directory, crash) intact. One snapshot
//! runs at a time.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::rdb;
use super::snapshot::{Snapshot, SnapshotStats};
use crate::keyspace::Keyspace;
use crate::server::Server;

/// `rdb-key-save-delay`, read by the saver (set when a save starts, and by
/// CONFIG SET: lowering it to 0 lets a running save finish at once, where
/// Redis's tests kill the saving child).
pub static KEY_DELAY_US: AtomicU64 = AtomicU64::new(0);

/// Redis retries a failed background save from a save point only after this.
const BGSAVE_RETRY_DELAY_MS: u64 = 5_000;

/// Persistence state (INFO `# Persistence`, LASTSAVE, MISCONF).
pub struct Persist {
    /// A snapshot (SAVE, BGSAVE) is being written.
    running: AtomicBool,
    pub bgsave_in_progress: AtomicBool,
    pub bgsave_started_ms: AtomicU64,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub last_save: AtomicU64,
    pub last_bgsave_ok: AtomicBool,
    pub last_bgsave_secs: AtomicI64,
    last_bgsave_try_ms: AtomicU64,
    pub saves: AtomicU64,
    /// `dirty` total already covered by the last successful save.
    dirty_saved: AtomicU64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION (see `rdb::LoadLimits`).
    pub skip_checksum: AtomicBool,
    /// Set to stop the running BGSAVE (FLUSHALL, as Redis kills its child).
    cancel: AtomicBool,
    pub last_cow_size: AtomicU64,
    pub loading: AtomicBool,
    pub loaded_keys: AtomicU64,
    pub loaded_expired: AtomicU64,
    /// BGSAVE SCHEDULE while another snapshot ran.
    pub bgsave_scheduled: AtomicBool,
}

impl Persist {
    pub fn new(started_unix_ms: u64) -> Persist {
        Persist {
            running: AtomicBool::new(false),
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_started_ms: AtomicU64::new(0),
            last_save: AtomicU64::new(started_unix_ms / 1000),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            last_bgsave_try_ms: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            dirty_saved: AtomicU64::new(0),
            skip_checksum: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            last_cow_size: AtomicU64::new(0),
            loading: AtomicBool::new(false),
            loaded_keys: AtomicU64::new(0),
            loaded_expired: AtomicU64::new(0),
            bgsave_scheduled: AtomicBool::new(false),
        }
    }

    /// Count no changes since the last save from here on (what was just
    /// loaded is what is on disk).
    pub fn mark_saved(&self, ks: &Keyspace) {
        self.dirty_saved.store(ks.stats().dirty, Relaxed);
    }

    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub fn changes(&self, ks: &Keyspace) -> u64 {
        ks.stats()
            .dirty
            .saturating_sub(self.dirty_saved.load(Relaxed))
    }

    /// Whether writes are refused with MISCONF: the last background save
    /// failed, save points are configured and `stop-writes-on-bgsave-error`.
    pub fn writes_refused(&self, server: &Server) -> bool {
        !self.last_bgsave_ok.load(Relaxed)
            && server
                .config
                .read(|c| c.stop_writes_on_bgsave_error && !c.save.trim().is_empty())
    }

    fn try_begin(&self) -> bool {
        self.running
            .compare_exchange(false, true, Relaxed, Relaxed)
            .is_ok()
    }

    /// Whether a snapshot is being written.
    pub fn busy(&self) -> bool {
        self.running.load(Relaxed)
    }
}

/// The right to run the one snapshot at a time, for snapshots other than
/// SAVE/BGSAVE (AOF rewrites): waits for a running one to end.
pub struct SnapshotTurn<'a>(&'a Persist);

impl<'a> SnapshotTurn<'a> {
    pub fn wait(server: &'a Server) -> SnapshotTurn<'a> {
        while !server.persist.try_begin() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        SnapshotTurn(&server.persist)
    }
}

impl Drop for SnapshotTurn<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Relaxed);
    }
}

/// The error text Redis gives writes while saving is failing.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Why a save did not start.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A snapshot is already being written.
    InProgress,
}

/// `dir/dbfilename`.
pub fn rdb_path(server: &Server) -> PathBuf {
    server
        .config
        .read(|c| Path::new(&c.dir).join(&c.dbfilename))
}

/// Write `snap` as an RDB file at `path`, safely: temp file, fsync, rename,
/// fsync of the directory. `aof_base` marks an AOF base (RDB preamble).
pub fn write_file(
    ks: &Keyspace,
    snap: Snapshot,
    path: &Path,
    checksum: bool,
    aof_base: bool,
    cancel: Option<&AtomicBool>,
) -> io::Result<SnapshotStats> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = write_rdb(ks, snap, &tmp, checksum, aof_base, cancel).and_then(|stats| {
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()?;
        Ok(stats)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The error of a save or rewrite stopped through its `cancel` flag.
pub fn cancelled() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "cancelled")
}

/// Sleep `us` microseconds (`rdb-key-save-delay`), in short naps that end
/// early once `cancel` is set or the delay is set to 0.
pub fn key_delay(us: u64, cancel: Option<&AtomicBool>) {
    let until = std::time::Instant::now() + std::time::Duration::from_micros(us);
    loop {
        if cancel.is_some_and(|c| c.load(Relaxed)) || KEY_DELAY_US.load(Relaxed) == 0 {
            return;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
    }
}

/// Write `snap` as an RDB file at exactly `path`, fsynced, without the
/// rename (AOF bases, which their caller renames into place, and
/// [`write_file`]'s temp file). Setting `cancel` makes it stop writing and
/// fail with [`cancelled`] (the snapshot's walk still finishes).
pub fn write_rdb(
    ks: &Keyspace,
    mut snap: Snapshot,
    tmp: &Path,
    checksum: bool,
    aof_base: bool,
    cancel: Option<&AtomicBool>,
) -> io::Result<SnapshotStats> {
    // Created before the walk starts; if that fails the walk still has to
    // run to completion, so the error is kept for after it.
    let (mut w, open_error) = match File::create(tmp) {
        Ok(f) => (Some(BufWriter::with_capacity(1 << 20, f)), None),
        Err(e) => (None, Some(e)),
    };
    let mut crc = rdb::Crc64::new();
    let mut scratch = Vec::with_capacity(256);
    let ctime = (snap.started_ms / 1000) as i64;
    rdb::write_header(
        &mut scratch,
        &[
            ("redis-ver", rdb::Aux::Str(crate::REDIS_VERSION.as_bytes())),
            ("redis-bits", rdb::Aux::Int(64)),
            ("ctime", rdb::Aux::Int(ctime)),
            (
                "used-mem",
                rdb::Aux::Int(crate::alloc::used_memory() as i64),
            ),
            ("aof-base", rdb::Aux::Int(aof_base as i64)),
        ],
    );
    let mut put = |bytes: &[u8], crc: &mut rdb::Crc64| -> io::Result<()> {
        if cancel.is_some_and(|c| c.load(Relaxed)) {
            return Err(cancelled());
        }
        crc.update(bytes);
        match w.as_mut() {
            Some(w) => w.write_all(bytes),
            None => Err(io::Error::other("no file")),
        }
    };
    for code in std::mem::take(&mut snap.functions) {
        rdb::write_function(&mut scratch, &code);
    }
    // Whatever fails, the walk must run to its end (it ends the snapshot:
    // a table left mid-walk would make the next snapshot skip its keys).
    let header = put(&scratch, &mut crc);
    let mut current_db = None;
    let delay = crate::persist::save::KEY_DELAY_US.load(Relaxed);
    let stats = snap.write_slowly(ks, delay, cancel, &mut |db, bytes| {
        if header.is_err() {
            return Err(io::Error::other("the header was not written"));
        }
        if current_db != Some(db) {
            let mut sel = Vec::with_capacity(8);
            rdb::write_select_db(&mut sel, db);
            put(&sel, &mut crc)?;
            current_db = Some(db);
        }
        put(bytes, &mut crc)
    });
    if let Some(e) = open_error {
        return Err(e);
    }
    header?;
    let stats = stats?;
    if cancel.is_some_and(|c| c.load(Relaxed)) {
        return Err(cancelled());
    }
    scratch.clear();
    rdb::write_eof(&mut scratch, &mut crc, checksum);
    let Some(mut w) = w else {
        return Err(io::Error::other("no file"));
    };
    w.write_all(&scratch)?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(stats)
}

/// Record the outcome of a save.
fn finish(
    server: &Server,
    snap_dirty: u64,
    started_ms: u64,
    result: &io::Result<SnapshotStats>,
    background: bool,
) {
    let p = &server.persist;
    let now = crate::util::now_ms();
    match result {
        Ok(stats) => {
            p.dirty_saved.store(snap_dirty, Relaxed);
            p.last_save.store(now / 1000, Relaxed);
            p.last_bgsave_ok.store(true, Relaxed);
            p.saves.fetch_add(1, Relaxed);
            p.last_cow_size.store(stats.cow_peak, Relaxed);
            if background {
                tracing::info!("Background saving terminated with success");
            } else {
                tracing::info!("DB saved on disk");
            }
        }
        // Stopped on purpose (FLUSHALL): not a failure, as Redis's child
        // killed with SIGUSR1.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            tracing::warn!("Background saving stopped");
        }
        Err(e) => {
            p.last_bgsave_ok.store(false, Relaxed);
            tracing::warn!("Failed saving the DB: {e}");
        }
    }
    if background {
        p.last_bgsave_secs
            .store((now.saturating_sub(started_ms) / 1000) as i64, Relaxed);
        p.bgsave_in_progress.store(false, Relaxed);
    }
    p.running.store(false, Relaxed);
}

/// Fix a snapshot's point in time between transactions: a worker or the
/// cron thread holds its own gate already (no EXEC runs), any other thread
/// (signals) takes them all.
fn begin(server: &Server, compress: bool, now: u64) -> Snapshot {
    KEY_DELAY_US.store(server.config.read(|c| c.rdb_key_save_delay), Relaxed);
    let _all = (!server.gates.owned()).then(|| server.gates.exclusive());
    let mut snap = Snapshot::begin(&server.keyspace, compress, now, || {});
    snap.functions = server.scripts.library_codes();
    snap
}

/// SAVE: write a snapshot now and return when it is on disk.
pub fn save(server: &Server) -> Result<io::Result<()>, Refused> {
    if !server.persist.try_begin() {
        return Err(Refused::InProgress);
    }
    let now = crate::util::now_ms();
    let (compress, checksum) = server.config.read(|c| (c.rdbcompression, c.rdbchecksum));
    let snap = begin(server, compress, now);
    let dirty = snap.dirty_at_start;
    let result = write_dump(server, snap, checksum, None);
    // A foreground save's failure does not set MISCONF in Redis (only
    // background ones do); its status is reported by the reply.
    let ok = server.persist.last_bgsave_ok.load(Relaxed);
    finish(server, dirty, now, &result, false);
    if result.is_err() {
        server.persist.last_bgsave_ok.store(ok, Relaxed);
    }
    Ok(result.map(|_| ()))
}

/// BGSAVE: fix the point in time now, write it on a background thread.
pub fn bgsave(server: &Server) -> Result<(), Refused> {
    let Some(me) = server.arc() else {
        return Err(Refused::InProgress);
    };
    if !server.persist.try_begin() {
        return Err(Refused::InProgress);
    }
    let p = &server.persist;
    let now = crate::util::now_ms();
    p.cancel.store(false, Relaxed);
    p.bgsave_in_progress.store(true, Relaxed);
    p.bgsave_started_ms.store(now, Relaxed);
    p.last_bgsave_try_ms.store(now, Relaxed);
    let (compress, checksum) = server.config.read(|c| (c.rdbcompression, c.rdbchecksum));
    let snap = begin(server, compress, now);
    server.keyspace.note_snapshot(snap.begin_us);
    tracing::info!("Background saving started");
    // The snapshot is handed over through a slot, so that if the thread
    // cannot start, the walk (which ends copy-on-write) still runs, here.
    let slot = Arc::new(parking_lot::Mutex::new(Some(snap)));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("ember-bgsave".into())
        .spawn(move || {
            if let Some(snap) = theirs.lock().take() {
                run_bgsave(me, snap, checksum);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("Can't start the background save thread, saving in the foreground: {e}");
        if let Some(snap) = slot.lock().take() {
            let dirty = snap.dirty_at_start;
            let result = write_dump(server, snap, checksum, Some(&server.persist.cancel));
            finish(server, dirty, now, &result, true);
        }
    }
    Ok(())
}

fn run_bgsave(server: Arc<Server>, snap: Snapshot, checksum: bool) {
    let (dirty, started) = (snap.dirty_at_start, snap.started_ms);
    let result = write_dump(&server, snap, checksum, Some(&server.persist.cancel));
    finish(&server, dirty, started, &result, true);
}

/// Write `snap` as `dir/dbfilename` (SAVE, BGSAVE).
fn write_dump(
    server: &Server,
    snap: Snapshot,
    checksum: bool,
    cancel: Option<&AtomicBool>,
) -> io::Result<SnapshotStats> {
    write_file(
        &server.keyspace,
        snap,
        &rdb_path(server),
        checksum,
        false,
        cancel,
    )
}

/// Save points and scheduled saves, from the cron thread.
pub fn cron(server: &Server) {
    let p = &server.persist;
    if p.busy() {
        return;
    }
    if p.bgsave_scheduled.swap(false, Relaxed) {
        let _ = bgsave(server);
        return;
    }
    let points = server.config.read(|c| c.save.clone());
    if points.trim().is_empty() {
        return;
    }
    let now = crate::util::now_ms();
    let changes = p.changes(&server.keyspace);
    let since = (now / 1000).saturating_sub(p.last_save.load(Relaxed));
    let retry_ok = p.last_bgsave_ok.load(Relaxed)
        || now.saturating_sub(p.last_bgsave_try_ms.load(Relaxed)) > BGSAVE_RETRY_DELAY_MS;
    let words: Vec<u64> = points
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    for pair in words.chunks_exact(2) {
        let (secs, min_changes) = (pair[0], pair[1]);
        if changes >= min_changes && since >= secs && retry_ok {
            tracing::info!("{min_changes} changes in {secs} seconds. Saving...");
            let _ = bgsave(server);
            return;
        }
    }
}

/// Wait for a running snapshot to end (shutdown).
fn wait_idle(server: &Server) {
    while server.persist.busy() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Save before shutting down, as SHUTDOWN and SIGTERM do: `force_save`
/// (SHUTDOWN SAVE) saves even without save points, `no_save` never. Returns
/// false when the save failed (the server must keep running).
pub fn save_for_shutdown(server: &Server, force_save: bool, no_save: bool) -> bool {
    let configured = server.config.read(|c| !c.save.trim().is_empty());
    if no_save || !(force_save || configured) {
        return true;
    }
    wait_idle(server);
    tracing::info!("Saving the final RDB snapshot before exiting.");
    match save(server) {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!("Error trying to save the DB, can't exit: {e}");
            false
        }
        Err(_) => false,
    }
}

/// Load `dir/dbfilename` at startup, if it exists. An unreadable or corrupt
/// file is an error: the server must not start (and never overwrites it).
pub fn load_at_startup(server: &Server) -> Result<(), String> {
    let path = rdb_path(server);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Can't open {}: {e}", path.display())),
    };
    let started = std::time::Instant::now();
    let p = &server.persist;
    p.loading.store(true, Relaxed);
    let r = load_into(
        server,
        &mut io::BufReader::with_capacity(1 << 20, file),
        RdbRole::Snapshot,
        false,
    );
    p.loading.store(false, Relaxed);
    match r {
        Ok((keys, expired, _)) => {
            tracing::info!(
                "DB loaded from disk: {:.3} seconds ({keys} keys, {expired} expired)",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => {
            // Redis's line, then what was wrong.
            tracing::warn!("Terminating server after rdb file reading failure.");
            Err(format!(
                "Fatal error loading the DB ({}): {e}. Exiting.",
                path.display()
            ))
        }
    }
}

/// After FLUSHALL, as Redis's flushAllDataAndResetRDB: a running BGSAVE
/// (of the data just flushed) is stopped, and with save points configured
/// the empty data set is saved at once, so that neither an old snapshot nor
/// a restart brings the keys back.
pub fn after_flushall(server: &Server) {
    let p = &server.persist;
    if p.bgsave_in_progress.load(Relaxed) {
        tracing::info!("Killing running BGSAVE (the save thread stops): FLUSHALL");
        p.cancel.store(true, Relaxed);
    }
    if server.config.read(|c| c.save.trim().is_empty()) {
        return;
    }
    // The stopped save ends within moments (its walk needs no gate). An
    // AOF rewrite holding the turn is not waited for: its cut needs this
    // thread's gate. The save points then save the empty set later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while p.bgsave_in_progress.load(Relaxed) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    match save(server) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("FLUSHALL: saving the empty data set failed: {e}"),
        Err(Refused::InProgress) => {
            tracing::warn!("FLUSHALL: a snapshot is running; the save points will save later")
        }
    }
}

/// Every database of every shard emptied, and the FUNCTION libraries
/// (Redis's `emptyData(-1, EMPTYDB_NO_FLAGS)`, before DEBUG RELOAD and
/// DEBUG LOADAOF load).
pub fn empty_data(server: &Server) {
    let now = crate::util::now_ms();
    let mut all = server.keyspace.lock_all();
    for shard in all.shards() {
        for db in 0..server.keyspace.ndbs() {
            shard.db_flushing(db, now);
            drop(shard.db(db).take());
        }
    }
    drop(all);
    server.scripts.clear_functions();
}

/// Why an RDB stream is loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RdbRole {
    /// A snapshot (dump.rdb, DEBUG RELOAD): keys already expired are skipped.
    Snapshot,
    /// An AOF's base: every key is kept, as Redis keeps them from an AOF
    /// preamble, since the commands that follow may still act on them
    /// (their TTLs apply once the load is done).
    AofBase,
}

/// Load an RDB stream into the (empty) keyspace. Returns (keys loaded,
/// expired keys skipped, offset just past the RDB).
pub fn load_into(
    server: &Server,
    input: &mut dyn io::Read,
    role: RdbRole,
    allow_dup: bool,
) -> Result<(u64, u64, u64), rdb::RdbError> {
    let limits = rdb::LoadLimits::of(server);
    let now = crate::util::now_ms();
    let ndbs = server.keyspace.ndbs();
    let (mut keys, mut expired) = (0u64, 0u64);
    let info = rdb::load(input, &limits, &mut |l| {
        if l.db >= ndbs {
            return Err(rdb::RdbError(format!(
                "FATAL: Data file was created with a Redis server configured to handle more than {ndbs} databases. Exiting"
            )));
        }
        if role == RdbRole::Snapshot && l.expire_ms != 0 && l.expire_ms <= now {
            expired += 1;
            return Ok(());
        }
        let mut shard = server.keyspace.lock(&l.key);
        let t = shard.db(l.db);
        // A key loaded over an existing one: only DEBUG RELOAD MERGE allows
        // it (Redis's RDBFLAGS_ALLOW_DUP; without it Redis panics, we fail
        // the load).
        if t.insert(&l.key, l.value, l.expire_ms, now).is_some() && !allow_dup {
            return Err(rdb::RdbError(format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(&l.key),
                l.db
            )));
        }
        if l.idle.is_some() || l.freq.is_some() {
            if let crate::keyspace::Lookup::Found(e) = t.lookup(&l.key, now) {
                e.lru = crate::keyspace::access::loaded(l.idle, l.freq, now);
            }
        }
        // Loading raises no `new` keyspace events.
        shard.db(l.db).take_created(&l.key);
        keys += 1;
        Ok(())
    })?;
    // FUNCTION libraries saved with the keys.
    if !info.functions.is_empty() {
        server
            .scripts
            .restore_libraries(&info.functions, allow_dup)
            .map_err(|e| rdb::RdbError(format!("loading functions: {}", e.message())))?;
    }
    // Redis's summary line (startup, DEBUG RELOAD, an AOF's RDB preamble).
    if info.empty_skipped > 0 {
        tracing::info!(
            "Done loading RDB, keys loaded: {keys}, keys expired: {expired}, empty keys skipped: {}.",
            info.empty_skipped
        );
    } else {
        tracing::info!("Done loading RDB, keys loaded: {keys}, keys expired: {expired}.");
    }
    let p = &server.persist;
    p.loaded_keys.store(keys, Relaxed);
    p.loaded_expired.store(expired, Relaxed);
    // What was just loaded is what is on disk.
    p.mark_saved(&server.keyspace);
    Ok((keys, expired, info.end_offset))
}
