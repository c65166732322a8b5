//! The `peercoach` binary: the desktop app with no arguments, the CLI with a subcommand.
//! All logic lives in the `peercoach-app` crate (`app/`); this file only hands over.

fn main() -> std::process::ExitCode {
    peercoach_app::main()
}
