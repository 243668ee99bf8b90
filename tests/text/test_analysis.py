"""The Vietnamese analyzers, token by token: what the index stores for a piece of text.

Searches that rely on these tokens are in test_search.py; here are the tokens themselves, so a
failure names the layer (normalization, syllables, folding, pairs, pyvi words, numbers) at fault.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_service.text.fold import fold
from search_service.text.normalize import normalize_text
from search_service.index.analyzers import bigram_analyzer, exact_analyzer, folded_analyzer, word_analyzer
from search_service.index.schema import build_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731 - reads like the form it makes


def tokens(analyzer, text: str, **kwargs) -> list[str]:
    return [t.text for t in analyzer(text, **kwargs)]


# -- normalization at the edge -----------------------------------------------------------------

@pytest.mark.parametrize("typed, normalized", [
    # Old-style tone placement becomes the corpus's style, in every case.
    ("văn hoá", "văn hóa"), ("thuỷ lợi", "thủy lợi"), ("huỷ bỏ", "hủy bỏ"),
    ("sức khoẻ", "sức khỏe"), ("Uỷ ban", "Ủy ban"), ("Hoà Bình", "Hòa Bình"),
    ("HOÀ GIẢI", "HÒA GIẢI"), ("Thuý", "Thúy"),
    # "qu" is a consonant and closed syllables have one place only: left as typed.
    ("quý I", "quý I"), ("giữa năm", "giữa năm"), ("quá hạn", "quá hạn"),
    ("Hoàng Mai", "Hoàng Mai"), ("khuya", "khuya"), ("thuở", "thuở"), ("hoạch", "hoạch"),
    # Decomposed text (macOS, some PDFs) is composed.
    (NFD("Phúc Lợi"), "Phúc Lợi"), (NFD("Nghị quyết"), "Nghị quyết"),
    # Look-alike characters.
    ("\u00d0ảng ủy", "Đảng ủy"), ("Phúc\u00a0Lợi", "Phúc Lợi"),
    ("15/NQ\u2013ĐU", "15/NQ-ĐU"), ("15/NQ\u2014ĐU", "15/NQ-ĐU"),
    ("15/NQ\u2011ĐU", "15/NQ-ĐU"), ("15/NQ\u2212ĐU", "15/NQ-ĐU"),
])
def test_normalize_text(typed, normalized):
    assert normalize_text(typed) == normalized


def test_normalization_keeps_case_for_pyvi():
    assert normalize_text("Hội nghị PHƯỜNG Phúc Lợi") == "Hội nghị PHƯỜNG Phúc Lợi"


@given(st.text(alphabet=st.sampled_from(list(
    "oOuUqQaAeEyYàáảãạÀÁẢÃẠèéẻẽẹÈÉẺẼẸỳýỷỹỵỲÝỶỸỴxh \u00a0\u00d0\u2013-_1")), max_size=12))
@settings(max_examples=500, deadline=None)
def test_tone_normalization_matches_the_plain_rule(text):
    """The fast regex moves exactly the marks the list of old/new pairs names."""
    from search_service.text.normalize import _TONE_PAIRS

    expected = text.replace("\u00d0", "\u0110").replace("\u00a0", " ").replace("\u2013", "-")
    alternation = re.compile(r"(?<![qQ])(" + "|".join(map(re.escape, _TONE_PAIRS)) + r")(?!\w)")
    expected = alternation.sub(lambda m: _TONE_PAIRS[m.group(1)], expected)
    assert normalize_text(text) == expected


@pytest.mark.parametrize("text, folded", [
    ("Đường Phúc Lợi", "Duong Phuc Loi"), ("đồng thuận", "dong thuan"),
    ("HỘI NGHỊ", "HOI NGHI"), ("quý", "quy"),
])
def test_fold_strips_diacritics_and_d_stroke(text, folded):
    assert fold(text) == folded


# -- the analyzers ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Văn hoá", ["văn", "hóa"]),
    ("văn hóa", ["văn", "hóa"]),
    # Whoosh's default tokenizer split decomposed "Phúc" into "phu", "c".
    (NFD("Phúc Lợi"), ["phúc", "lợi"]),
    ("\u00d0ón trẻ", ["đón", "trẻ"]),
    ("quý\u00a0I giữa năm ban", ["quý", "i", "giữa", "năm", "ban"]),
    ("hội-nghị_sơ.kết", ["hội", "nghị", "sơ", "kết"]),
])
def test_exact_analyzer_keeps_diacritics_in_one_tone_style(text, expected):
    assert tokens(exact_analyzer(), text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Đường Phúc Lợi", ["duong", "phuc", "loi"]),
    (NFD("Khánh thành"), ["khanh", "thanh"]),
    ("THUỶ", ["thuy"]),
])
def test_folded_analyzer_drops_diacritics(text, expected):
    assert tokens(folded_analyzer(), text) == expected


def test_bigram_analyzer_pairs_neighbouring_syllables():
    assert tokens(bigram_analyzer(), "Hội nghị sơ kết Phúc Lợi") == [
        "hoi_nghi", "nghi_so", "so_ket", "ket_phuc", "phuc_loi"]


@pytest.mark.parametrize("text", [
    "Nghị quyết 15/NQ-ĐU", "Nghị quyết 15/NQ\u2013ĐU", "Nghị quyết 15/NQ\u2014ĐU",
    "Nghị quyết 15/NQ\u2011ĐU", "Nghị quyết 15/NQ\u2212ĐU", "Nghị quyết 15/NQ-\u00d0U",
])
def test_document_number_is_one_key_token_plus_its_parts(text):
    assert tokens(folded_analyzer(), text) == ["nghi", "quyet", "15-nq-du", "15", "nq", "du"]


def test_a_date_is_not_a_document_number():
    assert tokens(folded_analyzer(), "ngày 12/4/2018") == ["ngay", "12", "4", "2018"]


@pytest.mark.parametrize("typed", ["15 nq đu", "15 NQ DU", "15-nq/đu"])
def test_typed_numbers_become_keys_at_query_time(typed):
    assert "15-nq-du" in tokens(folded_analyzer(), typed, mode="query")


@pytest.mark.parametrize("text", ["Hội nghị sơ kết", "Hội\u00a0nghị sơ kết",
                                  NFD("Hội nghị sơ kết")])
def test_word_analyzer_joins_vietnamese_words(text):
    assert "hội_nghị" in tokens(word_analyzer(), text)


def test_word_analyzer_yields_only_multi_syllable_words():
    words = tokens(word_analyzer(), "Đảng bộ phường Phúc Lợi tổ chức hội nghị")
    assert words and all("_" in w and w == w.lower() for w in words)
    assert {"phúc_lợi", "tổ_chức", "hội_nghị"} <= set(words)


# -- pickling: Whoosh stores the schema, analyzers included, inside the index -------------------

SAMPLE = "Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết 15/NQ-ĐU, văn hoá"


def test_schema_pickles_and_its_analyzers_still_work():
    schema = build_schema()
    restored = pickle.loads(pickle.dumps(schema))
    assert restored.names() == schema.names()
    for name in ("title", "title_f", "title_bi", "title_w", "body", "body_f", "body_bi", "body_w"):
        assert tokens(restored[name].analyzer, SAMPLE) == tokens(schema[name].analyzer, SAMPLE)


@pytest.mark.parametrize("factory", [exact_analyzer, folded_analyzer, bigram_analyzer,
                                     word_analyzer])
def test_each_analyzer_pickles(factory):
    restored = pickle.loads(pickle.dumps(factory()))
    assert tokens(restored, SAMPLE) == tokens(factory(), SAMPLE)


REOPEN = """
import json, sys
from search_service.search import SearchEngine, SearchRequest
result = SearchEngine(sys.argv[1]).search(SearchRequest(q=sys.argv[2]))
print(json.dumps([h.id for h in result.hits]))
"""


def test_index_reopens_and_searches_in_a_new_process(ward_index):
    """A fresh interpreter unpickles the stored schema (and pyvi) from the index alone."""
    done = subprocess.run([sys.executable, "-c", REOPEN, str(ward_index), "khanh thanh"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] == "articles/san-choi-nfd.txt"
