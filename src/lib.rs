//! fangyan (方言): a self-hosted workbench for correcting dialect ASR output, tagging accent
//! features and exporting speech corpora.
//!
//! The modules, in the order data flows through them:

/// Accounts, sessions and tokens.
pub mod accounts;
/// Peaks, spectrograms, pitch, intensity and voice activity (pure core).
pub mod analysis;
/// The server: state and router.
pub mod app;
/// Decode any recording, normalise it to a mono analysis copy, keep the original (pure core).
pub mod audio;
/// The `fangyan` command line: serve, demo, admin, probe, ingest, analyze, score, benchmarks.
pub mod cli;
/// Corpus export: ids, splits, clips and every layout's writer (pure core).
pub mod corpus;
/// Progress, ASR error rates by any grouping, throughput and agreement: the dashboard's tables.
pub mod dashboard;
/// The database pool, migrations and write transactions.
pub mod db;
/// The HTTP edge: cross-origin check, security headers, the error shape for every refusal.
pub mod edge;
/// The API's one error type.
pub mod error;
/// Corpus exports: definition, background run, streamed download.
pub mod exports;
/// Request extractors (`Json`, `Query`, `Path`) whose rejections answer in the error shape.
pub mod extract;
/// ASR output in: file import and live pre-annotation from OpenAI-compatible servers.
pub mod hypotheses;
/// Background jobs and their progress events.
pub mod jobs;
/// The OpenAPI document.
pub mod openapi;
/// Projects and roles.
pub mod projects;
/// Upload, the ingest job, audio and peaks over HTTP.
pub mod recordings;
/// Approve or reject submitted segments.
pub mod review;
/// Segments with optimistic concurrency and revision history.
pub mod segments;
/// Tag schema, segment and span tags, suggestions (issue 7).
pub mod tags;
/// Claim next, leases and submit.
pub mod tasks;
/// Text normalisation, CER/WER that match sclite and jiwer, ASR output parsers (pure core).
pub mod text;
/// The browser workbench (embedded ES modules, CSP) and per-user settings.
pub mod web;
/// The bounded pool for heavy work (searches, ASR parsing), with deadlines and budgets.
pub mod work;
