"""Prints HTML and script payloads hoping the reviewer's page runs them."""

from tests.adversarial.case import Case, main_py

PAYLOAD = (
    "<script>alert(document.cookie)</script>"
    "<img src=x onerror=alert(1)>"
    "<iframe src=javascript:alert(2)></iframe>"
)

CASE = Case(
    build=main_py(
        f"print({PAYLOAD!r})\nimport sys\nsys.stderr.write({PAYLOAD!r})\nANSWER = None\n"
    ),
    status=("graded",),
    run_log_has=("<script>alert",),  # kept as data in the JSON report...
    html_lacks=("<script>alert", "<img src=x", "<iframe"),  # ...never as markup in the page
)
