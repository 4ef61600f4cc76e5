"""Vietnamese text handling: NFC on entry, folded search keys, Vietnamese sort keys."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_WS = re.compile(r"\s+")


def nfc(value: str | None) -> str:
    """Normalise to NFC and trim; collapses runs of spaces inside single-line text."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", value).strip()


def nfc_line(value: str | None) -> str:
    """NFC, trimmed, internal whitespace collapsed: for names and titles."""
    return _WS.sub(" ", nfc(value))


class _CharTable(dict[int, str]):
    """A ``str.translate`` table filled on first use of each character by ``rule``: the rules
    below act on one character at a time, so a title is translated at C speed."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code: int) -> str:
        value = self[code] = self._rule(chr(code))
        return value


def _fold_char(ch: str) -> str:
    # NFD decomposes each character on its own (canonical reordering only moves the combining
    # marks, which are dropped), so folding a casefolded string character by character is the
    # same as folding it whole.
    return "".join("d" if c == "đ" else c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


_FOLD = _CharTable(_fold_char)


def fold(value: str | None) -> str:
    """Search key: case-folded, diacritics removed, đ→d, whitespace collapsed.

    ``fold("HỌC TẬP") == fold("học tập") == fold("hoc tap") == "hoc tap"``.
    """
    if not value:
        return ""
    return " ".join(value.casefold().translate(_FOLD).split())  # split(): the whitespace of _WS


def search_terms(query: str | None) -> list[str]:
    """Split a user's query into folded terms; every term must match."""
    return [t for t in fold(query).split(" ") if t]


# --- Vietnamese collation --------------------------------------------------
#
# Dictionary order: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y,
# compared first on letters, then on tones (none, huyền, hỏi, ngã, sắc, nặng),
# then on case.  The key is a plain string that sorts correctly with binary
# comparison, so the database can index and ORDER BY it.

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_LETTER_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
_PRIMARY_OFFSET = 0x30  # '0'..: digits go below letters


def _letters_and_tones(word: str) -> tuple[list[str], list[int], list[int]]:
    letters: list[str] = []
    tones: list[int] = []
    cases: list[int] = []
    for ch in unicodedata.normalize("NFC", word):
        lower = ch.lower()
        is_upper = 1 if ch != lower else 0
        decomposed = unicodedata.normalize("NFD", lower)
        base = decomposed[0]
        tone = 0
        for mark in decomposed[1:]:
            if mark in _TONES:
                tone = _TONES[mark]
            elif mark == "\u0306" and base == "a":
                base = "ă"
            elif mark == "\u0302" and base in "aeo":
                base = {"a": "â", "e": "ê", "o": "ô"}[base]
            elif mark == "\u031b" and base in "ou":
                base = {"o": "ơ", "u": "ư"}[base]
        letters.append(base)
        tones.append(tone)
        cases.append(is_upper)
    return letters, tones, cases


def _primary(ch: str) -> str:
    letters, _tones, _cases = _letters_and_tones(ch)
    letter = letters[0]
    if letter in _LETTER_RANK:
        return chr(0x100 + _LETTER_RANK[letter])
    if letter.isdigit():
        return chr(_PRIMARY_OFFSET + int(letter))
    if letter == " ":
        return " "
    if letter.isalpha():
        return chr(0x200 + ord(letter))  # other scripts after Vietnamese letters
    return chr(0x21)  # punctuation sorts together, before letters


# One character of the key's three parts for each character of the (NFC) text.
_PRIMARY = _CharTable(_primary)
_TONE = _CharTable(lambda ch: chr(0x30 + _letters_and_tones(ch)[1][0]))
_CASE = _CharTable(lambda ch: chr(0x30 + _letters_and_tones(ch)[2][0]))


def vi_sort_key(value: str | None) -> str:
    """A string whose binary order is Vietnamese dictionary order of ``value``."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    return text.translate(_PRIMARY) + "\x01" + text.translate(_TONE) + "\x01" + text.translate(_CASE)
