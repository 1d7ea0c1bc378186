"""`assess judge` and `assess judge agreement` as a user runs them (a subprocess each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, TASK


def assess(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_judge_help_lists_both_commands() -> None:
    got = assess("judge", "--help")
    assert got.returncode == 0
    assert "agreement" in got.stdout and "run" in got.stdout


def test_agreement_from_a_csv_review_set(tmp_path: Path) -> None:
    f = tmp_path / "set.csv"
    rows = ["task,criterion,submission,rater,score"]
    for i, (j, h) in enumerate([(0, 0), (4, 4), (7, 4), (10, 10), (4, 7), (7, 7)]):
        rows += [f"t,c,s{i},judge,{j}", f"t,c,s{i},alice,{h}"]
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = assess("judge", "agreement", str(f), "--json")
    assert got.returncode == 0, got.stderr
    (r,) = json.loads(got.stdout)
    assert (r["task"], r["criterion"], r["n"]) == ("t", "c", 6)
    assert r["mean_offset"] == 0.0 and 0 < r["kappa"] < 1
    assert r["kappa_ci"][0] <= r["kappa"] <= r["kappa_ci"][1]
    table = assess("judge", "agreement", str(f))
    assert table.returncode == 0 and "kappa" in table.stdout and "+0.00" in table.stdout


def test_a_malformed_review_set_is_one_line_and_status_2(tmp_path: Path) -> None:
    f = tmp_path / "set.csv"
    f.write_text("task,criterion,submission,rater,score\nt,c,s,judge,lots\n", encoding="utf-8")
    got = assess("judge", "agreement", str(f))
    assert got.returncode == 2 and got.stdout == ""
    assert "row 1: column 'score' is not a number" in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1


def test_bad_input_to_judge_is_status_2(tmp_path: Path) -> None:
    sub = TASK / "solution"
    no_rubric = assess("judge", "--task", str(ROOT / "tasks" / "linear-probe"), str(sub))
    assert no_rubric.returncode == 2 and "has no rubric.toml" in no_rubric.stderr
    provider = assess("judge", "--task", str(TASK), str(sub), "--provider", "cloud")
    assert provider.returncode == 2 and "--provider must be local or http" in provider.stderr
    criterion = assess(
        "judge",
        "--task",
        str(TASK),
        str(sub),
        "--criterion",
        "style",
        "--provider",
        "http",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
    )
    assert criterion.returncode == 2 and "unknown criterion 'style'" in criterion.stderr
    missing = assess("judge", "--task", str(TASK), str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_an_unreachable_server_is_reported_per_judgment_with_status_1(tmp_path: Path) -> None:
    got = assess(
        "judge",
        "--task",
        str(TASK),
        str(TASK / "solution"),
        "--criterion",
        "communication",
        "--provider",
        "http",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--json",
    )
    assert got.returncode == 1, got.stderr
    run = json.loads(got.stdout)
    (j,) = run["submissions"][0]["judgments"]
    assert (
        j["status"] == "error"
        and j["reason_code"] == "provider"
        and "cannot connect" in j["reason"]
    )
    assert run["errors"] == 1 and not (tmp_path / "cache").exists()  # failures are not cached
    assert run["usage"]["calls"] == 1 and run["usage"]["latency_s"] > 0  # the attempt counts
