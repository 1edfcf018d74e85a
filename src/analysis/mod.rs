//! The analysis engine: everything the workbench draws is computed here, on the server, from
//! the analysis copy. Pure and synchronous, like `audio/`: no web, database or async code.
//!
//! - [`peaks`]: the waveform min/max pyramid, built during ingest, queried per viewport;
//! - [`stft`] and [`render`]: spectrogram frames and image tiles (PNG or raw rows);
//! - [`pitch`]: F0 with voicing and confidence, and intensity, at a 10 ms hop;
//! - [`vad`]: voice-activity segmentation, the first segments of a recording.

pub mod peaks;
pub mod pitch;
pub mod render;
pub mod stft;
pub mod vad;
