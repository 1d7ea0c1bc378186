"""Code similarity by winnowing (Schleimer, Wilkerson, Aiken 2003, the algorithm behind MOSS).

Each code unit (a .py file, a notebook's code cell) is tokenised with Python's own
``tokenize`` and normalised so that what a copier changes cheaply does not matter:

* layout is dropped: comments, blank lines, newlines, indentation (reformatting);
* identifiers become ``V``, except keywords, builtins and attribute names after a dot
  (renaming variables and functions; ``np.mean`` stays ``. mean``);
* numbers become ``N`` and strings ``S`` (changed constants, messages, docstrings).

Every run of K normalised tokens is hashed; in each window of W consecutive hashes the
minimum is kept (winnowing). Any shared run of at least K + W - 1 tokens is guaranteed a
shared fingerprint, and fingerprints remember where their tokens came from, so matching
regions can be shown side by side. Fingerprints that also occur in the starter kit or the
instructions are removed first: the boilerplate everyone was given is not evidence.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

K = 12  # tokens per k-gram: long enough that a shared one is rarely a coincidence
W = 8  # winnowing window: a shared run of K + W - 1 = 19 tokens always matches
_BUILTINS = frozenset(dir(builtins))
_SKIP = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)
_FALLBACK = re.compile(
    r"(?P<name>[A-Za-z_]\w*)|(?P<num>\d[\w.]*)|(?P<str>'[^'\n]*'|\"[^\"\n]*\")|(?P<op>[^\s\w])"
)


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    line: int  # 1-based line in its unit


@dataclass(frozen=True)
class CodeUnit:
    """One piece of code: a file, or a notebook cell (`where` says which)."""

    where: str  # e.g. "probe.py" or "work.ipynb, cell 4"
    source: str


@dataclass
class Fingerprints:
    """A document's winnowed fingerprints: hash -> first (unit, first token, last token)."""

    units: list[CodeUnit]
    tokens: list[list[Token]]
    prints: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    n_tokens: int = 0


def normalise(source: str) -> list[Token]:
    """Tokenise Python source into normalised tokens (see the module docstring)."""
    out: list[Token] = []
    prev = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                continue
            text = tok.string
            if tok.type == tokenize.NAME:
                if not (keyword.iskeyword(text) or text in _BUILTINS or prev == "."):
                    text = "V"
            elif tok.type == tokenize.NUMBER:
                text = "N"
            elif tok.type in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
                text = "S"
            out.append(Token(text, tok.start[0]))
            prev = tok.string
        return out
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return _normalise_loosely(source)


def _normalise_loosely(source: str) -> list[Token]:
    """For code that does not tokenise (notebook magics, syntax errors): a regex lexer."""
    out: list[Token] = []
    prev = ""
    for lineno, line in enumerate(source.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for m in _FALLBACK.finditer(code):
            text = m.group(0)
            if m.lastgroup == "name":
                if not (keyword.iskeyword(text) or text in _BUILTINS or prev == "."):
                    text = "V"
            elif m.lastgroup == "num":
                text = "N"
            elif m.lastgroup == "str":
                text = "S"
            out.append(Token(text, lineno))
            prev = m.group(0)
    return out


def _hash(tokens: list[Token], i: int) -> int:
    gram = "\x1f".join(t.text for t in tokens[i : i + K]).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(gram, digest_size=8).digest(), "big")


def all_hashes(units: list[CodeUnit]) -> set[int]:
    """Every k-gram hash of the units (used for what is excluded: starter, instructions)."""
    found: set[int] = set()
    for unit in units:
        toks = normalise(unit.source)
        found.update(_hash(toks, i) for i in range(len(toks) - K + 1))
    return found


def fingerprint(units: list[CodeUnit], exclude: set[int]) -> Fingerprints:
    """Winnow each unit's k-gram hashes, leaving out those in `exclude`."""
    fp = Fingerprints(units=units, tokens=[])
    for u, unit in enumerate(units):
        toks = normalise(unit.source)
        fp.tokens.append(toks)
        hashes = [_hash(toks, i) for i in range(len(toks) - K + 1)]
        fp.n_tokens += sum(1 for h in hashes if h not in exclude)
        last = -1
        for start in range(max(0, len(hashes) - W + 1) if len(hashes) >= W else 1):
            window = hashes[start : start + W]
            if not window:
                break
            low = min(window)
            pos = start + max(i for i, h in enumerate(window) if h == low)  # rightmost minimum
            if pos != last:
                last = pos
                h = hashes[pos]
                if h not in exclude and h not in fp.prints:
                    fp.prints[h] = (u, pos, pos + K - 1)
    return fp


@dataclass(frozen=True)
class Region:
    """A matching stretch: token ranges in a unit of each side."""

    a_unit: int
    a_first: int
    a_last: int
    b_unit: int
    b_first: int
    b_last: int
    prints: int


def compare(a: Fingerprints, b: Fingerprints) -> tuple[float, list[Region]]:
    """Share of the smaller side's fingerprints found in the other, and the matching regions.

    Regions merge shared fingerprints that follow each other on both sides (same units,
    increasing positions, gaps under a few windows), largest first.
    """
    shared = set(a.prints) & set(b.prints)
    smaller = min(len(a.prints), len(b.prints))
    if not shared or not smaller:
        return 0.0, []
    pairs = sorted((a.prints[h], b.prints[h]) for h in shared)
    regions: list[list[tuple[tuple[int, int, int], tuple[int, int, int]]]] = []
    gap = 3 * W
    for pa, pb in pairs:
        if regions:
            (la, lb) = regions[-1][-1]
            if (
                pa[0] == la[0]
                and pb[0] == lb[0]
                and 0 <= pa[1] - la[1] <= gap
                and 0 <= pb[1] - lb[1] <= gap
            ):
                regions[-1].append((pa, pb))
                continue
        regions.append([(pa, pb)])
    out = [
        Region(
            a_unit=r[0][0][0],
            a_first=min(p[0][1] for p in r),
            a_last=max(p[0][2] for p in r),
            b_unit=r[0][1][0],
            b_first=min(p[1][1] for p in r),
            b_last=max(p[1][2] for p in r),
            prints=len(r),
        )
        for r in regions
    ]
    out.sort(key=lambda r: -r.prints)
    return len(shared) / smaller, out


def lines_of(fp: Fingerprints, unit: int, first: int, last: int) -> tuple[int, int]:
    """1-based first and last source lines covered by tokens first..last of a unit."""
    toks = fp.tokens[unit]
    last = min(last, len(toks) - 1)
    return toks[first].line, toks[last].line
