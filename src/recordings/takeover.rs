//! Taking jobs over: what a server does with ingest jobs nobody holds (their server died, or
//! stopped and handed them back), at start-up and every quarter lease (see [`crate::jobs::lease`]).

use crate::app::AppState;
use crate::jobs;

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
            jobs::fail_interrupted(&state.jobs, &state.db, c.job, c.recording).await?;
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

/// At start-up on a shared database: jobs whose lease ran out are taken over, and `tmp/`
/// objects that no unfinished job needs are swept once they are an hour old (younger ones may
/// be another replica's upload whose job row is not written yet).
pub async fn recover_shared(state: &AppState) -> anyhow::Result<()> {
    take_over(state).await?;
    let keep = jobs::unfinished_inputs(&state.db).await?;
    state
        .store
        .sweep(&keep, Some(std::time::Duration::from_secs(3600)))
        .await
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

/// At start-up, for the server alone on its database (SQLite, data directory locked):
/// every unfinished job is let go (nobody else can be running it) and taken over at once, and
/// `tmp/` is swept of everything but their uploads: partial outputs and unacknowledged uploads.
pub async fn recover_alone(state: &AppState) -> anyhow::Result<()> {
    jobs::lease::expire_all(&state.db).await?;
    let keep = jobs::unfinished_inputs(&state.db).await?;
    state.store.sweep(&keep, None).await?;
    let n = take_over(state).await?;
    if n > 0 {
        tracing::info!("{n} interrupted job(s) taken over at start-up");
    }
    Ok(())
}
