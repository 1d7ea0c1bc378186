"""The similarity pass over a task's submissions, and the reference texts of its authors."""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from grader.errors import IntakeError
from grader.intake import intake
from grader.integrity import _code as code
from grader.integrity import _prose as prose
from grader.similarity import Pair, Span
from grader.task import Task, iter_files

MAX_FILE_BYTES = 2_000_000
MAX_SPANS = 5
MAX_SPAN_LINES = 40
CODE_SUFFIXES = (".py",)
PROSE_SUFFIXES = (".md", ".txt", ".rst")
REFERENCES = "grading/integrity"


@dataclass
class Document:
    """What one submission (or reference text) contributes: code units and prose passages."""

    label: str
    sha256: str
    code: list[code.CodeUnit] = field(default_factory=list)
    passages: list[prose.Passage] = field(default_factory=list)
    reference: bool = False


def _read_text(path: Path) -> str | None:
    if path.stat().st_size > MAX_FILE_BYTES:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _cell_source(cell: object) -> str:
    src = cell.get("source") if isinstance(cell, dict) else None
    return "".join(str(s) for s in src) if isinstance(src, list) else str(src or "")


def read_folder(root: Path, label: str, sha256: str = "", *, reference: bool = False) -> Document:
    """Collect code (.py, notebook code cells) and prose (.md/.txt/.rst, Markdown cells)."""
    doc = Document(label=label, sha256=sha256, reference=reference)
    for path in iter_files(root) if root.is_dir() else [root]:
        rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
        text = _read_text(path)
        if text is None:
            continue
        suffix = path.suffix.lower()
        if suffix in CODE_SUFFIXES:
            doc.code.append(code.CodeUnit(rel, text))
        elif suffix in PROSE_SUFFIXES:
            doc.passages += prose.split_passages(rel, text)
        elif suffix == ".ipynb":
            try:
                nb = json.loads(text)
            except (ValueError, RecursionError):
                continue
            cells = nb.get("cells") if isinstance(nb, dict) else None
            for i, cell in enumerate(cells if isinstance(cells, list) else []):
                kind = cell.get("cell_type") if isinstance(cell, dict) else None
                where = f"{rel}, cell {i + 1}"
                if kind == "code":
                    doc.code.append(code.CodeUnit(where, _cell_source(cell)))
                elif kind == "markdown":
                    doc.passages += prose.split_passages(where, _cell_source(cell))
    return doc


def _fenced_code(text: str) -> list[str]:
    return re.findall(r"```(?:python|py)?\n(.*?)```", text, flags=re.DOTALL)


class IntegrityResult(BaseModel):
    """The pass over one task: every flagged pair, once, with its evidence."""

    task: str
    version: str
    submissions: int
    references: int
    code_method: str
    prose_method: str
    pairs: list[Pair]
    compared: list[str]  # sha256 of every submission compared
    skipped: list[str]  # submissions rejected at intake, with why

    def for_submission(self, sha256: str) -> list[Pair]:
        """The flagged pairs involving `sha256`, each seen from its side."""
        out = []
        for p in self.pairs:
            if p.a_sha256 == sha256:
                out.append(p)
            elif p.b_sha256 == sha256 and not p.reference:
                out.append(p.mirrored())
        return out


def _excerpt(unit_source: str, first: int, last: int) -> str:
    lines = unit_source.splitlines()
    last = min(last, first + MAX_SPAN_LINES - 1)
    body = "\n".join(lines[first - 1 : last])
    return body if len(body) <= 6000 else body[:6000] + "\n[...]"


def _code_spans(
    a: code.Fingerprints, b: code.Fingerprints, regions: list[code.Region]
) -> list[Span]:
    spans = []
    for r in regions[:MAX_SPANS]:
        a1, a2 = code.lines_of(a, r.a_unit, r.a_first, r.a_last)
        b1, b2 = code.lines_of(b, r.b_unit, r.b_first, r.b_last)
        spans.append(
            Span(
                a_where=a.units[r.a_unit].where,
                a_lines=f"{a1}-{a2}",
                a_text=_excerpt(a.units[r.a_unit].source, a1, a2),
                b_where=b.units[r.b_unit].where,
                b_lines=f"{b1}-{b2}",
                b_text=_excerpt(b.units[r.b_unit].source, b1, b2),
            )
        )
    return spans


def _prose_spans(matches: list[prose.PassageMatch]) -> list[Span]:
    return [
        Span(
            a_where=m.a.where,
            a_lines="",
            a_text=m.a.text,
            b_where=m.b.where,
            b_lines="",
            b_text=m.b.text,
            similarity=round(m.similarity, 3),
        )
        for m in matches[:MAX_SPANS]
    ]


def _candidate_pairs(prints: Sequence[code.Fingerprints]) -> set[tuple[int, int]]:
    """Pairs of documents sharing at least one fingerprint (an inverted index, not n^2)."""
    index: dict[int, list[int]] = defaultdict(list)
    for i, fp in enumerate(prints):
        for h in fp.prints:
            index[h].append(i)
    pairs: set[tuple[int, int]] = set()
    for docs in index.values():
        if len(docs) > 1:
            pairs.update((x, y) for n, x in enumerate(docs) for y in docs[n + 1 :])
    return pairs


def compare_documents(
    task: Task,
    docs: list[Document],
    references: list[Document],
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Pair], str, str]:
    """All flagged pairs among `docs`, and between each of `docs` and each reference."""
    cfg = task.spec.integrity
    given = _given(task)
    given_code = list(given.code)
    given_code += [
        code.CodeUnit("instructions.md", s)
        for s in _fenced_code(_read_text(task.root / "instructions.md") or "")
    ]
    exclude = code.all_hashes(given_code)
    sim = prose.similarity(
        passage_similarity=cfg.prose_passage_similarity,
        ngram_similarity=cfg.prose_ngram_similarity,
    )
    given_prose = given.passages
    everyone = docs + references
    prints = [code.fingerprint(d.code, exclude) for d in everyone]
    passages = [prose.drop_shared(d.passages, given_prose, sim) for d in everyone]
    if progress:
        progress(f"compared with the starter; prose by {sim.method}")
    pairs: list[Pair] = []
    n = len(docs)
    # code: only pairs that share a fingerprint can be similar
    for i, j in sorted(_candidate_pairs(prints)):
        if i >= n and j >= n:
            continue  # two references
        if min(prints[i].n_tokens, prints[j].n_tokens) < cfg.min_code_tokens:
            continue
        score, regions = code.compare(prints[i], prints[j])
        if score >= cfg.code_threshold:
            pairs.append(
                _pair(everyone[i], everyone[j], "code", score, cfg.code_threshold, "winnowing",
                      _code_spans(prints[i], prints[j], regions))
            )  # fmt: skip
    # prose: every pair with enough prose on both sides
    sizes = [sum(len(p.text) for p in ps) for ps in passages]
    for i in range(n):
        if sizes[i] < cfg.min_prose_chars:
            continue
        for j in range(i + 1, len(everyone)):
            if sizes[j] < cfg.min_prose_chars:
                continue
            score, matches = prose.compare(passages[i], passages[j], sim)
            if score >= cfg.prose_threshold:
                pairs.append(
                    _pair(everyone[i], everyone[j], "prose", score, cfg.prose_threshold,
                          sim.method, _prose_spans(matches))
                )  # fmt: skip
    pairs.sort(key=lambda p: (p.reference, -p.score, p.a, p.b))
    return pairs, "winnowing (token k-grams)", sim.method


def _pair(
    a: Document, b: Document, kind: Literal["code", "prose"], score: float, threshold: float,
    method: str, spans: list[Span],
) -> Pair:  # fmt: skip
    # Documents are ordered submissions first, references last: `a` is always a submission.
    return Pair(
        a=a.label,
        a_sha256=a.sha256,
        b=b.label,
        b_sha256=b.sha256,
        kind=kind,
        score=round(score, 4),
        threshold=threshold,
        method=method,
        reference=b.reference,
        spans=spans,
    )


def _given(task: Task) -> Document:
    """What every applicant was given: the starter kit and the instructions."""
    doc = read_folder(task.starter, "starter")
    doc.passages += prose.split_passages(
        "instructions.md", _read_text(task.root / "instructions.md") or ""
    )
    return doc


def load_references(task: Task) -> list[Document]:
    """The author's reference texts in grading/integrity/ (e.g. assistants' answers)."""
    root = task.root / REFERENCES
    if not root.is_dir():
        return []
    docs = []
    for path in iter_files(root):
        rel = path.relative_to(root).as_posix()
        docs.append(read_folder(path, f"reference:{rel}", reference=True))
    return docs


def run_integrity(
    task: Task,
    submissions: Iterable[Path],
    *,
    labels: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> IntegrityResult:
    """Compare every pair of `submissions` of `task`, and each with the reference texts.

    Each submission goes through intake (so its sha256 is the one in its report); one that
    intake rejects is skipped and listed. Nothing is executed.
    """
    subs = list(submissions)
    names = list(labels) if labels is not None else [p.name for p in subs]
    docs: list[Document] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="assess-integrity-") as tmp:
        for k, (path, label) in enumerate(zip(subs, names, strict=True)):
            try:
                sub = intake(
                    path,
                    task.spec.submission,
                    Path(tmp) / str(k),
                    notebook=task.spec.notebook,
                )
            except IntakeError as e:
                skipped.append(f"{label}: {e}")
                continue
            docs.append(read_folder(sub.root, label, sub.ref.sha256))
        references = load_references(task)
        pairs, code_method, prose_method = compare_documents(
            task, docs, references, progress=progress
        )
    return IntegrityResult(
        task=task.id,
        version=task.spec.version,
        submissions=len(docs),
        references=len(references),
        code_method=code_method,
        prose_method=prose_method,
        pairs=pairs,
        compared=[d.sha256 for d in docs],
        skipped=skipped,
    )
