//! The shape of Redis's per-command metadata (key specs, tips, argument
//! trees, history, doc flags) and the key extraction Redis does with key
//! specs. The data itself is generated into [`super::keyspecs`] from Redis
//! 7.2's `src/commands/*.json` by `scripts/gen-keyspecs.py`.
//!
//! A key spec says where a command's keys are: where to start looking
//! ([`Begin`]: a fixed index, or just after a keyword) and how many follow
//! ([`Find`]: a range, or a count read from an argument), with flags saying
//! how each key is used (read-only, overwritten, deleted…).

use crate::protocol::{parse_i64, Args};
use crate::util::eq_ic;

/// Key-spec flags, in the order COMMAND INFO prints them.
pub mod ks {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Argument flags, in the order COMMAND DOCS prints them.
pub mod arg {
    pub const OPTIONAL: u8 = 1 << 0;
    pub const MULTIPLE: u8 = 1 << 1;
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;

    pub const NAMES: &[(u8, &str)] = &[
        (OPTIONAL, "optional"),
        (MULTIPLE, "multiple"),
        (MULTIPLE_TOKEN, "multiple_token"),
    ];
}

/// Where the search for a spec's keys begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Begin {
    /// At this argument index.
    Index(i32),
    /// Just after this keyword, searched from `startfrom` (negative: from
    /// the end, backwards).
    Keyword(&'static str, i32),
    Unknown,
}

/// How many keys follow the beginning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Find {
    /// Up to `lastkey` (relative to the first key; negative: counted from
    /// the end), every `step`; with a negative `lastkey`, `limit` > 1 keeps
    /// only 1/limit of the remaining arguments.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// The count is at `keynumidx` (relative to the beginning), the keys
    /// start `firstkey` after the beginning, every `step`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

/// One argument in COMMAND DOCS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arg {
    pub name: &'static str,
    /// string, integer, double, key, pattern, unix-time, pure-token, oneof, block.
    pub kind: &'static str,
    pub display: Option<&'static str>,
    /// Index into the command's key specs, for `key` arguments; -1 if none.
    pub key_spec: i32,
    pub token: Option<&'static str>,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: u8,
    /// The choices of a `oneof`, the parts of a `block`.
    pub args: &'static [Arg],
}

impl Arg {
    pub const fn new(name: &'static str, kind: &'static str) -> Arg {
        Arg {
            name,
            kind,
            display: None,
            key_spec: -1,
            token: None,
            summary: None,
            since: None,
            deprecated_since: None,
            flags: 0,
            args: &[],
        }
    }
    pub const fn display(mut self, v: &'static str) -> Arg {
        self.display = Some(v);
        self
    }
    pub const fn key_spec(mut self, v: i32) -> Arg {
        self.key_spec = v;
        self
    }
    pub const fn token(mut self, v: &'static str) -> Arg {
        self.token = Some(v);
        self
    }
    pub const fn summary(mut self, v: &'static str) -> Arg {
        self.summary = Some(v);
        self
    }
    pub const fn since(mut self, v: &'static str) -> Arg {
        self.since = Some(v);
        self
    }
    pub const fn deprecated_since(mut self, v: &'static str) -> Arg {
        self.deprecated_since = Some(v);
        self
    }
    pub const fn flags(mut self, v: u8) -> Arg {
        self.flags = v;
        self
    }
    pub const fn args(mut self, v: &'static [Arg]) -> Arg {
        self.args = v;
        self
    }
}

/// Everything Redis 7.2 says about one command or subcommand beyond what
/// Ember's table holds (name, arity, flags, ACL categories).
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// Lower case; `container|sub` for subcommands.
    pub name: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: Option<&'static str>,
    /// `deprecated`, `syscmd`.
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    /// (version, change).
    pub history: &'static [(&'static str, &'static str)],
    pub tips: &'static [&'static str],
    /// COMMAND INFO's first key, last key, step, as Redis derives them from
    /// the key specs.
    pub keys: (i32, i32, i32),
    /// Whether Redis sets `movablekeys` (derived from the key specs).
    pub movable: bool,
    /// Whether Redis has a command-specific key extraction, used where the
    /// specs are incomplete or their flags vary.
    pub getkeys_fn: bool,
    pub key_specs: &'static [KeySpec],
    /// `None` when Redis lists no arguments.
    pub args: Option<&'static [Arg]>,
}

impl Meta {
    /// No metadata: for a command Redis does not have.
    pub const NONE: Meta = Meta {
        name: "",
        summary: "",
        since: "",
        group: "",
        complexity: None,
        doc_flags: &[],
        deprecated_since: None,
        replaced_by: None,
        history: &[],
        tips: &[],
        keys: (0, 0, 0),
        movable: false,
        getkeys_fn: false,
        key_specs: &[],
        args: None,
    };

    /// Union of the flags of all specs.
    pub fn all_flags(&self) -> u16 {
        self.key_specs.iter().fold(0, |a, k| a | k.flags)
    }

    /// Whether some spec names real keys (not only `NOT_KEY` ones).
    pub fn has_keys(&self) -> bool {
        self.key_specs.iter().any(|k| k.flags & ks::NOT_KEY == 0)
    }
}

/// The metadata of `name` (lower case, `container|sub` for subcommands).
pub fn lookup(name: &str) -> Option<&'static Meta> {
    let m = super::keyspecs::META;
    m.binary_search_by(|e| e.name.cmp(name)).ok().map(|i| &m[i])
}

/// Keys found by the specs: (argument index, spec flags).
pub type Found = Vec<(usize, u16)>;

/// Find the keys of `args` (name at 0) with the key specs, as Redis does
/// for COMMAND GETKEYS: `None` when a spec cannot be applied (an unknown
/// or incomplete spec, a bad key count, keys past the end), in which case
/// Redis falls back to its command-specific extraction.
pub fn keys_by_specs(m: &Meta, args: Args<'_>) -> Option<Found> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for spec in m.key_specs {
        if spec.flags & ks::NOT_KEY != 0 {
            continue;
        }
        let first: i64 = match spec.begin {
            Begin::Index(i) => i as i64,
            Begin::Keyword(word, from) => {
                let Some(at) = find_keyword(args, word, from) else {
                    // No keyword: this spec names no keys.
                    continue;
                };
                at + 1
            }
            Begin::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, step as i64)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let at = first + keynumidx as i64;
                if keynumidx as i64 >= argc || at >= argc {
                    return None;
                }
                let n = parse_i64(args.get(at as usize)).filter(|&n| n >= 0)?;
                let first = first + firstkey as i64;
                (first, first.saturating_add(n) - 1, step as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags));
            i += step.max(1);
        }
        if spec.flags & ks::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

/// Index of `word` (case-insensitive) searched from `from` (negative: from
/// the end backwards); the last argument (forwards) and the name are never
/// candidates.
fn find_keyword(args: Args<'_>, word: &str, from: i32) -> Option<i64> {
    let argc = args.len() as i64;
    let from = from as i64;
    let (start, end) = if from > 0 {
        (from, argc - 1)
    } else {
        (argc + from, 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if eq_ic(args.get(i as usize), word.as_bytes()) {
            return Some(i);
        }
        i += if start <= end { 1 } else { -1 };
    }
    None
}

/// The keys of `args` (name at 0) with their flags, as COMMAND GETKEYS
/// finds them: by the specs when they are complete and their flags fixed;
/// else by the command-specific rules Redis falls back to.
pub fn find_keys(m: &Meta, args: Args<'_>) -> Found {
    if m.has_keys() && m.all_flags() & ks::VARIABLE_FLAGS == 0 {
        if let Some(found) = keys_by_specs(m, args) {
            return found;
        }
    }
    if !m.getkeys_fn {
        return Vec::new();
    }
    let arg = |i: usize| args.get(i);
    match m.name {
        // The key is overwritten, unless GET reads it first.
        "set" => {
            let get = (3..args.len()).any(|i| eq_ic(arg(i), b"get"));
            let f = if get {
                ks::RW | ks::ACCESS | ks::UPDATE
            } else {
                ks::OW | ks::UPDATE
            };
            vec![(1, f)]
        }
        // Read-only when every operation is a GET (or OVERFLOW).
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < args.len() {
                let rest = args.len() - i - 1;
                let a = arg(i);
                if eq_ic(a, b"get") && rest >= 2 {
                    i += 2;
                } else if (eq_ic(a, b"set") || eq_ic(a, b"incrby")) && rest >= 3 {
                    readonly = false;
                    break;
                } else if eq_ic(a, b"overflow") && rest >= 1 {
                    i += 1;
                } else {
                    readonly = false;
                    break;
                }
                i += 1;
            }
            let f = if readonly {
                ks::RO | ks::ACCESS
            } else {
                ks::RW | ks::ACCESS | ks::UPDATE
            };
            vec![(1, f)]
        }
        "sort_ro" => vec![(1, ks::RO | ks::ACCESS)],
        "migrate" => super::migrate::key_positions(args)
            .into_iter()
            .map(|i| (i, ks::RW | ks::ACCESS | ks::DELETE))
            .collect(),
        // The sorted key, and the last STORE destination, skipping the
        // arguments of LIMIT, GET and BY.
        "sort" => {
            let mut out = vec![(1, ks::RO | ks::ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < args.len() {
                let a = arg(i);
                if eq_ic(a, b"limit") {
                    i += 2;
                } else if eq_ic(a, b"get") || eq_ic(a, b"by") {
                    i += 1;
                } else if eq_ic(a, b"store") && i + 1 < args.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            out.extend(store.map(|s| (s, ks::OW | ks::UPDATE)));
            out
        }
        // A key count (read the lenient way, like C's atoi), the keys after
        // it, and the destination first if there is one; no flags.
        _ => {
            let Some((count_at, first)) =
                m.key_specs.iter().find_map(|k| match (k.begin, k.find) {
                    (
                        Begin::Index(p),
                        Find::Keynum {
                            keynumidx,
                            firstkey,
                            ..
                        },
                    ) => Some(((p + keynumidx) as usize, (p + firstkey) as usize)),
                    _ => None,
                })
            else {
                return Vec::new();
            };
            let store = m.key_specs.iter().find_map(|k| match (k.begin, k.find) {
                (Begin::Index(p), Find::Range { lastkey: 0, .. }) if (p as usize) < count_at => {
                    Some(p as usize)
                }
                _ => None,
            });
            if count_at >= args.len() {
                return Vec::new();
            }
            let n = super::args::atoi(arg(count_at));
            if n < 1 || n > (args.len() as i64 - first as i64) {
                return Vec::new();
            }
            let mut out: Found = (0..n as usize).map(|i| (first + i, 0)).collect();
            out.extend(store.map(|s| (s, 0)));
            out
        }
    }
}
