"""``grader similarity``: rank pairs of submissions by the similarity of their normalised code.

How it works (the winnowing scheme of Schleimer, Wilkerson and Aiken, as in MOSS):

1. Each submission (a notebook: its code cells) is tokenised with Python's own ``tokenize`` (Pygments'
   Python lexer for a file that does not tokenise, e.g. a syntax error) and normalised: comments,
   docstrings and whitespace are dropped; every identifier becomes ``V`` (a function or class being
   defined ``F``/``O``), every string ``S``; keywords, operators, numbers, builtins (``len``, ``range``),
   attribute names after a dot (``np.exp``) and module names are kept. Renaming variables, reformatting
   or rewriting comments changes nothing.
2. Every run of ``k`` consecutive tokens (a k-gram) is hashed (a rolling hash, stable across runs); winnowing keeps
   the smallest hash of each window of ``w`` consecutive k-grams, so any common run of ``k + w - 1``
   tokens or more is guaranteed to leave a shared fingerprint.
3. The common skeleton does not count: every k-gram of the starter file (``grader init``) and of the
   course's reference functions is removed from every fingerprint set.
4. Each pair gets the Jaccard similarity of its fingerprint sets (the ranking) and each side's containment
   (the share of its fingerprints found in the other: a partial copy shows as one high containment).
   Fingerprint sets are order-free, so reordering functions only loses the k-grams across boundaries.

Why not copydetect (PyPI), which does the same: it depends on matplotlib and tqdm (heavy for a job of
about 150 lines of code per file), opens a browser unless told not to, measures k-grams in characters of
filtered code rather than in tokens, fingerprints with the process-randomised ``hash()``, and compares
notebooks untokenised. The standard library's tokenizer (and Pygments, already installed with rich, as
the fallback) gives the same normalisation, and the winnowing is a few lines; ``tokenize`` is about six
times faster than Pygments here. Measured (``benchmarks/similarity_bench.py``): 200 submissions of hw7,
19,900 pairs, in about 2.5 s of CPU. The result is a screening aid: a high score says "look at this
pair", not "this pair copied".
"""

from __future__ import annotations

import builtins
import csv
import inspect
import io
import itertools
import keyword
import time
import token
import tokenize
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from .errors import SubmissionError
from .spec import Assignment, FunctionProblem

K = 12  # tokens per k-gram: about one short statement
WINDOW = 6  # winnowing window: a shared run of K + WINDOW - 1 = 17 tokens or more is always detected
TOP = 20


class Token(NamedTuple):
    text: str
    line: int


_BUILTINS = frozenset(dir(builtins)) - {"help", "copyright", "credits", "license", "exit", "quit"}  # not site's
_MASK = (1 << 61) - 1  # a Mersenne prime: the k-gram hash is a polynomial in the token codes modulo it
_BASE = 0x5BD1E995


def _python_tokens(source: str) -> list[Token]:
    """Normalised tokens with the standard library's tokenizer (exact Python grammar, fast)."""
    out: list[Token] = []
    previous = ""
    statement_start = True  # a string alone at the start of a statement is a docstring
    in_import = ""  # "module" in an import statement's module part, "names" after ``from ... import``
    items = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, item in enumerate(items):
        kind, value, line = item.type, item.string, item.start[0]
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            if kind != tokenize.NL:
                statement_start, in_import = True, ""
            continue
        if kind in (tokenize.COMMENT, tokenize.ENDMARKER) or not value.strip():
            continue
        if kind == tokenize.STRING or kind in _FSTRING_PARTS:
            if statement_start and kind == tokenize.STRING:
                after = index + 1
                while after < len(items) and items[after].type in (tokenize.NL, tokenize.COMMENT, tokenize.STRING):
                    after += 1
                if after == len(items) or items[after].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                    continue  # a docstring (or a bare string statement): documentation, like a comment
            statement_start = False
            if previous == "S":  # one string, however many pieces
                continue
            text = "S"
        elif kind == tokenize.NAME:
            if keyword.iskeyword(value):
                text = value
                if value in ("import", "from"):
                    in_import = "names" if in_import == "module" and value == "import" else "module"
            elif previous == "def":
                text = "F"
            elif previous == "class":
                text = "O"
            elif previous == "." or in_import == "module" or value in _BUILTINS or (
                    value.startswith("__") and value.endswith("__")):
                text = value  # attributes (np.exp), module names, builtins (len, range)
            else:
                text = "V"
        else:  # operators, numbers
            text = value
        statement_start = False
        out.append(Token(text, line))
        previous = text
    return out


_FSTRING_PARTS = frozenset(getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                           if hasattr(tokenize, name))  # Python 3.12+


def _pygments_tokens(source: str) -> list[Token]:
    """The same normalisation with Pygments' lexer, which accepts code that does not tokenise."""
    from pygments.lexers.python import PythonLexer
    from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

    out: list[Token] = []
    line = 1
    previous = ""
    glued = ""  # adjacent operator characters, split below as the tokenizer would (``**`` is one token)
    for kind, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(source):
        here, line = line, line + value.count("\n")
        if (kind in Operator or kind in Punctuation) and not value.isalpha():
            glued += value.strip()
            continue
        for piece in _split_operators(glued):
            out.append(Token(piece, here))
            previous = piece
        glued = ""
        if kind in Text or kind in Comment or kind in String.Doc or not value.strip():
            continue
        if kind in String:
            text = "S"
            if previous == "S":
                continue
        elif kind in Name.Function:
            text = "F"
        elif kind in Name.Class:
            text = "O"
        elif any(kind in k for k in (Name.Builtin, Name.Exception, Name.Variable.Magic, Name.Namespace)) or (
                kind in Name and previous == "."):
            text = value
        elif kind in Name:
            text = "V"
        elif kind in Keyword or kind in Operator or kind in Number:
            text = value
        else:  # errors
            text = value.strip()
        out.append(Token(text, here))
        previous = text
    out.extend(Token(piece, line) for piece in _split_operators(glued))
    return out


def _split_operators(text: str) -> list[str]:
    """Longest-match split of operator characters, as Python's tokenizer does."""
    pieces = []
    while text:
        size = next(n for n in (3, 2, 1) if n == 1 or text[:n] in _OPERATORS)
        pieces.append(text[:size])
        text = text[size:]
    return pieces


_OPERATORS = frozenset(token.EXACT_TOKEN_TYPES)


def normalise(source: str) -> list[Token]:
    """Normalised tokens of Python source, with the line each starts on (1-based)."""
    try:
        return _python_tokens(source)
    except (tokenize.TokenError, SyntaxError):  # unbalanced brackets, bad indentation, ...
        return _pygments_tokens(source)


@lru_cache(maxsize=65536)
def _code(text: str) -> int:
    return zlib.crc32(text.encode()) + 1


def kgrams(tokens: Sequence[Token], k: int = K) -> list[tuple[int, int, int]]:
    """(hash, first line, last line) of every k-gram, in order: a rolling polynomial hash, stable across runs."""
    if len(tokens) < k:
        return []
    codes = [_code(t.text) for t in tokens]
    top = pow(_BASE, k - 1, _MASK)
    h = 0
    for c in codes[:k]:
        h = (h * _BASE + c) % _MASK
    out = [(h, tokens[0].line, tokens[k - 1].line)]
    for i in range(1, len(codes) - k + 1):
        h = ((h - codes[i - 1] * top) * _BASE + codes[i + k - 1]) % _MASK
        out.append((h, tokens[i].line, tokens[i + k - 1].line))
    return out


def winnow(hashes: Sequence[int], w: int = WINDOW) -> list[int]:
    """Indices chosen by winnowing: the rightmost smallest hash of each window of ``w`` (each index once)."""
    chosen: list[int] = []
    for start in range(max(len(hashes) - w, 0) + 1):
        window = hashes[start:start + w]
        if not window:
            break
        smallest = min(window)
        best = start + len(window) - 1 - window[::-1].index(smallest)
        if not chosen or chosen[-1] != best:
            chosen.append(best)
    return chosen


def boilerplate_hashes(sources: Iterable[str], k: int = K) -> set[int]:
    """Every k-gram of the common code (window 1: nothing of it may survive)."""
    return {h for source in sources for h, _, _ in kgrams(normalise(source), k)}


def assignment_boilerplate(assignment: Assignment) -> list[str]:
    """The starter file and the source of every reference function of the assignment."""
    from .starter import starter_source

    sources = [starter_source(assignment)]
    for problem in assignment.problems:
        if isinstance(problem, FunctionProblem) and problem.reference is not None:
            try:
                sources.append(inspect.getsource(problem.reference))
            except (OSError, TypeError):  # a builtin or a lambda from nowhere: nothing to exclude
                pass
    return sources


@dataclass
class Document:
    student: str
    file: str
    source: str
    tokens: int
    fingerprints: dict[int, list[tuple[int, int]]]  # hash -> line spans where it occurs

    @property
    def keys(self) -> frozenset[int]:
        cached = self.__dict__.get("_keys")
        if cached is None:
            cached = self.__dict__["_keys"] = frozenset(self.fingerprints)
        return cached


def fingerprint(student: str, file: str, source: str, boilerplate: set[int] = frozenset(),  # type: ignore[assignment]
                k: int = K, w: int = WINDOW) -> Document:
    tokens = normalise(source)
    grams = kgrams(tokens, k)
    prints: dict[int, list[tuple[int, int]]] = {}
    for i in winnow([g[0] for g in grams], w):
        h, first, last = grams[i]
        if h not in boilerplate:
            prints.setdefault(h, []).append((first, last))
    return Document(student, file, source, len(tokens), prints)


@dataclass(frozen=True)
class Pair:
    a: Document
    b: Document
    shared: int
    similarity: float  # Jaccard of the fingerprint sets
    containment_a: float  # share of a's fingerprints also in b
    containment_b: float

    def lines(self, side: str) -> set[int]:
        """Lines of ``side`` ('a' or 'b') covered by a shared fingerprint."""
        doc, other = (self.a, self.b) if side == "a" else (self.b, self.a)
        covered: set[int] = set()
        for h in doc.fingerprints.keys() & other.fingerprints.keys():
            for first, last in doc.fingerprints[h]:
                covered.update(range(first, last + 1))
        return covered


def compare(a: Document, b: Document) -> Pair:
    shared = len(a.keys & b.keys)
    union = len(a.fingerprints) + len(b.fingerprints) - shared
    return Pair(a, b, shared, shared / union if union else 0.0,
                shared / len(a.fingerprints) if a.fingerprints else 0.0,
                shared / len(b.fingerprints) if b.fingerprints else 0.0)


def rank(documents: Sequence[Document]) -> list[Pair]:
    """Every pair, most similar first (ties: more shared fingerprints first, then by student ids)."""
    pairs = [compare(a, b) for a, b in itertools.combinations(documents, 2)]
    pairs.sort(key=lambda p: (-p.similarity, -max(p.containment_a, p.containment_b), -p.shared,
                              p.a.student, p.b.student))
    return pairs


@dataclass
class Screening:
    assignment: str
    title: str
    documents: list[Document]
    pairs: list[Pair]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, why)
    absent: int = 0
    boilerplate: int = 0
    seconds: float = 0.0


def screen_sources(assignment: Assignment, sources: Sequence[tuple[str, str, str]], k: int = K,
                   w: int = WINDOW) -> Screening:
    """Rank ``(student, file, source)`` triples; the assignment's starter and references are excluded."""
    started = time.perf_counter()
    common = boilerplate_hashes(assignment_boilerplate(assignment), k)
    documents = [fingerprint(student, file, source, common, k, w) for student, file, source in sources]
    pairs = rank(documents)
    return Screening(assignment.id, assignment.title, documents, pairs, boilerplate=len(common),
                     seconds=time.perf_counter() - started)


def screen_folder(assignment: Assignment, folder: Path, k: int = K, w: int = WINDOW) -> Screening:
    """Every student sub-folder of ``folder`` with ``<assignment>.py`` or ``.ipynb``."""
    from .batch import discover_students
    from .submission import find_submission, read_submission

    started = time.perf_counter()
    sources, skipped, absent = [], [], 0
    for student, path in discover_students(folder):
        file = find_submission(path, assignment.id)
        if file is None:
            absent += 1
            continue
        try:
            submission = read_submission(file, student, root=folder)
        except SubmissionError as exc:
            skipped.append((student, str(exc)))
            continue
        sources.append((student, file.name, submission.code or submission.source))  # a notebook's own cells
    result = screen_sources(assignment, sources, k, w)
    result.skipped, result.absent = skipped, absent
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- output

def similarity_csv(result: Screening) -> str:
    from .render.csvsafe import safe_row

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(["rank", "student_a", "student_b", "similarity", "containment_a", "containment_b",
                              "shared_fingerprints", "fingerprints_a", "fingerprints_b"]))
    for number, p in enumerate(result.pairs, 1):
        writer.writerow(safe_row([str(number), p.a.student, p.b.student, f"{p.similarity:.4f}",
                                  f"{p.containment_a:.4f}", f"{p.containment_b:.4f}", str(p.shared),
                                  str(len(p.a.fingerprints)), str(len(p.b.fingerprints))]))
    return buffer.getvalue()


def _numbered(source: str, covered: set[int]) -> list[dict]:
    return [{"n": n, "text": text, "hit": n in covered} for n, text in enumerate(source.splitlines(), 1)]


def similarity_html(result: Screening, top: int = TOP) -> str:
    from .render.reports import environment

    shown = []
    for number, p in enumerate(result.pairs[:top], 1):
        shown.append({"rank": number, "pair": p, "a_lines": _numbered(p.a.source, p.lines("a")),
                      "b_lines": _numbered(p.b.source, p.lines("b"))})
    return environment().get_template("similarity.html.j2").render(r=result, shown=shown, top=top, k=K, w=WINDOW)


def write_similarity(result: Screening, out_dir: Path, top: int = TOP) -> list[Path]:
    from .batch import atomic_write

    paths = [out_dir / "similarity.html", out_dir / "similarity.csv"]
    atomic_write(paths[0], similarity_html(result, top))
    atomic_write(paths[1], similarity_csv(result))
    return paths


def print_similarity(console, result: Screening, top: int = TOP) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .render.console import markup_of
    from .text import printable

    table = Table(box=box.ROUNDED, title=f"{result.assignment}: {len(result.documents)} submissions, "
                                         f"{len(result.pairs)} pairs, most similar first")
    for column, justify in (("#", "right"), ("student a", "left"), ("student b", "left"),
                            ("similarity", "right"), ("a in b", "right"), ("b in a", "right"),
                            ("shared", "right")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for number, p in enumerate(result.pairs[:top], 1):
        style = "bold red" if p.similarity >= 0.5 else ("yellow" if p.similarity >= 0.25 else "default")
        table.add_row(str(number), markup_of(p.a.student), markup_of(p.b.student),
                      Text(f"{p.similarity:.0%}", style=style), f"{p.containment_a:.0%}", f"{p.containment_b:.0%}",
                      str(p.shared))
    console.print(table)
    for student, why in result.skipped:
        console.print(Text(printable(f"skipped {student}: {why}"), style="yellow"))
    if result.absent:
        console.print(f"{result.absent} student folder(s) have no {result.assignment} submission")
    console.print(Text(f"similarity = shared / all fingerprints of the pair (Jaccard), starter and reference code "
                       f"excluded ({result.boilerplate} k-grams); 'a in b' = share of a's fingerprints found in b. "
                       f"A high score means: look at this pair. {result.seconds:.2f} s", style="dim"))
