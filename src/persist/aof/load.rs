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
        let mut client = Client::new(info, true);
        client.deny_blocking = true;
        Replayer {
            server,
            client,
            tstats: ThreadStats::new(server.commands.entries.len()),
            out: Reply::new(false),
        }
    }

    /// Run one command; an unknown command is an error (the file is not
    /// ours to second-guess), a failing one is not.
    fn run(&mut self, args: Args<'_>) -> Result<(), String> {
        if self.server.commands.get(args.get(0)).is_none() {
            return Err(format!(
                "Unknown command '{}' reading the append only file",
                String::from_utf8_lossy(args.get(0))
            ));
        }
        crate::commands::dispatch(
            self.server,
            &mut self.client,
            &mut self.out,
            &self.tstats,
            crate::util::now_ms(),
            args,
        );
        crate::blocking::serve_pending(self.server, crate::util::now_ms());
        self.out.buf.clear();
        Ok(())
    }

    /// Drop a transaction left open by a truncated file.
    fn discard(&mut self) {
        self.client.multi = None;
    }
}

impl Drop for Replayer<'_> {
    fn drop(&mut self) {
        self.server.clients.unregister(self.client.info.id);
    }
}

/// Replay the AOF-format bytes of one file.
pub fn replay(r: &mut Replayer<'_>, buf: &[u8]) -> Result<Loaded, LoadError> {
    let mut pos = 0usize;
    let mut valid = 0usize;
    let mut in_multi = false;
    let mut commands = 0u64;
    let mut ranges = Vec::new();
    let truncated = |valid: usize| LoadError::Truncated {
        valid_up_to: valid as u64,
    };
    let bad = |at: usize, why: &str| LoadError::Format {
        offset: at as u64,
        why: why.to_string(),
    };
    while pos < buf.len() {
        let start = pos;
        if buf[pos] == b'#' {
            // An annotation line.
            match buf[pos..].iter().position(|&b| b == b'\n') {
                Some(n) => {
                    pos += n + 1;
                    if !in_multi {
                        valid = pos;
                    }
                    continue;
                }
                None => return Err(truncated(valid)),
            }
        }
        if buf[pos] != b'*' {
            return Err(bad(pos, "Bad file format reading the append only file"));
        }
        let (argc, after) = match number(buf, pos + 1) {
            Num::Ok(n, after) => (n, after),
            Num::Eof => return Err(truncated(valid)),
            Num::Bad => return Err(bad(pos, "Bad file format reading the append only file")),
        };
        if argc < 1 {
            return Err(bad(pos, "Bad file format reading the append only file"));
        }
        pos = after;
        ranges.clear();
        for _ in 0..argc {
            if pos >= buf.len() {
                return Err(truncated(valid));
            }
            if buf[pos] != b'$' {
                return Err(bad(pos, "Bad file format reading the append only file"));
            }
            let (len, after) = match number(buf, pos + 1) {
                Num::Ok(n, after) => (n as usize, after),
                Num::Eof => return Err(truncated(valid)),
                Num::Bad => return Err(bad(pos, "Bad file format reading the append only file")),
            };
            let end = after.saturating_add(len);
            if end.saturating_add(2) > buf.len() {
                return Err(truncated(valid));
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(bad(end, "Bad file format reading the append only file"));
            }
            ranges.push(after..end);
            pos = end + 2;
        }
        let args = Args::new(buf, &ranges);
        let name = args.get(0);
        if name.eq_ignore_ascii_case(b"multi") {
            in_multi = true;
        } else if name.eq_ignore_ascii_case(b"exec") {
            in_multi = false;
        }
        r.run(args).map_err(|why| LoadError::Format {
            offset: start as u64,
            why,
        })?;
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
        valid_up_to: buf.len() as u64,
        truncated: false,
    })
}

enum Num {
    Ok(i64, usize),
    Eof,
    Bad,
}

/// A decimal number at `buf[at..]` ended by CRLF; the position after it.
fn number(buf: &[u8], at: usize) -> Num {
    let Some(n) = buf[at.min(buf.len())..].iter().position(|&b| b == b'\n') else {
        return if buf.len() - at.min(buf.len()) > 32 {
            Num::Bad
        } else {
            Num::Eof
        };
    };
    let line = &buf[at..at + n];
    let Some(digits) = line.strip_suffix(b"\r") else {
        return Num::Bad;
    };
    match crate::protocol::parse_i64(digits) {
        Some(v) if v >= 0 => Num::Ok(v, at + n + 1),
        _ => Num::Bad,
    }
}

/// Load one file of the AOF. `last`: whether it is the last file (the only
/// one allowed to be truncated).
pub fn load_file(
    r: &mut Replayer<'_>,
    path: &Path,
    last: bool,
    truncated_ok: bool,
) -> Result<Loaded, String> {
    let name = path.display();
    let buf = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("The AOF file {name} doesn't exist"),
        _ => format!("Fatal error: can't open the append log file {name} for reading: {e}"),
    })?;
    match replay(r, &buf) {
        Ok(l) => Ok(l),
        Err(LoadError::Truncated { valid_up_to }) => {
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
                "!!! Truncating the AOF {name} at offset {valid_up_to} (of {}) !!!",
                buf.len()
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
            "{why} {name} at offset {offset}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        )),
        Err(LoadError::Io(e)) => Err(format!("Error reading the AOF file {name}: {e}")),
    }
}
