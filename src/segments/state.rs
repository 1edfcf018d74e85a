//! The segment workflow as one state machine: which role may do what to a segment in which
//! state. Every write path asks [`check`] (text saves, boundary moves, speaker changes, split,
//! merge, delete, submit, review decisions, reopen, span tags and segment tags); the handlers
//! only say which [`Action`] they are.
//!
//! ```text
//! new ──edit──▶ in_progress ──submit──▶ submitted ──approve──▶ approved
//!  │                 ▲                      │                      │
//!  └──submit─────────┼──────────────────────┘ reject               │ reopen
//!                    │                      ▼                      │ (reviewer, admin)
//!                    └──────edit─────── rejected ◀─────────────────┘
//! ```
//!
//! Decisions worth knowing:
//! - **Submitted is locked for editors too.** A reviewer decides on the text that was
//!   submitted; changing it under the reviewer would approve unseen text. An editor who wants
//!   it back asks the reviewer to reject it. Approved is locked until a reviewer or admin
//!   reopens it, which sends it back to its transcriber as `rejected` (issue 17: their next
//!   claim returns it first, and nobody else can take it).
//! - **Reviewers tag, they do not edit.** Marking accent features and labels is the linguist's
//!   review act, so a reviewer may write spans and segment tags while a segment is submitted
//!   (and only then: in progress it is the transcriber's turn). Text, bounds and speaker are
//!   never a reviewer's.
//! - **Refusals say why.** A role that can never do an action gets 403; a role that could, but
//!   not in this state, gets 409 with a stable code (`segment_locked`, `not_submitted`,
//!   `not_approved`) and no copy of the segment, so a refusal never shows text.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::projects::Role;

/// Where a segment is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    /// Made by the VAD, an import or an editor; nobody has transcribed it yet.
    New,
    /// Being transcribed.
    InProgress,
    /// Handed to review; locked for editors.
    Submitted,
    /// Accepted by a reviewer; locked until reopened.
    Approved,
    /// Sent back to its transcriber with a comment.
    Rejected,
}

impl SegmentStatus {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentStatus::New => "new",
            SegmentStatus::InProgress => "in_progress",
            SegmentStatus::Submitted => "submitted",
            SegmentStatus::Approved => "approved",
            SegmentStatus::Rejected => "rejected",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => SegmentStatus::New,
            "in_progress" => SegmentStatus::InProgress,
            "submitted" => SegmentStatus::Submitted,
            "approved" => SegmentStatus::Approved,
            "rejected" => SegmentStatus::Rejected,
            _ => return None,
        })
    }

    /// Whether the first-pass text, bounds, speaker and structure may change.
    pub fn editable(self) -> bool {
        matches!(
            self,
            SegmentStatus::New | SegmentStatus::InProgress | SegmentStatus::Rejected
        )
    }

    /// The state after an accepted edit: work on a new or rejected segment is in progress.
    pub fn after_edit(self) -> Self {
        match self {
            SegmentStatus::New | SegmentStatus::Rejected => SegmentStatus::InProgress,
            other => other,
        }
    }
}

impl std::fmt::Display for SegmentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller wants to do to a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change first-pass text, bounds or speaker; split, merge, delete.
    Edit,
    /// Create, change or delete first-pass spans or segment tags.
    Tag,
    /// Hand the segment to review.
    Submit,
    /// Approve the submitted text.
    Approve,
    /// Send it back to its transcriber.
    Reject,
    /// Take an approved segment back into work.
    Reopen,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Tag => "tag",
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Reopen => "reopen",
        }
    }
}

/// Whether `role` may ever do `action`, in some state: the 403 part of [`check`].
pub fn may_ever(role: Role, action: Action) -> Result<(), AppError> {
    let editor = matches!(role, Role::Admin | Role::Transcriber);
    let judge = matches!(role, Role::Admin | Role::Reviewer);
    match action {
        Action::Edit | Action::Submit if !editor => Err(AppError::Forbidden(
            "reviewers review; they do not edit".into(),
        )),
        Action::Approve | Action::Reject | Action::Reopen if !judge => Err(AppError::Forbidden(
            "this is for reviewers and project admins".into(),
        )),
        _ => Ok(()),
    }
}

/// Whether `role` may do `action` to a segment in `status`; the state it leaves the segment
/// in, or the refusal.
pub fn check(role: Role, status: SegmentStatus, action: Action) -> Result<SegmentStatus, AppError> {
    use SegmentStatus::*;
    may_ever(role, action)?;
    let locked = || {
        AppError::InUse(
            "segment_locked",
            format!(
                "the segment is {status}: a {} cannot {} it now",
                role.as_str(),
                action.verb()
            ),
        )
    };
    match action {
        Action::Edit if status.editable() => Ok(status.after_edit()),
        Action::Submit if status.editable() => Ok(Submitted),
        Action::Edit | Action::Submit => Err(locked()),
        Action::Tag => {
            let editor = matches!(role, Role::Admin | Role::Transcriber);
            let judge = matches!(role, Role::Admin | Role::Reviewer);
            if (editor && status.editable()) || (judge && status == Submitted) {
                Ok(status)
            } else {
                Err(locked())
            }
        }
        Action::Approve | Action::Reject if status != Submitted => Err(AppError::InUse(
            "not_submitted",
            format!("the segment is {status}; only submitted segments are reviewed"),
        )),
        Action::Approve => Ok(Approved),
        Action::Reject => Ok(Rejected),
        Action::Reopen if status != Approved => Err(AppError::InUse(
            "not_approved",
            format!("the segment is {status}; only approved segments are reopened"),
        )),
        Action::Reopen => Ok(Rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [SegmentStatus; 5] = [
        SegmentStatus::New,
        SegmentStatus::InProgress,
        SegmentStatus::Submitted,
        SegmentStatus::Approved,
        SegmentStatus::Rejected,
    ];

    fn ok(role: Role, status: SegmentStatus, action: Action) -> Option<SegmentStatus> {
        check(role, status, action).ok()
    }

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in ALL {
            assert_eq!(SegmentStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(SegmentStatus::parse("done"), None);
    }

    #[test]
    fn the_table_of_who_may_do_what_in_which_state() {
        use Action::*;
        use SegmentStatus::*;
        // (action, state, transcriber, reviewer, admin): the state afterwards, or refused.
        let table = [
            (Edit, New, Some(InProgress), None, Some(InProgress)),
            (Edit, InProgress, Some(InProgress), None, Some(InProgress)),
            (Edit, Submitted, None, None, None),
            (Edit, Approved, None, None, None),
            (Edit, Rejected, Some(InProgress), None, Some(InProgress)),
            (Tag, New, Some(New), None, Some(New)),
            (Tag, InProgress, Some(InProgress), None, Some(InProgress)),
            (Tag, Submitted, None, Some(Submitted), Some(Submitted)),
            (Tag, Approved, None, None, None),
            (Tag, Rejected, Some(Rejected), None, Some(Rejected)),
            (Submit, New, Some(Submitted), None, Some(Submitted)),
            (Submit, InProgress, Some(Submitted), None, Some(Submitted)),
            (Submit, Submitted, None, None, None),
            (Submit, Approved, None, None, None),
            (Submit, Rejected, Some(Submitted), None, Some(Submitted)),
            (Approve, Submitted, None, Some(Approved), Some(Approved)),
            (Reject, Submitted, None, Some(Rejected), Some(Rejected)),
            (Reopen, Approved, None, Some(Rejected), Some(Rejected)),
        ];
        for (action, state, t, r, a) in table {
            assert_eq!(
                (
                    ok(Role::Transcriber, state, action),
                    ok(Role::Reviewer, state, action),
                    ok(Role::Admin, state, action)
                ),
                (t, r, a),
                "{action:?} on {state}"
            );
        }
        // Review decisions and reopening exist only from their one state.
        for s in ALL {
            for action in [Approve, Reject] {
                assert_eq!(ok(Role::Reviewer, s, action).is_some(), s == Submitted);
            }
            assert_eq!(ok(Role::Admin, s, Reopen).is_some(), s == Approved);
        }
    }

    #[test]
    fn a_role_that_never_may_gets_403_and_a_state_that_forbids_gets_409() {
        let status = |e: AppError| match e {
            AppError::Forbidden(_) => 403,
            AppError::InUse(code, _) => {
                assert!(
                    ["segment_locked", "not_submitted", "not_approved"].contains(&code),
                    "{code}"
                );
                409
            }
            other => panic!("{other:?}"),
        };
        let refuse = |role, s, a| status(check(role, s, a).unwrap_err());
        assert_eq!(
            refuse(Role::Reviewer, SegmentStatus::New, Action::Edit),
            403
        );
        assert_eq!(
            refuse(Role::Transcriber, SegmentStatus::Approved, Action::Reopen),
            403
        );
        assert_eq!(
            refuse(Role::Transcriber, SegmentStatus::Approved, Action::Edit),
            409
        );
        assert_eq!(
            refuse(Role::Reviewer, SegmentStatus::InProgress, Action::Tag),
            409
        );
        assert_eq!(
            refuse(Role::Reviewer, SegmentStatus::New, Action::Approve),
            409
        );
    }
}
