//! The shape of a command-table entry.
//!
//! One [`Command`] value per command (and per subcommand of a container such as
//! `CONFIG`) says everything the server needs to know about it: name, arity,
//! flags, key positions, ACL categories, documentation and handler. Dispatch,
//! the arity check, `COMMAND INFO/DOCS/LIST/GETKEYS`, ACL categories and the
//! README's command table are all derived from these values; nothing else
//! names a command.
//!
//! Entries are built with `const fn` builder methods so a family's table is a
//! plain `const` slice:
//!
//! ```ignore
//! Command::new("get", 2, get)
//!     .flags(READONLY | FAST)
//!     .keys(1, 1, 1)
//!     .acl(acl::STRING)
//!     .doc("1.0.0", "O(1)", "Returns the string value of a key.", "key")
//! ```

use crate::error::CmdResult;
use crate::protocol::Args;

use super::Ctx;

/// A command implementation. It validates its arguments, does its work, and
/// writes its reply to `ctx.out`; on `Err` nothing must have been written.
pub type Handler = fn(&mut Ctx<'_>, Args<'_>) -> CmdResult;

/// For commands whose keys cannot be described by first/last/step (e.g.
/// `numkeys` arguments): returns the positions of the key arguments.
pub type KeysFn = fn(Args<'_>) -> Vec<usize>;

/// Command flags, as Redis names them in `COMMAND INFO`.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLE_KEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;

    /// Flag bits with the names `COMMAND INFO` prints, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
    ];
}

/// ACL categories. Those implied by flags (`@write`, `@read`, `@admin`,
/// `@dangerous`, `@fast`/`@slow`, `@blocking`, `@pubsub`) are added
/// automatically by [`Command::acl_categories`]; an entry names only the rest.
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    /// Category names, in Redis's `ACL CAT` order.
    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// One command or subcommand.
#[derive(Clone, Copy)]
pub struct Command {
    /// Lower-case name; subcommands are `container|sub` (e.g. `config|get`).
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (name included), -N at least N.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub keys_fn: Option<KeysFn>,
    /// ACL categories beyond those implied by the flags.
    pub acl: u64,
    /// Redis's documentation group: `string`, `generic`, `connection`, `server`…
    pub group: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub summary: &'static str,
    /// Argument syntax as on redis.io (`key value [NX | XX] [GET]`); source of
    /// the `arguments` in `COMMAND DOCS`.
    pub syntax: &'static str,
    /// `None` for a container whose work is done by its subcommands.
    pub handler: Option<Handler>,
    pub subcommands: &'static [Command],
}

impl Command {
    pub const fn new(name: &'static str, arity: i32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags: 0,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            keys_fn: None,
            acl: 0,
            group: "generic",
            since: "1.0.0",
            complexity: "",
            summary: "",
            syntax: "",
            handler: Some(handler),
            subcommands: &[],
        }
    }

    /// A container (`CONFIG`, `CLIENT`…) dispatching on its first argument.
    pub const fn container(name: &'static str, subcommands: &'static [Command]) -> Command {
        Command {
            name,
            arity: -2,
            flags: 0,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            keys_fn: None,
            acl: 0,
            group: "generic",
            since: "1.0.0",
            complexity: "",
            summary: "",
            syntax: "",
            handler: None,
            subcommands,
        }
    }

    pub const fn flags(mut self, flags: u32) -> Command {
        self.flags = flags;
        self
    }

    /// Subcommands of a command that also runs on its own (`COMMAND`).
    pub const fn subcommands(mut self, subs: &'static [Command]) -> Command {
        self.subcommands = subs;
        self
    }

    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Command {
        self.first_key = first;
        self.last_key = last;
        self.key_step = step;
        self
    }

    pub const fn keys_fn(mut self, f: KeysFn) -> Command {
        self.keys_fn = Some(f);
        self.flags |= flags::MOVABLE_KEYS;
        self
    }

    pub const fn acl(mut self, categories: u64) -> Command {
        self.acl = categories;
        self
    }

    pub const fn group(mut self, group: &'static str) -> Command {
        self.group = group;
        self
    }

    /// Documentation: version introduced, complexity, summary, argument syntax.
    pub const fn doc(
        mut self,
        since: &'static str,
        complexity: &'static str,
        summary: &'static str,
        syntax: &'static str,
    ) -> Command {
        self.since = since;
        self.complexity = complexity;
        self.summary = summary;
        self.syntax = syntax;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// All ACL categories: the explicit ones plus those implied by flags, as
    /// Redis derives them (`setImplicitACLCategories`).
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.has(flags::WRITE) {
            c |= acl::WRITE;
        }
        if self.has(flags::READONLY) && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.has(flags::ADMIN) {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.has(flags::PUBSUB) {
            c |= acl::PUBSUB;
        }
        if self.has(flags::FAST) {
            c |= acl::FAST;
        }
        if self.has(flags::BLOCKING) {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    /// Positions of the key arguments in `args` (name at 0).
    pub fn key_positions(&self, args: Args<'_>) -> Vec<usize> {
        if let Some(f) = self.keys_fn {
            // Key functions read fixed positions (numkeys, subcommands) that
            // only a request of the right arity has; a short one (as
            // redis.acl_check_cmd may pass) names no key, as Redis finds
            // none in it.
            if !self.arity_ok(args.len()) {
                return Vec::new();
            }
            return f(args);
        }
        let mut out = Vec::new();
        if self.first_key <= 0 {
            return out;
        }
        let argc = args.len() as i32;
        let last = if self.last_key < 0 {
            argc + self.last_key
        } else {
            self.last_key.min(argc - 1)
        };
        let step = self.key_step.max(1);
        let mut i = self.first_key;
        while i <= last {
            out.push(i as usize);
            i += step;
        }
        out
    }
}
