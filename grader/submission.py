"""Reading a submission file: a Python file or a Jupyter notebook with the same stem.

A notebook is read with nbformat, its outputs stripped (plots do not count towards the size limit), and turned
into a small Python program that runs its code cells one by one in document order (never in execution-count
order), each compiled under the name ``cell N`` (N counts every cell of the notebook, markdown included, from 1),
so that errors point at the cell and line the student sees. The policy, also in the README and in the file
``grader init`` writes:

- a cell that raises (a scratch cell, a syntax error) is skipped: its error is printed in the submission's
  output, and the cells after it still run, so graded names defined elsewhere keep their marks;
- a cell tagged ``skip-grading`` or whose first line is ``# grader: skip`` is not run;
- a cell that starts with a cell magic (``%%bash``, ``%%capture``, ``%%writefile``, ``%%time``, ...) is not run
  at all; line magics (``%matplotlib inline``) and shell lines (``!pip install ...``) do nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from .errors import SubmissionError

MAX_BYTES = 1_000_000  # the code: a .py file, or a notebook's code cells (outputs do not count)
MAX_NOTEBOOK_FILE_BYTES = 50_000_000  # a notebook file as saved, outputs and plots included
NOTEBOOK_SUFFIX = ".ipynb"
SKIP_TAG = "skip-grading"
_SKIP_LINE = re.compile(r"#\s*grader:\s*skip\b", re.IGNORECASE)
_CELL_MAGIC = re.compile(r"%%\s*([A-Za-z_]\w*)?")
_LINE_MAGIC = re.compile(r"^(\s*)(?:%%?[A-Za-z]|!(?!=)|[A-Za-z_][\w.]*\?\??\s*$)")  # %magic, !shell, name?
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.]*)\s*=\s*[%!]")  # files = !ls
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "python", "python3", "debug", "memit"}
_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+\w|^ANSWERS\s*[:=]", re.MULTILINE)

# Runs the cells (in the sandbox): each compiled as "cell N", a failing one skipped with its error printed.
_CELL_RUNNER = """\
def _grader_run_cells(cells, namespace):
    import linecache
    import sys
    import traceback
    for number, code in cells:
        name = f"cell {number}"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        try:
            exec(compile(code, name, "exec", dont_inherit=True), namespace)
        except Exception as exc:
            try:
                where = [f"{f.filename}, line {f.lineno}" for f in traceback.extract_tb(exc.__traceback__)
                         if f.filename.startswith("cell ")]
                if isinstance(exc, SyntaxError) and exc.filename == name:
                    where.append(f"{name}, line {exc.lineno}")
                what = f"{type(exc).__name__}: {exc}"[:500]
            except Exception:
                where, what = [], type(exc).__name__
            print(f"grader: {name} raised an error ({' -> '.join(where[-3:]) or name}): {what}; "
                  "the cell was skipped and the notebook went on", file=sys.stderr)
"""


class Submission(NamedTuple):
    student: str
    path: Path
    source: str  # what the sandbox runs
    warnings: tuple[str, ...] = ()  # about how the file was read (a notebook cell not run, ...)
    code: str = ""  # a notebook's code cells as the student wrote them ("" for a .py file: ``source`` is the code)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    @property
    def imports_torch(self) -> bool:
        return bool(re.search(r"^\s*(import|from)\s+torch\b", self.code or self.source, re.MULTILINE))


class Notebook(NamedTuple):
    source: str  # the program that runs the cells
    code: str  # the cells' code, joined: what the size limit measures
    warnings: tuple[str, ...]


def _invalid(path: Path, why: str) -> SubmissionError:
    return SubmissionError(f"{path.name} is not a valid notebook: {why}")


def _cell_text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _without_outputs(data: dict[str, Any]) -> dict[str, Any]:
    """The notebook with its outputs and attachments dropped and its cells made well-formed enough for nbformat
    (a malformed cell becomes an empty raw cell, so that cell numbers stay those of the document)."""
    data = dict(data)
    data.setdefault("nbformat", 4)  # a notebook without a version is read as the current format
    data.setdefault("nbformat_minor", 0)
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    if data.get("nbformat") == 3:  # nbformat converts these (cells under worksheets, "input" for the code)
        for sheet in data.get("worksheets") or []:
            for cell in (sheet.get("cells") or []) if isinstance(sheet, dict) else []:
                if isinstance(cell, dict):
                    cell["outputs"] = []
        return data
    cells = data.get("cells")
    if not isinstance(cells, list):
        return data
    clean = []
    for cell in cells:
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind not in ("code", "markdown", "raw"):
            clean.append({"cell_type": "raw", "source": "", "metadata": {}})
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        new = {"cell_type": kind, "source": _cell_text(cell.get("source", "")), "metadata": metadata}
        if isinstance(cell.get("id"), str):
            new["id"] = cell["id"]
        if kind == "code":
            count = cell.get("execution_count")
            new.update(outputs=[], execution_count=count if isinstance(count, int) and count >= 0 else None)
        clean.append(new)
    data["cells"] = clean
    return data


def _read_cells(text: str, path: Path) -> list[Any]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise _invalid(path, "it is nested too deeply") from None
    except ValueError as exc:  # bad JSON, or an integer longer than Python converts
        raise _invalid(path, str(exc)[:200]) from None
    if not isinstance(data, dict):
        raise _invalid(path, "no list of cells")
    try:
        stripped = json.dumps(_without_outputs(data))
    except (RecursionError, ValueError, TypeError, AttributeError):
        raise _invalid(path, "it is nested too deeply") from None
    try:
        import nbformat
    except ImportError:  # pragma: no cover - a dependency; the plain format is read without it
        notebook: Any = json.loads(stripped)
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                notebook = nbformat.reads(stripped, as_version=4, capture_validation_error={})
        except RecursionError:
            raise _invalid(path, "it is nested too deeply") from None
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on hostile input
            raise _invalid(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise _invalid(path, "no list of cells")
    return cells


def _python_lines(code: str) -> str:
    """IPython line magics, shell and help lines made no-ops (``pass``), keeping every line where it was."""
    lines = []
    for line in code.splitlines():
        assigned = _ASSIGNED_MAGIC.match(line)
        if assigned:
            line = f"{assigned.group(1)}{assigned.group(2)} = None  # IPython magic, not run by the grader"
        else:
            magic = _LINE_MAGIC.match(line)
            if magic:
                line = f"{magic.group(1)}pass  # IPython magic or shell command, not run by the grader"
        lines.append(line)
    return "\n".join(lines) + "\n"


def read_notebook(text: str, path: Path) -> Notebook:
    """A notebook's code cells as the program the grader runs (the policy is in the module's docstring)."""
    runnable: list[tuple[int, str]] = []
    notes: list[str] = []
    for number, cell in enumerate(_read_cells(text, path), 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code = _cell_text(cell.get("source", ""))
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        first = next((line.strip() for line in code.splitlines() if line.strip()), "")
        if not first or (isinstance(tags, list) and SKIP_TAG in tags) or _SKIP_LINE.match(first):
            continue
        magic = _CELL_MAGIC.match(first)
        if magic:
            name = magic.group(1) or ""
            if name in _PYTHON_CELL_MAGICS and _DEFINES.search(code):
                notes.append(f"cell {number} starts with %%{name} and is not run (cell magics are not run): "
                             "move the code it defines into a plain cell")
            continue
        runnable.append((number, _python_lines(code)))
    code = "".join(f"# ---- cell {number}\n{body}" for number, body in runnable)
    calls = "".join(f"    ({number}, {body!r}),\n" for number, body in runnable)
    source = (f"# {path.name}: its code cells, run by the grader one by one in document order as 'cell N'\n"
              f"{_CELL_RUNNER}\n\n_grader_run_cells((\n{calls}), globals())\ndel _grader_run_cells\n")
    return Notebook(source, code, tuple(notes))


def notebook_source(text: str, path: Path) -> str:
    """The program that runs a notebook's code cells (see :func:`read_notebook`)."""
    return read_notebook(text, path).source


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BY_DIR_FD = bool(_NOFOLLOW) and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) \
    | getattr(os, "O_CLOEXEC", 0)


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _link_error(path: Path, folder: bool) -> SubmissionError:
    """Names the link, never its target or content."""
    what = f"the folder {path.name}/" if folder else path.name
    return SubmissionError(f"{what} is a symbolic link: a submission must be a regular file inside the "
                           "student's own folder (links are not followed)")


def _open_file(path: Path, root: Path | None) -> int:
    """A read-only descriptor of ``path``, refusing symbolic links: the file itself and, with ``root``, every
    folder between ``root`` and the file. Links are refused by the open itself (O_NOFOLLOW, folder by folder
    through descriptors), so a link swapped in between a check and the open is refused too."""
    parts: tuple[str, ...] = ()
    if root is not None:
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            raise SubmissionError(f"{path} is not inside {root}") from None
        if not parts or any(p in (".", "..") for p in parts):
            raise SubmissionError(f"{path} is not a file inside {root}")
    try:
        if parts and _BY_DIR_FD:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
            try:
                for i, name in enumerate(parts[:-1]):
                    try:
                        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
                    except OSError:
                        here = root.joinpath(*parts[:i + 1])  # type: ignore[union-attr]
                        if _is_link(here):
                            raise _link_error(here, folder=True) from None
                        raise
                    os.close(fd)
                    fd = inner
                return os.open(parts[-1], _FLAGS, dir_fd=fd)
            finally:
                os.close(fd)
        for i in range(1, len(parts)):  # no descriptor-relative open here (Windows): check, then open
            here = root.joinpath(*parts[:i])  # type: ignore[union-attr]
            if _is_link(here):
                raise _link_error(here, folder=True)
        if not _NOFOLLOW and _is_link(path):
            raise _link_error(path, folder=False)
        return os.open(path, _FLAGS)
    except OSError as exc:
        if _is_link(path):
            raise _link_error(path, folder=False) from None
        raise SubmissionError(f"cannot read {path}: {exc.strerror}") from None


def read_submission(path: Path, student: str = "", root: Path | None = None) -> Submission:
    """Read a submission: a regular file, never through a symbolic link (with ``root``, the submissions
    folder, no folder between it and the file may be a link either). A refused file is never read.

    ``MAX_BYTES`` limits the code: a .py file, or a notebook's code cells once its outputs are stripped (a
    notebook file itself may hold up to ``MAX_NOTEBOOK_FILE_BYTES`` of outputs and plots)."""
    notebook = path.suffix.lower() == NOTEBOOK_SUFFIX
    cap = MAX_NOTEBOOK_FILE_BYTES if notebook else MAX_BYTES
    what = "notebook files" if notebook else "submissions"
    fd = _open_file(path, root)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{path.name} is not a regular file")
        if info.st_size > cap:
            raise SubmissionError(f"{path.name} is {info.st_size:,} bytes; {what} are limited to {cap:,}")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SubmissionError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > cap:
        raise SubmissionError(f"{path.name} is over {cap:,} bytes; {what} are limited to {cap:,}")
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    del raw, chunks
    if not notebook:
        if "\0" in text:
            raise SubmissionError(f"{path.name} contains NUL bytes")
        return Submission(student=student or path.parent.name, path=path, source=text)
    read = read_notebook(text, path)
    code_bytes = len(read.code.encode("utf-8", "surrogatepass"))
    if code_bytes > MAX_BYTES:
        raise SubmissionError(f"the code cells of {path.name} hold {code_bytes:,} bytes; submissions are limited "
                              f"to {MAX_BYTES:,} (outputs do not count)")
    if "\0" in read.code:
        raise SubmissionError(f"{path.name} contains NUL bytes")
    return Submission(student=student or path.parent.name, path=path, source=read.source, warnings=read.warnings,
                      code=read.code)


def find_submission(folder: Path, assignment: str) -> Path | None:
    """``<assignment>.py`` in ``folder``, else ``<assignment>.ipynb``."""
    for suffix in (".py", NOTEBOOK_SUFFIX):
        candidate = folder / f"{assignment}{suffix}"
        if candidate.is_file() or candidate.is_symlink():  # a link is found, then refused by read_submission
            return candidate
    return None
