"""Files the grader reads and writes: submissions are regular files (no links), the secret stays out of the
reports, the gradebook is safe to open in a spreadsheet, and no two students share a report file.

Grading runs through the real ``grader`` command (click's runner, in process) with the sandbox replaced by
the in-process test runner: these tests are about files, not isolation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shlex
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader import instructor, selfcheck, submission
from grader.batch import safe_name
from grader.cli import main
from grader.errors import SubmissionError
from grader.render.csvsafe import csv_text, safe_cell
from grader.sandbox.inprocess import InProcessRunner
from grader.seeding import default_secret_path, resolve_secret_file
from grader.submission import find_submission, read_submission

GRADER_SOURCE = Path(instructor.__file__).resolve().parent / "batch.py"
SECRET_TEXT = "TOP-SECRET-0123456789abcdef"


class FakeSandbox(InProcessRunner):
    """The in-process runner with the sandbox runner's close() and context manager."""

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default secret goes under tmp_path/config; the course is the toy one; no real sandbox."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GRADER_PROBLEMS", str(COURSE))
    monkeypatch.delenv("GRADER_SECRET_FILE", raising=False)
    for module in (instructor, selfcheck):
        for factory in ("SandboxRunner", "open_runner"):
            if hasattr(module, factory):
                monkeypatch.setattr(module, factory, lambda *args, **kwargs: FakeSandbox())
    return tmp_path / "config" / "dlmath-grader" / "secret.key"


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def grade(subs: Path, out: Path, *extra: str) -> tuple[dict, str]:
    done = cli("grade", "toy", str(subs), "--out", str(out), "-j", "1", *extra)
    assert done.exit_code == 0, done.output
    results = json.loads((out / "toy" / "results.json").read_text())
    return {s["student"]: s for s in results["submissions"]}, done.output


def student(subs: Path, name: str, text: str = GOOD, filename: str = "toy.py") -> Path:
    (subs / name).mkdir(parents=True, exist_ok=True)
    path = subs / name / filename
    path.write_text(text)
    return path


def every_output(out: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()]


# -- 6. a submission is a regular file inside its student's folder ------------------------------------------

def test_links_to_a_classmate_a_secret_or_grader_code_are_unreadable_and_never_quoted(env, tmp_path) -> None:
    subs = tmp_path / "subs"
    ann = student(subs, "ann")
    secret = tmp_path / "private" / "instructor.key"
    secret.parent.mkdir()
    secret.write_text(f"ANSWERS = {{'answer': '{SECRET_TEXT}'}}\n{SECRET_TEXT} is not Python\n")
    (subs / "mallory").mkdir()
    (subs / "mallory" / "toy.py").symlink_to(Path("..") / "ann" / "toy.py")  # a classmate's file, relative
    (subs / "eve").mkdir()
    (subs / "eve" / "toy.py").symlink_to(secret)  # the instructor's secret, absolute
    (subs / "oscar").mkdir()
    (subs / "oscar" / "toy.py").symlink_to(GRADER_SOURCE)  # the grader's own code
    (subs / "nina").mkdir()
    (subs / "nina" / "toy.ipynb").symlink_to(secret)  # a notebook link is no better
    (subs / "trudy").symlink_to(subs / "ann", target_is_directory=True)  # a student folder that is a link
    (subs / "walt").symlink_to(secret.parent, target_is_directory=True)  # ... to a folder outside submissions
    (secret.parent / "toy.py").write_text(f"# {SECRET_TEXT}\n" + GOOD)

    results, _ = grade(subs, tmp_path / "out")
    assert results["ann"]["status"] == "graded" and results["ann"]["score"] == results["ann"]["max_score"]
    for name in ("mallory", "eve", "oscar", "nina", "trudy", "walt"):
        assert results[name]["status"] == "unreadable", (name, results[name])
        assert results[name]["score"] == 0
        assert "symbolic link" in results[name]["message"]
    assert "the folder trudy/" in results["trudy"]["message"]
    grader_code = GRADER_SOURCE.read_bytes()[:200]
    for path, content in every_output(tmp_path / "out"):
        assert SECRET_TEXT.encode() not in content, path
        assert str(secret).encode() not in content, path  # the link's target is never named either
        assert grader_code not in content, path
    assert ann.read_text() == GOOD  # nothing was written through a link


def test_read_submission_refuses_links_and_accepts_regular_files(tmp_path) -> None:
    subs = tmp_path / "subs"
    real = student(subs, "ann")
    (subs / "bob").mkdir()
    link = subs / "bob" / "toy.py"
    link.symlink_to(real)
    assert find_submission(subs / "bob", "toy") == link  # found, so that it is refused rather than missing
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_submission(link)
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_submission(link, "bob", root=subs)
    (subs / "cat").symlink_to(subs / "ann", target_is_directory=True)
    with pytest.raises(SubmissionError, match="the folder cat/ is a symbolic link"):
        read_submission(subs / "cat" / "toy.py", "cat", root=subs)
    with pytest.raises(SubmissionError, match="not inside"):
        read_submission(real, "ann", root=tmp_path / "elsewhere")
    assert read_submission(real, "ann", root=subs).source == GOOD
    # A hard link is an ordinary file (same inode, no link to see): accepted, as documented.
    (subs / "dan").mkdir()
    os.link(real, subs / "dan" / "toy.py")
    assert read_submission(subs / "dan" / "toy.py", "dan", root=subs).source == GOOD


def test_the_open_itself_refuses_a_link_swapped_in_after_any_check(tmp_path, monkeypatch) -> None:
    if not getattr(os, "O_NOFOLLOW", 0):
        pytest.skip("no O_NOFOLLOW on this platform")
    subs = tmp_path / "subs"
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_TEXT)
    (subs / "eve").mkdir(parents=True)
    (subs / "eve" / "toy.py").symlink_to(secret)
    (subs / "tom").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "toy.py").write_text(SECRET_TEXT)
    monkeypatch.setattr(submission, "_is_link", lambda path: False)  # every lstat-style check is fooled
    for path, name in ((subs / "eve" / "toy.py", "eve"), (subs / "tom" / "toy.py", "tom")):
        with pytest.raises(SubmissionError) as caught:
            read_submission(path, name, root=subs)
        assert SECRET_TEXT not in str(caught.value)


def test_special_files_are_not_read(tmp_path) -> None:
    subs = tmp_path / "subs"
    (subs / "ann" / "toy.py").mkdir(parents=True)  # a folder named like the submission
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission(subs / "ann" / "toy.py", "ann", root=subs)
    if hasattr(os, "mkfifo"):
        (subs / "bob").mkdir()
        os.mkfifo(subs / "bob" / "toy.py")
        with pytest.raises(SubmissionError, match="not a regular file"):  # and the open does not block
            read_submission(subs / "bob" / "toy.py", "bob", root=subs)


# -- 7. the secret stays out of what instructors publish ------------------------------------------------------

def test_grading_keeps_the_secret_and_its_path_out_of_every_report(env, tmp_path) -> None:
    subs = tmp_path / "subs"
    student(subs, "ann")
    student(subs, "ben", GOOD.replace("return 2 * x", "return 2 * x + 2"))
    out = tmp_path / "out"
    results, output = grade(subs, out)
    assert env.exists() and stat.S_IMODE(env.stat().st_mode) == 0o600
    assert "warning" not in output
    secret = env.read_text().strip()
    assert not list(out.rglob("*.key")) and not list(out.rglob("*secret*"))
    for path, content in every_output(out):
        for needle in (secret, str(env), str(env.parent), "secret.key"):
            assert needle.encode() not in content, (path, needle)
    replays = [c["replay"] for s in results.values() for p in s["problems"] for c in p["cases"]]
    assert replays and not any("--secret-file" in r for r in replays)

    # the replay command printed on ben's page works as is: grader replay finds the default secret itself
    failing = next(c for p in results["ben"]["problems"] for c in p["cases"]
                   if c["kind"] == "hidden" and c["outcome"] != "passed")
    replayed = cli(*shlex.split(failing["replay"])[1:])
    assert replayed.exit_code == 1 and failing["id"] in replayed.output and "error:" not in replayed.output
    passing = next(c for p in results["ann"]["problems"] for c in p["cases"] if c["kind"] == "hidden")
    assert passing["replay"].startswith("grader replay ") and cli(*shlex.split(passing["replay"])[1:]).exit_code == 0


def test_replay_without_any_secret_says_where_it_looked(env, tmp_path, monkeypatch) -> None:
    subs = tmp_path / "subs"
    student(subs, "ann")
    results, _ = grade(subs, tmp_path / "out")
    hidden = next(c for p in results["ann"]["problems"] for c in p["cases"] if c["kind"] == "hidden")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nowhere"))
    done = CliRunner().invoke(main, shlex.split(hidden["replay"])[1:])
    assert done.exit_code == 2 and "secret" in done.output and "--secret-file" in done.output


def test_a_secret_inside_out_is_warned_about_and_replays_show_a_placeholder(env, tmp_path) -> None:
    subs = tmp_path / "subs"
    student(subs, "ben", GOOD.replace("return 2 * x", "return 2 * x + 2"))
    out = tmp_path / "out"
    inside = out / "my.key"
    results, output = grade(subs, out, "--secret-file", str(inside))
    warnings = [line for line in output.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "inside the output folder" in warnings[0]
    assert not env.exists()  # the explicit file was used, nothing created by default
    replays = [c["replay"] for p in results["ben"]["problems"] for c in p["cases"] if c["kind"] == "hidden"]
    assert replays and all(r.endswith("--secret-file <your secret file>") for r in replays)
    for path, content in every_output(out):
        if path != inside:
            assert str(inside).encode() not in content and inside.read_bytes().strip() not in content, path

    elsewhere = tmp_path / "elsewhere.key"
    _, output = grade(subs, tmp_path / "out2", "--secret-file", str(elsewhere))
    assert "warning" not in output and elsewhere.exists()


def test_secret_resolution(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GRADER_SECRET_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_secret_path() == tmp_path / "xdg" / "dlmath-grader" / "secret.key"
    assert resolve_secret_file(None) == (default_secret_path(), True)
    assert resolve_secret_file(default_secret_path()) == (default_secret_path(), True)
    assert resolve_secret_file(tmp_path / "other.key") == (tmp_path / "other.key", False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")  # ignored, as the XDG rule says
    assert default_secret_path() == Path.home() / ".config" / "dlmath-grader" / "secret.key"
    monkeypatch.setenv("GRADER_SECRET_FILE", str(tmp_path / "env.key"))
    assert resolve_secret_file(None) == (tmp_path / "env.key", True)
    assert resolve_secret_file(tmp_path / "other.key")[1] is False


# -- 8. a spreadsheet-safe gradebook --------------------------------------------------------------------------

def test_safe_cells() -> None:
    for text in ("=1+1", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx", "=HYPERLINK(\"http://x\")",
                 "-", "+", "-nan", "\uff1dSUM(A1)"):
        assert safe_cell(text) == "'" + text
    for text in ("ann", "", "1.5", "-1.5", "-2", "+3", "-1e-5", "Zoë", "a=b", "'quoted"):
        assert safe_cell(text) == text
    assert safe_cell(-2) == -2 and safe_cell(-0.5) == -0.5 and safe_cell(None) == ""
    rows = list(csv.reader(io.StringIO(csv_text([["=x", -1, "-1", "a,b"]]))))
    assert rows == [["'=x", "-1", "-1", "a,b"]]


def test_gradebook_neutralises_formulas_and_opens_in_excel(env, tmp_path) -> None:
    subs = tmp_path / "subs"
    names = ["=HYPERLINK(\"https:evil\",\"x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "Zoë", "ann",
             "-5"]
    for name in names:
        student(subs, name)
    grade(subs, tmp_path / "out")
    raw = (tmp_path / "out" / "toy" / "gradebook.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not raw.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][0] == "student"
    by_id = {row[0]: row for row in rows[1:]}
    for name in names:
        risky = name[0] in "=+-@\t\r" and not re.fullmatch(r"-?\d+", name)
        assert (("'" + name) if risky else name) in by_id, (name, list(by_id))
    assert "Zoë" in by_id and by_id["ann"][2] == "10"
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r" or re.fullmatch(r"-?\d+(\.\d+)?", cell), row


# -- 9. unique report pages -----------------------------------------------------------------------------------

def _old_style(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", student) + "-" + hashlib.sha256(student.encode()).hexdigest()[:6]


def _new_style(student: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "_", student.lower()) + "~" + hashlib.sha256(student.encode()).hexdigest()[:16]


CRAFTED = ["bob!", _old_style("bob!"), _new_style("bob!"), "bob_", "Bob", "bob", "BOB", "bOb!", "con", "CON",
           "con.txt", "a" * 64, "a" * 65, "a" * 80, "a" * 80 + "b", "x y", "x_y", "x~y", "Zoë", "zoë", "ZOË",
           "ann", "Ann", "-", "_", ".x", "x.", "ünï", "über", "ueber"]


def test_safe_names_are_unique_even_ignoring_case() -> None:
    safe = [safe_name(n) for n in CRAFTED]
    assert len({s.lower() for s in safe}) == len(CRAFTED), sorted(safe)
    for name in safe:
        assert re.fullmatch(r"[a-z0-9_][a-z0-9._~-]*", name) and len(name) <= 70
    assert safe_name("ann") == "ann" and safe_name("hw4-import_error") == "hw4-import_error"


def test_crafted_folder_names_get_pages_of_their_own(env, tmp_path) -> None:
    subs = tmp_path / "subs"
    names = ["bob!", _old_style("bob!"), _new_style("bob!"), "bob", "Bob", "BOB"]
    for i, name in enumerate(names):
        student(subs, name, GOOD.replace("return 2 * x", f"return 2 * x  # author {i}"))
    results, _ = grade(subs, tmp_path / "out")
    assert set(results) == set(names)
    pages = sorted((tmp_path / "out" / "toy" / "students").glob("*.html"))
    journal = sorted((tmp_path / "out" / "toy" / ".state").glob("*.json"))
    assert len(pages) == len(journal) == len(names)
    assert len({p.name.lower() for p in pages}) == len(names)
