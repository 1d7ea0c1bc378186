"""Reviewers' queues: assignment, "my queue", progress."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reviewers"])
