use std::io;

use super::*;

#[test]
fn frames_of_digital_silence_are_skipped_with_the_same_result() {
    // Zeros with a few isolated samples and a short tone: every frame, whether its window
    // is all zeros (skipped) or not (computed), equals the frame computed in full.
    let rate = 8_000;
    let mut x = vec![0.0f32; 3 * rate as usize];
    x[4_000] = 1e-3;
    x[12_345] = -0.5;
    for (i, v) in x[16_000..18_000].iter_mut().enumerate() {
        *v = 0.3 * (i as f32 * 0.2).sin();
    }
    let mut t = PitchTracker::new(rate, PitchParams::default());
    let mut raw = Vec::new();
    let block_of_all = x.len();
    let Ok(()) = t.raw_blocks::<Infallible>(
        x.len(),
        &mut |s, n| x[s..(s + n).min(block_of_all)].to_vec(),
        &mut |r| {
            raw.push(r);
            Ok(())
        },
    );
    let mut skipped = 0;
    for (k, r) in raw.iter().enumerate() {
        let full = t.frame(&x, 0, (k * t.hop) as i64);
        assert_eq!(r.to_bytes(), full.to_bytes(), "frame {k}");
        let (from, to) = t.reach((k * t.hop) as i64);
        skipped += usize::from((from.max(0)..to.min(x.len() as i64)).all(|i| x[i as usize] == 0.0));
    }
    assert!(
        skipped > raw.len() / 3,
        "{skipped} of {} frames skipped",
        raw.len()
    );
}

#[test]
fn silence_is_unvoiced() {
    let t = PitchTracker::new(16_000, PitchParams::default()).track(&[0.0; 16_000]);
    assert_eq!(t.times.len(), 101);
    assert!(t.f0_hz.iter().all(Option::is_none));
}

#[test]
fn a_track_by_time_range_equals_the_whole_file_track() {
    // Silence, a loud glide and a quiet tone (voiced only relative to the loudest frame):
    // every frame computed alone from a small block around it, with the reference from the
    // energies-only pass, equals the frame of the whole-file track.
    let rate = 16_000;
    let mut x = vec![0.0f32; rate as usize / 2];
    let mut phase = 0.0f32;
    for i in 0..3 * rate as usize {
        let f = if i < 3 * rate as usize / 2 {
            120.0 + i as f32 / 300.0
        } else {
            210.0
        };
        phase += 2.0 * std::f32::consts::PI * f / rate as f32;
        let gain = if i < 3 * rate as usize / 2 { 0.4 } else { 0.02 };
        x.push(
            gain * (1..=6)
                .map(|h| (h as f32 * phase).sin() / h as f32)
                .sum::<f32>(),
        );
    }
    let params = PitchParams::default();
    let whole = PitchTracker::new(rate, params).track(&x);
    let mut t = PitchTracker::new(rate, params);
    let read = |s: usize, n: usize| x[s..(s + n).min(x.len())].to_vec();
    let loudest = t.loudest_blocks(x.len(), &mut |s, n| read(s, n));
    let raw_loudest = {
        let mut spill = std::io::Cursor::new(Vec::new());
        t.write_json_blocks(x.len(), &mut |s, n| read(s, n), &mut spill, &mut io::sink())
            .unwrap_or_default()
    };
    assert_eq!(loudest.to_bits(), raw_loudest.to_bits());
    let ctx = t.context();
    let mut voiced = 0;
    for k in (0..whole.times.len()).step_by(7) {
        let centre = k * t.hop();
        let from = centre.saturating_sub(ctx);
        let block = read(from, centre + ctx - from);
        let p = t.point(&block, from as i64, centre as i64, loudest);
        assert_eq!(p.f0_hz, whole.f0_hz[k], "frame {k}");
        assert_eq!(
            p.intensity_db.to_bits(),
            whole.intensity_db[k].to_bits(),
            "frame {k}"
        );
        voiced += usize::from(p.f0_hz.is_some());
    }
    assert!(voiced > 30, "{voiced} voiced frames");
}
