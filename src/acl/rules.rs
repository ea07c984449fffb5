//! A user's rules: flags, passwords and selectors, what each `ACL SETUSER`
//! modifier does to them, and their canonical description (ACL LIST,
//! GETUSER, the ACL file).
//!
//! A selector is a set of permissions: a bitmap of allowed commands indexed
//! by command-table id (subcommands have their own ids), first-arguments
//! allowed for otherwise denied commands (`+select|0`), key patterns with
//! read/write access, and channel patterns. A user has a root selector (the
//! rules outside parentheses) plus any number of `(...)` selectors; a command
//! runs if any selector allows it whole.
//!
//! As in Redis 7.2, the command rules are kept as an ordered list (`rules`)
//! from which the description is produced: a new rule for a command replaces
//! earlier ones for that command (and its subcommands), so `-@all +get -get`
//! describes as `-@all -get`.

use crate::commands::{CommandTable, TableEntry};

/// Key pattern access bits.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;

/// Why a modifier was refused (Redis's errno values, with its texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    UnknownCommand,
    Syntax,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What applying rules needs from the server.
pub struct RuleCtx<'a> {
    pub table: &'a CommandTable,
    /// `acl-pubsub-default allchannels`: new selectors start with `&*`.
    pub pubsub_all: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    /// Every bit set by `+@all` and none cleared since: skip the bitmap.
    pub allcommands: bool,
    /// Set by `+@all` only: the description starts with `+@all`.
    pub future: bool,
    pub allowed: Vec<u64>,
    /// Command id → first arguments allowed while the command is denied.
    pub firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    pub keys: Vec<(Vec<u8>, u8)>,
    pub channels: Vec<Vec<u8>>,
    /// The ordered command rules (`+get`, `-@string`), for the description.
    pub rules: Vec<String>,
}

fn has_space(s: &[u8]) -> bool {
    s.iter().any(|&c| c.is_ascii_whitespace() || c == 0)
}

fn is_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl Selector {
    pub fn new(ctx: &RuleCtx<'_>, root: bool) -> Selector {
        Selector {
            root,
            allchannels: ctx.pubsub_all,
            allowed: vec![0; ctx.table.entries.len().div_ceil(64)],
            ..Selector::default()
        }
    }

    #[inline]
    pub fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// Allow or deny a command and, for a container, all its subcommands.
    fn change(&mut self, table: &CommandTable, e: &TableEntry, on: bool) {
        self.set_bit(e.id, on);
        self.firstargs.retain(|(id, _)| *id != e.id);
        for &sub in e.subs.values() {
            self.set_bit(sub, on);
        }
        let _ = table;
    }

    fn category(&mut self, table: &CommandTable, flag: u64, on: bool) {
        for e in table.top_level() {
            if e.cmd.acl_categories() & flag != 0 {
                self.change(table, e, on);
            }
            for &sub in e.subs.values() {
                let s = &table.entries[sub];
                if s.cmd.acl_categories() & flag != 0 {
                    self.change(table, s, on);
                }
            }
        }
    }

    /// Record a command rule, dropping earlier rules for the same command,
    /// category or (for a whole command) its subcommands.
    fn update_rules(&mut self, rule: &str, allow: bool) {
        let rule = rule.to_ascii_lowercase();
        self.rules.retain(|r| {
            let r = &r[1..];
            !(r == rule
                || (r.len() > rule.len()
                    && r.starts_with(&rule)
                    && r.as_bytes()[rule.len()] == b'|'))
        });
        self.rules
            .push(format!("{}{rule}", if allow { '+' } else { '-' }));
    }

    fn all_commands(&mut self, on: bool) {
        self.allowed
            .iter_mut()
            .for_each(|w| *w = if on { !0 } else { 0 });
        self.allcommands = on;
        self.future = on;
        self.rules.clear();
        self.firstargs.clear();
    }

    /// Apply one selector modifier (keys, channels, commands).
    pub fn apply(&mut self, ctx: &RuleCtx<'_>, op: &[u8]) -> Result<(), RuleError> {
        let table = ctx.table;
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::KeyAfterAll);
            }
            let mut access = 0u8;
            let mut offset = 1;
            if op[0] == b'%' {
                loop {
                    match op.get(offset).map(u8::to_ascii_uppercase) {
                        Some(b'R') if access & READ == 0 => access |= READ,
                        Some(b'W') if access & WRITE == 0 => access |= WRITE,
                        Some(b'~') if access != 0 => {
                            offset += 1;
                            break;
                        }
                        _ => return Err(RuleError::Syntax),
                    }
                    offset += 1;
                }
            } else {
                access = READ | WRITE;
            }
            let pat = &op[offset..];
            if has_space(pat) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|(p, _)| p == pat) {
                Some((_, a)) => *a |= access,
                None => self.keys.push((pat.to_vec(), access)),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pat = &op[1..];
            if has_space(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|p| p == pat) {
                self.channels.push(pat.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let e = table.get(name).ok_or(RuleError::UnknownCommand)?;
                    self.change(table, e, true);
                    self.update_rules(e.cmd.name, true);
                }
                Some(bar) => {
                    let (parent, sub) = (&name[..bar], &name[bar + 1..]);
                    let e = table.get_full(parent).ok_or(RuleError::UnknownCommand)?;
                    if e.cmd.name.contains('|') {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !e.subs.is_empty() {
                        let s = table.sub(e, sub).ok_or(RuleError::UnknownCommand)?;
                        self.change(table, s, true);
                    } else {
                        let id = e.id;
                        let i = match self.firstargs.iter().position(|(x, _)| *x == id) {
                            Some(i) => i,
                            None => {
                                self.firstargs.push((id, Vec::new()));
                                self.firstargs.len() - 1
                            }
                        };
                        let list = &mut self.firstargs[i].1;
                        if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            list.push(sub.to_vec());
                        }
                    }
                    self.update_rules(&String::from_utf8_lossy(name), true);
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let e = table.get_full(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change(table, e, false);
            self.update_rules(e.cmd.name, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let on = op[0] == b'+';
            let name = &op[2..];
            let flag = crate::commands::acl::NAMES
                .iter()
                .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
                .map(|(f, _)| *f)
                .ok_or(RuleError::UnknownCommand)?;
            self.update_rules(&String::from_utf8_lossy(&op[1..]), on);
            self.category(table, flag, on);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pat %R~pat` (GETUSER's `keys`).
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, (p, a)) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(match *a {
                READ => b"%R~",
                WRITE => b"%W~",
                _ => b"~",
            });
            out.extend_from_slice(p);
        }
        out
    }

    /// `&pat &pat` (GETUSER's `channels`).
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, p) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(p);
        }
        out
    }

    /// `+@all -get` (GETUSER's `commands`).
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.future { "+@all" } else { "-@all" });
        for r in &self.rules {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    /// The whole selector as rules: keys, channels, commands.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else if !self.keys.is_empty() {
            out.extend_from_slice(&self.describe_keys());
            out.push(b' ');
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            if !self.channels.is_empty() {
                out.extend_from_slice(&self.describe_channels());
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }
}

/// A user's flags, passwords and selectors (the root one first).
#[derive(Clone, Debug)]
pub struct UserState {
    pub enabled: bool,
    pub nopass: bool,
    pub skip_sanitize: bool,
    /// Hex SHA-256 of each password, in the order added.
    pub passwords: Vec<String>,
    pub selectors: Vec<Selector>,
}

impl UserState {
    /// A new user: off, no passwords, no permissions.
    pub fn new(ctx: &RuleCtx<'_>) -> UserState {
        UserState {
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(ctx, true)],
        }
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Apply one `ACL SETUSER` modifier.
    pub fn apply(&mut self, ctx: &RuleCtx<'_>, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is("sanitize-payload") {
            self.skip_sanitize = false;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                super::sha256::hex_digest(&op[1..])
            } else {
                if !is_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                super::sha256::hex_digest(&op[1..])
            } else {
                if !is_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            let Some(i) = self.passwords.iter().position(|p| *p == hash) else {
                return Err(RuleError::NoSuchPassword);
            };
            self.passwords.remove(i);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(ctx, false);
            let inner = &op[1..op.len() - 1];
            for part in split_args(inner).ok_or(RuleError::Syntax)? {
                s.apply(ctx, &part)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.allkeys = false;
            root.keys.clear();
            root.allchannels = ctx.pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.skip_sanitize = false;
            self.selectors.truncate(1);
            self.selectors[0].all_commands(false);
        } else {
            self.selectors[0].apply(ctx, op)?;
        }
        Ok(())
    }

    /// The canonical rule string (ACL LIST, the ACL file) without the
    /// `user <name> ` prefix.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (on, name) in [
            (self.enabled, "on"),
            (!self.enabled, "off"),
            (self.nopass, "nopass"),
            (self.skip_sanitize, "skip-sanitize-payload"),
            (!self.skip_sanitize, "sanitize-payload"),
        ] {
            if on {
                out.extend_from_slice(name.as_bytes());
                out.push(b' ');
            }
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// GETUSER's `flags`.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        v.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        v
    }
}

/// Split a selector body or an ACL file line like Redis's `sdssplitargs`
/// (quotes allowed); None on unbalanced quotes.
pub fn split_args(s: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut scratch = Vec::new();
    let mut ranges = Vec::new();
    if !crate::protocol::parse::split_args(s, &mut scratch, &mut ranges) {
        return None;
    }
    Some(ranges.into_iter().map(|r| scratch[r].to_vec()).collect())
}

/// Join selector arguments spread over several words (`(~a` `+get)`) into
/// one, as Redis's `ACLMergeSelectorArguments`. Err(i): the word at `i`
/// opens a parenthesis that is never closed.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}
