"""Rewrite a task's whole-copy bad cases as variants of solution/ or starter/ (grader.cases).

    .venv/bin/python scripts/bad-cases-as-variants.py tasks/training-bugs [--write]

For each case, picks the base with the smaller difference, writes `base`, `remove` and
`replace` into its expect.toml (keeping every other line), deletes the files the variant
no longer needs, and checks that the built variant equals the old case byte for byte.
Without --write it only reports what it would do.
"""

from __future__ import annotations

import filecmp
import json
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from grader.cases import build_case, variant_of
from grader.spec import EXPECT_FILE, load_expectation
from grader.task import iter_files, load_task


def toml_string(s: str) -> str:
    """A TOML string: a multi-line literal where it can be one, else a basic string."""
    if "'''" not in s and "\r" not in s and not s.endswith("'") and all(
        c in "\n\t" or ord(c) >= 32 for c in s
    ):
        return "'''\n" + s + "'''"
    return json.dumps(s)


def main(task_dir: str, write: bool) -> int:
    task = load_task(task_dir)
    for name, (case_dir, exp) in task.bad_cases().items():
        if exp.base is not None:
            print(f"{name}: already a variant of {exp.base}/")
            continue
        options = []
        for base_name, base in (("solution", task.solution), ("starter", task.starter)):
            keep, replace, remove = variant_of(base, case_dir)
            whole = sum((case_dir / k).stat().st_size for k in keep)
            cost = whole + sum(len(r["old"]) + len(r["new"]) for r in replace)
            options.append((cost, base_name, keep, replace, remove))
        cost, base_name, keep, replace, remove = min(options)
        before = sum(p.stat().st_size for p in iter_files(case_dir) if p.name != EXPECT_FILE)
        print(f"{name}: {before} bytes -> {cost} as a variant of {base_name}/ "
              f"({len(replace)} replacements, {len(keep)} whole files, {len(remove)} removed)")
        if cost * 10 > before * 7:
            print("  kept whole: the variant saves too little")
            continue
        lines = [f'\nbase = "{base_name}"\n']
        if remove:
            lines.append("remove = [" + ", ".join(json.dumps(r) for r in remove) + "]\n")
        for r in replace:
            lines.append(f"\n[[replace]]\nfile = {json.dumps(r['file'])}\n"
                         f"old = {toml_string(r['old'])}\nnew = {toml_string(r['new'])}\n")
        if not write:
            continue
        expect = case_dir / EXPECT_FILE
        original = expect.read_text(encoding="utf-8")
        with TemporaryDirectory() as tmp:
            snapshot = Path(tmp) / "before"
            for p in iter_files(case_dir):
                out = snapshot / p.relative_to(case_dir)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(p.read_bytes())
            expect.write_text(original.rstrip("\n") + "\n" + "".join(lines), encoding="utf-8")
            for p in iter_files(case_dir):
                rel = p.relative_to(case_dir).as_posix()
                if rel != EXPECT_FILE and rel not in keep:
                    p.unlink()
            built = build_case(task, case_dir, load_expectation(expect), Path(tmp) / "built")
            for p in iter_files(snapshot):
                rel = p.relative_to(snapshot).as_posix()
                if rel == EXPECT_FILE:
                    continue
                if not filecmp.cmp(p, built / rel, shallow=False):
                    raise SystemExit(f"{name}: the variant builds {rel} differently")
            extra = {q.relative_to(built).as_posix() for q in iter_files(built)} - {
                q.relative_to(snapshot).as_posix() for q in iter_files(snapshot)
            }
            if extra:
                raise SystemExit(f"{name}: the variant adds {sorted(extra)}")
        print("  written and checked: builds the same files byte for byte")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--write"]
    sys.exit(main(args[0], "--write" in sys.argv))
