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
