"""Text encodings of old Vietnamese files: UTF-8 (with or without BOM), UTF-16, Windows-1258
and the TCVN3 (ABC) fonts of the 1990s–2000s (.VnTime), detected by scoring the decoded text.

TCVN3 is not a code page Python knows: its letters were drawn by special fonts over ordinary
8-bit codes, so "Điện Biên" was stored as the bytes that Windows-1252 shows as "§iÖn Biªn".
``TCVN3`` maps those codes (U+00A1–U+00FE once read as Latin-1) to Unicode.  The same text can
sit in an .xlsx made from such a workbook, as those Latin-1 characters: ``from_tcvn3`` repairs it.
Windows-1258 writes most tones as combining marks: the decoded text is normalised to NFC.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# TCVN 5712:1993 (VN3, the "ABC" fonts).  Upper-case toned letters have no code of their own:
# the .VnTimeH fonts draw the lower-case codes as capitals.
_TCVN3_PAIRS = (
    "¡Ă ¢Â £Ê ¤Ô ¥Ơ ¦Ư §Đ ¨ă ©â ªê «ô ¬ơ \u00adư ®đ "
    "µà ¶ả ·ã ¸á ¹ạ »ằ ¼ẳ ½ẵ ¾ắ Æặ Çầ Èẩ Éẫ Êấ Ëậ "
    "Ìè Îẻ Ïẽ Ðé Ñẹ Òề Óể Ôễ Õế Öệ ×ì Øỉ Üĩ Ýí Þị "
    "ßò áỏ âõ ãó äọ åồ æổ çỗ èố éộ êờ ëở ìỡ íớ îợ "
    "ïù ñủ òũ óú ôụ õừ öử ÷ữ øứ ùự úỳ ûỷ üỹ ýý þỵ"
)
TCVN3: dict[int, str] = {ord(pair[0]): pair[1] for pair in _TCVN3_PAIRS.split(" ")}
_TCVN3_TABLE = str.maketrans(TCVN3)

# Python's names for the encodings offered to the person, with how they are shown.
ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8 (Unicode)",
    "utf-8-sig": "UTF-8 (Unicode, BOM)",
    "utf-16": "UTF-16 (Unicode text from Excel)",
    "cp1258": "Windows-1258 (VN Windows)",
    "tcvn3": "TCVN3 (ABC, .VnTime)",
}
LEGACY = ("cp1258", "tcvn3")

_VOWELS = "aăâeêioôơuưy"
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_WORD = re.compile(r"[^\W\d_]+")


def from_tcvn3(text: str) -> str:
    """TCVN3 text read as Latin-1 (or Windows-1252) characters → Unicode (NFC)."""
    return unicodedata.normalize("NFC", text.translate(_TCVN3_TABLE))


def decode(raw: bytes, encoding: str) -> str:
    """``raw`` in ``encoding`` (one of ``ENCODINGS``) → NFC text; undecodable bytes become U+FFFD."""
    if encoding == "tcvn3":
        return from_tcvn3(raw.decode("latin-1"))
    text = raw.decode(encoding, errors="replace")
    return unicodedata.normalize("NFC", text)


def _is_vietnamese_letter(ch: str) -> bool:
    base = unicodedata.normalize("NFD", ch.lower())
    if base[0] == "đ":
        return len(base) == 1
    if not ("a" <= base[0] <= "z"):
        return False
    return all(m in _TONES or m in "\u0302\u0306\u031b" for m in base[1:])


def _word_score(word: str) -> int:
    """+1 a plausible Vietnamese word with diacritics, −2 an impossible one, 0 plain ASCII."""
    if word.isascii():
        return 0
    if not all(_is_vietnamese_letter(ch) for ch in word):
        return -2
    tones = sum(1 for m in unicodedata.normalize("NFD", word.lower()) if m in _TONES)
    return 1 if tones <= 1 else -2


def vietnamese_score(text: str) -> int:
    """How much ``text`` looks like Vietnamese: plausible words with diacritics count up,
    letters no Vietnamese word has (or two tones in one syllable) count down."""
    score = 0
    for word in _WORD.findall(text):
        score += _word_score(word)
    score -= 3 * text.count("\ufffd")
    return score


def looks_like_tcvn3(texts: list[str]) -> bool:
    """Whether Unicode strings (cells of a workbook) are TCVN3 text shown with Latin-1 letters.

    Unicode Vietnamese uses Latin-1 letters too (á, ê, ô …), which TCVN3 would read as other
    letters; what gives TCVN3 away is the codes that are no Vietnamese letter (§, Ö, µ, ¸, ×, ø …)
    and that the repaired text reads better."""
    joined = "\n".join(texts)
    foreign = sum(1 for ch in joined if ch in _FOREIGN)
    if foreign < 3:
        return False
    return vietnamese_score(from_tcvn3(joined)) > vietnamese_score(joined) + foreign // 3


# TCVN3's codes that are no Vietnamese letter when read as Latin-1 ("§" for "Đ", "Ö" for "ệ" …)
_FOREIGN = frozenset(chr(code) for code in TCVN3 if not _is_vietnamese_letter(chr(code)))


@dataclass(frozen=True)
class Candidate:
    encoding: str
    score: int
    sample: str  # the first lines, decoded this way


def candidates(sample: bytes) -> list[Candidate]:
    """Each encoding the sample decodes in, best first.  A byte-order mark decides at once;
    UTF-8 that decodes without error beats the 8-bit encodings (their Vietnamese letters are
    almost never valid UTF-8 sequences)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return [Candidate("utf-8-sig", 1_000_000, decode(sample[:2000], "utf-8-sig"))]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return [Candidate("utf-16", 1_000_000, decode(sample[:2000], "utf-16"))]
    found: list[Candidate] = []
    try:
        text = _utf8_prefix(sample)
    except UnicodeDecodeError:
        text = None
    if text is not None:
        bonus = 1000 if not sample.isascii() else 0
        found.append(Candidate("utf-8", vietnamese_score(text) + bonus, text[:2000]))
    for encoding in LEGACY:
        text = decode(sample, encoding)
        found.append(Candidate(encoding, vietnamese_score(text), text[:2000]))
    found.sort(key=lambda c: -c.score)
    return found


def _utf8_prefix(sample: bytes) -> str:
    """Decode the sample as UTF-8; a character cut at the sample's end is not an error."""
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason in ("unexpected end of data",):
            return sample[: exc.start].decode("utf-8")
        raise
