//! The CLI on one device: the fixed command forms, output, exports, and bad input that
//! must fail cleanly without writing anything.

use crate::util::Device;

#[test]
fn init_ask_board_and_json_output() {
    let d = Device::new();
    let team = d.init("Ana", "Platform");
    assert_eq!(team.len(), 36, "init prints the team id: {team}");
    let req = d
        .run(&[
            "ask",
            "Flaky integration test",
            "--tried",
            "reran it",
            "--skill",
            "Rust",
            "--skill",
            "ci",
            "--urgency",
            "high",
        ])
        .ok();
    assert_eq!(req.len(), 36);
    let board = d.run(&["board"]).ok();
    assert!(board.contains("Flaky integration test — Ana"), "{board}");
    assert!(board.contains("first time asking"));
    let json = d.run(&["--json", "board"]).json();
    assert_eq!(json["rows"][0]["id"], req.as_str());
    assert_eq!(json["rows"][0]["skills"], serde_json::json!(["ci", "rust"]));
    // Ids can be given by unique prefix.
    let out = d.run(&["comment", &req[..6], "still failing on main"]).ok();
    assert!(out.len() == 36);
    let teams = d.run(&["--json", "teams"]).json();
    assert_eq!(teams["teams"][0]["id"], team.as_str());
    assert_eq!(teams["teams"][0]["name"], "Platform");
}

#[test]
fn secrets_stay_off_the_command_line_and_out_of_output_and_exports_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = Device::new();
    d.init("Ana", "Platform");
    // A token read from standard input: set, and never printed.
    let shown = d
        .run_with_stdin(
            &[
                "--json",
                "network",
                "--relay-url",
                "https://relay.example.org",
                "--relay-token",
                "-",
            ],
            "st4ndard-input-token\n",
        )
        .ok();
    assert!(!shown.contains("st4ndard-input-token"), "{shown}");
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(shown["relays"][0]["token"], "set");
    let settings = std::fs::read_to_string(d.path().join("settings.json")).expect("settings");
    assert!(
        settings.contains("st4ndard-input-token"),
        "saved: {settings}"
    );
    // A token read from a file; the text output says only that there is one.
    let file = d.path().join("token.txt");
    std::fs::write(&file, "f1le-token\n").expect("write token file");
    let text = d
        .run(&[
            "network",
            "--relay-token-file",
            file.to_str().expect("utf8"),
        ])
        .ok();
    assert!(
        text.contains("(with a token)") && !text.contains("f1le-token"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(d.path().join("settings.json"))
            .expect("settings")
            .contains("f1le-token")
    );
    // `none` clears it, and keeps the relay.
    let cleared = d
        .run(&["--json", "network", "--relay-token", "none"])
        .json();
    assert_eq!(cleared["relays"][0]["token"], "not set", "{cleared}");
    assert_eq!(cleared["relays"][0]["url"], "https://relay.example.org");
    d.run(&[
        "network",
        "--relay-token-file",
        file.to_str().expect("utf8"),
    ])
    .ok();
    // An empty token or a missing file: one clear line, nothing changed.
    let before = d.snapshot_files();
    let err = d
        .run_with_stdin(&["network", "--relay-token", "-"], "\n")
        .fails();
    assert!(err.contains("no token"), "{err}");
    let err = d
        .run(&["network", "--relay-token-file", "/nonexistent/token"])
        .fails();
    assert!(err.contains("reading the token"), "{err}");
    assert_eq!(d.snapshot_files(), before);
    // Exports (with private notes, and without) are readable by their owner only.
    d.run(&["note", "add", "Mine alone"]).ok();
    for (args, name) in [
        (&["--format", "json", "--private-notes"][..], "notes.json"),
        (
            &["--format", "csv", "--table", "members"][..],
            "members.csv",
        ),
    ] {
        let out = d.path().join(name);
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", out.to_str().expect("utf8")]);
        d.run(&all).ok();
        let mode = std::fs::metadata(&out)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn exports_in_every_format() {
    let d = Device::new();
    let team = d.init("Ana", "Platform");
    let req = d.run(&["ask", "Need a reviewer"]).ok();
    d.run(&["skill", "rust", "can-coach"]).ok();
    let json = d.run(&["export", "--format", "json"]).json();
    assert_eq!(json["team"]["id"], team.as_str());
    assert_eq!(json["team"]["name"], "Platform");
    assert_eq!(json["members"][0]["name"], "Ana");
    assert_eq!(json["requests"][0]["id"], req.as_str());
    assert_eq!(json["requests"][0]["status"], "open");
    assert!(json["requests"][0]["created_at"].as_i64().is_some());
    assert_eq!(json["requests"][0]["author"], json["members"][0]["id"]);
    assert!(json["offers"].as_array().is_some() && json["sessions"].as_array().is_some());
    let csv = d
        .run(&["export", "--format", "csv", "--table", "members"])
        .ok();
    assert!(csv.starts_with("id,name,joined"), "{csv}");
    assert!(csv.contains("rust:can-coach"));
    let md = d.run(&["export", "--format", "md"]).ok();
    assert!(md.starts_with("# Platform"));
    // The Automerge export is a standard save file: Automerge itself loads it.
    let out = d.path().join("team.automerge");
    d.run(&[
        "export",
        "--format",
        "automerge",
        "--out",
        out.to_str().expect("utf8"),
    ])
    .ok();
    let bytes = std::fs::read(&out).expect("written");
    let doc =
        peercoach_core::automerge::AutoCommit::load(&bytes).expect("a standard Automerge file");
    let team_view = peercoach_core::Team::read(&doc);
    assert_eq!(team_view.name, "Platform");
    assert_eq!(team_view.requests.len(), 1);
}

#[test]
fn importing_the_automerge_file_restores_a_team_elsewhere() {
    let a = Device::new();
    let team = a.init("Ana", "Platform");
    a.run(&["ask", "Backup me"]).ok();
    let file = a.path().join("backup.automerge");
    a.run(&[
        "export",
        "--format",
        "automerge",
        "--out",
        file.to_str().expect("utf8"),
    ])
    .ok();
    let b = Device::new();
    let out = b.run(&["import", file.to_str().expect("utf8")]).ok();
    assert!(out.contains("added team Platform"), "{out}");
    let teams = b.run(&["--json", "teams"]).json();
    assert_eq!(teams["teams"][0]["id"], team.as_str());
    assert!(teams["teams"][0]["me"].is_null(), "not a member there");
    assert!(b.run(&["board"]).ok().contains("Backup me"));
    // Not a member: commands are refused cleanly.
    let err = b.run(&["ask", "x"]).fails();
    assert!(err.contains("not a member"), "{err}");
    // Importing again merges: nothing new.
    let out = b.run(&["import", file.to_str().expect("utf8")]).ok();
    assert!(out.contains("0 new records"), "{out}");
    // A JSON export of the same team merges records it lacks.
    let json = a.path().join("export.json");
    a.run(&["ask", "Second"]).ok();
    a.run(&[
        "export",
        "--format",
        "json",
        "--out",
        json.to_str().expect("utf8"),
    ])
    .ok();
    let out = a.run(&["import", json.to_str().expect("utf8")]).ok();
    assert!(out.contains("imported 0 records"), "{out}");
}

#[test]
fn bad_input_fails_cleanly_and_writes_nothing() {
    let d = Device::new();
    // Before any team exists.
    let err = d.run(&["board"]).fails();
    assert!(err.contains("no team"), "{err}");
    d.init("Ana", "Platform");
    let req = d.run(&["ask", "Real request"]).ok();
    let before = d.snapshot_files();
    let garbage = d.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x00\x01garbage").expect("write");
    let not_ours = d.path().join("other.json");
    std::fs::write(&not_ours, br#"{"hello": "world"}"#).expect("write");
    let before_files = d.snapshot_files();
    for (args, expect) in [
        (
            vec!["claim", "00000000-0000-4000-8000-000000000000"],
            "no such request",
        ),
        (vec!["respond", "abcd", "yes"], "no offer, rota week"),
        (vec!["claim", &req], "your own request"),
        (vec!["offer", &req], "your own request"),
        (vec!["ask", ""], "must not be empty"),
        (vec!["ask", "x", "--to", "Nobody"], "no such member"),
        (vec!["board", "--at", "2026-13-45"], "bad date"),
        (
            vec![
                "session",
                "log",
                "--coach",
                "Ana",
                "--coachee",
                "Ana",
                "--topic",
                "x",
            ],
            "different people",
        ),
        (
            vec!["import", garbage.to_str().expect("utf8")],
            "neither an Automerge",
        ),
        (
            vec!["import", not_ours.to_str().expect("utf8")],
            "not a peercoach JSON export",
        ),
        (
            vec!["import", "/nonexistent/file"],
            "reading /nonexistent/file",
        ),
        (vec!["rota", "add", "2026-99", "Ana"], "ISO week"),
        (
            vec![
                "hour",
                "--day",
                "monday",
                "--start",
                "25:00",
                "--minutes",
                "60",
            ],
            "bad time",
        ),
        (vec!["use", "No such team"], "no team matches"),
        (vec!["metrics", "--k", "0"], "--k"),
    ] {
        let err = d.run(&args).fails();
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    // Usage errors from argument parsing exit 2.
    for args in [
        vec!["ask"],
        vec!["respond", "x", "maybe"],
        vec!["ask", "x", "--urgency", "soon"],
        vec!["frobnicate"],
    ] {
        let run = d.run(&args);
        assert_eq!(run.code, 2, "{args:?}");
    }
    let after = d.snapshot_files();
    assert_eq!(before_files, after, "nothing written by refused commands");
    assert_eq!(before.len() + 2, after.len());
}

#[test]
fn a_damaged_data_dir_is_reported_not_panicked_on() {
    let d = Device::new();
    d.init("Ana", "Platform");
    std::fs::write(d.path().join("identity"), b"broken").expect("write");
    let err = d.run(&["board"]).fails();
    assert!(err.contains("identity") && err.contains("damaged"), "{err}");
    assert_eq!(
        std::fs::read(d.path().join("identity")).expect("kept"),
        b"broken"
    );
}

#[test]
fn a_damaged_snapshot_is_moved_aside_with_a_warning() {
    let d = Device::new();
    let team = d.init("Ana", "Platform");
    let snap = d.path().join("teams").join(&team).join("snapshot");
    let mut bytes = std::fs::read(&snap).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&snap, &bytes).expect("write");
    let run = d.run(&["teams"]);
    assert!(
        run.stderr
            .contains("warning: the team snapshot was unreadable"),
        "{}",
        run.stderr
    );
    let moved: Vec<_> = std::fs::read_dir(d.path().join("teams").join(&team))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("snapshot.damaged-")
        })
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(std::fs::read(moved[0].path()).expect("kept"), bytes);
}

#[test]
fn private_notes_from_the_command_line() {
    let d = Device::new();
    d.init("Ana", "Platform");
    let req = d.run(&["ask", "Estimating the migration"]).ok();
    let note = d
        .run(&[
            "note",
            "add",
            "Ask Bo about last year's estimate",
            "--request",
            &req[..8],
        ])
        .ok();
    assert_eq!(note.len(), 36, "add prints the note's id: {note}");
    let goal = d
        .run(&["note", "add", "Goal: coach someone this month"])
        .ok();
    let list = d.run(&["note", "list"]).ok();
    assert!(list.contains("only you can read these"), "{list}");
    assert!(list.contains("Ask Bo about last year's estimate"));
    assert!(
        list.contains("(on request \"Estimating the migration\")"),
        "{list}"
    );
    assert!(list.contains("Goal: coach someone this month"));
    let json = d.run(&["--json", "note", "list"]).json();
    assert_eq!(json["notes"].as_array().map(Vec::len), Some(2));
    // Bad input: one clear line, nothing written.
    let before = d.snapshot_files();
    assert!(d.run(&["note", "add", "   "]).fails().contains("note"));
    assert!(
        d.run(&["note", "add", "x", "--session", "nope"])
            .fails()
            .contains("session")
    );
    assert!(
        d.run(&["export", "--format", "csv", "--private-notes"])
            .fails()
            .contains("only be exported as JSON")
    );
    assert_eq!(d.snapshot_files(), before, "refused commands write nothing");
    // Exported only when asked.
    let plain = d.run(&["export", "--format", "json"]).ok();
    assert!(!plain.contains("Goal: coach someone"));
    let with = d
        .run(&["export", "--format", "json", "--private-notes"])
        .ok();
    assert!(with.contains("Goal: coach someone"), "{with}");
    d.run(&["note", "delete", &goal[..8]]).ok();
    assert!(!d.run(&["note", "list"]).ok().contains("Goal: coach"));
    assert!(
        d.run(&["note", "delete", &goal[..8]])
            .fails()
            .contains("no such note")
    );
}

#[test]
fn demo_fills_a_data_dir_of_its_own_and_keeps_it_on_this_machine() {
    let d = Device::new();
    let made = d.run(&["--json", "demo", "--seed", "7"]).json();
    let team = made["team_id"].as_str().expect("team id").to_owned();
    assert!(made["changes"].as_u64().unwrap_or(0) > 1_000, "{made}");
    let teams = d.run(&["--json", "teams"]).json();
    assert_eq!(teams["teams"][0]["id"], team.as_str());
    let members = d.run(&["--json", "members"]).json();
    assert!(
        members["members"].as_array().map(Vec::len).unwrap_or(0) >= 10,
        "{members}"
    );
    // Its teammates are made up: the data dir is set to reach no one.
    assert_eq!(d.run(&["--json", "network"]).json()["mode"], "loopback");

    // Beside a real team the demo leaves the network settings alone.
    let real = Device::new();
    real.init("Ana", "Platform");
    let out = real.run(&["demo", "--seed", "7"]);
    out.ok();
    assert!(!out.stderr.contains("loopback only"), "{}", out.stderr);
    assert_eq!(real.run(&["--json", "network"]).json()["mode"], "anywhere");
    assert_eq!(
        real.run(&["--json", "teams"]).json()["teams"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// The coaching hour is typed and shown on the person's own clock, and kept in UTC for
/// the team: set at 16:00 in India (UTC+05:30, no summer time), it is 10:30 UTC in the
/// record, and a teammate's device in UTC shows it so.
#[test]
fn the_coaching_hour_is_set_and_shown_on_the_local_clock_and_kept_in_utc() {
    // Without the zone database TZ names nothing, and every clock is UTC.
    if !std::path::Path::new("/usr/share/zoneinfo/Asia/Kolkata").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs tzdata (CI must have it: .ci/run installs it)"
        );
        eprintln!("skipped: needs tzdata (/usr/share/zoneinfo)");
        return;
    }
    let d = Device::new();
    d.init("Ana", "Platform");
    let india = [("TZ", "Asia/Kolkata")];
    d.run_with_env(
        &[
            "hour",
            "--day",
            "thursday",
            "--start",
            "16:00",
            "--minutes",
            "60",
        ],
        &india,
    )
    .ok();
    let rota = d.run(&["--json", "rota", "show"]).json();
    assert_eq!(rota["hour"]["weekday"], 3, "{rota}");
    assert_eq!(rota["hour"]["start_minute"], 10 * 60 + 30, "{rota}");
    let shown = d.run_with_env(&["hour"], &india).ok();
    assert!(
        shown.contains("Thursday 16:00–17:00 (UTC+05:30)"),
        "{shown}"
    );
    let shown = d.run_with_env(&["hour"], &[("TZ", "UTC")]).ok();
    assert!(shown.contains("Thursday 10:30–11:30 (UTC)"), "{shown}");
    // Early Monday in India is still Sunday in UTC.
    d.run_with_env(
        &[
            "hour",
            "--day",
            "monday",
            "--start",
            "02:00",
            "--minutes",
            "30",
        ],
        &india,
    )
    .ok();
    let rota = d.run(&["--json", "rota", "show"]).json();
    assert_eq!(rota["hour"]["weekday"], 6, "{rota}");
    assert_eq!(rota["hour"]["start_minute"], 20 * 60 + 30, "{rota}");
    // Set in Berlin: the calendar keeps it in Berlin's time, with Berlin's rules.
    let thursday_at_three = |tz: &str| {
        d.run_with_env(
            &[
                "hour",
                "--day",
                "thursday",
                "--start",
                "15:00",
                "--minutes",
                "60",
            ],
            &[("TZ", tz)],
        )
        .ok();
    };
    thursday_at_three("Europe/Berlin");
    assert_eq!(
        d.run(&["--json", "rota", "show"]).json()["hour"]["zone"],
        "Europe/Berlin"
    );
    let ics = d.run(&["calendar", "export", "--hour"]).ok();
    assert!(ics.contains("DTSTART;TZID=Europe/Berlin:"), "{ics}");
    assert!(
        ics.contains("T150000\r\nDURATION:PT60M\r\nRRULE:FREQ=WEEKLY;BYDAY=TH"),
        "{ics}"
    );
    assert!(
        ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"),
        "{ics}"
    );
    // The same in the device's calendar file, which the change rewrote.
    let path = d.run(&["calendar", "--path"]).ok();
    let file = std::fs::read_to_string(path.trim()).expect("the calendar file");
    assert!(file.contains("DTSTART;TZID=Europe/Berlin:"), "{file}");
    // A TZ that names no zone (a POSIX rule) leaves the zone unknown: UTC, not a
    // contradiction.
    thursday_at_three("CET-1CEST,M3.5.0,M10.5.0/3");
    let ics = d.run(&["calendar", "export", "--hour"]).ok();
    assert!(!ics.contains("TZID"), "{ics}");
}

/// `suggest` names who could help with a request, and why; `aim` lets its author ask one
/// of them, or the whole team again; anyone else is refused.
#[test]
fn suggest_names_who_could_help_and_aim_asks_one_of_them() {
    let d = Device::new();
    d.run(&["demo", "--seed", "7"]).ok();
    let id = d
        .run(&["--json", "ask", "Query got slow", "--skill", "sql"])
        .json()["id"]
        .as_str()
        .expect("the request's id")
        .to_owned();
    let reply = d.run(&["--json", "suggest", &id]).json();
    let list = reply["suggestions"].as_array().expect("a list").clone();
    assert!(!list.is_empty() && list.len() <= 3, "{reply}");
    for s in &list {
        let why = s["why"].as_array().expect("reasons");
        assert!(
            why[0].as_str().is_some_and(|w| w.ends_with(" sql")),
            "a skill of the request first: {s}"
        );
        assert_ne!(s["name"], "Ana", "never the asker");
    }
    let text = d.run(&["suggest", &id]).ok();
    let first = list[0]["name"].as_str().expect("a name").to_owned();
    assert!(text.starts_with(&format!("{first}: ")), "{text}");
    // Ana asks the first of them: the request is aimed at them, who is then not suggested.
    d.run(&["aim", &id, &first]).ok();
    let reply = d.run(&["--json", "suggest", &id]).json();
    assert!(
        reply["suggestions"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|s| s["name"] != first.as_str()),
        "{reply}"
    );
    d.run(&["aim", &id, "--everyone"]).ok();
    // Someone else's request is not Ana's to aim.
    let theirs = d.run(&["--json", "board"]).json()["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["author_name"] != "Ana")
        .and_then(|r| r["id"].as_str())
        .expect("a teammate's request")
        .to_owned();
    let err = d.run(&["aim", &theirs, &first]).fails();
    assert!(err.contains("say whom this request is for"), "{err}");
}

/// `board --closed` lists resolved and withdrawn requests; `reopen` puts one back.
#[test]
fn a_closed_request_is_listed_and_reopened_from_the_command_line() {
    let d = Device::new();
    d.init("Ana", "Platform");
    let id = d.run(&["ask", "Flaky deploys"]).ok().trim().to_owned();
    d.run(&["resolve", &id]).ok();
    assert!(!d.run(&["board"]).ok().contains("Flaky deploys"));
    let closed = d.run(&["board", "--closed"]).ok();
    assert!(
        closed.contains("resolved: Flaky deploys (asked by Ana)") && closed.contains(&id),
        "{closed}"
    );
    let json = d.run(&["--json", "board", "--closed"]).json();
    assert_eq!(json["rows"][0]["closed"], "resolved", "{json}");
    d.run(&["reopen", &id]).ok();
    assert!(d.run(&["board"]).ok().contains("Flaky deploys"));
    assert!(
        d.run(&["board", "--closed"])
            .ok()
            .contains("No resolved or withdrawn")
    );
    // Reopening an open request changes nothing; a closed one can be closed again.
    assert!(d.run(&["reopen", &id]).ok().contains("already open"));
    d.run(&["withdraw", &id]).ok();
    assert!(
        d.run(&["board", "--closed"])
            .ok()
            .contains("withdrawn: Flaky deploys")
    );
}

/// `search` finds what a person may read, by kind, every word required; a closed request
/// too; `--json` gives the groups.
#[test]
fn search_finds_records_of_every_kind_from_the_command_line() {
    let d = Device::new();
    d.init("Ana", "Platform");
    let id = d
        .run(&["ask", "Flaky deploys on Fridays", "--tried", "retrying"])
        .ok()
        .trim()
        .to_owned();
    d.run(&["comment", &id, "Pinned the runner: flaky no more"])
        .ok();
    d.run(&["resolve", &id]).ok();
    d.run(&["note", "add", "Remember the flaky runner story"])
        .ok();
    let text = d.run(&["search", "flaky"]).ok();
    assert!(text.contains("Requests (1):"), "{text}");
    assert!(text.contains("Comments (1):"), "{text}");
    assert!(text.contains("Your private notes (1):"), "{text}");
    assert!(text.contains(&format!("request {}", &id[..8])), "{text}");
    let json = d.run(&["--json", "search", "runner", "flaky"]).json();
    let kinds: Vec<&str> = json["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["comment", "note"], "{json}");
    let none = d.run(&["search", "zebra"]).ok();
    assert!(
        none.contains("Nothing you may read has all of: zebra"),
        "{none}"
    );
    let err = d.run(&["search"]).fails();
    assert!(err.contains("required"), "{err}");
}

#[test]
fn edit_changes_only_the_fields_given_and_history_says_who_changed_what() {
    let d = Device::new();
    d.init("Ana", "Platform");
    let req = d
        .run(&[
            "ask",
            "Flaky deploys",
            "--tried",
            "reran it",
            "--skill",
            "ci",
        ])
        .ok()
        .trim()
        .to_owned();
    d.run(&[
        "edit",
        "request",
        &req,
        "--title",
        "Flaky deploys on Fridays",
        "--urgency",
        "high",
    ])
    .ok();
    let board = d.run(&["--json", "board"]).json();
    let row = &board["rows"][0];
    assert_eq!(row["title"], "Flaky deploys on Fridays", "{board}");
    assert_eq!(row["urgency"], "high", "{board}");
    assert_eq!(row["tried"], "reran it", "untouched: {board}");
    let history = d.run(&["history"]).ok();
    assert!(
        history.contains("Ana changed the title of a request to \"Flaky deploys on Fridays\""),
        "{history}"
    );
    // Nothing to change, an empty title, a bad time: clear errors, nothing written.
    let before = d.run(&["history"]).ok();
    let err = d.run(&["edit", "request", &req]).fails();
    assert!(err.contains("nothing to change"), "{err}");
    let err = d.run(&["edit", "request", &req, "--title", " "]).fails();
    assert!(err.contains("title"), "{err}");
    let duty = d
        .run(&["duty", "add", "Release notes"])
        .ok()
        .trim()
        .to_owned();
    d.run(&[
        "edit",
        "duty",
        &duty,
        "--title",
        "Release notes and changelog",
    ])
    .ok();
    assert!(
        d.run(&["duty", "list"])
            .ok()
            .contains("Release notes and changelog")
    );
    let err = d
        .run(&["edit", "session", "nope", "--at", "tomorrow"])
        .fails();
    assert!(err.contains("session"), "{err}");
    assert!(d.run(&["history"]).ok().len() > before.len());
}
