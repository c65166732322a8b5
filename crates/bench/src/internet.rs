//! `internet`: two teammates in two homes behind NAT routers, on the simulated internet of
//! `peercoach-netsim` (network namespaces, a real iroh relay on 198.18.0.2; needs root).
//! Each laptop runs this benchmark binary as `peercoach serve` inside its namespace and
//! is driven by the CLI, as a person's laptop would be. Measured side by side in one run:
//! the join, edit latency through the relay (strict NAT: no hole can be punched) and over
//! the direct path (ordinary NAT, after the hole was punched), the same CLI-measured edit
//! latency between two `serve` processes on loopback, and how long after connecting the
//! path turns direct.
//!
//! An edit's latency is from `ask` returning on Ana's laptop (durable there) until Bo's
//! `board` shows it; Bo is polled with the CLI, so the figures include one CLI round trip
//! (a few ms) of resolution.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use peercoach_netsim::{Internet, Laptop, Nat};
use serde_json::json;

use crate::{Figure, percentile, round};

/// One device: a data dir and how to run this binary as `peercoach` on it.
struct Device {
    laptop: Option<Laptop>,
    dir: tempfile::TempDir,
    cert: Option<PathBuf>,
    serve: Option<Child>,
}

impl Device {
    fn command(&self, args: &[&str]) -> Result<Command> {
        let exe = std::env::current_exe()?;
        let mut all: Vec<OsString> =
            vec!["__cli".into(), "--data-dir".into(), self.dir.path().into()];
        all.extend(args.iter().map(Into::into));
        let mut command = match &self.laptop {
            Some(laptop) => laptop.command(&exe, all),
            None => {
                let mut c = Command::new(&exe);
                c.args(all);
                c
            }
        };
        command.env_remove("PEERCOACH_DATA_DIR");
        match &self.cert {
            // On the simulated internet: the real defaults, with the harness's relay.
            Some(cert) => {
                command
                    .env_remove("PEERCOACH_LOOPBACK")
                    .env(peercoach_node::connect::TEST_RELAY_CA_ENV, cert);
            }
            None => {
                command.env("PEERCOACH_LOOPBACK", "1");
            }
        }
        Ok(command)
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.command(args)?.stderr(Stdio::piped()).output()?;
        if !out.status.success() {
            bail!(
                "peercoach {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn serve(&mut self) -> Result<()> {
        use std::io::BufRead;
        let mut child = self
            .command(&["serve"])?
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("ready ") {
            bail!("serve did not start: {line:?}");
        }
        self.serve = Some(child);
        Ok(())
    }

    fn peer(&self) -> Result<serde_json::Value> {
        let s: serde_json::Value = serde_json::from_str(&self.run(&["--json", "status"])?)?;
        Ok(s["peers"][0].clone())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(mut child) = self.serve.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

fn wait(what: &str, secs: u64, mut check: impl FnMut() -> Result<bool>) -> Result<Duration> {
    let start = Instant::now();
    while !check()? {
        if start.elapsed() > Duration::from_secs(secs) {
            bail!("timed out after {secs} s waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(start.elapsed())
}

/// Ana and Bo joined and serving; returns the join time.
fn pair(mut ana: Device, mut bo: Device) -> Result<(Device, Device, Duration)> {
    ana.run(&["init", "--name", "Ana", "--team", "Platform"])?;
    ana.serve()?;
    let ticket = ana.run(&["invite"])?;
    let start = Instant::now();
    bo.run(&["join", &ticket, "--name", "Bo"])?;
    let join = start.elapsed();
    bo.serve()?;
    Ok((ana, bo, join))
}

/// Edit latencies Ana → Bo, in ms, sorted.
fn latencies(ana: &Device, bo: &Device, edits: usize, tag: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    // The first edit warms the path up.
    for i in 0..=edits {
        let title = format!("{tag} edit {i}");
        ana.run(&["ask", &title])?;
        let took = wait(&title, 60, || Ok(bo.run(&["board"])?.contains(&title)))?;
        if i > 0 {
            out.push(took.as_secs_f64() * 1000.0);
        }
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

fn home_device(net: &mut Internet, nat: Nat, relay: &str, cert: &Path) -> Result<Device> {
    let home = net.add_home(nat)?;
    let device = Device {
        laptop: Some(net.add_laptop(&home)?),
        dir: tempfile::tempdir()?,
        cert: Some(cert.to_owned()),
        serve: None,
    };
    device.run(&["network", "--mode", "team-relay", "--relay-url", relay])?;
    Ok(device)
}

/// The benchmark.
pub fn internet(edits: usize) -> Result<Vec<Figure>> {
    peercoach_netsim::available()
        .map_err(|e| anyhow::anyhow!("the internet benchmark needs the simulated internet: {e}"))?;
    let mut net = Internet::new()?;
    let exe = std::env::current_exe()?;
    let relay = net.start_relay(&exe, &["__relay"], None)?;
    let (url, cert) = (relay.url().to_owned(), relay.cert_path().to_owned());
    let mut figures = Vec::new();

    // Through the relay: both homes behind strict NATs.
    let (ana, bo, join_relay) = pair(
        home_device(&mut net, Nat::Strict, &url, &cert)?,
        home_device(&mut net, Nat::Strict, &url, &cert)?,
    )?;
    wait("Bo connected", 60, || Ok(ana.peer()?["connected"] == true))?;
    let relayed = latencies(&ana, &bo, edits, "relay")?;
    let path = ana.peer()?["path"].clone();
    if path != "relay" {
        bail!("the strict NAT pair should run over the relay, not {path}");
    }
    drop((ana, bo));

    // Direct: ordinary home routers; time until the hole is punched, then latency.
    let (ana, bo, join_direct) = pair(
        home_device(&mut net, Nat::Easy, &url, &cert)?,
        home_device(&mut net, Nat::Easy, &url, &cert)?,
    )?;
    wait("Bo connected", 60, || Ok(ana.peer()?["connected"] == true))?;
    let to_direct = wait("a direct path", 120, || Ok(ana.peer()?["path"] == "direct"))?;
    let direct = latencies(&ana, &bo, edits, "direct")?;
    drop((ana, bo));

    // The same measurement between two serve processes on loopback.
    let device = || -> Result<Device> {
        Ok(Device {
            laptop: None,
            dir: tempfile::tempdir()?,
            cert: None,
            serve: None,
        })
    };
    let (ana, bo, join_loopback) = pair(device()?, device()?)?;
    wait("Bo connected", 60, || Ok(ana.peer()?["connected"] == true))?;
    let loopback = latencies(&ana, &bo, edits, "loopback")?;
    drop((ana, bo));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (l50, l99) = (percentile(&loopback, 0.5), percentile(&loopback, 0.99));
    figures.push(
        Figure::new("internet-join-relay", ms(join_relay), "ms")
            .ratio(ms(join_relay) / ms(join_loopback))
            .extra(json!({ "loopback_ms": round(ms(join_loopback)), "direct_ms": round(ms(join_direct)) })),
    );
    for (name, sorted) in [("relay", &relayed), ("direct", &direct)] {
        let (p50, p99) = (percentile(sorted, 0.5), percentile(sorted, 0.99));
        figures.push(
            Figure::new(&format!("internet-edit-{name}-p50"), p50, "ms")
                .ratio(p50 / l50)
                .extra(json!({ "loopback_p50_ms": round(l50), "edits": sorted.len() })),
        );
        figures.push(
            Figure::new(&format!("internet-edit-{name}-p99"), p99, "ms")
                .ratio(p99 / l99)
                .extra(json!({ "loopback_p99_ms": round(l99) })),
        );
    }
    figures.push(Figure::new("internet-time-to-direct", ms(to_direct), "ms"));
    Ok(figures)
}
