//! Access control lists (Redis 7 ACLs): users, their rules, the permission
//! check `dispatch` runs before every command, authentication, ACL LOG, and
//! the ACL file.
//!
//! Users live in a name-ordered map of `Arc<User>`; a connection holds the
//! `Arc` of the user it authenticated as. A user's rules sit behind the
//! user's own lock and `ACL SETUSER` changes them in place (after checking
//! every modifier on a copy, so a bad one changes nothing), so connected
//! clients see new permissions at their next command. `ACL DELUSER` and
//! `ACL LOAD` mark the users they drop `deleted` and close their
//! connections; a deleted user's connection that still runs a pipelined
//! command is put back to the unauthenticated default user first.
//!
//! The per-command cost for an unrestricted user (the default one) is one
//! atomic load: `User::unrestricted` caches "root selector allows all
//! commands, keys and channels".

pub mod access;
pub mod log;
pub mod rules;
pub mod sha256;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::commands::{flags, CommandTable, TableEntry};
use crate::protocol::Args;
pub use log::{Context, Reason};
pub use rules::{RuleCtx, RuleError, Selector, UserState};

/// One ACL user.
#[derive(Debug)]
pub struct User {
    pub name: Vec<u8>,
    state: RwLock<UserState>,
    /// The root selector allows every command, key and channel.
    unrestricted: AtomicBool,
    /// Removed by ACL DELUSER / ACL LOAD.
    deleted: AtomicBool,
}

impl User {
    /// Whether every command, key and channel is allowed (one load).
    #[inline]
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted.load(Relaxed)
    }

    fn new(name: &[u8], state: UserState) -> User {
        let u = User {
            name: name.to_vec(),
            state: RwLock::new(state),
            unrestricted: AtomicBool::new(false),
            deleted: AtomicBool::new(false),
        };
        u.refresh();
        u
    }

    fn refresh(&self) {
        let s = self.state.read();
        let r = s.root();
        self.unrestricted
            .store(r.allcommands && r.allkeys && r.allchannels, Relaxed);
    }

    /// A copy of the rules.
    pub fn state(&self) -> UserState {
        self.state.read().clone()
    }

    /// Read the rules under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&UserState) -> R) -> R {
        f(&self.state.read())
    }

    fn replace(&self, s: UserState) {
        *self.state.write() = s;
        self.refresh();
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Relaxed)
    }

    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A denied command: what was denied and the argument that caused it
/// (0 for the command itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub reason: Reason,
    pub pos: usize,
}

impl Denied {
    /// The text after `NOPERM ` (`verbose`: ACL DRYRUN's form).
    pub fn message(&self, user: &User, cmd_name: &str, args: Args<'_>, verbose: bool) -> String {
        let what = String::from_utf8_lossy(args.get(self.pos));
        match (self.reason, verbose) {
            (Reason::Key, false) => "No permissions to access a key".into(),
            (Reason::Channel, false) => "No permissions to access a channel".into(),
            (Reason::Key, true) => format!(
                "User {} has no permissions to access the '{what}' key",
                user.name_lossy()
            ),
            (Reason::Channel, true) => format!(
                "User {} has no permissions to access the '{what}' channel",
                user.name_lossy()
            ),
            _ => format!(
                "User {} has no permissions to run the '{cmd_name}' command",
                user.name_lossy()
            ),
        }
    }
}

/// The server's users and ACL log.
pub struct Acl {
    users: RwLock<BTreeMap<Vec<u8>, Arc<User>>>,
    default: Arc<User>,
    pub log: Mutex<log::AclLog>,
    /// The default user has passwords (not nopass) or is off.
    auth_required: AtomicBool,
    pubsub_all: AtomicBool,
    log_max_len: AtomicUsize,
    /// INFO `acl_access_denied_{auth,cmd,key,channel}`, by [`Reason`].
    denied: [AtomicU64; 4],
}

/// Compare secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn default_state(ctx: &RuleCtx<'_>) -> UserState {
    let mut s = UserState::new(ctx);
    for op in ["+@all", "~*", "&*", "on", "nopass"] {
        let _ = s.apply(ctx, op.as_bytes());
    }
    s
}

/// Apply `rules` (selectors already merged) to a copy of `base`.
fn apply_all(ctx: &RuleCtx<'_>, base: UserState, rules: &[Vec<u8>]) -> Result<UserState, String> {
    let mut s = base;
    for r in rules {
        if let Err(e) = s.apply(ctx, r) {
            return Err(format!(
                "Error in ACL SETUSER modifier '{}': {}",
                String::from_utf8_lossy(r),
                e.message()
            ));
        }
    }
    Ok(s)
}

/// An I/O error as C's `strerror` words it (without Rust's "(os error N)").
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `user <name> <rules...>` lines from the config file (already split).
pub type UserLines = Vec<Vec<String>>;

impl Acl {
    /// The default user only (nopass, everything allowed).
    pub fn new(table: &CommandTable, pubsub_all: bool) -> Acl {
        let ctx = RuleCtx { table, pubsub_all };
        let default = Arc::new(User::new(b"default", default_state(&ctx)));
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), default.clone());
        let acl = Acl {
            users: RwLock::new(users),
            default,
            log: Mutex::new(log::AclLog::default()),
            auth_required: AtomicBool::new(false),
            pubsub_all: AtomicBool::new(pubsub_all),
            log_max_len: AtomicUsize::new(128),
            denied: Default::default(),
        };
        acl.refresh();
        acl
    }

    /// A user allowed everything, for the server's own clients (AOF replay):
    /// like Redis's fake clients, which have no user and skip ACL checks.
    pub fn superuser(&self, table: &CommandTable) -> Arc<User> {
        let ctx = RuleCtx {
            table,
            pubsub_all: true,
        };
        Arc::new(User::new(b"default", default_state(&ctx)))
    }

    /// The startup configuration: `requirepass`, then the `user` lines of
    /// the config file, then the ACL file (Redis's order). The errors are
    /// the ones Redis logs before exiting.
    pub fn from_config(table: &CommandTable, c: &crate::config::Config) -> Result<Acl, String> {
        let acl = Acl::new(table, c.acl_pubsub_default == "allchannels");
        acl.set_log_max_len(c.acllog_max_len as usize);
        acl.set_requirepass(table, c.requirepass.as_deref());
        if !c.aclfile.is_empty() && !c.users.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        let ctx = acl.ctx(table);
        for line in &c.users {
            let Some((name, rules)) = line.split_first() else {
                continue;
            };
            let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
            let merged = rules::merge_selectors(&rules).map_err(|i| {
                format!(
                    "Unmatched parenthesis in acl selector starting at '{}'.",
                    String::from_utf8_lossy(rules[i])
                )
            })?;
            let existing = acl.get(name.as_bytes());
            let base = match &existing {
                // Only `default` can already exist: it is reset first.
                Some(u) => {
                    let mut s = u.state();
                    let _ = s.apply(&ctx, b"reset");
                    s
                }
                None => UserState::new(&ctx),
            };
            let mut s = base;
            for r in &merged {
                s.apply(&ctx, r).map_err(|e| {
                    format!(
                        "Error loading ACL rule '{}' for the user named '{name}': {}",
                        String::from_utf8_lossy(r),
                        e.message()
                    )
                })?;
            }
            match existing {
                Some(u) => u.replace(s),
                None => {
                    acl.users.write().insert(
                        name.as_bytes().to_vec(),
                        Arc::new(User::new(name.as_bytes(), s)),
                    );
                }
            }
        }
        acl.refresh();
        if !c.aclfile.is_empty() {
            acl.load_file(table, &c.aclfile, &c.dir)
                .map(|_| ())
                .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        }
        Ok(acl)
    }

    fn ctx<'a>(&self, table: &'a CommandTable) -> RuleCtx<'a> {
        RuleCtx {
            table,
            pubsub_all: self.pubsub_all.load(Relaxed),
        }
    }

    fn refresh(&self) {
        let required = self.default.with(|s| !s.nopass || !s.enabled);
        self.auth_required.store(required, Relaxed);
    }

    /// Whether a new connection must authenticate: the default user has a
    /// password (is not `nopass`) or is off.
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Relaxed)
    }

    pub fn default_user(&self) -> Arc<User> {
        self.default.clone()
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// All users, by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    pub fn set_log_max_len(&self, n: usize) {
        self.log_max_len.store(n, Relaxed);
        self.log.lock().entries.truncate(n);
    }

    pub fn set_pubsub_default(&self, all: bool) {
        self.pubsub_all.store(all, Relaxed);
    }

    /// `requirepass`: `resetpass` then `>pass` (or `nopass` when empty) on
    /// the default user.
    pub fn set_requirepass(&self, table: &CommandTable, pass: Option<&[u8]>) {
        let ctx = self.ctx(table);
        let mut s = self.default.state();
        let _ = s.apply(&ctx, b"resetpass");
        match pass {
            Some(p) if !p.is_empty() => {
                let mut op = vec![b'>'];
                op.extend_from_slice(p);
                let _ = s.apply(&ctx, &op);
            }
            _ => {
                let _ = s.apply(&ctx, b"nopass");
            }
        }
        self.default.replace(s);
        self.refresh();
    }

    /// ACL SETUSER: all modifiers or none. Err: the error text after `ERR `.
    pub fn setuser(&self, table: &CommandTable, name: &[u8], ops: &[&[u8]]) -> Result<(), String> {
        let merged = rules::merge_selectors(ops).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(ops[i])
            )
        })?;
        let ctx = self.ctx(table);
        // The map lock serialises SETUSERs of one name (create vs create).
        let mut users = self.users.write();
        match users.get(name) {
            Some(u) => {
                let s = apply_all(&ctx, u.state(), &merged)?;
                u.replace(s);
            }
            None => {
                let s = apply_all(&ctx, UserState::new(&ctx), &merged)?;
                users.insert(name.to_vec(), Arc::new(User::new(name, s)));
            }
        }
        drop(users);
        self.refresh();
        Ok(())
    }

    /// ACL DELUSER of one user: the removed user, whose clients the caller
    /// disconnects.
    pub fn deluser(&self, name: &[u8]) -> Option<Arc<User>> {
        let u = self.users.write().remove(name)?;
        u.deleted.store(true, Relaxed);
        Some(u)
    }

    /// AUTH / HELLO AUTH: the user, if enabled and the password matches.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<User>> {
        let u = self.get(name)?;
        let ok = u.with(|s| {
            if !s.enabled {
                return false;
            }
            if s.nopass {
                return true;
            }
            let h = sha256::hex_digest(pass);
            // Every stored hash is compared, in time independent of which
            // (or where) one matches.
            s.passwords.iter().fold(false, |ok, p| {
                constant_time_eq(p.as_bytes(), h.as_bytes()) | ok
            })
        });
        ok.then_some(u)
    }

    /// Denials so far for INFO: (auth, cmd, key, channel).
    pub fn denied_counts(&self) -> [u64; 4] {
        [0, 1, 2, 3].map(|i| self.denied[i].load(Relaxed))
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.denied.iter().for_each(|d| d.store(0, Relaxed));
    }

    /// Record an event in ACL LOG (and count it for INFO).
    pub fn log_event(&self, e: log::Entry) {
        let i = match e.reason {
            Reason::Auth => 0,
            Reason::Command => 1,
            Reason::Key => 2,
            Reason::Channel => 3,
        };
        self.denied[i].fetch_add(1, Relaxed);
        let max = self.log_max_len.load(Relaxed);
        self.log.lock().add(e, crate::util::now_ms(), max);
    }

    /// ACL file text: one `user <name> <rules>` line per user.
    pub fn file_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for u in self.users() {
            out.extend_from_slice(b"user ");
            out.extend_from_slice(&u.name);
            out.push(b' ');
            out.extend_from_slice(&u.with(|s| s.describe()));
            out.push(b'\n');
        }
        out
    }

    /// ACL SAVE: write the file atomically (temp file + rename).
    pub fn save_file(&self, path: &str) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = format!(
            "{path}.tmp-{}-{}",
            std::process::id(),
            crate::util::now_ms()
        );
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.file_text())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// ACL LOAD: parse the whole file into a new user set; on any error
    /// nothing changes and the errors are returned in one line (Redis's
    /// wording). On success the users that were replaced are returned, so
    /// the caller disconnects their clients (the default user is updated in
    /// place and keeps its clients).
    /// Load users from `file` (found under `dir` when relative, as Redis
    /// finds it after its chdir; messages name it as configured).
    pub fn load_file(
        &self,
        table: &CommandTable,
        file: &str,
        dir: &str,
    ) -> Result<Vec<Arc<User>>, String> {
        let path = file;
        let text = std::fs::read(crate::config::in_dir(dir, file)).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{path}': {}",
                strerror(&e)
            )
        })?;
        let ctx = self.ctx(table);
        let mut errors = String::new();
        let mut new: BTreeMap<Vec<u8>, UserState> = BTreeMap::new();
        for (i, line) in text.split(|&c| c == b'\n').enumerate() {
            let n = i + 1;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            // Redis splits file lines on single spaces.
            let argv: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
            if argv[0] != b"user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{path}:{n} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let name = argv[1];
            if name.iter().any(|c| c.is_ascii_whitespace() || *c == 0) {
                errors.push_str(&format!(
                    "'{path}:{n}: username '{}' contains invalid characters. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            if new.contains_key(name) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {n}. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            let mut s = UserState::new(&ctx);
            match rules::merge_selectors(&argv[2..]) {
                Err(_) => errors.push_str(&format!(
                    "{path}:{n}: Unmatched parenthesis in selector definition."
                )),
                Ok(ops) => {
                    let mut syntax = false;
                    for op in ops {
                        let op = op.trim_ascii();
                        if let Err(e) = s.apply(&ctx, op) {
                            if e == RuleError::UnknownCommand {
                                errors.push_str(&format!(
                                    "{path}:{n}: Error in applying operation '{}': {}. ",
                                    String::from_utf8_lossy(op),
                                    e.message()
                                ));
                            } else if !syntax {
                                errors.push_str(&format!("{path}:{n}: {}. ", e.message()));
                                syntax = true;
                            }
                        }
                    }
                }
            }
            new.insert(name.to_vec(), s);
        }
        if !errors.is_empty() {
            errors.push_str(
                "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            );
            return Err(errors);
        }
        let default_state = new
            .remove(&b"default"[..])
            .unwrap_or_else(|| default_state(&ctx));
        let mut users = self.users.write();
        let old = std::mem::take(&mut *users);
        self.default.replace(default_state);
        users.insert(b"default".to_vec(), self.default.clone());
        for (name, s) in new {
            users.insert(name.clone(), Arc::new(User::new(&name, s)));
        }
        drop(users);
        self.refresh();
        let dropped: Vec<Arc<User>> = old
            .into_values()
            .filter(|u| !Arc::ptr_eq(u, &self.default))
            .collect();
        for u in &dropped {
            u.deleted.store(true, Relaxed);
        }
        Ok(dropped)
    }
}

/// Check that `user` may run `entry` with `args`: the command (or the
/// allowed first argument), then every key against the key patterns with
/// the access the command needs. Any selector allowing the whole command is
/// enough; otherwise the denial reported is Redis's pick: a key/channel
/// denial over a command denial, the later argument among equals.
pub fn check_command(user: &User, entry: &TableEntry, args: Args<'_>) -> Result<(), Denied> {
    if user.unrestricted.load(Relaxed) {
        return Ok(());
    }
    let cmd = entry.cmd;
    let state = user.state.read();
    let mut keys: Option<Vec<usize>> = None;
    let mut worst = Denied {
        reason: Reason::Command,
        pos: 0,
    };
    for s in &state.selectors {
        match check_selector(s, entry, args, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.reason > worst.reason || (d.reason == worst.reason && d.pos > worst.pos) {
                    worst = d;
                }
            }
        }
    }
    let _ = cmd;
    Err(worst)
}

/// Whether a selector of `user` that allows this command reads every key
/// (`allkeys`, `~*` or `%R~*`): Redis's
/// ACLUserCheckCmdWithUnrestrictedKeyAccess, which SORT's BY and GET need
/// (their patterns name keys no ACL check sees).
pub fn unrestricted_read(user: &User, entry: &TableEntry, args: Args<'_>) -> bool {
    if user.unrestricted.load(Relaxed) {
        return true;
    }
    let state = user.state.read();
    let mut keys = None;
    state.selectors.iter().any(|s| {
        check_selector(s, entry, args, &mut keys).is_ok()
            && (s.allkeys
                || s.keys
                    .iter()
                    .any(|(p, a)| a & rules::READ == rules::READ && p.as_slice() == b"*"))
    })
}

fn check_selector(
    s: &Selector,
    entry: &TableEntry,
    args: Args<'_>,
    keys: &mut Option<Vec<usize>>,
) -> Result<(), Denied> {
    let cmd = entry.cmd;
    let deny_cmd = Denied {
        reason: Reason::Command,
        pos: 0,
    };
    if !s.allcommands && !cmd.has(flags::NO_AUTH) && !s.bit(entry.id) {
        let idx = if cmd.name.contains('|') { 2 } else { 1 };
        let Some((_, allowed)) = s.firstargs.iter().find(|(id, _)| *id == entry.id) else {
            return Err(deny_cmd);
        };
        if args.len() <= idx
            || !allowed
                .iter()
                .any(|a| a.eq_ignore_ascii_case(args.get(idx)))
        {
            return Err(deny_cmd);
        }
    }
    // The shard channels of SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE sit in
    // the key positions for slot routing only (Redis's NOT_KEY key specs):
    // they are checked as channels, not keys.
    let not_keys = cmd.has(crate::commands::flags::PUBSUB);
    if !s.allkeys && !not_keys && (cmd.first_key > 0 || cmd.keys_fn.is_some()) {
        let positions = keys.get_or_insert_with(|| cmd.key_positions(args));
        for (nth, &pos) in positions.iter().enumerate() {
            if pos >= args.len() {
                continue;
            }
            let need = access::key_access(cmd, args, nth, pos);
            let key = args.get(pos);
            let ok = s
                .keys
                .iter()
                .any(|(p, a)| a & need == need && crate::glob::matches(p, key, false));
            if !ok {
                return Err(Denied {
                    reason: Reason::Key,
                    pos,
                });
            }
        }
    }
    if !s.allchannels {
        // The channels a Pub/Sub command names (Redis's getChannelsFromCommand).
        let (from, pattern) = match cmd.name {
            "publish" | "spublish" => (1..args.len().min(2), false),
            "subscribe" | "ssubscribe" => (1..args.len(), false),
            "psubscribe" => (1..args.len(), true),
            _ => (0..0, false),
        };
        for pos in from {
            let ch = args.get(pos);
            let ok = s.channels.iter().any(|p| {
                if pattern {
                    p.as_slice() == ch
                } else {
                    crate::glob::matches(p, ch, false)
                }
            });
            if !ok {
                return Err(Denied {
                    reason: Reason::Channel,
                    pos,
                });
            }
        }
    }
    Ok(())
}

/// Whether `user` may use `channel`: PUBLISH and SUBSCRIBE pass the channel
/// name (matched against the user's channel patterns), PSUBSCRIBE passes
/// its pattern with `is_pattern` (which must equal one of the user's
/// patterns literally), as Redis's `ACLUserCheckChannelPerm`.
pub fn check_channel(user: &User, channel: &[u8], is_pattern: bool) -> bool {
    if user.unrestricted.load(Relaxed) {
        return true;
    }
    user.with(|st| {
        st.selectors.iter().any(|s| {
            s.allchannels
                || s.channels.iter().any(|p| {
                    if is_pattern {
                        p == channel
                    } else {
                        crate::glob::matches(p, channel, false)
                    }
                })
        })
    })
}
