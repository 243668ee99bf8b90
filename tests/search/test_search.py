"""Searches a ward user would type, over a real index of tests/data (real pyvi, real Whoosh).

Each case is query → the ids expected, ranked where the ranking is the point. The corpus is
written so that each word under test occurs only in the documents named here. Cases whose
ranking depends on collection statistics build their own tiny index instead.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from search_service.errors import QueryTooLong
from conftest import ARTICLE_ID, DATA_DIR, NFD_ARTICLE_ID, SHARED, build_engine

from search_service.ingest.pipeline import ingest_paths
from search_service.search import SearchEngine, SearchRequest

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731 - reads like the form it makes
SEED = SHARED / "seeds" / "000_45b052ec584e03b0.txt"

# Engine bug (reported): a query whose number key matches a document's own number_key raises
# KeyError('number_key') in ranking.Collection._bm25 (number_key is not in SCORED_FIELDS).
TONE_DOCS = ["tone-cu", "tone-moi"]          # the same notice, old and new tone placement
PHUC_LOI_DOCS = sorted([ARTICLE_ID, NFD_ARTICLE_ID, "phuc-loi-gioi-thieu"])
PUBLIC_COUNT = 25                            # tests/data: 26 documents, one internal


def search(engine, q: str, **kwargs):
    return engine.search(SearchRequest(q=q, per_page=50, **kwargs))


def ids(engine, q: str, **kwargs) -> list[str]:
    return [hit.id for hit in search(engine, q, **kwargs).hits]


# -- tone-mark placement ---------------------------------------------------------------------

@pytest.mark.parametrize("q", ["thuỷ", "thủy", "huỷ", "hủy", "khoẻ", "khỏe", "uỷ", "ủy",
                               "THUỶ", "Uỷ"])
def test_old_and_new_tone_placement_find_each_other(ward_engine, q):
    """tone-cu is written hoá/thuỷ/huỷ/khoẻ/Uỷ, tone-moi hóa/thủy/hủy/khỏe/Ủy."""
    assert sorted(ids(ward_engine, q)) == TONE_DOCS


@pytest.mark.parametrize("q", ["hoá", "hóa", "HOÁ", "văn hoá", "văn hóa"])
def test_same_tone_in_either_placement_ranks_above_another_tone(ward_engine, q):
    """Both placements of hóa are the same word: they outrank hòa (hoa-giai), found folded."""
    found = ids(ward_engine, q)
    assert sorted(found[:2]) == TONE_DOCS
    assert found[2:] == ["hoa-giai"]


@pytest.mark.parametrize("q", ["Uỷ ban", "Ủy ban", "sức khoẻ", "sức khỏe", "huỷ lịch tiêm",
                               "thuỷ đậu", "thủy đậu"])
def test_tone_placement_in_multi_word_queries(ward_engine, q):
    """"ban", "sức", "lịch" and "đầu" occur elsewhere too; both notices come first."""
    assert sorted(ids(ward_engine, q)[:2]) == TONE_DOCS


def test_another_tone_is_found_first_by_its_own_marks(ward_engine):
    assert ids(ward_engine, "hòa")[0] == "hoa-giai"


@pytest.mark.parametrize("q, expected", [
    ("quý", ["quy-i"]), ("quy", ["quy-i"]), ("giữa", sorted(["quy-i", ARTICLE_ID])),
])
def test_quy_and_giua_are_found(ward_engine, q, expected):
    assert sorted(ids(ward_engine, q)) == expected


def test_quy_and_giua_are_stored_as_written(ward_engine):
    doc = ward_engine.get_document("quy-i")
    assert doc["title"] == "Báo cáo kết quả thu ngân sách quý I và giữa năm 2024"


def test_stored_text_takes_the_new_tone_placement(ward_engine):
    title = ward_engine.get_document("tone-cu")["title"]
    assert title == "Thông báo lịch hoạt động văn hóa, thể thao"


# -- decomposed text and look-alike characters -----------------------------------------------

def test_nfd_fixture_really_is_decomposed():
    """Guard: an editor that recomposes the file would make the NFD tests pass vacuously."""
    raw = (DATA_DIR / NFD_ARTICLE_ID).read_text(encoding="utf-8")
    assert raw == NFD(raw) and raw != unicodedata.normalize("NFC", raw)


@pytest.mark.parametrize("q", ["Khánh", NFD("Khánh"), "khanh", "KHÁNH"])
def test_nfd_document_is_found_by_composed_and_decomposed_queries(ward_engine, q):
    assert ids(ward_engine, q) == [NFD_ARTICLE_ID]


@pytest.mark.parametrize("q", ["Phúc", NFD("Phúc"), NFD("phúc lợi"), "Phúc Lợi"])
def test_decomposed_phuc_is_one_syllable(ward_engine, q):
    """Whoosh's default tokenizer split NFD "Phúc" into "phu", "c": nothing matched."""
    assert sorted(ids(ward_engine, q)) == PHUC_LOI_DOCS


def test_nfd_document_is_stored_composed(ward_engine):
    doc = ward_engine.get_document(NFD_ARTICLE_ID)
    assert doc["title"] == "Khánh thành sân chơi thiếu nhi tổ dân phố số 9 phường Phúc Lợi"
    assert doc["category"] == "TIN TỨC - SỰ KIỆN"


@pytest.mark.parametrize("q", ["Điều chỉnh giờ đón trẻ", "\u00d0iều chỉnh giờ đón trẻ",
                               "dieu chinh gio don tre", "\u00d0ón trẻ", "đón trẻ"])
def test_eth_is_read_as_d_stroke(ward_engine, q):
    """don-tre was typed with U+00D0 (Ð, Icelandic Eth), which looks like Đ but is not."""
    assert ids(ward_engine, q)[0] == "don-tre"


def test_eth_is_stored_as_d_stroke(ward_engine):
    doc = ward_engine.get_document("don-tre")
    assert doc["title"] == "Điều chỉnh giờ đón trẻ tại trường mầm non Sao Mai"
    assert doc["title"][0] == "\u0110"


def test_non_breaking_spaces_separate_words(ward_engine):
    assert ids(ward_engine, '"tiếp công dân"') == ["lich-tiep-dan"]
    assert ids(ward_engine, "tiếp\u00a0công\u00a0dân")[0] == "lich-tiep-dan"
    assert ward_engine.get_document("lich-tiep-dan")["title"] == "Lịch tiếp công dân tháng 6"


def test_number_with_non_breaking_spaces_around_its_dash(ward_engine):
    """The body prints 40/TB<nbsp>-<nbsp>UBND."""
    assert ids(ward_engine, "40/TB-UBND")[0] == "lich-tiep-dan"


@pytest.mark.parametrize("doc_id, number", [
    ("kh-31", "31/KH-UBND"),   # printed with an en dash
    ("kh-32", "32/KH-UBND"),   # em dash
    ("kh-33", "33/KH-UBND"),   # non-breaking hyphen
    ("kh-34", "34/KH-UBND"),   # minus sign
])
def test_dash_look_alikes_in_numbers(ward_engine, doc_id, number):
    hits = search(ward_engine, number).hits
    assert hits[0].id == doc_id
    assert hits[0].doc_number == number


@pytest.mark.parametrize("q", ["15/NQ\u2013ĐU", "15/NQ\u2014ĐU", "15/NQ\u2011ĐU", "15/NQ\u2212ĐU"])
def test_dash_look_alikes_in_typed_numbers(ward_engine, q):
    assert ids(ward_engine, q)[0] == "nq-15-du"


# -- accent-insensitive search, with exact diacritics ranked first ---------------------------

@pytest.mark.parametrize("q", ["phuc loi", "PHUC LOI", "Phuc Loi", "phúc lợi", "PHÚC LỢI"])
def test_phuc_loi_with_or_without_diacritics(ward_engine, q):
    assert sorted(ids(ward_engine, q)) == PHUC_LOI_DOCS


@pytest.mark.parametrize("q, expected", [
    ("duong", ["con-duong", "tuyen-duong"]),
    ("DUONG", ["con-duong", "tuyen-duong"]),
])
def test_d_stroke_folds_to_d(ward_engine, q, expected):
    assert sorted(ids(ward_engine, q)) == expected


@pytest.mark.parametrize("q, expected", [
    ("đường", ["con-duong", "tuyen-duong"]),
    ("Đường", ["con-duong", "tuyen-duong"]),
    ("dương", ["tuyen-duong", "con-duong"]),
    ("Dương", ["tuyen-duong", "con-duong"]),
])
def test_query_with_diacritics_ranks_exact_diacritics_first(ward_engine, q, expected):
    """con-duong has đường and tuyen-duong has dương, at the same place in same-length texts."""
    assert ids(ward_engine, q) == expected


# -- document numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["15/NQ-ĐU", "15-nq/đu", "15 NQ DU", "15 nq đu", "15/nq-du",
                               "nghị quyết 15/NQ-ĐU"])
def test_party_committee_number_in_any_typed_form(ward_engine, q):
    """nq-15-du IS 15/NQ-ĐU; kh-22 only mentions it in its body, so it comes second."""
    hits = search(ward_engine, q).hits
    assert [h.id for h in hits[:2]] == ["nq-15-du", "kh-22"]
    assert hits[0].doc_number == "15/NQ-ĐU"


@pytest.mark.parametrize("q, doc_id, printed", [
    ("123/2018/qd-ubnd", "qd-123-2018", "123/2018/QĐ-UBND"),
    ("123/2018/QĐ-UBND", "qd-123-2018", "123/2018/QĐ-UBND"),
    ("18/NQ-TW", "nq-18-tw", "18-NQ/TW"),
    ("18-NQ/TW", "nq-18-tw", "18-NQ/TW"),
    ("22/KH-UBND", "kh-22", "22/KH-UBND"),
])
def test_number_found_from_another_style(ward_engine, q, doc_id, printed):
    hits = search(ward_engine, q).hits
    assert hits[0].id == doc_id
    assert hits[0].doc_number == printed
    assert ward_engine.get_document(doc_id)["doc_number"] == printed


def test_a_date_is_searched_as_text_not_as_a_number(ward_engine):
    """The article says "Sáng ngày 12/4/2018"; no document has the number 12/4/2018."""
    result = search(ward_engine, "12/4/2018")
    assert result.hits[0].id == ARTICLE_ID


# -- pyvi words, and recall that does not depend on them -------------------------------------

@pytest.mark.parametrize("q", ["ho chi minh", "Hồ Chí Minh", "HỒ CHÍ MINH", "hồ chí minh"])
def test_multi_syllable_names(ward_engine, q):
    assert ids(ward_engine, q)[0] == ARTICLE_ID


@pytest.mark.parametrize("q", ["đồng thuận", "dong thuan", "Đồng Thuận", '"đồng thuận"'])
def test_multi_syllable_words_are_found_whatever_pyvi_joined(ward_engine, q):
    assert ARTICLE_ID in ids(ward_engine, q)


def test_exact_word_typed_with_diacritics_ranks_first(ward_engine):
    """nghi-hang-nam has "lao động" five times and "thỏa thuận", but never "đồng"."""
    assert ids(ward_engine, "đồng thuận")[0] == ARTICLE_ID


# -- questions and short keyword queries ------------------------------------------------------

@pytest.mark.parametrize("q", [
    "Người lao động có thể thỏa thuận nghỉ hằng năm như thế nào?",
    "người lao động có thể thoả thuận nghỉ hằng năm như thế nào",
    "nguoi lao dong co the thoa thuan nghi hang nam nhu the nao",
])
def test_question_ranks_by_content_words(ward_engine, q):
    """nghi-hang-nam lacks "thế nào"; an-toan-lao-dong has "như thế nào" but not the topic."""
    found = ids(ward_engine, q)
    assert found[0] == "nghi-hang-nam"
    assert "an-toan-lao-dong" in found[1:]


def test_short_query_puts_documents_with_every_word_first(tmp_path):
    engine = build_engine(tmp_path, [
        {"id": "karaoke", "title": "Quán karaoke",
         "body": "Karaoke gia đình: hát karaoke, loa karaoke, micro karaoke, phòng karaoke."},
        {"id": "ca-hai", "title": "Xử phạt vi phạm",
         "body": "Phạt quán karaoke gây ồn sau 22 giờ tại tổ dân phố."},
        {"id": "tieng-on", "title": "Tiếng ồn",
         "body": "Tiếng ồn công trình: ồn ào, ồn ã, ồn suốt ngày, ồn cả đêm."},
    ])
    found = ids(engine, "karaoke ồn")
    assert found[0] == "ca-hai"
    assert sorted(found) == ["ca-hai", "karaoke", "tieng-on"]


@pytest.mark.parametrize("q, expected", [
    ("tiêm chủng", ["tieu-de", "noi-dung"]),
    ("trạm y tế", ["noi-dung", "tieu-de"]),
])
def test_title_match_weighs_more_than_body_match(tmp_path, q, expected):
    """Each document has one phrase in its title and the other in its body."""
    engine = build_engine(tmp_path, [
        {"id": "tieu-de", "title": "Tiêm chủng mở rộng",
         "body": "Lịch tháng 3 tại trạm y tế phường."},
        {"id": "noi-dung", "title": "Lịch tháng 3 tại trạm y tế phường",
         "body": "Tiêm chủng mở rộng."},
    ])
    assert ids(engine, q) == expected


# -- phrases and exclusions -----------------------------------------------------------------

@pytest.mark.parametrize("q", ['"hội nghị sơ kết"', '"hoi nghi so ket"', '"Hội nghị sơ kết'])
def test_quoted_phrase_matches_only_the_phrase(ward_engine, q):
    """lay-y-kien has every word, not as a phrase; so-ket-thi-dua has "sơ kết" only."""
    unquoted = ids(ward_engine, "hội nghị sơ kết")
    assert {"lay-y-kien", "so-ket-thi-dua"} <= set(unquoted)
    if q.count('"') == 2:
        assert sorted(ids(ward_engine, q)) == sorted([ARTICLE_ID, "so-ket-6-thang"])
    else:   # an unbalanced quote: searched as plain words
        assert sorted(ids(ward_engine, q)) == sorted(unquoted)


@pytest.mark.parametrize("q", ["sơ kết -khen", "sơ kết NOT khen", "so ket -khen"])
def test_minus_word_excludes_documents(ward_engine, q):
    plain = ids(ward_engine, "sơ kết")
    assert "so-ket-thi-dua" in plain
    assert ids(ward_engine, q) == [i for i in plain if i != "so-ket-thi-dua"]


# -- visibility ------------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["Sen Vàng", "sen vang", "SEN VÀNG", '"Sen Vàng"'])
def test_internal_documents_are_found_only_when_asked_for(ward_engine, q):
    assert ids(ward_engine, q) == []
    assert ids(ward_engine, q, include_internal=True) == ["noi-bo-nhan-su"]


@pytest.mark.parametrize("q", ["07/TTr-UBND", "mật danh",
                               "Tờ trình nội bộ về nhân sự"])
def test_internal_documents_stay_out_of_mixed_results(ward_engine, q):
    """Public documents share some of these words; the internal one is first only for staff."""
    assert "noi-bo-nhan-su" not in ids(ward_engine, q)
    assert ids(ward_engine, q, include_internal=True)[0] == "noi-bo-nhan-su"


def test_internal_document_is_not_served_by_id(ward_engine):
    assert ward_engine.get_document("noi-bo-nhan-su") is None
    doc = ward_engine.get_document("noi-bo-nhan-su", include_internal=True)
    assert doc["title"] == "Tờ trình nội bộ về nhân sự, mật danh Sen Vàng"


def test_empty_query_lists_public_documents_only(ward_engine):
    assert search(ward_engine, "").total == PUBLIC_COUNT
    assert search(ward_engine, "", include_internal=True).total == PUBLIC_COUNT + 1


# -- the website's article export (the seed's layout) ----------------------------------------

def test_article_export_layout(ward_engine):
    doc = ward_engine.get_document(ARTICLE_ID)
    assert (doc["title"], doc["category"], doc["published"], doc["views"]) == (
        "Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết giữa nhiệm kỳ 2015-2020",
        "CÔNG TÁC ĐẢNG", "2018-04-14T10:39", 510)
    assert doc["body"].startswith("Sáng ngày 12/4/2018, Đảng bộ phường Phúc Lợi")
    assert "Lượt xem" not in doc["body"]


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed is absent")
def test_seed_article(tmp_path):
    summary = ingest_paths(tmp_path / "index", [SEED])
    assert summary.failed == 0
    engine = SearchEngine(tmp_path / "index")
    doc = engine.get_document(SEED.name)
    assert (doc["title"], doc["category"], doc["published"], doc["views"]) == (
        "Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết giữa nhiệm kỳ đại hội lần thứ "
        "XXXIIII, nhiệm kỳ 2015-2020", "CÔNG TÁC ĐẢNG", "2018-04-14T10:39", 510)
    assert ids(engine, "phuc loi hoi nghi so ket") == [SEED.name]


# -- re-ingesting -----------------------------------------------------------------------------

@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    return Path(shutil.copytree(DATA_DIR, tmp_path / "corpus"))


def test_reingesting_the_same_files_changes_nothing(tmp_path, corpus_copy):
    first = ingest_paths(tmp_path / "index", [corpus_copy])
    assert (first.added, first.updated, first.failed) == (PUBLIC_COUNT + 1, 0, 0)
    again = ingest_paths(tmp_path / "index", [corpus_copy])
    assert (again.added, again.updated, again.skipped, again.deleted, again.failed) == (
        0, 0, PUBLIC_COUNT + 1, 0, 0)
    assert [f.outcome for f in again.files] == ["skipped"] * 3
    engine = SearchEngine(tmp_path / "index")
    assert search(engine, "", include_internal=True).total == PUBLIC_COUNT + 1
    assert sorted(ids(engine, "phuc loi")) == PHUC_LOI_DOCS


def test_a_changed_article_is_updated_in_place(tmp_path, corpus_copy):
    ingest_paths(tmp_path / "index", [corpus_copy])
    article = corpus_copy / ARTICLE_ID
    article.write_text(article.read_text(encoding="utf-8").replace("đồng thuận", "đồng lòng"),
                       encoding="utf-8")
    summary = ingest_paths(tmp_path / "index", [corpus_copy])
    assert (summary.added, summary.updated, summary.failed) == (0, 1, 0)
    assert {Path(f.path).name: f.outcome for f in summary.files} == {
        "so-ket-giua-nhiem-ky.txt": "updated", "san-choi-nfd.txt": "skipped",
        "ward.jsonl": "skipped"}
    engine = SearchEngine(tmp_path / "index")
    assert ids(engine, '"đồng lòng"') == [ARTICLE_ID]
    assert ids(engine, '"đồng thuận"') == []
    assert search(engine, "", include_internal=True).total == PUBLIC_COUNT + 1


def test_a_changed_record_is_updated_in_place(tmp_path, corpus_copy):
    ingest_paths(tmp_path / "index", [corpus_copy])
    records = corpus_copy / "ward.jsonl"
    records.write_text(records.read_text(encoding="utf-8").replace(
        "Lễ tuyên dương học sinh giỏi", "Lễ tuyên dương học sinh xuất sắc"), encoding="utf-8")
    summary = ingest_paths(tmp_path / "index", [corpus_copy])
    assert (summary.added, summary.updated, summary.failed) == (0, 1, 0)
    engine = SearchEngine(tmp_path / "index")
    assert ids(engine, "xuất sắc") == ["tuyen-duong"]
    assert engine.get_document("tuyen-duong")["title"] == "Lễ tuyên dương học sinh xuất sắc ngõ 12"
    assert search(engine, "", include_internal=True).total == PUBLIC_COUNT + 1


# -- bad files beside good ones ----------------------------------------------------------------

def test_bad_files_are_reported_and_good_ones_indexed(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "san-bong.txt").write_text(
        "Khánh thành sân bóng đá mini tổ dân phố số 2\n\nSân bóng mở cửa từ 6 giờ sáng.\n",
        encoding="utf-8")
    (folder / "rac.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    (folder / "hong.jsonl").write_text(
        '{"id": "tot", "title": "Bản ghi tốt", "body": "Nội dung."}\n{"id": "hong", "title": \n',
        encoding="utf-8")
    (folder / "rong.txt").write_bytes(b"")
    summary = ingest_paths(tmp_path / "index", [folder])
    errors = {Path(f.path).name: f.error for f in summary.files if f.outcome == "failed"}
    assert sorted(errors) == ["hong.jsonl", "rac.txt", "rong.txt"]
    assert "encoding" in errors["rac.txt"]
    assert "line 2" in errors["hong.jsonl"]
    assert "empty" in errors["rong.txt"]
    assert (summary.added, summary.failed) == (1, 3)
    engine = SearchEngine(tmp_path / "index")
    assert ids(engine, "sân bóng") == ["san-bong.txt"]
    assert ids(engine, "Bản ghi tốt") == []    # a file with a broken line is refused whole


# -- hostile queries ---------------------------------------------------------------------------

HOSTILE = [
    '"', '""', '"phòng cháy', 'hội "nghị', "-", "--", "- -", "-phúc", "AND", "OR", "NOT",
    "AND OR NOT", "NOT NOT", "phúc AND", "OR lợi", "*", "?", ":", "phúc*", "ph?c", "*:*",
    "\x00", "\x00phúc\x01lợi\x1b[31m", "\t\n\r", "a" * 1000, "hội nghị " * 125, "9" * 1000,
    "15/" * 300, "!!!???...,,,;;;", "()[]{}<>", "\\", "/", "//", "/NQ-", "15/", "-15/NQ-ĐU",
    "🙂🔥 phường", "🙂", "'; DROP TABLE documents; --", "1 OR 1=1", "title:phúc",
    "visibility:internal", "visibility:internal Sen Vàng", "body:", "id:noi-bo-nhan-su",
    "title:(Sen OR Vàng)", "((((", "phúc~2", "lợi^10", "[a TO z]", "\u200b", "\ufeff",
    NFD("ế") * 200, "\u0301\u0301", "Ð" * 50, "\ufffd",
    "\udcff",   # what an invalid UTF-8 byte on the command line becomes in sys.argv
]


@pytest.mark.parametrize("q", HOSTILE, ids=lambda q: repr(q[:20]))
def test_hostile_queries_are_answered(ward_engine, q):
    if len(q) > 1000:         # the library's own limit (SEARCH_MAX_QUERY_CHARS): a clear refusal
        with pytest.raises(QueryTooLong, match="1,000 characters.*SEARCH_MAX_QUERY_CHARS"):
            search(ward_engine, q)
        return
    result = search(ward_engine, q)
    assert isinstance(result.normalized_query, str)
    assert result.total >= len(result.hits)
    assert "noi-bo-nhan-su" not in [h.id for h in result.hits]


@pytest.mark.parametrize("q", ["visibility:internal Sen Vàng", "visibility:internal AND Sen",
                               "title:Sen Vàng", "Sen OR Vàng", "id:Sen"])
def test_field_syntax_does_not_reveal_internal_documents(ward_engine, q):
    assert ids(ward_engine, q) == []


# -- did you mean ------------------------------------------------------------------------------

def correction(engine, q, include_internal=False):
    """The engine's spelling of ``q`` (a search shows it only when it changes the results)."""
    from search_service.search.query import parse_query

    return engine.did_you_mean(parse_query(q), include_internal)


@pytest.mark.parametrize("q, suggestion", [
    ("phuc loi", "phúc lợi"),
    ("Phuc loi", "Phúc lợi"),
    ("PHUC LOI", "PHÚC LỢI"),
    ("phúc lợi", None),     # typed with diacritics: nothing to restore
    ("xyzzy", None),
])
def test_did_you_mean_restores_diacritics(ward_engine, q, suggestion):
    assert correction(ward_engine, q) == suggestion


@pytest.mark.parametrize("q", ["15 NQ DU", "15/nq-du"])
def test_did_you_mean_leaves_document_numbers_alone(ward_engine, q):
    assert correction(ward_engine, q) is None


def test_did_you_mean_picks_the_tones_that_fit_the_neighbouring_words(tmp_path):
    # "hồ" is the more frequent form overall, but next to "nghèo" only "hộ" is ever written.
    docs = [{"id": f"ho-{n}", "title": f"Dạo quanh hồ Tây lần {n}", "body": "Hồ nước trong xanh."}
            for n in range(4)]
    docs.append({"id": "ho-ngheo", "title": "Rà soát hộ nghèo năm 2024",
                 "body": "Danh sách hộ nghèo, hộ cận nghèo của tổ dân phố."})
    engine = build_engine(tmp_path, docs)
    assert correction(engine, "ra soat ho ngheo") == "rà soát hộ nghèo"
    assert correction(engine, "dao quanh ho tay") == "dạo quanh hồ tây"


@pytest.mark.parametrize("q, suggestion", [
    ("ra soat ho ngheoo", "rà soát hộ nghèo"),     # a letter too many
    ("rà soát hộ nghẻo", "rà soát hộ nghèo"),      # a tone no document writes
    ("rà soát hộ nghèo", None),                    # nothing to correct
])
def test_did_you_mean_corrects_syllables_no_document_holds(tmp_path, q, suggestion):
    docs = [{"id": "ho-ngheo", "title": "Rà soát hộ nghèo năm 2024",
             "body": "Danh sách hộ nghèo, hộ cận nghèo của tổ dân phố."},
            {"id": "ho-tay", "title": "Dạo quanh hồ Tây", "body": "Hồ nước trong xanh."}]
    assert correction(build_engine(tmp_path, docs), q) == suggestion


@pytest.mark.parametrize("q, suggestion", [
    ("bi phat tu ba nam", "bị phạt tù ba năm"),
    ("cac phat tu du le", "các phật tử dự lễ"),
])
def test_did_you_mean_spells_a_syllable_as_documents_do_between_the_same_neighbours(
        tmp_path, q, suggestion):
    docs = [{"id": f"le-{n}", "title": f"Các phật tử dự lễ lần {n}",
             "body": "Các phật tử dự lễ tại chùa."} for n in range(3)]
    docs += [{"id": f"an-{n}", "title": f"Bản án số {n}",
              "body": "Bị cáo bị phạt tù ba năm."} for n in range(2)]
    assert correction(build_engine(tmp_path, docs), q) == suggestion


def test_news_only_keeps_documents_without_a_type(tmp_path):
    docs = [{"id": "tin", "title": "Ra quân vệ sinh môi trường", "body": "Tin tức.",
             "published": "2024-01-02"},
            {"id": "qd", "title": "Quyết định thành lập tổ công tác", "body": "Quyết định.",
             "doc_type": "Quyết định", "published": "2024-05-06"}]
    engine = build_engine(tmp_path, docs)
    assert [h.id for h in engine.latest(limit=5, news_only=True)] == ["tin"]
    assert [h.id for h in engine.latest(limit=5)] == ["qd", "tin"]


# -- the cache of whole results ----------------------------------------------------------------

def _answers(engine, requests) -> list[dict]:
    out = []
    for req in requests:
        answer = engine.search(req).to_dict()
        del answer["took_ms"]
        out.append(answer)
    return out


def test_a_staff_answer_is_never_given_to_a_visitor_from_the_cache(ward_index):
    """The same request by staff and by a visitor, in either order, and again: the visitor
    never sees the internal document, staff always do."""
    engine = SearchEngine(ward_index)        # a cache of its own
    try:
        for q in ["Sen Vàng", "sen vang", "07/TTr-UBND", "mật danh", ""]:
            for _ in range(2):
                assert "noi-bo-nhan-su" in ids(engine, q, include_internal=True)
                assert "noi-bo-nhan-su" not in ids(engine, q)
            assert "noi-bo-nhan-su" not in ids(engine, q, page=1)
        assert engine.snapshot().lexicon.results.hits >= 10     # the repeats were cached
    finally:
        engine.close()


def test_a_cached_answer_answers_only_its_own_request(ward_index):
    """Requests that differ in one parameter each, asked twice over in turn on one engine,
    are answered as a fresh engine answers each alone."""
    requests = [SearchRequest(q="phuc loi"), SearchRequest(q="phúc lợi"),
                SearchRequest(q="phuc loi", page=2, per_page=2),
                SearchRequest(q="phuc loi", per_page=2), SearchRequest(q="phuc loi", sort="date"),
                SearchRequest(q="phuc loi", scope="title"), SearchRequest(q="phuc loi", facets=False),
                SearchRequest(q="phuc loi", snippets=False),
                SearchRequest(q="phuc loi", year=2018), SearchRequest(q="mật danh"),
                SearchRequest(q="mật danh", include_internal=True)]
    cached = SearchEngine(ward_index)
    try:
        first = _answers(cached, requests)
        assert _answers(cached, requests[::-1]) == first[::-1]
        assert cached.snapshot().lexicon.results.hits == len(requests)
    finally:
        cached.close()
    for req, answer in zip(requests, first):
        fresh = SearchEngine(ward_index)
        try:
            assert _answers(fresh, [req]) == [answer], req
        finally:
            fresh.close()
    assert len({repr(a) for a in first}) == len(first)      # every request answers differently


def test_changing_an_answer_does_not_change_the_cached_one(ward_engine):
    res = search(ward_engine, "phuc loi")
    expected = res.to_dict()
    res.hits.clear()
    res.to_dict()["facets"]["year"].clear()
    res.to_dict()["hits"][:0] = [{"id": "giả"}]
    again = search(ward_engine, "phuc loi").to_dict()
    assert {**again, "took_ms": 0} == {**expected, "took_ms": 0}


def test_a_new_generation_answers_anew(tmp_path):
    docs = [{"id": "cu", "title": "Quỹ phúc lợi của phường", "body": "Phúc lợi xã hội."}]
    engine = build_engine(tmp_path, docs)
    try:
        assert ids(engine, "phuc loi") == ["cu"]
        old = engine.snapshot()
        more = tmp_path / "more"
        more.mkdir()
        (more / "moi.jsonl").write_text('{"id": "moi", "title": "Chế độ phúc lợi mới", '
                                        '"body": "Phúc lợi."}\n', encoding="utf-8")
        ingest_paths(tmp_path / "index", [more], workers=0)
        engine.refresh()
        assert sorted(ids(engine, "phuc loi")) == ["cu", "moi"]
        assert len(old.lexicon.results) == 0          # dropped with its generation
    finally:
        engine.close()


def test_the_result_cache_is_bounded_by_the_hits_it_holds():
    from types import SimpleNamespace

    from search_service.lru import LRU
    from search_service.search.suggest import _result_weight

    cache = LRU(25, weight=_result_weight)        # a generation's results (Lexicon.results)
    ten = [SimpleNamespace(hits=[n] * 10) for n in range(3)]
    for n, result in enumerate(ten):
        cache.put(("q", n), result)
    assert cache.get(("q", 0)) == (False, None)               # 33 > 25: the oldest went
    assert cache.get(("q", 1)) == (True, ten[1]) and cache.get(("q", 2)) == (True, ten[2])
    cache.put(("q", "big"), SimpleNamespace(hits=[0] * 30))   # larger than the whole cache
    assert cache.get(("q", "big")) == (False, None) and len(cache) == 2


def test_did_you_mean_reads_spellings_of_whole_words_across_separators():
    from search_service.search.suggest import _spellings

    texts = ["Xphúc lợi, phúc-lợi", "Phúc_lợi và phục lợi; phúc lợiX"]
    assert _spellings(texts, ["phuc", "loi"], 0, 1) == {"phúc": 2, "phục": 1}
    assert _spellings(texts, ["phuc", "loi"], 0, 2) == {"phúc_lợi": 2, "phục_lợi": 1}


def test_the_result_cache_can_be_turned_off(ward_index, monkeypatch):
    """``SEARCH_RESULT_CACHE=false``: every search is ranked anew, with the same answers."""
    monkeypatch.setenv("SEARCH_RESULT_CACHE", "false")
    requests = [SearchRequest(q="phuc loi"), SearchRequest(q="mật danh", include_internal=True)]
    engine = SearchEngine(ward_index)
    try:
        first = _answers(engine, requests)
        assert _answers(engine, requests) == first
        assert engine.snapshot().lexicon.results.hits == 0
        assert len(engine.snapshot().lexicon.results) == 0
    finally:
        engine.close()
