//! Double annotation for agreement: a project's `second_pass_share` of segments is transcribed
//! a second time, blind, by another transcriber once the first has submitted. The second text
//! lives in `second_pass` and never touches the segment; agreement compares the two.

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;

use super::LEASE_MS;
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::{Tx, begin_write, now_ms};
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::segments::db as segdb;
use crate::text::metrics::{Agreement, inter_annotator};

/// Whether segment `id` is picked for a second pass: a fixed multiplicative hash of the id
/// below `share`, so the same segments stay picked and the share holds over any id range.
/// The SQL below computes the same predicate.
pub fn picked(id: i64, share: f64) -> bool {
    (id * 7919).rem_euclid(1000) < share_permille(share)
}

fn share_permille(share: f64) -> i64 {
    (share.clamp(0.0, 1.0) * 1000.0).round() as i64
}

/// The project's double-annotation share (0 to 1).
pub async fn share(db: &crate::db::Db, project: i64) -> sqlx::Result<f64> {
    sqlx::query("SELECT second_pass_share FROM project WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await?
        .try_get(0)
}

/// A segment's second pass: who holds it, whether it is still in progress, and its text.
pub struct SecondPass {
    /// The second transcriber.
    pub assignee_id: i64,
    /// Not yet submitted.
    pub in_progress: bool,
    /// The second transcription.
    pub text: String,
}

/// The second pass of `segment`, if it has one.
pub async fn of(db: &crate::db::Db, segment: i64) -> sqlx::Result<Option<SecondPass>> {
    let row =
        sqlx::query("SELECT assignee_id, status, text FROM second_pass WHERE segment_id = $1")
            .bind(segment)
            .fetch_optional(db)
            .await?;
    row.map(|r| {
        Ok(SecondPass {
            assignee_id: r.try_get("assignee_id")?,
            in_progress: r.try_get::<String, _>("status")? == "in_progress",
            text: r.try_get("text")?,
        })
    })
    .transpose()
}

/// The caller's own live second pass. Binds: project, user, now.
pub const MINE: &str = "SELECT sp.segment_id FROM second_pass sp JOIN segment s ON s.id = sp.segment_id \
     JOIN recording r ON r.id = s.recording_id \
     WHERE sp.assignee_id = $2 AND sp.status = 'in_progress' AND sp.lease_until >= $3 \
       AND r.project_id = $1 AND s.deleted = 0 LIMIT 1";

/// The first segment picked for a second pass, submitted (or approved) by someone else and
/// not taken by a live second pass. Binds: project, user, share in permille, now. The join
/// order is fixed as in `super::claim::FIRST_UNASSIGNED`, here through `segment_done`.
pub const FREE: &str = "SELECT s.id FROM recording r CROSS JOIN segment s \
     LEFT JOIN second_pass sp ON sp.segment_id = s.id \
     WHERE s.recording_id = r.id AND r.project_id = $1 AND r.status = 'ready' \
       AND s.deleted = 0 AND s.status IN ('submitted', 'approved') \
       AND s.assignee_id <> $2 AND (s.id * 7919) % 1000 < $3 \
       AND (sp.segment_id IS NULL \
            OR (sp.status = 'in_progress' AND (sp.lease_until IS NULL OR sp.lease_until < $4))) \
     ORDER BY r.project_id, r.id, s.start_sample, s.id LIMIT 1";

/// Inside a claim's transaction: the caller's own live second pass, else the first free one
/// ([`FREE`]). Takes it and returns the segment id; `None` if there is none, or if another
/// claim took the one found (the caller looks again).
pub(super) async fn claim(
    tx: &mut Tx,
    project: i64,
    user: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let own: Option<i64> = sqlx::query_scalar(MINE)
        .bind(project)
        .bind(user)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    let id = match own {
        Some(id) => id,
        None => {
            let share: f64 =
                sqlx::query_scalar("SELECT second_pass_share FROM project WHERE id = $1")
                    .bind(project)
                    .fetch_one(&mut **tx)
                    .await?;
            if share <= 0.0 {
                return Ok(None);
            }
            let free: Option<i64> = sqlx::query_scalar(FREE)
                .bind(project)
                .bind(user)
                .bind(share_permille(share))
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
            match free {
                Some(id) => id,
                None => return Ok(None),
            }
        }
    };
    // Conditional: a pass someone else holds under a live lease, or one already submitted,
    // is not taken over (the row is the lock; see `crate::segments::write`).
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO second_pass (segment_id, assignee_id, lease_until, status, updated_at) \
         VALUES ($1, $2, $3, 'in_progress', $4) \
         ON CONFLICT (segment_id) DO UPDATE SET assignee_id = excluded.assignee_id, \
           lease_until = excluded.lease_until, updated_at = excluded.updated_at \
         WHERE second_pass.status = 'in_progress' AND (second_pass.assignee_id = excluded.assignee_id \
           OR second_pass.lease_until IS NULL OR second_pass.lease_until < $4) \
         RETURNING segment_id",
    )
    .bind(id)
    .bind(user)
    .bind(now + LEASE_MS)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken)
}

/// The segment as a second transcriber sees it: the first transcriber's text is hidden and
/// the box starts from the ASR hypothesis, or from the second transcriber's own saved text.
pub(super) async fn blind_view(state: &AppState, id: i64) -> AppResult<serde_json::Value> {
    let seg = segdb::get(&state.db, id).await?;
    let own: String = sqlx::query("SELECT text FROM second_pass WHERE segment_id = $1")
        .bind(id)
        .fetch_one(&state.db)
        .await?
        .try_get(0)?;
    let start = if own.is_empty() {
        seg.asr_text.clone().unwrap_or_default()
    } else {
        own
    };
    let mut v = serde_json::to_value(&seg).map_err(anyhow::Error::from)?;
    v["text_verbatim"] = json!(start);
    v["text_display"] = json!("");
    v["text_norm"] = json!("");
    v["blind"] = json!(true);
    Ok(v)
}

/// A second transcriber's save; `submit` ends the pass.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct SecondSave {
    text: String,
    #[serde(default)]
    submit: bool,
}

/// `PUT /api/segments/{id}/second-pass`: only the holder of the second pass may save it; a save
/// renews the lease.
#[utoipa::path(put, path = "/api/segments/{segment}/second-pass", tag = "tasks", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<SecondSave>,
) -> AppResult<Json<serde_json::Value>> {
    let a = crate::segments::access(&state, user, segment).await?;
    if a.role() != Role::Transcriber {
        return Err(AppError::Forbidden(
            "second passes are transcribers' work".into(),
        ));
    }
    if req.text.chars().count() > 10_000 {
        return Err(AppError::bad(
            "text_too_long",
            "text",
            "a segment text has at most 10000 characters",
        ));
    }
    let now = now_ms();
    let mut tx = begin_write(&state.db).await?;
    let done = sqlx::query(
        "UPDATE second_pass SET text = $1, status = $2, lease_until = $3, updated_at = $4 \
         WHERE segment_id = $5 AND assignee_id = $6 AND status = 'in_progress'",
    )
    .bind(&req.text)
    .bind(if req.submit {
        "submitted"
    } else {
        "in_progress"
    })
    .bind(if req.submit {
        None
    } else {
        Some(now + LEASE_MS)
    })
    .bind(now)
    .bind(segment)
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Forbidden(
            "this second pass is not yours, or it was already submitted".into(),
        ));
    }
    Ok(Json(json!({
        "segment": segment,
        "text": req.text,
        "status": if req.submit { "submitted" } else { "in_progress" },
    })))
}

/// `GET /api/projects/{id}/agreement`: every double-annotated segment with both texts and its
/// inter-annotator CER (edits over the mean length, after the project's normalisation, as
/// on the dashboard's agreement summary), and the
/// project total. For admins and reviewers.
#[utoipa::path(get, path = "/api/projects/{project}/agreement", tag = "tasks", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn agreement(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let rows = sqlx::query(
        "SELECT s.id, s.text_verbatim, s.assignee_id, a.name AS first_name, sp.text, \
                sp.assignee_id AS second_id, b.name AS second_name \
         FROM second_pass sp JOIN segment s ON s.id = sp.segment_id \
         JOIN recording r ON r.id = s.recording_id \
         LEFT JOIN app_user a ON a.id = s.assignee_id JOIN app_user b ON b.id = sp.assignee_id \
         WHERE r.project_id = $1 AND sp.status = 'submitted' AND s.deleted = 0 \
         ORDER BY r.id, s.start_sample, s.id",
    )
    .bind(project)
    .fetch_all(&state.db)
    .await?;
    let norm = projects::normaliser(&state.db, project).await?;
    let mut total = Agreement::default();
    let mut pairs = Vec::with_capacity(rows.len());
    for r in rows {
        let first: String = r.try_get("text_verbatim")?;
        let second: String = r.try_get("text")?;
        let a = inter_annotator(&first, &second, &norm);
        total.add(a);
        pairs.push(json!({
            "segment": r.try_get::<i64, _>("id")?,
            "first": { "user": r.try_get::<Option<String>, _>("first_name")?, "text": first },
            "second": { "user": r.try_get::<String, _>("second_name")?, "text": second },
            "errors": a.edits.errors(),
            "cer": a.cer(),
        }));
    }
    Ok(Json(json!({
        "segments": pairs.len(),
        "cer": total.cer(),
        "normaliser": crate::text::normalise::NORMALISER_VERSION,
        "pairs": pairs,
    })))
}

#[cfg(test)]
mod tests {
    use super::picked;

    #[test]
    fn the_pick_holds_the_share_exactly_over_any_thousand_ids() {
        for share in [0.0, 0.1, 0.25, 1.0] {
            for start in [1, 777, 123_456] {
                let n = (start..start + 1000)
                    .filter(|&id| picked(id, share))
                    .count();
                assert_eq!(n, (share * 1000.0) as usize);
            }
        }
    }
}
