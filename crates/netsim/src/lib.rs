//! A simulated internet in Linux network namespaces, for peercoach's network tests and
//! benchmarks (docs/design.md §6).
//!
//! Real laptops meet through NAT routers and a relay; loopback has neither. This crate
//! builds that situation out of network namespaces, so a test can run real `peercoach
//! serve` processes "in two homes behind NAT, relay on the internet" and watch iroh
//! relay, hole-punch, or fail to, as it would out there.
//!
//! # The world
//!
//! ```text
//!                    inet: bridge `br`, 198.18.0.0/24 ("the internet")
//!        ┌──────────────────────┬──────────────────────────┬──────────────── …
//!   relay host             router 1                   router 2
//!   198.18.0.2             wan 198.18.0.11            wan 198.18.0.12
//!   iroh relay             NAT (Easy or Strict)       NAT
//!   :80 :443 :7842         bridge `lan` 198.19.1.1    bridge `lan` 198.19.2.1
//!                            │             │               │
//!                        laptop 0      laptop 1        laptop 0
//!                        198.19.1.10   198.19.1.11     198.19.2.10
//! ```
//!
//! - Every box is a namespace named `pcsim-<pid>-<k>-…`; every line is a veth pair whose
//!   ends are created directly in the two namespaces, so nothing touches the host's own
//!   interfaces or namespace.
//! - 198.18.0.0/15 is reserved for benchmarking networks; here it exists only inside these
//!   namespaces. There is no default route on the internet side: a packet for any other
//!   address has nowhere to go, and nothing ever reaches n0's relays or DNS.
//! - A router masquerades LAN traffic out of `wan` and drops everything unsolicited
//!   coming in, as a home router does. Nobody outside has a route to a LAN, exactly like a
//!   private network. Laptops in one home share the LAN bridge, so mDNS works between
//!   them and cannot leave the home.
//! - [`Nat::Easy`] keeps source ports (hole punching works), [`Nat::Strict`] picks a new
//!   random port per destination (it cannot). [`Nat::Carrier`] is carrier-grade NAT: the
//!   home's (easy) router has its WAN on 100.64.n.0/24 behind a carrier namespace that
//!   holds the public address 198.18.0.(10+n) and is strict.
//! - IPv4 only: besides `lo` (which keeps `::1`), no interface has IPv6, so the paths
//!   iroh can find are exactly the ones drawn here.
//! - The relay is a real iroh relay ([`relay`]) with a self-signed certificate, run by a
//!   command the caller gives (the `peercoach-test-relay` binary, see [`relay_bin_near`]).
//!   More relay hosts come on first use ([`Internet::start_relay_at`]) at 198.18.0.3, .4, …
//!
//! Dropping the [`Internet`] kills every process in its namespaces and deletes them, also
//! when a test panics; [`Internet::new`] removes what a run killed hard left behind.
//!
//! # Example
//!
//! ```no_run
//! use peercoach_netsim::{Internet, Nat};
//!
//! # fn main() -> Result<(), peercoach_netsim::Error> {
//! if !peercoach_netsim::require("two_homes") {
//!     return Ok(()); // not root, or no nftables: skipped (a failure under CI=true)
//! }
//! let mut net = Internet::new()?;
//! let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
//! let relay = net.start_relay(&relay_bin, &[], None)?;
//! let (home1, home2) = (net.add_home(Nat::Easy)?, net.add_home(Nat::Strict)?);
//! let (alice, bob) = (net.add_laptop(&home1)?, net.add_laptop(&home2)?);
//! // Any program runs on a laptop; here, a TCP connect to the relay's HTTPS port.
//! let reached = alice
//!     .command("bash", ["-c", "exec 3<>/dev/tcp/198.18.0.2/443"])
//!     .status()
//!     .is_ok_and(|status| status.success());
//! assert!(reached, "{} is on the internet", relay.url());
//! net.set_relay_reachable(&home2, false)?; // for bob, the relay is gone
//! # drop(bob);
//! # Ok(()) }
//! ```
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables); see [`available`] and [`require`].

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

mod internet;
mod ns;
pub mod relay;

pub use internet::{Home, Internet, Laptop, MAX_RELAYS, Nat, RELAY_IP, Relay};

/// Building or changing the world failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    /// A command could not be started (or fed its input).
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// A temp file or directory could not be made or read.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// The relay command exited or stayed silent instead of printing `ready URL`.
    #[error("the relay did not start: {reason}; its log ends with:\n{log_tail}")]
    RelayNotReady { reason: String, log_tail: String },
    /// The address plan has room for 200 homes, 90 laptops each and 155 address changes.
    #[error("no room for more {0}")]
    Full(&'static str),
    /// A [`Home`] of another [`Internet`] was passed.
    #[error("{0} is not a home of this internet")]
    NotInThisWorld(String),
}

/// Whether this machine can build the world: root, `ip`, `nft`, `sysctl`, and a
/// namespace with a NAT rule can be made and deleted. The `Err` says what is missing.
///
/// Checked once per process.
pub fn available() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(check_available).clone()
}

/// For the first line of a test: true when the world can be built. Otherwise prints
/// `skipping <test_name>: <reason>` and returns false, except under `CI=true`, where it
/// panics: on CI a missing capability is a failure, not a skip.
pub fn require(test_name: &str) -> bool {
    match available() {
        Ok(()) => true,
        Err(reason) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{test_name}: the simulated internet is unavailable under CI: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping {test_name}: {reason}");
            false
        }
    }
}

/// Where `peercoach-test-relay` is, given a binary of the same cargo target dir: beside a
/// binary in `target/debug/`, or one level up from a test in `target/debug/deps/`.
pub fn relay_bin_near(exe: &Path) -> PathBuf {
    let mut dir = exe.parent().unwrap_or(Path::new("."));
    if dir.file_name() == Some(OsStr::new("deps")) {
        dir = dir.parent().unwrap_or(dir);
    }
    dir.join(format!(
        "peercoach-test-relay{}",
        std::env::consts::EXE_SUFFIX
    ))
}

fn check_available() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|err| format!("cannot read /proc/self/status: {err}"))?;
    // `Uid:` is followed by the real, effective, saved and filesystem uids.
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .unwrap_or("unknown");
    if euid != "0" {
        return Err(format!(
            "not root (uid {euid}): network namespaces need root"
        ));
    }
    for (program, arg, package) in [
        ("ip", "-V", "iproute2"),
        ("nft", "--version", "nftables"),
        ("sysctl", "--version", "procps"),
    ] {
        let works = Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|out| out.status.success());
        if !works {
            return Err(format!("{program} not found: apt-get install {package}"));
        }
    }
    // A throwaway namespace with a NAT rule: proves namespaces work and the kernel has
    // nf_tables with NAT, which nothing short of trying can tell.
    let probe = format!("{}-{}-probe", internet::PREFIX, std::process::id());
    ns::run(&["ip", "netns", "add", &probe])
        .map_err(|err| format!("cannot create a network namespace: {err}"))?;
    let nat = ns::nft(
        &probe,
        "table ip probe {\n  chain postrouting {\n    \
         type nat hook postrouting priority srcnat; policy accept;\n    \
         masquerade random,fully-random\n  }\n}\n",
    );
    let deleted = ns::delete_namespace(&probe);
    nat.map_err(|err| format!("nftables NAT does not work in a namespace: {err}"))?;
    deleted.map_err(|err| format!("cannot delete a network namespace: {err}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_bin_is_found_beside_a_binary_and_above_a_test() {
        let expected = Path::new("/t/debug/peercoach-test-relay");
        assert_eq!(
            relay_bin_near(Path::new("/t/debug/deps/e2e-1234")),
            expected
        );
        assert_eq!(
            relay_bin_near(Path::new("/t/debug/peercoach-bench")),
            expected
        );
    }
}
