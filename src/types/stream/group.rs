//! Consumer groups: a last-delivered ID, a read counter, the pending
//! entries list (PEL: delivered, not yet acknowledged) and the consumers,
//! each with its own view of the PEL.

use std::collections::{BTreeMap, BTreeSet};

use super::{Stream, StreamId};

/// `entries_read` when it is not known.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A delivered, unacknowledged entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: Box<[u8]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    /// Unix ms of the last interaction.
    pub seen_time: u64,
    /// Unix ms of the last successful interaction (-1: never).
    pub active_time: i64,
    pub pel: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(now: u64) -> Consumer {
        Consumer {
            seen_time: now,
            active_time: -1,
            pel: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer `name`, created if missing; true when it was created.
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self
            .consumers
            .entry(name.into())
            .or_insert_with(|| Consumer::new(now));
        (c, created)
    }

    /// Acknowledge `id`: true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Record the delivery of `id` to `consumer` (which exists), as
    /// XREADGROUP does: a new NACK, or one moved from its old owner with
    /// its count reset.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: u64) {
        let old = self.pel.insert(
            id,
            Nack {
                delivery_time: now,
                delivery_count: 1,
                consumer: consumer.into(),
            },
        );
        if let Some(old) = old {
            if let Some(c) = self.consumers.get_mut(&old.consumer) {
                c.pel.remove(&id);
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Give the pending `id` to `consumer` (which exists), keeping its
    /// delivery data (the caller sets it).
    pub fn transfer(&mut self, id: StreamId, consumer: &[u8]) -> Option<&mut Nack> {
        let nack = self.pel.get_mut(&id)?;
        if *nack.consumer != *consumer {
            if let Some(c) = self.consumers.get_mut(&nack.consumer) {
                c.pel.remove(&id);
            }
            nack.consumer = consumer.into();
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        self.pel.get_mut(&id)
    }

    /// Delete a consumer and its pending entries; answers how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}

impl Stream {
    /// Whether `start..=end` may hold a deleted entry (Redis's
    /// `streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted == StreamId::MIN {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted && self.max_deleted <= end
    }

    /// How many entries were added up to and including `id`, when that
    /// can be known (Redis's `streamEstimateDistanceFromFirstEverEntry`).
    pub fn entries_read_at(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id {
            if id < self.first_id {
                return self.entries_added.wrapping_sub(self.length) as i64;
            }
            if id == self.first_id {
                return self.entries_added.wrapping_sub(self.length).wrapping_add(1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag (entries not yet delivered), None when unknown.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(g.last_id, StreamId::MAX)
        {
            return Some((self.entries_added as i64).wrapping_sub(g.entries_read));
        }
        match self.entries_read_at(g.last_id) {
            INVALID_ENTRIES_READ => None,
            n => Some((self.entries_added as i64).wrapping_sub(n)),
        }
    }

    /// Advance group `g`'s last ID to `id` (an entry just delivered),
    /// keeping its read counter as Redis does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(id, StreamId::MAX) {
            g.entries_read = g.entries_read.wrapping_add(1);
        } else if self.entries_added > 0 {
            g.entries_read = self.entries_read_at(id);
        }
        g.last_id = id;
    }
}
