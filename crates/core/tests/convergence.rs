//! Property test: 3–5 replicas apply random command sequences and exchange changes in
//! random orders through the Automerge sync protocol (in memory, with a persistent sync
//! state per pair, as the network layer keeps one). At the end every replica shows the
//! same team, the incremental read model equals a fresh full read, and every record a
//! command acknowledged is present.

use peercoach_core::{NewDuty, NewFollowUp, NewOffer, NewRequest};
use std::collections::{BTreeMap, BTreeSet};

use automerge::sync;
use peercoach_core::testing::{TeamFixture, sync_states};
use peercoach_core::{
    Answer, Command, DutyId, MemberId, OfferId, RequestId, SessionId, SkillLevel, Stage, Team,
    Urgency,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Replica, command kind, and two choice numbers resolved against its current view.
    Do(usize, u8, usize, usize),
    /// Sync two replicas.
    Sync(usize, usize),
    /// Push what one replica has and the other lacks as raw changes, one at a time in a
    /// shuffled order (as live pushes arrive), through `TeamDoc::apply_changes`.
    Push(usize, usize, u64),
    /// Let time pass.
    Wait(u32),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..n, 0u8..20, any::<usize>(), any::<usize>()).prop_map(|(r, k, a, b)| Op::Do(r, k, a, b)),
        3 => (0..n, 0..n).prop_map(|(a, b)| Op::Sync(a, b)),
        2 => (0..n, 0..n, any::<u64>()).prop_map(|(a, b, s)| Op::Push(a, b, s)),
        1 => (1u32..50_000_000).prop_map(Op::Wait),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, u64, Vec<Op>)> {
    (3usize..=5).prop_flat_map(|n| (Just(n), any::<u64>(), prop::collection::vec(op(n), 10..80)))
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

/// What was acknowledged, to check nothing is lost.
#[derive(Default, Debug)]
struct Acked {
    created: BTreeSet<String>,
    answers: BTreeSet<(OfferId, MemberId)>,
    claims: BTreeSet<(RequestId, MemberId)>,
}

fn command(
    team: &Team,
    me: &MemberId,
    members: &[MemberId],
    kind: u8,
    a: usize,
    b: usize,
) -> Option<Command> {
    let requests: Vec<RequestId> = team.requests.keys().cloned().collect();
    let offers: Vec<OfferId> = team.offers.keys().cloned().collect();
    let sessions: Vec<SessionId> = team.sessions.keys().cloned().collect();
    let duties: Vec<DutyId> = team.duties.keys().cloned().collect();
    let other = pick(members, a)?;
    Some(match kind {
        0 | 1 => Command::Ask(NewRequest {
            title: format!("request {a}"),
            tried: "something".into(),
            skills: vec![["rust", "sql", "ops"][b % 3].into()],
            urgency: Urgency::ALL[a % 3],
            to: (b.is_multiple_of(4) && &other != me).then_some(other),
        }),
        2 => Command::Offer(NewOffer {
            request: Some(pick(&requests, a)?),
            to: None,
            topic: String::new(),
            message: format!("advice {b}"),
        }),
        3 => Command::Offer(NewOffer {
            request: None,
            to: Some(other),
            topic: format!("topic {b}"),
            message: String::new(),
        }),
        4 | 5 => {
            // Prefer offers made to me.
            let mine: Vec<OfferId> = team
                .offers
                .values()
                .filter(|o| &o.to == me)
                .map(|o| o.id.clone())
                .collect();
            Command::Respond {
                offer: pick(&mine, a).or_else(|| pick(&offers, a))?,
                answer: if b.is_multiple_of(3) {
                    Answer::NotNow
                } else {
                    Answer::Yes
                },
            }
        }
        6 => Command::Claim {
            request: pick(&requests, a)?,
        },
        7 => Command::ReleaseClaim {
            request: pick(&requests, a)?,
        },
        8 => {
            if b.is_multiple_of(2) {
                Command::Resolve {
                    request: pick(&requests, a)?,
                }
            } else {
                Command::Withdraw {
                    request: pick(&requests, a)?,
                }
            }
        }
        9 => {
            // Who coaches whom alternates, so sessions go both ways.
            let (coach, coachee) = if b.is_multiple_of(2) {
                (me.clone(), other)
            } else {
                (other, me.clone())
            };
            Command::session_now(coach, coachee, "pairing")
        }
        10 => Command::Comment {
            request: pick(&requests, a)?,
            text: format!("comment {b}"),
        },
        11 => Command::SetSkill {
            skill: ["rust", "sql", "ops"][a % 3].into(),
            level: Some(SkillLevel::ALL[b % 3]),
        },
        12 => Command::AddDuty(NewDuty {
            title: format!("duty {a}"),
            notes: String::new(),
            owner: None,
        }),
        13 => Command::SetBackfill {
            duty: pick(&duties, a)?,
            apprentice: other,
            stage: Some(Stage::ALL[b % 3]),
        },
        14 => Command::AddFollowUp(NewFollowUp {
            session: pick(&sessions, a)?,
            text: "follow up".into(),
            owner: None,
            due_ms: None,
        }),
        // Edits, and deletions taken back: concurrent ones must converge too.
        16 => Command::EditRequest {
            request: pick(&requests, a)?,
            change: peercoach_core::RequestEdit {
                title: Some(format!("edited {b}")),
                skills: b.is_multiple_of(2).then(|| vec!["sql".into()]),
                ..Default::default()
            },
        },
        17 => Command::EditSession {
            session: pick(&sessions, a)?,
            change: peercoach_core::SessionEdit {
                notes: Some(format!("notes {b}")),
                minutes: Some(u32::try_from(b % 90).unwrap_or(30) + 1),
                ..Default::default()
            },
        },
        18 => {
            if b.is_multiple_of(2) {
                Command::DeleteSession {
                    session: pick(&sessions, a)?,
                }
            } else {
                Command::RestoreSession {
                    session: pick(&sessions, a)?,
                }
            }
        }
        19 => {
            if b.is_multiple_of(3) {
                Command::RenameDuty {
                    duty: pick(&duties, a)?,
                    title: format!("renamed {b}"),
                }
            } else if b.is_multiple_of(2) {
                Command::RemoveDuty {
                    duty: pick(&duties, a)?,
                }
            } else {
                Command::RestoreDuty {
                    duty: pick(&duties, a)?,
                }
            }
        }
        _ => Command::SetRota {
            week: "2026-W23".into(),
            member: other,
            floating: b.is_multiple_of(2),
        },
    })
}

fn run(n: usize, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let names = ["Ana", "Ben", "Cleo", "Dev", "Eve"];
    let mut f = TeamFixture::with_seed(&names[..n], seed);
    let members: Vec<MemberId> = (0..n).map(|i| f.id(i)).collect();
    let mut states: BTreeMap<(usize, usize), sync::State> = BTreeMap::new();
    let mut acked = Acked::default();
    let mut sync = |f: &mut TeamFixture, a: usize, b: usize| {
        if a == b {
            return;
        }
        let mut sa = states.remove(&(a, b)).unwrap_or_default();
        let mut sb = states.remove(&(b, a)).unwrap_or_default();
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = f.replicas.split_at_mut(hi);
        let (da, db) = (&mut left[lo].doc, &mut right[0].doc);
        if lo == a {
            sync_states(da.automerge(), &mut sa, db.automerge(), &mut sb);
        } else {
            sync_states(da.automerge(), &mut sb, db.automerge(), &mut sa);
        }
        da.refresh_after_merge();
        db.refresh_after_merge();
        states.insert((a, b), sa);
        states.insert((b, a), sb);
    };
    for op in ops {
        match op {
            Op::Wait(ms) => f.advance(i64::from(ms)),
            Op::Sync(a, b) => sync(&mut f, a, b),
            Op::Push(a, b, shuffle) => {
                if a == b {
                    continue;
                }
                let all = f.replicas[a].doc.automerge().get_changes(&[]);
                let have = f.replicas[b].doc.automerge_ref();
                let mut missing: Vec<automerge::Change> = all
                    .into_iter()
                    .filter(|c| automerge::ReadDoc::get_change_by_hash(have, &c.hash()).is_none())
                    .collect();
                // A cheap deterministic shuffle: later changes may overtake earlier ones.
                let mut x = shuffle | 1;
                for i in (1..missing.len()).rev() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    missing.swap(i, (x % (i as u64 + 1)) as usize);
                }
                let to = &mut f.replicas[b].doc;
                for change in missing {
                    to.apply_changes(vec![change])
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(
                        &Team::read(to.automerge_ref()),
                        to.team(),
                        "model drifted after a pushed change"
                    );
                }
            }
            Op::Do(r, kind, a, b) => {
                let me = members[r].clone();
                let others: Vec<MemberId> = members.iter().filter(|m| **m != me).cloned().collect();
                let Some(cmd) = command(f.replicas[r].doc.team(), &me, &others, kind, a, b) else {
                    continue;
                };
                let effect = match &cmd {
                    Command::Respond { offer, .. } => Some((Some(offer.clone()), None)),
                    Command::Claim { request } => Some((None, Some(request.clone()))),
                    _ => None,
                };
                f.advance(1_000);
                let result = f.apply(r, cmd);
                prop_assert_eq!(
                    &Team::read(f.replicas[r].doc.automerge_ref()),
                    f.replicas[r].doc.team(),
                    "model drifted after a local command"
                );
                if let Ok(applied) = result {
                    if let Some(id) = applied.created {
                        acked.created.insert(id.to_string());
                    }
                    match effect {
                        Some((Some(o), _)) => {
                            acked.answers.insert((o, me));
                        }
                        Some((_, Some(req))) if applied.summary != "already yours" => {
                            acked.claims.insert((req, me));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    // Heal: everyone syncs with everyone until all heads agree.
    for _ in 0..3 {
        for a in 0..n {
            for b in 0..n {
                sync(&mut f, a, b);
            }
        }
    }
    let heads: Vec<_> = f
        .replicas
        .iter_mut()
        .map(|r| {
            let mut h = r.doc.heads();
            h.sort();
            h
        })
        .collect();
    prop_assert!(
        heads.windows(2).all(|w| w[0] == w[1]),
        "heads differ after healing"
    );
    let first = f.replicas[0].doc.team().clone();
    for r in &f.replicas {
        prop_assert_eq!(r.doc.team(), &first, "views differ");
        prop_assert_eq!(
            &Team::read(r.doc.automerge_ref()),
            r.doc.team(),
            "incremental model drifted"
        );
    }
    let mut present: BTreeSet<String> = BTreeSet::new();
    present.extend(first.members.keys().map(ToString::to_string));
    present.extend(first.requests.keys().map(ToString::to_string));
    present.extend(first.offers.keys().map(ToString::to_string));
    present.extend(first.sessions.keys().map(ToString::to_string));
    present.extend(first.thanks.keys().map(ToString::to_string));
    present.extend(first.duties.keys().map(ToString::to_string));
    for r in first.requests.values() {
        present.extend(r.comments.iter().map(|c| c.id.to_string()));
    }
    for s in first.sessions.values() {
        present.extend(s.followups.iter().map(|u| u.id.to_string()));
    }
    for id in &acked.created {
        prop_assert!(present.contains(id), "acknowledged record {} lost", id);
    }
    for (offer, member) in &acked.answers {
        let o = &first.offers[offer];
        prop_assert!(
            &o.to == member && o.response.is_some(),
            "acknowledged answer lost"
        );
    }
    for (request, member) in &acked.claims {
        prop_assert!(
            first.requests[request]
                .claims
                .iter()
                .any(|c| &c.member == member),
            "acknowledged claim lost"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_lose_nothing((n, seed, ops) in scenario()) {
        run(n, seed, ops)?;
    }
}
