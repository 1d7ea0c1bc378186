"""The rubric judge in the service: pre-scores, agreement with reviewers, stand-in decisions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["judging"])
