"""The outbox's sending and reminders against a real SMTP server on loopback (aiosmtpd),
on SQLite and PostgreSQL: headers and body as received, one line per header whatever a name
or subject holds, errors kept and retried then failed, concurrent senders sending each
message once, stale claims taken over, reminders deduplicated, the background loop.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import notifications
from api.cli import prepared
from api.core.config import Settings
from api.core.db import transaction
from api.models import Applicant, Attempt, OutboxMessage, Submission, utcnow
from api.notifications import (
    MAX_ATTEMPTS,
    OutboxLoop,
    invitation_message,
    queue_message,
    queue_reminders,
    regrade_message,
    reminder_message,
    results_message,
    send_pending,
)
from api.services import Services
from tests.api.conftest import PY_EXEC, make_settings
from tests.api.live import free_port

HOSTILE = "Eve\r\nBcc: victim@example.org\nX-Evil: 1\u2028Reply-To: evil@example.org"


@dataclass
class Inbox:
    """What the loopback SMTP server received; ``reject`` makes it answer 554 to DATA."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    reject: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject:
            return self.reject
        msg = email.message_from_bytes(envelope.content, policy=email.policy.SMTP)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (random port), no TLS, accepting everything."""
    from aiosmtpd.controller import Controller

    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def mail_settings(tmp_path: Path, database_url: str, port: int, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": False,
        "smtp_from": "Assess <assess@assess.example>",
        "smtp_timeout_s": 5,
        "base_url": "https://assess.example",
        "workers": 0,
    }
    values.update(kw)
    return make_settings(tmp_path, database_url, (PY_EXEC,), **values)


@pytest.fixture
def services(tmp_path: Path, database_url: str, smtp_server: Inbox) -> Iterator[Services]:
    s = prepared(mail_settings(tmp_path, database_url, smtp_server.port))
    try:
        yield s
    finally:
        s.engine.dispose()


def _applicant(
    services: Services, email_addr: str = "alice@example.org", name: str = "Alice"
) -> int:
    from api import accounts

    with transaction(services.sessions) as db:
        cohort = accounts.get_or_create_cohort(db, "c1")
        accounts.set_tasks(db, cohort, ["py-exec"])
        inv = accounts.invite(db, cohort, email_addr, name, 5)
        return inv.applicant.id


def _queue(services: Services, n: int = 1, **kw: Any) -> list[int]:
    values: dict[str, Any] = {
        "kind": "results", "to": "alice@example.org", "subject": "Results", "body": "Hello.\n",
    }  # fmt: skip
    values.update(kw)
    with transaction(services.sessions) as db:
        ids = []
        for _ in range(n):
            msg = queue_message(db, **values)
            assert msg is not None
            ids.append(msg.id)
        return ids


def _row(services: Services, msg_id: int) -> OutboxMessage:
    with services.sessions() as db:
        msg = db.get(OutboxMessage, msg_id)
        assert msg is not None
        db.expunge(msg)
        return msg


def test_a_message_arrives_with_its_headers_and_body(
    services: Services, smtp_server: Inbox
) -> None:
    applicant_id = _applicant(services, name=HOSTILE + " Zoë")
    with services.sessions() as db:
        applicant = db.get(Applicant, applicant_id)
        assert applicant is not None
        _, body = results_message(services.settings, applicant, cohort_name="spring\r\nX: y")
    [msg_id] = _queue(services, subject="Re: " + HOSTILE, body=body, applicant_id=applicant_id)

    result = send_pending(services.settings, services.sessions)

    assert result.sent == [msg_id] and not result.retrying and not result.failed
    [got] = smtp_server.messages
    assert smtp_server.envelopes == [("assess@assess.example", ["alice@example.org"])]
    assert got["From"] == "Assess <assess@assess.example>"
    assert got["To"] == "alice@example.org"
    # The hostile subject stays one header: its line breaks became spaces.
    assert got["Subject"] == "Re: Eve Bcc: victim@example.org X-Evil: 1 Reply-To: evil@example.org"
    assert got["Bcc"] is None and got["X-Evil"] is None and got["Reply-To"] is None
    assert got["Message-ID"].startswith(f"<assess.outbox.{msg_id}.")
    assert got["Message-ID"].endswith("@assess.example>")
    assert email.utils.parsedate_to_datetime(got["Date"]) > utcnow() - timedelta(minutes=5)
    text = got.get_content()
    assert "Hello Eve Bcc: victim@example.org X-Evil: 1 Reply-To: evil@example.org Zoë," in text
    assert got["Content-Transfer-Encoding"] == "quoted-printable"
    assert "https://assess.example/portal/results" in text
    row = _row(services, msg_id)
    assert (row.status, row.attempts, row.error) == ("sent", 1, "")
    assert row.sent_at is not None
    # Sent once: a second run finds nothing to do.
    assert send_pending(services.settings, services.sessions).sent == []
    assert len(smtp_server.messages) == 1


def test_texts_link_the_base_url_and_carry_no_score(services: Services) -> None:
    applicant_id = _applicant(services, name="Ada\nLovelace")
    with services.sessions() as db:
        a = db.get(Applicant, applicant_id)
        assert a is not None
        a.timezone = "Europe/Paris"
        deadline = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
        texts = [
            invitation_message(
                services.settings, a, "https://assess.example/invite/T0K", cohort_name="c1",
                expires_at=deadline,
            ),
            reminder_message(services.settings, a, "Py\r\nexec", deadline),
            results_message(services.settings, a),
            regrade_message(services.settings, a, "Py exec"),
        ]  # fmt: skip
    for subject, body in texts:
        assert "\n" not in subject and "\r" not in subject
        assert "Hello Ada Lovelace," in body
        assert "https://assess.example/portal" in body
        assert "score" not in body.lower() and "/10" not in body
    assert "https://assess.example/invite/T0K" in texts[0][1]
    # The deadline in the applicant's zone, with UTC beside it.
    assert "2026-07-01 12:00 Europe/Paris (2026-07-01 10:00 UTC)" in texts[1][0]
    assert "Py exec" in texts[1][0]


def test_a_closed_port_keeps_the_error_retries_then_fails(
    tmp_path: Path, database_url: str
) -> None:
    settings = mail_settings(tmp_path, database_url, free_port())  # nothing listens there
    services = prepared(settings)
    try:
        [msg_id] = _queue(services)
        clock = [utcnow()]

        def now() -> datetime:
            return clock[0]

        result = send_pending(settings, services.sessions, now=now)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            row = _row(services, msg_id)
            assert row.attempts == attempt
            assert "ConnectionRefusedError" in row.error
            if attempt == MAX_ATTEMPTS:
                assert result.failed == [msg_id] and row.status == "failed"
                break
            assert result.retrying == [msg_id] and row.status == "queued"
            # Not tried again before its back-off has passed.
            clock[0] += notifications.retry_delay(attempt) - timedelta(seconds=1)
            assert send_pending(settings, services.sessions, now=now).retrying == []
            assert _row(services, msg_id).attempts == attempt
            clock[0] += timedelta(seconds=2)
            result = send_pending(settings, services.sessions, now=now)
        clock[0] += timedelta(hours=1)
        assert send_pending(settings, services.sessions, now=now).failed == []
        assert _row(services, msg_id).attempts == MAX_ATTEMPTS
    finally:
        services.engine.dispose()


def test_a_5xx_answer_is_kept_and_a_requeued_message_goes_later(
    services: Services, smtp_server: Inbox
) -> None:
    [msg_id] = _queue(services)
    smtp_server.reject = "554 5.7.1 Rejected by policy"
    result = send_pending(services.settings, services.sessions)
    assert result.retrying == [msg_id]
    row = _row(services, msg_id)
    assert row.status == "queued" and row.attempts == 1
    assert "554" in row.error and "Rejected by policy" in row.error
    for _ in range(MAX_ATTEMPTS - 1):  # "send now" skips the back-off
        send_pending(services.settings, services.sessions, ignore_backoff=True)
    row = _row(services, msg_id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert smtp_server.messages == []

    smtp_server.reject = ""
    with transaction(services.sessions) as db:
        assert notifications.requeue_failed(db) == [msg_id]
    assert send_pending(services.settings, services.sessions).sent == [msg_id]
    row = _row(services, msg_id)
    assert (row.status, row.attempts, row.error) == ("sent", 1, "")
    assert len(smtp_server.messages) == 1


def test_concurrent_senders_send_each_message_once(services: Services, smtp_server: Inbox) -> None:
    ids = _queue(services, n=24)
    results: list[notifications.SendResult] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            results.append(send_pending(services.settings, services.sessions))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    sent = sorted(i for r in results for i in r.sent)
    assert sent == ids  # every message by exactly one sender
    got = sorted(m["Message-ID"] for m in smtp_server.messages)
    assert len(got) == len(set(got)) == len(ids)
    with services.sessions() as db:
        assert set(db.scalars(select(OutboxMessage.attempts))) == {1}


def test_a_stale_claim_is_taken_over_and_a_live_one_is_not(
    services: Services, smtp_server: Inbox
) -> None:
    stale, live = _queue(services, n=2)
    with transaction(services.sessions) as db:
        for msg_id, age in ((stale, timedelta(minutes=11)), (live, timedelta(seconds=30))):
            row = db.get(OutboxMessage, msg_id)
            assert row is not None
            row.status, row.sent_at, row.attempts = "sending", utcnow() - age, 1
    result = send_pending(services.settings, services.sessions)
    assert result.sent == [stale]
    assert _row(services, live).status == "sending"
    assert _row(services, stale).attempts == 2


def test_without_smtp_nothing_is_sent(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, (PY_EXEC,), workers=0)
    services = prepared(settings)
    try:
        [msg_id] = _queue(services)
        with pytest.raises(ValueError, match="SMTP is not configured"):
            send_pending(settings, services.sessions)
        notifications.run_once(settings, services.sessions)  # the loop's round: queues only
        assert _row(services, msg_id).status == "queued"
    finally:
        services.engine.dispose()


def _attempt(services: Services, applicant_id: int, deadline: datetime | None) -> None:
    with transaction(services.sessions) as db:
        db.add(Attempt(applicant_id=applicant_id, task_id="py-exec", deadline_at=deadline))


def _reminder_keys(services: Services) -> list[str]:
    with services.sessions() as db:
        return list(
            db.scalars(
                select(OutboxMessage.dedup_key)
                .where(OutboxMessage.kind == "reminder")
                .order_by(OutboxMessage.id)
            )
        )


def test_reminders_go_once_per_window(tmp_path: Path, database_url: str) -> None:
    settings = mail_settings(tmp_path, database_url, 25, reminder_hours=(24, 2))
    services = prepared(settings)
    try:
        alice = _applicant(services)
        bob = _applicant(services, "bob@example.org", "Bob")
        carol = _applicant(services, "carol@example.org", "Carol")
        now = utcnow()
        _attempt(services, alice, now + timedelta(hours=30))
        _attempt(services, bob, now + timedelta(hours=1))  # found late: only the 2 h one
        _attempt(services, carol, now + timedelta(hours=3))
        with transaction(services.sessions) as db:  # carol has a counted submission
            cohort_id = db.get(Applicant, carol).cohort_id  # type: ignore[union-attr]
            db.add(
                Submission(
                    applicant_id=carol, task_id="py-exec", cohort_id=cohort_id, filename="s.zip",
                    blob_sha256="0" * 64, size=1, content_sha256="0" * 64, status="graded",
                    counted=True,
                )
            )  # fmt: skip

        def run(at: datetime) -> int:
            with transaction(services.sessions) as db:
                return queue_reminders(db, settings, at)

        assert run(now) == 1
        assert _reminder_keys(services) == [f"reminder:{bob}:py-exec:2"]
        assert run(now) == 0  # deduplicated
        assert run(now + timedelta(hours=7)) == 1  # alice enters the 24 h window
        assert run(now + timedelta(hours=8)) == 0
        assert run(now + timedelta(hours=29)) == 1  # and the 2 h one
        assert run(now + timedelta(hours=29, minutes=30)) == 0
        assert run(now + timedelta(hours=31)) == 0  # past the deadline: nothing
        assert _reminder_keys(services) == [
            f"reminder:{bob}:py-exec:2",
            f"reminder:{alice}:py-exec:24",
            f"reminder:{alice}:py-exec:2",
        ]
        with services.sessions() as db:
            msg = db.scalar(select(OutboxMessage).where(OutboxMessage.applicant_id == alice))
            assert msg is not None
            assert (
                msg.to_addr == "alice@example.org" and "https://assess.example/portal" in msg.body
            )
    finally:
        services.engine.dispose()


def test_the_loop_queues_reminders_and_sends(services: Services, smtp_server: Inbox) -> None:
    alice = _applicant(services)
    _attempt(services, alice, utcnow() + timedelta(hours=5))
    [msg_id] = _queue(services)
    loop = OutboxLoop(services.settings, services.sessions, interval=0.05).start()
    try:
        import time

        deadline = time.monotonic() + 20
        while len(smtp_server.messages) < 2:
            assert time.monotonic() < deadline, smtp_server.messages
            time.sleep(0.05)
    finally:
        loop.stop()
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert (
        subjects[0]
        == "Reminder: Fixture: compute the answer is due " + (subjects[0].split(" is due ")[1])
    )
    assert subjects[1] == "Results"
    assert len(_reminder_keys(services)) == 1
    assert _row(services, msg_id).status == "sent"


def test_a_silent_server_times_out_and_the_error_is_kept(tmp_path: Path, database_url: str) -> None:
    """A server that accepts the connection and never greets: the timeout ends the try."""
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        settings = mail_settings(tmp_path, database_url, port, smtp_timeout_s=1)
        services = prepared(settings)
        try:
            [msg_id] = _queue(services)
            started = time.monotonic()
            assert send_pending(settings, services.sessions).retrying == [msg_id]
            assert time.monotonic() - started < 10
            row = _row(services, msg_id)
            assert row.status == "queued" and "timed out" in row.error
        finally:
            services.engine.dispose()


# The test server asks for a login without TLS (STARTTLS is off on loopback in tests).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_when_a_user_is_set(tmp_path: Path, database_url: str) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    inbox = Inbox(port=free_port())
    controller = Controller(
        inbox, hostname="127.0.0.1", port=inbox.port, authenticator=authenticator,
        auth_require_tls=False, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        good = mail_settings(tmp_path, database_url, inbox.port, smtp_user="mailer",
                             smtp_password="s3cret")  # fmt: skip
        services = prepared(good)
        try:
            [msg_id] = _queue(services)
            # No user set: no login, and this server refuses mail from strangers.
            anonymous = good.model_copy(update={"smtp_user": "", "smtp_password": ""})
            assert send_pending(anonymous, services.sessions).retrying == [msg_id]
            assert "530" in _row(services, msg_id).error
            assert send_pending(good, services.sessions, ignore_backoff=True).sent == [msg_id]
        finally:
            services.engine.dispose()
    finally:
        controller.stop()
    assert logins == [(b"mailer", b"s3cret")]
    assert len(inbox.messages) == 1
