//! `fangyan user list | passwd | disable | enable`: the instance admin's user management
//! (issue 17) from the command line, on the same data directory and database as `user add`,
//! through the same queries as the admin API (`crate::accounts::db`). Passwords only come
//! from standard input.

use anyhow::{Context, bail};

use super::admin::{UserCommand, open, password_from_stdin, runtime};
use crate::accounts::db as accounts;
use crate::app::AppState;

async fn user_id(state: &AppState, name: &str) -> anyhow::Result<i64> {
    Ok(accounts::credentials(&state.db, name)
        .await?
        .with_context(|| format!("no user named {name}"))?
        .id)
}

/// Disables (and ends the sessions of) or enables a user by name, printing the result.
async fn set_disabled(state: &AppState, name: &str, disabled: bool) -> anyhow::Result<()> {
    let id = user_id(state, name).await?;
    accounts::set_disabled(&state.db, id, disabled).await?;
    let ended = if disabled {
        accounts::end_sessions(&state.db, id, None).await?
    } else {
        0
    };
    println!(
        "{}",
        serde_json::json!({ "user": name, "disabled": disabled, "sessions_ended": ended })
    );
    Ok(())
}

/// Runs the user commands that are not `add`, `grant-admin` or `revoke-admin`.
pub fn run(cmd: UserCommand, db: Option<String>, store: Option<String>) -> anyhow::Result<bool> {
    // The password is read before the database is opened: a bad one changes nothing.
    let password = match &cmd {
        UserCommand::Passwd { .. } => Some(password_from_stdin()?),
        _ => None,
    };
    runtime()?.block_on(async {
        match cmd {
            UserCommand::List { data } => {
                let state = open(data.checked()?, &db, &store).await?;
                for u in accounts::list_users(&state.db).await? {
                    println!("{}", serde_json::to_string(&u)?);
                }
            }
            UserCommand::Passwd { name, data, .. } => {
                let state = open(data.checked()?, &db, &store).await?;
                let id = user_id(&state, &name).await?;
                let hash = crate::accounts::hash_password(password.as_deref().unwrap_or(""))?;
                accounts::set_password(&state.db, id, &hash).await?;
                let ended = accounts::end_sessions(&state.db, id, None).await?;
                println!(
                    "{}",
                    serde_json::json!({ "user": name, "password_changed": true, "sessions_ended": ended })
                );
            }
            UserCommand::Disable { name, data } => {
                let state = open(data.checked()?, &db, &store).await?;
                set_disabled(&state, &name, true).await?;
            }
            UserCommand::Enable { name, data } => {
                let state = open(data.checked()?, &db, &store).await?;
                set_disabled(&state, &name, false).await?;
            }
            _ => bail!("not a user management command"),
        }
        Ok(true)
    })
}
