"""Relations between documents and their validity (#11): read from the text, kept in the
library, shown on the document page and in its JSON twin, filtered in search.

The chain is written here: a decision issuing a regulation (7/2020), one amending it (15/2021),
one replacing both from 1 July 2024 (20/2024), a plan based on the new one and carrying out a
Party resolution uploaded later (12-NQ/ĐU), and a partial repeal; numbers in other styles.
"""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from bs4 import BeautifulSoup
from conftest import FAST_HASH, log_in

from search_service.ingest.relations import extract_effective, extract_relations
from search_service.library import Library
from search_service.library.reindex import reindex
from search_service.library.relations import Relations

ISSUER = "UBND phường Phúc Lợi"

QD_7 = ("ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI\nSố: 7/2020/QĐ-UBND\nQUYẾT ĐỊNH\nBan hành Quy chế "
        "làm việc\nĐiều 1. Ban hành kèm theo Quyết định này Quy chế làm việc.\n"
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.")
QD_15 = ("Số: 15/2021/QĐ-UBND\nQUYẾT ĐỊNH\nĐiều 1. Sửa đổi, bổ sung một số điều của Quy chế "
         "ban hành kèm theo Quyết định số 07/2020/QĐ-UBND ngày 01/3/2020 của UBND phường Phúc "
         "Lợi như sau:\n1. Điều 3 được sửa đổi như sau: theo Nghị định số 30/2020/NĐ-CP.")
QD_20 = ("Số: 20/2024/QĐ-UBND\nQUYẾT ĐỊNH\nCăn cứ Nghị định số 30/2020/NĐ-CP ngày 05/3/2020 "
         "của Chính phủ;\nĐiều 1. Ban hành Quy chế làm việc mới.\nĐiều 2. Quyết định này có "
         "hiệu lực kể từ ngày 01 tháng 7 năm 2024 và thay thế Quyết định số 7/2020/QĐ-UBND, "
         "Quyết định số 15/2021/QĐ-UBND.")
KH_4 = ("Số: 4/KH-UBND\nKẾ HOẠCH\nCăn cứ Quyết định số 20/2024/QĐ-UBND ngày 10/6/2024 của "
        "UBND phường Phúc Lợi;\nThực hiện Nghị quyết số 12-NQ/ĐU ngày 02/01/2024 của Đảng ủy "
        "phường, UBND phường xây dựng kế hoạch như sau.")
QD_30 = ("Số: 30/2024/QĐ-UBND\nQUYẾT ĐỊNH\nĐiều 1. Bãi bỏ Điều 5 của Quy chế ban hành kèm "
         "theo Quyết định 20/2024/QĐ - UBND.\nĐiều 2. Quyết định này có hiệu lực sau 10 "
         "ngày kể từ ngày ký.")
NQ_12 = "Số 12-NQ/ĐU\nNGHỊ QUYẾT\nVề công tác năm 2024."

CHAIN = [("qd-7", QD_7, "7/2020/QĐ-UBND", "2020-03-01"),
         ("qd-15", QD_15, "15/2021/QĐ-UBND", "2021-05-01"),
         ("qd-20", QD_20, "20/2024/QĐ-UBND", "2024-06-10"),
         ("kh-4", KH_4, "4/KH-UBND", "2024-07-05"),
         ("qd-30", QD_30, "30/2024/QĐ-UBND", "2024-08-01")]


# -- reading the text --------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Căn cứ Nghị quyết số 12/NQ-HĐND ngày 5/1/2024 của HĐND phường;",
     [("based_on", "12/NQ-HĐND")]),
    ("Quyết định này thay thế Quyết định số 45/2018/QĐ-UBND ngày 12/4/2018.",
     [("replaces", "45/2018/QĐ-UBND")]),
    ("Bãi bỏ Quyết định số 9/2019/QĐ-UBND và Chỉ thị số 3/CT-UBND.",
     [("repeals", "9/2019/QĐ-UBND"), ("repeals", "3/CT-UBND")]),
    ("Bãi bỏ khoản 3 và khoản 4 Điều 19 của Luật Thủ đô số 25/2012/QH13.",
     [("repeals_part", "25/2012/QH13")]),
    ("Để triển khai thực hiện Nghị quyết 15-NQ/ĐU, UBND phường xây dựng kế hoạch.",
     [("implements", "15-NQ/ĐU")]),
    ("Điều 3. Bãi bỏ các văn bản sau:\na) Quyết định số 9/2019/QĐ-UBND;\nb) Chỉ thị 3/CT-UBND.",
     [("repeals", "9/2019/QĐ-UBND"), ("repeals", "3/CT-UBND")]),
    ("Luật Cư trú số 81/2006/QH11 đã được sửa đổi, bổ sung một số điều theo Luật số "
     "36/2013/QH13 hết hiệu lực kể từ ngày Luật này có hiệu lực thi hành.",
     [("replaces", "81/2006/QH11"), ("replaces", "36/2013/QH13")]),
    # Passive phrases and rules applied on the way are mentions, not relations.
    ("Bãi bỏ Điều 58 của Luật Thủy lợi số 08/2017/QH14 đã được sửa đổi, bổ sung một số điều "
     "theo Luật số 35/2018/QH14.", [("repeals_part", "08/2017/QH14")]),
    ("Việc xác định chi phí thực hiện theo quy định tại Điều 39 Nghị định số 166/2013/NĐ-CP.",
     []),
    ("giấy tờ thay thế Giấy báo tử theo quy định tại khoản 2 Điều 4 Nghị định số "
     "123/2015/NĐ-CP", []),
    ("khoản 2 Điều 25 Nghị định số 08/2015/NĐ-CP được sửa đổi, bổ sung tại khoản 12 Điều 1 "
     "Nghị định số 59/2018/NĐ-CP", []),
])
def test_relations_read_from_text(text, expected):
    assert [(r.type, r.number) for r in extract_relations(text)] == expected


def test_a_relation_keeps_its_evidence_number_and_hints():
    [rel] = extract_relations(QD_15, "15/2021/QĐ-UBND")
    assert (rel.type, rel.number, rel.key, rel.issuer, rel.year, rel.target_type) == (
        "amends", "07/2020/QĐ-UBND", "7-2020-qd-ubnd", "UBND phường Phúc Lợi", 2020,
        "Quyết định")
    assert rel.detail == "một số điều của Quy chế ban hành kèm theo Quyết định"
    assert rel.evidence.startswith("Điều 1. Sửa đổi, bổ sung một số điều của Quy chế")


def test_own_number_is_not_a_relation():
    assert extract_relations("Số: 15/QĐ-UBND\nThay thế Quyết định số 15/QĐ-UBND.",
                             "15/QĐ-UBND") == []


@pytest.mark.parametrize("text, on, days", [
    ("Quyết định này có hiệu lực thi hành kể từ ngày 01/7/2024.", date(2024, 7, 1), None),
    ("Nghị quyết này có hiệu lực sau 10 ngày kể từ ngày ký.", None, 10),
    ("Điều 3. Quyết định này có hiệu lực kể từ ngày ký.", None, 0),
    ("trước ngày Nghị định số 28/2012/NĐ-CP có hiệu lực từ ngày 01/6/2012", None, None),
])
def test_effective_date(text, on, days):
    found = extract_effective(text)
    assert ((found.on, found.days_after_signing) if found else (None, None)) == (on, days)


# -- the library (the ``library`` fixture is conftest's) -------------------------------------
def add(lib, doc_id, body, number, published, **meta):
    record = {"title": f"Văn bản {number}", "body": body, "doc_number": number,
              "published": published, "issuer": meta.pop("issuer", ISSUER), **meta}
    return lib.add_document(body.encode(), name=f"{doc_id}.txt", record=record, actor="test",
                            doc_id=doc_id)[0]


@pytest.fixture
def chain(library):
    for doc_id, body, number, published in CHAIN:
        add(library, doc_id, body, number, published)
    return Relations(library)


def statuses(rels, today):
    return {d: rels.validity(d, today).status for d, *_ in CHAIN}


def test_the_chain_before_and_after_the_replacement(chain):
    assert statuses(chain, date(2024, 6, 20)) == {
        "qd-7": "in_force", "qd-15": "in_force", "qd-20": "not_yet_in_force",
        "kh-4": "in_force", "qd-30": "not_yet_in_force"}
    assert statuses(chain, date(2024, 9, 1)) == {
        "qd-7": "replaced", "qd-15": "replaced", "qd-20": "in_force", "kh-4": "in_force",
        "qd-30": "in_force"}
    old = chain.validity("qd-7", date(2024, 9, 1))
    assert (old.since, old.by, old.amended_by) == (date(2024, 7, 1), "qd-20", ["qd-15"])
    assert chain.validity("qd-20", date(2024, 9, 1)).partly_repealed_by == ["qd-30"]
    # "sau 10 ngày kể từ ngày ký": 1 August + 10 days.
    assert chain.document("qd-30")["effective"] == "2024-08-11"


def test_relations_and_reverse_lists(chain):
    assert [(r["type"], r["number"], r["target_id"]) for r in
            chain.document("qd-20")["relations"]] == [
        ("based_on", "30/2020/NĐ-CP", None), ("replaces", "7/2020/QĐ-UBND", "qd-7"),
        ("replaces", "15/2021/QĐ-UBND", "qd-15")]
    assert [(r["type"], r["source_id"], r["number"]) for r in
            chain.document("qd-20")["related_by"]] == [
        ("basis_of", "kh-4", "4/KH-UBND"), ("partly_repealed_by", "qd-30", "30/2024/QĐ-UBND")]


def test_a_target_uploaded_later_is_linked_then(chain, library):
    assert [r["target_id"] for r in chain.document("kh-4")["relations"]] == ["qd-20", None]
    add(library, "nq-12", NQ_12, "12-NQ/ĐU", "2024-01-02", issuer="Đảng ủy phường Phúc Lợi",
        doc_type="Nghị quyết")
    assert [r["target_id"] for r in chain.document("kh-4")["relations"]] == ["qd-20", "nq-12"]
    assert chain.document("nq-12")["related_by"] == [
        {"type": "implemented_by", "source_id": "kh-4", "number": "4/KH-UBND",
         "evidence": chain.document("kh-4")["relations"][1]["evidence"]}]


def test_a_deleted_document_unlinks_and_restatuses(chain, library):
    assert chain.validity("qd-7", date(2024, 9, 1)).status == "replaced"
    library.delete("qd-20", actor="test")
    assert chain.validity("qd-7", date(2024, 9, 1)).status == "in_force"
    assert [r["target_id"] for r in chain.document("kh-4")["relations"]] == [None, None]
    assert chain.document("qd-30")["relations"][0]["target_id"] is None
    add(library, "qd-20b", QD_20, "20/2024/QĐ-UBND", "2024-06-10")      # uploaded again
    assert chain.document("kh-4")["relations"][0]["target_id"] == "qd-20b"
    assert chain.validity("qd-7", date(2024, 9, 1)).by == "qd-20b"


def test_several_documents_with_one_number_are_told_apart(library):
    add(library, "qd-5-2021", "Số: 5/QĐ-UBND", "5/QĐ-UBND", "2021-02-01")
    add(library, "qd-5-2022", "Số: 5/QĐ-UBND", "5/QĐ-UBND", "2022-02-03")
    add(library, "qd-5-quan", "Số: 5/QĐ-UBND", "5/QĐ-UBND", "2022-01-10",
        issuer="UBND quận Long Biên")
    add(library, "qd-9", "Số: 9/QĐ-UBND\nQuyết định này thay thế Quyết định số 5/QĐ-UBND ngày "
        "03/02/2022 của UBND phường Phúc Lợi.", "9/QĐ-UBND", "2023-01-01")
    assert Relations(library).document("qd-9")["relations"][0]["target_id"] == "qd-5-2022"


def test_staff_corrections_win_and_are_audited(chain, library):
    chain.correct_relation("kh-4", "20/2024/QĐ-UBND", "implements", actor="can_bo")
    assert [r["type"] for r in chain.document("kh-4")["relations"]] == ["implements",
                                                                        "implements"]
    chain.correct_relation("qd-20", "15/2021/QĐ-UBND", None, actor="can_bo")
    assert chain.validity("qd-15", date(2024, 9, 1)).status == "in_force"
    chain.correct_validity("qd-15", status="repealed", since="2024-01-01", by="qd-20",
                           actor="can_bo")
    fixed = chain.validity("qd-15", date(2024, 9, 1))
    assert (fixed.status, fixed.since, fixed.by, fixed.corrected) == (
        "repealed", date(2024, 1, 1), "qd-20", True)
    # A new reading of the text keeps what people decided.
    library.reguess("qd-20", record={"title": "Văn bản 20/2024/QĐ-UBND", "body": QD_20 + " ",
                                     "doc_number": "20/2024/QĐ-UBND"}, actor="test")
    assert "15/2021/QĐ-UBND" not in [r["number"] for r in chain.document("qd-20")["relations"]]
    assert [e["action"] for e in library.events(10)][:3] == [
        "reguess", "correct_validity", "correct_relation"]
    chain.uncorrect_relation("qd-20", "15/2021/QĐ-UBND", actor="can_bo")
    chain.uncorrect_validity("qd-15", actor="can_bo")
    assert chain.validity("qd-15", date(2024, 9, 1)).status == "replaced"


def test_corrections_refuse_what_is_not_a_relation(chain):
    from search_service.library import InvalidValue, NotFound
    with pytest.raises(InvalidValue):
        chain.correct_relation("kh-4", "20/2024/QĐ-UBND", "cites", actor="can_bo")
    with pytest.raises(InvalidValue):
        chain.correct_relation("kh-4", "hôm qua", "replaces", actor="can_bo")
    with pytest.raises(NotFound):
        chain.correct_validity("khong-co", status="repealed", actor="can_bo")
    with pytest.raises(InvalidValue):
        chain.correct_validity("qd-7", status="repealed", since="1/7/2024", actor="can_bo")


def test_an_older_library_with_documents_is_upgraded(tmp_path):
    folder = tmp_path / "old"
    lib = Library(folder, password_method=FAST_HASH)
    add(lib, "qd-7", QD_7, "7/2020/QĐ-UBND", "2020-03-01")
    add(lib, "qd-20", QD_20, "20/2024/QĐ-UBND", "2024-06-10")
    lib.close()
    conn = sqlite3.connect(folder / "library.sqlite3", isolation_level=None)
    for table in ("relations", "relation_reads", "validity_corrections"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TRIGGER relations_document_deleted")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with Library(folder, password_method=FAST_HASH) as again:
        assert Relations(again).validity("qd-7", date(2024, 9, 1)).status == "replaced"


# -- the web ---------------------------------------------------------------------------------
@pytest.fixture
def site(chain, library, tmp_path, make_app):
    add(library, "nq-12", NQ_12, "12-NQ/ĐU", "2024-01-02", issuer="Đảng ủy phường Phúc Lợi")
    reindex(library, tmp_path / "index")
    return make_app(INDEX_DIR=str(tmp_path / "index"), LIBRARY_DIR=str(tmp_path / "library"))


def test_api_document_fields(site):
    doc = site.test_client().get("/api/documents/qd-7").get_json()
    assert doc["effective"] == "2020-03-01"
    assert doc["relations"] == []
    assert [(r["type"], r["source_id"], r["number"]) for r in doc["related_by"]] == [
        ("amended_by", "qd-15", "15/2021/QĐ-UBND"), ("replaced_by", "qd-20", "20/2024/QĐ-UBND")]
    assert {k: doc["validity"][k] for k in ("status", "since", "by")} == {
        "status": "replaced", "since": "2024-07-01", "by": "qd-20"}
    plan = site.test_client().get("/api/documents/kh-4").get_json()
    assert [{k: r[k] for k in ("type", "number", "target_id")} for r in plan["relations"]] == [
        {"type": "based_on", "number": "20/2024/QĐ-UBND", "target_id": "qd-20"},
        {"type": "implements", "number": "12-NQ/ĐU", "target_id": "nq-12"}]
    assert plan["relations"][0]["evidence"].startswith("Căn cứ Quyết định số 20/2024/QĐ-UBND")


def test_document_page_sections(site):
    page = BeautifulSoup(site.test_client().get("/documents/qd-7").text, "html.parser")
    section = page.find("section", class_="validity")
    assert section.h2.get_text() == "Tình trạng hiệu lực"
    status = section.find(class_="validity-status")
    assert " ".join(status.get_text().split()).startswith(
        "Đã bị thay thế từ ngày 01/07/2024 – 20/2024/QĐ-UBND")
    assert status.a["href"] == "/documents/qd-20"
    assert [h.get_text() for h in section.find_all("h3")] == ["Bị thay thế bởi",
                                                             "Được sửa đổi, bổ sung bởi"]
    plan = BeautifulSoup(site.test_client().get("/documents/kh-4").text, "html.parser")
    assert [h.get_text() for h in plan.select("section.validity h3")] == [
        "Văn bản căn cứ", "Văn bản được triển khai thực hiện"]
    links = {a.get_text(): a["href"] for a in plan.select(".doc-body a.doc-ref")}
    assert links == {"20/2024/QĐ-UBND": "/documents/qd-20", "12-NQ/ĐU": "/documents/nq-12"}
    amending = BeautifulSoup(site.test_client().get("/documents/qd-20").text, "html.parser")
    assert "Văn bản được sửa đổi / thay thế" in [
        h.get_text() for h in amending.select("section.validity h3")]


def test_validity_filter_facet_and_marks(site):
    client = site.test_client()
    res = client.get("/api/search?validity=in_force&per_page=50").get_json()
    assert sorted(h["id"] for h in res["hits"]) == ["kh-4", "nq-12", "qd-20", "qd-30"]
    facet = {f["value"]: f["count"] for f in
             client.get("/api/search?per_page=50").get_json()["facets"]["validity"]}
    assert facet == {"in_force": 4, "replaced": 2}
    assert client.get("/api/search?validity=sometimes").status_code == 400
    page = BeautifulSoup(client.get("/search?q=quy+chế").text, "html.parser")
    marks = {a.get_text(" ", strip=True) for a in page.select(".badge-validity")}
    assert marks == {"Đã bị thay thế"}


def test_a_document_outside_the_library_reads_its_own_text(make_app, tmp_path):
    client = make_app(LIBRARY_DIR=str(tmp_path / "no-library")).test_client()
    doc = client.get("/api/documents/qd-123-2024").get_json()
    assert set(doc) >= {"effective", "relations", "related_by", "validity"}
    assert doc["validity"]["status"] == "unknown" and doc["related_by"] == []


# -- the index follows validity changes (no reindex) -----------------------------------------
QD_45 = ("ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI\nSố: 45/QĐ-UBND\nPhúc Lợi, ngày 12 tháng 01 năm 2023\nQUYẾT ĐỊNH\nVề việc thành lập Tổ "
         "công tác vệ sinh môi trường khu dân cư\nĐiều 1. Thành lập Tổ công tác vệ sinh môi "
         "trường.\nĐiều 2. Quyết định này có hiệu lực kể từ ngày ký.")
QD_52 = ("ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI\nSố: 52/QĐ-UBND\nPhúc Lợi, ngày 20 tháng 3 năm 2024\nQUYẾT ĐỊNH\nVề việc kiện toàn tổ "
         "chức\nĐiều 1. Bãi bỏ Quyết định 45/QĐ-UBND ngày 12/01/2023 của UBND phường Phúc "
         "Lợi.\nĐiều 2. Quyết định này có hiệu lực kể từ ngày ký.")


def indexed_validity(index, doc_id: str) -> str | None:
    from search_service.index.schema import open_index

    with open_index(index).searcher() as searcher:
        found = [f for f in searcher.all_stored_fields() if f["id"] == doc_id]
    assert len(found) == 1, found           # written once: never a duplicate
    return found[0].get("validity")


def search_validity(index, q: str) -> dict[str, str | None]:
    from search_service.search.engine import SearchEngine, SearchRequest

    engine = SearchEngine(index, create=False)
    try:
        return {h.id: h.validity for h in engine.search(
            SearchRequest(q=q, include_internal=True, per_page=50)).hits}
    finally:
        engine.close()


@pytest.fixture
def intake(library, tmp_path):
    from search_service.library.intake import Intake

    add(library, "qd-45", QD_45, "45/QĐ-UBND", "2023-01-12", doc_type="Quyết định")
    reindex(library, tmp_path / "index")
    return Intake(library, tmp_path / "index", max_file_mb=5, max_seconds=60)


def test_adding_a_repealing_document_updates_the_repealed_one_without_reindex(
        intake, library, tmp_path):
    from search_service.library import feeding

    index = tmp_path / "index"
    assert search_validity(index, "vệ sinh môi trường")["qd-45"] == "in_force"
    doc, created = intake.add("qd-52.txt", QD_52.encode(), actor="can_bo")
    assert created
    assert search_validity(index, "vệ sinh môi trường")["qd-45"] == "repealed"
    assert indexed_validity(index, doc.id) == "in_force"
    # Nothing is left waiting for the index, and deleting the repealing one restores it.
    assert feeding.pending(library, feeding.index_key(index)) == []
    intake.delete(doc.id, actor="can_bo")
    assert search_validity(index, "vệ sinh môi trường")["qd-45"] == "in_force"


def ingest(folder, index, library):
    from search_service.ingest.pipeline import ingest_paths

    summary = ingest_paths(index, [folder], workers=0, library=library)
    assert summary.failed == 0, summary.to_json()


@pytest.mark.parametrize("together", [False, True])
def test_ingesting_a_repealing_file_updates_the_repealed_one(library, tmp_path, together):
    from search_service.library import feeding

    folder, index = tmp_path / "van-ban", tmp_path / "index"
    folder.mkdir()
    (folder / "a-qd-45.txt").write_text(QD_45, encoding="utf-8")
    if not together:
        ingest(folder, index, library)
        assert indexed_validity(index, "a-qd-45.txt") == "in_force"
    (folder / "b-qd-52.txt").write_text(QD_52, encoding="utf-8")
    ingest(folder, index, library)
    # Both in one run: the first was written before the second was read, so it is sent in
    # a commit of its own right after the run's.
    assert indexed_validity(index, "a-qd-45.txt") == "repealed"
    assert indexed_validity(index, "b-qd-52.txt") == "in_force"
    assert feeding.pending(library, feeding.index_key(index)) == []
    assert search_validity(index, "vệ sinh môi trường")["a-qd-45.txt"] == "repealed"


def test_a_repealing_file_read_before_its_target_in_one_run(library, tmp_path):
    folder, index = tmp_path / "van-ban", tmp_path / "index"
    folder.mkdir()
    (folder / "a-qd-52.txt").write_text(QD_52, encoding="utf-8")
    (folder / "b-qd-45.txt").write_text(QD_45, encoding="utf-8")
    ingest(folder, index, library)
    assert indexed_validity(index, "b-qd-45.txt") == "repealed"
    assert indexed_validity(index, "a-qd-52.txt") == "in_force"


# -- the console: staff correct what the machine read ----------------------------------------
EDITOR, VIEWER, PASSWORD = "bien_tap", "chi_xem", "mật khẩu biên tập 2024"
QD_61 = ("Số: 61/QĐ-UBND\nPhúc Lợi, ngày 02 tháng 5 năm 2024\nQUYẾT ĐỊNH\nVề việc ban hành "
         "Quy chế vệ sinh môi trường khu dân cư.\nĐiều 1. Ban hành kèm theo Quyết định này "
         "Quy chế.")


@pytest.fixture
def console(library, tmp_path, make_app):
    add(library, "qd-45", QD_45, "45/QĐ-UBND", "2023-01-12", doc_type="Quyết định")
    add(library, "qd-52", QD_52, "52/QĐ-UBND", "2024-03-20", doc_type="Quyết định")
    add(library, "qd-61", QD_61, "61/QĐ-UBND", "2024-05-02", doc_type="Quyết định")
    library.users.add(EDITOR, "editor", PASSWORD, actor="test")
    library.users.add(VIEWER, "viewer", PASSWORD, actor="test")
    reindex(library, tmp_path / "index")
    return make_app(INDEX_DIR=str(tmp_path / "index"), LIBRARY_DIR=str(tmp_path / "library"))


def logged_in(app, user=EDITOR):
    client = app.test_client()
    assert log_in(client, user, PASSWORD).status_code == 302
    return client


def relation_page(client, doc_id):
    response = client.get(f"/console/documents/{doc_id}/relations")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def searched_status(client, doc_id):
    hits = client.get("/api/search?q=vệ+sinh+môi+trường&per_page=50").get_json()["hits"]
    return {h["id"]: h.get("validity") for h in hits}[doc_id]


def test_staff_remove_and_add_a_relation_and_validity_follows(console, library, tmp_path):
    client = logged_in(console)
    assert searched_status(client, "qd-45") == "repealed"
    document_page = BeautifulSoup(client.get("/console/documents/qd-52").text, "html.parser")
    [link] = [a for a in document_page.select("a") if "Quan hệ văn bản" in a.get_text()]
    page = relation_page(client, link["href"].split("/documents/", 1)[1].rsplit("/", 1)[0])
    [item] = page.select(".relation-item")
    assert " ".join(item.select_one(".relation-line").get_text().split()).startswith(
        "Bãi bỏ: 45/QĐ-UBND – Văn bản 45/QĐ-UBND")
    form = item.select_one("form")
    data = {i["name"]: i.get("value", "") for i in form.select("input")}
    data["action"] = form.button["value"]
    assert data["action"] == "remove" and data["number"] == "45/QĐ-UBND"

    # The machine misread: remove it, and the repealed document is in force again at once.
    response = client.post("/console/documents/qd-52/relations", data=data)
    assert response.status_code == 303
    assert searched_status(client, "qd-45") == "in_force"
    page = relation_page(client, "qd-52")
    assert "Đã gỡ quan hệ 45/QĐ-UBND" in page.select_one(".console-message").get_text()
    assert page.select(".relation-removed s")[0].get_text() == "45/QĐ-UBND"
    assert page.select_one(".badge-validity").get_text() == "Còn hiệu lực"

    # A missing relation: 61/QĐ-UBND replaces it, though its text does not say so.
    token = page.select_one("input[name=csrf_token]")["value"]
    response = client.post("/console/documents/qd-61/relations", data={
        "csrf_token": token, "action": "add", "type": "replaces", "number": "45/QĐ-UBND"})
    assert response.status_code == 303
    assert searched_status(client, "qd-45") == "replaced"
    assert Relations(library).validity("qd-45").by == "qd-61"
    assert indexed_validity(tmp_path / "index", "qd-45") == "replaced"
    events = [(e["action"], e["document_id"], e["actor"]) for e in library.events(5)]
    assert events[:2] == [("correct_relation", "qd-61", EDITOR),
                          ("correct_relation", "qd-52", EDITOR)]

    # Handed back to the text: the repeal counts again (the earlier one wins).
    client.post("/console/documents/qd-52/relations", data={
        "csrf_token": token, "action": "restore", "number": "45/QĐ-UBND"})
    assert Relations(library).validity("qd-45").by == "qd-52"
    assert searched_status(client, "qd-45") == "repealed"
    assert library.events(1)[0]["action"] == "uncorrect_relation"


def test_the_relation_form_refuses_visitors_viewers_and_missing_tokens(console, library):
    form = {"action": "remove", "number": "45/QĐ-UBND"}
    visitor = console.test_client()
    assert visitor.get("/console/documents/qd-52/relations").status_code == 302
    assert visitor.post("/console/documents/qd-52/relations", data=form).status_code == 403
    editor = logged_in(console)
    for token in (None, "", "sai-ma"):
        data = form if token is None else {**form, "csrf_token": token}
        response = editor.post("/console/documents/qd-52/relations", data=data)
        assert response.status_code == 403
        assert "Phiên làm việc đã hết hạn" in response.text
    viewer = logged_in(console, VIEWER)
    page = relation_page(viewer, "qd-52")
    assert page.select("form[action$='/relations']") == []       # viewers only look
    token = page.select_one("input[name=csrf_token]")["value"]     # the logout form's
    assert viewer.post("/console/documents/qd-52/relations",
                       data={**form, "csrf_token": token}).status_code == 403
    assert Relations(library).validity("qd-45").status == "repealed"
    assert [e["action"] for e in library.events(20)].count("correct_relation") == 0


def test_the_relation_form_says_what_is_wrong(console, library):
    client = logged_in(console)
    token = relation_page(client, "qd-61").select_one("input[name=csrf_token]")["value"]
    response = client.post("/console/documents/qd-61/relations", data={
        "csrf_token": token, "action": "add", "type": "replaces", "number": "hôm qua"})
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    assert "Số hiệu văn bản không đúng dạng" in page.select_one(".form-error").get_text()
    assert page.select_one("#f-number")["value"] == "hôm qua"
    response = client.post("/console/documents/qd-61/relations", data={
        "csrf_token": token, "action": "add", "type": "", "number": "45/QĐ-UBND"})
    assert response.status_code == 400
    assert client.post("/console/documents/khong-co/relations", data={
        "csrf_token": token, "action": "remove", "number": "45/QĐ-UBND"}).status_code == 404
    assert Relations(library).validity("qd-45").status == "repealed"


def test_staff_set_a_validity_by_hand_and_hand_it_back(console, library):
    client = logged_in(console)
    assert searched_status(client, "qd-45") == "repealed"
    page = relation_page(client, "qd-45")
    form = page.select_one("form[action$='/validity']")
    token = form.select_one("input[name=csrf_token]")["value"]
    assert {o["value"] for o in form.select("#f-status option")} == {
        "in_force", "not_yet_in_force", "replaced", "repealed", "unknown"}
    response = client.post("/console/documents/qd-45/validity", data={
        "csrf_token": token, "action": "set", "status": "in_force", "since": "2024-01-01"})
    assert response.status_code == 303
    assert searched_status(client, "qd-45") == "in_force"       # the index follows at once
    assert Relations(library).validity("qd-45").status == "in_force"
    page = relation_page(client, "qd-45")
    assert "(cán bộ xác định)" in page.get_text()
    assert "correct_validity" in [e["action"] for e in library.events(20)]
    response = client.post("/console/documents/qd-45/validity", data={
        "csrf_token": token, "action": "restore"})
    assert response.status_code == 303
    assert searched_status(client, "qd-45") == "repealed"
    # Refused: a bad date, no status, no token, a viewer.
    bad = client.post("/console/documents/qd-45/validity", data={
        "csrf_token": token, "action": "set", "status": "in_force", "since": "hôm qua"})
    assert bad.status_code == 400
    assert "Ngày không đúng dạng" in BeautifulSoup(bad.text, "html.parser").select_one(
        ".form-error").get_text()
    assert client.post("/console/documents/qd-45/validity", data={
        "csrf_token": token, "action": "set", "status": ""}).status_code == 400
    assert client.post("/console/documents/qd-45/validity", data={
        "action": "set", "status": "in_force"}).status_code == 403
    viewer = logged_in(console, VIEWER)
    viewer_token = relation_page(viewer, "qd-45").select_one("input[name=csrf_token]")["value"]
    assert viewer.post("/console/documents/qd-45/validity", data={
        "csrf_token": viewer_token, "action": "set", "status": "in_force"}).status_code == 403
    assert searched_status(client, "qd-45") == "repealed"


def test_statuses_that_change_with_the_date_reach_the_index_when_refreshed(chain, library,
                                                                           tmp_path):
    """reindex gives today's statuses; on another day some differ (a decision comes into
    force on its effective date): refresh_validity sends exactly those, as of that day."""
    from click.testing import CliRunner

    from search_service.cli import main
    from search_service.index.reader import column_by_id
    from search_service.index.schema import open_index
    from search_service.library.intake import Intake

    index = tmp_path / "index"
    reindex(library, index)
    held = column_by_id(open_index(index), "validity")
    assert held == {d: s for d, s in statuses(chain, date.today()).items() if d in held}
    intake = Intake(library, index, max_file_mb=5)
    before = date(2024, 6, 20)       # qd-20 and qd-30 not yet in force, qd-7 not yet replaced
    expected = sorted(d for d, s in statuses(chain, before).items() if held.get(d) != s)
    assert expected and intake.refresh_validity(before) == expected
    assert column_by_id(open_index(index), "validity") == {
        d: s for d, s in statuses(chain, before).items() if d in held}
    assert intake.refresh_validity(before) == []                   # nothing more to send
    # The command gives the index today's statuses back.
    done = CliRunner().invoke(main, ["library", "refresh-validity", "--library",
                                     str(library.folder), "--index", str(index)])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"{len(expected)} documents changed status today: ")
    assert column_by_id(open_index(index), "validity") == held
