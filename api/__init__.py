"""The web service (FastAPI). Imports the grader library; the grader never imports this.

Nothing is imported here: `assess --help` and the grading commands load `api.commands`,
which must not pay for FastAPI, SQLAlchemy and Alembic (`api.app.create_app` builds the app).
"""
