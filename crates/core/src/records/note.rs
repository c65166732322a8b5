//! Private notes: a person's own document, beside the team's.
//!
//! Coaching notes are often personal — what I took from a session, what I want to try,
//! my goals. They live in a second Automerge document per (team, member), which the node
//! syncs only between that member's own devices and never to a teammate's. Its id is
//! derived from the team and the member ([`notes_doc_id`]), so every device of mine
//! arrives at the same document without asking anyone.
//!
//! Two of my devices may each start the document before they have met, so it has no
//! genesis structure that both would create: every note is its own map at the root,
//! keyed by its id, and deleting one marks it (`deleted_ms`), as the team document does.

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};

use super::clean_text;
use crate::command::CommandError;
use crate::env::Env;
use crate::fields::{Fields, record_ids};
use crate::ids::{ActorHex, MemberId, RequestId, SessionId, TeamId};
use crate::schema::MAX_TEXT_CHARS;

peercoach_base::uuid_id!(
    /// A private note.
    NoteId
);

/// One private note.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    /// Its id.
    pub id: NoteId,
    /// What I wrote.
    pub text: String,
    /// The session it is about, if any.
    pub session: Option<SessionId>,
    /// The request it is about, if any.
    pub request: Option<RequestId>,
    /// Written at.
    pub created_ms: i64,
    /// In the trash since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<i64>,
}

/// The id of `member`'s private notes document in `team`: the same on every device of
/// theirs, and unlike any team id (it is derived with a tag no team id has).
pub fn notes_doc_id(team: &TeamId, member: &MemberId) -> TeamId {
    let text = format!("peercoach-notes/{team}/{member}");
    let a = fnv1a(text.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a(text.as_bytes(), 0x6c62_272e_07bb_0142);
    let hex = format!("{a:016x}{b:016x}");
    // Version 8 (custom) and the RFC 4122 variant, so it reads as a UUID everywhere.
    let uuid = format!(
        "{}-{}-8{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        8 | (u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3),
        &hex[17..20],
        &hex[20..32]
    );
    TeamId::parse(&uuid).unwrap_or_else(|_| team.clone())
}

/// FNV-1a, 64 bits, from a chosen offset: a stable hash (not a secret; the notes are
/// guarded by who may open a stream for them, not by their id).
fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A member's private notes document and what it holds.
#[derive(Debug)]
pub struct NotesDoc {
    doc: AutoCommit,
    /// Every note, newest first, as of the last [`NotesDoc::refresh`]: shared, so a
    /// snapshot holds them without a copy and sees they did not change by pointer.
    notes: Arc<Vec<Note>>,
    /// The deleted ones, newest deletion first (kept, and restorable for 30 days).
    trashed: Vec<Note>,
}

impl NotesDoc {
    /// A document as loaded from disk or received (or new and empty), written by `actor`.
    pub fn from_doc(doc: AutoCommit, actor: &ActorHex) -> Self {
        let mut this = Self {
            doc: doc.with_actor(actor.to_actor()),
            notes: Arc::default(),
            trashed: Vec::new(),
        };
        this.refresh();
        this
    }

    /// The underlying document, for sync and storage. Call [`NotesDoc::refresh`] after
    /// merging into it.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Reads the notes again (after a merge).
    pub fn refresh(&mut self) {
        let mut notes = Vec::new();
        let mut trashed = Vec::new();
        for (key, obj) in record_ids(&self.doc, &ROOT) {
            let Ok(id) = NoteId::parse(&key) else {
                continue;
            };
            let f = Fields::read(&self.doc, &obj);
            // A deletion at or before the last restore no longer counts.
            let restored_ms = f.int(RESTORED_MS);
            let deleted_ms = crate::trash::in_trash(f.int(DELETED_MS), restored_ms);
            let note = Note {
                id,
                text: f.text("text"),
                session: f.str("session").and_then(|s| SessionId::parse(s).ok()),
                request: f.str("request").and_then(|s| RequestId::parse(s).ok()),
                created_ms: f.int("created_ms").unwrap_or(0),
                deleted_ms,
            };
            if deleted_ms.is_some() {
                trashed.push(note);
            } else {
                notes.push(note);
            }
        }
        notes.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
        trashed.sort_by(|a, b| b.deleted_ms.cmp(&a.deleted_ms).then(a.id.cmp(&b.id)));
        self.notes = Arc::new(notes);
        self.trashed = trashed;
    }

    /// Every note, newest first.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The deleted notes, most recently deleted first, however long ago (the trash shows
    /// those of the last 30 days).
    pub fn trashed(&self) -> &[Note] {
        &self.trashed
    }

    /// Every note, newest first, shared: the same `Arc` until the notes change.
    pub fn shared_notes(&self) -> Arc<Vec<Note>> {
        self.notes.clone()
    }

    /// Writes a note, as one change. Returns its id.
    pub fn add(
        &mut self,
        text: &str,
        session: Option<&SessionId>,
        request: Option<&RequestId>,
        env: &mut dyn Env,
    ) -> Result<NoteId, CommandError> {
        let text = clean_text("note", text, MAX_TEXT_CHARS, true)?;
        let id = NoteId::parse(&env.fresh_id()).map_err(|e| CommandError::InvalidInput {
            field: "note id",
            reason: e.to_string(),
        })?;
        let now_ms = env.now_ms();
        let obj = self.doc.put_object(ROOT, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "text", text.as_str())?;
        if let Some(s) = session {
            self.doc.put(&obj, "session", s.as_str())?;
        }
        if let Some(r) = request {
            self.doc.put(&obj, "request", r.as_str())?;
        }
        self.doc.put(&obj, "created_ms", now_ms)?;
        self.doc.commit();
        self.refresh();
        Ok(id)
    }

    /// Deletes a note (it is marked, as everything is: a concurrent edit of it on another
    /// device of mine must not resurrect half of it). It stays in the trash for 30 days.
    pub fn delete(&mut self, id: &NoteId, env: &mut dyn Env) -> Result<(), CommandError> {
        let obj = self.note_obj(id, self.notes.iter().any(|n| &n.id == id))?;
        let restored_ms = Fields::read(&self.doc, &obj).int(RESTORED_MS);
        // After the restore it follows, whatever this device's clock says.
        let at = crate::trash::mark_after(env.now_ms(), restored_ms);
        self.doc.put(&obj, DELETED_MS, at)?;
        self.doc.commit();
        self.refresh();
        Ok(())
    }

    /// Takes a note out of the trash, within the 30 days it is kept: a new change, as a
    /// deletion is.
    pub fn restore(&mut self, id: &NoteId, env: &mut dyn Env) -> Result<(), CommandError> {
        let trashed = self.trashed.iter().find(|n| &n.id == id);
        let deleted_ms = trashed.and_then(|n| n.deleted_ms);
        let obj = self.note_obj(id, trashed.is_some())?;
        let Some(deleted_ms) = deleted_ms else {
            return Ok(());
        };
        let now_ms = env.now_ms();
        crate::trash::still_kept("note", deleted_ms, now_ms)?;
        self.doc.put(&obj, RESTORED_MS, now_ms.max(deleted_ms))?;
        self.doc.commit();
        self.refresh();
        Ok(())
    }

    /// The map of a note that `known` says is there.
    fn note_obj(&self, id: &NoteId, known: bool) -> Result<automerge::ObjId, CommandError> {
        match self.doc.get(ROOT, id.as_str())? {
            Some((automerge::Value::Object(ObjType::Map), obj)) if known => Ok(obj),
            _ => Err(CommandError::NotFound {
                kind: "note",
                id: id.to_string(),
            }),
        }
    }
}

/// A note's deletion mark.
const DELETED_MS: &str = "deleted_ms";
/// A note's restore mark: a deletion at or before it no longer counts.
const RESTORED_MS: &str = "restored_ms";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::SeededEnv;

    fn ids() -> (TeamId, MemberId, MemberId) {
        (
            TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000a").expect("team"),
            MemberId::parse("0b6f5c1e-0000-4000-8000-00000000000b").expect("ana"),
            MemberId::parse("0b6f5c1e-0000-4000-8000-00000000000c").expect("ben"),
        )
    }

    #[test]
    fn every_device_of_a_member_finds_the_same_notes_document_and_no_one_else_does() {
        let (team, ana, ben) = ids();
        let id = notes_doc_id(&team, &ana);
        assert_eq!(id, notes_doc_id(&team, &ana), "stable");
        assert_ne!(id, notes_doc_id(&team, &ben));
        assert_ne!(id, team);
        let other = TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000d").expect("team");
        assert_ne!(id, notes_doc_id(&other, &ana));
        assert!(crate::ids::is_uuid(id.as_str()));
    }

    #[test]
    fn two_devices_that_start_apart_merge_their_notes() {
        let mut env = SeededEnv::new(1, 1_780_000_000_000);
        let laptop = ActorHex::from_bytes(&[1; 16]);
        let phone = ActorHex::from_bytes(&[2; 16]);
        let mut a = NotesDoc::from_doc(AutoCommit::new(), &laptop);
        let mut b = NotesDoc::from_doc(AutoCommit::new(), &phone);
        let session = SessionId::parse("0b6f5c1e-0000-4000-8000-0000000000aa").expect("s");
        let first = a
            .add("Ask more, tell less", Some(&session), None, &mut env)
            .expect("add");
        env.now_ms += 1_000;
        b.add("Goal: run a retro", None, None, &mut env)
            .expect("add");
        a.automerge().merge(b.automerge()).expect("merge");
        a.refresh();
        let texts: Vec<&str> = a.notes().iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["Goal: run a retro", "Ask more, tell less"]);
        assert_eq!(a.notes()[1].session.as_ref(), Some(&session));
        a.delete(&first, &mut env).expect("delete");
        assert_eq!(a.notes().len(), 1);
        assert!(a.delete(&first, &mut env).is_err(), "already gone");
        assert!(matches!(
            a.add("   ", None, None, &mut env),
            Err(CommandError::InvalidInput { .. })
        ));
    }
}
