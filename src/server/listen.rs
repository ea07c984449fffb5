//! The listening sockets: one accept task per socket on the acceptor
//! thread's runtime, dealing connections out to the workers; and their
//! runtime changes, as Redis 7 allows: `CONFIG SET port`/`tls-port` bind the
//! new port (0: stop listening) and close the old one, and CONFIG SET of the
//! other `tls-*` parameters rebuilds the TLS configuration for new
//! connections (existing ones keep theirs). Anything that fails leaves the
//! old listeners and TLS configuration in place.

use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::Server;
use crate::config::{find_param, Config};

/// A new connection, and whether it came in on a TLS listener.
pub(super) type Accepted = (std::net::TcpStream, bool);

/// The accept tasks, and where to start new ones.
#[derive(Default)]
pub struct Listeners {
    state: Mutex<Option<State>>,
    /// The listening sockets are closed (shutdown).
    closed: (std::sync::Mutex<bool>, std::sync::Condvar),
}

struct State {
    rt: tokio::runtime::Handle,
    senders: Arc<Vec<mpsc::UnboundedSender<Accepted>>>,
    /// Workers dealt to round-robin (`senders` may hold a spare after them).
    nworkers: usize,
    next: Arc<AtomicUsize>,
    plain: Vec<AbortHandle>,
    tls: Vec<AbortHandle>,
}

impl State {
    /// Close the listeners of one kind and accept on `listeners` instead.
    fn replace(&mut self, server: &Arc<Server>, tls: bool, listeners: Vec<StdListener>) {
        let old = self.start(server, tls, listeners);
        close(old);
    }

    /// Close the listeners of one kind now.
    fn close(&mut self, tls: bool) {
        close(self.take(tls));
    }

    /// The accept tasks of one kind, taken out.
    fn take(&mut self, tls: bool) -> Vec<AbortHandle> {
        if tls {
            std::mem::take(&mut self.tls)
        } else {
            std::mem::take(&mut self.plain)
        }
    }

    /// Accept on `listeners`; answers the accept tasks they replace.
    fn start(
        &mut self,
        server: &Arc<Server>,
        tls: bool,
        listeners: Vec<StdListener>,
    ) -> Vec<AbortHandle> {
        let tasks: Vec<AbortHandle> = listeners
            .into_iter()
            .map(|l| {
                let (senders, next, server) =
                    (self.senders.clone(), self.next.clone(), server.clone());
                self.rt
                    .spawn(accept_loop(server, l, tls, senders, self.nworkers, next))
                    .abort_handle()
            })
            .collect();
        if tls {
            std::mem::replace(&mut self.tls, tasks)
        } else {
            std::mem::replace(&mut self.plain, tasks)
        }
    }
}

/// Stop accept tasks and wait (briefly) until the acceptor thread has
/// dropped their sockets, so the port is closed when CONFIG SET answers and
/// can be bound again (Redis's test moves a port from TLS to plain this
/// way; a new `bind` may take the same port on other addresses).
fn close(old: Vec<AbortHandle>) {
    for t in &old {
        t.abort();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while old.iter().any(|t| !t.is_finished()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

impl Listeners {
    /// Start accepting on `rt` (the acceptor thread's runtime).
    pub(super) fn start(
        &self,
        server: &Arc<Server>,
        rt: tokio::runtime::Handle,
        senders: Vec<mpsc::UnboundedSender<Accepted>>,
        nworkers: usize,
        plain: Vec<StdListener>,
        tls: Vec<StdListener>,
    ) {
        let mut state = State {
            rt,
            senders: Arc::new(senders),
            nworkers,
            next: Arc::new(AtomicUsize::new(0)),
            plain: Vec::new(),
            tls: Vec::new(),
        };
        state.replace(server, false, plain);
        state.replace(server, true, tls);
        *self.state.lock() = Some(state);
    }

    /// Stop every accept task (shutdown).
    pub(super) fn stop(&self) {
        if let Some(s) = self.state.lock().take() {
            for t in s.plain.iter().chain(&s.tls) {
                t.abort();
            }
        }
    }

    /// The acceptor's runtime is gone, and the listening sockets with it.
    pub(super) fn set_closed(&self) {
        let (m, cv) = &self.closed;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Wait (at most `timeout`) until no new connection is accepted: SHUTDOWN
    /// closes its client's connection only then, so a client that sees it
    /// close cannot connect again (as Redis, whose process has exited).
    pub fn wait_closed(&self, timeout: std::time::Duration) {
        let (m, cv) = &self.closed;
        let g = m.lock().unwrap_or_else(|e| e.into_inner());
        let _ = cv.wait_timeout_while(g, timeout, |closed| !*closed);
    }
}

async fn accept_loop(
    server: Arc<Server>,
    l: StdListener,
    tls: bool,
    senders: Arc<Vec<mpsc::UnboundedSender<Accepted>>>,
    nworkers: usize,
    next: Arc<AtomicUsize>,
) {
    let listener = match tokio::net::TcpListener::from_std(l) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot register listener: {e}");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                server
                    .stats
                    .total_connections_received
                    .fetch_add(1, Relaxed);
                let Ok(std_stream) = stream.into_std() else {
                    continue;
                };
                // Round-robin over the workers, skipping one inside a
                // script (its thread runs the script, and a connection not
                // yet registered there could not be served by the busy
                // hook); with one worker, the spare after it takes the
                // connections that arrive while a script runs.
                let n = nworkers.clamp(1, senders.len().max(1));
                let mut i = next.fetch_add(1, Relaxed) % n;
                if server.scripts.busy_worker() == Some(i) {
                    i = if n > 1 {
                        (i + 1) % n
                    } else {
                        senders.len().saturating_sub(1)
                    };
                }
                if let Some(tx) = senders.get(i) {
                    let _ = tx.send((std_stream, tls));
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: back off briefly.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The parameters whose CONFIG SET rebuilds the TLS configuration, and
/// whether setting one to its current value does too (Redis's volatile
/// file parameters: the file may have changed, e.g. a renewed certificate).
const TLS_CFG: &[(&str, bool)] = &[
    ("tls-cert-file", true),
    ("tls-key-file", true),
    ("tls-key-file-pass", false),
    ("tls-client-cert-file", true),
    ("tls-client-key-file", true),
    ("tls-ca-cert-file", true),
    ("tls-ca-cert-dir", true),
    ("tls-auth-clients", false),
    ("tls-protocols", false),
    ("tls-ciphers", false),
    ("tls-ciphersuites", false),
    ("tls-prefer-server-ciphers", false),
    ("tls-session-caching", false),
    ("tls-session-cache-size", false),
    ("tls-session-cache-timeout", false),
];

const TLS_FAILED: &str = "Unable to update TLS configuration. Check server logs.";
const LISTEN_FAILED: &str = "Unable to listen on this port. Check server logs.";

/// Apply what CONFIG SET changed (`set`: the parameters it named, in order)
/// from `old` to `next` to the listeners and the TLS configuration, all or
/// nothing. The error is the parameter to blame and Redis's text for it.
pub fn config_set(
    server: &Server,
    old: &Config,
    next: &Config,
    set: &[&str],
) -> Result<(), (&'static str, &'static str)> {
    let changed = |name: &str| find_param(name).is_some_and(|p| (p.get)(old) != (p.get)(next));
    let tls_cfg = set.iter().copied().find(|n| {
        TLS_CFG
            .iter()
            .any(|(p, volatile)| p == n && (*volatile || changed(n)))
    });
    let port = set.contains(&"port") && changed("port");
    let tls_port = set.contains(&"tls-port") && changed("tls-port");
    let rebind = set.contains(&"bind") && changed("bind");
    if tls_cfg.is_none() && !port && !tls_port && !rebind {
        return Ok(());
    }
    let Some(server) = server.arc() else {
        return Ok(());
    };
    let mut state = server.listeners.state.lock();

    let build = |blame: &'static str| {
        super::tls::server_config(next)
            .map(|c| tokio_rustls::TlsAcceptor::from(Arc::new(c)))
            .map_err(|e| {
                tracing::warn!("Failed applying new TLS configuration ({blame}): {e}");
                (blame, TLS_FAILED)
            })
    };
    let mut acceptor = None;
    if let (Some(name), true) = (tls_cfg, next.tls_port != 0) {
        let blame = find_param(name).map_or("tls-port", |p| p.name);
        acceptor = Some(build(blame)?);
    }
    let bind = |blame: &'static str, port: u16| {
        if port == 0 {
            return Ok(Vec::new());
        }
        super::bind_port(next, port).map_err(|e| {
            tracing::warn!("Failed listening on port {port}: {e}");
            (blame, LISTEN_FAILED)
        })
    };
    if rebind {
        if let Some(a) = acceptor {
            *server.tls.write() = Some(a);
        }
        let Some(state) = state.as_mut() else {
            return Ok(());
        };
        let plain_port = if port {
            next.port
        } else {
            server.port.load(Relaxed)
        };
        return rebind_all(&server, state, (old, next), plain_port);
    }
    let plain = if port {
        Some(bind("port", next.port)?)
    } else {
        None
    };
    let tls = if tls_port {
        // TLS configured now if it was not yet (tls-port was 0).
        if next.tls_port != 0 && acceptor.is_none() && server.tls.read().is_none() {
            acceptor = Some(build("tls-port")?);
        }
        Some(bind("tls-port", next.tls_port)?)
    } else {
        None
    };

    if let Some(a) = acceptor {
        *server.tls.write() = Some(a);
        tracing::info!("TLS configuration updated");
    }
    if let Some(state) = state.as_mut() {
        if let Some(ls) = plain {
            let bound = ls.first().and_then(|l| l.local_addr().ok());
            server.port.store(bound.map_or(0, |a| a.port()), Relaxed);
            state.replace(&server, false, ls);
        }
        if let Some(ls) = tls {
            state.replace(&server, true, ls);
        }
    }
    Ok(())
}

/// CONFIG SET bind, as Redis's applyBind: the listeners close first (the
/// new addresses may share their port), then the new addresses are bound
/// on `plain_port` and `tls-port`; if that fails the old ones are bound
/// again and the change is refused.
fn rebind_all(
    server: &Arc<Server>,
    state: &mut State,
    (old, next): (&Config, &Config),
    plain_port: u16,
) -> Result<(), (&'static str, &'static str)> {
    let tls_port = next.tls_port;
    state.close(false);
    state.close(true);
    let open = |c: &Config| -> std::io::Result<(Vec<StdListener>, Vec<StdListener>)> {
        let plain = if plain_port == 0 {
            Vec::new()
        } else {
            super::bind_port(c, plain_port)?
        };
        let tls = if tls_port == 0 {
            Vec::new()
        } else {
            super::bind_port(c, tls_port)?
        };
        Ok((plain, tls))
    };
    let (result, (plain, tls)) = match open(next) {
        Ok(ls) => (Ok(()), ls),
        Err(e) => {
            tracing::warn!("Failed to bind to {}: {e}", next.bind.join(" "));
            let ls = open(old).unwrap_or_else(|e| {
                tracing::warn!("Failed to bind the old addresses again: {e}");
                (Vec::new(), Vec::new())
            });
            (Err(("bind", "Failed to bind to specified addresses.")), ls)
        }
    };
    let bound = plain.first().and_then(|l| l.local_addr().ok());
    server.port.store(bound.map_or(0, |a| a.port()), Relaxed);
    state.replace(server, false, plain);
    state.replace(server, true, tls);
    result
}
