//! Peers and sync state, invites (ticket + QR), linking devices, removing members.

use crate::local;
use egui::RichText;
use peercoach_node::api::call;

use crate::gui::app::Action;
use crate::gui::app::{Cx, Purpose};
use crate::gui::theme::{self, Column};

/// The sync screen: the invite shown and what became of earlier ones.
#[derive(Default)]
pub struct SyncScreen {
    /// The invite shown.
    pub invite: Option<crate::gui::state::ShownInvite>,
    /// This device's invites and what became of them.
    pub invites: Vec<peercoach_node::api::InviteRow>,
    /// Index of the expiry chosen.
    pub invite_expiry: Option<usize>,
    /// When the ticket was copied.
    pub copied_at: Option<std::time::Instant>,
    /// The invite's QR code.
    pub qr: Option<egui::TextureHandle>,
    /// The member picked for removal.
    pub remove: Option<peercoach_core::MemberId>,
}

impl SyncScreen {
    /// The sync screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Sync",
            "Your teammates' devices, directly: no server in between.",
        );
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.peers_ui(ui, cx);
                ui.add_space(theme::GAP);
                my_devices_ui(ui, cx);
                ui.add_space(theme::GAP);
                // Removing someone makes sense only with someone else in the team.
                if cx.snap.team.current_members().len() > 1 {
                    theme::two_columns(ui, |ui, column| match column {
                        Column::First => self.invite_ui(ui, cx),
                        Column::Second => self.remove_ui(ui, cx),
                    });
                } else {
                    self.invite_ui(ui, cx);
                }
            });
    }

    fn peers_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Devices").strong());
            let Some(status) = cx.derived.status.as_ref() else {
                ui.label("Asking the node…");
                return;
            };
            ui.label(
                RichText::new(format!("This device: {}", &status.endpoint_id))
                    .monospace()
                    .small(),
            );
            ui.label(
                RichText::new(format!(
                    "Listening on {}{}",
                    status.addrs.join(", "),
                    if status.mode == "loopback" {
                        " (loopback only)"
                    } else {
                        ""
                    }
                ))
                .color(theme::muted(ui)),
            );
            ui.label(
                RichText::new(match &status.relay_url {
                    Some(url) => format!("Reachable through the relay {url}"),
                    None => "No relay: reachable only directly".to_owned(),
                })
                .color(theme::muted(ui)),
            );
            if status.relays.len() > 1 {
                ui.label(
                    RichText::new(format!(
                        "Relays: {}",
                        status
                            .relays
                            .iter()
                            .map(crate::output::relay_state)
                            .collect::<Vec<_>>()
                            .join(" · ")
                    ))
                    .color(theme::muted(ui)),
                );
            }
            if let Some(problem) = &status.relay_problem {
                ui.colored_label(theme::warn(ui), problem);
            }
            if let Some(cut_off) = crate::output::cut_off(status) {
                ui.colored_label(theme::warn(ui), cut_off);
            }
            if status.another_copy_running {
                ui.colored_label(theme::warn(ui), crate::output::ANOTHER_COPY);
            }
            ui.add_space(6.0);
            if status.peers.is_empty() {
                ui.label("No other devices in this team yet. Invite someone below.");
                return;
            }
            egui::Grid::new("peers")
                .striped(true)
                .num_columns(6)
                .spacing([16.0, 6.0])
                .show(ui, |ui| {
                    ui.label(RichText::new("Member").strong());
                    ui.label(RichText::new("Device").strong());
                    ui.label(RichText::new("Online").strong());
                    ui.label(RichText::new("Path").strong());
                    ui.label(RichText::new("Last synced").strong());
                    ui.label(RichText::new("Has all my changes").strong());
                    ui.end_row();
                    for p in &status.peers {
                        ui.label(&p.name);
                        ui.label(
                            RichText::new(p.endpoint_id.to_string().get(..10).unwrap_or_default())
                                .monospace(),
                        );
                        ui.horizontal(|ui| {
                            theme::dot(
                                ui,
                                if p.connected {
                                    theme::GOOD
                                } else {
                                    theme::muted(ui)
                                },
                            );
                            ui.label(if p.connected { "online" } else { "offline" });
                        });
                        ui.label(path_text(p));
                        ui.label(
                            p.last_synced_ms
                                .map(local::datetime)
                                .unwrap_or_else(|| "never".into()),
                        );
                        if p.no_progress_ticks > 0 {
                            // Visible while it lasts: a pair that is not moving is the
                            // failure people otherwise only notice days later.
                            ui.label(format!(
                                "not yet · no progress for {} s",
                                u64::from(p.no_progress_ticks) * 2
                            ))
                            .on_hover_text(crate::output::no_progress(p.no_progress_ticks));
                        } else {
                            ui.label(if p.has_all_my_changes {
                                "yes"
                            } else {
                                "not yet"
                            });
                        }
                        ui.end_row();
                    }
                });
            // What a device sent that was refused before it was applied: the person sees
            // which device, and why.
            for p in status.peers.iter().filter(|p| p.older_app) {
                ui.colored_label(
                    theme::warn(ui),
                    format!(
                        "{} ({}) {}",
                        p.name,
                        p.endpoint_id.short(),
                        crate::output::OLDER_APP
                    ),
                );
            }
            for p in status.peers.iter().filter(|p| !p.refused.is_empty()) {
                for r in &p.refused {
                    ui.colored_label(
                        theme::warn(ui),
                        format!(
                            "{} ({}): {}",
                            p.name,
                            p.endpoint_id.short(),
                            crate::output::refused(r)
                        ),
                    );
                }
            }
        });
    }

    fn invite_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Invite").strong());
            ui.label(RichText::new("Any member can invite. A ticket works once, until it expires. Keep this app running until they have joined.").color(theme::muted(ui)));
            if !cx.can_act() {
                return;
            }
            let shown = self.invite.clone();
            // What became of the invite on screen: used, expired, or still open.
            let outcome = shown.as_ref().and_then(|invite| {
                let row = self.invites.iter().find(|r| r.invite == invite.id);
                match row.and_then(|r| r.used_by_name.clone().map(|n| (n, r.used_ms))) {
                    Some((name, at)) => Some(format!(
                        "{name} joined with this invite{}.",
                        at.map(|ms| format!(" at {}", local::datetime(ms)))
                            .unwrap_or_default()
                    )),
                    None if invite.expires_ms <= cx.derived.now_ms => Some(format!(
                        "This invite expired at {} without being used.",
                        local::datetime(invite.expires_ms)
                    )),
                    None => None,
                }
            });
            let expiry = self.invite_expiry.unwrap_or_else(default_expiry);
            theme::combo(ui, "Valid for", EXPIRY[expiry.min(2)].0, |ui| {
                for (i, (label, _)) in EXPIRY.iter().enumerate() {
                    if ui.selectable_label(i == expiry, *label).clicked() {
                        self.invite_expiry = Some(i);
                    }
                }
            });
            ui.horizontal(|ui| {
                let expires_in_ms = EXPIRY[expiry.min(2)].1;
                let again = shown.is_some();
                let label = if again {
                    "Make a new invite"
                } else {
                    "Invite a teammate"
                };
                if ui.button(label).clicked() {
                    invite_teammate(cx, expires_in_ms);
                }
                if ui.button("Link another device of mine").clicked() {
                    cx.outbox.send(
                        call::Invite {
                            team: Some(cx.snap.id.clone()),
                            // It gives everything, private notes included: minutes, not
                            // the choice above (which is for teammates).
                            expires_in_ms: peercoach_node::join::DEFAULT_DEVICE_INVITE_EXPIRY_MS,
                            device: true,
                        },
                        Purpose::Invite { device: true },
                    );
                }
            });
            let Some(invite) = shown else {
                return;
            };
            ui.separator();
            if let Some(outcome) = outcome {
                ui.colored_label(theme::good(ui), outcome);
                ui.label(
                    RichText::new(
                        "This ticket cannot be used again. Make a new invite for someone else.",
                    )
                    .color(theme::muted(ui)),
                );
                return;
            }
            ui.label(if invite.device {
                "Open peercoach on your other device, choose Join, and paste this ticket:"
            } else {
                "Send this ticket to your teammate (or let them scan the code):"
            });
            let mut text = invite.ticket.clone();
            let l = ui.label("Invite ticket");
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(l.id);
            ui.horizontal(|ui| {
                if ui.button("Copy ticket").clicked() {
                    ui.ctx().copy_text(invite.ticket.clone());
                    cx.outbox
                        .act(Action::Notice("Ticket copied to the clipboard".into()));
                    self.copied_at = Some(std::time::Instant::now());
                }
                if self
                    .copied_at
                    .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(4))
                {
                    ui.colored_label(theme::good(ui), "Copied");
                }
                ui.label(
                    RichText::new(format!(
                        "valid until {}",
                        local::datetime(invite.expires_ms)
                    ))
                    .color(theme::muted(ui)),
                );
            });
            if let Some(qr) = &self.qr {
                ui.add(
                    egui::Image::new(qr)
                        .fit_to_exact_size(egui::vec2(220.0, 220.0))
                        .alt_text("Invite QR code"),
                );
            }
        });
    }

    fn remove_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Remove a member").strong());
            ui.label(
                RichText::new(
                    "Their devices are refused from then on. The copy of the team they already hold \
                     cannot be taken back: it stays on their laptop.",
                )
                .color(theme::muted(ui)),
            );
            if !cx.can_act() {
                return;
            }
            let size = cx.snap.team.current_members().len();
            if size >= 3 {
                ui.label(
                    RichText::new(
                        "In a team of three or more, a removal takes effect when a second member \
                         confirms it, so no one can remove the others alone.",
                    )
                    .color(theme::muted(ui)),
                );
            }
            // Removals asked for and waiting for a second member: one click confirms.
            let me = cx.snap.me.clone();
            let pending: Vec<_> = cx
                .snap
                .team
                .current_members()
                .into_iter()
                .filter(|m| !m.pending_removal().is_empty())
                .map(|m| {
                    let by: Vec<String> = m.pending_removal().iter().map(|v| cx.name(v)).collect();
                    let mine = me
                        .as_ref()
                        .is_some_and(|me| m.has_vote_of(me) || &m.id == me);
                    (m.id.clone(), m.name.clone(), by.join(", "), mine)
                })
                .collect();
            for (id, name, by, mine) in pending {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(
                        theme::warn(ui),
                        format!("{by} asked to remove {name}: waiting for a second member."),
                    );
                    if !mine && ui.button(format!("Confirm removing {name}")).clicked() {
                        cx.apply(
                            peercoach_core::Command::RemoveMember { member: id.clone() },
                            format!("{name} was removed"),
                        );
                    }
                });
            }
            let members: Vec<_> = cx
                .snap
                .team
                .current_members()
                .into_iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect();
            let current = self
                .remove
                .as_ref()
                .and_then(|r| members.iter().find(|(id, _)| id == r))
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| "pick someone".into());
            ui.horizontal(|ui| {
                theme::combo(ui, "Member to remove", current, |ui| {
                    for (id, name) in &members {
                        ui.selectable_value(&mut self.remove, Some(id.clone()), name);
                    }
                });
                if ui
                    .add_enabled(self.remove.is_some(), egui::Button::new("Remove…"))
                    .clicked()
                    && let Some(member) = self.remove.clone()
                {
                    cx.outbox.act(Action::ConfirmRemove(member));
                }
            });
        });
    }
}

/// Asks the node for an invite for a teammate; the Sync screen shows it (ticket and QR)
/// when it comes.
pub fn invite_teammate(cx: &mut Cx<'_>, expires_in_ms: i64) {
    cx.outbox.send(
        call::Invite {
            team: Some(cx.snap.id.clone()),
            expires_in_ms,
            device: false,
        },
        Purpose::Invite { device: false },
    );
}

/// An invite for a teammate with the default expiry, on the Sync screen: the board's
/// "Invite your team" step.
pub fn invite_teammate_now(cx: &mut Cx<'_>) {
    cx.prefs.screen = crate::gui::screens::Screen::Sync;
    invite_teammate(cx, EXPIRY[default_expiry()].1);
}

const EXPIRY: [(&str, i64); 3] = [
    ("1 hour", 3_600_000),
    ("1 day", 86_400_000),
    ("7 days", 7 * 86_400_000),
];

/// The choice the invite form starts on: the same default as `peercoach invite`.
fn default_expiry() -> usize {
    EXPIRY
        .iter()
        .position(|(_, ms)| *ms == peercoach_node::join::DEFAULT_INVITE_EXPIRY_MS)
        .unwrap_or(0)
}

/// How a teammate's device is reached: "direct, 12 ms", "via relay, 80 ms", or "-".
pub fn path_text(p: &peercoach_node::api::PeerStatus) -> String {
    let how = match (p.path.as_deref(), &p.relay_url) {
        (Some("direct"), _) => "direct".to_owned(),
        (Some("relay"), Some(url)) => format!("via relay {url}"),
        (Some("relay"), None) => "via relay".to_owned(),
        (Some(other), _) => other.to_owned(),
        (None, _) => return "-".to_owned(),
    };
    match p.rtt_ms {
        Some(ms) => format!("{how}, {ms} ms"),
        None => how,
    }
}

/// My own devices, each but this one with a button that removes it: a lost laptop, or a
/// device that joined as me and is not mine.
fn my_devices_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    let Some(me) = cx.snap.me.clone() else { return };
    let Some(member) = cx.snap.team.members.get(&me) else {
        return;
    };
    let this = cx.derived.status.as_ref().map(|s| s.endpoint_id);
    let devices: Vec<_> = member
        .devices
        .iter()
        .filter(|d| d.is_active())
        .map(|d| {
            let is_this = d.endpoint.is_some() && d.endpoint == this;
            (d.actor.clone(), d.label.clone(), d.added_ms, is_this)
        })
        .collect();
    theme::card(ui, |ui| {
        ui.label(RichText::new("My devices").strong());
        ui.label(
            RichText::new(
                "Each of these reads everything you can, your private notes included, and speaks \
                 for you.",
            )
            .color(theme::muted(ui)),
        );
        for (actor, label, added_ms, is_this) in devices {
            let name = match (label.is_empty(), is_this) {
                (false, _) => label,
                (true, true) => "This device".to_owned(),
                (true, false) => "A device without a name".to_owned(),
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{name}, added {}", local::datetime(added_ms)));
                if is_this {
                    ui.label(RichText::new("(the one you are using)").color(theme::muted(ui)));
                } else if cx.can_act() && ui.button(format!("Remove {name}")).clicked() {
                    cx.apply(
                        peercoach_core::Command::RemoveDevice { device: actor },
                        format!("{name} was removed: it is refused from now on"),
                    );
                }
            });
        }
    });
}
