//! A full disk. The node's writes start failing part-way through (injected with a file
//! size limit, see `Device::serve_with_file_limit`) while edits keep coming through the
//! CLI and the log compacts every few records. Every edit the CLI acknowledged must be
//! kept, every edit it refused must leave nothing behind, the node must stay up, and once
//! there is room again (the limit is lifted from the running node with `prlimit`) editing
//! goes on and the files load whole.

use std::collections::BTreeSet;

use rand::SeedableRng;

use crate::util::{Device, random_text, seed};

/// Files may not grow past this (KiB): the snapshot outgrows it first, then the log.
const LIMIT_KIB: u64 = 64;
const COMPACT_ENV: (&str, &str) = ("PEERCOACH_COMPACT_RECORDS", "40");

/// Request titles in the document (through the node's socket when one runs).
fn titles(d: &Device) -> BTreeSet<String> {
    d.request_fields("title")
}

#[test]
fn a_full_disk_refuses_edits_cleanly_and_loses_none() {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = Device::new();
    d.init("Ana", "Disk");
    let serve = d.serve_with_file_limit(LIMIT_KIB, &[COMPACT_ENV]);
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    let mut errors = BTreeSet::new();
    for i in 0..5_000 {
        // Text that does not compress away, so the files really grow.
        let tried = random_text(&mut rng, 160);
        let title = format!("edit {i}");
        let r = d.run(&["ask", &title, "--tried", &tried]);
        if r.code == 0 {
            acked.push(title);
        } else {
            errors.insert(r.fails());
            refused.push(title);
            if refused.len() == 5 {
                break;
            }
        }
    }
    assert!(
        acked.len() > 100,
        "seed {seed}: edits went through before the disk filled ({})",
        acked.len()
    );
    assert_eq!(refused.len(), 5, "seed {seed}: the disk filled up");
    for e in &errors {
        assert!(
            e.contains("could not save the change, so it was not made")
                && e.contains("File too large"),
            "a clear error naming the cause: {e}"
        );
    }
    // The node is still up, and shows exactly what was acknowledged.
    d.run(&["status"]).ok();
    let shown = titles(&d);
    for t in &acked {
        assert!(shown.contains(t), "seed {seed}: acknowledged {t} missing");
    }
    for t in &refused {
        assert!(!shown.contains(t), "seed {seed}: refused {t} still shown");
    }

    // Room again, while the node runs: the next edits are written after whatever part
    // of a refused one reached the log, which must have been cut off, or the loader
    // would stop at it and set every later edit aside.
    let pid = serve.child.id().to_string();
    let raised = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--fsize=unlimited:unlimited"])
        .status()
        .expect("run prlimit");
    assert!(raised.success(), "lift the limit");
    for i in 0..20 {
        let title = format!("after {i}");
        d.run(&["ask", &title]).ok();
        acked.push(title);
    }
    assert_eq!(serve.terminate(), Some(0), "a clean stop");

    // The files load whole (nothing was set aside as damaged), hold every acknowledged
    // edit and none of the refused, and editing goes on.
    let damaged: Vec<_> = d
        .snapshot_files()
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.to_string_lossy().contains("damaged"))
        .collect();
    assert!(damaged.is_empty(), "no file set aside: {damaged:?}");
    let on_disk = titles(&d);
    assert_eq!(
        on_disk,
        acked.iter().cloned().collect::<BTreeSet<_>>(),
        "seed {seed}: the files hold exactly the acknowledged edits"
    );
    let serve = d.serve_with_env(&[COMPACT_ENV]);
    d.run(&["ask", "after a restart"]).ok();
    assert!(titles(&d).contains("after a restart"));
    serve.kill();
    println!(
        "disk full: {} edits acknowledged, then {} refused with {:?}; none lost, none left behind",
        acked.len(),
        refused.len(),
        errors
    );
}
