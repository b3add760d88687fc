"""Seeds for randomized cases, derived so that they are reproducible and cannot be guessed.

Public cases come from (assignment, problem, index) alone, so every student
sees the same ones. Hidden cases also mix in the instructor's secret and the
student id through a keyed BLAKE2 hash: without the secret, a student cannot
compute their hidden inputs; with it, the instructor can replay any case.
"""

from __future__ import annotations

import functools
import hashlib
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


def secret_id(secret: str) -> str:
    """A short public fingerprint of the secret, recorded in results so a mismatch is visible."""
    return hashlib.sha256(b"grader-secret-id\0" + secret.encode()).hexdigest()[:12]


def load_or_create_secret(path: Path) -> tuple[str, bool]:
    """Read the instructor secret from ``path``; create one (mode 600) if the file does not exist."""
    if path.exists():
        text = path.read_text().strip()
        if not text:
            raise GraderError(f"the secret file {path} is empty")
        return text, False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(text + "\n")
    return text, True
