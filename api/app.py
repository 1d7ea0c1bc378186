"""App factory. Nothing is built at import time: settings and clients come in here."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

import grader


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    ready: bool
    engine: str
    images: dict[str, bool]


def create_app() -> FastAPI:
    """Build the service app."""
    app = FastAPI(title="assess", version=grader.__version__)

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok", version=grader.__version__)

    @app.get("/readyz", response_model=Readiness)
    def readyz() -> Readiness:
        """Readiness: a container engine answers and the images are built."""
        from grader.errors import SandboxError
        from grader.images import IMAGE_REFS
        from grader.sandbox import docker_sandbox

        try:
            sandbox = docker_sandbox()
        except SandboxError as e:
            return Readiness(ready=False, engine=str(e), images={})
        images: dict[str, bool] = {}
        for name in ("base", "cpu"):
            try:
                sandbox.image_id(IMAGE_REFS[name])
                images[name] = True
            except SandboxError:
                images[name] = False
        return Readiness(ready=all(images.values()), engine="ok", images=images)

    return app
