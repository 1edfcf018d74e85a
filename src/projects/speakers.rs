//! Speaker metadata for dialect work: gender, age band, birthplace (province and city),
//! self-reported accent and native variety; edited one speaker at a time or bulk-imported
//! from CSV (a header row naming the columns; `code` required; rows upsert by code; a bad
//! row is refused with its line number and nothing is written).

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::{Role, require};
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::{Db, begin_write};
use crate::error::{AppError, AppResult};

/// The editable fields, in CSV column order after `code`.
pub const FIELDS: [&str; 6] = [
    "gender",
    "age_band",
    "birthplace_province",
    "birthplace_city",
    "self_reported_accent",
    "native_variety",
];

const COLUMNS: &str = "id, code, gender, age_band, birthplace, birthplace_province, birthplace_city, \
                       self_reported_accent, native_variety";

fn speaker_json(r: &crate::db::DbRow) -> sqlx::Result<Value> {
    let mut v =
        json!({ "id": r.try_get::<i64, _>("id")?, "code": r.try_get::<String, _>("code")? });
    for f in FIELDS.iter().chain(&["birthplace"]) {
        v[*f] = json!(r.try_get::<Option<String>, _>(*f)?);
    }
    Ok(v)
}

/// Speakers of a project with their metadata, in code order.
pub async fn list(db: &Db, project: i64) -> sqlx::Result<Vec<Value>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM speaker WHERE project_id = $1 ORDER BY code"
    ))
    .bind(project)
    .fetch_all(db)
    .await?
    .iter()
    .map(speaker_json)
    .collect()
}

/// Metadata changes; absent fields stay, `""` clears. Each is at most 200 characters without
/// control characters (the pattern: no character of Unicode category Cc).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeakerPatch {
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    gender: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    age_band: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    birthplace_province: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    birthplace_city: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    self_reported_accent: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    native_variety: Option<String>,
}

impl SpeakerPatch {
    fn values(&self) -> [&Option<String>; 6] {
        [
            &self.gender,
            &self.age_band,
            &self.birthplace_province,
            &self.birthplace_city,
            &self.self_reported_accent,
            &self.native_variety,
        ]
    }

    fn check(&self) -> Result<(), String> {
        for (name, v) in FIELDS.iter().zip(self.values()) {
            if v.as_deref()
                .is_some_and(|s| s.chars().count() > 200 || s.chars().any(char::is_control))
            {
                return Err(format!(
                    "{name} has at most 200 characters and no control characters"
                ));
            }
        }
        Ok(())
    }
}

async fn apply(tx: &mut crate::db::Tx, id: i64, patch: &SpeakerPatch) -> sqlx::Result<()> {
    for (name, v) in FIELDS.iter().zip(patch.values()) {
        if let Some(v) = v {
            let v = v.trim();
            sqlx::query(&format!(
                "UPDATE speaker SET {name} = NULLIF($1, '') WHERE id = $2"
            ))
            .bind(v)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    // The display birthplace follows province and city.
    sqlx::query(
        "UPDATE speaker SET birthplace = NULLIF(TRIM(COALESCE(birthplace_province, '') || ' ' || \
         COALESCE(birthplace_city, '')), '') WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `PATCH /api/speakers/{speaker}`: a speaker's metadata (project admins and transcribers).
#[utoipa::path(patch, path = "/api/speakers/{speaker}", tag = "projects",
    params(("speaker" = i64, Path, description = "speaker id")), request_body = SpeakerPatch,
    responses((status = 200, description = "The speaker", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn patch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(speaker): Path<i64>,
    Json(req): Json<SpeakerPatch>,
) -> AppResult<Json<Value>> {
    let project: i64 = sqlx::query("SELECT project_id FROM speaker WHERE id = $1")
        .bind(speaker)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?
        .try_get(0)?;
    require(&state, project, user, &[Role::Admin, Role::Transcriber]).await?;
    req.check()
        .map_err(|m| AppError::bad("invalid_speaker", "speaker", m))?;
    let mut tx = begin_write(&state.db).await?;
    apply(&mut tx, speaker, &req).await?;
    tx.commit().await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM speaker WHERE id = $1"))
        .bind(speaker)
        .fetch_one(&state.db)
        .await?;
    Ok(Json(speaker_json(&row)?))
}

/// Parses speaker CSV: `(line, code, patch)` per row, or the first bad line's sentence.
pub fn parse_csv(text: &str) -> Result<Vec<(u64, String, SpeakerPatch)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let Some(code_col) = headers.iter().position(|h| h == "code") else {
        return Err("line 1: the header has no `code` column".into());
    };
    if let Some(bad) = headers
        .iter()
        .find(|h| *h != "code" && !FIELDS.contains(&h.as_str()))
    {
        return Err(format!(
            "line 1: unknown column `{bad}` (known: code, {})",
            FIELDS.join(", ")
        ));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            format!("line {line}: {e}")
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let code = record.get(code_col).unwrap_or_default().trim().to_string();
        if code.is_empty() || code.chars().count() > 100 {
            return Err(format!(
                "line {line}: a speaker code has 1 to 100 characters"
            ));
        }
        let mut patch = SpeakerPatch::default();
        for (i, h) in headers.iter().enumerate() {
            let v = Some(record.get(i).unwrap_or_default().trim().to_string());
            match h.as_str() {
                "gender" => patch.gender = v,
                "age_band" => patch.age_band = v,
                "birthplace_province" => patch.birthplace_province = v,
                "birthplace_city" => patch.birthplace_city = v,
                "self_reported_accent" => patch.self_reported_accent = v,
                "native_variety" => patch.native_variety = v,
                _ => {}
            }
        }
        patch.check().map_err(|m| format!("line {line}: {m}"))?;
        out.push((line, code, patch));
    }
    Ok(out)
}

/// `POST /api/projects/{project}/speakers/import`: CSV body (`text/csv`), upsert by code.
#[utoipa::path(post, path = "/api/projects/{project}/speakers/import", tag = "projects",
    params(("project" = i64, Path, description = "project id")),
    request_body(content = String, content_type = "text/csv", description = "code,gender,age_band,birthplace_province,birthplace_city,self_reported_accent,native_variety"),
    responses((status = 200, description = "`{created, updated}`", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused with the bad line", body = crate::error::ErrorBody)))]
pub(super) async fn import_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    body: String,
) -> AppResult<Json<Value>> {
    require(&state, project, user, &[Role::Admin]).await?;
    let rows = parse_csv(&body).map_err(|m| AppError::bad("invalid_csv", "body", m))?;
    let mut tx = begin_write(&state.db).await?;
    let (mut created, mut updated) = (0, 0);
    for (_, code, patch) in &rows {
        let (id, new) = super::db::speaker_for_code(&mut tx, project, code).await?;
        if new {
            created += 1;
        } else {
            updated += 1;
        }
        apply(&mut tx, id, patch).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({ "created": created, "updated": updated })))
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv_rows_upsert_by_code_and_bad_rows_name_their_line() {
        let rows = parse_csv("\u{feff}code,gender,birthplace_province,birthplace_city\nS01,female,广西,南宁\nS02,male,四川,成都\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].0, rows[1].1.as_str()), (3, "S02"));
        assert_eq!(rows[0].2.birthplace_city.as_deref(), Some("南宁"));
        assert!(
            parse_csv("code,colour\nS1,red\n")
                .unwrap_err()
                .starts_with("line 1: unknown column `colour`")
        );
        assert!(
            parse_csv("gender\nfemale\n")
                .unwrap_err()
                .contains("no `code` column")
        );
        let e = parse_csv("code,gender\nS1,f\nS2\n").unwrap_err();
        assert!(e.starts_with("line 3"), "{e}");
        let e = parse_csv("code,gender\nS1,f\n,m\n").unwrap_err();
        assert!(e.starts_with("line 3: a speaker code"), "{e}");
    }
}
