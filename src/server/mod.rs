//! The running server: shared state, listeners and worker threads.
//!
//! Threading: `worker_threads` OS threads each run a single-threaded tokio
//! runtime. One acceptor task per listening socket hands new connections to
//! the workers round-robin; a connection then lives on its worker for good.
//! A single-threaded runtime has no work-stealing queues or cross-thread
//! wake-ups on the request path, and the keyspace's per-shard locks are what
//! the workers share. A separate `cron` thread runs active expiry and other
//! periodic work at `hz`. A busy script's worker serves its other
//! connections from the Lua hook (`busy`); new connections go elsewhere
//! (with one worker, to a spare one).

pub mod busy;
pub mod client;
pub mod client_evict;
pub mod connection;
pub mod gate;
pub mod latency;
pub mod listen;
pub mod obuf;
pub mod oom;
pub mod pause;
pub mod stats;
pub mod tls;
pub mod trim;

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use crate::commands::CommandTable;
use crate::config::{Config, ConfigStore};
use crate::keyspace::Keyspace;
use client::ClientRegistry;
use stats::{ServerStats, ThreadStats};

/// State shared by every connection.
pub struct Server {
    pub config: ConfigStore,
    pub keyspace: Keyspace,
    pub commands: CommandTable,
    /// Users, permissions and the ACL log (src/acl).
    pub acl: crate::acl::Acl,
    pub stats: ServerStats,
    pub clients: ClientRegistry,
    /// Pub/Sub subscriptions and delivery (also keyspace notifications).
    pub pubsub: Arc<crate::pubsub::PubSub>,
    /// Clients in MONITOR mode.
    pub monitors: crate::monitor::Monitors,
    /// One gate per worker thread plus the cron thread's (MULTI/EXEC).
    pub gates: gate::Gates,
    /// Lua scripting: the engine, script cache, busy/kill state.
    pub scripts: crate::script::Scripts,
    /// Counters of every worker thread, summed by INFO.
    pub thread_stats: Mutex<Vec<Arc<ThreadStats>>>,
    pub started: Instant,
    pub started_unix_ms: u64,
    /// 40 hex characters, new at each start (INFO `run_id`).
    pub run_id: String,
    /// The TCP port actually bound (differs from the config with `--port 0`;
    /// CONFIG SET port moves it).
    pub port: std::sync::atomic::AtomicU16,
    /// The TLS acceptor once TLS is configured (server::tls); CONFIG SET of
    /// the `tls-*` parameters replaces it for new connections.
    pub tls: parking_lot::RwLock<Option<tokio_rustls::TlsAcceptor>>,
    /// The accept tasks (CONFIG SET port/tls-port rebinds them).
    pub listeners: listen::Listeners,
    /// RDB snapshot state (SAVE/BGSAVE, LASTSAVE, INFO persistence).
    pub persist: crate::persist::save::Persist,
    /// SLOWLOG entries and the latency monitor's events.
    pub slowlog: latency::SlowLog,
    pub latency: latency::Monitor,
    /// CLIENT PAUSE state.
    pub pause: pause::Pause,
    /// Buffer trimming settings (DEBUG REPLYBUFFER, DEBUG PAUSE-CRON).
    pub trim: trim::Settings,
    /// This server's own `Arc` (background saves outlive the command).
    this: std::sync::Weak<Server>,
    /// The append-only file (persist::aof).
    pub aof: Arc<crate::persist::aof::Aof>,
    /// Connected replicas and WAITs (src/replication).
    pub repl: crate::replication::Repl,
    /// MIGRATE's cached connections to its targets.
    pub migrate: crate::commands::migrate::Sockets,
    shutdown_tx: watch::Sender<bool>,
}

impl Server {
    /// Totals over every worker thread: commands processed, input bytes,
    /// output bytes, socket reads, reply writes.
    pub fn traffic_totals(&self) -> (u64, u64, u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut t = (0, 0, 0, 0, 0);
        for ts in self.thread_stats.lock().iter() {
            t.0 += ts.commands_processed.load(Relaxed);
            t.1 += ts.net_input_bytes.load(Relaxed);
            t.2 += ts.net_output_bytes.load(Relaxed);
            t.3 += ts.reads_processed.load(Relaxed);
            t.4 += ts.writes_processed.load(Relaxed);
        }
        t
    }

    /// Whether clients must authenticate before running commands: the
    /// default user has a password (is not `nopass`) or is off.
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.acl.auth_required()
    }

    /// The plain TCP port being served (INFO `tcp_port`).
    pub fn port(&self) -> u16 {
        self.port.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current TLS acceptor, for a connection that came in on `tls-port`.
    pub fn tls_acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.tls.read().clone()
    }

    /// A strong reference to this server, for background work.
    pub fn arc(&self) -> Option<Arc<Server>> {
        self.this.upgrade()
    }

    /// Ask the whole server to stop (SHUTDOWN, signals).
    pub fn request_shutdown(&self) {
        self.scripts.abort();
        let _ = self.shutdown_tx.send(true);
    }

    /// A receiver that sees `true` once shutdown was requested.
    pub fn shutdown_rx(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// New counters for a worker thread, registered for INFO.
    fn new_thread_stats(&self) -> Arc<ThreadStats> {
        let s = Arc::new(ThreadStats::new(self.commands.entries.len()));
        self.thread_stats.lock().push(s.clone());
        s
    }
}

/// A started server.
pub struct ServerHandle {
    pub server: Arc<Server>,
    /// The addresses actually bound: the plain ones, then the TLS ones.
    pub addrs: Vec<SocketAddr>,
    /// The TLS addresses (`tls-port`) alone.
    pub tls_addrs: Vec<SocketAddr>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// The first bound address (tests connect here).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Block until shutdown is requested, then stop every thread.
    pub fn wait(self) {
        let mut rx = self.server.shutdown_rx();
        let rt = runtime();
        rt.block_on(async {
            while !*rx.borrow_and_update() {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        });
        // The master link's thread ends too (it holds the server).
        if let Some(up) = self.server.repl.upstream() {
            up.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        for t in self.threads {
            let _ = t.join();
        }
        // Write and fsync what the AOF still holds.
        self.server.aof.shutdown();
    }

    /// Request shutdown and wait for the threads.
    pub fn stop(self) {
        self.server.request_shutdown();
        self.wait();
    }
}

pub(crate) fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit((crate::util::rand_u64() % 16) as u32, 16).unwrap_or('0'))
        .collect()
}

/// Resolve `bind` entries to socket addresses. A leading `-` marks an address
/// that may be unavailable (Redis: `-::1` when IPv6 is off) and is skipped
/// silently if binding fails.
fn bind_all(config: &Config) -> io::Result<Vec<StdListener>> {
    bind_port(config, config.port)
}

/// Bind every `bind` address on `port` (0: an ephemeral one, the same for all).
pub(crate) fn bind_port(config: &Config, mut port: u16) -> io::Result<Vec<StdListener>> {
    let mut listeners = Vec::new();
    for b in &config.bind {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, b.as_str()),
        };
        // Redis's wildcards: `*` every IPv4 interface, `::*` every IPv6 one.
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let addr: SocketAddr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
        .parse()
        .map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("bad bind address {b}"))
        })?;
        match listen(addr) {
            Ok(l) => {
                // With port 0, bind the other addresses to the same port.
                if port == 0 {
                    port = l.local_addr()?.port();
                }
                l.set_nonblocking(true)?;
                listeners.push(l);
            }
            Err(e) if optional => {
                tracing::debug!("skipping optional bind address {addr}: {e}");
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {addr}: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "Failed listening on port: no bind address could be used",
        ));
    }
    Ok(listeners)
}

/// A listening socket on `addr`. IPv6 sockets are IPv6-only, as Redis makes
/// them, so that `bind 0.0.0.0 ::` (or `* -::*`) binds both wildcards on one
/// port instead of the second failing with "Address already in use".
fn listen(addr: SocketAddr) -> io::Result<StdListener> {
    if addr.is_ipv4() {
        return StdListener::bind(addr);
    }
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    socket.set_only_v6(true)?;
    // What std's TcpListener::bind does on Unix: restart without TIME_WAIT
    // delays.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Bind, start the worker and cron threads, and return at once.
pub fn start(config: Config) -> io::Result<ServerHandle> {
    crate::util::calibrate_ticks();
    // As Redis: a score that cannot be set is logged, and the start goes on.
    let _ = oom::apply(&config);
    // A bad TLS setup stops the server before it binds anything.
    let tls = tls::acceptor(&config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // `port 0` with a `tls-port`: TLS only (as Redis); without, an ephemeral port.
    let listeners = if tls.is_some() && config.port == 0 {
        Vec::new()
    } else {
        bind_all(&config)?
    };
    let tls_listeners = if tls.is_some() {
        bind_port(&config, config.tls_port)?
    } else {
        Vec::new()
    };
    let local = |ls: &[StdListener]| -> io::Result<Vec<SocketAddr>> {
        ls.iter().map(|l| l.local_addr()).collect()
    };
    let plain_addrs = local(&listeners)?;
    let tls_addrs = local(&tls_listeners)?;
    let addrs: Vec<SocketAddr> = plain_addrs.iter().chain(&tls_addrs).copied().collect();
    let nworkers = match config.worker_threads {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // With one worker, a spare one takes the connections that arrive while
    // a script runs on the first (a new `redis-cli SCRIPT KILL` must get
    // through); it is an ordinary worker, idle otherwise, and shares the
    // first one's gate (so EXEC and scripts take no extra lock).
    let nthreads = if nworkers == 1 { 2 } else { nworkers };
    let (shutdown_tx, _) = watch::channel(false);
    let started_unix_ms = crate::util::now_ms();
    let commands = CommandTable::build();
    let acl = crate::acl::Acl::from_config(&commands, &config)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let ndbs = config.databases;
    let config = ConfigStore::new(config);
    let pubsub = Arc::new(crate::pubsub::PubSub::new(config.pubsub.clone()));
    let keyspace = Keyspace::with_pubsub(ndbs, pubsub.clone());
    let aof = Arc::new(crate::persist::aof::Aof::new(keyspace.log().clone()));
    let server = Arc::new_cyclic(|this| Server {
        keyspace,
        aof,
        config,
        pubsub,
        monitors: Default::default(),
        commands,
        acl,
        stats: ServerStats::default(),
        clients: ClientRegistry::default(),
        gates: gate::Gates::new(nworkers + 1),
        scripts: Default::default(),
        thread_stats: Mutex::new(Vec::new()),
        started: Instant::now(),
        started_unix_ms,
        run_id: random_hex(40),
        port: plain_addrs.first().map_or(0, |a| a.port()).into(),
        tls: parking_lot::RwLock::new(tls),
        listeners: Default::default(),
        persist: crate::persist::save::Persist::new(started_unix_ms),
        slowlog: Default::default(),
        latency: Default::default(),
        pause: Default::default(),
        trim: Default::default(),
        this: this.clone(),
        repl: Default::default(),
        migrate: Default::default(),
        shutdown_tx,
    });
    server.repl.set_replid(&server.run_id);
    tracing::info!("Server initialized");
    // Load the data before any client can connect: with appendonly yes the
    // AOF alone (as Redis, even when it does not exist yet), else dump.rdb.
    if !server.config.read(|c| c.appendonly) {
        crate::persist::save::load_at_startup(&server)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    crate::persist::aof::startup(&server)?;

    let mut threads = Vec::new();
    let mut senders = Vec::new();
    for i in 0..nthreads {
        let (tx, rx) = mpsc::unbounded_channel::<Accepted>();
        senders.push(tx);
        let server = server.clone();
        threads.push(
            thread::Builder::new()
                .name(format!("ember-worker-{i}"))
                // Scripts recurse (nested replies, cjson): C's usual 8 MiB.
                .stack_size(8 << 20)
                .spawn(move || worker(server, rx, i, i.min(nworkers - 1)))?,
        );
    }
    // Acceptors run on their own thread's runtime; CONFIG SET port/tls-port
    // start new ones there.
    {
        let rt = runtime();
        server.listeners.start(
            &server,
            rt.handle().clone(),
            senders,
            nworkers,
            listeners,
            tls_listeners,
        );
        let server = server.clone();
        threads.push(
            thread::Builder::new()
                .name("ember-accept".into())
                .spawn(move || acceptor(server, rt))?,
        );
    }
    {
        let server = server.clone();
        threads.push(
            thread::Builder::new()
                .name("ember-cron".into())
                .spawn(move || cron(server, nworkers))?,
        );
    }
    // `replicaof` in the config file: follow that master from the start.
    let master = server.config.read(|c| c.compat.get("replicaof").cloned());
    if let Some((host, port)) = master.as_deref().and_then(|m| m.split_once(' ')) {
        if let Ok(port) = port.parse::<u16>() {
            server.repl.set_master(&server, host, port);
            oom::set_replica(true, &server.config.snapshot());
        }
    }
    crate::alloc::mark_startup();
    Ok(ServerHandle {
        server,
        addrs,
        tls_addrs,
        threads,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(connection::worker_idle)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start a tokio runtime: {e}");
            std::process::exit(1);
        }
    }
}

use listen::Accepted;

/// A worker thread: serves the connections handed to it until shutdown.
/// `gate`: its gate (the spare worker shares worker 0's).
fn worker(server: Arc<Server>, mut rx: mpsc::UnboundedReceiver<Accepted>, i: usize, gate: usize) {
    let rt = runtime();
    server.gates.adopt(gate);
    busy::set_worker(i);
    let tstats = server.new_thread_stats();
    let mut shutdown = server.shutdown_rx();
    rt.block_on(async move {
        loop {
            tokio::select! {
                s = rx.recv() => match s {
                    Some((std_stream, tls)) => {
                        match tokio::net::TcpStream::from_std(std_stream) {
                            Ok(stream) => {
                                tokio::spawn(connection::serve(server.clone(), stream, tstats.clone(), tls));
                            }
                            Err(e) => tracing::warn!("cannot register connection: {e}"),
                        }
                    }
                    None => break,
                },
                _ = shutdown.changed() => break,
            }
        }
    });
    // Dropping the runtime cancels every connection task and closes sockets.
    drop(rt);
}

/// The acceptor thread: runs the accept tasks (server::listen) until shutdown.
fn acceptor(server: Arc<Server>, rt: tokio::runtime::Runtime) {
    let mut shutdown = server.shutdown_rx();
    rt.block_on(async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    });
    server.listeners.stop();
    drop(rt);
    server.listeners.set_closed();
}

/// Record a latency-monitor event if it took at least the threshold.
fn latency_event(server: &Server, event: &str, started: Instant) {
    let threshold = server.config.latency_threshold();
    let ms = started.elapsed().as_millis() as u64;
    if threshold > 0 && ms >= threshold {
        server.latency.add(event, ms, crate::util::now_ms() / 1000);
    }
}

/// Periodic work at `hz` times a second: active expiry, eviction.
fn cron(server: Arc<Server>, gate: usize) {
    server.gates.adopt(gate);
    let shutdown = server.shutdown_rx();
    let mut last_second = 0;
    while !*shutdown.borrow() {
        let hz = server.config.hz().max(1);
        let period = Duration::from_micros(1_000_000 / hz as u64);
        if server.trim.cron_paused() {
            thread::sleep(period);
            continue;
        }
        // Like Redis's slow cycle: at most 25% of the period on expiry.
        {
            // EXEC waits for the cycle to end, and the cycle for EXEC.
            let _gate = server.gates.read();
            let started = Instant::now();
            crate::keyspace::expire::active_expire_cycle(&server.keyspace, period / 4);
            latency_event(&server, "expire-cycle", started);
            let started = Instant::now();
            // Evict down to maxmemory without waiting for traffic (CONFIG
            // SET maxmemory lower, or a command that ran out of time budget).
            crate::evict::perform_within(&server.keyspace, &server.config, Some(period / 4));
            latency_event(&server, "eviction-cycle", started);
            // Save points (a snapshot begins between transactions).
            crate::persist::save::cron(&server);
            // A lowered tracking-table-max-keys takes effect without reads.
            crate::tracking::Tracking::limit(&server.pubsub);
            // BCAST invalidations of the keys this turn expired or evicted.
            crate::tracking::Tracking::flush_bcast(&server.pubsub);
        }
        crate::alloc::sample_peak();
        client_evict::check(&server);
        let now = crate::util::now_ms();
        trim::cron(&server, now);
        if now / 1000 != last_second {
            last_second = now / 1000;
            obuf::cron(&server);
            crate::replication::cron(&server);
            server.migrate.close_idle();
        }
        let (cmds, net_in, net_out, _, _) = server.traffic_totals();
        server
            .stats
            .instantaneous
            .track(crate::util::now_ms(), [cmds, net_in, net_out]);
        thread::sleep(period);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bind * -::*` (Redis 7's default) and `bind 0.0.0.0 ::`: both
    /// wildcards on one port, the IPv6 one IPv6-only.
    #[test]
    fn ipv4_and_ipv6_wildcards_share_a_port() {
        let ipv6 = StdListener::bind("[::]:0").is_ok();
        for bind in [vec!["*", "-::*"], vec!["0.0.0.0", "-::"]] {
            let config = Config {
                bind: bind.iter().map(|s| s.to_string()).collect(),
                port: 0,
                ..Config::default()
            };
            let listeners = bind_all(&config).expect("binds");
            let addrs: Vec<SocketAddr> = listeners.iter().flat_map(|l| l.local_addr()).collect();
            assert!(
                addrs[0].is_ipv4() && addrs[0].ip().is_unspecified(),
                "{addrs:?}"
            );
            if ipv6 {
                assert_eq!(addrs.len(), 2, "{addrs:?}");
                assert!(addrs[1].is_ipv6() && addrs[1].ip().is_unspecified());
                assert_eq!(addrs[0].port(), addrs[1].port());
            }
        }
    }
}
