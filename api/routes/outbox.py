"""The outbox of messages: operators read, send and export it."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["outbox"])
