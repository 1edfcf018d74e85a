//! The OpenAPI 3 document of the whole API, served at `/api/openapi.json`. Every route is
//! registered through `utoipa_axum::routes!` from a handler annotated with `#[utoipa::path]`,
//! so a route cannot exist without its entry: the router and the document are built from the
//! same list. `tests/suite/api.rs` checks the other direction (every documented operation answers).

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The document's fixed parts; the paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "fangyan",
        description = "Dialect transcription workbench: recordings, segments, tasks, review. \
                       Every error is `{\"error\":{\"code\",\"message\",\"field\"}}`. \
                       Authenticate with the `fangyan_session` cookie from `POST /api/login`, \
                       or `Authorization: Bearer <token>` from `POST /api/tokens`."
    ),
    modifiers(&Security),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    tags(
        (name = "accounts", description = "Login, sessions, API tokens"),
        (name = "projects", description = "Projects, settings and members"),
        (name = "recordings", description = "Upload, ingest, audio and analysis"),
        (name = "asr", description = "ASR output import and live pre-annotation"),
        (name = "jobs", description = "Background work and its progress"),
        (name = "segments", description = "Versioned segment editing"),
        (name = "tasks", description = "Claiming work, submitting, second pass"),
        (name = "review", description = "Approval and rejection"),
        (name = "dashboard", description = "Progress, error rates, throughput, agreement (JSON or CSV)"),
        (name = "exports", description = "Corpus export: define, run, download"),
        (name = "tags", description = "Tag schema, segment and span tags, suggestions"),
    )
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("fangyan_session"))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
