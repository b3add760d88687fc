"""JUnit XML for CI systems: one testcase per case, one testsuite per problem."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..formatting import case_values
from ..results import SubmissionResult
from ..text import printable as _xml  # XML 1.0 cannot hold control characters, even escaped


def _properties(suite: ET.Element, result: SubmissionResult) -> None:
    """Properties go first in every ``testsuite`` (the Ant schema requires them there; none on ``testsuites``)."""
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="isolation", value=result.isolation)
    ET.SubElement(properties, "property", name="isolation_layers", value=", ".join(result.isolation_layers))
    ET.SubElement(properties, "property", name="score", value=f"{result.score:g}/{result.max_score:g}")


def junit_xml(result: SubmissionResult) -> str:
    """Valid for the Ant schema and Jenkins' junit-10: ``testsuites`` > ``testsuite`` (``properties`` first) >
    ``testcase`` > ``failure``/``error`` with ``type`` and ``message``. Unique ``classname`` + ``name`` pairs
    (GitLab keeps only the first of duplicates)."""
    root = ET.Element("testsuites", name=_xml(f"{result.assignment} {result.file}"))
    if result.status != "graded":
        suite = ET.SubElement(root, "testsuite", name=result.assignment, tests="1", failures="0", errors="1")
        _properties(suite, result)
        what = "import" if result.status == "not_imported" else result.status
        case = ET.SubElement(suite, "testcase", classname=result.assignment, name=what)
        ET.SubElement(case, "error", message=_xml(result.message.splitlines()[0] if result.message else result.status),
                      type=result.status).text = _xml(result.message)
    for problem in result.problems:
        failures = sum(c.outcome in ("failed", "invalid") for c in problem.cases)
        errors = sum(c.outcome in ("error", "timeout", "not_run") for c in problem.cases) + (problem.status != "graded")
        suite = ET.SubElement(root, "testsuite", name=f"{result.assignment}.{problem.id}",
                              tests=str(max(1, len(problem.cases))), failures=str(failures), errors=str(errors))
        _properties(suite, result)
        if problem.status != "graded":
            case = ET.SubElement(suite, "testcase", classname=problem.id, name=problem.status)
            ET.SubElement(case, "error", message=_xml(problem.message or problem.status), type=problem.status)
        for c in problem.cases:
            case = ET.SubElement(suite, "testcase", classname=problem.id, name=c.id, time=f"{c.seconds:.6f}")
            if c.passed:
                continue
            tag = "failure" if c.outcome in ("failed", "invalid") else "error"
            shown = case_values(c.values)
            text = "\n".join(x for x in (c.hint, *(f"{k}:\n{v}" for k, v in shown.items()),
                                         c.detail, "replay: " + c.replay) if x)
            ET.SubElement(case, tag, message=_xml(f"{c.outcome}: {c.message}"), type=c.outcome).text = _xml(text)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
