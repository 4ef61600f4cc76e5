"""Vietnamese text: NFC on entry, folded search keys, dictionary order."""

from __future__ import annotations

import unicodedata

import pytest

from dbcomm.domain.text import fold, nfc, nfc_line, search_terms, vi_sort_key


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- NFC --------------------------------------------------------------------


def test_nfc_turns_decomposed_input_into_the_composed_form():
    composed = "Tuần lễ hưởng ứng học tập suốt đời"
    decomposed = nfd(composed)
    assert decomposed != composed  # the test input really is NFD

    assert nfc(decomposed) == composed
    assert unicodedata.is_normalized("NFC", nfc(decomposed))


def test_nfc_line_trims_and_collapses_spaces_inside_a_title():
    assert nfc_line("  Phát thanh   về\tNgày Sách  ") == "Phát thanh về Ngày Sách"


def test_nfc_keeps_line_breaks_of_multi_line_text():
    assert nfc("TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH\n") == "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"


def test_missing_text_becomes_empty_string():
    assert nfc(None) == ""
    assert fold(None) == ""
    assert vi_sort_key(None) == ""


# --- folding for search -----------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["hoc tap", "HỌC TẬP", "học tập", nfd("học tập"), nfd("HỌC TẬP"), "  Học   Tập "],
)
def test_every_way_of_typing_hoc_tap_folds_to_the_same_key(typed):
    assert fold(typed) == fold("hoc tap")


def test_fold_turns_d_with_stroke_into_d_in_both_cases():
    assert fold("Đoàn Thanh niên xã Mường Đăng") == fold("doan thanh nien xa muong dang")
    assert "đ" not in fold("ĐĐđđ") and "Đ" not in fold("ĐĐđđ")


def test_fold_strips_every_vietnamese_vowel_mark():
    vowels = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    folded = fold(vowels + vowels.upper())
    assert set(folded) == set("aeiouy")


def test_fold_keeps_distinct_words_distinct():
    # different letters must not be merged, only marks removed
    assert fold("Mường Phăng") != fold("Mường Pồn")


def test_search_terms_splits_a_query_into_folded_words():
    assert search_terms("  Học TẬP   suốt đời ") == ["hoc", "tap", "suot", "doi"]
    assert search_terms("") == []
    assert search_terms("   ") == []


# --- Vietnamese dictionary order --------------------------------------------


def _vi_sorted(names: list[str]) -> list[str]:
    return sorted(names, key=vi_sort_key)


def test_district_names_sort_in_vietnamese_order_not_code_point_order():
    # given names whose code-point order is wrong for Vietnamese
    names = [
        "Tuần Giáo",
        "Điện Biên Đông",
        "Ẳng Nưa",
        "Em Tùng",
        "Tủa Chùa",
        "Bắc Yên",
        "Dũng Tiến",
    ]
    expected = [
        "Ẳng Nưa",
        "Bắc Yên",
        "Dũng Tiến",
        "Điện Biên Đông",
        "Em Tùng",
        "Tủa Chùa",
        "Tuần Giáo",
    ]
    assert sorted(names) != expected  # Python's own order gets it wrong

    assert _vi_sorted(names) == expected


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("Tủa Chùa", "Tuần Giáo"),  # a < â, the tone on u does not matter first
        ("Dũng", "Đức"),  # d < đ
        ("Đức", "Em"),  # đ < e although Đ is U+0110
        ("Uy", "Ương"),  # u < ư
        ("Ương", "Vân"),  # ư < v although Ư is U+01AF
        ("An", "Ăn"),
        ("Ăn", "Ân"),
        ("Ấp", "Bản"),
        ("Mường Ảng", "Mường Chà"),
        ("Mà Bản", "Ma Cà"),  # letters decide before tones
        ("Xã 2", "Xã A"),  # digits before letters
    ],
)
def test_vietnamese_order_of_pairs(earlier, later):
    assert vi_sort_key(earlier) < vi_sort_key(later)
    assert vi_sort_key(nfd(earlier)) < vi_sort_key(nfd(later))


def test_the_six_tones_sort_level_grave_hook_tilde_acute_dot():
    expected = ["ma", "mà", "mả", "mã", "má", "mạ"]
    shuffled = ["mạ", "má", "ma", "mã", "mả", "mà"]
    assert sorted(shuffled) != expected

    assert _vi_sorted(shuffled) == expected


def test_decomposed_and_composed_spelling_have_the_same_sort_key():
    for name in ("Nậm Pồ", "Mường Nhé", "Điện Biên Phủ", "Quài Tở"):
        assert vi_sort_key(nfd(name)) == vi_sort_key(name)


def test_lower_case_sorts_just_before_the_same_word_in_upper_case():
    names = ["Ăn", "an", "ăn", "An", "ân"]
    assert _vi_sorted(names) == ["an", "An", "ăn", "Ăn", "ân"]


def test_shorter_word_sorts_before_its_extensions():
    assert _vi_sorted(["Thanh Xương", "Thanh", "Thanh Minh"]) == [
        "Thanh",
        "Thanh Minh",
        "Thanh Xương",
    ]


def test_extra_spaces_do_not_change_the_order():
    assert vi_sort_key("  Xã   Thanh Nưa ") == vi_sort_key("Xã Thanh Nưa")
