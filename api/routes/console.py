"""The operator console in HTML: cohorts, invitations, users, audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["console"])
