//! # peercoach-sim: realistic team histories, deterministically
//!
//! Generates a team's coaching history the way the app would have written it: every
//! action is one command applied by the acting member's own device (so consent answers
//! are genuinely theirs), in time order, with app-level timestamps spread over the span.
//! The same seed always gives the same document.
//!
//! Used by `peercoach demo` (12 people, 3 months) and by the benchmarks (50 people,
//! three years, 100,000+ changes).
//!
//! ```
//! let spec = peercoach_sim::Spec::small(7);
//! let history = peercoach_sim::generate(&spec, None, |_| {});
//! assert_eq!(history.doc.team().current_members().len(), 12);
//! assert!(history.stats.sessions > 20);
//! ```

use peercoach_core::{
    CoachingHour, NewDuty, NewFollowUp, NewMember, NewOffer, NewRequest, NewSession, NewThanks,
    RecordId,
};
use std::collections::BTreeMap;

use peercoach_core::time::{
    DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, iso_week_key, week_start, weekday,
};
use peercoach_core::{
    ActorHex, Answer, Command, DutyId, Env, MemberId, OfferId, RequestId, SeededEnv, SessionId,
    SkillLevel, Stage, TeamDoc, Urgency,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Seed.
    pub seed: u64,
    /// Team size.
    pub members: usize,
    /// Span in days, ending at `end_ms`.
    pub days: i64,
    /// End of the history (ms).
    pub end_ms: i64,
    /// Help requests over the span.
    pub requests: usize,
    /// Team name.
    pub team_name: String,
}

impl Spec {
    /// 12 people, 3 months: the demo team.
    pub fn small(seed: u64) -> Self {
        Self {
            seed,
            members: 12,
            days: 91,
            end_ms: 1_795_478_400_000, // 2026-11-23
            requests: 260,
            team_name: "Platform Guild".into(),
        }
    }

    /// 50 people, three years, ~20,000 requests: the benchmark team.
    pub fn large(seed: u64) -> Self {
        Self {
            seed,
            members: 50,
            days: 3 * 365,
            end_ms: 1_795_478_400_000,
            requests: 20_000,
            team_name: "Engineering".into(),
        }
    }
}

/// What came out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Changes committed.
    pub changes: usize,
    /// Requests.
    pub requests: usize,
    /// Offers.
    pub offers: usize,
    /// Sessions.
    pub sessions: usize,
    /// Commands the rules refused (a generator bug if large).
    pub refused: usize,
}

/// A generated history.
#[derive(Debug)]
pub struct History {
    /// The document, acting as member 0's device at the end.
    pub doc: TeamDoc,
    /// Members and their devices' actors, member 0 first.
    pub members: Vec<(MemberId, ActorHex)>,
    /// Counts.
    pub stats: Stats,
}

const FIRST: [&str; 50] = [
    "Ana", "Ben", "Chidi", "Dana", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena",
    "Marco", "Nia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Vik", "Wren",
    "Xiu", "Yara", "Zane", "Aiko", "Bruno", "Carmen", "Dev", "Elif", "Finn", "Greta", "Hugo",
    "Ines", "Jonas", "Kira", "Luis", "Maya", "Noor", "Olu", "Pia", "Raj", "Sofia", "Theo", "Ulla",
    "Vera", "Wes", "Yusuf", "Zoe",
];
const LAST: [&str; 10] = ["K.", "M.", "O.", "S.", "T.", "L.", "R.", "B.", "N.", "D."];
const SKILLS: [&str; 12] = [
    "rust",
    "kubernetes",
    "sql",
    "frontend",
    "testing",
    "observability",
    "security",
    "incident-response",
    "api-design",
    "terraform",
    "interviewing",
    "product-discovery",
];
const ASKS: [(&str, &str); 24] = [
    ("Flaky integration test on main", "testing"),
    ("Pod keeps restarting after deploy", "kubernetes"),
    ("Query got slow after the migration", "sql"),
    ("Borrow checker fight in the parser", "rust"),
    ("How do I size this epic?", "product-discovery"),
    ("Alert fires every night at 3am", "observability"),
    ("Review my threat model", "security"),
    ("First on-call shift next week", "incident-response"),
    ("Pagination design for the public API", "api-design"),
    ("Terraform plan wants to recreate the database", "terraform"),
    ("Prepare for my first interview panel", "interviewing"),
    ("React state keeps going stale", "frontend"),
    ("Tracing spans missing across services", "observability"),
    ("Lifetimes in an async trait", "rust"),
    ("Index or rewrite this report query?", "sql"),
    ("Helm chart values are a mess", "kubernetes"),
    ("Writing my first postmortem", "incident-response"),
    ("Mocking the payment provider in tests", "testing"),
    ("Versioning a breaking API change", "api-design"),
    ("Accessibility audit findings", "frontend"),
    ("Rotating secrets without downtime", "security"),
    ("Module boundaries in the infra repo", "terraform"),
    ("Giving feedback on a hiring loop", "interviewing"),
    (
        "Which customer problem do we test first?",
        "product-discovery",
    ),
];
const TRIED: [&str; 6] = [
    "Read the docs and the last two incidents",
    "Bisected to the last release, still unclear",
    "Tried the obvious fix; it moved the problem",
    "Asked in the channel, no answer yet",
    "Paired with a rubber duck",
    "Spent an afternoon on it",
];
const LEARNINGS: [&str; 8] = [
    "Draw the data flow before touching code",
    "Reproduce locally with the exact prod config first",
    "Timebox the spike, then decide",
    "Write the rollback plan before the rollout plan",
    "Most flakiness was shared state between tests",
    "Ask the customer for the last time it hurt",
    "Name the invariant, then test it",
    "Dashboards should answer one question each",
];
const DUTIES: [&str; 10] = [
    "Release train captain",
    "On-call schedule owner",
    "Dependency upgrades",
    "Quarterly access review",
    "Incident postmortem facilitation",
    "CI runner fleet",
    "Onboarding buddy rota",
    "Cost report",
    "Design review chair",
    "Customer interview notes",
];

/// splitmix64 for choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo).max(1) as u64) as i64
    }
}

/// One planned action, applied in time order.
#[derive(Debug, Clone)]
enum Plan {
    Ask {
        req: usize,
        author: usize,
        to: Option<usize>,
        topic: usize,
        urgency: Urgency,
    },
    Comment {
        req: usize,
        by: usize,
    },
    Claim {
        req: usize,
        helper: usize,
    },
    OfferOnRequest {
        req: usize,
        offer: usize,
        helper: usize,
    },
    OfferToPerson {
        offer: usize,
        helper: usize,
        to: usize,
        topic: usize,
    },
    Respond {
        offer: usize,
        by: usize,
        yes: bool,
    },
    Session {
        session: usize,
        coach: usize,
        coachee: usize,
        topic: usize,
        offer: Option<usize>,
        req: Option<usize>,
    },
    FollowUp {
        session: usize,
        text: usize,
    },
    FollowUpDone {
        session: usize,
    },
    Thank {
        session: usize,
        from: usize,
        to: usize,
    },
    Resolve {
        req: usize,
        by: usize,
    },
    Withdraw {
        req: usize,
        by: usize,
    },
    Rota {
        week_ms: i64,
        member: usize,
    },
    Backfill {
        duty: usize,
        apprentice: usize,
        stage: Stage,
    },
}

fn actor_for(seed: u64, i: usize) -> ActorHex {
    let mut rng = Rng(seed ^ (i as u64).wrapping_mul(0x5851_f42d_4c95_7f2d));
    let bytes: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
    ActorHex::from_bytes(&bytes)
}

/// A valid iroh endpoint id (an ed25519 public key) for generated device `i`.
fn endpoint_for(seed: u64, i: usize) -> String {
    let mut rng = Rng(seed ^ 0xfeed ^ (i as u64) << 20);
    let mut secret = [0u8; 32];
    for b in &mut secret {
        *b = rng.next() as u8;
    }
    iroh_base::SecretKey::from_bytes(&secret)
        .public()
        .to_string()
}

/// Generates a history. `first_device` makes member 0 a real device (the demo data dir's
/// own identity). `progress` is called with the number of changes so far, now and then.
pub fn generate(
    spec: &Spec,
    first_device: Option<(ActorHex, String)>,
    mut progress: impl FnMut(usize),
) -> History {
    let mut rng = Rng(spec.seed);
    let start_ms = spec.end_ms - spec.days * DAY_MS;
    let mut env = SeededEnv::new(spec.seed, start_ms - 14 * DAY_MS);
    let n = spec.members.clamp(2, FIRST.len() * LAST.len());
    let names: Vec<String> = (0..n)
        .map(|i| {
            if n <= FIRST.len() {
                FIRST[i].to_string()
            } else {
                format!("{} {}", FIRST[i % FIRST.len()], LAST[i / FIRST.len()])
            }
        })
        .collect();
    let (actor0, endpoint0) =
        first_device.unwrap_or_else(|| (actor_for(spec.seed, 0), endpoint_for(spec.seed, 0)));
    let (mut doc, member0) = match TeamDoc::genesis(
        actor0.clone(),
        &spec.team_name,
        &names[0],
        &endpoint0,
        &mut env,
    ) {
        Ok(x) => x,
        // The fixed names and team name always pass the rules.
        Err(e) => unreachable_generated(&e),
    };
    let mut stats = Stats {
        changes: 1,
        ..Stats::default()
    };
    let mut members = vec![(member0, actor0.clone())];
    for (i, name) in names.iter().enumerate().skip(1) {
        env.now_ms += rng.range(HOUR_MS, 2 * DAY_MS);
        let actor = actor_for(spec.seed, i);
        let applied = doc.apply(
            Command::AddMember(NewMember {
                name: name.clone(),
                actor: actor.clone(),
                endpoint: endpoint_for(spec.seed, i),
                label: "laptop".into(),
                addrs: Vec::new(),
                relay: None,
            }),
            &mut env,
        );
        if let Some(id) = applied
            .ok()
            .and_then(|a| a.created)
            .and_then(|id| MemberId::try_from(id).ok())
        {
            members.push((id, actor));
            stats.changes += 1;
        }
    }
    let n = members.len();
    let mut run = Runner {
        doc,
        env,
        members: members.clone(),
        stats,
        progress: &mut progress,
    };

    // Profiles: each person coaches 1–3 skills, can do some, is learning some.
    let mut coach_skills: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, coach) in coach_skills.iter_mut().enumerate() {
        let k = SKILLS.len();
        let main = (i * 5 + rng.below(3)) % k;
        let mut skills = vec![(main, SkillLevel::CanCoach)];
        if rng.chance(0.6) {
            skills.push(((main + 1 + rng.below(k - 1)) % k, SkillLevel::CanCoach));
        }
        skills.push(((main + 4 + rng.below(3)) % k, SkillLevel::CanDo));
        skills.push(((main + 7 + rng.below(3)) % k, SkillLevel::Learning));
        for (skill, level) in skills {
            if level == SkillLevel::CanCoach {
                coach.push(skill);
            }
            run.act(
                i,
                Command::SetSkill {
                    skill: SKILLS[skill].into(),
                    level: Some(level),
                },
            );
        }
        let want = (main + 9 + rng.below(3)) % k;
        run.act(
            i,
            Command::SetWantsToLearn {
                skill: SKILLS[want].into(),
                wants: true,
            },
        );
        let availability = [
            "Mornings",
            "Tue/Thu afternoons",
            "After standup",
            "Fridays",
            "Any time but Monday",
        ][rng.below(5)];
        run.act(
            i,
            Command::SetProfile {
                name: None,
                availability: Some(availability.into()),
            },
        );
    }
    run.act(
        0,
        Command::SetCoachingHour(CoachingHour {
            weekday: 3,
            start_minute: 15 * 60,
            minutes: 60,
            note: "Room Ada, or the video link in the calendar".into(),
            ..Default::default()
        }),
    );

    // Duties and the first apprentices.
    let mut duties: Vec<(DutyId, usize)> = Vec::new();
    for i in 0..n {
        for _ in 0..(1 + rng.below(2)) {
            let title = DUTIES[rng.below(DUTIES.len())];
            let created = run.create(
                i,
                Command::AddDuty(NewDuty {
                    title: title.into(),
                    notes: String::new(),
                    owner: None,
                }),
            );
            if let Some(id) = created.and_then(|id| DutyId::try_from(id).ok()) {
                duties.push((id, i));
            }
        }
    }

    // Plan the history.
    let mut plans: Vec<(i64, Plan)> = Vec::new();
    let mut offers = 0usize;
    let mut sessions = 0usize;
    let span = spec.end_ms - start_ms;
    for req in 0..spec.requests {
        let mut at = start_ms + (rng.next() % span as u64) as i64;
        // Working hours on working days, mostly.
        at = week_start(at)
            + i64::from(weekday(at).min(4)) * DAY_MS
            + rng.range(8 * HOUR_MS, 18 * HOUR_MS);
        let author = rng.below(n);
        let topic = rng.below(ASKS.len());
        let skill = SKILLS.iter().position(|s| *s == ASKS[topic].1).unwrap_or(0);
        let coaches: Vec<usize> = (0..n)
            .filter(|i| *i != author && coach_skills[*i].contains(&skill))
            .collect();
        let helper = if coaches.is_empty() || rng.chance(0.3) {
            (author + 1 + rng.below(n - 1)) % n
        } else {
            coaches[rng.below(coaches.len())]
        };
        let to = rng.chance(0.12).then_some(helper);
        let urgency = [
            Urgency::Low,
            Urgency::Normal,
            Urgency::Normal,
            Urgency::High,
        ][rng.below(4)];
        plans.push((
            at,
            Plan::Ask {
                req,
                author,
                to,
                topic,
                urgency,
            },
        ));
        if rng.chance(0.25) {
            plans.push((
                at + rng.range(10 * MINUTE_MS, 6 * HOUR_MS),
                Plan::Comment {
                    req,
                    by: (author + rng.below(n)) % n,
                },
            ));
        }
        let wait = match rng.below(10) {
            0..=3 => rng.range(10 * MINUTE_MS, 3 * HOUR_MS),
            4..=7 => rng.range(3 * HOUR_MS, 2 * DAY_MS),
            _ => rng.range(2 * DAY_MS, 8 * DAY_MS),
        };
        let help_at = at + wait;
        if help_at >= spec.end_ms || rng.chance(0.08) {
            // Unanswered requests are mostly taken back after a few weeks.
            let give_up = at + rng.range(2 * WEEK_MS, 5 * WEEK_MS);
            if rng.chance(0.8) && give_up < spec.end_ms {
                plans.push((give_up, Plan::Withdraw { req, by: author }));
            }
            continue;
        }
        if rng.chance(0.4) {
            plans.push((help_at, Plan::Claim { req, helper }));
            let s_at = help_at + rng.range(HOUR_MS, 2 * DAY_MS);
            if s_at < spec.end_ms {
                plans.push((
                    s_at,
                    Plan::Session {
                        session: sessions,
                        coach: helper,
                        coachee: author,
                        topic,
                        offer: None,
                        req: Some(req),
                    },
                ));
                push_aftercare(
                    &mut plans,
                    &mut rng,
                    sessions,
                    helper,
                    author,
                    s_at,
                    spec.end_ms,
                );
                sessions += 1;
                plans.push((s_at + HOUR_MS, Plan::Resolve { req, by: author }));
            }
        } else {
            let offer = offers;
            offers += 1;
            plans.push((help_at, Plan::OfferOnRequest { req, offer, helper }));
            let answer_at = help_at + rng.range(5 * MINUTE_MS, 20 * HOUR_MS);
            let yes = rng.chance(0.8);
            if answer_at < spec.end_ms {
                plans.push((
                    answer_at,
                    Plan::Respond {
                        offer,
                        by: author,
                        yes,
                    },
                ));
                let s_at = answer_at + rng.range(HOUR_MS, 3 * DAY_MS);
                if yes && s_at < spec.end_ms {
                    plans.push((
                        s_at,
                        Plan::Session {
                            session: sessions,
                            coach: helper,
                            coachee: author,
                            topic,
                            offer: Some(offer),
                            req: Some(req),
                        },
                    ));
                    push_aftercare(
                        &mut plans,
                        &mut rng,
                        sessions,
                        helper,
                        author,
                        s_at,
                        spec.end_ms,
                    );
                    sessions += 1;
                    plans.push((s_at + 2 * HOUR_MS, Plan::Resolve { req, by: author }));
                } else if !yes {
                    // "Not now": someone else picks it up later, or it is taken back.
                    let later = answer_at + rng.range(DAY_MS, 2 * WEEK_MS);
                    let other = (helper + 1 + rng.below(n - 1)) % n;
                    if later < spec.end_ms && other != author && rng.chance(0.5) {
                        plans.push((later, Plan::Claim { req, helper: other }));
                        let s_at = later + rng.range(HOUR_MS, 2 * DAY_MS);
                        if s_at < spec.end_ms {
                            plans.push((
                                s_at,
                                Plan::Session {
                                    session: sessions,
                                    coach: other,
                                    coachee: author,
                                    topic,
                                    offer: None,
                                    req: Some(req),
                                },
                            ));
                            sessions += 1;
                            plans.push((s_at + HOUR_MS, Plan::Resolve { req, by: author }));
                        }
                    } else if later < spec.end_ms {
                        plans.push((later, Plan::Withdraw { req, by: author }));
                    }
                }
            }
            // A second helper offers too, sometimes: the consent rate is not 100%.
            if rng.chance(0.6) {
                let other = offers;
                offers += 1;
                let second = (helper + 1 + rng.below(n - 1)) % n;
                if second != author {
                    plans.push((
                        help_at + HOUR_MS,
                        Plan::OfferOnRequest {
                            req,
                            offer: other,
                            helper: second,
                        },
                    ));
                    if rng.chance(0.7) && help_at + 3 * HOUR_MS < spec.end_ms {
                        plans.push((
                            help_at + 3 * HOUR_MS,
                            Plan::Respond {
                                offer: other,
                                by: author,
                                yes: false,
                            },
                        ));
                    }
                }
            }
        }
    }
    // Offers straight to a person ("coach me" the other way), and role reversals.
    for _ in 0..spec.requests / 5 {
        let at = start_ms + (rng.next() % span as u64) as i64;
        let helper = rng.below(n);
        let to = (helper + 1 + rng.below(n - 1)) % n;
        let topic = rng.below(ASKS.len());
        let offer = offers;
        offers += 1;
        plans.push((
            at,
            Plan::OfferToPerson {
                offer,
                helper,
                to,
                topic,
            },
        ));
        let answer_at = at + rng.range(30 * MINUTE_MS, DAY_MS);
        let yes = rng.chance(0.6);
        if answer_at < spec.end_ms {
            plans.push((answer_at, Plan::Respond { offer, by: to, yes }));
            let s_at = answer_at + rng.range(HOUR_MS, 2 * DAY_MS);
            if yes && s_at < spec.end_ms {
                plans.push((
                    s_at,
                    Plan::Session {
                        session: sessions,
                        coach: helper,
                        coachee: to,
                        topic,
                        offer: Some(offer),
                        req: None,
                    },
                ));
                push_aftercare(
                    &mut plans,
                    &mut rng,
                    sessions,
                    helper,
                    to,
                    s_at,
                    spec.end_ms,
                );
                sessions += 1;
            }
        }
    }
    // Helper rota: one or two people float each week.
    let mut week = week_start(start_ms);
    while week < spec.end_ms + WEEK_MS {
        for _ in 0..(1 + rng.below(2)) {
            plans.push((
                week - DAY_MS,
                Plan::Rota {
                    week_ms: week,
                    member: rng.below(n),
                },
            ));
        }
        week += WEEK_MS;
    }
    // Apprentices move shadow → co-do → lead over the span (some never start).
    for (d, (_, owner)) in duties.iter().enumerate() {
        if rng.chance(0.25) {
            continue;
        }
        let apprentice = (owner + 1 + rng.below(n - 1)) % n;
        let mut at = start_ms + (rng.next() % (span as u64 / 2).max(1)) as i64;
        for stage in Stage::ALL {
            plans.push((
                at,
                Plan::Backfill {
                    duty: d,
                    apprentice,
                    stage,
                },
            ));
            at += rng.range(2 * WEEK_MS, 10 * WEEK_MS);
            if at > spec.end_ms || rng.chance(0.3) {
                break;
            }
        }
    }
    plans.sort_by_key(|(at, _)| *at);

    // Apply in time order.
    let mut requests: BTreeMap<usize, RequestId> = BTreeMap::new();
    let mut offer_ids: BTreeMap<usize, OfferId> = BTreeMap::new();
    let mut session_ids: BTreeMap<usize, SessionId> = BTreeMap::new();
    let mut followups: BTreeMap<usize, RecordId> = BTreeMap::new();
    for (at, plan) in plans {
        run.env.now_ms = run.env.now_ms.max(at);
        match plan {
            Plan::Ask {
                req,
                author,
                to,
                topic,
                urgency,
            } => {
                let to = to.map(|t| run.members[t].0.clone());
                let skill = ASKS[topic].1;
                let cmd = Command::Ask(NewRequest {
                    title: ASKS[topic].0.into(),
                    tried: TRIED[req % TRIED.len()].into(),
                    skills: vec![skill.into()],
                    urgency,
                    to,
                });
                if let Some(id) = run
                    .create(author, cmd)
                    .and_then(|id| RequestId::try_from(id).ok())
                {
                    requests.insert(req, id);
                    run.stats.requests += 1;
                }
            }
            Plan::Comment { req, by } => {
                if let Some(r) = requests.get(&req).cloned() {
                    run.act(
                        by,
                        Command::Comment {
                            request: r,
                            text: "Same here last sprint; happy to compare notes".into(),
                        },
                    );
                }
            }
            Plan::Claim { req, helper } => {
                if let Some(r) = requests.get(&req).cloned() {
                    run.act(helper, Command::Claim { request: r });
                }
            }
            Plan::OfferOnRequest { req, offer, helper } => {
                if let Some(r) = requests.get(&req).cloned() {
                    let cmd = Command::Offer(NewOffer {
                        request: Some(r),
                        to: None,
                        topic: String::new(),
                        message: "I hit this before; happy to pair for half an hour".into(),
                    });
                    if let Some(id) = run
                        .create(helper, cmd)
                        .and_then(|id| OfferId::try_from(id).ok())
                    {
                        offer_ids.insert(offer, id);
                        run.stats.offers += 1;
                    }
                }
            }
            Plan::OfferToPerson {
                offer,
                helper,
                to,
                topic,
            } => {
                let cmd = Command::Offer(NewOffer {
                    request: None,
                    to: Some(run.members[to].0.clone()),
                    topic: ASKS[topic].1.replace('-', " "),
                    message: String::new(),
                });
                if let Some(id) = run
                    .create(helper, cmd)
                    .and_then(|id| OfferId::try_from(id).ok())
                {
                    offer_ids.insert(offer, id);
                    run.stats.offers += 1;
                }
            }
            Plan::Respond { offer, by, yes } => {
                if let Some(o) = offer_ids.get(&offer).cloned() {
                    run.act(
                        by,
                        Command::Respond {
                            offer: o,
                            answer: if yes { Answer::Yes } else { Answer::NotNow },
                        },
                    );
                }
            }
            Plan::Session {
                session,
                coach,
                coachee,
                topic,
                offer,
                req,
            } => {
                let cmd = Command::LogSession(NewSession {
                    topic: ASKS[topic].0.into(),
                    skills: vec![ASKS[topic].1.into()],
                    minutes: [20, 30, 45, 60][session % 4],
                    notes: "Walked through it together and wrote down next steps".into(),
                    learning: if session % 3 == 0 {
                        LEARNINGS[session % LEARNINGS.len()].into()
                    } else {
                        String::new()
                    },
                    offer: offer.and_then(|o| offer_ids.get(&o).cloned()),
                    request: req.and_then(|r| requests.get(&r).cloned()),
                    ..NewSession::between(
                        run.members[coach].0.clone(),
                        run.members[coachee].0.clone(),
                    )
                });
                if let Some(id) = run
                    .create(coach, cmd)
                    .and_then(|id| SessionId::try_from(id).ok())
                {
                    session_ids.insert(session, id);
                    run.stats.sessions += 1;
                }
            }
            Plan::FollowUp { session, text } => {
                if let Some(s) = session_ids.get(&session).cloned() {
                    let texts = [
                        "Try the approach on the staging cluster",
                        "Write it up in the team wiki",
                        "Pair again next week",
                        "Read the chapter we talked about",
                    ];
                    if let Some(id) = run.create_as_any(
                        &s,
                        Command::AddFollowUp(NewFollowUp {
                            session: s.clone(),
                            text: texts[text % texts.len()].into(),
                            owner: None,
                            due_ms: Some(at + 5 * DAY_MS),
                        }),
                    ) {
                        followups.insert(session, id);
                    }
                }
            }
            Plan::FollowUpDone { session } => {
                if let (Some(s), Some(u)) = (
                    session_ids.get(&session).cloned(),
                    followups.get(&session).cloned(),
                ) && let Ok(u) = peercoach_core::FollowUpId::try_from(u)
                {
                    run.create_as_any(
                        &s,
                        Command::SetFollowUpDone {
                            session: s.clone(),
                            followup: u,
                            done: true,
                        },
                    );
                }
            }
            Plan::Thank { session, from, to } => {
                let s = session_ids.get(&session).cloned();
                if s.is_some() {
                    run.act(
                        from,
                        Command::Thank(NewThanks {
                            to: run.members[to].0.clone(),
                            text: "Thanks, that unblocked me".into(),
                            session: s,
                        }),
                    );
                }
            }
            Plan::Resolve { req, by } => {
                if let Some(r) = requests.get(&req).cloned() {
                    run.act(by, Command::Resolve { request: r });
                }
            }
            Plan::Withdraw { req, by } => {
                if let Some(r) = requests.get(&req).cloned() {
                    run.act(by, Command::Withdraw { request: r });
                }
            }
            Plan::Rota { week_ms, member } => {
                // Each floater puts themselves on the rota: nobody is put on by others.
                run.act(
                    member,
                    Command::SetRota {
                        week: iso_week_key(week_ms),
                        member: run.members[member].0.clone(),
                        floating: true,
                    },
                );
            }
            Plan::Backfill {
                duty,
                apprentice,
                stage,
            } => {
                if let Some((id, owner)) = duties.get(duty).cloned() {
                    run.act(
                        owner,
                        Command::SetBackfill {
                            duty: id.clone(),
                            apprentice: run.members[apprentice].0.clone(),
                            stage: Some(stage),
                        },
                    );
                    // The owner asks; the apprentice says yes (the first time).
                    let asked = run.doc.team().duties.get(&id).is_some_and(|d| {
                        d.asked
                            .iter()
                            .any(|b| b.apprentice == run.members[apprentice].0)
                    });
                    if asked {
                        run.act(
                            apprentice,
                            Command::AnswerBackfill {
                                duty: id,
                                yes: true,
                            },
                        );
                    }
                }
            }
        }
    }
    run.doc.act_as(actor0);
    History {
        doc: run.doc,
        members,
        stats: run.stats,
    }
}

fn push_aftercare(
    plans: &mut Vec<(i64, Plan)>,
    rng: &mut Rng,
    session: usize,
    coach: usize,
    coachee: usize,
    at: i64,
    end: i64,
) {
    if rng.chance(0.45) && at + HOUR_MS < end {
        plans.push((
            at + HOUR_MS,
            Plan::FollowUp {
                session,
                text: rng.below(4),
            },
        ));
        if rng.chance(0.6) && at + 4 * DAY_MS < end {
            plans.push((at + 4 * DAY_MS, Plan::FollowUpDone { session }));
        }
    }
    if rng.chance(0.5) && at + 2 * HOUR_MS < end {
        plans.push((
            at + 2 * HOUR_MS,
            Plan::Thank {
                session,
                from: coachee,
                to: coach,
            },
        ));
    }
}

#[allow(clippy::panic)] // reason: fixed inputs that always pass the rules
fn unreachable_generated(e: &peercoach_core::CommandError) -> ! {
    panic!("the generator's fixed genesis was refused: {e}")
}

struct Runner<'p> {
    doc: TeamDoc,
    env: SeededEnv,
    members: Vec<(MemberId, ActorHex)>,
    stats: Stats,
    progress: &'p mut dyn FnMut(usize),
}

impl Runner<'_> {
    fn act(&mut self, who: usize, cmd: Command) {
        self.create(who, cmd);
    }

    /// Applies a command as member `who`'s device; returns the created id, if any.
    /// Applies `cmd` as member `who`; what it created, if anything.
    fn create(&mut self, who: usize, cmd: Command) -> Option<RecordId> {
        let actor = self.members.get(who)?.1.clone();
        self.doc.act_as(actor);
        self.env.now_ms += 1_000;
        match self.doc.apply(cmd, &mut self.env) {
            Ok(applied) => {
                self.stats.changes += 1;
                if self.stats.changes.is_multiple_of(5_000) {
                    (self.progress)(self.stats.changes);
                }
                applied.created
            }
            Err(_) => {
                self.stats.refused += 1;
                None
            }
        }
    }

    /// Follow-ups are written by whoever was in the session (the coachee here).
    fn create_as_any(&mut self, session: &SessionId, cmd: Command) -> Option<RecordId> {
        let coachee = self.doc.team().sessions.get(session)?.coachee.clone();
        let who = self.members.iter().position(|(m, _)| *m == coachee)?;
        self.create(who, cmd)
    }
}

/// The env a generated history ends at (for computing "now" in views of it).
pub fn end_env(spec: &Spec) -> SeededEnv {
    let mut env = SeededEnv::new(spec.seed ^ 1, spec.end_ms);
    let _ = env.now_ms();
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_history_is_realistic_and_deterministic() {
        let a = generate(&Spec::small(3), None, |_| {});
        let b = generate(&Spec::small(3), None, |_| {});
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.doc.team(), b.doc.team());
        let s = a.stats;
        assert!(s.requests >= 250, "{s:?}");
        assert!(s.offers > s.requests / 2, "{s:?}");
        assert!(s.sessions > 100, "{s:?}");
        assert!(s.refused < s.changes / 20, "few refusals: {s:?}");
        let team = a.doc.team();
        assert_eq!(team.current_members().len(), 12);
        assert!(
            team.offers
                .values()
                .any(|o| o.status() == peercoach_core::OfferStatus::Declined)
        );
        assert!(!peercoach_core::views::reciprocal_pairs(team).is_empty());
        assert!(!team.rota.is_empty() && !team.duties.is_empty());
        assert!(
            team.offers.values().all(|o| o.forged_responses.is_empty()),
            "every answer is genuine"
        );
        let ignored: Vec<_> = team.ignored().collect();
        assert!(
            ignored.is_empty(),
            "every write keeps the rules: {ignored:?}"
        );
    }
}
