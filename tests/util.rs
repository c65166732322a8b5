//! Shared fixtures for the end-to-end tests: running the real `peercoach` binary on a
//! temporary data dir.

use peercoach_core::NewRequest;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_peercoach"))
}

/// One device: a data dir and a way to run the CLI on it.
pub struct Device {
    /// The temporary data dir (removed on drop).
    pub dir: tempfile::TempDir,
}

/// The result of one CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout trimmed.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "command failed: {}", self.stderr);
        self.stdout.trim().to_owned()
    }

    /// Asserts a clean failure: non-zero exit, one clear line on stderr, nothing on stdout.
    #[track_caller]
    pub fn fails(&self) -> String {
        assert_ne!(self.code, 0, "expected failure, got: {}", self.stdout);
        assert!(self.stdout.is_empty(), "nothing on stdout: {}", self.stdout);
        let line = self.stderr.lines().next().unwrap_or_default().to_owned();
        assert!(!line.is_empty(), "an error message");
        assert!(
            !self.stderr.contains("panicked"),
            "no panic: {}",
            self.stderr
        );
        line
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok()).expect("JSON on stdout")
    }
}

impl Device {
    /// A fresh, empty data dir.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The data dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `peercoach --data-dir DIR ARGS…` in loopback-only mode.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs `peercoach --data-dir DIR ARGS…` as `run` does, with more environment.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output: Output = Command::new(bin())
            .arg("--data-dir")
            .arg(self.path())
            .args(args)
            .env("PEERCOACH_LOOPBACK", "1")
            .env_remove("PEERCOACH_DATA_DIR")
            .envs(env.iter().copied())
            .output()
            .expect("run peercoach");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `peercoach --data-dir DIR ARGS…` in loopback-only mode with `input` on its
    /// standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write as _;
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(self.path())
            .args(args)
            .env("PEERCOACH_LOOPBACK", "1")
            .env_remove("PEERCOACH_DATA_DIR")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run peercoach");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let output = child.wait_with_output().expect("wait for peercoach");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Creates a team with this device's member; returns the team id.
    pub fn init(&self, name: &str, team: &str) -> String {
        self.run(&["init", "--name", name, "--team", team]).ok()
    }

    /// One field of every request in the document, from a JSON export (read through the
    /// node's socket when one runs, else straight from the files).
    pub fn request_fields(&self, field: &str) -> std::collections::BTreeSet<String> {
        let v: serde_json::Value =
            serde_json::from_str(&self.run(&["export", "--format", "json"]).ok())
                .expect("export JSON");
        v["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter_map(|r| r[field].as_str().map(str::to_owned))
            .collect()
    }

    /// Every file under the data dir with its bytes, to check that nothing was written.
    pub fn snapshot_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.path().to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .file_name()
                    .is_some_and(|n| n != "lock" && n != "control.sock")
                {
                    let bytes = std::fs::read(&path).expect("read");
                    out.push((path, bytes));
                }
            }
        }
        out.sort();
        out
    }
}

use std::time::{Duration, Instant};

use peercoach_node::api::{ExportFormat, Reply, Request};
use peercoach_node::{Node, NodeOptions};

/// Captures tracing output in test runs (shown only for failing tests).
pub fn init_tracing() {
    use tracing_subscriber::prelude::*;
    // Several tests share the process: only the first one installs it.
    let installed = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_test_writer())
        .with(peercoach_app::log_filter())
        .try_init();
    drop(installed);
}

/// A real node in this process: its own data dir, its own iroh endpoint on 127.0.0.1.
pub struct TestNode {
    /// The data dir.
    pub dir: tempfile::TempDir,
    /// The node, while running.
    pub node: Option<Node>,
    /// How far this device's clock is off.
    pub clock_skew_ms: i64,
}

impl TestNode {
    /// A node on a fresh data dir.
    pub async fn start() -> Self {
        Self::start_skewed(0).await
    }

    /// A node whose clock is off by `clock_skew_ms`.
    pub async fn start_skewed(clock_skew_ms: i64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut me = Self {
            dir,
            node: None,
            clock_skew_ms,
        };
        me.restart().await;
        me
    }

    /// Starts (again) on the same data dir: loopback only, no control socket.
    pub async fn restart(&mut self) {
        assert!(self.node.is_none(), "already running");
        let mut options = NodeOptions::new(self.dir.path().to_owned());
        options.loopback_only = true;
        options.control_socket = false;
        options.clock_skew_ms = self.clock_skew_ms;
        self.node = Some(Node::start(options).await.expect("node starts"));
    }

    /// Stops cleanly.
    pub async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await;
        }
    }

    /// The running node.
    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node running")
    }

    /// Sends a request and expects success.
    pub async fn ok(&self, request: Request) -> Reply {
        self.node()
            .handle()
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Sends a request and returns its result.
    pub async fn try_request(&self, request: Request) -> Result<Reply, String> {
        self.node()
            .handle()
            .request(request)
            .await
            .map_err(|e| e.to_string())
    }

    /// Creates a team; returns its id.
    pub async fn create_team(&self, name: &str) -> String {
        match self
            .ok(Request::Init {
                name: name.into(),
                team_name: "Platform".into(),
            })
            .await
        {
            Reply::TeamCreated { team_id, .. } => team_id,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A one-day invite ticket for a teammate.
    pub async fn invite(&self) -> String {
        self.invite_for(false).await
    }

    /// A ticket that links another device of this member, for as long as the app gives
    /// one by default.
    pub async fn device_invite(&self) -> String {
        self.invite_for(true).await
    }

    async fn invite_for(&self, device: bool) -> String {
        match self
            .ok(Request::Invite {
                team: None,
                expires_in_ms: peercoach_node::join::default_expiry_ms(device),
                device,
            })
            .await
        {
            Reply::Invited { ticket, .. } => ticket,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Joins with a ticket.
    pub async fn join(&self, ticket: &str, name: &str) -> Result<Reply, String> {
        self.try_request(Request::Join {
            ticket: ticket.into(),
            name: name.into(),
        })
        .await
    }

    /// Asks for help; returns the request id.
    pub async fn ask(&self, title: &str) -> peercoach_core::RequestId {
        self.apply(peercoach_core::Command::Ask(NewRequest {
            title: title.into(),
            tried: String::new(),
            skills: vec![],
            urgency: peercoach_core::Urgency::Normal,
            to: None,
        }))
        .await
        .try_into()
        .expect("a request id")
    }

    /// Applies a command that creates a record in the current team; returns its id.
    pub async fn apply(&self, command: peercoach_core::Command) -> peercoach_core::RecordId {
        match self
            .ok(Request::Apply {
                team: None,
                command,
            })
            .await
        {
            Reply::Done {
                created: Some(id), ..
            } => id,
            other => panic!("no record was created: {other:?}"),
        }
    }

    /// Titles of every request this node sees.
    pub async fn titles(&self) -> Vec<String> {
        let json = self.export_json().await;
        let mut titles: Vec<String> = json["requests"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["title"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        titles.sort();
        titles
    }

    /// The JSON export.
    pub async fn export_json(&self) -> serde_json::Value {
        let reply = self
            .ok(Request::Export {
                team: None,
                format: ExportFormat::Json,
                table: None,
                private_notes: false,
            })
            .await;
        let Reply::Exported { bytes_b64 } = reply else {
            panic!("unexpected {reply:?}")
        };
        let bytes = peercoach_node::api::unb64(&bytes_b64).expect("b64");
        serde_json::from_slice(&bytes).expect("json")
    }

    /// The document's heads, sorted.
    pub async fn heads(&self) -> Vec<String> {
        match self
            .ok(Request::Query {
                team: None,
                query: peercoach_node::api::Query::Heads,
            })
            .await
        {
            Reply::Heads { heads } => heads,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The id of the node's team.
    pub async fn team_id(&self) -> String {
        self.export_json().await["team"]["id"]
            .as_str()
            .expect("team id")
            .to_owned()
    }

    /// Sync status.
    pub async fn status(&self) -> peercoach_node::api::StatusReply {
        match self.ok(Request::Status { team: None }).await {
            Reply::Status(s) => s,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The device id.
    pub fn endpoint_id(&self) -> peercoach_net::DeviceId {
        self.node().endpoint_id()
    }
}

/// A number from the environment (long runs set these), or `default`.
/// Polls `check` every 100 ms until it holds; fails the test after 30 s, naming `what`
/// it waited for.
#[track_caller]
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The seed of a randomized test: `PEERCOACH_SEED` replays one, else a fresh one.
pub fn seed() -> u64 {
    env_or("PEERCOACH_SEED", rand::random())
}

/// Polls `check` until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether every running node has the same heads.
pub async fn converged(nodes: &[&TestNode]) -> bool {
    let mut first = None;
    for n in nodes {
        let heads = n.heads().await;
        match &first {
            None => first = Some(heads),
            Some(h) if *h != heads => return false,
            Some(_) => {}
        }
    }
    true
}

/// A bare iroh endpoint on 127.0.0.1 (relays, lookup and port mapping off), for playing
/// an outsider or a misbehaving device.
pub async fn raw_endpoint(secret: [u8; 32]) -> iroh::Endpoint {
    iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .secret_key(iroh::SecretKey::from_bytes(&secret))
        .clear_ip_transports()
        .bind_addr((std::net::Ipv4Addr::LOCALHOST, 0))
        .expect("bind addr")
        .relay_mode(iroh::RelayMode::Disabled)
        .portmapper_config(iroh::endpoint::PortmapperConfig::Disabled)
        .bind()
        .await
        .expect("bind")
}

/// How to reach a running node.
pub fn addr_of(node: &TestNode) -> iroh::EndpointAddr {
    let id: iroh::EndpointId = node.endpoint_id().into();
    iroh::EndpointAddr::from_parts(
        id,
        node.node().addrs().into_iter().map(iroh::TransportAddr::Ip),
    )
}

/// A `peercoach serve` child process.
pub struct Serve {
    /// The process.
    pub child: std::process::Child,
    /// The endpoint id from its ready line.
    pub endpoint_id: String,
    /// The socket address from its ready line.
    pub addr: String,
}

/// Ana's device with a new team and Ben's joined to it, each running `peercoach serve`
/// on loopback: two real nodes that sync.
pub fn ana_and_ben_serving() -> (Device, Device, Serve, Serve) {
    let (a, b) = (Device::new(), Device::new());
    a.init("Ana", "Platform");
    let serve_a = a.serve();
    let ticket = a.run(&["invite"]).ok();
    b.run(&["join", &ticket, "--name", "Ben"]).ok();
    let serve_b = b.serve();
    (a, b, serve_a, serve_b)
}

impl Device {
    /// Starts `peercoach serve --loopback-only` and waits for its ready line.
    pub fn serve(&self) -> Serve {
        self.serve_with_env(&[])
    }

    /// `serve`, with extra environment variables.
    pub fn serve_with_env(&self, env: &[(&str, &str)]) -> Serve {
        self.serve_by(Command::new(bin()), env)
    }

    /// Like [`Device::serve_with_env`], with the kernel refusing to grow any file past
    /// `kib` KiB: a full disk, injected (writes fail part-way with EFBIG where a full disk
    /// gives ENOSPC; both are an I/O error to the node). SIGXFSZ, which would kill the
    /// process at the limit, is ignored, as it is where a disk fills. Only the soft limit
    /// is set, so that `prlimit` can lift it from the running node without privileges.
    pub fn serve_with_file_limit(&self, kib: u64, env: &[(&str, &str)]) -> Serve {
        let mut shell = Command::new("bash");
        shell
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -S -f {kib}; exec \"$0\" \"$@\""
            ))
            .arg(bin());
        self.serve_by(shell, env)
    }

    fn serve_by(&self, mut command: Command, env: &[(&str, &str)]) -> Serve {
        let mut child = command
            .arg("--data-dir")
            .arg(self.path())
            .args(["serve", "--loopback-only"])
            .envs(env.iter().copied())
            .env_remove("PEERCOACH_DATA_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn serve");
        let line = ready_line(&mut child);
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            parts.len(),
            3,
            "one line `ready <endpoint-id> <socket-addr>`: {line:?}"
        );
        assert_eq!(parts[0], "ready");
        assert_eq!(parts[1].len(), 64);
        let addr: std::net::SocketAddr = parts[2].parse().expect("socket addr");
        assert!(addr.ip().is_loopback(), "loopback only: {addr}");
        Serve {
            child,
            endpoint_id: parts[1].to_owned(),
            addr: parts[2].to_owned(),
        }
    }
}

/// The first line a `serve` child prints (`ready …`), waited for at most 30 s.
pub fn ready_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("ready line in time")
}

impl Serve {
    /// SIGTERM, then wait; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        // SAFETY-free: libc::kill is a plain syscall wrapper.
        let pid = self.child.id() as i32;
        let rc = unsafe_free_kill(pid);
        assert_eq!(rc, 0, "signal sent");
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "serve stops on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Serve {
    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM through the `kill` command (no unsafe code in the tests).
fn unsafe_free_kill(pid: i32) -> i32 {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map(|s| s.code().unwrap_or(1))
        .unwrap_or(1)
}

/// `len` random lowercase letters: text that does not compress away.
pub fn random_text(rng: &mut impl rand::Rng, len: usize) -> String {
    use rand::RngExt;
    (0..len)
        .map(|_| char::from(b'a' + rng.random_range(0..26)))
        .collect()
}

/// One change as a `/2` peer sends it in a `Changes` frame: signed with `secret` (the
/// device key of the actor that wrote it), the signature ahead of the change.
pub fn signed(secret: &[u8; 32], change: &[u8]) -> Vec<u8> {
    use peercoach_node::sync::signed::{ChangeSig, Envelope};
    let parsed = peercoach_core::automerge::Change::from_bytes(change.to_vec())
        .expect("a change the test built");
    let key = iroh::SecretKey::from_bytes(secret);
    Envelope {
        sigs: vec![ChangeSig::sign(&key, parsed.hash())],
        body: change.to_vec(),
    }
    .encode()
}

/// Copies a directory tree (a data dir, as a backup would).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A team of `n` nodes on loopback, each newcomer invited by the previous one.
pub async fn team_of(n: usize) -> Vec<TestNode> {
    team_with_clocks(&vec![0; n]).await
}

/// A team with one node per clock skew.
pub async fn team_with_clocks(skews: &[i64]) -> Vec<TestNode> {
    let first = TestNode::start_skewed(skews[0]).await;
    first.create_team("Node0").await;
    let mut nodes = vec![first];
    for (i, skew) in skews.iter().enumerate().skip(1) {
        let node = TestNode::start_skewed(*skew).await;
        // Any member can invite: each newcomer is invited by the previous one.
        let ticket = nodes[i - 1].invite().await;
        node.join(&ticket, &format!("Node{i}")).await.expect("join");
        nodes.push(node);
    }
    nodes
}

/// Asks `title` in `team` through an engine on the data dir `dir`, with no node running
/// there (an offline command, or a copy of a data dir). Returns the device's secret key
/// and the change, which no one has signed yet.
pub fn ask_offline(dir: &Path, team: &str, title: &str) -> ([u8; 32], Vec<u8>) {
    let mut engine = peercoach_node::Engine::open(dir).expect("the data dir opens");
    let id = peercoach_core::TeamId::parse(team).expect("team id");
    engine
        .apply_to(
            &id,
            peercoach_core::Command::Ask(NewRequest {
                title: title.into(),
                tried: String::new(),
                skills: vec![],
                urgency: peercoach_core::Urgency::Normal,
                to: None,
            }),
        )
        .expect("asked");
    let change = engine
        .team(Some(&id))
        .expect("team")
        .doc
        .automerge()
        .get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec();
    (engine.identity().secret_key, change)
}

/// The `Hello` that opens a team stream.
pub fn hello(team: &str) -> Vec<u8> {
    serde_json::to_vec(&peercoach_net::Hello {
        version: 1,
        team_id: peercoach_core::TeamId::parse(team).expect("team id"),
    })
    .expect("json")
}

/// A sync stream for `team` from a raw endpoint (a member's device speaking raw frames)
/// to `node`, its `Hello` sent.
pub async fn sync_stream(
    from: &iroh::Endpoint,
    node: &TestNode,
    team: &str,
) -> (iroh::endpoint::Connection, iroh::endpoint::SendStream) {
    let conn = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        from.connect(addr_of(node), peercoach_net::ALPN_SYNC),
    )
    .await
    .expect("no hang")
    .expect("a member device connects");
    let (mut send, _recv) = conn.open_bi().await.expect("stream");
    peercoach_net::frame::write_frame(&mut send, peercoach_net::frame::Tag::Hello, &hello(team))
        .await
        .expect("hello");
    (conn, send)
}

/// The data dir of a node that was just stopped. Its lock can outlive the node for a
/// moment: a child process another test forks at that instant holds a copy of the lock's
/// descriptor until it execs (a lock belongs to the open file, not to one descriptor).
pub fn open_stopped(path: &std::path::Path) -> peercoach_store::DataDir {
    let start = std::time::Instant::now();
    loop {
        match peercoach_store::DataDir::open(path) {
            Err(peercoach_store::StoreError::Locked { .. })
                if start.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened.expect("open the stopped node's data dir"),
        }
    }
}
