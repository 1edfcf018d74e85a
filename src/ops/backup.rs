//! `fangyan backup --to DIR` and `fangyan restore --from DIR --data NEWDIR`.
//!
//! A backup folder holds `manifest.json` (written last: a folder without it is not a backup),
//! the database and the store's objects:
//!
//! ```text
//! DIR/manifest.json            format, time, the database, every object: key, size, sha256
//! DIR/fangyan.sqlite           SQLite: an online copy (VACUUM INTO)
//! DIR/objects/<key>            the local-folder store's objects, hard-linked or copied
//! ```
//!
//! Decisions worth knowing:
//! - **Online and consistent.** `VACUUM INTO` copies the SQLite database in one read
//!   transaction, so a running server keeps saving meanwhile and the copy is one moment of
//!   it. The objects are listed after it: stored files are written once under a new name and
//!   never changed, so every object the copy refers to is there (and a few newer ones may be,
//!   which nothing refers to). Hard links cost no space and stay valid because of the same rule;
//!   across file systems the objects are copied.
//! - **Postgres is dumped by `pg_dump`**, the tool that knows its own format and versions, run
//!   by the operator (or a cron job) into the backup folder *before* `fangyan backup`: then the
//!   objects are listed after the dump, as after `VACUUM INTO`, and the manifest records the
//!   dump's hash too. Without a dump there the backup prints the command and still writes the
//!   store's manifest and objects.
//! - **A restore trusts nothing.** It refuses a target that holds anything, checks every object
//!   and the database against the manifest before writing a byte, refuses keys that would
//!   leave the data directory, and removes what it wrote when it fails.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::Db;

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The database copy's file name, in a backup folder and in a data directory.
pub const SQLITE_FILE: &str = "fangyan.sqlite";
/// The folder of the objects in a backup folder.
const OBJECTS: &str = "objects";
/// The Postgres dump file the printed `pg_dump` command writes.
pub const PG_DUMP_FILE: &str = "fangyan.pgdump";
/// The manifest format this build writes and reads.
const FORMAT: u32 = 1;

/// What a backup folder holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format, 1.
    pub format: u32,
    /// The fangyan version that wrote it.
    pub fangyan: String,
    /// Milliseconds since the epoch when the backup started.
    pub created_at: i64,
    /// The database part.
    pub database: Database,
    /// Every object of the store, keyed by its path in the data directory.
    pub objects: Vec<Object>,
}

/// The database part of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum Database {
    /// The SQLite copy in the backup folder.
    Sqlite {
        /// Its file name ([`SQLITE_FILE`]).
        file: String,
        /// Its size in bytes.
        size: u64,
        /// Its SHA-256, hex.
        sha256: String,
    },
    /// Postgres: dumped by the operator with `pg_dump` into the backup folder first.
    Postgres {
        /// The `pg_dump` command that writes [`PG_DUMP_FILE`] into the backup folder.
        pg_dump: String,
        /// The dump found in the backup folder, when it was there before the store was listed.
        dump: Option<Object>,
    },
}

/// One object of the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Object {
    /// Its path in the data directory, `/`-separated (`store/originals/<sha256>`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Writes a backup of the data directory `data` (and of the SQLite database in it, or of
/// nothing when `database_url` names Postgres) into `to`, which must be empty or absent.
pub async fn backup(
    data: &Path,
    database_url: Option<&str>,
    to: &Path,
) -> anyhow::Result<Manifest> {
    ensure!(
        data.is_dir(),
        "{} is not a data directory (it does not exist)",
        data.display()
    );
    let allowed = if database_url.is_some() {
        Some(PG_DUMP_FILE)
    } else {
        None
    };
    claim_empty(to, allowed)?;
    let created_at = crate::db::now_ms();
    let database = match database_url {
        Some(_) => {
            let file = to.join(PG_DUMP_FILE);
            let dump = if file.is_file() {
                let (size, sha256) = hash_file(&file)?;
                Some(Object {
                    key: PG_DUMP_FILE.into(),
                    size,
                    sha256,
                })
            } else {
                None
            };
            Database::Postgres {
                pg_dump: pg_dump_command(to),
                dump,
            }
        }
        None => {
            let file = data.join(SQLITE_FILE);
            ensure!(
                file.is_file(),
                "{} has no database to back up",
                data.display()
            );
            let copy = to.join(SQLITE_FILE);
            let db = crate::db::connect(None, &file).await?;
            vacuum_into(&db, &copy).await?;
            db.close().await;
            let (size, sha256) = hash_file(&copy)?;
            Database::Sqlite {
                file: SQLITE_FILE.into(),
                size,
                sha256,
            }
        }
    };
    let mut objects = Vec::new();
    for key in list_store_objects(data)? {
        let target = to.join(OBJECTS).join(&key);
        link_or_copy(&data.join(&key), &target)
            .with_context(|| format!("copying {key} into the backup"))?;
        let (size, sha256) = hash_file(&target)?;
        objects.push(Object { key, size, sha256 });
    }
    let manifest = Manifest {
        format: FORMAT,
        fangyan: env!("CARGO_PKG_VERSION").into(),
        created_at,
        database,
        objects,
    };
    let tmp = to.join(format!("{MANIFEST}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    fs::rename(&tmp, to.join(MANIFEST))?;
    Ok(manifest)
}

/// The `pg_dump` command for a backup into `to`. The URL stays in the environment variable,
/// so no password is printed.
pub fn pg_dump_command(to: &Path) -> String {
    format!(
        "pg_dump --format=custom --file='{}' \"$FANGYAN_DATABASE_URL\"",
        to.join(PG_DUMP_FILE).display()
    )
}

/// The `pg_restore` command for a backup in `from`, into an empty database.
pub fn pg_restore_command(from: &Path) -> String {
    format!(
        "pg_restore --no-owner --dbname=\"$FANGYAN_DATABASE_URL\" '{}'",
        from.join(PG_DUMP_FILE).display()
    )
}

async fn vacuum_into(db: &Db, copy: &Path) -> anyhow::Result<()> {
    let target = copy
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", copy.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(db)
        .await
        .context("copying the database (VACUUM INTO)")?;
    Ok(())
}

/// Every object of the local-folder store, as keys relative to the data directory: the
/// originals, analysis files and metadata under `store/` (not its `tmp/`, whose files are on
/// their way to becoming one of those or nothing), and finished exports under `exports/`.
/// (The object-store backend replaces this with a listing of its bucket.)
pub fn list_store_objects(data: &Path) -> io::Result<Vec<String>> {
    let mut keys = Vec::new();
    for top in ["store", "exports"] {
        let root = data.join(top);
        if root.is_dir() {
            walk(data, &root, &mut keys)?;
        }
    }
    keys.retain(|k| !k.starts_with("store/tmp/"));
    keys.sort();
    Ok(keys)
}

fn walk(base: &Path, dir: &Path, keys: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(base, &path, keys)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(base).map_err(io::Error::other)?;
            let key: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            keys.push(key.join("/"));
        }
    }
    Ok(())
}

/// Restores the backup in `from` into the new data directory `data` (absent or empty), after
/// checking every file against the manifest. Postgres backups restore the store only; the
/// database is the operator's `pg_restore` ([`pg_restore_command`]).
pub fn restore(from: &Path, data: &Path) -> anyhow::Result<Manifest> {
    let text = fs::read(from.join(MANIFEST))
        .with_context(|| format!("{} holds no {MANIFEST}: not a backup", from.display()))?;
    let manifest: Manifest = serde_json::from_slice(&text).context("reading the manifest")?;
    ensure!(
        manifest.format == FORMAT,
        "the backup's format is {}; this fangyan reads format {FORMAT}",
        manifest.format
    );
    verify(from, &manifest)?;
    let created = claim_empty(data, None)?;
    let written = (|| {
        if let Database::Sqlite { file, .. } = &manifest.database {
            fs::copy(from.join(file), data.join(SQLITE_FILE))?;
        }
        for o in &manifest.objects {
            let target = data.join(&o.key);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(from.join(OBJECTS).join(&o.key), target)?;
        }
        Ok::<_, io::Error>(())
    })();
    if let Err(e) = written {
        if created {
            let _ = fs::remove_dir_all(data);
        }
        return Err(e).context("writing the restored data directory");
    }
    Ok(manifest)
}

/// Checks the database copy and every object against the manifest; names what differs.
fn verify(from: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut check =
        |rel: &Path, name: &str, size: u64, sha256: &str| match hash_file(&from.join(rel)) {
            Ok((s, h)) if s == size && h == sha256 => {}
            Ok((s, _)) if s != size => problems.push(format!("{name}: {s} bytes, expected {size}")),
            Ok(_) => problems.push(format!("{name}: its SHA-256 differs from the manifest")),
            Err(e) => problems.push(format!("{name}: {e}")),
        };
    let database = match &manifest.database {
        Database::Sqlite { file, size, sha256 } => Some((file, *size, sha256)),
        Database::Postgres { dump: Some(o), .. } => Some((&o.key, o.size, &o.sha256)),
        Database::Postgres { dump: None, .. } => None,
    };
    if let Some((file, size, sha256)) = database {
        if !safe_key(file) || file.contains('/') {
            bail!("the manifest names the database {file:?}, which is not a plain file name");
        }
        check(Path::new(file), file, size, sha256);
    }
    for o in &manifest.objects {
        if !safe_key(&o.key) {
            bail!(
                "the manifest names the object {:?}, outside the store",
                o.key
            );
        }
        check(&Path::new(OBJECTS).join(&o.key), &o.key, o.size, &o.sha256);
    }
    if !problems.is_empty() {
        let shown = problems
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        bail!(
            "the backup does not match its manifest ({} file(s)): {shown}",
            problems.len()
        );
    }
    Ok(())
}

/// A key that stays inside the data directory: relative, no `..`, under `store/` or
/// `exports/` (or, for the database, a plain name).
fn safe_key(key: &str) -> bool {
    let path = Path::new(key);
    !key.is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && (key.starts_with("store/") || key.starts_with("exports/") || !key.contains('/'))
}

/// Makes `dir` an empty directory: creates it when absent (returns true), accepts it empty
/// (or holding only the file `allowed`), refuses it when it holds anything else.
fn claim_empty(dir: &Path, allowed: Option<&str>) -> anyhow::Result<bool> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let name = entry?.file_name();
                ensure!(
                    allowed.is_some_and(|a| name == a),
                    "{} is not empty; name a new or empty folder",
                    dir.display()
                );
            }
            Ok(false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Ok(true)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}

/// A hard link of `from` at `to` (parents created), or a copy when linking is not possible.
fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)?;
    }
    Ok(())
}

/// Size and SHA-256 (hex) of a file, read in blocks.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::safe_key;

    #[test]
    fn keys_that_leave_the_store_are_refused() {
        assert!(safe_key("store/originals/ab12"));
        assert!(safe_key("exports/3/manifest.csv"));
        assert!(safe_key("fangyan.sqlite"));
        assert!(!safe_key("store/../../etc/passwd"));
        assert!(!safe_key("/etc/passwd"));
        assert!(!safe_key("other/x"));
        assert!(!safe_key(""));
        assert!(!safe_key("./store/x"));
    }
}
