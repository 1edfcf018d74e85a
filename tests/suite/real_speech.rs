//! Every real recording of the reference set (../shared/fixtures-real, copied to fixtures/real)
//! decodes, with the duration its README gives (printed there to 10 ms) and, to the sample, the
//! duration ffmpeg decodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use common::*;

#[test]
fn every_real_recording_decodes_with_the_documented_duration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        // The table of files has the duration in its fifth column; other tables do not.
        let Some(documented) = cells.get(4).and_then(|c| c.parse::<f64>().ok()) else {
            continue;
        };
        let path = dir.join(name);
        let meta = fangyan::audio::probe(&path, Default::default()).expect(name);
        let reference = ffmpeg_decode_mono(&path).len() as f64 / f64::from(meta.source.sample_rate);
        eprintln!(
            "{name}: {:.4} s (README {documented:.2}, ffmpeg {reference:.4}), {} Hz {} ch {}",
            meta.duration_secs, meta.source.sample_rate, meta.source.channels, meta.source.codec
        );
        assert!(
            (meta.duration_secs - reference).abs() <= 0.001,
            "{name} vs ffmpeg"
        );
        assert!(
            (meta.duration_secs - documented).abs() <= 0.005 + 1e-9,
            "{name} vs README"
        );
        assert!(meta.warnings.is_empty(), "{name}: {:?}", meta.warnings);
        checked += 1;
    }
    assert_eq!(checked, 8);
}
