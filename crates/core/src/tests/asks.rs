//! Asked, not assigned: putting someone on the helper rota or making them an apprentice
//! is a question that counts once they say yes, from their own device.

use automerge::transaction::Transactable;

use super::*;
use crate::views::{self, Asked};
use crate::{CommandError, DutyId, NewDuty, Stage};

const WEEK: &str = "2030-W10";

fn rota(
    f: &mut TeamFixture,
    by: usize,
    member: &MemberId,
    floating: bool,
) -> Result<crate::Applied, CommandError> {
    f.apply(
        by,
        Command::SetRota {
            week: WEEK.into(),
            member: member.clone(),
            floating,
        },
    )
}

#[test]
fn someone_asked_onto_the_rota_floats_only_after_their_own_yes() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let asked = rota(&mut f, 0, &ben, true).expect("Ana asks");
    assert!(
        asked.summary.contains("once they say yes"),
        "{}",
        asked.summary
    );
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert!(views::rota_week(team, WEEK).is_empty(), "not on it yet");
    let inbox = views::inbox(team, &ben, f.env.now_ms);
    assert_eq!(inbox.asks.len(), 1);
    assert_eq!(inbox.asks[0].asked, Asked::Rota { week: WEEK.into() });
    assert_eq!(inbox.asks[0].by, ana);
    assert_eq!(inbox.to_act_on(), 1);
    // Cleo cannot take Ben off, nor answer for him.
    let err = rota(&mut f, 2, &ben, false).expect_err("not Cleo's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    // Ben says yes: he floats, and the ask is answered.
    rota(&mut f, 1, &ben, true).expect("yes");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert_eq!(views::rota_week(team, WEEK), vec!["Ben".to_owned()]);
    assert!(views::inbox(team, &ben, f.env.now_ms).asks.is_empty());
    // Putting myself on needs no yes.
    rota(&mut f, 0, &ana, true).expect("myself");
    assert_eq!(
        views::rota_week(f.replicas[0].doc.team(), WEEK),
        vec!["Ana".to_owned(), "Ben".to_owned()]
    );
}

#[test]
fn a_no_answers_the_ask_and_an_asker_may_take_theirs_back() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ben, cleo) = (f.id(1), f.id(2));
    rota(&mut f, 0, &ben, true).expect("ask Ben");
    rota(&mut f, 0, &cleo, true).expect("ask Cleo");
    f.sync_all();
    rota(&mut f, 1, &ben, false).expect("Ben says no");
    rota(&mut f, 0, &cleo, false).expect("Ana takes hers back");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    assert!(views::rota_week(team, WEEK).is_empty());
    assert!(views::inbox(team, &ben, f.env.now_ms).asks.is_empty());
    assert!(views::inbox(team, &cleo, f.env.now_ms).asks.is_empty());
    // Asked again after his no (in the same millisecond, even): open again.
    rota(&mut f, 0, &ben, true).expect("ask Ben again");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert_eq!(views::inbox(team, &ben, f.env.now_ms).asks.len(), 1);
    // A week written short is the same week.
    rota(&mut f, 1, &ben, true).expect("yes");
    let team = f.replicas[1].doc.team();
    assert_eq!(views::rota_week(team, WEEK), vec!["Ben".to_owned()]);
    f.apply(
        1,
        Command::SetRota {
            week: "2030-W9".into(),
            member: ben.clone(),
            floating: true,
        },
    )
    .expect("short week");
    assert_eq!(
        views::rota_week(f.replicas[1].doc.team(), "2030-W09"),
        vec!["Ben".to_owned()]
    );
}

#[test]
fn a_rogue_device_cannot_put_someone_on_the_rota_or_answer_for_them() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    // Mallory's device writes Ben's own "yes" key, and an ask in Ana's name.
    raw(&mut f, 2, |doc| {
        let obj = map_at(doc, &["rota"]);
        doc.put(&obj, format!("{WEEK}|{ben}"), true).expect("put");
        doc.put(&obj, format!("{WEEK}|{ben}|{ana}"), true)
            .expect("put");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert!(
            views::rota_week(team, WEEK).is_empty(),
            "Ben does not float"
        );
        // What Mallory wrote reads as Mallory asking, never as Ana.
        let asks = views::inbox(team, &ben, f.env.now_ms).asks;
        assert_eq!(asks.len(), 1, "{asks:?}");
        assert_eq!(asks[0].by_name, "Mallory");
    }
    // Ben floats by his own say; Mallory's device writes his "no" inside his entry: it
    // counts for nothing and is flagged (peers refuse it outright: the value sits under
    // Ben's member key).
    rota(&mut f, 1, &ben, true).expect("Ben floats");
    f.sync_all();
    raw(&mut f, 2, |doc| {
        let entry = map_at(doc, &["rota", &format!("{WEEK}|{ben}|{ben}")]);
        doc.put(&entry, ben.as_str(), false).expect("put");
    });
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(
        team.ignored()
            .any(|g| g.what == format!("answered about the helper rota in {WEEK}")),
        "flagged"
    );
}

fn duty(f: &mut TeamFixture) -> DutyId {
    let d = f.create::<DutyId>(
        0,
        Command::AddDuty(NewDuty {
            title: "Release train".into(),
            ..Default::default()
        }),
    );
    f.sync_all();
    d
}

/// Replica `by` sets `apprentice`'s stage on duty `d` (`None` takes them off).
fn set_stage(
    f: &mut TeamFixture,
    by: usize,
    d: &DutyId,
    apprentice: &MemberId,
    stage: Option<Stage>,
) -> Result<crate::Applied, CommandError> {
    f.apply(
        by,
        Command::SetBackfill {
            duty: d.clone(),
            apprentice: apprentice.clone(),
            stage,
        },
    )
}

#[test]
fn an_apprentice_is_asked_and_counts_after_their_yes_and_only_the_owner_asks() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let (ben, cleo) = (f.id(1), f.id(2));
    let d = duty(&mut f);
    let err = f
        .apply(
            2,
            Command::SetBackfill {
                duty: d.clone(),
                apprentice: ben.clone(),
                stage: Some(Stage::Shadow),
            },
        )
        .expect_err("not Cleo's duty");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    set_stage(&mut f, 0, &d, &ben, Some(Stage::Shadow)).expect("Ana asks Ben");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert!(
        team.duties[&d].backfills.is_empty(),
        "not an apprentice yet"
    );
    let asks = views::inbox(team, &ben, f.env.now_ms).asks;
    assert_eq!(
        asks[0].asked,
        Asked::Apprentice {
            duty: d.clone(),
            title: "Release train".into(),
            stage: Stage::Shadow
        }
    );
    // Cleo cannot answer for Ben (she was not asked).
    let err = f
        .apply(
            2,
            Command::AnswerBackfill {
                duty: d.clone(),
                yes: true,
            },
        )
        .expect_err("not asked");
    assert!(matches!(err, CommandError::InvalidInput { .. }), "{err:?}");
    f.apply(
        1,
        Command::AnswerBackfill {
            duty: d.clone(),
            yes: true,
        },
    )
    .expect("Ben says yes");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert_eq!(team.duties[&d].backfills.len(), 1);
    assert!(views::inbox(team, &ben, f.env.now_ms).asks.is_empty());
    // The owner moves him on: no new question.
    set_stage(&mut f, 0, &d, &ben, Some(Stage::CoDo)).expect("co-do");
    assert_eq!(
        f.replicas[0].doc.team().duties[&d].backfills[0].stage,
        Stage::CoDo
    );
    // Cleo puts herself on: no yes needed. Asked and declining: not on it.
    set_stage(&mut f, 2, &d, &cleo, Some(Stage::Shadow)).expect("Cleo herself");
    f.sync_all();
    assert_eq!(f.replicas[0].doc.team().duties[&d].backfills.len(), 2);
}

#[test]
fn a_no_keeps_them_off_and_a_yes_forged_by_another_device_counts_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ben = f.id(1);
    let d = duty(&mut f);
    set_stage(&mut f, 0, &d, &ben, Some(Stage::Shadow)).expect("ask");
    f.sync_all();
    // Mallory's device writes Ben's yes.
    raw(&mut f, 2, |doc| {
        let entry = map_at(doc, &["duties", d.as_str(), "backfills", ben.as_str()]);
        doc.put(&entry, "answer", "yes").expect("put");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert!(
            team.duties[&d].backfills.is_empty(),
            "the forged yes counts for nothing"
        );
        let history: Vec<String> = views::history(team).into_iter().map(|h| h.text).collect();
        assert!(
            history
                .iter()
                .any(|h| h.contains("answered for someone asked to be an apprentice")),
            "{history:?}"
        );
    }
    // The question is still Ben's to answer: his own no keeps him off, and ends it.
    let team = f.replicas[1].doc.team();
    assert_eq!(views::inbox(team, &ben, f.env.now_ms).asks.len(), 1);
    f.apply(
        1,
        Command::AnswerBackfill {
            duty: d.clone(),
            yes: false,
        },
    )
    .expect("Ben says no");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(team.duties[&d].backfills.is_empty());
    assert_eq!(team.duties[&d].declined, vec![ben.clone()]);
    assert!(views::inbox(team, &ben, f.env.now_ms).asks.is_empty());
}

#[test]
fn a_rogue_device_cannot_take_over_remove_or_unanswer_someone_elses_duty() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ben = f.id(1);
    let d = duty(&mut f);
    set_stage(&mut f, 0, &d, &ben, Some(Stage::Shadow)).expect("ask");
    f.sync_all();
    f.apply(
        1,
        Command::AnswerBackfill {
            duty: d.clone(),
            yes: true,
        },
    )
    .expect("yes");
    f.sync_all();
    // Mallory's device makes herself the owner, puts the duty in the trash, and blanks
    // Ben's answer, straight into the document.
    let mallory = f.id(2);
    raw(&mut f, 2, |doc| {
        let obj = map_at(doc, &["duties", d.as_str()]);
        doc.put(&obj, "owner", mallory.as_str()).expect("put");
        doc.put(&obj, "deleted_ms", 1_i64).expect("put");
        let entry = map_at(doc, &["duties", d.as_str(), "backfills", ben.as_str()]);
        doc.put(&entry, "answer", "").expect("put");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        let duty = &team.duties[&d];
        assert_eq!(duty.owner, f.id(0), "still Ana's");
        assert!(duty.deleted_ms.is_none(), "not in the trash");
        let flagged: Vec<&str> = team.ignored().map(|g| g.what.as_str()).collect();
        for what in [
            "made someone else the owner of a duty",
            "removed a duty that is not theirs",
            "answered for someone asked to be an apprentice",
        ] {
            assert!(
                flagged.iter().any(|w| w.contains(what)),
                "{what}: {flagged:?}"
            );
        }
    }
    // Nor may Mallory remove it through the front door.
    let err = f
        .apply(2, Command::RemoveDuty { duty: d.clone() })
        .expect_err("not Mallory's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
}

#[test]
fn taken_off_and_put_back_needs_no_new_yes_but_stepping_off_oneself_does() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ben = f.id(1);
    let d = duty(&mut f);
    let set = |f: &mut TeamFixture, by: usize, stage: Option<Stage>| {
        f.apply(
            by,
            Command::SetBackfill {
                duty: d.clone(),
                apprentice: ben.clone(),
                stage,
            },
        )
        .expect("set");
        f.sync_all();
    };
    set(&mut f, 0, Some(Stage::Shadow));
    f.apply(
        1,
        Command::AnswerBackfill {
            duty: d.clone(),
            yes: true,
        },
    )
    .expect("yes");
    f.sync_all();
    // Taken off by Ana and put back (an Undo): still his yes.
    set(&mut f, 0, None);
    assert!(f.replicas[0].doc.team().duties[&d].backfills.is_empty());
    set(&mut f, 0, Some(Stage::Shadow));
    assert_eq!(f.replicas[0].doc.team().duties[&d].backfills.len(), 1);
    // Ben steps off himself: that is his no, and putting him back asks again.
    set(&mut f, 1, None);
    assert_eq!(
        f.replicas[0].doc.team().duties[&d].declined,
        vec![ben.clone()]
    );
    set(&mut f, 0, Some(Stage::Shadow));
    let duty = &f.replicas[0].doc.team().duties[&d];
    assert!(duty.backfills.is_empty(), "{duty:?}");
    assert_eq!(duty.asked.len(), 1, "{duty:?}");
}
