//! `fangyan bench`: benchmarks that time the peer tool in the same run and print the ratio.
//!
//! `bench ingest` generates a long 44.1 kHz stereo recording (speech-like tones and noise) with
//! ffmpeg, encodes it in every common format, then for each format times
//! `ffmpeg -threads 1 -i IN -ar 16000 -ac 1 OUT.wav` and `fangyan`'s own ingest of the same file
//! (original stored and hashed, analysis copy written) in a child process, and prints the
//! realtime factor, peak RSS and the time ratio. Numbers on shared machines are noisy; the
//! ratio, measured back to back, is the figure to compare.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;

use crate::audio::{IngestOptions, Store};

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest speed and memory against ffmpeg, per format.
    Ingest {
        /// Length of the generated recording in minutes.
        #[arg(long, env = "FANGYAN_MINUTES", default_value_t = 60)]
        minutes: u32,
        /// Working directory for generated audio (kept between runs and reused).
        #[arg(long, env = "FANGYAN_WORK", default_value = "bench-work")]
        work: PathBuf,
        /// Formats to run (wav, flac, mp3, ogg, opus, m4a).
        #[arg(
            long,
            env = "FANGYAN_FORMATS",
            value_delimiter = ',',
            default_value = "wav,flac,mp3,ogg,opus,m4a"
        )]
        formats: Vec<String>,
    },
    /// Viewport queries on the peak pyramid of a long recording.
    Peaks {
        /// Length of the generated recording in hours.
        #[arg(long, env = "FANGYAN_HOURS", default_value_t = 10.0)]
        hours: f64,
        /// Working directory for the generated pyramid (kept and reused).
        #[arg(long, env = "FANGYAN_WORK", default_value = "bench-work")]
        work: PathBuf,
    },
    /// Full-file STFT against librosa, and spectrogram tile rendering.
    Spectrogram {
        /// Length of the signal in minutes.
        #[arg(long, env = "FANGYAN_MINUTES", default_value_t = 60.0)]
        minutes: f64,
        /// Python with librosa (default: .venv/bin/python if it exists).
        #[arg(long, env = "FANGYAN_PYTHON")]
        python: Option<PathBuf>,
    },
    /// Pitch tracker realtime factor.
    Pitch {
        /// Length of the signal in minutes.
        #[arg(long, env = "FANGYAN_MINUTES", default_value_t = 10.0)]
        minutes: f64,
    },
    /// Formant tracks (Burg LPC) against Praat's `To Formant (burg)` on the same file.
    Formant {
        /// Length of the signal in minutes.
        #[arg(long, env = "FANGYAN_MINUTES", default_value_t = 60.0)]
        minutes: f64,
        /// Working directory for the generated recording (kept between runs and reused).
        #[arg(long, env = "FANGYAN_WORK", default_value = "bench-work")]
        work: PathBuf,
    },
    /// Ingest one file and print time and peak RSS as JSON (used by `bench ingest` and tests).
    #[command(hide = true)]
    IngestOne {
        /// The recording.
        file: PathBuf,
        /// Store directory (with `--store`: the data directory, for scratch files).
        #[arg(long, env = "FANGYAN_OUT")]
        out: PathBuf,
        /// Ingest through the server's store at this URL instead (upload, then the job).
        #[arg(long, env = "FANGYAN_VIA")]
        via: Option<String>,
    },
    /// Ingest through the server's store: the local folder against an S3 bucket, with ratio.
    Store {
        /// Length of the generated recording in minutes.
        #[arg(long, env = "FANGYAN_MINUTES", default_value_t = 10)]
        minutes: u32,
        /// Working directory for generated audio (kept between runs and reused).
        #[arg(long, env = "FANGYAN_WORK", default_value = "bench-work")]
        work: PathBuf,
        /// The bucket to compare with the folder (s3://bucket/prefix, AWS_* variables).
        #[arg(long, env = "FANGYAN_BENCH_BUCKET")]
        bucket: String,
    },
}

/// Runs a benchmark. Returns whether every floor held.
pub fn run(what: BenchCommand) -> anyhow::Result<bool> {
    match what {
        BenchCommand::Ingest {
            minutes,
            work,
            formats,
        } => ingest(minutes, &work, &formats),
        BenchCommand::Peaks { hours, work } => super::bench_analysis::peaks(&work, hours),
        BenchCommand::Spectrogram { minutes, python } => {
            let default = PathBuf::from(".venv/bin/python");
            let python = python.or_else(|| default.exists().then_some(default));
            super::bench_analysis::spectrogram(minutes, python.as_deref())
        }
        BenchCommand::Pitch { minutes } => super::bench_analysis::pitch(minutes),
        BenchCommand::Formant { minutes, work } => super::bench_analysis::formant(minutes, &work),
        BenchCommand::Store {
            minutes,
            work,
            bucket,
        } => super::bench_store::run(minutes, &work, &bucket),
        BenchCommand::IngestOne {
            file,
            out,
            via: Some(url),
        } => super::bench_store::ingest_one(&file, &out, &url).map(|()| true),
        BenchCommand::IngestOne {
            file,
            out,
            via: None,
        } => {
            let start = Instant::now();
            let meta =
                Store::open(&out)?.ingest(&file, IngestOptions::default(), &mut |_, _| {})?;
            println!(
                "{}",
                json!({
                    "secs": start.elapsed().as_secs_f64(),
                    "peak_rss_kb": peak_rss_kb(),
                    "duration_secs": meta.duration_secs,
                    "analysis_frames": meta.analysis.map(|a| a.frames),
                })
            );
            Ok(true)
        }
    }
}

/// This process's peak resident set size (VmHWM), in kB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ffmpeg(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .context("running ffmpeg (install it: apt-get install ffmpeg)")?;
    if !out.status.success() {
        bail!("ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn encoder(format: &str) -> anyhow::Result<&'static [&'static str]> {
    Ok(match format {
        "wav" => &["-c:a", "pcm_s16le"],
        "flac" => &["-c:a", "flac"],
        "mp3" => &["-c:a", "libmp3lame", "-b:a", "128k"],
        "ogg" => &["-c:a", "libvorbis", "-q:a", "4"],
        "opus" => &["-c:a", "libopus", "-b:a", "64k"],
        "m4a" => &["-c:a", "aac", "-b:a", "128k"],
        other => bail!("unknown format {other}"),
    })
}

/// Generates (or reuses) the test recording in `format`.
pub(super) fn source(work: &Path, minutes: u32, format: &str) -> anyhow::Result<PathBuf> {
    let path = work.join(format!("speechlike-{minutes}min-44k1-stereo.{format}"));
    if path.exists() {
        return Ok(path);
    }
    let tmp = work.join(format!("partial.{format}"));
    let tmp_s = tmp.to_string_lossy().into_owned();
    if format != "wav" {
        // Encode from the WAV master: generating the signal is the slow part.
        let master = source(work, minutes, "wav")?;
        let mut args = vec!["-i".to_string(), master.to_string_lossy().into_owned()];
        args.extend(encoder(format)?.iter().map(|s| s.to_string()));
        args.push(tmp_s);
        eprintln!("encoding {}...", path.display());
        ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        std::fs::rename(&tmp, &path)?;
        return Ok(path);
    }
    let secs = (minutes * 60).to_string();
    // Two voices of gliding harmonics plus pink noise: compressible like speech, not silence.
    let graph = format!(
        "aevalsrc='0.3*sin(2*PI*(150+40*sin(2*PI*0.7*t))*t)+0.1*sin(2*PI*(450+90*sin(2*PI*0.3*t))*t)|\
         0.3*sin(2*PI*(210+50*sin(2*PI*0.5*t))*t)+0.1*sin(2*PI*(630+70*sin(2*PI*0.4*t))*t)':s=44100:d={secs}[a];\
         anoisesrc=c=pink:a=0.05:r=44100:d={secs},aformat=channel_layouts=stereo[n];[a][n]amix=inputs=2:normalize=0"
    );
    let mut args = vec!["-filter_complex", graph.as_str()];
    args.extend_from_slice(encoder(format)?);
    args.push(&tmp_s);
    eprintln!("generating {} ({minutes} min)...", path.display());
    ffmpeg(&args)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn ingest(minutes: u32, work: &Path, formats: &[String]) -> anyhow::Result<bool> {
    std::fs::create_dir_all(work)?;
    let exe = std::env::current_exe()?;
    let mut all_ok = true;
    // The peak pyramid is built inside ingest; time it alone on the same number of samples to
    // report what it adds.
    let peaks_secs = {
        let pcm: Vec<i16> = super::bench_analysis::speechlike(16_000, 60.0)
            .iter()
            .map(|&s| (s * 32767.0) as i16)
            .collect();
        let dest = work.join("overhead.peaks");
        let t = Instant::now();
        let mut b = crate::analysis::peaks::PeakBuilder::create(&dest, 16_000)?;
        for _ in 0..minutes {
            b.push(&pcm)?;
        }
        b.finish()?;
        let secs = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&dest);
        secs
    };
    println!(
        "peak pyramid alone for {minutes} min at 16 kHz: {peaks_secs:.3} s (included in the fangyan times below)"
    );
    println!(
        "{:<6} {:>10} {:>10} {:>9} {:>12} {:>10} {:>8} {:>7}",
        "format", "ffmpeg s", "fangyan s", "ratio", "realtime ×", "peak RSS", "peaks +", "floor"
    );
    for format in formats {
        let input = source(work, minutes, format)?;
        let ff_out = work.join("ffmpeg-out.wav");
        let t = Instant::now();
        ffmpeg(&[
            "-threads",
            "1",
            "-i",
            &input.to_string_lossy(),
            "-ar",
            "16000",
            "-ac",
            "1",
            &ff_out.to_string_lossy(),
        ])?;
        let ff_secs = t.elapsed().as_secs_f64();

        let store = work.join("store");
        let _ = std::fs::remove_dir_all(&store);
        let out = Command::new(&exe)
            .args(["bench", "ingest-one"])
            .arg(&input)
            .arg("--out")
            .arg(&store)
            .output()?;
        if !out.status.success() {
            bail!(
                "fangyan ingest of {}: {}",
                input.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let secs = report["secs"].as_f64().unwrap_or(f64::NAN);
        let rss_mb = report["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0;
        let ratio = secs / ff_secs;
        let peaks_share = peaks_secs / (secs - peaks_secs).max(1e-9);
        let ok = ratio <= 1.0 && rss_mb <= 64.0 && peaks_share <= 0.10;
        all_ok &= ok;
        println!(
            "{format:<6} {ff_secs:>10.2} {secs:>10.2} {ratio:>8.2}× {:>11.0}× {rss_mb:>7.1} MB {:>7.1}% {:>7}",
            f64::from(minutes * 60) / secs,
            peaks_share * 100.0,
            if ok { "ok" } else { "MISSED" }
        );
        let _ = std::fs::remove_dir_all(&store);
        let _ = std::fs::remove_file(&ff_out);
    }
    println!(
        "floor: time ≤ 1.0× ffmpeg, peak RSS ≤ 64 MB, peaks add ≤ 10%, for every format; aim ≤ 0.7×"
    );
    Ok(all_ok)
}
