"""JUnit XML for CI systems: one testcase per case, one testsuite per problem."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..results import SubmissionResult


def junit_xml(result: SubmissionResult) -> str:
    root = ET.Element("testsuites", name=f"{result.assignment} {result.file}")
    properties = ET.SubElement(root, "properties")
    ET.SubElement(properties, "property", name="isolation", value=result.isolation)
    ET.SubElement(properties, "property", name="isolation_layers", value=", ".join(result.isolation_layers))
    if result.status != "graded":
        suite = ET.SubElement(root, "testsuite", name=result.assignment, tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname=result.assignment, name="import")
        ET.SubElement(case, "error", message=result.message.splitlines()[0] if result.message else result.status
                      ).text = result.message
    for problem in result.problems:
        failures = sum(c.outcome in ("failed", "invalid") for c in problem.cases)
        errors = sum(c.outcome in ("error", "timeout") for c in problem.cases) + (problem.status != "graded")
        suite = ET.SubElement(root, "testsuite", name=f"{result.assignment}.{problem.id}",
                              tests=str(max(1, len(problem.cases))), failures=str(failures), errors=str(errors))
        if problem.status != "graded":
            case = ET.SubElement(suite, "testcase", classname=problem.id, name=problem.status)
            ET.SubElement(case, "error", message=problem.message or problem.status)
        for c in problem.cases:
            case = ET.SubElement(suite, "testcase", classname=problem.id, name=c.id, time=f"{c.seconds:.6f}")
            if c.passed:
                continue
            tag = "failure" if c.outcome in ("failed", "invalid") else "error"
            text = "\n".join(x for x in (c.hint, c.inputs and "inputs:\n" + c.inputs,
                                         c.expected and "expected:\n" + c.expected, c.got and "got:\n" + c.got,
                                         c.detail, "replay: " + c.replay) if x)
            ET.SubElement(case, tag, message=f"{c.outcome}: {c.message}", type=c.outcome).text = text
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
