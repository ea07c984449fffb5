//! Replica side: `REPLICAOF host port` (or `replicaof` in the config file)
//! makes Ember follow a master — a real Redis or another Ember.
//!
//! One thread per master link, with blocking socket I/O: it connects, does
//! Redis's handshake (PING, AUTH with `masterauth`/`masteruser`, REPLCONF
//! listening-port and capa, PSYNC with the cached replication ID and
//! offset), then either loads the snapshot of a full resync (read into a
//! temp file in `dir` while clients keep reading the old data, then, with
//! every gate held, the data is emptied and the file loaded) or continues
//! after `+CONTINUE`. From then on it applies the master's stream through
//! the normal dispatch as the *master client* (flag `M`: obeyed like the
//! AOF loader's client, never read-only, never refused for memory), counts
//! the offset, answers `REPLCONF GETACK` and sends `REPLCONF ACK` every
//! second. A lost link is retried every second; the data stays, and the
//! next PSYNC asks to continue from the offset reached.
//!
//! The thread shares the cron thread's gate for reading, so EXEC and
//! scripts elsewhere stay atomic against the master's writes.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::persist::aof::log::encode;
use crate::protocol::parse::{Limits, Parsed, Parser};
use crate::protocol::reply::Reply;
use crate::server::client::Client;
use crate::server::stats::ThreadStats;
use crate::server::Server;
use crate::util::now_ms;

/// The link's state, as ROLE names it.
pub const CONNECT: u8 = 0;
pub const CONNECTING: u8 = 1;
pub const HANDSHAKE: u8 = 2;
pub const SYNC: u8 = 3;
pub const CONNECTED: u8 = 4;

/// The master this server follows.
pub struct Upstream {
    pub host: String,
    pub port: u16,
    pub state: AtomicU8,
    /// Set by REPLICAOF (another master or NO ONE): the thread ends.
    pub stop: AtomicBool,
    /// Unix ms of the last byte from the master (0: none yet).
    pub last_io_ms: AtomicU64,
    /// Unix ms the link went down (0: up, or never up).
    pub down_since_ms: AtomicU64,
    /// A full resync's payload: total (0: unknown, EOF-marked) and read.
    pub sync_total: AtomicU64,
    pub sync_read: AtomicU64,
    /// Stream bytes received and not applied yet (INFO
    /// `slave_read_repl_offset` is the applied offset plus these).
    pub unapplied: AtomicU64,
}

/// The master's replication ID and the offset applied from it: what the
/// next PSYNC asks to continue from (kept across links, as Redis's cached
/// master).
#[derive(Default)]
pub struct Position {
    pub replid: String,
    pub offset: u64,
    /// The master client's database, which a continued stream assumes.
    pub db: usize,
}

impl Upstream {
    pub fn new(host: String, port: u16) -> Arc<Upstream> {
        Arc::new(Upstream {
            host,
            port,
            state: AtomicU8::new(CONNECT),
            stop: AtomicBool::new(false),
            last_io_ms: AtomicU64::new(0),
            down_since_ms: AtomicU64::new(now_ms()),
            sync_total: AtomicU64::new(0),
            sync_read: AtomicU64::new(0),
            unapplied: AtomicU64::new(0),
        })
    }

    pub fn state_name(&self) -> &'static str {
        match self.state.load(Relaxed) {
            CONNECT => "connect",
            CONNECTING => "connecting",
            HANDSHAKE => "handshake",
            SYNC => "sync",
            _ => "connected",
        }
    }
}

/// Start following `up` on a thread of its own.
pub fn spawn(server: &Arc<Server>, up: Arc<Upstream>) {
    let server = server.clone();
    let started = std::thread::Builder::new()
        .name("ember-replica".into())
        .spawn(move || run(&server, &up));
    if let Err(e) = started {
        tracing::warn!("Can't start the replication thread: {e}");
    }
}

fn run(server: &Arc<Server>, up: &Upstream) {
    server.gates.adopt(server.gates.cron_gate());
    // The master's commands count in INFO commandstats, as in Redis.
    let tstats = Arc::new(ThreadStats::new(server.commands.entries.len()));
    server.thread_stats.lock().push(tstats.clone());
    while !up.stop.load(Relaxed) {
        // Not while a transaction or script holds every gate (a DEBUG
        // SLEEP in MULTI): Redis's replica reconnects from its event loop.
        drop(server.gates.read());
        up.state.store(CONNECTING, Relaxed);
        tracing::info!("Connecting to MASTER {}:{}", up.host, up.port);
        match session(server, up, &tstats) {
            Ok(()) => {}
            // Redis's words for a master that stopped answering.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => match up.state.load(Relaxed) {
                SYNC => tracing::warn!("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."),
                CONNECTED => tracing::warn!("MASTER timeout: no data nor PING received..."),
                _ => tracing::warn!("Timeout connecting to the MASTER..."),
            },
            Err(e) => tracing::warn!("MASTER <-> REPLICA link with {}:{}: {e}", up.host, up.port),
        }
        if up.state.swap(CONNECT, Relaxed) == CONNECTED {
            up.down_since_ms.store(now_ms(), Relaxed);
        }
        // Retry once a second, as Redis's replication cron.
        for _ in 0..10 {
            if up.stop.load(Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The socket and what was read from it but not used yet.
struct Link {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Link {
    /// Fill `buf` from the socket (a read timeout is not an error: false).
    fn fill(&mut self, up: &Upstream) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        match self.s.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection lost",
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                up.last_io_ms.store(now_ms(), Relaxed);
                Ok(true)
            }
            // (A process stopped and continued sees EINTR.)
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// One reply line (without its line end), waiting up to `timeout`.
    fn line(&mut self, up: &Upstream, timeout: Duration) -> io::Result<String> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(io::Error::other("reply line too long"));
            }
            if up.stop.load(Relaxed) {
                return Err(io::Error::other("replication stopped"));
            }
            if std::time::Instant::now() >= until {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timeout"));
            }
            self.fill(up)?;
        }
    }

    fn command(&mut self, args: &[&[u8]]) -> io::Result<()> {
        let mut b = Vec::new();
        encode(&mut b, args.iter().copied());
        self.s.write_all(&b)
    }

    /// Send a command and read its one-line reply.
    fn ask(&mut self, up: &Upstream, args: &[&[u8]], timeout: Duration) -> io::Result<String> {
        self.command(args)?;
        self.line(up, timeout)
    }
}

fn session(server: &Arc<Server>, up: &Upstream, tstats: &ThreadStats) -> io::Result<()> {
    let timeout = Duration::from_secs(server.config.read(|c| c.repl_timeout).max(1));
    let addr = (up.host.as_str(), up.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("no address for the master"))?;
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut link = Link { s, buf: Vec::new() };
    tracing::info!("MASTER <-> REPLICA sync started");
    up.state.store(HANDSHAKE, Relaxed);
    let pong = link.ask(up, &[b"PING"], timeout)?;
    // As Redis: an auth error here is fine, AUTH comes next.
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(io::Error::other(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    let (user, pass) = server
        .config
        .read(|c| (c.masteruser.clone(), c.masterauth.clone()));
    if !pass.is_empty() {
        let r = if user.is_empty() {
            link.ask(up, &[b"AUTH", pass.as_bytes()], timeout)?
        } else {
            link.ask(up, &[b"AUTH", user.as_bytes(), pass.as_bytes()], timeout)?
        };
        if r.starts_with('-') {
            return Err(io::Error::other(format!("Unable to AUTH to MASTER: {r}")));
        }
    }
    let port = server.port().to_string();
    let r = link.ask(
        up,
        &[b"REPLCONF", b"listening-port", port.as_bytes()],
        timeout,
    )?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    let r = link.ask(
        up,
        &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
        timeout,
    )?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    let (replid, next) = {
        let p = server.repl.position.lock();
        if p.replid.is_empty() {
            ("?".to_string(), "-1".to_string())
        } else {
            (p.replid.clone(), (p.offset + 1).to_string())
        }
    };
    link.command(&[b"PSYNC", replid.as_bytes(), next.as_bytes()])?;
    // Newlines keep the link alive while the master prepares.
    let reply = loop {
        let l = link.line(up, timeout)?;
        if !l.is_empty() {
            break l;
        }
    };
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut parts = rest.split(' ');
        let id = parts.next().unwrap_or_default().to_string();
        let offset: u64 = parts
            .next()
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad FULLRESYNC reply: {reply}")))?;
        tracing::info!("Full resync from master: {id}:{offset}");
        up.state.store(SYNC, Relaxed);
        full_sync(server, up, &mut link, timeout)?;
        *server.repl.position.lock() = Position {
            replid: id,
            offset,
            db: 0,
        };
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let id = rest.trim();
        let mut p = server.repl.position.lock();
        if !id.is_empty() && id != p.replid {
            tracing::info!("Master replication ID changed to {id}");
            p.replid = id.to_string();
        }
        tracing::info!("Successful partial resynchronization with master.");
    } else {
        return Err(io::Error::other(format!(
            "unexpected reply to PSYNC: '{reply}'"
        )));
    }
    up.state.store(CONNECTED, Relaxed);
    up.down_since_ms.store(0, Relaxed);
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    follow(server, up, &mut link, timeout, tstats)
}

/// Read the payload (`$<len>` or `$EOF:<mark>`) into a temp file, then
/// replace the data with it.
fn full_sync(
    server: &Arc<Server>,
    up: &Upstream,
    link: &mut Link,
    timeout: Duration,
) -> io::Result<()> {
    let head = loop {
        let l = link.line(up, timeout)?;
        if !l.is_empty() {
            break l;
        }
    };
    let spec = head
        .strip_prefix('$')
        .ok_or_else(|| io::Error::other(format!("bad payload header from master: '{head}'")))?;
    let dir = server.config.read(|c| c.dir.clone());
    let path = PathBuf::from(dir).join(format!("temp-{}.{}.rdb", std::process::id(), now_ms()));
    let got = receive(up, link, spec, &path, timeout);
    let loaded = got.and_then(|()| load(server, up, &path));
    let _ = std::fs::remove_file(&path);
    loaded
}

fn receive(
    up: &Upstream,
    link: &mut Link,
    spec: &str,
    path: &std::path::Path,
    timeout: Duration,
) -> io::Result<()> {
    let mut f = io::BufWriter::new(std::fs::File::create(path)?);
    let mut last = std::time::Instant::now();
    up.sync_read.store(0, Relaxed);
    if let Some(mark) = spec.strip_prefix("EOF:") {
        // Diskless: the payload ends with the 40-byte mark.
        let mark = mark.as_bytes();
        if mark.len() != 40 {
            return Err(io::Error::other("bad EOF mark from master"));
        }
        up.sync_total.store(0, Relaxed);
        loop {
            if link.buf.len() >= mark.len() && link.buf.ends_with(mark) {
                let n = link.buf.len() - mark.len();
                f.write_all(&link.buf[..n])?;
                link.buf.clear();
                break;
            }
            // Keep what could be the start of the mark.
            if link.buf.len() > mark.len() {
                let n = link.buf.len() - mark.len();
                f.write_all(&link.buf[..n])?;
                up.sync_read.fetch_add(n as u64, Relaxed);
                link.buf.drain(..n);
            }
            more(up, link, &mut last, timeout)?;
        }
    } else {
        let total: u64 = spec
            .parse()
            .map_err(|_| io::Error::other(format!("bad payload length from master: '{spec}'")))?;
        up.sync_total.store(total, Relaxed);
        let mut left = total;
        loop {
            let n = (link.buf.len() as u64).min(left) as usize;
            f.write_all(&link.buf[..n])?;
            link.buf.drain(..n);
            left -= n as u64;
            up.sync_read.store(total - left, Relaxed);
            if left == 0 {
                break;
            }
            more(up, link, &mut last, timeout)?;
        }
    }
    let f = f.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
}

/// Read more of the payload; a timeout once nothing came for `timeout`.
fn more(
    up: &Upstream,
    link: &mut Link,
    last: &mut std::time::Instant,
    timeout: Duration,
) -> io::Result<()> {
    if up.stop.load(Relaxed) {
        return Err(io::Error::other("replication stopped"));
    }
    if link.fill(up)? {
        *last = std::time::Instant::now();
    } else if last.elapsed() > timeout || up.stop.load(Relaxed) {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timeout receiving the payload",
        ));
    }
    Ok(())
}

/// Replace the data with the payload, nothing else running (as Redis's
/// replica blocks while it loads). Keys already expired are kept: the
/// master's DELs for them follow in the stream.
fn load(server: &Arc<Server>, up: &Upstream, path: &std::path::Path) -> io::Result<()> {
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    {
        let _all = server.gates.exclusive();
        // REPLICAOF NO ONE (or another master) meanwhile: keep the data.
        if up.stop.load(Relaxed) {
            return Err(io::Error::other("replication stopped"));
        }
        // Whatever happens now, what we had is no base to continue from.
        *server.repl.position.lock() = Position::default();
        crate::persist::save::empty_data(server);
        server.repl.written.lock().clear();
        tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        let f = std::fs::File::open(path)?;
        crate::persist::save::load_into(
            server,
            &mut BufReader::with_capacity(1 << 20, f),
            crate::persist::save::RdbRole::AofBase,
            false,
        )
        .map_err(|e| {
            io::Error::other(format!(
                "Failed trying to load the MASTER synchronization DB from disk: {e}"
            ))
        })?;
    }
    // Our own replicas follow a stream that no longer matches: a new ID
    // makes them resync in full. The AOF is rewritten from the new data,
    // as Redis restarts it.
    server.repl.change_replid();
    server.repl.drop_replicas(server);
    if server.aof.log.aof_on() {
        server.aof.start_rewrite(false);
    }
    Ok(())
}

/// Apply the master's stream until the link ends.
fn follow(
    server: &Arc<Server>,
    up: &Upstream,
    link: &mut Link,
    timeout: Duration,
    tstats: &ThreadStats,
) -> io::Result<()> {
    let addr = link.s.peer_addr()?;
    let laddr = link.s.local_addr()?;
    let info = server.clients.register(addr, laddr, -1);
    info.master.store(true, Relaxed);
    let _gone = Unregister {
        server,
        id: info.id,
    };
    let mut client = Client::new(info.clone(), server.acl.superuser(&server.commands));
    client.authenticated = true;
    client.deny_blocking = true;
    client.replaying = true;
    client.db = server.repl.position.lock().db;
    let mut out = Reply::new(false);
    let mut parser = Parser::default();
    let limits = Limits::new(
        server.config.proto_max_bulk_len().min(i64::MAX as u64) as i64,
        true,
    );
    let mut last_ack = 0u64;
    let position = &server.repl.position;
    let mut fack = Fack::default();
    let mut fack_sent = None;
    loop {
        if up.stop.load(Relaxed) || info.killed.load(Relaxed) {
            return Ok(());
        }
        let mut pos = 0;
        loop {
            let (skipped, parsed) = parser
                .next_request(&link.buf[pos..], &limits)
                .map_err(|e| io::Error::other(format!("protocol error from master: {}", e.0)))?;
            let consumed = match parsed {
                Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
                _ => break,
            };
            pos += skipped;
            let args = parser.args(&link.buf[pos..], &parsed);
            if up.stop.load(Relaxed) {
                return Ok(());
            }
            // A busy script here: the master's writes wait, as Redis stops
            // reading its master then (they would get -BUSY).
            while server.scripts.busy(server).is_some() && !up.stop.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            let processed = position.lock().offset + skipped as u64;
            let now = now_ms();
            // CLIENT PAUSE WRITE holds the master's writes too (they are
            // kept, and read on, until it ends), as Redis postpones its
            // master client.
            if server.pause.holds(server, &client, args, now) {
                pos = pos.saturating_sub(skipped);
                break;
            }
            if args.len() >= 2
                && args[0].eq_ignore_ascii_case(b"replconf")
                && args[1].eq_ignore_ascii_case(b"getack")
            {
                send_ack(link, processed, fack.offset(server))?;
                last_ack = now_ms();
            } else if !args[0].eq_ignore_ascii_case(b"ping") {
                info.last_interaction_ms.store(now, Relaxed);
                // The master decides what expires (its DELs follow).
                let _master = crate::keyspace::expire::Loading::begin();
                crate::commands::dispatch(server, &mut client, &mut out, tstats, now, args);
                crate::blocking::serve_pending(server, now);
                if out.buf.first() == Some(&b'-') {
                    // As Redis logs what its replica answers its master
                    // with an error (propagation-error-behavior ignore).
                    let end = out
                        .buf
                        .iter()
                        .position(|&b| b == b'\r')
                        .unwrap_or(out.buf.len());
                    tracing::warn!(
                        "== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'",
                        String::from_utf8_lossy(&out.buf[1..end]),
                        String::from_utf8_lossy(args.get(0)),
                    );
                }
                out.buf.clear();
            }
            pos += consumed;
            let mut p = position.lock();
            p.offset = processed + consumed as u64;
            p.db = client.db;
            fack.applied(server, p.offset);
        }
        link.buf.drain(..pos);
        up.unapplied.store(link.buf.len() as u64, Relaxed);
        crate::tracking::Tracking::flush_bcast(&server.pubsub);
        let now = now_ms();
        // Every second, and as soon as this replica's AOF fsynced more of
        // the stream (a WAITAOF on the master waits for that).
        let fsynced = fack.offset(server);
        if now.saturating_sub(last_ack) >= 1000 || fsynced > fack_sent {
            let offset = position.lock().offset;
            send_ack(link, offset, fsynced)?;
            last_ack = now;
            fack_sent = fsynced;
        }
        if !link.fill(up)?
            && now.saturating_sub(up.last_io_ms.load(Relaxed)) > timeout.as_millis() as u64
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no data nor PING received from master",
            ));
        }
    }
}

/// `REPLCONF ACK <offset>`, with `FACK <offset>` when this replica's AOF
/// is on (what WAITAOF counts on the master).
fn send_ack(link: &mut Link, offset: u64, fack: Option<u64>) -> io::Result<()> {
    let off = offset.to_string();
    match fack {
        Some(f) => {
            let f = f.to_string();
            link.command(&[b"REPLCONF", b"ACK", off.as_bytes(), b"FACK", f.as_bytes()])
        }
        None => link.command(&[b"REPLCONF", b"ACK", off.as_bytes()]),
    }
}

/// Which stream offset this replica's own AOF has fsynced: after each
/// command applied, the next record number here and the offset reached;
/// an offset counts once every record before its number is fsynced.
#[derive(Default)]
struct Fack {
    pending: std::collections::VecDeque<(u64, u64)>,
    done: u64,
}

impl Fack {
    fn applied(&mut self, server: &Server, offset: u64) {
        if !server.aof.log.aof_on() {
            self.pending.clear();
            return;
        }
        let seq = server.aof.log.next_seq();
        match self.pending.back_mut() {
            Some(last) if last.0 == seq => last.1 = offset,
            _ => self.pending.push_back((seq, offset)),
        }
    }

    fn offset(&mut self, server: &Server) -> Option<u64> {
        if !server.aof.log.aof_on() {
            return None;
        }
        let fsynced = server.repl.local_fsynced();
        while let Some(&(seq, off)) = self.pending.front() {
            if seq > fsynced + 1 {
                break;
            }
            self.done = self.done.max(off);
            self.pending.pop_front();
        }
        Some(self.done)
    }
}

struct Unregister<'a> {
    server: &'a Server,
    id: u64,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.server.clients.unregister(self.id);
    }
}

/// The current master, if this server is a replica.
#[derive(Default)]
pub struct Following {
    pub up: Mutex<Option<Arc<Upstream>>>,
    /// Whether a master is set (read on every write command).
    pub on: AtomicBool,
}

/// From the cron: delete the keys a writable replica's own clients wrote
/// with a TTL once it passed (the hold keeps every other key for the
/// master's DEL), and forget those that are gone or lost their TTL.
pub fn expire_written(server: &Server, now: u64) {
    let keys: Vec<(usize, Box<[u8]>)> = {
        let w = server.repl.written.lock();
        if w.is_empty() {
            return;
        }
        w.iter().cloned().collect()
    };
    for (db, key) in keys {
        let mut shard = server.keyspace.lock(&key);
        let log = shard.log.clone();
        let t = shard.db(db);
        let state = t
            .position(&key)
            .and_then(|p| Some((p, t.at(p)?.1.has_ttl(), t.at(p)?.1.is_expired(now))));
        let forget = match state {
            Some((pos, true, true)) => {
                let (k, gone) = t.remove_at(pos);
                crate::persist::aof::log::deleted(
                    &log,
                    db,
                    &k,
                    crate::persist::aof::log::Deletion::Expired,
                );
                crate::keyspace::free_deleted(
                    &log,
                    crate::persist::aof::log::Deletion::Expired,
                    gone,
                );
                shard.expired(db, &k);
                true
            }
            Some((_, true, false)) => false,
            _ => true,
        };
        drop(shard);
        if forget {
            server.repl.written.lock().remove(&(db, key));
        }
    }
}
