//! Every setting has an environment variable (issue 15), secrets never show their value in
//! `--help`, and the README's settings table is the command line's own: generated from
//! `Cli::command()` here, so it cannot drift. `FANGYAN_BLESS=1 cargo test --test suite settings::`
//! rewrites the table after a change to the command line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use clap::{Arg, ArgAction, Command, CommandFactory};
use fangyan::cli::Cli;

/// Arguments without an environment variable, each with the reason. Only positionals: what a
/// command acts on (the files, the user, the project) differs with every call, so a variable
/// would only ever apply to the wrong one; `help` and `version` are clap's own.
const WITHOUT_ENV: &[(&str, &str, &str)] = &[
    (
        "fangyan probe",
        "files",
        "the files to probe: a different list each call",
    ),
    (
        "fangyan ingest",
        "files",
        "the files to ingest: a different list each call",
    ),
    (
        "fangyan analyze",
        "file",
        "the file to analyse: a different one each call",
    ),
    (
        "fangyan import-asr",
        "files",
        "the ASR files to import: a different list each call",
    ),
    ("fangyan user add", "name", "the user to create"),
    ("fangyan user grant-admin", "name", "the user to promote"),
    ("fangyan user revoke-admin", "name", "the user to demote"),
    (
        "fangyan user passwd",
        "name",
        "the user whose password is set",
    ),
    ("fangyan user disable", "name", "the user to disable"),
    ("fangyan user enable", "name", "the user to enable again"),
    ("fangyan project create", "name", "the project to create"),
    (
        "fangyan project add-member",
        "project",
        "the project to add to",
    ),
    ("fangyan project add-member", "user", "the user to add"),
    (
        "fangyan project import",
        "project",
        "the project to import into",
    ),
    (
        "fangyan project import",
        "files",
        "the recordings to import: a different list each call",
    ),
    (
        "fangyan bench ingest-one",
        "file",
        "the benchmark's one recording: a different one each call",
    ),
];

/// Settings whose value is a secret: `--help` must not print it from the environment.
const SECRETS: &[&str] = &["database_url", "metrics_token"];

fn is_clap_own(arg: &Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

/// Visits every command with its full name and the arguments it takes (its own and the
/// globals of its ancestors).
fn walk<'c>(
    cmd: &'c Command,
    name: &str,
    inherited: &[&'c Arg],
    out: &mut Vec<(String, Vec<&'c Arg>)>,
) {
    let mut args: Vec<&Arg> = inherited.to_vec();
    for arg in cmd.get_arguments() {
        if !args.iter().any(|a| a.get_id() == arg.get_id()) {
            args.push(arg);
        }
    }
    let globals: Vec<&Arg> = args.iter().copied().filter(|a| a.is_global_set()).collect();
    out.push((name.to_string(), args));
    for sub in cmd.get_subcommands() {
        walk(sub, &format!("{name} {}", sub.get_name()), &globals, out);
    }
}

fn commands() -> Vec<(String, Vec<Arg>)> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    walk(&cmd, "fangyan", &[], &mut out);
    out.into_iter()
        .map(|(n, args)| (n, args.into_iter().cloned().collect()))
        .collect()
}

#[test]
fn every_flag_of_every_command_reads_a_unique_fangyan_variable() {
    let mut without = BTreeSet::new();
    let mut wrong = Vec::new();
    for (name, args) in commands() {
        let mut seen = BTreeMap::new();
        for arg in args.iter().filter(|a| !is_clap_own(a)) {
            let id = arg.get_id().as_str();
            match arg.get_env().map(|e| e.to_string_lossy().into_owned()) {
                None if arg.is_positional() => {
                    without.insert((name.clone(), id.to_string()));
                }
                None => wrong.push(format!("{name}: --{id} has no environment variable")),
                Some(env) => {
                    if !env.starts_with("FANGYAN_") {
                        wrong.push(format!("{name}: {env} does not start with FANGYAN_"));
                    }
                    if let Some(other) = seen.insert(env.clone(), id.to_string()) {
                        wrong.push(format!("{name}: {env} is read by both {other} and {id}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let excused: BTreeSet<_> = WITHOUT_ENV
        .iter()
        .map(|(c, a, _)| (c.to_string(), a.to_string()))
        .collect();
    assert_eq!(
        without, excused,
        "the positionals without a variable and the list of reasons differ"
    );
}

#[test]
fn secrets_hide_their_environment_values() {
    for (name, args) in commands() {
        for arg in &args {
            if SECRETS.contains(&arg.get_id().as_str()) {
                assert!(
                    arg.is_hide_env_values_set(),
                    "{name}: --{} would show its value in --help",
                    arg.get_id()
                );
            }
        }
    }
}

/// A cell's text: one line, no `|`.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn row(arg: &Arg) -> String {
    let flag = format!("`--{}`", arg.get_long().unwrap());
    let env = format!("`{}`", arg.get_env().unwrap().to_string_lossy());
    let takes_value = !matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    let defaults: Vec<_> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let default = if !takes_value {
        "off".to_string()
    } else if !defaults.is_empty() && !defaults.iter().all(String::is_empty) {
        format!("`{}`", defaults.join(","))
    } else if arg.is_required_set() {
        "required".to_string()
    } else {
        "none".to_string()
    };
    let mut meaning = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let values: Vec<_> = arg
        .get_possible_values()
        .iter()
        .filter(|_| takes_value)
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() && !meaning.contains(values[0].trim_matches('`')) {
        meaning.push_str(&format!(" One of {}.", values.join(", ")));
    }
    format!("| {flag} | {env} | {default} | {} |", cell(&meaning))
}

/// The settings table: the global options, then each visible command's own.
fn table() -> String {
    let head = "| flag | environment | default | meaning |\n|---|---|---|---|\n";
    let mut out = String::new();
    let shown = |a: &&Arg| !is_clap_own(a) && !a.is_positional() && !a.is_hide_set();
    let cmd = Cli::command();
    out.push_str("All commands:\n\n");
    out.push_str(head);
    for arg in cmd.get_arguments().filter(shown) {
        out.push_str(&row(arg));
        out.push('\n');
    }
    fn visit(cmd: &Command, name: &str, out: &mut String, head: &str) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{name} {}", sub.get_name());
            let own: Vec<&Arg> = sub
                .get_arguments()
                .filter(|a| {
                    !is_clap_own(a) && !a.is_positional() && !a.is_hide_set() && !a.is_global_set()
                })
                .collect();
            if !own.is_empty() {
                out.push_str(&format!("\n`{name}`:\n\n{head}"));
                for arg in own {
                    out.push_str(&row(arg));
                    out.push('\n');
                }
            }
            visit(sub, &name, out, head);
        }
    }
    visit(&cmd, "fangyan", &mut out, head);
    out
}

const BEGIN: &str =
    "<!-- settings: generated from the command line by tests/suite/settings.rs -->\n";
const END: &str = "<!-- end of settings -->";

#[test]
fn the_readme_settings_table_is_the_command_lines() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("README has the settings markers") + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README has the end marker");
    let expected = table();
    if readme[start..end] != expected {
        if std::env::var_os("FANGYAN_BLESS").is_some() {
            let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!(
            "README's settings table differs from the command line; \
             FANGYAN_BLESS=1 cargo test --test suite settings:: rewrites it. Expected:\n{expected}"
        );
    }
}
