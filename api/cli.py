"""What ``assess serve``, ``assess worker``, ``assess invite`` and ``assess user`` run.

grader/cli.py imports this module only inside those commands, so the grader library never
depends on the service.
"""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.core.config import Settings
from api.core.db import migrate, transaction
from api.services import Services, build_services

DEMO_COHORT = "demo"
DEMO_REVIEWER = "reviewer"
DEMO_OPERATOR = "operator"


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's non-empty options on top."""
    return Settings(**{k: v for k, v in overrides.items() if v not in (None, "", ())})


def prepared(settings: Settings) -> Services:
    """Services with the schema migrated and the task folders loaded (no queue)."""
    from api import catalog

    services = build_services(settings)
    migrate(services.engine)
    with transaction(services.sessions) as session:
        catalog.sync_tasks(session, settings.tasks_dirs)
    return services


SERVED_FILE = "served.json"


def local_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for a service listening on host:port."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"  # an IPv6 address in a URL
    return f"http://{shown}:{port}"


def record_served(settings: Settings, host: str, port: int) -> Path:
    """Write ``served.json`` in the data dir: the base URL this service serves, so commands
    run later against the same data dir (``assess invite``) print links that work.

    Written atomically (a temporary file renamed over the old one): a reader never sees
    half a file.
    """
    import json
    import tempfile
    from datetime import UTC, datetime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / SERVED_FILE
    record = {
        "base_url": settings.base_url.rstrip("/"),
        "host": host,
        "port": port,
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(dir=settings.data_dir, prefix=".served.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def recorded_base_url(data_dir: Path) -> str | None:
    """The base URL ``assess serve`` last recorded in ``data_dir``; None if none (or unreadable)."""
    import json

    try:
        record = json.loads((data_dir / SERVED_FILE).read_text())
    except (OSError, ValueError):
        return None
    url = record.get("base_url") if isinstance(record, dict) else None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def invite_base_url(option: str | None, data_dir: Path | None) -> tuple[str, str]:
    """The base URL for invitation links and where it came from, in this order: the
    ``--base-url`` option, ``ASSESS_BASE_URL``, the URL ``assess serve`` recorded in the
    data dir, the default."""
    if option:
        return option.rstrip("/"), "--base-url"
    env = os.environ.get("ASSESS_BASE_URL", "").strip()
    if env:
        return env.rstrip("/"), "ASSESS_BASE_URL"
    settings = settings_from(data_dir=data_dir)
    served = recorded_base_url(settings.data_dir)
    if served:
        return served, f"recorded by assess serve in {settings.data_dir / SERVED_FILE}"
    return settings.base_url.rstrip("/"), "the default: no service recorded in this data dir"


def serve(settings: Settings, host: str, port: int, demo: bool, log_level: str = "info") -> None:
    """Run the service with uvicorn (blocking), having recorded its base URL."""
    from api.app import create_app
    from api.server import serve as run

    record_served(settings, host, port)
    if demo:
        services = prepared(settings)
        try:
            info = seed_demo(services)
        finally:
            services.engine.dispose()
        print_demo(info, host, port)
    run(create_app(settings), host, port, log_level)


@dataclass(frozen=True)
class DemoInfo:
    reviewer_password: str
    operator_password: str
    tasks: list[str]
    submissions: list[tuple[str, str, int, bool]]  # task, which, submission id, new
    links: list[str]


def _zip_folder(folder: Path, extra: dict[str, str] | None = None) -> bytes:
    from grader.task import iter_files

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in iter_files(folder):
            zf.write(p, p.relative_to(folder).as_posix())
        for name, text in (extra or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def _sample(root: str, which: str) -> bytes | None:
    """A task's sample submission as a zip: solution/ or starter/. A research-taste starter
    holds only materials; the kit adds the unfilled answers template, so the demo does too."""
    from grader.bundle import answers_template_for
    from grader.task import load_task

    folder = Path(root) / which
    if not folder.is_dir():
        return None
    extra: dict[str, str] = {}
    task = load_task(Path(root))
    if which == "starter" and task.questions is not None:
        answers = task.questions.answers_file
        if not (folder / answers).exists():
            extra[answers] = answers_template_for(task)
    return _zip_folder(folder, extra)


def seed_demo(services: Services) -> DemoInfo:
    """The demo: a cohort with every loaded task, two reviewers' accounts, and for each task
    its reference solution and its starter submitted by two demo applicants."""
    from sqlalchemy import select

    from api import accounts
    from api.models import TaskRow
    from api.uploads import UploadRejected, receive

    reviewer_pw = os.environ.get("ASSESS_DEMO_PASSWORD") or secrets.token_urlsafe(9)
    operator_pw = reviewer_pw + "-op"
    days = services.settings.invite_days
    with transaction(services.sessions) as session:
        tasks = list(session.scalars(select(TaskRow).order_by(TaskRow.id)))
        cohort = accounts.get_or_create_cohort(session, DEMO_COHORT, blind=True)
        accounts.set_tasks(session, cohort, [t.id for t in tasks])
        accounts.create_user(session, DEMO_REVIEWER, reviewer_pw, "reviewer")
        accounts.create_user(session, DEMO_OPERATOR, operator_pw, "operator")
        invites = {
            which: accounts.invite(session, cohort, f"{which}@demo.invalid", f"Demo {which}", days)
            for which in ("solution", "starter")
        }
        session.expunge_all()
    links = [inv.link(services.settings.base_url) for inv in invites.values()]
    submitted: list[tuple[str, str, int, bool]] = []
    for task in tasks:
        for which, inv in invites.items():
            data = _sample(task.root, which)
            if data is None:
                continue
            try:
                got = receive(services, inv.applicant, task, f"{task.id}-{which}.zip", [data])
            except UploadRejected as e:
                print(f"demo: {task.id} {which}: rejected: {e}")
                continue
            submitted.append((task.id, which, got.submission.id, got.created))
    return DemoInfo(reviewer_pw, operator_pw, [t.id for t in tasks], submitted, links)


def print_demo(info: DemoInfo, host: str, port: int) -> None:
    base = local_url(host, port)
    print()
    print(f"tasks loaded: {', '.join(info.tasks) or 'none'}")
    for task, which, sid, new in info.submissions:
        print(f"  submitted {task} {which}/ as #{sid}{'' if new else ' (already there)'}")
    print()
    print(f"Reviewer dashboard: {base}/review")
    print(f"  reviewer login:   {DEMO_REVIEWER} / {info.reviewer_password}   (blind review)")
    print(f"  operator login:   {DEMO_OPERATOR} / {info.operator_password}   ({base}/admin)")
    print(f"Applicant portal:   {info.links[0]}" if info.links else "")
    print(f"API docs:           {base}/docs")
    print("Grading runs in the background; the dashboard shows each status. Ctrl-C stops.")
    print(flush=True)


def invite(
    settings: Settings,
    cohort_name: str,
    emails: list[str],
    name: str,
    tasks: list[str],
    csv_path: Path | None,
) -> list[tuple[str, str]]:
    """Invite applicants (creating the cohort if needed); return (email, link) pairs."""
    from api import accounts

    services = prepared(settings)
    days = settings.invite_days
    try:
        with transaction(services.sessions) as session:
            cohort = accounts.get_or_create_cohort(session, cohort_name)
            if tasks:
                known = set(accounts.cohort_task_ids(session, cohort.id))
                accounts.set_tasks(session, cohort, sorted(known | set(tasks)))
            invs = [accounts.invite(session, cohort, e, name, days) for e in emails]
            if csv_path is not None:
                invs += accounts.import_csv(session, cohort, csv_path.read_text("utf-8-sig"), days)
            return [(i.applicant.email, i.link(settings.base_url)) for i in invs]
    finally:
        services.engine.dispose()


def add_user(settings: Settings, username: str, password: str, role: str) -> None:
    from api import accounts

    services = prepared(settings)
    try:
        with transaction(services.sessions) as session:
            accounts.create_user(session, username, password, role)
    finally:
        services.engine.dispose()


def worker(settings: Settings, queues: list[str], concurrency: int, loglevel: str) -> None:
    """A Celery worker on `settings.broker_url` (blocking)."""
    from api.celery_app import run_worker

    if not settings.broker_url:
        raise SystemExit("assess worker needs --broker redis://... (or ASSESS_BROKER_URL)")
    # Celery's child processes build their settings from the environment: hand ours down.
    os.environ["ASSESS_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["ASSESS_DATABASE_URL"] = settings.db_url
    os.environ["ASSESS_TASKS_DIRS"] = os.pathsep.join(str(p) for p in settings.tasks_dirs)
    if settings.secret_key:
        os.environ["ASSESS_SECRET_KEY"] = settings.secret_key
    prepared(settings).engine.dispose()  # migrate once here, not in every child process
    run_worker(settings.broker_url, queues, concurrency, loglevel)


def integrity(settings: Settings, task_id: str, echo: Callable[[str], None] = print) -> int:
    """Run the integrity pass over a task's submissions (what the task page's button does)
    and print one line per flagged pair: both submissions, their applicants' pseudonyms and
    ids, the kind and the similarity. Returns the number of flagged pairs.

    Raises:
        SystemExit: no such task.
    """
    from api.integrity import flagged_pairs, run_pass
    from api.models import TaskRow

    services = prepared(settings)
    try:
        with transaction(services.sessions) as session:
            task = session.get(TaskRow, task_id)
            if task is None:
                raise SystemExit(f"no task {task_id!r} is loaded")
            result = run_pass(services, session, task, actor="cli")
            pairs = flagged_pairs(session, services.secret, result)
        for pair in pairs:
            echo(pair.line())
        echo(
            f"{task_id}: {len(result.compared)} submissions compared "
            f"(code by {result.code_method}, prose by {result.prose_method}); "
            f"{len(pairs)} pair(s) flagged for review, never an automatic penalty"
        )
        for line in result.skipped:
            echo(f"skipped: {line}")
        return len(pairs)
    finally:
        services.engine.dispose()


def outbox_send(settings: Settings) -> str:
    """Queue due reminders, then send every queued message now; returns a summary line.

    Raises:
        SystemExit: SMTP is not configured.
    """
    from api.notifications import queue_reminders, send_pending

    if not settings.smtp_host:
        raise SystemExit(
            "SMTP is not configured: set ASSESS_SMTP_HOST (and ASSESS_SMTP_PORT, _USER, "
            "_PASSWORD, _STARTTLS, _FROM as needed); `assess outbox export` writes the "
            "messages as CSV instead"
        )
    services = prepared(settings)
    try:
        with transaction(services.sessions) as session:
            reminders = queue_reminders(session, settings)
        result = send_pending(settings, services.sessions, ignore_backoff=True, limit=100_000)
        return f"{reminders} reminder(s) queued; {result.line()}"
    finally:
        services.engine.dispose()


def outbox_export(settings: Settings, status: str, kind: str) -> str:
    """The outbox as CSV text (formula-safe), filtered by status and kind.

    Raises:
        SystemExit: an unknown status or kind.
    """
    from api.routes.outbox import Filter, export_csv

    f = Filter(status=status, kind=kind)
    if f.problem():
        raise SystemExit(f.problem())
    services = prepared(settings)
    try:
        with services.sessions() as session:
            return export_csv(session, f)
    finally:
        services.engine.dispose()
