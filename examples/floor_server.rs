//! The kernel floor for `scripts/bench-floor.sh`: a RESP responder that does
//! no work at all, to show what a request costs a server on this machine
//! before any command is run.
//!
//! It makes the same system calls as redis-server and Ember (one
//! level-triggered epoll loop on one thread, one `read` per readable socket,
//! one `write` of every reply that read produced) but keeps no data: each
//! complete request is answered with a canned reply chosen by its command
//! name (`+OK` for SET, `$3 xxx` for GET, `:1` for INCR). Whatever CPU time
//! per request it needs is the share no server can save by being faster in
//! user space. It is a measuring tool, not part of Ember.
//!
//!   cargo run --release --example floor_server -- 7381

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    out: Vec<u8>,
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(7381);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    // SAFETY: plain epoll system calls on descriptors this process owns.
    let ep = unsafe { libc::epoll_create1(0) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error());
    }
    watch(ep, listener.as_raw_fd())?;
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: `events` outlives the call and its length is passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for ev in &events[..n as usize] {
            let fd = ev.u64 as RawFd;
            if fd == listener.as_raw_fd() {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    let cfd = stream.as_raw_fd();
                    watch(ep, cfd)?;
                    conns.insert(
                        cfd,
                        Conn {
                            stream,
                            pending: Vec::new(),
                            out: Vec::new(),
                        },
                    );
                }
                continue;
            }
            let Some(conn) = conns.get_mut(&fd) else {
                continue;
            };
            let keep = match conn.stream.read(&mut buf) {
                Ok(0) => false,
                Ok(got) => {
                    conn.pending.extend_from_slice(&buf[..got]);
                    let used = answer(&conn.pending, &mut conn.out);
                    conn.pending.drain(..used);
                    let ok = conn.stream.write_all(&conn.out).is_ok();
                    conn.out.clear();
                    ok
                }
                Err(e) => e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted,
            };
            if !keep {
                conns.remove(&fd);
            }
        }
    }
}

fn watch(ep: RawFd, fd: RawFd) -> std::io::Result<()> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Answers every complete multibulk request at the front of `input` and
/// returns how many bytes they took.
fn answer(input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    while let Some((used, name)) = request(&input[at..]) {
        let name = &input[at + name.start..at + name.end];
        let reply: &[u8] = if name.eq_ignore_ascii_case(b"GET") {
            b"$3\r\nxxx\r\n"
        } else if name.eq_ignore_ascii_case(b"INCR") {
            b":1\r\n"
        } else if name.eq_ignore_ascii_case(b"PING") {
            b"+PONG\r\n"
        } else if name.eq_ignore_ascii_case(b"CONFIG") {
            b"*0\r\n"
        } else {
            b"+OK\r\n"
        };
        out.extend_from_slice(reply);
        at += used;
    }
    at
}

/// One complete `*N` request: its length and where its first argument lies.
fn request(input: &[u8]) -> Option<(usize, std::ops::Range<usize>)> {
    let (count, mut at) = number(input, b'*')?;
    let mut name = 0..0;
    for i in 0..count {
        let (len, start) = number(&input[at..], b'$')?;
        let start = at + start;
        let end = start + len;
        if input.len() < end + 2 {
            return None;
        }
        if i == 0 {
            name = start..end;
        }
        at = end + 2;
    }
    Some((at, name))
}

/// `<prefix><digits>\r\n` at the front of `input`: the number and the bytes it took.
fn number(input: &[u8], prefix: u8) -> Option<(usize, usize)> {
    if input.first() != Some(&prefix) {
        return None;
    }
    let end = input.iter().position(|&b| b == b'\r')?;
    if input.len() < end + 2 {
        return None;
    }
    let value = std::str::from_utf8(&input[1..end]).ok()?.parse().ok()?;
    Some((value, end + 2))
}
