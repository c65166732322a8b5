//! Running `ip`, `nft` and `sysctl`, inside a namespace or to manage namespaces.
//!
//! Every failure carries the command line and its stderr, since "RTNETLINK answers: File
//! exists" means nothing without the command that got it.

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use crate::Error;

/// Runs `argv` and returns its stdout; a non-zero exit is an [`Error::Command`].
pub(crate) fn run(argv: &[&str]) -> Result<String, Error> {
    run_with_stdin(argv, None)
}

/// Runs `ip -n NS COMMAND`, COMMAND split at whitespace (no `ip` argument here has any),
/// so calls read like the shell line they stand for.
pub(crate) fn ip(ns: &str, command: &str) -> Result<String, Error> {
    let argv: Vec<&str> = ["ip", "-n", ns]
        .into_iter()
        .chain(command.split_whitespace())
        .collect();
    run(&argv)
}

/// Loads an nft script into NS's ruleset in one transaction: all of it, or none of it.
pub(crate) fn nft(ns: &str, script: &str) -> Result<String, Error> {
    run_with_stdin(&["ip", "netns", "exec", ns, "nft", "-f", "-"], Some(script))
}

/// Sets sysctls (`key=value`) inside NS.
pub(crate) fn sysctl(ns: &str, settings: &[&str]) -> Result<String, Error> {
    let argv: Vec<&str> = ["ip", "netns", "exec", ns, "sysctl", "-qw"]
        .iter()
        .chain(settings)
        .copied()
        .collect();
    run(&argv)
}

/// Creates a namespace with `lo` up and the settings every host of the world shares.
pub(crate) fn add_namespace(ns: &str) -> Result<(), Error> {
    run(&["ip", "netns", "add", ns])?;
    ip(ns, "link set dev lo up")?;
    let mut settings = vec![
        // IPv4 only outside `lo` (which keeps ::1, so "localhost" still works either way):
        // the world models an IPv4 internet, and a link-local IPv6 address on every veth
        // would only add paths that go nowhere.
        "net.ipv6.conf.default.disable_ipv6=1",
        // When a laptop drops its old address, the new one (a secondary in the same
        // subnet) must stay; by default the kernel deletes secondaries with the primary.
        "net.ipv4.conf.default.promote_secondaries=1",
    ];
    // With br_netfilter in the kernel (built in here), bridged frames also pass the IP
    // firewall of the bridge's namespace: a router's `forward` policy drop would then
    // drop traffic between two laptops on the same LAN. A home switch does not filter.
    if Path::new("/proc/sys/net/bridge/bridge-nf-call-iptables").exists() {
        settings.push("net.bridge.bridge-nf-call-iptables=0");
    }
    sysctl(ns, &settings)?;
    Ok(())
}

/// Kills every process in NS (SIGKILL) and deletes it, which removes its interfaces too.
pub(crate) fn delete_namespace(ns: &str) -> Result<(), Error> {
    let pids = run(&["ip", "netns", "pids", ns])?;
    let pids: Vec<&str> = pids.split_whitespace().collect();
    if !pids.is_empty() {
        let argv: Vec<&str> = ["kill", "-KILL"].iter().chain(&pids).copied().collect();
        // A process may have exited between listing and killing; that is what we wanted.
        if let Err(err) = run(&argv) {
            let still_there = run(&["ip", "netns", "pids", ns])?;
            if !still_there.trim().is_empty() {
                return Err(err);
            }
        }
    }
    run(&["ip", "netns", "del", ns])?;
    Ok(())
}

/// Names of all namespaces on the machine.
pub(crate) fn list_namespaces() -> Result<Vec<String>, Error> {
    // Lines look like `pcsim-1-0-inet (id: 3)` or just `pcsim-1-0-inet`.
    Ok(run(&["ip", "netns", "list"])?
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

fn run_with_stdin(argv: &[&str], stdin: Option<&str>) -> Result<String, Error> {
    let command = argv.join(" ");
    let (program, args) = argv.split_first().ok_or_else(|| Error::Spawn {
        command: command.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
    })?;
    let spawn_error = |source| Error::Spawn {
        command: command.clone(),
        source,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Dropping the pipe at the end of this block closes it, which ends nft's input.
        pipe.write_all(text.as_bytes()).map_err(spawn_error)?;
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().map_err(spawn_error)?;
    if !status.success() {
        return Err(Error::Command {
            command,
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}
