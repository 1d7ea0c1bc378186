"""Put an integrity pass's flags and evidence into the reports already written for a task."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from grader.integrity._pass import IntegrityResult
from grader.report import Report
from grader.similarity import Pair

KINDS = frozenset({"integrity", "integrity-reference"})
EVIDENCE_SUFFIX = ".integrity.json"


def load_evidence(dest_dir: Path, stem: str) -> list[Pair]:
    """The evidence kept next to a report by :func:`apply_to_reports` (empty if none)."""
    path = dest_dir / f"{stem}{EVIDENCE_SUFFIX}"
    if not path.is_file():
        return []
    try:
        return [Pair.model_validate(p) for p in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, ValidationError, TypeError):
        return []


def apply_to_reports(result: IntegrityResult, dest_dir: Path) -> list[Path]:
    """Flag every report in `dest_dir` (``<stem>.json``) whose submission is in a pair.

    A report's earlier integrity flags are replaced, so the pass can be re-run. Its evidence
    goes to ``<stem>.integrity.json`` and into the re-rendered ``<stem>.html``, side by side.
    Reports of submissions not compared in this pass are left alone.

    Returns:
        The JSON reports that were rewritten.
    """
    from grader.render import write_report

    compared = set(result.compared)
    written: list[Path] = []
    for path in sorted(dest_dir.glob("*.json")):
        if path.name.endswith(EVIDENCE_SUFFIX):
            continue
        try:
            report = Report.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValueError, ValidationError):
            continue  # not a report
        sha = report.submission.sha256
        if not sha or sha not in compared:
            continue
        pairs = result.for_submission(sha)
        kept = [f for f in report.flags if f.kind not in KINDS]
        updated = report.model_copy(update={"flags": kept + [p.flag() for p in pairs]})
        stem = path.name.removesuffix(".json")
        evidence = dest_dir / f"{stem}{EVIDENCE_SUFFIX}"
        evidence.write_text(
            json.dumps([p.model_dump(mode="json") for p in pairs], indent=2) + "\n",
            encoding="utf-8",
        )
        artifacts = dest_dir / f"{stem}.outputs"
        write_report(
            updated,
            dest_dir,
            stem=stem,
            artifacts=artifacts if artifacts.is_dir() else None,
            integrity=pairs,
        )
        written.append(path)
    return written
