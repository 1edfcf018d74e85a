use super::*;

fn build(samples: &[i16], dir: &Path) -> PathBuf {
    let dest = dir.join("x.peaks");
    let mut b = PeakBuilder::create(&dest, 16_000).unwrap();
    for chunk in samples.chunks(1000) {
        b.push(chunk).unwrap();
    }
    b.finish().unwrap()
}

#[test]
fn an_impulse_lands_in_the_right_bucket_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    // A whole number of coarsest buckets, so one pixel per bucket selects each level exactly.
    let n = 7 * 32_768usize;
    for at in [0usize, 31, 32, 12_345, 131_071, n - 1] {
        let mut x = vec![0i16; n];
        x[at] = 30_000;
        x[(at + n / 2) % n] = -20_000;
        let path = build(&x, dir.path());
        let mut f = PeakFile::open(&path, None).unwrap();
        for level in 0..LEVELS {
            let spb = u64::from(bucket_size(level));
            let buckets = (n as u64).div_ceil(spb);
            // One pixel per bucket selects exactly this level.
            let Peaks::MinMax(px) = f.query(0, n as u64, buckets as u32).unwrap() else {
                panic!("min/max expected")
            };
            let hit: Vec<usize> = px
                .iter()
                .enumerate()
                .filter(|(_, p)| p.1 == 30_000)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                hit,
                vec![at / spb as usize],
                "level {level}, impulse at {at}"
            );
            let neg = px.iter().position(|p| p.0 == -20_000).unwrap();
            assert_eq!(neg, ((at + n / 2) % n) / spb as usize);
        }
    }
}

#[test]
fn one_open_file_answers_every_exact_sample_query() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<i16> = (0..50_000).map(|i| (i % 1000) as i16).collect();
    let path = build(&x, dir.path());
    let wav = dir.path().join("x.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for &s in &x {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let mut f = PeakFile::open(&path, Some(wav)).unwrap();
    // The analysis copy is opened again for each query at the deepest zoom, not only once.
    for start in [100u64, 20_000, 100] {
        let Peaks::Samples(s) = f.query(start, start + 10, 2_000).unwrap() else {
            panic!("exact samples expected")
        };
        assert_eq!(s, x[start as usize..start as usize + 10]);
    }
}

#[test]
fn the_file_is_versioned_and_rejects_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.peaks");
    std::fs::write(&p, b"FYPEAKS\0\x02\0\0\0").unwrap();
    assert!(matches!(PeakFile::open(&p, None), Err(PeaksError::Format)));
    let good = build(&[1, 2, 3], dir.path());
    let mut f = PeakFile::open(&good, None).unwrap();
    assert_eq!(f.samples(), 3);
    assert!(matches!(f.query(0, 4, 10), Err(PeaksError::Range { .. })));
    assert!(matches!(f.query(2, 2, 10), Err(PeaksError::Range { .. })));
}

#[test]
fn coarse_queries_cover_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<i16> = (0..100_000)
        .map(|i| ((i * 7919) % 65_536 - 32_768) as i16)
        .collect();
    let path = build(&x, dir.path());
    let mut f = PeakFile::open(&path, None).unwrap();
    for (start, end, width) in [
        (0u64, 100_000u64, 700u32),
        (1_234, 98_765, 333),
        (50_000, 50_640, 20),
    ] {
        let Peaks::MinMax(px) = f.query(start, end, width).unwrap() else {
            panic!()
        };
        assert_eq!(px.len(), width as usize);
        // Every pixel's range contains the true min/max of its own samples.
        let per = (end - start) as f64 / f64::from(width);
        for (i, &(mn, mx)) in px.iter().enumerate() {
            let a = (start as f64 + i as f64 * per) as usize;
            let b = ((start as f64 + (i + 1) as f64 * per) as usize).max(a + 1);
            let tmin = *x[a..b].iter().min().unwrap();
            let tmax = *x[a..b].iter().max().unwrap();
            assert!(mn <= tmin && mx >= tmax, "pixel {i}");
        }
    }
}
