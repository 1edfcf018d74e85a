//! The one error type of ASR import: every way a hypothesis file can be refused, with a stable
//! machine code and the place (line, or JSON field path) where it went wrong.
//!
//! Codes are part of the public contract (the API and CLI print them) and never change.

use thiserror::Error;

/// Why an ASR output file could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum AsrError {
    /// No bytes, or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// Not UTF-8 (nor UTF-16 with a byte-order mark).
    #[error("line {line}: the text is not valid UTF-8")]
    Encoding {
        /// 1-based line of the first bad byte.
        line: usize,
    },
    /// None of the supported formats matched the content or the file name.
    #[error("unknown ASR output format{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownFormat {
        /// What the content looked like, when we can tell.
        hint: Option<String>,
    },
    /// Malformed JSON.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// Malformed XML (EAF).
    #[error("line {line}, column {column}: invalid XML: {message}")]
    Xml {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// roxmltree's description.
        message: String,
    },
    /// A line that does not follow the format's syntax.
    #[error("{format} line {line}: {message}")]
    Syntax {
        /// The format being read.
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// A field that is missing or has the wrong type or value (JSON path or XML attribute).
    #[error("{format}{}: field `{field}`: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Field {
        /// The format being read.
        format: &'static str,
        /// 1-based line when known (XML), none for JSON paths.
        line: Option<usize>,
        /// Field path, e.g. `segments[3].end` or `TIME_SLOT_REF2`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The requested tier (TextGrid, EAF) does not exist, or the file has no usable tier.
    #[error("no tier named {requested:?}; the file has: {}", available.join(", "))]
    NoSuchTier {
        /// The name asked for (`None`: any usable tier).
        requested: Option<String>,
        /// Tier names in the file.
        available: Vec<String>,
    },
    /// The file would build a tree larger than the parse budget (many tiny elements).
    #[error(
        "the file has too many elements to parse within the {limit_mib} MiB budget; split it into smaller files"
    )]
    TooComplex {
        /// The budget, MiB.
        limit_mib: usize,
    },
}

impl AsrError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AsrError::Empty => "empty_file",
            AsrError::Encoding { .. } => "bad_encoding",
            AsrError::UnknownFormat { .. } => "unknown_format",
            AsrError::Json { .. } => "bad_json",
            AsrError::Xml { .. } => "bad_xml",
            AsrError::Syntax { .. } => "bad_syntax",
            AsrError::Field { .. } => "bad_field",
            AsrError::NoSuchTier { .. } => "no_such_tier",
            AsrError::TooComplex { .. } => "too_complex",
        }
    }

    /// The 1-based line the error is on, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            AsrError::Encoding { line }
            | AsrError::Json { line, .. }
            | AsrError::Xml { line, .. }
            | AsrError::Syntax { line, .. } => Some(*line),
            AsrError::Field { line, .. } => *line,
            _ => None,
        }
    }

    /// The field path the error is about, when it has one.
    pub fn field(&self) -> Option<&str> {
        match self {
            AsrError::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn syntax(format: &'static str, line: usize, message: impl Into<String>) -> Self {
        AsrError::Syntax {
            format,
            line,
            message: message.into(),
        }
    }

    pub(crate) fn field_at(
        format: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AsrError::Field {
            format,
            line: None,
            field: field.into(),
            message: message.into(),
        }
    }
}
