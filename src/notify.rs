//! Keyspace notifications (`notify-keyspace-events`).
//!
//! A write command calls [`notify`] once per event, with Redis's class and
//! event name; when the class is enabled the event is published on
//! `__keyspace@<db>__:<key>` (message: the event) and/or
//! `__keyevent@<db>__:<event>` (message: the key). With notifications off
//! (the default) a call costs one relaxed atomic load. Publishing takes only
//! the Pub/Sub registry's leaf lock, so it is safe from code holding shard
//! locks (commands, lazy and active expiry, eviction).

use crate::pubsub::PubSub;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME…).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted (maxmemory).
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: key miss (excluded from `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u32 = 1 << 13;
/// `n`: a new key was created (excluded from `A`).
pub const NEW: u32 = 1 << 14;
/// `A`: `g$lshzxetd`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parse the class letters of `notify-keyspace-events`; None on an unknown
/// letter.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// The canonical text of class bits, as CONFIG GET prints it (Redis's
/// order; `A` stands for all of `g$lshzxetd`).
pub fn flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Raise event `event` of class `class` for `key` in `db`.
#[inline]
pub fn notify(hub: &PubSub, class: u32, event: &str, db: usize, key: &[u8]) {
    let flags = hub.notify_flags();
    if flags & class == 0 {
        return;
    }
    publish(hub, flags, event, db, key);
}

#[cold]
fn publish(hub: &PubSub, flags: u32, event: &str, db: usize, key: &[u8]) {
    if !hub.has_subscribers() {
        return;
    }
    let mut num = itoa::Buffer::new();
    let db = num.format(db).as_bytes();
    let mut chan = Vec::with_capacity(16 + db.len() + key.len().max(event.len()));
    if flags & KEYSPACE != 0 {
        chan.extend_from_slice(b"__keyspace@");
        chan.extend_from_slice(db);
        chan.extend_from_slice(b"__:");
        chan.extend_from_slice(key);
        hub.publish(false, &chan, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        chan.clear();
        chan.extend_from_slice(b"__keyevent@");
        chan.extend_from_slice(db);
        chan.extend_from_slice(b"__:");
        chan.extend_from_slice(event.as_bytes());
        hub.publish(false, &chan, key);
    }
}

impl crate::commands::Ctx<'_> {
    /// Raise `event` of `class` for `key` in the client's database.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        notify(&self.server.pubsub, class, event, self.client.db, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_like_redis() {
        let canon = |s: &str| flags_to_string(parse_flags(s).unwrap_or(0));
        assert_eq!(canon("AnKE"), "AKE");
        assert_eq!(canon("KEA"), "AKE");
        assert_eq!(canon("Elg"), "glE");
        assert_eq!(canon("$szK"), "$szK");
        assert_eq!(canon("g$lshzxetd"), "A");
        assert_eq!(canon("Em"), "Em");
        assert_eq!(canon(""), "");
        assert_eq!(parse_flags("Ab"), None);
    }
}
