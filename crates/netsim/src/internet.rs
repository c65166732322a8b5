//! The world: the internet bridge, the relay host, homes with NAT routers, and laptops.

use std::{
    collections::BTreeSet,
    ffi::OsStr,
    fs,
    io::{BufRead, BufReader},
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    Error,
    ns::{add_namespace, delete_namespace, ip, list_namespaces, nft, run, sysctl},
};

/// The (first) relay host's address on the internet.
pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// How many relay hosts a world can have: at 198.18.0.2, .3, …
pub const MAX_RELAYS: usize = 8;
/// Every namespace (and temp dir) of a world is named `pcsim-<pid>-<k>-…`.
pub(crate) const PREFIX: &str = "pcsim";
/// How long a relay may take to print its `ready` line.
const RELAY_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a relay may take to shut down after SIGTERM before it is killed.
const RELAY_STOP_TIMEOUT: Duration = Duration::from_secs(5);

static NEXT_WORLD: AtomicUsize = AtomicUsize::new(0);

/// How a home router translates addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// An ordinary home router: `masquerade`. Linux keeps a connection's source port when
    /// it is free, so one socket keeps one public port for every destination (an
    /// endpoint-independent mapping): hole punching works.
    Easy,
    /// `masquerade random,fully-random`: a new random public port for every destination,
    /// so the port a peer learns from the relay is never the one it must punch to.
    Strict,
    /// Carrier-grade NAT, as on many mobile and fibre lines: the home router (an [`Easy`]
    /// one) sits on the carrier's private network, 100.64.n.0/24, behind the carrier's
    /// own NAT (a [`Strict`] one), which holds the public address. Two NATs in a row.
    ///
    /// [`Easy`]: Nat::Easy
    /// [`Strict`]: Nat::Strict
    Carrier,
}

/// A running relay: the URL clients are given and the certificate they must trust.
#[derive(Debug, Clone)]
pub struct Relay {
    url: String,
    cert_path: PathBuf,
}

impl Relay {
    /// `https://198.18.0.2/`, as the relay printed it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The relay's self-signed certificate (PEM), to add as an extra trusted root.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

/// A home: a NAT router with a LAN behind it. A handle; the [`Internet`] owns the namespaces.
#[derive(Debug, Clone)]
pub struct Home {
    number: u8,
    router: String,
    wan_ip: Ipv4Addr,
    nat: Nat,
    address_moves: Arc<AtomicUsize>,
}

impl Home {
    /// 1 for the first home, 2 for the second…
    pub fn number(&self) -> u8 {
        self.number
    }

    /// The router's public address, the one the internet sees for every laptop at home.
    pub fn wan_ip(&self) -> Ipv4Addr {
        self.wan_ip
    }

    pub fn nat(&self) -> Nat {
        self.nat
    }

    /// The router's namespace, for running diagnostics (`nft list ruleset`) in it.
    pub fn router_namespace(&self) -> &str {
        &self.router
    }
}

/// A laptop at home: its own namespace, on the home's LAN. Not `Clone`: its address changes.
#[derive(Debug)]
pub struct Laptop {
    namespace: String,
    home: u8,
    ip: Ipv4Addr,
    address_moves: Arc<AtomicUsize>,
}

impl Laptop {
    /// The laptop's current LAN address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `ip netns exec NS program args…`: a command that runs on this laptop.
    pub fn command<S: AsRef<OsStr>>(
        &self,
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = S>,
    ) -> Command {
        netns_command(&self.namespace, program.as_ref(), args)
    }

    /// The laptop moves to another network: a new address (198.19.n.100 and up) comes, the
    /// default route moves to it, and the old address goes away.
    pub fn change_address(&mut self) -> Result<Ipv4Addr, Error> {
        let host = 100 + self.address_moves.fetch_add(1, Ordering::Relaxed);
        let host = u8::try_from(host)
            .ok()
            .filter(|&host| host < 255)
            .ok_or(Error::Full("laptop addresses in this home"))?;
        let new = Ipv4Addr::new(198, 19, self.home, host);
        let gateway = Ipv4Addr::new(198, 19, self.home, 1);
        let ns = &self.namespace;
        ip(ns, &format!("addr add {new}/24 dev eth0"))?;
        ip(ns, &format!("addr del {}/24 dev eth0", self.ip))?;
        // Deleting the old address may take the default route with it; `replace` puts
        // it back (or updates it) either way, now preferring the new source address.
        ip(
            ns,
            &format!("route replace default via {gateway} dev eth0 src {new}"),
        )?;
        self.ip = new;
        Ok(new)
    }
}

/// The per-home firewall state behind [`Internet::set_relay_reachable`] and
/// [`Internet::block_direct`].
#[derive(Debug)]
struct HomeState {
    router: String,
    wan_ip: Ipv4Addr,
    laptops: u8,
    relay_blocked: bool,
    /// WAN addresses of the homes that UDP to and from is dropped for.
    direct_blocked: BTreeSet<Ipv4Addr>,
}

#[derive(Debug)]
struct RunningRelay {
    child: Child,
    relay: Relay,
}

/// The simulated internet; dropping it kills every process in it and deletes everything.
///
/// Keep it bound for as long as the test needs the world: `let _ = …`, or a struct
/// pattern with `..` that leaves it out, drops it (and the world) at once.
#[derive(Debug)]
pub struct Internet {
    prefix: String,
    dir: PathBuf,
    /// In creation order; deleted in reverse.
    namespaces: Vec<String>,
    inet: String,
    /// The relay hosts made so far: the first at [`RELAY_IP`], the k-th at .2+k.
    relay_hosts: Vec<String>,
    /// The relay running on each host, by index.
    relays: Vec<Option<RunningRelay>>,
    homes: Vec<HomeState>,
}

impl Internet {
    /// The internet bridge and the relay host (without a relay running yet).
    ///
    /// Also removes what earlier runs that were killed hard left behind.
    pub fn new() -> Result<Self, Error> {
        remove_leftovers();
        let k = NEXT_WORLD.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX}-{}-{k}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let mut net = Internet {
            inet: format!("{prefix}-inet"),
            prefix,
            dir,
            namespaces: Vec::new(),
            relay_hosts: Vec::new(),
            relays: Vec::new(),
            homes: Vec::new(),
        };
        // From here on, a failure drops `net`, which removes whatever was made so far.
        let inet = net.inet.clone();
        net.add_namespace(&inet)?;
        // `name` and `dev` spelled out: a bare `br` would be read as `broadcast`.
        ip(&inet, "link add name br type bridge")?;
        ip(&inet, "link set dev br up")?;
        net.relay_host(0)?;
        Ok(net)
    }

    /// The address of the `index`-th relay host (from 0): 198.18.0.2, .3, …
    pub fn relay_ip(index: usize) -> Ipv4Addr {
        let [a, b, c, d] = RELAY_IP.octets();
        Ipv4Addr::new(a, b, c, d + index as u8)
    }

    /// The namespace of the `index`-th relay host, made (and plugged in) on first use.
    fn relay_host(&mut self, index: usize) -> Result<String, Error> {
        if index >= MAX_RELAYS {
            return Err(Error::Full("relay hosts"));
        }
        while self.relay_hosts.len() <= index {
            let k = self.relay_hosts.len();
            let host = if k == 0 {
                format!("{}-relay", self.prefix)
            } else {
                format!("{}-relay{k}", self.prefix)
            };
            self.add_namespace(&host)?;
            let port = if k == 0 {
                "relay".to_string()
            } else {
                format!("relay{k}")
            };
            plug(&self.inet, "br", &port, &host, "eth0")?;
            ip(
                &host,
                &format!("addr add {}/24 dev eth0", Self::relay_ip(k)),
            )?;
            self.relay_hosts.push(host);
            self.relays.push(None);
        }
        Ok(self.relay_hosts[index].clone())
    }

    /// Starts `program args… --ip 198.18.0.2 --cert-out DIR/relay.pem [--token T]` on the
    /// relay host and waits for its `ready URL` line. A relay already running is stopped
    /// first. The certificate survives restarts (see [`crate::relay::RelayArgs`]).
    pub fn start_relay(
        &mut self,
        program: impl AsRef<OsStr>,
        args: &[&str],
        token: Option<&str>,
    ) -> Result<Relay, Error> {
        self.start_relay_at(0, program, args, token)
    }

    /// [`Internet::start_relay`] on the `index`-th relay host (from 0, at
    /// [`Internet::relay_ip`]), made on first use; its files are `relay{index}.pem` and
    /// `relay{index}.log` (the first's `relay.pem`, `relay.log`).
    pub fn start_relay_at(
        &mut self,
        index: usize,
        program: impl AsRef<OsStr>,
        args: &[&str],
        token: Option<&str>,
    ) -> Result<Relay, Error> {
        let host = self.relay_host(index)?;
        self.stop_relay_at(index)?;
        let name = if index == 0 {
            "relay".to_string()
        } else {
            format!("relay{index}")
        };
        let cert_path = self.dir.join(format!("{name}.pem"));
        let log_path = self.dir.join(format!("{name}.log"));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| Error::Io {
                what: format!("opening {}", log_path.display()),
                source,
            })?;
        let mut command = netns_command(&host, program.as_ref(), args);
        command
            .arg("--ip")
            .arg(Self::relay_ip(index).to_string())
            .arg("--cert-out")
            .arg(&cert_path);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let described = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|source| Error::Spawn {
                command: described,
                source,
            })?;
        let ready = match child.stdout.take() {
            Some(stdout) => wait_for_ready(stdout),
            None => Err("its stdout was not captured".to_string()),
        };
        match ready {
            Ok(url) => {
                let relay = Relay { url, cert_path };
                self.relays[index] = Some(RunningRelay {
                    child,
                    relay: relay.clone(),
                });
                Ok(relay)
            }
            Err(reason) => {
                let reason = match child.try_wait() {
                    Ok(Some(status)) => format!("{reason} (it exited: {status})"),
                    _ => reason,
                };
                kill_and_reap(&mut child);
                Err(Error::RelayNotReady {
                    reason,
                    log_tail: log_tail(&log_path),
                })
            }
        }
    }

    /// Stops the relay (SIGTERM, then SIGKILL after 5 s) and waits for it to exit.
    pub fn stop_relay(&mut self) -> Result<(), Error> {
        self.stop_relay_at(0)
    }

    /// [`Internet::stop_relay`] on the `index`-th relay host.
    pub fn stop_relay_at(&mut self, index: usize) -> Result<(), Error> {
        let Some(RunningRelay { mut child, .. }) =
            self.relays.get_mut(index).and_then(Option::take)
        else {
            return Ok(());
        };
        if let Err(err) = run(&["kill", "-TERM", &child.id().to_string()]) {
            kill_and_reap(&mut child);
            return Err(err);
        }
        let deadline = Instant::now() + RELAY_STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_status)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    kill_and_reap(&mut child);
                    return Ok(());
                }
                Err(source) => {
                    kill_and_reap(&mut child);
                    return Err(Error::Io {
                        what: "waiting for the relay to exit".to_string(),
                        source,
                    });
                }
            }
        }
    }

    /// `pcsim-<pid>-<k>`: the start of every namespace name of this world.
    pub fn namespace_prefix(&self) -> &str {
        &self.prefix
    }

    /// A directory removed with the world, for the caller's own files (data dirs, logs).
    pub fn temp_dir(&self) -> &Path {
        &self.dir
    }

    /// The (first) running relay, if any.
    pub fn relay(&self) -> Option<&Relay> {
        self.relay_at(0)
    }

    /// The relay running on the `index`-th relay host, if any.
    pub fn relay_at(&self, index: usize) -> Option<&Relay> {
        self.relays
            .get(index)
            .and_then(Option::as_ref)
            .map(|running| &running.relay)
    }

    /// `ip netns exec RELAYNS program args…`: a command that runs on the (first) relay host.
    pub fn relay_host_command<S: AsRef<OsStr>>(
        &self,
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = S>,
    ) -> Command {
        netns_command(&self.relay_hosts[0], program.as_ref(), args)
    }

    /// A new home: router WAN 198.18.0.(10+n), LAN 198.19.n.0/24 behind `nat`.
    pub fn add_home(&mut self, nat: Nat) -> Result<Home, Error> {
        let number = u8::try_from(self.homes.len() + 1)
            .ok()
            .filter(|&n| n <= 200)
            .ok_or(Error::Full("homes"))?;
        let router = format!("{}-router{number}", self.prefix);
        let wan_ip = Ipv4Addr::new(198, 18, 0, 10 + number);
        self.add_namespace(&router)?;
        if nat == Nat::Carrier {
            // The carrier's NAT holds the public address; the home router sits behind it
            // on the carrier's network, with its default route through it.
            let carrier = format!("{}-carrier{number}", self.prefix);
            self.add_namespace(&carrier)?;
            plug(&self.inet, "br", &format!("home{number}"), &carrier, "wan")?;
            ip(&carrier, &format!("addr add {wan_ip}/24 dev wan"))?;
            ip(&carrier, "link add name lan type bridge")?;
            ip(&carrier, "link set dev lan up")?;
            ip(&carrier, &format!("addr add 100.64.{number}.1/24 dev lan"))?;
            sysctl(&carrier, &["net.ipv4.ip_forward=1"])?;
            nft(&carrier, &router_ruleset(Nat::Strict))?;
            plug(&carrier, "lan", "home", &router, "wan")?;
            ip(&router, &format!("addr add 100.64.{number}.2/24 dev wan"))?;
            ip(&router, &format!("route add default via 100.64.{number}.1"))?;
        } else {
            plug(&self.inet, "br", &format!("home{number}"), &router, "wan")?;
            ip(&router, &format!("addr add {wan_ip}/24 dev wan"))?;
        }
        ip(&router, "link add name lan type bridge")?;
        ip(&router, "link set dev lan up")?;
        ip(&router, &format!("addr add 198.19.{number}.1/24 dev lan"))?;
        sysctl(&router, &["net.ipv4.ip_forward=1"])?;
        nft(&router, &router_ruleset(nat))?;
        self.homes.push(HomeState {
            router: router.clone(),
            wan_ip,
            laptops: 0,
            relay_blocked: false,
            direct_blocked: BTreeSet::new(),
        });
        Ok(Home {
            number,
            router,
            wan_ip,
            nat,
            address_moves: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// A new laptop on `home`'s LAN: 198.19.n.(10+m) for its m-th laptop (from 0), with
    /// its default route via the router.
    pub fn add_laptop(&mut self, home: &Home) -> Result<Laptop, Error> {
        let index = self.home_index(home)?;
        let m = self.homes[index].laptops;
        if m >= 90 {
            return Err(Error::Full("laptops in this home"));
        }
        let n = home.number;
        let namespace = format!("{}-home{n}-laptop{m}", self.prefix);
        let ip_addr = Ipv4Addr::new(198, 19, n, 10 + m);
        self.add_namespace(&namespace)?;
        plug(
            &home.router,
            "lan",
            &format!("laptop{m}"),
            &namespace,
            "eth0",
        )?;
        ip(&namespace, &format!("addr add {ip_addr}/24 dev eth0"))?;
        ip(&namespace, &format!("route add default via 198.19.{n}.1"))?;
        self.homes[index].laptops = m + 1;
        Ok(Laptop {
            namespace,
            home: n,
            ip: ip_addr,
            address_moves: home.address_moves.clone(),
        })
    }

    /// Whether `home`'s router lets traffic to and from every relay host through. Packets
    /// are dropped, not refused: to the laptops the relay looks gone, as after an outage.
    pub fn set_relay_reachable(&mut self, home: &Home, reachable: bool) -> Result<(), Error> {
        let index = self.home_index(home)?;
        self.homes[index].relay_blocked = !reachable;
        self.apply_blocks(index)
    }

    /// Whether both routers drop UDP between the two homes' WAN addresses, so a direct
    /// path between them stops working while the relay still does.
    pub fn block_direct(&mut self, a: &Home, b: &Home, blocked: bool) -> Result<(), Error> {
        let (a, b) = (self.home_index(a)?, self.home_index(b)?);
        for (this, other) in [(a, b), (b, a)] {
            let other_wan = self.homes[other].wan_ip;
            let set = &mut self.homes[this].direct_blocked;
            if blocked {
                set.insert(other_wan);
            } else {
                set.remove(&other_wan);
            }
        }
        self.apply_blocks(a)?;
        self.apply_blocks(b)
    }

    fn add_namespace(&mut self, name: &str) -> Result<(), Error> {
        add_namespace(name).inspect_err(|_| {
            // Half made (e.g. created, then a sysctl failed): still ours to delete.
            if list_namespaces().is_ok_and(|all| all.iter().any(|ns| ns == name)) {
                self.namespaces.push(name.to_string());
            }
        })?;
        self.namespaces.push(name.to_string());
        Ok(())
    }

    fn home_index(&self, home: &Home) -> Result<usize, Error> {
        let index = usize::from(home.number) - 1;
        match self.homes.get(index) {
            Some(state) if state.router == home.router => Ok(index),
            _ => Err(Error::NotInThisWorld(home.router.clone())),
        }
    }

    /// Rewrites the router's `block` chain from its state in one nft transaction.
    fn apply_blocks(&self, index: usize) -> Result<(), Error> {
        let state = &self.homes[index];
        let mut script = String::from("flush chain ip block forward\n");
        if state.relay_blocked {
            let relays = format!("{}-{}", RELAY_IP, Self::relay_ip(MAX_RELAYS - 1));
            script += &format!("add rule ip block forward ip saddr {relays} drop\n");
            script += &format!("add rule ip block forward ip daddr {relays} drop\n");
        }
        for wan in &state.direct_blocked {
            script += &format!("add rule ip block forward ip saddr {wan} meta l4proto udp drop\n");
            script += &format!("add rule ip block forward ip daddr {wan} meta l4proto udp drop\n");
        }
        nft(&state.router, &script)?;
        Ok(())
    }
}

impl Drop for Internet {
    fn drop(&mut self) {
        for running in self.relays.iter_mut() {
            if let Some(mut running) = running.take() {
                kill_and_reap(&mut running.child);
            }
        }
        for ns in self.namespaces.iter().rev() {
            if let Err(err) = delete_namespace(ns) {
                eprintln!("peercoach-netsim: cleaning up: {err}");
            }
        }
        if let Err(err) = fs::remove_dir_all(&self.dir) {
            eprintln!("peercoach-netsim: removing {}: {err}", self.dir.display());
        }
    }
}

/// The router's firewall: NAT out of `wan`, nothing unsolicited in, and an empty `block`
/// table that [`Internet::apply_blocks`] fills. `block` hooks in before `filter` (priority
/// -10): a drop in any base chain is final, and unlike `filter` it does not accept
/// established flows first, so blocking also cuts connections already open.
fn router_ruleset(nat: Nat) -> String {
    let masquerade = match nat {
        // A carrier's home router is an ordinary one; its carrier's NAT is strict.
        Nat::Easy | Nat::Carrier => "masquerade",
        Nat::Strict => "masquerade random,fully-random",
    };
    format!(
        r#"table ip nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" {masquerade}
  }}
}}
table ip filter {{
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }}
}}
table ip block {{
  chain forward {{
    type filter hook forward priority -10; policy accept;
  }}
}}
"#
    )
}

/// A veth pair with one end in each namespace, the first end a port of `bridge`.
///
/// Each end is created directly in its namespace (`peer … netns`), so no interface of
/// the world ever exists in the host's namespace, not even for a moment.
fn plug(ns: &str, bridge: &str, port: &str, peer_ns: &str, peer: &str) -> Result<(), Error> {
    ip(
        ns,
        &format!("link add {port} type veth peer name {peer} netns {peer_ns}"),
    )?;
    ip(ns, &format!("link set dev {port} master {bridge} up"))?;
    ip(peer_ns, &format!("link set dev {peer} up"))?;
    Ok(())
}

fn netns_command<S: AsRef<OsStr>>(
    ns: &str,
    program: &OsStr,
    args: impl IntoIterator<Item = S>,
) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns]).arg(program).args(args);
    command
}

/// Reads the relay's stdout until `ready URL`; a thread keeps draining it afterwards.
fn wait_for_ready(stdout: std::process::ChildStdout) -> Result<String, String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("ready ") {
                // The waiter may have timed out and gone; the URL is then of no use.
                sender.send(url.trim().to_string()).ok();
            }
        }
    });
    receiver
        .recv_timeout(RELAY_READY_TIMEOUT)
        .map_err(|err| match err {
            mpsc::RecvTimeoutError::Timeout => {
                format!("no `ready` line within {} s", RELAY_READY_TIMEOUT.as_secs())
            }
            mpsc::RecvTimeoutError::Disconnected => "it closed stdout before `ready`".to_string(),
        })
}

fn kill_and_reap(child: &mut Child) {
    // `kill` succeeds also when the child has already exited; `wait` then reaps it.
    if let Err(err) = child.kill().and_then(|()| child.wait()) {
        eprintln!("peercoach-netsim: stopping the relay: {err}");
    }
}

fn log_tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Deletes namespaces and temp dirs `pcsim-<pid>-…` whose process is gone (killed hard).
fn remove_leftovers() {
    let dead = |name: &str| {
        let mut parts = name.split('-');
        parts.next() == Some(PREFIX)
            && parts
                .next()
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
                })
    };
    for ns in list_namespaces().unwrap_or_default() {
        if dead(&ns)
            && let Err(err) = delete_namespace(&ns)
        {
            eprintln!("peercoach-netsim: removing leftover namespace {ns}: {err}");
        }
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if dead(&name)
            && let Err(err) = fs::remove_dir_all(entry.path())
        {
            eprintln!("peercoach-netsim: removing leftover {name}: {err}");
        }
    }
}
