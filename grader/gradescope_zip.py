"""``grader gradescope ASSIGNMENT --out DIR``: a Gradescope autograder zip, ready to upload.

Entries, all at the zip root (Gradescope unpacks it to ``/autograder/source``):

- ``setup.sh``: run once at image build: Python 3.11 from apt, a venv in ``/autograder/venv``, the wheel
  (and ``torch==2.13.0`` only with ``--torch``);
- ``run_autograder``: run per submission: ``python -m grader.gradescope_run``, with a results.json of its
  own when Python cannot produce one;
- ``dlmath_grader-<version>-py3-none-any.whl``: this project, engine and full course;
- ``secret.key``: the instructor's secret (hidden cases are drawn from it and the Gradescope user id), mode 600;
- ``grader-gradescope.json``: assignment id, maximum score, limits, isolation, grader version.

The templates live in ``grader/render/templates/gradescope/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import __version__
from .errors import GraderError
from .gradescope_run import CONFIG_NAME, SECRET_NAME
from .limits import Limits

TEMPLATES = Path(__file__).parent / "render" / "templates" / "gradescope"
TORCH = "torch==2.13.0"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "*.egg-info", "build", "dist")


def project_root() -> Path:
    """The source tree this grader runs from (it must hold pyproject.toml: an editable or source checkout)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file() or not (root / "problems").is_dir():
        raise GraderError(f"cannot build the wheel: {root} is not the grader's source tree (pyproject.toml and "
                          "problems/ are needed); run grader gradescope from a checkout installed with pip -e")
    return root


def build_wheel(out_dir: Path) -> Path:
    """A wheel of the project, built offline from a clean copy (no ``__pycache__``, nothing written to the
    source tree): ``pip wheel --no-deps --no-build-isolation --no-index``, else setuptools' PEP 517 hook."""
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
            if (root / name).is_file():
                shutil.copy2(root / name, src / name)
        for package in ("grader", "problems"):
            shutil.copytree(root / package, src / package, ignore=_IGNORE)
        built = Path(tmp) / "wheel"
        built.mkdir()
        attempts = [
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
             "-w", str(built), str(src)],
            [sys.executable, "-c", "import sys; from setuptools.build_meta import build_wheel; "
             "build_wheel(sys.argv[1])", str(built)],
        ]
        errors = []
        for argv in attempts:
            run = subprocess.run(argv, cwd=src, capture_output=True, text=True, timeout=600)
            wheels = sorted(built.glob("*.whl"))
            if run.returncode == 0 and wheels:
                out_dir.mkdir(parents=True, exist_ok=True)
                target = out_dir / wheels[0].name
                shutil.copy2(wheels[0], target)
                return target
            errors.append((run.stderr or run.stdout).strip()[-600:])
    raise GraderError("cannot build the wheel (pip wheel and setuptools both failed):\n" + "\n".join(errors))


def _render(name: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise GraderError(f"template {name} has an unfilled placeholder")
    return text


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))
    info.create_system = 3  # Unix: the mode below is honoured by unzip
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_zip(assignment_id: str, out_dir: Path, secret: str, limits: Limits | None = None, torch: bool = False,
              hidden_visibility: str = "after_due_date", time_limit: int = 300, isolation: str = "auto") -> Path:
    """Write ``out_dir/<assignment>-gradescope.zip`` and return its path."""
    from .loader import load_assignment

    assignment = load_assignment(assignment_id)  # the bundled course: the wheel carries exactly this one
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as tmp:
        wheel = build_wheel(Path(tmp))
        config = {"assignment": assignment.id, "title": assignment.title, "max_score": assignment.max_score,
                  "limits": {"case_seconds": limits.case_seconds, "import_seconds": limits.import_seconds,
                             "memory_mb": limits.memory_mb},
                  "isolation": isolation, "hidden_visibility": hidden_visibility, "time_limit_seconds": time_limit,
                  "torch": torch, "grader_version": __version__, "wheel": wheel.name, "secret_file": SECRET_NAME}
        values = {"ASSIGNMENT": assignment.id, "VERSION": __version__, "WHEEL": wheel.name, "SECRET": SECRET_NAME,
                  "TIME_LIMIT": str(int(time_limit)), "MAX_SCORE": f"{assignment.max_score:g}",
                  "TORCH_NOTE": (f"installed ({TORCH}, CPU build, from the PyTorch index), as built with --torch"
                                 if torch else "not installed (built without --torch): a submission that "
                                 "imports torch fails to import, with the message 'No module named torch'"),
                  "TORCH_INSTALL": (f'"$ROOT/venv/bin/python" -m pip install {TORCH} '
                                    "--index-url https://download.pytorch.org/whl/cpu" if torch else
                                    "# torch: not installed (zip built without --torch)")}
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{assignment.id}-gradescope.zip"
        partial = target.with_name(f".{target.name}.tmp")
        with zipfile.ZipFile(partial, "w") as archive:
            _add(archive, "setup.sh", _render("setup.sh", values).encode(), 0o755)
            _add(archive, "run_autograder", _render("run_autograder", values).encode(), 0o755)
            _add(archive, wheel.name, wheel.read_bytes(), 0o644)
            _add(archive, SECRET_NAME, (secret.strip() + "\n").encode(), 0o600)
            _add(archive, CONFIG_NAME, (json.dumps(config, indent=1) + "\n").encode(), 0o644)
        partial.chmod(0o600)  # it holds the secret
        partial.replace(target)
    return target
