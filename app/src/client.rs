//! How the CLI reaches the team: directly through an [`Engine`] on the data dir, or (when
//! a node is running there) through that node's control socket.

use anyhow::Result;
use peercoach_node::Engine;
use peercoach_node::api::{Reply, Request};

/// Something that answers requests.
pub trait Client {
    /// Sends one request.
    fn call(&mut self, request: Request) -> Result<Reply>;
}

/// The engine in this process (no node running on the data dir).
#[derive(Debug)]
pub struct Local(pub Engine);

impl Client for Local {
    fn call(&mut self, request: Request) -> Result<Reply> {
        let changes = touches_calendar(&request);
        let reply = self.0.handle(request);
        if changes && reply.is_ok() {
            // What a node would do after a change: calendar apps see it.
            self.0.refresh_calendar();
        }
        for w in self.0.take_warnings() {
            eprintln!("warning: {w}");
        }
        Ok(reply?)
    }
}

/// A node running on the data dir, reached through its control socket.
#[derive(Debug)]
pub struct Socket(pub peercoach_node::control::ControlClient);

impl Client for Socket {
    fn call(&mut self, request: Request) -> Result<Reply> {
        // Joining waits on the network; everything else is quick.
        let timeout = std::time::Duration::from_secs(120);
        let (reply, warnings) = self.0.call(&request, timeout)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok(reply)
    }
}

/// Whether a request can change what the device's calendar holds: a session, a
/// follow-up, the coaching hour, a name, a yes (a session needs it), or a team arriving (reads and
/// other changes leave it as it is, so the other teams are not opened for nothing).
fn touches_calendar(request: &Request) -> bool {
    use peercoach_core::Command as C;
    match request {
        Request::Apply { command, .. } => matches!(
            command,
            C::LogSession(_)
                | C::DeleteSession { .. }
                | C::RestoreSession { .. }
                | C::EditSession { .. }
                | C::PickTime { .. }
                | C::AddFollowUp(_)
                | C::SetFollowUpDone { .. }
                | C::SetCoachingHour(_)
                | C::RenameTeam { .. }
                | C::RemoveMember { .. }
                | C::SetProfile { .. }
                | C::Respond { .. }
        ),
        Request::Init { .. } | Request::Import { .. } | Request::Join { .. } => true,
        _ => false,
    }
}
