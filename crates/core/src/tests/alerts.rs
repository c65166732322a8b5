use super::*;
use crate::alerts::{self, AlertKind, Target};
use crate::model::Team;
use crate::time::{DAY_MS, iso_week_key};
use crate::{NewFollowUp, NewRequest, NewThanks};

/// What replica `i` sees now.
fn team(f: &TeamFixture, i: usize) -> Team {
    f.replicas[i].doc.team().clone()
}

#[test]
fn a_member_hears_of_what_others_did_for_them_and_never_of_their_own_actions() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ana, ben, cleo) = (f.id(0), f.id(1), f.id(2));
    // Cleo floats this week: asks to the whole team are hers to hear of.
    f.apply(
        2,
        Command::SetRota {
            week: iso_week_key(f.env.now_ms),
            member: cleo,
            floating: true,
        },
    )
    .expect("rota");
    f.sync_all();
    let before_ana = team(&f, 0);
    let before_ben = team(&f, 1);
    // Ben asks Ana directly, offers her help, and thanks her; Cleo asks the whole team.
    let coach_me: RequestId = f.create(
        1,
        Command::Ask(NewRequest {
            title: "Coach me on estimates".into(),
            tried: String::new(),
            skills: vec![],
            urgency: Urgency::Normal,
            to: Some(ana.clone()),
        }),
    );
    f.advance(1_000);
    let offer = offer_to(&mut f, 1, &ana, "the release checklist");
    f.advance(1_000);
    f.apply(
        1,
        Command::Thank(NewThanks {
            to: ana.clone(),
            text: "Thanks for the pairing".into(),
            session: None,
        }),
    )
    .expect("thanks");
    let _for_all = ask(&mut f, 2, "Flaky CI", Urgency::High);
    // Ana asks something herself: not an alert for her.
    let _own = ask(&mut f, 0, "Ana's own question", Urgency::Normal);
    f.sync_all();

    let now = f.env.now_ms;
    let for_ana = alerts::changes(&before_ana, &team(&f, 0), &ana, now);
    let kinds: Vec<AlertKind> = for_ana.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AlertKind::RequestForMe,
            AlertKind::OfferToAnswer,
            AlertKind::Thanks
        ],
        "{for_ana:#?}"
    );
    assert_eq!(for_ana[0].title, "Ben asks you for help");
    assert_eq!(for_ana[0].body, "Coach me on estimates");
    assert_eq!(for_ana[0].target, Target::Request(coach_me.clone()));
    assert_eq!(for_ana[1].title, "Ben asks: would you like some help?");
    assert_eq!(for_ana[1].target, Target::Offer(offer.clone()));
    assert_eq!(for_ana[2].body, "Thanks for the pairing");

    // Ben made all of that: none of it is news to him. Cleo's ask to the whole team is
    // news to nobody who is not floating.
    let for_ben = alerts::changes(&before_ben, &team(&f, 1), &ben, now);
    assert!(for_ben.is_empty(), "{for_ben:#?}");

    // Ana says yes: Ben hears of it, Ana does not.
    let before = (team(&f, 0), team(&f, 1));
    respond(&mut f, 0, &offer, Answer::Yes);
    f.sync_all();
    let for_ben = alerts::changes(&before.1, &team(&f, 1), &ben, f.env.now_ms);
    assert_eq!(for_ben.len(), 1);
    assert_eq!(for_ben[0].kind, AlertKind::YesToMyOffer);
    assert_eq!(for_ben[0].title, "Ana said yes to your offer");
    assert!(alerts::changes(&before.0, &team(&f, 0), &ana, f.env.now_ms).is_empty());
    // The same change seen again is no new alert.
    assert!(alerts::changes(&team(&f, 1), &team(&f, 1), &ben, f.env.now_ms).is_empty());
}

#[test]
fn the_floating_helper_hears_of_every_new_ask_that_week_only() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let week = iso_week_key(f.env.now_ms);
    f.apply(
        0,
        Command::SetRota {
            week,
            member: ana.clone(),
            floating: true,
        },
    )
    .expect("rota");
    f.sync_all();
    let before = team(&f, 0);
    ask(&mut f, 1, "Where are the deploy keys?", Urgency::Low);
    f.sync_all();
    let now = f.env.now_ms;
    let for_ana = alerts::changes(&before, &team(&f, 0), &ana, now);
    assert_eq!(for_ana.len(), 1);
    assert_eq!(for_ana[0].kind, AlertKind::FloatingAsk);
    assert_eq!(for_ana[0].body, "Where are the deploy keys?");
    // Ben is not floating, so it is not news to him.
    assert!(alerts::changes(&before, &team(&f, 1), &ben, now).is_empty());
    // Next week nobody floats: then it is every member's, as a team-wide ask.
    let next_week = alerts::changes(&before, &team(&f, 0), &ana, now + 8 * DAY_MS);
    assert_eq!(
        next_week.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [AlertKind::TeamAsk]
    );
}

#[test]
fn with_nobody_floating_a_new_ask_reaches_every_member_who_is_not_snoozed() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ana, ben, cleo) = (f.id(0), f.id(1), f.id(2));
    let now = f.env.now_ms;
    f.apply(
        2,
        Command::Snooze {
            until_ms: Some(now + 7 * DAY_MS),
        },
    )
    .expect("Cleo snoozes");
    f.sync_all();
    let before: Vec<Team> = (0..3).map(|i| team(&f, i)).collect();
    let asked = ask(&mut f, 0, "How do we rotate the keys?", Urgency::Normal);
    f.sync_all();
    let now = f.env.now_ms;
    let for_ben = alerts::changes(&before[1], &team(&f, 1), &ben, now);
    assert_eq!(for_ben.len(), 1, "{for_ben:#?}");
    assert_eq!(for_ben[0].kind, AlertKind::TeamAsk);
    assert_eq!(for_ben[0].title, "New ask from Ana");
    assert_eq!(for_ben[0].body, "How do we rotate the keys?");
    assert_eq!(for_ben[0].target, Target::Request(asked));
    assert!(
        alerts::changes(&before[0], &team(&f, 0), &ana, now).is_empty(),
        "her own ask"
    );
    assert!(
        alerts::changes(&before[2], &team(&f, 2), &cleo, now).is_empty(),
        "Cleo is snoozed"
    );
    // Once Ben floats this week, new asks are his alone to hear of.
    f.apply(
        1,
        Command::SetRota {
            week: iso_week_key(now),
            member: ben.clone(),
            floating: true,
        },
    )
    .expect("rota");
    f.sync_all();
    let before: Vec<Team> = (0..3).map(|i| team(&f, i)).collect();
    ask(&mut f, 0, "And the staging keys?", Urgency::Low);
    f.sync_all();
    let for_ben = alerts::changes(&before[1], &team(&f, 1), &ben, now);
    assert_eq!(for_ben[0].kind, AlertKind::FloatingAsk);
    assert!(alerts::changes(&before[2], &team(&f, 2), &cleo, now).is_empty());
}

#[test]
fn a_teammate_joining_is_news_to_everyone_else_and_the_joiner_hears_no_roll_call() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let before = (team(&f, 0), team(&f, 1));
    // Ana's device lets Dee in (her invite).
    let dee: MemberId = f.create(
        0,
        Command::AddMember(crate::NewMember {
            name: "Dee".into(),
            actor: crate::testing::actor(7),
            endpoint: "endpoint-7".into(),
            label: "laptop".into(),
            addrs: vec![],
            relay: None,
        }),
    );
    f.sync_all();
    let now = f.env.now_ms;
    for (before, i, me) in [(&before.0, 0, &ana), (&before.1, 1, &ben)] {
        let heard = alerts::changes(before, &team(&f, i), me, now);
        assert_eq!(heard.len(), 1, "{heard:#?}");
        assert_eq!(heard[0].kind, AlertKind::NewMember);
        assert_eq!(heard[0].title, "Dee joined the team");
        assert_eq!(heard[0].target, Target::Team);
    }
    // Dee's own first view of the team is no news of everyone in it.
    assert!(alerts::changes(&Team::default(), &team(&f, 0), &dee, now).is_empty());
    // Each kind can be turned off on its own, by a name of its own.
    let names: std::collections::BTreeSet<&str> =
        AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), AlertKind::ALL.len());
    assert!(names.contains("team-ask") && names.contains("new-member"));
}

#[test]
fn follow_ups_are_due_on_their_day_and_done_ones_are_not() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    // Ben, the coachee, logs it (his consent).
    let s = session(&mut f, 1, &ana, &ben, "Code review habits");
    f.sync_all();
    let today = f.env.now_ms;
    let due = |f: &mut TeamFixture, text: &str, due_ms| {
        f.create::<crate::FollowUpId>(
            0,
            Command::AddFollowUp(NewFollowUp {
                session: s.clone(),
                text: text.into(),
                owner: Some(ben.clone()),
                due_ms: Some(due_ms),
            }),
        )
    };
    due(&mut f, "Try the checklist", today);
    due(&mut f, "Next week's thing", today + 7 * DAY_MS);
    f.sync_all();
    let list = alerts::due_today(&team(&f, 1), &ben, today, 0);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].1.kind, AlertKind::FollowUpDue);
    assert_eq!(
        list[0].1.body,
        "Try the checklist (from \"Code review habits\" with Ana)"
    );
    assert_eq!(list[0].1.target, Target::Session(s.clone()));
    assert!(
        alerts::due_today(&team(&f, 0), &ana, today, 0).is_empty(),
        "not Ana's"
    );
    // Today is the person's: at 23:00 UTC it is already tomorrow two hours east.
    let late = today + 23 * crate::time::HOUR_MS;
    assert_eq!(alerts::due_today(&team(&f, 1), &ben, late, 0).len(), 1);
    assert!(alerts::due_today(&team(&f, 1), &ben, late, 2 * crate::time::HOUR_MS).is_empty());
    f.apply(
        1,
        Command::SetFollowUpDone {
            session: s,
            followup: list[0].0.clone(),
            done: true,
        },
    )
    .expect("done");
    assert!(alerts::due_today(&team(&f, 1), &ben, today, 0).is_empty());
}

#[test]
fn a_burst_becomes_one_summary_that_counts_by_kind() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let ana = f.id(0);
    f.apply(
        0,
        Command::SetRota {
            week: iso_week_key(f.env.now_ms),
            member: ana.clone(),
            floating: true,
        },
    )
    .expect("rota");
    f.sync_all();
    let before = team(&f, 0);
    for i in 0..5 {
        ask(&mut f, 1 + i % 2, &format!("Question {i}"), Urgency::Normal);
    }
    offer_to(&mut f, 2, &ana, "pairing on the parser");
    f.sync_all();
    let all = alerts::changes(&before, &team(&f, 0), &ana, f.env.now_ms);
    assert_eq!(all.len(), 6);
    let shown = alerts::summarize(all);
    assert_eq!(shown.len(), 1);
    assert_eq!(
        shown[0].title,
        "1 offer to answer and 5 new asks while you were away"
    );
    assert_eq!(shown[0].target, Target::Inbox);
    // A few at once stay as they are.
    let one = alerts::summarize(vec![shown[0].clone()]);
    assert_eq!(one, shown);
}

#[test]
fn a_new_device_of_mine_and_a_removal_waiting_for_me_are_told() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let (ana, dan) = (f.id(0), f.id(3));
    let before = [team(&f, 0), team(&f, 1), team(&f, 3)];
    f.apply(
        0,
        Command::AddDevice(crate::NewDevice {
            member: ana.clone(),
            actor: crate::testing::actor(9),
            endpoint: String::new(),
            label: "work laptop".into(),
            addrs: vec![],
            relay: None,
        }),
    )
    .expect("linked");
    f.apply(
        0,
        Command::RemoveMember {
            member: dan.clone(),
        },
    )
    .expect("vote");
    f.sync_all();
    let on_ana = alerts::changes(&before[0], &team(&f, 0), &ana, f.env.now_ms);
    assert_eq!(on_ana.len(), 1, "{on_ana:?}");
    assert_eq!(on_ana[0].kind, AlertKind::Trust);
    assert_eq!(on_ana[0].title, "A new device joined as you: work laptop");
    assert_eq!(on_ana[0].target, Target::Sync);
    // Ben may confirm Dan's removal: he hears of it. Neither Dan, who cannot confirm his
    // own removal, nor Ana, who asked, is asked to.
    let on_ben = alerts::changes(&before[1], &team(&f, 1), &f.id(1), f.env.now_ms);
    assert_eq!(on_ben.len(), 1, "{on_ben:?}");
    assert_eq!(on_ben[0].title, "Ana asked to remove Dan");
    let on_dan = alerts::changes(&before[2], &team(&f, 3), &dan, f.env.now_ms);
    assert!(
        on_dan.is_empty(),
        "the member concerned is not asked to confirm: {on_dan:?}"
    );
}
