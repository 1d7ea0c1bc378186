"""The rubric judge in the service: pre-scores after grading, who sees them, agreement, stand-ins.

* **Running.** After a successful grading of a submission in a cohort whose ``judge_mode`` is
  not ``off``, a job on the ``judge`` queue (a row in ``jobs``) is added; judge threads
  (:class:`api.queue.JudgeWorkers`, ``Settings.judge_workers``) run it with
  :func:`run_judge_job`: the stored upload goes through intake as grading does, every
  criterion is judged by :func:`grader.judge.runner.judge` (through its on-disk cache under
  ``data_dir/judge-cache``), and each criterion's answer is stored as a :class:`Judgment`
  row, apart from the reviews. Grading never waits on the judge.
* **Who sees a judgment** (:func:`judge_view`, the one rule for HTML and JSON): nobody when
  the cohort's mode is ``off``; never an applicant or a mentor; operators always otherwise
  (they decide stand-ins and must be able to audit the judge); a reviewer in ``assist`` mode
  always, as a labelled suggestion; a reviewer in ``blind`` mode only once they have saved
  their own review of that submission (so their scores are independent of the judge).
* **Agreement** (:func:`task_agreement`): per criterion, the judge's valid score against the
  human consensus (mean of the reviewers' scores as first saved, from the audit log, so an
  edit made after seeing the judge never counts) over submissions of cohorts in ``blind``
  mode only; operators' reviews are left out (operators see the judge before reviewing).
  Quadratic-weighted kappa and mean offset (judge minus humans) with 95%
  percentile-bootstrap intervals, from :mod:`grader.judge.agreement`.
* **Stand-ins** (:func:`set_stand_in`): an operator may let the judge stand in for humans on
  one criterion only when at least N blind-reviewed submissions are paired and the LOWER
  bound of the kappa's 95% interval is strictly above the operator's threshold. Granted and
  withdrawn decisions are audited (action ``judge-stand-in``). The rule for scores: on such a
  criterion a review that leaves it unscored takes the judge's latest valid score, and a
  reviewer's own score always wins (:func:`api.scoring.review_total` with
  :func:`standing_scores`); it applies where ``api.reviewing.recompute`` totals reviews with
  them, and summaries are recomputed whenever a stand-in changes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import catalog
from api.jobs import Claimed, Outcome, claim, graded_name
from api.models import (
    AuditEntry,
    Cohort,
    Job,
    JudgeStandIn,
    Judgment,
    Review,
    Submission,
    TaskRow,
    User,
    utcnow,
)
from api.reviewing import Independence, audit
from api.services import Services
from api.stand_ins import stand_ins
from grader.errors import AssessError
from grader.judge import agreement as stats
from grader.judge.model import JudgeConfig, JudgeRun
from grader.task import Task

log = logging.getLogger("assess.judging")

QUEUE = "judge"  # the Job.queue of judging jobs
MODES = ("off", "blind", "assist")
MAX_ATTEMPTS = 3
STAND_IN_ACTION = "judge-stand-in"

# (task, the submission's folder after intake) -> the run for that one submission.
JudgeFn = Callable[[Task, Path], JudgeRun]

# Tests (and embedders) may give a service another judge function; Services has no field
# for it, so it is kept beside the services object for as long as that object lives.
_judge_fns: dict[int, JudgeFn] = {}


def use_judge(services: Services, fn: JudgeFn) -> None:
    """Judge `services`' submissions with `fn` instead of the configured provider."""
    key = id(services)
    _judge_fns[key] = fn
    weakref.finalize(services, _judge_fns.pop, key, None)


def default_judge_fn(services: Services) -> JudgeFn:
    """The provider the settings name (local SmolLM2 or an OpenAI-compatible server),
    through the judgment cache in ``data_dir/judge-cache``."""
    from grader.judge.cache import JudgeCache
    from grader.judge.providers.base import Provider
    from grader.judge.runner import judge

    s = services.settings
    cache = JudgeCache(s.data_dir / "judge-cache")
    factory: Callable[[], Provider]
    if s.judge_provider == "http":
        from grader.judge.providers.http import HttpProvider

        http = HttpProvider(base_url=s.judge_base_url or None, model=s.judge_model or None)
        config = JudgeConfig(
            provider="http", model=http.model, base_url=http.base_url, timeout_s=s.judge_timeout_s
        )

        def factory() -> Provider:
            return http
    else:
        from grader.judge.providers.local import MODEL_NAME, LocalProvider

        config = JudgeConfig(provider="local", model=MODEL_NAME, timeout_s=s.judge_timeout_s)

        def factory() -> Provider:
            return LocalProvider()

    def run(task: Task, folder: Path) -> JudgeRun:
        return judge(task, [("submission", folder)], factory, config, cache=cache)

    return run


def judge_fn(services: Services) -> JudgeFn:
    return _judge_fns.get(id(services)) or default_judge_fn(services)


# ------------------------------------------------------------------------- visibility


@dataclass(frozen=True)
class JudgeView:
    """Whether a viewer sees the judge on one submission, and in which voice."""

    shown: bool
    mode: str  # the cohort's judge mode
    why: str  # one line for the page when not shown ("" when shown)
    suggestion: bool = False  # assist: a reviewer may copy a level into their own form


def judge_view(
    user: User | None, cohort: Cohort, submission_id: int, view: Independence | None = None
) -> JudgeView:
    """The one rule for who sees a judgment of which submission (see the module docstring).

    `view` is the viewer's :class:`Independence` (which submissions they have reviewed);
    without it a reviewer in blind mode is treated as not having reviewed.
    """
    mode = cohort.judge_mode if cohort.judge_mode in MODES else "off"
    if mode == "off":
        return JudgeView(False, mode, "The rubric judge is off for this cohort.")
    if user is None or user.role not in ("reviewer", "operator"):
        return JudgeView(False, mode, "Model suggestions are for reviewers only.")
    if user.role == "operator":
        return JudgeView(True, mode, "", suggestion=mode == "assist")
    if mode == "assist":
        return JudgeView(True, mode, "", suggestion=True)
    if view is not None and submission_id in view.reviewed:
        return JudgeView(True, mode, "")
    return JudgeView(
        False,
        mode,
        "Blind mode: the model's pre-scores show once you have saved your own review.",
    )


# ------------------------------------------------------------------------- stored judgments


@dataclass(frozen=True)
class ShownJudgment:
    """One criterion's latest judgment, as the review page and the JSON show it."""

    criterion: str
    criterion_name: str
    status: str  # ok | discarded | failed
    level: int | None
    score: float | None
    max_score: float
    quotes: list[dict[str, Any]]
    rationale: str
    flags: list[str]
    reason: str
    model: str
    created_at: Any
    stand_in: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "criterion_name": self.criterion_name,
            "status": self.status,
            "level": self.level,
            "score": self.score,
            "max_score": self.max_score,
            "quotes": self.quotes,
            "rationale": self.rationale,
            "flags": self.flags,
            "reason": self.reason,
            "model": self.model,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "stand_in": self.stand_in,
            "label": "Model suggestion — not a review",
        }


FLAG_TEXT = {
    "injection-mirror": "mirrors injected instructions: it repeats text aimed at the grader",
    "max-level-quoting-injection": "top level while quoting a passage aimed at the grader",
}


def latest_judgments(db: Session, sub: Submission, task: TaskRow) -> list[ShownJudgment]:
    """Each rubric criterion's most recent judgment of `sub` (criteria never judged left out)."""
    rows = db.scalars(
        select(Judgment)
        .where(Judgment.submission_id == sub.id)
        .order_by(Judgment.created_at, Judgment.id)
    ).all()
    latest: dict[str, Judgment] = {}
    for row in rows:
        latest[row.criterion] = row  # later rows win
    standing = stand_ins(db, task.id)
    out = []
    for c in task.rubric.get("criteria", []):
        found = latest.get(c["id"])
        if found is None:
            continue
        d = found.detail or {}
        out.append(
            ShownJudgment(
                criterion=c["id"],
                criterion_name=c["name"],
                status=found.status,
                level=found.level,
                score=found.score,
                max_score=float(c["max_score"]),
                quotes=[
                    {"text": str(q.get("text", "")), "found": bool(q.get("found"))}
                    for q in d.get("quotes", [])
                    if isinstance(q, dict)
                ],
                rationale=str(d.get("rationale", "")),
                flags=[str(f) for f in d.get("flags", [])],
                reason=str(d.get("reason", "")),
                model=str(d.get("model", "")),
                created_at=found.created_at,
                stand_in=c["id"] in standing,
            )
        )
    return out


def store_run(db: Session, sub: Submission, task: Task, run: JudgeRun) -> int:
    """Write the run's judgments of `sub` (one row per criterion and configuration; a
    re-run with the same configuration replaces its row). Returns the rows written."""
    if not run.submissions:
        return 0
    result = run.submissions[0]
    assert task.rubric is not None
    criteria = {c.id: c for c in task.rubric.criteria}
    written = 0
    for j in result.judgments:
        criterion = criteria.get(j.criterion)
        if criterion is None:
            continue
        scores = [lv.score for lv in criterion.levels]
        level = scores.index(j.level) if j.status == "ok" and j.level in scores else None
        status = {"ok": "ok", "discarded": "discarded"}.get(j.status, "failed")
        detail = {
            "quotes": [q.model_dump() for q in j.quotes],
            "rationale": j.rationale,
            "flags": list(j.flags),
            "reason": j.reason,
            "reason_code": j.reason_code,
            "files": list(j.files),
            "truncated": j.truncated,
            "raw": j.raw,
            "tokens": j.usage.tokens,
            "cost": j.usage.cost,
            "latency_s": j.usage.latency_s,
            "cached": j.cached,
            "provider": run.config.provider,
            "model": run.config.model,
            "prompt_version": run.config.prompt_version,
            "injection_passages": list(result.injection_passages),
        }
        row = db.scalar(
            select(Judgment).where(
                Judgment.submission_id == sub.id,
                Judgment.criterion == j.criterion,
                Judgment.config_key == run.config_digest,
            )
        )
        if row is None:
            row = Judgment(
                submission_id=sub.id,
                task_id=sub.task_id,
                criterion=j.criterion,
                config_key=run.config_digest,
            )
            db.add(row)
        row.status = status
        row.level = level
        row.score = j.level if status == "ok" else None
        row.detail = detail
        row.created_at = utcnow()
        written += 1
    return written


# ------------------------------------------------------------------------- the queue


def wants_judging(db: Session, sub: Submission, status: str) -> bool:
    """After a grading that ended in `status`: judge when the cohort asks, the task has a
    rubric and the grading is not an infrastructure error."""
    if status == "error":
        return False
    cohort = db.get(Cohort, sub.cohort_id)
    task = db.get(TaskRow, sub.task_id)
    return (
        cohort is not None
        and cohort.judge_mode in ("blind", "assist")
        and task is not None
        and bool(task.rubric.get("criteria"))
    )


def new_judge_job(db: Session, sub: Submission) -> Job | None:
    """A judging job for `sub`, unless one is already waiting or running."""
    pending = db.scalar(
        select(Job.id).where(
            Job.submission_id == sub.id,
            Job.queue == QUEUE,
            Job.state.in_(("queued", "running")),
        )
    )
    if pending is not None:
        return None
    job = Job(submission_id=sub.id, queue=QUEUE)
    db.add(job)
    db.flush()
    return job


def run_judge_job(services: Services, job_id: int) -> str:
    """Claim and run one judging job: ``done``, ``retry``, ``failed``, ``busy`` or ``gone``.

    A provider failure (timeout, server away) on any criterion queues the job again, up to
    :data:`MAX_ATTEMPTS`; what was judged is kept (and cached, so a retry asks the model only
    for the rest). Never raises for a judging outcome.
    """
    claimed = claim(services, job_id)
    if isinstance(claimed, Outcome):
        return claimed.value
    return judge_claimed(services, job_id, claimed)


def judge_claimed(services: Services, job_id: int, claimed: Claimed) -> str:
    """Run a judging job this worker has claimed (see :func:`run_judge_job`)."""
    attempts, sub_id, root = claimed.attempts, claimed.submission_id, claimed.root
    blob, filename = claimed.blob, claimed.filename
    try:
        from grader.intake import intake

        task = catalog.load(root)
        path = services.blobs.open_verified(blob, Path(filename).suffix.lower())
        with tempfile.TemporaryDirectory(prefix="assess-judge-") as tmp:
            named = Path(tmp) / graded_name(task, filename)
            shutil.copyfile(path, named)
            got = intake(
                named, task.spec.submission, Path(tmp) / "submission", notebook=task.spec.notebook
            )
            run = judge_fn(services)(task, got.root)
    except Exception as e:  # the provider's setup, the storage, intake: retry, then give up
        why = f"{type(e).__name__}: {e}" if not isinstance(e, AssessError) else str(e)
        log.warning("judge job %s attempt %s failed: %s", job_id, attempts, why)
        state = "failed" if attempts >= MAX_ATTEMPTS else "queued"
        _finish(services, job_id, state, why)
        return "failed" if state == "failed" else "retry"
    errors = [j for s in run.submissions for j in s.judgments if j.status == "error"]
    with services.sessions() as db, db.begin():
        sub = db.get(Submission, sub_id)
        assert sub is not None
        store_run(db, sub, task, run)
    if errors and attempts < MAX_ATTEMPTS:
        _finish(services, job_id, "queued", errors[0].reason)
        return "retry"
    _finish(services, job_id, "done", errors[0].reason if errors else "")
    log.info("judge job %s: %d criteria judged", job_id, len(run.submissions[0].judgments))
    return "done"


def _finish(services: Services, job_id: int, state: str, error: str) -> None:
    with services.sessions() as db, db.begin():
        job = db.get(Job, job_id)
        assert job is not None
        job.state = state
        job.error = error[:2000]
        job.finished_at = utcnow() if state in ("done", "failed") else None
        if state == "queued":
            job.started_at = None


# ------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class CriterionAgreement:
    """The judge against blind human consensus on one criterion of a task."""

    criterion: str
    name: str
    max_score: float
    n: int  # blind-reviewed submissions with a valid judge score (the pairs)
    reviews: int  # the blind reviews behind those pairs
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    offset: float | None
    offset_ci: tuple[float, float] | None
    stand_in: JudgeStandIn | None

    def as_dict(self) -> dict[str, Any]:
        s = self.stand_in
        return {
            "criterion": self.criterion,
            "name": self.name,
            "max_score": self.max_score,
            "n": self.n,
            "blind_reviews": self.reviews,
            "kappa": _r(self.kappa),
            "kappa_ci": [_r(v) for v in self.kappa_ci] if self.kappa_ci else None,
            "mean_offset": _r(self.offset),
            "mean_offset_ci": [_r(v) for v in self.offset_ci] if self.offset_ci else None,
            "stand_in": None
            if s is None
            else {
                "enabled": s.enabled,
                "min_reviews": s.min_reviews,
                "threshold": s.threshold,
                "measured": s.measured,
                "decided_by": s.decided_by,
                "decided_at": s.decided_at.isoformat(),
            },
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


CI_RULE = (
    "95% percentile-bootstrap intervals over submissions (2,000 resamples, fixed seed). "
    "Human consensus: the mean of the blind reviewers' scores as first saved "
    "(operators' reviews are left out: they see the judge before reviewing)."
)


def _first_saved_scores(db: Session, sub_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """(submission, reviewer username) -> the scores of that review's first save.

    The review page shows the judge in blind mode only after a save, so the first save is
    the reviewer's own judgement; later edits may have seen the judge and are not used."""
    first: dict[tuple[int, str], dict[str, Any]] = {}
    if not sub_ids:
        return first
    entries = db.execute(
        select(AuditEntry.submission_id, AuditEntry.actor, AuditEntry.after)
        .where(AuditEntry.action == "review", AuditEntry.submission_id.in_(sub_ids))
        .order_by(AuditEntry.id)
    ).all()
    for sid, actor, after in entries:
        if not actor.startswith("reviewer:") or sid is None:
            continue
        key = (sid, actor.removeprefix("reviewer:"))
        if key not in first:
            review = (after or {}).get("review") or {}
            first[key] = dict(review.get("scores") or {})
    return first


def judge_used(db: Session, task_id: str) -> bool:
    """Whether the judge has judged anything of the task or an operator decided a stand-in
    on it (the task page shows the judge's section only then)."""
    judged = db.scalar(select(Judgment.id).where(Judgment.task_id == task_id).limit(1))
    decided = db.scalar(
        select(JudgeStandIn.criterion).where(JudgeStandIn.task_id == task_id).limit(1)
    )
    return judged is not None or decided is not None


def task_agreement(db: Session, task: TaskRow) -> list[CriterionAgreement]:
    """Per rubric criterion of `task`: kappa and mean offset of the judge against the blind
    human consensus, with their 95% intervals (see the module docstring)."""
    blind_subs = list(
        db.scalars(
            select(Submission.id)
            .join(Cohort, Cohort.id == Submission.cohort_id)
            .where(Submission.task_id == task.id, Cohort.judge_mode == "blind")
        )
    )
    judged = db.execute(
        select(Judgment.submission_id, Judgment.criterion, Judgment.score)
        .where(
            Judgment.task_id == task.id,
            Judgment.status == "ok",
            Judgment.submission_id.in_(blind_subs),
        )
        .order_by(Judgment.created_at, Judgment.id)
    ).all()
    judge_scores: dict[tuple[int, str], float] = {}
    for sid, criterion, score in judged:
        if score is not None:
            judge_scores[(sid, criterion)] = float(score)  # the latest judgment wins
    # Operators see the judge before they review (they audit it): their reviews are not blind.
    reviewers = db.execute(
        select(Review.submission_id, User.username, Review.scores)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.submission_id.in_(blind_subs), User.role != "operator")
    ).all()
    first = _first_saved_scores(db, blind_subs)
    ratings: list[stats.Rating] = []
    for (sid, criterion), score in judge_scores.items():
        ratings.append(stats.Rating(task.id, criterion, str(sid), stats.JUDGE, score))
    review_count: dict[str, int] = {}
    judged_pairs = set(judge_scores)
    for sid, username, scores in reviewers:
        saved = first.get((sid, username), scores or {})
        for criterion, value in saved.items():
            if isinstance(value, int | float):
                ratings.append(
                    stats.Rating(task.id, criterion, str(sid), f"human:{username}", float(value))
                )
                if (sid, criterion) in judged_pairs:
                    review_count[criterion] = review_count.get(criterion, 0) + 1
    by_criterion = {a.criterion: a for a in stats.agreement(ratings)}
    standing = {
        s.criterion: s
        for s in db.scalars(select(JudgeStandIn).where(JudgeStandIn.task_id == task.id))
    }
    out = []
    for c in task.rubric.get("criteria", []):
        a = by_criterion.get(c["id"])
        out.append(
            CriterionAgreement(
                criterion=c["id"],
                name=c["name"],
                max_score=float(c["max_score"]),
                n=a.n if a else 0,
                reviews=review_count.get(c["id"], 0),
                kappa=a.kappa if a else None,
                kappa_ci=a.kappa_ci if a else None,
                offset=a.offset if a else None,
                offset_ci=a.offset_ci if a else None,
                stand_in=standing.get(c["id"]),
            )
        )
    return out


# ------------------------------------------------------------------------- stand-ins


class StandInRefused(ValueError):
    """A stand-in the measured agreement does not support, or bad input (one line)."""


MIN_REVIEWS_FLOOR = 2  # a kappa needs two items at the very least


def _refresh(db: Session, task: TaskRow) -> None:
    """Recompute the summaries of the task's reviewed submissions after a stand-in changed
    (their rubric totals may take, or stop taking, the judge's scores)."""
    from api.reviewing import recompute

    subs = db.scalars(
        select(Submission).where(Submission.task_id == task.id, Submission.review_count > 0)
    )
    for sub in subs:
        recompute(db, sub)


def set_stand_in(
    db: Session,
    task: TaskRow,
    criterion: str,
    *,
    min_reviews: int,
    threshold: float,
    actor: str,
) -> JudgeStandIn:
    """Let the judge stand in on `criterion`, if the measured agreement allows it; audited.

    Raises:
        StandInRefused: unknown criterion, N or threshold out of range, fewer than N
            blind-reviewed pairs, or the kappa's lower 95% bound not above the threshold.
    """
    names = {c["id"]: c["name"] for c in task.rubric.get("criteria", [])}
    if criterion not in names:
        raise StandInRefused(f"unknown criterion {criterion!r} for task {task.id}")
    if not MIN_REVIEWS_FLOOR <= min_reviews <= 100_000:
        raise StandInRefused(
            f"N (blind reviews required) must be a whole number from {MIN_REVIEWS_FLOOR} "
            f"to 100000, not {min_reviews}"
        )
    if not -1.0 <= threshold <= 1.0 or threshold != threshold:
        raise StandInRefused(f"the kappa threshold must be between -1 and 1, not {threshold:g}")
    measured = next(a for a in task_agreement(db, task) if a.criterion == criterion)
    if measured.n < min_reviews:
        raise StandInRefused(
            f"{names[criterion]}: only {measured.n} blind-reviewed submission(s) have a judge "
            f"score; at least {min_reviews} are required"
        )
    low = measured.kappa_ci[0] if measured.kappa_ci else None
    if low is None or low <= threshold:
        got = "undefined" if low is None else f"{low:.3f}"
        raise StandInRefused(
            f"{names[criterion]}: the kappa's lower 95% bound is {got}, "
            f"not above the threshold {threshold:g}"
        )
    row = db.get(JudgeStandIn, (task.id, criterion))
    before = _stand_in_dict(row)
    if row is None:
        row = JudgeStandIn(task_id=task.id, criterion=criterion)
        db.add(row)
    row.enabled = True
    row.min_reviews = min_reviews
    row.threshold = threshold
    row.measured = {
        "kappa": _r(measured.kappa),
        "low": _r(low),
        "high": _r(measured.kappa_ci[1]) if measured.kappa_ci else None,
        "n": measured.n,
        "mean_offset": _r(measured.offset),
    }
    row.decided_by = actor
    row.decided_at = utcnow()
    db.flush()
    _audit(db, actor, task.id, criterion, before, _stand_in_dict(row))
    _refresh(db, task)
    return row


def clear_stand_in(db: Session, task: TaskRow, criterion: str, *, actor: str) -> bool:
    """Withdraw the judge's stand-in on `criterion` (humans score it again); audited.
    False when it was not standing in."""
    row = db.get(JudgeStandIn, (task.id, criterion))
    if row is None or not row.enabled:
        return False
    before = _stand_in_dict(row)
    row.enabled = False
    row.decided_by = actor
    row.decided_at = utcnow()
    db.flush()
    _audit(db, actor, task.id, criterion, before, _stand_in_dict(row))
    _refresh(db, task)
    return True


def _stand_in_dict(row: JudgeStandIn | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {
        "task": row.task_id,
        "criterion": row.criterion,
        "enabled": row.enabled,
        "min_reviews": row.min_reviews,
        "threshold": row.threshold,
        "measured": dict(row.measured or {}),
    }


def _audit(
    db: Session,
    actor: str,
    task_id: str,
    criterion: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    after = {"task": task_id, "criterion": criterion, **after}
    audit(db, actor=actor, action=STAND_IN_ACTION, submission_id=None, before=before, after=after)
