//! `fangyan backup` and `fangyan restore`: argument types and the JSON line each prints; the
//! work is in [`crate::ops::backup`].

use std::path::PathBuf;

use serde_json::json;

use crate::ops::backup::{self, Database};

/// `fangyan backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Data directory to back up (it may be in use by a running server).
    #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-data")]
    data: PathBuf,
    /// The backup folder: new or empty.
    #[arg(long, env = "FANGYAN_TO")]
    to: PathBuf,
}

/// `fangyan restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup folder (with its manifest.json).
    #[arg(long, env = "FANGYAN_FROM")]
    from: PathBuf,
    /// The new data directory: absent or empty.
    #[arg(long, env = "FANGYAN_DATA")]
    data: PathBuf,
}

/// Backs up; prints `{"backup":…,"database":…,"objects":…,"bytes":…}`. On Postgres the
/// database part names the `pg_dump` command, and stderr says to run it first when the
/// folder held no dump.
pub fn backup(
    args: BackupArgs,
    database_url: Option<String>,
    store: Option<String>,
) -> anyhow::Result<bool> {
    super::admin::existing(&args.data, " (backup does not create one)")?;
    // The objects are copied from the data directory's own store folder; another folder or
    // a bucket is backed up by its own means (a bucket's versioning or replication).
    if let Some(url) = store {
        anyhow::bail!(
            "backup copies the data directory's own store folder, not --store {url}: back that \
             up by its own means (a bucket's versioning or replication), the database with pg_dump"
        );
    }
    let manifest = tokio::runtime::Runtime::new()?.block_on(backup::backup(
        &args.data,
        database_url.as_deref(),
        &args.to,
    ))?;
    let bytes: u64 = manifest.objects.iter().map(|o| o.size).sum();
    let mut line = json!({
        "backup": args.to.display().to_string(),
        "objects": manifest.objects.len(),
        "bytes": bytes,
    });
    match &manifest.database {
        Database::Sqlite { size, .. } => {
            line["database"] = json!({ "backend": "sqlite", "bytes": size });
        }
        Database::Postgres { pg_dump, dump } => {
            if dump.is_none() {
                eprintln!(
                    "fangyan: the store is backed up, but the folder held no database dump. \
                     Dump the database first, then back up the store into the same folder:\n  \
                     {pg_dump}\n  fangyan backup --to {}",
                    args.to.display()
                );
            }
            line["database"] = json!({
                "backend": "postgres",
                "pg_dump": pg_dump,
                "dump_bytes": dump.as_ref().map(|d| d.size),
            });
        }
    }
    println!("{line}");
    Ok(true)
}

/// Restores; prints `{"restored":…,"objects":…}`, plus the `pg_restore` command for a
/// Postgres backup.
pub fn restore(args: RestoreArgs) -> anyhow::Result<bool> {
    let manifest = backup::restore(&args.from, &args.data)?;
    let mut line = json!({
        "restored": args.data.display().to_string(),
        "objects": manifest.objects.len(),
    });
    if let Database::Postgres { .. } = manifest.database {
        let command = backup::pg_restore_command(&args.from);
        eprintln!(
            "fangyan: the store is restored; now restore the database into an empty one with:\n  {command}"
        );
        line["pg_restore"] = json!(command);
    }
    println!("{line}");
    Ok(true)
}
