//! The one writer of `segment_comment` and `comment_read`, and their reads. Writers take the
//! caller's `&mut Tx`: a review decision writes its comment in the decision's transaction.

use serde::Serialize;
use sqlx::Row;

use crate::db::{Db, Tx, now_ms};

/// A comment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    /// Comment id (increasing in time order).
    pub id: i64,
    /// The segment it is on.
    pub segment_id: i64,
    /// Its author.
    pub author_id: i64,
    /// The author's name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// When it was written, Unix milliseconds.
    pub created_at: i64,
}

/// Adds a comment by `author` to `segment`'s thread; returns its id.
pub async fn insert(tx: &mut Tx, segment: i64, author: i64, body: &str) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO segment_comment (segment_id, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(segment)
    .bind(author)
    .bind(body)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}

/// `segment`'s thread, oldest first.
pub async fn thread(db: &Db, segment: i64) -> sqlx::Result<Vec<Comment>> {
    sqlx::query(
        "SELECT c.id, c.segment_id, c.author_id, u.name, c.body, c.created_at FROM segment_comment c \
         JOIN app_user u ON u.id = c.author_id WHERE c.segment_id = $1 ORDER BY c.id",
    )
    .bind(segment)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| {
        Ok(Comment {
            id: r.try_get("id")?,
            segment_id: r.try_get("segment_id")?,
            author_id: r.try_get("author_id")?,
            author_name: r.try_get("name")?,
            body: r.try_get("body")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .collect()
}

/// Marks `user` as having read `segment`'s thread up to comment `last` (never backwards).
pub async fn mark_read(tx: &mut Tx, user: i64, segment: i64, last: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO comment_read (user_id, segment_id, last_read_id) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, segment_id) DO UPDATE SET last_read_id = excluded.last_read_id \
         WHERE comment_read.last_read_id < excluded.last_read_id",
    )
    .bind(user)
    .bind(segment)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Unread comments of one thread.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unread {
    /// The segment.
    pub segment_id: i64,
    /// Its recording (for a link to the editor).
    pub recording_id: i64,
    /// Comments by others after the last one `user` read.
    pub unread: i64,
}

/// `user`'s unread comments in `project`, per thread they take part in: segments assigned to
/// them and threads they wrote in. Comments by `user` themselves are never unread.
pub async fn unread(db: &Db, project: i64, user: i64) -> sqlx::Result<Vec<Unread>> {
    sqlx::query(
        "SELECT c.segment_id, s.recording_id, COUNT(*) AS n FROM segment_comment c \
         JOIN segment s ON s.id = c.segment_id JOIN recording r ON r.id = s.recording_id \
         LEFT JOIN comment_read cr ON cr.user_id = $1 AND cr.segment_id = c.segment_id \
         WHERE r.project_id = $2 AND s.deleted = 0 AND c.author_id <> $3 \
           AND c.id > COALESCE(cr.last_read_id, 0) \
           AND (s.assignee_id = $4 OR EXISTS (SELECT 1 FROM segment_comment m \
                WHERE m.segment_id = c.segment_id AND m.author_id = $5)) \
         GROUP BY c.segment_id, s.recording_id ORDER BY c.segment_id",
    )
    .bind(user)
    .bind(project)
    .bind(user)
    .bind(user)
    .bind(user)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| {
        Ok(Unread {
            segment_id: r.try_get("segment_id")?,
            recording_id: r.try_get("recording_id")?,
            unread: r.try_get("n")?,
        })
    })
    .collect()
}
