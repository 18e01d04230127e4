//! Tests of the real `coldtrace` binary: the CLI commands, docking between the national platform and the
//! provinces, and the crash test (SIGKILL at random moments).

mod cli;
mod crash;
mod docking;
mod federation;
mod support;
