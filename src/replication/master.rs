//! A replica's link, once PSYNC/SYNC took the connection over: the full or
//! partial resynchronization, then the replication stream from the
//! replica's offset, and its `REPLCONF ACK`s back.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::backlog::Read;
use super::{Hello, Link, Psync, ONLINE, SEND_BULK, WAIT_BGSAVE};
use crate::protocol::parse::{Limits, Parsed, Parser};
use crate::server::client::ClientInfo;
use crate::server::Server;
use crate::util::now_ms;

/// Bytes taken from the backlog per socket write.
const CHUNK: usize = 64 * 1024;
/// Unparsed input a replica's link may hold (it only sends ACKs).
const MAX_PENDING: usize = 64 * 1024;

/// Serve the replica on `stream` until it goes (or is dropped): `inbuf`
/// holds what it sent after its PSYNC.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    server: &Arc<Server>,
    stream: &mut S,
    mut inbuf: Vec<u8>,
    hello: Hello,
    info: &ClientInfo,
) {
    let Some(psync) = hello.psync.as_ref() else {
        return;
    };
    let ip = hello
        .ip
        .clone()
        .unwrap_or_else(|| info.addr.ip().to_string());
    let link = Arc::new(Link {
        client_id: info.id,
        ip,
        port: AtomicU16::new(hello.listening_port),
        state: AtomicU8::new(WAIT_BGSAVE),
        ack: AtomicU64::new(0),
        fack: AtomicU64::new(0),
        ack_ms: AtomicU64::new(now_ms()),
    });
    info.replica.store(true, Relaxed);
    server.repl.register(link.clone());
    let _gone = Gone { server, info };
    let next = match start(server, stream, psync, &hello, &link, info).await {
        Ok(next) => next,
        Err(e) => {
            tracing::warn!("Replica {}: synchronization failed: {e}", info.addr);
            return;
        }
    };
    link.state.store(ONLINE, Relaxed);
    link.ack_ms.store(now_ms(), Relaxed);
    server.repl.refresh_good(server);
    tracing::info!(
        "Synchronization with replica {}:{} succeeded",
        link.ip,
        hello.listening_port
    );
    feed(server, stream, &mut inbuf, &link, info, next).await;
}

/// Unregisters the replica however its task ends.
struct Gone<'a> {
    server: &'a Server,
    info: &'a ClientInfo,
}

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.server.aof.log.backlog.unpin(self.info.id);
        self.server.repl.unregister(self.info.id);
        self.server.repl.refresh_good(self.server);
        self.info.replica.store(false, Relaxed);
    }
}

/// Answer the PSYNC: `+CONTINUE` when the backlog still holds the offset
/// the replica asks for under our replication ID, else a full resync.
/// Returns the offset of the first stream byte to send.
async fn start<S: AsyncRead + AsyncWrite + Unpin>(
    server: &Arc<Server>,
    stream: &mut S,
    psync: &Psync,
    hello: &Hello,
    link: &Link,
    info: &ClientInfo,
) -> io::Result<u64> {
    let backlog = &server.aof.log.backlog;
    let repl = &server.repl;
    let id = link.client_id;
    let replid = repl.replid();
    if !psync.legacy && psync.replid == replid.as_bytes() && psync.offset > 0 {
        let offset = psync.offset as u64;
        // Pinned first, so the bytes cannot go between the check and use.
        backlog.pin(id, offset);
        if backlog.holds(offset) {
            repl.sync_partial_ok.fetch_add(1, Relaxed);
            let line = if hello.capa_psync2 {
                format!("+CONTINUE {replid}\r\n")
            } else {
                "+CONTINUE\r\n".to_string()
            };
            stream.write_all(line.as_bytes()).await?;
            tracing::info!(
                "Partial resynchronization request from {}:{} accepted, from offset {offset}.",
                link.ip,
                hello.listening_port
            );
            return Ok(offset);
        }
        backlog.unpin(id);
    }
    if !psync.legacy && psync.replid != b"?" {
        repl.sync_partial_err.fetch_add(1, Relaxed);
        tracing::info!(
            "Partial resynchronization not accepted for {}:{}: replication ID or offset not held",
            link.ip,
            hello.listening_port
        );
    }
    repl.sync_full.fetch_add(1, Relaxed);
    let (cut_tx, cut_rx) = tokio::sync::oneshot::channel::<u64>();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<io::Result<PathBuf>>();
    let srv = server.clone();
    std::thread::Builder::new()
        .name("ember-repl-sync".into())
        .spawn(move || {
            let r = snapshot_to_file(&srv, id, cut_tx);
            // The replica went meanwhile: nobody sends the file.
            if let Err(Ok(path)) = done_tx.send(r) {
                let _ = std::fs::remove_file(path);
            }
        })?;
    let offset = match cut_rx.await {
        Ok(offset) => offset,
        Err(_) => {
            return Err(match done_rx.await {
                Ok(Err(e)) => e,
                _ => io::Error::other("the snapshot did not start"),
            })
        }
    };
    if !psync.legacy {
        let line = format!("+FULLRESYNC {} {offset}\r\n", repl.replid());
        stream.write_all(line.as_bytes()).await?;
    }
    tracing::info!(
        "Starting BGSAVE for SYNC with target: replicas sockets ({}:{})",
        link.ip,
        hello.listening_port
    );
    // A newline a second while the snapshot is written, as Redis sends
    // replicas waiting for their payload, so they do not time out. The
    // stream it will need piles up meanwhile: its limits apply already.
    let mut soft_since = 0;
    let path = loop {
        tokio::select! {
            r = &mut done_rx => break r.map_err(|_| io::Error::other("the snapshot thread ended"))??,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                still_wanted(server, info, offset, &mut soft_since)?;
                timed(server, stream.write_all(b"\n")).await?;
            }
        }
    };
    link.state.store(SEND_BULK, Relaxed);
    let sent = send_file(server, stream, &path, info, offset).await;
    let _ = std::fs::remove_file(&path);
    sent?;
    Ok(offset + 1)
}

/// While a full resync is sent: the replica was not killed and the stream
/// kept for it since `offset` is within its output-buffer limits.
fn still_wanted(
    server: &Server,
    info: &ClientInfo,
    offset: u64,
    soft_since: &mut u64,
) -> io::Result<()> {
    if info.killed.load(Relaxed) {
        return Err(io::Error::other("killed"));
    }
    let lag = server.aof.log.backlog.end().saturating_sub(offset);
    if over_limits(server, lag, soft_since) {
        return Err(io::Error::other(
            "closed for overcoming of output buffer limits",
        ));
    }
    Ok(())
}

/// A write to the replica, given up after `repl-timeout`.
async fn timed<F: std::future::Future<Output = io::Result<()>>>(
    server: &Server,
    write: F,
) -> io::Result<()> {
    let secs = server.config.read(|c| c.repl_timeout);
    match tokio::time::timeout(Duration::from_secs(secs), write).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timeout writing to the replica",
        )),
    }
}

/// The snapshot a full resync sends: cut with every gate held, where the
/// replication stream starts (a sync point gives its offset, and pins the
/// stream for the replica from there), then written to a temp file in
/// `dir` while clients keep running.
fn snapshot_to_file(
    server: &Arc<Server>,
    id: u64,
    cut: tokio::sync::oneshot::Sender<u64>,
) -> io::Result<PathBuf> {
    let _turn = crate::persist::save::SnapshotTurn::wait(server);
    let now = now_ms();
    let (compress, checksum, delay, dir) = server.config.read(|c| {
        (
            c.rdbcompression,
            c.rdbchecksum,
            c.rdb_key_save_delay,
            c.dir.clone(),
        )
    });
    crate::persist::save::KEY_DELAY_US.store(delay, Relaxed);
    let aof = server.aof.clone();
    let size = server.config.read(|c| c.repl_backlog_size) as usize;
    let snap = {
        let _gates = server.gates.exclusive();
        let log = &server.aof.log;
        let mut snap =
            crate::persist::snapshot::Snapshot::begin(&server.keyspace, compress, now, || {
                log.backlog.set_size(size);
                log.backlog.start();
                log.set_repl_on();
                log.at_point(
                    log.next_seq(),
                    Box::new(move |offset| {
                        aof.log.backlog.reselect();
                        aof.log.backlog.pin(id, offset + 1);
                        let _ = cut.send(offset);
                    }),
                );
            });
        // The libraries at the same instant, before the gates drop.
        snap.functions = server.scripts.library_codes();
        server.keyspace.note_snapshot(snap.begin_us);
        snap
    };
    let path = Path::new(&dir).join(format!("temp-repl-{}-{id}.rdb", std::process::id()));
    match crate::persist::save::write_rdb(&server.keyspace, snap, &path, checksum, false, None) {
        Ok(_) => Ok(path),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// `$<len>\r\n` and the file's bytes (just written, so read from the page
/// cache: plain reads, a chunk at a time).
async fn send_file<S: AsyncWrite + Unpin>(
    server: &Server,
    stream: &mut S,
    path: &Path,
    info: &ClientInfo,
    offset: u64,
) -> io::Result<()> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    timed(server, stream.write_all(format!("${len}\r\n").as_bytes())).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    let mut soft_since = 0;
    while sent < len {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::other("the snapshot file ended early"));
        }
        timed(server, stream.write_all(&buf[..n])).await?;
        sent += n as u64;
        still_wanted(server, info, offset, &mut soft_since)?;
    }
    timed(server, stream.flush()).await
}

/// The stream from `next` on, and the replica's ACKs, until either side
/// goes. A replica past its output-buffer limits (`client-output-buffer-
/// limit replica`, counted as the stream bytes it has not been sent) or
/// silent for `repl-timeout` is dropped, as Redis drops it.
async fn feed<S: AsyncRead + AsyncWrite + Unpin>(
    server: &Server,
    stream: &mut S,
    inbuf: &mut Vec<u8>,
    link: &Link,
    info: &ClientInfo,
    mut next: u64,
) {
    let backlog = &server.aof.log.backlog;
    let mut end_rx = backlog.subscribe();
    // Stream bytes taken from the backlog, and how many of them were sent.
    let mut out = Vec::with_capacity(CHUNK);
    let mut sent = 0;
    let mut parser = Parser::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut soft_since = 0u64;
    let addr = format!("{}:{}", link.ip, link.port.load(Relaxed));
    if !acks(server, &mut parser, inbuf, link) {
        return;
    }
    // Reading and writing wait together, so that ACKs, CLIENT KILL and the
    // limits are seen while a slow replica's socket is full.
    let (mut rd, mut wr) = tokio::io::split(stream);
    loop {
        if sent == out.len() {
            out.clear();
            sent = 0;
            match backlog.read(link.client_id, next, CHUNK, &mut out) {
                Read::Some => next += out.len() as u64,
                Read::Nothing => {}
                Read::Gone => {
                    tracing::warn!("Replica {addr} fell behind the replication stream: dropped");
                    return;
                }
            }
        }
        let lag = backlog.end().saturating_sub(next) + (out.len() - sent) as u64;
        if over_limits(server, lag, &mut soft_since) {
            tracing::warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits.",
                info.id,
                info.addr
            );
            return;
        }
        tokio::select! {
            r = wr.write(&out[sent..]), if sent < out.len() => match r {
                Ok(n) if n > 0 => sent += n,
                _ => {
                    tracing::info!("Connection with replica {addr} lost.");
                    return;
                }
            },
            r = end_rx.changed(), if sent == out.len() => if r.is_err() { return },
            r = rd.read_buf(inbuf) => match r {
                Ok(n) if n > 0 => {
                    // Anything from the replica (a newline while it loads)
                    // shows it alive, as in Redis.
                    link.ack_ms.store(now_ms(), Relaxed);
                    if !acks(server, &mut parser, inbuf, link) {
                        return;
                    }
                    // Only ACKs come on this link: nothing long waits.
                    if inbuf.len() > MAX_PENDING {
                        tracing::warn!("Replica {addr} sent more than {MAX_PENDING} bytes of unparsed input: dropped");
                        return;
                    }
                }
                _ => {
                    tracing::info!("Connection with replica {addr} lost.");
                    return;
                }
            },
            _ = tick.tick() => {
                if info.killed.load(Relaxed) {
                    return;
                }
                let timeout = server.config.read(|c| c.repl_timeout) * 1000;
                if now_ms().saturating_sub(link.ack_ms.load(Relaxed)) > timeout {
                    tracing::warn!("Disconnecting timedout replica (streaming sync): {addr}");
                    return;
                }
            }
        }
    }
}

/// The replica's output-buffer limits, on the stream bytes it lags by.
fn over_limits(server: &Server, lag: u64, soft_since: &mut u64) -> bool {
    let (hard, soft, secs) = server.config.read(|c| c.client_output_buffer_limit[1]);
    if hard > 0 && lag >= hard {
        return true;
    }
    if soft > 0 && lag >= soft {
        let now = now_ms();
        if *soft_since == 0 {
            *soft_since = now;
        }
        return now.saturating_sub(*soft_since) > secs * 1000;
    }
    *soft_since = 0;
    false
}

/// Handle what the replica sent: `REPLCONF ACK <offset> [FACK <offset>]`
/// records its offset (and may answer WAITs); anything else is ignored,
/// as Redis gives a replica's other commands no reply. False on a
/// protocol error.
fn acks(server: &Server, parser: &mut Parser, inbuf: &mut Vec<u8>, link: &Link) -> bool {
    let limits = Limits::new(1 << 20, true);
    let mut pos = 0;
    let mut acked = false;
    loop {
        let (skipped, parsed) = match parser.next_request(&inbuf[pos..], &limits) {
            Ok(p) => p,
            Err(_) => return false,
        };
        pos += skipped;
        let consumed = match parsed {
            Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
            _ => break,
        };
        let args = parser.args(&inbuf[pos..], &parsed);
        if args.len() >= 3
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"ack")
        {
            if let Some(off) = crate::protocol::parse::parse_i64(&args[2]) {
                link.ack.fetch_max(off.max(0) as u64, Relaxed);
                link.ack_ms.store(now_ms(), Relaxed);
                acked = true;
            }
            // REPLCONF ACK <offset> FACK <aof offset> (Redis 7.2).
            if args.len() >= 5 && args[3].eq_ignore_ascii_case(b"fack") {
                if let Some(off) = crate::protocol::parse::parse_i64(&args[4]) {
                    link.fack.fetch_max(off.max(0) as u64, Relaxed);
                }
            }
        }
        pos += consumed;
    }
    inbuf.drain(..pos);
    if acked {
        server.repl.refresh_good(server);
        server.repl.check_waits();
    }
    true
}
