//! Search everything one person may read: requests (open and closed) and their comments,
//! offers' topics and the advice they may see, sessions (topic, notes, shared learning,
//! skills), follow-ups, duties, and their own private notes.
//!
//! [`Index::new`] lowercases every searchable text once (per version of the team); each
//! [`Index::find`] then only scans it: every word of the query must occur in one record,
//! in any of its fields. Results come grouped by kind, newest first, each with the words
//! around its first match.

use serde::{Deserialize, Serialize};

use crate::ids::{DutyId, MemberId, OfferId, RequestId, SessionId};
use crate::model::Team;
use crate::records::note::{Note, NoteId};

/// The kinds of record a search finds, in the order results are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A request.
    Request,
    /// A comment on a request.
    Comment,
    /// An offer of help.
    Offer,
    /// A coaching session.
    Session,
    /// A follow-up of a session.
    FollowUp,
    /// A duty.
    Duty,
    /// One of my private notes.
    Note,
}

impl Kind {
    /// A group's heading.
    pub fn label(self) -> &'static str {
        match self {
            Self::Request => "Requests",
            Self::Comment => "Comments",
            Self::Offer => "Offers",
            Self::Session => "Sessions",
            Self::FollowUp => "Follow-ups",
            Self::Duty => "Duties",
            Self::Note => "Your private notes",
        }
    }
}

/// The record a result opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Opens {
    /// A request (a comment or an offer on it opens it too).
    Request(RequestId),
    /// An offer to a person, with no request.
    Offer(OfferId),
    /// A session (a follow-up opens its session).
    Session(SessionId),
    /// A duty.
    Duty(DutyId),
    /// A private note about nothing in particular.
    Note(NoteId),
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// What kind of record.
    pub kind: Kind,
    /// What it opens.
    pub opens: Opens,
    /// Its title ("Flaky integration test", "Ana coached Bo: …").
    pub title: String,
    /// The words around its first match.
    pub snippet: String,
    /// When it was written.
    pub at_ms: i64,
}

/// Results of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The kind.
    pub kind: Kind,
    /// How many matched (more than shown when the group was cut short).
    pub total: usize,
    /// Newest first.
    pub hits: Vec<Hit>,
}

/// One searchable record: its texts as written and lowercased, and all of them
/// lowercased in one string (one scan per word).
struct Doc {
    kind: Kind,
    opens: Opens,
    title: String,
    at_ms: i64,
    fields: Vec<(String, String)>,
    all: String,
}

/// Every text one person may search, lowercased once.
pub struct Index {
    docs: Vec<Doc>,
}

/// The most characters of context on each side of a match in a snippet.
const CONTEXT: usize = 40;

impl Index {
    /// What `viewer` may read of `team`, and their private `notes`.
    pub fn new(team: &Team, notes: &[Note], viewer: Option<&MemberId>) -> Self {
        let mut docs = Vec::new();
        let mut add = |kind, opens, title: String, at_ms, texts: Vec<&str>| {
            let fields: Vec<(String, String)> = texts
                .into_iter()
                .filter(|t| !t.is_empty())
                .map(|t| (t.to_owned(), t.to_lowercase()))
                .collect();
            // Fields joined by a line break, which no word of a query holds.
            let all = fields
                .iter()
                .map(|(_, lower)| lower.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            docs.push(Doc {
                kind,
                opens,
                title,
                at_ms,
                fields,
                all,
            });
        };
        for r in team.requests.values() {
            let skills = r.skills.iter().cloned().collect::<Vec<_>>().join(" ");
            add(
                Kind::Request,
                Opens::Request(r.id.clone()),
                r.title.clone(),
                r.created_ms,
                vec![&r.title, &r.tried, &skills],
            );
            for c in r.comments.iter().filter(|c| c.deleted_ms.is_none()) {
                add(
                    Kind::Comment,
                    Opens::Request(r.id.clone()),
                    format!("{} on \"{}\"", team.name_of(&c.author), r.title),
                    c.at_ms,
                    vec![&c.text],
                );
            }
        }
        for o in team.offers.values() {
            let advice = o.visible_message(viewer).unwrap_or("");
            let opens = o
                .request
                .clone()
                .map_or_else(|| Opens::Offer(o.id.clone()), Opens::Request);
            add(
                Kind::Offer,
                opens,
                format!(
                    "{} to {}: {}",
                    team.name_of(&o.from),
                    team.name_of(&o.to),
                    o.topic
                ),
                o.created_ms,
                vec![&o.topic, advice],
            );
        }
        for s in team.sessions.values().filter(|s| s.deleted_ms.is_none()) {
            let skills = s.skills.iter().cloned().collect::<Vec<_>>().join(" ");
            let title = format!(
                "{} coached {}: {}",
                team.name_of(&s.coach),
                team.name_of(&s.coachee),
                s.topic
            );
            add(
                Kind::Session,
                Opens::Session(s.id.clone()),
                title,
                s.at_ms,
                vec![&s.topic, &s.notes, &s.learning, &skills],
            );
            for u in &s.followups {
                add(
                    Kind::FollowUp,
                    Opens::Session(s.id.clone()),
                    format!("{} (from \"{}\")", u.text, s.topic),
                    u.created_ms,
                    vec![&u.text],
                );
            }
        }
        for d in team.duties.values().filter(|d| d.deleted_ms.is_none()) {
            add(
                Kind::Duty,
                Opens::Duty(d.id.clone()),
                d.title.clone(),
                d.created_ms,
                vec![&d.title, &d.notes],
            );
        }
        for n in notes {
            let opens = match (&n.session, &n.request) {
                (Some(s), _) => Opens::Session(s.clone()),
                (None, Some(r)) => Opens::Request(r.clone()),
                (None, None) => Opens::Note(n.id.clone()),
            };
            let title: String = n
                .text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            add(Kind::Note, opens, title, n.created_ms, vec![&n.text]);
        }
        Self { docs }
    }

    /// The records with every word of `query` in them, grouped by kind, newest first, at
    /// most `per_kind` of each shown. An empty query finds nothing.
    pub fn find(&self, query: &str, per_kind: usize) -> Vec<Group> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Vec::new();
        }
        let mut found: std::collections::BTreeMap<Kind, Vec<&Doc>> = Default::default();
        for doc in &self.docs {
            if words.iter().all(|w| doc.all.contains(w.as_str())) {
                found.entry(doc.kind).or_default().push(doc);
            }
        }
        found
            .into_iter()
            .map(|(kind, mut docs)| {
                docs.sort_by_key(|d| std::cmp::Reverse(d.at_ms));
                Group {
                    kind,
                    total: docs.len(),
                    hits: docs
                        .into_iter()
                        .take(per_kind)
                        .map(|d| Hit {
                            kind,
                            opens: d.opens.clone(),
                            title: d.title.clone(),
                            snippet: snippet(d, &words),
                            at_ms: d.at_ms,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// The words around the first match in the first field that matches: `…fix the flaky
/// test by pinning…`.
fn snippet(doc: &Doc, words: &[String]) -> String {
    for (text, lower) in &doc.fields {
        let Some(at) = words.iter().filter_map(|w| lower.find(w.as_str())).min() else {
            continue;
        };
        // Lowercasing can change byte lengths; map through characters to stay on the
        // original text's boundaries.
        let chars_before = lower[..at].chars().count();
        let chars: Vec<char> = text.chars().collect();
        let start = chars_before.saturating_sub(CONTEXT);
        let end = (chars_before + CONTEXT * 2).min(chars.len());
        let mut out: String = chars[start.min(chars.len())..end].iter().collect();
        out = out.split_whitespace().collect::<Vec<_>>().join(" ");
        if start > 0 {
            out.insert(0, '…');
        }
        if end < chars.len() {
            out.push('…');
        }
        return out;
    }
    String::new()
}

/// The places of `words` in `text`, as byte ranges of `text`, for showing them marked.
pub fn matches(text: &str, words: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let lower: String = text.to_lowercase();
    // Only where lowercasing keeps byte offsets (ASCII-like text): good enough to mark.
    if lower.len() != text.len() {
        return ranges;
    }
    for w in words.iter().filter(|w| !w.is_empty()) {
        let mut from = 0;
        while let Some(i) = lower[from..].find(w.as_str()) {
            let s = from + i;
            let e = s + w.len();
            if text.is_char_boundary(s) && text.is_char_boundary(e) {
                ranges.push(s..e);
            }
            from = e;
        }
    }
    ranges.sort_by_key(|r| r.start);
    // Overlaps merge.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}
