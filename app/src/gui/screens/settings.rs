//! Settings: name, data dir, network mode, theme.

use egui::RichText;
use peercoach_core::Command;
use peercoach_node::api::Request;

use crate::gui::app::{Cx, Purpose};
use crate::gui::theme;

/// The settings screen.
pub fn settings_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    theme::title(ui, "Settings", "");
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        theme::card(ui, |ui| {
            ui.label(RichText::new("You").strong());
            if cx.drafts.name.is_empty()
                && let Some(me) = &cx.snap.me
            {
                cx.drafts.name = cx.snap.team.name_of(me);
            }
            theme::text_field(ui, "Display name", &mut cx.drafts.name, "Your name");
            if ui.add_enabled(cx.can_act() && !cx.drafts.name.trim().is_empty(), egui::Button::new("Save name")).clicked() {
                cx.apply(Command::SetProfile { name: Some(cx.drafts.name.trim().to_owned()), availability: None }, "Name saved");
            }
        });
        ui.add_space(theme::GAP);
        theme::card(ui, |ui| {
            ui.label(RichText::new("Appearance").strong());
            ui.horizontal(|ui| {
                ui.radio_value(&mut cx.prefs.dark, true, "Dark");
                ui.radio_value(&mut cx.prefs.dark, false, "Light");
            });
        });
        ui.add_space(theme::GAP);
        theme::card(ui, |ui| {
            ui.label(RichText::new("Data").strong());
            ui.label(format!("Data directory: {}", cx.data_dir.display()));
            ui.label(RichText::new("Everything this device knows lives here: your key, the team documents and their change logs.").color(theme::muted(ui)));
        });
        ui.add_space(theme::GAP);
        network_ui(ui, cx);
    });
}

fn network_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    use peercoach_store::NetworkMode;
    theme::card(ui, |ui| {
        ui.label(RichText::new("Network").strong());
        ui.label(
            RichText::new("How this device reaches your teammates. A change applies at once: the app sets up its connections again.")
                .color(theme::muted(ui)),
        );
        if cx.loopback_only {
            ui.colored_label(
                theme::WARN,
                "In force now: Loopback only, because PEERCOACH_LOOPBACK is set (or the app was started with --loopback-only). Your choice below applies once the app runs without it.",
            );
        }
        let Some(mut n) = cx.drafts.network.clone() else {
            ui.label("Loading…");
            return;
        };
        mode_choice_ui(ui, &mut n.mode);
        ui.add_space(theme::GAP);
        ui.add_enabled_ui(
            matches!(n.mode, NetworkMode::Anywhere | NetworkMode::TeamRelay),
            |ui| {
                theme::text_field(
                    ui,
                    "This device's relay (empty: the team's relay, else n0's public relays)",
                    &mut cx.drafts.relay_url,
                    "https://relay.example.org",
                );
                theme::text_field(
                    ui,
                    "Relay token (if the relay asks for one)",
                    &mut cx.drafts.relay_token,
                    "",
                );
            },
        );
        let url = cx.drafts.relay_url.trim();
        n.relay_url = (!url.is_empty()).then(|| url.to_owned());
        let token = cx.drafts.relay_token.trim();
        n.relay_token = (!token.is_empty() && n.relay_url.is_some()).then(|| token.to_owned());
        let changed = Some(&n) != cx.drafts.saved_network.as_ref();
        cx.drafts.network = Some(n.clone());
        if ui
            .add_enabled(changed, egui::Button::new("Apply network settings"))
            .clicked()
        {
            cx.outbox
                .push((Request::Network { set: Some(n) }, Purpose::Network));
        }
    });
    ui.add_space(theme::GAP);
    theme::card(ui, |ui| {
        ui.label(RichText::new("Team relay").strong());
        ui.label(
            RichText::new("A relay your team runs itself (iroh-relay on any spare machine). Set here, it is saved in the team and every member's device uses it, unless that device set a relay of its own. It stores nothing and sees only encrypted traffic.")
                .color(theme::muted(ui)),
        );
        let current = cx.snap.team.relay.clone();
        ui.label(match &current {
            Some(r) => format!(
                "In use by the team: {}{}",
                r.url,
                if r.token.is_some() {
                    " (with a token)"
                } else {
                    ""
                }
            ),
            None => "The team has no relay of its own.".to_owned(),
        });
        theme::text_field(
            ui,
            "Team relay URL",
            &mut cx.drafts.team_relay,
            "https://relay.example.org",
        );
        theme::text_field(
            ui,
            "Team relay token (optional)",
            &mut cx.drafts.team_relay_token,
            "",
        );
        ui.horizontal(|ui| {
            let url = cx.drafts.team_relay.trim().to_owned();
            if ui
                .add_enabled(
                    cx.can_act() && !url.is_empty(),
                    egui::Button::new("Set team relay"),
                )
                .clicked()
            {
                let token = cx.drafts.team_relay_token.trim();
                cx.apply(
                    Command::SetTeamRelay {
                        url: Some(url),
                        token: (!token.is_empty()).then(|| token.to_owned()),
                    },
                    "Team relay set: every member's device will use it",
                );
            }
            if ui
                .add_enabled(
                    cx.can_act() && current.is_some(),
                    egui::Button::new("Stop using a team relay"),
                )
                .clicked()
            {
                cx.apply(
                    Command::SetTeamRelay {
                        url: None,
                        token: None,
                    },
                    "The team uses no relay of its own",
                );
            }
        });
    });
}

/// The four network modes, each with one line on what it reveals and to whom (Settings
/// and the first-run screen).
pub fn mode_choice_ui(ui: &mut egui::Ui, mode: &mut peercoach_store::NetworkMode) {
    for choice in peercoach_store::NetworkMode::ALL {
        ui.radio_value(mode, choice, RichText::new(choice.title()).strong());
        ui.indent(choice.as_str(), |ui| {
            ui.label(RichText::new(choice.reveals()).color(theme::muted(ui)));
        });
    }
}
