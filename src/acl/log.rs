//! ACL LOG: recent denials and failed authentications, newest first.
//!
//! As Redis: an event like one among the ten newest entries (same reason,
//! context, object and user, within 60 s) bumps that entry's count and moves
//! it to the front instead of adding a new one; the log holds at most
//! `acllog-max-len` entries.

use std::collections::VecDeque;

/// What was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Auth => "auth",
            Reason::Channel => "channel",
        }
    }
}

/// Where the denied command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Unix ms of the last update.
    pub updated_ms: u64,
    pub client_info: String,
    pub entry_id: u64,
    pub created_ms: u64,
}

/// Events this close together (ms) merge into one entry.
const GROUPING_MS: u64 = 60_000;

#[derive(Default)]
pub struct AclLog {
    pub entries: VecDeque<Entry>,
    next_id: u64,
}

impl AclLog {
    /// Record an event (`e.count`, ids and times are filled in here).
    pub fn add(&mut self, mut e: Entry, now_ms: u64, max_len: usize) {
        let found = self.entries.iter().take(10).position(|x| {
            x.reason == e.reason
                && x.context == e.context
                && x.updated_ms.abs_diff(now_ms) <= GROUPING_MS
                && x.object == e.object
                && x.username == e.username
        });
        if let Some(i) = found {
            if let Some(mut x) = self.entries.remove(i) {
                x.count += 1;
                x.updated_ms = now_ms;
                x.client_info = e.client_info;
                self.entries.push_front(x);
            }
            return;
        }
        e.count = 1;
        e.updated_ms = now_ms;
        e.created_ms = now_ms;
        e.entry_id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(e);
        self.entries.truncate(max_len);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}
