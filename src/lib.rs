//! fangyan (方言): a self-hosted workbench for correcting dialect ASR output, tagging accent
//! features and exporting speech corpora.
//!
//! The modules in three groups: the plumbing every stage stands on; the pure core
//! (synchronous functions over samples and text, no web, database or async import); and the
//! stages, in the order data flows through them (upload → analysis → segments and tasks →
//! edits and tags → review → metrics → export).
//!
//! **Who writes which table.** Each table has one writer module; a stage that needs another
//! stage's table calls that writer's functions, which take the caller's `&mut db::Tx`, so one
//! HTTP action commits once. [`accounts`] writes `app_user`, `session`, `api_token`,
//! `login_bucket` (the shared login throttle) and `invite` (invite links; an accept makes the
//! user, their membership through [`projects`]' writer and a session in one transaction);
//! [`projects`] writes `project`, `membership` and `speaker` (the one speaker get-or-create
//! included); [`recordings`] writes `recording`; [`jobs`] writes `job` (leases included);
//! [`segments`] (`segments::write` and `segments::edit`) writes `segment` and
//! `segment_revision` (and, through `segments::text_index`, the text search index
//! `segment_grams` and its catch-up state `segment_grams_built`, in the same transaction), for itself and for [`tasks`] (claim leases, submit), [`review`]
//! (decisions, reopen), [`hypotheses`] (ASR import) and the VAD's first segments;
//! [`tasks`] writes `second_pass`; [`review`] writes `review`; [`comments`] (`comments::db`)
//! writes `segment_comment` and `comment_read` (for itself, and for [`review`]: a decision's
//! comment is written into the thread in the decision's transaction); [`guidelines`]
//! (`guidelines::db`) writes `guideline` and `guideline_ack`; [`tags`] (`tags::db`) writes
//! `segment_tag`, `second_pass_tag` and `span_tag` (re-anchoring after a save, spans moved by
//! a split or merge, ASR labels) and the project's `tag_schema` column; [`exports`] writes
//! `export`; [`web`] writes `user_settings`. [`dashboard`] only reads.

// Plumbing.

/// The server: state and router.
pub mod app;
/// The `fangyan` command line: serve, demo, admin, probe, ingest, analyze, score, benchmarks.
pub mod cli;
/// The database pool, migrations and write transactions.
pub mod db;
/// The HTTP edge: cross-origin check, security headers, the error shape for every refusal.
pub mod edge;
/// The API's one error type.
pub mod error;
/// Request extractors (`Json`, `Query`, `Path`) whose rejections answer in the error shape.
pub mod extract;
/// Background jobs and their progress events.
pub mod jobs;
/// The OpenAPI document.
pub mod openapi;
/// The operator's side: probes, metrics, request ids and logs, the graceful stop, backups.
pub mod ops;
/// The object store: originals, analysis copies, peaks and tracks on a folder or an S3 bucket.
pub mod store;
/// The bounded pool for heavy work (searches, ASR parsing), with deadlines and budgets.
pub mod work;

// Pure core.

/// Peaks, spectrograms, pitch, intensity and voice activity (pure core).
pub mod analysis;
/// Decode any recording, normalise it to a mono analysis copy, keep the original (pure core).
pub mod audio;
/// Corpus export: ids, splits, clips and every layout's writer (pure core).
pub mod corpus;
/// Text normalisation, CER/WER that match sclite and jiwer, ASR output parsers (pure core).
pub mod text;

// Stages, in flow order.

/// Accounts, sessions and tokens; instance admins' user management and invite links.
pub mod accounts;
/// Comment threads on segments, with unread counts per user.
pub mod comments;
/// Progress, ASR error rates by any grouping, throughput and agreement: the dashboard's tables.
pub mod dashboard;
/// Corpus exports: definition, background run, streamed download.
pub mod exports;
/// Each project's transcription guidelines, in versions that members acknowledge.
pub mod guidelines;
/// ASR output in: file import and live pre-annotation from OpenAI-compatible servers.
pub mod hypotheses;
/// Projects, roles and speakers.
pub mod projects;
/// Upload, the ingest job (with the VAD's first segments), audio and peaks over HTTP.
pub mod recordings;
/// Approve or reject submitted segments.
pub mod review;
/// Segments with optimistic concurrency and revision history; the writer of `segment`.
pub mod segments;
/// Tag schema, segment and span tags, suggestions (issue 7).
pub mod tags;
/// Claim next (indexed lookups, conditional leases), submit, second passes.
pub mod tasks;
/// The browser workbench (embedded ES modules, CSP) and per-user settings.
pub mod web;
