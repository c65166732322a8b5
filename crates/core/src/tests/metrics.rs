use super::*;
use crate::metrics::{self, MetricsConfig, gini};
use crate::model::{Answer, SkillLevel, Stage};
use crate::testing::TeamFixture;
use crate::time::{DAY_MS, HOUR_MS};
use crate::{NewDuty, NewSession};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn gini_is_zero_for_equal_and_high_for_one_helper() {
    assert!(close(gini(&[2, 2, 2, 2]), 0.0));
    assert!(close(gini(&[0, 0, 0, 4]), 0.75));
    assert_eq!(gini(&[]), None);
    assert_eq!(gini(&[0, 0]), None);
}

/// Four members; three ask; help arrives after 1, 2 and 4 hours.
fn team_with_history() -> TeamFixture {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dev"]);
    let ids: Vec<_> = (0..4).map(|i| f.id(i)).collect();
    for (asker, helper, hours) in [(1, 0, 1), (2, 0, 2), (3, 1, 4)] {
        let r = ask(&mut f, asker, "Help", Urgency::Normal);
        f.sync_all();
        f.advance(hours * HOUR_MS);
        let o = offer_on(&mut f, helper, &r, "");
        f.sync_all();
        respond(&mut f, asker, &o, Answer::Yes);
        f.sync_all();
        f.create::<crate::RecordId>(
            helper,
            Command::LogSession(NewSession {
                topic: "t".into(),
                offer: Some(o),
                ..NewSession::between(ids[helper].clone(), ids[asker].clone())
            }),
        );
        f.sync_all();
        f.advance(HOUR_MS);
    }
    // One offer declined.
    let o = offer_to(&mut f, 2, &ids[3], "x");
    f.sync_all();
    respond(&mut f, 3, &o, Answer::NotNow);
    // Skills: rust has two coaches, go one.
    for i in 0..2 {
        f.apply(
            i,
            Command::SetSkill {
                skill: "rust".into(),
                level: Some(SkillLevel::CanCoach),
            },
        )
        .expect("skill");
    }
    f.apply(
        2,
        Command::SetSkill {
            skill: "go".into(),
            level: Some(SkillLevel::CanCoach),
        },
    )
    .expect("skill");
    f.apply(
        3,
        Command::SetSkill {
            skill: "go".into(),
            level: Some(SkillLevel::Learning),
        },
    )
    .expect("skill");
    for (owner, apprentice, stage, title) in [
        (0, 1, Stage::Lead, "On-call"),
        (1, 2, Stage::Shadow, "Releases"),
        (2, 3, Stage::CoDo, "Billing runs"),
    ] {
        let d = f.create::<crate::DutyId>(
            owner,
            Command::AddDuty(NewDuty {
                title: title.into(),
                notes: String::new(),
                owner: None,
            }),
        );
        f.apply(
            owner,
            Command::SetBackfill {
                duty: d.clone(),
                apprentice: ids[apprentice].clone(),
                stage: Some(stage),
            },
        )
        .expect("backfill");
        // Asked, and the apprentice says yes.
        f.sync_all();
        f.apply(apprentice, Command::AnswerBackfill { duty: d, yes: true })
            .expect("yes");
    }
    f.sync_all();
    f
}

#[test]
fn figures_from_a_known_history() {
    let f = team_with_history();
    let team = f.replicas[0].doc.team();
    let m = metrics::compute(team, f.env.now_ms + HOUR_MS, MetricsConfig::default());
    assert_eq!((m.requests, m.offers, m.sessions), (3, 4, 3));
    assert!(close(m.time_to_help_median_ms.value, 2.0 * HOUR_MS as f64));
    assert!(close(m.time_to_help_p80_ms.value, 4.0 * HOUR_MS as f64));
    assert!(close(m.answered_within_working_day.value, 1.0));
    assert!(close(m.consent_rate.value, 0.75), "{:?}", m.consent_rate);
    // Gave: Ana, Ben. Received: Ben, Cleo, Dev. Both: Ben. Active: all four.
    assert!(close(m.reciprocity.value, 0.25));
    assert!(close(m.largest_group_share.value, 1.0));
    assert!(close(m.isolated_members.value, 0.0));
    // Sessions given: Ana 2, Ben 1, Cleo 0, Dev 0.
    assert!(close(
        m.helper_concentration.value,
        gini(&[2, 1, 0, 0]).expect("gini")
    ));
    assert!(close(m.skill_coverage.value, 0.5));
    assert!(close(m.backfill_coverage.value, 2.0 / 3.0));
    assert!(close(m.bus_factor_one_skills.value, 1.0));
    assert_eq!(m.bus_factor.get("go"), Some(&1));
    assert_eq!(m.bus_factor.get("rust"), Some(&2));
    // What the coverage figures count, by name: skills and duties, never people.
    assert_eq!(m.skills_short_of_coaches, ["go"]);
    assert_eq!(m.duties_without_backfill, ["Releases"]);
    assert!(close(m.role_reversal_rate.value, 0.0));
    assert!(!m.reciprocity.withheld);
    // A later window holds nothing from then.
    let later = metrics::compute(team, f.env.now_ms + 60 * DAY_MS, MetricsConfig::default());
    assert_eq!(later.requests, 0);
    assert!(later.time_to_help_median_ms.withheld);
}

#[test]
fn figures_resting_on_fewer_than_k_people_are_withheld() {
    let f = team_with_history();
    let team = f.replicas[0].doc.team();
    let strict = MetricsConfig {
        window_days: 28,
        min_contributors: 4,
    };
    let m = metrics::compute(team, f.env.now_ms + HOUR_MS, strict);
    // Three askers < 4: no time-to-help figure at all.
    assert!(m.time_to_help_median_ms.withheld);
    assert_eq!(m.time_to_help_median_ms.value, None);
    assert_eq!(m.time_to_help_median_ms.contributors, 3);
    assert!(
        m.time_to_help_median_ms
            .show(|v| v.to_string())
            .contains("fewer than k")
    );
    // Four active members: reciprocity is shown.
    assert!(!m.reciprocity.withheld);
    // Help given is spread over the four active members (zeros count).
    assert!(!m.helper_concentration.withheld);
    let tiny = metrics::compute(
        team,
        f.env.now_ms + HOUR_MS,
        MetricsConfig {
            window_days: 28,
            min_contributors: 5,
        },
    );
    assert!(tiny.helper_concentration.withheld && tiny.reciprocity.withheld);
    // Withheld figures name nothing either.
    assert!(tiny.skills_short_of_coaches.is_empty() && tiny.duties_without_backfill.is_empty());
}

#[test]
fn weekly_series_is_oldest_first_and_moves_with_the_data() {
    let f = team_with_history();
    let series = metrics::weekly(
        f.replicas[0].doc.team(),
        f.env.now_ms,
        8,
        MetricsConfig::default(),
    );
    assert_eq!(series.len(), 8);
    assert!(
        series
            .windows(2)
            .all(|w| w[0].window_end_ms < w[1].window_end_ms)
    );
    assert_eq!(series.last().map(|m| m.sessions), Some(3));
    assert_eq!(series.first().map(|m| m.sessions), Some(0));
}
