//! Shared fixtures for the end-to-end tests: running the real `peercoach` binary on a
//! temporary data dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_peercoach"))
}

/// One device: a data dir and a way to run the CLI on it.
pub struct Device {
    /// The temporary data dir (removed on drop).
    pub dir: tempfile::TempDir,
}

/// The result of one CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout trimmed.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "command failed: {}", self.stderr);
        self.stdout.trim().to_owned()
    }

    /// Asserts a clean failure: non-zero exit, one clear line on stderr, nothing on stdout.
    #[track_caller]
    pub fn fails(&self) -> String {
        assert_ne!(self.code, 0, "expected failure, got: {}", self.stdout);
        assert!(self.stdout.is_empty(), "nothing on stdout: {}", self.stdout);
        let line = self.stderr.lines().next().unwrap_or_default().to_owned();
        assert!(!line.is_empty(), "an error message");
        assert!(
            !self.stderr.contains("panicked"),
            "no panic: {}",
            self.stderr
        );
        line
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok()).expect("JSON on stdout")
    }
}

impl Device {
    /// A fresh, empty data dir.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The data dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `peercoach --data-dir DIR ARGS…` in loopback-only mode.
    pub fn run(&self, args: &[&str]) -> Run {
        let output: Output = Command::new(bin())
            .arg("--data-dir")
            .arg(self.path())
            .args(args)
            .env("PEERCOACH_LOOPBACK", "1")
            .env_remove("PEERCOACH_DATA_DIR")
            .output()
            .expect("run peercoach");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Creates a team with this device's member; returns the team id.
    pub fn init(&self, name: &str, team: &str) -> String {
        self.run(&["init", "--name", name, "--team", team]).ok()
    }

    /// Every file under the data dir with its bytes, to check that nothing was written.
    pub fn snapshot_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.path().to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .file_name()
                    .is_some_and(|n| n != "lock" && n != "control.sock")
                {
                    let bytes = std::fs::read(&path).expect("read");
                    out.push((path, bytes));
                }
            }
        }
        out.sort();
        out
    }
}
