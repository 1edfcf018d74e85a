//! Fuzz target `normalise`: see `targets::normalise`.
#![no_main]

#[allow(dead_code)] // each binary uses one of the functions
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::normalise(data));
