//! fangyan (方言): a self-hosted workbench for correcting dialect ASR output, tagging accent
//! features and exporting speech corpora.
//!
//! The modules, in the order data flows through them:

/// Peaks, spectrograms, pitch, intensity and voice activity (pure core).
pub mod analysis;
/// Decode any recording, normalise it to a mono analysis copy, keep the original (pure core).
pub mod audio;
/// The `fangyan` command line: probe, ingest and benchmarks.
pub mod cli;
