//! Text output for people. With `--json`, a query prints its reply as the node sent it
//! and a command prints `{"id", "summary"}` (see `run.rs`).

use std::fmt::Write;

use crate::local;
use peercoach_core::metrics::{Figure, Metrics};
use peercoach_core::time::{DAY_MS, format_date, format_span};
use peercoach_core::views::SessionRow;
use peercoach_core::views::{BoardRow, HistoryItem, Inbox, OfferRow};
use peercoach_node::api::{MemberRow, RotaReply, StatusReply, TeamEntry};

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The help board.
pub fn board(rows: &[BoardRow], at_ms: i64, now_ms: i64) -> String {
    let mut out = String::new();
    if at_ms < now_ms - 60_000 {
        let _ = writeln!(
            out,
            "The board as it stood on {} (read-only):",
            local::datetime(at_ms)
        );
    }
    if rows.is_empty() {
        out.push_str("Nobody is waiting for help.\n");
        return out;
    }
    for r in rows {
        let mut notes = Vec::new();
        if r.first_time {
            notes.push("first time asking".to_string());
        }
        if let Some(to) = &r.to_name {
            notes.push(format!("for {to}"));
        }
        if let Some(c) = &r.claimed_by {
            notes.push(format!("{c} is on it"));
        }
        if r.pending_offers > 0 {
            notes.push(format!(
                "{} waiting",
                plural(r.pending_offers, "offer", "offers")
            ));
        }
        if !r.skills.is_empty() {
            notes.push(r.skills.join(", "));
        }
        let _ = writeln!(
            out,
            "{}  [{:<6}] {:<12} {} — {} (waiting {}){}",
            short(r.id.as_str()),
            r.urgency.as_str(),
            r.status.label(),
            r.title,
            r.author_name,
            format_span(r.waiting_ms),
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        );
    }
    out
}

fn offer_line(o: &OfferRow, mine: bool) -> String {
    let who = if mine {
        format!("to {}", o.to_name)
    } else {
        format!("from {}", o.from_name)
    };
    let mut line = format!(
        "{}  {} — \"Would you like some help?\" ({})",
        short(o.id.as_str()),
        who,
        o.topic
    );
    if o.message_hidden {
        line.push_str(" [advice waits for a yes]");
    }
    if let Some(m) = &o.message {
        let _ = write!(line, "\n          advice: {m}");
    }
    line
}

/// My inbox.
pub fn inbox(inbox: &Inbox) -> String {
    let mut out = String::new();
    if inbox.is_empty() {
        out.push_str("Nothing needs you right now.\n");
        return out;
    }
    if !inbox.offers_to_answer.is_empty() {
        out.push_str("Offers waiting for your answer (peercoach respond ID yes|not-now):\n");
        for o in &inbox.offers_to_answer {
            let _ = writeln!(out, "  {}", offer_line(o, false));
        }
    }
    if !inbox.asks.is_empty() {
        out.push_str("Asked of you (peercoach respond WEEK|DUTY yes|not-now):\n");
        for a in &inbox.asks {
            let id = match &a.asked {
                peercoach_core::views::Asked::Rota { week } => week.clone(),
                peercoach_core::views::Asked::Apprentice { duty, .. } => {
                    short(duty.as_str()).to_owned()
                }
            };
            let _ = writeln!(out, "  {id}  {}", a.text());
        }
    }
    if !inbox.requests_for_me.is_empty() {
        out.push_str("Requests aimed at you:\n");
        for r in &inbox.requests_for_me {
            let _ = writeln!(
                out,
                "  {}  {} — {} (waiting {})",
                short(r.id.as_str()),
                r.title,
                r.author_name,
                format_span(r.waiting_ms)
            );
        }
    }
    if !inbox.accepted_offers.is_empty() {
        out.push_str(
            "They said yes — find a time (peercoach meet show ID), then log the session:\n",
        );
        for o in &inbox.accepted_offers {
            let _ = writeln!(out, "  {}", offer_line(o, true));
            if let Some(line) = meet_line(o) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if !inbox.agreed.is_empty() {
        out.push_str(
            "You said yes — find a time (peercoach meet show ID), then log the session or thank them:\n",
        );
        for o in &inbox.agreed {
            let _ = writeln!(
                out,
                "  {}  {} offered help with {}{}",
                short(o.id.as_str()),
                o.from_name,
                o.topic,
                o.message
                    .as_ref()
                    .map(|m| format!("\n      their advice: {m}"))
                    .unwrap_or_default()
            );
            if let Some(line) = meet_line(o) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if !inbox.after_sessions.is_empty() {
        out.push_str("After your sessions:\n");
        for a in &inbox.after_sessions {
            let _ = writeln!(
                out,
                "  {}  {} coached you: {}",
                short(a.session.as_str()),
                a.coach_name,
                a.topic
            );
            if a.thank {
                let _ = writeln!(
                    out,
                    "      thank them: peercoach thank {} TEXT --session {}",
                    a.coach_name,
                    short(a.session.as_str())
                );
            }
            if let Some((request, title)) = &a.resolve {
                let _ = writeln!(
                    out,
                    "      \"{title}\" is still open: peercoach resolve {}",
                    short(request.as_str())
                );
            }
        }
    }
    if !inbox.followups.is_empty() {
        out.push_str("Your follow-ups:\n");
        for u in &inbox.followups {
            let due = u
                .due_ms
                .map(|d| format!(" (due {})", local::date(d)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {}{due} — from \"{}\" with {}",
                short(u.id.as_str()),
                u.text,
                u.topic,
                u.with_name
            );
        }
    }
    if !inbox.thanks.is_empty() {
        out.push_str("Thanks you received:\n");
        for t in &inbox.thanks {
            let _ = writeln!(
                out,
                "  {} — {}: {}",
                local::date(t.at_ms),
                t.from_name,
                t.text
            );
        }
    }
    if !inbox.lost_claims.is_empty() {
        out.push_str("Claims that went to someone else first:\n");
        for c in &inbox.lost_claims {
            let _ = writeln!(
                out,
                "  {}  {} — {} claimed it earlier",
                short(c.request.as_str()),
                c.title,
                c.winner_name
            );
        }
    }
    out
}

/// Offers.
pub fn offers(rows: &[OfferRow]) -> String {
    if rows.is_empty() {
        return "No offers yet.\n".into();
    }
    let mut out = String::new();
    for o in rows {
        let _ = writeln!(
            out,
            "{}  {} → {}  [{}] {}{}",
            short(o.id.as_str()),
            o.from_name,
            o.to_name,
            o.status.as_str(),
            o.topic,
            o.message
                .as_ref()
                .map(|m| format!(" — advice: {m}"))
                .unwrap_or_else(|| if o.message_hidden {
                    " — advice waits for a yes".into()
                } else {
                    String::new()
                })
        );
    }
    out
}

/// Search results, by kind: each with its id to open, when, its title and the words
/// around the match.
pub fn search(groups: &[peercoach_core::search::Group], words: &str) -> String {
    use peercoach_core::search::Opens;
    if groups.is_empty() {
        return format!("Nothing you may read has all of: {words}\n");
    }
    let mut out = String::new();
    for g in groups {
        let more = if g.total > g.hits.len() {
            format!(" (newest {} of {})", g.hits.len(), g.total)
        } else {
            format!(" ({})", g.total)
        };
        let _ = writeln!(out, "{}{more}:", g.kind.label());
        for h in &g.hits {
            let id = match &h.opens {
                Opens::Request(id) => format!("request {}", short(id.as_str())),
                Opens::Offer(id) => format!("offer {}", short(id.as_str())),
                Opens::Session(id) => format!("session {}", short(id.as_str())),
                Opens::Duty(id) => format!("duty {}", short(id.as_str())),
                Opens::Note(id) => format!("note {}", short(id.as_str())),
            };
            let _ = writeln!(out, "  {}  {}  {}", local::date(h.at_ms), h.title, id);
            if !h.snippet.is_empty() && !h.title.contains(&h.snippet) {
                let _ = writeln!(out, "      {}", h.snippet);
            }
        }
    }
    out
}

/// One line on finding a time, for the inbox: times waiting for a pick, or none working.
fn meet_line(o: &OfferRow) -> Option<String> {
    use peercoach_core::records::meet::Meet;
    let name = |m: &peercoach_core::MemberId| o.name_of(m);
    match &o.meet {
        Meet::Proposed(p) => Some(format!(
            "{} proposed {}: peercoach meet accept {} N",
            name(&p.by),
            p.times
                .iter()
                .map(|t| local::datetime(*t))
                .collect::<Vec<_>>()
                .join(", "),
            short(o.id.as_str())
        )),
        Meet::NoneWork { by, .. } => Some(format!(
            "none of the times work for {}: peercoach meet propose {}",
            name(by),
            short(o.id.as_str())
        )),
        Meet::Agreed { .. } | Meet::Open => None,
    }
}

/// Where finding a time stands after a yes, and the times that suit both people.
pub fn meet(o: &OfferRow, suggested: &[i64]) -> String {
    use peercoach_core::records::meet::Meet;
    let mut out = format!(
        "{} → {}: {} [{}]\n",
        o.from_name,
        o.to_name,
        o.topic,
        o.status.as_str()
    );
    let name = |m: &peercoach_core::MemberId| o.name_of(m);
    let list = |times: &[i64]| {
        times
            .iter()
            .enumerate()
            .map(|(i, t)| format!("  {}) {}\n", i + 1, local::datetime(*t)))
            .collect::<String>()
    };
    match &o.meet {
        Meet::Open => out.push_str("No time proposed yet.\n"),
        Meet::Proposed(p) => {
            let _ = write!(
                out,
                "{} proposed ({} minutes), waiting for a pick:\n{}",
                name(&p.by),
                p.minutes,
                list(&p.times)
            );
        }
        Meet::Agreed { at_ms, by, .. } if o.session_logged => {
            let _ = writeln!(
                out,
                "Agreed: {} (picked by {}). The session is scheduled.",
                local::datetime(*at_ms),
                name(by)
            );
        }
        Meet::Agreed { at_ms, .. } => {
            let _ = writeln!(
                out,
                "The session agreed for {} was cancelled: propose new times.",
                local::datetime(*at_ms)
            );
        }
        Meet::NoneWork { by, proposal, .. } => {
            let _ = write!(
                out,
                "None of these work for {}:\n{}",
                name(by),
                list(&proposal.times)
            );
        }
    }
    if o.status == peercoach_core::OfferStatus::Accepted && !o.session_logged {
        if suggested.is_empty() {
            out.push_str(
                "No time in the next two weeks suits you both (availability, snoozes, sessions).\n",
            );
        } else {
            let _ = write!(out, "Times that suit you both:\n{}", list(suggested));
        }
    }
    out
}

/// Where the device's calendar file is, and how to subscribe to it.
pub fn calendar_help(path: &str) -> String {
    format!(
        "This device's calendar: {path}\n\
         It holds the team coaching hour, your scheduled sessions and your follow-ups with \
         a due date, and is rewritten whenever they change.\n\
         Subscribe to it (importing copies it once): in Evolution (which GNOME Calendar \
         shares) File → New → Calendar, type On the Web, URL file://{path}; in Thunderbird \
         New Calendar → On the Network → iCalendar, location file://{path}.\n"
    )
}

fn figure(f: &Figure, fmt: impl Fn(f64) -> String) -> String {
    f.show(fmt)
}

/// Group metrics.
pub fn metrics(m: &Metrics) -> String {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let span = |v: f64| format_span(v as i64);
    let num = |v: f64| format!("{v:.2}");
    let count = |v: f64| format!("{v:.0}");
    let mut out = format!(
        "How we help each other — {} to {} ({} days; a figure needs ≥ {} people)\n\n",
        format_date(m.window_start_ms),
        format_date(m.window_end_ms),
        (m.window_end_ms - m.window_start_ms) / DAY_MS,
        m.min_contributors
    );
    let rows: [(&str, String); 14] = [
        (
            "Median time to help",
            figure(&m.time_to_help_median_ms, span),
        ),
        (
            "80th percentile time to help",
            figure(&m.time_to_help_p80_ms, span),
        ),
        (
            "Helped within a working day",
            figure(&m.answered_within_working_day, pct),
        ),
        ("Asks per member per week", figure(&m.ask_rate, num)),
        (
            "Consent rate (offers answered yes)",
            figure(&m.consent_rate, pct),
        ),
        (
            "Follow-through (yes to a session in 2 weeks)",
            figure(&m.follow_through, pct),
        ),
        (
            "Reciprocity (gave and received)",
            figure(&m.reciprocity, pct),
        ),
        (
            "Role reversals (pairs both ways)",
            figure(&m.role_reversal_rate, pct),
        ),
        (
            "Largest connected group",
            figure(&m.largest_group_share, pct),
        ),
        (
            "Members with no coaching link",
            figure(&m.isolated_members, count),
        ),
        (
            "Helper concentration (Gini)",
            figure(&m.helper_concentration, num),
        ),
        ("Skills with ≥ 2 coaches", figure(&m.skill_coverage, pct)),
        (
            "Duties with a trained backfill",
            figure(&m.backfill_coverage, pct),
        ),
        (
            "Skills only one person can do",
            figure(&m.bus_factor_one_skills, count),
        ),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "  {label:<38} {value}");
    }
    let _ = writeln!(
        out,
        "\n  {}, {}, {} in the window.",
        plural(m.requests, "request", "requests"),
        plural(m.offers, "offer", "offers"),
        plural(m.sessions, "session", "sessions")
    );
    out.push_str(
        "\nTeam level only: there is deliberately no per-person ranking. Every member's device \
         holds the whole team document, so this is a product rule, not a privacy guarantee.\n",
    );
    out
}

/// History.
pub fn history(items: &[HistoryItem]) -> String {
    let mut out = String::new();
    for h in items {
        let flag = if h.kind == peercoach_core::views::HistoryKind::Forged {
            "⚠ "
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{}  {flag}{} {}",
            local::datetime(h.at_ms),
            h.who_name,
            h.text
        );
    }
    if items.is_empty() {
        out.push_str("Nothing has happened yet.\n");
    }
    out
}

/// Members.
pub fn members(rows: &[MemberRow]) -> String {
    let mut out = String::new();
    for m in rows {
        let skills: Vec<String> = m
            .skills
            .iter()
            .map(|(s, l)| format!("{s} ({})", l.label()))
            .collect();
        let _ = writeln!(
            out,
            "{}  {}{}{}",
            short(&m.id),
            m.name,
            if m.me { " (you)" } else { "" },
            m.snoozed_until_ms
                .map(|t| format!(" — snoozed until {}", local::date(t)))
                .unwrap_or_default()
        );
        if !skills.is_empty() {
            let _ = writeln!(out, "          skills: {}", skills.join(", "));
        }
        if !m.wants_to_learn.is_empty() {
            let _ = writeln!(
                out,
                "          wants to learn: {}",
                m.wants_to_learn.join(", ")
            );
        }
        if !m.availability.is_empty() {
            let _ = writeln!(out, "          availability: {}", m.availability);
        }
    }
    out
}

/// Sessions.
pub fn sessions(rows: &[SessionRow]) -> String {
    if rows.is_empty() {
        return "No sessions logged yet.\n".into();
    }
    let mut out = String::new();
    for s in rows {
        let _ = writeln!(
            out,
            "{}  {}  {} coached {}: {} ({} min){}",
            short(s.id.as_str()),
            local::date(s.at_ms),
            s.coach_name,
            s.coachee_name,
            s.topic,
            s.minutes,
            if s.reversal {
                " — coached each other both ways ↔"
            } else {
                ""
            }
        );
        if !s.learning.is_empty() {
            let _ = writeln!(out, "          learning: {}", s.learning);
        }
        for u in &s.followups {
            let _ = writeln!(
                out,
                "          [{}] {} {} ({})",
                if u.done { "x" } else { " " },
                short(u.id.as_str()),
                u.text,
                u.owner_name
            );
        }
    }
    out
}

/// Rota and coaching hour.
pub fn rota(r: &RotaReply, now_ms: i64) -> String {
    let mut out = format!(
        "Floating in {}: {}\n",
        r.week,
        if r.floating.is_empty() {
            "nobody yet".into()
        } else {
            r.floating.join(", ")
        }
    );
    if !r.asked.is_empty() {
        let _ = writeln!(out, "Asked, waiting for a yes: {}", r.asked.join(", "));
    }
    let _ = writeln!(out, "Coaching hour: {}", coaching_hour(r, now_ms));
    out
}

/// The coaching hour on this device's clock at `now_ms`, as far as the reply tells.
pub fn coaching_hour(r: &RotaReply, now_ms: i64) -> String {
    match (&r.hour, &r.coaching_hour) {
        (Some(hour), _) => local::describe_hour(hour, now_ms),
        (None, Some(described)) => described.clone(),
        (None, None) => "not set".to_owned(),
    }
}

/// Closed requests: when, how, whose, and the id to reopen one by.
pub fn closed(rows: &[peercoach_core::views::ClosedRow]) -> String {
    if rows.is_empty() {
        return "No resolved or withdrawn requests.\n".to_owned();
    }
    rows.iter()
        .map(|r| {
            format!(
                "{}  {} {}: {} (asked by {})\n",
                r.id,
                local::date(r.closed_ms),
                r.closed.as_str(),
                r.title,
                r.author_name
            )
        })
        .collect()
}

/// Who could help with a request, one per line with why.
pub fn suggestions(rows: &[peercoach_core::suggest::Suggestion]) -> String {
    if rows.is_empty() {
        return "Nobody to suggest: no current teammate who is not snoozed or already asked \
                can coach or do one of its skills.\n"
            .to_owned();
    }
    rows.iter()
        .map(|s| format!("{}: {}\n", s.name, s.why_line()))
        .collect()
}

/// Teams.
pub fn teams(rows: &[TeamEntry]) -> String {
    if rows.is_empty() {
        return "No teams yet: peercoach init --name NAME --team TEAM\n".into();
    }
    let mut out = String::new();
    for t in rows {
        let _ = writeln!(
            out,
            "{} {}  {} ({}){}",
            if t.current { "*" } else { " " },
            short(&t.id),
            t.name,
            plural(t.members, "member", "members"),
            if t.me.is_none() {
                " — you are not a member (read-only)"
            } else {
                ""
            }
        );
    }
    out
}

/// Sync status.
pub fn status(s: &StatusReply) -> String {
    let mut out = format!(
        "This device: {}\n  network: {}\n  listening on {}\n  relay: {}\n",
        s.endpoint_id,
        peercoach_store::NetworkMode::parse(&s.mode).map_or(s.mode.as_str(), |m| m.title()),
        s.addrs.join(", "),
        s.relay_url.as_deref().unwrap_or("none")
    );
    if s.relays.len() > 1 {
        for r in &s.relays {
            let _ = writeln!(out, "    {}", relay_state(r));
        }
    }
    if let Some(problem) = &s.relay_problem {
        let _ = writeln!(out, "  problem: {problem}");
    }
    if let Some(cut_off) = cut_off(s) {
        let _ = writeln!(out, "  {cut_off}");
    }
    if s.another_copy_running {
        let _ = writeln!(out, "  warning: {ANOTHER_COPY}");
    }
    if s.peers.is_empty() {
        out.push_str(
            "No other devices in this team yet: invite someone with `peercoach invite`.\n",
        );
        return out;
    }
    for p in &s.peers {
        let path = match (&p.path, p.rtt_ms) {
            (Some(path), Some(rtt)) => format!("{path}, {rtt} ms"),
            (Some(path), None) => path.clone(),
            (None, _) => "-".into(),
        };
        let path = match (p.path.as_deref(), &p.relay_url) {
            (Some("relay"), Some(url)) => format!("{path} ({url})"),
            _ => path,
        };
        let _ = writeln!(
            out,
            "{:<20} {}  {}  {:<16}  last synced {}  {}",
            p.name,
            &p.endpoint_id.short(),
            if p.connected { "online " } else { "offline" },
            path,
            p.last_synced_ms
                .map(local::datetime)
                .unwrap_or_else(|| "never".into()),
            if p.has_all_my_changes {
                "has all my changes"
            } else {
                "missing some of my changes"
            }
        );
        if p.no_progress_ticks > 0 {
            let _ = writeln!(out, "{:<20} {}", "", no_progress(p.no_progress_ticks));
        }
        if p.older_app {
            let _ = writeln!(out, "{:<20} {}", "", OLDER_APP);
        }
        for r in &p.refused {
            let _ = writeln!(out, "{:<20} {}", "", refused(r));
        }
    }
    out
}

/// My devices, one per line: id, label, when linked, which one this is.
pub fn devices(devices: &[peercoach_node::api::DeviceRow]) -> String {
    let mut out = String::new();
    for d in devices {
        let label = if d.label.is_empty() {
            "(no name)"
        } else {
            d.label.as_str()
        };
        let _ = writeln!(
            out,
            "{}  {label:<20} linked {}{}{}",
            &d.actor.as_str()[..8.min(d.actor.as_str().len())],
            local::datetime(d.added_ms),
            if d.this_device { "  (this device)" } else { "" },
            d.removed_ms
                .map(|t| format!("  removed {}", local::datetime(t)))
                .unwrap_or_default()
        );
    }
    out
}

/// Another copy of this device running, in words.
pub const ANOTHER_COPY: &str = "another copy of this device is running (its data folder restored from a backup or copied to another computer); both keep working, but stop one of them: they compete for the same connections";

/// A peer whose app predates signed changes, in words.
pub const OLDER_APP: &str = "runs an older peercoach: it gets every change, but its own edits reach the team only once it updates";

/// A change a device sent that was refused, in words.
pub fn refused(r: &peercoach_node::sync::RefusedChange) -> String {
    match &r.change {
        Some(c) => format!("refused its change {c}: {}", r.reason),
        None => format!("refused what it sent: {}", r.reason),
    }
}

/// A peer's sync that has not moved for a while, in words: how long, and when it starts
/// afresh (at the latest: a reset that did not help doubles the wait).
pub fn no_progress(ticks: u32) -> String {
    format!(
        "sync has not moved for {} s; it starts afresh after {} s without progress",
        u64::from(ticks) * 2,
        u64::from(peercoach_node::sync::STALL_TICKS) * 2
    )
}

/// Network settings as JSON, with the relay token shown only as set or not.
pub fn network_json(n: &peercoach_store::NetworkSettings) -> serde_json::Value {
    serde_json::json!({
        "mode": n.mode.as_str(),
        "relays": n.relays.iter().map(|r| serde_json::json!({
            "url": r.url,
            "token": if r.token.is_some() { "set" } else { "not set" },
        })).collect::<Vec<_>>(),
        "port": n.port,
    })
}

/// Network settings.
pub fn network(n: &peercoach_store::NetworkSettings) -> String {
    let relay = match (n.relays.as_slice(), n.mode) {
        ([], peercoach_store::NetworkMode::Anywhere) => {
            "the team's relays if it set any, else n0's public relays".into()
        }
        ([], peercoach_store::NetworkMode::TeamRelay) => "the team's relays".into(),
        ([], _) => "none".into(),
        (list, _) => list
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r.url,
                    if r.token.is_some() {
                        " (with a token)"
                    } else {
                        ""
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "mode: {} ({})\n  {}\nrelay: {relay}\nport: {}\n",
        n.mode.title(),
        n.mode.as_str(),
        n.mode.reveals(),
        if n.port == 0 {
            "any".into()
        } else {
            n.port.to_string()
        }
    )
}

/// My private notes, newest first; `subjects` names the sessions and requests they are
/// about.
pub fn notes(
    notes: &[peercoach_core::notes::Note],
    subjects: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut out =
        String::from("Private notes: only you can read these; they are kept on your devices.\n");
    if notes.is_empty() {
        out.push_str("None yet: `peercoach note add TEXT [--session ID | --request ID]`.\n");
        return out;
    }
    for n in notes {
        let about = n
            .session
            .as_ref()
            .map(|s| s.to_string())
            .or_else(|| n.request.as_ref().map(|r| r.to_string()))
            .map(|id| {
                let name = subjects
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| short(&id).to_owned());
                format!(" (on {name})")
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {}{about}\n    {}",
            n.id.short(),
            local::date(n.created_ms),
            n.text.replace('\n', "\n    ")
        );
    }
    out
}

/// One relay of this device's list in words: `https://r.example/ (home, answers)`.
pub fn relay_state(r: &peercoach_node::api::RelayStatus) -> String {
    let mut notes = Vec::new();
    if r.home {
        notes.push("home");
    }
    notes.push(match r.answers {
        Some(true) => "answers",
        Some(false) => "does not answer",
        None => "not checked yet",
    });
    if r.fallback {
        notes.push("n0's, while none of the list answers");
    }
    if let Some(why) = &r.refused {
        notes.push("refused this device: check its token");
        return format!("{} ({}; {why})", r.url, notes.join(", "));
    }
    format!("{} ({})", r.url, notes.join(", "))
}

/// When no relay answers and some teammates' devices cannot be reached directly: who is
/// cut off, and what to try. `None` while a relay answers or everyone is reached.
pub fn cut_off(s: &StatusReply) -> Option<String> {
    let uses_relays = matches!(s.mode.as_str(), "anywhere" | "team-relay");
    let none_answers = if s.relays.is_empty() {
        s.relay_url.is_none() && s.relay_problem.is_some()
    } else {
        s.relays.iter().all(|r| r.answers == Some(false))
    };
    let unreached: std::collections::BTreeSet<&str> = s
        .peers
        .iter()
        .filter(|p| !p.connected)
        .map(|p| p.name.as_str())
        .collect();
    if !uses_relays || !none_answers {
        return None;
    }
    if unreached.is_empty() {
        return None;
    }
    let names: Vec<&str> = unreached.into_iter().collect();
    let who = peercoach_core::alerts::join_words(&names);
    Some(format!(
        "No relay answers now, and {who} cannot be reached directly: edits wait here until a \
         relay answers or you are on the same network. Check that the relay machine is \
         switched on and reachable, or add a second relay (Settings, or `peercoach network \
         --add-team-relay URL`) so that one outage does not cut the team off."
    ))
}

/// A count with its noun: "1 offer", "3 offers", "0 offers".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A message as a sentence: its first letter a capital. Errors from the libraries below
/// start in lower case, as Rust's errors do, to read well inside other messages; shown
/// on their own, they start as a sentence does.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What can be restored, most recently deleted first.
pub fn trash(items: &[peercoach_core::trash::Trashed]) -> String {
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("The trash is empty: nothing was deleted in the last 30 days.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "In the trash (restore with `peercoach restore ID`; kept for {} days):",
        peercoach_core::trash::KEEP_DAYS
    );
    for t in items {
        let _ = writeln!(
            out,
            "{}  {:<12} {}\n    deleted {}, restorable until {}",
            short(t.record.as_str()),
            t.what,
            t.title,
            local::datetime(t.deleted_ms),
            local::date(t.until_ms),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_shown_alone_starts_with_a_capital() {
        assert_eq!(
            sentence("ticket is not valid: bad checksum"),
            "Ticket is not valid: bad checksum"
        );
        assert_eq!(sentence("Already"), "Already");
        assert_eq!(sentence("ö-umlaut first"), "Ö-umlaut first");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn counts_take_the_right_plural() {
        assert_eq!(plural(0, "offer", "offers"), "0 offers");
        assert_eq!(plural(1, "offer", "offers"), "1 offer");
        assert_eq!(plural(2, "duty", "duties"), "2 duties");
        assert_eq!(plural(1, "duty", "duties"), "1 duty");
    }
}
