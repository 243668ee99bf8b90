"""A visitor must not be able to tell that internal documents exist.

Two real indexes are built: one of the public documents alone, one of the same documents with
internal ones slipped in between them (sharing their words, and holding words and a name of
their own). An anonymous visitor's answers — results, their order and scores, totals, facets,
"did you mean", completion, related documents — must be byte for byte the same on both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import WEB_DOCUMENTS, WEB_NEWS, build_index, write_jsonl

PUBLIC = [d for d in WEB_DOCUMENTS if d.get("visibility") != "internal"]
PUBLIC += [{"id": f"tin-{n}", "title": title, "published": published, "category": category,
            "body": body} for n, (title, published, category, body) in enumerate(WEB_NEWS)]
MARKER, NAME = "Xuyênkhung", "Trịnh Quốc Khải"
INTERNAL = [d for d in WEB_DOCUMENTS if d.get("visibility") == "internal"] + [
    {"id": "nb-ky-luat", "title": f"Biên bản họp xét kỷ luật ông {NAME}",
     "body": f"Đồng chí {NAME} vi phạm quy chế phòng cháy chữa cháy; mật danh {MARKER}. "
             "Hội nghị rà soát hộ nghèo đề nghị khiển trách.",
     "published": "2024-08-08", "doc_type": "Biên bản", "doc_number": "21/BB-UBND",
     "issuer": "UBND phường Phúc Lợi", "category": "Công tác cán bộ", "visibility": "internal"},
    {"id": "nb-trat-tu", "title": "Báo cáo mật về trật tự đô thị và tiếp công dân",
     "body": "Trật tự đô thị, tiếp công dân, hội nghị, đại đoàn kết: số liệu chưa công bố. "
             f"{MARKER} {MARKER} {MARKER}.",
     "published": "2022-01-01", "doc_type": "Báo cáo", "doc_number": "09/BC-CAP",
     "category": "TIN TỨC - SỰ KIỆN", "visibility": "internal"},
    {"id": "nb-khong-ngay", "title": "Danh sách đối tượng cần theo dõi",
     "body": f"Ông {NAME}, bà Lò Thị Nhuần. Phòng cháy chữa cháy.", "visibility": "internal"},
]


def _write(folder: Path, docs: list[dict]) -> Path:
    folder.mkdir(parents=True)
    write_jsonl(folder / "van-ban.jsonl", docs)
    return folder


def _interleaved() -> list[dict]:
    docs, hidden = list(PUBLIC), list(INTERNAL)
    for place in (0, 4, 9, 13, len(docs)):
        if hidden:
            docs.insert(min(place, len(docs)), hidden.pop())
    return docs + hidden


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    from search_service.web import create_app

    root = tmp_path_factory.mktemp("isolation")
    apps = []
    for name, docs in (("public", PUBLIC), ("mixed", _interleaved())):
        index = build_index(root / name / "index", _write(root / name / "corpus", docs))
        apps.append(create_app({"TESTING": True, "INDEX_DIR": str(index),
                                "SECRET_KEY": "x", "STAFF_USERS": ""}))
    return [app.test_client() for app in apps]


def _syllables(docs) -> list[str]:
    words = set()
    for doc in docs:
        words.update(re.findall(r"[^\W\d_]+", doc["title"] + " " + doc.get("body", "")))
    return sorted(words)


def _typos(word: str) -> list[str]:
    return [word[:-1], word + word[-1], word[:-1] + ("a" if word[-1] != "a" else "o")]


def _queries() -> list[str]:
    secret = _syllables(INTERNAL)
    queries = _syllables(PUBLIC + INTERNAL)
    queries += [t for w in secret if len(w) > 3 for t in _typos(w.lower())]
    queries += [" ".join(pair) for pair in zip(secret, secret[1:])]
    queries += [MARKER, MARKER.lower()[:-1], NAME, "trinh quoc khai", "trinh quoc khia",
                "sen hong", "phong chay chua chay", "hội nghị rà soát hộ nghèo khiển trách",
                "21/BB-UBND", "09/BC-CAP", "07/TTr-UBND", "ho ngheo -phong", '"trật tự đô thị"']
    return list(dict.fromkeys(queries))


def _answer(client, url: str):
    response = client.get(url)
    body = response.get_json() if response.is_json else response.get_data(as_text=True)
    if isinstance(body, dict):
        body.pop("took_ms", None)
    return response.status_code, body


def _same(clients, url: str):
    public, mixed = (_answer(c, url) for c in clients)
    assert mixed == public, url


def test_search_answers_are_identical_with_and_without_internal_documents(clients):
    for q in _queries():
        _same(clients, "/api/search?" + _encode(q=q))
        _same(clients, "/api/search?" + _encode(q=q, sort="date", per_page="3", page="2"))


@pytest.mark.parametrize("params", [
    {}, {"sort": "date_asc"}, {"type": "Báo cáo"}, {"category": "Công tác cán bộ"},
    {"category": "TIN TỨC - SỰ KIỆN"}, {"year": "2024"}, {"issuer": "UBND phường Phúc Lợi"},
    {"from": "2022-01-01", "to": "2024-12-31"}, {"q": "phong chay", "per_page": "1"},
])
def test_listings_and_facets_are_identical(clients, params):
    _same(clients, "/api/search?" + _encode(**params))


def test_completion_is_identical(clients):
    prefixes = {q[:n] for q in _queries() for n in (2, 4, 7) if len(q) >= n}
    prefixes |= {"21/", "09/BC", "07", "bien ban", "bao cao", "cong tac"}
    for prefix in sorted(prefixes):
        _same(clients, "/api/suggest?" + _encode(q=prefix))


def test_document_pages_and_related_documents_are_identical(clients):
    for doc in PUBLIC:
        _same(clients, "/api/documents/" + _quote(doc["id"]))
        _same(clients, "/documents/" + _quote(doc["id"]))
    for doc in INTERNAL:
        status, _ = _answer(clients[1], "/api/documents/" + _quote(doc["id"]))
        assert status == 404


def test_the_comparison_can_fail(clients):
    """Staff do see the internal documents: the two indexes really differ."""
    from search_service.search.query import parse_query
    from search_service.search import SearchRequest

    engines = [c.application.extensions["search_engine"] for c in clients]
    totals = [e.search(SearchRequest(q=MARKER, include_internal=True)).total for e in engines]
    assert totals == [0, 2]
    assert engines[1].did_you_mean(parse_query("trinh quoc khaii"), True) == "trịnh quốc khải"


def _encode(**params) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _quote(doc_id: str) -> str:
    from urllib.parse import quote

    return quote(doc_id, safe="")


def test_a_visitor_is_never_answered_from_a_staff_members_cached_search(make_app):
    """Staff and a visitor ask the same URLs of one server (which keeps each generation's
    results): the visitor's answers are those of a server staff never asked."""
    from conftest import INTERNAL_IDS, SECRET_WORDS, log_in

    app, untouched = make_app(), make_app()
    staff, visitor = app.test_client(), app.test_client()
    assert log_in(staff).status_code == 302
    urls = ["/api/search?" + _encode(q=q) for q in (SECRET_WORDS, "sen hong", "phong chay")]
    urls += ["/api/search?" + _encode(category="Công tác cán bộ"), "/search?q=sen+hong"]
    for url in urls * 2:
        seen = staff.get(url).get_data(as_text=True)
        assert any(doc_id in seen for doc_id in INTERNAL_IDS), url
        assert _answer(visitor, url) == _answer(untouched.test_client(), url), url
        assert not any(doc_id in repr(_answer(visitor, url)) for doc_id in INTERNAL_IDS)
    assert app.extensions["search_engine"].snapshot().lexicon.results.hits > 0
