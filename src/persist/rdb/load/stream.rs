//! Reading a stream value (types 15, 19, 21), checked as Redis checks it:
//! every node deeply, IDs in order, PELs that agree with their consumers.

use super::{Reader, Result};
use crate::persist::rdb::types;
use crate::types::stream::{
    self, group::INVALID_ENTRIES_READ, Consumer, Group, Nack, Stream, StreamId,
};
use crate::types::Value;

impl Reader<'_> {
    fn ms_time(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn id_pair(&mut self) -> Result<StreamId> {
        Ok(StreamId::new(self.len()?, self.len()?))
    }
}

pub(super) fn read(r: &mut Reader<'_>, ty: u8) -> Result<Value> {
    let mut s = Stream::new();
    let nodes = r.len()?;
    let mut counted = 0u64;
    let mut last_seen: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = r.string()?;
        let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) else {
            return r.err("Stream node key entry is not the size of a stream ID");
        };
        let master = StreamId::from_be(&key);
        let lp = r.string()?;
        if last_seen.is_some_and(|l| master <= l) {
            return r.err("Stream nodes out of order or duplicated");
        }
        let live = match stream::validate_node(&lp, master) {
            Ok(v) => v,
            Err(why) => {
                return r.err(format_args!(
                    "Stream listpack integrity check failed ({why})"
                ))
            }
        };
        last_seen = Some(master);
        counted += live;
        s.push_node(master, lp);
    }
    let length = r.len()?;
    if length != counted {
        return r.err("Stream length inconsistent with rax entries");
    }
    s.set_len(length);
    s.last_id = r.id_pair()?;
    if ty >= types::STREAM_LISTPACKS_2 {
        s.first_id = r.id_pair()?;
        s.max_deleted = r.id_pair()?;
        s.entries_added = r.len()?;
        if s.entries_added < length {
            return r.err("Stream entries_added smaller than its length");
        }
    } else {
        s.refresh_first();
        s.entries_added = length;
    }
    let ngroups = r.len()?;
    for _ in 0..ngroups {
        let name = r.string()?;
        let last_id = r.id_pair()?;
        let entries_read = if ty >= types::STREAM_LISTPACKS_2 {
            r.len()? as i64
        } else {
            s.entries_read_at(last_id)
        };
        let mut g = Group::new(last_id, entries_read.max(INVALID_ENTRIES_READ));
        let npel = r.len()?;
        // PEL entries no consumer has claimed yet (a consumer's name may be
        // empty, so the name cannot say it).
        let mut unowned = std::collections::BTreeSet::new();
        for _ in 0..npel {
            let id = StreamId::from_be(&r.array()?);
            let delivery_time = r.ms_time()?;
            let delivery_count = r.len()?;
            let nack = Nack {
                delivery_time,
                delivery_count,
                consumer: Box::default(),
            };
            if g.pel.insert(id, nack).is_some() {
                return r.err("Duplicated global PEL entry loading stream consumer group");
            }
            unowned.insert(id);
        }
        let nconsumers = r.len()?;
        for _ in 0..nconsumers {
            let cname = r.string()?;
            let seen_time = r.ms_time()?;
            let active_time = if ty >= types::STREAM_LISTPACKS_3 {
                r.ms_time()? as i64
            } else {
                seen_time as i64
            };
            let mut c = Consumer::new(seen_time);
            c.active_time = active_time;
            let n = r.len()?;
            for _ in 0..n {
                let id = StreamId::from_be(&r.array()?);
                match g.pel.get_mut(&id) {
                    Some(nack) if unowned.remove(&id) => nack.consumer = cname.as_slice().into(),
                    Some(_) => {
                        return r
                            .err("Duplicated consumer PEL entry loading a stream consumer group")
                    }
                    None => return r.err("Consumer entry not found in group global PEL"),
                }
                c.pel.insert(id);
            }
            if g.consumers.insert(cname.into(), c).is_some() {
                return r.err("Duplicate stream consumer detected.");
            }
        }
        if !unowned.is_empty() {
            return r.err("Stream CG PEL entry without consumer");
        }
        let dup = name.clone();
        if s.groups.insert(name.into(), g).is_some() {
            return r.err(format_args!(
                "Duplicated consumer group name {}",
                String::from_utf8_lossy(&dup)
            ));
        }
    }
    Ok(Value::Stream(Box::new(s)))
}
