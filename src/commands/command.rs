//! COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS / GETKEYSANDFLAGS /
//! HELP — all read from the command table.
//!
//! What Redis 7.2 says beyond our table — key specs and tips (INFO), argument
//! trees, history and doc flags (DOCS), and the key specs GETKEYS applies —
//! comes from [`cmdmeta`](super::cmdmeta) data generated from Redis's command
//! JSON. For a command Redis does not have, `COMMAND DOCS` argument trees are
//! derived from the entry's redis.io-style syntax string (`key value [NX | XX] [EX seconds | PX milliseconds]`) by
//! [`parse_syntax`]: lower-case words are named arguments, UPPER-CASE words
//! tokens, `[...]` optional, `a | b` alternatives, `...` repetition.

use super::cmdmeta::{self, ks, Begin, Find, KeySpec, Meta};
use super::{acl, flags, flags::*, Command, Ctx, TableEntry};
use crate::error::{CmdError, CmdResult};
use crate::glob;
use crate::protocol::{Args, Reply};
use crate::util::eq_ic;

pub const COMMANDS: &[Command] = &[Command::new("command", -1, command)
    .flags(LOADING | STALE)
    .acl(acl::CONNECTION)
    .group("server")
    .doc(
        "2.8.13",
        "O(N) where N is the total number of Redis commands",
        "Returns detailed information about all commands.",
        "",
    )
    .subcommands(SUBS)];

const F: u32 = LOADING | STALE;

const SUBS: &[Command] = &[
    Command::new("command|count", 2, count)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc("2.8.13", "O(1)", "Returns a count of commands.", ""),
    Command::new("command|info", -2, info)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "2.8.13",
            "O(N) where N is the number of commands to look up",
            "Returns information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        ),
    Command::new("command|docs", -2, docs)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "7.0.0",
            "O(N) where N is the number of commands to look up",
            "Returns documentary information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        ),
    Command::new("command|list", -2, list)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "7.0.0",
            "O(N) where N is the total number of Redis commands",
            "Returns a list of command names.",
            "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
        ),
    Command::new("command|getkeys", -3, getkeys)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "2.8.13",
            "O(N) where N is the number of arguments to the command",
            "Extracts the key names from an arbitrary command.",
            "command [arg [arg ...]]",
        ),
    Command::new("command|getkeysandflags", -3, getkeysandflags)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "7.0.0",
            "O(N) where N is the number of arguments to the command",
            "Extracts the key names and access flags for an arbitrary command.",
            "command [arg [arg ...]]",
        ),
    Command::new("command|help", 2, help)
        .flags(F)
        .acl(acl::CONNECTION)
        .group("server")
        .doc(
            "5.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands.",
            "",
        ),
];

/// `COMMAND` with no subcommand lists everything; with one, the container
/// dispatch in `mod.rs` never reaches here.
fn command(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let table = &ctx.server.commands;
    let top = table.top_level();
    ctx.out.array(top.len());
    for e in top {
        write_info(ctx.out, table, e);
    }
    Ok(())
}

fn count(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.server.commands.top_level().len() as i64);
    Ok(())
}

/// The flags COMMAND INFO shows, in Redis's order; `may_replicate` is
/// hidden on purpose, as Redis hides it.
const INFO_FLAGS: &[u32] = &[
    WRITE,
    READONLY,
    DENYOOM,
    ADMIN,
    PUBSUB,
    NOSCRIPT,
    BLOCKING,
    LOADING,
    STALE,
    SKIP_MONITOR,
    SKIP_SLOWLOG,
    FAST,
    NO_AUTH,
    NO_MANDATORY_KEYS,
    NO_ASYNC_LOADING,
    NO_MULTI,
    MOVABLE_KEYS,
    ALLOW_BUSY,
];

fn write_info(out: &mut Reply, table: &super::CommandTable, e: &TableEntry) {
    let c = e.cmd;
    let meta = cmdmeta::lookup(c.name);
    // Redis derives first/last/step and `movablekeys` from the key specs.
    let (first, last, step) = meta.map_or((c.first_key, c.last_key, c.key_step), |m| m.keys);
    let mut cflags = c.flags;
    if let Some(m) = meta {
        cflags = (cflags & !MOVABLE_KEYS) | if m.movable { MOVABLE_KEYS } else { 0 };
    }
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let fl: Vec<&str> = INFO_FLAGS
        .iter()
        .filter(|&&bit| cflags & bit != 0)
        .filter_map(|&bit| flags::NAMES.iter().find(|(b, _)| *b == bit))
        .map(|(_, n)| *n)
        .collect();
    out.set(fl.len());
    for f in fl {
        out.simple(f);
    }
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    let cats = c.acl_categories();
    let names: Vec<&str> = acl::NAMES
        .iter()
        .filter(|(bit, _)| cats & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set(names.len());
    for n in names {
        out.simple(&format!("@{n}"));
    }
    let tips = meta.map_or(&[][..], |m| m.tips);
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    let specs = meta.map_or(&[][..], |m| m.key_specs);
    out.set(specs.len());
    for k in specs {
        write_key_spec(out, k);
    }
    let mut subs: Vec<&usize> = e.subs.values().collect();
    subs.sort();
    if subs.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
    }
    for &i in subs {
        write_info(out, table, &table.entries[i]);
    }
}

fn key_flags(out: &mut Reply, flags: u16) {
    let names: Vec<&str> = ks::NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
}

/// One key spec as COMMAND INFO prints it.
fn write_key_spec(out: &mut Reply, k: &KeySpec) {
    out.map(3 + k.notes.is_some() as usize);
    if let Some(n) = k.notes {
        out.bulk(b"notes");
        out.bulk(n.as_bytes());
    }
    out.bulk(b"flags");
    key_flags(out, k.flags);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match k.begin {
        Begin::Index(i) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(i as i64);
        }
        Begin::Keyword(word, from) => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(word.as_bytes());
            out.bulk(b"startfrom");
            out.int(from as i64);
        }
        Begin::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    let (kind, fields): (&[u8], [(&[u8], i32); 3]) = match k.find {
        Find::Range {
            lastkey,
            step,
            limit,
        } => (
            b"range",
            [(b"lastkey", lastkey), (b"keystep", step), (b"limit", limit)],
        ),
        Find::Keynum {
            keynumidx,
            firstkey,
            step,
        } => (
            b"keynum",
            [
                (b"keynumidx", keynumidx),
                (b"firstkey", firstkey),
                (b"keystep", step),
            ],
        ),
        Find::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
            return;
        }
    };
    out.bulk(kind);
    out.bulk(b"spec");
    out.map(3);
    for (name, v) in fields {
        out.bulk(name);
        out.int(v as i64);
    }
}

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let table = &ctx.server.commands;
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in args.slice(2).iter() {
        match table.get_full(name) {
            Some(e) => write_info(ctx.out, table, e),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocArg {
    pub name: String,
    /// key, string, integer, double, pure-token, oneof, block.
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub args: Vec<DocArg>,
}

fn arg_kind(name: &str) -> &'static str {
    match name {
        "key" | "source" | "destination" | "newkey" => "key",
        "seconds"
        | "milliseconds"
        | "count"
        | "index"
        | "index1"
        | "index2"
        | "db"
        | "destination-db"
        | "offset"
        | "start"
        | "end"
        | "timeout"
        | "numkeys"
        | "unix-time-seconds"
        | "unix-time-milliseconds"
        | "increment"
        | "decrement"
        | "protover"
        | "client-id"
        | "maxage"
        | "cursor" => "integer",
        _ => "string",
    }
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase())
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn leaf(name: &str) -> DocArg {
    DocArg {
        name: name.to_string(),
        kind: arg_kind(name),
        token: None,
        optional: false,
        multiple: false,
        args: Vec::new(),
    }
}

/// Parse a redis.io syntax string into DOCS arguments; None if malformed.
pub fn parse_syntax(syntax: &str) -> Option<Vec<DocArg>> {
    let spaced = syntax
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('<', " < ")
        .replace('>', " > ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    let mut alts = vec![parse_seq(&toks, &mut pos)?];
    // Top-level alternatives (`LIB-NAME libname | LIB-VER libver`).
    while toks.get(pos) == Some(&"|") {
        pos += 1;
        alts.push(parse_seq(&toks, &mut pos)?);
    }
    if pos != toks.len() {
        return None;
    }
    if alts.len() == 1 {
        return alts.pop();
    }
    Some(vec![DocArg {
        name: "option".into(),
        kind: "oneof",
        token: None,
        optional: false,
        multiple: false,
        args: alts.into_iter().map(group).collect::<Option<_>>()?,
    }])
}

/// A sequence up to `]`, `|` or the end.
fn parse_seq(toks: &[&str], pos: &mut usize) -> Option<Vec<DocArg>> {
    let mut out: Vec<DocArg> = Vec::new();
    while *pos < toks.len() {
        match toks[*pos] {
            "]" | ">" | "|" => break,
            "..." => {
                out.last_mut()?.multiple = true;
                *pos += 1;
            }
            open @ ("[" | "<") => {
                // `[...]` is optional, `<...>` a required group of choices.
                let (close, optional) = if open == "[" {
                    ("]", true)
                } else {
                    (">", false)
                };
                *pos += 1;
                let mut alts = vec![parse_seq(toks, pos)?];
                while toks.get(*pos) == Some(&"|") {
                    *pos += 1;
                    alts.push(parse_seq(toks, pos)?);
                }
                if toks.get(*pos) != Some(&close) {
                    return None;
                }
                *pos += 1;
                let mut arg = if alts.len() == 1 {
                    let seq = alts.pop()?;
                    // `key [key ...]`: the repetition of the previous argument.
                    if let ([one], Some(prev)) = (seq.as_slice(), out.last_mut()) {
                        if one.multiple && one.name == prev.name && one.token.is_none() {
                            prev.multiple = true;
                            continue;
                        }
                    }
                    group(seq)?
                } else {
                    DocArg {
                        name: "option".into(),
                        kind: "oneof",
                        token: None,
                        optional: false,
                        multiple: false,
                        args: alts.into_iter().map(group).collect::<Option<_>>()?,
                    }
                };
                arg.optional = optional;
                out.push(arg);
            }
            w if is_token(w) => {
                *pos += 1;
                // A token followed by its value: one argument with a token.
                match toks.get(*pos) {
                    Some(v) if !is_token(v) && !["[", "]", "<", ">", "|", "..."].contains(v) => {
                        let mut a = leaf(v);
                        a.token = Some(w.to_string());
                        out.push(a);
                        *pos += 1;
                    }
                    _ => out.push(DocArg {
                        name: w.to_ascii_lowercase(),
                        kind: "pure-token",
                        token: Some(w.to_string()),
                        optional: false,
                        multiple: false,
                        args: Vec::new(),
                    }),
                }
            }
            w => {
                out.push(leaf(w));
                *pos += 1;
            }
        }
    }
    Some(out)
}

/// One argument, or a block holding several.
fn group(mut seq: Vec<DocArg>) -> Option<DocArg> {
    match seq.len() {
        0 => None,
        1 => seq.pop(),
        _ => {
            // `[key value ...]`: the repetition applies to the whole block.
            let multiple = seq.last().is_some_and(|a| a.multiple);
            if let Some(last) = seq.last_mut() {
                last.multiple = false;
            }
            Some(DocArg {
                name: seq[0].name.clone(),
                kind: "block",
                token: None,
                optional: false,
                multiple,
                args: seq,
            })
        }
    }
}

fn write_arg(out: &mut Reply, a: &DocArg) {
    let flags: Vec<&str> = [("optional", a.optional), ("multiple", a.multiple)]
        .iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .collect();
    let nested = !a.args.is_empty();
    let display = a.kind != "block" && a.kind != "oneof";
    let n = 2
        + a.token.is_some() as usize
        + !flags.is_empty() as usize
        + nested as usize
        + display as usize;
    out.map(n);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if display {
        out.bulk(b"display_text");
        out.bulk(a.name.as_bytes());
    }
    if let Some(t) = &a.token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if !flags.is_empty() {
        out.bulk(b"flags");
        out.set(flags.len());
        for f in flags {
            out.simple(f);
        }
    }
    if nested {
        out.bulk(b"arguments");
        out.array(a.args.len());
        for x in &a.args {
            write_arg(out, x);
        }
    }
}

/// One transcribed argument, in Redis's field order.
fn write_meta_arg(out: &mut Reply, a: &cmdmeta::Arg) {
    let nested = a.kind == "oneof" || a.kind == "block";
    let n = 2
        + (a.key_spec >= 0) as usize
        + a.token.is_some() as usize
        + a.summary.is_some() as usize
        + a.since.is_some() as usize
        + a.deprecated_since.is_some() as usize
        + (a.flags != 0) as usize
        + 1; // display_text or arguments
    out.map(n);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if !nested {
        out.bulk(b"display_text");
        out.bulk(a.display.unwrap_or(a.name).as_bytes());
    }
    if a.key_spec >= 0 {
        out.bulk(b"key_spec_index");
        out.int(a.key_spec as i64);
    }
    for (field, v) in [
        (&b"token"[..], a.token),
        (b"summary", a.summary),
        (b"since", a.since),
        (b"deprecated_since", a.deprecated_since),
    ] {
        if let Some(v) = v {
            out.bulk(field);
            out.bulk(v.as_bytes());
        }
    }
    if a.flags != 0 {
        let names: Vec<&str> = cmdmeta::arg::NAMES
            .iter()
            .filter(|(bit, _)| a.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        out.bulk(b"flags");
        out.set(names.len());
        for f in names {
            out.simple(f);
        }
    }
    if nested {
        out.bulk(b"arguments");
        out.array(a.args.len());
        for x in a.args {
            write_meta_arg(out, x);
        }
    }
}

fn write_doc(out: &mut Reply, table: &super::CommandTable, e: &TableEntry) {
    let c = e.cmd;
    let meta = cmdmeta::lookup(c.name);
    let derived;
    let args: Args2<'_> = match meta {
        Some(m) => Args2::Meta(m.args.unwrap_or_default()),
        None => {
            derived = parse_syntax(c.syntax).unwrap_or_default();
            Args2::Derived(&derived)
        }
    };
    let (summary, since, group) = meta.map_or((c.summary, c.since, c.group), |m| {
        (m.summary, m.since, m.group)
    });
    let complexity = meta.map_or(Some(c.complexity), |m| m.complexity);
    let none = Meta::NONE;
    let m = meta.unwrap_or(&none);
    let n = 2
        + complexity.is_some() as usize
        + !m.doc_flags.is_empty() as usize
        + m.deprecated_since.is_some() as usize
        + m.replaced_by.is_some() as usize
        + !m.history.is_empty() as usize
        + !args.is_empty() as usize
        + !e.subs.is_empty() as usize
        + 1;
    out.map(n);
    out.bulk(b"summary");
    out.bulk(summary.as_bytes());
    out.bulk(b"since");
    out.bulk(since.as_bytes());
    out.bulk(b"group");
    out.bulk(group.as_bytes());
    if let Some(cx) = complexity {
        out.bulk(b"complexity");
        out.bulk(cx.as_bytes());
    }
    if !m.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        out.set(m.doc_flags.len());
        for f in m.doc_flags {
            out.simple(f);
        }
    }
    if let Some(v) = m.deprecated_since {
        out.bulk(b"deprecated_since");
        out.bulk(v.as_bytes());
    }
    if let Some(v) = m.replaced_by {
        out.bulk(b"replaced_by");
        out.bulk(v.as_bytes());
    }
    if !m.history.is_empty() {
        out.bulk(b"history");
        out.set(m.history.len());
        for (version, change) in m.history {
            out.array(2);
            out.bulk(version.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    match args {
        Args2::Meta([]) | Args2::Derived([]) => {}
        Args2::Meta(list) => {
            out.bulk(b"arguments");
            out.array(list.len());
            for a in list {
                write_meta_arg(out, a);
            }
        }
        Args2::Derived(list) => {
            out.bulk(b"arguments");
            out.array(list.len());
            for a in list {
                write_arg(out, a);
            }
        }
    }
    if !e.subs.is_empty() {
        let mut subs: Vec<&usize> = e.subs.values().collect();
        subs.sort();
        out.bulk(b"subcommands");
        out.map(subs.len());
        for &i in subs {
            let s = &table.entries[i];
            out.bulk(s.cmd.name.as_bytes());
            write_doc(out, table, s);
        }
    }
}

/// A command's DOCS arguments: transcribed from Redis, or derived from our
/// syntax string for a command Redis does not have.
enum Args2<'a> {
    Meta(&'a [cmdmeta::Arg]),
    Derived(&'a [DocArg]),
}

impl Args2<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Args2::Meta(a) => a.is_empty(),
            Args2::Derived(a) => a.is_empty(),
        }
    }
}

fn docs(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let table = &ctx.server.commands;
    let entries: Vec<&TableEntry> = if args.len() == 2 {
        table.top_level().iter().collect()
    } else {
        args.slice(2)
            .iter()
            .filter_map(|n| table.get_full(n))
            .collect()
    };
    ctx.out.map(entries.len());
    for e in entries {
        ctx.out.bulk(e.cmd.name.as_bytes());
        write_doc(ctx.out, table, e);
    }
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let table = &ctx.server.commands;
    let filter: Box<dyn Fn(&Command) -> bool> = match args.len() {
        2 => Box::new(|_| true),
        5 if eq_ic(&args[2], b"filterby") => {
            let value = args.get(4).to_vec();
            if eq_ic(&args[3], b"module") {
                Box::new(|_| false)
            } else if eq_ic(&args[3], b"aclcat") {
                let cat = acl::NAMES
                    .iter()
                    .find(|(_, n)| eq_ic(n.as_bytes(), &value))
                    .map(|(b, _)| *b);
                Box::new(move |c| cat.is_some_and(|b| c.acl_categories() & b != 0))
            } else if eq_ic(&args[3], b"pattern") {
                Box::new(move |c| glob::matches(&value, c.name.as_bytes(), true))
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names: Vec<&str> = table
        .entries
        .iter()
        .filter(|e| filter(e.cmd))
        .map(|e| e.cmd.name)
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// Resolve the command given to GETKEYS and find its keys with their flags,
/// as Redis 7.2 does: by the key specs where they apply, else by the
/// command's own extraction.
fn keys_of(ctx: &Ctx<'_>, args: Args<'_>) -> Result<cmdmeta::Found, CmdError> {
    let sub = args.slice(2);
    let table = &ctx.server.commands;
    let Some(e) = table.get(sub.get(0)) else {
        return Err(CmdError::err("Invalid command specified"));
    };
    // A container named alone is looked up as itself (and has no keys).
    let e = if e.subs.is_empty() || sub.len() == 1 {
        e
    } else {
        match table.sub(e, sub.get(1)) {
            Some(s) => s,
            None => return Err(CmdError::err("Invalid command specified")),
        }
    };
    let cmd = e.cmd;
    let meta = cmdmeta::lookup(cmd.name);
    let has_keys = match meta {
        Some(m) => m.getkeys_fn || m.has_keys(),
        None => cmd.first_key > 0 || cmd.keys_fn.is_some(),
    };
    if !has_keys {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !cmd.arity_ok(sub.len()) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = match meta {
        Some(m) => cmdmeta::find_keys(m, sub),
        None => {
            let flag = if cmd.has(WRITE) { ks::RW } else { ks::RO };
            let pos = cmd.key_positions(sub);
            pos.into_iter().map(|i| (i, flag)).collect()
        }
    };
    if keys.is_empty() && !cmd.has(NO_MANDATORY_KEYS) {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(keys)
}

fn getkeys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = keys_of(ctx, args)?;
    let sub = args.slice(2);
    ctx.out.array(keys.len());
    for (i, _) in keys {
        ctx.out.bulk(sub.get(i));
    }
    Ok(())
}

fn getkeysandflags(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = keys_of(ctx, args)?;
    let sub = args.slice(2);
    ctx.out.array(keys.len());
    for (i, f) in keys {
        ctx.out.array(2);
        ctx.out.bulk(sub.get(i));
        key_flags(ctx.out, f);
    }
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.lines(LINES);
    Ok(())
}

/// The README's command table, generated from the command table: one row per
/// command or subcommand, grouped by Redis's documentation group.
pub fn markdown_table(table: &super::CommandTable) -> String {
    let mut rows: Vec<(&str, String, &str, &str)> = Vec::new();
    for e in table.top_level() {
        let c = e.cmd;
        if c.handler.is_some() {
            rows.push((c.group, c.name.to_ascii_uppercase(), c.syntax, c.summary));
        }
        let mut subs: Vec<&usize> = e.subs.values().collect();
        subs.sort();
        for &i in subs {
            let s = table.entries[i].cmd;
            let name = s.name.replace('|', " ").to_ascii_uppercase();
            rows.push((s.group, name, s.syntax, s.summary));
        }
    }
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut out = String::from("| group | command | arguments | summary |\n|---|---|---|---|\n");
    for (group, name, syntax, summary) in rows {
        let syntax = syntax.replace('|', "\\|");
        let args = if syntax.is_empty() {
            String::new()
        } else {
            format!("`{syntax}`")
        };
        out.push_str(&format!("| {group} | {name} | {args} | {summary} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_strings_become_doc_trees() {
        let a = parse_syntax("key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]")
            .unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!((a[0].name.as_str(), a[0].kind), ("key", "key"));
        assert_eq!(a[2].kind, "oneof");
        assert!(a[2].optional);
        assert_eq!(a[2].args[1].token.as_deref(), Some("XX"));
        assert_eq!(a[3].kind, "pure-token");
        assert_eq!(a[4].args[0].token.as_deref(), Some("EX"));
        assert_eq!(a[4].args[0].kind, "integer");
        let d = parse_syntax("key [key ...]").unwrap();
        assert_eq!(d.len(), 1);
        assert!(d[0].multiple && !d[0].optional);
        let m = parse_syntax("key value [key value ...]").unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].kind, "block");
        assert!(m[2].optional && m[2].multiple);
        assert!(parse_syntax("key [unclosed").is_none());
        let op = parse_syntax("<AND | OR | NOT> destkey key [key ...]").unwrap();
        assert_eq!((op[0].kind, op[0].optional), ("oneof", false));
        assert_eq!(op.len(), 3);
        let top = parse_syntax("LIB-NAME libname | LIB-VER libver").unwrap();
        assert_eq!(top[0].kind, "oneof");
        assert_eq!(top[0].args[1].token.as_deref(), Some("LIB-VER"));
        assert_eq!(parse_syntax("").unwrap(), vec![]);
    }
}
