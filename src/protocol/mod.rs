//! RESP: request parsing and reply encoding. No I/O here, so it can be
//! benchmarked and fuzzed on its own.

pub mod parse;
pub mod reply;

pub use parse::{parse_i64, Args, Limits, Parsed, Parser, ProtocolError};
pub use reply::Reply;
