//! The export's run, apart from its HTTP handlers: the corpus loaded and filtered, the clips
//! and manifests written into a directory ([`write_dir`]), progress on the job row, and the
//! start-up recovery of runs a stopped server left.

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

/// At start-up (by the process that owns recovery): exports that were running when the server
/// stopped are marked failed (to be started again), and their partial files are removed, as is
/// any folder under `exports/` that is not a finished export's. Returns how many were failed.
pub async fn recover(state: &AppState) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "UPDATE export SET status = 'failed', error_message = 'the server stopped during this export; start it again', updated_at = $1 \
         WHERE status IN ('queued', 'running')",
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
