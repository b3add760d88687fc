"""Every reference earns full marks on public and hidden cases; every known mistake earns
less and gets its targeted message (grader.selftest)."""

from __future__ import annotations

import pytest

from grader.loader import assignment_ids, load_assignment
from grader.selftest import run_selftest


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_references_full_marks_and_mistakes_caught(assignment_id: str) -> None:
    findings = run_selftest(load_assignment(assignment_id))
    assert findings == [], "\n".join(map(str, findings))
