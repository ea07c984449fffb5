//! Streams in RDB: types 15 (`STREAM_LISTPACKS`), 19 (`_2`: first ID,
//! max deleted ID, entries added, group read counters) and 21 (`_3`:
//! consumers' active time). Nodes travel as they are (16-byte big-endian
//! master ID, then the listpack); ember writes type 19, the newest RDB 10
//! (Redis 7.0) knows, and reads all three.

use super::{write_len, write_string};
use crate::types::stream::Stream;

/// A millisecond time as RDB writes it (8 bytes LE).
fn write_ms(out: &mut Vec<u8>, ms: u64) {
    out.extend_from_slice(&ms.to_le_bytes());
}

/// A stream value's payload as type 19.
pub fn write(out: &mut Vec<u8>, s: &Stream, compress: bool) {
    write_len(out, s.node_count() as u64);
    for (id, lp) in s.nodes() {
        write_string(out, &id.to_be(), false);
        write_string(out, lp, compress);
    }
    write_len(out, s.len());
    for id in [s.last_id, s.first_id, s.max_deleted] {
        write_len(out, id.ms);
        write_len(out, id.seq);
    }
    write_len(out, s.entries_added);
    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name, false);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&id.to_be());
            write_ms(out, n.delivery_time);
            write_len(out, n.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (name, c) in &g.consumers {
            write_string(out, name, false);
            write_ms(out, c.seen_time);
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.to_be());
            }
        }
    }
}
