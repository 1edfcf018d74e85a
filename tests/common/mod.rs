//! Helpers shared by the integration tests: the ffmpeg peer and small signal tools.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod app;
pub mod cluster;

use std::path::{Path, PathBuf};
use std::process::Command;

use fangyan::audio::{DecodeOptions, Decoder};

/// Runs ffmpeg quietly; panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Decodes `path` with ffmpeg to mono f32 at its native rate, as the timing reference.
pub fn ffmpeg_decode_mono(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-ac", "1", "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Decodes `path` with fangyan's decoder to mono f32 at the native rate.
pub fn fangyan_decode_mono(path: &Path) -> (Vec<f32>, u32) {
    let mut d = Decoder::open(path, DecodeOptions::default()).expect("decodes");
    let rate = d.info().sample_rate;
    let mut out = Vec::new();
    while d.next_chunk(&mut out).expect("decodes") {}
    d.finish().expect("finishes");
    (out, rate)
}

/// The lag (in samples, within ±max_lag) that best aligns `b` to `a`.
pub fn best_lag(a: &[f32], b: &[f32], max_lag: isize) -> isize {
    let n = a.len().min(b.len()) as isize;
    let score = |lag: isize| -> f64 {
        let mut s = 0.0;
        for i in 0..n {
            let j = i + lag;
            if j >= 0 && j < b.len() as isize {
                s += f64::from(a[i as usize]) * f64::from(b[j as usize]);
            }
        }
        s
    };
    (-max_lag..=max_lag)
        .max_by(|&x, &y| score(x).total_cmp(&score(y)))
        .unwrap_or(0)
}

/// A scratch directory that lives as long as the value.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Path to a file in `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A cookie-keeping client that names `base` as its origin on every request, as a browser on
/// the app's own page does (the server refuses cookie writes from other origins: src/edge.rs).
pub fn browser_client(base: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ORIGIN,
            reqwest::header::HeaderValue::from_str(base).expect("a base URL is a header value"),
        )]))
}

/// The Postgres database for a data directory when the tests run on Postgres
/// (`FANGYAN_TEST_DATABASE_URL`, set by `.ci/run` through `scripts/postgres.sh`), else `None`
/// and the app uses the SQLite file in the directory. Each data directory gets its own schema
/// on that server, named after the directory, so the server processes, admin commands and the
/// in-process app of one test share one database and no two tests share any.
pub fn database_url_for(data: &Path) -> Option<String> {
    let base = std::env::var("FANGYAN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let schema = format!("t{:016x}", h.finish());
    let out = Command::new("psql")
        .args([&base, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .output()
        .expect("psql must be installed when FANGYAN_TEST_DATABASE_URL is set");
    assert!(
        out.status.success(),
        "creating schema {schema}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// Sets `FANGYAN_DATABASE_URL` on a `fangyan` command working on `data`, when the tests run
/// on Postgres (see [`database_url_for`]), and `FANGYAN_STORE` when they run on S3 (see
/// [`store_url_for`]).
pub fn on_test_database<'c>(cmd: &'c mut Command, data: &Path) -> &'c mut Command {
    match store_url_for(data) {
        Some(url) => cmd.env("FANGYAN_STORE", url),
        None => cmd.env_remove("FANGYAN_STORE"),
    };
    match database_url_for(data) {
        Some(url) => cmd.env("FANGYAN_DATABASE_URL", url),
        None => cmd.env_remove("FANGYAN_DATABASE_URL"),
    }
}

/// The store for a data directory when the tests run on S3 (`FANGYAN_TEST_STORE_URL`, an
/// `s3://bucket` URL set by `scripts/s3.sh`, with its `AWS_*` variables), else `None` and the
/// app uses the folder in the directory. Each data directory gets its own prefix in the
/// bucket, named after the directory, as it gets its own Postgres schema.
pub fn store_url_for(data: &Path) -> Option<String> {
    let base = std::env::var("FANGYAN_TEST_STORE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    Some(format!(
        "{}/t{:016x}",
        base.trim_end_matches('/'),
        h.finish()
    ))
}

/// Every file of a `.tar.gz` export by its path below the `export-{id}/` folder.
pub fn archive_files(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().unwrap().into_owned();
        let rel: std::path::PathBuf = path.components().skip(1).collect();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        out.insert(rel.to_string_lossy().into_owned(), body);
    }
    out
}

/// Runs `cmd` with `stdin` as its input and its output captured. A command that refuses at once
/// may exit before reading its input: the broken pipe is then its answer, not a test failure
/// (CI once lost that race).
pub fn output_with_stdin(cmd: &mut Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}
