//! The one segment-access loader: who is asking, in which role, about which segment, and what
//! they may see of it. Every handler that reads or writes a segment (segments, tasks, review,
//! tags) starts from [`access`] (or [`Viewer::of`] for a recording's list) and asks it, so the
//! rules sit here and in [`super::state`] only.
//!
//! Blindness: a project double-annotates a fixed share of its segments
//! ([`crate::tasks::second_pass::picked`]). Any transcriber other than a picked segment's own
//! may be handed its second pass, so the first pass of a picked segment is hidden from every
//! transcriber but its own (the assignee: whoever claimed, first saved, created with text or
//! submitted it) from the first keystroke on, not only once the second pass is claimed.
//! Hidden means the three text layers are empty, `blind` is true, first-pass spans and
//! segment tags are not listed, and the segment cannot be written (403): a write answers
//! with the segment, and a blind writer would be editing text they cannot see. Reviewers and
//! admins see everything; they are never handed a second pass.

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::tasks::second_pass;

use super::db::{self, Segment};
use super::state::{self, Action, SegmentStatus};

/// Who is looking at a project's segments.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    /// The caller.
    pub user: i64,
    /// Their role in the project.
    pub role: Role,
    /// The project.
    pub project_id: i64,
    share: f64,
}

impl Viewer {
    /// The caller as a member of `project` (404 for non-members).
    pub async fn of(state: &AppState, user: CurrentUser, project: i64) -> AppResult<Self> {
        let role = projects::role_in(state, project, user).await?;
        let share = second_pass::share(&state.db, project).await?;
        Ok(Self {
            user: user.id,
            role,
            project_id: project,
            share,
        })
    }

    /// Whether the first pass of `seg` is hidden from this viewer.
    pub fn blind_to(&self, seg: &Segment) -> bool {
        self.hides(seg.id, seg.assignee_id)
    }

    /// [`Viewer::blind_to`] from the two columns it needs, for list queries that do not load
    /// whole segments (the concordance).
    pub fn hides(&self, segment_id: i64, assignee_id: Option<i64>) -> bool {
        self.role == Role::Transcriber
            && second_pass::picked(segment_id, self.share)
            && assignee_id.is_some_and(|a| a != self.user)
    }

    /// `seg` as this viewer may see it.
    pub fn show(&self, mut seg: Segment) -> Segment {
        if self.blind_to(&seg) {
            seg.text_verbatim.clear();
            seg.text_display.clear();
            seg.text_norm.clear();
            seg.blind = true;
            seg.last_review = None;
        }
        seg
    }

    /// Refuses a write by a viewer who cannot see the segment's first pass.
    pub fn may_write(&self, seg: &Segment) -> AppResult<()> {
        if self.blind_to(seg) {
            return Err(AppError::Forbidden(
                "this segment is double-annotated and its first pass is hidden from you".into(),
            ));
        }
        Ok(())
    }
}

/// A segment and what the caller may do with it.
pub struct SegmentAccess {
    /// The caller.
    pub viewer: Viewer,
    /// The segment as stored (not blinded: use [`SegmentAccess::view`] for answers).
    pub segment: Segment,
    /// Length of its recording, in samples at the analysis rate.
    pub samples: i64,
}

/// Loads segment `id` for `user`: 404 if it does not exist or they are not a member of its
/// project.
pub async fn access(state: &AppState, user: CurrentUser, id: i64) -> AppResult<SegmentAccess> {
    let segment = db::get(&state.db, id).await?;
    let rec = crate::recordings::db::get(&state.db, segment.recording_id).await?;
    let viewer = Viewer::of(state, user, rec.project_id).await?;
    Ok(SegmentAccess {
        viewer,
        segment,
        samples: rec.samples.unwrap_or(0),
    })
}

impl SegmentAccess {
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.viewer.role
    }

    /// The owning project.
    pub fn project_id(&self) -> i64 {
        self.viewer.project_id
    }

    /// The segment's state when it was loaded.
    pub fn status(&self) -> SegmentStatus {
        self.segment.status
    }

    /// Whether the first pass is hidden from the caller.
    pub fn blind(&self) -> bool {
        self.viewer.blind_to(&self.segment)
    }

    /// The segment as the caller may see it.
    pub fn view(&self) -> Segment {
        self.viewer.show(self.segment.clone())
    }

    /// Whether the caller may do `action` now: the state afterwards, or the refusal.
    pub fn may(&self, action: Action) -> AppResult<SegmentStatus> {
        self.viewer.may_write(&self.segment)?;
        state::check(self.role(), self.status(), action)
    }

    /// Whether the caller's role may ever do `action` and the segment is visible to them; the
    /// state part is checked again inside the write's transaction.
    pub fn may_ever(&self, action: Action) -> AppResult<()> {
        self.viewer.may_write(&self.segment)?;
        state::may_ever(self.role(), action)
    }

    /// 404 for a deleted segment (tags and spans live on live segments only).
    pub fn live(self) -> AppResult<Self> {
        if self.segment.deleted {
            Err(AppError::NotFound)
        } else {
            Ok(self)
        }
    }
}
