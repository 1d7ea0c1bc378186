"""Hostile data in every field a service page shows, for the escaping tests.

Each field gets its own marker, ``"'><x-evil/data-f=FIELD><script>alert('FIELD')</script>``
(no whitespace, so it fits an email address): a quote of each kind to break out of an
attribute, then an element that only exists if the page emitted the text as markup, and a
script that would open a dialog if it ran. Escaped, it reads ``&lt;x-evil/data-f=FIELD&gt;``;
a browser shows the text and builds no ``x-evil`` element.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from api.services import Services
from grader.report import Check, Report
from grader.task import Task
from tests.api.conftest import CHEAP, RIGHT, RUBRIC_TOML, fake_grade, zip_bytes

PASSWORD = "correct horse battery"


def evil(field: str) -> str:
    return f"\"'><x-evil/data-f={field}><script>alert('{field}')</script>"


def escaped(field: str) -> str:
    return f"&lt;x-evil/data-f={field}&gt;"


RAW = "<x-evil"
# Every field that holds hostile data in the seeded service.
FIELDS = (
    "task-title", "instructions", "criterion", "descriptor", "cohort", "applicant-name",
    "email", "username", "comment", "note", "check-name", "feedback", "next", "upload",
    "file-name", "file-text", "file-markdown", "inline-comment", "conflict",
    "stream", "stream-description", "stream-note", "extension", "decision", "applicant-feedback",
    "regrade-reason", "regrade-response", "mail-subject", "mail-body", "judge-rationale",
    "judge-quote",
)  # fmt: skip
# Also sent, and never shown at all: ?error= and ?message= (pages no longer echo a sentence
# from the address) and a hostile sort key (the 422 page names the parameter, not its value).
# The seeded submission's files beyond main.py: a hostile name, hostile text and Markdown.
HOSTILE_NAME = "notes/" + evil("file-name") + ".txt"
HOSTILE_FILES = {
    HOSTILE_NAME: "plain\n",
    "notes.txt": evil("file-text") + "\n",
    "writeup.md": "# Write-up\n\n" + evil("file-markdown") + "\n",
}


def hostile_task(root: Path, rubric_task: Path) -> Path:
    """py-rubric with a hostile title, instructions and rubric text (id unchanged)."""
    task = root / "py-rubric"
    shutil.copytree(rubric_task, task)
    toml = (task / "task.toml").read_text()
    title = evil("task-title").replace('"', '\\"')
    toml = toml.replace('title = "Fixture: compute the answer"', f'title = "{title}"')
    assert "x-evil" in toml
    (task / "task.toml").write_text(toml)
    (task / "instructions.md").write_text(f"# Do it\n\n{evil('instructions')}\n")
    crit = evil("criterion").replace('"', '\\"')
    desc = evil("descriptor").replace('"', '\\"')
    rubric = RUBRIC_TOML.replace('"Clarity of the write-up"', f'"{crit}"').replace(
        '"Clear."', f'"{desc}"'
    )
    (task / "rubric.toml").write_text(rubric)
    return task


def hostile_grade(task: Task, submission: Path, artifacts: Path) -> Report:
    """fake_grade, with check names and feedback an attacker chose."""
    report = fake_grade(task, submission, artifacts)
    checks = [
        Check(**{**c.model_dump(), "name": evil("check-name"), "feedback": evil("feedback")})
        for c in report.checks
    ]
    return report.model_copy(update={"checks": checks})


@dataclass(frozen=True)
class Seeded:
    cohort_id: int
    submission_id: int
    token: str
    username: str
    operator: str = "ops"
    task_id: str = "py-rubric"
    applicant_id: int = 0
    stream_id: int = 0
    message_id: int = 0

    def pages(self) -> dict[str, list[str]]:
        """GET paths holding hostile data, by who opens them."""
        sid, tid = self.submission_id, self.task_id
        return {
            "operator": [
                "/admin",
                "/review",
                f"/review?task={quote(evil('x'))}",
                f"/review/submissions/{sid}",
                f"/review/submissions/{sid}?error={quote(evil('error'))}",
                f"/review/cohorts/{self.cohort_id}",
                f"/review/tasks/{tid}?message={quote(evil('message'))}",
                "/admin/assignments",
                "/review/progress",
                f"/review?sort={quote(evil('sort'))}",  # a 422 page naming the parameter
                f"/review/submissions/{sid + 10_000}",  # a 404 page
                # The console and stage-2 operations.
                "/admin/cohorts",
                f"/admin/cohorts/{self.cohort_id}",
                f"/admin/cohorts/{self.cohort_id}/invitations",
                "/admin/users",
                "/admin/tasks",
                "/admin/audit",
                f"/admin/cohorts/{self.cohort_id}/streams",
                "/review/streams",
                f"/review/streams/{self.stream_id}",
                f"/admin/cohorts/{self.cohort_id}/extensions",
                f"/admin/cohorts/{self.cohort_id}/decisions",
                f"/admin/applicants/{self.applicant_id}/decision",
                f"/admin/cohorts/{self.cohort_id}/release",
                "/admin/regrade-requests",
                "/admin/outbox",
                f"/admin/outbox/{self.message_id}",
            ],
            "reviewer": [
                "/review",
                f"/review/submissions/{sid}",
                *(f"/review/submissions/{sid}/files/{quote(p)}" for p in HOSTILE_FILES),
                "/review/queue",
                "/review/progress",
                f"/review/streams/{self.stream_id}",  # they mentor the hostile stream
            ],
            "applicant": [
                "/portal",
                f"/portal/tasks/{tid}/instructions",
                "/portal/streams",
                "/portal/results",
            ],
            "anonymous": [
                f"/login?next={quote('/' + evil('next'))}",
                "/invite/not-a-token",
                "/portal-expired",
                "/docs",
            ],
        }


def upload_with_hostile_name() -> bytes:
    """A zip whose member name the intake rejects, naming it in the error."""
    return zip_bytes({"main.py": "x", evil("upload") + "\\x": "x"})


def seed(services: Services, timeout: float = 60) -> Seeded:
    """A non-blind cohort, an operator, a reviewer with a hostile name, an applicant with a
    hostile name and email, a graded submission assigned to the reviewer, a review with
    hostile comment and note, a hostile inline comment and a hostile conflict reason."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Assignment, ReviewComment, ReviewConflict, Submission, TaskRow, User
    from api.reviewing import ReviewInput, save_review
    from api.uploads import receive

    username = "rev" + evil("username")
    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, evil("cohort"), blind=False)
        accounts.set_tasks(s, cohort, ["py-rubric"])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        accounts.create_user(s, username, PASSWORD, "reviewer", hasher=CHEAP)
        inv = accounts.invite(s, cohort, evil("email") + "@example.org", evil("applicant-name"), 1)
        cohort_id, token = cohort.id, inv.token
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, "py-rubric")
        assert task is not None
        s.expunge_all()
    got = receive(services, inv.applicant, task, "s.zip", [zip_bytes(RIGHT | HOSTILE_FILES)])
    sid = got.submission.id
    deadline = time.monotonic() + timeout
    while True:
        with services.sessions() as s:
            status = s.scalar(select(Submission.status).where(Submission.id == sid))
        if status == "graded":
            break
        assert time.monotonic() < deadline, f"submission {sid} still {status}"
        time.sleep(0.05)
    with transaction(services.sessions) as s:
        sub = s.get(Submission, sid)
        reviewer = s.scalar(select(User).where(User.username == username))
        assert sub is not None and reviewer is not None
        data = ReviewInput(
            scores={"clarity": 5},
            tier="Meets",
            integrity_flag=True,
            integrity_note=evil("note"),
            comment=evil("comment"),
        )
        save_review(s, sub, reviewer, data)
        s.add(Assignment(submission_id=sid, reviewer_id=reviewer.id, assigned_by=evil("by")))
        s.add(
            ReviewComment(
                submission_id=sid,
                reviewer_id=reviewer.id,
                path=sorted(HOSTILE_FILES)[0],
                line=1,
                body=evil("inline-comment"),
            )
        )
        ops = s.scalar(select(User).where(User.username == "ops"))
        assert ops is not None
        s.add(
            ReviewConflict(
                reviewer_id=ops.id,
                applicant_id=sub.applicant_id,
                reason=evil("conflict"),
                declared_by=evil("declared-by"),
            )
        )
    stream_id, message_id, applicant_id = _seed_stage_two(services, cohort_id, sid, username)
    return Seeded(
        cohort_id=cohort_id,
        submission_id=sid,
        token=token,
        username=username,
        applicant_id=applicant_id,
        stream_id=stream_id,
        message_id=message_id,
    )


def _seed_stage_two(
    services: Services, cohort_id: int, sid: int, username: str
) -> tuple[int, int, int]:
    """Stage-2 rows with hostile text: a stream (name, description, a mentor's note) the
    applicant chose and was shortlisted by, an extension, a decision with feedback, released
    results, a declined regrade request, an outbox message and a judge's pre-score shown to
    reviewers (assist mode). Returns (stream id, message id, applicant id)."""
    from datetime import timedelta

    from sqlalchemy import select

    from api.core.db import transaction
    from api.models import (
        Applicant,
        Cohort,
        Extension,
        Judgment,
        RegradeRequest,
        Stream,
        StreamChoice,
        StreamMentor,
        StreamNote,
        Submission,
        User,
        utcnow,
    )
    from api.notifications import queue_message

    now = utcnow()
    with transaction(services.sessions) as s:
        sub = s.get(Submission, sid)
        cohort = s.get(Cohort, cohort_id)
        reviewer = s.scalar(select(User).where(User.username == username))
        assert sub is not None and cohort is not None and reviewer is not None
        applicant = s.get(Applicant, sub.applicant_id)
        assert applicant is not None
        cohort.closes_at = now + timedelta(days=7)
        cohort.results_released_at = now
        cohort.results_released_by = "ops"
        cohort.judge_mode = "assist"
        stream = Stream(
            cohort_id=cohort_id, name=evil("stream"), description=evil("stream-description")
        )
        s.add(stream)
        s.flush()
        s.add(StreamMentor(stream_id=stream.id, user_id=reviewer.id))
        s.add(StreamChoice(applicant_id=applicant.id, stream_id=stream.id, shortlisted=True,
                           shortlisted_by=username, shortlisted_at=now))  # fmt: skip
        s.add(StreamNote(stream_id=stream.id, applicant_id=applicant.id, author_id=reviewer.id,
                         body=evil("stream-note")))  # fmt: skip
        s.add(Extension(applicant_id=applicant.id, task_id=sub.task_id, minutes=30,
                        reason=evil("extension"), granted_by="ops"))  # fmt: skip
        applicant.decision = "rejected"
        applicant.decision_reason = evil("decision")
        applicant.decision_by = "ops"
        applicant.decision_at = now
        applicant.feedback = evil("applicant-feedback")
        s.add(RegradeRequest(applicant_id=applicant.id, task_id=sub.task_id, submission_id=sid,
                             reason=evil("regrade-reason"), status="declined",
                             response=evil("regrade-response"), resolved_by="ops",
                             resolved_at=now, grading_before_id=sub.grading_id))  # fmt: skip
        msg = queue_message(s, kind="results", to=applicant.email, subject=evil("mail-subject"),
                            body=evil("mail-body"), applicant_id=applicant.id,
                            cohort_id=cohort_id)  # fmt: skip
        assert msg is not None
        s.add(Judgment(submission_id=sid, task_id=sub.task_id, criterion="clarity",
                       config_key="0" * 64, status="ok", level=0, score=0.0,
                       detail={"quotes": [{"text": evil("judge-quote"), "found": False}],
                               "rationale": evil("judge-rationale"), "flags": [],
                               "model": "scripted", "provider": "local"}))  # fmt: skip
        s.flush()
        return stream.id, msg.id, applicant.id
