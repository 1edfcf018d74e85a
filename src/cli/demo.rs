//! `fangyan demo`: a data directory with one user per role and a project of real recordings
//! that shows the whole job, then the server. On the first run the project is set up the way a
//! team would, through the server's own API once it listens: ASR output imported by the
//! ordinary ASR import, a speaker with metadata, and one segment worked through (corrected,
//! an accent feature tagged on the character that carries it, submitted and approved), so the
//! dashboard has a CER from the start. The other recording's ASR is wrong in a way a dialect
//! feature explains (滨海新区 heard as 星区: the front and back nasals merged), and is the
//! transcriber's first claim.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::admin::{TrustArgs, import, runtime};
use crate::app::AppState;
use crate::projects::Role;

/// Demo recordings bundled into the binary (Apache-2.0 and MIT; see fixtures/real/README.md).
const DEMO_FILES: [(&str, &[u8]); 2] = [
    (
        "zh-funasr-binhai-query.wav",
        include_bytes!("../../fixtures/real/zh-funasr-binhai-query.wav"),
    ),
    (
        "zh-aishell1-BAC009S0724W0121.wav",
        include_bytes!("../../fixtures/real/zh-aishell1-BAC009S0724W0121.wav"),
    ),
];

/// What an ASR engine heard on each recording, as SubRip, the way an engine writes it: an
/// accented speaker's 新 (xīn) came out as 星 (xīng), and 市 (shì) as 四 (sì).
const DEMO_ASR: [(&str, &str); 2] = [
    (
        "zh-funasr-binhai-query.wav",
        "1\n00:00:00,770 --> 00:00:05,980\n我想问我在滨海星区有房\n",
    ),
    (
        "zh-aishell1-BAC009S0724W0121.wav",
        "1\n00:00:00,150 --> 00:00:04,200\n广州四房地产中介协会分析\n",
    ),
];

/// The worked segment: the reviewed text and the feature that explains the ASR's error.
const WORKED: (&str, &str, i64, &str, &str) = (
    "zh-aishell1-BAC009S0724W0121.wav",
    "广州市房地产中介协会分析",
    2,
    "INIT_RETRO_TO_DENTAL",
    "si4",
);

/// The demo project's guidelines: what to try first, then the rules a team would write.
const GUIDELINES: &str = "# 先试这个 / Try this first

1. 以 transcriber 登录，按“认领下一段”：ASR 写成了“滨海星区”，说话人说的是“新区”（前后鼻音不分，FINAL_N_NG_MERGER）。改正文字，看差异和 CER。
2. 选中“新”字，按 Alt+F 标注口音特征，再提交（Ctrl+Enter）。
3. 以 reviewer 登录，在审核队列里对照 ASR、转写和差异，通过或驳回并留言。
4. 以 admin 登录，打开仪表盘：错误率、吞吐量和每位转写员的质量。

Log in as transcriber and claim the next segment: the ASR heard 星区 where the speaker said 新区 (the front and back nasals merged). Correct it, tag the feature on 新, submit; then review it as reviewer and open the dashboard as admin.

# 转写规范

- 照实转写说话人说的字，不改成书面语；听不清的写 [unk]。
- 笑声、噪声用 [laughter]、[noise] 标记。
- 口音特征标在承载它的字上，写出实际读音（拼音加声调数字）。";

/// The demo's users: name, password, role.
pub const USERS: [(&str, &str, Role); 3] = [
    ("admin", "admin-demo", Role::Admin),
    ("transcriber", "transcriber-demo", Role::Transcriber),
    ("reviewer", "reviewer-demo", Role::Reviewer),
];

/// `fangyan demo`. The demo's `admin` is also an instance admin, so it may create projects
/// and manage users.
pub fn demo(
    addr: SocketAddr,
    data: PathBuf,
    trust: TrustArgs,
    db: Option<String>,
    store: Option<String>,
) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let state = AppState::open(trust.config(&data).with_database(db).with_store(store)).await?;
        let (project, fresh) = match crate::projects::db::id_by_name(&state.db, "demo").await? {
            Some(id) => (id, false),
            None => {
                let id = crate::projects::db::create(&state.db, "demo").await?;
                for (name, password, role) in USERS {
                    let hash = crate::accounts::hash_password(password)?;
                    let uid = crate::accounts::db::create_user(&state.db, name, &hash).await?;
                    crate::projects::db::add_member(&state.db, id, uid, role).await?;
                }
                let dir = data.join("demo-audio");
                std::fs::create_dir_all(&dir)?;
                let mut paths = Vec::new();
                for (name, bytes) in DEMO_FILES {
                    let p = dir.join(name);
                    std::fs::write(&p, bytes)?;
                    paths.push(p);
                }
                import(&state, id, &paths).await?;
                (id, true)
            }
        };
        crate::accounts::db::set_instance_admin(&state.db, "admin", true).await?;
        let mut server = tokio::spawn(crate::app::serve(addr, state));
        if fresh {
            // The server's own address on loopback, whatever interface it listens on.
            let base = format!("http://127.0.0.1:{}", addr.port());
            tokio::select! {
                // Stopped (SIGTERM) before the setup was done: a clean stop all the same.
                stopped = &mut server => {
                    stopped??;
                    return Ok(true);
                }
                done = setup(&base, project) => if let Err(e) = done {
                    // A stop during the setup refuses its requests: the server's own end then
                    // says whether it was one.
                    match tokio::time::timeout(Duration::from_secs(30), &mut server).await {
                        Ok(stopped) => {
                            stopped??;
                            return Ok(true);
                        }
                        Err(_) => return Err(e.context("setting up the demo project")),
                    }
                },
            }
        }
        println!("fangyan demo: project `demo` (id {project}) at http://{addr}");
        for (name, password, role) in USERS {
            println!("  login {name} / {password}  ({})", role.as_str());
        }
        println!(
            "  try first: log in as transcriber, open the project and press \"Next segment\": \
             the ASR heard 星区 where the speaker said 新区"
        );
        server.await??;
        Ok(true)
    })
}

/// A logged-in HTTP client of the demo server (the session cookie, and this server's origin
/// on every request, as a browser sends it).
struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn login(base: &str, name: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, base.parse()?);
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .build()?;
        let password = USERS
            .iter()
            .find(|u| u.0 == name)
            .map(|u| u.1)
            .unwrap_or_default();
        let s = Self {
            http,
            base: base.to_string(),
        };
        s.send(
            reqwest::Method::POST,
            "/api/login",
            Some(json!({ "name": name, "password": password })),
        )
        .await?;
        Ok(s)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(path, req.send().await?).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

async fn answer(path: &str, res: reqwest::Response) -> anyhow::Result<Value> {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

/// Waits for the server to listen (it was just spawned).
async fn listening(base: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the demo server did not start at {base}")
}

/// The first run's setup, as a team would do it through the API.
async fn setup(base: &str, project: i64) -> anyhow::Result<()> {
    listening(base).await?;
    let admin = Session::login(base, "admin").await?;
    let recordings = admin
        .get(&format!("/api/projects/{project}/recordings"))
        .await?;
    let id_of = |name: &str| {
        recordings["recordings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_i64())
            .with_context(|| format!("no demo recording {name}"))
    };
    // ASR output in, through the ordinary import.
    for (name, srt) in DEMO_ASR {
        let part = reqwest::multipart::Part::bytes(srt.as_bytes().to_vec())
            .file_name(name.replace(".wav", ".srt"));
        let form = reqwest::multipart::Form::new()
            .text("model", "demo-asr")
            .part("file", part);
        let path = format!("/api/recordings/{}/asr", id_of(name)?);
        let res = admin
            .http
            .post(format!("{base}{path}"))
            .multipart(form)
            .send()
            .await?;
        answer(&path, res).await?;
    }
    admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/projects/{project}/guidelines"),
            Some(json!({ "base_version": 0, "body": GUIDELINES })),
        )
        .await?;
    // A speaker with the metadata a linguist filters by.
    let speaker = admin
        .post(
            &format!("/api/projects/{project}/speakers"),
            json!({ "code": "GX-LZ-F01" }),
        )
        .await?;
    let speaker = speaker["id"].as_i64().context("speaker id")?;
    admin
        .send(
            reqwest::Method::PATCH,
            &format!("/api/speakers/{speaker}"),
            Some(json!({
                "gender": "f", "age_band": "30-39", "birthplace_province": "广西",
                "birthplace_city": "柳州", "self_reported_accent": "柳州口音普通话",
                "native_variety": "西南官话·桂柳片",
            })),
        )
        .await?;
    // One segment worked through: corrected, tagged, submitted, approved.
    let (name, text, char_start, feature, realised) = WORKED;
    let segs = admin
        .get(&format!("/api/recordings/{}/segments", id_of(name)?))
        .await?;
    let seg = &segs["segments"][0];
    let id = seg["id"]
        .as_i64()
        .context("no segment from the ASR import")?;
    let saved = admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/segments/{id}"),
            Some(json!({
                "version": seg["version"], "save_id": "demo-worked-example",
                "text_verbatim": text, "speaker_id": speaker,
            })),
        )
        .await?;
    admin
        .post(
            &format!("/api/segments/{id}/spans"),
            json!({ "char_start": char_start, "char_end": char_start + 1,
                    "feature": feature, "realised": realised,
                    "note": "市 said with a dental s: the ASR wrote 四" }),
        )
        .await?;
    let saved = admin
        .get(&format!("/api/segments/{id}"))
        .await
        .unwrap_or(saved);
    admin
        .post(
            &format!("/api/segments/{id}/submit"),
            json!({ "version": saved["version"] }),
        )
        .await?;
    let reviewer = Session::login(base, "reviewer").await?;
    reviewer
        .post(
            &format!("/api/segments/{id}/review"),
            json!({ "verdict": "approved", "comment": "市 tagged: retroflex said as dental" }),
        )
        .await?;
    Ok(())
}
