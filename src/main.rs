//! The `fangyan` binary: parse the command line, start tracing, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = fangyan::cli::Cli::parse();
    fangyan::ops::logs::init(cli.log_format());
    fangyan::cli::run(cli)
}
