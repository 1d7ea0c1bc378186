"""Inline comments on a submission's files, under the reviews' independence rule."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reviewers"])
