"""The HTTP provider's transport behaviour against a real HTTP server on loopback.

The server is Python's own http.server, scripted per test: it proves the provider's
retries, backoff, Retry-After, per-call timeout, error lines and headers over real sockets.
It does NOT prove compatibility with a real chat-completions implementation (its answer
bodies are written here): test_http_real.py does that against `transformers serve`.
"""

from __future__ import annotations

import time

import pytest

from grader.judge.providers.base import Message, ProviderError, ProviderTimeout
from grader.judge.providers.http import HttpProvider

from .conftest import ANSWER, Script

MESSAGES: list[Message] = [{"role": "user", "content": "hi"}]


def provider(
    base: str, sleeps: list[float], *, retries: int = 3, backoff_s: float = 0.5
) -> HttpProvider:
    return HttpProvider(
        base,
        "small-model",
        "sk-test-secret",
        retries=retries,
        backoff_s=backoff_s,
        sleep=sleeps.append,
    )


def test_a_429_is_retried_after_the_servers_retry_after(server: tuple[str, list[Script]]) -> None:
    base, scripts = server
    scripts.append(
        Script(
            (429, {"Retry-After": "2"}, {"error": {"message": "slow down"}}, 0),
            (200, {}, ANSWER, 0),
        )
    )
    sleeps: list[float] = []
    p = provider(base, sleeps)
    got = p.complete(MESSAGES, max_tokens=50, seed=7, timeout_s=5)
    assert got.text == '{"level": 4}' and (got.prompt_tokens, got.completion_tokens) == (12, 5)
    assert p.attempts == 2 and sleeps == [2.0]
    path, headers, body = scripts[0].requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test-secret"
    assert body["model"] == "small-model" and body["temperature"] == 0.0 and body["seed"] == 7
    assert body["max_tokens"] == 50 and body["messages"] == MESSAGES


def test_5xx_backs_off_exponentially_and_gives_up(server: tuple[str, list[Script]]) -> None:
    base, scripts = server
    scripts.append(Script((503, {}, {"error": {"message": "overloaded"}}, 0)))
    sleeps: list[float] = []
    p = provider(base, sleeps, retries=3, backoff_s=0.5)
    with pytest.raises(ProviderError, match=r"HTTP 503: overloaded \(4 attempts\)") as e:
        p.complete(MESSAGES, max_tokens=50, seed=0, timeout_s=5)
    assert p.attempts == 4 and sleeps == [0.5, 1.0, 2.0]
    assert "sk-test-secret" not in str(e.value) and "\n" not in str(e.value)


def test_a_client_error_fails_at_once_with_the_servers_message(
    server: tuple[str, list[Script]],
) -> None:
    base, scripts = server
    scripts.append(Script((401, {}, {"error": {"message": "invalid API key"}}, 0)))
    p = provider(base, [])
    with pytest.raises(ProviderError, match="answered HTTP 401: invalid API key"):
        p.complete(MESSAGES, max_tokens=50, seed=0, timeout_s=5)
    assert p.attempts == 1


def test_a_slow_server_times_out_per_call_and_is_retried(server: tuple[str, list[Script]]) -> None:
    base, scripts = server
    scripts.append(Script((200, {}, ANSWER, 1.5)))
    sleeps: list[float] = []
    p = provider(base, sleeps, retries=1)
    t0 = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"timed out after 0.3 s \(2 attempts\)"):
        p.complete(MESSAGES, max_tokens=50, seed=0, timeout_s=0.3)
    assert time.monotonic() - t0 < 1.4  # neither attempt waited for the slow answer
    assert p.attempts == 2


def test_an_answer_without_choices_is_a_clear_error(server: tuple[str, list[Script]]) -> None:
    base, scripts = server
    scripts.append(Script((200, {}, {"object": "list"}, 0)))
    with pytest.raises(ProviderError, match=r"no choices\[0\].message.content"):
        provider(base, []).complete(MESSAGES, max_tokens=50, seed=0, timeout_s=5)


def test_nobody_listening_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    p = provider("http://127.0.0.1:9/v1", sleeps, retries=2)
    with pytest.raises(ProviderError, match="cannot connect"):
        p.complete(MESSAGES, max_tokens=50, seed=0, timeout_s=2)
    assert p.attempts == 3 and len(sleeps) == 2


def test_settings_are_checked_when_the_provider_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSESS_JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("ASSESS_JUDGE_MODEL", raising=False)
    with pytest.raises(ProviderError, match="ASSESS_JUDGE_BASE_URL"):
        HttpProvider()
    monkeypatch.setenv("ASSESS_JUDGE_BASE_URL", "http://127.0.0.1:1/v1/")
    with pytest.raises(ProviderError, match="ASSESS_JUDGE_MODEL"):
        HttpProvider()
    monkeypatch.setenv("ASSESS_JUDGE_MODEL", "m")
    assert HttpProvider().base_url == "http://127.0.0.1:1/v1"
