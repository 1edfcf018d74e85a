//! The export's run, apart from its HTTP handlers: the corpus loaded and filtered, the clips
//! and manifests written into a directory ([`write_dir`]), progress on the export row, the
//! leased job that runs it and archives it into the store ([`run_job`]), its takeover by
//! another server ([`take_over`]), and the start-up clean-up of what a stopped server left.

use super::*;

/// Loads, filters and builds the corpus of `project`.
pub async fn corpus(
    db: &Db,
    store: &Store,
    project: i64,
    def: &Definition,
) -> anyhow::Result<Corpus> {
    let l = db::load(db, store, project, &def.filters).await?;
    let (by_status, matched) = (l.by_status.clone(), l.matched);
    let c = corpus::build(
        &l.project,
        l.recordings,
        l.speakers,
        l.segments,
        l.tag_schema,
        l.conventions,
        &def.options,
    );
    if c.utterances.is_empty() {
        anyhow::bail!("{}", nothing_matched(def, &by_status, matched, &c.dropped));
    }
    Ok(c)
}

/// Why an export has no utterance: what the filters asked for, the project's segments by
/// status, and what the corpus builder dropped of those that matched.
fn nothing_matched(
    def: &Definition,
    by_status: &BTreeMap<String, u64>,
    matched: u64,
    dropped: &BTreeMap<String, u64>,
) -> String {
    let wanted = def
        .filters
        .status
        .clone()
        .unwrap_or_else(|| vec!["approved".into()])
        .join(", ");
    let counts = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let project = if by_status.is_empty() {
        "the project has no segment on a ready recording".to_string()
    } else {
        format!("segments by status: {}", counts(by_status))
    };
    let mut why = format!(
        "no segment matches this export (status {wanted}; {project}; {matched} passed the filters"
    );
    if !dropped.is_empty() {
        why.push_str(&format!(", then dropped: {}", counts(dropped)));
    }
    why.push_str("): nothing was written");
    why
}

/// Runs an export of `project` into `out`; `progress` gets 0..1.
pub async fn run(
    db: &Db,
    store: &Store,
    project: i64,
    def: &Definition,
    out: &Path,
    progress: Arc<dyn Fn(f64) + Send + Sync>,
) -> anyhow::Result<Summary> {
    def.options.validate().map_err(anyhow::Error::msg)?;
    let c = corpus(db, store, project, def).await?;
    let opts = def.options.clone();
    let out = out.to_path_buf();
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        // Originals are named by their store keys (see `db::load`).
        let open = |key: &Path| store.open(&key.to_string_lossy());
        write_dir_from(&c, &opts, &out, &*progress, &open)
    })
    .await?
}

/// Opens an original named in a [`Corpus`]: returns its bytes and length.
pub type OpenOriginal<'a> =
    dyn Fn(&Path) -> std::io::Result<(Box<dyn crate::audio::Source>, u64)> + 'a;

/// Cuts every clip and writes every layout of `c` into `out` (blocking); originals are files.
pub fn write_dir(
    c: &Corpus,
    opts: &ExportOptions,
    out: &Path,
    progress: &dyn Fn(f64),
) -> anyhow::Result<Summary> {
    let open = |path: &Path| -> std::io::Result<(Box<dyn crate::audio::Source>, u64)> {
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        Ok((Box::new(f), len))
    };
    write_dir_from(c, opts, out, progress, &open)
}

/// [`write_dir`] with originals read through `open` (a store's objects).
pub fn write_dir_from(
    c: &Corpus,
    opts: &ExportOptions,
    out: &Path,
    progress: &dyn Fn(f64),
    open: &OpenOriginal<'_>,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    std::fs::create_dir_all(out)?;
    // A re-run into the same folder starts clean, so nothing stale is left behind.
    for d in corpus::LAYOUTS.iter().chain(&["clips", "audio"]) {
        let p = out.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p)?;
        }
    }
    std::fs::create_dir_all(out.join("clips"))?;
    let mut by_rec: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, u) in c.utterances.iter().enumerate() {
        by_rec.entry(u.recording).or_default().push(i);
    }
    let total: u64 = c
        .utterances
        .iter()
        .map(|u| u.clip_samples)
        .sum::<u64>()
        .max(1);
    let mut done = 0u64;
    let mut hashes = BTreeMap::new();
    for (ri, list) in &by_rec {
        let rec = &c.recordings[*ri];
        let mut jobs: Vec<ClipJob> = list
            .iter()
            .map(|&i| {
                let u = &c.utterances[i];
                let start = to_rate(u.start, rec.analysis_rate, opts.rate);
                ClipJob {
                    path: out.join(clip_rel(&u.id)),
                    start,
                    end: start + u.clip_samples,
                }
            })
            .collect();
        // The whole recording too, cut in the same pass, for the timed layouts (see
        // `corpus::audio_rel`).
        let audio = corpus::wants_audio(opts).then(|| corpus::audio_rel(&rec.id));
        if let Some(rel) = &audio {
            jobs.push(ClipJob {
                path: out.join(rel),
                start: 0,
                end: to_rate(rec.samples, rec.analysis_rate, opts.rate),
            });
        }
        // Within a recording, progress follows the decoder through it up to its last clip.
        let rec_samples: u64 = list.iter().map(|&i| c.utterances[i].clip_samples).sum();
        let last_end = jobs.iter().map(|j| j.end).max().unwrap_or(0).max(1);
        let mut advance = |pos: u64| {
            let within = rec_samples as f64 * (pos.min(last_end) as f64 / last_end as f64);
            progress(0.95 * (done as f64 + within) / total as f64);
        };
        let (source, len) = open(&rec.original)
            .map_err(|e| anyhow::anyhow!("recording {} ({}): {e}", rec.id, rec.name))?;
        let results = corpus::cut_source(source, len, opts.rate, &jobs, &mut advance)
            .map_err(|e| anyhow::anyhow!("recording {} ({}): {e}", rec.id, rec.name))?;
        let mut results = results.into_iter();
        for (&i, r) in list.iter().zip(results.by_ref()) {
            let u = &c.utterances[i];
            done += u.clip_samples;
            hashes.insert(u.id.clone(), r.sha256);
        }
        if let (Some(rel), Some(r)) = (audio, results.next()) {
            hashes.insert(rel, r.sha256);
        }
        progress(0.95 * done as f64 / total as f64);
    }
    let mut written = Written::default();
    corpus::write_all(out, c, opts, &hashes, &mut written)?;
    progress(1.0);
    Ok(Summary {
        utterances: c.utterances.len(),
        // A fold from +0.0: an empty `f64` sum is -0.0, printed `"seconds": -0.0`.
        seconds: c
            .utterances
            .iter()
            .map(|u| u.clip_samples as f64 / f64::from(opts.rate))
            .fold(0.0, |a, b| a + b),
        elapsed: started.elapsed().as_secs_f64(),
    })
}

/// The store key of a finished export's archive.
pub fn archive_key(id: i64) -> String {
    format!("exports/{id}.tar.gz")
}

/// Runs export `id` as `job`, holding the job's lease: the corpus written into this server's
/// scratch folder, archived into the store, the folder removed; then the export is marked done
/// (or failed) in the transaction that ends the job, only if this server still holds the lease.
/// A server that lost the lease (paused past it, or declared dead) changes nothing: the server
/// that took the job over writes the same archive and the outcome.
pub async fn run_job(state: AppState, job: i64, id: i64) {
    let _lease = state.jobs.hold(&state.db, job);
    let outcome = build_and_store(&state, job, id).await;
    let dir = export_dir(&state, id);
    let _ = tokio::task::spawn_blocking(move || {
        if dir.exists() {
            remove(&dir);
        }
    })
    .await;
    let ended = match outcome {
        Ok(s) => end(&state, job, id, Ok(&s)).await,
        Err(e) => {
            tracing::warn!("export {id} failed: {e:#}");
            end(&state, job, id, Err(&format!("{e:#}"))).await
        }
    };
    match ended {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "export {id}: another server took its job {job} over; this run does not count"
        ),
        Err(e) => tracing::warn!("export {id}: recording the outcome failed: {e}"),
    }
}

/// An export's row is written by a run only while its job (bound as `$3`) is this server's
/// (`$4`): a run that lost its lease cannot move the progress of the one that took it over.
const HELD: &str = "EXISTS (SELECT 1 FROM job j WHERE j.id = $3 AND j.lease_owner = $4 \
                    AND j.status IN ('queued', 'running'))";

/// Writes export `id` (run by `job`) into this server's scratch folder and its archive into the
/// store. Nothing, if the job is no longer this server's.
async fn build_and_store(state: &AppState, job: i64, id: i64) -> anyhow::Result<Summary> {
    let db = &state.db;
    let row = sqlx::query("SELECT project_id, definition FROM export WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await?;
    let project: i64 = row.try_get("project_id")?;
    let def: Definition = serde_json::from_str(&row.try_get::<String, _>("definition")?)?;
    // From the start, also when another server's run was cut short.
    let owner = state.jobs.owner().to_string();
    let started = sqlx::query(&format!(
        "UPDATE export SET status = 'running', progress = 0, updated_at = $1 \
         WHERE id = $2 AND status IN ('queued', 'running') AND {HELD}"
    ))
    .bind(now_ms())
    .bind(id)
    .bind(job)
    .bind(&owner)
    .execute(db)
    .await?;
    if started.rows_affected() == 0 {
        anyhow::bail!("export {id} is no longer this server's to run");
    }
    let handle = tokio::runtime::Handle::current();
    let pdb = db.clone();
    let progress_sql = format!(
        "UPDATE export SET progress = $1 WHERE id = $2 AND status = 'running' AND progress < $1 AND {HELD}"
    );
    // The cutter reports every decoded chunk; the row is written a few times a second at most,
    // and only forward (a late write never undoes a newer one).
    let throttle = std::sync::Mutex::new(crate::jobs::Throttle::default());
    let progress: Arc<dyn Fn(f64) + Send + Sync> = Arc::new(move |p| {
        if !throttle.lock().unwrap_or_else(|e| e.into_inner()).pass(p) {
            return;
        }
        let (pdb, sql, owner) = (pdb.clone(), progress_sql.clone(), owner.clone());
        handle.spawn(async move {
            let _ = sqlx::query(&sql)
                .bind(p)
                .bind(id)
                .bind(job)
                .bind(owner)
                .execute(&pdb)
                .await;
        });
    });
    let dir = export_dir(state, id);
    let summary = run(db, &state.store, project, &def, &dir, progress).await?;
    store_archive(&state.store, &dir, id).await?;
    Ok(summary)
}

/// Archives `dir` into the store as [`archive_key`], compressed as it uploads: a bounded
/// channel between the blocking tar writer and the multipart upload. A failure leaves no
/// object (the upload is aborted).
async fn store_archive(store: &Store, dir: &Path, id: i64) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let (dir, prefix) = (dir.to_path_buf(), format!("export-{id}"));
    let writer = tokio::task::spawn_blocking(move || {
        let w = super::ChannelWriter {
            tx,
            buf: Vec::new(),
        };
        write_tar_gz(&dir, &prefix, w)
    });
    let mut upload = store.upload(&archive_key(id)).await?;
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Ok(bytes) => upload.write(&bytes).await?,
            Err(e) => {
                upload.abort().await;
                return Err(e.into());
            }
        }
    }
    if let Err(e) = writer.await? {
        upload.abort().await;
        return Err(e.into());
    }
    upload.finish().await
}

/// Ends `job` and its export in one transaction, if this server still holds the lease: done
/// with the summary, or failed with the reason. False when another server has the job.
async fn end(
    state: &AppState,
    job: i64,
    id: i64,
    outcome: Result<&Summary, &str>,
) -> sqlx::Result<bool> {
    let mut tx = crate::db::begin_write(&state.db).await?;
    let held = match outcome {
        Ok(_) => state.jobs.finish_in(&mut tx, job).await?,
        Err(why) => {
            state
                .jobs
                .fail_in(&mut tx, job, "export_failed", why)
                .await?
        }
    };
    if !held {
        tx.rollback().await?;
        return Ok(false);
    }
    let q = match outcome {
        Ok(s) => sqlx::query(
            "UPDATE export SET status = 'done', progress = 1, utterances = $1, seconds = $2, \
             error_message = NULL, updated_at = $3 WHERE id = $4",
        )
        .bind(s.utterances as i64)
        .bind(s.seconds),
        Err(why) => sqlx::query(
            "UPDATE export SET status = 'failed', error_message = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(why.to_string()),
    };
    q.bind(now_ms()).bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts again an export job nobody holds (its server died or stopped), claimed by this
/// server's takeover loop; one that lost its runner too often ends failed.
pub async fn take_over(state: &AppState, c: &crate::jobs::lease::Claimed) -> sqlx::Result<()> {
    match c.export {
        Some(id) if c.attempts <= crate::jobs::lease::MAX_ATTEMPTS => {
            tracing::info!(
                "taking over export {id} (job {}, attempt {})",
                c.job,
                c.attempts
            );
            state.jobs.spawn(run_job(state.clone(), c.job, id));
            Ok(())
        }
        Some(id) => {
            let why = "the export's server stopped too often while it ran; start it again";
            end(state, c.job, id, Err(why)).await.map(drop)
        }
        None => {
            let mut tx = crate::db::begin_write(&state.db).await?;
            state
                .jobs
                .fail_in(
                    &mut tx,
                    c.job,
                    "interrupted",
                    "an export job without its export",
                )
                .await?;
            tx.commit().await
        }
    }
}

/// At start-up (by the process that owns recovery, before it takes jobs over): exports left
/// queued or running without a job to run them (written before exports were jobs) are marked
/// failed (to be started again); any folder under this server's `exports/` that is not a
/// finished export's is removed (a run cut short here: its job starts it again from the
/// start). Returns how many were failed.
pub async fn recover(state: &AppState) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "UPDATE export SET status = 'failed', error_message = 'the server stopped during this export; start it again', updated_at = $1 \
         WHERE status IN ('queued', 'running') AND NOT EXISTS \
           (SELECT 1 FROM job j WHERE j.export_id = export.id AND j.status IN ('queued', 'running'))",
    )
    .bind(now_ms())
    .execute(&state.db)
    .await?;
    let root = state.config.data_dir.join("exports");
    if root.is_dir() {
        let finished: std::collections::HashSet<String> =
            sqlx::query("SELECT id FROM export WHERE status = 'done'")
                .fetch_all(&state.db)
                .await?
                .iter()
                .map(|row| row.try_get::<i64, _>("id").map(|id| id.to_string()))
                .collect::<sqlx::Result<_>>()?;
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            if !finished.contains(entry.file_name().to_string_lossy().as_ref()) {
                remove(&entry.path());
            }
        }
    }
    Ok(r.rows_affected())
}

/// Removes a file or a folder and everything in it, logging (not failing) when it cannot.
pub(super) fn remove(path: &Path) {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    if let Err(e) = removed {
        tracing::warn!("removing {}: {e}", path.display());
    }
}
