//! The audio core: decode anything, normalise it, keep the original. Pure and synchronous:
//! no web, database or async code lives here, so it can be tested, benchmarked and fuzzed alone.
//!
//! Flow: [`sniff`] (facts we read ourselves) -> [`decode`] (symphonia + [`opus`], validation,
//! trimming, mixing) -> [`resample`] (rubato) -> [`ingest`] (hashing, hound, the store layout).
//! [`error`] holds the one error type with its stable codes.

pub mod decode;
pub mod error;
pub mod ingest;
mod matroska;
mod mix;
pub mod objects;
pub mod opus;
pub mod resample;
pub mod sniff;
pub mod source;
pub mod summary;
mod validate;

pub use decode::{ChannelMode, DecodeOptions, Decoder, SourceInfo, Warning};
pub use error::IngestError;
pub use ingest::{IngestOptions, NewObject, Objects, RecordingMeta, Store, precheck, probe};
pub use source::Source;
