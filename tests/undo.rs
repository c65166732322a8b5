//! Taking things back across two real nodes (`peercoach serve` on loopback): what one
//! device reopens or restores shows on the other, and both keep the history of it. The
//! window's Undo sends these same commands (see the GUI tests); here they are typed.

use crate::util::{ana_and_ben_serving, wait_until};

#[test]
fn a_reopen_and_restores_on_one_node_show_on_the_other() {
    let (a, b, serve_a, serve_b) = ana_and_ben_serving();

    // A request resolved on Ana's node, then reopened there: closed on Ben's, then back.
    let request = a.run(&["ask", "Flaky deploys"]).ok().trim().to_owned();
    wait_until("the request reaching Ben", || {
        b.run(&["board"]).ok().contains("Flaky deploys")
    });
    a.run(&["resolve", &request]).ok();
    wait_until("the resolve reaching Ben", || {
        b.run(&["board", "--closed"]).ok().contains("Flaky deploys")
    });
    assert!(!b.run(&["board"]).ok().contains("Flaky deploys"));
    a.run(&["reopen", &request]).ok();
    wait_until("the reopening reaching Ben", || {
        b.run(&["board"]).ok().contains("Flaky deploys")
    });

    // A session Ben logged, deleted on Ana's node: in Ben's trash too, and he restores it.
    let session = b
        .run(&[
            "session",
            "log",
            "--coach",
            "Ana",
            "--coachee",
            "Ben",
            "--topic",
            "Reading flame graphs",
        ])
        .ok()
        .trim()
        .to_owned();
    wait_until("the session reaching Ana", || {
        a.run(&["session", "list"])
            .ok()
            .contains("Reading flame graphs")
    });
    a.run(&["session", "delete", &session]).ok();
    wait_until("the deletion reaching Ben", || {
        b.run(&["trash", "list"])
            .ok()
            .contains("Reading flame graphs")
    });
    assert!(
        !b.run(&["session", "list"])
            .ok()
            .contains("Reading flame graphs")
    );
    let listed = b.run(&["--json", "trash", "list"]).json();
    let item = &listed["items"][0];
    assert_eq!(item["record"]["kind"], "session", "{listed}");
    let members = b.run(&["--json", "members"]).json();
    let ana = members["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "Ana"))
        .map(|m| m["id"].clone())
        .expect("Ana in the team");
    assert_eq!(item["deleted_by"], ana, "the trash says who deleted it");
    b.run(&["restore", &session[..8]]).ok();
    wait_until("the restore reaching Ana", || {
        a.run(&["session", "list"])
            .ok()
            .contains("Reading flame graphs")
    });
    let history = a.run(&["history"]).ok();
    assert!(
        history.contains("restored a session from the trash: Reading flame graphs"),
        "{history}"
    );

    // A duty Ana removed on her node, restored there by its name as the trash shows it:
    // gone from Ben's node, then back.
    a.run(&["duty", "add", "Release notes"]).ok();
    wait_until("the duty reaching Ben", || {
        b.run(&["duty", "list"]).ok().contains("Release notes")
    });
    let duty = a.run(&["duty", "list"]).ok();
    let duty_id = duty
        .split_whitespace()
        .next()
        .expect("a duty id")
        .to_owned();
    a.run(&["duty", "remove", &duty_id]).ok();
    wait_until("the removal reaching Ben", || {
        !b.run(&["duty", "list"]).ok().contains("Release notes")
    });
    assert!(
        b.run(&["trash", "list"])
            .ok()
            .contains("The trash is empty"),
        "not Ben's to restore"
    );
    a.run(&["restore", "Release notes (Ana)"]).ok();
    wait_until("the duty back on Ben's node", || {
        b.run(&["duty", "list"]).ok().contains("Release notes")
    });
    assert!(
        a.run(&["trash", "list"])
            .ok()
            .contains("The trash is empty")
    );
    // Nothing in the trash by that name any more: a clear error, nothing changed.
    let err = a.run(&["restore", "Release notes (Ana)"]).fails();
    assert!(err.contains("nothing in the trash is called that"), "{err}");
    drop((serve_a, serve_b));
}
