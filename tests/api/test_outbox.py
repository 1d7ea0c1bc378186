"""The operators' outbox on SQLite and PostgreSQL: the page (filters, plain-text messages,
what to configure without SMTP), JSON and CSV under one rule (operators only), formula-safe
cells, bad filters refused with their reason, and the two bulk actions (send now, retry
failed) previewed before they change anything, then audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from api.core.db import transaction
from api.models import AuditEntry, OutboxMessage
from api.notifications import MAX_ATTEMPTS, queue_message
from tests.api.conftest import Service, World, add_user
from tests.api.test_notifications import Inbox, smtp_server  # noqa: F401 (a fixture)

HOSTILE_BODY = "<script>alert(1)</script>\nDear applicant,\n=1+2"


def _services(svc: Service) -> Any:
    return svc.client.app.state.services  # type: ignore[attr-defined]


def _seed(svc: Service) -> dict[str, int]:
    """Three messages: a queued invitation with hostile text, a sent result, a failed reminder."""
    with transaction(_services(svc).sessions) as db:
        made = {
            "invitation": queue_message(
                db, kind="invitation", to="alice@example.org",
                subject="=HYPERLINK(\"http://evil\")\r\nBcc: x@y", body=HOSTILE_BODY,
            ),
            "results": queue_message(
                db, kind="results", to="bob@example.org", subject="Results", body="Read them.",
            ),
            "reminder": queue_message(
                db, kind="reminder", to="carol@example.org", subject="Due soon", body="Soon.",
                dedup_key="reminder:1:t:24",
            ),
        }  # fmt: skip
        ids = {k: m.id for k, m in made.items() if m is not None}
        sent = db.get(OutboxMessage, ids["results"])
        failed = db.get(OutboxMessage, ids["reminder"])
        assert sent is not None and failed is not None
        sent.status, sent.attempts = "sent", 1
        failed.status, failed.attempts = "failed", MAX_ATTEMPTS
        failed.error = "SMTPDataError: 554 Rejected"
    return ids


def test_operators_read_filter_and_export_the_outbox(world: World) -> None:
    op = world.operator
    # Whatever the world's own set-up queued (invitations) is counted on top.
    before = op.get("/api/v1/outbox").json()["counts"]
    ids = _seed(world.svc)

    page = op.get("/admin/outbox")
    assert page.status_code == 200
    assert "SMTP is not configured" in page.text and "ASSESS_SMTP_HOST" in page.text
    assert 'id="send-now"' not in page.text  # nothing to send with
    assert "&lt;script&gt;" not in page.text  # bodies are on the message's own page
    # The subject was made one line when queued.
    assert "=HYPERLINK(&#34;http://evil&#34;) Bcc: x@y" in page.text
    one = op.get(f"/admin/outbox/{ids['invitation']}")
    assert one.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in one.text and "<script>alert" not in one.text
    assert op.get("/admin/outbox/999999").status_code == 404

    failed = op.get("/admin/outbox", params={"status": "failed"})
    assert "Due soon" in failed.text and "Results" not in failed.text
    assert "554 Rejected" in failed.text
    kinds = op.get("/admin/outbox", params={"kind": "results"})
    assert "Read them" not in kinds.text and ">Results<" in kinds.text
    assert "Due soon" not in kinds.text

    bad = op.get("/admin/outbox", params={"status": "lost"})
    assert bad.status_code == 422
    assert "status &#39;lost&#39; is not one of queued, sending, sent, failed" in bad.text

    body = op.get("/api/v1/outbox", params={"kind": "reminder"}).json()
    assert body["smtp_configured"] is False
    added = {k: v - before[k] for k, v in body["counts"].items()}
    assert added == {"queued": 1, "sending": 0, "sent": 1, "failed": 1}
    assert body["total"] == 1
    [msg] = body["messages"]
    assert msg["to"] == "carol@example.org" and msg["error"].startswith("SMTPDataError")
    assert msg["attempts"] == MAX_ATTEMPTS and msg["sent_at"] is None
    r = op.get("/api/v1/outbox", params={"kind": "postcard"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("kind 'postcard' is not one of")

    export = op.get("/api/v1/outbox.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert 'filename="outbox.csv"' in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    ours = [r for r in rows if int(r["id"]) in ids.values()]
    assert [int(r["id"]) for r in ours] == sorted(ids.values())
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    inv = ours[0]
    assert inv["subject"].startswith("'=HYPERLINK")  # a formula stays text
    assert inv["body"] == HOSTILE_BODY  # starts with "<": nothing to neutralise
    only = op.get("/api/v1/outbox.csv", params={"status": "sent"})
    assert 'filename="outbox-sent.csv"' in only.headers["content-disposition"]
    assert {r["status"] for r in csv.DictReader(io.StringIO(only.text))} == {"sent"}
    assert "bob@example.org" in only.text and "carol@example.org" not in only.text
    assert op.get("/api/v1/outbox.csv", params={"status": "x"}).status_code == 422


def test_the_outbox_is_for_operators_only(world: World) -> None:
    _seed(world.svc)
    add_user(world.svc, "mentor1", "mentor")
    mentor = world.svc.login("mentor1")
    for who in (world.reviewer, mentor, world.alice, world.svc.anonymous()):
        for path in ("/api/v1/outbox", "/api/v1/outbox.csv"):
            assert who.get(path).status_code in (401, 403), path
        page = who.get("/admin/outbox", follow_redirects=False)
        assert page.status_code in (303, 401, 403)
        assert "alice@example.org" not in page.text
        r = who.post("/api/v1/outbox/retry", json={})
        assert r.status_code in (401, 403)


def test_retry_failed_previews_then_requeues_and_audits(world: World) -> None:
    ids = _seed(world.svc)
    op = world.operator
    csrf = op.headers["X-CSRF-Token"]

    preview = op.post("/admin/outbox/retry", data={"csrf_token": csrf, "status": "failed"})
    assert preview.status_code == 200
    assert "Preview, nothing changed yet" in preview.text
    assert f"#{ids['reminder']}" in preview.text and 'id="confirm"' in preview.text
    with _services(world.svc).sessions() as db:
        assert db.get(OutboxMessage, ids["reminder"]).status == "failed"  # type: ignore[union-attr]

    done = op.post("/admin/outbox/retry", data={"csrf_token": csrf, "confirm": "1"})
    assert done.status_code == 200 and "1 failed message(s) queued again." in done.text
    with _services(world.svc).sessions() as db:
        row = db.get(OutboxMessage, ids["reminder"])
        assert row is not None and (row.status, row.attempts) == ("queued", 0)
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "outbox_retry"))
        assert entry is not None and entry.actor == "operator:ops"
        assert entry.after == {"requeued": [ids["reminder"]]}

    # The JSON twin: a dry run lists, the real run requeues (nothing left to requeue).
    assert op.post("/api/v1/outbox/retry", json={"dry_run": True}).json()["ids"] == []
    # Without SMTP "send now" says why, on the page and in JSON.
    no = op.post("/admin/outbox/send", data={"csrf_token": csrf})
    assert no.status_code == 422 and "SMTP is not configured" in no.text
    assert op.post("/api/v1/outbox/send", json={}).status_code == 409
    # A form without its CSRF token changes nothing.
    bare = world.svc.login("ops")
    del bare.headers["X-CSRF-Token"]
    assert bare.post("/admin/outbox/retry", data={"confirm": "1"}).status_code == 403


def test_send_now_with_smtp(
    service_factory: Callable[..., Service],
    smtp_server: Inbox,  # noqa: F811 (the fixture)
) -> None:
    svc = service_factory(
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls=False,
        smtp_from="assess@assess.example", smtp_timeout_s=5,
    )  # fmt: skip
    add_user(svc, "ops", "operator")
    op = svc.login("ops")
    csrf = op.headers["X-CSRF-Token"]
    ids = _seed(svc)

    page = op.get("/admin/outbox")
    assert "Sending by SMTP through" in page.text and "127.0.0.1:" in page.text
    assert "no TLS" in page.text and 'id="send-now"' in page.text
    preview = op.post("/admin/outbox/send", data={"csrf_token": csrf})
    assert "1 queued message(s) would be sent now" in preview.text
    assert smtp_server.messages == []
    assert op.post("/api/v1/outbox/send", json={"dry_run": True}).json()["ids"] == [
        ids["invitation"]
    ]

    done = op.post("/admin/outbox/send", data={"csrf_token": csrf, "confirm": "1"})
    assert "Send now: 1 sent, 0 to retry, 0 failed for good." in done.text
    [got] = smtp_server.messages
    assert got["To"] == "alice@example.org" and got["Bcc"] is None
    with _services(svc).sessions() as db:
        assert db.get(OutboxMessage, ids["invitation"]).status == "sent"  # type: ignore[union-attr]
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "outbox_send"))
        assert entry is not None and entry.after["sent"] == [ids["invitation"]]
    body = op.get("/api/v1/outbox", params={"status": "sent"}).json()
    assert body["smtp_configured"] is True and body["total"] == 2
    sent = {m["id"]: m for m in body["messages"]}
    assert sent[ids["invitation"]]["sent_at"] is not None
    assert sent[ids["invitation"]]["last_attempt_at"] is None
