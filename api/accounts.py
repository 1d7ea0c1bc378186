"""Cohorts, invitations, reviewer accounts and sign-in sessions."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.core.security import hash_password, new_token, token_hash, verify_password
from api.models import ROLES, Applicant, Cohort, CohortTask, TaskRow, User, WebSession, utcnow
from api.scoring import DEFAULT_WEIGHTS


class AccountError(ValueError):
    """Bad operator input (unknown cohort or task, malformed CSV row); one line."""


def get_or_create_cohort(session: Session, name: str, *, blind: bool = True) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.name == name))
    if cohort is None:
        cohort = Cohort(name=name, blind=blind, weights=dict(DEFAULT_WEIGHTS))
        session.add(cohort)
        session.flush()
    return cohort


def set_tasks(session: Session, cohort: Cohort, task_ids: list[str]) -> None:
    """Assign exactly `task_ids` to `cohort`.

    Raises:
        AccountError: a task id the service does not know.
    """
    for tid in task_ids:
        if session.get(TaskRow, tid) is None:
            raise AccountError(f"unknown task {tid!r}")
    session.execute(delete(CohortTask).where(CohortTask.cohort_id == cohort.id))
    for tid in dict.fromkeys(task_ids):
        session.add(CohortTask(cohort_id=cohort.id, task_id=tid))
    session.flush()
    session.expire(cohort, ["tasks"])


def cohort_task_ids(session: Session, cohort_id: int) -> list[str]:
    return list(
        session.scalars(
            select(CohortTask.task_id)
            .where(CohortTask.cohort_id == cohort_id)
            .order_by(CohortTask.task_id)
        )
    )


@dataclass(frozen=True)
class Invitation:
    applicant: Applicant
    token: str

    def link(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/invite/{self.token}"


# One rule for an address, in the JSON API (schemas.InviteIn), the forms and CSV rows.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
_EMAIL = re.compile(EMAIL_PATTERN)
MAX_NAME = 200
MAX_CSV_ROWS = 5000


def email_problem(email: str) -> str:
    """Why `email` (already stripped) is not an address we invite, or "" when it is."""
    if not email:
        return "missing e-mail"
    if len(email) > 320:
        return "e-mail longer than 320 characters"
    if not _EMAIL.match(email):
        return "not an e-mail address"
    return ""


def invite(session: Session, cohort: Cohort, email: str, name: str, days: int) -> Invitation:
    """Create the applicant, or issue a fresh token to an existing one (the old one stops)."""
    email = email.strip().lower()
    if email_problem(email):
        raise AccountError(f"not an email address: {email!r}")
    if len(name.strip()) > MAX_NAME:
        raise AccountError(f"name longer than {MAX_NAME} characters")
    token = new_token()
    expires = utcnow() + timedelta(days=days)
    applicant = session.scalar(
        select(Applicant).where(Applicant.cohort_id == cohort.id, Applicant.email == email)
    )
    if applicant is None:
        applicant = Applicant(
            cohort_id=cohort.id,
            email=email,
            name=name.strip(),
            token_hash=token_hash(token),
            token_expires_at=expires,
        )
        session.add(applicant)
    else:
        applicant.token_hash = token_hash(token)
        applicant.token_expires_at = expires
        applicant.generation += 1  # the old link's sessions end with it
        if name.strip():
            applicant.name = name.strip()
    session.flush()
    return Invitation(applicant=applicant, token=token)


def revoke(session: Session, applicant: Applicant) -> None:
    """End an applicant's invitation: the link stops working and so do its sessions."""
    applicant.token_hash = token_hash(new_token())  # nobody holds this token
    applicant.token_expires_at = utcnow()
    applicant.generation += 1
    session.execute(delete(WebSession).where(WebSession.applicant_id == applicant.id))
    session.flush()


def import_csv(session: Session, cohort: Cohort, text: str, days: int) -> list[Invitation]:
    """Invite every row of a CSV with an ``email`` column (and optionally ``name``).

    Raises:
        AccountError: no ``email`` column, or a row whose email is malformed (nothing is
            imported then: the caller's transaction rolls back).
    """
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "email" not in fields:
        raise AccountError("the CSV needs a header row with an 'email' column")
    out = []
    for n, row in enumerate(reader, start=2):
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not clean.get("email"):
            continue
        try:
            out.append(invite(session, cohort, clean["email"], clean.get("name", ""), days))
        except AccountError as e:
            raise AccountError(f"line {n}: {e}") from None
    return out


@dataclass(frozen=True)
class CsvRow:
    """One data row of an invitation CSV and why it cannot be imported ("" when it can)."""

    line: int
    email: str
    name: str
    reason: str

    @property
    def ok(self) -> bool:
        return not self.reason


def check_csv(session: Session, cohort: Cohort, text: str) -> list[CsvRow]:
    """Every data row of an invitation CSV with its verdict; nothing is stored.

    A row is refused for a missing or malformed e-mail, a name over 200 characters, an
    address earlier in the same file, or an applicant already invited to `cohort` (resend
    their link from the invitations page instead).

    Raises:
        AccountError: the file as a whole is unusable (no ``email`` column, too many rows).
    """
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if "email" not in header:
        raise AccountError("the CSV needs a header row with an 'email' column")
    at_email = header.index("email")
    at_name = header.index("name") if "name" in header else None
    existing = set(session.scalars(select(Applicant.email).where(Applicant.cohort_id == cohort.id)))
    first_line: dict[str, int] = {}
    out: list[CsvRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # a blank line is no row
        if len(out) >= MAX_CSV_ROWS:
            raise AccountError(f"more than {MAX_CSV_ROWS} rows: split the file")
        email = cells[at_email].strip().lower() if at_email < len(cells) else ""
        name = cells[at_name].strip() if at_name is not None and at_name < len(cells) else ""
        reason = email_problem(email)
        if not reason and len(name) > MAX_NAME:
            reason = f"name longer than {MAX_NAME} characters"
        if not reason and email in first_line:
            reason = f"duplicate of line {first_line[email]}"
        if not reason and email in existing:
            reason = "already invited to this cohort"
        first_line.setdefault(email, line)
        out.append(CsvRow(line=line, email=email, name=name, reason=reason))
    return out


def import_valid(
    session: Session, cohort: Cohort, text: str, days: int
) -> tuple[list[CsvRow], list[Invitation]]:
    """Check the CSV again (whatever a preview said) and invite its valid rows only."""
    rows = check_csv(session, cohort, text)
    invs = [invite(session, cohort, r.email, r.name, days) for r in rows if r.ok]
    return rows, invs


def applicant_by_token(session: Session, token: str) -> Applicant | None:
    applicant = session.scalar(select(Applicant).where(Applicant.token_hash == token_hash(token)))
    if applicant is None or applicant.token_expires_at < utcnow():
        return None
    return applicant


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = "reviewer",
    *,
    hasher: PasswordHasher | None = None,
) -> User:
    """Create a reviewer or operator, or reset an existing one's password and role."""
    user = session.scalar(select(User).where(User.username == username))
    hashed = hash_password(password, hasher)
    if user is None:
        user = User(username=username, password_hash=hashed, role=role)
        session.add(user)
    else:
        user.password_hash = hashed
        user.role = role
        user.active = True
    session.flush()
    return user


def end_user_sessions(session: Session, user: User) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable (every session of theirs ends) or enable an account."""
    user.active = active
    if not active:
        end_user_sessions(session, user)
    session.flush()


def reset_password(
    session: Session,
    user: User,
    password: str | None = None,
    *,
    hasher: PasswordHasher | None = None,
) -> str:
    """Set a new password (a generated one when None) and end the account's sessions;
    returns the password, to be shown once."""
    password = password or generated_password()
    user.password_hash = hash_password(password, hasher)
    end_user_sessions(session, user)
    session.flush()
    return password


def set_role(session: Session, user: User, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    user.role = role
    session.flush()


def generated_password() -> str:
    """A password to hand over once: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None else None


def start_session(
    session: Session, *, hours: int, user: User | None = None, applicant: Applicant | None = None
) -> tuple[str, WebSession]:
    """A new sign-in; returns the cookie value (only its hash is stored) and the row."""
    raw = new_token()
    ws = WebSession(
        id_hash=token_hash(raw),
        user_id=user.id if user else None,
        applicant_id=applicant.id if applicant else None,
        generation=applicant.generation if applicant else 0,
        csrf_token=new_token(),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(ws)
    session.flush()
    return raw, ws


def end_session(session: Session, ws: WebSession) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == ws.id_hash))


def purge_expired(session: Session, now: datetime | None = None) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < (now or utcnow())))
