//! Fuzz target `asr_detect`: see `targets::asr_detect`.
#![no_main]

#[allow(dead_code)] // each binary uses one of the functions
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::asr_detect(data));
