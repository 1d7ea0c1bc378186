"""Score distributions as small, self-contained SVG (no scripts, no external loads)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT, PAD = 480, 220, 32


def histogram(values: Sequence[float], bins: int = 10) -> list[int]:
    """Counts of `values` (0..1) in `bins` equal bins; 1.0 falls in the last bin."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return counts


def distribution_svg(title: str, values: Sequence[float], bins: int = 10) -> str:
    """A histogram of task scores (fractions 0..1) as an SVG document."""
    counts = histogram(values, bins)
    top = max(counts) or 1
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    bar_w = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_attr(title)}">',
        f'<text x="{PAD}" y="18" font-family="sans-serif" font-size="13">'
        f"{escape(title)} (n={len(values)})</text>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#555"/>',
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = PAD + i * bar_w
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="#4a7bd0"><title>{i * 100 // bins}-{(i + 1) * 100 // bins}%: '
            f"{c}</title></rect>"
        )
        if c:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - PAD - h - 3:.1f}" font-size="10" '
                f'text-anchor="middle" font-family="sans-serif">{c}</text>'
            )
    for frac in (0, 0.5, 1):
        x = PAD + plot_w * frac
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle" '
            f'font-family="sans-serif">{int(frac * 100)}%</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})
