"""The `assess` command: the grader's commands (grader.cli) plus the service's.

The composition lives here, in the upper layer, so the grader never imports the service.
Command bodies import the service lazily: `assess --help` and the grading commands don't
pay for FastAPI and SQLAlchemy. Options left unset fall back to ASSESS_* variables.
Annotations are objects, not strings (see grader.cli).
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from grader.cli import app, out, run, user_errors
from grader.errors import AssessError

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Service data (default .assess/service).")
]
DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="postgresql://... (default: SQLite).")
]
TasksOpt = Annotated[
    list[Path] | None, typer.Option("--tasks", help="Task folders or parents (default tasks/).")
]


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    broker: Annotated[
        str | None, typer.Option("--broker", help="redis://... : grade on Celery workers.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="In-process grading threads.")] = None,
    tasks: TasksOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    demo: Annotated[bool, typer.Option(help="Seed the demo: reviewers, applicants.")] = False,
) -> None:
    """Run the grading service (portal, dashboard, API at /api/v1, docs at /docs)."""
    from api.cli import local_url, serve, settings_from

    settings = settings_from(
        broker_url=broker,
        workers=workers,
        tasks_dirs=tuple(tasks or ()),
        data_dir=data_dir,
        database_url=database_url,
        # A public URL set in ASSESS_BASE_URL (behind a proxy) wins over where we listen.
        base_url=None if os.environ.get("ASSESS_BASE_URL") else local_url(host, port),
    )
    with user_errors():
        serve(settings, host, port, demo)


@app.command("worker")
def worker_cmd(
    broker: Annotated[str | None, typer.Option("--broker", help="redis://...")] = None,
    queues: Annotated[str, typer.Option(help="Queues to consume: cpu, gpu.")] = "cpu",
    concurrency: Annotated[int, typer.Option(min=1, help="Parallel gradings.")] = 1,
    tasks: TasksOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run a Celery worker that grades jobs the service queued (scale-out)."""
    from api.cli import settings_from, worker

    settings = settings_from(
        broker_url=broker, tasks_dirs=tuple(tasks or ()), data_dir=data_dir,
        database_url=database_url,
    )  # fmt: skip
    with user_errors():
        worker(settings, [q.strip() for q in queues.split(",") if q.strip()], concurrency, "info")


@app.command("invite")
def invite_cmd(
    emails: Annotated[list[str] | None, typer.Argument(help="Applicants' email addresses.")] = None,
    cohort: Annotated[str, typer.Option(help="Cohort (created if new).")] = "default",
    name: Annotated[str, typer.Option(help="Applicant's name (one email).")] = "",
    task: Annotated[list[str] | None, typer.Option(help="Assign a task to the cohort.")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV: email[,name].")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The service's public URL (default: ASSESS_BASE_URL, else the URL "
            "`assess serve` recorded in the data dir)."
        ),
    ] = None,
) -> None:
    """Invite applicants: prints one invitation link each (shown once; send it to them)."""
    from api.accounts import AccountError
    from api.cli import invite, invite_base_url, settings_from

    base, source = invite_base_url(base_url, data_dir)
    settings = settings_from(data_dir=data_dir, database_url=database_url, base_url=base)
    with user_errors():
        try:
            links = invite(settings, cohort, emails or [], name, task or [], csv_file)
        except AccountError as e:
            raise AssessError(str(e)) from None
    # Which base the links use goes to stderr: stdout stays one "email<TAB>link" per line.
    sys.stderr.write(f"links for {base} ({source})\n")
    for email, link in links:  # tab-separated, for scripts; links are secrets: shown once
        sys.stdout.write(f"{email}\t{link}\n")


@app.command("user")
def user_cmd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reviewer, operator or mentor.")] = "reviewer",
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a reviewer, operator or mentor account (password from ASSESS_PASSWORD or a prompt)."""
    from api.cli import add_user, settings_from

    if role not in ("reviewer", "operator", "mentor"):
        raise typer.BadParameter("role must be reviewer, operator or mentor")
    password = os.environ.get("ASSESS_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    add_user(settings_from(data_dir=data_dir, database_url=database_url), username, password, role)
    out.print(f"{role} {username}: ready")


@app.command("integrity-pass")
def integrity_pass_cmd(
    task: Annotated[str, typer.Argument(help="The task's id, as the service loaded it.")],
    tasks: TasksOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run the service's integrity pass over a task's stored submissions (as the task
    page's button does); one line per flagged pair. Flags ask reviewers to look, never
    change a score. (`assess integrity` compares submission files without the service.)"""
    from api.cli import integrity, settings_from

    settings = settings_from(
        tasks_dirs=tuple(tasks or ()), data_dir=data_dir, database_url=database_url
    )
    with user_errors():
        integrity(settings, task, echo=_plain_line)


outbox_app = typer.Typer(
    rich_markup_mode=None,
    help="The outbox of messages to applicants: send it by SMTP or export it as CSV.",
    no_args_is_help=True,
)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("send")
def outbox_send_cmd(data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Queue due deadline reminders, then send every queued message now by SMTP
    (ASSESS_SMTP_HOST and friends; back-off between attempts ignored)."""
    from api.cli import outbox_send, settings_from

    settings = settings_from(data_dir=data_dir, database_url=database_url)
    with user_errors():
        _plain_line(outbox_send(settings))


@outbox_app.command("export")
def outbox_export_cmd(
    status: Annotated[str, typer.Option(help="queued, sending, sent or failed.")] = "",
    kind: Annotated[str, typer.Option(help="invitation, reminder, results or regrade.")] = "",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout).")
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Write the outbox as CSV (formula-safe cells): to send it another way, or to keep."""
    from api.cli import outbox_export, settings_from

    settings = settings_from(data_dir=data_dir, database_url=database_url)
    with user_errors():
        text = outbox_export(settings, status, kind)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        sys.stderr.write(f"outbox written to {output}\n")


def _plain_line(line: str) -> None:
    """One line for scripts: never wrapped, never read as Rich markup."""
    sys.stdout.write(line + "\n")


def main() -> None:
    """Console entry point (`assess`)."""
    run(app)
