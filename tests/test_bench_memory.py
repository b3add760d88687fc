"""The benchmark's memory figure is the measured process's own peak, not its parent's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = ("import json, resource, sys; sys.path.insert(0, sys.argv[1]); from benchmarks.bench import peak_rss_mb; "
         "print(json.dumps([peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))")


def test_peak_memory_is_not_inherited_from_the_process_that_started_the_run() -> None:
    ballast = b"x" * (300 << 20)  # written, so resident: this process is now over 300 MB
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT)], capture_output=True, text=True, timeout=120,
                              check=True)
    finally:
        del ballast
    own, maxrss = json.loads(done.stdout)
    assert own < 200, own  # a fresh interpreter with the benchmark's imports
    if sys.platform.startswith("linux"):
        assert maxrss > 300, maxrss  # why ru_maxrss is not used: Linux carries it across exec
