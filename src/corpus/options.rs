//! What an export is asked for: the layouts, the text layer, the marker mapping, the rate and
//! the splits ([`ExportOptions`]), with their checks and their schemas in the API document.

use serde::{Deserialize, Serialize};

/// Every layout the exporter writes, by folder name.
pub const LAYOUTS: [&str; 11] = [
    "kaldi", "lhotse", "nemo", "hf", "cv", "textgrid", "eaf", "vtt", "srt", "nist", "audacity",
];

/// Which text column becomes the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextLayer {
    /// `text_verbatim`, as heard, markers included.
    #[default]
    Verbatim,
    /// `text_display`, punctuated.
    Display,
    /// `text_norm`, the scoring form.
    Normalised,
}

/// How `[marker]`s in the text are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkerMap {
    /// As stored: `[laughter]`.
    #[default]
    Keep,
    /// Kaldi/WeNet style: `[laughter]` → `<LAUGHTER>`.
    Angle,
    /// Upper case in brackets (RAMC style): `[LAUGHTER]`.
    Upper,
    /// Removed.
    Drop,
}

/// Options of one export. The document states what [`ExportOptions::validate`] checks.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ExportOptions {
    /// Layout folders to write (subset of [`LAYOUTS`]); empty = all.
    #[schema(schema_with = layouts_schema)]
    pub layouts: Vec<String>,
    /// Transcript column.
    pub text_layer: TextLayer,
    /// Marker mapping for every layout.
    pub markers: MarkerMap,
    /// Keep segments with an `[unk]` (unintelligible) marker; dropped by default.
    pub keep_unintelligible: bool,
    /// Clip sample rate in Hz, 8000 to 48000.
    #[schema(minimum = 8000, maximum = 48000)]
    pub rate: u32,
    /// Ratios of train, dev and test (normalised to their sum): non-negative, one above 0.
    #[schema(schema_with = splits_schema)]
    pub splits: [f64; 3],
    /// Seed of the speaker shuffle.
    pub seed: u64,
    /// Balance the splits within each variety.
    pub stratify_by_variety: bool,
    /// Common Voice `locale` column.
    pub locale: String,
    /// Corpus name (file prefix of the Lhotse manifests).
    pub corpus: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            layouts: Vec::new(),
            text_layer: TextLayer::Verbatim,
            markers: MarkerMap::Keep,
            keep_unintelligible: false,
            rate: 16_000,
            splits: [0.8, 0.1, 0.1],
            seed: 0,
            stratify_by_variety: false,
            locale: "zh-CN".into(),
            corpus: "fangyan".into(),
        }
    }
}

/// `layouts` in the document: items from [`LAYOUTS`].
fn layouts_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(LAYOUTS)),
        )
        .build()
}

/// `splits` in the document: three numbers, none negative, and (the `anyOf`) the first, second
/// or third above 0.
fn splits_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    let ratio = || ObjectBuilder::new().schema_type(Type::Number);
    let positive_at = |i: usize| {
        ArrayBuilder::new().prefix_items(
            (0..=i).map(|j| ratio().exclusive_minimum((j == i).then_some(0.0)).build()),
        )
    };
    AllOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .items(ratio().minimum(Some(0.0)))
                .min_items(Some(3))
                .max_items(Some(3)),
        )
        .item((0..3).fold(AnyOfBuilder::new(), |any, i| any.item(positive_at(i))))
        .build()
        .into()
}

impl ExportOptions {
    /// Whether `layout` is written.
    pub fn wants(&self, layout: &str) -> bool {
        self.layouts.is_empty() || self.layouts.iter().any(|l| l == layout)
    }

    /// Checks the options; the error is a human sentence.
    pub fn validate(&self) -> Result<(), String> {
        if !(8_000..=48_000).contains(&self.rate) {
            return Err(format!("rate {} is outside 8000..48000 Hz", self.rate));
        }
        if self.splits.iter().any(|r| !r.is_finite() || *r < 0.0)
            || self.splits.iter().sum::<f64>() <= 0.0
        {
            return Err("split ratios must be non-negative with a positive sum".into());
        }
        if let Some(l) = self.layouts.iter().find(|l| !LAYOUTS.contains(&l.as_str())) {
            return Err(format!("unknown layout {l}; known: {}", LAYOUTS.join(", ")));
        }
        Ok(())
    }
}
