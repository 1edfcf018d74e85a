//! The `fangyan` binary: parse the command line, start tracing, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()// symphonia warns about recoverable oddities (junk bytes before a header) that
                // fangyan reports itself, as warnings on the recording.
                .unwrap_or_else(|_| "warn,symphonia_core=error,symphonia_format_riff=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    fangyan::cli::run(fangyan::cli::Cli::parse())
}
