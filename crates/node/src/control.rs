//! The local control socket: `<data dir>/control.sock`, one JSON request per line, one
//! JSON [`Response`] per line back. The CLI uses it whenever a node runs on the data dir,
//! so the app and scripts never fight over the files.
//!
//! It is a Unix domain socket (Linux, macOS). Elsewhere (Windows) a node serves no
//! control socket yet and the CLI finds none: it then opens the data dir itself, which
//! works while no node runs there (README: "Other platforms").

#[cfg(unix)]
use std::io::{BufRead, BufReader, Write};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
#[cfg(unix)]
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
#[cfg(unix)]
use tokio::net::UnixListener;

use crate::api::{Reply, Request};
use crate::runtime::{NodeError, NodeHandle};

/// One answer on the socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The reply, on success.
    pub ok: Option<Reply>,
    /// The error message, on failure.
    pub error: Option<String>,
    /// Warnings to show.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The longest request line accepted (imports carry whole files).
const MAX_LINE: usize = 512 * 1024 * 1024;

/// Serves nothing where there are no Unix sockets (see the module docs).
#[cfg(not(unix))]
pub(crate) fn serve(
    path: &Path,
    _handle: NodeHandle,
) -> Result<tokio::task::JoinHandle<()>, NodeError> {
    tracing::info!(path = %path.display(), "no control socket on this platform");
    Ok(tokio::spawn(async {}))
}

#[cfg(unix)]
pub(crate) fn serve(
    path: &Path,
    handle: NodeHandle,
) -> Result<tokio::task::JoinHandle<()>, NodeError> {
    // We hold the data dir's lock, so a socket file left here is from a crashed node.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(NodeError::Socket {
                path: path.to_owned(),
                source: e,
            });
        }
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(|source| NodeError::Socket {
        path: path.to_owned(),
        source,
    })?;
    {
        use std::os::unix::fs::PermissionsExt;
        // Only this user may drive the node; the data dir (0700) guards it too.
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(error = %e, "could not restrict the control socket to this user");
        }
    }
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let response = if line.len() > MAX_LINE {
                        Response {
                            ok: None,
                            error: Some("request too large".into()),
                            warnings: Vec::new(),
                        }
                    } else {
                        match serde_json::from_str::<Request>(&line) {
                            Ok(request) => {
                                let result = handle.request_with_warnings(request).await;
                                Response {
                                    warnings: result.warnings,
                                    error: result.result.as_ref().err().map(ToString::to_string),
                                    ok: result.result.ok(),
                                }
                            }
                            Err(e) => Response {
                                ok: None,
                                error: Some(format!("bad request: {e}")),
                                warnings: Vec::new(),
                            },
                        }
                    };
                    let Ok(mut bytes) = serde_json::to_vec(&response) else {
                        break;
                    };
                    bytes.push(b'\n');
                    if write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
            });
        }
    }))
}

/// A blocking client for the control socket (used by the CLI).
#[derive(Debug)]
pub struct ControlClient {
    #[cfg(unix)]
    reader: BufReader<UnixStream>,
    #[cfg(unix)]
    writer: UnixStream,
    /// Where there is no control socket, no client can be made.
    #[cfg(not(unix))]
    none: std::convert::Infallible,
}

/// Why the control socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Talking to the socket failed.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The node answered something unreadable.
    #[error("control socket: unreadable answer: {0}")]
    Decode(String),
    /// The node refused the request.
    #[error("{0}")]
    Refused(String),
}

#[cfg(not(unix))]
impl ControlClient {
    /// There is no control socket on this platform: never connects.
    pub fn connect(_data_dir: &Path) -> Option<Self> {
        None
    }

    /// Never called: no client exists on this platform.
    pub fn call(
        &mut self,
        _request: &Request,
        _timeout: Duration,
    ) -> Result<(Reply, Vec<String>), ControlError> {
        match self.none {}
    }
}

#[cfg(unix)]
impl ControlClient {
    /// Connects if a node is listening on the data dir; `None` when none is.
    pub fn connect(data_dir: &Path) -> Option<Self> {
        let path = peercoach_store::DataDir::control_socket_path(data_dir);
        let stream = UnixStream::connect(path).ok()?;
        let writer = stream.try_clone().ok()?;
        Some(Self {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request; returns the reply and warnings.
    pub fn call(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<(Reply, Vec<String>), ControlError> {
        self.writer.set_read_timeout(Some(timeout))?;
        let mut line =
            serde_json::to_vec(request).map_err(|e| ControlError::Decode(e.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        let mut answer = String::new();
        self.reader.get_mut().set_read_timeout(Some(timeout))?;
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(ControlError::Decode("the node closed the socket".into()));
        }
        let response: Response =
            serde_json::from_str(&answer).map_err(|e| ControlError::Decode(e.to_string()))?;
        match (response.ok, response.error) {
            (Some(reply), _) => Ok((reply, response.warnings)),
            (None, Some(error)) => {
                for w in response.warnings {
                    eprintln!("warning: {w}");
                }
                Err(ControlError::Refused(error))
            }
            (None, None) => Err(ControlError::Decode("empty answer".into())),
        }
    }
}
