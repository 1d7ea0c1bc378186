"""The layers hold: no import circle in grader/ or api/, and nothing in grader/ imports api/.

Every import statement counts — at module level, inside functions, under TYPE_CHECKING —
and importing ``a.b.c`` counts as importing ``a`` and ``a.b`` too, because Python runs
those packages' ``__init__`` first. A lazy import inside a function still makes a circle
the day someone moves it to the top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("grader", "api")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic loads these by path, never by import
                continue
            found[module_name(path)] = path
    return found


def imported(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project modules `name` imports, each with the packages Python runs to get it."""
    known = set(known)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # `from a import b` may import the module a.b
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in known else source)
    edges: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            mod = ".".join(parts[:i])
            # A module's own enclosing packages are already running when it runs.
            if mod in known and mod != name and not name.startswith(mod + "."):
                edges.add(mod)
    return edges


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, found) for name, path in found.items()}


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_sees_the_whole_tree_and_its_known_arrows() -> None:
    g = graph()
    assert len([m for m in g if m.startswith("grader")]) > 40
    assert len([m for m in g if m.startswith("api")]) > 30
    # Arrows the code certainly has, of each kind the walker must resolve.
    assert "api.grading" in g["api.queue"]  # from api.grading import ...
    assert "grader.sandbox" in g["grader.notebook._plan"]  # parent package of sandbox.base
    assert "grader.integrity._pass" in g["grader.integrity"]  # relative-free package import
    assert "grader" in g["api.commands"]


def test_the_circle_finder_finds_circles() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    found = circles(graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_grader_never_imports_the_service() -> None:
    upward = {
        name: sorted(e for e in edges if e == "api" or e.startswith("api."))
        for name, edges in graph().items()
        if name.startswith("grader")
    }
    assert not {k: v for k, v in upward.items() if v}


def _probe(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (nothing imported yet) from the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )


def test_the_command_line_loads_no_service_code_until_a_service_command_runs() -> None:
    """`assess --help` and the grading commands must not pay for the web stack's imports,
    nor for Rich before anything is printed (grader.cli_console)."""
    probe = (
        "import sys, api.commands\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'alembic', 'celery', 'api.app',"
        " 'grader.report', 'grader.pipeline', 'rich') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = _probe(probe)
    assert out.stdout.strip() == "[]", out.stdout


def test_grading_loads_no_notebook_or_report_rendering_code_before_it_needs_them() -> None:
    """Every module imported before a grading's first container starts delays it: the
    notebook code loads for notebook submissions only, the renderer and Rich (about 60 ms
    together) when the command has a report to write or a table to print."""
    probe = (
        "import sys, api.commands, grader.pipeline, grader.sandbox.docker\n"
        "heavy = [m for m in ('grader.notebook', 'grader.render', 'jinja2', 'rich')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = _probe(probe)
    assert out.stdout.strip() == "[]", out.stdout


def test_help_renders_without_the_rich_help_formatter() -> None:
    """`assess --help` prints click's plain help: Typer's Rich formatter imports Rich's
    Markdown and markdown-it (a third of the command's start-up), so every Typer app here
    sets rich_markup_mode=None. Its time is measured in bench/profile_grading.py, not here."""
    probe = (
        "import sys\n"
        "from api.commands import main\n"
        "sys.argv = ['assess', 'task', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('typer.rich_utils', 'rich.markdown', 'markdown_it', 'docker',"
        " 'torch', 'numpy') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    out = _probe(probe)
    assert "validate" in out.stdout, out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_the_command_modules_annotations_are_objects_not_strings() -> None:
    """Typer reads every command's signature at each start: string annotations (``from
    __future__ import annotations``) would be compiled and evaluated there, about 25 ms."""
    probe = (
        "import __future__, api.commands, grader.cli, grader.judge.cli\n"
        "mods = (api.commands, grader.cli, grader.judge.cli)\n"
        "print([m.__name__ for m in mods"
        " if isinstance(getattr(m, 'annotations', None), __future__._Feature)])\n"
        "cmds = [c.callback for a in (grader.cli.app, grader.cli.task_app,"
        " grader.judge.cli.judge_app) for c in a.registered_commands]\n"
        "print(sorted(c.__name__ for c in cmds if any(isinstance(v, str)"
        " for v in c.__annotations__.values())))\n"
    )
    out = _probe(probe)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"], out.stdout
