//! `peercoach-test-relay --ip IP --cert-out PATH [--token TOKEN]`: a real iroh relay for
//! the simulated internet. See [`peercoach_netsim::relay`].

use std::process::ExitCode;

use clap::Parser;
use peercoach_netsim::relay::{RelayArgs, run_blocking};

fn main() -> ExitCode {
    let args = match RelayArgs::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => err.exit(), // --help, --version
        Err(err) => {
            // clap's message spans several lines; the harness wants one.
            let message: Vec<String> = err
                .to_string()
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(|line| line.trim().to_string())
                .collect();
            eprintln!("peercoach-test-relay: {}", message.join(" "));
            return ExitCode::FAILURE;
        }
    };
    match run_blocking(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("peercoach-test-relay: {err}");
            ExitCode::FAILURE
        }
    }
}
