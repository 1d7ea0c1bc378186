"""Stages and decisions, results release, and regrade requests."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["decisions"])
