//! Running CLI subcommands against a [`Client`]: resolve what the user typed, build a
//! typed command, send it, print the reply.

use peercoach_core::{NewDuty, NewFollowUp, NewOffer, NewRequest, NewSession, NewThanks};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use peercoach_core::records::meet::Meet;
use peercoach_core::{
    Command, DutyId, FollowUpId, MemberId, OfferId, RecordId, RequestId, SessionId, TeamId,
};
use peercoach_node::api::call::{self, Call, query};
use peercoach_node::api::{CalendarWhat, Ref, RefKind, Reply, b64, unb64};
use serde_json::json;

use crate::cli::{
    CalendarCmd, Cmd, DutyCmd, EditCmd, FollowupCmd, MeetCmd, NetworkArgs, NoteCmd, RotaCmd,
    SessionCmd, TrashCmd,
};
use crate::client::Client;
use crate::output;

/// Options that apply to every subcommand.
#[derive(Debug, Clone)]
pub struct Globals {
    /// Print JSON.
    pub json: bool,
    /// Team selector.
    pub team: Option<String>,
}

struct Ctx<'a> {
    client: &'a mut dyn Client,
    g: Globals,
    /// The team `--team` named, found once; `None` for the default.
    team: Option<TeamId>,
}

impl Ctx<'_> {
    /// Sends a call; its own reply, or why there is none.
    fn get<C: Call>(&mut self, call: C) -> Result<C::Reply> {
        Ok(call::reply_of::<C>(self.client.call(call.request())?)?)
    }

    /// Sends a call and prints its reply: the reply as it came with `--json`, else `text`.
    fn show<C: Call>(&mut self, call: C, text: impl FnOnce(&C::Reply) -> String) -> Result<()> {
        let reply = self.client.call(call.request())?;
        let json = if self.g.json {
            Some(serde_json::to_string_pretty(&reply)?)
        } else {
            None
        };
        let typed = call::reply_of::<C>(reply)?;
        match json {
            Some(json) => println!("{json}"),
            None => print!("{}", text(&typed)),
        }
        Ok(())
    }

    fn team(&self) -> Option<TeamId> {
        self.team.clone()
    }

    fn resolve(&mut self, kind: RefKind, text: &str) -> Result<String> {
        let mut ids = self.get(call::Resolve {
            team: self.team(),
            refs: vec![Ref {
                kind,
                text: text.to_owned(),
            }],
        })?;
        match ids.len() {
            1 => Ok(ids.remove(0)),
            n => bail!("{text:?} resolved to {n} ids"),
        }
    }

    fn member(&mut self, text: &str) -> Result<MemberId> {
        Ok(MemberId::parse(&self.resolve(RefKind::Member, text)?)?)
    }

    fn request(&mut self, text: &str) -> Result<RequestId> {
        Ok(RequestId::parse(&self.resolve(RefKind::Request, text)?)?)
    }

    fn offer(&mut self, text: &str) -> Result<OfferId> {
        Ok(OfferId::parse(&self.resolve(RefKind::Offer, text)?)?)
    }

    fn session(&mut self, text: &str) -> Result<SessionId> {
        Ok(SessionId::parse(&self.resolve(RefKind::Session, text)?)?)
    }

    fn duty(&mut self, text: &str) -> Result<DutyId> {
        Ok(DutyId::parse(&self.resolve(RefKind::Duty, text)?)?)
    }

    /// Applies a command and prints its outcome: a created id alone on stdout (easy to
    /// capture in scripts), or the summary.
    fn apply(&mut self, command: Command) -> Result<()> {
        let team = self.team();
        self.done(call::Apply { team, command })
    }

    /// Sends a call that changes something and prints its outcome, as `apply` does.
    fn done<C: Call<Reply = call::Done>>(&mut self, call: C) -> Result<()> {
        let call::Done { created, summary } = self.get(call)?;
        if self.g.json {
            println!(
                "{}",
                json!({ "id": created.as_ref().map(ToString::to_string), "summary": summary })
            );
        } else if let Some(id) = created {
            println!("{id}");
            eprintln!("{summary}");
        } else {
            println!("{summary}");
        }
        Ok(())
    }
}

/// What each session and request a note can be about is called, by id.
fn note_subjects(cx: &mut Ctx<'_>) -> Result<std::collections::BTreeMap<String, String>> {
    let mut titles = std::collections::BTreeMap::new();
    let team = cx.team();
    for s in cx.get(query::Sessions { team: team.clone() })? {
        titles.insert(s.id.to_string(), format!("session \"{}\"", s.topic));
    }
    for r in cx.get(query::Board { team, at_ms: None })?.rows {
        titles.insert(r.id.to_string(), format!("request \"{}\"", r.title));
    }
    Ok(titles)
}

/// A date typed on the command line: the start of that day on this device's clock.
fn date(s: &str) -> Result<i64> {
    crate::local::parse_date(s).ok_or_else(|| anyhow!("bad date {s:?}: expected YYYY-MM-DD"))
}

fn time_of_day(s: &str) -> Result<u32> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| anyhow!("bad time {s:?}: expected HH:MM"))?;
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| anyhow!("bad hour in {s:?}"))?,
        m.parse().map_err(|_| anyhow!("bad minute in {s:?}"))?,
    );
    if h > 23 || m > 59 {
        bail!("bad time {s:?}: expected HH:MM between 00:00 and 23:59");
    }
    Ok(h * 60 + m)
}

/// A time typed on the command line, `YYYY-MM-DD HH:MM` on this device's clock.
fn datetime(s: &str) -> Result<i64> {
    crate::local::parse_datetime(s)
        .ok_or_else(|| anyhow!("bad time {s:?}: expected YYYY-MM-DD HH:MM (this computer's clock)"))
}

/// `peercoach meet …`.
fn run_meet(cx: &mut Ctx<'_>, meet: MeetCmd) -> Result<()> {
    match meet {
        MeetCmd::Show { offer } => {
            let offer = cx.offer(&offer)?;
            let team = cx.team();
            let row = cx
                .get(query::Offers { team: team.clone() })?
                .into_iter()
                .find(|o| o.id == offer)
                .ok_or_else(|| anyhow!("no offer {offer}"))?;
            let times = cx.get(query::MeetTimes {
                team,
                offer: offer.clone(),
            })?;
            if cx.g.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "offer": row,
                        "suggested": times,
                    }))?
                );
            } else {
                print!("{}", output::meet(&row, &times));
            }
        }
        MeetCmd::Propose {
            offer,
            times,
            minutes,
        } => {
            let offer = cx.offer(&offer)?;
            let times = if times.is_empty() {
                let suggested = cx.get(query::MeetTimes {
                    team: cx.team(),
                    offer: offer.clone(),
                })?;
                if suggested.is_empty() {
                    bail!(
                        "no time in the next two weeks suits you both: give times, \
                         e.g. peercoach meet propose OFFER \"2026-12-08 10:00\""
                    );
                }
                suggested
            } else {
                times.iter().map(|t| datetime(t)).collect::<Result<_>>()?
            };
            cx.apply(Command::ProposeTimes {
                offer,
                times,
                minutes,
            })?;
        }
        MeetCmd::Accept { offer, time } => {
            let offer = cx.offer(&offer)?;
            let row = cx
                .get(query::Offers { team: cx.team() })?
                .into_iter()
                .find(|o| o.id == offer)
                .ok_or_else(|| anyhow!("no offer {offer}"))?;
            let proposed = match &row.meet {
                Meet::Proposed(p) => p.times.clone(),
                _ => bail!("no times wait for an answer on this offer: see peercoach meet show"),
            };
            let at_ms = match time.as_deref() {
                None if proposed.len() == 1 => proposed[0],
                None => bail!(
                    "{} times were proposed: pick one by its number (1–{}) or its time",
                    proposed.len(),
                    proposed.len()
                ),
                Some(t) => match t.parse::<usize>() {
                    Ok(n) if (1..=proposed.len()).contains(&n) => proposed[n - 1],
                    Ok(n) => bail!("there is no time number {n}: pick 1–{}", proposed.len()),
                    Err(_) => datetime(t)?,
                },
            };
            cx.apply(Command::PickTime { offer, at_ms })?;
        }
        MeetCmd::Decline { offer } => {
            let offer = cx.offer(&offer)?;
            cx.apply(Command::NoTimeWorks { offer })?;
        }
        MeetCmd::End { offer } => {
            let offer = cx.offer(&offer)?;
            cx.apply(Command::EndOffer { offer })?;
        }
    }
    Ok(())
}

/// Parses `90s`, `30m`, `24h`, `7d`, `2w` to milliseconds.
pub fn duration_ms(s: &str) -> Result<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| anyhow!("bad duration {s:?}: add a unit, e.g. 30m, 24h, 7d"))?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| anyhow!("bad duration {s:?}: expected a number then s, m, h, d or w"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => bail!("bad duration {s:?}: the unit must be s, m, h, d or w"),
    };
    n.checked_mul(unit_ms)
        .ok_or_else(|| anyhow!("bad duration {s:?}: too long"))
}

/// Runs one subcommand.
pub fn run(client: &mut dyn Client, globals: Globals, cmd: Cmd) -> Result<()> {
    let mut cx = Ctx {
        client,
        g: globals,
        team: None,
    };
    // What `--team` says is looked up once; every call after names the team by id. `init`
    // makes the team its own `--team` names.
    let makes_a_team = matches!(cmd, Cmd::Init { .. });
    if let Some(text) = cx.g.team.clone().filter(|_| !makes_a_team) {
        cx.team = Some(cx.get(call::SelectTeam { team: text })?);
    }
    match cmd {
        Cmd::Serve { .. } | Cmd::Demo { .. } => bail!("this command is run by main"),
        Cmd::Quit => {
            cx.get(call::Quit {})?;
            if !cx.g.json {
                println!("peercoach is stopping");
            }
        }
        Cmd::Reconnect => {
            cx.get(call::Reconnect {})?;
            if !cx.g.json {
                println!("reconnecting to every device of the team");
            }
        }
        Cmd::Invite { expires, device } => {
            let invited = cx.get(call::Invite {
                team: cx.team(),
                // One default for the CLI and the app's Sync screen.
                expires_in_ms: match expires {
                    Some(expires) => duration_ms(&expires)?,
                    None => peercoach_node::join::default_expiry_ms(device),
                },
                device,
            })?;
            let (ticket, expires_ms) = (&invited.ticket, &invited.expires_ms);
            if cx.g.json {
                println!("{}", json!({ "ticket": ticket, "expires_ms": expires_ms }));
            } else {
                println!("{ticket}");
                eprintln!(
                    "one-time invite{}, valid until {}; keep this device's peercoach running \
                     until they have joined",
                    if device {
                        " to link another of your devices"
                    } else {
                        ""
                    },
                    crate::local::datetime(*expires_ms)
                );
            }
        }
        Cmd::Join { ticket, name, .. } => {
            let joined = cx.get(call::Join { ticket, name })?;
            let (team_id, team_name, member_id) = (&joined.team, &joined.team_name, &joined.member);
            if cx.g.json {
                println!(
                    "{}",
                    json!({ "team_id": team_id, "team_name": team_name, "member_id": member_id })
                );
            } else {
                println!("{team_id}");
                eprintln!("joined {team_name} as member {member_id}");
            }
        }
        Cmd::Status => {
            let status = cx.get(call::Status { team: cx.team() })?;
            if cx.g.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", output::status(&status));
            }
        }
        Cmd::Network(args) => {
            // Every list and token is read and checked here, before anything is sent: a
            // token that cannot be read, a malformed or repeated URL, or a token for a
            // relay not given changes nothing.
            let current = cx.get(call::Network { set: None })?;
            let own = relay_list(
                &args.relay_url,
                &args.relay_token,
                args.relay_token_file.as_deref(),
                "--relay-url",
                &current.relays,
            )?;
            let (team_urls, team_flag) = match &args.add_team_relay {
                Some(url) => (std::slice::from_ref(url), "--add-team-relay"),
                None => (args.team_relay.as_slice(), "--team-relay"),
            };
            let team = relay_list(
                team_urls,
                &args.team_relay_token,
                args.team_relay_token_file.as_deref(),
                team_flag,
                &[],
            )?;
            if let Some(own) = &own {
                peercoach_node::connect::check_relays(own)?;
            }
            if let Some(relays) = team {
                peercoach_core::records::team_settings::check_relays(&relays)?;
                // The team's relays are a change to the team document, like any other.
                let command = match (args.add_team_relay.is_some(), relays.as_slice()) {
                    (true, [relay]) => Command::AddTeamRelay {
                        relay: relay.clone(),
                    },
                    _ => Command::SetTeamRelays { relays },
                };
                let done = cx.get(call::Apply {
                    team: cx.team(),
                    command,
                })?;
                eprintln!("{}", done.summary);
            }
            if let Some(url) = &args.remove_team_relay {
                let done = cx.get(call::Apply {
                    team: cx.team(),
                    command: Command::RemoveTeamRelay {
                        url: url.trim().to_owned(),
                    },
                })?;
                eprintln!("{}", done.summary);
            }
            let set = apply_network_args(current.clone(), &args, own);
            let now = cx.get(call::Network {
                set: (set != current).then_some(set),
            })?;
            // The token is a secret: shown as set or not, never printed.
            if cx.g.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&output::network_json(&now))?
                );
            } else {
                print!("{}", output::network(&now));
            }
        }
        Cmd::Init { name, team } => {
            let created = cx.get(call::Init {
                name,
                team_name: team,
            })?;
            let (team_id, member_id) = (&created.team, &created.member);
            if cx.g.json {
                println!("{}", json!({ "team_id": team_id, "member_id": member_id }));
            } else {
                println!("{team_id}");
                eprintln!("team created; you are member {member_id}");
            }
        }
        Cmd::Ask {
            title,
            tried,
            skills,
            urgency,
            to,
        } => {
            let to = to.map(|t| cx.member(&t)).transpose()?;
            cx.apply(Command::Ask(NewRequest {
                title,
                tried,
                skills,
                urgency,
                to,
            }))?;
        }
        Cmd::Offer {
            request,
            to,
            topic,
            message,
        } => {
            let request = request.map(|r| cx.request(&r)).transpose()?;
            let to = to.map(|t| cx.member(&t)).transpose()?;
            cx.apply(Command::Offer(NewOffer {
                request,
                to,
                topic: topic.unwrap_or_default(),
                message,
            }))?;
        }
        Cmd::Respond { offer, answer } => {
            let yes = answer == peercoach_core::Answer::Yes;
            if peercoach_core::time::parse_week_key(&offer).is_some() {
                cx.apply(Command::AnswerRota { week: offer, yes })?;
            } else if let Ok(id) = cx.offer(&offer) {
                cx.apply(Command::Respond { offer: id, answer })?;
            } else {
                let duty = cx.duty(&offer).map_err(|_| {
                    anyhow!("{offer:?}: no offer, rota week (such as 2026-W49) or duty you were asked about")
                })?;
                cx.apply(Command::AnswerBackfill { duty, yes })?;
            }
        }
        Cmd::Claim { request } => {
            let request = cx.request(&request)?;
            cx.apply(Command::Claim { request })?;
        }
        Cmd::Unclaim { request } => {
            let request = cx.request(&request)?;
            cx.apply(Command::ReleaseClaim { request })?;
        }
        Cmd::Resolve { request } => {
            let request = cx.request(&request)?;
            cx.apply(Command::Resolve { request })?;
        }
        Cmd::Withdraw { request } => {
            let request = cx.request(&request)?;
            cx.apply(Command::Withdraw { request })?;
        }
        Cmd::Reopen { request } => {
            let request = cx.request(&request)?;
            cx.apply(Command::Reopen { request })?;
        }
        Cmd::Edit(EditCmd::Request {
            request,
            title,
            tried,
            skills,
            no_skills,
            urgency,
        }) => {
            let request = cx.request(&request)?;
            let skills = (no_skills || !skills.is_empty()).then_some(skills);
            if title.is_none() && tried.is_none() && skills.is_none() && urgency.is_none() {
                bail!(
                    "nothing to change: give --title, --tried, --skill, --no-skills or --urgency"
                );
            }
            let change = peercoach_core::RequestEdit {
                title,
                tried,
                skills,
                urgency,
            };
            cx.apply(Command::EditRequest { request, change })?;
        }
        Cmd::Edit(EditCmd::Session {
            session,
            topic,
            notes,
            learning,
            skills,
            no_skills,
            at,
            minutes,
        }) => {
            let session = cx.session(&session)?;
            let skills = (no_skills || !skills.is_empty()).then_some(skills);
            let at_ms = at
                .map(|t| {
                    crate::local::parse_datetime(&t)
                        .or_else(|| crate::local::parse_date(&t))
                        .ok_or_else(|| {
                            anyhow!("bad time {t:?}: expected YYYY-MM-DD HH:MM or YYYY-MM-DD (this computer's clock)")
                        })
                })
                .transpose()?;
            let change = peercoach_core::SessionEdit {
                topic,
                notes,
                learning,
                skills,
                at_ms,
                minutes,
            };
            if change == peercoach_core::SessionEdit::default() {
                bail!(
                    "nothing to change: give --topic, --notes, --learning, --skill, --no-skills, --at or --minutes"
                );
            }
            cx.apply(Command::EditSession { session, change })?;
        }
        Cmd::Edit(EditCmd::Duty { duty, title }) => {
            let duty = cx.duty(&duty)?;
            cx.apply(Command::RenameDuty { duty, title })?;
        }
        Cmd::Trash(TrashCmd::List) => {
            cx.show(query::Trash { team: cx.team() }, |items| {
                output::trash(items)
            })?;
        }
        Cmd::Restore { record } => {
            let items = cx.get(query::Trash { team: cx.team() })?;
            let found = peercoach_core::ids::matching(
                &record,
                &items,
                |t| t.record.as_str(),
                |t| Some(t.title.as_str()),
            );
            let item = match found.as_slice() {
                [one] => (*one).clone(),
                [] => bail!(
                    "{record:?}: nothing in the trash is called that (`peercoach trash list` shows what can be restored)"
                ),
                many => bail!(
                    "{record:?}: matches {} things in the trash; use more of the id",
                    many.len()
                ),
            };
            match item.record {
                RecordId::Session(session) => cx.apply(Command::RestoreSession { session })?,
                RecordId::Duty(duty) => cx.apply(Command::RestoreDuty { duty })?,
                RecordId::Note(note) => cx.done(call::RestoreNote {
                    team: cx.team(),
                    note: note.to_string(),
                })?,
                other => bail!("{other}: a {} cannot be restored", item.what),
            }
        }
        Cmd::Search { words, limit } => {
            let words = words.join(" ");
            cx.show(
                query::Search {
                    team: cx.team(),
                    words: words.clone(),
                    per_kind: limit,
                },
                |groups| output::search(groups, &words),
            )?;
        }
        Cmd::Meet(meet) => run_meet(&mut cx, meet)?,
        Cmd::Calendar { path, cmd } => match cmd {
            None => {
                let (file, _) = cx.get(query::Calendar {
                    team: None,
                    what: CalendarWhat::All,
                })?;
                if path {
                    println!("{file}");
                } else {
                    print!("{}", output::calendar_help(&file));
                }
            }
            Some(CalendarCmd::Export { session, hour, out }) => {
                let what = match (session, hour) {
                    (Some(s), _) => CalendarWhat::Session(cx.session(&s)?),
                    (None, true) => CalendarWhat::Hour,
                    (None, false) => CalendarWhat::All,
                };
                let team = match what {
                    CalendarWhat::All => None,
                    _ => cx.team(),
                };
                let (_, ics) = cx.get(query::Calendar { team, what })?;
                match out {
                    Some(file) => {
                        std::fs::write(&file, ics.as_bytes())
                            .with_context(|| format!("could not write {}", file.display()))?;
                        println!("wrote {}", file.display());
                    }
                    None => print!("{ics}"),
                }
            }
        },
        Cmd::Suggest { request } => {
            let request = cx.request(&request)?;
            cx.show(
                query::Suggest {
                    team: cx.team(),
                    request,
                },
                |s| output::suggestions(s),
            )?;
        }
        Cmd::Aim {
            request,
            person,
            everyone: _,
        } => {
            let request = cx.request(&request)?;
            let to = person.map(|p| cx.member(&p)).transpose()?;
            cx.apply(Command::AimRequest { request, to })?;
        }
        Cmd::Comment { request, text } => {
            let request = cx.request(&request)?;
            cx.apply(Command::Comment { request, text })?;
        }
        Cmd::WithdrawOffer { offer } => {
            let offer = cx.offer(&offer)?;
            cx.apply(Command::WithdrawOffer { offer })?;
        }
        Cmd::Session(SessionCmd::Log(s)) => {
            let coach = cx.member(&s.coach)?;
            let coachee = cx.member(&s.coachee)?;
            let offer = s.offer.map(|o| cx.offer(&o)).transpose()?;
            let request = s.request.map(|r| cx.request(&r)).transpose()?;
            let at_ms = s.at.map(|d| date(&d)).transpose()?;
            cx.apply(Command::LogSession(NewSession {
                coach,
                coachee,
                topic: s.topic,
                skills: s.skills,
                at_ms,
                minutes: s.minutes,
                notes: s.notes,
                learning: s.learning,
                offer,
                request,
            }))?;
        }
        Cmd::Session(SessionCmd::List { with, topic }) => {
            // By id: two members may share a name.
            let with = with.map(|w| cx.member(&w)).transpose()?;
            let mut sessions = cx.get(query::Sessions { team: cx.team() })?;
            sessions.retain(|s| {
                with.as_ref()
                    .is_none_or(|w| &s.coach == w || &s.coachee == w)
                    && topic
                        .as_ref()
                        .is_none_or(|t| s.topic.to_lowercase().contains(&t.to_lowercase()))
            });
            if cx.g.json {
                // The reply as the node sent it, less the sessions filtered out.
                let reply = Reply::Sessions { sessions };
                println!("{}", serde_json::to_string_pretty(&reply)?);
            } else {
                print!("{}", output::sessions(&sessions));
            }
        }
        Cmd::Session(SessionCmd::Delete { session }) => {
            let session = cx.session(&session)?;
            cx.apply(Command::DeleteSession { session })?;
        }
        Cmd::Note(NoteCmd::Add {
            text,
            session,
            request,
        }) => {
            let session = session.map(|s| cx.session(&s)).transpose()?;
            let request = request.map(|r| cx.request(&r)).transpose()?;
            cx.done(call::AddNote {
                team: cx.team(),
                text,
                on_session: session.map(|s| s.to_string()),
                on_request: request.map(|r| r.to_string()),
            })?;
        }
        Cmd::Note(NoteCmd::List) => {
            let titles = note_subjects(&mut cx)?;
            cx.show(query::Notes { team: cx.team() }, |notes| {
                output::notes(notes, &titles)
            })?;
        }
        Cmd::Note(NoteCmd::Delete { note }) => {
            let notes = cx.get(query::Notes { team: cx.team() })?;
            let found = peercoach_core::ids::matching(&note, &notes, |n| n.id.as_str(), |_| None);
            let id = match found.as_slice() {
                [one] => one.id.to_string(),
                [] => bail!("note {note:?}: no such note of yours"),
                many => bail!(
                    "note {note:?}: matches {} notes; use more of the id",
                    many.len()
                ),
            };
            cx.done(call::DeleteNote {
                team: cx.team(),
                note: id,
            })?;
        }
        Cmd::Followup(FollowupCmd::Add {
            session,
            text,
            owner,
            due,
        }) => {
            let session = cx.session(&session)?;
            let owner = owner.map(|o| cx.member(&o)).transpose()?;
            let due_ms = due.map(|d| date(&d)).transpose()?;
            cx.apply(Command::AddFollowUp(NewFollowUp {
                session,
                text,
                owner,
                due_ms,
            }))?;
        }
        Cmd::Followup(FollowupCmd::Done { followup, undo }) => {
            let both = cx.resolve(RefKind::FollowUp, &followup)?;
            let (session, followup) = both.split_once('/').ok_or_else(|| {
                anyhow!("{followup:?} resolved to {both:?}, which names no session")
            })?;
            cx.apply(Command::SetFollowUpDone {
                session: SessionId::parse(session)?,
                followup: FollowUpId::parse(followup)?,
                done: !undo,
            })?;
        }
        Cmd::Thank {
            member,
            text,
            session,
        } => {
            let to = cx.member(&member)?;
            let session = session.map(|s| cx.session(&s)).transpose()?;
            cx.apply(Command::Thank(NewThanks { to, text, session }))?;
        }
        Cmd::Board { closed: true, .. } => {
            cx.show(query::Closed { team: cx.team() }, |rows| {
                output::closed(rows)
            })?;
        }
        Cmd::Board { at, closed: false } => {
            let at_ms = at.map(|d| date(&d)).transpose()?;
            let now_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
            cx.show(
                query::Board {
                    team: cx.team(),
                    at_ms,
                },
                |b| output::board(&b.rows, b.at_ms, now_ms),
            )?;
        }
        Cmd::Inbox => {
            cx.show(query::MyInbox { team: cx.team() }, |inbox| {
                output::inbox(inbox)
            })?;
        }
        Cmd::Offers => {
            cx.show(query::Offers { team: cx.team() }, |offers| {
                output::offers(offers)
            })?;
        }
        Cmd::Metrics { window_days, k } => {
            if !(1..=3650).contains(&window_days) {
                bail!("--window-days must be between 1 and 3650");
            }
            if k == 0 {
                bail!("--k must be at least 1");
            }
            let metrics = query::Metrics {
                team: cx.team(),
                window_days,
                min_contributors: k,
            };
            cx.show(metrics, |m| output::metrics(m))?;
        }
        Cmd::History { limit } => {
            cx.show(
                query::History {
                    team: cx.team(),
                    limit,
                },
                |items| output::history(items),
            )?;
        }
        Cmd::Members => {
            cx.show(query::Members { team: cx.team() }, |members| {
                output::members(members)
            })?;
        }
        Cmd::Skills => {
            cx.show(query::Skills { team: cx.team() }, |skills| {
                let mut out = String::new();
                for s in skills {
                    out.push_str(&format!(
                        "{}: can coach {:?}; can do {:?}; learning {:?}; wanted by {:?}\n",
                        s.skill, s.can_coach, s.can_do, s.learning, s.wanted_by
                    ));
                }
                if out.is_empty() {
                    out.push_str("Nobody has listed skills yet.\n");
                }
                out
            })?;
        }
        Cmd::Profile { name, availability } => {
            if name.is_none() && availability.is_none() {
                bail!("give --name and/or --availability");
            }
            cx.apply(Command::SetProfile { name, availability })?;
        }
        Cmd::Skill { skill, level } => cx.apply(Command::SetSkill {
            skill,
            level: level.0,
        })?,
        Cmd::Want { skill, no } => cx.apply(Command::SetWantsToLearn { skill, wants: !no })?,
        Cmd::Snooze { until, off } => {
            let until_ms = if off {
                None
            } else {
                until.map(|d| date(&d)).transpose()?
            };
            cx.apply(Command::Snooze { until_ms })?;
        }
        Cmd::Hour {
            day,
            start,
            minutes,
            note,
        } => match (day, start, minutes) {
            (Some(day), Some(start), Some(minutes)) => {
                // Typed on this device's clock; the team keeps it in UTC.
                let now_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
                cx.apply(Command::SetCoachingHour(crate::local::coaching_hour(
                    day,
                    time_of_day(&start)?,
                    minutes,
                    note,
                    now_ms,
                )))?
            }
            _ => {
                let now_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
                cx.show(
                    query::Rota {
                        team: cx.team(),
                        week: None,
                    },
                    |r| format!("Coaching hour: {}\n", output::coaching_hour(r, now_ms)),
                )?;
            }
        },
        Cmd::Rota(RotaCmd::Show { week }) => {
            let now_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
            cx.show(
                query::Rota {
                    team: cx.team(),
                    week,
                },
                |r| output::rota(r, now_ms),
            )?;
        }
        Cmd::Rota(RotaCmd::Add { week, member }) => {
            let member = cx.member(&member)?;
            cx.apply(Command::SetRota {
                week,
                member,
                floating: true,
            })?;
        }
        Cmd::Rota(RotaCmd::Remove { week, member }) => {
            let member = cx.member(&member)?;
            cx.apply(Command::SetRota {
                week,
                member,
                floating: false,
            })?;
        }
        Cmd::Duty(DutyCmd::List) => {
            cx.show(query::Duties { team: cx.team() }, |duties| {
                let mut out = String::new();
                for d in duties {
                    let apprentices: Vec<String> = d
                        .apprentices
                        .iter()
                        .map(|(n, s)| format!("{n} ({})", s.as_str()))
                        .collect();
                    let asked: String = d
                        .asked
                        .iter()
                        .map(|(n, s)| format!("; asked {n} ({}), waiting for a yes", s.as_str()))
                        .collect();
                    out.push_str(&format!(
                        "{}  {} — {}: {}{asked}{}\n",
                        &d.id.as_str()[..8],
                        d.owner_name,
                        d.title,
                        if apprentices.is_empty() {
                            "no apprentice".into()
                        } else {
                            apprentices.join(", ")
                        },
                        if d.covered {
                            ""
                        } else {
                            "  ⚠ no trained backfill"
                        }
                    ));
                }
                if out.is_empty() {
                    out.push_str("No duties listed yet.\n");
                }
                out
            })?;
        }
        Cmd::Duty(DutyCmd::Add {
            title,
            notes,
            owner,
        }) => {
            let owner = owner.map(|o| cx.member(&o)).transpose()?;
            cx.apply(Command::AddDuty(NewDuty {
                title,
                notes,
                owner,
            }))?;
        }
        Cmd::Duty(DutyCmd::Backfill {
            duty,
            member,
            stage,
        }) => {
            let duty = cx.duty(&duty)?;
            let apprentice = cx.member(&member)?;
            cx.apply(Command::SetBackfill {
                duty,
                apprentice,
                stage: stage.0,
            })?;
        }
        Cmd::Duty(DutyCmd::Remove { duty }) => {
            let duty = cx.duty(&duty)?;
            cx.apply(Command::RemoveDuty { duty })?;
        }
        Cmd::RemoveMember { member } => {
            let member = cx.member(&member)?;
            cx.apply(Command::RemoveMember { member })?;
            eprintln!(
                "note: once the removal takes effect their devices are refused, but the copy \
                 of the team they already hold cannot be taken back"
            );
        }
        Cmd::Devices => {
            cx.show(query::Devices { team: cx.team() }, |devices| {
                output::devices(devices)
            })?;
        }
        Cmd::RemoveDevice { device } => {
            let devices = cx.get(query::Devices { team: cx.team() })?;
            let live: Vec<_> = devices.iter().filter(|d| d.removed_ms.is_none()).collect();
            let found = peercoach_core::ids::matching(
                &device,
                &live,
                |d| d.actor.as_str(),
                |d| Some(d.label.as_str()).filter(|l| !l.is_empty()),
            );
            let device = match found.as_slice() {
                [one] => one.actor.clone(),
                [] => bail!("no device of yours matches \"{device}\" (see `peercoach devices`)"),
                many => bail!(
                    "\"{device}\" matches {} of your devices; use more of the id",
                    many.len()
                ),
            };
            cx.apply(Command::RemoveDevice { device })?;
        }
        Cmd::Teams => {
            cx.show(call::Teams {}, |teams| output::teams(teams))?;
        }
        Cmd::Use { team } => {
            cx.show(call::UseTeam { team }, |done| format!("{}\n", done.summary))?;
        }
        Cmd::Export {
            format,
            out,
            table,
            private_notes,
        } => {
            let bytes_b64 = cx.get(call::Export {
                team: cx.team(),
                format,
                table: Some(table),
                private_notes,
            })?;
            let bytes = unb64(&bytes_b64).map_err(|e| anyhow!(e))?;
            write_out(out, &bytes)?;
        }
        Cmd::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let import = call::Import {
                team: cx.team(),
                bytes_b64: b64(&bytes),
            };
            cx.show(import, |imported| match imported {
                call::Imported::Merged(done) => format!("{}\n", done.summary),
                call::Imported::Restored(report) => {
                    let mut out = format!(
                        "imported {} records ({} already here)\n",
                        report.added, report.already_present
                    );
                    for s in &report.skipped {
                        out.push_str(&format!("  not restored: {s}\n"));
                    }
                    out
                }
            })?;
        }
    }
    Ok(())
}

fn apply_network_args(
    mut n: peercoach_store::NetworkSettings,
    args: &NetworkArgs,
    relays: Option<Vec<peercoach_store::DeviceRelay>>,
) -> peercoach_store::NetworkSettings {
    use peercoach_store::NetworkMode;
    if let Some(v) = args.loopback_only {
        n.mode = if v.on() {
            NetworkMode::Loopback
        } else {
            NetworkMode::Anywhere
        };
    }
    if let Some(m) = args.mode {
        n.mode = m.into();
    }
    if let Some(relays) = relays {
        n.relays = relays;
    }
    if let Some(p) = args.port {
        n.port = p;
    }
    n
}

/// A list of relays from repeated `URL` arguments (`none` alone: the empty list; none
/// given: `None`, no change, unless tokens are given for the `existing` list) and their
/// tokens, each `URL=TOKEN`, or a bare `TOKEN` (or `-`, or a file) when there is one
/// relay. A token for a URL not in the list is an error.
fn relay_list(
    urls: &[String],
    tokens: &[String],
    token_file: Option<&std::path::Path>,
    flag: &str,
    existing: &[peercoach_store::DeviceRelay],
) -> Result<Option<Vec<peercoach_store::DeviceRelay>>> {
    if urls.is_empty() {
        if tokens.is_empty() && token_file.is_none() {
            return Ok(None);
        }
        if existing.is_empty() {
            bail!("a relay token needs a relay: give {flag} URL with it");
        }
    }
    if urls.iter().any(|u| u == "none") {
        if urls.len() > 1 || !tokens.is_empty() || token_file.is_some() {
            bail!("{flag} none clears the list: give it alone, without tokens");
        }
        return Ok(Some(Vec::new()));
    }
    let mut relays: Vec<peercoach_store::DeviceRelay> = if urls.is_empty() {
        existing.to_vec()
    } else {
        urls.iter()
            .map(|url| peercoach_store::DeviceRelay {
                url: url.trim().to_owned(),
                token: None,
            })
            .collect()
    };
    let mut tokened = vec![false; relays.len()];
    let mut given: Vec<(Option<String>, String)> = Vec::new();
    for token in tokens {
        match token.split_once('=') {
            Some((url, token)) if url.starts_with("https://") || url.starts_with("http://") => {
                given.push((Some(url.trim().to_owned()), token.to_owned()));
            }
            _ => given.push((None, token.clone())),
        }
    }
    if let Some(file) = token_file {
        given.push((None, secret(None, Some(file))?.unwrap_or_default()));
    }
    for (url, token) in given {
        // `none` clears the token, as it always did.
        let token = if token == "none" {
            None
        } else {
            secret(Some(token), None)?
        };
        let index = match url {
            Some(url) => relays
                .iter()
                .position(|r| peercoach_core::records::team_settings::same_relay(&r.url, &url))
                .with_context(|| {
                    format!("a token was given for {url}, which is not among the {flag} URLs")
                })?,
            None if relays.len() == 1 => 0,
            None => bail!(
                "{} relays were given: say which one each token is for, as {flag}-token URL=TOKEN",
                relays.len()
            ),
        };
        if std::mem::replace(&mut tokened[index], true) {
            bail!("two tokens were given for {}", relays[index].url);
        }
        relays[index].token = token;
    }
    Ok(Some(relays))
}

/// A secret given on the command line as itself, as `-` (read from standard input) or by
/// a file: its first line, trimmed. An empty one is an error, not a cleared token.
fn secret(value: Option<String>, file: Option<&std::path::Path>) -> Result<Option<String>> {
    let read = match (value.as_deref(), file) {
        (Some("-"), _) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the token from standard input")?;
            line
        }
        (_, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the token from {}", path.display()))?,
        _ => return Ok(value),
    };
    let token = read.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        bail!("no token was given (the first line was empty)");
    }
    Ok(Some(token))
}

fn write_out(out: Option<PathBuf>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(path) => {
            // Write beside the target and rename, so a failed export never leaves half a
            // file under the requested name. An export can hold private notes or the
            // team relay's token: only this user may read it (0600), from its first byte.
            let tmp = path.with_extension("peercoach-tmp");
            write_private(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} bytes to {}", bytes.len(), path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// Writes a file only its owner may read or write (on Unix; elsewhere as the system
/// makes it), replacing any file of that name.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
