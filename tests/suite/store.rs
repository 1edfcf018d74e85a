//! The object store (issue 15): uploads land under their content-addressed keys, media is
//! served from the store with Range, and a failed ingest leaves no object behind. The tests run
//! on whichever store the suite runs on: the data directory's folder, or S3 when
//! `FANGYAN_TEST_STORE_URL` is set (scripts/s3.sh), where the bucket is also read directly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::TestApp;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

/// Every key the app has stored, under the layout's folders.
async fn stored(app: &TestApp) -> Vec<String> {
    let mut keys = Vec::new();
    for dir in ["originals", "analysis", "meta", "tmp"] {
        keys.extend(app.state.store.list(dir).await.unwrap());
    }
    keys.sort();
    keys
}

/// When on S3: the keys under the app's prefix and the multipart uploads still open there,
/// read from the server itself (moto answers unsigned requests), not through our client.
async fn bucket(app: &TestApp) -> Option<(Vec<String>, usize)> {
    let url = app.state.config.store.clone()?;
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let http = reqwest::Client::new();
    let listing = http
        .get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut keys: Vec<String> = listing
        .split("<Key>")
        .skip(1)
        .map(|s| {
            let key = &s[..s.find("</Key>").unwrap()];
            key.strip_prefix(&format!("{prefix}/")).unwrap().to_string()
        })
        .collect();
    keys.sort();
    let uploads = http
        .get(format!("{endpoint}/{bucket}?uploads&prefix={prefix}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Some((keys, uploads.matches("<Upload>").count()))
}

#[tokio::test]
async fn an_upload_is_stored_under_its_content_key_and_its_media_served_with_range() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let fixture = common::fixture("real/zh-funasr-binhai-query.wav");
    let original = std::fs::read(&fixture).unwrap();
    let (s, body) = admin.upload(project, &fixture).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    let rec = body["recording"].as_i64().unwrap();
    let (_, r) = admin.get(&format!("/api/recordings/{rec}")).await;
    assert_eq!(r["status"], "ready", "{r}");
    let sha = hex::encode(Sha256::digest(&original));
    assert_eq!(r["sha256"], sha.as_str());

    let expected: Vec<String> = vec![
        format!("analysis/{sha}-16000.peaks"),
        format!("analysis/{sha}-16000.pitch-level"),
        format!("analysis/{sha}-16000.pitch.json"),
        format!("analysis/{sha}-16000.wav"),
        format!("meta/{sha}.json"),
        format!("originals/{sha}"),
    ];
    assert_eq!(
        stored(&app).await,
        expected,
        "the upload's tmp key is gone too"
    );
    let kept = fangyan::store::read_all(&app.state.store, &format!("originals/{sha}"))
        .await
        .unwrap();
    assert!(kept == original, "the original is stored byte for byte");
    if let Some((keys, uploads)) = bucket(&app).await {
        assert_eq!(keys, expected, "the bucket itself holds exactly these keys");
        assert_eq!(uploads, 0, "no multipart upload is left open");
    }

    // The analysis copy, ranged, equals those bytes of the stored object.
    let wav = fangyan::store::read_all(&app.state.store, &format!("analysis/{sha}-16000.wav"))
        .await
        .unwrap();
    let got = admin
        .http
        .get(format!("{}/api/recordings/{rec}/audio", app.base))
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        got.headers()["content-range"].to_str().unwrap(),
        format!("bytes 1000-1999/{}", wav.len())
    );
    assert_eq!(got.headers()["content-type"], "audio/wav");
    let part = got.bytes().await.unwrap();
    assert!(
        part[..] == wav[1000..2000],
        "the range is those bytes of the copy"
    );
    let whole = admin
        .http
        .get(format!("{}/api/recordings/{rec}/audio", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().len(), wav.len());
    let past = admin
        .http
        .get(format!("{}/api/recordings/{rec}/audio", app.base))
        .header("Range", format!("bytes={}-", wav.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Peaks (the pyramid and, zoomed in, the copy's samples) and the pitch track read from
    // the store too.
    let samples = r["samples"].as_i64().unwrap();
    let (s, peaks) = admin
        .get(&format!(
            "/api/recordings/{rec}/peaks?start=0&end={samples}&width=100"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{peaks}");
    assert_eq!(peaks["min"].as_array().unwrap().len(), 100);
    let (s, zoomed) = admin
        .get(&format!(
            "/api/recordings/{rec}/peaks?start=1000&end=1010&width=100"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{zoomed}");
    let direct: Vec<i64> = wav[44 + 2000..44 + 2020]
        .chunks_exact(2)
        .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect();
    let served: Vec<i64> = zoomed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(served, direct, "zoomed-in peaks are the copy's samples");
    let (s, pitch) = admin.get(&format!("/api/recordings/{rec}/pitch")).await;
    assert_eq!(s, StatusCode::OK, "{pitch}");
}

#[tokio::test]
async fn a_failed_ingest_leaves_no_object_behind() {
    // Eight minutes of MP3 at 44.1 kHz, then a minute at 22.05 kHz: the upload passes the
    // precheck, and the job fails when the rate changes, after more than one 5 MiB part of the
    // analysis copy has been written.
    let dir = common::scratch();
    let (a, b, both) = (
        dir.path().join("a.mp3"),
        dir.path().join("b.mp3"),
        dir.path().join("both.mp3"),
    );
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=220:sample_rate=44100:duration=480",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "64k",
        a.to_str().unwrap(),
    ]);
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:sample_rate=22050:duration=60",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "32k",
        b.to_str().unwrap(),
    ]);
    let mut bytes = std::fs::read(&a).unwrap();
    bytes.extend(std::fs::read(&b).unwrap());
    std::fs::write(&both, bytes).unwrap();

    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let (s, body) = admin.upload(project, &both).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    let rec = body["recording"].as_i64().unwrap();
    let (_, r) = admin.get(&format!("/api/recordings/{rec}")).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(stored(&app).await, Vec::<String>::new());
    if let Some((keys, uploads)) = bucket(&app).await {
        assert_eq!(keys, Vec::<String>::new(), "the bucket holds nothing of it");
        assert_eq!(uploads, 0, "every multipart upload was aborted");
    }
}
