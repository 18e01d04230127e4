//! Fuzz and property targets for the domain's parsers of outside input: submission drafts as JSON (`drafts`),
//! trace codes, identifiers, quantities and event times (`codes`), and docking messages (`docking`).
//!
//! Each target runs `COLDTRACE_FUZZ_CASES` generated inputs (256 by default, a few seconds in a debug build).
//! Run longer with
//!
//! ```sh
//! COLDTRACE_FUZZ_CASES=100000 cargo test -p coldtrace-domain --test fuzz
//! ```
//!
//! A failing input is shrunk and its seed saved under `tests/proptest-regressions/`, which is committed so that
//! every later run tries it first.

mod codes;
mod docking;
mod drafts;
mod generate;

use std::fmt::Debug;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// Generated inputs per target: `COLDTRACE_FUZZ_CASES`, 256 when unset.
pub fn cases() -> u32 {
    std::env::var("COLDTRACE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Runs `test` on `cases()` inputs of `strategy`; a failure (or a panic) is shrunk and reported with its input.
/// `source` is the calling file (`file!()`), where failing seeds are persisted.
pub fn fuzz<S>(source: &'static str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        source_file: Some(source),
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}
