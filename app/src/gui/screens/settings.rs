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
    theme::card(ui, |ui| {
        ui.label(RichText::new("Network").strong());
        ui.label(
            RichText::new("Changes take effect the next time peercoach starts.")
                .color(theme::muted(ui)),
        );
        if cx.loopback_only {
            ui.colored_label(theme::WARN, "Running in loopback-only mode now (127.0.0.1 only; no relays, discovery or port mapping).");
        }
        let Some(mut n) = cx.drafts.network.clone() else {
            ui.label("Loading…");
            return;
        };
        ui.checkbox(
            &mut n.loopback_only,
            "Loopback only (this machine only: for tests and demos)",
        );
        ui.add_enabled_ui(!n.loopback_only, |ui| {
            ui.checkbox(
                &mut n.lan_discovery,
                "Find teammates on the local network (mDNS)",
            );
            ui.checkbox(
                &mut n.relays,
                "Use relays to get through firewalls and NATs",
            );
            ui.add_enabled_ui(n.relays, |ui| {
                theme::text_field(
                    ui,
                    "Relay URL (empty: n0's public relays)",
                    &mut cx.drafts.relay_url,
                    "https://relay.example.org",
                );
            });
            ui.checkbox(
                &mut n.port_mapping,
                "Ask the router to forward a port (UPnP / NAT-PMP)",
            );
        });
        let url = cx.drafts.relay_url.trim();
        n.relay_url = (!url.is_empty()).then(|| url.to_owned());
        let changed = Some(&n) != cx.drafts.network.as_ref();
        cx.drafts.network = Some(n.clone());
        if ui
            .add_enabled(
                changed || !url.is_empty(),
                egui::Button::new("Save network settings"),
            )
            .clicked()
        {
            cx.outbox
                .push((Request::Network { set: Some(n) }, Purpose::Network));
        }
    });
}
