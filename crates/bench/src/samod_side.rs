//! Side by side with samod (the Rust automerge-repo), as what a team might pick instead:
//! two samod repos on the same big history, connected over an iroh stream on 127.0.0.1
//! (samod's own length-delimited framing on one QUIC bi-stream), each with samod's
//! filesystem storage. Measured: the same edit as `edit-latency` (our command's change,
//! applied to A's samod document) until B's samod document has it, and a fresh repo
//! fetching the whole history as in `initial-sync`.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use peercoach_core::SystemEnv;
use peercoach_core::automerge::{Automerge, ROOT, ReadDoc};
use samod::storage::TokioFilesystemStorage;
use samod::{BackoffConfig, DialError, Dialer, DocHandle, Repo, Transport, Url};
use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};

use crate::{Figure, History, ask, memory_pair, ms, percentile, round, temp_dir};

const ALPN: &[u8] = b"peercoach-bench/samod/1";

/// Figures of ours measured earlier in the same run, for the ratios.
pub struct Ours {
    pub edit_p99_ms: Option<f64>,
    pub initial_sync_ms: Option<f64>,
    pub initial_sync_bytes: Option<f64>,
}

/// A reader that counts the bytes it reads (what arrived over the wire).
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

async fn endpoint() -> Result<iroh::Endpoint> {
    Ok(iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .alpns(vec![ALPN.to_vec()])
        .clear_ip_transports()
        .bind_addr((std::net::Ipv4Addr::LOCALHOST, 0))?
        .relay_mode(iroh::RelayMode::Disabled)
        .portmapper_config(iroh::endpoint::PortmapperConfig::Disabled)
        .bind()
        .await?)
}

/// Dials a samod repo behind an iroh endpoint.
struct IrohDialer {
    endpoint: iroh::Endpoint,
    to: iroh::EndpointAddr,
    received: Arc<AtomicU64>,
}

impl Dialer for IrohDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> Url {
        Url::parse(&format!("iroh://{}", self.to.id))
            .unwrap_or_else(|_| Url::parse("iroh://peer").expect("a valid url"))
    }

    fn connect(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Transport, DialError<Self::Error>>> + Send>> {
        let (endpoint, to, received) = (
            self.endpoint.clone(),
            self.to.clone(),
            self.received.clone(),
        );
        Box::pin(async move {
            let connection = endpoint
                .connect(to, ALPN)
                .await
                .map_err(DialError::transient)?;
            let (send, recv) = connection.open_bi().await.map_err(DialError::transient)?;
            let recv = Counted {
                inner: recv,
                count: received,
            };
            Ok(Transport::from_tokio_io(tokio::io::join(recv, send)))
        })
    }
}

/// Serves a repo's acceptor on an endpoint: every connection's first bi-stream.
fn serve(endpoint: iroh::Endpoint, repo: &Repo, received: Arc<AtomicU64>) -> Result<()> {
    let url = Url::parse(&format!("iroh://{}", endpoint.id()))?;
    let acceptor = repo
        .make_acceptor(url)
        .map_err(|_| anyhow::anyhow!("repo stopped"))?;
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let Ok(connection) = incoming.await else {
                continue;
            };
            let Ok((send, recv)) = connection.accept_bi().await else {
                continue;
            };
            let recv = Counted {
                inner: recv,
                count: received.clone(),
            };
            let _ = acceptor.accept_tokio_io(tokio::io::join(recv, send));
        }
    });
    Ok(())
}

async fn repo(dir: &Path) -> Repo {
    Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(dir))
        .load()
        .await
}

/// Whether `doc` holds the request `id`.
fn has_request(doc: &Automerge, id: &str) -> bool {
    match doc.get(ROOT, "requests") {
        Ok(Some((_, requests))) => doc.get(&requests, id).ok().flatten().is_some(),
        _ => false,
    }
}

/// The samod pair after the initial sync.
struct Pair {
    repo_a: Repo,
    repo_b: Repo,
    endpoints: [iroh::Endpoint; 2],
    handle_a: DocHandle,
    handle_b: DocHandle,
    sync_ms: f64,
    sync_bytes: u64,
}

/// A holds the history; a fresh B dials it and fetches the document.
async fn initial_sync(base: &Path, save: &[u8], received: &Arc<AtomicU64>) -> Result<Pair> {
    let stopped = |_| anyhow::anyhow!("the samod repo stopped");
    let repo_a = repo(&base.join("a")).await;
    let ep_a = endpoint().await?;
    serve(ep_a.clone(), &repo_a, received.clone())?;
    let handle_a = repo_a
        .create(Automerge::load(save)?)
        .await
        .map_err(stopped)?;
    let repo_b = repo(&base.join("b")).await;
    let ep_b = endpoint().await?;
    let dialer = IrohDialer {
        endpoint: ep_b.clone(),
        to: ep_a.addr(),
        received: received.clone(),
    };
    let t = Instant::now();
    let before = received.load(Ordering::Relaxed);
    let dial = repo_b
        .dial(BackoffConfig::default(), Arc::new(dialer))
        .map_err(stopped)?;
    dial.established()
        .await
        .map_err(|e| anyhow::anyhow!("samod could not connect: {e}"))?;
    let handle_b = repo_b
        .find(handle_a.document_id().clone())
        .await
        .map_err(stopped)?
        .context("samod did not find the document")?;
    let want = handle_a.with_document(|d| d.get_heads());
    while handle_b.with_document(|d| d.get_heads()) != want {
        if t.elapsed() > Duration::from_secs(300) {
            bail!("samod's initial sync did not finish in 300 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(Pair {
        sync_ms: ms(t.elapsed()),
        sync_bytes: received.load(Ordering::Relaxed) - before,
        repo_a,
        repo_b,
        endpoints: [ep_a, ep_b],
        handle_a,
        handle_b,
    })
}

pub fn samod(
    rt: &tokio::runtime::Runtime,
    history: &History,
    edits: usize,
    ours: &Ours,
) -> Result<Vec<Figure>> {
    let base = temp_dir("samod")?;
    let (mut mirror, _) = memory_pair(history)?;
    let save = mirror.automerge().save();
    let received = Arc::new(AtomicU64::new(0));
    let pair = rt.block_on(initial_sync(&base, &save, &received))?;

    // Edits: our command's change, applied to A's samod document; until B's has it.
    let mut times = Vec::with_capacity(edits);
    for i in 0..edits {
        let applied = mirror.apply(ask(format!("samod edit {i}")), &mut SystemEnv)?;
        let id = applied.created.context("created id")?;
        let change = mirror
            .automerge()
            .get_last_local_change()
            .context("the edit's change")?;
        let t = Instant::now();
        pair.handle_a.with_document(|d| d.apply_changes([change]))?;
        while !pair.handle_b.with_document(|d| has_request(d, id.as_str())) {
            if t.elapsed() > Duration::from_secs(60) {
                bail!("samod did not carry edit {i} within 60 s");
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        times.push(ms(t.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    rt.block_on(async {
        pair.repo_a.stop().await;
        pair.repo_b.stop().await;
        for endpoint in &pair.endpoints {
            endpoint.close().await;
        }
    });
    crate::clear_dir(&base);
    let ratio = |ours: Option<f64>, theirs: f64| ours.map(|o| o / theirs);
    let setup = "two samod 0.16 repos, TokioFilesystemStorage, one iroh bi-stream on 127.0.0.1";
    let latency = Figure::new("samod-edit-latency-p99", p99, "ms").extra(json!({
        "edits": edits,
        "p50_ms": round(p50),
        "ratio_is": "peercoach edit-latency p99 / samod p99, same run",
        "setup": setup,
    }));
    let time = Figure::new("samod-initial-sync-time", pair.sync_ms, "ms").extra(json!({
        "ratio_is": "peercoach initial-sync time / samod time, same run",
        "setup": setup,
    }));
    let bytes =
        Figure::new("samod-initial-sync-bytes", pair.sync_bytes as f64, "bytes").extra(json!({
            "ratio_is": "peercoach initial-sync bytes / samod bytes, same run",
            "samod_bytes_over_save": round(pair.sync_bytes as f64 / save.len() as f64),
        }));
    let with = |figure: Figure, r: Option<f64>| match r {
        Some(r) => figure.ratio(r),
        None => figure,
    };
    Ok(vec![
        with(latency, ratio(ours.edit_p99_ms, p99)),
        with(time, ratio(ours.initial_sync_ms, pair.sync_ms)),
        with(
            bytes,
            ratio(ours.initial_sync_bytes, pair.sync_bytes as f64),
        ),
    ])
}
