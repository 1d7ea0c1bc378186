"""Similarity evidence: pairs of submissions above a threshold and their matching regions.

A leaf module: the integrity pass produces these and the report renderer shows them, so
neither has to import the other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from grader.report import Flag


class Span(BaseModel):
    """One matching region, shown side by side: this submission's text and the other's."""

    a_where: str
    a_lines: str
    a_text: str
    b_where: str
    b_lines: str
    b_text: str
    similarity: float | None = None  # prose passages: their similarity


class Pair(BaseModel):
    """Two submissions (or a submission and a reference text) above a threshold."""

    a: str
    a_sha256: str
    b: str
    b_sha256: str
    kind: Literal["code", "prose"]
    score: float
    threshold: float
    method: str
    reference: bool  # b is an author's reference text (grading/integrity/), not a submission
    spans: list[Span]

    def mirrored(self) -> Pair:
        """The same pair seen from b's side."""
        return self.model_copy(
            update={
                "a": self.b,
                "a_sha256": self.b_sha256,
                "b": self.a,
                "b_sha256": self.a_sha256,
                "spans": [
                    s.model_copy(
                        update={
                            "a_where": s.b_where,
                            "a_lines": s.b_lines,
                            "a_text": s.b_text,
                            "b_where": s.a_where,
                            "b_lines": s.a_lines,
                            "b_text": s.a_text,
                        }
                    )
                    for s in self.spans
                ],
            }
        )

    def flag(self) -> Flag:
        """The report flag for side a."""
        what = "reference text" if self.reference else "submission"
        sha = f" ({self.b_sha256[:12]})" if self.b_sha256 else ""
        where = "; ".join(
            f"{s.a_where}:{s.a_lines} ~ {s.b_where}:{s.b_lines}" for s in self.spans[:3]
        )
        return Flag(
            kind="integrity-reference" if self.reference else "integrity",
            detail=(
                f"{self.kind} {self.score:.0%} similar to {what} {self.b}{sha} "
                f"(threshold {self.threshold:.0%}, {self.method}); "
                f"{len(self.spans)} matching region(s): {where}. "
                "For review, never an automatic penalty."
            ),
        )
