"""Intake: who submitted what, from the folder (or .zip) an instructor hands to ``grader grade``.

Four layouts, detected automatically (``--layout auto``) or chosen:

- ``folders``: one sub-folder per student, named by the student id: ``<student>/<assignment>.py`` (or .ipynb).
- ``canvas``: Canvas "Download Submissions", flat files ``<name>[_LATE]_<userid>_<attachmentid>_<file>``
  (anonymous grading: ``[LATE_]anon_<id>_<attachmentid>_<file>``); the student id is the Canvas user id (or
  ``anon_<id>``), ``LATE`` marks a late submission, and a file re-uploaded under the same name is ``hw7-1.py``,
  ``hw7-2.py``, ... (the highest number is graded). Text and URL entries (``<prefix>_text.html``,
  ``<prefix>_link.html``) are listed as no file.
- ``gradescope``: Gradescope's "Export Submissions": ``submission_metadata.yml`` and one ``submission_<id>/``
  folder per submission; the student id is the submitter's ``:sid:`` (else e-mail, else the folder name), the
  time is ``:created_at:``; a group submission is graded for each submitter. The file graded in a folder is the
  one the Gradescope autograder would grade (``grader.gradescope_run.find_candidates``).
- ``moodle``: Moodle's "Download all submissions": ``<fullname>_<participantid>_assignsubmission_file/...``
  folders (Moodle 3 adds a trailing ``_``), or flat ``<fullname>_<participantid>_assignsubmission_file_<file>``
  files; the student id is the participant id (per assignment, as Moodle assigns it).

Which file is graded (every layout but gradescope): a file named exactly ``<assignment>.py`` (or
``<assignment>.ipynb``); when a student has both, **the .py file wins**, with a warning. A file with a near name
(``HW7.py``, ``hw_7.py``) is not graded: the student is listed without a submission, with the suggestion
("found HW7.py; did you mean hw7.py?"). Anything that belongs to no student (a loose file, a name that does not
follow the layout) is listed in ``Intake.unplaced``, never silently dropped.

A .zip of any of these is unpacked to a temporary folder first (:func:`opened`): member names are checked (no
absolute paths, no ``..``, no links, no device names), sizes are capped, and the folder is removed afterwards.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import GraderError
from .text import name_text

LAYOUTS = ("auto", "folders", "canvas", "gradescope", "moodle")
SUFFIXES = (".py", ".ipynb")  # the order is the precedence: a .py file wins over a notebook
GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 64_000_000
MAX_ZIP_TOTAL_BYTES = 2_000_000_000  # unpacked, the whole download
MAX_ZIP_MEMBER_BYTES = 64_000_000  # unpacked, one file (a notebook file may hold 50 MB)
MAX_ZIP_MEMBERS = 100_000
_IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}

_CANVAS_ANON = re.compile(r"(?:(?P<late>LATE)_)?(?P<id>anon_[A-Za-z0-9]+)_(?P<att>\d+)_(?P<file>.+)", re.S)
_CANVAS_NAMED = re.compile(r"(?:(?P<name>.+?)_)?(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<att>\d+)_(?P<file>.+)", re.S)
_CANVAS_TEXT = re.compile(r"(?:(?P<name>.+?)_)??(?:(?P<late>LATE)_)?(?P<id>anon_[A-Za-z0-9]+|\d+)_(?P<kind>text|link)"
                          r"\.html", re.S)
_MOODLE_DIR = re.compile(r"(?P<name>.*)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?", re.S)
_MOODLE_FILE = re.compile(r"(?P<name>.*)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)", re.S)


@dataclass(frozen=True)
class IntakeEntry:
    """One student of the download: the file to grade (None: nothing gradable, ``missing`` says why)."""

    student: str
    name: str  # as the LMS shows it ("" when the layout has none)
    file: Path | None
    where: Path  # the student's folder, or the download's folder for flat layouts (labels and messages)
    submitted_at: str | None = None  # as the LMS recorded it (Gradescope), else None
    late: bool | None = None  # the LMS's late mark (Canvas), else None: unknown
    warnings: tuple[str, ...] = ()
    missing: str = ""

    def __post_init__(self) -> None:  # ids from folder and file names that may not be UTF-8
        object.__setattr__(self, "student", name_text(self.student))
        object.__setattr__(self, "name", name_text(self.name))


@dataclass(frozen=True)
class Intake:
    layout: str
    root: Path  # every file below it; read_submission refuses links between it and the file
    entries: tuple[IntakeEntry, ...]
    unplaced: tuple[str, ...] = ()  # what belongs to no student, each with the reason


# ------------------------------------------------------------------ zip files


def is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" and path.is_file()


def _member_parts(name: str) -> tuple[str, ...] | None:
    """The path of a zip member as safe parts, or None when it would leave the folder or is not a plain name."""
    name = name.replace("\\", "/")
    if name.startswith("/") or "\0" in name:
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if not parts or any(p == ".." or (i == 0 and re.fullmatch(r"[A-Za-z]:", p)) for i, p in enumerate(parts)):
        return None
    return parts


def unpack_zip(archive: Path, target: Path) -> list[str]:
    """Unpack ``archive`` into the empty folder ``target`` safely; returns notes on members left out."""
    notes: list[str] = []
    total = 0
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GraderError(f"{archive} is not a readable zip file ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise GraderError(f"{archive} holds {len(members):,} files; at most {MAX_ZIP_MEMBERS:,} are unpacked")
        for info in members:
            parts = _member_parts(info.filename)
            if parts is None:
                notes.append(f"{info.filename!r} in the zip: not unpacked (a path outside the folder)")
                continue
            if parts[0] in _IGNORED or parts[-1] in _IGNORED:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                notes.append(f"{info.filename} in the zip: not unpacked (a symbolic link)")
                continue
            path = target.joinpath(*parts)
            if info.is_dir():
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    notes.append(f"{info.filename} in the zip: not unpacked ({exc.strerror})")
                continue
            if info.file_size > MAX_ZIP_MEMBER_BYTES:
                notes.append(f"{info.filename} in the zip: not unpacked ({info.file_size:,} bytes; the limit is "
                             f"{MAX_ZIP_MEMBER_BYTES:,})")
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_BINARY", 0), 0o600)
            except OSError as exc:
                notes.append(f"{info.filename} in the zip: not unpacked ({exc.strerror})")
                continue
            written = 0
            try:
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_ZIP_MEMBER_BYTES or total + written > MAX_ZIP_TOTAL_BYTES:
                            break
                        out.write(chunk)
            except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
                path.unlink(missing_ok=True)
                notes.append(f"{info.filename} in the zip: not unpacked ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            if total + written > MAX_ZIP_TOTAL_BYTES:
                raise GraderError(f"{archive} unpacks to more than {MAX_ZIP_TOTAL_BYTES:,} bytes; unpack it yourself")
            if written > MAX_ZIP_MEMBER_BYTES:  # the header understated the size
                path.unlink(missing_ok=True)
                notes.append(f"{info.filename} in the zip: not unpacked (over {MAX_ZIP_MEMBER_BYTES:,} bytes)")
                continue
            total += written
    return notes


@contextmanager
def opened(path: Path) -> Iterator[tuple[Path, list[str]]]:
    """``(folder, notes)``: a folder as it is, or a .zip unpacked to a temporary folder removed afterwards."""
    if not is_zip(path):
        yield path, []
        return
    target = Path(tempfile.mkdtemp(prefix="grader-intake-"))
    try:
        notes = unpack_zip(path, target)
        yield target, notes
    finally:
        shutil.rmtree(target, ignore_errors=True)


# ------------------------------------------------------------------ choosing a file


def _visible(folder: Path) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
    """(folders, files) directly in ``folder``, links listed as files (never followed), hidden names left out."""
    dirs, files = [], []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith(".") or entry.name in _IGNORED:
                    continue
                (dirs if entry.is_dir(follow_symlinks=False) else files).append(entry)
    except OSError as exc:
        raise GraderError(f"cannot read the folder {folder}: {exc.strerror}") from None
    return sorted(dirs, key=lambda e: e.name), sorted(files, key=lambda e: e.name)


def suggestion(names: Iterable[str], assignment: str, others: Iterable[str] = ()) -> str:
    """"found HW7.py; did you mean hw7.py?" for the names closest to the assignment's file names ("" if none).
    Files named after another assignment of the course (``others``) are never suggested."""
    wanted = [f"{assignment}{s}" for s in SUFFIXES]
    skip = {f"{o}{s}".lower() for o in others if o != assignment for s in SUFFIXES}
    found = []
    for shown in names:
        base = shown.rsplit("/", 1)[-1]
        if base.lower() in skip:
            continue
        if base.lower() in wanted:
            target = wanted[SUFFIXES.index(Path(base.lower()).suffix)]
        else:
            close = difflib.get_close_matches(base.lower(), wanted, n=1, cutoff=0.75)
            if not close:
                continue
            target = close[0]
        found.append(f"found {shown}; did you mean {target}?")
    return " ".join(found[:3])


def _exact(name: str, assignment: str, resubmissions: bool) -> tuple[int, int] | None:
    """(suffix rank, -resubmission number) when ``name`` is the assignment's file, else None."""
    pattern = rf"{re.escape(assignment)}(?:-(\d+))?(\.py|\.ipynb)" if resubmissions \
        else rf"{re.escape(assignment)}(\.py|\.ipynb)()"
    match = re.fullmatch(pattern, name)
    if not match:
        return None
    number, suffix = (match.group(1), match.group(2)) if resubmissions else (match.group(2), match.group(1))
    return SUFFIXES.index(suffix), -int(number or 0)


def choose(files: list[tuple[str, Path]], assignment: str, where: str, others: Iterable[str] = (),
           resubmissions: bool = False) -> tuple[Path | None, list[str], str]:
    """``files``: (name as the student gave it, path). Returns (file to grade or None, warnings, why none)."""
    ranked = sorted((rank, shown, path) for shown, path in files
                    if (rank := _exact(shown.rsplit("/", 1)[-1], assignment, resubmissions)) is not None)
    if not ranked:
        hint = suggestion([shown for shown, _ in files], assignment, others)
        return None, [], f"no {assignment}.py (or .ipynb){where}" + (f"; {hint}" if hint else "")
    chosen = ranked[0]
    warnings = []
    kinds = {rank[0] for rank, _, _ in ranked}
    if len(kinds) > 1:
        notebook = next(shown for rank, shown, _ in ranked if rank[0] == 1)
        warnings.append(f"both {chosen[1]} and {notebook} were submitted: {chosen[1]} was graded (a .py file "
                        "wins over a notebook)")
    same = [shown for rank, shown, _ in ranked[1:] if rank[0] == chosen[0][0]]
    if same:
        warnings.append(f"{len(same) + 1} files could be graded: {chosen[1]} was graded (the last uploaded); not "
                        f"graded: {', '.join(same[:5])}")
    return chosen[2], warnings, ""


# ------------------------------------------------------------------ layouts


def _folders(root: Path, assignment: str, others: Iterable[str]) -> Intake:
    if not root.is_dir():
        raise GraderError(f"{root} is not a folder of student sub-folders")
    dirs, files = _visible(root)
    entries = []
    for d in dirs:
        path = root / d.name
        entries.append(_folder_entry(d.name, path, assignment, others))
    unplaced = []
    for f in files:
        path = root / f.name
        if f.is_symlink() and path.is_dir():  # a student folder that is a link: graded unreadable, never followed
            entries.append(IntakeEntry(f.name, "", path / f"{assignment}.py", path))
        else:
            unplaced.append(f"{f.name}: a loose file, not in a student folder")
    return Intake("folders", root, tuple(sorted(entries, key=lambda e: e.student)), tuple(unplaced))


def _folder_entry(student: str, path: Path, assignment: str, others: Iterable[str]) -> IntakeEntry:
    _, files = _visible(path)
    names = [(f.name, path / f.name) for f in files]
    file, warnings, missing = choose(names, assignment, f" in {student}/", others)
    return IntakeEntry(student, "", file, path, warnings=tuple(warnings), missing=missing)


def _canvas_parse(name: str) -> dict[str, str] | None:
    for pattern in (_CANVAS_ANON, _CANVAS_NAMED, _CANVAS_TEXT):
        match = pattern.fullmatch(name)
        if match:
            return {k: v or "" for k, v in match.groupdict().items()}
    return None


def _canvas(root: Path, assignment: str, others: Iterable[str]) -> Intake:
    dirs, files = _visible(root)
    unplaced = [f"{d.name}/: a folder in a Canvas download (Canvas gives flat files)" for d in dirs]
    students: dict[str, dict[str, Any]] = {}
    for f in files:
        parsed = _canvas_parse(f.name)
        if parsed is None:
            unplaced.append(f"{f.name}: not named as Canvas names submissions (<name>_<userid>_<id>_<file>)")
            continue
        info = students.setdefault(parsed["id"], {"name": parsed.get("name", ""), "late": False, "files": [],
                                                  "entries": []})
        info["late"] = info["late"] or parsed["late"] == "LATE"
        info["name"] = info["name"] or parsed.get("name", "")
        if parsed.get("kind"):
            info["entries"].append("a text entry" if parsed["kind"] == "text" else "a URL")
        else:
            info["files"].append((parsed["file"], root / f.name))
    entries = []
    for student, info in sorted(students.items()):
        file, warnings, missing = choose(info["files"], assignment, f" among the files of {student}", others,
                                         resubmissions=True)
        if file is None and info["entries"]:
            missing += f" (submitted {' and '.join(info['entries'])}, not a file)"
        if info["late"]:
            warnings.insert(0, "submitted late (LATE in the Canvas file name)")
        entries.append(IntakeEntry(student, info["name"], file, root, late=info["late"], warnings=tuple(warnings),
                                   missing=missing))
    return Intake("canvas", root, tuple(entries), tuple(unplaced))


def _walk_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file below ``folder`` as (path relative to it, path), least nested first; links never followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _IGNORED)
        for name in filenames:
            if not name.startswith(".") and name not in _IGNORED:
                path = Path(dirpath) / name
                found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found, key=lambda item: (item[0].count("/"), item[0]))


def _moodle(root: Path, assignment: str, others: Iterable[str]) -> Intake:
    dirs, files = _visible(root)
    unplaced: list[str] = []
    students: dict[str, dict[str, Any]] = {}

    def student(match: re.Match[str]) -> dict[str, Any]:
        return students.setdefault(match["id"], {"name": match["name"], "files": [], "where": root, "other": []})

    for d in dirs:
        match = _MOODLE_DIR.fullmatch(d.name)
        if match is None:
            unplaced.append(f"{d.name}/: not named as Moodle names submissions (<name>_<id>_assignsubmission_...)")
            continue
        info = student(match)
        if match["plugin"] == "file":
            info["where"] = root / d.name
            info["files"] += [(f"{d.name}/{rel}", path) for rel, path in _walk_files(root / d.name)]
        else:
            info["other"].append(match["plugin"])
    for f in files:
        match = _MOODLE_FILE.fullmatch(f.name)
        if match is None:
            unplaced.append(f"{f.name}: not named as Moodle names submissions (<name>_<id>_assignsubmission_...)")
            continue
        info = student(match)
        if match["plugin"] == "file":
            info["files"].append((match["file"], root / f.name))
        else:
            info["other"].append(match["plugin"])
    entries = []
    for sid, info in sorted(students.items()):
        shown = [(rel.rsplit("/", 1)[-1], path) for rel, path in info["files"]]
        file, warnings, missing = choose(shown, assignment, f" among the files of {info['name'] or sid}", others)
        nested = [rel for rel, path in info["files"] if path == file]
        if file is not None and nested and nested[0].count("/") > 1:
            warnings.append(f"graded {nested[0]} (in a sub-folder)")
        if file is None and info["other"] and not info["files"]:
            missing += f" (submitted {', '.join(sorted(set(info['other'])))}, not a file)"
        entries.append(IntakeEntry(sid, info["name"], file, info["where"], warnings=tuple(warnings), missing=missing))
    return Intake("moodle", root, tuple(entries), tuple(unplaced))


def _yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - a dependency
        raise GraderError("reading a Gradescope export needs PyYAML: pip install pyyaml") from None
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        """Safe loading; a tag it does not know (a Ruby object) is read as the plain data under it."""

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:", plain)
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise GraderError(f"{path} is over {MAX_METADATA_BYTES:,} bytes")
    try:
        return yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=Loader)  # a SafeLoader
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise GraderError(f"{path} is not readable YAML: {str(exc)[:300]}") from None


def _key(data: Any, name: str) -> Any:
    """``data[name]`` with Ruby-symbol keys (``:name``) or plain ones."""
    if not isinstance(data, dict):
        return None
    for key in (f":{name}", name):
        if key in data:
            return data[key]
    return None


def _text(value: Any) -> str:
    """A scalar as text ("" for anything else); a YAML timestamp as ``2024-03-01 10:00:00-08:00``."""
    if isinstance(value, (str, int, float, datetime.date)) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def _gradescope(root: Path, assignment: str, others: Iterable[str]) -> Intake:
    from .gradescope_run import find_candidates

    meta_path = root / GRADESCOPE_METADATA
    metadata = _yaml(meta_path) if meta_path.is_file() and not meta_path.is_symlink() else None
    unplaced: list[str] = []
    if not isinstance(metadata, dict):
        unplaced.append(f"{GRADESCOPE_METADATA}: missing or not a mapping; student ids are the folder names")
        metadata = {}
    dirs, files = _visible(root)
    unplaced += [f"{f.name}: a loose file in a Gradescope export" for f in files if f.name != GRADESCOPE_METADATA]
    folders = {d.name for d in dirs}
    entries: list[IntakeEntry] = []
    for folder_name in sorted(folders | {str(k) for k in metadata}):
        if not folder_name.startswith("submission_"):
            unplaced.append(f"{folder_name}/: not a submission_<id> folder")
            continue
        info = metadata.get(folder_name, {})
        path = root / folder_name
        submitters = [s for s in (_key(info, "submitters") or []) if isinstance(s, dict)]
        created = _text(_key(info, "created_at")) or None
        people = [(_text(_key(s, "sid")) or _text(_key(s, "email")) or folder_name, _text(_key(s, "name")))
                  for s in submitters] or [(folder_name, "")]
        base_warnings = []
        if folder_name not in metadata:
            base_warnings.append(f"{folder_name} is not in {GRADESCOPE_METADATA}: the folder name is the student id")
        if len(people) > 1:
            base_warnings.append("group submission by " + ", ".join(n or s for s, n in people)
                                 + ": graded for each of them")
        if folder_name not in folders or (root / folder_name).is_symlink():
            file, warnings = None, [*base_warnings]
            missing = f"no folder {folder_name}/ in the export"
        else:
            candidates = find_candidates(path, assignment)
            warnings = list(base_warnings)
            missing = ""
            file = candidates[0] if candidates else None
            if file is None:
                names = [rel for rel, _ in _walk_files(path)]
                hint = suggestion(names, assignment, others)
                missing = (f"no .py or .ipynb file in {folder_name}/" + (f" (it holds: {', '.join(names[:5])})"
                                                                          if names else " (it is empty)")
                           + (f"; {hint}" if hint else ""))
            else:
                label = file.relative_to(path).as_posix()
                if file.name != f"{assignment}.py" and file.name != f"{assignment}.ipynb":
                    warnings.append(f"graded {label}: the upload has no file named {assignment}.py")
                if len(candidates) > 1:
                    others_shown = ", ".join(p.relative_to(path).as_posix() for p in candidates[1:6])
                    warnings.append(f"{len(candidates)} files could be graded: {label} was graded (a file named "
                                    f"{assignment}.py first, .py before .ipynb); not graded: {others_shown}")
        for sid, name in people:
            entries.append(IntakeEntry(sid, name, file, path, submitted_at=created, warnings=tuple(warnings),
                                       missing=missing))
    return Intake("gradescope", root, tuple(entries), tuple(unplaced))


_READERS = {"folders": _folders, "canvas": _canvas, "moodle": _moodle, "gradescope": _gradescope}


def _looks_like(folder: Path) -> str:
    """The LMS layout ``folder`` holds ("" when it holds none of them)."""
    if (folder / GRADESCOPE_METADATA).is_file():
        return "gradescope"
    try:
        dirs, files = _visible(folder)
    except GraderError:
        return ""
    if any("_assignsubmission_" in e.name for e in dirs + files):
        return "moodle"
    if sum(_canvas_parse(f.name) is not None for f in files) > len(dirs):  # not a stray file beside folders
        return "canvas"
    if dirs and all(d.name.startswith("submission_") for d in dirs) and not files:
        return "gradescope"
    return ""


def _start(folder: Path, layout: str) -> tuple[str, Path]:
    """(layout, folder it starts at): a download wrapped in one folder (``assignment_<id>_export/``) is entered."""
    found = _looks_like(folder)
    if layout == "folders" or found:
        return (layout if layout != "auto" else found), folder
    try:
        dirs, files = _visible(folder)
    except GraderError:
        dirs, files = [], []
    if len(dirs) == 1 and not files and not dirs[0].is_symlink():
        inner = folder / dirs[0].name
        inside = _looks_like(inner)
        if inside and layout in ("auto", inside):
            return inside, inner
    return ("folders" if layout == "auto" else layout), folder


def detect_layout(folder: Path) -> str:
    return _start(folder, "auto")[0]


def collect(folder: Path, assignment: str, layout: str = "auto", others: Iterable[str] = ()) -> Intake:
    """Every student of the download in ``folder`` (a folder: unpack a .zip with :func:`opened` first)."""
    if layout not in LAYOUTS:
        raise GraderError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    if not folder.is_dir():
        raise GraderError(f"{folder} is not a folder (or a .zip) of submissions")
    others = tuple(others)
    chosen, start = _start(folder, layout)
    intake = _READERS[chosen](start, assignment, others)
    intake = replace(intake, root=folder)
    return _unique(intake)


def _unique(intake: Intake) -> Intake:
    """One entry per student id: a second one (two Gradescope submissions of one student) is listed, not graded;
    the latest submission (by time) is kept."""
    seen: dict[str, IntakeEntry] = {}
    unplaced = list(intake.unplaced)
    ordered = sorted(intake.entries, key=lambda e: (e.submitted_at or "", e.file is not None), reverse=True)
    for entry in ordered:
        if entry.student in seen:
            unplaced.append(f"{entry.file or entry.where}: another submission of {entry.student} (the latest is "
                            "graded)")
            continue
        seen[entry.student] = entry
    entries = tuple(sorted(seen.values(), key=lambda e: e.student))
    return replace(intake, entries=entries, unplaced=tuple(unplaced))

