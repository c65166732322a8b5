//! A real iroh relay server with a self-signed certificate, for the simulated internet.
//!
//! It is iroh's own relay (`iroh_relay::server`), configured the way iroh's tests configure
//! theirs, except that it listens on the ports a public relay uses (HTTP 80, HTTPS 443,
//! QUIC address discovery 7842), so a client given only the URL `https://IP/` finds every
//! service on its default port. The certificate is self-signed for the IP address and
//! `localhost`; clients add it as an extra trusted root.
//!
//! The binary `peercoach-test-relay` is a thin wrapper around [`run_blocking`]; another
//! binary (the benchmark) can embed [`RelayArgs`] as a hidden subcommand and call the same.

use std::{
    fs,
    io::{self, Write},
    net::{IpAddr, SocketAddr},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use iroh_relay::{
    defaults::{DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, DEFAULT_RELAY_QUIC_PORT},
    server::{
        Access, AccessControl, AllowAll, CertConfig, ClientRequest, DynAccessControl, QuicConfig,
        RelayConfig, Server, ServerConfig, TlsConfig,
    },
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// The relay's command line: `--ip IP --cert-out PATH [--token TOKEN]`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "peercoach-test-relay",
    about = "A real iroh relay with a self-signed certificate, for peercoach's simulated internet."
)]
pub struct RelayArgs {
    /// The address to serve on: relay HTTP on :80, HTTPS on :443, QUIC address discovery on :7842.
    #[arg(long)]
    pub ip: IpAddr,
    /// Where to write the self-signed certificate (PEM), which clients add as a trusted root.
    /// Its private key is kept beside it, at PATH.key. When both already exist and the
    /// certificate is for this IP (a restarted relay), they are reused, so clients that
    /// trust the first certificate still trust the restarted relay.
    #[arg(long)]
    pub cert_out: PathBuf,
    /// Admit only clients that present this access token.
    #[arg(long)]
    pub token: Option<String>,
}

/// Why the relay could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("could not make the certificate: {0}")]
    Certificate(String),
    #[error("{path}: {source}")]
    CertificateFile { path: PathBuf, source: io::Error },
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    #[error("could not start the relay server: {0}")]
    Spawn(String),
    #[error("the relay server stopped: {0}")]
    Stopped(String),
    #[error("could not start the async runtime or signal handlers: {0}")]
    Runtime(io::Error),
    #[error("could not write the ready line: {0}")]
    Stdout(io::Error),
}

/// Runs the relay until SIGTERM or SIGINT, then shuts it down gracefully.
///
/// Prints exactly one line, `ready https://IP/`, on stdout once every listener is bound.
pub async fn run(args: RelayArgs) -> Result<(), RelayError> {
    use tokio::signal::unix::{SignalKind, signal};

    // Signal handlers first: a SIGTERM that arrives right after "ready" must not kill us
    // before the graceful shutdown is in place.
    let mut terminate = signal(SignalKind::terminate()).map_err(RelayError::Runtime)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(RelayError::Runtime)?;
    let mut server = Server::spawn(server_config(&args)?).await.map_err(|err| {
        RelayError::Spawn(format!("{err} (on {}: TCP 80, 443; UDP 7842)", args.ip))
    })?;

    let mut stdout = io::stdout().lock();
    writeln!(stdout, "ready {}", url(args.ip))
        .and_then(|()| stdout.flush())
        .map_err(RelayError::Stdout)?;
    drop(stdout);

    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
        joined = server.join() => {
            let reason = match joined {
                Ok(Ok(())) => "without an error".to_string(),
                Ok(Err(err)) => err.to_string(),
                Err(err) => err.to_string(),
            };
            return Err(RelayError::Stopped(reason));
        }
    }
    server
        .shutdown()
        .await
        .map_err(|err| RelayError::Stopped(err.to_string()))
}

/// [`run`] on a runtime of its own, for a `main` that has none.
pub fn run_blocking(args: RelayArgs) -> Result<(), RelayError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RelayError::Runtime)?
        .block_on(run(args))
}

/// The URL clients are given: `https://IP/`, with QUIC address discovery on its default port.
pub fn url(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => format!("https://{ip}/"),
        IpAddr::V6(ip) => format!("https://[{ip}]/"),
    }
}

fn server_config(args: &RelayArgs) -> Result<ServerConfig, RelayError> {
    let (cert, key) = certificate(args.ip, &args.cert_out)?;
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| RelayError::Tls(err.to_string()))?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .map_err(|err| RelayError::Tls(err.to_string()))?;

    let access: Arc<dyn DynAccessControl> = match &args.token {
        Some(token) => Arc::new(TokenAccess {
            token: token.clone(),
        }),
        None => Arc::new(AllowAll),
    };
    let mut relay = RelayConfig::new(SocketAddr::new(args.ip, DEFAULT_HTTP_PORT));
    relay.tls = Some(TlsConfig::new(
        SocketAddr::new(args.ip, DEFAULT_HTTPS_PORT),
        CertConfig::Manual { server_config: tls },
    ));
    relay.access = access;

    let mut config = ServerConfig::default();
    config.relay = Some(relay);
    // Without its own TLS config the QUIC server borrows the relay's, certificate and all.
    config.quic = Some(QuicConfig::new(SocketAddr::new(
        args.ip,
        DEFAULT_RELAY_QUIC_PORT,
    )));
    Ok(config)
}

/// Admits only clients whose access token is the relay's.
#[derive(Debug)]
struct TokenAccess {
    token: String,
}

impl AccessControl for TokenAccess {
    async fn on_connect(&self, request: &ClientRequest) -> Access {
        if request.auth_token().as_deref() == Some(self.token.as_str()) {
            Access::Allow
        } else {
            Access::Deny {
                reason: Some("wrong relay token".to_string()),
            }
        }
    }
}

/// The certificate and key at `cert_path` (and `cert_path.key`), made first unless a
/// previous run left them for this IP.
fn certificate(
    ip: IpAddr,
    cert_path: &Path,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), RelayError> {
    let key_path = key_path(cert_path);
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RelayError::CertificateFile { path, source }
    };
    if !(key_path.exists() && certified_for(ip, cert_path)) {
        let key = rcgen::KeyPair::generate().map_err(|e| RelayError::Certificate(e.to_string()))?;
        // rcgen turns a name that parses as an IP address into an IP SAN.
        let mut params = rcgen::CertificateParams::new(vec![ip.to_string(), "localhost".into()])
            .map_err(|e| RelayError::Certificate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "peercoach test relay");
        let cert = params
            .self_signed(&key)
            .map_err(|e| RelayError::Certificate(e.to_string()))?;
        // The key first: a certificate without its key beside it is made again next time.
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key_path)
            .and_then(|mut file| file.write_all(key.serialize_pem().as_bytes()))
            .map_err(file_error(&key_path))?;
        fs::write(cert_path, cert.pem()).map_err(file_error(cert_path))?;
    }
    let cert = CertificateDer::from_pem_file(cert_path)
        .map_err(|e| RelayError::Certificate(format!("{}: {e}", cert_path.display())))?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| RelayError::Certificate(format!("{}: {e}", key_path.display())))?;
    Ok((cert, key))
}

/// Whether the certificate at `path` names `ip`, so a restarted relay may reuse it.
fn certified_for(ip: IpAddr, path: &Path) -> bool {
    use x509_parser::extensions::GeneralName;

    let octets = match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    let Ok(cert) = CertificateDer::from_pem_file(path) else {
        return false;
    };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&cert) else {
        return false;
    };
    parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value
                .general_names
                .iter()
                .any(|name| matches!(name, GeneralName::IPAddress(bytes) if *bytes == octets))
        })
}

fn key_path(cert_path: &Path) -> PathBuf {
    let mut path = cert_path.as_os_str().to_owned();
    path.push(".key");
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_made_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("pcsim-cert-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("relay.pem");
        let ip: IpAddr = "198.18.0.2".parse().expect("ip");
        let (first, _) = certificate(ip, &path).expect("made");
        let (second, _) = certificate(ip, &path).expect("reused");
        assert_eq!(first, second);
        // Another address gets a certificate of its own.
        let (other, _) = certificate("198.18.0.3".parse().expect("ip"), &path).expect("made");
        assert_ne!(first, other);
        assert!(
            fs::read_to_string(&path)
                .expect("pem")
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn url_has_a_trailing_slash() {
        assert_eq!(
            url("198.18.0.2".parse().expect("ip")),
            "https://198.18.0.2/"
        );
        assert_eq!(url("::1".parse().expect("ip")), "https://[::1]/");
    }
}
