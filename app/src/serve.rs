//! Running a node from the command line: `peercoach serve`, and the short-lived node
//! that `peercoach join` starts when nothing runs on the data dir.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use peercoach_node::api::{Reply, Request};
use peercoach_node::{Node, NodeHandle, NodeOptions};

use crate::client::Client;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("peercoach-net")
        .build()
        .context("could not start the async runtime")
}

/// `peercoach serve`: runs until SIGTERM or SIGINT, then shuts down cleanly.
pub fn serve(data_dir: PathBuf, bind: Option<SocketAddr>, loopback_only: bool) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(async move {
        let mut options = NodeOptions::new(data_dir);
        options.loopback_only |= loopback_only;
        options.bind = bind;
        let node = Node::start(options).await?;
        let addr = node
            .addrs()
            .first()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into());
        println!("ready {} {addr}", node.endpoint_id());
        use std::io::Write;
        std::io::stdout().flush()?;
        // `peercoach quit` on this data dir stops it too.
        let mut events = node.handle().subscribe();
        let quit = async move {
            loop {
                match events.recv().await {
                    Ok(peercoach_node::NodeEvent::Quit)
                    | Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    _ => {}
                }
            }
        };
        tokio::select! {
            stopped = stop_signal() => stopped.context("could not listen for SIGTERM")?,
            () = quit => {}
        }
        tracing::info!("shutting down");
        node.shutdown().await;
        Ok(())
    })
}

/// Returns when the process is asked to stop: SIGTERM (a logout, a service manager) or
/// Ctrl+C (SIGINT).
pub async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            interrupted = tokio::signal::ctrl_c() => interrupted,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// A client that sends requests to a node in this process.
pub struct InProcess {
    handle: NodeHandle,
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess")
    }
}

impl Client for InProcess {
    fn call(&mut self, request: Request) -> Result<Reply> {
        let result = self.rt.block_on(self.handle.request_with_warnings(request));
        for w in result.warnings {
            eprintln!("warning: {w}");
        }
        Ok(result.result?)
    }
}

/// Starts a node without a control socket, runs `f` against it, and shuts it down.
pub fn with_temporary_node(
    data_dir: PathBuf,
    loopback_only: bool,
    f: impl FnOnce(&mut dyn Client) -> Result<()>,
) -> Result<()> {
    let rt = runtime()?;
    let mut options = NodeOptions::new(data_dir);
    options.loopback_only |= loopback_only;
    options.control_socket = false;
    let node = rt.block_on(Node::start(options))?;
    let mut client = InProcess {
        handle: node.handle(),
        rt: rt.handle().clone(),
    };
    let result = f(&mut client);
    rt.block_on(node.shutdown());
    result
}
