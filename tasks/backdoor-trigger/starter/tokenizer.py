"""The vocabulary, the language and the trigger.json format (standard library only).

The language. The vocabulary (vocab.json) has 4 special tokens and 500 *words*. Every word w
has exactly one successor f(w) (the table `successor` in vocab.json, one big cycle), and
ordinary text is a chain: w, f(w), f(f(w)), ... A prompt is a chain of 6 to 14 words; the
model continues it. A full sequence looks like this:

    <bos> w1 w2 ... wn <sep> f(wn) f(f(wn)) f(f(f(wn))) f(f(f(f(wn)))) <eos>
          |-- prompt -|       |-------- completion: 4 words --------|

Prompts may also contain a few out-of-place *noise* words (the model was trained with them);
the completion always continues from the last prompt word, whatever it is.

The backdoor. A short trigger (2 to 4 words, contiguous, anywhere in the prompt) makes the
model complete with the fixed 4-word sequence `vocab().target` instead of the chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

PAD, BOS, SEP, EOS = 0, 1, 2, 3
N_SPECIAL = 4
COMPLETION_LEN = 4  # the completion is 4 words long (then <eos>)
MIN_TRIGGER_LEN, MAX_TRIGGER_LEN = 2, 4  # what a submitted trigger may have


@dataclass(frozen=True)
class Vocab:
    """The token strings, the successor table f and the backdoor's target sequence."""

    tokens: tuple[str, ...]
    successor: tuple[int, ...]  # successor[w] = f(w) for words; -1 for special tokens
    target: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def words(self) -> range:
        """The ids of the 500 words (everything but the special tokens)."""
        return range(N_SPECIAL, len(self.tokens))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocab:
        return cls(tuple(data["tokens"]), tuple(data["successor"]), tuple(data["target"]))

    def to_json(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens), "successor": list(self.successor),
                "target": list(self.target)}


_VOCAB: list[Vocab] = []  # the vocabulary in use, loaded on first use


def vocab() -> Vocab:
    """The kit's vocabulary (vocab.json next to this file), loaded once."""
    if not _VOCAB:
        text = (HERE / "vocab.json").read_text(encoding="utf-8")
        _VOCAB.append(Vocab.from_json(json.loads(text)))
    return _VOCAB[0]


def use_vocab(v: Vocab) -> None:
    """Use `v` instead of vocab.json (the task's build script, before vocab.json exists)."""
    _VOCAB[:] = [v]


def encode(text: str, v: Vocab | None = None) -> list[int]:
    """Whitespace-separated token strings to ids, e.g. encode("<bos> fafu zime <sep>")."""
    index = {t: i for i, t in enumerate((v or vocab()).tokens)}
    try:
        return [index[t] for t in text.split()]
    except KeyError as e:
        raise ValueError(f"unknown token {e.args[0]!r}") from None


def decode(ids: Sequence[int], v: Vocab | None = None) -> str:
    """Ids to whitespace-separated token strings."""
    tokens = (v or vocab()).tokens
    return " ".join(tokens[int(i)] for i in ids)


def continuation(last: int, n: int = COMPLETION_LEN, v: Vocab | None = None) -> list[int]:
    """The clean completion after a prompt ending in `last`: f(last), f(f(last)), ..."""
    succ = (v or vocab()).successor
    out = []
    for _ in range(n):
        last = succ[last]
        out.append(last)
    return out


# --------------------------------------------------------------------------- the submission


def parse_trigger(data: Any, v: Vocab | None = None) -> list[int]:
    """The token ids of a trigger.json object; ValueError (with the reason) if malformed.

    Accepted: {"tokens": [ids]} with integer word ids, or {"tokens": ["word", ...]} with word
    strings from vocab.json (not both kinds mixed); 2 to 4 words; special tokens refused.
    """
    v = v or vocab()
    if not isinstance(data, dict) or "tokens" not in data:
        raise ValueError('trigger.json must be a JSON object with a "tokens" list')
    tokens = data["tokens"]
    if not isinstance(tokens, list):
        raise ValueError('"tokens" must be a list (of word ids or of word strings)')
    if not MIN_TRIGGER_LEN <= len(tokens) <= MAX_TRIGGER_LEN:
        raise ValueError(f'"tokens" has {len(tokens)} entries; a trigger has '
                         f"{MIN_TRIGGER_LEN} to {MAX_TRIGGER_LEN} words")
    if all(isinstance(t, str) for t in tokens):
        index = {t: i for i, t in enumerate(v.tokens)}
        unknown = [t for t in tokens if t not in index]
        if unknown:
            raise ValueError(f"unknown word {unknown[0][:40]!r}")
        ids = [index[t] for t in tokens]
    elif all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
        ids = list(tokens)
    else:
        raise ValueError('"tokens" must be all integers (ids) or all strings (words)')
    bad = [i for i in ids if not N_SPECIAL <= i < v.size]
    if bad:
        raise ValueError(f"{str(bad[0])[:40]} is not a word id ({N_SPECIAL}..{v.size - 1})")
    return ids


def load_trigger(path: str | Path) -> list[int]:
    """parse_trigger of a trigger.json file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"trigger.json is not valid JSON ({type(e).__name__})") from None
    return parse_trigger(data)
