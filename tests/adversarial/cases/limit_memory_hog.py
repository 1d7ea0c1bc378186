"""Allocates and touches 2 GB against a 256 MB limit: killed by the kernel, reported."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py("hog = bytearray(2 * 1024 ** 3)\nANSWER = 42\n"),
    status=("graded",),
    max_score=0.0,
    explanation_has=("memory limit",),
)
