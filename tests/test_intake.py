"""Intake as LMSs deliver it: Canvas, Gradescope and Moodle bulk downloads (folders or .zip), one folder per student.

File names follow the layouts in shared/docs/ecosystem-facts.md section 6 (Canvas lib/content_zipper.rb, Moodle
mod/assign downloader, Gradescope's export as third-party parsers read it).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader import intake as intake_module
from grader.batch import BatchOptions, grade_batch
from grader.errors import GraderError
from grader.intake import collect, detect_layout, opened, unpack_zip
from grader.loader import load_assignment
from grader.sandbox.inprocess import InProcessRunner

BAD = GOOD.replace("return 2 * x", "return x + 2")
SECRET = "s3cret"


def nb(source: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
                                  "execution_count": 1}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def files(root: Path, content: dict[str, str]) -> Path:
    for name, text in content.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def canvas(root: Path) -> Path:
    return files(root, {
        "smithjohn_1001_5001_toy.py": GOOD,
        "doejane_LATE_1002_4999_toy.py": BAD,  # first upload
        "doejane_LATE_1002_5002_toy-1.py": GOOD,  # re-uploaded under the same name: the last one is graded
        "anon_k3f9z_5003_toy.ipynb": nb(GOOD),  # anonymous grading
        "LATE_anon_q7w2e_5008_toy.py": GOOD,
        "leeann_1004_5004_Toy.py": GOOD,  # misnamed: listed with a suggestion, not graded
        "kimbo_1005_text.html": "<p>see attached</p>",  # a text entry
        "parkmin_1006_5006_toy.py": GOOD,
        "parkmin_1006_5007_toy.ipynb": nb(BAD),  # both: the .py wins
        "notes.txt": "loose",
    })


def gradescope(root: Path) -> Path:
    export = root / "assignment_4242_export"
    metadata = """\
submission_111:
  :submitters:
  - :name: Ann Lee
    :sid: '2001'
    :email: ann@example.edu
  :created_at: 2024-03-01 10:00:00.000000000 -08:00
  :score: 10.0
  :history: []
submission_222:
  :submitters:
  - :name: Bo Chen
    :sid: ''
    :email: bo@example.edu
  - :name: Cy Dee
    :sid: '2003'
    :email: cy@example.edu
  :created_at: 2024-03-02 09:30:00.000000000 -08:00
  :score:
  :history:
  - :created_at: 2024-03-01 09:30:00.000000000 -08:00
    :score: 4.0
submission_333:
  :submitters:
  - :name: Di Eve
    :sid: '2004'
    :email: di@example.edu
  :created_at: 2024-03-02 11:00:00.000000000 -08:00
"""
    return files(export, {
        "submission_metadata.yml": metadata,
        "submission_111/toy.py": GOOD,
        "submission_222/work/toy.ipynb": nb(GOOD),
        "submission_333/README.md": "no code",
    })


def moodle(root: Path) -> Path:
    return files(root, {
        "Ann Lee_3001_assignsubmission_file/toy.py": GOOD,
        "Bo Chen_3002_assignsubmission_file_/toy.ipynb": nb(GOOD),  # Moodle 3.x: a trailing _
        "Cy Dee_3003_assignsubmission_onlinetext/onlinetext.html": "<p>hi</p>",
        "Dan Roe_3004_assignsubmission_file_toy.py": GOOD,  # "download in folders" off: flat
        "Participant_3005_assignsubmission_file/TOY.py": GOOD,  # blind marking; misnamed
        "Eve Fox_3006_assignsubmission_file/toy.py": GOOD,
        "Eve Fox_3006_assignsubmission_file/toy.ipynb": nb(BAD),
        "grades.csv": "loose",
    })


def folders(root: Path) -> Path:
    return files(root, {"ann/toy.py": GOOD, "bob/toy.py": GOOD, "bob/toy.ipynb": nb(BAD), "carl/Toy.py": GOOD,
                        "dan/hw_toy.txt": "", "eve/toy.ipynb": nb(GOOD), "stray.py": GOOD})


def run(folder: Path, out: Path, layout: str = "auto"):
    toy = load_assignment("toy", COURSE)
    batch = grade_batch(toy, folder, out, SECRET, InProcessRunner(), jobs=2,
                        options=BatchOptions(fresh=True, layout=layout))
    return {s.student: s for s in batch.submissions}


def full(result) -> bool:
    return result.status == "graded" and result.score == result.max_score


def test_canvas(tmp_path) -> None:
    root = canvas(tmp_path / "dl")
    assert detect_layout(root) == "canvas"
    intake = collect(root, "toy")
    entries = {e.student: e for e in intake.entries}
    assert entries["1002"].late and entries["1002"].name == "doejane" and entries["1001"].late is False
    assert entries["1002"].file.name == "doejane_LATE_1002_5002_toy-1.py"
    assert any("notes.txt" in u for u in intake.unplaced)
    results = run(root, tmp_path / "out")
    assert set(results) == {"1001", "1002", "anon_k3f9z", "anon_q7w2e", "1004", "1005", "1006"}
    for student in ("1001", "1002", "anon_k3f9z", "anon_q7w2e", "1006"):
        assert full(results[student]), results[student]
    assert any("submitted late" in w for w in results["1002"].warnings)
    assert any("LATE" in w for w in results["anon_q7w2e"].warnings)
    assert any("2 files could be graded" in w for w in results["1002"].warnings)
    assert any(".py file wins" in w for w in results["1006"].warnings)
    assert results["1004"].status == "no_submission"
    assert "found Toy.py; did you mean toy.py?" in results["1004"].message
    assert results["1005"].status == "no_submission" and "text entry" in results["1005"].message


def test_gradescope(tmp_path) -> None:
    root = gradescope(tmp_path / "dl")
    assert detect_layout(root) == "gradescope"
    intake = collect(root, "toy")
    entries = {e.student: e for e in intake.entries}
    assert set(entries) == {"2001", "bo@example.edu", "2003", "2004"}
    assert entries["2001"].name == "Ann Lee" and entries["2001"].submitted_at.startswith("2024-03-01 ")
    assert entries["2003"].file == entries["bo@example.edu"].file  # a group: graded for each submitter
    results = run(root, tmp_path / "out")
    for student in ("2001", "bo@example.edu", "2003"):
        assert full(results[student]), results[student]
    assert any("group submission" in w for w in results["2003"].warnings)
    assert results["2004"].status == "no_submission" and "README.md" in results["2004"].message


def test_gradescope_metadata_with_ruby_tags_and_a_folder_not_in_it(tmp_path) -> None:
    root = files(tmp_path / "dl", {
        "submission_metadata.yml": "submission_9:\n  :submitters:\n"
                                   "  - !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n"
                                   "    :name: Zed\n    :sid: 77\n  :created_at: 2024-01-01 00:00:00 Z\n",
        "submission_9/toy.py": GOOD, "submission_10/toy.py": GOOD})
    entries = {e.student: e for e in collect(root, "toy", "gradescope").entries}
    assert entries["77"].name == "Zed" and entries["77"].file is not None
    assert any("not in submission_metadata.yml" in w for w in entries["submission_10"].warnings)


def test_moodle(tmp_path) -> None:
    root = moodle(tmp_path / "dl")
    assert detect_layout(root) == "moodle"
    intake = collect(root, "toy")
    assert {e.student: e.name for e in intake.entries}["3001"] == "Ann Lee"
    assert any("grades.csv" in u for u in intake.unplaced)
    results = run(root, tmp_path / "out")
    for student in ("3001", "3002", "3004", "3006"):
        assert full(results[student]), results[student]
    assert results["3003"].status == "no_submission" and "onlinetext" in results["3003"].message
    assert "found TOY.py; did you mean toy.py?" in results["3005"].message
    assert any(".py file wins" in w for w in results["3006"].warnings)


def test_folders(tmp_path) -> None:
    root = folders(tmp_path / "subs")
    assert detect_layout(root) == "folders"
    intake = collect(root, "toy")
    assert any("stray.py" in u and "loose" in u for u in intake.unplaced)
    results = run(root, tmp_path / "out")
    assert full(results["ann"]) and full(results["bob"]) and full(results["eve"])
    assert any("both toy.py and toy.ipynb" in w for w in results["bob"].warnings)
    assert results["carl"].status == "no_submission"
    assert results["carl"].message == "no toy.py (or .ipynb) in carl/; found Toy.py; did you mean toy.py?"
    assert results["dan"].message == "no toy.py (or .ipynb) in dan/"


def test_files_of_other_assignments_are_not_suggested(tmp_path) -> None:
    root = files(tmp_path / "subs", {"ann/hw4.py": GOOD, "ann/hw7.ipynb": nb(GOOD)})
    entry = collect(root, "hw5", "folders", others=("hw4", "hw5", "hw6", "hw7")).entries[0]
    assert entry.file is None and "did you mean" not in entry.missing


def test_a_forced_wrong_layout_places_nobody(tmp_path) -> None:
    root = canvas(tmp_path / "dl")
    results = run(root, tmp_path / "out", layout="moodle")
    assert results == {}
    assert len(collect(root, "toy", "moodle").unplaced) == 10


def zip_of(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return target


@pytest.mark.parametrize("maker", [canvas, gradescope, moodle, folders])
def test_a_zip_of_the_download_grades_like_the_folder(tmp_path, maker) -> None:
    root = maker(tmp_path / "dl")
    archive = zip_of(root, tmp_path / "download.zip")
    zipped = run(archive, tmp_path / "zip-out")
    assert {k: (v.status, v.score) for k, v in zipped.items()} \
        == {k: (v.status, v.score) for k, v in run(root, tmp_path / "dir-out").items()}
    for result in zipped.values():  # named where `unzip -d download download.zip` puts them, not in a temp folder
        assert result.file.startswith(str(tmp_path / "download") + "/"), result.file
        replays = [c.replay for p in result.problems for c in p.cases]
        assert all(r.startswith("grader replay ") and f"{tmp_path / 'download'}/" in r for r in replays)
        if maker is canvas and replays:
            assert all(" --assignment toy" in r for r in replays)


def test_unpacking_is_safe(tmp_path, monkeypatch) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.py", "x = 1")
        zf.writestr("/abs/escaped.py", "x = 1")
        zf.writestr("a/../../escaped2.py", "x = 1")
        zf.writestr("C:/escaped3.py", "x = 1")
        link = zipfile.ZipInfo("ann/toy.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("bob/toy.py", GOOD)
        zf.writestr("big/toy.py", "#" * 5000)
        zf.writestr("__MACOSX/bob/._toy.py", "junk")
    monkeypatch.setattr(intake_module, "MAX_ZIP_MEMBER_BYTES", 4000)
    target = tmp_path / "unpacked"
    target.mkdir()
    notes = unpack_zip(archive, target)
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == ["bob/toy.py"]
    assert not list(tmp_path.glob("escaped*")) and not (tmp_path.parent / "escaped.py").exists()
    assert sum("outside the folder" in n for n in notes) == 4
    assert any("symbolic link" in n for n in notes) and any("big/toy.py" in n for n in notes)
    with opened(archive) as (folder, _):
        assert (folder / "bob" / "toy.py").read_text() == GOOD
    assert not folder.exists()  # the temporary folder is removed
    monkeypatch.setattr(intake_module, "MAX_ZIP_TOTAL_BYTES", 100)
    (tmp_path / "again").mkdir()
    with pytest.raises(GraderError, match="unpacks to more than"):
        unpack_zip(archive, tmp_path / "again")
    (tmp_path / "not.zip").write_text("no")
    with pytest.raises(GraderError, match="not a readable zip"), opened(tmp_path / "not.zip"):
        pass


# ------------------------------------------------------------------ the command, once per layout


def grader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="160", XDG_CONFIG_HOME=str(cwd / "config"), GRADER_PROBLEMS=str(COURSE))
    env.pop("GRADER_SECRET_FILE", None)
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.sandbox
@pytest.mark.parametrize(("maker", "expected"), [
    (canvas, {"1001": 10, "1002": 10, "anon_k3f9z": 10, "1004": 0}),
    (gradescope, {"2001": 10, "2003": 10, "bo@example.edu": 10}),
    (moodle, {"3001": 10, "3002": 10, "3004": 10, "3005": 0}),
])
def test_the_grade_command_reads_each_download(tmp_path, maker, expected) -> None:
    layout = maker.__name__
    archive = zip_of(maker(tmp_path / "dl"), tmp_path / f"{layout}.zip")
    out = grader("grade", "toy", str(archive), "--layout", layout, "--out", "reports", "-j", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    scores = {s["student"]: s["score"] for s in
              json.loads((tmp_path / "reports" / "toy" / "results.json").read_text())["submissions"]}
    assert {k: scores[k] for k in expected} == expected
    assert "not placed" in out.stdout or layout == "gradescope"
    auto = grader("grade", "toy", str(tmp_path / "dl"), "--out", "reports2", "-j", "1", cwd=tmp_path)
    assert auto.returncode == 0 and "warning:" in auto.stdout, auto.stdout + auto.stderr


@pytest.mark.sandbox
def test_the_grade_command_with_folders_and_when_nobody_is_graded(tmp_path) -> None:
    folders(tmp_path / "subs")
    out = grader("grade", "toy", "subs", "--layout", "folders", "--out", "reports", "-j", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "warning: bob: both toy.py and toy.ipynb" in out.stdout and "stray.py" in out.stdout
    canvas(tmp_path / "dl")
    wrong = grader("grade", "toy", "dl", "--layout", "gradescope", "--out", "reports", "-j", "1", cwd=tmp_path)
    assert wrong.returncode == 1 and "graded nobody" in wrong.stdout and "--layout" in wrong.stdout
    (tmp_path / "empty").mkdir()
    empty = grader("grade", "toy", "empty", "--out", "reports", "-j", "1", cwd=tmp_path)
    assert empty.returncode == 1 and "graded nobody" in empty.stdout
