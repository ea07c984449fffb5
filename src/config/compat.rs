//! Redis parameters for what Ember does not have (cluster, parts of
//! replication such as diskless options, active defragmentation, process
//! titles...), so that an existing redis.conf loads and tools that CONFIG
//! GET or SET them work.
//!
//! Each value is checked as Redis checks it, kept, reported by CONFIG GET
//! and written by CONFIG REWRITE, and changes nothing else, with one
//! exception: `replicaof`, which src/replication reads at startup. Where a
//! value would promise a feature Ember lacks (`cluster-enabled yes`,
//! `activedefrag yes`, a Unix socket, syslog), only Redis's default is
//! accepted and anything else is refused with the reason, in the file as in
//! CONFIG SET. The startup log names the parameters a config file set that
//! have no effect.

use super::{one, parse_bool, parse_int, parse_memory, yes_no, Param};

/// How a value is checked.
#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    /// A size with Redis's units (reported in bytes).
    Mem,
    Enum(&'static [&'static str]),
    Str,
    /// `replicaof <host> <port>` / `replicaof no one`, checked as Redis
    /// checks them (`no one` is no master: the default, empty).
    Master,
}

const MAX: i64 = i64::MAX;
const IMAX: i64 = i32::MAX as i64;
const NO_CLUSTER: &str = "Ember has no cluster mode";

/// The value `v` as it is kept and reported, or why it is refused.
pub fn check(kind: Kind, v: &[String]) -> Result<String, String> {
    Ok(match kind {
        Kind::Bool => yes_no(parse_bool(v)?),
        Kind::Int(min, max) => parse_int(v, min, max)?.to_string(),
        Kind::Mem => match parse_memory(one(v)?) {
            Some(n) => n.to_string(),
            None => return Err("argument must be a memory value".into()),
        },
        Kind::Enum(allowed) => {
            let s = one(v)?.to_ascii_lowercase();
            if !allowed.contains(&s.as_str()) {
                return Err(
                    "argument(s) must be one of the following: ".to_string() + &allowed.join(", ")
                );
            }
            s
        }
        Kind::Str => one(v)?.to_string(),
        Kind::Master => match v {
            [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
                String::new()
            }
            // No master, as CONFIG REWRITE writes it (`replicaof ""`).
            [] => String::new(),
            [none] if none.is_empty() => String::new(),
            [host, port] => {
                if !port.parse::<i64>().is_ok_and(|p| (0..=65535).contains(&p)) {
                    return Err("Invalid master port".into());
                }
                format!("{host} {port}")
            }
            _ => return Err("wrong number of arguments".into()),
        },
    })
}

/// `compat!(name, aliases, kind, default, mutable, refusal)`: with a
/// refusal, only the default is accepted and other values get that reason.
macro_rules! compat {
    ($name:literal, $aliases:expr, $kind:expr, $default:literal, $mutable:expr, $refusal:expr) => {
        Param {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            get: |c| get(c, $name, $default),
            set: |c, v| set(c, $name, ($kind, $default, $refusal), v),
        }
    };
}

/// Debugging parameters CONFIG GET lists only when asked by exact name.
pub const HIDDEN: &[&str] = &[
    "aof-disable-auto-gc",
    "cluster-ping-interval",
    "key-load-delay",
    "loading-process-events-interval-bytes",
    "rdb-key-save-delay",
    "req-res-logfile",
    "use-exit-on-panic",
    "watchdog-period",
];

/// Redis 7.2's parameters Ember accepts without using them.
pub const PARAMS: &[Param] = &[
    compat!("activedefrag", &[], Kind::Bool, "no", true, Some("-DISABLED Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution")),
    compat!("active-defrag-cycle-max", &[], Kind::Int(1, 99), "25", true, None),
    compat!("active-defrag-cycle-min", &[], Kind::Int(1, 99), "1", true, None),
    compat!("active-defrag-ignore-bytes", &[], Kind::Mem, "104857600", true, None),
    compat!("active-defrag-max-scan-fields", &[], Kind::Int(1, MAX), "1000", true, None),
    compat!("active-defrag-threshold-lower", &[], Kind::Int(0, 1000), "10", true, None),
    compat!("active-defrag-threshold-upper", &[], Kind::Int(0, 1000), "100", true, None),
    compat!("active-expire-effort", &[], Kind::Int(1, 10), "1", true, None),
    compat!("activerehashing", &[], Kind::Bool, "yes", true, None),
    compat!("always-show-logo", &[], Kind::Bool, "no", false, None),
    compat!("aof-disable-auto-gc", &[], Kind::Bool, "no", true, None),
    compat!("bind-source-addr", &[], Kind::Str, "", true, None),
    compat!("cluster-enabled", &[], Kind::Bool, "no", false, Some(NO_CLUSTER)),
    compat!("cluster-allow-pubsubshard-when-down", &[], Kind::Bool, "yes", true, None),
    compat!("cluster-allow-reads-when-down", &[], Kind::Bool, "no", true, None),
    compat!("cluster-allow-replica-migration", &[], Kind::Bool, "yes", true, None),
    compat!("cluster-announce-bus-port", &[], Kind::Int(0, 65535), "0", true, None),
    compat!("cluster-announce-hostname", &[], Kind::Str, "", true, None),
    compat!("cluster-announce-human-nodename", &[], Kind::Str, "", true, None),
    compat!("cluster-announce-ip", &[], Kind::Str, "", true, None),
    compat!("cluster-announce-port", &[], Kind::Int(0, 65535), "0", true, None),
    compat!("cluster-announce-tls-port", &[], Kind::Int(0, 65535), "0", true, None),
    compat!("cluster-config-file", &[], Kind::Str, "nodes.conf", false, None),
    compat!("cluster-link-sendbuf-limit", &[], Kind::Mem, "0", true, None),
    compat!("cluster-migration-barrier", &[], Kind::Int(0, IMAX), "1", true, None),
    compat!("cluster-node-timeout", &[], Kind::Int(0, MAX), "15000", true, None),
    compat!("cluster-ping-interval", &[], Kind::Int(0, IMAX), "0", true, None),
    compat!("cluster-port", &[], Kind::Int(0, 65535), "0", false, None),
    compat!("cluster-preferred-endpoint-type", &[], Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "ip", true, None),
    compat!("cluster-replica-no-failover", &["cluster-slave-no-failover"], Kind::Bool, "no", true, None),
    compat!("cluster-replica-validity-factor", &["cluster-slave-validity-factor"], Kind::Int(0, IMAX), "10", true, None),
    compat!("cluster-require-full-coverage", &[], Kind::Bool, "yes", true, None),
    compat!("crash-log-enabled", &[], Kind::Bool, "yes", true, None),
    compat!("crash-memcheck-enabled", &[], Kind::Bool, "yes", true, None),
    compat!("disable-thp", &[], Kind::Bool, "yes", false, None),
    compat!("dynamic-hz", &[], Kind::Bool, "yes", true, None),
    compat!("enable-module-command", &[], Kind::Enum(&["no", "yes", "local"]), "no", false, None),
    compat!("key-load-delay", &[], Kind::Int(i32::MIN as i64, IMAX), "0", true, None),
    compat!("ignore-warnings", &[], Kind::Str, "", true, None),
    compat!("io-threads", &[], Kind::Int(1, 128), "1", false, None),
    compat!("io-threads-do-reads", &[], Kind::Bool, "no", false, None),
    compat!("jemalloc-bg-thread", &[], Kind::Bool, "yes", true, None),
    compat!("loading-process-events-interval-bytes", &[], Kind::Int(1024, IMAX), "2097152", true, None),
    compat!("locale-collate", &[], Kind::Str, "", true, None),
    compat!("proc-title-template", &[], Kind::Str, "{title} {listen-addr} {server-mode}", true, None),
    compat!("propagation-error-behavior", &[], Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore", true, None),
    compat!("rdb-del-sync-files", &[], Kind::Bool, "no", true, None),
    compat!("rdb-save-incremental-fsync", &[], Kind::Bool, "yes", true, None),
    compat!("rdb-key-save-delay", &[], Kind::Int(i32::MIN as i64, IMAX), "0", true, None),
    compat!("repl-disable-tcp-nodelay", &[], Kind::Bool, "no", true, None),
    compat!("repl-diskless-load", &[], Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled", true, None),
    compat!("repl-diskless-sync", &[], Kind::Bool, "yes", true, None),
    compat!("repl-diskless-sync-delay", &[], Kind::Int(0, IMAX), "5", true, None),
    compat!("repl-diskless-sync-max-replicas", &[], Kind::Int(0, IMAX), "0", true, None),
    compat!("replica-announce-ip", &["slave-announce-ip"], Kind::Str, "", true, None),
    compat!("replica-announce-port", &["slave-announce-port"], Kind::Int(0, 65535), "0", true, None),
    compat!("replica-announced", &[], Kind::Bool, "yes", true, None),
    compat!("replica-ignore-disk-write-errors", &[], Kind::Bool, "no", true, None),
    compat!("replica-ignore-maxmemory", &["slave-ignore-maxmemory"], Kind::Bool, "yes", true, None),
    compat!("replica-lazy-flush", &["slave-lazy-flush"], Kind::Bool, "no", true, None),
    compat!("replica-priority", &["slave-priority"], Kind::Int(0, IMAX), "100", true, None),
    // Read at startup by src/replication (the replica's master); REPLICAOF
    // changes the master at runtime.
    compat!("replicaof", &["slaveof"], Kind::Master, "", false, None),
    compat!("req-res-logfile", &[], Kind::Str, "", false, None),
    compat!("sanitize-dump-payload", &[], Kind::Enum(&["no", "yes", "clients"]), "no", true, None),
    compat!("set-proc-title", &[], Kind::Bool, "yes", false, None),
    compat!("shutdown-timeout", &[], Kind::Int(0, IMAX), "10", true, None),
    compat!("socket-mark-id", &[], Kind::Int(0, u32::MAX as i64), "0", false, None),
    compat!("supervised", &[], Kind::Enum(&["no", "upstart", "systemd", "auto"]), "no", false, None),
    compat!("syslog-enabled", &[], Kind::Bool, "no", false, Some("Ember does not log to syslog (see logfile)")),
    compat!("syslog-facility", &[], Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0", false, None),
    compat!("syslog-ident", &[], Kind::Str, "redis", false, None),
    compat!("tcp-backlog", &[], Kind::Int(0, IMAX), "511", false, None),
    compat!("unixsocket", &[], Kind::Str, "", false, Some("Ember does not listen on Unix sockets")),
    compat!("unixsocketperm", &[], Kind::Int(0, 0o777), "0", false, None),
    compat!("use-exit-on-panic", &[], Kind::Bool, "no", false, None),
    compat!("watchdog-period", &[], Kind::Int(0, IMAX), "0", true, None),
];

/// The kept value of `name`, or its default.
fn get(c: &super::Config, name: &str, default: &str) -> String {
    match c.compat.get(name) {
        Some(v) => v.clone(),
        None => default.to_string(),
    }
}

/// Check and keep a value of `name`: (kind, default, refusal).
fn set(
    c: &mut super::Config,
    name: &'static str,
    (kind, default, refusal): (Kind, &str, Option<&str>),
    v: &[String],
) -> Result<(), String> {
    let value = check(kind, v)?;
    let normal = check(kind, &[default.to_string()]).unwrap_or_default();
    if value == normal {
        c.compat.remove(name);
        return Ok(());
    }
    if let Some(why) = refusal {
        return Err(why.to_string());
    }
    c.compat.insert(name, value);
    Ok(())
}
