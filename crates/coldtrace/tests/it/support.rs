//! Running the real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coldtrace"));
    if std::env::var_os("RUST_LOG").is_none() {
        c.env("RUST_LOG", "warn");
    }
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A `coldtrace serve` process.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::start_with(&[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--role",
            "province",
            "--province",
            "12",
        ])
    }

    /// Starts the binary with these arguments and waits until it listens.
    pub fn start_with(args: &[&str]) -> Server {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            // COLDTRACE_TEST_LOG=1 shows the servers' logs when a test needs explaining.
            .stderr(if std::env::var_os("COLDTRACE_TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            if let Some(addr) = line.strip_prefix("coldtrace listening on ") {
                break addr.trim().to_string();
            }
        };
        Server { child, base }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn key(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["key", "--data", data.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).trim().to_string()
}
