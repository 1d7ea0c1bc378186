"""`assess judge`: rubric pre-scores from a model, and their agreement with reviewers.

    assess judge --task DIR SUB... [--provider local|http] [--json]
    assess judge agreement FILE.csv|FILE.json [--json]

This module imports only Typer at import time (Rich at the first output): `assess --help`
loads it, and must not pay for transformers or torch (the providers load them inside the
commands). Its annotations are objects, not strings (see grader.cli).
Exit status: 0 done; 1 a provider call failed for some judgment; 2 bad input (one line).
Statuses are raised as SystemExit: the composed CLI runs Click with standalone_mode=False,
which would turn typer.Exit into a return value and lose the status.
"""

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from grader.cli_console import LazyConsole

if TYPE_CHECKING:
    from grader.judge.model import JudgeConfig, JudgeRun
    from grader.judge.providers.base import Provider

DEFAULT_CACHE = Path(".assess/judge-cache")
ENV_PROVIDER = "ASSESS_JUDGE_PROVIDER"


class _JudgeGroup(TyperGroup):
    """`assess judge --task DIR SUB...` runs the `run` command: any first argument that is
    not a subcommand (or --help) selects it, so both spellings work."""

    # ctx is Typer's vendored click Context (a private module): typed loosely on purpose.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(
    rich_markup_mode=None,
    cls=_JudgeGroup,
    help="Rubric pre-scores from a model (suggestions for reviewers) and their agreement "
    "with human reviewers. `assess judge --task DIR SUB...` is short for `assess judge run`.",
    no_args_is_help=True,
)

err = LazyConsole(stderr=True)
out = LazyConsole(stderr=False)


@contextmanager
def _user_errors() -> Iterator[None]:
    from grader.errors import AssessError

    try:
        yield
    except AssessError as e:
        err.print(f"[red]error:[/red] {_line(str(e))}", soft_wrap=True)
        raise SystemExit(2) from None


def _line(s: str, limit: int | None = None) -> str:
    """Untrusted text as one printable line: cleaned, Rich markup escaped."""
    from rich.markup import escape

    from grader.text import clean_text

    text = " ".join(clean_text(s).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


@judge_app.command("run")
def run_cmd(
    submissions: Annotated[
        list[Path], typer.Argument(help="Submissions: folders, .zip or .ipynb files.")
    ],
    task_dir: Annotated[Path, typer.Option("--task", "-t", help="The task folder.")],
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help=f"local (SmolLM2, offline) or http (default ${ENV_PROVIDER}, else local).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="HTTP: the model name (default $ASSESS_JUDGE_MODEL).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="HTTP: e.g. http://127.0.0.1:8080/v1 "
            "(default $ASSESS_JUDGE_BASE_URL); the key is $ASSESS_JUDGE_API_KEY.",
        ),
    ] = None,
    criterion: Annotated[
        list[str] | None, typer.Option("--criterion", "-c", help="Only these criteria (ids).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=16, max=8192, help="Tokens per answer.")] = 320,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per model call.")] = 120.0,
    seed: Annotated[int, typer.Option(help="Sampling seed (decoding is greedy).")] = 0,
    max_chars: Annotated[
        int, typer.Option("--max-chars", min=200, help="Submission characters per prompt.")
    ] = 6000,
    token_budget: Annotated[
        int | None, typer.Option("--token-budget", min=1, help="Most tokens this run may use.")
    ] = None,
    price_prompt: Annotated[
        float, typer.Option("--price-prompt", min=0, help="Price per 1k prompt tokens.")
    ] = 0.0,
    price_completion: Annotated[
        float, typer.Option("--price-completion", min=0, help="Price per 1k completion tokens.")
    ] = 0.0,
    cache_dir: Annotated[
        Path, typer.Option("--cache-dir", help="Where judgments are cached.")
    ] = DEFAULT_CACHE,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    ratings: Annotated[
        Path | None,
        typer.Option(
            "--ratings",
            help="Also write the valid pre-scores as review-set rows (CSV, rater 'judge') for "
            "`assess judge agreement`.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")] = False,
) -> None:
    """Pre-score every rubric criterion of each submission, with quotes as evidence."""
    import tempfile

    from grader.errors import AssessError, IntakeError
    from grader.intake import intake
    from grader.judge.cache import JudgeCache
    from grader.judge.runner import judge
    from grader.task import load_task

    kind = (provider or os.environ.get(ENV_PROVIDER) or "local").lower()
    if kind not in ("local", "http"):
        err.print(f"[red]error:[/red] --provider must be local or http, not {_line(kind)}")
        raise SystemExit(2)
    with _user_errors(), tempfile.TemporaryDirectory(prefix="assess-judge-") as tmp:
        task = load_task(task_dir)
        factory, config = _provider(kind, model, base_url)
        config = config.model_copy(
            update={
                "max_tokens": max_tokens,
                "timeout_s": timeout,
                "seed": seed,
                "max_submission_chars": max_chars,
                "price_prompt_per_1k": price_prompt,
                "price_completion_per_1k": price_completion,
            }
        )
        if task.rubric is None:
            raise AssessError(f"{task.root}: the task has no rubric.toml: nothing to judge")
        roots = []
        for i, sub in enumerate(submissions):
            try:
                got = intake(
                    sub, task.spec.submission, Path(tmp) / str(i), notebook=task.spec.notebook
                )
            except IntakeError as e:
                raise IntakeError(f"{sub}: {e}") from None
            roots.append((str(sub), got.root))
        result = judge(
            task,
            roots,
            factory,
            config,
            cache=None if no_cache else JudgeCache(cache_dir),
            token_budget=token_budget,
            criteria=criterion or None,
            progress=lambda s: err.print(f"[dim]judging {_line(s)}[/dim]"),
        )
    if ratings is not None:
        _write_ratings(result, ratings)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        _print_run(result)
    raise SystemExit(1 if result.errors else 0)


def _provider(
    kind: str, model: str | None, base_url: str | None
) -> "tuple[Callable[[], Provider], JudgeConfig]":
    """A factory for the provider (made on the first cache miss) and the base configuration."""
    from grader.judge.model import JudgeConfig

    if kind == "local":
        from grader.judge.providers.local import MODEL_NAME, LocalProvider

        def local() -> "Provider":
            return LocalProvider()

        return local, JudgeConfig(provider="local", model=MODEL_NAME)
    from grader.judge.providers.http import HttpProvider

    http = HttpProvider(base_url=base_url, model=model)  # checks the settings now

    def remote() -> "Provider":
        return http

    return remote, JudgeConfig(provider="http", model=http.model, base_url=http.base_url)


def _write_ratings(run: "JudgeRun", path: Path) -> None:
    """The ok judgments as review-set rows (grader.judge.agreement's format)."""
    import csv

    from grader.judge.agreement import COLUMNS, JUDGE

    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for sub in run.submissions:
            for j in sub.judgments:
                if j.status == "ok" and j.level is not None:
                    w.writerow([run.task, j.criterion, sub.submission, JUDGE, f"{j.level:g}"])


def _print_run(run: "JudgeRun") -> None:
    from rich.table import Table

    for sub in run.submissions:
        table = Table(title=f"{run.task}: {_line(sub.submission)}", show_lines=True)
        for col in ("criterion", "level", "status", "quotes", "rationale"):
            table.add_column(col, overflow="fold")
        for j in sub.judgments:
            level = f"{j.level:g} / {j.max_score:g}" if j.level is not None else "-"
            status = j.status + (" (cached)" if j.cached else "")
            if j.reason:
                status += f": {_line(j.reason, 160)}"
            if j.flags:
                status += "\n[red]flagged: " + ", ".join(j.flags) + "[/red]"
            quotes = "\n".join(
                f"{'' if q.found else '[red]not found:[/red] '}“{_line(q.text, 200)}”"
                for q in j.quotes
            )
            table.add_row(j.criterion, level, status, quotes, _line(j.rationale, 400))
        out.print(table)
        for passage in sub.injection_passages:
            out.print(f"[yellow]injection-like passage:[/yellow] {_line(passage, 200)}")
    u = run.usage
    out.print(
        f"{u.calls} model call(s), {u.prompt_tokens} + {u.completion_tokens} tokens, "
        f"{u.latency_s:.1f} s, cost {u.cost:.4f}; {run.cache_hits} cached; "
        f"{run.discarded} discarded{_reasons(run.discarded_by_reason)}; "
        f"{run.flagged} flagged; {run.errors} failed; {run.skipped} skipped (budget)"
    )


def _reasons(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})" if counts else ""


@judge_app.command("agreement")
def agreement_cmd(
    path: Annotated[Path, typer.Argument(help="Review set: .csv or .json (see docs/judge.md).")],
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")] = False,
) -> None:
    """Quadratic-weighted kappa and mean offset (judge - human consensus), with 95% CIs."""
    from grader.judge.agreement import agreement, read_ratings

    with _user_errors():
        results = agreement(read_ratings(path), seed=seed)
    if as_json:
        sys.stdout.write(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"judge vs human consensus: {_line(path.name)}")
    for col in ("task", "criterion", "n", "kappa (95% CI)", "mean offset (95% CI)", "exact"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(
            _line(r.task),
            _line(r.criterion),
            str(r.n) + (f" (+{r.unpaired} unpaired)" if r.unpaired else ""),
            _est(r.kappa, r.kappa_ci),
            _est(r.offset, r.offset_ci, signed=True),
            "-" if r.exact is None else f"{r.exact:.0%}",
        )
    out.print(table)


def _est(value: float | None, ci: tuple[float, float] | None, *, signed: bool = False) -> str:
    if value is None:
        return "undefined"
    fmt = "+.2f" if signed else ".2f"
    text = format(value, fmt)
    return text + (f" ({format(ci[0], fmt)} to {format(ci[1], fmt)})" if ci else "")
