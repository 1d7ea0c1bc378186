"""OpenAI-compatible chat completions over HTTP (hosted APIs, vLLM, llama.cpp's server, Ollama).

Settings come from the environment unless given: ``ASSESS_JUDGE_BASE_URL`` (e.g.
``http://127.0.0.1:8080/v1``), ``ASSESS_JUDGE_MODEL``, ``ASSESS_JUDGE_API_KEY`` (sent as a
bearer token; never logged or stored). Standard library only: urllib.

Transient failures (HTTP 429 and 5xx, timeouts, refused or reset connections) are retried
with exponential backoff, at most `retries` times; a ``Retry-After`` header is honoured up
to `max_backoff_s`. Other 4xx answers fail at once. Each attempt is bounded by the call's
`timeout_s`: connecting and every read wait at most that long, and an answer still
arriving when the attempt's total time passes it is abandoned.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from grader.judge.providers.base import Completion, Message, ProviderError, ProviderTimeout

ENV_BASE_URL = "ASSESS_JUDGE_BASE_URL"
ENV_MODEL = "ASSESS_JUDGE_MODEL"
ENV_API_KEY = "ASSESS_JUDGE_API_KEY"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class _Transient(Exception):
    """An attempt failed in a way worth retrying; `wait_s` is the server's Retry-After."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class HttpProvider:
    """Chat completions at ``{base_url}/chat/completions``."""

    name = "http"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = (base_url or os.environ.get(ENV_BASE_URL, "")).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ProviderError(
                f"judge HTTP provider: base URL {base!r} must start with http:// or https:// "
                f"(set --base-url or {ENV_BASE_URL})"
            )
        self.base_url = base
        self.model = model or os.environ.get(ENV_MODEL, "")
        if not self.model:
            raise ProviderError(f"judge HTTP provider: no model named (set --model or {ENV_MODEL})")
        self._api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self.attempts = 0  # attempts made over this provider's life (tests read it)

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int,
        timeout_s: float,
    ) -> Completion:
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "stream": False,
        }
        data = json.dumps(body).encode()
        start = time.monotonic()
        last = ""
        for attempt in range(self.retries + 1):
            try:
                answer = self._post(data, timeout_s)
                return _completion(answer, time.monotonic() - start)
            except _Transient as e:
                last = str(e)
                if attempt == self.retries:
                    break
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                if e.wait_s is not None:
                    delay = min(self.max_backoff_s, max(delay, e.wait_s))
                self._sleep(delay)
        if last.startswith("timed out"):
            raise ProviderTimeout(
                f"judge HTTP provider: {self.base_url}: {last} ({self.retries + 1} attempts)"
            )
        raise ProviderError(
            f"judge HTTP provider: {self.base_url}: {last} ({self.retries + 1} attempts)"
        )

    def _post(self, data: bytes, timeout_s: float) -> dict[str, Any]:
        self.attempts += 1
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=data, headers=headers, method="POST"
        )
        deadline = time.monotonic() + timeout_s
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw = _read_until(response, deadline)
        except urllib.error.HTTPError as e:
            detail = _error_detail(e)
            if e.code in _RETRY_STATUS:
                raise _Transient(f"HTTP {e.code}{detail}", _retry_after(e)) from None
            raise ProviderError(
                f"judge HTTP provider: {self.base_url} answered HTTP {e.code}{detail}"
            ) from None
        except TimeoutError:
            raise _Transient(f"timed out after {timeout_s:g} s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise _Transient(f"timed out after {timeout_s:g} s") from None
            raise _Transient(f"cannot connect: {e.reason}") from None
        except (ConnectionError, OSError) as e:
            raise _Transient(f"connection failed: {e}") from None
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ProviderError(
                f"judge HTTP provider: {self.base_url} answered something that is not JSON"
            ) from None
        if not isinstance(answer, dict):
            raise ProviderError(f"judge HTTP provider: {self.base_url}: answer is not an object")
        return answer


def _read_until(response: Any, deadline: float) -> bytes:
    """The body, read in chunks; a server that trickles past the deadline times out."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderError(
                f"judge HTTP provider: answer larger than {MAX_RESPONSE_BYTES} bytes"
            )
        chunks.append(chunk)


def _completion(answer: dict[str, Any], latency_s: float) -> Completion:
    try:
        text = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError(
            "judge HTTP provider: answer has no choices[0].message.content"
        ) from None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    return Completion(
        text=text if isinstance(text, str) else "",
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        latency_s=round(latency_s, 4),
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    value = e.headers.get("Retry-After") if e.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _error_detail(e: urllib.error.HTTPError) -> str:
    """': <the server's message>' on one line, short; empty when there is none."""
    try:
        body = e.read(2000).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        parsed = json.loads(body)
        message = parsed.get("error", {}).get("message") if isinstance(parsed, dict) else None
        if isinstance(message, str):
            body = message
    except (json.JSONDecodeError, AttributeError):
        pass
    text = " ".join(body.split())[:200]
    return f": {text}" if text else ""
