"""Judging submissions: every criterion of the task's rubric, through the cache."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import AssessError
from grader.judge.cache import JudgeCache, cache_key
from grader.judge.model import JudgeConfig, JudgeRun, Judgment, SubmissionJudgments, Usage
from grader.judge.prompt import (
    build_messages,
    new_boundary,
    read_documents,
    select_files,
    submission_text,
)
from grader.judge.providers.base import Message, Provider, ProviderError, ProviderTimeout
from grader.judge.validate import Injection, check_answer, find_injections

if TYPE_CHECKING:
    from grader.rubric import Criterion
    from grader.task import Task

RAW_CHARS = 4000  # of a model's answer kept in the judgment, for audit
CHARS_PER_TOKEN = 3  # a cautious estimate, for the budget check before a call


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and content (as a task's digest is made)."""
    from grader.task import iter_files

    h = hashlib.sha256()
    for p in iter_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def judge(
    task: Task,
    submissions: list[tuple[str, Path]],
    provider: Callable[[], Provider],
    config: JudgeConfig,
    *,
    cache: JudgeCache | None = None,
    token_budget: int | None = None,
    criteria: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> JudgeRun:
    """Judge every criterion of every submission; see :class:`JudgeRun`.

    `submissions` are (label, folder) pairs; the folders are what intake made of them.
    `provider` is called once, on the first cache miss, so that a fully cached run never
    loads a model. `token_budget` bounds this run's tokens: a call whose prompt estimate plus
    `max_tokens` would pass it is skipped, as is everything after it.

    Raises:
        AssessError: the task has no rubric, a criterion id is unknown, or a submission
            is not a folder.
    """
    rubric = task.rubric
    if rubric is None:
        raise AssessError(f"{task.root}: the task has no rubric.toml: nothing to judge")
    chosen = list(rubric.criteria)
    if criteria:
        known = {c.id for c in chosen}
        unknown = [c for c in criteria if c not in known]
        if unknown:
            raise AssessError(
                f"unknown criterion {unknown[0]!r} (the rubric has {', '.join(sorted(known))})"
            )
        chosen = [c for c in chosen if c.id in criteria]
    for label, root in submissions:
        if not root.is_dir():
            raise AssessError(f"{label}: not a submission folder")
    instructions_path = task.root / "instructions.md"
    instructions = (
        instructions_path.read_text(encoding="utf-8") if instructions_path.is_file() else ""
    )
    run = JudgeRun(
        task=task.id,
        task_digest=task.digest,
        config=config,
        config_digest=config.digest(),
        token_budget=token_budget,
    )
    made: list[Provider] = []

    def get_provider() -> Provider:
        if not made:
            made.append(provider())
        return made[0]

    budget_spent = False
    for label, sub in submissions:
        result = SubmissionJudgments(submission=label, digest=tree_digest(sub))
        passages: list[str] = []
        for criterion in chosen:
            if progress:
                progress(f"{label}: {criterion.id}")
            key = cache_key(run.task_digest, result.digest, criterion.id, run.config_digest)
            files = select_files(sub, criterion)
            docs = read_documents(sub, files)
            full = "\n".join(d.text for d in docs)
            injections = find_injections(full)
            passages += [i.passage for i in injections if i.passage not in passages]
            hit = cache.get(key) if cache else None
            if hit is not None:
                j = hit.model_copy(update={"cached": True})
                run.cache_hits += 1
            elif budget_spent:
                j = _skipped(criterion)
            else:
                text, truncated = submission_text(docs, config.max_submission_chars)
                messages = build_messages(
                    criterion,
                    task_title=task.spec.title,
                    instructions=instructions,
                    text=text,
                    boundary=new_boundary(text),
                )
                estimate = sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN
                if token_budget is not None and (
                    run.usage.tokens + estimate + config.max_tokens > token_budget
                ):
                    budget_spent = True
                    j = _skipped(criterion)
                else:
                    j = _call(get_provider, messages, criterion, config, full, injections)
                    j.files = [d.path for d in docs]
                    j.truncated = truncated
                    run.usage.add(j.usage)
                    if cache:
                        cache.put(key, j)
            result.judgments.append(j)
            if not j.cached:
                result.usage.add(j.usage)
            _count(run, j)
        result.injection_passages = passages
        run.submissions.append(result)
    return run


def _skipped(criterion: Criterion) -> Judgment:
    return Judgment(
        criterion=criterion.id,
        status="skipped",
        max_score=criterion.max_score,
        reason="the run's token budget is spent",
        reason_code="budget",
    )


def _failed(criterion: Criterion, reason: str, code: str, seconds: float) -> Judgment:
    """A failed call still counts as a call and its time (its tokens are unknown)."""
    return Judgment(
        criterion=criterion.id,
        status="error",
        max_score=criterion.max_score,
        reason=reason,
        reason_code=code,
        usage=Usage(calls=1, latency_s=round(seconds, 4)),
    )


def _call(
    get_provider: Callable[[], Provider],
    messages: list[Message],
    criterion: Criterion,
    config: JudgeConfig,
    full_text: str,
    injections: list[Injection],
) -> Judgment:
    start = time.monotonic()
    try:
        done = get_provider().complete(
            messages,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            seed=config.seed,
            timeout_s=config.timeout_s,
        )
    except ProviderTimeout as e:
        return _failed(criterion, str(e), "timeout", time.monotonic() - start)
    except ProviderError as e:
        return _failed(criterion, str(e), "provider", time.monotonic() - start)
    usage = Usage(
        calls=1,
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        latency_s=done.latency_s,
        cost=config.cost(done.prompt_tokens, done.completion_tokens),
    )
    checked = check_answer(done.text, criterion, full_text, injections)
    return Judgment(
        criterion=criterion.id,
        max_score=criterion.max_score,
        status="ok" if checked.ok else "discarded",
        level=checked.level if checked.ok else None,
        quotes=checked.quotes,
        rationale=checked.rationale,
        reason=checked.reason,
        reason_code=checked.reason_code,
        flags=checked.flags,
        raw=done.text[:RAW_CHARS],
        usage=usage,
    )


def _count(run: JudgeRun, j: Judgment) -> None:
    if j.status == "discarded":
        run.discarded += 1
        run.discarded_by_reason[j.reason_code] = run.discarded_by_reason.get(j.reason_code, 0) + 1
    elif j.status == "error":
        run.errors += 1
    elif j.status == "skipped":
        run.skipped += 1
    if j.flags:
        run.flagged += 1
