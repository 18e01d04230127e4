//! Running the real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coldtrace"));
    c.env("RUST_LOG", "warn");
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
        let mut child = bin()
            .args([
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
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
