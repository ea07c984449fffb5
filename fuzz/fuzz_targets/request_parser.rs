#![no_main]
//! See fuzz/README.md and `ember::fuzzing::request_parser`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ember::fuzzing::request_parser(data));
