"""Notebooks as students write them: outputs, scratch cells, magics, out-of-order cells, errors by cell and line."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader import submission as submission_module
from grader.batch import BatchOptions, grade_batch
from grader.engine import Audience, grade
from grader.errors import SubmissionError
from grader.loader import load_assignment
from grader.render.reports import write_reports
from grader.render.terminal import print_batch
from grader.results import batch_from_json, to_json
from grader.sandbox.inprocess import InProcessRunner
from grader.starter import starter_source
from grader.submission import MAX_BYTES, read_submission

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "grader" / "schema" / "results.schema.json").read_text())
DOUBLE = "def double(x):\n    return 2 * x\n"
HALVES = "def halves(n):\n    return (n // 2, n - n // 2)\n"
ANSWERS = 'ANSWERS = {"answer": 42, "ops": {"a": 1, "b": 2}}\n'
PNG = base64.b64encode(bytes(range(256)) * 12_000).decode()  # a 4 MB plot, as a notebook saves it


def code(source: str | list[str], count: int | None = None, outputs: list | None = None, tags=None) -> dict:
    return {"cell_type": "code", "execution_count": count, "id": f"c{abs(hash(str(source))) % 10**8}",
            "metadata": {"tags": tags} if tags else {}, "outputs": outputs or [],
            "source": source}


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text, "id": f"m{abs(hash(text)) % 10**8}"}


def notebook(*cells: dict) -> str:
    return json.dumps({"cells": list(cells), "nbformat": 4, "nbformat_minor": 5,
                       "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}}}, indent=1)


def write(tmp_path: Path, text: str, student: str = "ann", name: str = "toy.ipynb") -> Path:
    path = tmp_path / "subs" / student / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def graded(path: Path):
    toy = load_assignment("toy", COURSE)
    return grade(toy, read_submission(path, path.parent.name), InProcessRunner(), Audience())


def full_marks(result) -> bool:
    return result.status == "graded" and result.score == result.max_score


def test_plots_do_not_count_towards_the_size_limit_but_code_does(tmp_path, monkeypatch) -> None:
    plot = {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": ["<Figure>"]}}
    text = notebook(markdown("# Homework"), code("import numpy as np\n" + DOUBLE, 3, [plot, plot]),
                    code(HALVES + ANSWERS, 4, [plot]))
    assert len(text) > 10 * MAX_BYTES
    assert full_marks(graded(write(tmp_path, text)))
    big = notebook(code(GOOD + "# " + "x" * MAX_BYTES + "\n"))
    with pytest.raises(SubmissionError, match=r"code cells .* limited"):
        read_submission(write(tmp_path, big, "bob"))
    monkeypatch.setattr(submission_module, "MAX_NOTEBOOK_FILE_BYTES", 1_000_000)  # the raw file is capped too
    with pytest.raises(SubmissionError, match="notebook files are limited"):
        read_submission(write(tmp_path, text, "cat"))


def test_a_failing_scratch_cell_costs_nothing_and_document_order_wins(tmp_path) -> None:
    # The student ran the cells out of order: cell 3 (run first) uses helper, defined in cell 5 (run second);
    # a wrong double in cell 2 was run last, but document order puts the right one (cell 4) after it.
    text = notebook(
        markdown("# Homework 0"),
        code("import numpy as np\ndef double(x):\n    return 3 * x\n", count=9),
        code("check = helper(3)\nprint(check)", count=2),
        code(DOUBLE, count=1),
        code("def helper(n):\n    return halves(n)\n" + HALVES, count=3),
        code("def broken(:\n    pass", count=None),  # a syntax error in a scratch cell
        code("1 / 0  # scratch", count=7),
        code(ANSWERS, count=8),
    )
    result = graded(write(tmp_path, text))
    assert full_marks(result), result


def test_cell_magics_drop_the_whole_cell_and_line_magics_do_nothing(tmp_path) -> None:
    text = notebook(
        code("%%capture\n!pip install -q numpy\n", 1),
        code("%matplotlib inline\n%load_ext autoreload\nimport numpy as np\n" + DOUBLE, 2),
        code("%%bash\necho 'setting up'\nls -la | head -n 3\nexport X=1\n", 3),
        code("%%writefile toy_old.py\ndef double(x):\n    return x + x + 1\n", 4),  # old code: must not win
        code("if True:\n    !pip install torch\n    files = !ls\nsizes = %timeit -o double(1)\n" + HALVES, 5),
        code(["%%time\n", "total = sum(range(10))\n"], 6),
        code(ANSWERS + "np.sum?\n", 7),
    )
    result = graded(write(tmp_path, text))
    assert full_marks(result), result
    assert result.status == "graded"


def test_a_cell_magic_around_graded_code_and_skip_markers(tmp_path) -> None:
    text = notebook(
        code("import numpy as np\n" + DOUBLE + ANSWERS),
        code("%%time\n" + HALVES),  # a graded function inside %%time: not run, and the student is told
        code("def double(x):\n    return -x\n", tags=["skip-grading"]),
        code("# grader: skip\ndef double(x):\n    return 0 * x\n"),
    )
    path = write(tmp_path, text)
    submission = read_submission(path)
    assert any("cell 2 starts with %%time" in w for w in submission.warnings)
    result = graded(path)
    scores = {p.id: p.score for p in result.problems}
    assert scores["double"] == 6 and scores["ANSWERS"] == 2
    assert next(p for p in result.problems if p.id == "halves").status == "missing"


def test_errors_point_to_the_cell_and_line(tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "grader" / "sandbox" / "worker"))
    try:
        import child  # the sandbox's child module: how it describes an error
    finally:
        sys.path.pop(0)
    text = notebook(markdown("intro"), code("import numpy as np"), markdown("## double"),
                    code("def double(x):\n    y = 2 * x\n    return y[10]\n"))
    source = read_submission(write(tmp_path, text)).source
    namespace: dict = {"__name__": "toy"}
    exec(compile(source, "toy.py", "exec"), namespace)
    with pytest.raises(IndexError) as caught:
        namespace["double"](__import__("numpy").zeros(3))
    described = child.describe_exception(caught.value, "toy.py")
    assert "cell 4, line 3, in double: return y[10]" in described, described


def test_hostile_and_old_notebooks(tmp_path) -> None:
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "language": "python", "collapsed": False,
                                     "input": GOOD, "outputs": [], "prompt_number": 1, "metadata": {}}],
                          "metadata": {}}]}
    assert full_marks(graded(write(tmp_path, json.dumps(v3), "old")))
    for student, text in {"future": json.dumps({"nbformat": 99, "cells": [code(GOOD)], "metadata": {}}),
                          "cells_text": json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "x = 1",
                                                    "metadata": {}}),
                          "array": "[1, 2, 3]"}.items():
        with pytest.raises(SubmissionError, match="not a valid notebook"):
            read_submission(write(tmp_path, text, student))


def test_warnings_reach_every_output(tmp_path) -> None:
    toy = load_assignment("toy", COURSE)
    write(tmp_path, notebook(code("%%time\n" + GOOD)), "ann")
    write(tmp_path, GOOD, "ann", "toy.py")
    write(tmp_path, notebook(code("import numpy as np\n" + DOUBLE + ANSWERS), code("%%timeit\n" + HALVES)), "bob")
    out = tmp_path / "out"
    batch = grade_batch(toy, tmp_path / "subs", out, "s3cret", InProcessRunner(), jobs=1,
                        options=BatchOptions(fresh=True))
    by = {s.student: s for s in batch.submissions}
    assert full_marks(by["ann"]) and by["ann"].file.endswith("toy.py")
    assert any("both toy.py and toy.ipynb" in w and ".py file wins" in w for w in by["ann"].warnings)
    assert any("cell 2 starts with %%timeit" in w for w in by["bob"].warnings)
    data = json.loads(to_json(batch))
    jsonschema.validate(data, SCHEMA)
    assert batch_from_json(to_json(batch)).submissions == batch.submissions
    write_reports(batch, out)
    page = (out / "students" / "ann.html").read_text()
    assert "Warnings" in page and "both toy.py and toy.ipynb" in page
    console = Console(record=True, width=200)
    print_batch(console, batch, str(out))
    assert "warning: bob: cell 2 starts with %%timeit" in console.export_text()
    again = grade_batch(toy, tmp_path / "subs", out, "s3cret", InProcessRunner(), jobs=1)  # resumed: same warnings
    assert {s.student: s.warnings for s in again.submissions} == {s.student: s.warnings for s in batch.submissions}


def test_the_starter_file_states_the_notebook_policy() -> None:
    text = starter_source(load_assignment("toy", COURSE))
    for phrase in ("toy.ipynb", "document order", "skip-grading", "# grader: skip", "%%time", "!pip install",
                   "cell 7, line 3"):
        assert phrase in text


@pytest.mark.sandbox
def test_in_the_sandbox_errors_name_cells_and_scratch_failures_are_printed(tmp_path) -> None:
    from grader.sandbox.process import SandboxRunner
    from grader.sandbox.runner import Limits

    toy = load_assignment("toy", COURSE)
    text = notebook(markdown("# hw"), code("import numpy as np\nprint(undefined)"),
                    code("def double(x):\n    y = 2 * x\n    return y[10]\n"), code(HALVES + ANSWERS))
    submission = read_submission(write(tmp_path, text))
    with SandboxRunner(workers=1) as runner:
        result = grade(toy, submission, runner, Audience(), Limits(case_seconds=2.0, import_seconds=5.0))
    assert result.status == "graded"
    assert "cell 2" in result.output and "NameError" in result.output and "skipped" in result.output
    double = next(p for p in result.problems if p.id == "double")
    assert double.cases and all(c.outcome == "error" for c in double.cases)
    detail = double.cases[0].message + double.cases[0].detail
    assert "cell 3, line 3" in detail, detail
    assert next(p for p in result.problems if p.id == "halves").score == 2
