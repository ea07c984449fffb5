//! `ember-server [/path/to/ember.conf] [--option value ...]`, like redis-server.

use std::sync::Arc;

use ember::config::{CliOutcome, Config};

#[global_allocator]
static ALLOC: ember::alloc::CountingAlloc = ember::alloc::CountingAlloc;

const USAGE: &str = "Usage: ember-server [/path/to/ember.conf] [options]
       ember-server -v or --version
       ember-server -h or --help

Every config directive can be given as an option (they override the file):
       ember-server --port 7777
       ember-server /etc/ember/ember.conf --maxmemory 1gb --save 900 1
";

fn main() {
    ember::alloc::mark_installed();
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    // Written before loading and listening, removed at exit (as Redis).
    let pidfile = config.pidfile.clone();
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file {pidfile}: {e}");
        }
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
    tracing::info!(
        "Ember {} ready to accept connections on {:?}",
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
        builder.init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
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
/// configured; if that save fails, log it and keep running.
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
                    tokio::select! {
                        _ = term.recv() => tracing::info!("Received SIGTERM scheduling shutdown..."),
                        _ = int.recv() => tracing::info!("Received SIGINT scheduling shutdown..."),
                    }
                    // A second signal while the shutdown save runs: exit now.
                    if saving.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        tracing::warn!("You insist... exiting now.");
                        std::process::exit(1);
                    }
                    let (server, saving) = (server.clone(), saving.clone());
                    tokio::task::spawn_blocking(move || {
                        if ember::persist::save::save_for_shutdown(&server, false, false) {
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
