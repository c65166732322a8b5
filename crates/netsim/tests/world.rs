//! The harness itself, in real namespaces with a real relay: what reaches what.

use std::{
    fs,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use peercoach_netsim::{Home, Internet, Laptop, Nat, RELAY_IP};

const RELAY_BIN: &str = env!("CARGO_BIN_EXE_peercoach-test-relay");

/// A TCP connect from `laptop` with nothing but bash (`/dev/tcp`). `timeout` bounds a
/// dropped SYN; a refused or unroutable one fails at once.
fn connects(laptop: &Laptop, ip: &str, port: u16) -> bool {
    let script = format!("exec 3<>/dev/tcp/{ip}/{port}");
    laptop
        .command("timeout", ["2", "bash", "-c", &script])
        .output()
        .expect("run bash in the laptop")
        .status
        .success()
}

/// Whether `connects` succeeds within `within`, retrying.
fn connects_within(laptop: &Laptop, ip: &str, port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if connects(laptop, ip, port) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct World {
    net: Internet,
    homes: Vec<Home>,
    laptops: Vec<Laptop>,
}

/// A world with a relay and one laptop in each home.
fn world_with_relay(nats: &[Nat]) -> World {
    let mut net = Internet::new().expect("internet");
    net.start_relay(RELAY_BIN, &[], None).expect("relay");
    let (mut homes, mut laptops) = (Vec::new(), Vec::new());
    for &nat in nats {
        let home = net.add_home(nat).expect("home");
        laptops.push(net.add_laptop(&home).expect("laptop"));
        homes.push(home);
    }
    World {
        net,
        homes,
        laptops,
    }
}

/// The relay binary serving on `laptop`'s address, as a plain TCP listener on 80 and 443.
fn listener(net: &Internet, laptop: &Laptop) -> std::process::Child {
    let cert = net.temp_dir().join(format!("{}.pem", laptop.namespace()));
    laptop
        .command(RELAY_BIN, ["--ip", &laptop.ip().to_string(), "--cert-out"])
        .arg(cert)
        .stdout(Stdio::piped())
        .spawn()
        .expect("listener")
}

fn namespaces() -> String {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_laptop_reaches_the_relay_through_its_nat() {
    if !peercoach_netsim::require("a_laptop_reaches_the_relay_through_its_nat") {
        return;
    }
    // `net` must be bound: a `..` would drop the world at the end of this statement.
    let World {
        net: _net, laptops, ..
    } = world_with_relay(&[Nat::Easy, Nat::Easy]);
    assert_eq!(laptops[0].ip().to_string(), "198.19.1.10");
    assert!(connects_within(
        &laptops[0],
        "198.18.0.2",
        443,
        Duration::from_secs(5)
    ));
    assert!(connects(&laptops[1], "198.18.0.2", 80));
}

#[test]
fn another_homes_lan_is_unreachable() {
    if !peercoach_netsim::require("another_homes_lan_is_unreachable") {
        return;
    }
    let World {
        mut net,
        homes,
        laptops,
    } = world_with_relay(&[Nat::Easy, Nat::Easy]);
    // A listener on home 2's laptop, so a failure below is the network's, not a closed port.
    let mut listening = listener(&net, &laptops[1]);
    let neighbour = net.add_laptop(&homes[1]).expect("second laptop in home 2");
    assert!(connects_within(
        &neighbour,
        "198.19.2.10",
        443,
        Duration::from_secs(5)
    ));
    assert!(!connects(&laptops[0], "198.19.2.10", 443));
    // Nor is a router open to the internet: unsolicited inbound is dropped.
    assert!(!connects(&laptops[0], &homes[1].wan_ip().to_string(), 443));
    listening.kill().expect("kill listener");
    listening.wait().expect("reap listener");
    // And nothing leads out of the world: the kernel has no route to any other address
    // (asked with `route get`, so not even a probe packet is sent).
    let relay_host = format!("{}-relay", net.namespace_prefix());
    // (A laptop's default route leads to its router, where the road ends.)
    for ns in [homes[0].router_namespace(), &relay_host] {
        let route = Command::new("ip")
            .args(["-n", ns, "route", "get", "192.0.2.1"])
            .output()
            .expect("ip route get");
        assert!(!route.status.success(), "{ns} has a route out");
    }
}

#[test]
fn the_relay_reports_ready_and_restarts_with_the_same_certificate() {
    if !peercoach_netsim::require("the_relay_reports_ready_and_restarts_with_the_same_certificate")
    {
        return;
    }
    let World {
        mut net, laptops, ..
    } = world_with_relay(&[Nat::Easy]);
    let relay = net.relay().expect("running").clone();
    assert_eq!(relay.url(), "https://198.18.0.2/");
    let pem = fs::read_to_string(relay.cert_path()).expect("certificate file");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    net.stop_relay().expect("stop");
    assert!(net.relay().is_none());
    assert!(!connects(&laptops[0], "198.18.0.2", 443), "stopped relay");

    let again = net
        .start_relay(RELAY_BIN, &[], Some("t0ken"))
        .expect("restart");
    assert_eq!(again.url(), relay.url());
    assert_eq!(fs::read_to_string(again.cert_path()).expect("pem"), pem);
    assert!(connects_within(
        &laptops[0],
        "198.18.0.2",
        443,
        Duration::from_secs(5)
    ));
}

#[test]
fn a_dropped_world_leaves_no_namespace_also_after_a_panic() {
    if !peercoach_netsim::require("a_dropped_world_leaves_no_namespace_also_after_a_panic") {
        return;
    }
    let World { net, laptops, .. } = world_with_relay(&[Nat::Easy, Nat::Strict]);
    let prefix = format!("{}-", net.namespace_prefix());
    let dir = net.temp_dir().to_path_buf();
    assert!(namespaces().contains(laptops[1].namespace()));
    drop(net);
    assert!(!namespaces().contains(&prefix), "{}", namespaces());
    assert!(!dir.exists());

    let mut prefix = String::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let world = world_with_relay(&[Nat::Easy]);
        prefix = format!("{}-", world.net.namespace_prefix());
        panic!("a test fails with the world up");
    }));
    assert!(result.is_err());
    assert!(!prefix.is_empty());
    assert!(!namespaces().contains(&prefix), "{}", namespaces());
}

#[test]
fn a_blocked_relay_is_unreachable_from_that_home_only() {
    if !peercoach_netsim::require("a_blocked_relay_is_unreachable_from_that_home_only") {
        return;
    }
    let World {
        mut net,
        homes,
        laptops,
    } = world_with_relay(&[Nat::Easy, Nat::Easy]);
    assert!(connects_within(
        &laptops[0],
        "198.18.0.2",
        443,
        Duration::from_secs(5)
    ));

    net.set_relay_reachable(&homes[0], false).expect("block");
    assert!(!connects(&laptops[0], "198.18.0.2", 443));
    assert!(connects(&laptops[1], "198.18.0.2", 443));

    net.set_relay_reachable(&homes[0], true).expect("unblock");
    assert!(connects(&laptops[0], "198.18.0.2", 443));

    // Direct blocks are UDP only and leave the relay alone; blocking twice is harmless.
    net.block_direct(&homes[0], &homes[1], true)
        .expect("block direct");
    net.block_direct(&homes[0], &homes[1], true)
        .expect("block direct again");
    assert!(connects(&laptops[0], "198.18.0.2", 443));
    net.block_direct(&homes[0], &homes[1], false)
        .expect("unblock direct");
}

#[test]
fn laptops_in_one_home_share_a_lan_and_a_moved_laptop_keeps_its_internet() {
    if !peercoach_netsim::require(
        "laptops_in_one_home_share_a_lan_and_a_moved_laptop_keeps_its_internet",
    ) {
        return;
    }
    let World {
        mut net,
        homes,
        mut laptops,
    } = world_with_relay(&[Nat::Easy]);
    let second = net.add_laptop(&homes[0]).expect("second laptop");
    assert_eq!(second.ip().to_string(), "198.19.1.11");
    let mut listening = listener(&net, &second);
    assert!(connects_within(
        &laptops[0],
        "198.19.1.11",
        443,
        Duration::from_secs(5)
    ));
    listening.kill().expect("kill listener");
    listening.wait().expect("reap listener");

    let old = laptops[0].ip();
    let new = laptops[0].change_address().expect("move");
    assert_eq!(new.to_string(), "198.19.1.100");
    let addresses = laptops[0]
        .command("ip", ["-4", "-o", "addr", "show", "dev", "eth0"])
        .output()
        .expect("ip addr");
    let addresses = String::from_utf8_lossy(&addresses.stdout).into_owned();
    assert!(addresses.contains(&format!("{new}/24")), "{addresses}");
    assert!(!addresses.contains(&format!("{old}/24")), "{addresses}");
    assert!(connects(&laptops[0], "198.18.0.2", 443));
}

/// The NAT kinds as a STUN server would see them: on the relay host, an nft set records
/// `source address . destination port . source port` of UDP that one laptop socket sends
/// to two ports. Easy keeps the socket's port for both; Strict gives each its own.
#[test]
fn strict_nat_gives_each_destination_its_own_port() {
    if !peercoach_netsim::require("strict_nat_gives_each_destination_its_own_port") {
        return;
    }
    let mut net = Internet::new().expect("internet");
    let (easy, strict) = (
        net.add_home(Nat::Easy).expect("home"),
        net.add_home(Nat::Strict).expect("home"),
    );
    let laptops = [
        net.add_laptop(&easy).expect("laptop"),
        net.add_laptop(&strict).expect("laptop"),
    ];
    let recorder = "table ip seen {
  set flows {
    type ipv4_addr . inet_service . inet_service
    flags dynamic
  }
  chain input {
    type filter hook input priority filter; policy accept;
    udp dport 9001-9002 add @flows { ip saddr . udp dport . udp sport }
  }
}
";
    let rules = net.temp_dir().join("seen.nft");
    fs::write(&rules, recorder).expect("write ruleset");
    let loaded = net.relay_host_command("nft", ["-f"]).arg(&rules).status();
    assert!(loaded.expect("nft").success());

    let send = format!(
        "use IO::Socket::INET; use Socket;
         my $s = IO::Socket::INET->new(Proto => 'udp', LocalPort => 40000) or die $!;
         for my $port (9001, 9002) {{
             $s->send('x', 0, pack_sockaddr_in($port, inet_aton('{RELAY_IP}'))) or die $!;
         }}"
    );
    for laptop in &laptops {
        let status = laptop
            .command("perl", ["-e", &send])
            .status()
            .expect("perl");
        assert!(status.success());
    }
    let listed = net
        .relay_host_command("nft", ["list", "set", "ip", "seen", "flows"])
        .output()
        .expect("nft list");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    // Elements read `198.18.0.11 . 9001 . 40000`, between `{`, `,` and `}`.
    let ports_of = |wan: std::net::Ipv4Addr| {
        let prefix = format!("{wan} . ");
        let mut ports: Vec<&str> = listed
            .split([',', '{', '}'])
            .filter_map(|element| element.trim().strip_prefix(&prefix))
            .filter_map(|rest| rest.split(" . ").nth(1))
            .collect();
        ports.sort();
        ports
    };
    assert_eq!(ports_of(easy.wan_ip()), ["40000", "40000"], "{listed}");
    let strict_ports = ports_of(strict.wan_ip());
    assert_eq!(strict_ports.len(), 2, "{listed}");
    assert_ne!(strict_ports[0], strict_ports[1], "{listed}");
}

/// A real iroh relay client on a laptop, trusting only the relay's certificate file: the
/// right token is admitted, a wrong one is denied with the relay's reason.
#[test]
fn the_relay_admits_only_its_token() {
    if !peercoach_netsim::require("the_relay_admits_only_its_token") {
        return;
    }
    let World {
        mut net, laptops, ..
    } = world_with_relay(&[Nat::Easy]);
    let relay = net
        .start_relay(RELAY_BIN, &[], Some("s3cret"))
        .expect("relay");
    // This test binary again, on the laptop, running only `relay_client_probe`.
    let exe = std::env::current_exe().expect("test exe");
    let out = laptops[0]
        .command(&exe, ["--exact", "relay_client_probe", "--nocapture"])
        .env("PCSIM_PROBE_URL", relay.url())
        .env("PCSIM_PROBE_CERT", relay.cert_path())
        .env("PCSIM_PROBE_TOKENS", "s3cret,guess")
        .output()
        .expect("probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("probe s3cret: admitted"), "{stdout}");
    assert!(stdout.contains("probe guess: denied"), "{stdout}");
    assert!(stdout.contains("wrong relay token"), "{stdout}");
    // And QUIC address discovery listens on its default port.
    let sockets = net.relay_host_command("ss", ["-uln"]).output().expect("ss");
    let sockets = String::from_utf8_lossy(&sockets.stdout);
    assert!(sockets.contains("198.18.0.2:7842"), "{sockets}");
}

/// The client half of [`the_relay_admits_only_its_token`]; does nothing unless that test
/// runs it inside a laptop with `PCSIM_PROBE_*` set.
#[tokio::test]
async fn relay_client_probe() {
    use iroh_relay::{client::ClientBuilder, tls::CaTlsConfig};
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    let (Ok(url), Ok(cert), Ok(tokens)) = (
        std::env::var("PCSIM_PROBE_URL"),
        std::env::var("PCSIM_PROBE_CERT"),
        std::env::var("PCSIM_PROBE_TOKENS"),
    ) else {
        return;
    };
    let root = CertificateDer::from_pem_file(&cert).expect("relay certificate");
    let tls = CaTlsConfig::custom_roots([root])
        .client_config(iroh_relay::tls::default_provider())
        .expect("tls config");
    // The URL has an IP address, so nothing is looked up; the resolver points at loopback.
    let dns = iroh_dns::dns::DnsResolver::with_nameserver("127.0.0.1:53".parse().expect("addr"));
    for token in tokens.split(',') {
        let connected = ClientBuilder::new(
            url.parse::<iroh_base::RelayUrl>().expect("url"),
            iroh_base::SecretKey::generate(),
            dns.clone(),
        )
        .tls_client_config(tls.clone())
        .auth_token(token)
        .connect()
        .await;
        match connected {
            Ok(_client) => println!("probe {token}: admitted"),
            Err(err) => println!("probe {token}: denied: {err:?}"),
        }
    }
}
