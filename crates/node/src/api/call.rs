//! Typed calls: each request names its reply (as rust-analyzer's `lsp_types::Request`
//! does), so a caller gets exactly that reply or an error, and never matches on the
//! wire's [`Reply`] enum itself.
//!
//! ```no_run
//! # fn demo(client: &mut impl FnMut(peercoach_node::api::Request) -> peercoach_node::api::Reply) -> Result<(), peercoach_node::api::call::WrongReply> {
//! use peercoach_node::api::call::{self, Call};
//! let board = call::query::Board { team: None, at_ms: None };
//! let reply = client(board.clone().request());
//! let board_now = call::reply_of::<call::query::Board>(reply)?; // rows and their time
//! # let _ = board_now; Ok(()) }
//! ```
//!
//! The wire stays [`Request`] and [`Reply`], one JSON object each way: the control socket
//! carries them, the engine dispatches on them, and the CLI's `--json` prints a query's
//! reply as it came.

use peercoach_core::views::{
    BoardRow, DutyRow, HistoryItem, Inbox, OfferRow, SessionRow, SkillRow,
};
use peercoach_core::{Command, MemberId, TeamId};

use super::{
    CsvTable, DeviceRow, ExportFormat, ImportReport, InviteRow, MemberRow, Query, Ref, Reply,
    Request, RotaReply, Show, StatusReply, TeamEntry,
};

/// A request that names its reply.
pub trait Call {
    /// What the node answers.
    type Reply;
    /// The name used in errors.
    const NAME: &'static str;
    /// The request as it travels.
    fn request(self) -> Request;
    /// The reply taken out of the wire enum; a reply of another kind is handed back.
    fn reply(reply: Reply) -> Result<Self::Reply, Box<Reply>>;
}

/// A reply of another kind than the request names: the other end runs another build of
/// peercoach (the CLI and a node it talks to through the control socket).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{asked} got a {got:?} reply: the running peercoach is another version; restart it")]
pub struct WrongReply {
    /// What was asked.
    pub asked: &'static str,
    /// The kind of reply that came.
    pub got: String,
}

/// The typed reply to `C`, or why it is not one.
pub fn reply_of<C: Call>(reply: Reply) -> Result<C::Reply, WrongReply> {
    C::reply(reply).map_err(|other| WrongReply {
        asked: C::NAME,
        got: serde_json::to_value(&other)
            .ok()
            .and_then(|v| v.get("reply")?.as_str().map(str::to_owned))
            .unwrap_or_default(),
    })
}

/// A change was made (and is on disk), or an action was taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    /// The id of the record it created, if it created one.
    pub created: Option<peercoach_core::RecordId>,
    /// What happened, for people.
    pub summary: String,
}

/// A team was created, with me as its first member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The team.
    pub team: TeamId,
    /// Me in it.
    pub member: MemberId,
}

/// A join went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The team.
    pub team: TeamId,
    /// Its name.
    pub team_name: String,
    /// Me in it.
    pub member: MemberId,
}

/// An invite ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    /// The ticket text.
    pub ticket: String,
    /// When it expires.
    pub expires_ms: i64,
    /// How this device names it.
    pub invite: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// An Automerge file merged into a team, or brought a new one.
    Merged(Done),
    /// A JSON export restored the records this copy lacked.
    Restored(ImportReport),
}

/// The board at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardAt {
    /// Rows.
    pub rows: Vec<BoardRow>,
    /// As of.
    pub at_ms: i64,
}

fn done(reply: Reply) -> Result<Done, Box<Reply>> {
    match reply {
        Reply::Done { created, summary } => Ok(Done { created, summary }),
        other => Err(Box::new(other)),
    }
}

/// Implements [`Call`] for request structs: `Name { fields } => |this| wire request,
/// ReplyType, pattern => value;`.
macro_rules! calls {
    ($(
        $(#[$doc:meta])*
        $name:ident { $( $(#[$fdoc:meta])* $field:ident : $fty:ty ),* $(,)? }
            => |$this:ident| $request:expr, $reply:ty, |$r:ident| $out:expr;
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name { $( $(#[$fdoc])* pub $field: $fty ),* }

        impl Call for $name {
            type Reply = $reply;
            const NAME: &'static str = stringify!($name);
            fn request(self) -> Request {
                let $this = self;
                $request
            }
            fn reply($r: Reply) -> Result<$reply, Box<Reply>> {
                $out
            }
        }
    )*};
}

calls! {
    /// Create the identity (if none) and a new team.
    Init { /** My name. */ name: String, /** The team's name. */ team_name: String }
        => |c| Request::Init { name: c.name, team_name: c.team_name }, Created, |r| match &r {
            Reply::TeamCreated { team_id, member_id } => match (TeamId::parse(team_id), MemberId::parse(member_id)) {
                (Ok(team), Ok(member)) => Ok(Created { team, member }),
                _ => Err(Box::new(r)),
            },
            _ => Err(Box::new(r)),
        };
    /// The teams in this data dir.
    Teams {} => |_c| Request::Teams, Vec<TeamEntry>, |r| match r {
        Reply::Teams { teams } => Ok(teams),
        other => Err(Box::new(other)),
    };
    /// Find a team by what a person typed, once; every other call names it by id.
    SelectTeam { /** Its id, an id prefix or its name. */ team: String }
        => |c| Request::SelectTeam { team: c.team }, TeamId, |r| match r {
            Reply::Selected { team_id } => Ok(team_id),
            other => Err(Box::new(other)),
        };
    /// Make a team the default.
    UseTeam { /** Id, prefix or name. */ team: String }
        => |c| Request::UseTeam { team: c.team }, Done, |r| done(r);
    /// Resolve what a person typed to whole ids, in order.
    Resolve { /** The team (default: current). */ team: Option<TeamId>, /** What was typed. */ refs: Vec<Ref> }
        => |c| Request::Resolve { team: c.team, refs: c.refs }, Vec<String>, |r| match r {
            Reply::Resolved { ids } => Ok(ids),
            other => Err(Box::new(other)),
        };
    /// Apply a command to a team.
    Apply { /** The team. */ team: Option<TeamId>, /** The command. */ command: Command }
        => |c| Request::Apply { team: c.team, command: c.command }, Done, |r| done(r);
    /// Export a team (base64 of the bytes).
    Export {
        /** The team. */ team: Option<TeamId>,
        /** The format. */ format: ExportFormat,
        /** The CSV table. */ table: Option<CsvTable>,
        /** With my private notes (JSON only). */ private_notes: bool,
    } => |c| Request::Export { team: c.team, format: c.format, table: c.table, private_notes: c.private_notes },
        String, |r| match r {
            Reply::Exported { bytes_b64 } => Ok(bytes_b64),
            other => Err(Box::new(other)),
        };
    /// Read (and with `set`, replace) the network settings.
    Network { /** New settings. */ set: Option<peercoach_store::NetworkSettings> }
        => |c| Request::Network { set: c.set }, peercoach_store::NetworkSettings, |r| match r {
            Reply::Network(n) => Ok(n),
            other => Err(Box::new(other)),
        };
    /// Read (and with `set`, replace) the app's preferences.
    Preferences { /** New preferences. */ set: Option<peercoach_store::Preferences> }
        => |c| Request::Preferences { set: c.set }, peercoach_store::Preferences, |r| match r {
            Reply::Preferences(p) => Ok(p),
            other => Err(Box::new(other)),
        };
    /// Open the app's window.
    ShowWindow { /** Where. */ show: Option<Show> }
        => |c| Request::ShowWindow { show: c.show }, Done, |r| done(r);
    /// Stop the app or `serve` on this data dir.
    Quit {} => |_c| Request::Quit, Done, |r| done(r);
    /// Drop every connection and dial again.
    Reconnect {} => |_c| Request::Reconnect, Done, |r| done(r);
    /// Stop a join under way.
    CancelJoin {} => |_c| Request::CancelJoin, Done, |r| done(r);
    /// Peers and sync state.
    Status { /** The team. */ team: Option<TeamId> }
        => |c| Request::Status { team: c.team }, StatusReply, |r| match r {
            Reply::Status(s) => Ok(s),
            other => Err(Box::new(other)),
        };
    /// Make a one-time invite.
    Invite {
        /** The team. */ team: Option<TeamId>,
        /** How long it stays valid. */ expires_in_ms: i64,
        /** To link another device of mine. */ device: bool,
    } => |c| Request::Invite { team: c.team, expires_in_ms: c.expires_in_ms, device: c.device },
        Invited, |r| match r {
            Reply::Invited { ticket, expires_ms, invite } => Ok(Invited { ticket, expires_ms, invite }),
            other => Err(Box::new(other)),
        };
    /// Join a team with a ticket.
    Join { /** The ticket. */ ticket: String, /** My name, or the device's label. */ name: String }
        => |c| Request::Join { ticket: c.ticket, name: c.name }, Joined, |r| match &r {
            Reply::Joined { team_id, team_name, member_id } => match (TeamId::parse(team_id), MemberId::parse(member_id)) {
                (Ok(team), Ok(member)) => Ok(Joined { team, team_name: team_name.clone(), member }),
                _ => Err(Box::new(r)),
            },
            _ => Err(Box::new(r)),
        };
    /// Write a private note.
    AddNote {
        /** The team. */ team: Option<TeamId>,
        /** The note. */ text: String,
        /** The session it is about. */ on_session: Option<String>,
        /** The request it is about. */ on_request: Option<String>,
    } => |c| Request::AddNote { team: c.team, text: c.text, on_session: c.on_session, on_request: c.on_request },
        Done, |r| done(r);
    /// Delete one of my private notes.
    DeleteNote { /** The team. */ team: Option<TeamId>, /** The note's id. */ note: String }
        => |c| Request::DeleteNote { team: c.team, note: c.note }, Done, |r| done(r);
    /// Take one of my private notes out of the trash.
    RestoreNote { /** The team. */ team: Option<TeamId>, /** The note's id. */ note: String }
        => |c| Request::RestoreNote { team: c.team, note: c.note }, Done, |r| done(r);
    /// Import a file's bytes (base64).
    Import { /** The team. */ team: Option<TeamId>, /** The bytes, base64. */ bytes_b64: String }
        => |c| Request::Import { team: c.team, bytes_b64: c.bytes_b64 }, Imported, |r| match r {
            Reply::Imported { report } => Ok(Imported::Restored(report)),
            other => done(other).map(Imported::Merged),
        };
}

/// Questions about a team, each with its answer.
pub mod query {
    use super::*;

    fn ask(team: Option<TeamId>, query: Query) -> Request {
        Request::Query { team, query }
    }

    calls! {
        /// The help board, now or at a past time.
        Board { /** The team. */ team: Option<TeamId>, /** Past time, or now. */ at_ms: Option<i64> }
            => |c| ask(c.team, Query::Board { at_ms: c.at_ms }), BoardAt, |r| match r {
                Reply::Board { rows, at_ms } => Ok(BoardAt { rows, at_ms }),
                other => Err(Box::new(other)),
            };
        /// My inbox.
        MyInbox { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Inbox), Box<Inbox>, |r| match r {
                Reply::Inbox { inbox } => Ok(inbox),
                other => Err(Box::new(other)),
            };
        /// Group metrics.
        Metrics {
            /** The team. */ team: Option<TeamId>,
            /** The window. */ window_days: i64,
            /** Figures resting on fewer people are withheld. */ min_contributors: usize,
        } => |c| ask(c.team, Query::Metrics { window_days: c.window_days, min_contributors: c.min_contributors }),
            Box<peercoach_core::metrics::Metrics>, |r| match r {
                Reply::Metrics { metrics } => Ok(metrics),
                other => Err(Box::new(other)),
            };
        /// Activity history, newest first.
        History { /** The team. */ team: Option<TeamId>, /** At most this many. */ limit: usize }
            => |c| ask(c.team, Query::History { limit: c.limit }), Vec<HistoryItem>, |r| match r {
                Reply::History { items } => Ok(items),
                other => Err(Box::new(other)),
            };
        /// Members with their skills.
        Members { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Members), Vec<MemberRow>, |r| match r {
                Reply::Members { members } => Ok(members),
                other => Err(Box::new(other)),
            };
        /// My devices in the team, this one included.
        Devices { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Devices), Vec<DeviceRow>, |r| match r {
                Reply::Devices { devices } => Ok(devices),
                other => Err(Box::new(other)),
            };
        /// Sessions, newest first.
        Sessions { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Sessions), Vec<SessionRow>, |r| match r {
                Reply::Sessions { sessions } => Ok(sessions),
                other => Err(Box::new(other)),
            };
        /// The skill map.
        Skills { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Skills), Vec<SkillRow>, |r| match r {
                Reply::Skills { skills } => Ok(skills),
                other => Err(Box::new(other)),
            };
        /// Resolved and withdrawn requests, the most recently closed first.
        Closed { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Closed), Vec<peercoach_core::views::ClosedRow>, |r| match r {
                Reply::Closed { rows } => Ok(rows),
                other => Err(Box::new(other)),
            };
        /// Who could help with an open request, best first.
        Suggest { /** The team. */ team: Option<TeamId>, /** The request. */ request: peercoach_core::RequestId }
            => |c| ask(c.team, Query::Suggest { request: c.request }), Vec<peercoach_core::suggest::Suggestion>, |r| match r {
                Reply::Suggestions { suggestions } => Ok(suggestions),
                other => Err(Box::new(other)),
            };
        /// Everything I may read with every one of the words in it, by kind.
        Search { /** The team. */ team: Option<TeamId>, /** The words. */ words: String, /** The most of each kind. */ per_kind: usize }
            => |c| ask(c.team, Query::Search { words: c.words, per_kind: c.per_kind }), Vec<peercoach_core::search::Group>, |r| match r {
                Reply::Search { groups } => Ok(groups),
                other => Err(Box::new(other)),
            };
        /// Times the two people of an accepted offer could meet.
        MeetTimes { /** The team. */ team: Option<TeamId>, /** The offer. */ offer: peercoach_core::OfferId }
            => |c| ask(c.team, Query::MeetTimes { offer: c.offer }), Vec<i64>, |r| match r {
                Reply::Times { times } => Ok(times),
                other => Err(Box::new(other)),
            };
        /// An iCalendar file (the device's calendar, a session, the coaching hour) and
        /// the path of the device's calendar file.
        Calendar { /** The team. */ team: Option<TeamId>, /** Which. */ what: crate::api::CalendarWhat }
            => |c| ask(c.team, Query::Calendar { what: c.what }), (String, String), |r| match r {
                Reply::Calendar { path, ics } => Ok((path, ics)),
                other => Err(Box::new(other)),
            };
        /// Duties and their backfill.
        Duties { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Duties), Vec<DutyRow>, |r| match r {
                Reply::Duties { duties } => Ok(duties),
                other => Err(Box::new(other)),
            };
        /// The rota for a week (default: this one) and the coaching hour.
        Rota { /** The team. */ team: Option<TeamId>, /** ISO week. */ week: Option<String> }
            => |c| ask(c.team, Query::Rota { week: c.week }), RotaReply, |r| match r {
                Reply::Rota(rota) => Ok(rota),
                other => Err(Box::new(other)),
            };
        /// Offers as I may see them, newest first.
        Offers { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Offers), Vec<OfferRow>, |r| match r {
                Reply::Offers { offers } => Ok(offers),
                other => Err(Box::new(other)),
            };
        /// The document's heads, sorted.
        Heads { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Heads), Vec<String>, |r| match r {
                Reply::Heads { heads } => Ok(heads),
                other => Err(Box::new(other)),
            };
        /// My private notes, newest first.
        Notes { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Notes), Vec<peercoach_core::notes::Note>, |r| match r {
                Reply::Notes { notes } => Ok(notes),
                other => Err(Box::new(other)),
            };
        /// What I may restore, most recently deleted first.
        Trash { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Trash), Vec<peercoach_core::trash::Trashed>, |r| match r {
                Reply::Trash { items } => Ok(items),
                other => Err(Box::new(other)),
            };
        /// The invites this device made, and what became of them.
        Invites { /** The team. */ team: Option<TeamId> }
            => |c| ask(c.team, Query::Invites), Vec<InviteRow>, |r| match r {
                Reply::Invites { invites } => Ok(invites),
                other => Err(Box::new(other)),
            };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team_x() -> TeamId {
        TeamId::parse("00000000-0000-4000-8000-000000000001").expect("a team id")
    }

    #[test]
    fn a_call_takes_its_own_reply_and_names_any_other() {
        let done = Reply::Done {
            created: Some(peercoach_core::RecordId::Team(team_x())),
            summary: "did it".into(),
        };
        assert_eq!(
            reply_of::<Apply>(done.clone()),
            Ok(Done {
                created: Some(peercoach_core::RecordId::Team(team_x())),
                summary: "did it".into()
            })
        );
        let err = reply_of::<query::Sessions>(done).expect_err("not sessions");
        assert_eq!(err.asked, "Sessions");
        assert_eq!(err.got, "done");
        let created = Reply::TeamCreated {
            team_id: "not a uuid".into(),
            member_id: "neither".into(),
        };
        assert!(
            reply_of::<Init>(created).is_err(),
            "ids are parsed at the edge"
        );
        let merged = reply_of::<Import>(Reply::Done {
            created: None,
            summary: "merged".into(),
        });
        assert!(matches!(merged, Ok(Imported::Merged(_))));
    }
}
