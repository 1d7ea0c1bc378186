"""The integrity pass in the service: a copied submission is flagged on both reports, with the
matching code side by side in the reviewer's page; an independent one is not; names never
appear; scores never change; only operators may run it."""

from __future__ import annotations

from tests.api.conftest import World

ORIGINAL = """\
def histogram_of_residues(values, modulus):
    counts = [0] * modulus
    for value in values:
        counts[value % modulus] += 1
    return counts


def most_common_residue(values, modulus):
    counts = histogram_of_residues(values, modulus)
    best_index, best_count = 0, -1
    for index, count in enumerate(counts):
        if count > best_count:
            best_index, best_count = index, count
    return best_index


def collatz_length(start):
    steps = 0
    while start != 1:
        start = start // 2 if start % 2 == 0 else 3 * start + 1
        steps += 1
    return steps


ANSWER = 6 * 7 + most_common_residue([collatz_length(n) for n in range(1, 50)], 7) * 0
"""

# The same program with every name changed and the layout reflowed.
RENAMED = """\
def tally(xs, m):
    bins = [0] * m
    for x in xs:
        bins[x % m] += 1
    return bins


def top_bin(xs, m):
    bins = tally(xs,
                 m)
    arg, hi = 0, -1
    for i, c in enumerate(bins):
        if c > hi:
            arg, hi = i, c
    return arg


def steps_to_one(n):
    k = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        k += 1
    return k


ANSWER = 6 * 7 + top_bin([steps_to_one(q) for q in range(1, 50)], 7) * 0
"""

# A different, independent solution of the same size.
INDEPENDENT = """\
import math


class Accumulator:
    def __init__(self):
        self.total = 0.0
        self.items = []

    def add(self, item):
        self.items.append(item)
        self.total += math.sqrt(abs(item))
        return self

    def summary(self):
        ordered = sorted(self.items, reverse=True)
        head = ordered[:3]
        return {"n": len(self.items), "top": head, "root_sum": round(self.total, 3)}


acc = Accumulator()
for k in range(20):
    acc.add(k * k - 7)
print(acc.summary())
ANSWER = int("42")
"""


# Bob's second attempt: his own program, like neither of the others.
OWN_WORK = """\
import itertools


def primes(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\\x00\\x00"
    for n in range(2, int(limit ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(sieve[n * n :: n]))
    return [n for n, keep in enumerate(sieve) if keep]


pairs = [(p, q) for p, q in itertools.pairwise(primes(500)) if q - p == 2]
text = ", ".join(f"{p}/{q}" for p, q in pairs[:5])
print(text)
ANSWER = len("twin primes under five hundred") + 12
"""


def _upload(world: World, client: object, code: str) -> int:
    sid: int = world.svc.upload(client, {"main.py": code}).json()["id"]  # type: ignore[arg-type]
    assert world.svc.wait(client, sid)["status"] == "graded"  # type: ignore[arg-type]
    return sid


def _report(world: World, sid: int) -> dict[str, object]:
    r = world.reviewer.get(f"/api/v1/submissions/{sid}/report")
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _integrity_flags(report: dict[str, object]) -> list[dict[str, str]]:
    flags = report["flags"]
    assert isinstance(flags, list)
    return [f for f in flags if f["kind"].startswith("integrity")]


def test_copied_submission_is_flagged_on_both_reports_with_evidence(world: World) -> None:
    r = world.operator.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "carol@example.org", "name": "Carol"}
    )
    carol = world.svc.applicant(r.json()["token"])
    a = _upload(world, world.alice, ORIGINAL)
    b = _upload(world, world.bob, RENAMED)
    c = _upload(world, carol, INDEPENDENT)
    scores_before = {s: _report(world, s)["score"] for s in (a, b, c)}

    # Only operators run it.
    assert world.reviewer.post("/api/v1/tasks/py-exec/integrity").status_code == 403
    assert world.svc.anonymous().post("/api/v1/tasks/py-exec/integrity").status_code == 401

    r = world.operator.post("/api/v1/tasks/py-exec/integrity")
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["compared"] == 3
    pairs = [(p["a"], p["b"], p["kind"]) for p in result["flagged_pairs"]]
    assert pairs == [(f"submission-{a}", f"submission-{b}", "code")], pairs

    for mine, other in ((a, b), (b, a)):
        flags = _integrity_flags(_report(world, mine))
        assert len(flags) == 1 and f"submission-{other}" in flags[0]["detail"], flags
        page = world.reviewer.get(f"/review/submissions/{mine}/report.html").text
        # The evidence, side by side: each side's own code appears in the page.
        assert "collatz_length" in page and "steps_to_one" in page
    assert _integrity_flags(_report(world, c)) == []

    # Blind: no name or e-mail anywhere in what the pass produced; scores untouched.
    for s in (a, b, c):
        text = world.reviewer.get(f"/review/submissions/{s}/report.html").text
        report = _report(world, s)
        for secret in ("alice", "Alice", "bob@", "Bob", "carol", "Carol"):
            assert secret not in text and secret not in str(report["flags"])
        assert report["score"] == scores_before[s]

    # Re-running replaces the flags rather than adding more; the audit log records each pass.
    world.operator.post("/api/v1/tasks/py-exec/integrity")
    assert len(_integrity_flags(_report(world, a))) == 1
    audit = world.operator.get("/api/v1/audit").json()
    assert [e["action"] for e in audit].count("integrity") == 2


def test_operator_runs_the_pass_from_the_task_page(world: World) -> None:
    _upload(world, world.alice, ORIGINAL)
    _upload(world, world.bob, RENAMED)
    page = world.operator.get("/review/tasks/py-exec").text
    assert 'id="run-integrity"' in page
    assert 'id="run-integrity"' not in world.reviewer.get("/review/tasks/py-exec").text
    r = world.operator.post("/review/tasks/py-exec/integrity", follow_redirects=True)
    assert r.status_code == 200
    assert "2 submissions compared" in r.text and "1 pair(s) flagged" in r.text


def test_the_pass_flags_reach_the_dashboard_for_every_reviewer(world: World) -> None:
    """The machine's flags are no reviewer's judgement: shown to reviewers who have not
    reviewed anything, filterable as ``flagged=auto``; a re-run that no longer finds the
    pair clears them."""
    r = world.operator.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "carol@example.org", "name": "Carol"}
    )
    carol = world.svc.applicant(r.json()["token"])
    a = _upload(world, world.alice, ORIGINAL)
    b = _upload(world, world.bob, RENAMED)
    c = _upload(world, carol, INDEPENDENT)
    rev = world.reviewer
    assert rev.get("/api/v1/submissions", params={"flagged": "true"}).json()["items"] == []
    assert world.operator.post("/api/v1/tasks/py-exec/integrity").status_code == 200

    for params in ({"flagged": "true"}, {"flagged": "auto"}):
        items = rev.get("/api/v1/submissions", params=params).json()["items"]
        assert {i["id"] for i in items} == {a, b}, params
        assert all(i["integrity_auto"] and not i["integrity_flag"] for i in items)
    assert rev.get("/api/v1/submissions", params={"flagged": "reviewer"}).json()["items"] == []
    unflagged = rev.get("/api/v1/submissions", params={"flagged": "false"}).json()["items"]
    assert [i["id"] for i in unflagged] == [c]
    html = rev.get("/review", params={"flagged": "auto"}).text
    assert f'data-id="{a}"' in html and f'data-id="{b}"' in html and f'data-id="{c}"' not in html
    assert html.count("similarity (automatic)") == 2

    # Bob replaces his copy with a program of his own: the next pass clears Alice's flag, and
    # his new submission has none.
    b2 = _upload(world, world.bob, OWN_WORK)
    assert world.operator.post("/api/v1/tasks/py-exec/integrity").status_code == 200
    assert rev.get("/api/v1/submissions", params={"flagged": "auto"}).json()["items"] == []
    assert _integrity_flags(_report(world, a)) == []
    everything = rev.get("/api/v1/submissions", params={"superseded": "include"}).json()["items"]
    assert {i["id"] for i in everything} == {a, b, b2, c}


def test_the_cli_pass_prints_one_line_per_flagged_pair(world: World) -> None:
    from api.cli import integrity

    a = _upload(world, world.alice, ORIGINAL)
    b = _upload(world, world.bob, RENAMED)
    lines: list[str] = []
    assert integrity(world.svc.settings, "py-exec", echo=lines.append) == 1
    label_a = world.reviewer.get(f"/api/v1/submissions/{a}").json()["applicant"]
    label_b = world.reviewer.get(f"/api/v1/submissions/{b}").json()["applicant"]
    pair = lines[0]
    assert (
        pair.startswith(f"#{a} ({label_a}, applicant ") and f"~ #{b} ({label_b}, applicant " in pair
    )
    assert ": code " in pair and "% similar (threshold " in pair
    assert "alice" not in pair.lower() and "bob" not in pair.lower()
    assert "2 submissions compared" in lines[-1] and "1 pair(s) flagged" in lines[-1]
    # The CLI's pass is the same pass: the dashboard shows its flags.
    items = world.reviewer.get("/api/v1/submissions", params={"flagged": "auto"}).json()["items"]
    assert {i["id"] for i in items} == {a, b}
    try:
        integrity(world.svc.settings, "no-such-task", echo=lines.append)
    except SystemExit as e:
        assert "no task 'no-such-task'" in str(e)
    else:
        raise AssertionError("an unknown task must stop the command")


def test_assess_integrity_pass_runs_the_same_pass(world: World) -> None:
    """`assess integrity-pass TASK` (api/commands.py) over the service's own storage."""
    from typer.testing import CliRunner

    from api.commands import app

    _upload(world, world.alice, ORIGINAL)
    _upload(world, world.bob, RENAMED)
    s = world.svc.settings
    args = ["integrity-pass", "py-exec", "--data-dir", str(s.data_dir)]
    args += ["--database-url", s.db_url]
    for folder in s.tasks_dirs:
        args += ["--tasks", str(folder)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "1 pair(s) flagged" in r.output and "% similar (threshold " in r.output
    r = CliRunner().invoke(app, ["integrity-pass", "no-such-task", *args[2:]])
    assert r.exit_code != 0 and "no task 'no-such-task'" in r.output
