//! Command-line arguments shared by the benchmarks (`cargo bench --bench NAME -- --flag V`).

/// The number after `name`, or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    arg_str(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The text after `name`, if given.
pub fn arg_str(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The `--database-url` argument: Postgres instead of the embedded SQLite file.
pub fn database_url() -> Option<String> {
    arg_str("--database-url")
}
