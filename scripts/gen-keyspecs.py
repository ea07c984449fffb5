#!/usr/bin/env python3
"""Regenerate src/commands/keyspecs.rs from Redis 7.2's command metadata.

Redis describes every command in src/commands/<name>.json: key specs, tips,
argument trees, history, doc flags. Those are interface metadata (what
COMMAND INFO and COMMAND DOCS print), so we transcribe them, for the commands
Ember's table has, into plain Rust `const` data.

Usage: scripts/gen-keyspecs.py [--git-dir DIR] [--tag TAG]
  defaults: /work/.mirror/redis+redis/repo, 7.2.4
The command names are read from Ember's sources (every `Command::new("…"` and
`Command::container("…"`), so a new command only needs a regeneration.
The output is run through rustfmt.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "commands", "keyspecs.rs")

KEY_FLAGS = ["RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE",
             "NOT_KEY", "INCOMPLETE", "VARIABLE_FLAGS"]
ARG_FLAGS = {"optional": "OPTIONAL", "multiple": "MULTIPLE", "multiple_token": "MULTIPLE_TOKEN"}
ARG_KEYS = {"name", "type", "token", "optional", "multiple", "multiple_token",
            "key_spec_index", "arguments", "since", "display", "deprecated_since", "summary"}
ARG_TYPES = {"string", "integer", "double", "key", "pattern", "unix-time",
             "pure-token", "oneof", "block"}


def git(args, git_dir):
    return subprocess.run(["git", "--git-dir", git_dir] + args, check=True,
                          capture_output=True).stdout.decode()


def ember_names():
    names = set()
    # Table entries: Command::new/container("name", ...) and the scripting
    # family's sub("name", ...) helper.
    pat = re.compile(r'(?:Command::(?:new|container)|\bsub)\(\s*"([a-z0-9|_-]+)"\s*,')
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in files:
            if f.endswith(".rs"):
                with open(os.path.join(dirpath, f)) as fh:
                    names.update(pat.findall(fh.read()))
    return names


def redis_commands(git_dir, tag):
    out = {}
    for path in git(["ls-tree", "--name-only", tag, "src/commands/"], git_dir).split():
        if not path.endswith(".json"):
            continue
        for name, c in json.loads(git(["show", f"{tag}:{path}"], git_dir)).items():
            full = name.lower()
            if "container" in c:
                full = c["container"].lower() + "|" + full
            out[full] = c
    return out


def s(v):
    """A Rust string literal."""
    return json.dumps(v, ensure_ascii=False)


def opt(v):
    return "None" if v is None else f"Some({s(v)})"


def legacy_range(specs):
    """(first, last, step, movable) as Redis derives them from the key specs
    for COMMAND INFO's first/last/step and the movablekeys flag."""
    if not specs:
        return 0, 0, 0, False

    def plain(k):
        return "index" in k["begin_search"] and "range" in k["find_keys"]

    if len(specs) == 1 and plain(specs[0]):
        k = specs[0]
        pos, r = k["begin_search"]["index"]["pos"], k["find_keys"]["range"]
        last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        return pos, last, r["step"], "INCOMPLETE" in k["flags"]
    movable = False
    first, last, prev = None, 0, 0
    for k in specs:
        if not plain(k):
            movable = True
            continue
        pos, r = k["begin_search"]["index"]["pos"], k["find_keys"]["range"]
        if r["step"] != 1 or (prev and prev != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in k["flags"]:
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        # Redis compares these as unsigned: a last key counted from the end
        # (negative) wins over any absolute one.
        last = max(last & 0xFFFFFFFF, abs_last & 0xFFFFFFFF)
        last = last - (1 << 32) if last >= 1 << 31 else last
        prev = last
    if first is None:
        return 0, 0, 0, True
    return first, last, 1, movable


def key_spec(k):
    for f in k["flags"]:
        assert f in KEY_FLAGS, f
    flags = " | ".join(f"ks::{f}" for f in k["flags"]) or "0"
    bs = k["begin_search"]
    if "index" in bs:
        begin = f"Begin::Index({bs['index']['pos']})"
    elif "keyword" in bs:
        kw = bs["keyword"]
        begin = f"Begin::Keyword({s(kw['keyword'])}, {kw['startfrom']})"
    else:
        begin = "Begin::Unknown"
    fk = k["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find = f"Find::Range {{ lastkey: {r['lastkey']}, step: {r['step']}, limit: {r['limit']} }}"
    elif "keynum" in fk:
        r = fk["keynum"]
        find = (f"Find::Keynum {{ keynumidx: {r['keynumidx']}, firstkey: {r['firstkey']}, "
                f"step: {r['step']} }}")
    else:
        find = "Find::Unknown"
    return (f"KeySpec {{ notes: {opt(k.get('notes'))}, flags: {flags}, begin: {begin}, "
            f"find: {find} }}")


def items(xs, depth):
    """A slice literal, one element a line, indented for `depth`."""
    if not xs:
        return "&[]"
    pad = "    " * (depth + 1)
    return "&[\n" + "".join(f"{pad}{x},\n" for x in xs) + "    " * depth + "]"


def arg(a, depth=3):
    extra = set(a) - ARG_KEYS
    assert not extra, (a["name"], extra)
    assert a["type"] in ARG_TYPES, a["type"]
    out = f"Arg::new({s(a['name'])}, {s(a['type'])})"
    if "display" in a:
        out += f".display({s(a['display'])})"
    if "key_spec_index" in a:
        out += f".key_spec({a['key_spec_index']})"
    if "token" in a:
        out += f".token({s(a['token'])})"
    if "summary" in a:
        out += f".summary({s(a['summary'])})"
    if "since" in a:
        out += f".since({s(a['since'])})"
    if "deprecated_since" in a:
        out += f".deprecated_since({s(a['deprecated_since'])})"
    fl = [v for k, v in ARG_FLAGS.items() if a.get(k)]
    if fl:
        out += ".flags(" + " | ".join(f"arg::{f}" for f in fl) + ")"
    if a["type"] in ("oneof", "block"):
        out += ".args(" + items([arg(x, depth + 1) for x in a.get("arguments", [])], depth) + ")"
    return out


def meta(name, c):
    specs = c.get("key_specs", [])
    first, last, step, movable = legacy_range(specs)
    fields = [
        f"name: {s(name)}",
        f"summary: {s(c['summary'])}",
        f"since: {s(c['since'])}",
        # Redis prints the group with dashes (`sorted_set` → `sorted-set`).
        f"group: {s(c['group'].replace('_', '-'))}",
        f"complexity: {opt(c.get('complexity'))}",
        f"doc_flags: &[{', '.join(s(f.lower()) for f in c.get('doc_flags', []))}]",
        f"deprecated_since: {opt(c.get('deprecated_since'))}",
        f"replaced_by: {opt(c.get('replaced_by'))}",
        "history: &[" + ", ".join(f"({s(v)}, {s(t)})" for v, t in c.get("history", [])) + "]",
        "tips: &[" + ", ".join(s(t.lower()) for t in c.get("command_tips", [])) + "]",
        f"keys: ({first}, {last}, {step})",
        f"movable: {'true' if movable else 'false'}",
        f"getkeys_fn: {'true' if 'get_keys_function' in c else 'false'}",
        "key_specs: " + items([key_spec(k) for k in specs], 2),
        "args: " + ("None" if "arguments" not in c else
                    "Some(" + items([arg(a) for a in c["arguments"]], 2) + ")"),
    ]
    return "    Meta {\n        " + ",\n        ".join(fields) + ",\n    },\n"


HEADER = '''//! Redis 7.2's command metadata for the commands Ember implements: key
//! specs and tips (COMMAND INFO), argument trees, history and doc flags
//! (COMMAND DOCS), transcribed from Redis's `src/commands/*.json`.
//!
//! GENERATED by `scripts/gen-keyspecs.py` from Redis {tag}: do not edit by
//! hand, rerun the script (it reads the command names from Ember's sources).

use super::cmdmeta::*;

/// Sorted by name (`container|sub` for subcommands), for binary search.
pub const META: &[Meta] = &[
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--git-dir", default="/work/.mirror/redis+redis/repo")
    ap.add_argument("--tag", default="7.2.4")
    opts = ap.parse_args()
    redis = redis_commands(opts.git_dir, opts.tag)
    names = sorted(ember_names())
    missing = [n for n in names if n not in redis]
    body = HEADER.replace("{tag}", opts.tag)
    for n in names:
        if n in redis:
            body += meta(n, redis[n])
    body += "];\n"
    with open(OUT, "w") as fh:
        fh.write(body)
    subprocess.run(["rustfmt", "--edition", "2021", OUT], check=True)
    print(f"{OUT}: {len(names) - len(missing)} commands; no Redis metadata for: "
          f"{' '.join(missing) or '-'}", file=sys.stderr)


if __name__ == "__main__":
    main()
