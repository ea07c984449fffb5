//! Serving a worker's other connections while a script on that worker has
//! run past `busy-reply-threshold` (Redis's `processEventsWhileBlocked`).
//!
//! A script runs on its caller's worker thread, inside that connection's
//! task, so the worker's runtime polls nothing else until it returns. Once
//! the script is busy, the Lua count hook calls [`tick`] (at most once a
//! millisecond), which serves this worker's *parked* connections itself:
//! those whose task waits for input with nothing unparsed ([`Slot::park`],
//! a thread-local registry; no locks, one relaxed load per poll). It reads
//! their sockets directly (non-blocking `recv`, an epoll set made for the
//! busy period on Linux),
//! runs each request through the ordinary `dispatch` with the connection's
//! own client, so every command but the ALLOW_BUSY ones answers `-BUSY`
//! (the gates are held by this very thread, and `admit` never waits while
//! serving), and writes the replies with a non-blocking `send`. Anything it
//! cannot finish (a partial request, replies the socket would not take,
//! requests held by CLIENT PAUSE, a close) is left in the registry and the
//! task is woken: it takes that over when the script has returned, before
//! it reads again ([`Slot::unpark`]). Blocked clients, TLS connections and
//! connections in the middle of a write are not parked, and wait.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::client::Client;
use super::stats::ThreadStats;
use super::Server;
use crate::protocol::{Limits, Parsed, Parser, Reply};

/// Most bytes read from one connection per round.
const READ_MAX: usize = 256 * 1024;

/// What the busy servicing left for a connection's task.
#[derive(Default)]
pub struct Left {
    /// Request bytes read from the socket and not run yet.
    pub input: Vec<u8>,
    /// Replies the socket did not take yet.
    pub output: Vec<u8>,
    /// Close the connection once `output` is written.
    pub close: bool,
}

impl Left {
    fn is_empty(&self) -> bool {
        self.input.is_empty() && self.output.is_empty() && !self.close
    }
}

struct Entry {
    fd: i32,
    plain: bool,
    /// The connection's client while its task waits for input.
    parked: Option<Box<Client>>,
    /// Parked with nothing unparsed in the task's own buffer.
    servable: bool,
    left: Left,
    /// The connection task's waker, and the flag it checks (one relaxed
    /// load per poll): set while `left` holds something.
    waker: Waker,
    work: Arc<AtomicBool>,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    ctx: Option<(Arc<Server>, Arc<ThreadStats>)>,
    /// The busy period's epoll set, made at its first round.
    epoll: Option<i32>,
    last_ms: u64,
    serving: bool,
}

thread_local! {
    static REG: RefCell<Registry> = RefCell::new(Registry::default());
    /// This worker thread's index (`usize::MAX` elsewhere).
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Mark the calling thread as worker `i`.
pub fn set_worker(i: usize) {
    WORKER.with(|w| w.set(i));
}

/// The calling thread's worker index (`usize::MAX` if not a worker).
pub fn worker() -> usize {
    WORKER.with(|w| w.get())
}

/// A connection's place in its worker's registry. When the registry cannot
/// be reached the client stays here (and is never served while busy).
pub struct Slot {
    i: usize,
    held: Option<Box<Client>>,
    work: Arc<AtomicBool>,
}

/// Register a connection of this worker; `fd` is its socket, `plain` false
/// for TLS (whose bytes only the task can decrypt).
/// `waker` wakes the connection's task.
pub fn register(
    server: &Arc<Server>,
    tstats: &Arc<ThreadStats>,
    fd: i32,
    plain: bool,
    waker: Waker,
) -> Slot {
    let work = Arc::new(AtomicBool::new(false));
    let i = REG
        .try_with(|r| {
            let Ok(mut r) = r.try_borrow_mut() else {
                return usize::MAX;
            };
            if r.ctx.is_none() {
                r.ctx = Some((server.clone(), tstats.clone()));
            }
            let e = Entry {
                fd,
                plain,
                parked: None,
                servable: false,
                left: Left::default(),
                waker,
                work: work.clone(),
            };
            match r.free.pop() {
                Some(i) => {
                    r.entries[i] = Some(e);
                    i
                }
                None => {
                    r.entries.push(Some(e));
                    r.entries.len() - 1
                }
            }
        })
        .unwrap_or(usize::MAX);
    Slot {
        i,
        held: None,
        work,
    }
}

impl Slot {
    /// The task is about to wait for input: hand the client over.
    /// `servable`: the task's read buffer is empty.
    #[inline]
    pub fn park(&mut self, client: Box<Client>, servable: bool) {
        self.hand_over(client, servable, None);
    }

    /// The wait is over: the client back, and what the busy servicing left.
    #[inline]
    pub fn unpark(&mut self) -> Option<(Box<Client>, Option<Left>)> {
        self.take_back(None, |e| {
            (!e.left.is_empty()).then(|| std::mem::take(&mut e.left))
        })
    }

    /// A batch's replies wait for the end of the scheduler turn
    /// (connection.rs): hand the client and the replies over meanwhile, so
    /// that a busy script's hook writes them. `servable`: the hook may also
    /// read and run more input (the task's read buffer is empty and the
    /// connection is neither closing nor blocked).
    #[inline]
    pub fn park_pending(&mut self, client: Box<Client>, out: &mut Vec<u8>, servable: bool) {
        self.hand_over(client, servable, Some(out));
    }

    /// The turn is over: the client back, the replies not written yet back
    /// in `out`, and input the hook read but did not run ahead of `inbuf`.
    /// The flag says the connection is to be closed once `out` is written.
    #[inline]
    pub fn unpark_pending(
        &mut self,
        out: &mut Vec<u8>,
        inbuf: &mut Vec<u8>,
    ) -> Option<(Box<Client>, bool)> {
        self.take_back(false, |e| {
            std::mem::swap(&mut e.left.output, out);
            e.left.output.clear();
            if !e.left.input.is_empty() {
                let mut input = std::mem::take(&mut e.left.input);
                input.extend_from_slice(inbuf);
                *inbuf = input;
            }
            std::mem::take(&mut e.left.close)
        })
    }

    /// Park the client (and the replies in `out`, swapped in) in the
    /// registry, or hold it here when the registry cannot be reached.
    #[inline]
    fn hand_over(&mut self, client: Box<Client>, servable: bool, out: Option<&mut Vec<u8>>) {
        let mut c = Some(client);
        let _ = REG.try_with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                if let Some(e) = r.entries.get_mut(self.i).and_then(Option::as_mut) {
                    e.parked = c.take();
                    e.servable = servable;
                    if let Some(out) = out {
                        std::mem::swap(&mut e.left.output, out);
                    }
                }
            }
        });
        if c.is_some() {
            self.held = c;
        }
    }

    /// The client back from wherever it was parked, with `take`'s view of
    /// its registry entry (`held`: what a client held here gets).
    #[inline]
    fn take_back<T>(
        &mut self,
        held: T,
        take: impl FnOnce(&mut Entry) -> T,
    ) -> Option<(Box<Client>, T)> {
        if self.work.load(Relaxed) {
            self.work.store(false, Relaxed);
        }
        if let Some(c) = self.held.take() {
            return Some((c, held));
        }
        REG.try_with(|r| {
            let mut r = r.try_borrow_mut().ok()?;
            let e = r.entries.get_mut(self.i)?.as_mut()?;
            let c = e.parked.take()?;
            let t = take(e);
            Some((c, t))
        })
        .ok()
        .flatten()
    }

    /// Ready when the busy servicing left work for the task (it wakes the
    /// task's registered waker then).
    #[inline]
    pub fn poll_work(&self, _cx: &mut Context<'_>) -> Poll<()> {
        if self.work.load(Relaxed) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let entry = REG
            .try_with(|r| {
                let mut r = r.try_borrow_mut().ok()?;
                let e = r.entries.get_mut(self.i)?.take();
                r.free.push(self.i);
                e
            })
            .ok()
            .flatten();
        // Dropped outside the registry's borrow (a client's drop does work).
        drop(entry);
    }
}

/// Whether this thread is serving its connections for a busy script (a
/// command must then never wait for a gate: this thread holds them all).
pub fn serving() -> bool {
    REG.try_with(|r| r.try_borrow().map_or(true, |r| r.serving))
        .unwrap_or(false)
}

/// From the Lua count hook: once the running script is past
/// `busy-reply-threshold`, serve this worker's parked connections (at most
/// once a millisecond).
pub fn tick() {
    let Some((server, tstats, ids)) = REG
        .try_with(|r| {
            let mut r = r.try_borrow_mut().ok()?;
            if r.serving {
                return None;
            }
            let (server, tstats) = r.ctx.clone()?;
            server.scripts.busy(&server)?;
            let now = crate::util::now_ms();
            if now == r.last_ms {
                return None;
            }
            r.last_ms = now;
            let ids = r.ready();
            r.serving = true;
            Some((server, tstats, ids))
        })
        .ok()
        .flatten()
    else {
        return;
    };
    let mut parser = Parser::default();
    for i in ids {
        let taken = REG
            .try_with(|r| {
                let mut r = r.try_borrow_mut().ok()?;
                let e = r.entries.get_mut(i)?.as_mut()?;
                let c = e.parked.take()?;
                Some((c, std::mem::take(&mut e.left), e.fd, e.servable))
            })
            .ok()
            .flatten();
        let Some((mut client, mut left, fd, servable)) = taken else {
            continue;
        };
        let mut conn = Conn {
            fd,
            client: &mut client,
            left: &mut left,
            servable,
        };
        serve_one(&server, &tstats, &mut parser, &mut conn);
        let _ = REG.try_with(|r| {
            let Ok(mut r) = r.try_borrow_mut() else {
                return;
            };
            if left.close {
                r.unwatch(fd);
            }
            if let Some(e) = r.entries.get_mut(i).and_then(Option::as_mut) {
                e.work.store(!left.is_empty(), Relaxed);
                if !left.is_empty() {
                    // It runs once the script has returned.
                    e.waker.wake_by_ref();
                }
                e.parked = Some(client);
                e.left = left;
            }
        });
    }
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.serving = false;
        }
    });
}

/// The running script has returned: forget the busy period.
pub fn end() {
    let _ = REG.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.last_ms = 0;
            if let Some(ep) = r.epoll.take() {
                // SAFETY: our own epoll descriptor, closed once.
                unsafe { libc::close(ep) };
            }
        }
    });
}

impl Registry {
    fn candidate(e: &Entry) -> bool {
        e.plain && e.servable && e.parked.is_some() && !e.left.close
    }

    /// A parked connection with replies to write, servable or not (a batch
    /// waiting for its scheduler turn to end, `Slot::park_pending`).
    fn has_output(e: &Entry) -> bool {
        e.plain && e.parked.is_some() && !e.left.output.is_empty()
    }

    /// The entries to serve this round: readable ones, and those with
    /// replies still to write.
    #[cfg(target_os = "linux")]
    fn ready(&mut self) -> Vec<usize> {
        let ep = match self.epoll {
            Some(ep) => ep,
            None => {
                // SAFETY: plain syscalls on descriptors we own or that the
                // parked connections own (they cannot close while parked).
                let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
                if ep < 0 {
                    return self.all();
                }
                for (i, e) in self.entries.iter().enumerate() {
                    let Some(e) = e else { continue };
                    if !Self::candidate(e) {
                        continue;
                    }
                    let mut ev = libc::epoll_event {
                        events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
                        u64: i as u64,
                    };
                    unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, e.fd, &mut ev) };
                }
                self.epoll = Some(ep);
                ep
            }
        };
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 256];
        // SAFETY: `events` is writable for its length.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 0) };
        let mut ids: Vec<usize> = events[..n.max(0) as usize]
            .iter()
            .map(|e| e.u64 as usize)
            .collect();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(e) = e {
                if !e.left.output.is_empty() && !ids.contains(&i) {
                    ids.push(i);
                }
            }
        }
        ids.retain(|&i| {
            self.entries
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|e| Self::candidate(e) || Self::has_output(e))
        });
        ids
    }

    #[cfg(not(target_os = "linux"))]
    fn ready(&mut self) -> Vec<usize> {
        self.all()
    }

    fn all(&self) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&i| {
                self.entries[i]
                    .as_ref()
                    .is_some_and(|e| Self::candidate(e) || Self::has_output(e))
            })
            .collect()
    }

    fn unwatch(&mut self, fd: i32) {
        #[cfg(target_os = "linux")]
        if let Some(ep) = self.epoll {
            // SAFETY: removing a descriptor from our epoll set.
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
        }
        let _ = fd;
    }
}

/// A parked connection being served.
struct Conn<'a> {
    fd: i32,
    client: &'a mut Client,
    left: &'a mut Left,
    /// Its input may be read and run (else only its replies are written).
    servable: bool,
}

/// Read what a parked connection sent, run it, write the replies.
fn serve_one(server: &Server, tstats: &ThreadStats, parser: &mut Parser, conn: &mut Conn<'_>) {
    let Conn {
        fd,
        ref mut client,
        ref mut left,
        servable,
    } = *conn;
    // Earlier replies go first; nothing more is read until they are out.
    if !left.output.is_empty() {
        write_some(fd, &mut left.output, tstats);
        if !left.output.is_empty() {
            return;
        }
    }
    if left.close || !servable {
        return;
    }
    let start = left.input.len();
    let mut eof = false;
    while left.input.len() - start < READ_MAX {
        left.input.reserve(16 * 1024);
        let spare = left.input.spare_capacity_mut();
        // SAFETY: `spare` is writable for its length; recv writes at most that.
        let n = unsafe {
            libc::recv(
                fd,
                spare.as_mut_ptr().cast(),
                spare.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n > 0 {
            // SAFETY: recv initialised `n` bytes of the spare capacity.
            unsafe { left.input.set_len(left.input.len() + n as usize) };
        } else if n == 0 {
            eof = true;
            break;
        } else {
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => break,
                _ => {
                    eof = true;
                    break;
                }
            }
        }
    }
    let now = crate::util::now_ms();
    if left.input.len() > start {
        tstats.net_in(left.input.len() - start);
        client.info.last_interaction_ms.store(now, Relaxed);
    }
    let mut limits = Limits::new(
        server.config.proto_max_bulk_len().min(i64::MAX as u64) as i64,
        client.authenticated,
    );
    let mut out = Reply::new(client.resp == 3);
    let mut pos = 0;
    let mut soft_since_ms = 0u64;
    loop {
        let (skipped, parsed) = match parser.next_request(&left.input[pos..], &limits) {
            Ok(p) => p,
            Err(e) => {
                out.error(&format!("ERR {}", e.0));
                server.stats.count_error("ERR");
                left.close = true;
                break;
            }
        };
        pos += skipped;
        let consumed = match parsed {
            Parsed::Incomplete | Parsed::Empty { .. } => break,
            Parsed::Multibulk { consumed } | Parsed::Inline { consumed } => consumed,
        };
        let args = parser.args(&left.input[pos..], &parsed);
        // CLIENT PAUSE: the task runs the rest after the script.
        if server.pause.holds(server, client, args, now) {
            break;
        }
        // Clients blocked on keys are not served here: the script's writes
        // are not over (see blocking::serve_pending).
        super::connection::run_one(server, client, &mut out, tstats, now, args);
        limits.follow(client.authenticated);
        pos += consumed;
        let pending = left.output.len() + out.len();
        if super::obuf::must_close(server, client, pending, &mut soft_since_ms) {
            out.buf.clear();
            left.output.clear();
            left.close = true;
            break;
        }
        // No command that runs while busy blocks.
        client.blocked = None;
        if client.close_after_reply || client.info.killed.load(Relaxed) {
            left.close = true;
            break;
        }
    }
    left.input.drain(..pos);
    if eof || left.input.len() as u64 > server.config.query_buffer_limit() {
        left.close = true;
    }
    if left.close {
        left.input.clear();
    }
    if let Some(s) = client.pubsub.subscriber() {
        s.drain_into(&mut out.buf);
    }
    left.output.extend_from_slice(&out.buf);
    write_some(fd, &mut left.output, tstats);
    // What the socket did not take waits for the connection's own write.
    client.info.unsent.store(left.output.len(), Relaxed);
}

/// Write as much of `buf` as the socket takes now; the rest stays in `buf`.
fn write_some(fd: i32, buf: &mut Vec<u8>, tstats: &ThreadStats) {
    #[cfg(target_os = "linux")]
    const FLAGS: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    #[cfg(not(target_os = "linux"))]
    const FLAGS: i32 = libc::MSG_DONTWAIT;
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        // SAFETY: `rest` is readable for its length.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), FLAGS) };
        if n > 0 {
            done += n as usize;
            continue;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => break,
            _ => {
                // The connection is gone; its task finds out.
                done = buf.len();
                break;
            }
        }
    }
    tstats.net_out(done);
    buf.drain(..done);
}
