//! A cluster of replicas behind nginx from `scripts/cluster`, for the cluster test and the
//! load bench (which includes this file by path).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A cluster from `scripts/cluster`, stopped on drop.
pub struct Cluster {
    env: HashMap<String, String>,
}

impl Cluster {
    /// Starts `replicas` replicas of `bin` with job leases of `lease_ms`.
    pub fn start(replicas: u32, bin: &str, lease_ms: u32) -> Self {
        let out = Command::new(root().join("scripts/cluster"))
            .args(["start", &replicas.to_string()])
            .env("FANGYAN_BIN", bin)
            .env("FANGYAN_JOB_LEASE_MS", lease_ms.to_string())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "scripts/cluster start failed");
        let env = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self { env }
    }

    /// One of the exports `scripts/cluster start` printed.
    pub fn get(&self, key: &str) -> &str {
        &self.env[key]
    }

    /// The cluster's working directory.
    pub fn work(&self) -> PathBuf {
        PathBuf::from(self.get("CLUSTER_WORK"))
    }

    /// Replica `n`'s own address (1-based), bypassing nginx.
    pub fn replica(&self, n: u32) -> String {
        let port = std::fs::read_to_string(self.work().join(format!("replica{n}.port"))).unwrap();
        format!("http://127.0.0.1:{}", port.trim())
    }

    /// Replica `n`'s process id.
    pub fn pid(&self, n: u32) -> u32 {
        std::fs::read_to_string(self.work().join(format!("replica{n}.pid")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Runs `scripts/cluster ARGS` on this cluster (`kill N`, `restart N`).
    pub fn script(&self, args: &[&str]) {
        let ok = Command::new(root().join("scripts/cluster"))
            .args(args)
            .envs(&self.env)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "scripts/cluster {args:?} failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/cluster"))
            .arg("stop")
            .envs(&self.env)
            .status();
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
