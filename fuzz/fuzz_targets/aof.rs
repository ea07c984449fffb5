#![no_main]
//! See fuzz/README.md and `ember::fuzzing::aof`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ember::fuzzing::aof(data));
