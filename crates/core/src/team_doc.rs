//! [`TeamDoc`]: the Automerge document of one team together with its read model, kept in
//! step. Every write goes through [`TeamDoc::apply`]; every remote change is followed by
//! [`TeamDoc::refresh_after_merge`].

use std::collections::HashSet;
use std::sync::Arc;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, Change, ChangeHash, ObjType, ROOT};

use crate::command::{self, Applied, Command, CommandError};
use crate::env::Env;
use crate::ids::{ActorHex, MemberId, TeamId};
use crate::model::Team;
use crate::records::{Cx, Writer, coaching_hour, member, team_settings};
use crate::schema::SCHEMA_VERSION;
use crate::touched::{Collection, Places, Touched};
use crate::view_cache::{self, View};

/// A team document that says a newer peercoach wrote to it: its `schema_version` is
/// above this build's. Information to show ("a teammate's device runs a newer
/// peercoach"), never a lock: this build keeps the keys and record kinds it does not
/// know, shows the rest, and goes on writing (docs/design.md §10). A lock would freeze
/// every teammate who has not updated yet, and any member's device can write the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerSchema {
    /// The schema version found.
    pub found: i64,
}

impl NewerSchema {
    /// Set when `team` was read from a document of a newer schema.
    pub fn of(team: &Team) -> Option<Self> {
        (team.schema_version > SCHEMA_VERSION).then_some(Self {
            found: team.schema_version,
        })
    }
}

/// A team document and its typed view.
#[derive(Debug)]
pub struct TeamDoc {
    doc: AutoCommit,
    team: Arc<Team>,
    actor: ActorHex,
    /// The actor this device writes with while the document is open, when it has one (a
    /// session actor, see [`ActorHex`]).
    session: Option<automerge::ActorId>,
    /// The heads the read model reflects.
    model_heads: Vec<ChangeHash>,
    /// Where objects sit, for following changes.
    places: Places,
    /// The names (see [`ActorHex`]) of every actor with a change in the document: found
    /// when a new device is trusted (it changes no record when it has written nothing),
    /// then kept up with the changes followed.
    writers: Option<HashSet<ActorHex>>,
}

impl TeamDoc {
    /// Creates a new team with its first member (this device). Returns the document and
    /// the new member's id.
    pub fn genesis(
        actor: ActorHex,
        team_name: &str,
        member_name: &str,
        endpoint: &str,
        env: &mut dyn Env,
    ) -> Result<(Self, MemberId), CommandError> {
        let team_name = team_settings::check_name(team_name)?;
        let member_name = member::check_name(member_name)?;
        let now_ms = env.now_ms();
        let fresh = env.fresh_id();
        let team_id = TeamId::parse(&fresh).map_err(|e| CommandError::InvalidInput {
            field: "team id",
            reason: e.to_string(),
        })?;
        let fresh = env.fresh_id();
        let member_id = MemberId::parse(&fresh).map_err(|e| CommandError::InvalidInput {
            field: "member id",
            reason: e.to_string(),
        })?;
        let mut doc = AutoCommit::new().with_actor(actor.to_actor());
        team_settings::write_genesis(&mut doc, SCHEMA_VERSION, &team_id, &team_name, now_ms)?;
        doc.put_object(ROOT, coaching_hour::ROOT_KEY, ObjType::Map)?;
        for collection in Collection::ALL {
            doc.put_object(ROOT, collection.key(), ObjType::Map)?;
        }
        member::write_founder(
            &mut Writer { doc: &mut doc },
            &member_id,
            &member_name,
            &actor,
            endpoint,
            now_ms,
        )?;
        doc.commit_with(
            CommitOptions::default()
                .with_message(format!("create team {team_name}"))
                .with_time(now_ms / 1000),
        );
        Ok((Self::from_doc(doc, actor), member_id))
    }

    /// Wraps a loaded (or empty, for a joiner) document. The document's actor is set to
    /// this device's.
    pub fn from_doc(doc: AutoCommit, actor: ActorHex) -> Self {
        Self::from_doc_with_view(doc, actor, None).0
    }

    /// Like [`TeamDoc::from_doc`], taking the read model from a saved copy when it
    /// reflects exactly the document's heads (it is read from the document otherwise).
    /// Says whether the copy was used.
    pub fn from_doc_with_view(
        mut doc: AutoCommit,
        actor: ActorHex,
        view: Option<View>,
    ) -> (Self, bool) {
        doc.set_actor(actor.to_actor());
        // The read model follows changes by their operations (see `Touched`), so
        // Automerge's patch log stays off: keeping it costs time on every change.
        doc.reset_diff_cursor();
        let model_heads = doc.get_heads();
        let (team, used) = match view {
            Some(view) if view.heads == model_heads => (view.team, true),
            _ => (Arc::new(Team::read(&doc)), false),
        };
        let doc = Self {
            doc,
            team,
            actor,
            session: None,
            model_heads,
            places: Places::default(),
            writers: None,
        };
        (doc, used)
    }

    /// The heads the read model reflects.
    pub fn model_heads(&self) -> &[ChangeHash] {
        &self.model_heads
    }

    /// The read model as a saved copy (see [`crate::view_cache`]), made at
    /// [`TeamDoc::model_heads`].
    pub fn view_bytes(&self) -> Vec<u8> {
        view_cache::encode(&self.team, &self.model_heads)
    }

    /// Switches which device writes the following changes. For history generators and
    /// tests that play several devices on one document; the app never calls it (one
    /// process, one device).
    pub fn act_as(&mut self, actor: ActorHex) {
        self.doc.set_actor(actor.to_actor());
        self.actor = actor;
        self.session = None;
    }

    /// The typed view.
    pub fn team(&self) -> &Team {
        &self.team
    }

    /// The typed view, shared (for a snapshot the UI reads while the node goes on; the
    /// model is copied on its next change only if the snapshot still holds it).
    pub fn shared_team(&self) -> Arc<Team> {
        Arc::clone(&self.team)
    }

    /// Writes from now on with `session`, a session actor of this device (see
    /// [`ActorHex`]), whenever the document knows the device by its key (an entry that
    /// names no key keeps the device on its entry's actor).
    pub fn write_as_session(&mut self, session: automerge::ActorId) {
        self.session = Some(session);
    }

    /// The actor the next change is written with.
    fn writer(&self, me: &MemberId) -> automerge::ActorId {
        match &self.session {
            Some(s) if self.team.member_of_actor(&ActorHex::from(s)) == Some(me) => s.clone(),
            _ => self.actor.to_actor(),
        }
    }

    /// This device's actor: the one its device entry is written under.
    pub fn actor(&self) -> &ActorHex {
        &self.actor
    }

    /// The member this device belongs to (if it is a trusted device of one).
    pub fn me(&self) -> Option<&MemberId> {
        self.team.member_of_actor(&self.actor)
    }

    /// Whether the document has arrived yet (a joiner starts empty).
    pub fn is_empty(&self) -> bool {
        self.team.id.is_none()
    }

    /// Set when a newer peercoach wrote to the document (see [`NewerSchema`]).
    pub fn newer_schema(&self) -> Option<NewerSchema> {
        NewerSchema::of(&self.team)
    }

    /// The underlying document, for sync and storage. Callers that merge changes into it
    /// must call [`TeamDoc::refresh_after_merge`] afterwards.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Read-only access to the document.
    pub fn automerge_ref(&self) -> &AutoCommit {
        &self.doc
    }

    /// Current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Applies a command as this device's member, as one Automerge change. Nothing is
    /// written when it is refused.
    pub fn apply(&mut self, cmd: Command, env: &mut dyn Env) -> Result<Applied, CommandError> {
        let me = self.me().cloned().ok_or(CommandError::NotAMember)?;
        match self.team.members.get(&me) {
            Some(m) if m.is_current() => {}
            _ => return Err(CommandError::NotAMember),
        }
        let writer = self.writer(&me);
        if *self.doc.get_actor() != writer {
            self.doc.set_actor(writer);
        }
        let now_ms = env.now_ms();
        let label = cmd.tag();
        let mut cx = Cx {
            team: &self.team,
            w: Writer { doc: &mut self.doc },
            me: &me,
            my_actor: &self.actor,
            now_ms,
            fresh_id: &mut || env.fresh_id(),
        };
        let result = command::write(&mut cx, cmd);
        match result {
            Ok(applied) => {
                self.doc.commit_with(
                    CommitOptions::default()
                        .with_message(format!(
                            "{label} {}",
                            applied
                                .created
                                .as_ref()
                                .map(|c| c.as_str())
                                .unwrap_or_default()
                        ))
                        .with_time(now_ms.div_euclid(1000)),
                );
                self.refresh_after_merge();
                Ok(applied)
            }
            Err(e) => {
                // Some checks happen after the first writes; drop them all.
                self.doc.rollback();
                Err(e)
            }
        }
    }

    /// Applies changes received from a peer and re-reads what they touched. Changes
    /// whose dependencies are missing wait in Automerge's queue until they arrive.
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<Touched, CommandError> {
        // When the model is current and nothing waits in the queue before and after, the
        // new changes are exactly these (less any already known, which re-reading only
        // repeats): follow them as they are, without asking Automerge to rebuild them.
        let follow_these =
            self.doc.get_missing_deps(&[]).is_empty() && self.doc.get_heads() == self.model_heads;
        self.doc.apply_changes(changes.iter().cloned())?;
        if follow_these && self.doc.get_missing_deps(&[]).is_empty() {
            let heads = self.doc.get_heads();
            Ok(self.follow(heads, &changes))
        } else {
            Ok(self.refresh_after_merge())
        }
    }

    /// Re-reads what changed since the model was last refreshed: after a local command,
    /// applied changes, or a sync-protocol merge into [`TeamDoc::automerge`]. The new
    /// changes are found by the model's heads (cheap) and followed by their operations, so
    /// the cost is the size of what arrived, not of the history; a very large arrival (a
    /// joiner's first sync) is cheaper to read whole. Returns what was touched, for the UI.
    pub fn refresh_after_merge(&mut self) -> Touched {
        let heads = self.doc.get_heads();
        if heads == self.model_heads {
            return Touched::none();
        }
        let new = if self.model_heads.is_empty() {
            Vec::new()
        } else {
            self.doc.get_changes(&self.model_heads)
        };
        self.follow(heads, &new)
    }

    /// Brings the model to `heads`, the document's heads, given the changes new since the
    /// model's heads (none when the model is empty: then it is read whole).
    fn follow(&mut self, heads: Vec<ChangeHash>, new: &[Change]) -> Touched {
        if heads == self.model_heads {
            return Touched::none();
        }
        let touched = if self.model_heads.is_empty() || new.len() > FOLLOW_AT_MOST {
            Touched::all()
        } else {
            Touched::from_changes(&self.doc, new, &mut self.places)
        };
        // Who has written, kept up with what arrives while it is known exactly.
        match &mut self.writers {
            Some(writers) if !self.model_heads.is_empty() && new.len() <= FOLLOW_AT_MOST => {
                writers.extend(new.iter().map(|c| ActorHex::from(c.actor_id())));
            }
            _ => self.writers = None,
        }
        if !touched.is_empty() {
            let doc = self.doc.document();
            let writers = &mut self.writers;
            // Copies the model only while a published snapshot still shares it.
            Arc::make_mut(&mut self.team).refresh(doc, &touched, &mut |name| {
                writers
                    .get_or_insert_with(|| {
                        doc.get_changes_meta(&[])
                            .iter()
                            .map(|c| ActorHex::from(c.actor.as_ref()))
                            .collect()
                    })
                    .contains(name)
            });
        }
        self.model_heads = heads;
        touched
    }
}

/// Above this many new changes, re-reading the whole model beats following each change.
const FOLLOW_AT_MOST: usize = 20_000;
