"""Reading a submission file: a Python file or a Jupyter notebook with the same stem."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import SubmissionError

MAX_BYTES = 1_000_000
NOTEBOOK_SUFFIX = ".ipynb"
_MAGIC = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    @property
    def imports_torch(self) -> bool:
        return bool(re.search(r"^\s*(import|from)\s+torch\b", self.source, re.MULTILINE))


def notebook_source(text: str, path: Path) -> str:
    """Code cells joined in order; IPython magics and shell lines commented out."""
    try:
        notebook = json.loads(text)
    except RecursionError:
        raise SubmissionError(f"{path.name} is not a valid notebook: it is nested too deeply") from None
    except ValueError as exc:  # bad JSON, or an integer longer than Python converts
        raise SubmissionError(f"{path.name} is not a valid notebook: {str(exc)[:200]}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{path.name} is not a valid notebook: no list of cells")
    chunks = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        if not isinstance(source, str):
            continue
        lines = [("# " + line) if _MAGIC.match(line) else line for line in source.splitlines()]
        chunks.append(f"# ---- cell {number}\n" + "\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def read_submission(path: Path, student: str = "") -> Submission:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise SubmissionError(f"{path} is not a file")
    if size > MAX_BYTES:
        raise SubmissionError(f"{path.name} is {size:,} bytes; submissions are limited to {MAX_BYTES:,}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    if path.suffix == NOTEBOOK_SUFFIX:
        text = notebook_source(text, path)
    if "\0" in text:
        raise SubmissionError(f"{path.name} contains NUL bytes")
    return Submission(student=student or path.parent.name, path=path, source=text)


def find_submission(folder: Path, assignment: str) -> Path | None:
    """``<assignment>.py`` in ``folder``, else ``<assignment>.ipynb``."""
    for suffix in (".py", NOTEBOOK_SUFFIX):
        candidate = folder / f"{assignment}{suffix}"
        if candidate.is_file():
            return candidate
    return None
