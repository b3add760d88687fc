"""The program of a process that renders student pages (``python -m grader.render.page_process``): it reads
its order from standard input (grader.render.pages_apart writes it) and renders the pages of the spooled
results it names."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..threads import one_numeric_thread


def main() -> None:
    one_numeric_thread()  # before numpy is imported (by the renderers)
    from ..results import batch_from_dict, submission_from_json
    from .reports import write_student_pages

    order = json.load(sys.stdin)
    batch, target = batch_from_dict(order["head"]), Path(order["target"])
    for file in order["files"]:
        result = submission_from_json(Path(file).read_text(encoding="utf-8"))
        write_student_pages(batch, result, target, order["course"], order["for_students"], order["release_hidden"])


if __name__ == "__main__":
    main()
