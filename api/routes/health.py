"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

import grader
from api.core.db import ping
from api.deps import ServicesDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    ready: bool
    engine: str
    images: dict[str, bool]
    db: str
    queue: str


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok", version=grader.__version__)


@router.get("/readyz", response_model=Readiness)
def readyz(services: ServicesDep) -> Readiness:
    """Readiness: the database is migrated, the queue answers, an engine and images exist."""
    from grader.errors import SandboxError
    from grader.images import IMAGE_REFS
    from grader.sandbox import docker_sandbox

    db = ping(services.engine)
    queue = services.queue.health() if services.queue else "not started"
    try:
        sandbox = docker_sandbox()
    except SandboxError as e:
        return Readiness(ready=False, engine=str(e), images={}, db=db, queue=queue)
    images: dict[str, bool] = {}
    for name in ("base", "cpu"):
        try:
            sandbox.image_id(IMAGE_REFS[name])
            images[name] = True
        except SandboxError:
            images[name] = False
    ready = all(images.values()) and db == "ok" and queue.startswith("ok")
    return Readiness(ready=ready, engine="ok", images=images, db=db, queue=queue)
