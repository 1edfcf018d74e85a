//! Server-side commands: `serve`, `demo`, and the admin CLI that works on the same data
//! directory (`user add`, `user grant-admin`, `user list`, `user passwd`, `user disable` /
//! `enable` (in [`super::users`]), `project create`, `project add-member`, `project import`),
//! for scripting and for first setup without a browser. The command line is
//! the only way to make an instance admin: whoever runs it already owns the data directory.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::app::{AppState, Config};
use crate::hypotheses::outbound::AllowList;
use crate::projects::{Creators, Role};

/// The instance's trust settings, shared by `serve` and `demo` (README, "Trust model").
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Who may create projects: `admins` (instance admins only) or `everyone`.
    #[arg(
        long,
        env = "FANGYAN_PROJECT_CREATORS",
        value_enum,
        default_value = "admins"
    )]
    project_creators: Creators,
    /// Internal hosts that live ASR may call anyway, comma-separated `host[:port]` or
    /// `*.domain[:port]` (e.g. `asr.internal:9000,*.example.org`). Public hosts need no entry;
    /// loopback, private and link-local addresses are refused unless listed.
    #[arg(long, env = "FANGYAN_ASR_ALLOW", default_value = "")]
    asr_allow: AllowList,
    /// A bearer token that opens /metrics from anywhere; without it only direct loopback peers
    /// may read /metrics.
    #[arg(long, env = "FANGYAN_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
}

impl TrustArgs {
    /// The server settings for a data directory with these trust settings.
    pub fn config(self, data: impl Into<PathBuf>) -> Config {
        let mut config = Config::new(data);
        config.project_creators = self.project_creators;
        config.asr.allow = self.asr_allow;
        config.metrics_token = self.metrics_token;
        config
    }
}

/// The data directory of `serve` and the admin commands, which refuse to create one unless
/// `--init` is given: a mistyped path, or the wrong working folder under the default
/// `fangyan-data`, would otherwise start an empty instance that looks like lost data.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Data directory (database and audio store).
    #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-data")]
    data: PathBuf,
    /// Create the data directory when it does not exist (without it, a missing directory is an
    /// error).
    #[arg(long, env = "FANGYAN_INIT")]
    init: bool,
}

impl DataDir {
    /// The directory, when it exists or `--init` allows creating it.
    pub fn checked(self) -> anyhow::Result<PathBuf> {
        if !self.init {
            existing(&self.data, ", or add --init to create a new one there")?;
        }
        Ok(self.data)
    }
}

/// Refuses a data directory that does not exist, naming where it was looked for; `hint`
/// ends the sentence (", or …" or " (…)").
pub fn existing(data: &std::path::Path, hint: &str) -> anyhow::Result<()> {
    if data.is_dir() {
        return Ok(());
    }
    let shown = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    bail!(
        "there is no data directory at {}; pass --data with the directory of an existing \
         instance{hint}",
        shown.display()
    )
}

/// `fangyan user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        /// User name.
        name: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, env = "FANGYAN_PASSWORD_STDIN", required = true)]
        password_stdin: bool,
        /// Make the user an instance admin (may create projects when only admins may).
        #[arg(long, env = "FANGYAN_ADMIN")]
        admin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Make an existing user an instance admin.
    GrantAdmin {
        /// User name.
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Make an instance admin an ordinary user again (project roles stay as they are).
    RevokeAdmin {
        /// User name.
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// List users as JSON lines (id, name, admin, disabled, created, last login, projects).
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Set a user's password, read from standard input; their sessions end.
    Passwd {
        /// User name.
        name: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, env = "FANGYAN_PASSWORD_STDIN", required = true)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Disable a user: no login, their sessions end, their tokens are refused.
    Disable {
        /// User name.
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Enable a disabled user again.
    Enable {
        /// User name.
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
}

/// `fangyan db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the embedded database of a data directory into an empty Postgres database (ids,
    /// sequences and every table; the audio store stays where it is).
    Copy {
        /// Data directory whose fangyan.sqlite is copied.
        #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-data")]
        data: PathBuf,
        /// The target, postgres://user@host:port/name; it must hold no rows yet.
        #[arg(long, env = "FANGYAN_TO")]
        to: String,
    },
}

/// `fangyan db copy`: prints the rows copied per table as one JSON line.
pub fn db(cmd: DbCommand) -> anyhow::Result<bool> {
    let DbCommand::Copy { data, to } = cmd;
    let file = data.join("fangyan.sqlite");
    if !file.is_file() {
        bail!("{} has no database to copy", data.display());
    }
    runtime()?.block_on(async {
        let from = crate::db::connect(None, &file).await?;
        let target = crate::db::connect(Some(&to), &file).await?;
        let copied = crate::db::copy::copy(&from, &target).await?;
        let tables: serde_json::Map<_, _> = copied
            .tables
            .into_iter()
            .map(|(t, n)| (t, serde_json::json!(n)))
            .collect();
        println!("{}", serde_json::json!({ "copied": tables }));
        Ok(true)
    })
}

/// `fangyan project …`
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        /// Project name.
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Add a member with a role (admin, transcriber, reviewer).
    AddMember {
        /// Project name.
        project: String,
        /// User name.
        user: String,
        /// Role.
        #[arg(long, env = "FANGYAN_ROLE", value_parser = ["admin", "transcriber", "reviewer"])]
        role: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Import recordings with the same job code as an upload.
    Import {
        /// Project name.
        project: String,
        /// Audio files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
}

/// How many tasks a runtime worker runs from its own queue before it looks at the runtime's
/// shared queue (tokio's default is 61).
///
/// Every answer of the embedded database comes from outside the runtime (sqlx's SQLite
/// connections run on threads of their own), as do the ends of blocking and heavy-work jobs:
/// the tasks they wake wait in the shared queue. Among them is the task that holds the one
/// writer (`crate::db`) between two of its statements, and every save queues behind it. With
/// 1 000 transcribers on SQLite (`cargo bench --bench load -- --users 1000 --seconds 20`), the
/// default gave p50 0.2–1.0 s and p99 2.2–2.3 s in 3 runs out of 3; at 4, p50 7–41 ms in 6 runs
/// of 7 (the other fell into the same congested state, p50 845 ms), p99 90 ms to 1.9 s (median
/// 977 ms), and up to 20 % more saves answered.
const SHARED_QUEUE_EVERY: u32 = 4;

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .global_queue_interval(SHARED_QUEUE_EVERY)
        .enable_all()
        .build()?)
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    Ok(match role {
        "admin" => Role::Admin,
        "transcriber" => Role::Transcriber,
        "reviewer" => Role::Reviewer,
        other => bail!("unknown role {other}"),
    })
}

/// `fangyan serve`.
pub fn serve(addr: SocketAddr, config: Config) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let state = AppState::open(config).await?;
        println!("fangyan listening on http://{addr}");
        crate::app::serve(addr, state).await?;
        Ok(true)
    })
}

/// `fangyan user …`.
pub fn user(cmd: UserCommand, db: Option<String>, store: Option<String>) -> anyhow::Result<bool> {
    let (name, data, admin) = match cmd {
        UserCommand::Add {
            name, data, admin, ..
        } => return add_user(name, data.checked()?, admin, db, store),
        UserCommand::GrantAdmin { name, data } => (name, data.checked()?, true),
        UserCommand::RevokeAdmin { name, data } => (name, data.checked()?, false),
        other => return super::users::run(other, db, store),
    };
    runtime()?.block_on(async {
        let state = open(data, &db, &store).await?;
        if !crate::accounts::db::set_instance_admin(&state.db, &name, admin).await? {
            bail!("no user named {name}");
        }
        println!("{}", serde_json::json!({ "user": name, "is_admin": admin }));
        Ok(true)
    })
}

/// A password from standard input (one line; the line break is not part of it), at least 8
/// characters.
pub(super) fn password_from_stdin() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.chars().count() < crate::accounts::admin::MIN_PASSWORD {
        bail!("the password needs at least 8 characters");
    }
    Ok(password)
}

/// `fangyan user add`.
fn add_user(
    name: String,
    data: PathBuf,
    admin: bool,
    db: Option<String>,
    store: Option<String>,
) -> anyhow::Result<bool> {
    let password = password_from_stdin()?;
    runtime()?.block_on(async {
        let state = open(data, &db, &store).await?;
        let hash = crate::accounts::hash_password(&password)?;
        let id = crate::accounts::db::create_user(&state.db, &name, &hash)
            .await
            .context("creating the user")?;
        crate::accounts::db::set_instance_admin(&state.db, &name, admin).await?;
        println!(
            "{}",
            serde_json::json!({ "user": name, "id": id, "is_admin": admin })
        );
        Ok(true)
    })
}

/// `fangyan project …`.
pub fn project(
    cmd: ProjectCommand,
    db: Option<String>,
    store: Option<String>,
) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        match cmd {
            ProjectCommand::Create { name, data } => {
                let data = data.checked()?;
                let state = open(data, &db, &store).await?;
                let id = crate::projects::db::create(&state.db, &name)
                    .await
                    .context("creating the project")?;
                println!("{}", serde_json::json!({ "project": name, "id": id }));
                Ok(true)
            }
            ProjectCommand::AddMember {
                project,
                user,
                role,
                data,
            } => {
                let data = data.checked()?;
                let state = open(data, &db, &store).await?;
                let pid = project_id(&state, &project).await?;
                let (uid, _) = crate::accounts::db::user_by_name(&state.db, &user)
                    .await?
                    .with_context(|| format!("no user named {user}"))?;
                crate::projects::db::add_member(&state.db, pid, uid, parse_role(&role)?).await?;
                println!(
                    "{}",
                    serde_json::json!({ "project": project, "user": user, "role": role })
                );
                Ok(true)
            }
            ProjectCommand::Import {
                project,
                files,
                data,
            } => {
                let data = data.checked()?;
                let state = open(data, &db, &store).await?;
                let pid = project_id(&state, &project).await?;
                import(&state, pid, &files).await
            }
        }
    })
}

async fn project_id(state: &AppState, name: &str) -> anyhow::Result<i64> {
    crate::projects::db::id_by_name(&state.db, name)
        .await?
        .with_context(|| format!("no project named {name}"))
}

/// Imports files into a project through the upload job, prints one line per file.
pub async fn import(state: &AppState, project: i64, files: &[PathBuf]) -> anyhow::Result<bool> {
    let mut ok = true;
    for file in files {
        let (recording, job) = crate::recordings::import_file(state, project, file).await?;
        state.jobs.drain().await;
        let r = crate::recordings::db::get(&state.db, recording).await?;
        ok &= r.status == "ready";
        println!(
            "{}",
            serde_json::json!({ "file": file.display().to_string(), "recording": recording, "job": job,
                                "status": r.status, "error_code": r.error_code })
        );
    }
    Ok(ok)
}

/// The data of an admin command: the data directory on its database and store.
pub(super) async fn open(
    data: impl Into<std::path::PathBuf>,
    db: &Option<String>,
    store: &Option<String>,
) -> anyhow::Result<AppState> {
    AppState::open(
        Config::new(data)
            .with_database(db.clone())
            .with_store(store.clone()),
    )
    .await
}
