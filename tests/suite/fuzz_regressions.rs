//! Replays the fuzz seed corpus (`fuzz/corpus/<target>/`) and every saved crasher
//! (`fuzz/regressions/<target>/`) through the fuzz targets' own bodies, so an ordinary
//! `cargo test` keeps every input that once broke something fixed, without cargo-fuzz or a
//! nightly flag. The targets and their checks are in `fuzz/fuzz_targets/targets.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/fuzz_targets/targets.rs"]
mod targets;

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

#[test]
fn every_seed_and_crasher_passes_its_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    let mut seeds = 0;
    for (name, target) in targets::TARGETS {
        assert!(
            root.join("corpus").join(name).is_dir(),
            "fuzz target {name} has no seed corpus"
        );
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                if folder == "corpus" {
                    seeds += 1;
                }
                if panic::catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                    failures.push(path.display().to_string());
                }
            }
        }
    }
    assert!(seeds >= 40, "the seed corpus is incomplete: {seeds} files");
    assert!(failures.is_empty(), "failed: {}", failures.join("\n"));
}
