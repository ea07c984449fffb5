//! `ember-server [/path/to/ember.conf] [--option value ...]`, like redis-server.

use std::sync::Arc;

use ember::config::{CliOutcome, Config};

#[global_allocator]
static ALLOC: ember::alloc::CountingAlloc = ember::alloc::CountingAlloc;

const USAGE: &str = "Usage: ember-server [/path/to/ember.conf] [options]
       ember-server -v or --version
       ember-server -h or --help
       ember-server --health-check [/path/to/ember.conf] [--host H] [--port N]

Every config directive can be given as an option (they override the file):
       ember-server --port 7777
       ember-server /etc/ember/ember.conf --maxmemory 1gb --save 900 1

--health-check sends PING to the server the config describes (its port, and
its first bind address, 0.0.0.0/* meaning 127.0.0.1) or to --host/--port,
and exits 0 on PONG or NOAUTH (alive, password set), 1 otherwise. It needs
no password and no redis-cli, so container health checks can use it. With
port 0 and a tls-port it probes over TLS, presenting tls-client-cert-file
(else tls-cert-file) when clients are authenticated.
";

fn main() {
    ember::alloc::mark_installed();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--health-check") {
        args.remove(i);
        std::process::exit(health_check(args));
    }
    let config = match Config::from_args(&args) {
        Ok(CliOutcome::Run(c)) => *c,
        Ok(CliOutcome::Help) => {
            print!("{USAGE}");
            return;
        }
        Ok(CliOutcome::Version) => {
            println!(
                "Ember server v={} (Redis {} compatible)",
                ember::EMBER_VERSION,
                ember::REDIS_VERSION
            );
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    init_logging(&config);
    // Written before loading and listening, removed at exit (as Redis); a
    // relative name is under `dir`, where Redis's chdir puts it.
    let pidfile = if config.pidfile.is_empty() {
        String::new()
    } else {
        ember::config::in_dir(&config.dir, &config.pidfile)
    };
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file {pidfile}: {e}");
        }
    }
    // (`replicaof` is read by src/replication.)
    let names: Vec<&str> = config
        .compat
        .keys()
        .copied()
        .filter(|&n| n != "replicaof")
        .collect();
    if !names.is_empty() {
        tracing::warn!(
            "Accepted for redis.conf compatibility, without effect in Ember: {}",
            names.join(", ")
        );
    }
    let handle = match ember::server::start(config) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{e}");
            if !pidfile.is_empty() {
                let _ = std::fs::remove_file(&pidfile);
            }
            std::process::exit(1);
        }
    };
    // Redis's wording: scripts and harnesses wait for this line.
    tracing::info!(
        "Ready to accept connections tcp (Ember {} on {:?})",
        ember::EMBER_VERSION,
        handle.addrs
    );
    watch_signals(handle.server.clone());
    handle.wait();
    if !pidfile.is_empty() {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    tracing::info!("Ember is now ready to exit, bye bye...");
}

/// `loglevel` and `logfile` → a tracing subscriber. RUST_LOG, when set, wins.
fn init_logging(config: &Config) {
    let level = match config.loglevel.as_str() {
        "debug" => "debug",
        "verbose" => "debug",
        "notice" => "info",
        "warning" => "warn",
        _ => "off",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.logfile.is_empty() {
        // Colours only on a terminal: piped or collected logs stay plain.
        let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
        builder.with_ansi(tty).init();
    } else {
        // A relative name is under `dir`, as in Redis (which chdir()s there).
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ember::config::in_dir(&config.dir, &config.logfile))
        {
            Ok(file) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init(),
            Err(e) => {
                eprintln!("Can't open the log file {}: {e}", config.logfile);
                std::process::exit(1);
            }
        }
    }
}

/// SIGINT/SIGTERM shut down as Redis does: save first when save points are
/// configured (or `shutdown-on-sig*` says save; never with nosave); if that
/// save fails, log it and keep running (unless it says force).
fn watch_signals(server: Arc<ember::server::Server>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                let saving = Arc::new(std::sync::atomic::AtomicBool::new(false));
                loop {
                    let sigterm = tokio::select! {
                        _ = term.recv() => {
                            tracing::info!("Received SIGTERM scheduling shutdown...");
                            true
                        }
                        _ = int.recv() => {
                            tracing::info!("Received SIGINT scheduling shutdown...");
                            false
                        }
                    };
                    // shutdown-on-sigterm / shutdown-on-sigint: save, nosave, force.
                    let flags = server.config.read(|c| {
                        if sigterm {
                            c.shutdown_on_sigterm.clone()
                        } else {
                            c.shutdown_on_sigint.clone()
                        }
                    });
                    let has = |f: &str| flags.split(' ').any(|w| w == f);
                    let (save, nosave, force) = (has("save"), has("nosave"), has("force"));
                    // A second signal while the shutdown save runs: exit now.
                    if saving.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        tracing::warn!("You insist... exiting now.");
                        std::process::exit(1);
                    }
                    let (server, saving) = (server.clone(), saving.clone());
                    tokio::task::spawn_blocking(move || {
                        if ember::persist::save::save_for_shutdown(&server, save, nosave) || force {
                            server.request_shutdown();
                            tracing::warn!("Ember is now ready to exit, bye bye...");
                        } else {
                            tracing::warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
                            saving.store(false, std::sync::atomic::Ordering::SeqCst);
                        }
                    });
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
                ember::persist::save::save_for_shutdown(&server, false, false);
                server.request_shutdown();
            }
        });
    });
}

/// `--health-check`: PING the server and return the exit status, 0 when it
/// answers PONG, or NOAUTH (it is up; a password is set, and a liveness probe
/// should not need to know it), 1 otherwise (nothing listens, no reply within
/// the timeout, LOADING, any other error).
fn health_check(mut args: Vec<String>) -> i32 {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(3);
    // `--host H` is ours; everything else is the server's own command line.
    let mut host = None;
    if let Some(i) = args.iter().position(|a| a == "--host") {
        if i + 1 >= args.len() {
            eprintln!("--host needs a value");
            return 1;
        }
        host = Some(args.remove(i + 1));
        args.remove(i);
    }
    let config = match Config::from_args(&args) {
        Ok(CliOutcome::Run(c)) => c,
        Ok(_) => {
            print!("{USAGE}");
            return 1;
        }
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    // `port 0` with a `tls-port`: the server serves TLS only, probe that.
    let (port, tls) = if config.port == 0 && config.tls_port != 0 {
        match ember::server::tls::probe_client_config(&config) {
            Ok(c) => (config.tls_port, Some(Arc::new(c))),
            Err(e) => {
                println!("unhealthy: {e}");
                return 1;
            }
        }
    } else {
        (config.port, None)
    };
    if port == 0 {
        eprintln!("--health-check needs a port (the config says port 0)");
        return 1;
    }
    let host = host.unwrap_or_else(|| {
        let first = config
            .bind
            .first()
            .map_or("127.0.0.1", |b| b.strip_prefix('-').unwrap_or(b));
        match first {
            "*" | "0.0.0.0" => "127.0.0.1".into(),
            "::" | "::*" => "::1".into(),
            h => h.into(),
        }
    });
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<_> = match target.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            println!("unhealthy: cannot resolve {target}: {e}");
            return 1;
        }
    };
    let mut last_err = String::from("no address");
    for addr in addrs {
        let reply = TcpStream::connect_timeout(&addr, TIMEOUT).and_then(|s| {
            s.set_read_timeout(Some(TIMEOUT))?;
            s.set_write_timeout(Some(TIMEOUT))?;
            match &tls {
                None => ping(s),
                Some(config) => {
                    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
                    let conn = rustls::ClientConnection::new(config.clone(), name)
                        .map_err(std::io::Error::other)?;
                    ping(rustls::StreamOwned::new(conn, s))
                }
            }
        });
        match reply {
            Ok(r) if r == "+PONG" || r.starts_with("-NOAUTH") => {
                println!("healthy: {addr} answered {r}");
                return 0;
            }
            Ok(r) => last_err = format!("{addr} answered {r:?}"),
            Err(e) => last_err = format!("{addr}: {e}"),
        }
    }
    println!("unhealthy: {last_err}");
    1
}

/// Send PING, read the first reply line (+PONG or -ERROR text).
fn ping(mut s: impl std::io::Read + std::io::Write) -> std::io::Result<String> {
    s.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    s.flush()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    while !buf.ends_with(b"\r\n") && buf.len() < 4096 {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}
