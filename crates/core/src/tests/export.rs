use super::*;
use crate::NewRequest;
use crate::export::{self, CsvTable, ImportError};
use crate::model::Answer;
use crate::testing::TeamFixture;

#[test]
fn json_export_has_the_documented_fields() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let r = ask(&mut f, 0, "Pipelines", Urgency::High);
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "hidden advice");
    f.sync_all();
    let value = serde_json::to_value(export::to_export(f.replicas[0].doc.team(), Some(&ana)))
        .expect("json");
    assert_eq!(value["team"]["name"], "Test team");
    assert!(value["team"]["id"].as_str().is_some_and(|s| s.len() == 36));
    let names: Vec<_> = value["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["name"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"Ana") && names.contains(&"Ben"));
    let req = &value["requests"][0];
    for key in ["id", "title", "status", "author", "created_at"] {
        assert!(!req[key].is_null(), "requests[].{key}");
    }
    assert_eq!(req["status"], "open");
    assert_eq!(req["author"], ana.as_str());
    let off = &value["offers"][0];
    assert_eq!(off["id"], o.as_str());
    assert_eq!(off["request"], r.as_str());
    assert_eq!(off["from"], ben.as_str());
    assert_eq!(off["to"], ana.as_str());
    assert_eq!(off["status"], "pending");
    assert!(off["message"].is_null(), "advice stays out before yes");
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    session(&mut f, 1, &ben, &ana, "Pipelines");
    let value = serde_json::to_value(export::to_export(f.replicas[1].doc.team(), Some(&ben)))
        .expect("json");
    let ses = &value["sessions"][0];
    assert_eq!(ses["coach"], ben.as_str());
    assert_eq!(ses["coachee"], ana.as_str());
    assert_eq!(ses["topic"], "Pipelines");
}

#[test]
fn csv_quotes_what_needs_quoting() {
    let mut f = TeamFixture::new(&["Ana"]);
    f.create::<crate::RecordId>(
        0,
        Command::Ask(NewRequest {
            title: "Commas, \"quotes\"".into(),
            tried: String::new(),
            skills: vec!["a".into(), "b".into()],
            urgency: Urgency::Low,
            to: None,
        }),
    );
    let csv = export::to_csv(f.replicas[0].doc.team(), None, CsvTable::Requests);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("id,title,status"))
    );
    let row = lines.next().expect("row");
    assert!(row.contains(",\"Commas, \"\"quotes\"\"\",open,"), "{row}");
    assert!(row.contains(",a;b,"));
}

#[test]
fn markdown_report_reads_well_and_says_why_there_is_no_ranking() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    ask(&mut f, 0, "Flaky build", Urgency::High);
    let md = export::to_markdown(f.replicas[0].doc.team(), f.env.now_ms);
    assert!(md.starts_with("# Test team"));
    assert!(md.contains("- Flaky build — Ana (open"));
    assert!(md.contains("no per-person ranking"));
}

#[test]
fn json_import_restores_missing_records_and_refuses_others() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ana = f.id(0);
    let r = ask(&mut f, 1, "Lost request", Urgency::Normal);
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::Yes);
    let exported =
        serde_json::to_vec(&export::to_export(f.replicas[0].doc.team(), Some(&ana))).expect("json");

    // A fresh copy of the team from before these records existed.
    let mut g = TeamFixture::with_seed(&["Ana", "Ben"], 2);
    let parsed = export::parse_export(&exported).expect("parse");
    let err = g.replicas[0]
        .doc
        .import_json(&parsed, &mut g.env)
        .expect_err("other team");
    assert!(matches!(err, ImportError::OtherTeam { .. }));

    // Same team, an older replica: import into Ana's copy made before the records.
    let mut old = crate::TeamDoc::from_doc(
        f.replicas[0].doc.automerge().fork_at(&[]).expect("fork"),
        crate::testing::actor(0),
    );
    assert!(
        old.import_json(&parsed, &mut f.env).is_err(),
        "empty copy is no team"
    );
    let report = f.replicas[0]
        .doc
        .import_json(&parsed, &mut f.env)
        .expect("idempotent import");
    assert_eq!(report.added, 0);
    assert!(report.already_present >= 4);
    assert!(f.replicas[0].doc.team().requests.contains_key(&r));

    for bad in [&b"not json"[..], br#"{"format":"other","version":1}"#, br#"{"format":"peercoach-export","version":9,"team":{"id":"x","name":"y"},"members":[],"requests":[],"offers":[],"sessions":[]}"#] {
        assert!(matches!(export::parse_export(bad), Err(ImportError::Format(_))));
    }
}

#[test]
fn an_imported_session_meets_the_same_limits_as_a_logged_one() {
    // One rule per limit: a session over a day is refused when logged and when imported,
    // with the same error (import used to clamp it silently).
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let too_long = crate::records::session::MAX_MINUTES + 1;
    let logged = f.replicas[0]
        .doc
        .apply(
            Command::LogSession(crate::NewSession {
                topic: "Marathon".into(),
                minutes: too_long,
                ..crate::NewSession::between(ben.clone(), ana.clone())
            }),
            &mut f.env,
        )
        .expect_err("over a day");
    let before = f.replicas[0].doc.heads();
    let s = session(&mut f, 0, &ben, &ana, "Pairing");
    let mut export = export::to_export(f.replicas[0].doc.team(), Some(&ana));
    export.sessions[0].minutes = too_long;

    let mut old = crate::TeamDoc::from_doc(
        f.replicas[0]
            .doc
            .automerge()
            .fork_at(&before)
            .expect("fork"),
        crate::testing::actor(0),
    );
    let imported = old
        .import_json(&export, &mut f.env)
        .expect_err("over a day");
    match imported {
        ImportError::Record { id, error } => {
            assert_eq!(id, s.to_string());
            assert_eq!(error, logged);
        }
        other => panic!("expected a record error, got {other:?}"),
    }
    assert!(old.team().sessions.is_empty(), "nothing was written");

    export.sessions[0].minutes = 45;
    old.import_json(&export, &mut f.env).expect("within a day");
    assert_eq!(old.team().sessions[&s].minutes, 45);
}
