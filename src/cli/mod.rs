//! The command line: argument types (clap) and one function per subcommand.
//!
//! Output contract: machine-readable results go to stdout as JSON lines, one per input file;
//! progress bars and logs go to stderr. A bad file never stops the others, and the exit code is
//! non-zero when any file failed.

mod admin;
mod analyze;
mod backup;
mod bench;
mod bench_analysis;
mod bench_store;
mod demo;
mod export;
mod import_asr;
mod score;
mod users;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use crate::audio::decode::DEFAULT_MAX_SECS;
use crate::audio::ingest::DEFAULT_RATE;
use crate::audio::{ChannelMode, DecodeOptions, IngestError, IngestOptions, Store};

/// fangyan: dialect speech transcription workbench.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// A Postgres database (postgres://user@host:port/name) instead of the SQLite file in the
    /// data directory; for `serve` and every command that opens a project's data.
    #[arg(
        long,
        global = true,
        env = "FANGYAN_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Log lines as `text` or `json` (one object per line, with the request id), on stderr;
    /// `RUST_LOG` filters them.
    #[arg(
        long,
        global = true,
        env = "FANGYAN_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: crate::ops::logs::LogFormat,
    /// Where recordings are stored: file:///path or s3://bucket/prefix (with AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION); default the data directory's
    /// store/ folder.
    #[arg(long, global = true, env = "FANGYAN_STORE")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the workbench server on a data directory.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FANGYAN_ADDR", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        #[command(flatten)]
        data: admin::DataDir,
        #[command(flatten)]
        trust: admin::TrustArgs,
        /// The address browsers use, e.g. https://fangyan.example.org; https makes the
        /// session cookie `Secure`.
        #[arg(long, env = "FANGYAN_PUBLIC_URL", value_parser = public_url)]
        public_url: Option<String>,
        /// A reverse proxy (address or network such as 10.0.0.0/8; repeatable or
        /// comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed.
        #[arg(
            long = "trusted-proxy",
            env = "FANGYAN_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<crate::accounts::IpNet>,
    },
    /// Create a demo project (one user per role, real recordings) and run the server.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "FANGYAN_ADDR", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Data directory for the demo.
        #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-demo")]
        data: PathBuf,
        #[command(flatten)]
        trust: admin::TrustArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        what: admin::UserCommand,
    },
    /// Move the database: `db copy` into Postgres.
    Db {
        #[command(subcommand)]
        what: admin::DbCommand,
    },
    /// Back up a data directory, online: the database (SQLite) and the store's objects with
    /// their manifest. On Postgres, run the printed `pg_dump` into the folder first.
    Backup(backup::BackupArgs),
    /// Restore a backup into a new data directory, after checking it against its manifest.
    Restore(backup::RestoreArgs),
    /// Manage projects: create, add members, import recordings.
    Project {
        #[command(subcommand)]
        what: admin::ProjectCommand,
    },
    /// Decode files and print their metadata as JSON lines (nothing is written).
    Probe {
        /// Audio files of any supported format.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        decode: DecodeArgs,
    },
    /// Store originals, write 16-bit mono analysis copies and metadata into a directory.
    Ingest {
        /// Audio files of any supported format.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Store directory (created if missing).
        #[arg(long, env = "FANGYAN_OUT")]
        out: PathBuf,
        /// Analysis sample rate in Hz, 8000 to 48000.
        #[arg(long, env = "FANGYAN_RATE", default_value_t = DEFAULT_RATE)]
        rate: u32,
        #[command(flatten)]
        decode: DecodeArgs,
    },
    /// Ingest and write peaks, pitch and intensity, voice-activity segments and a spectrogram.
    Analyze(analyze::AnalyzeArgs),
    /// Import ASR output files into a project's recordings (matched by name or --map).
    ImportAsr(import_asr::ImportAsrArgs),
    /// CER/WER of hypotheses against references (Kaldi `utt-id text` files), as JSON lines.
    Score(score::ScoreArgs),
    /// Export a project's corpus: clips and every training/annotation layout.
    Export(Box<export::ExportArgs>),
    /// Benchmarks that print their ratio against the peer tool.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

#[derive(Debug, Args, Clone, Copy)]
struct DecodeArgs {
    /// Use only this zero-based channel instead of the mean of all channels.
    #[arg(long, env = "FANGYAN_CHANNEL")]
    channel: Option<usize>,
    /// Maximum recording duration in seconds.
    #[arg(long, env = "FANGYAN_MAX_DURATION", default_value_t = DEFAULT_MAX_SECS)]
    max_duration: f64,
}

impl From<DecodeArgs> for DecodeOptions {
    fn from(a: DecodeArgs) -> Self {
        DecodeOptions {
            channel: a.channel.map_or(ChannelMode::Mix, ChannelMode::Select),
            max_secs: a.max_duration,
        }
    }
}

impl Cli {
    /// How log lines are written (`--log-format`), for the binary to set up tracing with.
    pub fn log_format(&self) -> crate::ops::logs::LogFormat {
        self.log_format
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let db = cli.database_url;
    let store = cli.store;
    let result = match cli.command {
        Command::Serve {
            addr,
            data,
            trust,
            public_url,
            trusted_proxies,
        } => data.checked().and_then(|data| {
            let mut config = trust.config(data).with_database(db).with_store(store);
            config.public_url = public_url;
            config.trusted_proxies = trusted_proxies;
            admin::serve(addr, config)
        }),
        Command::Demo { addr, data, trust } => demo::demo(addr, data, trust, db, store),
        Command::User { what } => admin::user(what, db, store),
        Command::Project { what } => admin::project(what, db, store),
        Command::Db { what } => admin::db(what),
        Command::Backup(args) => backup::backup(args, db, store),
        Command::Restore(args) => backup::restore(args),
        Command::Probe { files, decode } => Ok(probe(&files, decode.into())),
        Command::Ingest {
            files,
            out,
            rate,
            decode,
        } => ingest(
            &files,
            out,
            IngestOptions {
                rate,
                decode: decode.into(),
            },
        ),
        Command::Analyze(args) => analyze::run(args),
        Command::ImportAsr(args) => import_asr::run(args, db, store),
        Command::Score(args) => score::run(args),
        Command::Export(args) => export::run(*args, db, store),
        Command::Bench { what } => bench::run(what),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("fangyan: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `--public-url`: an http or https URL.
fn public_url(s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(format!("{s:?} is not an http:// or https:// URL"))
    }
}

/// The JSON line printed for a file that failed.
pub fn error_line(file: &std::path::Path, e: &IngestError) -> serde_json::Value {
    json!({
        "file": file.display().to_string(),
        "error": { "code": e.code(), "status": e.http_status(), "message": e.to_string() },
    })
}

fn print_line(v: &impl serde::Serialize) {
    let mut out = io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, v);
    let _ = writeln!(out);
}

fn probe(files: &[PathBuf], opts: DecodeOptions) -> bool {
    let mut ok = true;
    for f in files {
        match crate::audio::probe(f, opts) {
            Ok(meta) => print_line(&json!({ "file": f.display().to_string(), "meta": meta })),
            Err(e) => {
                ok = false;
                print_line(&error_line(f, &e));
            }
        }
    }
    ok
}

fn ingest(files: &[PathBuf], out: PathBuf, opts: IngestOptions) -> anyhow::Result<bool> {
    let store = Store::open(&out)?;
    let bars = MultiProgress::new();
    let style =
        ProgressStyle::with_template("{prefix:30!} [{bar:30}] {bytes}/{total_bytes} {eta}")?
            .progress_chars("=> ");
    let mut ok = true;
    for f in files {
        let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
        bar.set_prefix(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let result = store.ingest(f, opts, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
        bar.finish_and_clear();
        match result {
            Ok(meta) => print_line(&json!({ "file": f.display().to_string(), "meta": meta })),
            Err(e) => {
                ok = false;
                print_line(&error_line(f, &e));
            }
        }
    }
    Ok(ok)
}
