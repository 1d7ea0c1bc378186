"""The outbox: messages to applicants (invitation, deadline reminder, results released).

A message is a row first, written in the transaction of what caused it, so nothing is sent
for a change that rolled back and nothing is lost when mail is down. Sending (SMTP when the
service is configured for it) reads queued rows and marks each sent or failed.

A row's life: ``queued`` -> ``sending`` (claimed by one sender) -> ``sent``, or back to
``queued`` with the server's error after a failed attempt, and ``failed`` after
:data:`MAX_ATTEMPTS`. While a row is not sent, ``sent_at`` holds when its last attempt
began (the claim's time); once sent, when the server accepted it.

The texts (:func:`invitation_message`, :func:`reminder_message`, :func:`results_message`,
:func:`regrade_message`) are plain text, link to the service's base URL and never carry a
score: scores are read signed in, on the portal.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.core.config import Settings
from api.models import Applicant, Attempt, OutboxMessage, Submission, TaskRow, utcnow
from grader.text import clean_text

log = logging.getLogger("assess.outbox")

KINDS = ("invitation", "reminder", "results", "regrade")
STATUSES = ("queued", "sending", "sent", "failed")
# Attempts per message before it is marked failed (an operator may queue it again).
MAX_ATTEMPTS = 5
# A claim older than this belongs to a sender that died mid-send: the row is taken over.
# Longer than any SMTP timeout (at most 300 s), so a live sender is never overtaken.
STALE_CLAIM = timedelta(minutes=10)
# How often the service's background loop runs the reminder pass and sends.
LOOP_SECONDS = 30.0
MAX_SUBJECT = 300
_BREAKS = re.compile(r"\s+")


def one_line(text: str, limit: int | None = None) -> str:
    """Text for a header or a name: control characters gone, every line break (CR, LF,
    U+2028, ...) and run of spaces made one space. A name or subject carrying a newline
    therefore cannot add a header or forge a line of the message."""
    flat = _BREAKS.sub(" ", clean_text(text, terminal=False)).strip()
    return flat[:limit] if limit is not None else flat


def queue_message(
    db: Session,
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    applicant_id: int | None = None,
    cohort_id: int | None = None,
    dedup_key: str | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox in ``db``'s transaction; the caller commits.

    With a ``dedup_key`` already in the outbox nothing is added and None is returned (a
    reminder goes once, however often the reminder pass runs).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r} (one of {', '.join(KINDS)})")
    if dedup_key is not None and db.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
    ):
        return None
    # Headers are one line each: a name or subject carrying a newline cannot add a header.
    msg = OutboxMessage(
        kind=kind,
        to_addr=one_line(to, 320),
        subject=one_line(subject, MAX_SUBJECT),
        body=clean_text(body, terminal=False),
        applicant_id=applicant_id,
        cohort_id=cohort_id,
        dedup_key=dedup_key,
        status="queued",
        attempts=0,
        error="",
    )
    db.add(msg)
    db.flush()
    return msg


# -- the texts ---------------------------------------------------------------------------


def _base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def _greeting(applicant: Applicant) -> str:
    name = one_line(applicant.name, 200)
    return f"Hello {name}," if name else "Hello,"


def _sign_off(settings: Settings) -> str:
    return f"\n-- \nThe assessment team\n{_base(settings)}/portal\n"


def local_time(when: datetime, zone: str) -> str:
    """``when`` in the applicant's time zone, with UTC beside it (an unknown zone: UTC)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    utc = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    local = when.astimezone(tz)
    if local.utcoffset() == timedelta(0) and tz.key == "UTC":
        return utc
    return f"{local.strftime('%Y-%m-%d %H:%M')} {tz.key} ({utc})"


def invitation_message(
    settings: Settings,
    applicant: Applicant,
    link: str,
    *,
    cohort_name: str = "",
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """(subject, body) of an invitation carrying the applicant's personal link."""
    cohort = one_line(cohort_name, 100)
    subject = f"Your invitation to the assessment{f' ({cohort})' if cohort else ''}"
    lines = [
        _greeting(applicant),
        "",
        "You are invited to take the assessment tasks of this cohort. Open your personal",
        "link to see the tasks, their instructions and the upload form:",
        "",
        link,
        "",
        "The link signs you in: keep it to yourself.",
    ]
    if expires_at is not None:
        lines.append(f"It works until {local_time(expires_at, applicant.timezone)}.")
    return subject, "\n".join(lines) + "\n" + _sign_off(settings)


def reminder_message(
    settings: Settings, applicant: Applicant, task_title: str, deadline_at: datetime
) -> tuple[str, str]:
    """(subject, body) reminding the applicant of an attempt's deadline."""
    title = one_line(task_title, 200)
    due = local_time(deadline_at, applicant.timezone)
    subject = f"Reminder: {title} is due {due}"
    body = "\n".join(
        [
            _greeting(applicant),
            "",
            f"Your attempt at {title} is due {due}.",
            "We have not received a submission for it yet. Upload it from your portal:",
            "",
            f"{_base(settings)}/portal",
            "",
            "If you already sent it by another way, or no longer wish to take part, you can",
            "ignore this message.",
        ]
    )
    return subject, body + "\n" + _sign_off(settings)


def results_message(
    settings: Settings, applicant: Applicant, *, cohort_name: str = ""
) -> tuple[str, str]:
    """(subject, body) telling the applicant their results are released (never the scores:
    those are read signed in)."""
    cohort = one_line(cohort_name, 100)
    subject = f"Your assessment results are available{f' ({cohort})' if cohort else ''}"
    body = "\n".join(
        [
            _greeting(applicant),
            "",
            "The results of your assessment have been released. Sign in with your personal",
            "link and read them, with the reviewers' feedback, on your results page:",
            "",
            f"{_base(settings)}/portal/results",
        ]
    )
    return subject, body + "\n" + _sign_off(settings)


def regrade_message(settings: Settings, applicant: Applicant, task_title: str) -> tuple[str, str]:
    """(subject, body) telling the applicant their regrade request was answered."""
    title = one_line(task_title, 200)
    subject = f"Your regrade request for {title} has been answered"
    body = "\n".join(
        [
            _greeting(applicant),
            "",
            f"A reviewer has answered your regrade request for {title}.",
            "Read the outcome on your results page:",
            "",
            f"{_base(settings)}/portal/results",
        ]
    )
    return subject, body + "\n" + _sign_off(settings)


# -- reminders ---------------------------------------------------------------------------


def reminder_key(applicant_id: int, task_id: str, hours: int) -> str:
    return f"reminder:{applicant_id}:{task_id}:{hours}"


def queue_reminders(db: Session, settings: Settings, now: datetime | None = None) -> int:
    """Queue one reminder per open attempt whose deadline is within one of
    ``settings.reminder_hours`` and that has no counted submission yet; returns how many.

    Only the tightest window the deadline falls in is used: an attempt found with one hour
    left gets the "2 hours" reminder, not the "24 hours" one too. Each (applicant, task,
    hours) is reminded once (its dedup key). Applicants with a decision are not reminded.
    """
    now = now or utcnow()
    windows = sorted(h for h in set(settings.reminder_hours) if h > 0)
    if not windows:
        return 0
    counted = exists().where(
        Submission.applicant_id == Attempt.applicant_id,
        Submission.task_id == Attempt.task_id,
        Submission.counted,
    )
    rows = db.execute(
        select(Attempt, Applicant, TaskRow.title)
        .join(Applicant, Applicant.id == Attempt.applicant_id)
        .join(TaskRow, TaskRow.id == Attempt.task_id)
        .where(
            Attempt.deadline_at.is_not(None),
            Attempt.deadline_at > now,
            Attempt.deadline_at <= now + timedelta(hours=windows[-1]),
            Applicant.decision.is_(None),
            ~counted,
        )
        .order_by(Attempt.id)
    ).all()
    queued = 0
    for attempt, applicant, title in rows:
        assert attempt.deadline_at is not None
        left = attempt.deadline_at - now
        hours = next(h for h in windows if left <= timedelta(hours=h))
        if any(
            db.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.dedup_key == reminder_key(applicant.id, attempt.task_id, h)
                )
            )
            for h in windows
            if h <= hours
        ):
            continue  # this window's reminder, or a tighter one's, already went
        subject, body = reminder_message(settings, applicant, title, attempt.deadline_at)
        # A savepoint: another process's pass may add the same key at the same moment, and
        # the unique key then refuses ours without undoing the rest of the pass.
        try:
            with db.begin_nested():
                added = queue_message(
                    db, kind="reminder", to=applicant.email, subject=subject, body=body,
                    applicant_id=applicant.id, cohort_id=applicant.cohort_id,
                    dedup_key=reminder_key(applicant.id, attempt.task_id, hours),
                )  # fmt: skip
        except IntegrityError:
            continue
        queued += added is not None
    return queued


# -- sending -----------------------------------------------------------------------------


@dataclass
class SendResult:
    """What one :func:`send_pending` run did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed this time, queued again
    failed: list[int] = field(default_factory=list)  # failed for the last time

    def line(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.retrying)} to retry, "
            f"{len(self.failed)} failed for good"
        )


def retry_delay(attempts: int) -> timedelta:
    """How long after its last attempt a message is tried again: 1, 2, 4, 8 minutes."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


def _due(now: datetime, *, ignore_backoff: bool) -> ColumnElement[bool]:
    """Rows a sender may claim: queued (and past their back-off), or stale claims."""
    queued: ColumnElement[bool] = OutboxMessage.status == "queued"
    if not ignore_backoff:
        backoff = [OutboxMessage.attempts == 0, OutboxMessage.sent_at.is_(None)]
        backoff += [
            and_(OutboxMessage.attempts == n, OutboxMessage.sent_at <= now - retry_delay(n))
            for n in range(1, MAX_ATTEMPTS)
        ]
        queued = and_(queued, or_(*backoff))
    stale = and_(OutboxMessage.status == "sending", OutboxMessage.sent_at < now - STALE_CLAIM)
    return or_(queued, stale)


def _claim(sessions: sessionmaker[Session], msg_id: int, now: datetime) -> bool:
    """Take one row for this sender, or learn that another has it.

    A compare-and-set in its own committed transaction: the UPDATE matches only while the
    row is still claimable, so of two senders racing for it exactly one changes it (on
    PostgreSQL the second waits for the first's commit and then re-checks the condition).
    """
    with sessions() as db, db.begin():
        result = db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == msg_id,
                or_(
                    OutboxMessage.status == "queued",
                    and_(
                        OutboxMessage.status == "sending",
                        OutboxMessage.sent_at < now - STALE_CLAIM,
                    ),
                ),
            )
            .values(status="sending", sent_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def _sender_domain(settings: Settings) -> str:
    address = settings.smtp_from.rsplit("@", 1)
    return address[1].strip("> ") if len(address) == 2 else "localhost"


def build_email(settings: Settings, msg: OutboxMessage) -> EmailMessage:
    """The MIME message for a row: plain text, every header one line.

    The stored values were made single-line when queued; they are flattened again here so a
    row written by other means cannot inject a header either.
    """
    email = EmailMessage(policy=SMTP_POLICY)
    email["From"] = one_line(settings.smtp_from)
    email["To"] = formataddr(("", one_line(msg.to_addr)))
    email["Subject"] = one_line(msg.subject, MAX_SUBJECT)
    email["Date"] = format_datetime(utcnow())
    # Stable per row: a message retried after a lost acknowledgement keeps its identity,
    # so mail clients can tell it is the same one.
    stamp = msg.created_at.strftime("%Y%m%d%H%M%S")
    email["Message-ID"] = f"<assess.outbox.{msg.id}.{stamp}@{_sender_domain(settings)}>"
    email["Auto-Submitted"] = "auto-generated"
    # Quoted-printable: 7-bit safe through any relay, whatever the names' alphabets.
    email.set_content(msg.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    return email


def _connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP session as configured: implicit TLS on port 465, else STARTTLS unless turned
    off; a login when a user is set. Every step honours the timeout."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_port == 465:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s,
            context=context,
        )  # fmt: skip
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
        if settings.smtp_starttls:
            smtp.starttls(context=context)
    try:
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _error_text(e: BaseException) -> str:
    """One line for the row: the exception's kind and what the server said."""
    if isinstance(e, smtplib.SMTPResponseException):
        said = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else ""
        return one_line(f"{type(e).__name__}: {e.smtp_code} {said}", 1000)
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{code} {err.decode('utf-8', 'replace') if isinstance(err, bytes) else err}"
            for code, err in e.recipients.values()
        ]
        return one_line(f"recipient refused: {'; '.join(parts)}", 1000)
    return one_line(f"{type(e).__name__}: {e}", 1000)


def send_pending(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    limit: int = 200,
    now: Callable[[], datetime] = utcnow,
    ignore_backoff: bool = False,
    connect: Callable[[Settings], smtplib.SMTP] = _connect,
) -> SendResult:
    """Send up to ``limit`` due messages by SMTP; returns what became of them.

    Each row is claimed (:func:`_claim`) before it is sent, so concurrent senders never
    send one row twice; it is marked sent only after the server accepted it. A failure
    keeps the server's error on the row and queues it again, until :data:`MAX_ATTEMPTS`
    make it failed. ``ignore_backoff`` ("send now") skips the wait between attempts.

    Raises:
        ValueError: SMTP is not configured (no ``smtp_host``).
    """
    if not settings.smtp_host:
        raise ValueError("SMTP is not configured: set ASSESS_SMTP_HOST to send mail")
    result = SendResult()
    with sessions() as db:
        ids = list(
            db.scalars(
                select(OutboxMessage.id)
                .where(_due(now(), ignore_backoff=ignore_backoff))
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
    smtp: smtplib.SMTP | None = None
    try:
        for msg_id in ids:
            if not _claim(sessions, msg_id, now()):
                continue  # another sender has it
            with sessions() as db:
                msg = db.get(OutboxMessage, msg_id)
                assert msg is not None
                email = build_email(settings, msg)
                to = one_line(msg.to_addr)
                attempts = msg.attempts
            error = ""
            try:
                if smtp is None:
                    smtp = connect(settings)
                smtp.send_message(email, from_addr=one_line(settings.smtp_from), to_addrs=[to])
            except (smtplib.SMTPException, OSError, ValueError) as e:
                error = _error_text(e)
                # The session may be unusable after a failure: a fresh one for the next row.
                if smtp is not None and not isinstance(e, smtplib.SMTPRecipientsRefused):
                    _quit(smtp)
                    smtp = None
            with sessions() as db, db.begin():
                msg = db.get(OutboxMessage, msg_id)
                assert msg is not None
                if not error:
                    msg.status, msg.sent_at, msg.error = "sent", now(), ""
                    result.sent.append(msg_id)
                elif attempts >= MAX_ATTEMPTS:
                    msg.status, msg.error = "failed", error
                    result.failed.append(msg_id)
                else:
                    msg.status, msg.error = "queued", error
                    result.retrying.append(msg_id)
    finally:
        if smtp is not None:
            _quit(smtp)
    if ids:
        log.info("outbox: %s", result.line())
    return result


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def requeue_failed(db: Session, ids: list[int] | None = None) -> list[int]:
    """Queue failed messages again with fresh attempts (their last error kept until the
    next attempt); all failed ones, or those of ``ids``. Returns the ids requeued."""
    query = select(OutboxMessage).where(OutboxMessage.status == "failed")
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    found = list(db.scalars(query.order_by(OutboxMessage.id)))
    for msg in found:
        msg.status, msg.attempts, msg.sent_at = "queued", 0, None
    db.flush()
    return [m.id for m in found]


# -- the service's background loop -------------------------------------------------------


def run_once(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """One round of the loop: queue due reminders, then send (when SMTP is configured)."""
    with sessions() as db, db.begin():
        queue_reminders(db, settings)
    if settings.smtp_host:
        send_pending(settings, sessions)


class OutboxLoop:
    """A daemon thread running :func:`run_once` every ``interval`` seconds until stopped.

    A thread (not an asyncio task): SMTP and the database are blocking calls. A failing
    round is logged and the next one runs as planned.
    """

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], interval: float = LOOP_SECONDS
    ) -> None:
        self.settings, self.sessions, self.interval = settings, sessions, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="assess-outbox", daemon=True)

    def start(self) -> OutboxLoop:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run_once(self.settings, self.sessions)
            except Exception:  # the loop outlives one bad round (database or mail down)
                log.exception("outbox round failed")
