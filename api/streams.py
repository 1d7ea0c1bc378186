"""Research streams of a cohort: mentors, follow-up tasks, applicants' choices, the mentors'
ranking, shortlist and notes.

:class:`StreamView` is the one rule for who sees a stream and its applicants, used alike by
the pages, the JSON API and the CSV export: operators see every stream; any other account
sees only the streams it mentors, and a stream it does not mentor does not exist for it (the
routes answer 404). Within a stream, the applicants are those who chose it; their identity
follows the cohort's review mode (:func:`api.views.sees_identity`: pseudonyms in blind
cohorts for everyone but operators), and their scores follow
:class:`api.reviewing.Independence`, like every other score a viewer reads.

Applicants' rows are addressed by their pseudonym (``A-xxxxxxxx``) in URLs for everyone, so
no route of a blind cohort carries anything that names or numbers the person.

Every change an operator or mentor makes writes an audit entry in the same transaction.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api import scoring
from api.core.security import pseudonym
from api.deps import Principal
from api.models import (
    Applicant,
    Cohort,
    CohortTask,
    Stream,
    StreamChoice,
    StreamMentor,
    StreamNote,
    StreamTask,
    TaskRow,
    User,
    utcnow,
)
from api.reviewing import Independence, audit, ranking
from api.views import applicant_label, sees_identity
from grader.text import clean_text

NAME_MAX = 100
DESCRIPTION_MAX = 5000
NOTE_MAX = 5000
MENTOR_ROLES = ("mentor", "reviewer")
FORMULA = (
    "Stream score = (composite + follow-up score) / 2, where the follow-up score is the mean "
    "task score of the stream's follow-up tasks the applicant has a graded submission for; "
    "an applicant without a follow-up score is ranked by the composite alone."
)


class StreamError(ValueError):
    """Bad input about streams (a one-line reason naming what was wrong): 422."""


class StreamConflict(StreamError):
    """The change conflicts with what is stored (a taken name, a chosen stream): 409."""


class NotVisible(LookupError):
    """No such stream or applicant, or not one the viewer may see: both read as 404."""


def actor(who: Principal) -> str:
    if who.user is not None:
        return f"{who.user.role}:{who.user.username}"
    assert who.applicant is not None
    return f"applicant:{who.applicant.id}"


def is_operator(who: Principal) -> bool:
    return who.user is not None and who.user.role == "operator"


# -- who sees which stream ----------------------------------------------------------------


def mentored_ids(db: Session, user: User) -> set[int]:
    return set(db.scalars(select(StreamMentor.stream_id).where(StreamMentor.user_id == user.id)))


def visible_streams(db: Session, who: Principal, cohort_id: int | None = None) -> list[Stream]:
    """The streams `who` may open: all for operators, the ones they mentor for anyone else."""
    if who.user is None:
        return []
    query = select(Stream).order_by(Stream.cohort_id, Stream.name, Stream.id)
    if cohort_id is not None:
        query = query.where(Stream.cohort_id == cohort_id)
    if not is_operator(who):
        mine = select(StreamMentor.stream_id).where(StreamMentor.user_id == who.user.id)
        query = query.where(Stream.id.in_(mine))
    return list(db.scalars(query))


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class Row:
    """One applicant of a stream as the viewer may see them."""

    key: str  # the pseudonym: the row's address in URLs, whatever the viewer sees
    applicant: str  # name and e-mail, or the pseudonym
    rank: int
    stream_score: float | None
    composite: float | None
    follow_up: float | None
    tasks: dict[str, float | None]  # the cohort's tasks and the follow-ups, as the viewer sees them
    provisional: bool
    shortlisted: bool
    shortlisted_by: str
    shortlisted_at: datetime | None
    chosen_at: datetime
    notes: list[Note]


@dataclass(frozen=True)
class StreamView:
    """A stream as one signed-in account may see it (see the module's docstring)."""

    stream: Stream
    cohort: Cohort
    who: Principal
    secret: bytes
    independence: Independence

    @classmethod
    def open(cls, db: Session, who: Principal, stream_id: int, secret: bytes) -> StreamView:
        """Raises NotVisible unless `who` is an operator or a mentor of the stream."""
        stream = db.get(Stream, stream_id)
        if stream is None or who.user is None:
            raise NotVisible("no such stream")
        if not is_operator(who) and stream.id not in mentored_ids(db, who.user):
            raise NotVisible("no such stream")
        cohort = db.get(Cohort, stream.cohort_id)
        assert cohort is not None
        return cls(stream, cohort, who, secret, Independence.of(db, who.user))

    @property
    def identity(self) -> bool:
        """Whether names and e-mails are shown (the cohort's blind rule)."""
        return sees_identity(self.who, self.cohort)

    def label(self, applicant: Applicant) -> str:
        return applicant_label(self.secret, applicant, self.cohort, self.who)

    def key(self, applicant: Applicant) -> str:
        return pseudonym(self.secret, applicant.id)

    def choice(self, db: Session, key: str) -> tuple[StreamChoice, Applicant]:
        """The applicant of this stream addressed by `key`; NotVisible for anyone else."""
        for choice, applicant in self._choices(db):
            if self.key(applicant) == key:
                return choice, applicant
        raise NotVisible("no such applicant in this stream")

    def _choices(self, db: Session) -> list[tuple[StreamChoice, Applicant]]:
        rows = db.execute(
            select(StreamChoice, Applicant)
            .join(Applicant, Applicant.id == StreamChoice.applicant_id)
            .where(StreamChoice.stream_id == self.stream.id)
            .order_by(Applicant.id)
        ).all()
        return [(c, a) for c, a in rows]

    def rows(self, db: Session) -> list[Row]:
        """The applicants who chose the stream, best stream score first (see FORMULA);
        applicants without any score yet come last."""
        choices = self._choices(db)
        if not choices:
            return []
        cohort_tasks = set(
            db.scalars(select(CohortTask.task_id).where(CohortTask.cohort_id == self.cohort.id))
        )
        follow_ups = set(task_ids(db, self.stream))
        kinds: dict[str, str] = {t: k for t, k in db.execute(select(TaskRow.id, TaskRow.kind))}
        weights = {k: float(v) for k, v in (self.cohort.weights or scoring.DEFAULT_WEIGHTS).items()}
        ranked = {r.applicant_id: r for r in ranking(db, self.cohort, self.independence)}
        notes = self._notes(db, [a.id for _, a in choices])
        scored: list[tuple[tuple[int, float, str], dict[str, Any]]] = []
        for choice, applicant in choices:
            r = ranked.get(applicant.id)
            tasks = {
                t: s for t, s in (r.tasks if r else {}).items() if t in cohort_tasks | follow_ups
            }
            by_kind: dict[str, list[float]] = {}
            for t, s in tasks.items():
                if t in cohort_tasks and s is not None:
                    by_kind.setdefault(kinds.get(t, "other"), []).append(s)
            composite = scoring.composite(by_kind, weights) if by_kind else None
            ups = [s for t, s in tasks.items() if t in follow_ups and s is not None]
            follow_up = statistics.fmean(ups) if ups else None
            score = stream_score(composite, follow_up)
            key = self.key(applicant)
            fields = {
                "key": key,
                "applicant": self.label(applicant),
                "stream_score": score,
                "composite": composite,
                "follow_up": follow_up,
                "tasks": dict(sorted(tasks.items())),
                "provisional": r.provisional if r else True,
                "shortlisted": choice.shortlisted,
                "shortlisted_by": choice.shortlisted_by,
                "shortlisted_at": choice.shortlisted_at,
                "chosen_at": choice.chosen_at,
                "notes": notes.get(applicant.id, []),
            }
            # Unscored last; ties by pseudonym, which says nothing about the person.
            scored.append(((score is None, -(score or 0.0), key), fields))
        scored.sort(key=lambda x: x[0])
        return [Row(rank=i, **f) for i, (_, f) in enumerate(scored, start=1)]

    def _notes(self, db: Session, applicant_ids: Sequence[int]) -> dict[int, list[Note]]:
        out: dict[int, list[Note]] = {}
        rows = db.execute(
            select(StreamNote, User.username)
            .join(User, User.id == StreamNote.author_id)
            .where(
                StreamNote.stream_id == self.stream.id,
                StreamNote.applicant_id.in_(applicant_ids),
            )
            .order_by(StreamNote.created_at, StreamNote.id)
        ).all()
        for note, author in rows:
            out.setdefault(note.applicant_id, []).append(
                Note(id=note.id, author=author, body=note.body, created_at=note.created_at)
            )
        return out

    # -- the mentor's changes ------------------------------------------------------------

    def set_shortlisted(self, db: Session, key: str, value: bool) -> StreamChoice:
        """Put the applicant on the stream's shortlist or take them off it (audited)."""
        choice, applicant = self.choice(db, key)
        before = _choice_dict(choice)
        if choice.shortlisted != value:
            assert self.who.user is not None
            choice.shortlisted = value
            choice.shortlisted_by = self.who.user.username
            choice.shortlisted_at = utcnow()
            audit(
                db,
                actor=actor(self.who),
                action="stream_shortlist",
                submission_id=None,
                before={"stream_id": self.stream.id, "applicant_id": applicant.id, **before},
                after={
                    "stream_id": self.stream.id,
                    "applicant_id": applicant.id,
                    **_choice_dict(choice),
                },
            )
        return choice

    def add_note(self, db: Session, key: str, body: str) -> Note:
        """A plain-text note on the applicant within this stream (audited)."""
        _, applicant = self.choice(db, key)
        text = clean_text(body).strip()
        if not text:
            raise StreamError("note: write something first")
        if len(text) > NOTE_MAX:
            raise StreamError(f"note: {len(text)} characters, at most {NOTE_MAX}")
        assert self.who.user is not None
        note = StreamNote(
            stream_id=self.stream.id,
            applicant_id=applicant.id,
            author_id=self.who.user.id,
            body=text,
            created_at=utcnow(),
        )
        db.add(note)
        db.flush()
        audit(
            db,
            actor=actor(self.who),
            action="stream_note",
            submission_id=None,
            before={},
            after={
                "stream_id": self.stream.id,
                "applicant_id": applicant.id,
                "note_id": note.id,
                "chars": len(text),
            },
        )
        return Note(note.id, self.who.user.username, text, note.created_at)


def stream_score(composite: float | None, follow_up: float | None) -> float | None:
    """See FORMULA."""
    if composite is None:
        return follow_up
    if follow_up is None:
        return composite
    return (composite + follow_up) / 2


def _choice_dict(c: StreamChoice) -> dict[str, Any]:
    return {
        "shortlisted": c.shortlisted,
        "shortlisted_by": c.shortlisted_by,
        "shortlisted_at": c.shortlisted_at.isoformat() if c.shortlisted_at else None,
    }


# -- what a stream is made of -------------------------------------------------------------


def mentors(db: Session, stream: Stream) -> list[User]:
    return list(
        db.scalars(
            select(User)
            .join(StreamMentor, StreamMentor.user_id == User.id)
            .where(StreamMentor.stream_id == stream.id)
            .order_by(User.username)
        )
    )


def task_ids(db: Session, stream: Stream) -> list[str]:
    return list(
        db.scalars(
            select(StreamTask.task_id)
            .where(StreamTask.stream_id == stream.id)
            .order_by(StreamTask.task_id)
        )
    )


def chosen_by(db: Session, stream: Stream) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(StreamChoice)
            .where(StreamChoice.stream_id == stream.id)
        )
        or 0
    )


def eligible_mentors(db: Session) -> list[User]:
    """Accounts that may mentor a stream: active mentors and reviewers."""
    return list(
        db.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(MENTOR_ROLES))
            .order_by(User.username)
        )
    )


def follow_up_candidates(db: Session, cohort: Cohort) -> list[TaskRow]:
    """Loaded tasks that may be a stream's follow-up: any but the cohort's own tasks."""
    own = select(CohortTask.task_id).where(CohortTask.cohort_id == cohort.id)
    return list(db.scalars(select(TaskRow).where(TaskRow.id.not_in(own)).order_by(TaskRow.id)))


def _describe(db: Session, stream: Stream) -> dict[str, Any]:
    return {
        "stream_id": stream.id,
        "cohort_id": stream.cohort_id,
        "name": stream.name,
        "description": stream.description,
        "mentors": [u.username for u in mentors(db, stream)],
        "tasks": task_ids(db, stream),
    }


def _clean_name(name: str) -> str:
    text = " ".join(clean_text(name).split())
    if not text:
        raise StreamError("name: required")
    if len(text) > NAME_MAX:
        raise StreamError(f"name: {len(text)} characters, at most {NAME_MAX}")
    return text


def _clean_description(description: str) -> str:
    text = clean_text(description).strip()
    if len(text) > DESCRIPTION_MAX:
        raise StreamError(f"description: {len(text)} characters, at most {DESCRIPTION_MAX}")
    return text


def _name_taken(db: Session, cohort_id: int, name: str, but: int | None = None) -> bool:
    query = select(Stream.id).where(
        Stream.cohort_id == cohort_id, func.lower(Stream.name) == name.lower()
    )
    if but is not None:
        query = query.where(Stream.id != but)
    return db.scalar(query) is not None


def _check_mentors(db: Session, user_ids: Iterable[int]) -> list[int]:
    ids = list(dict.fromkeys(user_ids))
    for uid in ids:
        user = db.get(User, uid)
        if user is None or not user.active:
            raise StreamError(f"mentors: no active account with id {uid}")
        if user.role not in MENTOR_ROLES:
            raise StreamError(
                f"mentors: {user.username} is an {user.role}; mentors are mentor or reviewer "
                "accounts (operators see every stream already)"
            )
    return ids


def _check_tasks(db: Session, cohort: Cohort, ids_in: Iterable[str]) -> list[str]:
    ids = list(dict.fromkeys(ids_in))
    for tid in ids:
        if db.get(TaskRow, tid) is None:
            raise StreamError(f"follow-up tasks: unknown task {tid[:64]!r}")
        if db.get(CohortTask, (cohort.id, tid)) is not None:
            raise StreamError(
                f"follow-up tasks: {tid!r} is already a task of cohort {cohort.name!r}"
            )
    return ids


def create_stream(
    db: Session,
    who: Principal,
    cohort: Cohort,
    name: str,
    description: str = "",
    mentor_ids: Iterable[int] = (),
    task_ids_in: Iterable[str] = (),
) -> Stream:
    """A new stream of `cohort` (audited). Raises StreamError, StreamConflict (name taken)."""
    clean = _clean_name(name)
    text = _clean_description(description)
    ids = _check_mentors(db, mentor_ids)
    tids = _check_tasks(db, cohort, task_ids_in)
    if _name_taken(db, cohort.id, clean):
        raise StreamConflict(f"name: cohort {cohort.name!r} has a stream called {clean!r}")
    stream = Stream(cohort_id=cohort.id, name=clean, description=text, created_at=utcnow())
    db.add(stream)
    db.flush()
    db.add_all(StreamMentor(stream_id=stream.id, user_id=u) for u in ids)
    db.add_all(StreamTask(stream_id=stream.id, task_id=t) for t in tids)
    db.flush()
    audit(
        db,
        actor=actor(who),
        action="stream_create",
        submission_id=None,
        before={},
        after=_describe(db, stream),
    )
    return stream


def update_stream(
    db: Session,
    who: Principal,
    stream: Stream,
    *,
    name: str | None = None,
    description: str | None = None,
    mentor_ids: Iterable[int] | None = None,
    task_ids_in: Iterable[str] | None = None,
) -> Stream:
    """Change what is given (None: unchanged), checked first so nothing half-changes; audited."""
    cohort = db.get(Cohort, stream.cohort_id)
    assert cohort is not None
    clean = _clean_name(name) if name is not None else None
    text = _clean_description(description) if description is not None else None
    ids = _check_mentors(db, mentor_ids) if mentor_ids is not None else None
    tids = _check_tasks(db, cohort, task_ids_in) if task_ids_in is not None else None
    if clean is not None and _name_taken(db, cohort.id, clean, but=stream.id):
        raise StreamConflict(f"name: cohort {cohort.name!r} has a stream called {clean!r}")
    before = _describe(db, stream)
    if clean is not None:
        stream.name = clean
    if text is not None:
        stream.description = text
    if ids is not None:
        db.execute(delete(StreamMentor).where(StreamMentor.stream_id == stream.id))
        db.add_all(StreamMentor(stream_id=stream.id, user_id=u) for u in ids)
    if tids is not None:
        db.execute(delete(StreamTask).where(StreamTask.stream_id == stream.id))
        db.add_all(StreamTask(stream_id=stream.id, task_id=t) for t in tids)
    db.flush()
    after = _describe(db, stream)
    if after != before:
        audit(
            db,
            actor=actor(who),
            action="stream_update",
            submission_id=None,
            before=before,
            after=after,
        )
    return stream


def delete_stream(db: Session, who: Principal, stream: Stream) -> None:
    """Delete a stream nobody has chosen (audited); StreamConflict otherwise."""
    n = chosen_by(db, stream)
    if n:
        raise StreamConflict(
            f"stream {stream.name!r} was chosen by {n} applicant(s); it cannot be deleted"
        )
    before = _describe(db, stream)
    for table in (StreamMentor, StreamTask, StreamNote):
        db.execute(delete(table).where(table.stream_id == stream.id))
    db.delete(stream)
    db.flush()
    audit(db, actor=actor(who), action="stream_delete", submission_id=None, before=before, after={})


# -- the applicant's side -----------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    task_id: str
    title: str
    open: bool  # the applicant may take it now (the stream shortlisted them)


@dataclass(frozen=True)
class ApplicantStream:
    """A stream as an applicant sees it: never the mentors, notes or who shortlisted."""

    id: int
    name: str
    description: str
    chosen: bool
    follow_ups: list[FollowUp]


def choices_open(cohort: Cohort, now: datetime | None = None) -> bool:
    """Applicants may change their streams until the cohort closes (if it has a close)."""
    return cohort.closes_at is None or (now or utcnow()) < cohort.closes_at


def applicant_streams(db: Session, applicant: Applicant) -> list[ApplicantStream]:
    streams = db.scalars(
        select(Stream).where(Stream.cohort_id == applicant.cohort_id).order_by(Stream.name)
    ).all()
    choices = {
        c.stream_id: c
        for c in db.scalars(select(StreamChoice).where(StreamChoice.applicant_id == applicant.id))
    }
    follow: dict[int, list[tuple[str, str]]] = {}
    for sid, tid, title in db.execute(
        select(StreamTask.stream_id, TaskRow.id, TaskRow.title)
        .join(TaskRow, TaskRow.id == StreamTask.task_id)
        .join(Stream, Stream.id == StreamTask.stream_id)
        .where(Stream.cohort_id == applicant.cohort_id)
        .order_by(TaskRow.id)
    ):
        follow.setdefault(sid, []).append((tid, title))
    out = []
    for s in streams:
        c = choices.get(s.id)
        opened = c is not None and c.shortlisted
        out.append(
            ApplicantStream(
                id=s.id,
                name=s.name,
                description=s.description,
                chosen=c is not None,
                follow_ups=[FollowUp(t, title, opened) for t, title in follow.get(s.id, [])],
            )
        )
    return out


def open_follow_up_task_ids(db: Session, applicant: Applicant) -> list[str]:
    """The follow-up tasks the applicant may take: those of every stream that shortlisted
    them (the rule for the applicant's task list, and for "open" on their streams page)."""
    return list(
        db.scalars(
            select(StreamTask.task_id)
            .join(StreamChoice, StreamChoice.stream_id == StreamTask.stream_id)
            .where(StreamChoice.applicant_id == applicant.id, StreamChoice.shortlisted.is_(True))
            .distinct()
            .order_by(StreamTask.task_id)
        )
    )


def set_choices(
    db: Session, who: Principal, stream_ids: Iterable[int], now: datetime | None = None
) -> list[int]:
    """Make the applicant's choices exactly `stream_ids` (audited). A stream kept keeps its
    shortlist state; one dropped loses it. Raises StreamConflict once the cohort has closed,
    StreamError for a stream that is not one of the cohort's."""
    applicant = who.applicant
    assert applicant is not None
    cohort = db.get(Cohort, applicant.cohort_id)
    assert cohort is not None
    if not choices_open(cohort, now):
        assert cohort.closes_at is not None
        raise StreamConflict(
            f"streams: choices closed at {cohort.closes_at:%Y-%m-%d %H:%M} UTC and can no "
            "longer change"
        )
    wanted = list(dict.fromkeys(stream_ids))
    own = set(db.scalars(select(Stream.id).where(Stream.cohort_id == cohort.id)))
    for sid in wanted:
        if sid not in own:
            raise StreamError(f"streams: no stream with id {sid} in your cohort")
    current = {
        c.stream_id: c
        for c in db.scalars(select(StreamChoice).where(StreamChoice.applicant_id == applicant.id))
    }
    before = sorted(current)
    for sid, c in current.items():
        if sid not in wanted:
            db.delete(c)
    for sid in wanted:
        if sid not in current:
            db.add(StreamChoice(applicant_id=applicant.id, stream_id=sid, chosen_at=utcnow()))
    db.flush()
    after = sorted(wanted)
    if after != before:
        audit(
            db,
            actor=actor(who),
            action="stream_choice",
            submission_id=None,
            before={"streams": before},
            after={
                "streams": after,
                "dropped_shortlisted": sorted(
                    s for s, c in current.items() if s not in wanted and c.shortlisted
                ),
            },
        )
    return after
