"""Ships a conftest.py that would force every pytest test to pass; nothing runs pytest on it."""

from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    sub = dest / "sub"
    sub.mkdir()
    (sub / "main.py").write_text("ANSWER = None\n")
    (sub / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n"
        "print('CONFTEST-LOADED')\n"
    )
    return sub


CASE = Case(build=build, status=("graded",), run_log_lacks=("CONFTEST-LOADED",))
