//! Per-transcriber quality over time (issue 17): how often each person's work is rejected,
//! and how much of what they hand in is changed before it is approved (the reviewer-corrected
//! CER), per UTC day or ISO week (weeks start on Monday).
//!
//! Definitions, from the review history only:
//! - **Rejection rate**: of the review decisions on revisions a person wrote, the share that
//!   were rejections, bucketed by the decision's time.
//! - **Reviewer-corrected CER**: for each approved segment, the text its author first handed
//!   to review (the first judged revision) scored against the text finally approved, with the
//!   project's normaliser (the dashboard's CER), attributed to that author and bucketed by the
//!   time of the first decision. A segment approved at the first review scores 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use crate::db::Db;
use crate::text::metrics::score;
use crate::text::normalise::Normaliser;

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// A UTC day.
    Day,
    /// An ISO week, Monday to Sunday, UTC (the default).
    #[default]
    Week,
}

const DAY_MS: i64 = 86_400_000;

/// The start of the bucket holding `ms`, in days since the epoch.
fn bucket_day(ms: i64, bucket: Bucket) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    match bucket {
        Bucket::Day => day,
        // 1970-01-01 was a Thursday: Monday is 3 days before it.
        Bucket::Week => day - (day + 3).rem_euclid(7),
    }
}

/// `YYYY-MM-DD` of a day since the epoch (proleptic Gregorian, as in H. Hinnant's
/// `civil_from_days`).
fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[derive(Default)]
struct Cell {
    name: String,
    reviews: u64,
    rejections: u64,
    approved: u64,
    n: u64,
    errors: u64,
}

/// The table's columns, in CSV order.
pub const COLUMNS: [&str; 11] = [
    "user_id",
    "user",
    "bucket",
    "bucket_start",
    "reviews",
    "rejections",
    "rejection_rate",
    "approved_segments",
    "n",
    "errors",
    "cer",
];

/// One row per (author, bucket) with any decision, in author then time order.
pub async fn table(
    db: &Db,
    project: i64,
    bucket: Bucket,
    norm: &Normaliser,
) -> sqlx::Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT v.verdict, v.created_at, jr.author_id, u.name, jr.segment_id, jr.text_verbatim \
         FROM review v JOIN segment_revision jr ON jr.id = v.revision_id \
         JOIN segment s ON s.id = jr.segment_id JOIN recording r ON r.id = s.recording_id \
         JOIN app_user u ON u.id = jr.author_id \
         WHERE r.project_id = $1 AND s.deleted = 0 ORDER BY v.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    let mut cells: BTreeMap<(i64, i64), Cell> = BTreeMap::new();
    // Per segment: (author, first decision's time, first judged text) and the last approved text.
    let mut first: BTreeMap<i64, (i64, String, i64, String)> = BTreeMap::new();
    let mut approved: BTreeMap<i64, String> = BTreeMap::new();
    for r in &rows {
        let verdict: String = r.try_get("verdict")?;
        let at: i64 = r.try_get("created_at")?;
        let author: i64 = r.try_get("author_id")?;
        let name: String = r.try_get("name")?;
        let segment: i64 = r.try_get("segment_id")?;
        let text: String = r.try_get("text_verbatim")?;
        let cell = cells.entry((author, bucket_day(at, bucket))).or_default();
        cell.name.clone_from(&name);
        cell.reviews += 1;
        if verdict == "rejected" {
            cell.rejections += 1;
        }
        first
            .entry(segment)
            .or_insert_with(|| (author, name, at, text.clone()));
        if verdict == "approved" {
            approved.insert(segment, text);
        }
    }
    for (segment, final_text) in &approved {
        let Some((author, name, at, handed_in)) = first.get(segment) else {
            continue;
        };
        let s = score(final_text, handed_in, norm);
        let cell = cells.entry((*author, bucket_day(*at, bucket))).or_default();
        cell.name.clone_from(name);
        cell.approved += 1;
        cell.n += s.chars.n;
        cell.errors += s.chars.errors();
    }
    Ok(cells
        .into_iter()
        .map(|((user, day), c)| {
            json!({
                "user_id": user,
                "user": c.name,
                "bucket": date(day),
                "bucket_start": day * DAY_MS,
                "reviews": c.reviews,
                "rejections": c.rejections,
                "rejection_rate": super::rate(c.rejections, c.reviews),
                "approved_segments": c.approved,
                "n": c.n,
                "errors": c.errors,
                "cer": super::rate(c.errors, c.n),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_utc_days_and_mondays() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(bucket_day(0, Bucket::Week)), "1969-12-29");
        // 2026-12-02 is a Wednesday; its week starts on Monday 2026-11-30.
        let wed = 20_789 * DAY_MS + 5 * 3_600_000;
        assert_eq!(date(bucket_day(wed, Bucket::Day)), "2026-12-02");
        assert_eq!(date(bucket_day(wed, Bucket::Week)), "2026-11-30");
        assert_eq!(date(-1), "1969-12-31");
    }
}
