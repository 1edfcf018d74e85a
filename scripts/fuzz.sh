#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, cargo-fuzz + libFuzzer) for a bounded time and fails on any
# crash, panic, timeout or out-of-memory. Installs cargo-fuzz when it is missing.
#
#   scripts/fuzz.sh                 # every target for $FUZZ_SECONDS (default 30 s) each
#   FUZZ_SECONDS=600 scripts/fuzz.sh decode asr_eaf
#
# cargo-fuzz passes `-Z` flags (sanitizer, coverage), which only nightly accepts; this machine
# has stable only, so RUSTC_BOOTSTRAP=1 lets stable take them. Builds go to fuzz/target, new
# corpus entries to fuzz/work/<target> (both ignored by git), findings to
# fuzz/artifacts/<target>. A finding is fixed, then saved in fuzz/regressions/<target>/ where
# `cargo test --test suite fuzz_regressions::` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-30}
export RUSTC_BOOTSTRAP=1

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

# Debug assertions (and so overflow checks) on, as in the test builds; AddressSanitizer on by default.
# FUZZ_SANITIZER=none (as in .ci/run) builds in half the time: the project forbids unsafe code,
# so AddressSanitizer watches only dependencies; long runs keep it on.
flags=(--debug-assertions --fuzz-dir fuzz --sanitizer "${FUZZ_SANITIZER:-address}")
# FUZZ_DEV=1 (as in .ci/run) builds the fuzz crate's dev profile (opt-level 1, fuzz/Cargo.toml):
# a third of the build time of the optimised one, for a short smoke run.
if [ "${FUZZ_DEV:-}" = 1 ]; then flags+=(--dev); fi
cargo fuzz build "${flags[@]}"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/work/$t"
  echo "== fuzz $t for ${seconds}s"
  # -rss_limit_mb and -timeout make a huge allocation or a hang a finding, like a panic.
  if ! cargo fuzz run "${flags[@]}" "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
      -print_final_stats=1 2>&1 | sed -E -e '/^#[0-9]+[[:space:]]+(NEW|REDUCE)/d' -e '/^".*" # Uses: [0-9]+$/d'; then
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, 0 crashes"
