//! `fangyan backup` and `restore` beyond the route-by-route check in tests/suite/role_matrix.rs:
//! the refusals, and the Postgres path (a real `pg_dump` into the backup folder, `backup`,
//! `restore`, a real `pg_restore` into a new database, and a server on the result).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::app::{TestApp, ready_recording};
use serde_json::Value;

fn fangyan(args: &[&str], paths: &[&Path], database_url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fangyan"));
    cmd.args(args);
    for p in paths {
        cmd.arg(p);
    }
    match database_url {
        Some(url) => cmd.env("FANGYAN_DATABASE_URL", url),
        None => cmd.env_remove("FANGYAN_DATABASE_URL"),
    };
    cmd.output().unwrap()
}

fn last_line(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

#[test]
fn backup_refuses_a_missing_data_directory_and_a_folder_that_holds_something() {
    let dir = common::scratch();
    let missing = dir.path().join("nothing-here");
    let to = dir.path().join("backup");
    let out = fangyan(
        &["backup", "--to"],
        &[&to, Path::new("--data"), &missing],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no data directory"));
    assert!(!to.exists());

    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&to).unwrap();
    std::fs::write(to.join("old-file"), b"x").unwrap();
    let out = fangyan(
        &["backup", "--to"],
        &[&to, Path::new("--data"), &data],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

/// `postgres://…/db?…` with another database name.
fn with_database(url: &str, db: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, ""), |(h, q)| (h, q));
    let (server, _) = head.rsplit_once('/').unwrap();
    if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn on_postgres_the_dump_in_the_folder_is_checked_and_restores_to_the_same_answers() {
    // `backup` copies the data directory's own store folder; a bucket is backed up by its own
    // means (README "Backup and restore"), so the S3 pass has nothing here to test.
    if std::env::var_os("FANGYAN_TEST_STORE_URL").is_some() {
        eprintln!("the store is a bucket: backup covers the folder store only");
        return;
    }
    let Some(base) = std::env::var("FANGYAN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("no FANGYAN_TEST_DATABASE_URL: no Postgres to back up");
        return;
    };
    // The folder store: `backup` copies that folder (a bucket has its own means).
    let app = TestApp::spawn_with(|c| c.store = None).await;
    let (project, admin, _, _) = app.project("pg-backup").await;
    let recording = ready_recording(&app, &admin, project).await;
    let data = app.state.config.data_dir.clone();
    let url = common::database_url_for(&data).unwrap();
    let schema = url.rsplit_once("search_path%3D").unwrap().1.to_string();
    let scratch = common::scratch();
    let backup = scratch.path().join("backup");

    // Without a dump the store is still backed up, and stderr says what to run first.
    let out = fangyan(
        &["backup", "--to"],
        &[&backup, Path::new("--data"), &data],
        Some(&url),
    );
    let report = last_line(&out);
    assert_eq!(report["database"]["backend"], "postgres", "{report}");
    assert!(report["database"]["dump_bytes"].is_null(), "{report}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump --format=custom"));
    std::fs::remove_dir_all(&backup).unwrap();

    // The documented order: pg_dump into the folder, then backup.
    std::fs::create_dir(&backup).unwrap();
    run(Command::new("pg_dump")
        .args([
            "--format=custom",
            "--no-owner",
            "--schema",
            &schema,
            "--file",
        ])
        .arg(backup.join("fangyan.pgdump"))
        .arg(&base));
    let report = last_line(&fangyan(
        &["backup", "--to"],
        &[&backup, Path::new("--data"), &data],
        Some(&url),
    ));
    assert!(
        report["database"]["dump_bytes"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(report["objects"].as_u64().unwrap() >= 3, "{report}");

    let restored = scratch.path().join("restored");
    let line = last_line(&fangyan(
        &["restore", "--from"],
        &[&backup, Path::new("--data"), &restored],
        None,
    ));
    assert!(
        line["pg_restore"]
            .as_str()
            .unwrap()
            .contains("pg_restore --no-owner")
    );

    let db = format!("restored_{}", std::process::id());
    run(Command::new("psql")
        .args([&base, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {db}")));
    let new_base = with_database(&base, &db);
    run(Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &new_base])
        .arg(backup.join("fangyan.pgdump")));
    let copy_url = with_database(&url, &db);
    let copy = TestApp::spawn_at(&restored, Some(copy_url)).await;
    for path in [
        format!("/api/recordings/{recording}"),
        format!("/api/recordings/{recording}/segments"),
        format!("/api/recordings/{recording}/audio"),
        format!("/api/recordings/{recording}/peaks?start=0&end=1000&width=10"),
        format!("/api/projects/{project}/progress"),
    ] {
        let get = |base: &str| {
            let req = admin.http.get(format!("{base}{path}"));
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.bytes().await.unwrap())
            }
        };
        let (a, b) = (get(&app.base).await, get(&copy.base).await);
        assert!(a.0.is_success(), "{path}: {}", a.0);
        assert_eq!(a, b, "{path} differs after the restore");
    }
    drop(copy);
    let _ = Command::new("psql")
        .args([&base, "-q", "-c"])
        .arg(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .output();

    // A dump that changed after the backup is refused by the restore.
    std::fs::write(backup.join("fangyan.pgdump"), b"truncated").unwrap();
    let out = fangyan(
        &["restore", "--from"],
        &[&backup, Path::new("--data"), &scratch.path().join("again")],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fangyan.pgdump"));
}
