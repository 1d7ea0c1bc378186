"""The `assess` command line.

Exit status: 0 success; 1 the work ran but something failed (a grading error, a task that
does not validate, failing visible checks); 2 bad input or no engine (one line on stderr).
With ``--json`` stdout carries only JSON; progress and messages go to stderr.

The command modules (this one, grader.judge.cli, api.commands) keep their annotations as
objects, without ``from __future__ import annotations``: Typer reads every command's
signature at each start, and strings would be compiled and evaluated there (~25 ms a start).
Names imported only for type checking are quoted.
"""

import gc
import json
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# A command line run loads no pydantic plugins: finding them reads the entry points of every
# installed distribution, about 20 ms of each start.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from grader import __version__
from grader.cli_console import LazyConsole
from grader.errors import AssessError
from grader.judge.cli import judge_app  # Typer only: no model is loaded here

if TYPE_CHECKING:
    # Loaded inside the commands that use them: `assess --help` stays quick.
    from rich.progress import Progress

    from grader.report import Report, Status
    from grader.sandbox import Sandbox
    from grader.task import Task

app = typer.Typer(
    rich_markup_mode=None,
    name="assess",
    help="Grade take-home research tasks in Docker, in two phases (untrusted run, trusted check).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
task_app = typer.Typer(
    rich_markup_mode=None, help="Author tasks: scaffold, prepare, validate.", no_args_is_help=True
)
images_app = typer.Typer(
    rich_markup_mode=None, help="Build the sandbox images.", no_args_is_help=True
)
app.add_typer(task_app, name="task")
app.add_typer(images_app, name="images")
app.add_typer(judge_app, name="judge")

err = LazyConsole(stderr=True)
out = LazyConsole(stderr=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", min=0, help="Parallel gradings (0: one per CPU core).")
]


class CliExit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn our errors into one line on stderr and exit status 2."""
    try:
        yield
    except AssessError as e:
        err.print(f"[red]error:[/red] {_one_line(str(e))}", soft_wrap=True)
        raise CliExit(2) from None


def _plain_line(s: str) -> str:
    """Untrusted text as one printable line (grader.text's cleaning), for plain output."""
    from grader.text import clean_text

    return " ".join(clean_text(s).split())


def _one_line(s: str) -> str:
    """Untrusted text as one printable line, rich markup escaped (for a Rich console)."""
    from rich.markup import escape

    return escape(_plain_line(s))


def _sandbox() -> "Sandbox":
    from grader.sandbox import docker_sandbox

    return docker_sandbox()


def _default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def _show_version(value: bool) -> None:
    if value:
        out.print(f"assess {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Show the version.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Grade take-home research tasks in Docker."""


# ----------------------------------------------------------------------------- task


@task_app.command("validate")
def task_validate(
    task_dir: Annotated[Path, typer.Argument(help="The task folder.")],
    as_json: JsonOpt = False,
    jobs: JobsOpt = 0,
) -> None:
    """Grade solution/, starter/ and every bad/ case; exit 0 only if all are as declared."""
    from grader.task import load_task
    from grader.validate import CaseResult, validate

    with user_errors():
        task = load_task(task_dir)
        sandbox = _sandbox()
        sandbox.image_id(_image(task.spec.image))
        _prepare(task, sandbox)
        with _progress(as_json, eta=True) as progress:
            bar = progress.add_task(f"validating {task.id}", total=2 + len(task.bad_cases()))

            def tick(r: CaseResult) -> None:
                progress.advance(bar)
                mark = "[green]ok[/green]" if r.ok else "[red]FAIL[/red]"
                progress.console.print(f"  {mark} {r.case}: {r.status} {_fmt(r.score)}")

            result = validate(task, sandbox, jobs=jobs or _default_jobs(), on_case=tick)
    if as_json:
        out.rich.print_json(result.model_dump_json())
    else:
        from rich.table import Table

        table = Table(title=f"{task.id} {task.spec.version}  (digest {result.digest[:12]})")
        for col in ("case", "status", "score", "expected", "ok", "seconds", "note"):
            table.add_column(col)
        for r in result.cases:
            table.add_row(
                r.case,
                r.status,
                f"{_fmt(r.score)} / {r.max_score:g}",
                r.expected,
                "[green]yes[/green]" if r.ok else "[red]NO[/red]",
                f"{r.seconds:.1f}",
                _one_line(r.note)[:120],
            )
        out.print(table)
        for f in result.lint:
            colour = "red" if f.level == "error" else "yellow"
            out.print(f"[{colour}]{f.level}[/{colour}]: {f.where}: {f.message}", markup=True)
        if result.spread is not None:
            verdict = (
                ""
                if result.spread_ok
                else f"[red] — below the minimum {result.min_spread:.0%}[/red]"
            )
            out.print(
                f"spread (solution - best bad case): {result.spread:.0%} of the range{verdict}"
            )
        elif not result.spread_ok:
            out.print(f"[red]no spread: no bad case graded (minimum {result.min_spread:.0%})[/red]")
        out.print("[green]valid[/green]" if result.ok else "[red]not valid[/red]")
    raise CliExit(0 if result.ok else 1)


@task_app.command("new")
def task_new(
    task_id: Annotated[str, typer.Argument(help="Lower-case id, e.g. sae-features.")],
    dest: Annotated[Path, typer.Option(help="Folder to create the task in.")] = Path("tasks"),
    bare: Annotated[
        bool, typer.Option(help="Start from the smallest valid task, not the commented toy.")
    ] = False,
) -> None:
    """Scaffold a task from the commented template (tasks/_template), or --bare."""
    from grader.scaffold import new_task

    with user_errors():
        path = new_task(task_id, dest, bare=bare)
    out.print(f"created {path}; next: edit it, then `assess task validate {path}`")


@task_app.command("prepare")
def task_prepare(
    task_dir: Annotated[Path, typer.Argument(help="The task folder.")],
    force: Annotated[bool, typer.Option(help="Re-run even if up to date.")] = False,
) -> None:
    """Run the task's prepare step (builds its models and data) if out of date."""
    from grader.task import load_task

    with user_errors():
        task = load_task(task_dir)
        ran = _prepare(task, _sandbox(), force=force)
    out.print(f"{task.id}: {'prepared' if ran else 'already up to date'}")


# ----------------------------------------------------------------------------- grade


@app.command("grade")
def grade_cmd(
    submissions: Annotated[
        list[Path], typer.Argument(help="Submissions: folders, .zip or .ipynb files.")
    ],
    task_dir: Annotated[Path, typer.Option("--task", "-t", help="The task folder.")],
    as_json: JsonOpt = False,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where reports are written.")] = Path(
        "reports"
    ),
    jobs: JobsOpt = 0,
) -> None:
    """Grade submissions in parallel; write a JSON report, an HTML page and a receipt each."""
    from grader.pipeline import COMPLETED, grade
    from grader.report import Status
    from grader.spec import TaskKind
    from grader.task import load_task

    with user_errors():
        task = load_task(task_dir)
        sandbox: Sandbox | None = None
        # A research-taste task's answers are scored on the host: no engine, no image, unless
        # the task has a prepare step of its own to run.
        if task.spec.kind != TaskKind.research_taste or task.spec.prepare is not None:
            sandbox = _sandbox()
            sandbox.image_id(_image(task.spec.image))
            _prepare(task, sandbox)
        dest = out_dir / task.id
        stems = _stems(submissions)
        many = len(submissions) > 1

        def one(sub: Path, stem: str) -> "tuple[Report, dict[str, Path]]":
            art = dest / f"{stem}.outputs"
            report = grade(task, sub, sandbox=sandbox, artifacts_dir=art)
            from grader.render import write_report

            return report, write_report(report, dest, stem=stem, artifacts=art)

        with ThreadPoolExecutor(max_workers=jobs or _default_jobs()) as pool:
            futures = {
                pool.submit(one, sub, stem): stem
                for sub, stem in zip(submissions, stems, strict=True)
            }
            # What reporting needs loads once the gradings are under way, not before their
            # first container starts.
            _warm_reporting(tables=many and not as_json)
            if many and not as_json:
                _show_progress(f"grading {task.id}", futures)
            results = [future.result() for future in futures]
    if as_json:
        docs = [json.loads(r.to_json()) for r, _ in results]
        sys.stdout.write(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n")
    elif not many:
        # One grading is two plain lines; Rich (~40 ms of the command) is for the table.
        (report, paths), sub = results[0], submissions[0]
        lines = [
            f"{task.id} {task.spec.version}  {_plain_line(str(sub))}: {report.status.value}, "
            f"{_fmt(report.score)} / {report.max_score:g} in {report.timings.total:.1f} s",
            f"report: {paths['html']}",
        ]
        if report.explanation != COMPLETED:
            lines.append(_plain_line(report.explanation))
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        from rich.table import Table

        table = Table(title=f"{task.id} {task.spec.version}")
        for col in ("submission", "status", "score", "seconds", "report"):
            table.add_column(col, overflow="fold")
        rows = list(zip(submissions, results, strict=True))
        for sub, (report, paths) in rows:
            table.add_row(
                str(sub),
                _status_markup(report.status),
                f"{_fmt(report.score)} / {report.max_score:g}",
                f"{report.timings.total:.1f}",
                str(paths["html"]),
            )
        out.print(table)
        for sub, (report, _) in rows:
            if report.explanation != COMPLETED:
                out.print(f"[dim]{sub}:[/dim] {_one_line(report.explanation)}")
    raise CliExit(1 if any(r.status == Status.error for r, _ in results) else 0)


def _stems(subs: list[Path]) -> list[str]:
    seen: dict[str, int] = {}
    stems = []
    for s in subs:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", s.resolve().name).strip("-.") or "submission"
        if base in seen:
            seen[base] += 1
            base = f"{base}-{seen[base]}"
        else:
            seen[base] = 1
        stems.append(base)
    return stems


# ----------------------------------------------------------------------------- integrity


@app.command("integrity")
def integrity_cmd(
    submissions: Annotated[
        list[Path], typer.Argument(help="All submissions of the task: folders, .zip, .ipynb.")
    ],
    task_dir: Annotated[Path, typer.Option("--task", "-t", help="The task folder.")],
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="Reports folder of `assess grade --out` (e.g. reports): flag the reports "
            "there, with the matching regions side by side.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare every pair of submissions (code and prose) and print the pairs to review."""
    from grader.integrity import apply_to_reports, run_integrity
    from grader.task import load_task

    with user_errors():
        task = load_task(task_dir)
        with err.status(f"comparing {len(submissions)} submissions of {task.id}") as status:
            result = run_integrity(
                task,
                submissions,
                labels=_stems(submissions),
                progress=lambda m: status.update(f"{task.id}: {m}"),
            )
        written = apply_to_reports(result, reports / task.id) if reports else []
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        from rich.table import Table

        table = Table(title=f"{task.id} {task.spec.version}: pairs to review")
        for col in ("a", "b", "kind", "score", "threshold", "regions (a ~ b)"):
            table.add_column(col)
        for p in result.pairs:
            where = "; ".join(f"{s.a_where}:{s.a_lines} ~ {s.b_where}:{s.b_lines}" for s in p.spans)
            b = f"{p.b} (reference)" if p.reference else p.b
            table.add_row(
                p.a,
                b,
                p.kind,
                f"{p.score:.0%}",
                f"{p.threshold:.0%}",
                where[:160],
                end_section=True,
            )
        out.print(table)
        out.print(
            f"{result.submissions} submissions, {result.references} reference texts; "
            f"code by {result.code_method}, prose by {result.prose_method}; "
            f"{len(result.pairs)} pair(s) flagged for review (never an automatic penalty)"
        )
        for line in result.skipped:
            out.print(f"[yellow]skipped[/yellow] {_one_line(line)}")
        if reports:
            out.print(f"flagged reports rewritten: {len(written)} in {reports / task.id}")
    raise CliExit(0)


# ----------------------------------------------------------------------------- kit


@app.command("bundle")
def bundle_cmd(
    task_dir: Annotated[Path, typer.Argument(help="The task folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The kit zip to write.")],
) -> None:
    """Pack the applicant kit: instructions, starter files, kit.toml; nothing hidden."""
    from grader.bundle import bundle
    from grader.prepare import is_prepared
    from grader.task import load_task

    with user_errors():
        task = load_task(task_dir)
        if not is_prepared(task):
            raise AssessError(
                f"{task.root}: generated files are missing or stale; "
                f"run `assess task prepare {task_dir}` first"
            )
        names = bundle(task, output)
    out.print(f"wrote {output} ({len(names)} files)")


@app.command("check")
def check_cmd(
    kit_dir: Annotated[Path, typer.Argument(help="The unpacked kit (default: here).")] = Path("."),
    python: Annotated[
        str | None,
        typer.Option(help="The Python that runs the visible checks (default: python on PATH)."),
    ] = None,
) -> None:
    """Inside an unpacked kit: check the submission rules and run the visible checks."""
    from grader.kit import check_kit, find_kit

    with user_errors():
        kit = find_kit(kit_dir)
        with err.status("running the visible checks"):
            result = check_kit(kit, python=python)
    m = result.manifest
    out.print(f"[bold]{m.task}[/bold] {m.version}: {m.title}")
    out.print(
        f"submission rules: ok ({len(result.submission.files)} files, "
        f"{result.submission.bytes} bytes; required: {', '.join(m.required) or 'none'})"
    )
    out.print(result.tests_output.rstrip(), markup=False)
    if result.tests_exit_code == 0:
        out.print("[green]visible checks pass[/green] (hidden checks decide the score)")
    else:
        out.print(f"[red]visible checks fail[/red] (exit {result.tests_exit_code})")
    raise CliExit(0 if result.tests_exit_code == 0 else 1)


# ----------------------------------------------------------------------------- images


@images_app.command("build")
def images_build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Images to build: base, cpu, gpu (default: cpu).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if up to date.")] = False,
) -> None:
    """Build images from images/ without a registry (cached: a rebuild takes seconds)."""
    from grader.cli_progress import image_build_view
    from grader.images import build_images

    with user_errors(), image_build_view(err.rich) as show:
        ids = build_images(names or ["cpu"], progress=show, force=force)
    for name, image_id in ids.items():
        out.print(f"{name}: {image_id[:19]}")


# ----------------------------------------------------------------------------- helpers


def _image(name: str) -> str:
    from grader.images import image_ref

    return image_ref(name)


def _fmt(score: float | None) -> str:
    return "-" if score is None else f"{score:g}"


def _status_markup(status: "Status") -> str:
    colour = {"graded": "green", "invalid": "yellow", "timeout": "yellow", "error": "red"}
    return f"[{colour[status.value]}]{status.value}[/]"


def _show_progress(
    title: str, futures: "dict[Future[tuple[Report, dict[str, Path]]], str]"
) -> None:
    """A bar, and a line per grading as it ends (the futures map to submission names)."""
    with _progress(False, eta=True) as progress:
        bar = progress.add_task(title, total=len(futures))
        for done, future in enumerate(as_completed(futures), 1):
            report, _ = future.result()
            progress.advance(bar)
            progress.console.print(
                f"  {done}/{len(futures)} {futures[future]}: {report.status.value} "
                f"{_fmt(report.score)} ({report.timings.total:.1f} s)",
                markup=False,
                highlight=False,
            )


def _warm_reporting(*, tables: bool) -> None:
    """Load the report's renderer and template, and Rich if a summary table follows."""
    from grader import render

    render.warm()
    if tables:
        _ = out.rich


@contextmanager
def _progress(quiet: bool, *, eta: bool = False) -> "Iterator[Progress]":
    from grader.cli_progress import bars

    with bars(err.rich, quiet=quiet, eta=eta) as progress:
        yield progress


def _prepare(task: "Task", sandbox: "Sandbox", *, force: bool = False) -> bool:
    """The task's prepare step, if out of date, with its output shown as it runs."""
    if task.spec.prepare is None:
        return False
    from grader.cli_progress import output_view
    from grader.prepare import is_prepared, prepare

    if not force and is_prepared(task):
        return False
    with output_view(err.rich, f"preparing {task.id}") as show:
        return prepare(task, sandbox, force=force, on_output=show)


def run(command: typer.Typer) -> None:
    """Run a Typer app with this CLI's exit statuses (the composed `assess` uses it too).
    A process's entry point: the process ends after it (tests invoke the apps instead)."""
    try:
        command(standalone_mode=False)
    except CliExit as e:
        sys.exit(e.code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except typer.TyperException as e:
        # Usage errors (an unknown option, a missing argument): Typer's own click raises them
        # where standalone mode would have shown them. Shown as click shows them, status 2.
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            err.print(f"error: {e.format_message()}", markup=False)
        sys.exit(2)
    finally:
        # What is left now is only freed by the interpreter's shutdown, whose collections
        # would trace every object again (about 100 ms of each short command). Frozen
        # objects are freed by their reference counts alone; nothing here needs a finalizer
        # that only a collection would run (files and containers are closed explicitly).
        gc.freeze()


def main() -> None:
    """The grader's commands alone (`python -m grader`); `assess` adds the service's."""
    run(app)
