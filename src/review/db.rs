//! Reads of the `review` table (written by [`super`] only): the latest decision on a segment,
//! shown with the segment so the editor can say why it came back.

use serde::Serialize;
use sqlx::Row;

use crate::db::{Db, DbRow};

/// The latest review decision on a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LastReview {
    /// `approved` or `rejected`.
    pub verdict: String,
    /// The reviewer's comment (may be empty).
    pub comment: String,
    /// The reviewer's name.
    pub reviewer_name: String,
    /// When, Unix milliseconds.
    pub created_at: i64,
}

const SELECT: &str = "SELECT rv.segment_id, v.verdict, v.comment, u.name, v.created_at FROM review v \
     JOIN segment_revision rv ON rv.id = v.revision_id JOIN app_user u ON u.id = v.reviewer_id";

fn row(r: &DbRow) -> sqlx::Result<(i64, LastReview)> {
    Ok((
        r.try_get("segment_id")?,
        LastReview {
            verdict: r.try_get("verdict")?,
            comment: r.try_get("comment")?,
            reviewer_name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        },
    ))
}

/// The latest decision on `segment`, if it was ever reviewed.
pub async fn latest(db: &Db, segment: i64) -> sqlx::Result<Option<LastReview>> {
    sqlx::query(&format!(
        "{SELECT} WHERE rv.segment_id = $1 ORDER BY v.id DESC LIMIT 1"
    ))
    .bind(segment)
    .fetch_optional(db)
    .await?
    .map(|r| row(&r).map(|(_, l)| l))
    .transpose()
}

/// The latest decision on each reviewed segment of `recording`.
pub async fn latest_of_recording(
    db: &Db,
    recording: i64,
) -> sqlx::Result<std::collections::HashMap<i64, LastReview>> {
    let rows = sqlx::query(&format!(
        "{SELECT} JOIN segment s ON s.id = rv.segment_id WHERE s.recording_id = $1 ORDER BY v.id"
    ))
    .bind(recording)
    .fetch_all(db)
    .await?;
    // In id order, so a later decision replaces an earlier one.
    rows.iter().map(row).collect()
}
