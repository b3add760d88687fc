"""Seeds for randomized cases, derived so that they are reproducible and cannot be guessed.

Public cases come from (assignment, problem, index) alone, so every student
sees the same ones. Hidden cases mix in the instructor's secret through a keyed
BLAKE2 hash, and the student id chooses each hidden slot's variant (see
HIDDEN_VARIANTS): without the secret, a student cannot compute their hidden
inputs; with it, the instructor can replay any case.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from pathlib import Path

import numpy as np

from .errors import GraderError


@functools.lru_cache(maxsize=64)
def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest() if secret else b""


def case_seed(assignment: str, problem: str, kind: str, index: int, secret: str = "", student: str = "") -> int:
    key = _key(secret)
    message = "\0".join([assignment, problem, kind, student, str(index)]).encode()
    return int.from_bytes(hashlib.blake2b(message, key=key, digest_size=16).digest(), "big")


def case_rng(assignment: str, problem: str, kind: str, index: int, secret: str = "",
             student: str = "") -> np.random.Generator:
    return np.random.default_rng(case_seed(assignment, problem, kind, index, secret, student))


# Hidden cases: slot ``i`` of a problem (its edge case, by the generator's index) has HIDDEN_VARIANTS
# variants drawn from the secret alone, and each student gets one of them, chosen by a keyed hash of
# the student id. A class then shares one pool of solved cases (drawn, solved and diagnosed once per
# batch) while two students share a given slot's inputs with probability 1/HIDDEN_VARIANTS and all of
# a problem's hidden inputs practically never. CASES_SCHEME names this derivation in journal keys.
HIDDEN_VARIANTS = 16
CASES_SCHEME = "variants-16"


def hidden_variant(assignment: str, problem: str, index: int, secret: str, student: str) -> int:
    """Which of slot ``index``'s variants ``student`` gets: unknowable without the secret."""
    return case_seed(assignment, problem, "variant", index, secret, student) % HIDDEN_VARIANTS


def hidden_rng(assignment: str, problem: str, index: int, variant: int, secret: str) -> np.random.Generator:
    """The generator of one variant of hidden slot ``index`` (the same for every student who gets it)."""
    return case_rng(assignment, problem, f"hidden:{variant}", index, secret)


def secret_id(secret: str) -> str:
    """A short public fingerprint of the secret, recorded in results so a mismatch is visible."""
    return hashlib.sha256(b"grader-secret-id\0" + secret.encode()).hexdigest()[:12]


SECRET_ENV = "GRADER_SECRET_FILE"
CONFIG_DIR = "dlmath-grader"


def default_secret_path() -> Path:
    """Where the secret lives unless told otherwise: the per-user configuration folder, never a report folder
    (``$XDG_CONFIG_HOME/dlmath-grader/secret.key``, else ``~/.config/...``; ``%APPDATA%\\dlmath-grader`` on Windows)."""
    if os.name == "nt":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    else:
        base = os.environ.get("XDG_CONFIG_HOME", "")
        if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
            base = str(Path.home() / ".config")
    return Path(base) / CONFIG_DIR / "secret.key"


def resolve_secret_file(explicit: Path | None = None) -> tuple[Path, bool]:
    """The secret file ``grader grade`` and ``grader replay`` use: ``--secret-file``, else ``$GRADER_SECRET_FILE``,
    else :func:`default_secret_path`. The flag says whether a plain ``grader replay`` (no option) finds the
    same file, so replay commands need not name it."""
    implicit = Path(os.environ[SECRET_ENV]).expanduser() if os.environ.get(SECRET_ENV) else default_secret_path()
    if explicit is None:
        return implicit, True
    try:
        same = explicit.resolve() == implicit.resolve()
    except OSError:
        same = False
    return explicit, same


def read_secret(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise GraderError(f"no secret file {path}: hidden cases need the instructor's secret (pass "
                          f"--secret-file or set {SECRET_ENV})") from None
    except OSError as exc:
        raise GraderError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if not text:
        raise GraderError(f"the secret file {path} is empty")
    return text


def load_or_create_secret(path: Path) -> tuple[str, bool]:
    """Read the instructor secret from ``path``; create one (mode 600, in a folder of mode 700 when the folder is
    new) if the file does not exist."""
    if path.exists():
        return read_secret(path), False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    return text, True


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
