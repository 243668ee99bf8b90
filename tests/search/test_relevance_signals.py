"""Ranking signals and what staff type, over a real index (real pyvi, real Whoosh).

Staff name a document type, an issuer, a year or a bare number next to the subject
("nghị quyết phòng cháy 2022"): those parts prefer documents (a boost) and are offered as a
filter, never applied as one. Residents' questions carry question words ("gồm những gì",
"có bị xử phạt không") that weigh less than the subject. Filters take several values.
"""

from __future__ import annotations

import pytest
from conftest import KIND_DOCUMENTS, KIND_QUESTION, build_engine

from search_service.search.query import parse_query, question_marks, term_weights
from search_service.search import SearchRequest

UBND, HDND = "UBND phường Phúc Lợi", "HĐND phường Phúc Lợi"
# Every document is about phòng cháy or hộ nghèo: only the type, issuer, year or number
# typed tells them apart. Titles are written so that, without those parts, the wrong
# document would come first (it repeats the subject more often).
DOCS = [
    {"id": "kh-pccc-2022", "title": "Kế hoạch phòng cháy chữa cháy, phòng cháy mùa khô 2022",
     "body": "Phòng cháy chữa cháy tại khu dân cư. Phòng cháy trong mùa khô.",
     "doc_type": "Kế hoạch", "doc_number": "12/KH-UBND", "issuer": UBND,
     "published": "2022-03-01"},
    {"id": "nq-pccc-2022", "title": "Nghị quyết về công tác phòng cháy",
     "body": "Hội đồng nhân dân phường quyết nghị về công tác phòng cháy chữa cháy.",
     "doc_type": "Nghị quyết", "doc_number": "07/NQ-HĐND", "issuer": HDND,
     "published": "2022-06-10"},
    {"id": "nq-pccc-2021", "title": "Nghị quyết về phòng cháy, phòng cháy chữa cháy năm 2021",
     "body": "Phòng cháy chữa cháy: nhiệm vụ năm 2021.",
     "doc_type": "Nghị quyết", "doc_number": "03/NQ-HĐND", "issuer": HDND,
     "published": "2021-05-02"},
    {"id": "kh-45-2022", "title": "Kế hoạch diễn tập cứu nạn tại tổ dân phố",
     "body": "Diễn tập cứu nạn, cứu hộ tại tổ dân phố số 5.",
     "doc_type": "Kế hoạch", "doc_number": "45/KH-UBND", "issuer": UBND,
     "published": "2022-09-15"},
    {"id": "qd-45-2023", "title": "Quyết định thành lập tổ công tác",
     "body": "Thành lập tổ công tác của phường.",
     "doc_type": "Quyết định", "doc_number": "45/QĐ-UBND", "issuer": UBND,
     "published": "2023-05-12"},
    {"id": "qd-ho-ngheo-2023", "title": "Quyết định phê duyệt danh sách hộ nghèo",
     "body": "Phê duyệt danh sách hộ nghèo, hộ cận nghèo của phường.",
     "doc_type": "Quyết định", "doc_number": "88/QĐ-UBND", "issuer": UBND,
     "published": "2023-11-20"},
    {"id": "bc-ho-ngheo-2023", "title": "Báo cáo rà soát hộ nghèo, hộ nghèo và hộ cận nghèo",
     "body": "Kết quả rà soát hộ nghèo năm 2023: hộ nghèo giảm.",
     "doc_type": "Báo cáo", "doc_number": "90/BC-UBND", "issuer": UBND,
     "published": "2023-12-01"},
    {"id": "qd-ho-ngheo-mttq", "title": "Quyết định hỗ trợ hộ nghèo, hộ nghèo đón Tết",
     "body": "Ủy ban Mặt trận Tổ quốc phường hỗ trợ hộ nghèo.",
     "doc_type": "Quyết định", "doc_number": "02/QĐ-MTTQ", "issuer": "Ủy ban MTTQ phường",
     "published": "2023-01-15"},
    {"id": "tin-ho-so", "title": "Hồ sơ đề nghị cấp giấy phép xây dựng",
     "body": "Hồ sơ gồm đơn đề nghị cấp giấy phép xây dựng và bản vẽ thiết kế.",
     "published": "2024-01-05"},
    {"id": "tin-gom", "title": "Những gì người dân cần biết: gồm những gì, như thế nào",
     "body": "Người dân hỏi gồm những gì và như thế nào, những gì cần chuẩn bị.",
     "published": "2024-01-06"},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("signals"), DOCS, "van-ban.jsonl")
    yield engine
    engine.close()


def search(engine, q: str, **kwargs):
    return engine.search(SearchRequest(q=q, per_page=50, **kwargs))


def ids(engine, q: str, **kwargs) -> list[str]:
    return [hit.id for hit in search(engine, q, **kwargs).hits]


# -- what staff type ---------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["nghị quyết phòng cháy 2022", "nghi quyet phong chay 2022",
                               "NGHỊ QUYẾT phòng cháy năm 2022"])
def test_type_and_year_typed_prefer_those_documents(engine, q):
    assert ids(engine, q)[:2] == ["nq-pccc-2022", "nq-pccc-2021"]


@pytest.mark.parametrize("q", ["nghị quyết phòng cháy 2022", "nghi quyet phong chay nam 2022"])
def test_type_and_year_are_offered_as_a_filter_never_applied(engine, q):
    result = search(engine, q)
    assert result.suggested_filters == [{"type": "Nghị quyết", "year": 2022}]
    assert {"kh-pccc-2022", "nq-pccc-2021"} <= {h.id for h in result.hits}   # still found


def test_issuer_and_year_prefer_and_are_offered(engine):
    result = search(engine, "quyết định của UBND về hộ nghèo năm 2023")
    assert [h.id for h in result.hits][0] == "qd-ho-ngheo-2023"
    assert result.suggested_filters == [{"type": "Quyết định", "issuer": UBND, "year": 2023}]


@pytest.mark.parametrize("q", ["kế hoạch 45 2022", "ke hoach 45", "kế hoạch số 45"])
def test_a_bare_number_after_a_type_finds_that_number(engine, q):
    assert ids(engine, q)[0] == "kh-45-2022"


def test_nothing_is_offered_when_the_query_names_no_document(engine):
    assert search(engine, "phòng cháy chữa cháy").suggested_filters == []


def test_nothing_is_offered_that_the_filters_already_say(engine):
    result = search(engine, "nghị quyết phòng cháy 2022", doc_type="Nghị quyết")
    assert result.suggested_filters == [{"year": 2022}]


def test_nothing_is_offered_that_keeps_every_result(engine):
    """The one document of 2021 is a Nghị quyết: that filter would change nothing."""
    assert search(engine, "nghị quyết phòng cháy 2021", year=2021).suggested_filters == []


def test_a_type_word_inside_a_question_is_no_type(engine):
    assert parse_query("theo nghị quyết thì phòng cháy thế nào").intent.doc_type is None


# -- question words weigh less than the subject ------------------------------------------------
def test_question_phrases_are_marked_with_or_without_diacritics():
    terms = parse_query("Hồ sơ gồm những gì theo quy định").terms
    assert question_marks(terms) == [False, False, True, True, True, True, True, True]
    terms = parse_query("ho so gom nhung gi").terms
    assert question_marks(terms) == [False, False, True, True, True]


def test_a_syllable_typed_with_another_tone_is_no_question_word():
    assert question_marks(parse_query("chấn thương não").terms) == [False, False, False]


def test_a_syllable_of_the_subject_keeps_its_weight_even_in_a_question_phrase():
    weights = term_weights(parse_query("những gì cần biết về những gì").terms)
    assert weights[("biết", "biet")] == 1.0 and weights[("gì", "gi")] < 1.0


@pytest.mark.parametrize("q", ["Hồ sơ đề nghị cấp giấy phép xây dựng gồm những gì như thế nào?",
                               "ho so de nghi cap giay phep xay dung gom nhung gi nhu the nao"])
def test_a_question_ranks_by_its_subject_not_its_question_words(engine, q):
    assert ids(engine, q)[0] == "tin-ho-so"


# -- search scope ------------------------------------------------------------------------------
def test_scope_title_looks_in_titles_only(engine):
    """"khu dân cư" and "chuẩn bị" are only in bodies."""
    assert ids(engine, "khu dân cư")[0] == "kh-pccc-2022"
    assert "kh-pccc-2022" not in ids(engine, "khu dân cư", scope="title")
    assert ids(engine, "chuẩn bị") == ["tin-gom"]
    assert ids(engine, "chuẩn bị", scope="title") == []
    assert ids(engine, "diễn tập", scope="title") == ["kh-45-2022"]


@pytest.mark.parametrize("q, expected", [
    ("45", ["kh-45-2022", "qd-45-2023"]), ("45/KH", ["kh-45-2022"]),
    ("45/QĐ-UBND", ["qd-45-2023"]), ("45 qd", ["qd-45-2023"]), ("phòng cháy", []),
])
def test_scope_number_looks_in_numbers_only(engine, q, expected):
    assert sorted(ids(engine, q, scope="number")) == expected


# -- several values per filter -----------------------------------------------------------------
def test_values_of_one_filter_are_any_of_them(engine):
    found = ids(engine, "", doc_type=["Nghị quyết", "Kế hoạch"])
    assert sorted(found) == ["kh-45-2022", "kh-pccc-2022", "nq-pccc-2021", "nq-pccc-2022"]


def test_filters_of_different_facets_are_all_of_them(engine):
    found = ids(engine, "", doc_type=["Nghị quyết", "Kế hoạch"], year=[2022, 2023])
    assert sorted(found) == ["kh-45-2022", "kh-pccc-2022", "nq-pccc-2022"]


def test_a_facet_with_a_value_chosen_counts_what_choosing_another_would_add(engine):
    facets = search(engine, "phòng cháy", doc_type="Nghị quyết").facets["doc_type"]
    assert facets == [{"value": "Nghị quyết", "count": 2, "selected": True},
                      {"value": "Kế hoạch", "count": 1, "selected": False}]
    years = search(engine, "phòng cháy", doc_type="Nghị quyết").facets["year"]
    assert years == [{"value": 2022, "count": 1, "selected": False},
                     {"value": 2021, "count": 1, "selected": False}]


# -- nothing of this leaks what a visitor may not see -------------------------------------------
def test_staff_queries_answer_a_visitor_as_if_internal_documents_did_not_exist(tmp_path):
    hidden = [{"id": "nb-nq", "title": "Nghị quyết mật về phòng cháy năm 2022",
               "body": "Phòng cháy phòng cháy phòng cháy.", "doc_type": "Nghị quyết",
               "doc_number": "45/NQ-ĐU", "issuer": "Đảng ủy phường", "published": "2022-01-01",
               "visibility": "internal"}]
    answers = []
    for name, docs in (("public", DOCS), ("mixed", DOCS[:3] + hidden + DOCS[3:])):
        engine = build_engine(tmp_path / name, docs, "van-ban.jsonl")
        try:
            answers.append([_answer(engine, q, scope) for q, scope in (
                ("nghị quyết phòng cháy 2022", "all"), ("kế hoạch 45 2022", "all"),
                ("45", "number"), ("nghị quyết của đảng ủy", "all"), ("phòng cháy", "title"))])
        finally:
            engine.close()
    assert answers[0] == answers[1]


def _answer(engine, q, scope):
    result = engine.search(SearchRequest(q=q, scope=scope, per_page=20))
    return (result.total, [(h.id, h.score) for h in result.hits], result.suggested_filters,
            result.facets)


# -- proximity ---------------------------------------------------------------------------------
CLOSE = [  # the same words, as often, in texts as long: only their arrangement differs
    {"id": "a-xa", "title": "Thông tin cho người dân", "published": "2024-05-02",
     "body": "Bảo vệ rừng đầu nguồn. Cán bộ phường kiểm tra hồ sơ. Môi trường sống an toàn."},
    {"id": "b-gan", "title": "Thông tin cho người dân", "published": "2024-05-01",
     "body": "Bảo vệ nghiêm môi trường sống. Cán bộ phường kiểm tra hồ sơ. Rừng đầu nguồn an toàn."},
]


@pytest.mark.parametrize("proximity, expected", [(20, ["b-gan", "a-xa"]),
                                                 (0, ["a-xa", "b-gan"])])
def test_a_question_prefers_its_words_close_together(tmp_path, monkeypatch, proximity, expected):
    """Without proximity the two tie and the newer comes first; with it, the closer."""
    from search_service.search import query

    monkeypatch.setattr(query, "PROXIMITY_DOCS", proximity)
    engine = build_engine(tmp_path, CLOSE)
    try:
        assert ids(engine, "người dân bảo vệ môi trường sống thế nào") == expected
    finally:
        engine.close()


# -- the kind of answer asked for ----------------------------------------------------------------
@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("kinds"), KIND_DOCUMENTS)
    yield engine
    engine.close()


@pytest.mark.parametrize("q", [KIND_QUESTION, "nhan vien bao ve can dap ung nhung yeu cau gi"])
@pytest.mark.parametrize("penalty, expected", [(0.15, "tieu-chuan"), (0.0, "thu-tuc")])
def test_a_question_prefers_the_heading_of_the_kind_it_asks_for(kinds, monkeypatch, q, penalty,
                                                                  expected):
    """"Những yêu cầu gì" asks for criteria: a heading opening with "Thủ tục" names another
    kind of rule and weighs less (``KIND_PENALTY``); without it, the text repeating the
    subject comes first."""
    from search_service.search import query

    monkeypatch.setattr(query, "KIND_PENALTY", penalty)
    kinds.snapshot().lexicon.results.clear()
    try:
        assert ids(kinds, q)[0] == expected
    finally:
        kinds.snapshot().lexicon.results.clear()


# -- a headline remembered -----------------------------------------------------------------------
HEADLINES = [  # the phrase in one title; another article repeats it all through its text
    {"id": "tin-ngua", "title": "Ngựa đua, chó đua ở miền núi", "published": "2024-05-02",
     "body": "Thuần dưỡng ngựa mất nhiều năm. Người thuần dưỡng kể chuyện thuần dưỡng ngựa "
             "hoang, thuần dưỡng chó săn và thuần dưỡng cả chim ưng."},
    {"id": "tin-ong", "title": "Đem ong dú từ rừng về nhà thuần dưỡng", "published": "2024-05-01",
     "body": "Ông Lò Văn Pọm nuôi ong dú trong những khúc gỗ rỗng sau nhà, mỗi năm thu mật."},
]


@pytest.fixture(scope="module")
def headlines(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("headlines"), HEADLINES)
    yield engine
    engine.close()


@pytest.mark.parametrize("q", ["thuần dưỡng", "thuan duong", "ong dú về nhà thuần dưỡng"])
def test_a_short_query_finds_the_headline_holding_it(headlines, q):
    """Residents type a few words of a headline they remember: the one title holding them
    comes before a text that only repeats them."""
    assert ids(headlines, q)[0] == "tin-ong"


def test_without_the_titles_own_evidence_the_repeating_text_wins(headlines, monkeypatch):
    """What ``TITLE_PAIR_BOOST`` changes: title and body in one BM25F sum saturate, and
    the text repeating the phrase outranks the headline."""
    from search_service.search import query

    monkeypatch.setattr(query, "TITLE_PAIR_BOOST", 0.0)
    headlines.snapshot().lexicon.results.clear()
    try:
        assert ids(headlines, "thuần dưỡng")[0] == "tin-ngua"
    finally:
        headlines.snapshot().lexicon.results.clear()
