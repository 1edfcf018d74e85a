//! Resampler tests with analytic oracles, swept over input rates, push sizes and resampler
//! chunk sizes: tone purity (THD+N), stop-band rejection, ramp shape and timing, exact length.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::PI;

use fangyan::audio::resample::{StreamResampler, output_len};

const RATES: [u32; 6] = [8_000, 11_025, 22_050, 44_100, 48_000, 96_000];
const TARGET: u32 = 16_000;
/// (push size, resampler chunk) pairs: tiny odd pushes, typical, larger than a chunk.
const CHUNKINGS: [(usize, usize); 3] = [(17, 512), (1_000, 4_096), (65_536, 1_024)];

fn resample(input: &[f32], from: u32, push: usize, chunk: usize) -> Vec<f32> {
    let mut r = StreamResampler::new(from, TARGET, chunk).unwrap();
    let mut out = Vec::new();
    let mut sink = |s: &[f32]| -> Result<(), fangyan::audio::resample::ResampleError> {
        out.extend_from_slice(s);
        Ok(())
    };
    for piece in input.chunks(push) {
        r.push(piece, &mut sink).unwrap();
    }
    r.finish(&mut sink).unwrap();
    out
}

fn tone(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<f32> {
    let n = (secs * f64::from(rate)) as usize;
    (0..n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// Total harmonic distortion plus noise in dB: the residual after a least-squares fit of a
/// sinusoid at `freq` (plus DC), relative to the fitted tone.
fn thd_n_db(x: &[f32], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    // Normal equations for [sin, cos, 1].
    let mut ata = [[0.0f64; 3]; 3];
    let mut atb = [0.0f64; 3];
    for (i, &v) in x.iter().enumerate() {
        let row = [(w * i as f64).sin(), (w * i as f64).cos(), 1.0];
        for r in 0..3 {
            for c in 0..3 {
                ata[r][c] += row[r] * row[c];
            }
            atb[r] += row[r] * f64::from(v);
        }
    }
    let coef = solve3(ata, atb);
    let (mut sig, mut res) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let fit = coef[0] * (w * i as f64).sin() + coef[1] * (w * i as f64).cos();
        sig += fit * fit;
        let e = f64::from(v) - fit - coef[2];
        res += e * e;
    }
    10.0 * (res / sig).log10()
}

#[allow(clippy::needless_range_loop)] // Gaussian elimination reads best with indices.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
    for col in 0..3 {
        let piv = (col..3)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..3 {
            let f = a[row][col] / a[col][col];
            for c in col..3 {
                a[row][c] -= f * a[col][c];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

/// The steady-state middle of a signal (edges carry the filter's start-up and tail).
fn middle(x: &[f32]) -> &[f32] {
    let edge = (TARGET as usize) / 10;
    &x[edge..x.len() - edge]
}

#[test]
fn a_1khz_sine_comes_out_clean() {
    for rate in RATES {
        for (push, chunk) in CHUNKINGS {
            let out = resample(&tone(rate, 1_000.0, 1.0, 0.5), rate, push, chunk);
            let db = thd_n_db(middle(&out), TARGET, 1_000.0);
            eprintln!("THD+N {rate} Hz push {push} chunk {chunk}: {db:.1} dB");
            assert!(
                db <= -90.0,
                "{rate} Hz, push {push}, chunk {chunk}: THD+N {db:.1} dB"
            );
        }
    }
}

#[test]
fn tones_above_the_new_nyquist_are_removed() {
    for rate in RATES.into_iter().filter(|&r| r >= 22_050) {
        for (push, chunk) in CHUNKINGS {
            let out = resample(&tone(rate, 9_000.0, 1.0, 0.5), rate, push, chunk);
            let m = middle(&out);
            let rms =
                (m.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / m.len() as f64).sqrt();
            let db = 20.0 * (rms / (0.5 / 2f64.sqrt())).log10();
            eprintln!("9 kHz rejection {rate} Hz push {push} chunk {chunk}: {db:.1} dB");
            assert!(
                db <= -80.0,
                "{rate} Hz, push {push}, chunk {chunk}: 9 kHz at {db:.1} dB"
            );
        }
    }
}

#[test]
fn a_slow_ramp_stays_a_ramp_in_time() {
    for rate in RATES {
        for (push, chunk) in CHUNKINGS {
            let secs = 2.0;
            let n = (secs * f64::from(rate)) as usize;
            // -0.5 .. 0.5 over the file: a slope far below any filter's corner.
            let ramp = |t: f64| -0.5 + t / secs;
            let input: Vec<f32> = (0..n)
                .map(|i| ramp(i as f64 / f64::from(rate)) as f32)
                .collect();
            let out = resample(&input, rate, push, chunk);
            let edge = TARGET as usize / 10;
            for (k, &v) in out.iter().enumerate().skip(edge).take(out.len() - 2 * edge) {
                let want = ramp(k as f64 / f64::from(TARGET));
                assert!(
                    (f64::from(v) - want).abs() < 1e-3,
                    "{rate} Hz, push {push}, chunk {chunk}: sample {k} is {v}, want {want}"
                );
            }
        }
    }
}

#[test]
fn output_length_is_exact() {
    for rate in RATES {
        for (push, chunk) in CHUNKINGS {
            for n in [1usize, 7, 441, 1_000, 4_097, 22_050, 100_003] {
                let out = resample(&vec![0.1; n], rate, push, chunk);
                let want = n as f64 * f64::from(TARGET) / f64::from(rate);
                assert!(
                    (out.len() as f64 - want).abs() <= 1.0,
                    "{rate} Hz, push {push}, chunk {chunk}, {n} in: {} out, want {want:.2}",
                    out.len()
                );
                assert_eq!(out.len() as u64, output_len(n as u64, rate, TARGET));
            }
        }
    }
}

#[test]
fn the_same_rate_passes_through_untouched() {
    let x = tone(TARGET, 440.0, 0.3, 0.7);
    assert_eq!(resample(&x, TARGET, 333, 1024), x);
}
