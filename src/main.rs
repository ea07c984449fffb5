//! `ember-server [/path/to/ember.conf] [--option value ...]`

fn main() {
    let config = ember::config::Config::default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let handle = match ember::server::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    tracing::info!(
        "Ember {} ready to accept connections on {:?}",
        ember::EMBER_VERSION,
        handle.addrs
    );
    handle.wait();
}
