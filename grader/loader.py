"""Find and load assignments from a problems folder, validating every spec on the way.

By default the ``problems`` package installed with the grader is used; a
course can point ``--problems`` (or ``GRADER_PROBLEMS``) at its own folder of
the same shape: one sub-package per assignment defining ``ASSIGNMENT``. In the
student edition (``grader bundle``) there is no ``problems`` package: the
course is data (:mod:`grader.student_course`), loaded the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from types import ModuleType

from .errors import AssignmentError, SpecError
from .spec import Assignment

ENV_VAR = "GRADER_PROBLEMS"
_CUSTOM_PACKAGE = "grader_course_problems"


def student_edition(root: Path | None = None) -> Path | None:
    """The student edition's course folder when that is what this command grades with, else None."""
    if root is not None or os.environ.get(ENV_VAR) or importlib.util.find_spec("problems") is not None:
        return None
    from . import student_course

    return student_course.course_dir()


def problems_root(root: Path | None = None) -> Path:
    if root is None and os.environ.get(ENV_VAR):
        root = Path(os.environ[ENV_VAR])
    if root is None:
        spec = importlib.util.find_spec("problems")
        if spec is None or not spec.submodule_search_locations:
            raise SpecError("the problems package is not installed; pass --problems DIR")
        return Path(next(iter(spec.submodule_search_locations)))
    return root.resolve()


def _package(root: Path) -> str:
    """The import name of a problems folder: ``problems`` itself, or a synthetic package per folder."""
    default = importlib.util.find_spec("problems")
    if default and default.submodule_search_locations and \
            Path(next(iter(default.submodule_search_locations))).resolve() == root:
        return "problems"
    name = f"{_CUSTOM_PACKAGE}_{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"
    if name not in sys.modules:
        init = root / "__init__.py"
        if init.exists():
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(root)])
            if spec is None or spec.loader is None:
                raise SpecError(f"{root} cannot be loaded as a problems folder")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:  # a plain folder: a namespace-like package
            module = types.ModuleType(name)
            module.__path__ = [str(root)]
            sys.modules[name] = module
    return name


def assignment_ids(root: Path | None = None) -> list[str]:
    edition = student_edition(root)
    if edition is not None:
        from . import student_course

        return student_course.assignment_ids(edition)
    base = problems_root(root)
    if not base.is_dir():
        raise SpecError(f"the problems folder {base} does not exist")
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "__init__.py").exists()
                  and p.name != "common")


def load_assignment(assignment_id: str, root: Path | None = None) -> Assignment:
    ids = assignment_ids(root)
    if assignment_id not in ids:
        raise AssignmentError(f"no assignment {assignment_id!r}; available: {', '.join(ids) or 'none'}")
    edition = student_edition(root)
    if edition is not None:
        from . import student_course

        return student_course.load(edition, assignment_id)
    base = problems_root(root)
    name = f"{_package(base)}.{assignment_id}"
    try:
        module: ModuleType = importlib.import_module(name)
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"problems/{assignment_id} failed to load: {type(exc).__name__}: {exc}") from exc
    assignment = getattr(module, "ASSIGNMENT", None)
    if not isinstance(assignment, Assignment):
        raise SpecError(f"problems/{assignment_id}/__init__.py must define ASSIGNMENT = Assignment(...)")
    if assignment.id != assignment_id:
        raise SpecError(f"problems/{assignment_id} declares id {assignment.id!r}; it must match the folder")
    return assignment


def load_all(root: Path | None = None) -> list[Assignment]:
    return [load_assignment(a, root) for a in assignment_ids(root)]

