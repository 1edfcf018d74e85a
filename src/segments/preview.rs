//! The editor's preview of a text being typed: the project's normaliser applied to it, and its
//! CER against the segment's ASR hypothesis, computed exactly as the dashboard computes it
//! ([`crate::text::metrics::score`] with [`crate::projects::normaliser`]). Nothing is written;
//! the browser asks as the transcriber types, so the editor's live CER equals the dashboard's.

use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::text::metrics::score;

use super::{access, check_text};

/// Longest text scored, in characters after normalisation, on either side: the alignment is
/// quadratic (2 000 × 2 000 cells is a few milliseconds), and a segment is a sentence or two.
const MAX_SCORED_CHARS: usize = 2_000;

/// How long a preview may run on the work pool.
const BUDGET: Duration = Duration::from_secs(2);

/// A text to preview.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The verbatim text as typed (not saved).
    pub text_verbatim: String,
}

/// What the project's normaliser makes of the text, and its score against the ASR.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The text after the project's normaliser: what `text_norm` would be by default.
    pub normalised: String,
    /// The ASR hypothesis after the same normaliser (`null` without a hypothesis).
    pub hypothesis_normalised: Option<String>,
    /// Character error rate of the hypothesis against the text (`null` without a hypothesis
    /// or when the normalised text is empty): the dashboard's per-segment CER.
    pub cer: Option<f64>,
    /// Character errors (substitutions + deletions + insertions).
    pub errors: u64,
    /// Reference characters after normalisation.
    pub reference_chars: u64,
    /// The normaliser, versioned (as on the dashboard).
    pub normaliser: String,
}

#[utoipa::path(post, path = "/api/segments/{segment}/preview", tag = "segments",
    params(("segment" = i64, Path, description = "segment id")),
    request_body = PreviewRequest,
    responses((status = 200, description = "The normalised text and its CER against the ASR hypothesis", body = Preview),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<PreviewRequest>,
) -> AppResult<Json<Preview>> {
    let a = access(&state, user, segment).await?;
    // Whoever sees the segment may preview a text for it (a reviewer reads the same CER as
    // the transcriber), except a transcriber blind to its first pass: 403, as for a write.
    a.viewer.may_write(&a.segment)?;
    check_text("text_verbatim", &req.text_verbatim)?;
    let norm = crate::projects::normaliser(&state.db, a.project_id()).await?;
    let hypothesis = a.segment.asr_text.clone();
    let text = req.text_verbatim;
    let out = crate::work::run_bounded(&state.work, BUDGET, move |_| {
        let normalised = norm.normalise(&text);
        let hyp_norm = hypothesis.as_deref().map(|h| norm.normalise(h));
        let too_long = |s: &str| s.chars().count() > MAX_SCORED_CHARS;
        if too_long(&normalised) || hyp_norm.as_deref().is_some_and(too_long) {
            return Err(AppError::bad(
                "text_too_long_to_score",
                "text_verbatim",
                format!("a live CER is computed for texts up to {MAX_SCORED_CHARS} characters"),
            ));
        }
        let sc = hypothesis.as_deref().map(|h| score(&text, h, &norm));
        Ok(Preview {
            cer: sc.and_then(|s| s.cer()),
            errors: sc.map_or(0, |s| s.chars.errors()),
            reference_chars: sc.map_or_else(|| normalised.chars().count() as u64, |s| s.chars.n),
            hypothesis_normalised: hyp_norm,
            normalised,
            normaliser: norm.describe(),
        })
    })
    .await??;
    Ok(Json(out))
}
