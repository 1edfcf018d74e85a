//! What one ASR file may make the parser build: a memory budget for the intermediate trees
//! (the JSON value, the EAF's XML tree), enforced while they are built or before.
//!
//! Why: a tree costs far more than its text. A JSON object is a B-tree node of about 640 bytes
//! whatever it holds, so 64 MiB of `{}` would become gigabytes; roxmltree keeps about 64 bytes
//! per node, so 24 MiB of `<a/>` would become 400 MB. The budget is an estimate of the bytes
//! the tree will take, counted as it grows (JSON) or from a linear pre-scan (XML), and a file
//! over it is refused with [`AsrError::TooComplex`] before the memory is spent.
//!
//! The JSON tree keeps only the keys some parser reads (`segments`, `words`, `start`, ...);
//! everything else (`tokens`, `avg_logprob`, WhisperX's duplicate `word_segments`) is skipped
//! without being built, so real files fit far more words in the same budget.

use std::cell::Cell;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::AsrError;

/// Bounds on one ASR file's parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Estimated bytes the intermediate tree (JSON value, XML tree) may take (32 MiB).
    pub max_tree_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tree_bytes: 32 << 20,
        }
    }
}

/// Estimated heap cost of one JSON object (a B-tree leaf of 11 keys and values).
const OBJECT: usize = 640;
/// Of one member of an object: its key's allocation.
const MEMBER: usize = 32;
/// Of one array element: its 32-byte value, with the vector's growth slack.
const ELEMENT: usize = 64;
/// Of one string's allocation, besides its bytes.
const STRING: usize = 16;
/// Of one XML node or attribute in roxmltree.
const XML_NODE: usize = 64;

/// Keys a JSON parser reads; all others are skipped unbuilt.
const KEEP: &[&str] = &[
    "segments",
    "model",
    "language",
    "start",
    "end",
    "text",
    "words",
    "word",
    "probability",
    "score",
    "speaker",
    "sentence_info",
    "sentences",
    "timestamp",
    "ts_list",
    "key",
    "spk",
    "data",
    "audio",
    "annotations",
    "predictions",
    "was_cancelled",
    "ground_truth",
    "model_version",
    "result",
    "value",
    "id",
    "labels",
];
/// Keys whose presence alone tells the flavour apart: kept as `null`.
const PRESENCE: &[&str] = &["word_segments", "info", "language_probability"];

/// Parses JSON text into a value holding only the keys the parsers read, refusing it once the
/// tree's estimated size passes `limits.max_tree_bytes`.
pub(super) fn json_value(text: &str, limits: &Limits) -> Result<Value, AsrError> {
    let budget = Budget {
        used: Cell::new(0),
        max: limits.max_tree_bytes,
        over: Cell::new(false),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = (&mut de)
        .deserialize_any(Build(&budget))
        .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        if budget.over.get() {
            too_complex(limits)
        } else {
            AsrError::Json {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }
        }
    })
}

/// Refuses XML whose tree would pass the budget, from a count of tags and attributes; returns
/// the node limit to give roxmltree as a hard stop.
pub(super) fn check_xml(text: &str, limits: &Limits) -> Result<u32, AsrError> {
    let b = text.as_bytes();
    let tags = memchr_count(b, b'<');
    let attributes = memchr_count(b, b'=');
    if (tags + attributes).saturating_mul(XML_NODE) > limits.max_tree_bytes {
        return Err(too_complex(limits));
    }
    Ok(u32::try_from(limits.max_tree_bytes / XML_NODE).unwrap_or(u32::MAX))
}

/// The error for a file over the budget.
pub(super) fn too_complex(limits: &Limits) -> AsrError {
    AsrError::TooComplex {
        limit_mib: limits.max_tree_bytes >> 20,
    }
}

fn memchr_count(b: &[u8], c: u8) -> usize {
    b.iter().filter(|&&x| x == c).count()
}

struct Budget {
    used: Cell<usize>,
    max: usize,
    over: Cell<bool>,
}

impl Budget {
    fn charge<E: de::Error>(&self, n: usize) -> Result<(), E> {
        let used = self.used.get().saturating_add(n);
        self.used.set(used);
        if used > self.max {
            self.over.set(true);
            return Err(E::custom("the file is too complex"));
        }
        Ok(())
    }
}

/// Builds a [`Value`] under a [`Budget`].
#[derive(Clone, Copy)]
struct Build<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.charge(v.len() + STRING)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.charge(v.len() + STRING)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            self.0.charge(ELEMENT)?;
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.charge(OBJECT)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if KEEP.contains(&key.as_ref()) {
                let v = map.next_value_seed(self)?;
                self.0.charge(MEMBER)?;
                out.insert(key.into_owned(), v);
            } else if PRESENCE.contains(&key.as_ref()) {
                map.next_value::<IgnoredAny>()?;
                out.insert(key.into_owned(), Value::Null);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_keys_are_skipped_and_presence_keys_kept_as_null() {
        let v = json_value(
            r#"{"segments":[{"start":1,"tokens":[1,2,3]}],"word_segments":[{"word":"x"}]}"#,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"segments":[{"start":1}],"word_segments":null})
        );
    }

    #[test]
    fn a_tree_over_the_budget_is_refused_as_too_complex() {
        let limits = Limits {
            max_tree_bytes: 64 << 10,
        };
        let many = format!("[{}{{}}]", "{},".repeat(200));
        assert_eq!(
            json_value(&many, &limits).unwrap_err().code(),
            "too_complex"
        );
        assert!(json_value("[{},{}]", &limits).is_ok());
        let xml = "<a/>".repeat(2000);
        assert_eq!(check_xml(&xml, &limits).unwrap_err().code(), "too_complex");
        // a syntax error is still a syntax error
        assert_eq!(json_value("[1,", &limits).unwrap_err().code(), "bad_json");
    }
}
