//! The command line: every feature scriptable. Argument definitions only; running them is
//! in `run.rs`.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use peercoach_core::export::CsvTable;
use peercoach_core::{Answer, SkillLevel, Stage, Urgency};
use peercoach_node::api::ExportFormat;

/// peercoach: peer coaching for small teams, synced directly between teammates.
///
/// With no subcommand, opens the desktop app. Every subcommand works offline on the data
/// dir; when a node already runs on it (the app or `peercoach serve`), the command is sent
/// to that node instead.
#[derive(Debug, Parser)]
#[command(name = "peercoach", version, about, long_about = None)]
pub struct Cli {
    /// The data directory (default: the platform's data dir for peercoach).
    #[arg(long, global = true, env = "PEERCOACH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The team to act on: id, id prefix or name (default: the last used, or the only one).
    #[arg(long, global = true, value_name = "TEAM")]
    pub team: Option<String>,
    /// Open the desktop app on this screen (board, inbox, sessions, team, backfill,
    /// dashboard, history, sync, settings).
    #[arg(long, value_enum, value_name = "SCREEN")]
    pub screen: Option<ScreenArg>,
    /// Start the desktop app without opening its window: it syncs and notifies in the
    /// background (how it starts at login). Running `peercoach` again opens the window.
    #[arg(long, conflicts_with = "screen")]
    pub background: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a headless node: syncs with teammates, answers invites, serves the CLI.
    /// Prints `ready <endpoint-id> <socket-addr>` once it accepts connections; stops
    /// cleanly on SIGTERM or SIGINT.
    Serve {
        /// Address and UDP port to listen on (default: all interfaces, or 127.0.0.1 in
        /// loopback-only mode; port from settings, else any).
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<std::net::SocketAddr>,
        /// Bind 127.0.0.1 only, with no relays, DNS/pkarr, mDNS or port mapping (also
        /// PEERCOACH_LOOPBACK=1).
        #[arg(long)]
        loopback_only: bool,
    },
    /// Make a one-time invite ticket (needs the app or `serve` running to answer it).
    Invite {
        /// How long it stays valid: 90s, 30m, 24h, 7d (at most 30d; by default a day,
        /// as in the app). A --device ticket lives 10 minutes by default, at most 1h.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Link another device of yours instead of inviting a new member.
        #[arg(long)]
        device: bool,
    },
    /// Join a team with an invite ticket: receive the team and become a member.
    Join {
        /// The ticket.
        ticket: String,
        /// Your display name (for `--device` tickets: this device's label).
        #[arg(long)]
        name: String,
        /// Loopback-only networking for this join (also PEERCOACH_LOOPBACK=1).
        #[arg(long)]
        loopback_only: bool,
    },
    /// Peers of the team: connected, last synced, whether they have all your changes.
    Status,
    /// Fill the data dir with a realistic demo team (12 people, 3 months of asks, offers,
    /// sessions, rota and backfill), with you as its first member. For trying the app.
    Demo {
        /// Seed for the generator (same seed, same history).
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Show or change how this device reaches teammates (applied at once when a node
    /// runs, else from its next start), and the team's relay.
    Network(NetworkArgs),
    /// Create this device's identity (if none) and a new team; prints the team id.
    Init {
        /// Your display name.
        #[arg(long)]
        name: String,
        /// The team's name.
        #[arg(long)]
        team: String,
    },
    /// "I could use help": ask the team, or one person (`--to`); prints the request id.
    Ask {
        /// A short title.
        title: String,
        /// What you tried already.
        #[arg(long, default_value = "")]
        tried: String,
        /// A skill tag (repeat for several).
        #[arg(long = "skill", value_name = "SKILL")]
        skills: Vec<String>,
        /// How soon.
        #[arg(long, value_enum, default_value_t = Urgency::Normal)]
        urgency: Urgency,
        /// Ask one person (a "coach me" request): member id, id prefix or name.
        #[arg(long, value_name = "MEMBER")]
        to: Option<String>,
    },
    /// Ask "Would you like some help?" — on a request, or straight to a person with
    /// `--to` and `--topic`. Advice in `--message` stays hidden until they say yes.
    Offer {
        /// The request to offer help on.
        #[arg(required_unless_present = "to", conflicts_with = "to")]
        request: Option<String>,
        /// Offer to a person instead of on a request.
        #[arg(long, value_name = "MEMBER", requires = "topic")]
        to: Option<String>,
        /// What the help would be about (with --to).
        #[arg(long)]
        topic: Option<String>,
        /// Advice, shown only after a yes.
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Answer an offer made to you, or being asked to float on the rota (give the week,
    /// such as 2026-W49) or to be an apprentice on a duty (give the duty).
    Respond {
        /// The offer, the rota week, or the duty.
        offer: String,
        /// Your answer.
        #[arg(value_enum)]
        answer: Answer,
    },
    /// "I'm on it": claim a request.
    Claim {
        /// The request.
        request: String,
    },
    /// Let go of your claim on a request.
    Unclaim {
        /// The request.
        request: String,
    },
    /// Mark a request resolved (its author, or whoever holds the claim).
    Resolve {
        /// The request.
        request: String,
    },
    /// Take back your own request.
    Withdraw {
        /// The request.
        request: String,
    },
    /// Reopen your own resolved or withdrawn request: it is back on the board.
    Reopen {
        /// The request.
        request: String,
    },
    /// Edit your request, a session you were in, or a duty's name: only the fields given
    /// change, and History shows who changed what.
    #[command(subcommand)]
    Edit(EditCmd),
    /// Take a deleted session, duty or private note out of the trash (within 30 days).
    Restore {
        /// What to restore: its id, a unique prefix of at least 4 characters, or its
        /// title as `trash list` shows it.
        record: String,
    },
    /// What was deleted in the last 30 days and can be restored.
    #[command(subcommand)]
    Trash(TrashCmd),
    /// Find anything you may read: requests (open and closed), comments, offers and the
    /// advice you may see, sessions, follow-ups, duties and your private notes.
    Search {
        /// Every word must be in a result.
        #[arg(required = true)]
        words: Vec<String>,
        /// The most results of each kind.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// After a yes, find a time: see where it stands, propose, pick, or say none work.
    #[command(subcommand)]
    Meet(MeetCmd),
    /// The device's calendar file for calendar apps, and single events to import.
    Calendar {
        /// Print the path of this device's calendar file (kept current while the app or
        /// `peercoach serve` runs, and after every change made here).
        #[arg(long)]
        path: bool,
        /// What to do instead.
        #[command(subcommand)]
        cmd: Option<CalendarCmd>,
    },
    /// Who could help with an open request: up to three teammates, and why.
    Suggest {
        /// The request.
        request: String,
    },
    /// Aim your open request at one teammate ("Ask Ana"), or back at the whole team.
    Aim {
        /// The request.
        request: String,
        /// The teammate: member id, id prefix or name.
        #[arg(required_unless_present = "everyone")]
        person: Option<String>,
        /// Back at the whole team.
        #[arg(long, conflicts_with = "person")]
        everyone: bool,
    },
    /// Comment on a request.
    Comment {
        /// The request.
        request: String,
        /// Text.
        text: String,
    },
    /// Take back an offer you made.
    WithdrawOffer {
        /// The offer.
        offer: String,
    },
    /// Coaching sessions: log, list, delete, follow-ups.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Follow-up actions from sessions.
    #[command(subcommand)]
    Followup(FollowupCmd),
    /// Private notes: only you can read them, and they are kept on your own devices
    /// (those linked with `invite --device`), never sent to a teammate.
    #[command(subcommand)]
    Note(NoteCmd),
    /// Thank someone.
    Thank {
        /// Who.
        member: String,
        /// What for.
        text: String,
        /// The session it is for.
        #[arg(long)]
        session: Option<String>,
    },
    /// The help board: longest-waiting and not-yet-helped people first.
    Board {
        /// Show the board as it stood at a past date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", conflicts_with = "closed")]
        at: Option<String>,
        /// Show the resolved and withdrawn requests instead, the latest first.
        #[arg(long)]
        closed: bool,
    },
    /// What needs you: offers to answer, requests aimed at you, follow-ups.
    Inbox,
    /// Offers, newest first (advice shown only where you may see it).
    Offers,
    /// Team-level group metrics (no per-person ranking).
    Metrics {
        /// Rolling window in days.
        #[arg(long, default_value_t = 28)]
        window_days: i64,
        /// A figure needs at least this many people behind it.
        #[arg(long, default_value_t = 3)]
        k: usize,
    },
    /// Activity history with authors, newest first.
    History {
        /// At most this many lines.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Members, their skills and availability.
    Members,
    /// The skill map: who is learning, can do, can coach what.
    Skills,
    /// Your profile.
    Profile {
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// When you usually have time for coaching.
        #[arg(long)]
        availability: Option<String>,
    },
    /// Set your level in a skill (`none` removes it).
    Skill {
        /// Skill tag.
        skill: String,
        /// Level.
        #[arg(value_parser = skill_level(), value_name = "LEVEL")]
        level: OrNone<SkillLevel>,
    },
    /// Mark a skill you want to learn (`--no` to unmark).
    Want {
        /// Skill tag.
        skill: String,
        /// No longer want to.
        #[arg(long)]
        no: bool,
    },
    /// Pause until a date (no nudges, not offered as a helper); `--off` ends it.
    Snooze {
        /// Until (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", required_unless_present = "off")]
        until: Option<String>,
        /// End the snooze.
        #[arg(long, conflicts_with = "until")]
        off: bool,
    },
    /// The team coaching hour (show, or set with all of --day, --start, --minutes).
    Hour {
        /// Weekday (monday … sunday).
        #[arg(
            long,
            value_parser = weekday(),
            ignore_case = true,
            value_name = "DAY",
            requires_all = ["start", "minutes"]
        )]
        day: Option<u32>,
        /// Start, HH:MM on this device's clock (the team keeps it in UTC).
        #[arg(long, requires = "day")]
        start: Option<String>,
        /// Length in minutes.
        #[arg(long, requires = "day")]
        minutes: Option<u32>,
        /// Where / how.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The helper rota: who floats (no assigned work, only helping) in a week.
    #[command(subcommand)]
    Rota(RotaCmd),
    /// Handover / backfill plans.
    #[command(subcommand)]
    Duty(DutyCmd),
    /// Remove a member (yourself: leave the team). In a team of three or more it takes
    /// effect when a second member runs it too. Their devices are refused from then on;
    /// the copy of the team they already hold cannot be taken back.
    RemoveMember {
        /// Who.
        member: String,
    },
    /// Your devices in the team (each reads everything you can, private notes included).
    Devices,
    /// Remove one of your devices (a lost laptop, a device you did not link): it is
    /// refused from then on. Not the one you are using.
    RemoveDevice {
        /// Its label, or the start of its id as `devices` shows it.
        device: String,
    },
    /// Stop the app (or `serve`) running on this data dir, as its Quit does.
    Quit,
    /// Drop the running app's (or `serve`'s) connections to teammates and dial them
    /// again: worth a try after a network change, or when `status` shows a peer's sync
    /// making no progress.
    Reconnect,
    /// Teams in this data dir.
    Teams,
    /// Make a team the default for later commands.
    Use {
        /// Team id, prefix or name.
        team: String,
    },
    /// Export the team: json, csv (one table), md (a report) or automerge (the whole
    /// document as a standard Automerge save file).
    Export {
        /// Format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to a file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The table, for csv.
        #[arg(long, value_enum, default_value_t = CsvTable::Requests)]
        table: CsvTable,
        /// Include your private notes (json only; left out unless asked).
        #[arg(long)]
        private_notes: bool,
    },
    /// Import an Automerge save file (merged, or added as a team) or a JSON export of
    /// this team (records it lacks are added).
    Import {
        /// The file.
        file: PathBuf,
    },
}

/// `network` arguments.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// How this device reaches teammates: anywhere (default: direct when possible, a
    /// relay otherwise), team-relay (only the team's own relay), local (this network
    /// only), loopback (127.0.0.1, for tests and demos).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Shorthand: `on` is `--mode loopback`, `off` is `--mode anywhere`.
    #[arg(long, value_enum)]
    pub loopback_only: Option<OnOff>,
    /// This device's own iroh relays (https://…), overriding the team's and n0's:
    /// repeat it for several (the device moves to the next when one stops answering);
    /// `none` to clear. Given, it replaces the device's list.
    #[arg(long, value_name = "URL")]
    pub relay_url: Vec<String>,
    /// The access token of a --relay-url, if it asks for one: `URL=TOKEN`, or just
    /// `TOKEN` with one relay; repeatable. `-` reads one token from standard input (so it
    /// stays out of shell history and `ps`).
    #[arg(long, value_name = "[URL=]TOKEN", conflicts_with = "relay_token_file")]
    pub relay_token: Vec<String>,
    /// Read the access token of the one --relay-url from this file (its first line).
    #[arg(long, value_name = "FILE")]
    pub relay_token_file: Option<PathBuf>,
    /// Set the relays of the whole team (in the team's document; every member's device
    /// uses them unless it has relays of its own): repeat it for several, which every
    /// device fails over between; `none` to clear. Given, it replaces the team's list.
    #[arg(long, value_name = "URL", conflicts_with_all = ["add_team_relay", "remove_team_relay"])]
    pub team_relay: Vec<String>,
    /// Add one relay at the end of the team's list, keeping the others and their tokens
    /// (its token with --team-relay-token).
    #[arg(long, value_name = "URL", conflicts_with = "remove_team_relay")]
    pub add_team_relay: Option<String>,
    /// Remove one relay from the team's list, keeping the others.
    #[arg(long, value_name = "URL")]
    pub remove_team_relay: Option<String>,
    /// The access token of a --team-relay (seen by every member): `URL=TOKEN`, or just
    /// `TOKEN` with one relay; repeatable. `-` reads one from standard input.
    #[arg(
        long,
        value_name = "[URL=]TOKEN",
        conflicts_with = "team_relay_token_file"
    )]
    pub team_relay_token: Vec<String>,
    /// Read the access token of the one --team-relay from this file (its first line).
    #[arg(long, value_name = "FILE")]
    pub team_relay_token_file: Option<PathBuf>,
    /// Fixed UDP port (0 = any).
    #[arg(long)]
    pub port: Option<u16>,
}

/// A network mode.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Direct when possible, a relay otherwise (the default).
    Anywhere,
    /// Direct, or only through the team's own relay.
    TeamRelay,
    /// Devices on this local network only.
    Local,
    /// 127.0.0.1 only.
    Loopback,
}

impl From<ModeArg> for peercoach_store::NetworkMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Anywhere => Self::Anywhere,
            ModeArg::TeamRelay => Self::TeamRelay,
            ModeArg::Local => Self::Local,
            ModeArg::Loopback => Self::Loopback,
        }
    }
}

/// A switch.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

impl OnOff {
    /// As a bool.
    pub fn on(self) -> bool {
        matches!(self, Self::On)
    }
}

/// `session …`
#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Log a coaching session; prints its id. Needs consent: an accepted offer, a
    /// request by the coachee, or the coachee logging it.
    Log(SessionLog),
    /// List sessions, newest first.
    List {
        /// Only sessions with this member (coach or coachee).
        #[arg(long, value_name = "MEMBER")]
        with: Option<String>,
        /// Only sessions whose topic contains this text.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Delete a session you were in.
    Delete {
        /// The session.
        session: String,
    },
}

/// `session log` arguments.
#[derive(Debug, Args)]
pub struct SessionLog {
    /// Coach.
    #[arg(long, value_name = "MEMBER")]
    pub coach: String,
    /// Coachee.
    #[arg(long, value_name = "MEMBER")]
    pub coachee: String,
    /// Topic.
    #[arg(long)]
    pub topic: String,
    /// Length in minutes.
    #[arg(long, default_value_t = 30)]
    pub minutes: u32,
    /// Notes (visible to the team).
    #[arg(long, default_value = "")]
    pub notes: String,
    /// A learning to share with the team.
    #[arg(long, default_value = "")]
    pub learning: String,
    /// The accepted offer it follows.
    #[arg(long)]
    pub offer: Option<String>,
    /// The request it answers.
    #[arg(long)]
    pub request: Option<String>,
    /// Skill tags.
    #[arg(long = "skill", value_name = "SKILL")]
    pub skills: Vec<String>,
    /// When it happened (YYYY-MM-DD; default now).
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
}

/// `meet …`: times are on this device's clock, as `YYYY-MM-DD HH:MM`.
#[derive(Debug, Subcommand)]
pub enum MeetCmd {
    /// Where finding a time stands for an accepted offer, and times that suit you both.
    Show {
        /// The offer.
        offer: String,
    },
    /// Propose one to three times (default: the suggested ones).
    Propose {
        /// The offer.
        offer: String,
        /// Times, `YYYY-MM-DD HH:MM` on this device's clock.
        #[arg(num_args = 0..=3)]
        times: Vec<String>,
        /// How long to meet, in minutes.
        #[arg(long, default_value_t = peercoach_core::records::meet::DEFAULT_MINUTES)]
        minutes: u32,
    },
    /// Pick one of the times the other person proposed: schedules the session.
    Accept {
        /// The offer.
        offer: String,
        /// The time: its number in `meet show` (1–3) or `YYYY-MM-DD HH:MM`; may be left
        /// out when only one was proposed.
        time: Option<String>,
    },
    /// Say none of the other person's times work.
    Decline {
        /// The offer.
        offer: String,
    },
    /// Say you did not meet after all: the offer ends, and its request returns to the
    /// board.
    End {
        /// The offer.
        offer: String,
    },
}

/// `calendar …`
#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Write an iCalendar file: a session, the coaching hour, or (default) the whole
    /// calendar of this device.
    Export {
        /// One session.
        #[arg(long, conflicts_with = "hour")]
        session: Option<String>,
        /// The team's weekly coaching hour.
        #[arg(long)]
        hour: bool,
        /// Write to this file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

/// `followup …`
#[derive(Debug, Subcommand)]
pub enum FollowupCmd {
    /// Add a follow-up action to a session; prints its id.
    Add {
        /// The session.
        session: String,
        /// What to do.
        text: String,
        /// Who does it (default: the coachee).
        #[arg(long, value_name = "MEMBER")]
        owner: Option<String>,
        /// Due date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        due: Option<String>,
    },
    /// Mark a follow-up done (`--undo` to reopen).
    Done {
        /// The follow-up.
        followup: String,
        /// Reopen instead.
        #[arg(long)]
        undo: bool,
    },
}

/// `note …`
#[derive(Debug, Subcommand)]
pub enum NoteCmd {
    /// Write a private note, about a session or a request or on its own (a reflection, a
    /// goal); prints its id.
    Add {
        /// The note.
        text: String,
        /// The session it is about.
        #[arg(long, value_name = "SESSION", conflicts_with = "request")]
        session: Option<String>,
        /// The request it is about.
        #[arg(long, value_name = "REQUEST")]
        request: Option<String>,
    },
    /// Your private notes, newest first.
    List,
    /// Delete one of your private notes.
    Delete {
        /// The note (its id, or a unique prefix of at least 4 characters).
        note: String,
    },
}

/// `edit …`
#[derive(Debug, Subcommand)]
pub enum EditCmd {
    /// Your own request, open or closed.
    Request {
        /// The request.
        request: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// What you tried, rewritten.
        #[arg(long)]
        tried: Option<String>,
        /// The skill tags, all of them (repeat for several).
        #[arg(long = "skill", value_name = "SKILL", conflicts_with = "no_skills")]
        skills: Vec<String>,
        /// Take every skill tag off.
        #[arg(long)]
        no_skills: bool,
        /// How soon.
        #[arg(long, value_enum)]
        urgency: Option<Urgency>,
    },
    /// A session you were in (coach or coachee).
    Session {
        /// The session.
        session: String,
        /// Topic.
        #[arg(long)]
        topic: Option<String>,
        /// Notes (visible to the team).
        #[arg(long)]
        notes: Option<String>,
        /// The shared learning.
        #[arg(long)]
        learning: Option<String>,
        /// The skill tags, all of them (repeat for several).
        #[arg(long = "skill", value_name = "SKILL", conflicts_with = "no_skills")]
        skills: Vec<String>,
        /// Take every skill tag off.
        #[arg(long)]
        no_skills: bool,
        /// When it took place: `YYYY-MM-DD HH:MM` or `YYYY-MM-DD`, on this device's clock.
        #[arg(long, value_name = "WHEN")]
        at: Option<String>,
        /// Length in minutes.
        #[arg(long)]
        minutes: Option<u32>,
    },
    /// A duty's name (yours, or one you listed).
    Duty {
        /// The duty.
        duty: String,
        /// Its new name.
        #[arg(long)]
        title: String,
    },
}

/// `trash …`
#[derive(Debug, Subcommand)]
pub enum TrashCmd {
    /// Sessions you were in, duties and your private notes deleted in the last 30 days,
    /// most recent first, with the day each can still be restored until.
    List,
}

/// `rota …`
#[derive(Debug, Subcommand)]
pub enum RotaCmd {
    /// Who floats in a week (default: this week), and the coaching hour.
    Show {
        /// ISO week such as 2026-W48.
        week: Option<String>,
    },
    /// Put yourself on the rota for a week, or ask someone to float: they are on it once
    /// they say yes (`peercoach respond WEEK yes`).
    Add {
        /// ISO week.
        week: String,
        /// Who.
        member: String,
    },
    /// Take yourself off the rota for a week, or take back your question to someone.
    Remove {
        /// ISO week.
        week: String,
        /// Who.
        member: String,
    },
}

/// `duty …`
#[derive(Debug, Subcommand)]
pub enum DutyCmd {
    /// Duties with their apprentices; uncovered ones first.
    List,
    /// List a duty (yours by default); prints its id.
    Add {
        /// What it is.
        title: String,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
        /// Whose duty it is.
        #[arg(long, value_name = "MEMBER")]
        owner: Option<String>,
    },
    /// Set an apprentice's stage: shadow → co-do → lead (`none` removes them). Someone new
    /// on your duty is asked, and is an apprentice once they say yes (`peercoach respond
    /// DUTY yes`); putting yourself on a duty needs no yes.
    Backfill {
        /// The duty.
        duty: String,
        /// The apprentice.
        member: String,
        /// Stage.
        #[arg(value_parser = stage(), value_name = "STAGE")]
        stage: OrNone<Stage>,
    },
    /// Remove a duty.
    Remove {
        /// The duty.
        duty: String,
    },
}

/// A screen of the desktop app.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScreenArg {
    /// Help board.
    Board,
    /// Inbox.
    Inbox,
    /// Sessions.
    Sessions,
    /// Team.
    Team,
    /// Backfill.
    Backfill,
    /// Dashboard.
    Dashboard,
    /// History.
    History,
    /// Sync.
    Sync,
    /// Settings.
    Settings,
}

/// A value to set, or `none` to take it away (a skill level, a backfill stage).
#[derive(Debug, Clone, Copy)]
pub struct OrNone<T>(pub Option<T>);

/// `learning`, `can-do`, `can-coach` or `none`, named by core.
fn skill_level() -> impl TypedValueParser<Value = OrNone<SkillLevel>> {
    PossibleValuesParser::new(
        SkillLevel::ALL
            .map(SkillLevel::as_str)
            .into_iter()
            .chain(["none"]),
    )
    .map(|s| OrNone(SkillLevel::parse(&s)))
}

/// `shadow`, `co-do`, `lead` or `none`, named by core.
fn stage() -> impl TypedValueParser<Value = OrNone<Stage>> {
    PossibleValuesParser::new(Stage::ALL.map(Stage::as_str).into_iter().chain(["none"]))
        .map(|s| OrNone(Stage::parse(&s)))
}

/// A weekday by the name core gives it (`monday` … `sunday`), as core counts it (0 = Monday).
fn weekday() -> impl TypedValueParser<Value = u32> {
    use peercoach_core::time::WEEKDAYS;
    PossibleValuesParser::new(WEEKDAYS).map(|day| {
        WEEKDAYS
            .iter()
            .position(|n| n.eq_ignore_ascii_case(&day))
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or_default()
    })
}
