"""The provider interface: chat messages in, text and token counts out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict

from grader.errors import AssessError


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


class ProviderError(AssessError):
    """The provider could not answer (after its retries); the message is one line."""


class ProviderTimeout(ProviderError):
    """One call ran past its time limit."""


class Provider(Protocol):
    """Something that completes a chat. Deterministic settings are the caller's to pass."""

    name: str

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int,
        timeout_s: float,
    ) -> Completion: ...
