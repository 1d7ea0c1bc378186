"""The web service (FastAPI). Imports the grader library; the grader never imports this."""

from api.app import create_app

__all__ = ["create_app"]
