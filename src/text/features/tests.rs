#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn default_schema_is_valid_and_complete() {
    let s: TagSchema = serde_json::from_str(DEFAULT_SCHEMA_JSON).unwrap();
    validate(&s).unwrap();
    assert_eq!(s.features.len(), 28, "every code of DIALECT.md §2");
    let variety = s.segment_fields.iter().find(|f| f.id == "variety").unwrap();
    let kespeech: Vec<_> = variety
        .values
        .iter()
        .filter_map(|v| v.kespeech.as_deref())
        .collect();
    assert_eq!(kespeech.len(), 9, "8 subgroups + Mandarin");
    for label in [
        "Beijing",
        "Ji-Lu",
        "Jiang-Huai",
        "Jiao-Liao",
        "Lan-Yin",
        "Northeastern",
        "Southwestern",
        "Zhongyuan",
        "Mandarin",
    ] {
        assert!(kespeech.contains(&label), "{label}");
    }
    let mode = s.segment_fields.iter().find(|f| f.id == "mode").unwrap();
    let ids: Vec<_> = mode.values.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        ["putonghua", "accented_putonghua", "dialect", "code_mixed"]
    );
    assert!(
        s.features
            .iter()
            .all(|f| !f.label_en.is_empty() && !f.label_zh.is_empty() && !f.examples.is_empty())
    );
}

#[test]
fn reanchors_by_diff() {
    // insertion before the span shifts it
    let a = reanchor("我是广西人", "嗯我是广西人", 1, 2);
    assert_eq!(
        (a.start, a.end, a.chars.as_str(), a.needs_review),
        (2, 3, "是", false)
    );
    // a deletion inside the span shrinks it and flags it
    let a = reanchor("他说牛奶很好", "他说奶很好", 2, 4);
    assert_eq!(
        (a.start, a.end, a.chars.as_str(), a.needs_review),
        (2, 3, "奶", true)
    );
    // all gone: flagged, kept in range
    let a = reanchor("我是广西人", "我广西人", 1, 2);
    assert_eq!(
        (a.start, a.end, a.chars.as_str(), a.needs_review),
        (1, 2, "是", true)
    );
}

#[test]
fn plan_finds_renames_and_removals() {
    let old = default_schema();
    let mut new = old.clone();
    new.features[0].renamed_from = Some(new.features[0].code.clone());
    new.features[0].code = "INIT_FLAT".into();
    new.features.remove(1);
    let mode = new
        .segment_fields
        .iter_mut()
        .find(|f| f.id == "mode")
        .unwrap();
    mode.values[0].renamed_from = Some("putonghua".into());
    mode.values[0].id = "standard".into();
    mode.values.pop();
    let m = plan(&old, &new);
    assert_eq!(
        m.feature_renames,
        [("INIT_RETRO_TO_DENTAL".to_string(), "INIT_FLAT".to_string())]
    );
    assert_eq!(m.removed_features, ["INIT_DENTAL_TO_RETRO"]);
    assert_eq!(
        m.value_renames,
        [("mode".into(), "putonghua".into(), "standard".into())]
    );
    assert_eq!(m.removed_values, [("mode".into(), "code_mixed".into())]);
}

#[test]
fn validation_refuses_duplicates_and_bad_codes() {
    let mut s = default_schema();
    s.features[1].code = s.features[0].code.clone();
    assert_eq!(validate(&s).unwrap_err().code, "duplicate_id");
    let mut s = default_schema();
    s.features[0].code = "lower".into();
    assert_eq!(validate(&s).unwrap_err().code, "invalid_feature_code");
}
