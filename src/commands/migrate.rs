//! MIGRATE: move keys to another server (Redis or Ember) as RESTORE
//! commands carrying their DUMP payloads, over a connection kept for ten
//! seconds after its last use (Redis's migrate socket cache, INFO
//! `migrate_cached_sockets`).
//!
//! As in Redis the command is synchronous: the keys' shards stay locked
//! from the moment their values are read until the target has answered
//! (at most `timeout` per step), so nothing changes them in between, and a
//! key the target acknowledged is deleted here (unless COPY) and the whole
//! logged as one `DEL` of those keys. Other shards, and other workers, go
//! on meanwhile. A connection that fails before anything was read is
//! reopened once (a cached one the target closed), except on a timeout.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{acl, flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NO_EXPIRE;
use crate::protocol::Args;
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[Command::new("migrate", -6, migrate)
    .flags(WRITE)
    .keys(3, 3, 1)
    .keys_fn(key_positions)
    .acl(acl::KEYSPACE | acl::DANGEROUS)
    .doc(
        "2.6.0",
        "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.",
        "Atomically transfers a key from one Redis instance to another.",
        "host port <key | \"\"> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]",
    )];

/// Redis's limits: cached connections, and their idle lifetime.
const CACHE_ITEMS: usize = 64;
const CACHE_TTL: Duration = Duration::from_secs(10);

/// A connection to a target, and the database last selected on it.
struct Cached {
    stream: TcpStream,
    db: Option<i64>,
    used: Instant,
}

/// The cached connections, by `host:port`.
#[derive(Default)]
pub struct Sockets {
    map: Mutex<HashMap<String, Cached>>,
}

impl Sockets {
    /// INFO `migrate_cached_sockets`.
    pub fn count(&self) -> usize {
        self.map.lock().len()
    }

    /// From the cron: close the connections idle for ten seconds.
    pub fn close_idle(&self) {
        self.map.lock().retain(|_, c| c.used.elapsed() < CACHE_TTL);
    }

    /// The cached connection to `name` (taken out while in use), or a new
    /// one; a full cache gives up one of its connections for it.
    fn take(&self, name: &str, host: &str, port: u16, timeout: Duration) -> Option<Cached> {
        if let Some(c) = self.map.lock().remove(name) {
            return Some(c);
        }
        let addr = (host, port).to_socket_addrs().ok()?.next()?;
        let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
        let _ = stream.set_nodelay(true);
        Some(Cached {
            stream,
            db: None,
            used: Instant::now(),
        })
    }

    fn put(&self, name: String, mut c: Cached) {
        c.used = Instant::now();
        let mut map = self.map.lock();
        if map.len() >= CACHE_ITEMS {
            if let Some(k) = map.keys().next().cloned() {
                map.remove(&k);
            }
        }
        map.insert(name, c);
    }
}

/// Where MIGRATE's AUTH/AUTH2 secrets and its KEYS list are, scanning the
/// options as Redis's migrateGetKeys does (AUTH's arguments skipped, KEYS
/// ends the options): (the secrets, the index of the first key after KEYS).
fn scan(args: Args<'_>) -> (std::ops::Range<usize>, Option<usize>) {
    let mut secret = 0..0;
    let mut j = 6;
    while j < args.len() {
        let a = args.get(j);
        if eq_ic(a, b"keys") {
            return (secret, Some(j + 1));
        } else if eq_ic(a, b"auth") {
            secret = j + 1..(j + 2).min(args.len());
            j += 1;
        } else if eq_ic(a, b"auth2") {
            secret = j + 1..(j + 3).min(args.len());
            j += 2;
        }
        j += 1;
    }
    (secret, None)
}

/// The secret arguments of a MIGRATE (AUTH's password, AUTH2's username
/// and password), for MONITOR and the SLOWLOG.
pub fn secret_args(args: Args<'_>) -> std::ops::Range<usize> {
    scan(args).0
}

/// The keys of a MIGRATE (Redis's migrateGetKeys): the key argument, or
/// those after KEYS (none when the key argument is not empty then).
pub fn key_positions(args: Args<'_>) -> Vec<usize> {
    match scan(args).1 {
        Some(_) if !args.get(3).is_empty() => Vec::new(),
        Some(first) => (first..args.len()).collect(),
        None if args.len() > 3 => vec![3],
        None => Vec::new(),
    }
}

struct Options<'a> {
    copy: bool,
    replace: bool,
    auth: Option<(Option<&'a [u8]>, &'a [u8])>,
    keys: Vec<&'a [u8]>,
}

fn options<'a>(args: &'a Args<'a>) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        copy: false,
        replace: false,
        auth: None,
        keys: vec![args.get(3)],
    };
    let mut j = 6;
    while j < args.len() {
        let a = args.get(j);
        let more = args.len() - 1 - j;
        if eq_ic(a, b"copy") {
            o.copy = true;
        } else if eq_ic(a, b"replace") {
            o.replace = true;
        } else if eq_ic(a, b"auth") && more >= 1 {
            o.auth = Some((None, args.get(j + 1)));
            j += 1;
        } else if eq_ic(a, b"auth2") && more >= 2 {
            o.auth = Some((Some(args.get(j + 1)), args.get(j + 2)));
            j += 2;
        } else if eq_ic(a, b"keys") {
            if !args.get(3).is_empty() {
                return Err(CmdError::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            o.keys = args.slice(j + 1).iter().collect();
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

fn migrate(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let o = options(&args)?;
    // Checked in Redis's order: the timeout, then the database.
    let timeout = super::args::int(args.get(5))?;
    let dbid = super::args::int(args.get(4))?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let host = String::from_utf8_lossy(args.get(1)).into_owned();
    let port = std::str::from_utf8(args.get(2))
        .ok()
        .and_then(|p| p.parse::<u16>().ok());
    let (db, now) = (ctx.db(), ctx.now);
    let server = ctx.server;
    let compress = server.config.read(|c| c.rdbcompression);
    let mut ml = server.keyspace.lock_keys(o.keys.iter().copied());
    // The keys here (read as reads), their TTLs left and payloads.
    let mut found: Vec<(&[u8], u64, Vec<u8>)> = Vec::new();
    for &k in &o.keys {
        if found.iter().any(|(f, _, _)| *f == k) {
            continue;
        }
        if let Some(e) = ml.shard(k).read(db, k, now) {
            let at = e.expire();
            let ttl = if at == NO_EXPIRE {
                0
            } else {
                at.saturating_sub(now).max(1)
            };
            found.push((
                k,
                ttl,
                crate::persist::rdb::dump_payload(&e.value, compress),
            ));
        }
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let Some(port) = port else {
        return Err(CmdError::coded(CONNECT_ERROR));
    };
    let name = format!("{host}:{port}");
    let mut retried = false;
    loop {
        let Some(mut conn) = server.migrate.take(&name, &host, port, timeout) else {
            return Err(CmdError::coded(CONNECT_ERROR));
        };
        let select = conn.db != Some(dbid);
        let request = encode(&o, select, dbid, &found);
        match exchange(&mut conn.stream, &request, &o, select, found.len(), timeout) {
            Ok(Exchange { replies, failure }) => {
                // Keys the target took go from here, logged as one DEL.
                if !o.copy {
                    let mut del: Vec<&[u8]> = vec![b"DEL"];
                    for ((k, _, _), ok) in found.iter().zip(&replies) {
                        if *ok {
                            let shard = ml.shard(k);
                            if shard.db(db).remove(k).is_some() {
                                shard.modified(db, k);
                                shard.notify(crate::notify::GENERIC, "del", db, k);
                                del.push(k);
                            }
                        }
                    }
                    if del.len() > 1 {
                        crate::persist::aof::propagate_instead(del);
                    }
                }
                return match failure {
                    // The target said no: its error, and the next use
                    // selects again.
                    Some(Failure::Target(e)) => {
                        conn.db = None;
                        server.migrate.put(name, conn);
                        Err(CmdError::err(format!(
                            "Target instance replied with error: {e}"
                        )))
                    }
                    // The connection broke after some replies: not retried.
                    Some(Failure::Io) => Err(CmdError::coded(io_error(false))),
                    None => {
                        conn.db = Some(dbid);
                        server.migrate.put(name, conn);
                        ctx.out.ok();
                        Ok(())
                    }
                };
            }
            Err(e) => {
                // Nothing was acknowledged: the connection is dropped, and
                // reopened once unless it timed out.
                if !retried && !e.timed_out {
                    retried = true;
                    continue;
                }
                return Err(CmdError::coded(io_error(e.writing)));
            }
        }
    }
}

const CONNECT_ERROR: &str = "IOERR error or timeout connecting to the client";

fn io_error(writing: bool) -> String {
    format!(
        "IOERR error or timeout {} to target instance",
        if writing { "writing" } else { "reading" }
    )
}

/// AUTH and SELECT when needed, then a RESTORE per key.
fn encode(o: &Options<'_>, select: bool, dbid: i64, found: &[(&[u8], u64, Vec<u8>)]) -> Vec<u8> {
    use crate::persist::aof::log::encode as cmd;
    let mut out = Vec::new();
    match o.auth {
        Some((Some(user), pass)) => cmd(&mut out, [&b"AUTH"[..], user, pass]),
        Some((None, pass)) => cmd(&mut out, [&b"AUTH"[..], pass]),
        None => {}
    }
    let mut n = itoa::Buffer::new();
    if select {
        cmd(&mut out, [&b"SELECT"[..], n.format(dbid).as_bytes()]);
    }
    for (k, ttl, payload) in found {
        let ttl = n.format(*ttl).as_bytes().to_vec();
        let mut argv: Vec<&[u8]> = vec![b"RESTORE", k, &ttl, payload];
        if o.replace {
            argv.push(b"REPLACE");
        }
        cmd(&mut out, argv);
    }
    out
}

enum Failure {
    /// The target's error reply (without its `-`).
    Target(String),
    Io,
}

struct Exchange {
    /// Per key, whether the target restored it.
    replies: Vec<bool>,
    failure: Option<Failure>,
}

/// Nothing came back: whether it timed out, and whether writing failed.
struct Broken {
    timed_out: bool,
    writing: bool,
}

fn broken(e: &io::Error, writing: bool) -> Broken {
    Broken {
        timed_out: matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        writing,
    }
}

/// Send the request and read its replies: AUTH's, SELECT's, then one per
/// key. Err only when no key's reply came back.
fn exchange(
    s: &mut TcpStream,
    request: &[u8],
    o: &Options<'_>,
    select: bool,
    keys: usize,
    timeout: Duration,
) -> Result<Exchange, Broken> {
    let _ = s.set_write_timeout(Some(timeout));
    let _ = s.set_read_timeout(Some(timeout));
    for chunk in request.chunks(64 * 1024) {
        s.write_all(chunk).map_err(|e| broken(&e, true))?;
    }
    let auth = match o.auth {
        Some(_) => Some(read_line(s).map_err(|e| broken(&e, false))?),
        None => None,
    };
    let selected = if select {
        Some(read_line(s).map_err(|e| broken(&e, false))?)
    } else {
        None
    };
    // A refused AUTH or SELECT means no key was restored.
    let mut first_error = [auth, selected]
        .into_iter()
        .flatten()
        .find(|l| l.starts_with('-'));
    let refused_all = first_error.is_some();
    let mut replies = Vec::with_capacity(keys);
    for i in 0..keys {
        let line = match read_line(s) {
            Ok(l) => l,
            Err(e) if i == 0 => return Err(broken(&e, false)),
            Err(_) => {
                return Ok(Exchange {
                    replies,
                    failure: Some(
                        first_error.map_or(Failure::Io, |e| Failure::Target(e[1..].to_string())),
                    ),
                })
            }
        };
        let refused = line.starts_with('-');
        if refused && first_error.is_none() {
            first_error = Some(line.clone());
        }
        replies.push(!refused && !refused_all);
    }
    Ok(Exchange {
        replies,
        failure: first_error.map(|e| Failure::Target(e[1..].to_string())),
    })
}

/// One reply line (without CRLF), at most 1 KB as Redis reads it.
fn read_line(s: &mut TcpStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if s.read(&mut b)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if b[0] == b'\n' {
            break;
        }
        if line.len() < 1024 {
            line.push(b[0]);
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}
