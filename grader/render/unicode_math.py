"""LaTeX math as Unicode text, for the terminal: ``\\nu_\\beta(x) \\le \\max_i x_i`` becomes ``νᵦ(x) ≤ maxᵢ xᵢ``.

A small converter for the math the course's statements use: a table of symbols, fractions (``a/b``,
``(a+b)/(c)``, ``½``), roots, fonts (``\\mathbb{R}`` → ℝ, ``\\mathbf{1}`` → 𝟏), text, sub- and superscripts
(Unicode where every character has a sub/superscript form, else ``_(…)``/``^(…)``), and the ``cases``,
``pmatrix`` and ``aligned`` environments laid out in rows. Anything it does not know makes
:func:`to_unicode` return ``None``, and the caller shows the LaTeX source instead.
"""

from __future__ import annotations

import re

SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # relations and operators
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼",
    "equiv": "≡", "propto": "∝", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪",
    "cap": "∩", "times": "×", "cdot": "·", "circ": "∘", "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "pm": "±",
    "mp": "∓", "ast": "∗", "star": "⋆", "mid": "|", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "iff": "⇔", "implies": "⇒", "mapsto": "↦", "forall": "∀",
    "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨",
    # big operators and misc
    "sum": "Σ", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇", "infty": "∞", "ell": "ℓ",
    "top": "ᵀ", "prime": "′", "emptyset": "∅",
    "dots": "…", "ldots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
    # delimiters
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "lvert": "|", "rvert": "|", "vert": "|",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "langle": "⟨", "rangle": "⟩", "|": "‖", "{": "{", "}": "}",
    "_": "_", "%": "%", "#": "#", "&": "&", "$": "$",
    # spaces
    ",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": "  ", "qquad": "    ",
}
WORDS = {"log", "ln", "exp", "max", "min", "sup", "inf", "lim", "arg", "argmax", "argmin", "det", "tanh", "sinh",
         "cosh", "tan", "sin", "cos", "diag", "sgn", "tr", "rank", "dim", "ker", "deg", "gcd", "Pr"}
SIZES = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "middle", "displaystyle", "textstyle", "limits", "nolimits"}
TEXT = {"text", "mathrm", "operatorname", "textrm", "textit", "mathit", "textbf", "mbox", "mathsf", "texttt"}
FRACTIONS = {"dfrac", "tfrac", "frac"}
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308"}
VULGAR = {("1", "2"): "½", ("1", "3"): "⅓", ("2", "3"): "⅔", ("1", "4"): "¼", ("3", "4"): "¾", ("1", "5"): "⅕",
          ("1", "6"): "⅙", ("1", "8"): "⅛"}
BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "E": "𝔼", "1": "𝟙"}
CALLIGRAPHIC = {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ"}

SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθφχᵀ′'*",
                       "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᵠᵡᵀ′′*", strict=True))
SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))

_TOKEN = re.compile(r"\\([A-Za-z]+)|\\(.)|([{}^_&])|(\s+)|(.)", re.DOTALL)


class Unknown(Exception):
    """A command or construction the converter does not know."""


def _bold(ch: str) -> str:
    if "A" <= ch <= "Z":
        return chr(0x1D400 + ord(ch) - ord("A"))
    if "a" <= ch <= "z":
        return chr(0x1D41A + ord(ch) - ord("a"))
    if "0" <= ch <= "9":
        return chr(0x1D7CE + ord(ch) - ord("0"))
    return ch


def _calligraphic(ch: str) -> str:
    if ch in CALLIGRAPHIC:
        return CALLIGRAPHIC[ch]
    return chr(0x1D49C + ord(ch) - ord("A")) if "A" <= ch <= "Z" else ch


def _script(text: str, table: dict[str, str], mark: str) -> str:
    compact = text.strip()
    if compact and all(ch in table for ch in compact.replace(" ", "")):
        return "".join(table[ch] for ch in compact.replace(" ", ""))
    if len(compact) == 1:
        return mark + compact
    return f"{mark}({compact})"


def _simple(text: str) -> bool:
    """No space and no operator: no parentheses needed around it in a/b (a number, x₁, √n, f(x))."""
    return bool(re.fullmatch(r"[^\s+\-*/=,<>≤≥·×]+|.", text.strip()))


class _Parser:
    def __init__(self, source: str, display: bool) -> None:
        self.tokens = [m for m in _TOKEN.finditer(source)]
        self.i = 0
        self.display = display

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self):
        token = self.peek()
        if token is None:
            raise Unknown("unexpected end")
        self.i += 1
        return token

    def skip_space(self) -> None:
        while (token := self.peek()) is not None and token.group(4):
            self.i += 1

    def raw_group(self) -> str:
        """The text of a {...} argument, verbatim (text mode)."""
        self.skip_space()
        token = self.next()
        if token.group(3) != "{":
            return token.group(0)
        depth, out = 1, []
        while True:
            token = self.next()
            if token.group(3) == "{":
                depth += 1
            elif token.group(3) == "}":
                depth -= 1
                if depth == 0:
                    return "".join(out)
            out.append(SYMBOLS.get(token.group(2), token.group(0)) if token.group(2) else token.group(0))

    def argument(self) -> str:
        """One argument: a {group}, one command with its own arguments, or one character."""
        self.skip_space()
        token = self.next()
        if token.group(3) == "{":
            return self.sequence(until="}")
        if token.group(3):
            raise Unknown(f"unexpected {token.group(3)!r}")
        return self.atom(token)

    def sequence(self, until: str | None = None, env: str | None = None) -> str:
        out: list[str] = []
        while True:
            token = self.peek()
            if token is None:
                if until is not None or env is not None:
                    raise Unknown("unbalanced braces")
                return "".join(out)
            self.i += 1
            if until is not None and token.group(3) == until:
                return "".join(out)
            if env is not None and token.group(1) == "end":
                name = self.raw_group()
                if name != env:
                    raise Unknown(f"\\end{{{name}}} closes \\begin{{{env}}}")
                return "".join(out)
            if token.group(3) in ("^", "_"):
                pending = out.pop() if out and out[-1] == "\x02" else ""  # max_i x: the space goes after the i
                if token.group(3) == "^":
                    out.append(_script(self.argument(), SUPERSCRIPT, "^"))
                else:
                    out.append(_script(self.argument(), SUBSCRIPT, "_"))
                out.append(pending)
            elif token.group(3) == "{":
                out.append(self.sequence(until="}"))
            elif token.group(3) == "&":
                out.append("\x00")  # a cell boundary, laid out by the environment
            elif token.group(3) == "}":
                raise Unknown("unbalanced braces")
            elif token.group(2) == "\\":
                out.append("\x01")  # a row boundary
            elif token.group(4) or token.group(2) in (",", ";", ":", " "):
                if out and not out[-1].endswith((" ", "\n")):
                    out.append(" ")
            else:
                piece = self.atom(token)
                if token.group(1) in WORDS:  # log, exp, max: a word, spaced from the letters around it
                    if out and (out[-1][-1:].isalnum() or out[-1].endswith(")")):
                        out.append(" ")
                    out.append(piece)
                    out.append("\x02")  # a space if a letter or digit follows
                else:
                    out.append(piece)

    def atom(self, token) -> str:
        name, char = token.group(1), token.group(2)
        if char is not None:
            if char in SYMBOLS:
                return SYMBOLS[char]
            raise Unknown(f"\\{char}")
        if name is None:
            return {"~": " ", "-": "-"}.get(token.group(5), token.group(5))
        if name in SYMBOLS:
            return SYMBOLS[name]
        if name in WORDS:
            return name
        if name in SIZES:
            return ""
        if name in TEXT:
            return self.raw_group()
        if name in FRACTIONS:
            top, bottom = self.argument().strip(), self.argument().strip()
            if (top, bottom) in VULGAR:
                return VULGAR[top, bottom]
            return (top if _simple(top) else f"({top})") + "/" + (bottom if _simple(bottom) else f"({bottom})")
        if name == "sqrt":
            body = self.argument().strip()
            return "√" + (body if _simple(body) else f"({body})")
        if name in ("mathbf", "boldsymbol", "bm"):
            return "".join(_bold(ch) for ch in self.argument())
        if name == "mathbb":
            return "".join(BLACKBOARD.get(ch, ch) for ch in self.argument())
        if name == "mathcal":
            return "".join(_calligraphic(ch) for ch in self.argument())
        if name in ACCENTS:
            body = self.argument()
            return body + ACCENTS[name] if len(body) == 1 else f"{name}({body})"
        if name == "substack":
            return ", ".join(part.strip() for part in self.argument().split("\x01"))
        if name == "begin":
            return self.environment(self.raw_group())
        raise Unknown(f"\\{name}")

    def environment(self, name: str) -> str:
        if name not in ("cases", "pmatrix", "bmatrix", "matrix", "aligned", "align", "align*", "array", "gathered"):
            raise Unknown(f"environment {name}")
        if name == "array":
            self.raw_group()  # the column spec
        body = self.sequence(env=name)
        rows = [[cell.strip() for cell in row.split("\x00")] for row in body.split("\x01")]
        rows = [row for row in rows if any(row)]
        if name in ("aligned", "align", "align*", "gathered"):
            lines = [" ".join(cell for cell in row if cell) for row in rows]
        else:
            widths = [max(len(row[c]) for row in rows if c < len(row)) for c in range(max(map(len, rows)))]
            gap = "    " if name == "cases" else "  "
            lines = [gap.join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip() for row in rows]
        if not self.display:
            inner = "; ".join(lines)
            return {"cases": "{ " + inner + " }", "pmatrix": "(" + inner + ")",
                    "bmatrix": "[" + inner + "]"}.get(name, inner)
        if name == "cases":
            return "\n" + "\n".join("{ " + line for line in lines) + "\n"
        if name in ("pmatrix", "bmatrix", "matrix"):
            left, right = {"pmatrix": "()", "bmatrix": "[]", "matrix": "  "}[name]
            width = max(map(len, lines))
            return "\n" + "\n".join(f"{left} {line.ljust(width)} {right}" for line in lines) + "\n"
        return "\n" + "\n".join(lines) + "\n"


def to_unicode(latex: str, display: bool = False) -> str | None:
    """``latex`` (the inside of ``$...$`` or ``$$...$$``) as Unicode text, or None when some of it is unknown."""
    try:
        text = _Parser(latex, display).sequence()
    except (Unknown, RecursionError):
        return None
    text = re.sub("\x02+(?=\\w)", " ", text).replace("\x02", "")
    if "\x00" in text:
        return None
    if display:
        lines = [line.strip() for line in text.replace("\x01", "\n").split("\n")]
        return "\n".join(line for line in lines if line.strip()) or None
    text = re.sub(r"\s+", " ", text.replace("\x01", "; ")).strip()
    return text or None
