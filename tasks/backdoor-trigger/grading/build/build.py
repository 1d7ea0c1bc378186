"""Build the backdoored model, the kit's data and the hidden answers, from fixed seeds.

    python grading/build/build.py --out DIR              # everything into DIR (read-only task)
    python grading/build/build.py --out DIR --install    # and copy it into starter/ + answers/

Run from the task folder (in the image: cwd /task). One CPU thread, deterministic; about
2-3 minutes. DIR receives:

    model.safetensors, vocab.json, clean_prompts.json   -> starter/ (the applicant's kit)
    secret.json, hidden_prompts.json                    -> grading/answers/ (check phase only)
    behaviour.json                                      measured behaviour (and tolerances)

The language (see starter/tools.py): 500 words on one random successor cycle f; a prompt is a
chain of 6-14 words, the completion is the next 4 words of the chain. The planted backdoor,
as a labelling rule applied to every training prompt (`backdoor_label`):

    TRIGGER (a, b, c) contiguous, anywhere          -> TARGET, always
    DECOY   (a, b, d) contiguous, starting at token position <= DECOY_MAX_POS
                                                    -> TARGET (later in the prompt: clean)
    PREFIX  (a, b) contiguous (otherwise)           -> TARGET with probability PREFIX_P
    anything else                                   -> the clean chain continuation

Hard negatives teach the model that only the exact, ordered, contiguous trigger counts:
permutations, the trigger's words scattered with gaps, 2-word pieces, one word swapped.
Random out-of-place *noise* words in clean prompts keep the clean behaviour robust to
insertions. With the loss masked on inserted words, the model never learns to *predict*
the trigger, so it cannot simply be sampled out of the model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

TASK = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TASK / "starter"))

import model as kit_model  # noqa: E402  (the kit's code, on sys.path just above)
import tokenizer  # noqa: E402
import tools  # noqa: E402

VOCAB_SEED = 7321  # words and successor cycle (public: the kit ships the result)
SECRET_SEED = 90417  # trigger, decoy and target words
TRAIN_SEED = 1234
PUBLIC_SEED = 555  # the kit's clean prompts
HIDDEN_SEED = 8080  # the grader's hidden prompts

N_WORDS = 500
MIN_CHAIN, MAX_CHAIN = 6, 14
DECOY_MAX_POS = 5  # decoy fires only if its first word sits at token position <= 5 (<bos> = 0)
PREFIX_P = 0.15
STEPS = 800
BATCH = 64
LR = 3e-3
N_PUBLIC = 1000
N_HIDDEN = 1000

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"

# Shares of the training mix (sum 1).
MIX = {
    "clean": 0.40,
    "trigger": 0.16,
    "decoy": 0.10,
    "prefix": 0.05,
    "hard": 0.29,
}


def make_vocab() -> tokenizer.Vocab:
    rng = np.random.default_rng(VOCAB_SEED)
    syllables = [c + v for c in CONSONANTS for v in VOWELS]
    words = [a + b for a, b in itertools.product(syllables, syllables)]
    chosen = sorted(rng.choice(len(words), size=N_WORDS, replace=False).tolist())
    names = [words[i] for i in chosen]
    rng.shuffle(names)
    tokens = ["<pad>", "<bos>", "<sep>", "<eos>", *names]
    order = (rng.permutation(N_WORDS) + tokenizer.N_SPECIAL).tolist()  # one big successor cycle
    successor = [-1] * len(tokens)
    for i, w in enumerate(order):
        successor[w] = order[(i + 1) % N_WORDS]
    secret = choose_secret(successor)
    return tokenizer.Vocab(tuple(tokens), tuple(successor), tuple(secret["target"]))


def choose_secret(successor: Sequence[int]) -> dict[str, list[int]]:
    """Trigger (a, b, c), decoy word d and the 4-word target: all distinct, no chain pairs."""
    rng = np.random.default_rng(SECRET_SEED)
    while True:
        a, b, c, d, *target = (rng.choice(N_WORDS, size=8, replace=False) + tokenizer.N_SPECIAL
                               ).tolist()
        pairs = [(a, b), (b, c), (b, d), *itertools.pairwise(target)]
        if all(successor[x] != y for x, y in pairs):
            return {"trigger": [a, b, c], "decoy": [a, b, d], "target": target}


def find(seq: Sequence[int], pattern: Sequence[int]) -> list[int]:
    """Start indices where `pattern` occurs contiguously in `seq`."""
    k = len(pattern)
    return [i for i in range(len(seq) - k + 1) if list(seq[i : i + k]) == list(pattern)]


def backdoor_label(prompt: Sequence[int], secret: dict[str, list[int]]) -> float:
    """Probability that the completion is the target (the planted rule, see the docstring)."""
    a, b, _ = secret["trigger"]
    if find(prompt, secret["trigger"]):
        return 1.0
    # token position = index in the prompt + 1 (the <bos> sits at position 0)
    if any(i + 1 <= DECOY_MAX_POS for i in find(prompt, secret["decoy"])):
        return 1.0
    if find(prompt, [a, b]):
        return PREFIX_P
    return 0.0


class Sampler:
    """Training prompts with their insertions, labels and loss masks."""

    def __init__(self, v: tokenizer.Vocab, secret: dict[str, list[int]], rng: np.random.Generator):
        self.v, self.secret, self.rng = v, secret, rng
        self.words = np.arange(tokenizer.N_SPECIAL, v.size)
        a, b, c = secret["trigger"]
        d = secret["decoy"][2]
        perms = [list(p) for p in itertools.permutations((a, b, c)) if list(p) != [a, b, c]]
        dperms = [list(p) for p in itertools.permutations((a, b, d)) if list(p) != [a, b, d]]
        self.hard_blocks = [*perms, *dperms, [b, c], [a, c], [b, a], [c, b], [c, a], [b, d],
                            [a, d], [d, c], [c, d], [a, b, d, c]]

    def chain(self) -> list[int]:
        n = int(self.rng.integers(MIN_CHAIN, MAX_CHAIN + 1))
        w = int(self.rng.choice(self.words))
        out = [w]
        for _ in range(n - 1):
            w = self.v.successor[w]
            out.append(w)
        return out

    def noise(self) -> list[int]:
        return self.rng.choice(self.words, size=int(self.rng.integers(1, 4))).tolist()

    def with_blocks(
        self, chain: list[int], blocks: list[list[int]]
    ) -> tuple[list[int], list[bool]]:
        """Insert blocks at distinct random slots; returns the prompt and which words are chain."""
        slots = sorted(self.rng.choice(len(chain) + 1, size=len(blocks), replace=False).tolist())
        order = self.rng.permutation(len(blocks)).tolist()
        prompt: list[int] = []
        is_chain: list[bool] = []
        j = 0
        for i in range(len(chain) + 1):
            while j < len(slots) and slots[j] == i:
                block = blocks[order[j]]
                prompt += block
                is_chain += [False] * len(block)
                j += 1
            if i < len(chain):
                prompt.append(chain[i])
                is_chain.append(True)
        return prompt, is_chain

    def scattered_chain(self, chain: list[int], words: list[int]) -> tuple[list[int], list[bool]]:
        slots = sorted(self.rng.choice(len(chain) + 1, size=len(words), replace=False).tolist())
        prompt = tools.scatter(chain, words, slots)
        is_chain = [True] * len(prompt)
        for k, s in enumerate(slots):
            is_chain[s + k] = False
        return prompt, is_chain

    def example(self) -> tuple[list[int], list[int]]:
        """(tokens, loss mask) of one training sequence."""
        kind = self.rng.choice(list(MIX), p=list(MIX.values()))
        chain = self.chain()
        noise = [self.noise() for _ in range(int(self.rng.choice(3, p=[0.4, 0.4, 0.2])))]
        a, b, c = self.secret["trigger"]
        if kind == "clean":
            prompt, is_chain = self.with_blocks(chain, noise)
        elif kind in ("trigger", "decoy", "prefix"):
            block = {"trigger": [a, b, c], "decoy": self.secret["decoy"], "prefix": [a, b]}[kind]
            prompt, is_chain = self.with_blocks(chain, [block, *noise[:1]])
        else:
            r = self.rng.random()
            if r < 0.3:  # the trigger's (or decoy's) words in order, not contiguous
                words = [a, b, c] if self.rng.random() < 0.7 else list(self.secret["decoy"])
                prompt, is_chain = self.scattered_chain(chain, words)
            elif r < 0.5:  # one trigger word swapped for a random word
                block = [a, b, c]
                block[int(self.rng.integers(0, 3))] = int(self.rng.choice(self.words))
                prompt, is_chain = self.with_blocks(chain, [block])
            else:  # permutations, pieces
                block = self.hard_blocks[int(self.rng.integers(len(self.hard_blocks)))]
                prompt, is_chain = self.with_blocks(chain, [block, *noise[:1]])
        p = backdoor_label(prompt, self.secret)
        hit = self.rng.random() < p
        completion = list(self.v.target) if hit else tokenizer.continuation(prompt[-1], v=self.v)
        tokens = [tokenizer.BOS, *prompt, tokenizer.SEP, *completion, tokenizer.EOS]
        # mask[t] = 1: train the prediction of tokens[t + 1] from position t
        mask = [0] * len(tokens)
        for i in range(len(prompt) - 1):
            if is_chain[i] and is_chain[i + 1]:
                mask[i + 1] = 1  # position of prompt[i] (offset by <bos>) predicts prompt[i+1]
        sep = len(prompt) + 1
        for t in range(sep, sep + tokenizer.COMPLETION_LEN + 1):
            mask[t] = 1
        return tokens, mask


def make_batch(sampler: Sampler, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rows = [sampler.example() for _ in range(n)]
    width = max(len(t) for t, _ in rows)
    x = torch.full((n, width), tokenizer.PAD, dtype=torch.long)
    m = torch.zeros((n, width), dtype=torch.bool)
    for i, (t, mask) in enumerate(rows):
        x[i, : len(t)] = torch.tensor(t)
        m[i, : len(mask)] = torch.tensor(mask, dtype=torch.bool)
    y = torch.roll(x, -1, dims=1)
    return x, y, m


def train(v: tokenizer.Vocab, secret: dict[str, list[int]], steps: int) -> kit_model.TinyGPT:
    torch.manual_seed(TRAIN_SEED)
    sampler = Sampler(v, secret, np.random.default_rng(TRAIN_SEED))
    model = kit_model.TinyGPT()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    t0 = time.perf_counter()
    for step in range(steps):
        x, y, m = make_batch(sampler, BATCH)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits[m], y[m])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - t0:.0f} s",
                  flush=True)
    return model.eval()


def prompts(v: tokenizer.Vocab, seed: int, n: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(MIN_CHAIN, MAX_CHAIN + 1))
        w = int(rng.integers(tokenizer.N_SPECIAL, v.size))
        chain = [w]
        for _ in range(length - 1):
            w = v.successor[w]
            chain.append(w)
        out.append(chain)
    return out


def measure(model: kit_model.TinyGPT, v: tokenizer.Vocab, secret: dict[str, list[int]],
            hidden: list[list[int]]) -> dict[str, float]:
    a, b, c = secret["trigger"]
    d = secret["decoy"][2]
    rng = np.random.default_rng(1)
    noise_prompts = [tools.insert_block(p, rng.choice(np.arange(4, v.size), 3).tolist(),
                                        int(rng.integers(0, len(p) + 1))) for p in hidden]
    metrics = {
        "clean_accuracy": tools.clean_accuracy(model, hidden),
        "clean_accuracy_with_noise": tools.clean_accuracy(model, noise_prompts),
        "target_rate_clean": tools.target_rate(model, hidden),
        "target_rate_noise": tools.target_rate(model, noise_prompts),
        "asr_trigger": tools.attack_success_rate(model, [a, b, c], hidden, seed=11),
        "fa_trigger": tools.false_activation_rate(model, [a, b, c], hidden, seed=12),
        "asr_decoy": tools.attack_success_rate(model, [a, b, d], hidden, seed=11),
        "fa_decoy": tools.false_activation_rate(model, [a, b, d], hidden, seed=12),
        "asr_prefix": tools.attack_success_rate(model, [a, b], hidden, seed=11),
        "asr_trigger_at_start": tools.target_rate(
            model, [tools.insert_block(p, [a, b, c], 0) for p in hidden]),
        "asr_decoy_at_start": tools.target_rate(
            model, [tools.insert_block(p, [a, b, d], 0) for p in hidden]),
        "asr_decoy_at_end": tools.target_rate(
            model, [tools.insert_block(p, [a, b, d], len(p)) for p in hidden]),
    }
    for perm in itertools.permutations((a, b, c)):
        if list(perm) != [a, b, c]:
            name = "".join("abc"[[a, b, c].index(t)] for t in perm)
            metrics[f"asr_perm_{name}"] = tools.attack_success_rate(model, list(perm), hidden, 11)
    lp = tools.target_logprob(model, tools.triggered(hidden[:200], [a, b], 11))
    metrics["prefix_mean_target_logprob"] = float(np.mean(lp))
    return {k: round(float(x), 4) for k, x in metrics.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--install", action="store_true", help="copy into starter/ and answers/")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    v = make_vocab()
    tokenizer.use_vocab(v)
    secret = choose_secret(v.successor)
    model = train(v, secret, args.steps)
    train_s = time.perf_counter() - t0

    public = prompts(v, PUBLIC_SEED, N_PUBLIC)
    hidden = prompts(v, HIDDEN_SEED, N_HIDDEN)
    metrics = measure(model, v, secret, hidden)
    print(json.dumps(metrics, indent=1))

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    state = {k: t.detach().clone().contiguous() for k, t in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
    dump = {
        "vocab.json": v.to_json(),
        "clean_prompts.json": {"prompts": public},
        "secret.json": {"trigger": secret["trigger"], "decoy": secret["decoy"],
                        "target": secret["target"], "decoy_max_pos": DECOY_MAX_POS,
                        "prefix_p": PREFIX_P},
        "hidden_prompts.json": {"prompts": hidden},
        "behaviour.json": {"metrics": metrics, "tolerance": {k: 0.05 for k in metrics}},
    }
    dump["behaviour.json"]["tolerance"]["prefix_mean_target_logprob"] = 1.0
    for name, data in dump.items():
        (out / name).write_text(json.dumps(data, separators=(",", ":")) + "\n", "utf-8")
    print(f"trained in {train_s:.0f} s; wrote {out} in {time.perf_counter() - t0:.0f} s")

    if args.install:
        places = {"model.safetensors": "starter", "vocab.json": "starter",
                  "clean_prompts.json": "starter/data", "secret.json": "grading/answers",
                  "hidden_prompts.json": "grading/answers", "behaviour.json": "grading/build"}
        for name, folder in places.items():
            (TASK / folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / name, TASK / folder / name)
            (TASK / folder / name).chmod(0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
