"""The folded search key and the Vietnamese sort key, computed from per-character tables, are
exactly what the character-by-character definitions give (the register and every import store
them: a different key would split search results and the order of lists)."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from dbcomm.domain.text import fold, vi_sort_key

_WS = re.compile(r"\s+")
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}


def fold_by_definition(value: str | None) -> str:
    if not value:
        return ""
    out = []
    for ch in unicodedata.normalize("NFD", value.casefold()):
        if unicodedata.combining(ch):
            continue
        out.append("d" if ch == "đ" else ch)
    return _WS.sub(" ", "".join(out)).strip()


def sort_key_by_definition(value: str | None) -> str:
    if not value:
        return ""
    primary, tones, cases = [], [], []
    for ch in unicodedata.normalize("NFC", _WS.sub(" ", value.strip())):
        lower = ch.lower()
        decomposed = unicodedata.normalize("NFD", lower)
        base, tone = decomposed[0], 0
        for mark in decomposed[1:]:
            if mark in _TONES:
                tone = _TONES[mark]
            elif mark == "\u0306" and base == "a":
                base = "ă"
            elif mark == "\u0302" and base in "aeo":
                base = {"a": "â", "e": "ê", "o": "ô"}[base]
            elif mark == "\u031b" and base in "ou":
                base = {"o": "ơ", "u": "ư"}[base]
        if base in _RANK:
            primary.append(chr(0x100 + _RANK[base]))
        elif base.isdigit():
            primary.append(chr(0x30 + int(base)))
        elif base == " ":
            primary.append(" ")
        elif base.isalpha():
            primary.append(chr(0x200 + ord(base)))
        else:
            primary.append(chr(0x21))
        tones.append(chr(0x30 + tone))
        cases.append(chr(0x30 + (ch != lower)))
    return "".join(primary) + "\x01" + "".join(tones) + "\x01" + "".join(cases)


def _same(function, reference, text: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        expected: object = reference(text)
    except Exception as exc:  # noqa: BLE001 - a character the definition cannot rank fails alike
        expected = type(exc)
    try:
        got: object = function(text)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    return got == expected


_VIETNAMESE = ("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
               "ĐĂÂÊÔƠƯÀÁẢÃẠỲÝỶỸỴ")
_OTHERS = "0123456789 \t\n\u00a0\u2003.,;:!?-()\"'ßİıﬁẞΣσςÅÅ가각一二①²٣\u0301\u0300\u0309\u0303\u0323\u0306\u0302\u031b"


@pytest.mark.parametrize(("function", "reference"), [(fold, fold_by_definition),
                                                     (vi_sort_key, sort_key_by_definition)])
def test_the_keys_are_those_of_the_definition_for_any_text(function, reference):
    rng = random.Random(20261127)
    pool = _VIETNAMESE + _VIETNAMESE.upper() + _OTHERS
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 30)))
        for variant in (text, unicodedata.normalize("NFD", text)):
            assert _same(function, reference, variant), repr(variant)
    # every character of Latin, its marks, Vietnamese and the common punctuation, alone and in a word
    for code in [*range(0x0, 0x2500), *range(0x3000, 0x3100), *range(0xAC00, 0xAC40), *range(0xFB00, 0xFB10)]:
        for text in (chr(code), "Đạ" + chr(code) + "i Lò"):
            assert _same(function, reference, text), hex(code)
