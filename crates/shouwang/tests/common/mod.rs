//! The harness the binary's tests share: a sandboxed data dir and config,
//! runs of `shouwang`, and a running `shouwang up`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod http;

pub const BIN: &str = env!("CARGO_BIN_EXE_shouwang");
pub const STRONG: &str = "Kestrel-Lamp-2031";

/// The check ids of the findings in an inspection report (`site inspect
/// --json`).
pub fn checks_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["provenance"]["check"].as_str().unwrap().to_string())
        .collect()
}

/// A temporary home for one test: data dir and config file inside it.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let config = tmp.path().join("shouwang.toml");
        let s = Sandbox { tmp, data, config };
        s.write_config("# all defaults\n");
        s
    }

    pub fn remove_config(&self) {
        std::fs::remove_file(&self.config).unwrap();
    }

    /// A sandbox whose config makes the console bind a free port.
    pub fn with_random_port() -> Sandbox {
        let s = Sandbox::new();
        s.write_config("[console]\nlisten = \"127.0.0.1:0\"\n");
        s
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("HOME", self.tmp.path())
            .env("USER", "tester")
            .env_remove("SHOUWANG_DATA_DIR")
            .env_remove("SHOUWANG_CONFIG")
            .env_remove("SHOUWANG_ADMIN_PASSWORD")
            .env_remove("SHOUWANG_LOG_FORMAT")
            .env_remove("RUST_LOG");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).stdin(Stdio::null()).output().unwrap())
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let run = self.run(args);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{run}"))
    }

    /// Start `shouwang up`; the guard kills it if the test fails first.
    pub fn up(&self, admin_password: Option<&str>) -> Up {
        let mut cmd = self.command(&["up"]);
        if let Some(p) = admin_password {
            cmd.env("SHOUWANG_ADMIN_PASSWORD", p);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Up {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }
}

/// What a finished command left for the user to see.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A running `shouwang up`.
pub struct Up {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub stdout: Vec<String>,
    pub stderr: Arc<Mutex<String>>,
}

impl Up {
    /// Wait for the console address it prints.
    pub fn console_addr(&mut self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    let rest = line
                        .strip_prefix("console: http://")
                        .or_else(|| line.strip_prefix("console: https://"));
                    if let Some(rest) = rest {
                        return rest.trim_end_matches('/').parse().unwrap();
                    }
                }
                Err(_) => panic!(
                    "no console address from `shouwang up`\n--- stdout\n{}\n--- stderr\n{}",
                    self.stdout.join("\n"),
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit code, waiting at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited, not killed by a signal");
            }
            assert!(
                Instant::now() < deadline,
                "`shouwang up` did not exit within {limit:?}\n--- stderr\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
