"""Sample submissions as slips of the correct one: ``submissions/passes_all/<assignment>.py`` plus a slip.

A manifest entry (``tests/samples/<assignment>.json``) that names a ``slip`` describes its sample as
the correct file with one known mistake made in it; the sample's file is generated from the two:

    "hw7-plain_softmax/hw7.py": {
      "slip": {
        "header": "# HW7",                                   # replaces the file's first line (optional)
        "functions": {"grad_nu_beta": ["def grad_nu_beta(x, beta):", "    ..."]},   # optional
        "replace": [["    z = beta * (x - np.max(x))", "    z = x - np.max(x)  # softmax"]]   # optional
      },
      "status": "graded", ...
    }

Applied in this order: ``functions`` replaces each named top-level function (with its decorators)
of the correct file by the given source, or appends it when the file has no such function;
``replace`` replaces text, each old text occurring exactly once (it is an error otherwise, so a
slip never silently stops applying); ``header`` replaces the first line. Sources and texts are a
string or a list of lines. An entry without ``slip`` is a hand-written sample (a notebook, a file
written with torch throughout, a partial file) and is left alone.

``tests/test_samples.py`` grades every slipped sample from passes_all + slip and checks that the
committed folders (what ``grader grade all submissions/`` reads) equal what this module
generates. After changing ``submissions/passes_all/`` or a slip, regenerate them (from the
repository's root):

    python -m tests.samples.generate            # rewrites the slipped samples; prints what changed
    python -m tests.samples.generate --check    # changes nothing; exit status 1 when one is out of step
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "tests" / "samples"
SUBMISSIONS = ROOT / "submissions"
CORRECT = "passes_all"


class SlipError(ValueError):
    """A slip that does not apply to the correct file."""


def _text(value: str | list[str]) -> str:
    return "\n".join(value) if isinstance(value, list) else value


def _replace_function(source: str, name: str, new: str) -> str:
    lines = source.splitlines(keepends=True)
    new = new.rstrip("\n") + "\n"
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            return "".join(lines[:start]) + new + "".join(lines[node.end_lineno:])
    return source.rstrip("\n") + "\n\n\n" + new


def apply_slip(source: str, slip: dict[str, Any]) -> str:
    """The correct ``source`` with ``slip`` made in it (see the module's docstring)."""
    unknown = set(slip) - {"header", "functions", "replace"}
    if unknown:
        raise SlipError(f"unknown slip keys {sorted(unknown)}; a slip has header, functions, replace")
    for name, new in slip.get("functions", {}).items():
        source = _replace_function(source, name, _text(new))
    for pair in slip.get("replace", []):
        old, new = (_text(part) for part in pair)
        count = source.count(old)
        if count != 1:
            raise SlipError(f"the text to replace occurs {count} times (it must occur once): {old!r}")
        source = source.replace(old, new)
    if "header" in slip:
        _, newline, rest = source.partition("\n")
        source = _text(slip["header"]) + newline + rest
    return source


def correct_file(key: str) -> Path:
    """The correct file a sample ``"<folder>/<file>"`` is made from: ``submissions/passes_all/<file>``."""
    return SUBMISSIONS / CORRECT / Path(key).name


def manifest(assignment_id: str) -> dict[str, dict[str, Any]]:
    return json.loads((MANIFESTS / f"{assignment_id}.json").read_text(encoding="utf-8"))


def slipped() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(assignment, key, slip) of every manifest entry that names a slip."""
    for path in sorted(MANIFESTS.glob("*.json")):
        for key, spec in json.loads(path.read_text(encoding="utf-8")).items():
            if "slip" in spec:
                yield path.stem, key, spec["slip"]


def render(key: str, slip: dict[str, Any]) -> str:
    """The sample ``key``'s source: its correct file with its slip made."""
    return apply_slip(correct_file(key).read_text(encoding="utf-8"), slip)


def out_of_step() -> list[str]:
    """The slipped samples whose committed file is missing or differs from what is generated."""
    stale = []
    for _, key, slip in slipped():
        path = SUBMISSIONS / key
        if not path.is_file() or path.read_text(encoding="utf-8") != render(key, slip):
            stale.append(key)
    return stale


def write_all() -> list[str]:
    """Rewrites every slipped sample that is out of step; returns their keys."""
    changed = out_of_step()
    for key in changed:
        slip = next(s for _, k, s in slipped() if k == key)
        path = SUBMISSIONS / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(key, slip), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print("usage: python -m tests.samples.generate [--check]", file=sys.stderr)
        return 2
    if args == ["--check"]:
        stale = out_of_step()
        for key in stale:
            print(f"out of step: submissions/{key} (run python -m tests.samples.generate)")
        return 1 if stale else 0
    changed = write_all()
    for key in changed:
        print(f"wrote submissions/{key}")
    print(f"{len(changed)} sample(s) regenerated, {sum(1 for _ in slipped()) - len(changed)} already in step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
