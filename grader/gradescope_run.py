"""Grade one Gradescope submission: ``python -m grader.gradescope_run`` (run by the zip's ``run_autograder``).

Layout (Gradescope's; the root is ``$AUTOGRADER_ROOT``, default ``/autograder``)::

    source/grader-gradescope.json   written by ``grader gradescope``: assignment, limits, version
    source/secret.key               the instructor's secret (hidden cases), mode 600
    submission/                     the student's upload
    submission_metadata.json        Gradescope's: users[0].id is the student id of the hidden cases
    results/results.json            written here, always

Which uploaded file is graded (``.py`` or ``.ipynb``, anywhere in the upload except hidden folders,
``__pycache__`` and ``.ipynb_checkpoints``; ``__init__.py`` never), in this order of precedence:

1. a file named exactly like the assignment (``hw7.py``, then ``hw7.ipynb``);
2. a file whose name starts with the assignment id followed by a non-alphanumeric character, as
   browsers and systems name copies (``hw7 (2).py``, ``hw7-1.py``, ``HW7_final.ipynb``);
3. any other ``.py`` or ``.ipynb`` file.

Within a rank: fewer folders deep first, then ``.py`` before ``.ipynb``, then by name. When more than one
file is a candidate the output says which one was graded and which were not.

Whatever happens (no file, an unreadable or non-importing file, the grader itself raising), this module
writes ``results/results.json`` with score 0 and the reason; ``run_autograder`` covers the cases where
Python itself cannot start.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

CONFIG_NAME = "grader-gradescope.json"
SECRET_NAME = "secret.key"
SUFFIXES = (".py", ".ipynb")
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX"}


def autograder_root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def student_id(root: Path) -> tuple[str, str]:
    """(student id, where it came from): ``users[0].id``, else ``users[0].email``, else the submission id,
    else "student". Tolerates a missing or malformed file."""
    try:
        data = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "student", "no readable submission_metadata.json"
    if not isinstance(data, dict):
        return "student", "submission_metadata.json is not an object"
    users = data.get("users")
    user = users[0] if isinstance(users, list) and users and isinstance(users[0], dict) else {}
    for key in ("id", "email"):
        value = user.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip(), f"users[0].{key}"
    value = data.get("id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return f"submission-{value}", "the submission id"
    return "student", "no user or submission id in submission_metadata.json"


def _rank(path: Path, folder: Path, assignment: str) -> tuple[int, int, int, str]:
    stem = path.stem.lower()
    if stem == assignment.lower():
        name_rank = 0
    elif re.match(rf"{re.escape(assignment.lower())}(?![a-z0-9])", stem):
        name_rank = 1
    else:
        name_rank = 2
    rel = path.relative_to(folder)
    return name_rank, len(rel.parts), SUFFIXES.index(path.suffix.lower()), str(rel)


def find_candidates(folder: Path, assignment: str) -> list[Path]:
    """Every gradable file of the upload, best first (the precedence in the module's docstring)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):  # does not follow links into folders
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix.lower() in SUFFIXES and name != "__init__.py" and not name.startswith("."):
                found.append(path)
    return sorted(found, key=lambda p: _rank(p, folder, assignment))


def _failure(reason: str, max_score: float, extra: dict[str, Any], began: float) -> str:
    """results.json for a submission that could not be graded at all: 0 points, the reason visible."""
    test = {"name": "grading", "score": 0.0, "max_score": max_score, "status": "failed", "output": reason,
            "visibility": "visible"}
    return json.dumps({"score": 0.0, "output": reason, "tests": [test], "visibility": "visible",
                       "stdout_visibility": "hidden", "execution_time": round(time.perf_counter() - began, 3),
                       "extra_data": extra}, indent=1) + "\n"


def grade_upload(root: Path, began: float) -> str:
    from . import __version__
    from .engine import Audience, CaseBook, grade, plan_cases
    from .errors import SubmissionError
    from .loader import load_assignment
    from .render.gradescope import gradescope_json
    from .results import SubmissionResult
    from .sandbox.runner import Limits
    from .seeding import read_secret, secret_id
    from .submission import read_submission

    source = root / "source"
    config = json.loads((source / CONFIG_NAME).read_text(encoding="utf-8"))
    if not isinstance(config, dict) or not isinstance(config.get("assignment"), str):
        raise ValueError(f"{CONFIG_NAME} has no assignment id")
    assignment = load_assignment(config["assignment"])
    limits = Limits(**{k: v for k, v in config.get("limits", {}).items()
                       if k in ("case_seconds", "import_seconds", "memory_mb")})
    secret = read_secret(source / config.get("secret_file", SECRET_NAME))
    student, student_from = student_id(root)
    extra: dict[str, Any] = {"assignment": assignment.id, "student": student, "student_from": student_from,
                             "grader_version": __version__, "built_with": config.get("grader_version", ""),
                             "secret_id": secret_id(secret), "grader_location": str(Path(__file__).parent)}
    print(f"grader {__version__}: {assignment.id}, student {student} ({student_from})")

    folder = root / "submission"
    candidates = find_candidates(folder, assignment.id) if folder.is_dir() else []
    if not candidates:
        names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())[:10] \
            if folder.is_dir() else []
        listing = f" (the upload holds: {', '.join(names)})" if names else " (the upload is empty)"
        return _failure(f"No submission to grade: upload {assignment.filename} (or {assignment.id}.ipynb)"
                        f"{listing}.", assignment.max_score, dict(extra, status="no_submission"), began)
    chosen = candidates[0]
    label = str(chosen.relative_to(folder))
    notes = [f"graded file: {label}"]
    if len(candidates) > 1:
        others = ", ".join(str(p.relative_to(folder)) for p in candidates[1:6])
        notes.append(f"{len(candidates)} files could be graded; chose {label} (a file named {assignment.filename}"
                     f" first, then one whose name starts with {assignment.id}, then the least nested, .py before"
                     f" .ipynb, by name). Not graded: {others}{' ...' if len(candidates) > 6 else ''}")
    extra.update(file=label, candidates=len(candidates))

    audience = Audience(hidden=True, secret=secret, student=student, reveal_answers=False,
                        replay_prefix=f"grader replay {assignment.filename}")  # shown for public cases only
    book = CaseBook()
    plan = plan_cases(assignment, audience, book=book)
    split: dict[str, tuple[int, int]] = {}
    for entry in assignment.entries:
        problem = entry.problem
        kinds = [p.kind for p in plan.for_problem(problem.id)]
        shown = sum(k != "hidden" for k in kinds) if problem.self_check else 0
        split[problem.id] = (shown, len(kinds) - shown)

    try:
        submission = read_submission(chosen, student, root=folder)
    except SubmissionError as exc:
        result = SubmissionResult(student, assignment.id, label, "unreadable", 0.0, assignment.max_score, (),
                                  f"{label} cannot be graded: {exc}")
        extra.update(status="unreadable", isolation="none (not run)")
        return gradescope_json(result, split, config.get("hidden_visibility", "after_due_date"),
                               "\n".join([*notes, result.message]), extra, time.perf_counter() - began)

    from .sandbox import open_runner

    runner = open_runner(config.get("isolation", "auto"))
    try:
        result = grade(assignment, submission, runner, audience, limits, label, book=book)
        isolation = runner.isolation
    finally:
        runner.close()
    if result.grader_failed:
        raise RuntimeError(f"the grader failed while grading ({result.message or 'a lost worker'})")
    layers = ", ".join(isolation.layers)
    notes.append(f"isolation: {isolation.mode} ({layers})")
    if result.status != "graded":
        notes.append(result.message)
        if submission.imports_torch and not config.get("torch", False):
            notes.append("This autograder has no torch (the course does not need it): remove 'import torch' "
                         "and use numpy.")
    notes.append(f"score: {result.score:g} / {result.max_score:g}")
    if any(n for _, n in split.values()):
        notes.append("Tests marked as hidden cases (and the yes/no problems) are shown after the due date; "
                     "the score above includes them.")
    if result.output_bytes:
        notes.append(f"Your code printed {result.output_bytes:,} bytes; printed output is not shown here.")
    extra.update(status=result.status, isolation=isolation.mode, isolation_layers=list(isolation.layers),
                 isolation_note=isolation.note, seconds=result.seconds)
    print(f"{label}: {result.status}, {result.score:g}/{result.max_score:g}, isolation {isolation.mode}")
    return gradescope_json(result, split, config.get("hidden_visibility", "after_due_date"), "\n".join(notes),
                           extra, time.perf_counter() - began)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    began = time.perf_counter()
    root = autograder_root()
    target = root / "results" / "results.json"
    max_score = 0.0
    try:
        config = json.loads((root / "source" / CONFIG_NAME).read_text(encoding="utf-8"))
        max_score = float(config.get("max_score", 0.0))
    except Exception:  # noqa: BLE001 - reported by grade_upload below
        pass
    try:
        text = grade_upload(root, began)
    except Exception as exc:  # noqa: BLE001 - always leave a results.json behind
        traceback.print_exc()  # stdout and stderr reach the instructor only
        reason = (f"The autograder failed ({type(exc).__name__}: {str(exc)[:300]}). This is a problem with the "
                  "autograder, not with your submission: tell your instructor.")
        text = _failure(reason, max_score, {"status": "grader_error"}, began)
    _write(target, text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
