//! Server configuration: typed settings, one declarative parameter table, the
//! redis.conf-syntax file parser, `--name value` flags, and the live store
//! that `CONFIG GET/SET/REWRITE` work on.
//!
//! [`PARAMS`] is the only place a parameter is named: the config file, the
//! command line, CONFIG GET, CONFIG SET and CONFIG REWRITE all go through it.
//! Values read on the request path (bulk length limit, query buffer limit,
//! password presence) are mirrored in atomics so connections never take the
//! config lock per request.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

use parking_lot::RwLock;

pub mod compat;

/// Every setting Ember has, with Redis's names (as `snake_case` fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub protected_mode: bool,
    /// DEBUG: "no" (Redis's default), "yes", or "local" (loopback clients).
    pub enable_debug_command: String,
    /// `no`, `yes` or `local`: whether CONFIG SET may change the protected
    /// parameters (`dir`, `dbfilename`), as Redis 7.
    pub enable_protected_configs: String,
    pub databases: usize,
    pub maxclients: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub hz: u32,
    /// `busy-reply-threshold` (alias `lua-time-limit`), ms: after this a running
    /// script makes other clients' commands answer BUSY. 0: never.
    pub busy_reply_threshold: u64,
    /// `min-replicas-to-write` / `min-replicas-max-lag` (aliases
    /// `min-slaves-*`): with both above 0, writes need that many replicas
    /// no more than that many seconds behind (refused with NOREPLICAS
    /// otherwise, as Redis does).
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    pub requirepass: Option<Vec<u8>>,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub loglevel: String,
    pub logfile: String,
    pub dir: String,
    pub dbfilename: String,
    /// RDB snapshots: LZF-compress strings, append a CRC-64, refuse writes
    /// while the last background save failed.
    pub rdbcompression: bool,
    /// DEL frees big values in the background, as UNLINK does.
    pub lazyfree_lazy_user_del: bool,
    /// FLUSHALL/FLUSHDB without SYNC or ASYNC run as ASYNC.
    pub lazyfree_lazy_user_flush: bool,
    /// Keys the server deletes itself (expired, evicted, SPOP's or
    /// RESTORE's): big values freed in the background, the deletion logged
    /// as UNLINK (see persist::aof::log::Deletion).
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_server_del: bool,
    pub rdbchecksum: bool,
    pub stop_writes_on_bgsave_error: bool,
    /// Testing aid (as Redis): sleep this many µs per key saved.
    pub rdb_key_save_delay: u64,
    /// SLOWLOG: log commands slower than this many µs (negative: never).
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// LATENCY monitor: record events of at least this many ms (0: off).
    pub latency_monitor_threshold: u64,
    /// Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_tracking: bool,
    pub tracking_table_max_keys: u64,
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// Worker threads serving connections; 0 = one per CPU. (Ember's own.)
    pub worker_threads: usize,
    /// Memory limit in bytes (0: none) and what to do when it is reached
    /// (src/evict.rs).
    pub maxmemory: u64,
    /// `maxmemory-clients`: bytes, or (negative) a percentage of maxmemory.
    pub maxmemory_clients: i64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    pub maxmemory_eviction_tenacity: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    // Stored and reported now; used by the features of later issues.
    pub save: String,
    pub appendonly: bool,
    pub appendfsync: String,
    /// The AOF (src/persist/aof): file base name, directory under `dir`,
    /// truncated-tail policy, auto-rewrite thresholds.
    pub appendfilename: String,
    pub appenddirname: String,
    pub aof_load_truncated: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_timestamp_enabled: bool,
    pub aof_use_rdb_preamble: bool,
    pub no_appendfsync_on_rewrite: bool,
    pub aof_rewrite_incremental_fsync: bool,
    pub daemonize: bool,
    pub pidfile: String,
    /// What SIGINT and SIGTERM do: `default`, or words of `save`, `nosave`,
    /// `now` and `force` (Redis's shutdown-on-sigint/-sigterm).
    pub shutdown_on_sigint: String,
    pub shutdown_on_sigterm: String,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub set_max_listpack_entries: u64,
    pub set_max_listpack_value: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    /// Largest sparse HyperLogLog, header included (types::hll).
    pub hll_sparse_max_bytes: u64,
    /// Most bytes / entries of a stream node (types::stream); 0: no limit.
    pub stream_node_max_bytes: u64,
    /// `repl-backlog-size`: stream bytes kept for replicas to continue from.
    pub repl_backlog_size: u64,
    /// `repl-ping-replica-period`: seconds between the master's PINGs.
    pub repl_ping_replica_period: u64,
    /// `repl-timeout`: seconds without an ACK before a replica is dropped.
    pub repl_timeout: u64,
    /// `repl-backlog-ttl`: seconds without replicas before the backlog is
    /// freed (0: never).
    pub repl_backlog_ttl: u64,
    /// `replica-read-only`: as a replica, refuse other clients' writes.
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`: answer from old data while the link is down.
    pub replica_serve_stale_data: bool,
    /// `masterauth` / `masteruser`: what a replica AUTHs to its master with.
    pub masterauth: String,
    pub masteruser: String,
    pub stream_node_max_entries: u64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: u64,
    /// `notify-keyspace-events` as class bits (src/notify.rs).
    pub notify_keyspace_events: u32,
    /// `client-output-buffer-limit`: (hard, soft, soft seconds) for the
    /// normal, replica and pubsub classes.
    pub client_output_buffer_limit: [(u64, u64, u64); 3],
    /// `oom-score-adj`: no, yes (relative) or absolute (src/server/oom.rs).
    pub oom_score_adj: String,
    /// `oom-score-adj-values`: for the master, replica and child classes.
    pub oom_score_adj_values: [i32; 3],
    /// `user <name> <rules...>` directives, in file order (src/acl).
    pub users: Vec<Vec<String>>,
    /// `aclfile`: users are loaded from (ACL LOAD) and saved to it (ACL SAVE).
    pub aclfile: String,
    pub acllog_max_len: u64,
    /// `allchannels` or `resetchannels`: the channels of a new user.
    pub acl_pubsub_default: String,
    /// TLS (src/server/tls.rs): a second listening port (0: off) and its
    /// certificate, key, client CAs and policy, with Redis's names.
    pub tls_port: u16,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_ca_cert_file: String,
    pub tls_ca_cert_dir: String,
    /// `yes` (a client certificate is required), `optional` or `no`.
    pub tls_auth_clients: String,
    /// Space-separated `TLSv1.2`/`TLSv1.3`; empty: both.
    pub tls_protocols: String,
    /// TLS 1.3 suites (`TLS_AES_128_GCM_SHA256:...`); empty: all.
    pub tls_ciphersuites: String,
    /// OpenSSL's TLS 1.2 cipher list, over the suites rustls has; empty: all.
    pub tls_ciphers: String,
    /// The server's suite order wins over the client's.
    pub tls_prefer_server_ciphers: bool,
    /// Session resumption: on/off, how many sessions, for how many seconds.
    pub tls_session_caching: bool,
    pub tls_session_cache_size: u64,
    pub tls_session_cache_timeout: u64,
    /// Passphrase of an encrypted key: kept, but rustls cannot decrypt keys.
    pub tls_key_file_pass: String,
    /// Accepted for redis.conf compatibility; rustls has no DHE suites.
    pub tls_dh_params_file: String,
    pub tls_client_key_file_pass: String,
    /// Accepted for redis.conf compatibility (no replication or cluster bus).
    pub tls_replication: bool,
    pub tls_cluster: bool,
    /// The certificate `--health-check` presents (else tls-cert-file's).
    pub tls_client_cert_file: String,
    pub tls_client_key_file: String,
    /// The file the server was started with (for CONFIG REWRITE).
    pub config_file: Option<PathBuf>,
    /// Values of Redis's parameters that Ember keeps without using them
    /// (src/config/compat.rs), where not at their defaults.
    pub compat: std::collections::BTreeMap<&'static str, String>,
}

/// A file named by a parameter (`aclfile`), as Redis finds it after its
/// chdir() into `dir`: relative names are under `dir`.
pub fn in_dir(dir: &str, name: &str) -> String {
    let p = std::path::Path::new(name);
    if p.is_absolute() || dir.is_empty() {
        name.to_string()
    } else {
        std::path::Path::new(dir)
            .join(p)
            .to_string_lossy()
            .into_owned()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            protected_mode: true,
            enable_debug_command: "no".into(),
            enable_protected_configs: "no".into(),
            databases: 16,
            maxclients: 10000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            hz: 10,
            busy_reply_threshold: 5000,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            requirepass: None,
            timeout: 0,
            tcp_keepalive: 300,
            loglevel: "notice".into(),
            logfile: String::new(),
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_server_del: false,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            rdb_key_save_delay: 0,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            tracking_table_max_keys: crate::tracking::DEFAULT_MAX_KEYS,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            worker_threads: 0,
            maxmemory: 0,
            maxmemory_clients: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            appendfsync: "everysec".into(),
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            aof_load_truncated: true,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_timestamp_enabled: false,
            aof_use_rdb_preamble: true,
            no_appendfsync_on_rewrite: false,
            aof_rewrite_incremental_fsync: true,
            daemonize: false,
            pidfile: String::new(),
            shutdown_on_sigint: "default".into(),
            shutdown_on_sigterm: "default".into(),
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            repl_backlog_size: 1 << 20,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_backlog_ttl: 3600,
            replica_read_only: true,
            replica_serve_stale_data: true,
            masterauth: String::new(),
            masteruser: String::new(),
            stream_node_max_entries: 100,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            notify_keyspace_events: 0,
            client_output_buffer_limit: [
                (0, 0, 0),
                (256 << 20, 64 << 20, 60),
                (32 << 20, 8 << 20, 60),
            ],
            users: Vec::new(),
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_default: "resetchannels".into(),
            tls_port: 0,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_ca_cert_file: String::new(),
            tls_ca_cert_dir: String::new(),
            tls_auth_clients: "yes".into(),
            tls_protocols: String::new(),
            tls_ciphersuites: String::new(),
            tls_ciphers: String::new(),
            tls_prefer_server_ciphers: false,
            tls_session_caching: true,
            tls_session_cache_size: 20 * 1024,
            tls_session_cache_timeout: 300,
            tls_key_file_pass: String::new(),
            tls_dh_params_file: String::new(),
            tls_client_key_file_pass: String::new(),
            tls_replication: false,
            tls_cluster: false,
            tls_client_cert_file: String::new(),
            tls_client_key_file: String::new(),
            config_file: None,
            oom_score_adj: "no".into(),
            oom_score_adj_values: [0, 200, 800],
            compat: Default::default(),
        }
    }
}

/// Reading and writing one parameter's value as text.
type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &[String]) -> Result<(), String>;

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    /// Older names accepted in files, flags and CONFIG GET/SET (e.g. `*-ziplist-*`).
    pub aliases: &'static [&'static str],
    /// Whether CONFIG SET may change it at runtime.
    pub mutable: bool,
    pub get: Getter,
    pub set: Setter,
}

fn one(v: &[String]) -> Result<&str, String> {
    match v {
        [x] => Ok(x),
        _ => Err("wrong number of arguments".into()),
    }
}

fn parse_bool(v: &[String]) -> Result<bool, String> {
    match one(v)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn parse_int(v: &[String], min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = one(v)?
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// Parse a memory amount with Redis's units: `1k`=1000, `1kb`=1024, likewise
/// m/mb, g/gb; case-insensitive. A plain number is bytes.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|d| (d.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

fn parse_mem(v: &[String]) -> Result<u64, String> {
    parse_memory(one(v)?).ok_or_else(|| "argument must be a memory value".into())
}

fn parse_enum(v: &[String], allowed: &[&str]) -> Result<String, String> {
    let s = one(v)?.to_ascii_lowercase();
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(format!(
            "argument(s) must be one of the following: {}",
            allowed.join(", ")
        ))
    }
}

/// A percentile as Redis prints it: `%f` with trailing zeros trimmed.
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

const PROTECTED_ACTION: &[&str] = &["no", "yes", "local"];

/// The parameters CONFIG SET changes only where `enable-protected-configs`
/// allows (they decide where the server writes files).
pub const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Whether `setting` (`enable-debug-command`, `enable-protected-configs`)
/// allows the action for a client at `peer`: `yes`, or `local` and a
/// loopback peer (Redis's allowProtectedAction).
pub fn protected_action_allowed(setting: &str, peer: std::net::IpAddr) -> bool {
    match setting {
        "yes" => true,
        "local" => peer.is_loopback(),
        _ => false,
    }
}
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const FSYNC: &[&str] = &["always", "everysec", "no"];
const PUBSUB_DEFAULT: &[&str] = &["allchannels", "resetchannels"];
const TLS_AUTH_CLIENTS: &[&str] = &["no", "yes", "optional"];

/// A boolean parameter bound to a `Config` field.
macro_rules! p_bool {
    ($name:expr, $field:ident, $mutable:expr) => {
        p_bool!($name, &[], $field, $mutable)
    };
    ($name:expr, $aliases:expr, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            get: |c| yes_no(c.$field),
            set: |c, v| {
                c.$field = parse_bool(v)?;
                Ok(())
            },
        }
    };
}

/// An integer parameter bound to a `Config` field, with bounds.
macro_rules! p_int {
    ($name:expr, $aliases:expr, $field:ident, $ty:ty, $min:expr, $max:expr, $mutable:expr) => {
        Param {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = parse_int(v, $min, $max)? as $ty;
                Ok(())
            },
        }
    };
}

/// A memory-size parameter (units accepted; reported in bytes).
macro_rules! p_mem {
    ($name:expr, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            mutable: $mutable,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = parse_mem(v)?;
                Ok(())
            },
        }
    };
}

/// `shutdown-on-sig*` (see [`parse_shutdown_flags`]).
macro_rules! p_shutdown {
    ($name:expr, $field:ident) => {
        Param {
            name: $name,
            aliases: &[],
            mutable: true,
            get: |c| c.$field.clone(),
            set: |c, v| {
                c.$field = parse_shutdown_flags(v)?;
                Ok(())
            },
        }
    };
}

/// A free-form string parameter.
macro_rules! p_str {
    ($name:expr, $field:ident, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            mutable: $mutable,
            get: |c| c.$field.clone(),
            set: |c, v| {
                c.$field = one(v)?.to_string();
                Ok(())
            },
        }
    };
}

/// An enumerated parameter.
macro_rules! p_enum {
    ($name:expr, $field:ident, $allowed:expr, $mutable:expr) => {
        Param {
            name: $name,
            aliases: &[],
            mutable: $mutable,
            get: |c| c.$field.clone(),
            set: |c, v| {
                c.$field = parse_enum(v, $allowed)?;
                Ok(())
            },
        }
    };
}

/// `shutdown-on-sig*`: `default` or any of save, nosave, now, force (not
/// both save and nosave), kept in Redis's order.
fn parse_shutdown_flags(v: &[String]) -> Result<String, String> {
    const FLAGS: &[&str] = &["save", "nosave", "now", "force"];
    let words: Vec<String> = v
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        return Err(
            "argument(s) must be one of the following: default, save, nosave, now, force".into(),
        );
    }
    for w in &words {
        if w != "default" && !FLAGS.contains(&w.as_str()) {
            return Err(
                "argument(s) must be one of the following: default, save, nosave, now, force"
                    .into(),
            );
        }
    }
    let has = |f: &str| words.iter().any(|w| w == f);
    if has("save") && has("nosave") {
        return Err(
            "argument(s) must be one of the following: default, save, nosave, now, force".into(),
        );
    }
    let set: Vec<&str> = FLAGS.iter().copied().filter(|f| has(f)).collect();
    Ok(if set.is_empty() {
        "default".into()
    } else {
        set.join(" ")
    })
}

/// `oom-score-adj-values <master> <replica> <child>`, each in -2000..2000.
fn set_oom_values(c: &mut Config, v: &[String]) -> Result<(), String> {
    let words: Vec<&str> = v.iter().flat_map(|s| s.split_whitespace()).collect();
    if words.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    for (slot, w) in c.oom_score_adj_values.iter_mut().zip(words) {
        *slot = match w.parse::<i32>() {
            Ok(n) if (-2000..=2000).contains(&n) => n,
            _ => {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
                )
            }
        };
    }
    Ok(())
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft seconds>...`,
/// Redis's syntax and error texts.
fn set_obuf_limits(c: &mut Config, v: &[String]) -> Result<(), String> {
    let words: Vec<&str> = v.iter().flat_map(|s| s.split_whitespace()).collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = c.client_output_buffer_limit;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(w[1]).ok_or_else(bad)?;
        let soft = parse_memory(w[2]).ok_or_else(bad)?;
        let secs: u64 = w[3].parse().map_err(|_| bad())?;
        limits[class] = (hard, soft, secs);
    }
    c.client_output_buffer_limit = limits;
    Ok(())
}

const MAX: i64 = i64::MAX;
const IMAX: i64 = i32::MAX as i64;

/// Every parameter, in the order CONFIG GET * lists them.
pub const PARAMS: &[Param] = &[
    Param {
        name: "bind",
        aliases: &[],
        mutable: true,
        get: |c| c.bind.join(" "),
        set: |c, v| {
            let addrs: Vec<String> = v
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(String::from)
                .collect();
            if addrs.is_empty() {
                return Err("wrong number of arguments".into());
            }
            c.bind = addrs;
            Ok(())
        },
    },
    p_int!("port", &[], port, u16, 0, 65535, true),
    p_bool!("protected-mode", protected_mode, true),
    p_int!("databases", &[], databases, usize, 1, IMAX, false),
    p_int!("maxclients", &[], maxclients, u64, 1, IMAX, true),
    p_int!(
        "busy-reply-threshold",
        &["lua-time-limit"],
        busy_reply_threshold,
        u64,
        0,
        IMAX,
        true
    ),
    p_int!(
        "min-replicas-to-write",
        &["min-slaves-to-write"],
        min_replicas_to_write,
        u64,
        0,
        IMAX,
        true
    ),
    p_int!(
        "min-replicas-max-lag",
        &["min-slaves-max-lag"],
        min_replicas_max_lag,
        u64,
        0,
        IMAX,
        true
    ),
    p_mem!("proto-max-bulk-len", proto_max_bulk_len, true),
    p_mem!("hll-sparse-max-bytes", hll_sparse_max_bytes, true),
    p_mem!("stream-node-max-bytes", stream_node_max_bytes, true),
    p_mem!("repl-backlog-size", repl_backlog_size, true),
    p_int!(
        "repl-ping-replica-period",
        &["repl-ping-slave-period"],
        repl_ping_replica_period,
        u64,
        1,
        IMAX,
        true
    ),
    p_int!("repl-timeout", &[], repl_timeout, u64, 1, IMAX, true),
    p_int!(
        "repl-backlog-ttl",
        &[],
        repl_backlog_ttl,
        u64,
        0,
        i64::MAX,
        true
    ),
    p_bool!(
        "replica-read-only",
        &["slave-read-only"],
        replica_read_only,
        true
    ),
    p_bool!(
        "replica-serve-stale-data",
        &["slave-serve-stale-data"],
        replica_serve_stale_data,
        true
    ),
    p_str!("masterauth", masterauth, true),
    p_str!("masteruser", masteruser, true),
    p_int!(
        "stream-node-max-entries",
        &[],
        stream_node_max_entries,
        u64,
        0,
        IMAX,
        true
    ),
    p_mem!("client-query-buffer-limit", client_query_buffer_limit, true),
    Param {
        name: "hz",
        aliases: &[],
        mutable: true,
        get: |c| c.hz.to_string(),
        set: |c, v| {
            // Redis clamps hz into 1..=500 rather than refusing.
            c.hz = parse_int(v, IMAX.wrapping_neg(), IMAX)?.clamp(1, 500) as u32;
            Ok(())
        },
    },
    Param {
        name: "requirepass",
        aliases: &[],
        mutable: true,
        get: |c| {
            c.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, v| {
            let p = one(v)?;
            c.requirepass = (!p.is_empty()).then(|| p.as_bytes().to_vec());
            Ok(())
        },
    },
    p_enum!(
        "enable-debug-command",
        enable_debug_command,
        PROTECTED_ACTION,
        false
    ),
    p_enum!(
        "enable-protected-configs",
        enable_protected_configs,
        PROTECTED_ACTION,
        false
    ),
    p_int!("timeout", &[], timeout, u64, 0, IMAX, true),
    p_int!("tcp-keepalive", &[], tcp_keepalive, u64, 0, IMAX, true),
    p_enum!("loglevel", loglevel, LOGLEVELS, true),
    p_str!("logfile", logfile, false),
    Param {
        name: "dir",
        aliases: &[],
        mutable: true,
        get: |c| c.dir.clone(),
        set: |c, v| {
            let d = one(v)?;
            // Redis chdir()s here; the directory must exist.
            if !Path::new(d).is_dir() {
                return Err("No such file or directory".into());
            }
            c.dir = d.to_string();
            Ok(())
        },
    },
    p_str!("dbfilename", dbfilename, true),
    p_bool!("rdbcompression", rdbcompression, true),
    p_bool!("lazyfree-lazy-user-del", lazyfree_lazy_user_del, true),
    p_bool!("lazyfree-lazy-user-flush", lazyfree_lazy_user_flush, true),
    p_bool!("lazyfree-lazy-expire", lazyfree_lazy_expire, true),
    p_bool!("lazyfree-lazy-eviction", lazyfree_lazy_eviction, true),
    p_bool!("lazyfree-lazy-server-del", lazyfree_lazy_server_del, true),
    p_bool!("rdbchecksum", rdbchecksum, false),
    p_bool!(
        "stop-writes-on-bgsave-error",
        stop_writes_on_bgsave_error,
        true
    ),
    p_int!(
        "slowlog-log-slower-than",
        &[],
        slowlog_log_slower_than,
        i64,
        i64::MIN,
        IMAX,
        true
    ),
    p_int!("slowlog-max-len", &[], slowlog_max_len, u64, 0, MAX, true),
    p_int!(
        "rdb-key-save-delay",
        &[],
        rdb_key_save_delay,
        u64,
        0,
        IMAX,
        true
    ),
    p_int!(
        "latency-monitor-threshold",
        &[],
        latency_monitor_threshold,
        u64,
        0,
        MAX,
        true
    ),
    p_bool!("latency-tracking", latency_tracking, true),
    p_int!(
        "tracking-table-max-keys",
        &[],
        tracking_table_max_keys,
        u64,
        0,
        MAX,
        true
    ),
    Param {
        name: "latency-tracking-info-percentiles",
        aliases: &[],
        mutable: true,
        get: |c| {
            c.latency_tracking_info_percentiles
                .iter()
                .map(|p| format_percentile(*p))
                .collect::<Vec<_>>()
                .join(" ")
        },
        set: |c, v| {
            let mut ps = Vec::new();
            for w in v.iter().flat_map(|s| s.split_whitespace()) {
                match w.parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => ps.push(p),
                    _ => return Err("latency-tracking-info-percentiles parameters should be a list of numbers between 0 and 100".into()),
                }
            }
            c.latency_tracking_info_percentiles = ps;
            Ok(())
        },
    },
    p_int!("worker-threads", &[], worker_threads, usize, 0, 1024, false),
    p_mem!("maxmemory", maxmemory, true),
    Param {
        name: "maxmemory-clients",
        aliases: &[],
        mutable: true,
        get: |c| match c.maxmemory_clients {
            n if n < 0 => format!("{}%", n.unsigned_abs()),
            n => n.to_string(),
        },
        set: |c, v| {
            let s = one(v)?;
            c.maxmemory_clients = match s.strip_suffix('%') {
                Some(pct) => match pct.parse::<u64>() {
                    Ok(n) if n <= 100 => -(n as i64),
                    Ok(_) => return Err("percentage argument must be less or equal to 100".into()),
                    Err(_) => return Err("argument must be a memory or percent value".into()),
                },
                None => match parse_memory(s) {
                    Some(n) => n.min(i64::MAX as u64) as i64,
                    None => return Err("argument must be a memory or percent value".into()),
                },
            };
            Ok(())
        },
    },
    p_enum!("maxmemory-policy", maxmemory_policy, POLICIES, true),
    p_int!(
        "maxmemory-samples",
        &[],
        maxmemory_samples,
        u64,
        1,
        64,
        true
    ),
    p_int!(
        "maxmemory-eviction-tenacity",
        &[],
        maxmemory_eviction_tenacity,
        u64,
        0,
        100,
        true
    ),
    p_int!("lfu-log-factor", &[], lfu_log_factor, u64, 0, IMAX, true),
    p_int!("lfu-decay-time", &[], lfu_decay_time, u64, 0, IMAX, true),
    Param {
        name: "save",
        aliases: &[],
        mutable: true,
        get: |c| c.save.clone(),
        set: |c, v| {
            let words: Vec<&str> = v.iter().flat_map(|s| s.split_whitespace()).collect();
            if !words.len().is_multiple_of(2) || words.iter().any(|w| w.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".into());
            }
            // Reading the config (file and command line), as in Redis: the
            // first `save` replaces the defaults, later ones add their
            // points (`save ""` clears them). CONFIG SET replaces.
            let append = SAVE_SEEN.with(|s| match s.get() {
                Some(seen) => {
                    s.set(Some(true));
                    seen && !words.is_empty()
                }
                None => false,
            });
            if append && !c.save.is_empty() {
                c.save.push(' ');
                c.save.push_str(&words.join(" "));
            } else {
                c.save = words.join(" ");
            }
            Ok(())
        },
    },
    p_bool!("appendonly", appendonly, true),
    p_enum!("appendfsync", appendfsync, FSYNC, true),
    p_str!("appendfilename", appendfilename, false),
    p_str!("appenddirname", appenddirname, false),
    p_bool!("aof-load-truncated", aof_load_truncated, true),
    p_int!(
        "auto-aof-rewrite-percentage",
        &[],
        auto_aof_rewrite_percentage,
        u64,
        0,
        IMAX,
        true
    ),
    p_mem!("auto-aof-rewrite-min-size", auto_aof_rewrite_min_size, true),
    p_bool!("aof-timestamp-enabled", aof_timestamp_enabled, true),
    p_bool!("aof-use-rdb-preamble", aof_use_rdb_preamble, true),
    p_bool!("no-appendfsync-on-rewrite", no_appendfsync_on_rewrite, true),
    p_bool!(
        "aof-rewrite-incremental-fsync",
        aof_rewrite_incremental_fsync,
        true
    ),
    p_bool!("daemonize", daemonize, false),
    p_str!("pidfile", pidfile, false),
    p_shutdown!("shutdown-on-sigint", shutdown_on_sigint),
    p_shutdown!("shutdown-on-sigterm", shutdown_on_sigterm),
    p_int!(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        hash_max_listpack_entries,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        hash_max_listpack_value,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "set-max-intset-entries",
        &[],
        set_max_intset_entries,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "set-max-listpack-entries",
        &[],
        set_max_listpack_entries,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "set-max-listpack-value",
        &[],
        set_max_listpack_value,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        zset_max_listpack_entries,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        zset_max_listpack_value,
        u64,
        0,
        MAX,
        true
    ),
    p_int!(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        list_max_listpack_size,
        i64,
        IMAX.wrapping_neg(),
        IMAX,
        true
    ),
    p_int!(
        "list-compress-depth",
        &[],
        list_compress_depth,
        u64,
        0,
        IMAX,
        true
    ),
    Param {
        name: "notify-keyspace-events",
        aliases: &[],
        mutable: true,
        get: |c| crate::notify::flags_to_string(c.notify_keyspace_events),
        set: |c, v| {
            c.notify_keyspace_events = crate::notify::parse_flags(one(v)?)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(())
        },
    },
    Param {
        name: "client-output-buffer-limit",
        aliases: &[],
        mutable: true,
        get: |c| {
            let l = &c.client_output_buffer_limit;
            format!(
                "normal {} {} {} slave {} {} {} pubsub {} {} {}",
                l[0].0, l[0].1, l[0].2, l[1].0, l[1].1, l[1].2, l[2].0, l[2].1, l[2].2
            )
        },
        set: set_obuf_limits,
    },
    // Applied to the process by server::oom (at startup, after CONFIG SET).
    Param {
        name: "oom-score-adj",
        aliases: &[],
        mutable: true,
        get: |c| c.oom_score_adj.clone(),
        set: |c, v| {
            let mode = parse_enum(v, &["no", "yes", "relative", "absolute"])?;
            // `relative` is `yes`, and reported so (as Redis).
            c.oom_score_adj = if mode == "relative" {
                "yes".into()
            } else {
                mode
            };
            Ok(())
        },
    },
    Param {
        name: "oom-score-adj-values",
        aliases: &[],
        mutable: true,
        get: |c| {
            let v = &c.oom_score_adj_values;
            format!("{} {} {}", v[0], v[1], v[2])
        },
        set: set_oom_values,
    },
    p_str!("aclfile", aclfile, false),
    p_int!("acllog-max-len", &[], acllog_max_len, u64, 0, MAX, true),
    p_enum!(
        "acl-pubsub-default",
        acl_pubsub_default,
        PUBSUB_DEFAULT,
        true
    ),
    // CONFIG SET of these rebuilds the TLS configuration or the listener
    // (server::listen::config_set).
    p_int!("tls-port", &[], tls_port, u16, 0, 65535, true),
    p_str!("tls-cert-file", tls_cert_file, true),
    p_str!("tls-key-file", tls_key_file, true),
    p_str!("tls-key-file-pass", tls_key_file_pass, true),
    p_str!("tls-client-cert-file", tls_client_cert_file, true),
    p_str!("tls-client-key-file", tls_client_key_file, true),
    p_str!("tls-client-key-file-pass", tls_client_key_file_pass, true),
    p_str!("tls-dh-params-file", tls_dh_params_file, true),
    p_bool!("tls-replication", tls_replication, true),
    p_bool!("tls-cluster", tls_cluster, true),
    p_str!("tls-ca-cert-file", tls_ca_cert_file, true),
    p_str!("tls-ca-cert-dir", tls_ca_cert_dir, true),
    p_enum!("tls-auth-clients", tls_auth_clients, TLS_AUTH_CLIENTS, true),
    p_str!("tls-protocols", tls_protocols, true),
    p_str!("tls-ciphersuites", tls_ciphersuites, true),
    p_str!("tls-ciphers", tls_ciphers, true),
    p_bool!("tls-prefer-server-ciphers", tls_prefer_server_ciphers, true),
    p_bool!("tls-session-caching", tls_session_caching, true),
    p_int!(
        "tls-session-cache-size",
        &[],
        tls_session_cache_size,
        u64,
        0,
        IMAX,
        true
    ),
    p_int!(
        "tls-session-cache-timeout",
        &[],
        tls_session_cache_timeout,
        u64,
        0,
        IMAX,
        true
    ),
];

/// Every parameter: Ember's ([`PARAMS`]), then Redis's that Ember accepts
/// without using ([`compat::PARAMS`]).
pub fn params() -> impl Iterator<Item = &'static Param> {
    PARAMS.iter().chain(compat::PARAMS)
}

/// Find a parameter by name or alias (case-insensitive).
pub fn find_param(name: &str) -> Option<&'static Param> {
    let name = name.to_ascii_lowercase();
    params().find(|p| p.name == name || p.aliases.contains(&name.as_str()))
}

thread_local! {
    /// While the startup configuration is read ([`Config::from_args`]):
    /// whether a `save` line was seen yet. None otherwise (CONFIG SET).
    static SAVE_SEEN: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Marks the startup configuration as being read, until dropped.
struct ReadingConfig;

impl ReadingConfig {
    fn begin() -> ReadingConfig {
        SAVE_SEEN.with(|s| s.set(Some(false)));
        ReadingConfig
    }
}

impl Drop for ReadingConfig {
    fn drop(&mut self) {
        SAVE_SEEN.with(|s| s.set(None));
    }
}

/// A configuration error, worded like Redis's fatal config error.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn fatal(line_no: usize, line: &str, reason: &str, source: &str) -> ConfigError {
    ConfigError(format!(
        "\n*** FATAL CONFIG FILE ERROR (Ember {}) ***\nReading the configuration file{source}, at line {line_no}\n>>> '{}'\n{reason}",
        crate::EMBER_VERSION,
        line.trim()
    ))
}

impl Config {
    /// Apply configuration text in redis.conf syntax. `source` names where it
    /// came from (for errors); `base` resolves relative `include` paths.
    pub fn apply_text(
        &mut self,
        text: &str,
        source: &str,
        depth: usize,
    ) -> Result<(), ConfigError> {
        self.apply_text_with(text, source, depth, &mut |path| {
            std::fs::read_to_string(path).map_err(|e| e.to_string())
        })
    }

    /// [`Config::apply_text`] with `include` files read by `read_include`
    /// (the path as written → the file's text, or why not): the fuzz
    /// targets parse config text without touching the file system.
    pub fn apply_text_with(
        &mut self,
        text: &str,
        source: &str,
        depth: usize,
        read_include: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<(), ConfigError> {
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut scratch = Vec::new();
            let mut ranges = Vec::new();
            if !crate::protocol::parse::split_args(trimmed.as_bytes(), &mut scratch, &mut ranges) {
                return Err(fatal(
                    i + 1,
                    line,
                    "Unbalanced quotes in configuration line",
                    source,
                ));
            }
            let words: Vec<String> = ranges
                .iter()
                .map(|r| String::from_utf8_lossy(&scratch[r.clone()]).into_owned())
                .collect();
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("include") {
                let [path] = values else {
                    return Err(fatal(
                        i + 1,
                        line,
                        "Bad directive or wrong number of arguments",
                        source,
                    ));
                };
                if depth > 16 {
                    return Err(fatal(i + 1, line, "include nested too deeply", source));
                }
                let text = read_include(path).map_err(|e| {
                    fatal(
                        i + 1,
                        line,
                        &format!("Can't open the include file: {e}"),
                        source,
                    )
                })?;
                self.apply_text_with(&text, &format!(" {path}"), depth + 1, read_include)?;
                continue;
            }
            // `user <name> <rules...>`: may repeat; applied at startup by
            // src/acl (which knows the command table).
            if name.eq_ignore_ascii_case("user") && !values.is_empty() {
                if self.users.iter().any(|u| u[0] == values[0]) {
                    return Err(fatal(
                        i + 1,
                        line,
                        &format!("Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files", values[0]),
                        source,
                    ));
                }
                self.users.push(values.to_vec());
                continue;
            }
            let Some(param) = find_param(name) else {
                return Err(fatal(
                    i + 1,
                    line,
                    "Bad directive or wrong number of arguments",
                    source,
                ));
            };
            (param.set)(self, values).map_err(|e| fatal(i + 1, line, &e, source))?;
        }
        Ok(())
    }

    /// Load a config file in redis.conf syntax on top of the current values.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "Fatal error, can't open config file '{}': {e}",
                path.display()
            ))
        })?;
        self.apply_text(&text, &format!(" {}", path.display()), 0)?;
        self.config_file = Some(path.to_path_buf());
        Ok(())
    }

    /// Build the configuration from command-line arguments, like redis-server:
    /// `[config-file] [--name value ...]`. Flags override the file. Returns
    /// `Ok(None)` after printing `--help`/`--version`.
    pub fn from_args(args: &[String]) -> Result<CliOutcome, ConfigError> {
        let _reading = ReadingConfig::begin();
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = rest.first() {
            match first.as_str() {
                "-h" | "--help" => return Ok(CliOutcome::Help),
                "-v" | "--version" => return Ok(CliOutcome::Version),
                f if !f.starts_with('-') => {
                    config.load_file(Path::new(f))?;
                    rest = &rest[1..];
                }
                _ => {}
            }
        }
        // As redis-server builds its option text: `--name` starts a line
        // (`--name value` in one argument is that line as is); the other
        // arguments are values, quoted. Until a `--name` alone has a value,
        // a following `--x` is its value (`--port --bla`), except that a
        // bare `--save` before another option, or last, means `save ""`.
        // Values before any `--name` form a line too (`loglevel verbose`).
        let mut text = String::new();
        let mut has_value = true;
        let mut stdin = false;
        for (i, a) in rest.iter().enumerate() {
            let last = i + 1 == rest.len();
            if a == "-" && (last || (i == 0 && rest.len() == args.len())) {
                stdin = true;
            } else if has_value && a.starts_with("--") {
                if a == "--help" {
                    return Ok(CliOutcome::Help);
                }
                if a == "--version" {
                    return Ok(CliOutcome::Version);
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&a[2..]);
                text.push(' ');
                has_value = a.split_whitespace().nth(1).is_some();
                let next_is_option = rest.get(i + 1).is_some_and(|n| n.starts_with("--"));
                if !has_value && a.eq_ignore_ascii_case("--save") && (next_is_option || last) {
                    text.push_str("\"\"");
                    has_value = next_is_option;
                }
            } else {
                text.push_str(&repr(a));
                text.push(' ');
                has_value = true;
            }
        }
        if stdin {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| ConfigError(format!("Reading config from stdin: {e}")))?;
            config.apply_text(&input, " (stdin)", 0)?;
        }
        config.apply_text(&text, " (command line)", 0)?;
        Ok(CliOutcome::Run(Box::new(config)))
    }

    /// The value of a parameter as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        find_param(name).map(|p| (p.get)(self))
    }
}

/// An argument as Redis's `sdscatrepr` writes it: always in double quotes,
/// with `\\`, `"`, control and non-ASCII bytes escaped.
fn repr(s: &str) -> String {
    let mut out = String::from("\"");
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Quote an argument so `split_args` reads it back as one word.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\')
    {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What the command line asked for.
pub enum CliOutcome {
    Run(Box<Config>),
    Help,
    Version,
}

/// Text of `CONFIG REWRITE`: the original file with every known directive set
/// to its current value (first occurrence kept, later ones dropped), and
/// directives that differ from the default appended (`all`: every other
/// directive too, as DEBUG CONFIG-REWRITE-FORCE-ALL writes them).
pub fn rewrite_text(original: &str, config: &Config, all: bool) -> String {
    let defaults = Config::default();
    let mut done: Vec<&'static str> = Vec::new();
    let mut out = String::new();
    for line in original.lines() {
        let word = line.split_whitespace().next().unwrap_or("");
        let param = (!line.trim_start().starts_with('#'))
            .then(|| find_param(word))
            .flatten();
        match param {
            Some(p) if done.contains(&p.name) => {}
            Some(p) => {
                done.push(p.name);
                let _ = writeln!(out, "{} {}", p.name, quote(&(p.get)(config)));
            }
            None if line.trim() == "# Generated by CONFIG REWRITE" => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let mut header = false;
    for p in params() {
        if done.contains(&p.name) || (!all && (p.get)(config) == (p.get)(&defaults)) {
            continue;
        }
        if !header {
            out.push_str("# Generated by CONFIG REWRITE\n");
            header = true;
        }
        let _ = writeln!(out, "{} {}", p.name, quote(&(p.get)(config)));
    }
    out
}

/// The live configuration.
pub struct ConfigStore {
    inner: RwLock<Config>,
    proto_max_bulk_len: AtomicU64,
    query_buffer_limit: AtomicU64,
    maxclients: AtomicU64,
    hz: AtomicU32,
    timeout: AtomicU64,
    auth_required: AtomicBool,
    zset_max_entries: AtomicU64,
    zset_max_value: AtomicU64,
    hll_sparse_max: AtomicU64,
    stream_node_bytes: AtomicU64,
    stream_node_entries: AtomicU64,
    hash_max_entries: AtomicU64,
    hash_max_value: AtomicU64,
    set_max_intset: AtomicU64,
    set_max_entries: AtomicU64,
    set_max_value: AtomicU64,
    list_max_size: std::sync::atomic::AtomicI64,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD (not a parameter; 1 GB).
    pub list_packed_threshold: AtomicU64,
    maxmemory: AtomicU64,
    /// [`crate::evict::Policy`] as its index.
    policy: AtomicU32,
    samples: AtomicU32,
    tenacity: AtomicU32,
    /// Values the Pub/Sub registry reads without the config lock
    /// (`notify-keyspace-events`, the pubsub output buffer limit).
    pub pubsub: std::sync::Arc<crate::pubsub::Shared>,
    slowlog_slower_than: std::sync::atomic::AtomicI64,
    latency_threshold: AtomicU64,
    latency_tracking: AtomicBool,
    /// min-replicas-to-write when the check is on (with a max lag), else 0.
    min_replicas: AtomicU64,
    /// Online replicas within min-replicas-max-lag (src/replication).
    good_replicas: AtomicU64,
}

impl ConfigStore {
    pub fn new(c: Config) -> Self {
        let store = ConfigStore {
            proto_max_bulk_len: AtomicU64::new(0),
            query_buffer_limit: AtomicU64::new(0),
            maxclients: AtomicU64::new(0),
            hz: AtomicU32::new(0),
            timeout: AtomicU64::new(0),
            auth_required: AtomicBool::new(false),
            zset_max_entries: AtomicU64::new(0),
            zset_max_value: AtomicU64::new(0),
            hll_sparse_max: AtomicU64::new(0),
            stream_node_bytes: AtomicU64::new(0),
            stream_node_entries: AtomicU64::new(0),
            hash_max_entries: AtomicU64::new(0),
            hash_max_value: AtomicU64::new(0),
            set_max_intset: AtomicU64::new(0),
            set_max_entries: AtomicU64::new(0),
            set_max_value: AtomicU64::new(0),
            list_max_size: std::sync::atomic::AtomicI64::new(0),
            list_packed_threshold: AtomicU64::new(crate::types::list::DEFAULT_PACKED_THRESHOLD),
            maxmemory: AtomicU64::new(0),
            policy: AtomicU32::new(0),
            samples: AtomicU32::new(5),
            tenacity: AtomicU32::new(10),
            pubsub: Default::default(),
            slowlog_slower_than: std::sync::atomic::AtomicI64::new(-1),
            latency_threshold: AtomicU64::new(0),
            latency_tracking: AtomicBool::new(false),
            min_replicas: AtomicU64::new(0),
            good_replicas: AtomicU64::new(0),
            inner: RwLock::new(c),
        };
        store.refresh_hot();
        store
    }

    /// A copy of the whole configuration.
    pub fn snapshot(&self) -> Config {
        self.inner.read().clone()
    }

    /// Read a value under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&Config) -> R) -> R {
        f(&self.inner.read())
    }

    /// Change values under the lock, then refresh the atomics.
    pub fn update<R>(&self, f: impl FnOnce(&mut Config) -> R) -> R {
        let r = f(&mut self.inner.write());
        self.refresh_hot();
        r
    }

    fn refresh_hot(&self) {
        let c = self.inner.read();
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Relaxed);
        self.query_buffer_limit
            .store(c.client_query_buffer_limit, Relaxed);
        self.maxclients.store(c.maxclients, Relaxed);
        self.hz.store(c.hz.clamp(1, 500), Relaxed);
        self.timeout.store(c.timeout, Relaxed);
        self.auth_required.store(c.requirepass.is_some(), Relaxed);
        self.zset_max_entries
            .store(c.zset_max_listpack_entries, Relaxed);
        self.zset_max_value
            .store(c.zset_max_listpack_value, Relaxed);
        self.hll_sparse_max.store(c.hll_sparse_max_bytes, Relaxed);
        self.stream_node_bytes
            .store(c.stream_node_max_bytes, Relaxed);
        self.stream_node_entries
            .store(c.stream_node_max_entries, Relaxed);
        self.hash_max_entries
            .store(c.hash_max_listpack_entries, Relaxed);
        self.hash_max_value
            .store(c.hash_max_listpack_value, Relaxed);
        self.set_max_intset.store(c.set_max_intset_entries, Relaxed);
        self.set_max_entries
            .store(c.set_max_listpack_entries, Relaxed);
        self.set_max_value.store(c.set_max_listpack_value, Relaxed);
        self.list_max_size.store(c.list_max_listpack_size, Relaxed);
        self.slowlog_slower_than
            .store(c.slowlog_log_slower_than, Relaxed);
        self.latency_threshold
            .store(c.latency_monitor_threshold, Relaxed);
        self.latency_tracking.store(c.latency_tracking, Relaxed);
        self.min_replicas.store(
            if c.min_replicas_max_lag > 0 {
                c.min_replicas_to_write
            } else {
                0
            },
            Relaxed,
        );
        let policy = crate::evict::Policy::from_name(&c.maxmemory_policy);
        self.maxmemory.store(c.maxmemory, Relaxed);
        self.policy.store(policy as u32, Relaxed);
        self.samples
            .store(c.maxmemory_samples.clamp(1, 64) as u32, Relaxed);
        self.tenacity
            .store(c.maxmemory_eviction_tenacity.min(100) as u32, Relaxed);
        let ps = &self.pubsub;
        ps.notify_flags.store(c.notify_keyspace_events, Relaxed);
        let (hard, soft, secs) = c.client_output_buffer_limit[2];
        ps.hard_limit.store(hard, Relaxed);
        ps.soft_limit.store(soft, Relaxed);
        ps.soft_seconds.store(secs, Relaxed);
        ps.tracking_max_keys
            .store(c.tracking_table_max_keys, Relaxed);
        let (hard, soft, secs) = c.client_output_buffer_limit[0];
        ps.normal[0].store(hard, Relaxed);
        ps.normal[1].store(soft, Relaxed);
        ps.normal[2].store(secs, Relaxed);
        ps.client_mem_limit.store(
            crate::server::client_evict::limit(c.maxmemory_clients, c.maxmemory),
            Relaxed,
        );
        crate::keyspace::access::set_lru_policy(matches!(
            policy,
            crate::evict::Policy::AllKeysLru | crate::evict::Policy::VolatileLru
        ));
        crate::keyspace::access::configure(
            policy.is_lfu(),
            c.lfu_log_factor.min(u32::MAX as u64) as u32,
            c.lfu_decay_time.min(u32::MAX as u64) as u32,
        );
    }

    /// Writes are refused for want of good replicas (Redis's
    /// `checkGoodReplicasStatus` failing: fewer than min-replicas-to-write
    /// online replicas acknowledged within min-replicas-max-lag seconds).
    #[inline]
    pub fn no_good_replicas(&self) -> bool {
        let min = self.min_replicas.load(Relaxed);
        min > 0 && self.good_replicas.load(Relaxed) < min
    }

    /// INFO `min_slaves_good_slaves`, when the check is on.
    pub fn good_replicas(&self) -> Option<u64> {
        (self.min_replicas.load(Relaxed) > 0).then(|| self.good_replicas.load(Relaxed))
    }

    /// The replication cron's count of good replicas.
    pub fn set_good_replicas(&self, n: u64) {
        self.good_replicas.store(n, Relaxed);
    }

    /// `maxmemory` in bytes (0: no limit).
    #[inline]
    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Relaxed)
    }
    /// `maxmemory-policy`.
    #[inline]
    pub fn policy(&self) -> crate::evict::Policy {
        crate::evict::Policy::from_index(self.policy.load(Relaxed))
    }
    /// `maxmemory-samples` (1..=64).
    #[inline]
    pub fn maxmemory_samples(&self) -> usize {
        self.samples.load(Relaxed) as usize
    }
    /// `maxmemory-eviction-tenacity` (0..=100).
    #[inline]
    pub fn eviction_tenacity(&self) -> u32 {
        self.tenacity.load(Relaxed)
    }

    /// `stream-node-max-bytes` and `stream-node-max-entries`.
    pub fn stream_node_limits(&self) -> crate::types::stream::NodeLimits {
        crate::types::stream::NodeLimits {
            max_bytes: self.stream_node_bytes.load(Relaxed) as usize,
            max_entries: self.stream_node_entries.load(Relaxed) as usize,
        }
    }

    /// `hll-sparse-max-bytes`.
    pub fn hll_sparse_max(&self) -> usize {
        self.hll_sparse_max.load(Relaxed) as usize
    }

    #[inline]
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.proto_max_bulk_len.load(Relaxed)
    }
    #[inline]
    pub fn query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Relaxed)
    }
    #[inline]
    pub fn maxclients(&self) -> u64 {
        self.maxclients.load(Relaxed)
    }
    /// `busy-reply-threshold` in ms (read only while a script runs).
    pub fn busy_reply_threshold(&self) -> u64 {
        self.inner.read().busy_reply_threshold
    }
    #[inline]
    pub fn hz(&self) -> u32 {
        self.hz.load(Relaxed)
    }
    /// `slowlog-log-slower-than` in µs (negative: off).
    #[inline]
    pub fn slowlog_slower_than(&self) -> i64 {
        self.slowlog_slower_than.load(Relaxed)
    }
    /// `latency-monitor-threshold` in ms (0: off).
    #[inline]
    pub fn latency_threshold(&self) -> u64 {
        self.latency_threshold.load(Relaxed)
    }
    #[inline]
    pub fn latency_tracking(&self) -> bool {
        self.latency_tracking.load(Relaxed)
    }
    /// `timeout`: seconds after which an idle client is closed (0: never).
    #[inline]
    pub fn timeout(&self) -> u64 {
        self.timeout.load(Relaxed)
    }
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Relaxed)
    }
    /// `zset-max-listpack-entries` / `-value`.
    #[inline]
    pub fn zset_limits(&self) -> crate::types::Limits {
        crate::types::Limits {
            max_entries: self.zset_max_entries.load(Relaxed) as usize,
            max_value: self.zset_max_value.load(Relaxed) as usize,
        }
    }
    /// `hash-max-listpack-entries` / `-value`.
    #[inline]
    pub fn hash_limits(&self) -> crate::types::Limits {
        crate::types::Limits {
            max_entries: self.hash_max_entries.load(Relaxed) as usize,
            max_value: self.hash_max_value.load(Relaxed) as usize,
        }
    }
    /// `set-max-intset-entries` and `set-max-listpack-entries` / `-value`.
    #[inline]
    pub fn set_limits(&self) -> crate::types::SetLimits {
        crate::types::SetLimits {
            max_intset: self.set_max_intset.load(Relaxed) as usize,
            max_entries: self.set_max_entries.load(Relaxed) as usize,
            max_value: self.set_max_value.load(Relaxed) as usize,
        }
    }
    /// `list-max-listpack-size`: positive, entries per node; -1..-5, a node
    /// size of 4, 8, 16, 32 or 64 KB.
    #[inline]
    pub fn list_max_size(&self) -> i64 {
        self.list_max_size.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("2MB"), Some(2 << 20));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1x"), None);
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory(""), None);
    }

    #[test]
    fn file_syntax_and_errors() {
        let mut c = Config::default();
        c.apply_text(
            "# comment\n\nport 7000\nmaxmemory 1mb\nrequirepass \"a b\"\nsave \"\"\nhash-max-ziplist-entries 7\nbind 0.0.0.0 ::\n",
            "",
            0,
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.maxmemory, 1 << 20);
        assert_eq!(c.requirepass.as_deref(), Some(&b"a b"[..]));
        assert_eq!(c.save, "");
        assert_eq!(c.hash_max_listpack_entries, 7);
        assert_eq!(c.bind, vec!["0.0.0.0", "::"]);
        let e = c
            .apply_text("port 1\nfoo bar\n", " test.conf", 0)
            .unwrap_err()
            .0;
        assert!(e.contains("FATAL CONFIG FILE ERROR"), "{e}");
        assert!(e.contains("test.conf, at line 2"), "{e}");
        assert!(e.contains(">>> 'foo bar'"), "{e}");
        assert!(
            e.contains("Bad directive or wrong number of arguments"),
            "{e}"
        );
        let e = c.apply_text("appendonly maybe", "", 0).unwrap_err().0;
        assert!(e.contains("argument must be 'yes' or 'no'"), "{e}");
        let e = c.apply_text("port \"unbalanced", "", 0).unwrap_err().0;
        assert!(e.contains("Unbalanced quotes"), "{e}");
    }

    /// Lines of Redis 7.2's own redis.conf for what Ember lacks load; those
    /// that would ask for a missing feature stop the start with the reason.
    #[test]
    fn redis_conf_parameters_ember_does_not_use() {
        let mut c = Config::default();
        let text = "repl-diskless-sync yes\nreplica-read-only yes\nactiverehashing yes\n\
                    always-show-logo yes\ncluster-enabled no\nactivedefrag no\n\
                    oom-score-adj-values 0 200 800\nslave-serve-stale-data yes\n\
                    stream-node-max-bytes 4kb\nshutdown-on-sigterm force nosave\n";
        c.apply_text(text, " redis.conf", 0).unwrap();
        assert_eq!(c.shutdown_on_sigterm, "nosave force");
        // Kept only where not at Redis's default.
        let kept: Vec<&str> = c.compat.keys().copied().collect();
        assert_eq!(kept, vec!["always-show-logo"]);
        for (line, why) in [
            ("cluster-enabled yes", "Ember has no cluster mode"),
            (
                "unixsocket /run/redis.sock",
                "Ember does not listen on Unix sockets",
            ),
            ("syslog-enabled yes", "Ember does not log to syslog"),
            ("oom-score-adj-values 0 200", "wrong number of arguments"),
            ("oom-score-adj-values 0 200 2001", "between -2000 and 2000"),
        ] {
            let e = c.apply_text(line, "", 0).unwrap_err().0;
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    /// As redis-server reads its config: the first `save` replaces the
    /// defaults, later lines (and `--save`) add points, `save ""` clears.
    #[test]
    fn save_lines_add_up_while_the_config_is_read() {
        let dir = std::env::temp_dir().join(format!("ember-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.conf");
        std::fs::write(&file, "save 900 1\nsave 300 10\nsave 60 10000\n").unwrap();
        let run = |args: &[&str]| -> String {
            let mut all = vec![file.to_str().unwrap().to_string()];
            all.extend(args.iter().map(|s| s.to_string()));
            match Config::from_args(&all).unwrap() {
                CliOutcome::Run(c) => c.save,
                _ => panic!("expected a config"),
            }
        };
        assert_eq!(run(&[]), "900 1 300 10 60 10000");
        assert_eq!(
            run(&["--save", "100", "100"]),
            "900 1 300 10 60 10000 100 100"
        );
        assert_eq!(run(&["--save", ""]), "");
        assert_eq!(run(&["--save", "", "--save", "5", "5"]), "5 5");
        // Without any `save`, the defaults; CONFIG SET replaces.
        let mut c = match Config::from_args(&[]).unwrap() {
            CliOutcome::Run(c) => *c,
            _ => panic!("expected a config"),
        };
        assert_eq!(c.save, Config::default().save);
        (find_param("save").unwrap().set)(&mut c, &["1 1".into()]).unwrap();
        (find_param("save").unwrap().set)(&mut c, &["2 2".into()]).unwrap();
        assert_eq!(c.save, "2 2");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn command_line_overrides_file() {
        let dir = std::env::temp_dir().join(format!("ember-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inc = dir.join("inc.conf");
        std::fs::write(&inc, "hz 20\n").unwrap();
        let main = dir.join("main.conf");
        std::fs::write(
            &main,
            format!("port 7001\ninclude {}\ndatabases 4\n", inc.display()),
        )
        .unwrap();
        let args: Vec<String> = [
            main.to_str().unwrap(),
            "--port",
            "7002",
            "--save",
            "900",
            "1",
            "--loglevel",
            "warning",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let CliOutcome::Run(c) = Config::from_args(&args).unwrap() else {
            panic!("expected a config");
        };
        assert_eq!((c.port, c.hz, c.databases), (7002, 20, 4));
        assert_eq!(c.save, "900 1");
        assert_eq!(c.loglevel, "warning");
        assert_eq!(c.config_file.as_deref(), Some(main.as_path()));
        assert!(matches!(
            Config::from_args(&["--version".into()]),
            Ok(CliOutcome::Version)
        ));
        assert!(Config::from_args(&["--nope".into(), "1".into()]).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The command line is read as redis-server reads it (its
    /// introspection tests' cases): `--name value` in one argument, values
    /// that start with `--`, a bare `--save`, values before any `--name`,
    /// and errors that show the line as Redis builds it.
    #[test]
    fn command_line_as_redis_server_reads_it() {
        let run = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            match Config::from_args(&args) {
                Ok(CliOutcome::Run(c)) => Ok(c),
                Ok(_) => panic!("help or version"),
                Err(e) => Err(e.0),
            }
        };
        let c = run(&["--maxmemory 700mb", "--maxmemory-policy volatile-lru"]).unwrap();
        assert_eq!(
            (c.maxmemory, c.maxmemory_policy.as_str()),
            (734003200, "volatile-lru")
        );
        // After the config file, values before any `--name` are a line.
        let file = std::env::temp_dir().join(format!("ember-cli-{}.conf", std::process::id()));
        std::fs::write(&file, "hz 11\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let c = run(&[&path, "loglevel", "verbose", "--maxmemory '700mb'"]).unwrap();
        assert_eq!(
            (c.loglevel.as_str(), c.maxmemory, c.hz),
            ("verbose", 734003200, 11)
        );
        std::fs::remove_file(&file).ok();
        let c = run(&["--logfile", "--my--log", "--loglevel", "verbose"]).unwrap();
        assert_eq!(
            (c.logfile.as_str(), c.loglevel.as_str()),
            ("--my--log", "verbose")
        );
        for args in [
            &["--save", "--loglevel", "verbose"][..],
            &["--loglevel", "verbose", "--save"],
            &["--save", "", "--loglevel", "verbose"],
        ] {
            let c = run(args).unwrap();
            assert_eq!(
                (c.save.as_str(), c.loglevel.as_str()),
                ("", "verbose"),
                "{args:?}"
            );
        }
        let c = run(&["--logfile", "--save", "--save", "", "--loglevel", "verbose"]).unwrap();
        assert_eq!((c.logfile.as_str(), c.save.as_str()), ("--save", ""));
        let c = run(&["--shutdown-on-sigint", "nosave", "force", "now"]).unwrap();
        assert_eq!(c.shutdown_on_sigint, "nosave now force");
        for (args, want) in [
            (&["--port", "6379", "6380"][..], "'port \"6379\" \"6380\"'"),
            (
                &["--port", "--loglevel", "verbose"],
                "'port \"--loglevel\" \"verbose\"'",
            ),
            (
                &["--port", "--bla", "--loglevel", "x"],
                "couldn't be parsed into an integer",
            ),
            (&["--shutdown-on-sigint"], "must be one of the following"),
            (&["--replicaof", "127.0.0.1", "abc"], "Invalid master port"),
            (
                &["--replicaof", "--127.0.0.1", "--abc"],
                "wrong number of arguments",
            ),
        ] {
            let e = run(args).map(|_| ()).unwrap_err();
            assert!(e.contains(want), "{args:?}: {e}");
        }
        run(&["--replicaof", "no", "one"]).unwrap();
        let c = run(&["--replicaof", "10.0.0.1", "6379"]).unwrap();
        assert_eq!(
            c.compat.get("replicaof").map(String::as_str),
            Some("10.0.0.1 6379")
        );
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_values() {
        let c = Config {
            port: 7005,
            maxmemory: 100,
            ..Config::default()
        };
        let text = rewrite_text("# my server\nport 6379\nport 6380\nhz 10\n", &c, false);
        assert_eq!(
            text,
            "# my server\nport 7005\nhz 10\n# Generated by CONFIG REWRITE\nmaxmemory 100\n"
        );
        let mut back = Config::default();
        back.apply_text(&text, "", 0).unwrap();
        assert_eq!((back.port, back.maxmemory), (7005, 100));
    }

    /// DEBUG CONFIG-REWRITE-FORCE-ALL: every directive is written, and the
    /// file loads back to the same values.
    #[test]
    fn rewrite_of_every_directive_loads_back() {
        let c = Config {
            port: 7005,
            save: "900 1 300 10".into(),
            ..Config::default()
        };
        let text = rewrite_text("port 6379\n", &c, true);
        let mut back = Config::default();
        back.apply_text(&text, "", 0).unwrap();
        for p in params() {
            assert!(
                text.lines().any(|l| l.split(' ').next() == Some(p.name)),
                "{} missing",
                p.name
            );
            assert_eq!((p.get)(&back), (p.get)(&c), "{}:\n{text}", p.name);
        }
    }
}
