//! Which access (read, write) a command needs to each of its keys.
//!
//! Redis 7 reads this off each command's key specs (`ACCESS` → read;
//! `INSERT`, `DELETE`, `UPDATE` → write). Ember's table has no key specs, so
//! the default comes from the command's flags (READONLY → read, WRITE →
//! write) and the commands whose key specs say otherwise are listed here,
//! one access per key spec, taken from Redis 7.2's `src/commands/*.json`.
//! Key *i* of a command uses spec *min(i, last)*, which is right for every
//! command listed (their specs are in argument order, the last one repeats).
//! SET (read only with GET) and SORT (the STORE key is written, the rest
//! read) are decided from their arguments.

use super::rules::{READ, WRITE};
use crate::commands::{flags, Command};
use crate::protocol::Args;
use crate::util::eq_ic;

const R: u8 = READ;
const W: u8 = WRITE;
const RW: u8 = READ | WRITE;
/// Key specs with none of the access flags (EXISTS, TYPE…): any pattern
/// that matches the key will do.
const NONE: u8 = 0;

/// Commands whose key specs differ from what their flags imply.
const SPECS: &[(&str, &[u8])] = &[
    ("bitfield", &[RW]),
    ("bitop", &[W, R]),
    ("blmove", &[RW, W]),
    ("blmpop", &[RW]),
    ("blpop", &[RW]),
    ("brpop", &[RW]),
    ("brpoplpush", &[RW, W]),
    ("bzmpop", &[RW]),
    ("bzpopmax", &[RW]),
    ("bzpopmin", &[RW]),
    ("copy", &[R, W]),
    ("decr", &[RW]),
    ("decrby", &[RW]),
    ("eval", &[RW]),
    ("evalsha", &[RW]),
    ("exists", &[NONE]),
    ("fcall", &[RW]),
    ("geosearchstore", &[W, R]),
    ("getdel", &[RW]),
    ("getex", &[RW]),
    ("getset", &[RW]),
    ("hexists", &[NONE]),
    ("hincrby", &[RW]),
    ("hincrbyfloat", &[RW]),
    ("hlen", &[NONE]),
    ("hstrlen", &[NONE]),
    ("incr", &[RW]),
    ("incrby", &[RW]),
    ("incrbyfloat", &[RW]),
    ("llen", &[NONE]),
    ("lmove", &[RW, W]),
    ("lmpop", &[RW]),
    ("lpop", &[RW]),
    ("memory|usage", &[NONE]),
    ("migrate", &[RW]),
    ("move", &[RW]),
    ("object|encoding", &[NONE]),
    ("object|freq", &[NONE]),
    ("object|idletime", &[NONE]),
    ("object|refcount", &[NONE]),
    ("pfmerge", &[RW, R]),
    ("rename", &[RW, W]),
    ("renamenx", &[RW, W]),
    ("rpop", &[RW]),
    ("rpoplpush", &[RW, W]),
    ("scard", &[NONE]),
    ("sdiffstore", &[W, R]),
    ("setbit", &[RW]),
    ("sinterstore", &[W, R]),
    ("sismember", &[NONE]),
    ("smove", &[RW, W]),
    ("spop", &[RW]),
    ("strlen", &[NONE]),
    ("sunionstore", &[W, R]),
    ("touch", &[NONE]),
    ("type", &[NONE]),
    ("xlen", &[NONE]),
    ("zcard", &[NONE]),
    ("zdiffstore", &[W, R]),
    ("zincrby", &[RW]),
    ("zinterstore", &[W, R]),
    ("zmpop", &[RW]),
    ("zpopmax", &[RW]),
    ("zpopmin", &[RW]),
    ("zrangestore", &[W, R]),
    ("zunionstore", &[W, R]),
];

/// The access `cmd` needs to its `nth` key, at argument position `pos`.
fn bitfield_reads_only(args: Args<'_>) -> bool {
    let mut i = 2;
    while i < args.len() {
        let rest = args.len() - i - 1;
        let a = args.get(i);
        if eq_ic(a, b"get") && rest >= 2 {
            i += 3;
        } else if eq_ic(a, b"overflow") && rest >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

pub fn key_access(cmd: &Command, args: Args<'_>, nth: usize, pos: usize) -> u8 {
    match cmd.name {
        // SET's key is read only when GET returns the old value.
        "set" => {
            let get = args.iter().skip(3).any(|a| eq_ic(a, b"get"));
            return if get { RW } else { W };
        }
        // The source is read; only a STORE/STOREDIST destination is written.
        "sort" | "sort_ro" | "georadius" | "georadiusbymember" => {
            return if pos == 1 { R } else { W }
        }
        // BITFIELD only reads when all it does is GET (and OVERFLOW), as
        // Redis's bitfieldGetKeys decides; anything else (or a syntax
        // error) counts as a write.
        "bitfield" => return if bitfield_reads_only(args) { R } else { RW },
        _ => {}
    }
    if let Some((_, specs)) = SPECS.iter().find(|(n, _)| *n == cmd.name) {
        return specs[nth.min(specs.len() - 1)];
    }
    if cmd.has(flags::WRITE) {
        W
    } else if cmd.has(flags::READONLY) {
        R
    } else {
        NONE
    }
}
