//! Fuzz target `asr_textgrid`: see `targets::asr_textgrid`.
#![no_main]

#[allow(dead_code)] // each binary uses one of the functions
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::asr_textgrid(data));
