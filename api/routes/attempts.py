"""Windows and timed attempts: Start, deadlines, extensions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["attempts"])
