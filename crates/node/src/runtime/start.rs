//! Starting a node: the data dir, the network, the actor's thread and the tasks that feed
//! it (ticks, address changes, the control socket).

// A part of the driver: it uses the actor's own types and imports.
use super::*;

impl Node {
    /// Opens the data dir (taking its lock), binds the network and starts syncing.
    /// Must be called inside a tokio runtime.
    pub async fn start(options: NodeOptions) -> Result<Self, NodeError> {
        let mut engine = if options.clock_skew_ms == 0 {
            Engine::open(&options.data_dir)?
        } else {
            Engine::open_with_env(
                &options.data_dir,
                Box::new(SkewedClock(options.clock_skew_ms)),
            )?
        };
        let settings = engine.settings().clone();
        // The teams' own relays, as their saved views hold them: a device that uses
        // them does not start on n0's relays (and lookup) while its documents load. The
        // views may be stale; the actor binds again once the documents are open if the
        // relays differ.
        let relays: Vec<peercoach_core::TeamRelay> = engine
            .preview_all()
            .into_iter()
            .flat_map(|(_, view)| view.team.relays.clone())
            .collect();
        let (mut config, problem) = crate::connect::net_config(
            engine.identity().secret_key,
            &settings.network,
            &relays,
            options.loopback_only,
            options.bind,
        );
        if let Some(problem) = problem {
            tracing::warn!("{problem}");
        }
        let (net_tx, mut net_rx) = mpsc::unbounded_channel();
        // Keep the same port across restarts, so teammates who know our old address
        // find us again; if it is taken, take any and publish the new address.
        let net = match Net::bind(&config, net_tx.clone()).await {
            Ok(net) => net,
            Err(e) if config.port != 0 && config.bind.is_none() => {
                tracing::warn!(port = config.port, error = %e, "saved port unavailable; using another");
                Net::bind(
                    &NetConfig {
                        port: 0,
                        ..config.clone()
                    },
                    net_tx,
                )
                .await?
            }
            Err(e) => return Err(e.into()),
        };
        if options.bind.is_none()
            && let Some(port) = net.direct_addrs().first().map(SocketAddr::port)
            && port != settings.network.port
        {
            // What the endpoint is bound with: a later rebind keeps this port.
            config.port = port;
            if let Err(e) = engine.remember_port(port) {
                tracing::warn!(error = %e, "could not remember the port");
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        let snapshots = Snapshots::default();
        let watching = Watching::new(options.watch_snapshots.into());
        let opened = Opened::default();
        let handle = NodeHandle {
            tx: tx.clone(),
            events: events.clone(),
            snapshots: snapshots.clone(),
            watching: watching.clone(),
            opened: opened.clone(),
        };
        let mut tasks = Vec::new();
        let forward = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = net_rx.recv().await {
                if forward.send(Msg::Net(event)).is_err() {
                    break;
                }
            }
        }));
        let ticker = tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(std::time::Duration::from_secs(2));
            loop {
                interval.tick().await;
                if ticker.send(Msg::Tick).is_err() {
                    break;
                }
            }
        }));
        let watched = net.clone();
        let changes = tx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                watched.addr_changed().await;
                // Addresses come and go in bursts (a new network brings several): publish
                // once they settled.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                if changes.send(Msg::AddrChanged).is_err() {
                    break;
                }
            }
        }));
        let socket = if options.control_socket {
            let path = peercoach_store::DataDir::control_socket_path(&options.data_dir);
            tasks.push(crate::control::serve(&path, handle.clone())?);
            Some(path)
        } else {
            None
        };
        let device_key = iroh_base::SecretKey::from_bytes(&engine.identity().secret_key);
        let actor = Actor {
            engine,
            sync: SyncMachine::with_limits(options.limits).with_key(device_key),
            outboxes: HashMap::new(),
            older_apps: HashMap::new(),
            net: net.clone(),
            net_config: config,
            forced_loopback: options.loopback_only,
            bind: options.bind,
            rebinding: false,
            last_addrs: net.direct_addrs().into_iter().collect(),
            last_relay: net.relay_url(),
            invites_after_rebind: Vec::new(),
            rebinding_to: None,
            failed_config: None,
            rt: tokio::runtime::Handle::current(),
            tx: tx.downgrade(),
            events,
            specs: Vec::new(),
            snapshots,
            watching,
            opened,
            windowed: options.windowed,
            version: 0,
            ticks: 0,
            published: false,
            join_cancel: None,
        };
        let thread = std::thread::Builder::new()
            .name("peercoach-node".into())
            .spawn(move || actor.run(rx))
            .map_err(NodeError::Thread)?;
        Ok(Self {
            handle,
            net,
            actor: Some(thread),
            tasks,
            socket,
            loopback_forced: options.loopback_only,
        })
    }
}

/// The system clock off by a fixed amount (see [`NodeOptions::clock_skew_ms`]).
struct SkewedClock(i64);

impl Env for SkewedClock {
    fn now_ms(&mut self) -> i64 {
        SystemEnv.now_ms().saturating_add(self.0)
    }

    fn fresh_id(&mut self) -> String {
        SystemEnv.fresh_id()
    }
}
