"""The judge's data: configuration, one judgment per criterion, usage and cost."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Bumped whenever the prompt's wording or the validation rules change: cached judgments
# made under another version are not reused. 2: the local model's answer is primed.
PROMPT_VERSION = "2"

Status = Literal["ok", "discarded", "error", "skipped"]


class JudgeConfig(BaseModel):
    """What decides a judgment's outcome (all of it goes into the cache key), plus prices.

    The API key is never part of the configuration: it is read from the environment by the
    HTTP provider and never stored, printed or hashed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["local", "http"] = "local"
    model: str = "SmolLM2-135M-Instruct"
    base_url: str = ""  # HTTP provider only
    max_tokens: Annotated[int, Field(ge=16, le=8192)] = 320
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    seed: int = 0
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # Submission characters sent per prompt; longer submissions are cut (and the prompt
    # says so). Small local models have small context windows.
    max_submission_chars: Annotated[int, Field(ge=200, le=400_000)] = 6000
    # Price per 1,000 tokens, for cost accounting only (0 for the local model).
    price_prompt_per_1k: Annotated[float, Field(ge=0)] = 0.0
    price_completion_per_1k: Annotated[float, Field(ge=0)] = 0.0
    prompt_version: str = PROMPT_VERSION

    def digest(self) -> str:
        """sha256 of the fields that can change a judgment (prices and timeout cannot)."""
        fields = self.model_dump(exclude={"price_prompt_per_1k", "price_completion_per_1k"})
        fields.pop("timeout_s")
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.price_prompt_per_1k
            + completion_tokens * self.price_completion_per_1k
        ) / 1000.0


class Usage(BaseModel):
    """Tokens, model calls, time and cost: of one judgment or summed over a run."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost: float = 0.0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.latency_s = round(self.latency_s + other.latency_s, 4)
        self.cost = round(self.cost + other.cost, 8)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Quote(BaseModel):
    """A passage the judgment cites, and whether it is in the submission (verbatim)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    found: bool


class Judgment(BaseModel):
    """The judge's pre-score for one criterion of one submission: a suggestion, never final.

    `status`: ``ok`` (valid; `level` set), ``discarded`` (the answer broke a rule; `reason`
    says which; `level` is None), ``error`` (the provider failed; not cached), ``skipped``
    (the run's token budget was spent before this call).
    `flags` mark a judgment for humans: ``injection-mirror`` (its rationale or quotes repeat
    an instruction aimed at the grader), ``max-level-quoting-injection`` (top level while
    quoting an injection-like passage of the submission).
    """

    model_config = ConfigDict(extra="forbid")

    criterion: str
    status: Status
    level: float | None = None
    max_score: float
    quotes: list[Quote] = []
    rationale: str = ""
    reason: str = ""  # why discarded, failed or skipped, in one line; empty when ok
    # A short stable name for the reason, counted per run: unparseable, schema, level,
    # fabricated-quote, no-evidence, timeout, provider, budget.
    reason_code: str = ""
    flags: list[str] = []
    files: list[str] = []  # the submission's files the prompt showed
    truncated: bool = False  # the files were cut to max_submission_chars
    raw: str = ""  # the model's answer as received (for audit), capped
    usage: Usage = Usage()
    cached: bool = False


class SubmissionJudgments(BaseModel):
    """Every criterion's judgment for one submission."""

    model_config = ConfigDict(extra="forbid")

    submission: str
    digest: str
    injection_passages: list[str] = []  # injection-like passages found in its files
    judgments: list[Judgment] = []
    usage: Usage = Usage()


class JudgeRun(BaseModel):
    """One `assess judge` run: configuration, results, totals."""

    model_config = ConfigDict(extra="forbid")

    task: str
    task_digest: str
    config: JudgeConfig
    config_digest: str
    submissions: list[SubmissionJudgments] = []
    usage: Usage = Usage()  # model calls made by this run (cache hits cost nothing)
    token_budget: int | None = None
    discarded: int = 0
    discarded_by_reason: dict[str, int] = {}
    flagged: int = 0
    errors: int = 0
    skipped: int = 0
    cache_hits: int = 0
