//! Taking jobs over: what a server does with jobs nobody holds (their server died, or stopped
//! and handed them back), at start-up and every quarter lease (see [`crate::jobs::lease`]).
//! Ingests are handled here; exports by [`crate::exports::take_over`].

use crate::app::AppState;
use crate::jobs::{self, JobEvent};

use super::{db, run_ingest};

/// Claims and starts every job nobody holds (queued, released by a stopping server, or whose
/// server died: its lease ran out). An ingest starts again from its stored upload; a job that
/// cannot (its upload is gone, its kind does not resume, or it has lost its runner too often)
/// ends failed as `interrupted`. Returns the number claimed. Every server runs this every
/// quarter lease ([`take_over_forever`]), and once at start-up.
pub async fn take_over(state: &AppState) -> anyhow::Result<usize> {
    let mut claimed = 0;
    while let Some(c) =
        jobs::lease::claim(&state.db, state.jobs.owner(), state.jobs.lease_length()).await?
    {
        claimed += 1;
        if c.kind == "export" {
            crate::exports::take_over(state, &c).await?;
            continue;
        }
        let input = match (&c.input, c.recording) {
            (Some(key), Some(_))
                if c.kind == "ingest" && c.attempts <= jobs::lease::MAX_ATTEMPTS =>
            {
                state.store.exists(key).await?.then(|| key.clone())
            }
            _ => None,
        };
        let (Some(input), Some(recording)) = (input, c.recording) else {
            tracing::warn!(
                "job {} ({}) cannot start again: failed as interrupted",
                c.job,
                c.kind
            );
            fail_interrupted(state, c.job, c.recording).await?;
            continue;
        };
        tracing::info!("taking over ingest job {} (attempt {})", c.job, c.attempts);
        let rec = db::get(&state.db, recording).await?;
        let st = state.clone();
        state.jobs.spawn(async move {
            run_ingest(st, c.job, recording, rec.analysis_rate as u32, input, None).await
        });
    }
    Ok(claimed)
}

/// [`take_over`] every quarter lease, for as long as the server runs.
pub async fn take_over_forever(state: AppState) {
    let mut tick = tokio::time::interval(state.jobs.lease_length() / 4);
    loop {
        tick.tick().await;
        if let Err(e) = take_over(&state).await {
            tracing::warn!("taking over jobs: {e:#}");
        }
    }
}

/// At start-up, by the server that owns its data directory. `alone` (SQLite, whose file only
/// this server opens): every unfinished job is let go, since nobody else can be running it,
/// and `tmp/` is swept of everything but their uploads (partial outputs, unacknowledged
/// uploads). Shared (Postgres): only jobs whose lease ran out are taken, and `tmp/` objects no
/// unfinished job needs go once they are an hour old (a younger one may be another replica's
/// upload whose job row is not written yet). The sweep comes first: the jobs taken over then
/// write their own partial outputs there.
pub async fn recover(state: &AppState, alone: bool) -> anyhow::Result<()> {
    if alone {
        jobs::lease::expire_all(&state.db).await?;
    }
    let keep = jobs::unfinished_inputs(&state.db).await?;
    let young = (!alone).then_some(std::time::Duration::from_secs(3600));
    state.store.sweep(&keep, young).await?;
    let n = take_over(state).await?;
    if n > 0 {
        tracing::info!("{n} interrupted job(s) taken over at start-up");
    }
    Ok(())
}

/// Fails a job that cannot start again (its runner died and its input is gone, or its kind
/// cannot resume), if this server holds it; its recording, if still importing, fails with it.
async fn fail_interrupted(state: &AppState, job: i64, recording: Option<i64>) -> sqlx::Result<()> {
    let message =
        "the server stopped while this job ran and it could not start again; run it again";
    if !state
        .jobs
        .set_status(
            &state.db,
            job,
            "failed",
            1.0,
            Some(("interrupted", message)),
        )
        .await?
    {
        return Ok(());
    }
    if let Some(recording) = recording {
        db::fail_importing(&state.db, recording, "interrupted", message).await?;
    }
    state.jobs.publish(JobEvent {
        job,
        status: "failed",
        progress: 1.0,
        error_code: Some("interrupted".into()),
    });
    Ok(())
}
