//! Text for scoring, and ASR output coming in: the pure core behind CER/WER and hypothesis
//! import. No web, database or async code, so everything here can be tested alone.
//!
//! - [`normalise`]: the versioned normaliser and its options ([`numerals`] for the number
//!   policy, [`steps`] for the other rewrites).
//! - [`tokenise`], [`align`], [`metrics`]: tokens, sclite- and jiwer-exact alignments, scores,
//!   agreement.
//! - [`features`]: the tag schema (fields, values, accent-feature codes) and its migrations;
//!   [`pinyin`]: expected pinyin and feature suggestions.
//! - [`grams`]: the terms of the text search index (characters and character pairs).
//! - [`asr`]: parsers for the ASR output formats into one [`asr::Hypothesis`] model.

pub mod align;
pub mod asr;
pub mod features;
pub mod grams;
pub mod metrics;
pub mod normalise;
pub mod numerals;
pub mod pinyin;
pub mod steps;
pub mod tokenise;

pub use align::{CostModel, Counts};
pub use metrics::{Score, score};
pub use normalise::{NORMALISER_VERSION, NormaliseOptions, Normaliser};
