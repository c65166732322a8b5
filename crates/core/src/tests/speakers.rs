//! Fields that speak for a person count only when that person's own device wrote them:
//! an offer's and a thanks' sender, a request's author and its withdrawal, comments,
//! profiles, sessions logged between others, and resolving. Each forgery is written
//! straight into the document by Mallory's device (replica 2), as a modified client
//! would; it stays there, counts for nothing, and History names her device.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::*;
use crate::model::Team;
use crate::views::{self, HistoryKind};

const FORGED_ID: &str = "0b8e7d5c-0000-4000-8000-00000000beef";

/// The entries History lists as forged or ignored, as (who wrote it, text).
fn flagged(team: &Team) -> Vec<(String, String)> {
    views::history(team)
        .into_iter()
        .filter(|h| h.kind == HistoryKind::Forged)
        .map(|h| (h.who_name, h.text))
        .collect()
}

fn assert_flagged_by_mallory(f: &TeamFixture, what: &str) {
    for r in 0..3 {
        let flagged = flagged(f.replicas[r].doc.team());
        assert!(
            flagged
                .iter()
                .any(|(who, text)| who == "Mallory" && text.contains(what)),
            "replica {r}: {flagged:?}"
        );
    }
}

#[test]
fn a_forged_offer_sender_and_a_forged_thanks_count_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    raw(&mut f, 2, |doc| {
        let offers = map_at(doc, &["offers"]);
        let o = doc
            .put_object(&offers, FORGED_ID, ObjType::Map)
            .expect("put");
        doc.put(&o, "from", ben.as_str()).expect("put");
        doc.put(&o, "to", ana.as_str()).expect("put");
        doc.put(&o, "topic", "Ben's advice").expect("put");
        doc.put(&o, "created_ms", 1_i64).expect("put");
        doc.put_object(&o, "responses", ObjType::Map).expect("put");
        let thanks = map_at(doc, &["thanks"]);
        let t = doc
            .put_object(
                &thanks,
                "0b8e7d5c-0000-4000-8000-00000000cafe",
                ObjType::Map,
            )
            .expect("put");
        doc.put(&t, "from", ben.as_str()).expect("put");
        doc.put(&t, "to", ana.as_str()).expect("put");
        doc.put(&t, "text", "Ben never wrote this").expect("put");
        doc.put(&t, "at_ms", 1_i64).expect("put");
    });
    f.sync_all();
    for r in 0..3 {
        let team = f.replicas[r].doc.team();
        assert!(team.offers.is_empty(), "replica {r}: no offer from Ben");
        assert!(team.thanks.is_empty(), "replica {r}: no thanks from Ben");
        assert!(
            views::inbox(team, &ana, f.env.now_ms)
                .offers_to_answer
                .is_empty()
        );
    }
    assert_flagged_by_mallory(&f, "offered help");
    assert_flagged_by_mallory(&f, "sent thanks");
}

#[test]
fn a_request_in_someone_elses_name_and_edits_to_it_count_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let genuine = ask(&mut f, 0, "Ana's own request", Urgency::Normal);
    f.sync_all();
    raw(&mut f, 2, |doc| {
        // A request with Ben as its author.
        let requests = map_at(doc, &["requests"]);
        let r = doc
            .put_object(&requests, FORGED_ID, ObjType::Map)
            .expect("put");
        doc.put(&r, "author", ben.as_str()).expect("put");
        doc.put(&r, "title", "Ben asks (not really)").expect("put");
        doc.put(&r, "created_ms", 1_i64).expect("put");
        // Ana's request withdrawn, and a comment in Ben's name on it.
        let mine = map_at(doc, &["requests", genuine.as_str()]);
        doc.put(&mine, "withdrawn_ms", 2_i64).expect("put");
        let comments = map_at(doc, &["requests", genuine.as_str(), "comments"]);
        let c = doc
            .put_object(
                &comments,
                "0b8e7d5c-0000-4000-8000-00000000c0de",
                ObjType::Map,
            )
            .expect("put");
        doc.put(&c, "author", ben.as_str()).expect("put");
        doc.put(&c, "text", "Ben agrees").expect("put");
        doc.put(&c, "at_ms", 3_i64).expect("put");
        // ...and resolved, though Mallory neither asked nor claimed it.
        doc.put(&mine, "resolved_ms", 4_i64).expect("put");
    });
    f.sync_all();
    for r in 0..3 {
        let team = f.replicas[r].doc.team();
        assert_eq!(team.requests.len(), 1, "replica {r}: only Ana's request");
        let request = &team.requests[&genuine];
        assert_eq!(request.author, ana);
        assert!(
            request.is_active(),
            "replica {r}: neither withdrawn nor resolved"
        );
        assert!(
            request.comments.is_empty(),
            "replica {r}: no comment from Ben"
        );
    }
    assert_flagged_by_mallory(&f, "asked for help");
    assert_flagged_by_mallory(&f, "withdrew the request");
    assert_flagged_by_mallory(&f, "commented");
    assert_flagged_by_mallory(&f, "resolved a request they neither asked nor claimed");
    // Ben, who claims it, may resolve it.
    f.apply(
        1,
        Command::Claim {
            request: genuine.clone(),
        },
    )
    .expect("claim");
    f.apply(
        1,
        Command::Resolve {
            request: genuine.clone(),
        },
    )
    .expect("resolve");
    f.sync_all();
    assert!(!f.replicas[0].doc.team().requests[&genuine].is_active());
}

#[test]
fn a_profile_is_its_members_own() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ana = f.id(0);
    f.apply(
        0,
        Command::SetSkill {
            skill: "rust".into(),
            level: Some(crate::SkillLevel::CanCoach),
        },
    )
    .expect("skill");
    f.sync_all();
    raw(&mut f, 2, |doc| {
        let member = map_at(doc, &["members", ana.as_str()]);
        doc.put(&member, "availability", "Never").expect("put");
        doc.put(&member, "snoozed_until_ms", i64::MAX).expect("put");
        let skills = map_at(doc, &["members", ana.as_str(), "skills"]);
        doc.put(&skills, "rust", "learning").expect("put");
        doc.put(&skills, "cobol", "can-coach").expect("put");
    });
    f.sync_all();
    for r in 0..3 {
        let team = f.replicas[r].doc.team();
        let a = &team.members[&ana];
        assert_eq!(a.name, "Ana");
        assert_eq!(a.availability, "", "replica {r}");
        assert_eq!(a.snoozed_until_ms, None, "replica {r}");
        assert!(!a.skills.contains_key("cobol"), "replica {r}");
        assert_ne!(a.skills.get("rust"), Some(&crate::SkillLevel::Learning));
    }
    assert_flagged_by_mallory(&f, "in someone else's profile");
    // Ana's own edit counts again.
    f.apply(
        0,
        Command::SetProfile {
            name: None,
            availability: Some("Tuesday mornings".into()),
        },
    )
    .expect("profile");
    f.sync_all();
    assert_eq!(
        f.replicas[1].doc.team().members[&ana].availability,
        "Tuesday mornings"
    );
}

#[test]
fn a_session_between_others_logged_by_a_third_counts_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    raw(&mut f, 2, |doc| {
        let sessions = map_at(doc, &["sessions"]);
        let s = doc
            .put_object(&sessions, FORGED_ID, ObjType::Map)
            .expect("put");
        doc.put(&s, "coach", ben.as_str()).expect("put");
        doc.put(&s, "coachee", ana.as_str()).expect("put");
        doc.put(&s, "topic", "Never happened").expect("put");
        doc.put(&s, "at_ms", 1_i64).expect("put");
    });
    f.sync_all();
    for r in 0..3 {
        assert!(f.replicas[r].doc.team().sessions.is_empty(), "replica {r}");
    }
    assert_flagged_by_mallory(&f, "logged a session between others");
}

#[test]
fn a_rewrite_of_someone_elses_request_or_name_counts_for_nothing_and_hides_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let r = ask(&mut f, 0, "Ana's own words", Urgency::High);
    f.sync_all();
    // Mallory rewrites Ana's title; Ana (replica 0, who added everyone) renames Ben
    // long after she added him.
    raw(&mut f, 2, |doc| {
        let mine = map_at(doc, &["requests", r.as_str()]);
        doc.put(&mine, "title", "Mallory's words").expect("put");
    });
    raw(&mut f, 0, |doc| {
        let member = map_at(doc, &["members", ben.as_str()]);
        doc.put(&member, "name", "Not Ben").expect("put");
    });
    f.sync_all();
    for i in 0..3 {
        let team = f.replicas[i].doc.team();
        let request = &team.requests[&r];
        assert_eq!(request.author, ana, "replica {i}: the request stays Ana's");
        assert_eq!(
            request.title, "",
            "replica {i}: the rewritten title counts for nothing"
        );
        assert_eq!(request.urgency, Urgency::High);
        assert_eq!(
            team.members[&ben].name, "",
            "replica {i}: only Ben renames Ben"
        );
    }
    assert_flagged_by_mallory(&f, "rewrote the title of a request");
}
