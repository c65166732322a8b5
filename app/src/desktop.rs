//! Desktop notifications through the freedesktop notification service
//! (`org.freedesktop.Notifications` on the D-Bus session bus), as GNOME, KDE, Xfce and
//! the other Linux desktops provide it.
//!
//! One connection serves every notification. It listens for clicks (`ActionInvoked`)
//! before it shows anything, so a click is never missed; clicks come back as the alert's
//! [`Target`] on the channel given to [`Desktop::connect`]. Where there is no session bus (a bare
//! server, macOS and Windows for now) [`Desktop::connect`] fails and the app runs
//! without notifications, saying so once in its log.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use peercoach_core::TeamId;
use peercoach_core::alerts::{Alert, AlertKind, Target};
use tokio::sync::{Mutex, mpsc};

/// The generated proxy of the notification service.
mod service {
    #![allow(dead_code, clippy::too_many_arguments)]
    use std::collections::HashMap;

    use zbus::Variant;

    #[zbus::proxy(
        interface = "org.freedesktop.Notifications",
        default_service = "org.freedesktop.Notifications",
        default_path = "/org/freedesktop/Notifications"
    )]
    pub trait Notifications {
        #[allow(clippy::too_many_arguments)] // reason: the service's signature
        fn notify(
            &self,
            app_name: &str,
            replaces_id: u32,
            app_icon: &str,
            summary: &str,
            body: &str,
            actions: &[&str],
            hints: &HashMap<&str, Variant<'_>>,
            expire_timeout: i32,
        ) -> zbus::Result<u32>;

        #[zbus(signal)]
        fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

        #[zbus(signal)]
        fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
    }
}

/// Why notifications cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// No session bus, or no notification service on it.
    #[error("desktop notifications are unavailable: {0}")]
    Unavailable(#[source] zbus::Error),
    /// The service refused a notification.
    #[error("the notification service refused a notification: {0}")]
    Refused(#[source] zbus::Error),
}

/// A click on a notification: the team and the record it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The team (none for a notice from the app itself).
    pub team: Option<TeamId>,
    /// The record.
    pub target: Target,
}

/// The session bus's notification service, and the notifications shown through it.
pub struct Desktop {
    proxy: service::NotificationsProxy<'static>,
    /// What each notification still on screen is about, by the id the service gave it.
    /// Held while a notification is being shown, so a click that comes back before
    /// `Notify` has answered waits for the entry instead of missing it.
    shown: Arc<Mutex<HashMap<u32, Click>>>,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop").finish_non_exhaustive()
    }
}

/// The app's id, which the desktop uses to find its name and icon.
const DESKTOP_ENTRY: &str = "org.peercoach.peercoach";

impl Desktop {
    /// Connects to the session bus (`DBUS_SESSION_BUS_ADDRESS`). Must run inside the
    /// app's tokio runtime. Clicks are delivered to `clicks` from then on.
    pub async fn connect(clicks: mpsc::UnboundedSender<Click>) -> Result<Self, DesktopError> {
        let connection = zbus::Connection::session()
            .await
            .map_err(DesktopError::Unavailable)?;
        let proxy = service::NotificationsProxy::new(&connection)
            .await
            .map_err(DesktopError::Unavailable)?;
        // Listen before anything is shown: a click right after a notification appears
        // must not be missed.
        let mut invoked = proxy
            .receive_action_invoked()
            .await
            .map_err(DesktopError::Unavailable)?;
        let mut closed = proxy
            .receive_notification_closed()
            .await
            .map_err(DesktopError::Unavailable)?;
        let shown: Arc<Mutex<HashMap<u32, Click>>> = Arc::default();
        let ours = shown.clone();
        tokio::spawn(async move {
            // Both streams are drained for as long as the connection lives: an unread
            // signal queue would stall the connection (zbus).
            loop {
                tokio::select! {
                    Some(signal) = invoked.next() => {
                        let Ok(args) = signal.args() else {
                            continue;
                        };
                        // Clicks on other apps' notifications arrive too; only ours count.
                        let click = ours.lock().await.remove(&args.id);
                        if let Some(click) = click
                            && args.action_key == "default"
                            && clicks.send(click).is_err()
                        {
                            break;
                        }
                    }
                    Some(signal) = closed.next() => {
                        // Dismissed or expired: nothing to open any more.
                        if let Ok(args) = signal.args() {
                            ours.lock().await.remove(&args.id);
                        }
                    }
                    else => break,
                }
            }
        });
        Ok(Self { proxy, shown })
    }

    /// Shows an alert (about `team`, unless it is the app's own notice). A click on it
    /// (its "default" action) opens the app on the alert's target.
    pub async fn show(&self, team: Option<&TeamId>, alert: &Alert) -> Result<(), DesktopError> {
        let mut hints: HashMap<&str, zbus::Variant<'_>> = HashMap::new();
        hints.insert("desktop-entry", zbus::Variant::from(DESKTOP_ENTRY));
        let urgency: u8 = match alert.kind {
            AlertKind::OfferToAnswer | AlertKind::RequestForMe | AlertKind::Trust => 1,
            _ => 0,
        };
        hints.insert("urgency", zbus::Variant::U8(urgency));
        let mut shown = self.shown.lock().await;
        let id = self
            .proxy
            .notify(
                "peercoach",
                0,
                DESKTOP_ENTRY,
                &alert.title,
                &alert.body,
                &["default", "Open"],
                &hints,
                -1,
            )
            .await
            .map_err(DesktopError::Refused)?;
        shown.insert(
            id,
            Click {
                team: team.cloned(),
                target: alert.target.clone(),
            },
        );
        Ok(())
    }
}
