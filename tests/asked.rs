//! Asked, not assigned, across two real nodes (`peercoach serve` on loopback): Ana asks
//! Ben onto the rota and onto a duty with the CLI; nothing changes until Ben says yes
//! with `peercoach respond` on his own device.

use crate::util::{ana_and_ben_serving, wait_until};

#[test]
fn a_rota_week_and_a_duty_take_effect_after_the_asked_person_responds_on_their_own_node() {
    let (a, b, serve_a, serve_b) = ana_and_ben_serving();
    wait_until("Ben in Ana's team", || {
        a.run(&["members"]).ok().contains("Ben")
    });
    let week = "2030-W10";

    let asked = a.run(&["rota", "add", week, "Ben"]).ok();
    assert!(asked.contains("once they say yes"), "{asked}");
    let shown = a.run(&["rota", "show", week]).ok();
    assert!(
        shown.contains("Floating in 2030-W10: nobody yet"),
        "{shown}"
    );
    assert!(shown.contains("Ben (asked by Ana)"), "{shown}");
    wait_until("the ask in Ben's inbox", || {
        b.run(&["inbox"])
            .ok()
            .contains("Ana asks you to float on the helper rota in 2030-W10")
    });
    // Ben cannot take Ana off a week she floats in.
    a.run(&["rota", "add", week, "Ana"]).ok();
    wait_until("Ana floating, on Ben's node", || {
        b.run(&["rota", "show", week])
            .ok()
            .contains("Floating in 2030-W10: Ana")
    });
    let err = b.run(&["rota", "remove", week, "Ana"]).fails();
    assert!(err.contains("only they can"), "{err}");
    b.run(&["respond", week, "yes"]).ok();
    wait_until("Ben's yes on Ana's node", || {
        a.run(&["rota", "show", week]).ok().contains("Ana, Ben")
    });
    // He changes his mind: his own say, written again, reaches Ana too.
    b.run(&["rota", "remove", week, "Ben"]).ok();
    wait_until("Ben off the rota on Ana's node", || {
        a.run(&["rota", "show", week])
            .ok()
            .contains("Floating in 2030-W10: Ana\n")
    });

    let duty = a
        .run(&["duty", "add", "Release notes"])
        .ok()
        .trim()
        .to_owned();
    a.run(&["duty", "backfill", &duty, "Ben", "shadow"]).ok();
    let listed = a.run(&["duty", "list"]).ok();
    assert!(
        listed.contains("no apprentice; asked Ben (shadow), waiting for a yes"),
        "{listed}"
    );
    wait_until("the duty ask in Ben's inbox", || {
        b.run(&["inbox"])
            .ok()
            .contains("Ana asks you to be an apprentice on \"Release notes\"")
    });
    b.run(&["respond", &duty[..8], "yes"]).ok();
    wait_until("Ben an apprentice on Ana's node", || {
        a.run(&["duty", "list"])
            .ok()
            .contains("Release notes: Ben (shadow)")
    });
    // The coaching hour, set twice on Ana's node: the second setting reaches Ben's (no
    // setting writes over another, which the sync rules would refuse).
    let utc = [("TZ", "UTC")];
    for start in ["15:00", "16:30"] {
        a.run_with_env(
            &[
                "hour",
                "--day",
                "thursday",
                "--start",
                start,
                "--minutes",
                "60",
            ],
            &utc,
        )
        .ok();
    }
    wait_until("the second hour on Ben's node", || {
        b.run_with_env(&["rota", "show", week], &utc)
            .ok()
            .contains("16:30")
    });
    // Nothing to answer any more: a clear error.
    let err = b.run(&["respond", "nonsense", "yes"]).fails();
    assert!(err.contains("no offer, rota week"), "{err}");
    drop((serve_a, serve_b));
}
