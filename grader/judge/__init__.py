"""Model-graded rubric pre-scores: a judge proposes a level per criterion, humans decide.

One prompt per rubric criterion (:mod:`grader.judge.prompt`), sent to a provider
(:mod:`grader.judge.providers`: OpenAI-compatible HTTP or a local SmolLM2), answered as
JSON and validated (:mod:`grader.judge.validate`): the level must be one of the criterion's
levels and every quote must appear verbatim in the submission, else the judgment is
discarded and counted. Injection-like passages in a submission are found and a judgment
that mirrors them is flagged for humans. :mod:`grader.judge.agreement` measures how far the
judge agrees with human reviewers.

This package's ``__init__`` imports nothing: ``assess --help`` loads :mod:`grader.judge.cli`
through it and must stay quick.
"""
