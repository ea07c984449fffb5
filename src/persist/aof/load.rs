//! Loading an AOF: replay each file's commands through the normal dispatch,
//! as a fake client that never blocks.
//!
//! A file is a sequence of RESP multibulk commands (`*N` then `N` times
//! `$len` + bytes), optionally with `#...` annotation lines (Redis's
//! `aof-timestamp-enabled`). MULTI … EXEC blocks run as transactions (the
//! fake client queues and EXEC applies them atomically). A file that ends in
//! the middle of a command, or inside a MULTI block without its EXEC, is
//! *truncated*: only the last file may be, and then `aof-load-truncated yes`
//! loads up to the last complete command (or up to the MULTI), truncates the
//! file there and goes on; `no` refuses to start. Anything else that is not
//! well-formed is a format error: the server refuses to start and the file
//! is left as it is.

use std::io::{BufRead, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use crate::protocol::{Args, Reply};
use crate::server::client::Client;
use crate::server::stats::ThreadStats;
use crate::server::Server;

/// Why a file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Ends mid-command; the offset of the last complete command.
    Truncated {
        valid_up_to: u64,
    },
    /// Not an AOF from `offset` on.
    Format {
        offset: u64,
        why: String,
    },
    Io(std::io::Error),
}

/// How a file loaded.
#[derive(Debug, Default)]
pub struct Loaded {
    pub commands: u64,
    /// Bytes of the file that were valid (its length unless truncated).
    pub valid_up_to: u64,
    pub truncated: bool,
}

/// A fake client for replay.
pub struct Replayer<'a> {
    server: &'a Server,
    client: Client,
    tstats: ThreadStats,
    out: Reply,
}

impl<'a> Replayer<'a> {
    pub fn new(server: &'a Server) -> Replayer<'a> {
        let none = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let info = server.clients.register(none, none, -1);
        let mut client = Client::new(info, server.acl.superuser(&server.commands));
        client.authenticated = true;
        client.deny_blocking = true;
        client.replaying = true;
        Replayer {
            server,
            client,
            tstats: ThreadStats::new(server.commands.entries.len()),
            out: Reply::new(false),
        }
    }
}

/// What [`replay`] hands each command to: the server's fake client
/// ([`Replayer`]), or a fuzz target's recorder.
pub trait Run {
    /// Run one command; an error stops the load as a format error.
    fn run(&mut self, args: Args<'_>) -> Result<(), String>;
    /// Drop a transaction left open by a truncated file.
    fn discard(&mut self);
}

impl Run for Replayer<'_> {
    /// Run one command; an unknown command is an error (the file is not
    /// ours to second-guess), a failing one is not.
    fn run(&mut self, args: Args<'_>) -> Result<(), String> {
        if self.server.commands.get(args.get(0)).is_none() {
            return Err(format!(
                "Unknown command '{}' reading the append only file",
                String::from_utf8_lossy(args.get(0))
            ));
        }
        let _loading = crate::keyspace::expire::Loading::begin();
        crate::commands::dispatch(
            self.server,
            &mut self.client,
            &mut self.out,
            &self.tstats,
            crate::util::now_ms(),
            args,
        );
        crate::blocking::serve_pending(self.server, crate::util::now_ms());
        // Replayed commands are never logged again (DEBUG LOADAOF replays
        // inside its own scope while the AOF is on).
        crate::persist::aof::log::discard();
        self.out.buf.clear();
        Ok(())
    }

    fn discard(&mut self) {
        self.client.multi = None;
    }
}

impl Drop for Replayer<'_> {
    fn drop(&mut self) {
        self.server.clients.unregister(self.client.info.id);
    }
}

/// Longest `*N` / `$N` header line we accept.
const MAX_HEADER: u64 = 32;
/// Longest annotation (`#...`) line we accept.
const MAX_ANNOTATION: u64 = 1 << 20;

/// One header line read: the line, or why there is none.
enum Line {
    Ok,
    /// The file ends before the line does.
    Eof,
    /// Longer than allowed: not an AOF.
    TooLong,
}

/// Read one line (at most `max` bytes, with its `\n`) into `line`.
fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: u64,
    pos: &mut u64,
) -> Result<Line, LoadError> {
    line.clear();
    let n = input
        .take(max)
        .read_until(b'\n', line)
        .map_err(LoadError::Io)?;
    *pos += n as u64;
    Ok(if line.ends_with(b"\n") {
        Line::Ok
    } else if n as u64 == max {
        Line::TooLong
    } else {
        Line::Eof
    })
}

/// The number of a `*N` / `$N` line (`line[0]` is the marker).
fn number(line: &[u8]) -> Option<u64> {
    let digits = line[1..].strip_suffix(b"\r\n")?;
    crate::protocol::parse_i64(digits)
        .filter(|&v| v >= 0)
        .map(|v| v as u64)
}

/// Replay one file's commands, streaming (the file is never read whole).
pub fn replay(r: &mut dyn Run, input: &mut impl BufRead) -> Result<Loaded, LoadError> {
    let mut pos = 0u64;
    let mut valid = 0u64;
    let mut in_multi = false;
    let mut commands = 0u64;
    let mut line = Vec::new();
    let mut data = Vec::new();
    let mut ranges = Vec::new();
    let truncated = |valid: u64| LoadError::Truncated { valid_up_to: valid };
    let bad = |at: u64| LoadError::Format {
        offset: at,
        why: "Bad file format reading the append only file".to_string(),
    };
    loop {
        let start = pos;
        let first = match input.fill_buf().map_err(LoadError::Io)?.first() {
            None => break,
            Some(&b) => b,
        };
        if first == b'#' {
            // An annotation line.
            match read_line(input, &mut line, MAX_ANNOTATION, &mut pos)? {
                Line::Ok => {}
                Line::Eof => return Err(truncated(valid)),
                Line::TooLong => return Err(bad(start)),
            }
            if !in_multi {
                valid = pos;
            }
            continue;
        }
        if first != b'*' {
            return Err(bad(start));
        }
        match read_line(input, &mut line, MAX_HEADER, &mut pos)? {
            Line::Ok => {}
            Line::Eof => return Err(truncated(valid)),
            Line::TooLong => return Err(bad(start)),
        }
        let argc = match number(&line) {
            Some(n) if n >= 1 => n,
            _ => return Err(bad(start)),
        };
        data.clear();
        ranges.clear();
        for _ in 0..argc {
            let at = pos;
            match read_line(input, &mut line, MAX_HEADER, &mut pos)? {
                Line::Ok => {}
                Line::Eof => return Err(truncated(valid)),
                Line::TooLong => return Err(bad(at)),
            }
            if line.first() != Some(&b'$') {
                return Err(bad(at));
            }
            let Some(len) = number(&line) else {
                return Err(bad(at));
            };
            // Reads only the bytes that are there: a huge declared length
            // costs what the file holds, not what it claims.
            let s = data.len();
            let want = len.saturating_add(2);
            let got = input
                .take(want)
                .read_to_end(&mut data)
                .map_err(LoadError::Io)? as u64;
            pos += got;
            if got < want {
                return Err(truncated(valid));
            }
            if !data.ends_with(b"\r\n") {
                return Err(bad(pos - 2));
            }
            data.truncate(data.len() - 2);
            ranges.push(s..data.len());
        }
        let args = Args::new(&data, &ranges);
        let name = args.get(0);
        if name.eq_ignore_ascii_case(b"multi") {
            in_multi = true;
        } else if name.eq_ignore_ascii_case(b"exec") {
            in_multi = false;
        }
        r.run(args)
            .map_err(|why| LoadError::Format { offset: start, why })?;
        commands += 1;
        if !in_multi {
            valid = pos;
        }
    }
    if in_multi {
        // A transaction without its EXEC: as truncated, back to its MULTI.
        r.discard();
        return Err(truncated(valid));
    }
    Ok(Loaded {
        commands,
        valid_up_to: pos,
        truncated: false,
    })
}

/// Load one file of the AOF from offset `skip` (past an RDB preamble).
/// `last`: whether it is the last file (the only one allowed to be
/// truncated).
pub fn load_file(
    r: &mut Replayer<'_>,
    path: &Path,
    skip: u64,
    last: bool,
    truncated_ok: bool,
) -> Result<Loaded, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("The append log file {name} doesn't exist: {e}"),
        _ => format!("Fatal error: can't open the append log file {name} for reading: {e}"),
    })?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut input = std::io::BufReader::with_capacity(1 << 16, file);
    if skip > 0 {
        use std::io::Seek;
        input
            .seek(std::io::SeekFrom::Start(skip))
            .map_err(|e| format!("Error reading the AOF file {name}: {e}"))?;
    }
    match replay(r, &mut input) {
        Ok(l) => Ok(Loaded {
            valid_up_to: l.valid_up_to + skip,
            ..l
        }),
        Err(LoadError::Truncated { valid_up_to }) => {
            let valid_up_to = valid_up_to + skip;
            if !last {
                return Err(format!(
                    "Unexpected end of file reading the append only file {name} (not the last file) at offset {valid_up_to}"
                ));
            }
            if !truncated_ok {
                return Err(format!(
                    "Unexpected end of file reading the append only file {name} at offset {valid_up_to}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
                ));
            }
            tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
            tracing::warn!(
                "!!! Truncating the AOF {name} at offset {valid_up_to} (of {size}) !!!"
            );
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(valid_up_to).and_then(|_| f.sync_all()));
            if let Err(e) = f {
                return Err(format!(
                    "Error truncating the AOF file {name}: {e}. Failed to truncate AOF"
                ));
            }
            tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
            Ok(Loaded {
                commands: 0,
                valid_up_to,
                truncated: true,
            })
        }
        Err(LoadError::Format { offset, why }) => Err(format!(
            "{why} {name} at offset {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
            offset + skip
        )),
        Err(LoadError::Io(e)) => Err(format!("Error reading the AOF file {name}: {e}")),
    }
}
