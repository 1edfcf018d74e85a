//! `fangyan bench store`: ingest through the server's store, on the local folder and on an
//! S3-compatible bucket, back to back in child processes; prints time, peak RSS and the ratio.
//!
//! Timed: the file streamed into the store while hashed (a multipart upload on S3), then,
//! apart, the ingest job: decode from the store, resample, the analysis copy and peaks written
//! to it, the original copied to its content key. Floors on the job: S3 ≤ 1.3× the folder;
//! peak RSS ≤ 64 MB for the whole run. The upload's ratio is printed too: on loopback it
//! measures the test server's speed at receiving bytes more than ours.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::bail;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audio::IngestOptions;
use crate::store::Store;

/// Ingests `file` through the store at `url` (scratch files under `data`) and prints a JSON
/// line: seconds, peak RSS. Removes what it stored afterwards.
pub fn ingest_one(file: &Path, data: &Path, url: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        std::fs::create_dir_all(data)?;
        let store = Store::open(Some(url), data)?;
        let start = Instant::now();
        let key = store.tmp_key("upload");
        let mut upload = store.upload(&key).await?;
        let mut hasher = Sha256::new();
        let mut f = std::fs::File::open(file)?;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            upload.write(&buf[..n]).await?;
        }
        upload.finish().await?;
        let upload_secs = start.elapsed().as_secs_f64();
        let sha = hex::encode(hasher.finalize());
        let (st, k, s) = (store.clone(), key.clone(), sha.clone());
        let meta = tokio::task::spawn_blocking(move || {
            crate::audio::ingest::ingest_object(
                &st,
                &k,
                &s,
                "bench",
                IngestOptions::default(),
                &mut |_, _| {},
            )
        })
        .await??;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({
                "secs": secs,
                "upload_secs": upload_secs,
                "peak_rss_kb": super::bench::peak_rss_kb(),
                "duration_secs": meta.duration_secs,
            })
        );
        for k in [
            format!("originals/{sha}"),
            crate::audio::Store::analysis_rel(&sha, 16_000),
            crate::audio::Store::peaks_rel(&sha, 16_000),
            format!("meta/{sha}.json"),
        ] {
            store.delete(&k).await?;
        }
        Ok(())
    })
}

/// Runs the comparison on a generated recording of `minutes` (WAV, 44.1 kHz stereo).
pub fn run(minutes: u32, work: &Path, url: &str) -> anyhow::Result<bool> {
    std::fs::create_dir_all(work)?;
    let work = std::fs::canonicalize(work)?;
    let input = super::bench::source(&work, minutes, "wav")?;
    let exe = std::env::current_exe()?;
    let folder = work.join("store-bench-folder");
    let mut figures = Vec::new();
    for (label, store) in [
        ("folder", format!("file://{}", folder.display())),
        ("s3", url.to_string()),
    ] {
        let _ = std::fs::remove_dir_all(&folder);
        let out = Command::new(&exe)
            .args(["bench", "ingest-one"])
            .arg(&input)
            .arg("--out")
            .arg(work.join("store-bench-data"))
            .args(["--via", &store])
            .output()?;
        if !out.status.success() {
            bail!(
                "ingest on {label}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        figures.push((
            label,
            report["secs"].as_f64().unwrap_or(f64::NAN),
            report["upload_secs"].as_f64().unwrap_or(f64::NAN),
            report["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0,
        ));
    }
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::remove_dir_all(work.join("store-bench-data"));
    println!(
        "store ingest of {minutes} min (WAV 44.1 kHz stereo, {:.0} MB): upload then ingest",
        std::fs::metadata(&input)?.len() as f64 / 1e6
    );
    println!(
        "{:<8} {:>9} {:>10} {:>9} {:>10}",
        "store", "upload s", "ingest s", "total s", "peak RSS"
    );
    for (label, secs, up, rss) in &figures {
        println!(
            "{label:<8} {up:>9.2} {:>10.2} {secs:>9.2} {rss:>7.1} MB",
            secs - up
        );
    }
    let job = |f: &(&str, f64, f64, f64)| f.1 - f.2;
    let ratio = job(&figures[1]) / job(&figures[0]);
    let total = figures[1].1 / figures[0].1;
    let rss = figures[1].3;
    let ok = ratio <= 1.3 && rss <= 64.0;
    println!(
        "s3/folder: ingest job {ratio:.2}×, upload+ingest {total:.2}×; S3 peak RSS {rss:.1} MB; \
         floor job ≤ 1.3×, RSS ≤ 64 MB: {}",
        if ok { "ok" } else { "MISSED" }
    );
    Ok(ok)
}
