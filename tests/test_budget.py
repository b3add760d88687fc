"""Bounded cost in the grader: whatever a child sends back, reading it costs bounded memory and time.

Hostile children here write the wire bytes of their choice as a call's value (they swap the
child's ``wire.dumps`` for one call), so the grader sees exactly the frames a hostile process
could write on its pipe: millions of tiny nested lists, a dict with a million keys, an array
header announcing 10^16 numbers with no data, nesting 200,000 levels deep.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from grader.limits import LARGEST_ANSWER_ELEMENTS, LARGEST_JOB_ELEMENTS
from grader.sandbox import process
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Call, Job, Limits
from grader.sandbox.worker import wire

ROOT = Path(__file__).resolve().parents[1]

# Python expressions (run in the child, or in a measuring subprocess) for the hostile wire texts.
HOSTILE = {
    "nested lists": 'b"[" + b",".join([b"[0]"] * 3_000_000) + b"]"',
    "million keys": """b'{"o":{' + b",".join(b'"k%d":0' % i for i in range(1_000_000)) + b"}}\"""",
    "huge shape": """b'{"a":["f8",[100000000,100000000],""]}'""",
    "deep": 'b"[" * 200_000 + b"]" * 200_000',
}
WHY = {"nested lists": "more than 1,200 numbers", "million keys": "more than 1,200 numbers",
       "huge shape": "more than 1,200 numbers", "deep": "nested too deeply"}
# Big frames pass the job manager's byte cap, so that the grader's own decoder is what stops them.
FORWARD_ALL = Limits(case_seconds=10.0, import_seconds=5.0, value_bytes=64 * 2**20, job_value_bytes=256 * 2**20)

SOURCE = """
import sys
import numpy as np

def send(which):
    wire = sys.modules["wire"]
    raw = {hostile}[which]
    real = wire.dumps

    def once(obj):  # the child's next dumps is its value's: replace it with raw bytes
        wire.dumps = real
        return raw

    wire.dumps = once
    return 0

def largest(seed):  # the shape of the course's largest answers (hw4 avgpool_as_conv: weight and bias)
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, 4, 4, 4)), rng.normal(size=4)

def ones(n):
    return np.ones(n)
"""


def job(calls: list[tuple[str, object]], limits: Limits, answers: str = "") -> Job:
    hostile = "{" + ", ".join(f"{k!r}: lambda: {v}" for k, v in HOSTILE.items()) + "}"
    source = SOURCE.replace("{hostile}[which]", hostile + "[which]()") + answers
    return Job(source, "b.py", "b", tuple(Call(f, (a,)) for f, a in calls), ("send", "largest", "ones"),
               bool(answers), limits)


@pytest.fixture(scope="module")
def runner():
    with SandboxRunner(workers=1) as r:
        yield r


def timed(runner, j: Job):
    began = time.perf_counter()
    report = runner.submit(j).wait()
    return report, time.perf_counter() - began


pytestmark = pytest.mark.sandbox


def test_budget_is_sized_from_the_course() -> None:
    limits = Limits()
    assert limits.value_elements >= 4 * LARGEST_ANSWER_ELEMENTS
    assert limits.job_value_elements >= 4 * LARGEST_JOB_ELEMENTS
    assert limits.value_elements < 10 * LARGEST_ANSWER_ELEMENTS  # a safe multiple, not a blank cheque
    assert limits.value_bytes >= 24 * limits.value_elements  # room for every number as a decimal float
    assert "value_elements" in limits.for_worker(1) and "value_bytes" in limits.for_worker(1)


@pytest.fixture
def decode_seconds(monkeypatch):
    """The grader's time to read each call's value (what the collector spends on a result frame)."""
    seconds: list[float] = []
    real = process._call_report

    def timed_report(*args):
        began = time.perf_counter()
        try:
            return real(*args)
        finally:
            seconds.append(time.perf_counter() - began)

    monkeypatch.setattr(process, "_call_report", timed_report)
    return seconds


@pytest.mark.parametrize("which", list(HOSTILE))
def test_hostile_value_is_invalid_quickly(runner, decode_seconds, which: str) -> None:
    honest = min(timed(runner, job([("largest", 1), ("largest", 2)], FORWARD_ALL))[1] for _ in range(3))
    decode_seconds.clear()
    report, seconds = timed(runner, job([("send", which), ("largest", 2)], FORWARD_ALL))
    bad, good = report.calls
    assert bad.status == "invalid" and WHY[which] in bad.detail, bad
    if which != "deep":
        assert f"largest correct answer in this course has {LARGEST_ANSWER_ELEMENTS}" in bad.detail
    assert good.status == "ok" and good.value[0].shape == (4, 4, 4, 4)  # the next call is graded as usual
    # reading up to 12 MB of hostile value costs the grader less than an honest job's round trip ...
    assert decode_seconds[0] < 3 * honest, (decode_seconds, honest)
    # ... and the whole job, but for the child's own time building its value, a few of them
    assert seconds - bad.seconds < 10 * honest + 0.5, (seconds, bad.seconds, honest)


def test_default_limits_refuse_big_frames_in_the_job_runner(runner) -> None:
    report, _ = timed(runner, job([("send", "nested lists"), ("largest", 3), ("ones", 10_000)], Limits()))
    bad, good, big = report.calls
    assert bad.status == "invalid" and "bytes" in bad.detail and "1,200 numbers" in bad.detail, bad
    assert good.status == "ok"
    # under the frame cap but over the byte budget of a value (80 KB of base64 numbers): refused unread
    assert big.status == "invalid" and "takes more than 32,768 bytes" in big.detail, big


def test_honest_largest_answer_decodes(runner) -> None:
    elements, _ = wire.measure((np.zeros((4, 4, 4, 4)), np.zeros(4)))
    assert 0.9 * LARGEST_ANSWER_ELEMENTS <= elements <= 1.1 * LARGEST_ANSWER_ELEMENTS
    report, _ = timed(runner, job([("largest", 4), ("ones", 1_100)], Limits()))
    assert [c.status for c in report.calls] == ["ok", "ok"]
    weight, bias = report.calls[0].value
    assert weight.shape == (4, 4, 4, 4) and bias.shape == (4,)
    assert report.calls[1].value.shape == (1_100,)


def test_job_budget_bounds_the_values_of_a_whole_submission(runner) -> None:
    report, _ = timed(runner, job([("ones", 1_100)] * 14, Limits(case_seconds=5.0)))
    statuses = [c.status for c in report.calls]
    assert statuses == ["ok"] * 10 + ["invalid"] * 4, statuses  # 12,000 / 1,106 elements a value
    assert "past 12,000 numbers" in report.calls[-1].detail and "one submission" in report.calls[-1].detail


def test_answers_over_budget_are_refused_not_the_import(runner) -> None:
    answers = "ANSWERS = {'x': [[0]] * 2_000}\n"
    report, _ = timed(runner, job([("largest", 5)], Limits(), answers))
    assert report.imported.status == "ok" and report.imported.answers is None
    assert "ANSWERS has more than 1,200 numbers" in report.imported.answers_error
    assert report.calls[0].status == "ok"


WRITE = """
import os, sys
sys.path.insert(0, {root!r})
from grader.sandbox.worker import wire
out = sys.stdout.buffer
out.write(wire.message_frame({{"type": "import", "status": "ok"}}))
out.write(wire.message_frame({{"type": "result", "index": 0, "status": "ok", "seconds": 0.0}}, {payload}))
out.write(wire.message_frame({{"type": "done", "output": "", "output_bytes": 0, "seconds": 0.0}}))
out.flush()
"""

MEASURE = """
import json, os, resource, subprocess, sys, time
sys.path.insert(0, {root!r})
from grader.sandbox import process
from grader.sandbox.runner import Limits

limits = Limits(value_bytes=64 * 2**20, job_value_bytes=256 * 2**20)
collected = process._Collector(1, None, limits)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # this process never holds the frame but to read it
writer = subprocess.Popen([sys.executable, "-c", {write!r}], stdout=subprocess.PIPE)
frames = process._Frames(writer.stdout.fileno())
frames.cap = process.frame_cap(limits)
size = seconds = 0
while not collected.done:
    message, value = frames.read(time.monotonic() + 60)
    began = time.perf_counter()
    collected.add(message, value)
    if message.get("type") == "result":
        size, seconds = len(value), time.perf_counter() - began  # the grader's cost of the value
    del value
writer.wait()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
call = collected.report().calls[0]
print(json.dumps({{"status": call.status, "detail": call.detail, "growth_kb": after - before,
                  "frame_kb": size // 1024, "seconds": seconds}}))
"""


def grader_reads(payload: str) -> dict:
    write = WRITE.format(root=str(ROOT), payload=payload)
    script = textwrap.dedent(MEASURE.format(root=str(ROOT), write=write))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("which", list(HOSTILE))
def test_grader_memory_stays_bounded(which: str) -> None:
    """The grader's side alone (frames from a pipe, decoded by the collector), in a fresh process:
    its peak RSS grows by a few copies of the frame's bytes, never by the structure they describe."""
    honest = grader_reads("wire.dumps(wire.to_wire([__import__('numpy').ones(1000)]))")
    hostile = grader_reads(HOSTILE[which])
    assert honest["status"] == "ok"
    assert hostile["status"] == "invalid" and WHY[which] in hostile["detail"], hostile
    # the frame sits in the pipe buffer, the read buffer and its one copy; nothing is built from it
    assert hostile["growth_kb"] < 4 * hostile["frame_kb"] + 16 * 1024, hostile
    assert hostile["seconds"] < 20 * honest["seconds"] + 0.5, (hostile, honest)

