//! `fangyan bench`: benchmarks that run the peer tool in the same run and print the ratio.

use clap::Subcommand;

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {}

/// Runs a benchmark.
pub fn run(what: BenchCommand) -> anyhow::Result<bool> {
    match what {}
}
