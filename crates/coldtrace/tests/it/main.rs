//! Tests of the real `coldtrace` binary: the CLI commands, and the crash test (SIGKILL at random moments).

mod cli;
mod crash;
mod docking;
mod support;
