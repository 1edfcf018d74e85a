//! Benchmarks of the analysis engine: peak queries on a 10-hour recording, full-file STFT
//! against librosa, spectrogram tiles, the pitch tracker's realtime factor, and formant tracks
//! against Praat.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::analysis::formant::{FormantParams, FormantTracker};
use crate::analysis::peaks::{PeakBuilder, PeakFile};
use crate::analysis::pitch::{PitchParams, PitchTracker};
use crate::analysis::render::{FreqScale, TileRequest, render};
use crate::analysis::stft::{StftConfig, spectrogram_db};

/// A deterministic speech-like test signal: gliding harmonics, a syllable envelope, and noise.
pub fn speechlike(rate: u32, secs: f64) -> Vec<f32> {
    let n = (secs * f64::from(rate)) as usize;
    let mut state = 12_345u32;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f0 = 140.0 + 40.0 * (t * 0.9).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / f64::from(rate);
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (f64::from(state >> 8) / 16_777_216.0 - 0.5) * 0.02;
            let env = (2.0 * std::f64::consts::PI * 3.0 * t).sin().abs();
            (0.25 * env * ((phase).sin() + 0.5 * (2.0 * phase).sin() + 0.25 * (3.0 * phase).sin())
                + noise) as f32
        })
        .collect()
}

/// The format of the generated recordings: 16-bit mono PCM.
fn mono16(rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Builds a 10-hour pyramid (and its WAV, for the deepest zoom) and times viewport queries.
pub fn peaks(work: &Path, hours: f64) -> anyhow::Result<bool> {
    std::fs::create_dir_all(work)?;
    let rate = 16_000u32;
    let total = (hours * 3600.0 * f64::from(rate)) as usize;
    let wav = work.join(format!("peaks-{hours}h.wav"));
    let peaks = work.join(format!("peaks-{hours}h.peaks"));
    let one_minute = speechlike(rate, 60.0);
    let pcm: Vec<i16> = one_minute.iter().map(|&s| (s * 32767.0) as i16).collect();
    let t = Instant::now();
    if !peaks.exists() || !wav.exists() {
        let mut w = hound::WavWriter::create(&wav, mono16(rate))?;
        let mut b = PeakBuilder::create(&peaks, rate)?;
        let mut done = 0;
        while done < total {
            let n = pcm.len().min(total - done);
            let mut iw = w.get_i16_writer(n as u32);
            for &s in &pcm[..n] {
                iw.write_sample(s);
            }
            iw.flush()?;
            b.push(&pcm[..n])?;
            done += n;
        }
        w.finalize()?;
        b.finish()?;
        eprintln!(
            "built {hours} h of peaks in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let mut file = PeakFile::open(&peaks, Some(wav))?;
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut times = Vec::new();
    for i in 0..2_000 {
        // Spans from 1 ms (exact samples) to the whole file, log-uniform.
        let span = if i == 0 {
            total as f64
        } else {
            (total as f64).powf(next()).max(16.0)
        };
        let start = ((total as f64 - span) * next()) as u64;
        let end = (start + span as u64).min(total as u64);
        let t = Instant::now();
        let _ = file.query(start, end.max(start + 1), 2_000)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let p50 = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    let ok = p99 <= 5.0;
    println!(
        "peaks: {hours} h recording, 2000 viewport queries at 2000 px: p50 {p50:.3} ms, p99 {p99:.3} ms (floor p99 ≤ 5 ms: {})",
        if ok { "ok" } else { "MISSED" }
    );
    Ok(ok)
}

/// Full-file STFT of `minutes` at 16 kHz against librosa, and tile rendering time.
pub fn spectrogram(minutes: f64, python: Option<&Path>) -> anyhow::Result<bool> {
    let rate = 16_000u32;
    let x = speechlike(rate, minutes * 60.0);
    let cfg = StftConfig::hann(512, 160);
    let t = Instant::now();
    let (db, bins) = spectrogram_db(&x, rate, cfg, 2);
    let ours = t.elapsed().as_secs_f64();
    let frames = db.len() / bins;
    drop(db);
    let mut ok = true;
    let librosa = python.and_then(|py| librosa_time(py, minutes).ok());
    match librosa {
        Some(theirs) => {
            let speedup = theirs / ours;
            ok &= speedup >= 3.0;
            println!(
                "stft: {minutes} min at 16 kHz, n_fft 512, hop 160, Hann, dB: fangyan {ours:.2} s, librosa {theirs:.2} s, {speedup:.1}× faster (floor 3×: {})",
                if speedup >= 3.0 { "ok" } else { "MISSED" }
            );
        }
        None => println!(
            "stft: {minutes} min, {frames} frames × {bins} bins in {ours:.2} s (no Python venv with librosa: ratio not measured)"
        ),
    }
    // Viewport tiles: 800 × 256 px covering 10 s, anywhere in the file.
    let mut times = Vec::new();
    for i in 0..200 {
        let start = ((i * 7_919) % (x.len() - 160_000)) as i64;
        let req = TileRequest {
            start,
            end: start + 160_000,
            width: 800,
            height: 256,
            max_freq: 8_000.0,
            dynamic_range_db: 70.0,
            reference_db: None,
            scale: if i % 2 == 0 {
                FreqScale::Linear
            } else {
                FreqScale::Mel
            },
            stft: StftConfig::narrowband(rate),
        };
        let t = Instant::now();
        let first = (start - 1_000).max(0) as usize;
        let tile = render(
            &x[first..(start as usize + 161_000).min(x.len())],
            first as i64,
            rate,
            &req,
        );
        let png = tile.to_png(crate::analysis::render::Colormap::Viridis)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(png);
    }
    let p50 = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    ok &= p99 <= 20.0;
    println!(
        "tile: 800×256 px over 10 s, narrowband, PNG: p50 {p50:.1} ms, p99 {p99:.1} ms (floor ≤ 20 ms: {})",
        if p99 <= 20.0 { "ok" } else { "MISSED" }
    );
    Ok(ok)
}

fn librosa_time(python: &Path, minutes: f64) -> anyhow::Result<f64> {
    let script = format!(
        "import time, numpy as np, librosa\n\
         x = (np.random.default_rng(1).standard_normal(int({minutes} * 60 * 16000)) * 0.1).astype(np.float32)\n\
         librosa.power_to_db(np.abs(librosa.stft(x[:16000], n_fft=512, hop_length=160)) ** 2)\n\
         t = time.perf_counter()\n\
         S = librosa.stft(x, n_fft=512, hop_length=160, window='hann', center=True, pad_mode='constant')\n\
         D = librosa.power_to_db(np.abs(S) ** 2, ref=1.0, top_db=None)\n\
         print(time.perf_counter() - t)\n"
    );
    let mut child = Command::new(python)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(script.as_bytes()))
        .transpose()?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "librosa benchmark failed");
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// Pitch tracking speed.
pub fn pitch(minutes: f64) -> anyhow::Result<bool> {
    let rate = 16_000u32;
    let x = speechlike(rate, minutes * 60.0);
    let t = Instant::now();
    let track = PitchTracker::new(rate, PitchParams::default()).track(&x);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "pitch: {minutes} min at 16 kHz, {} frames in {secs:.2} s: {:.0}× realtime",
        track.times.len(),
        minutes * 60.0 / secs
    );
    Ok(true)
}

/// Formant tracks for `minutes` of speech-like audio, ours beside Praat's `To Formant (burg)`
/// with the same settings on the same 16 kHz WAV file, in the same run. Reading the file is
/// counted for neither: Praat's figure is its own stopwatch around the command. The floor:
/// faster than Praat. Without `praat` on the PATH the ratio is skipped.
pub fn formant(minutes: f64, work: &Path) -> anyhow::Result<bool> {
    std::fs::create_dir_all(work)?;
    let rate = 16_000u32;
    let wav = work.join(format!("formant-{minutes}m.wav"));
    if !wav.exists() {
        let mut w = hound::WavWriter::create(&wav, mono16(rate))?;
        for s in speechlike(rate, minutes * 60.0) {
            w.write_sample((s * 32_767.0) as i16)?;
        }
        w.finalize()?;
    }
    let x: Vec<f32> = hound::WavReader::open(&wav)?
        .samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32_768.0))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    let frames = FormantTracker::new(rate, FormantParams::default())?.track(&x);
    let ours = t.elapsed().as_secs_f64();
    let secs = minutes * 60.0;
    println!(
        "formant: {minutes} min at 16 kHz, {} frames in {ours:.2} s: {:.0}x realtime",
        frames.len(),
        secs / ours
    );
    let script = work.join("formant-bench.praat");
    std::fs::write(
        &script,
        "form Bench\n  sentence In\nendform\nsound = Read from file: in$\nt0 = stopwatch\n\
         formant = noprogress To Formant (burg): 0, 5, 5500, 0.025, 50\nt = stopwatch\n\
         writeInfoLine: fixed$(t, 3)\n",
    )?;
    let out = match Command::new("praat")
        .arg("--run")
        .arg(&script)
        .arg(std::fs::canonicalize(&wav)?)
        .output()
    {
        Ok(out) if out.status.success() => out,
        Ok(out) => anyhow::bail!("praat failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            println!("formant: praat not found ({e}); the ratio is skipped");
            return Ok(true);
        }
    };
    let praat: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    println!(
        "formant: Praat 'To Formant (burg)' on the same file {praat:.2} s: {:.0}x realtime; ours is {:.2}x Praat's speed",
        secs / praat,
        praat / ours
    );
    let held = ours < praat;
    println!(
        "formant: floor faster than Praat: {}",
        if held { "ok" } else { "MISSED" }
    );
    Ok(held)
}
