//! What one event says, as data: [`Parts`] (who, verb, target, detail, tone) plus the ordered
//! [`Piece`]s of its one-line narration, so that every front end shows the same words.
//!
//! Mental model: the view decides the *words* (a vote "agrees", a handoff is "accepted", a pick is
//! "picked by manager"); a front end decides only the *look*: which prefix or glyph a [`Mark`]
//! gets, how an [`Tone`] is coloured (or not), which arrow a [`Role::Arrow`] draws, and whether a
//! [`Shape::Speech`] becomes a heading and a body or a `who: text` block.

/// How loud an event is; front ends map it to a colour (or to nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tone {
    #[default]
    Normal,
    Good,
    Warn,
    Bad,
    Muted,
}

/// How an event is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Nothing to show (tokens, turn starts, the model calls behind votes and picks).
    #[default]
    Hidden,
    /// One line of narration ([`Parts::phrase`]), sometimes with a [`Parts::body`].
    Line,
    /// Someone speaking: the phrase is the heading (`optimist`, `you → skeptic (interjection)`)
    /// and [`Parts::body`] is what was said.
    Speech,
}

/// What kind of thing happened, for a front end's prefix or glyph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mark {
    #[default]
    None,
    /// The team was announced.
    Session,
    /// The person spoke.
    User,
    /// An agent spoke.
    Agent,
    /// A turn failed.
    Failure,
    /// A turn was cancelled.
    Cancel,
    /// The next speaker was picked.
    Pick,
    /// A handoff was requested, accepted, rejected, redirected, cancelled or fell back.
    Handoff,
    /// Control was handed back at the end of a handoff.
    HandBack,
    Vote,
    /// A consensus tally.
    Tally,
    Score,
    /// Paused or resumed.
    Control,
    Error,
    /// The session finished.
    End,
    /// An MCP tool call: asked, waiting, approved, rejected, answered or interrupted.
    Tool,
    /// A plan was proposed, edited, decided or replanned, or one of its tasks started, ended,
    /// was skipped or compensated (issue 11).
    Plan,
}

/// The part one piece of a phrase plays, so a front end can style it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// An agent, the person or another actor (`user`, `auto`): front ends colour agents.
    Name,
    /// The narration itself.
    Word,
    /// Between the two ends of a handoff: `→` (text mode prints `->`).
    Arrow,
    /// Content from a model or a person (a reason, a summary, an error message), on one line.
    Detail,
}

/// One piece of a phrase: the separator written before it, its role, its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub sep: &'static str,
    pub role: Role,
    pub text: String,
}

/// What one event says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parts {
    pub shape: Shape,
    pub mark: Mark,
    pub tone: Tone,
    /// Who acted or spoke (an agent, `you`, or the agent a handoff starts from).
    pub who: Option<String>,
    /// What they did, in the view's words (`failed`, `accepted`, `agrees`, …).
    pub verb: String,
    /// Whom it was done to (a handoff's target, the picked speaker, the addressee).
    pub target: Option<String>,
    /// A reason, summary or message on one line.
    pub detail: Option<String>,
    /// The one-line narration (or a speech's heading), in order.
    pub phrase: Vec<Piece>,
    /// Multi-line content: a message, a cancelled turn's partial text, the final answer.
    pub body: Option<String>,
    /// A short label for how a speech ended (`cancelled`, `cut off at max_tokens`).
    pub status: Option<String>,
    pub turn: Option<u64>,
    pub round: Option<u32>,
    /// Routine bookkeeping (a round-robin pick) that a terse front end may leave out.
    pub routine: bool,
}

impl Parts {
    /// Nothing to show.
    pub fn hidden() -> Parts {
        Parts::default()
    }

    /// Whether there is nothing to show.
    pub fn is_hidden(&self) -> bool {
        self.shape == Shape::Hidden
    }

    /// The phrase as plain text, with `arrow` for [`Role::Arrow`].
    pub fn plain(&self, arrow: &str) -> String {
        let mut out = String::new();
        for p in &self.phrase {
            out.push_str(p.sep);
            out.push_str(if p.role == Role::Arrow {
                arrow
            } else {
                &p.text
            });
        }
        out
    }

    pub(super) fn new(shape: Shape, mark: Mark, tone: Tone) -> Parts {
        Parts {
            shape,
            mark,
            tone,
            ..Parts::default()
        }
    }

    /// Add a piece, separated from the previous one by a space.
    pub(super) fn push(self, role: Role, text: impl Into<String>) -> Parts {
        let sep = if self.phrase.is_empty() { "" } else { " " };
        self.push_sep(sep, role, text)
    }

    pub(super) fn push_sep(
        mut self,
        sep: &'static str,
        role: Role,
        text: impl Into<String>,
    ) -> Parts {
        self.phrase.push(Piece {
            sep,
            role,
            text: text.into(),
        });
        self
    }

    pub(super) fn word(self, text: impl Into<String>) -> Parts {
        self.push(Role::Word, text)
    }

    pub(super) fn name(self, text: impl Into<String>) -> Parts {
        self.push(Role::Name, text)
    }

    pub(super) fn arrow(self) -> Parts {
        self.push(Role::Arrow, "→")
    }

    /// The actor, as the next piece.
    pub(super) fn who(mut self, who: &str) -> Parts {
        self.who = Some(who.to_string());
        self.name(who)
    }

    /// The verb, as the next piece.
    pub(super) fn verb(mut self, verb: &str) -> Parts {
        self.verb = verb.to_string();
        self.word(verb)
    }

    /// The target, as the next piece.
    pub(super) fn target(mut self, target: &str) -> Parts {
        self.target = Some(target.to_string());
        self.name(target)
    }

    /// `: detail` on one line, left out when empty.
    pub(super) fn detail(self, detail: &str) -> Parts {
        self.detail_sep(": ", detail)
    }

    /// `detail` on one line after `sep`, left out when empty.
    pub(super) fn detail_sep(mut self, sep: &'static str, detail: &str) -> Parts {
        let d = one_line(detail);
        if d.is_empty() {
            return self;
        }
        self.detail = Some(d.clone());
        self.push_sep(sep, Role::Detail, d)
    }
}

/// `text` with every run of whitespace (newlines included) as one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
