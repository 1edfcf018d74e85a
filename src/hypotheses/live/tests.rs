use super::*;

#[test]
fn the_endpoint_is_found_from_a_base_url_or_given_whole() {
    let s = |url: &str| Server {
        url: url.into(),
        model: "m".into(),
        language: None,
        key: None,
    };
    assert_eq!(
        s("http://h:8080").endpoint(),
        "http://h:8080/v1/audio/transcriptions"
    );
    assert_eq!(
        s("http://h:8080/v1/").endpoint(),
        "http://h:8080/v1/audio/transcriptions"
    );
    assert_eq!(
        s("https://api.openai.com/v1/audio/transcriptions").endpoint(),
        "https://api.openai.com/v1/audio/transcriptions"
    );
}

#[test]
fn plain_text_answers_cover_the_chunk_and_times_are_shifted() {
    let segs = read_answer(r#"{"text":" 是四 "}"#, 600.0, 30.0).unwrap();
    assert_eq!(
        (segs[0].start_s, segs[0].end_s, segs[0].text.as_str()),
        (600.0, 630.0, "是四")
    );
    let verbose = r#"{"text":"a","segments":[{"id":0,"start":1.5,"end":2.0,"text":" 你好"}]}"#;
    let segs = read_answer(verbose, 600.0, 30.0).unwrap();
    assert_eq!((segs[0].start_s, segs[0].end_s), (601.5, 602.0));
    assert_eq!(
        read_answer("{\"segments\": [", 0.0, 1.0)
            .unwrap_err()
            .code(),
        "asr_bad_response"
    );
    assert_eq!(
        read_answer("{\"x\": 1}", 0.0, 1.0).unwrap_err().code(),
        "asr_bad_response"
    );
}
