"""Streams: mentors, follow-up tasks, applicants' choices, the mentor's ranking and shortlist."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["streams"])
