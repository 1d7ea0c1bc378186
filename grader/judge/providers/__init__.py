"""Providers answer chat messages: :class:`Provider`, the HTTP and the local one."""

from __future__ import annotations

from grader.judge.providers.base import (
    Completion,
    Message,
    Provider,
    ProviderError,
    ProviderTimeout,
)

__all__ = ["Completion", "Message", "Provider", "ProviderError", "ProviderTimeout"]
