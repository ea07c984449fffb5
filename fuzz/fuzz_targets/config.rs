#![no_main]
//! See fuzz/README.md and `ember::fuzzing::config`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ember::fuzzing::config(data));
