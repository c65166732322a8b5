use super::*;
use crate::model::{Answer, OfferStatus, SkillLevel, Stage};
use crate::testing::TeamFixture;
use crate::time::{DAY_MS, HOUR_MS};
use crate::views::{self, ClaimOutcome, Index, RequestStatus};
use crate::{CoachingHour, NewDuty, NewFollowUp, NewOffer, NewRequest, NewSession, NewThanks};
use crate::{CommandError, DutyId, TeamDoc, TeamRelay};

#[test]
fn genesis_creates_team_with_its_first_member() {
    let f = TeamFixture::new(&["Ana"]);
    let doc = &f.replicas[0].doc;
    let team = doc.team();
    assert_eq!(team.name, "Test team");
    assert_eq!(team.schema_version, crate::schema::SCHEMA_VERSION);
    assert!(team.id.is_some());
    assert_eq!(doc.me(), Some(&f.id(0)));
    assert_eq!(team.members[&f.id(0)].name, "Ana");
    assert!(team.members[&f.id(0)].devices[0].trusted);
}

#[test]
fn ask_validates_its_input_and_writes_nothing_when_refused() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let heads = f.replicas[0].doc.heads();
    for (title, field) in [
        ("   ", "title"),
        (&"x".repeat(201)[..], "title"),
        ("bell\u{7}", "title"),
    ] {
        let err = f
            .apply(
                0,
                Command::Ask(NewRequest {
                    title: title.into(),
                    tried: String::new(),
                    skills: vec![],
                    urgency: Urgency::Normal,
                    to: None,
                }),
            )
            .expect_err("refused");
        assert!(
            matches!(err, CommandError::InvalidInput { field: f2, .. } if f2 == field),
            "{err}"
        );
    }
    let me = f.id(0);
    let err = f
        .apply(
            0,
            Command::Ask(NewRequest {
                title: "t".into(),
                tried: String::new(),
                skills: vec![],
                urgency: Urgency::Low,
                to: Some(me),
            }),
        )
        .expect_err("cannot ask myself");
    assert!(matches!(
        err,
        CommandError::InvalidInput { field: "to", .. }
    ));
    assert_eq!(f.replicas[0].doc.heads(), heads, "nothing written");
    assert!(f.replicas[0].doc.team().requests.is_empty());

    let ben = f.id(1);
    let id: RequestId = f.create(
        0,
        Command::Ask(NewRequest {
            title: "  Coach me on estimates ".into(),
            tried: "guessing".into(),
            skills: vec!["Planning ".into(), "planning".into(), "Road Mapping".into()],
            urgency: Urgency::High,
            to: Some(ben.clone()),
        }),
    );
    let r = &f.replicas[0].doc.team().requests[&id];
    assert_eq!(r.title, "Coach me on estimates");
    assert_eq!(r.to, Some(ben));
    assert_eq!(
        r.skills.iter().cloned().collect::<Vec<_>>(),
        vec!["planning", "road-mapping"]
    );
    assert_eq!(r.urgency, Urgency::High);
}

#[test]
fn only_the_person_asked_can_answer_an_offer_and_advice_waits_for_yes() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let r = ask(&mut f, 0, "Deploy keeps failing", Urgency::Normal);
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "Check the health probe timeout");
    f.sync_all();
    let ana = f.id(0);
    let ben = f.id(1);
    let cleo = f.id(2);
    {
        let offer = &f.replicas[0].doc.team().offers[&o];
        assert_eq!(offer.to, ana, "an offer on a request asks its author");
        assert_eq!(offer.status(), OfferStatus::Pending);
        assert_eq!(
            offer.visible_message(Some(&ana)),
            None,
            "hidden from the person asked"
        );
        assert_eq!(
            offer.visible_message(Some(&cleo)),
            None,
            "hidden from everyone else"
        );
        assert_eq!(
            offer.visible_message(Some(&ben)),
            Some("Check the health probe timeout")
        );
        let row = views::offer_row(f.replicas[0].doc.team(), offer, Some(&ana));
        assert!(row.message_hidden);
        assert!(row.message.is_none());
    }
    let err = f
        .apply(
            2,
            Command::Respond {
                offer: o.clone(),
                answer: Answer::Yes,
            },
        )
        .expect_err("not Cleo's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err}");
    let err = f
        .apply(
            1,
            Command::Respond {
                offer: o.clone(),
                answer: Answer::Yes,
            },
        )
        .expect_err("not Ben's");
    assert!(matches!(err, CommandError::NotYours { .. }));

    respond(&mut f, 0, &o, Answer::NotNow);
    assert_eq!(
        f.replicas[0].doc.team().offers[&o].status(),
        OfferStatus::Declined
    );
    assert_eq!(
        f.replicas[0].doc.team().offers[&o].visible_message(Some(&cleo)),
        None
    );
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    for replica in &f.replicas {
        let offer = &replica.doc.team().offers[&o];
        assert_eq!(offer.status(), OfferStatus::Accepted);
        assert_eq!(
            offer.visible_message(Some(&cleo)),
            Some("Check the health probe timeout")
        );
    }
    let index = Index::new(f.replicas[2].doc.team());
    assert_eq!(
        index.status(&f.replicas[2].doc.team().requests[&r]),
        RequestStatus::BeingHelped
    );
}

#[test]
fn offers_are_refused_on_own_closed_or_already_offered_requests() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Help", Urgency::Normal);
    let err = f
        .apply(
            0,
            Command::Offer(NewOffer {
                request: Some(r.clone()),
                to: None,
                topic: String::new(),
                message: String::new(),
            }),
        )
        .expect_err("own");
    assert!(matches!(err, CommandError::OwnRequest { .. }));
    f.sync_all();
    offer_on(&mut f, 1, &r, "");
    let err = f
        .apply(
            1,
            Command::Offer(NewOffer {
                request: Some(r.clone()),
                to: None,
                topic: String::new(),
                message: String::new(),
            }),
        )
        .expect_err("dup");
    assert!(matches!(err, CommandError::DuplicateOffer { .. }), "{err}");
    f.apply(0, Command::Withdraw { request: r.clone() })
        .expect("withdraw");
    f.sync_all();
    let err = f
        .apply(1, Command::Claim { request: r.clone() })
        .expect_err("closed");
    assert!(matches!(
        err,
        CommandError::Closed {
            status: "withdrawn",
            ..
        }
    ));
    let err = f
        .apply(
            1,
            Command::Offer(NewOffer {
                request: None,
                to: None,
                topic: "x".into(),
                message: String::new(),
            }),
        )
        .expect_err("no target");
    assert!(matches!(
        err,
        CommandError::InvalidInput { field: "to", .. }
    ));
    let ghost = MemberId::parse("00000000-0000-4000-8000-000000000000").expect("id");
    let err = f
        .apply(
            1,
            Command::Offer(NewOffer {
                request: None,
                to: Some(ghost),
                topic: "x".into(),
                message: String::new(),
            }),
        )
        .expect_err("ghost");
    assert!(matches!(err, CommandError::NotFound { kind: "member", .. }));
}

#[test]
fn concurrent_claims_have_one_winner_everywhere_and_the_loser_is_told() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let r = ask(&mut f, 0, "Review my design", Urgency::High);
    f.sync_all();
    // Cleo claims first (earlier timestamp) but on a disconnected laptop; Ben a minute later.
    f.apply(2, Command::Claim { request: r.clone() })
        .expect("cleo claims");
    f.advance(60_000);
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("ben claims, not knowing");
    assert_eq!(
        views::claim_outcome(f.replicas[1].doc.team(), &r, &f.id(1)),
        ClaimOutcome::Won
    );
    f.sync_all();
    for replica in &f.replicas {
        let req = &replica.doc.team().requests[&r];
        assert_eq!(req.winning_claim().map(|c| &c.member), Some(&f.id(2)));
    }
    let ben_team = f.replicas[1].doc.team();
    assert_eq!(
        views::claim_outcome(ben_team, &r, &f.id(1)),
        ClaimOutcome::LostTo("Cleo".into())
    );
    let inbox = views::inbox(ben_team, &f.id(1), f.env.now_ms);
    assert_eq!(inbox.lost_claims.len(), 1);
    assert_eq!(inbox.lost_claims[0].winner_name, "Cleo");
    assert!(
        views::inbox(ben_team, &f.id(2), f.env.now_ms)
            .lost_claims
            .is_empty()
    );
    // Now that Ben knows, a new claim is refused with the name of who is on it.
    let err = f
        .apply(1, Command::Claim { request: r.clone() })
        .expect_err("taken");
    assert!(
        matches!(&err, CommandError::AlreadyClaimed { by, .. } if by == "Cleo"),
        "{err}"
    );
    let err = f
        .apply(0, Command::Claim { request: r.clone() })
        .expect_err("own");
    assert!(matches!(err, CommandError::OwnRequest { .. }));
    // Cleo lets go: Ben's claim becomes the winner.
    f.apply(2, Command::ReleaseClaim { request: r.clone() })
        .expect("release");
    f.sync_all();
    assert_eq!(
        views::claim_outcome(f.replicas[1].doc.team(), &r, &f.id(1)),
        ClaimOutcome::Won
    );
}

#[test]
fn equal_claim_times_break_ties_by_member_id() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let r = ask(&mut f, 0, "Tie", Urgency::Normal);
    f.sync_all();
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    f.apply(2, Command::Claim { request: r.clone() })
        .expect("claim");
    f.sync_all();
    let lower = f.id(1).min(f.id(2));
    for replica in &f.replicas {
        assert_eq!(
            replica.doc.team().requests[&r]
                .winning_claim()
                .map(|c| c.member.clone()),
            Some(lower.clone())
        );
    }
}

#[test]
fn a_session_needs_consent() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ana, ben, cleo) = (f.id(0), f.id(1), f.id(2));
    // No offer, no request: Ana cannot log coaching Ben.
    let attempt =
        |f: &mut TeamFixture, i: usize, offer: Option<OfferId>, request: Option<RequestId>| {
            f.apply(
                i,
                Command::LogSession(NewSession {
                    topic: "Kubernetes".into(),
                    minutes: 45,
                    offer,
                    request,
                    ..NewSession::between(f.id(0), f.id(1))
                }),
            )
        };
    let err = attempt(&mut f, 0, None, None).expect_err("no consent");
    assert!(
        matches!(&err, CommandError::NoConsent { coach, coachee } if coach == "Ana" && coachee == "Ben"),
        "{err}"
    );
    // A third person cannot log it either.
    let err = attempt(&mut f, 2, None, None).expect_err("third party");
    assert!(matches!(err, CommandError::NotYours { .. }));
    // An offer still waiting is not a yes.
    let o = offer_to(&mut f, 0, &ben, "Kubernetes");
    f.sync_all();
    let err = attempt(&mut f, 0, Some(o.clone()), None).expect_err("pending");
    assert!(matches!(err, CommandError::Closed { kind: "offer", .. }));
    respond(&mut f, 1, &o, Answer::Yes);
    f.sync_all();
    let s = attempt(&mut f, 0, None, None).expect("the accepted offer is found");
    let s = SessionId::try_from(s.created.expect("id")).expect("id");
    assert_eq!(f.replicas[0].doc.team().sessions[&s].offer, Some(o.clone()));
    // The offer is used up: a second session needs a new yes.
    assert!(matches!(
        attempt(&mut f, 0, None, None),
        Err(CommandError::NoConsent { .. })
    ));
    // But the coachee may always record being coached.
    attempt(&mut f, 1, None, None).expect("coachee logs");
    // A request by the coachee, claimed by the coach, is consent too.
    let r = ask(&mut f, 1, "Helm charts", Urgency::Low);
    f.sync_all();
    f.apply(0, Command::Claim { request: r.clone() })
        .expect("claim");
    let s2 = attempt(&mut f, 0, None, None).expect("claimed request");
    let s2 = SessionId::try_from(s2.created.expect("id")).expect("id");
    assert_eq!(f.replicas[0].doc.team().sessions[&s2].request, Some(r));
    // Mismatched offer is refused.
    let o2 = offer_to(&mut f, 0, &cleo, "x");
    let err = attempt(&mut f, 0, Some(o2), None).expect_err("wrong pair");
    assert!(matches!(
        err,
        CommandError::InvalidInput { field: "offer", .. }
    ));
    let _ = ana;
}

#[test]
fn resolve_and_withdraw_follow_who_may() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let r = ask(&mut f, 0, "Query is slow", Urgency::Normal);
    f.sync_all();
    let err = f
        .apply(1, Command::Withdraw { request: r.clone() })
        .expect_err("not author");
    assert!(matches!(err, CommandError::NotYours { .. }));
    let err = f
        .apply(1, Command::Resolve { request: r.clone() })
        .expect_err("not claimed");
    assert!(matches!(err, CommandError::NotYours { .. }));
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    f.apply(1, Command::Resolve { request: r.clone() })
        .expect("the helper resolves");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    let req = &team.requests[&r];
    assert_eq!(Index::new(team).status(req), RequestStatus::Resolved);
    assert_eq!(req.resolved_by, Some(f.id(1)));
    let err = f
        .apply(0, Command::Withdraw { request: r.clone() })
        .expect_err("closed");
    assert!(matches!(
        err,
        CommandError::Closed {
            status: "resolved",
            ..
        }
    ));
    let unknown = RequestId::parse("00000000-0000-4000-8000-000000000001").expect("id");
    assert!(matches!(
        f.apply(0, Command::Resolve { request: unknown }),
        Err(CommandError::NotFound {
            kind: "request",
            ..
        })
    ));
}

#[test]
fn profile_skills_snooze_rota_duties_and_coaching_hour() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ana, ben, cleo) = (f.id(0), f.id(1), f.id(2));
    f.apply(
        0,
        Command::SetSkill {
            skill: "Rust".into(),
            level: Some(SkillLevel::CanCoach),
        },
    )
    .expect("skill");
    f.apply(
        0,
        Command::SetSkill {
            skill: "go".into(),
            level: Some(SkillLevel::Learning),
        },
    )
    .expect("skill");
    f.apply(
        0,
        Command::SetSkill {
            skill: "go".into(),
            level: None,
        },
    )
    .expect("clear");
    f.apply(
        0,
        Command::SetWantsToLearn {
            skill: "SQL".into(),
            wants: true,
        },
    )
    .expect("wants");
    f.apply(
        0,
        Command::SetProfile {
            name: Some("Ana K.".into()),
            availability: Some("Tue/Thu mornings".into()),
        },
    )
    .expect("profile");
    f.apply(
        0,
        Command::Snooze {
            until_ms: Some(f.env.now_ms + DAY_MS),
        },
    )
    .expect("snooze");
    // Ana asks Ben to float; Ben says yes himself.
    f.apply(
        0,
        Command::SetRota {
            week: "2026-W23".into(),
            member: ben.clone(),
            floating: true,
        },
    )
    .expect("rota ask");
    f.sync_all();
    assert!(views::rota_week(f.replicas[1].doc.team(), "2026-W23").is_empty());
    f.apply(
        1,
        Command::SetRota {
            week: "2026-W23".into(),
            member: ben.clone(),
            floating: true,
        },
    )
    .expect("Ben says yes");
    let err = f
        .apply(
            0,
            Command::SetRota {
                week: "2026-23".into(),
                member: ben.clone(),
                floating: true,
            },
        )
        .expect_err("bad week");
    assert!(matches!(
        err,
        CommandError::InvalidInput { field: "week", .. }
    ));
    f.apply(
        0,
        Command::SetCoachingHour(CoachingHour {
            weekday: 3,
            start_minute: 15 * 60,
            minutes: 60,
            note: "Room 2".into(),
            ..Default::default()
        }),
    )
    .expect("hour");
    assert!(
        f.apply(
            0,
            Command::SetCoachingHour(CoachingHour {
                weekday: 7,
                start_minute: 0,
                minutes: 60,
                note: String::new(),
                ..Default::default()
            })
        )
        .is_err()
    );
    let duty = f.create::<DutyId>(
        0,
        Command::AddDuty(NewDuty {
            title: "Release train".into(),
            notes: String::new(),
            owner: None,
        }),
    );
    let err = f
        .apply(
            0,
            Command::SetBackfill {
                duty: duty.clone(),
                apprentice: ana.clone(),
                stage: Some(Stage::Shadow),
            },
        )
        .expect_err("owner");
    assert!(matches!(
        err,
        CommandError::InvalidInput {
            field: "apprentice",
            ..
        }
    ));
    f.apply(
        0,
        Command::SetBackfill {
            duty: duty.clone(),
            apprentice: ben.clone(),
            stage: Some(Stage::Shadow),
        },
    )
    .expect("shadow");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    let a = &team.members[&ana];
    assert_eq!(a.name, "Ana K.");
    assert_eq!(a.availability, "Tue/Thu mornings");
    assert_eq!(a.skills.get("rust"), Some(&SkillLevel::CanCoach));
    assert_eq!(a.skills.get("go"), None);
    assert!(a.wants.contains("sql"));
    assert!(a.is_snoozed(f.env.now_ms));
    assert!(!a.is_snoozed(f.env.now_ms + 2 * DAY_MS));
    assert_eq!(views::rota_week(team, "2026-W23"), vec!["Ben".to_string()]);
    assert_eq!(
        team.coaching_hour.as_ref().map(|h| h.describe()),
        Some("Thursday 15:00–16:00 UTC".into())
    );
    let rows = views::backfill(team);
    assert!(!rows[0].covered, "shadow is not yet a trained backfill");
    // Cleo puts herself on at co-do: she is on it, at shadow (co-do is the owner's word).
    f.apply(
        2,
        Command::SetBackfill {
            duty: duty.clone(),
            apprentice: cleo.clone(),
            stage: Some(Stage::CoDo),
        },
    )
    .expect("co-do");
    assert!(!views::backfill(f.replicas[2].doc.team())[0].covered);
    f.sync_all();
    f.apply(
        0,
        Command::SetBackfill {
            duty: duty.clone(),
            apprentice: cleo,
            stage: Some(Stage::CoDo),
        },
    )
    .expect("Ana moves her on");
    assert!(views::backfill(f.replicas[0].doc.team())[0].covered);
    f.apply(
        1,
        Command::SetRota {
            week: "2026-W23".into(),
            member: ben,
            floating: false,
        },
    )
    .expect("off rota");
    assert!(views::rota_week(f.replicas[1].doc.team(), "2026-W23").is_empty());
}

#[test]
fn a_removed_member_can_no_longer_act() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ben = f.id(1);
    f.apply(
        0,
        Command::RemoveMember {
            member: ben.clone(),
        },
    )
    .expect("remove");
    f.sync_all();
    let err = f
        .apply(
            1,
            Command::Ask(NewRequest {
                title: "x".into(),
                tried: String::new(),
                skills: vec![],
                urgency: Urgency::Low,
                to: None,
            }),
        )
        .expect_err("removed");
    assert_eq!(err, CommandError::NotAMember);
    let err = f
        .apply(0, Command::RemoveMember { member: f.id(0) })
        .expect_err("last member");
    assert!(matches!(err, CommandError::InvalidInput { .. }));
    let err = f
        .apply(
            0,
            Command::Thank(NewThanks {
                to: ben,
                text: "thanks".into(),
                session: None,
            }),
        )
        .expect_err("removed");
    assert!(matches!(err, CommandError::MemberRemoved { .. }));
}

#[test]
fn a_newer_schema_is_shown_and_never_stops_writing() {
    // Any member's device can write a larger `schema_version` (a newer app, or one
    // 147-byte change): the document says so, and every command still works. Keys a
    // newer app added are kept through our own writes.
    let mut f = TeamFixture::new(&["Ana"]);
    {
        use automerge::transaction::Transactable;
        let doc = f.replicas[0].doc.automerge();
        doc.put(automerge::ROOT, "schema_version", 2_i64)
            .expect("put");
        doc.put(automerge::ROOT, "a_newer_kind", "kept")
            .expect("put");
        doc.commit();
    }
    let bytes = f.replicas[0].doc.automerge().save();
    let mut doc = TeamDoc::from_doc(
        automerge::AutoCommit::load(&bytes).expect("load"),
        crate::testing::actor(0),
    );
    assert_eq!(doc.newer_schema().map(|r| r.found), Some(2));
    doc.apply(Command::Snooze { until_ms: None }, &mut f.env)
        .expect("a command still applies");
    assert_eq!(doc.team().members.len(), 1, "still readable");
    let reloaded = automerge::AutoCommit::load(&doc.automerge().save()).expect("load");
    assert_eq!(
        automerge::ReadDoc::get(&reloaded, automerge::ROOT, "a_newer_kind")
            .expect("get")
            .and_then(|(v, _)| v.into_string().ok())
            .as_deref(),
        Some("kept"),
        "what this version does not know is kept"
    );
}

#[test]
fn follow_ups_and_thanks() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let s = session(&mut f, 1, &ana, &ben, "Profiling");
    let u = f.create::<crate::FollowUpId>(
        1,
        Command::AddFollowUp(NewFollowUp {
            session: s.clone(),
            text: "Try flamegraph".into(),
            owner: None,
            due_ms: Some(f.env.now_ms + 2 * DAY_MS),
        }),
    );
    f.create::<crate::RecordId>(
        1,
        Command::Thank(NewThanks {
            to: ana.clone(),
            text: "That helped a lot".into(),
            session: Some(s.clone()),
        }),
    );
    f.sync_all();
    let inbox = views::inbox(f.replicas[1].doc.team(), &ben, f.env.now_ms);
    assert_eq!(inbox.followups.len(), 1);
    assert_eq!(inbox.followups[0].with_name, "Ana");
    f.apply(
        1,
        Command::SetFollowUpDone {
            session: s.clone(),
            followup: u,
            done: true,
        },
    )
    .expect("done");
    assert!(
        views::inbox(f.replicas[1].doc.team(), &ben, f.env.now_ms)
            .followups
            .is_empty()
    );
    assert_eq!(f.replicas[0].doc.team().thanks.len(), 1);
    f.apply(0, Command::DeleteSession { session: s.clone() })
        .expect("delete");
    assert!(
        f.apply(
            0,
            Command::AddFollowUp(NewFollowUp {
                session: s,
                text: "x".into(),
                owner: None,
                due_ms: None
            })
        )
        .is_err()
    );
    let _ = HOUR_MS;
}

fn relay(url: &str, token: Option<&str>) -> TeamRelay {
    TeamRelay {
        url: url.into(),
        token: token.map(Into::into),
    }
}

fn set_relays(relays: &[TeamRelay]) -> Command {
    Command::SetTeamRelays {
        relays: relays.to_vec(),
    }
}

#[test]
fn a_team_relay_list_set_by_one_member_reaches_every_member_and_bad_values_write_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let heads = f.replicas[0].doc.heads();
    let good = relay("https://relay.example.org/", None);
    for (bad, says) in [
        (vec![relay("relay.example.org", None)], "not a relay URL"),
        (
            vec![relay("ftp://relay.example.org", None)],
            "not a relay URL",
        ),
        (vec![relay("https://", None)], "not a relay URL"),
        (
            vec![relay("https://relay example.org", None)],
            "not a relay URL",
        ),
        (
            vec![relay("https://relay.example.org", Some("two words"))],
            "token",
        ),
        (vec![relay("https://relay.example.org", Some(""))], "token"),
        // The same relay twice, also spelled with and without the slash.
        (vec![good.clone(), good.clone()], "listed twice"),
        (
            vec![good.clone(), relay("https://RELAY.example.org", None)],
            "listed twice",
        ),
        (
            (0..9)
                .map(|i| relay(&format!("https://r{i}.example.org/"), None))
                .collect(),
            "at most 8",
        ),
    ] {
        let err = f.apply(0, set_relays(&bad)).expect_err(says);
        assert!(
            matches!(err, CommandError::InvalidInput { .. }) && err.to_string().contains(says),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(f.replicas[0].doc.heads(), heads, "refused: nothing written");
    let second = relay("https://spare.example.org/", Some("s3cret"));
    f.apply(1, set_relays(&[good.clone(), second.clone()]))
        .expect("any member may set them");
    f.sync_all();
    assert_eq!(
        f.replicas[0].doc.team().relays,
        vec![good.clone(), second.clone()]
    );
    // An app older than the list reads the first one.
    let doc = f.replicas[0].doc.automerge();
    let team = crate::fields::get_map(doc, &automerge::ROOT, "team").expect("team");
    let legacy = crate::fields::Fields::read(doc, &team);
    assert_eq!(legacy.text("relay_url"), good.url);
    f.apply(0, set_relays(&[])).expect("clear");
    f.sync_all();
    assert_eq!(f.replicas[1].doc.team().relays, vec![]);
    // Nothing was deleted (the sync rules refuse deletions): the entries are marked.
    let doc = f.replicas[1].doc.automerge();
    let team = crate::fields::get_map(doc, &automerge::ROOT, "team").expect("team");
    let relays = crate::fields::get_map(doc, &team, "relays").expect("relays");
    assert_eq!(automerge::ReadDoc::keys(doc, &relays).count(), 2);
    // Added again: listed again, with its new token.
    f.apply(1, set_relays(std::slice::from_ref(&second)))
        .expect("again");
    f.sync_all();
    assert_eq!(f.replicas[0].doc.team().relays, vec![second]);
}

#[test]
fn two_members_adding_a_relay_at_once_keep_both_and_a_removal_removes_only_its_own() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (a, b, c) = (
        relay("https://a.example.org/", None),
        relay("https://b.example.org/", Some("tok")),
        relay("https://c.example.org/", None),
    );
    f.apply(0, set_relays(std::slice::from_ref(&a)))
        .expect("set");
    f.sync_all();
    // Apart: Ana adds b, Ben adds c.
    f.apply(0, set_relays(&[a.clone(), b.clone()]))
        .expect("add b");
    f.apply(1, set_relays(&[a.clone(), c.clone()]))
        .expect("add c");
    f.sync_all();
    let urls = |f: &TeamFixture, i: usize| -> Vec<String> {
        f.replicas[i]
            .doc
            .team()
            .relays
            .iter()
            .map(|r| r.url.clone())
            .collect()
    };
    let both = urls(&f, 0);
    assert_eq!(both.len(), 3, "{both:?}");
    assert!(both.contains(&b.url) && both.contains(&c.url), "{both:?}");
    assert_eq!(both, urls(&f, 1), "the same order everywhere");
    assert_eq!(
        f.replicas[1]
            .doc
            .team()
            .relays
            .iter()
            .find(|r| r.url == b.url),
        Some(&b)
    );
    // Apart again: Ana removes b while Ben removes a; only those two go.
    f.apply(0, set_relays(&[a.clone(), c.clone()]))
        .expect("remove b");
    f.apply(1, set_relays(&[b.clone(), c.clone()]))
        .expect("remove a");
    f.sync_all();
    assert_eq!(urls(&f, 0), vec![c.url.clone()]);
    assert_eq!(urls(&f, 1), vec![c.url.clone()]);
}

#[test]
fn a_relay_set_by_an_app_older_than_the_list_is_read_first() {
    use automerge::transaction::Transactable;
    let mut f = TeamFixture::new(&["Ana"]);
    let spare = relay("https://spare.example.org/", None);
    f.apply(0, set_relays(std::slice::from_ref(&spare)))
        .expect("set");
    // An older app writes only the single relay.
    let doc = f.replicas[0].doc.automerge();
    let team = crate::fields::get_map(doc, &automerge::ROOT, "team").expect("team");
    doc.put(&team, "relay_url", "https://old.example.org/")
        .expect("put");
    doc.put(&team, "relay_token", "old-token").expect("put");
    doc.commit();
    f.replicas[0].doc.refresh_after_merge();
    assert_eq!(
        f.replicas[0].doc.team().relays,
        vec![relay("https://old.example.org/", Some("old-token")), spare]
    );
}

#[test]
fn one_relay_is_added_or_removed_with_the_rest_and_their_tokens_kept() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (a, b) = (
        relay("https://a.example.org/", Some("tok")),
        relay("https://b.example.org/", None),
    );
    f.apply(0, set_relays(std::slice::from_ref(&a)))
        .expect("set");
    f.sync_all();
    f.apply(1, Command::AddTeamRelay { relay: b.clone() })
        .expect("Ben adds one");
    f.sync_all();
    assert_eq!(f.replicas[0].doc.team().relays, vec![a.clone(), b.clone()]);
    let heads = f.replicas[1].doc.heads();
    for (cmd, says) in [
        (
            Command::AddTeamRelay {
                relay: relay("https://A.example.org", Some("tok")),
            },
            "already",
        ),
        (
            Command::RemoveTeamRelay {
                url: "https://c.example.org/".into(),
            },
            "not in the team's list",
        ),
        (
            Command::AddTeamRelay {
                relay: relay("c.example.org", None),
            },
            "not a relay URL",
        ),
    ] {
        let err = f.apply(1, cmd).expect_err(says).to_string();
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(f.replicas[1].doc.heads(), heads, "refused: nothing written");
    f.apply(
        1,
        Command::RemoveTeamRelay {
            url: "https://b.example.org".into(),
        },
    )
    .expect("remove, spelled without the slash");
    f.sync_all();
    assert_eq!(f.replicas[0].doc.team().relays, vec![a]);
}

#[test]
fn the_list_can_be_reordered_a_token_replaced_and_one_relay_is_listed_once_however_spelled() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (a, b) = (
        relay("https://a.example.org/", None),
        relay("https://b.example.org/", Some("old")),
    );
    f.apply(0, set_relays(&[a.clone(), b.clone()]))
        .expect("set");
    f.apply(0, set_relays(&[b.clone(), a.clone()]))
        .expect("reorder");
    f.sync_all();
    assert_eq!(f.replicas[1].doc.team().relays, vec![b.clone(), a.clone()]);
    // A new token for a listed relay, as after a member left.
    let renewed = relay("https://b.example.org", Some("new"));
    f.apply(
        1,
        Command::AddTeamRelay {
            relay: renewed.clone(),
        },
    )
    .expect("a new token");
    f.sync_all();
    assert_eq!(
        f.replicas[0].doc.team().relays[0].token.as_deref(),
        Some("new")
    );
    // Apart, Ana and Ben each add one relay, spelled with and without the slash.
    f.apply(
        0,
        Command::AddTeamRelay {
            relay: relay("https://c.example.org/", None),
        },
    )
    .expect("Ana adds c");
    f.apply(
        1,
        Command::AddTeamRelay {
            relay: relay("https://c.example.org", None),
        },
    )
    .expect("Ben adds c");
    f.sync_all();
    let urls: Vec<String> = f.replicas[0]
        .doc
        .team()
        .relays
        .iter()
        .map(|r| r.url.clone())
        .collect();
    assert_eq!(urls.len(), 3, "c once: {urls:?}");
    assert_eq!(urls, {
        let other: Vec<String> = f.replicas[1]
            .doc
            .team()
            .relays
            .iter()
            .map(|r| r.url.clone())
            .collect();
        other
    });
}
