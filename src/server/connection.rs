//! One client connection: read → parse every complete request → execute them
//! in order → write all their replies with one `write`.
//!
//! The read buffer is parsed in place: multibulk arguments are slices of it,
//! so a `SET` copies its value once, into the keyspace. Replies go into one
//! output buffer that is written when the batch is done (or earlier if it
//! grows past [`FLUSH_AT`], so a huge pipeline cannot hold unbounded replies).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use std::pin::Pin;

use tokio::sync::futures::Notified;

use super::client::{Client, ClientInfo, ReplyMode};
use super::stats::ThreadStats;
use super::Server;
use crate::blocking::{self, Outcome, Waiter};
use crate::commands::dispatch;
use crate::protocol::{Limits, Parsed, Parser, Reply};

/// Size of the read buffer, and how much free room we keep before a read.
const READ_CHUNK: usize = 16 * 1024;
/// Write replies out mid-batch once this many bytes are pending.
const FLUSH_AT: usize = 64 * 1024;
/// Give back read-buffer memory above this once a big request is done.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Removes the client from the registry when the connection ends, however it ends.
struct Registered<'a> {
    server: &'a Server,
    info: Arc<ClientInfo>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        crate::commands::multi::unwatch_all(self.server, &self.info);
        self.server.clients.unregister(self.info.id);
    }
}

/// Serve one connection until it closes.
pub async fn serve(server: Arc<Server>, mut stream: TcpStream, tstats: Arc<ThreadStats>) {
    let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);

    if server.clients.count() as u64 >= server.config.maxclients() {
        server.stats.rejected_connections.fetch_add(1, Relaxed);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }

    #[cfg(unix)]
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&stream);
    #[cfg(not(unix))]
    let fd = -1;
    let info = server.clients.register(addr, laddr, fd);
    let _registered = Registered {
        server: &server,
        info: info.clone(),
    };
    let mut client = Client::new(info.clone(), server.acl.default_user());
    let mut parser = Parser::default();
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out = Reply::new(false);

    let killed = info.kill.notified();
    tokio::pin!(killed);

    // After a blocking command returns, requests pipelined behind it are
    // already in `inbuf`: run them before reading again.
    let mut run_buffered = false;
    loop {
        if run_buffered {
            run_buffered = false;
        } else if !read_more(
            &server,
            &mut stream,
            &mut inbuf,
            &info,
            &tstats,
            killed.as_mut(),
        )
        .await
        {
            return;
        }
        let now = crate::util::now_ms();
        info.last_interaction_ms.store(now, Relaxed);

        let limits = Limits {
            max_bulk_len: server.config.proto_max_bulk_len().min(i64::MAX as u64) as i64,
        };
        let mut pos = 0;
        let mut fatal = false;
        // The wait of a command that blocked, guarded from the moment it is
        // known: however this task leaves (a failed write, a cancelled await),
        // dropping the guard ends the wait and unqueues it, so no writer ever
        // serves (and takes data for) a connection that is gone.
        let mut blocked: Option<blocking::Blocked<'_>> = None;
        loop {
            let parsed = match parser.parse(&inbuf[pos..], &limits) {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!("protocol error from {addr}: {}", e.0);
                    out.error(&format!("ERR {}", e.0));
                    server.stats.count_error("ERR");
                    fatal = true;
                    break;
                }
            };
            let consumed = match parsed {
                Parsed::Incomplete => break,
                Parsed::Empty { consumed } => {
                    pos += consumed;
                    continue;
                }
                Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
            };
            let args = parser.args(&inbuf[pos..], &parsed);
            let mark = out.len();
            if client.reply_mode == ReplyMode::SkipNext {
                client.reply_mode = ReplyMode::Skipping;
            }
            dispatch(&server, &mut client, &mut out, &tstats, now, args);
            // Clients blocked on keys this command wrote are served now,
            // before anything else runs on this connection.
            blocking::serve_pending(&server, now);
            pos += consumed;
            match client.reply_mode {
                ReplyMode::On | ReplyMode::SkipNext => {}
                ReplyMode::Off => out.buf.truncate(mark),
                ReplyMode::Skipping => {
                    out.buf.truncate(mark);
                    client.reply_mode = ReplyMode::On;
                }
            }
            if let Some(waiter) = client.blocked.take() {
                blocked = Some(blocking::Blocked {
                    server: &server,
                    waiter,
                    info: &info,
                });
                break;
            }
            if client.close_after_reply || info.killed.load(Relaxed) {
                fatal = true;
                break;
            }
            if out.len() >= FLUSH_AT && write_out(&mut stream, &mut out, &tstats).await.is_err() {
                return;
            }
        }
        // Keep only the unparsed tail.
        if pos > 0 {
            inbuf.drain(..pos);
        }
        if !out.is_empty() && write_out(&mut stream, &mut out, &tstats).await.is_err() {
            return;
        }
        if fatal {
            let _ = stream.shutdown().await;
            return;
        }
        if let Some(guard) = blocked {
            if !wait_blocked(
                &server,
                &mut stream,
                &mut inbuf,
                &guard.waiter,
                &tstats,
                killed.as_mut(),
            )
            .await
            {
                return;
            }
            match guard.waiter.take() {
                Some(Outcome::Served(reply)) => out.raw(&reply),
                Some(Outcome::Unblocked) => {
                    out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    server.stats.count_error("UNBLOCKED");
                }
                Some(Outcome::Timeout) | None => guard.waiter.op.timeout_reply(&mut out),
            }
            drop(guard);
            if client.reply_mode == ReplyMode::Off {
                out.buf.clear();
            }
            if !out.is_empty() && write_out(&mut stream, &mut out, &tstats).await.is_err() {
                return;
            }
            run_buffered = !inbuf.is_empty();
            continue;
        }
        if inbuf.len() as u64 > server.config.query_buffer_limit() {
            tracing::warn!("closing client that reached max query buffer length: {addr}");
            return;
        }
        info.qbuf.store(inbuf.len(), Relaxed);
        if inbuf.is_empty() && inbuf.capacity() > KEEP_CAPACITY {
            inbuf = Vec::with_capacity(READ_CHUNK);
        }
    }
}

/// Wait for more request bytes. False when the connection must close (EOF,
/// error, idle `timeout`, CLIENT KILL).
async fn read_more(
    server: &Server,
    stream: &mut TcpStream,
    inbuf: &mut Vec<u8>,
    info: &ClientInfo,
    tstats: &ThreadStats,
    mut killed: Pin<&mut Notified<'_>>,
) -> bool {
    if inbuf.capacity() - inbuf.len() < READ_CHUNK / 4 {
        inbuf.reserve(READ_CHUNK);
    }
    let idle = server.config.timeout();
    let read = stream.read_buf(inbuf);
    let r = if idle == 0 {
        tokio::select! {
            biased;
            _ = &mut killed => return false,
            r = read => r,
        }
    } else {
        // `timeout`: an idle client is closed, silently, as Redis does.
        tokio::select! {
            biased;
            _ = &mut killed => return false,
            r = read => r,
            _ = tokio::time::sleep(std::time::Duration::from_secs(idle)) => {
                tracing::debug!("closing idle client {}", info.addr);
                return false;
            }
        }
    };
    match r {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            tstats.net_in(n);
            !info.killed.load(Relaxed)
        }
    }
}

/// Sleep until a blocked client's wait ends (served, timed out, unblocked).
/// Bytes that arrive meanwhile are buffered for later. False when the
/// connection must close instead.
async fn wait_blocked(
    server: &Server,
    stream: &mut TcpStream,
    inbuf: &mut Vec<u8>,
    waiter: &Waiter,
    tstats: &ThreadStats,
    mut killed: Pin<&mut Notified<'_>>,
) -> bool {
    let deadline = (waiter.deadline_ms != 0).then(|| {
        let left = waiter.deadline_ms.saturating_sub(crate::util::now_ms());
        tokio::time::Instant::now() + std::time::Duration::from_millis(left)
    });
    loop {
        if inbuf.capacity() - inbuf.len() < READ_CHUNK / 4 {
            inbuf.reserve(READ_CHUNK);
        }
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut killed => return false,
            _ = waiter.ended() => return true,
            _ = timer => {
                waiter.finish(Outcome::Timeout);
                return true;
            }
            r = stream.read_buf(inbuf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(n) => {
                    tstats.net_in(n);
                    if inbuf.len() as u64 > server.config.query_buffer_limit() {
                        return false;
                    }
                }
            },
        }
    }
}

async fn write_out(
    stream: &mut TcpStream,
    out: &mut Reply,
    tstats: &ThreadStats,
) -> std::io::Result<()> {
    tstats.net_out(out.len());
    let r = stream.write_all(&out.buf).await;
    out.buf.clear();
    if out.buf.capacity() > KEEP_CAPACITY * 16 {
        out.buf.shrink_to(KEEP_CAPACITY);
    }
    r
}
