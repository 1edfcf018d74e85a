//! The integration tests that share one test binary: each module was a file of `tests/`, and
//! runs as `cargo test --test suite <module>::`. One binary links once where 35 linked 35
//! times (a clean release build on 2 cores spent a quarter of an hour on it).
//!
//! Kept out, each in its own binary: tests that measure time, memory or their own process
//! (`accounts`, `budgets`, `ingest`, `long_recording`, `malformed`), and tests that kill or
//! signal the processes they start (`cluster`, `durability`, `ops_process`): sharing a process
//! with the rest would make their figures, or the rest, depend on what runs beside them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod analyze;
mod api;
mod asr_api;
mod asr_import;
mod asr_live;
mod backup;
mod dashboard;
mod edge;
mod export;
mod formant;
mod fuzz_regressions;
mod metrics_reference;
mod openapi;
mod ops;
mod phonetics;
mod pitch;
mod real_speech;
mod resample;
mod review_loop;
mod role_matrix;
mod rules;
mod schema_parity;
mod score_cli;
mod settings;
mod spectrogram;
mod store;
mod tags;
mod tags_stats;
mod timing;
mod trust;
mod users_admin;
mod vad;
mod web;
mod write_path;
