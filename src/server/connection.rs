//! One client connection: read → parse every complete request → execute them
//! in order → write all their replies with one `write`.
//!
//! The read buffer is parsed in place: multibulk arguments are slices of it,
//! so a `SET` copies its value once, into the keyspace. Replies go into one
//! output buffer that is written when the batch is done (or earlier if it
//! grows past [`FLUSH_AT`], so a huge pipeline cannot hold unbounded replies;
//! under a `client-output-buffer-limit normal` hard limit, that limit bounds
//! them instead: see server::obuf).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tls::Stream;

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
/// Argument slots a connection's parser keeps between batches.
const KEEP_ARGS: usize = 1024;

/// Removes the client from the registry when the connection ends, however it ends.
struct Registered<'a> {
    server: &'a Server,
    info: Arc<ClientInfo>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        crate::commands::multi::unwatch_all(self.server, &self.info);
        self.server.clients.unregister(self.info.id);
        self.info.kill_waker.lock().take();
    }
}

/// What a non-loopback client gets in protected mode (Redis 7.2's text).
const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Serve one connection until it closes.
/// `tls`: it came in on `tls-port`, and the handshake runs here first.
pub async fn serve(server: Arc<Server>, tcp: TcpStream, tstats: Arc<ThreadStats>, tls: bool) {
    let (Ok(addr), Ok(laddr)) = (tcp.peer_addr(), tcp.local_addr()) else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    let mut stream = match (tls, tls.then(|| server.tls_acceptor()).flatten()) {
        (true, Some(acceptor)) => match super::tls::accept(&acceptor, tcp).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!("TLS handshake with {addr} failed: {e}");
                return;
            }
        },
        (true, None) => return,
        (false, _) => Stream::Plain(tcp),
    };

    if server.clients.count() as u64 >= server.config.maxclients() {
        server.stats.rejected_connections.fetch_add(1, Relaxed);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }

    // Protected mode (Redis 7): without a password, only loopback clients.
    if server.config.read(|c| c.protected_mode)
        && !server.auth_required()
        && !addr.ip().is_loopback()
    {
        server.stats.rejected_connections.fetch_add(1, Relaxed);
        let _ = stream.write_all(PROTECTED_MODE_DENIED.as_bytes()).await;
        return;
    }
    let keepalive = server.config.read(|c| c.tcp_keepalive);
    if keepalive > 0 {
        // As Redis's anetKeepAlive: probes after `tcp-keepalive` seconds of
        // silence, then every third of it, three times.
        let secs = std::time::Duration::from_secs(keepalive);
        let ka = socket2::TcpKeepalive::new()
            .with_time(secs)
            .with_interval((secs / 3).max(std::time::Duration::from_secs(1)));
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        let ka = ka.with_retries(3);
        let _ = socket2::SockRef::from(stream.tcp()).set_tcp_keepalive(&ka);
    }

    #[cfg(unix)]
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(stream.tcp());
    #[cfg(not(unix))]
    let fd = -1;
    let info = server.clients.register(addr, laddr, fd);
    let _registered = Registered {
        server: &server,
        info: info.clone(),
    };
    // While the task waits for input the client is parked in the worker's
    // registry, where a busy script's hook can serve it (server::busy).
    let waker = std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
    let plain = matches!(stream, Stream::Plain(_));
    *info.kill_waker.lock() = Some(waker.clone());
    let mut slot = super::busy::register(&server, &tstats, fd, plain, waker);
    let mut client = Box::new(Client::new(info.clone(), server.acl.default_user()));
    // Every connection has an outbox: CLIENT TRACKING pushes and redirects
    // reach it (src/tracking.rs).
    client.pubsub.attach(&server.pubsub, &info, false);
    let mut parser = Parser::default();
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out = Reply::new(false);
    let now = crate::util::now_ms();
    let mut bufs = super::trim::Buffers::new(&server.trim, &info, &inbuf, &mut out, now);

    let killed = Killed(&info);

    // After a blocking command returns, requests pipelined behind it are
    // already in `inbuf`: run them before reading again.
    let mut run_buffered = false;
    // The query buffer size at the last client-eviction check.
    let mut evict_checked_at = 0;
    // This client's memory then (server::client_evict::due).
    let mut mem_checked_at = 0;
    loop {
        // (Every batch sets `run_buffered` again once its replies are out.)
        if !run_buffered {
            // Only a client still subscribed waits for messages (and is
            // exempt from `timeout`, as in Redis).
            // A RESP3 client that tracking clients redirect to waits for
            // their pushes too (it may still time out, as in Redis).
            let listening =
                client.pubsub.active() || client.pubsub.tracking.on || client.monitor.is_some();
            let sub = client
                .pubsub
                .subscriber()
                .filter(|_| listening || info.redirect_target.load(Relaxed))
                .cloned();
            slot.park(client, inbuf.is_empty());
            let ctx = (
                &*server,
                &*info,
                &*tstats,
                killed,
                sub.as_deref(),
                &slot,
                listening,
            );
            let mut woke = if bufs.trimmed {
                // The buffer given back while idle stays so until input
                // comes (server::trim).
                let need = parser.need;
                let (stream, inbuf) = (&mut stream, &mut inbuf);
                read_more(ctx, async move {
                    stream.tcp().readable().await?;
                    grow(inbuf, need);
                    stream.read_buf(inbuf).await
                })
                .await
            } else {
                grow(&mut inbuf, parser.need);
                read_more(ctx, stream.read_buf(&mut inbuf)).await
            };
            let Some((c, left)) = slot.unpark() else {
                return;
            };
            client = c;
            // HELLO / RESET run by a busy script's hook change the protocol.
            out.resp3 = client.resp == 3;
            if let Some(left) = left {
                // A busy script's hook served this connection: its unsent
                // replies go first, its unrun input before what came since.
                out.buf.extend_from_slice(&left.output);
                if !left.input.is_empty() {
                    let mut input = left.input;
                    input.extend_from_slice(&inbuf);
                    inbuf = input;
                }
                if left.close {
                    let _ = write_out(&mut stream, &mut out, &tstats, killed, None).await;
                    return;
                }
                if matches!(woke, Woke::Messages | Woke::Trim) {
                    woke = Woke::Data;
                }
            }
            match woke {
                Woke::Closed => return,
                Woke::Data => bufs.trimmed = false,
                Woke::Trim => {
                    let now = crate::util::now_ms();
                    let inbuf = (&mut inbuf, parser.need);
                    bufs.check(&server.trim, &info, inbuf, &mut out, now);
                    continue;
                }
                Woke::Messages => {
                    // Pub/Sub messages arrived: pass them on, keep reading.
                    let sub = client.pubsub.subscriber().map(|s| &**s);
                    let before = inbuf.len();
                    let input = Input {
                        buf: &mut inbuf,
                        limit: server.config.query_buffer_limit(),
                    };
                    if send_with_messages(&mut stream, &mut out, sub, &tstats, killed, Some(input))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    // Requests read meanwhile run before the next wait.
                    run_buffered = inbuf.len() > before;
                    continue;
                }
            }
        }
        let now = crate::util::now_ms();
        info.last_interaction_ms.store(now, Relaxed);
        // While the batch runs, its own bytes are the query buffer (CLIENT
        // LIST shows them, as Redis trims its buffer after the batch).
        info.qbuf.store(inbuf.len(), Relaxed);
        info.qbuf_cap.store(inbuf.capacity(), Relaxed);
        bufs.saw_query(inbuf.len());
        // maxmemory-clients: a query buffer that grew past the usual size
        // may put the clients over (smaller ones are summed by the cron).
        if inbuf.capacity() > KEEP_CAPACITY && inbuf.capacity() != evict_checked_at {
            evict_checked_at = inbuf.capacity();
            if super::client_evict::check(&server) && info.killed.load(Relaxed) {
                return;
            }
        }

        let mut limits = Limits::new(
            server.config.proto_max_bulk_len().min(i64::MAX as u64) as i64,
            client.authenticated,
        );
        let mut pos = 0;
        let mut fatal = false;
        // Since when the pending replies have been over the `normal` soft
        // output buffer limit (0: not over); every batch starts with the
        // previous one's replies written out.
        let mut soft_since_ms = 0u64;
        // The wait of a command that blocked, guarded from the moment it is
        // known: however this task leaves (a failed write, a cancelled await),
        // dropping the guard ends the wait and unqueues it, so no writer ever
        // serves (and takes data for) a connection that is gone.
        let mut blocked: Option<blocking::Blocked<'_>> = None;
        // This batch's AOF records are submitted together (persist::aof).
        let aof_batch = crate::persist::aof::log::Batch::begin(&server.aof.log);
        // Commands run in this batch.
        let mut ran = 0u32;
        // PSYNC/SYNC ran: the connection becomes a replica's link.
        let mut handoff = false;
        loop {
            let (skipped, parsed) = match parser.next_request(&inbuf[pos..], &limits) {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!("protocol error from {addr}: {}", e.0);
                    out.error(&format!("ERR {}", e.0));
                    server.stats.count_error("ERR");
                    fatal = true;
                    break;
                }
            };
            pos += skipped;
            let consumed = match parsed {
                Parsed::Incomplete | Parsed::Empty { .. } => break,
                Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
            };
            let args = parser.args(&inbuf[pos..], &parsed);
            if server.pause.holds(&server, &client, args, now) {
                // CLIENT PAUSE: send what is ready, then wait.
                if !out.is_empty()
                    && write_out(&mut stream, &mut out, &tstats, killed, None)
                        .await
                        .is_err()
                {
                    return;
                }
                super::pause::wait(&server, &client, args).await;
            }
            // maxmemory-clients, before the command as in Redis: a client
            // that evicts itself goes without running it.
            if super::client_evict::due(&server, &info, &mut mem_checked_at)
                && super::client_evict::check(&server)
                && info.killed.load(Relaxed)
            {
                fatal = true;
                break;
            }
            run_one(&server, &mut client, &mut out, &tstats, now, args);
            ran += 1;
            // AUTH / HELLO AUTH (or RESET, ACL changes) may have changed it.
            limits.follow(client.authenticated);
            // Clients blocked on keys this command wrote are served now,
            // before anything else runs on this connection.
            blocking::serve_pending(&server, now);
            pos += consumed;
            if client.repl.as_ref().is_some_and(|h| h.psync.is_some()) {
                handoff = true;
                break;
            }
            if super::obuf::must_close(&server, &client, out.len(), &mut soft_since_ms) {
                // Closed without the replies, as Redis frees the client.
                out.buf.clear();
                fatal = true;
                break;
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
            // Under a hard output limit the batch's replies are kept, as
            // Redis keeps them, and the limit bounds them.
            if out.len() >= FLUSH_AT && !super::obuf::hard_limit_set(&server) {
                server.aof.log.flush_outbox();
                durable(&server).await;
                let input = Input {
                    buf: &mut inbuf,
                    limit: server.config.query_buffer_limit(),
                };
                if write_out(&mut stream, &mut out, &tstats, killed, Some(input))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        // Keep only the unparsed tail, which CLIENT LIST shows from now on
        // (before the replies go out, as Redis trims its buffer first).
        if pos > 0 {
            inbuf.drain(..pos);
            info.qbuf.store(inbuf.len(), Relaxed);
        }
        drop(aof_batch);
        durable(&server).await;
        // BCAST invalidations of the keys this batch modified (src/tracking.rs).
        crate::tracking::Tracking::flush_bcast(&server.pubsub);
        // Messages the batch itself raised (its keyspace notifications,
        // a PUBLISH to itself) follow its replies, as in Redis 7.2.
        if served_another() && ran > 1 {
            // Parked meanwhile, with its replies: if another connection's
            // script on this worker gets busy, its hook writes them.
            let servable = inbuf.is_empty() && !fatal && blocked.is_none();
            slot.park_pending(client, &mut out.buf, servable);
            tokio::task::yield_now().await;
            let Some((c, close)) = slot.unpark_pending(&mut out.buf, &mut inbuf) else {
                return;
            };
            client = c;
            out.resp3 = client.resp == 3;
            fatal |= close;
        }
        let sub = client.pubsub.subscriber().map(|s| &**s);
        let before = inbuf.len();
        // Closing: nothing more is read.
        let input = (!fatal).then(|| Input {
            buf: &mut inbuf,
            limit: server.config.query_buffer_limit(),
        });
        if send_with_messages(&mut stream, &mut out, sub, &tstats, killed, input)
            .await
            .is_err()
        {
            return;
        }
        // Requests read while the replies were written run next.
        run_buffered = inbuf.len() > before;
        if handoff && !fatal {
            if let Some(hello) = client.repl.take() {
                let inbuf = std::mem::take(&mut inbuf);
                crate::replication::master::serve(&server, &mut stream, inbuf, *hello, &info).await;
            }
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
                killed,
                (client.pubsub.subscriber().map(|s| &**s), &mut out),
            )
            .await
            {
                return;
            }
            use crate::commands::Unblocked;
            let how = match guard.waiter.take() {
                Some(Outcome::Served(reply)) => {
                    // Served by another client's write: durable first.
                    durable(&server).await;
                    out.raw(&reply);
                    // An error answer (an XREADGROUP whose group went away)
                    // counts as a failed call, under its code.
                    match reply.strip_prefix(b"-") {
                        Some(line) => {
                            let end = line.iter().position(|&c| c == b'\r').unwrap_or(line.len());
                            server
                                .stats
                                .count_error(&String::from_utf8_lossy(&line[..end]));
                            Unblocked::Failed
                        }
                        None => Unblocked::Ok,
                    }
                }
                Some(Outcome::Unblocked) => {
                    out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    server.stats.count_error("UNBLOCKED");
                    Unblocked::Failed
                }
                Some(Outcome::Denied(d)) => Unblocked::Denied(d),
                Some(Outcome::Timeout) | None => {
                    guard.waiter.op.timeout_reply(&server, &mut out);
                    Unblocked::Ok
                }
            };
            let now = crate::util::now_ms();
            let done = (&*guard.waiter, how);
            crate::commands::unblocked(&server, &client, &tstats, done, now, &mut out);
            drop(guard);
            if client.reply_mode == ReplyMode::Off {
                out.buf.clear();
            }
            let input = Input {
                buf: &mut inbuf,
                limit: server.config.query_buffer_limit(),
            };
            if !out.is_empty()
                && write_out(&mut stream, &mut out, &tstats, killed, Some(input))
                    .await
                    .is_err()
            {
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
        info.qbuf_cap.store(inbuf.capacity(), Relaxed);
        if bufs.due(now) {
            let inbuf = (&mut inbuf, parser.need);
            bufs.check(&server.trim, &info, inbuf, &mut out, now);
        }
        // A request with many arguments (SADD of 100,000 members) leaves a
        // large argument table: give it back, as Redis frees its argv.
        parser.shrink(KEEP_ARGS);
    }
}

/// Run one parsed request: Pub/Sub messages delivered so far go out ahead
/// of its reply, which CLIENT REPLY OFF/SKIP then drops. Shared by the
/// connection loop and a busy script's hook (server::busy).
pub(super) fn run_one(
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    tstats: &ThreadStats,
    now: u64,
    args: crate::protocol::Args<'_>,
) {
    if let Some(s) = client.pubsub.subscriber() {
        s.drain_into(&mut out.buf);
    }
    let mark = out.len();
    if client.reply_mode == ReplyMode::SkipNext {
        client.reply_mode = ReplyMode::Skipping;
    }
    dispatch(server, client, out, tstats, now, args);
    match client.reply_mode {
        ReplyMode::On | ReplyMode::SkipNext => {}
        ReplyMode::Off => {
            if !pushed_reply(args, &out.buf[mark..]) {
                out.buf.truncate(mark)
            }
        }
        ReplyMode::Skipping => {
            if !pushed_reply(args, &out.buf[mark..]) {
                out.buf.truncate(mark);
            }
            client.reply_mode = ReplyMode::On;
        }
    }
}

/// Whether a command's output is the (un)subscribe confirmations, which
/// Redis sends as push messages even under CLIENT REPLY OFF or SKIP (its
/// CLIENT_PUSHING flag), in RESP2 and RESP3 alike. An error is a reply.
fn pushed_reply(args: crate::protocol::Args<'_>, output: &[u8]) -> bool {
    const PUSHING: [&[u8]; 6] = [
        b"subscribe",
        b"psubscribe",
        b"ssubscribe",
        b"unsubscribe",
        b"punsubscribe",
        b"sunsubscribe",
    ];
    !output.is_empty()
        && output[0] != b'-'
        && PUSHING.iter().any(|c| args.get(0).eq_ignore_ascii_case(c))
}

/// CLIENT KILL as the connection's futures see it: ready once the client's
/// `killed` flag is set. [`ClientInfo::request_kill`] wakes the task through
/// the waker the connection registered at the start, so a wait that includes
/// it costs one load per poll (no waiter list to join, as a `Notify` has).
#[derive(Clone, Copy)]
struct Killed<'a>(&'a ClientInfo);

impl<'a> Killed<'a> {
    #[inline]
    fn is_set(self) -> bool {
        self.0.killed.load(std::sync::atomic::Ordering::Acquire)
    }

    fn wait(self) -> impl std::future::Future<Output = ()> + 'a {
        std::future::poll_fn(move |_| {
            if self.is_set() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
    }
}

/// What ended a wait for input.
enum Woke {
    /// Request bytes arrived.
    Data,
    /// Pub/Sub messages are waiting in the outbox.
    Messages,
    /// The connection must close (EOF, error, idle `timeout`, CLIENT KILL).
    Closed,
    /// The cron asks for a buffer check (server::trim).
    Trim,
}

/// Room for the next read. Past a few chunks the buffer doubles, except
/// that when the request being received declared its size (`need` bytes
/// from the buffer's start: a bulk argument in progress) and doubling would
/// pass it, the buffer grows to fit it exactly, as Redis sizes its query
/// buffer for a big argument; it never grows by more than doubling, so a
/// declared size is never allocated ahead of the bytes that fill it.
fn grow(inbuf: &mut Vec<u8>, need: usize) {
    if inbuf.capacity() - inbuf.len() >= READ_CHUNK / 4 {
        return;
    }
    let missing = need.saturating_sub(inbuf.len());
    if missing > READ_CHUNK && inbuf.capacity() * 2 >= inbuf.len() + missing {
        inbuf.reserve_exact(missing);
    } else {
        inbuf.reserve(READ_CHUNK);
    }
}

/// What a wait for input watches besides the socket.
type ReadCtx<'a> = (
    &'a Server,
    &'a ClientInfo,
    &'a ThreadStats,
    Killed<'a>,
    Option<&'a crate::pubsub::Subscriber>,
    &'a super::busy::Slot,
    // Exempt from `timeout` (subscribed, tracking or monitoring).
    bool,
);

/// Wait for `read` (more request bytes), or for Pub/Sub messages to pass
/// on, or for what a busy script's hook left this connection
/// (server::busy).
async fn read_more(
    (server, info, tstats, killed, sub, slot, exempt): ReadCtx<'_>,
    read: impl std::future::Future<Output = std::io::Result<usize>>,
) -> Woke {
    let idle = server.config.timeout();
    // CLIENT KILL, or the cron asking for a buffer check (server::trim):
    // one branch, as each branch costs a poll per wake-up.
    let signal = std::future::poll_fn(|_| {
        if killed.is_set() {
            std::task::Poll::Ready(Woke::Closed)
        } else if info.trim_asked.load(Relaxed) {
            std::task::Poll::Ready(Woke::Trim)
        } else {
            std::task::Poll::Pending
        }
    });
    let messages = async {
        match sub {
            Some(s) => s.ready.notified().await,
            None => std::future::pending().await,
        }
    };
    // `timeout`: an idle client is closed, silently, as Redis does (Redis
    // never times out a Pub/Sub client).
    let idle_timer = async {
        if idle == 0 || exempt {
            std::future::pending::<()>().await
        } else {
            tokio::time::sleep(std::time::Duration::from_secs(idle)).await;
            // A busy script's hook may have served it meanwhile.
            loop {
                let last = info.last_interaction_ms.load(Relaxed);
                let quiet = crate::util::now_ms().saturating_sub(last);
                if quiet >= idle * 1000 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(idle * 1000 - quiet)).await;
            }
        }
    };
    let r = tokio::select! {
        biased;
        w = signal => return w,
        _ = std::future::poll_fn(|cx| slot.poll_work(cx)) => return Woke::Data,
        r = read => r,
        _ = messages => return Woke::Messages,
        _ = idle_timer => {
            tracing::debug!("closing idle client {}", info.addr);
            return Woke::Closed;
        }
    };
    match r {
        Ok(0) | Err(_) => Woke::Closed,
        Ok(n) => {
            tstats.net_in(n);
            if info.killed.load(Relaxed) {
                Woke::Closed
            } else {
                Woke::Data
            }
        }
    }
}

/// Sleep until a blocked client's wait ends (served, timed out, unblocked).
/// Bytes that arrive meanwhile are buffered for later. False when the
/// connection must close instead.
async fn wait_blocked(
    server: &Server,
    stream: &mut Stream,
    inbuf: &mut Vec<u8>,
    waiter: &Waiter,
    tstats: &ThreadStats,
    killed: Killed<'_>,
    (sub, out): (Option<&crate::pubsub::Subscriber>, &mut Reply),
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
        // A RESP3 client may be subscribed while it blocks: its push
        // messages keep flowing.
        let messages = async {
            match sub {
                Some(s) => s.ready.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = killed.wait() => return false,
            _ = waiter.ended() => return true,
            _ = timer => {
                waiter.finish(Outcome::Timeout);
                return true;
            }
            _ = messages => {
                let input = Input {
                    buf: &mut *inbuf,
                    limit: server.config.query_buffer_limit(),
                };
                if send_with_messages(stream, out, sub, tstats, killed, Some(input)).await.is_err() {
                    return false;
                }
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

/// Append the connection's pending Pub/Sub messages (and tracking or
/// MONITOR pushes) to the output, then write whatever there is.
async fn send_with_messages(
    stream: &mut Stream,
    out: &mut Reply,
    sub: Option<&crate::pubsub::Subscriber>,
    tstats: &ThreadStats,
    killed: Killed<'_>,
    input: Option<Input<'_>>,
) -> std::io::Result<()> {
    if let Some(s) = sub {
        s.drain_into(&mut out.buf);
    }
    if out.is_empty() {
        return Ok(());
    }
    write_out(stream, out, tstats, killed, input).await
}

thread_local! {
    /// Batches this worker has served since it last went idle.
    static SERVED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The worker is about to wait for I/O (tokio's `on_thread_park`).
pub(super) fn worker_idle() {
    SERVED.with(|s| s.set(0));
}

/// Count a served batch; true when this worker has served another one since
/// it last went idle. Then the batch's replies wait (one `yield_now`) until
/// the connections ready in this scheduler turn have run theirs, and the
/// replies go out back to back, as Redis writes them all before it sleeps.
/// Sent as each batch ends, they reach a client that has already drained
/// the previous one and gone to sleep, and each send pays for waking it:
/// for EVALSHA at pipeline 16 that was most of the kernel time. Only
/// pipelined batches wait: a lone connection would pay an extra
/// `epoll_wait` for the yield, and for one-command batches the re-poll
/// (about 500 instructions) bought no measurable kernel time. A batch
/// waiting in the yield is parked with its replies (`Slot::park_pending`),
/// so if another connection's script on this worker runs past
/// `busy-reply-threshold`, the hook (`server::busy`) writes them out, as
/// Redis does once the threshold passes.
fn served_another() -> bool {
    SERVED.with(|s| {
        let n = s.get().saturating_add(1);
        s.set(n);
        n > 1
    })
}

/// Write the output buffer; while the socket does not take it, request
/// bytes are read into `input` ([`next_io`]). A client that stops reading
/// cannot hold its connection here forever: CLIENT KILL, maxmemory-clients,
/// or the output buffer limit of a Pub/Sub client, ends the write.
async fn write_out(
    stream: &mut Stream,
    out: &mut Reply,
    tstats: &ThreadStats,
    killed: Killed<'_>,
    mut input: Option<Input<'_>>,
) -> std::io::Result<()> {
    tstats.net_out(out.len());
    // Mostly the socket takes it all at once: try that without the future
    // machinery (a plain socket only; TLS has to encrypt first).
    let mut sent = 0;
    if let Stream::Plain(tcp) = stream {
        match tcp.try_write(&out.buf) {
            Ok(n) => sent = n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                out.buf.clear();
                return Err(e);
            }
        }
    }
    let r = if sent == out.buf.len() {
        Ok(())
    } else {
        // The socket is slow: what it has not taken counts as the client's
        // output (omem, tot-mem, the output-buffer limits, maxmemory-clients)
        // until it does, as Redis counts its reply list.
        let unsent = &killed.0.unsent;
        let mut r = Ok(());
        while sent < out.buf.len() {
            unsent.store(out.buf.len() - sent, Relaxed);
            let rest = &out.buf[sent..];
            match next_io(stream, rest, input.as_mut(), killed).await {
                Io::Wrote(n) => sent += n,
                Io::Read(n) => {
                    tstats.net_in(n);
                    if let Some(i) = &input {
                        i.seen(killed.0);
                        if i.buf.len() as u64 > i.limit {
                            tracing::warn!(
                                "closing client that reached max query buffer length: {}",
                                killed.0.addr
                            );
                            r = Err(std::io::Error::other("query buffer limit"));
                        }
                    }
                }
                Io::Failed(e) => r = Err(e),
            }
            if r.is_err() {
                break;
            }
        }
        r
    };
    killed.0.unsent.store(0, Relaxed);
    out.peak = out.peak.max(out.buf.len());
    out.buf.clear();
    if out.buf.capacity() > KEEP_CAPACITY * 16 {
        out.buf.shrink_to(KEEP_CAPACITY);
    }
    r
}

/// The query buffer a slow write keeps filling, and its limit
/// (`client-query-buffer-limit`).
struct Input<'a> {
    buf: &'a mut Vec<u8>,
    limit: u64,
}

impl Input<'_> {
    /// CLIENT LIST and maxmemory-clients see the buffer as it grows.
    fn seen(&self, info: &ClientInfo) {
        info.qbuf.store(self.buf.len(), Relaxed);
        info.qbuf_cap.store(self.buf.capacity(), Relaxed);
    }
}

/// What a slow write's wait ended with.
enum Io {
    Wrote(usize),
    Read(usize),
    Failed(std::io::Error),
}

/// Wait until the socket takes some of `rest`, or, while it does not,
/// until request bytes arrive for `input`. Redis reads a client whose
/// replies wait for the socket (they pile up in its reply list); Ember
/// reads the requests but runs them only once the replies before them
/// are written, so a client that pipelines a large batch before it reads
/// any reply (redis-py's and Jedis's pipelines do) is never left blocked
/// in its send while Ember is blocked in its own, and what waits is the
/// client's own requests, bounded by `client-query-buffer-limit`. EOF
/// closes the connection, as in Redis.
async fn next_io(
    stream: &mut Stream,
    rest: &[u8],
    mut input: Option<&mut Input<'_>>,
    killed: Killed<'_>,
) -> Io {
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::io::{AsyncRead, AsyncWrite};
    std::future::poll_fn(|cx| {
        if killed.is_set() {
            return Poll::Ready(Io::Failed(std::io::Error::other("client killed")));
        }
        match Pin::new(&mut *stream).poll_write(cx, rest) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Io::Failed(std::io::ErrorKind::WriteZero.into()))
            }
            Poll::Ready(Ok(n)) => return Poll::Ready(Io::Wrote(n)),
            Poll::Ready(Err(e)) => return Poll::Ready(Io::Failed(e)),
            Poll::Pending => {}
        }
        let Some(i) = input.as_deref_mut() else {
            return Poll::Pending;
        };
        if i.buf.capacity() - i.buf.len() < READ_CHUNK / 4 {
            i.buf.reserve(READ_CHUNK);
        }
        let mut rb = tokio::io::ReadBuf::uninit(i.buf.spare_capacity_mut());
        match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(Io::Failed(std::io::ErrorKind::UnexpectedEof.into()));
                }
                // SAFETY: poll_read initialized the first `n` spare bytes.
                unsafe { i.buf.set_len(i.buf.len() + n) };
                Poll::Ready(Io::Read(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Io::Failed(e)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Under `appendfsync always`, wait until the AOF holds (fsynced) every
/// write applied so far: this batch's own, and any other client's it may
/// have read (as Redis, which answers no client of an event-loop turn
/// before the turn's AOF writes are fsynced). Free when nothing is pending.
async fn durable(server: &Server) {
    if server.aof.log.always() {
        server.aof.log.wait_all_taken().await;
    }
}
