//! The tag schema of a project, as pure data: segment-level and speaker-level controlled
//! vocabularies and the span-level accent-feature codes (see `../shared/docs/DIALECT.md`).
//! Owns its validation, the migration plan between two versions of a schema (renames and
//! removals), and the check of one segment's field values against it. No database or web code:
//! `crate::tags` applies the plan.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

mod anchor;

pub use anchor::{Anchor, reanchor};

/// The default bilingual schema shipped in the binary: the dialect groups, the 8 Mandarin
/// subgroups (ids map 1:1 to KeSpeech's `utt2subdialect` labels), speech modes, audio quality,
/// noise and the accent-feature catalogue of DIALECT.md §2.
pub const DEFAULT_SCHEMA_JSON: &str = include_str!("../tags/default_schema.json");

/// A project's tag schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagSchema {
    /// Format version (1).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    /// Segment-level fields (`variety`, `mode`, …).
    #[serde(default)]
    pub segment_fields: Vec<Field>,
    /// Speaker-level fields (vocabularies for the speaker's columns).
    #[serde(default)]
    pub speaker_fields: Vec<Field>,
    /// Span-level accent-feature codes.
    #[serde(default)]
    pub features: Vec<Feature>,
}

fn one() -> u32 {
    1
}

/// A controlled-vocabulary field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    /// Stable id, e.g. `variety`: 1 to 100 characters, no whitespace or control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$"
    )]
    pub id: String,
    /// 中文 label.
    #[serde(default)]
    pub label_zh: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// Several values may be chosen.
    #[serde(default)]
    pub multi: bool,
    /// A segment's tags must include this field.
    #[serde(default)]
    pub required: bool,
    /// Kept for existing tags, not offered for new ones.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// The id this field had before (a rename; the tags migrate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// The allowed values.
    #[serde(default)]
    pub values: Vec<Choice>,
}

/// One value of a field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    /// Stable id, e.g. `cmn-southwestern`: 1 to 100 characters, no whitespace or control
    /// characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$"
    )]
    pub id: String,
    /// 中文 label.
    #[serde(default)]
    pub label_zh: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// The KeSpeech `utt2subdialect` label this value maps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kespeech: Option<String>,
    /// Parent group id (e.g. `cmn` for the Mandarin subgroups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kept for existing tags, not offered for new ones.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// The id this value had before (a rename; the tags migrate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// An accent-feature code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feature {
    /// Stable code, e.g. `INIT_RETRO_TO_DENTAL`: an upper-case letter, then upper-case
    /// letters, digits and `_`, at most 64.
    #[schema(max_length = 64, pattern = "^[A-Z][A-Z0-9_]*$")]
    pub code: String,
    /// `initials`, `finals` or `tones`.
    #[serde(default)]
    pub group: String,
    /// 中文 label.
    #[serde(default)]
    pub label_zh: String,
    /// English description.
    #[serde(default)]
    pub label_en: String,
    /// Examples.
    #[serde(default)]
    pub examples: String,
    /// Typical regions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub regions: String,
    /// What a spectrogram or pitch track shows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub acoustic_cue: String,
    /// Kept for existing tags, not offered for new ones.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// The code this feature had before (a rename; the spans migrate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a schema or a tag set is refused: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Stable snake_case code.
    pub code: &'static str,
    /// Sentence for people.
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> SchemaError {
    SchemaError {
        code,
        message: message.into(),
    }
}

/// The default schema.
pub fn default_schema() -> TagSchema {
    // The shipped file is checked by a unit test; an unreadable one degrades to empty.
    serde_json::from_str(DEFAULT_SCHEMA_JSON).unwrap_or_default()
}

fn check_id(kind: &str, id: &str) -> Result<(), SchemaError> {
    if id.is_empty()
        || id.chars().count() > 100
        || id.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(err(
            "invalid_id",
            format!("{kind} id {id:?} must be 1 to 100 characters without spaces"),
        ));
    }
    Ok(())
}

fn check_fields(kind: &str, fields: &[Field]) -> Result<(), SchemaError> {
    let mut ids = HashSet::new();
    for f in fields {
        check_id(kind, &f.id)?;
        if !ids.insert(f.id.as_str()) {
            return Err(err(
                "duplicate_id",
                format!("{kind} field {:?} appears twice", f.id),
            ));
        }
        let mut values = HashSet::new();
        for v in &f.values {
            check_id("value", &v.id)?;
            if !values.insert(v.id.as_str()) {
                return Err(err(
                    "duplicate_id",
                    format!("value {:?} appears twice in field {:?}", v.id, f.id),
                ));
            }
        }
        for v in &f.values {
            if let Some(from) = &v.renamed_from
                && values.contains(from.as_str())
            {
                return Err(err(
                    "invalid_rename",
                    format!(
                        "value {:?} is renamed from {from:?}, which is still in field {:?}",
                        v.id, f.id
                    ),
                ));
            }
        }
    }
    for f in fields {
        if let Some(from) = &f.renamed_from
            && ids.contains(from.as_str())
        {
            return Err(err(
                "invalid_rename",
                format!(
                    "field {:?} is renamed from {from:?}, which still exists",
                    f.id
                ),
            ));
        }
    }
    Ok(())
}

/// Checks ids, uniqueness, feature-code shape and renames.
pub fn validate(schema: &TagSchema) -> Result<(), SchemaError> {
    if schema.version != 1 {
        return Err(err("unsupported_version", "the schema version must be 1"));
    }
    check_fields("segment", &schema.segment_fields)?;
    check_fields("speaker", &schema.speaker_fields)?;
    let mut codes = HashSet::new();
    for f in &schema.features {
        let ok = f.code.len() <= 64
            && f.code
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
            && f.code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(err(
                "invalid_feature_code",
                format!(
                    "feature code {:?} must be upper-case letters, digits and _",
                    f.code
                ),
            ));
        }
        if !codes.insert(f.code.as_str()) {
            return Err(err(
                "duplicate_id",
                format!("feature {:?} appears twice", f.code),
            ));
        }
    }
    for f in &schema.features {
        if let Some(from) = &f.renamed_from
            && codes.contains(from.as_str())
        {
            return Err(err(
                "invalid_rename",
                format!(
                    "feature {:?} is renamed from {from:?}, which still exists",
                    f.code
                ),
            ));
        }
    }
    Ok(())
}

/// What a schema change does to existing tags.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Segment fields renamed: (from, to).
    pub field_renames: Vec<(String, String)>,
    /// Segment field values renamed: (field after renames, from, to).
    pub value_renames: Vec<(String, String, String)>,
    /// Feature codes renamed: (from, to).
    pub feature_renames: Vec<(String, String)>,
    /// Segment fields gone (neither kept, renamed nor archived).
    pub removed_fields: Vec<String>,
    /// Segment field values gone: (field after renames, value).
    pub removed_values: Vec<(String, String)>,
    /// Feature codes gone.
    pub removed_features: Vec<String>,
}

/// The plan from `old` to `new`: renames to apply and removals to check for use. Speaker
/// fields are vocabularies for the speaker's own columns and are not migrated.
pub fn plan(old: &TagSchema, new: &TagSchema) -> Migration {
    let mut m = Migration::default();
    let mut new_field_for_old: HashMap<&str, &Field> = HashMap::new();
    for f in &new.segment_fields {
        new_field_for_old.insert(f.id.as_str(), f);
    }
    for f in &new.segment_fields {
        if let Some(from) = &f.renamed_from {
            new_field_for_old.insert(from.as_str(), f);
        }
    }
    for old_field in &old.segment_fields {
        let Some(nf) = new_field_for_old.get(old_field.id.as_str()) else {
            m.removed_fields.push(old_field.id.clone());
            continue;
        };
        if nf.id != old_field.id {
            m.field_renames.push((old_field.id.clone(), nf.id.clone()));
        }
        let mut new_value_for_old: HashMap<&str, &str> = HashMap::new();
        for v in &nf.values {
            new_value_for_old.insert(v.id.as_str(), v.id.as_str());
        }
        for v in &nf.values {
            if let Some(from) = &v.renamed_from {
                new_value_for_old.insert(from.as_str(), v.id.as_str());
            }
        }
        for ov in &old_field.values {
            match new_value_for_old.get(ov.id.as_str()) {
                None => m.removed_values.push((nf.id.clone(), ov.id.clone())),
                Some(to) if *to != ov.id => {
                    m.value_renames
                        .push((nf.id.clone(), ov.id.clone(), (*to).to_string()))
                }
                Some(_) => {}
            }
        }
    }
    let mut new_code_for_old: HashMap<&str, &str> = HashMap::new();
    for f in &new.features {
        new_code_for_old.insert(f.code.as_str(), f.code.as_str());
    }
    for f in &new.features {
        if let Some(from) = &f.renamed_from {
            new_code_for_old.insert(from.as_str(), f.code.as_str());
        }
    }
    for of in &old.features {
        match new_code_for_old.get(of.code.as_str()) {
            None => m.removed_features.push(of.code.clone()),
            Some(to) if *to != of.code => m.feature_renames.push((of.code.clone(), (*to).into())),
            Some(_) => {}
        }
    }
    m
}

/// The schema as stored after a migration: `renamed_from` markers are dropped, so saving the
/// same document again does not rename twice.
pub fn settled(mut schema: TagSchema) -> TagSchema {
    for f in schema
        .segment_fields
        .iter_mut()
        .chain(schema.speaker_fields.iter_mut())
    {
        f.renamed_from = None;
        for v in &mut f.values {
            v.renamed_from = None;
        }
    }
    for f in &mut schema.features {
        f.renamed_from = None;
    }
    schema
}

/// A segment's field values as sent by a client: a string, or a list for multi fields.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FieldValues {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

/// Checks a segment's complete tag set against the schema and flattens it to (field, value)
/// rows. `existing` are the segment's current rows: an archived value already there may stay.
pub fn check_segment_tags(
    schema: &TagSchema,
    tags: &BTreeMap<String, FieldValues>,
    existing: &[(String, String)],
) -> Result<Vec<(String, String)>, SchemaError> {
    let had: HashSet<(&str, &str)> = existing
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    let mut rows = Vec::new();
    for (field_id, values) in tags {
        let Some(field) = schema.segment_fields.iter().find(|f| &f.id == field_id) else {
            return Err(err(
                "unknown_field",
                format!("the schema has no segment field {field_id:?}"),
            ));
        };
        let list: Vec<&String> = match values {
            FieldValues::One(v) => vec![v],
            FieldValues::Many(vs) => vs.iter().collect(),
        };
        if list.len() > 1 && !field.multi {
            return Err(err(
                "not_multi",
                format!("field {field_id:?} takes one value"),
            ));
        }
        let mut seen = HashSet::new();
        for v in list {
            let known = field.values.iter().find(|x| &x.id == v);
            let allowed = match known {
                None => false,
                Some(x) => {
                    !(x.archived || field.archived)
                        || had.contains(&(field_id.as_str(), v.as_str()))
                }
            };
            if !allowed {
                return Err(err(
                    "unknown_value",
                    format!("{v:?} is not an offered value of field {field_id:?}"),
                ));
            }
            if seen.insert(v.clone()) {
                rows.push((field_id.clone(), v.clone()));
            }
        }
    }
    for f in &schema.segment_fields {
        if f.required && !f.archived && !rows.iter().any(|(id, _)| id == &f.id) {
            return Err(err(
                "missing_required",
                format!("field {:?} is required", f.id),
            ));
        }
    }
    Ok(rows)
}

/// Whether `code` is a feature that may be put on a new span.
pub fn offers_feature(schema: &TagSchema, code: &str) -> bool {
    schema
        .features
        .iter()
        .any(|f| f.code == code && !f.archived)
}

#[cfg(test)]
mod tests;
