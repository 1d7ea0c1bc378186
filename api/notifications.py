"""The outbox: messages to applicants (invitation, deadline reminder, results released).

A message is a row first, written in the transaction of what caused it, so nothing is sent
for a change that rolled back and nothing is lost when mail is down. Sending (SMTP when the
service is configured for it) reads queued rows and marks each sent or failed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import OutboxMessage
from grader.text import clean_text

KINDS = ("invitation", "reminder", "results", "regrade")


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
        to_addr=clean_text(to).replace("\n", " ").strip(),
        subject=clean_text(subject).replace("\n", " ").strip()[:300],
        body=clean_text(body),
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
