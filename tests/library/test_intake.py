"""Intake: one uploaded or edited document, kept in the library and sent to a real index.

Real files (DOCX, PDF, HTML from ``fixtures_files``), a real library and a real Whoosh index
in ``tmp_path``, and a real ``SearchEngine`` that calls ``refresh()`` after each write as the
web app does. No mocks: a busy index is an index another writer really holds.
"""

from __future__ import annotations

import threading
import time

import fixtures_files as fx
import pytest

from search_service.ingest import IngestError
from search_service.library.intake import EDITABLE, IndexBusy, Intake, editable, upload_name
from search_service.library import InvalidValue, NotFound
from search_service.library.feeding import index_key, pending
from search_service.index.schema import open_index
from search_service.search import SearchEngine, SearchRequest

QD_TITLE = fx.QD_META["title"]


@pytest.fixture
def intake(library, tmp_path):
    open_index(tmp_path / "index")
    return Intake(library, tmp_path / "index", max_file_mb=5, max_seconds=20, busy_seconds=0.5)


@pytest.fixture
def engine(intake, tmp_path):
    eng = SearchEngine(tmp_path / "index")
    yield eng
    eng.close()


def found(engine, q: str, internal: bool = False) -> list[str]:
    engine.refresh()        # what the web app does after a write
    return [h.id for h in engine.search(SearchRequest(q=q, include_internal=internal)).hits]


def docx_bytes(tmp_path) -> bytes:
    return fx.write_docx(tmp_path).read_bytes()


# -- adding --------------------------------------------------------------------------------------

def test_an_upload_keeps_its_original_and_guesses_and_is_found(intake, library, engine, tmp_path):
    data = docx_bytes(tmp_path)
    doc, created = intake.add("C:\\Users\\van-thu\\quyet-dinh-123.docx", data, actor="van_thu")
    assert created
    assert doc.original.name == "quyet-dinh-123.docx"
    assert library.originals.read(doc.original.sha256) == data
    assert {k: doc.metadata.get(k) for k in fx.QD_META} == fx.QD_META
    assert doc.corrections == {} and doc.visibility == "public" and doc.is_published
    assert found(engine, "rà soát hộ nghèo") == [doc.id]
    assert found(engine, "123/QĐ-UBND") == [doc.id]
    assert pending(library, index_key(intake.index_dir)) == []      # the index has it all


def test_fields_given_with_an_upload_are_corrections(intake, library, engine, tmp_path):
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu",
                        fields={"doc_type": "Chương trình", "published": "2024-03-06",
                                "category": "Hộ nghèo"})
    assert doc.metadata["doc_type"] == "Chương trình"
    assert doc.guesses["doc_type"] == "Quyết định"
    assert sorted(doc.corrections) == ["category", "doc_type", "published"]
    assert doc.corrections["published"]["by"] == "van_thu"
    engine.refresh()
    stored = engine.get_document(doc.id)
    assert (stored["doc_type"], stored["category"]) == ("Chương trình", "Hộ nghèo")
    assert [e["action"] for e in library.events(document_id=doc.id)] == ["correct", "add"]


def test_the_same_bytes_give_back_the_existing_document_with_its_corrections(intake, tmp_path):
    data = docx_bytes(tmp_path)
    first, _ = intake.add("qd.docx", data, actor="van_thu")
    intake.correct(first.id, {"title": "Quyết định lập Tổ rà soát hộ nghèo 2024"}, actor="thu_ky")
    again, created = intake.add("ban-sao.docx", data, actor="van_thu",
                                fields={"title": "Không được ghi đè"})
    assert not created
    assert again.id == first.id
    assert again.metadata["title"] == "Quyết định lập Tổ rà soát hộ nghèo 2024"
    assert again.original.name == "qd.docx"


def test_an_unpublished_upload_is_indexed_as_internal(intake, engine, tmp_path):
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu", published=False)
    assert found(engine, "hộ nghèo") == []
    assert found(engine, "hộ nghèo", internal=True) == [doc.id]


@pytest.mark.parametrize("name, make, reason", [
    ("trong.txt", lambda d: b"", "^empty file$"),
    ("mat-khau.pdf", lambda d: fx.encrypted_pdf_bytes(),
     "^the PDF is password-protected; save an unprotected copy"),
    ("chay.exe", lambda d: b"MZ" + bytes(100), r"^unsupported file type \.exe"),
    ("hong.pdf", lambda d: fx.pdf_bytes(fx.BC_LINES)[:400], "^corrupt PDF: "),
    ("x.docx", lambda d: fx.docx_without_document_xml(), "^not a DOCX file"),
    ("ban-tin.jsonl", lambda d: '{"id": "a", "title": "Tin", "body": "Nội dung"}\n'.encode(),
     "^a JSON Lines file holds many documents, and an upload is one"),
    ("lon.txt", lambda d: b"a" * (5 * 1024 * 1024 + 1), r"^file is 5 MB, over the 5 MB limit$"),
], ids=["empty", "encrypted", "exe", "truncated-pdf", "xlsx-as-docx", "jsonl", "too-big"])
def test_unreadable_uploads_are_refused_with_the_reason(intake, library, tmp_path, name, make,
                                                        reason):
    with pytest.raises(IngestError, match=reason):
        intake.add(name, make(tmp_path), actor="van_thu")
    assert library.list_documents().total == 0
    assert list((tmp_path / "library").glob("originals/??/*.bin")) == []


def test_an_upload_over_its_time_budget_is_stopped(library, tmp_path):
    open_index(tmp_path / "index")
    slow = Intake(library, tmp_path / "index", max_file_mb=5, max_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"took over the 0\.5 s allowed per file"):
        slow.add("a-cham.pdf", fx.slow_pdf_bytes(500_000), actor="van_thu")
    assert time.monotonic() - started < 15
    assert library.list_documents().total == 0


# -- editing -------------------------------------------------------------------------------------

def test_correct_publish_unpublish_and_delete_show_in_search(intake, library, engine, tmp_path):
    doc, _ = intake.add("bao-cao.pdf", fx.pdf_bytes(fx.BC_LINES), actor="van_thu")
    assert found(engine, "giám sát đơn thư") == [doc.id]

    intake.correct(doc.id, {"title": "Báo cáo giám sát tiếp công dân"}, actor="thu_ky")
    assert found(engine, "tiếp công dân") == [doc.id]
    engine.refresh()
    assert engine.get_document(doc.id)["title"] == "Báo cáo giám sát tiếp công dân"

    intake.unpublish(doc.id, actor="thu_ky")
    assert found(engine, "giám sát") == []
    assert found(engine, "giám sát", internal=True) == [doc.id]
    intake.publish(doc.id, actor="thu_ky")
    assert found(engine, "giám sát") == [doc.id]

    intake.set_visibility(doc.id, "internal", actor="thu_ky")
    assert found(engine, "giám sát") == []
    assert library.get(doc.id).visibility == "internal"

    intake.delete(doc.id, actor="thu_ky")
    assert found(engine, "giám sát", internal=True) == []
    with pytest.raises(NotFound):
        library.get(doc.id)
    assert [e["action"] for e in library.events(document_id=doc.id)] == [
        "delete", "set_visibility", "publish", "unpublish", "correct", "add"]


@pytest.mark.parametrize("changes, message", [
    ({"published": "ngày mai"}, r"^published: not an ISO date \(YYYY-MM-DD\): 'ngày mai'$"),
    ({"published": "2024-02-30"}, "^published: not an ISO date"),
    ({"views": 12}, "^'views' cannot be set by hand; the fields are title, doc_number, "),
    ({"title": ""}, "^title: a document must keep a title$"),
    ({"doc_type": ["Quyết định"]}, "^doc_type: expected text, found list$"),
    ({}, "^nothing to change"),
], ids=["words", "no-such-day", "not-editable", "no-title", "list", "nothing"])
def test_bad_corrections_are_refused_and_change_nothing(intake, library, engine, tmp_path,
                                                        changes, message):
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu")
    with pytest.raises(InvalidValue, match=message):
        intake.correct(doc.id, changes, actor="thu_ky")
    assert library.get(doc.id) == doc
    if changes:                         # the same fields with an upload: nothing is kept
        with pytest.raises(InvalidValue, match=message):
            intake.add("khac.txt", "Thông báo lịch tiếp công dân".encode(), fields=changes,
                       actor="van_thu")
    assert library.list_documents().total == 1


def test_bad_visibility_and_unknown_documents_are_refused(intake, tmp_path):
    with pytest.raises(InvalidValue, match="^visibility must be one of public, internal"):
        intake.add("qd.docx", docx_bytes(tmp_path), visibility="secret", actor="van_thu")
    with pytest.raises(NotFound):
        intake.correct("khong-co", {"title": "X"}, actor="thu_ky")
    with pytest.raises(NotFound):
        intake.delete("khong-co", actor="thu_ky")


def test_editable_fields_are_cleaned_as_the_library_stores_them():
    assert EDITABLE == ("title", "doc_number", "doc_type", "issuer", "signer", "published",
                        "category")
    assert editable({"published": "2024-03-05T00:00:00", "issuer": "  UBND  phường ",
                     "signer": None}) == {"published": "2024-03-05", "issuer": "UBND  phường",
                                          "signer": None}


@pytest.mark.parametrize("sent, kept", [
    ("quyet-dinh.pdf", "quyet-dinh.pdf"), ("/home/a/b/qd.docx", "qd.docx"),
    ("C:\\Tai lieu\\qd.docx", "qd.docx"), ("../../etc/passwd", "passwd")])
def test_only_the_uploaded_files_own_name_is_kept(sent, kept):
    assert upload_name(sent) == kept


# -- one writer at a time ------------------------------------------------------------------------

def test_a_busy_index_is_waited_for_then_refused_and_nothing_changes(intake, library, tmp_path):
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu")
    writer = open_index(tmp_path / "index").writer()        # an ingest run holding the lock
    try:
        started = time.monotonic()
        with pytest.raises(IndexBusy, match="being written by another run") as refused:
            intake.correct(doc.id, {"title": "Tiêu đề mới"}, actor="thu_ky")
        assert 0.4 < time.monotonic() - started < 5
        assert refused.value.status == 503
    finally:
        writer.cancel()
    assert library.get(doc.id) == doc


def test_a_write_waits_for_a_short_run_to_finish(intake, library, engine, tmp_path):
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu")
    writer = open_index(tmp_path / "index").writer()
    threading.Timer(0.2, writer.cancel).start()             # the run ends within the wait
    intake.correct(doc.id, {"title": "Quyết định về nước sạch"}, actor="thu_ky")
    engine.refresh()
    assert engine.get_document(doc.id)["title"] == "Quyết định về nước sạch"


def test_a_change_the_index_missed_is_sent_with_the_next_write(intake, library, engine,
                                                              tmp_path):
    """The library changed and the index did not (a crash between the two, or a change made
    through the library alone): the next write through the intake sends it too."""
    first, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu")
    second, _ = intake.add("bao-cao.pdf", fx.pdf_bytes(fx.BC_LINES), actor="van_thu")
    library.correct(first.id, {"title": "Quyết định về nước sạch"}, actor="thu_ky")
    engine.refresh()
    assert engine.get_document(first.id)["title"] == QD_TITLE
    assert intake.preview(first.id)["index_pending"] is True
    intake.publish(second.id, actor="thu_ky")               # any write
    engine.refresh()
    assert engine.get_document(first.id)["title"] == "Quyết định về nước sạch"
    assert intake.preview(first.id)["index_pending"] is False


# -- preview -------------------------------------------------------------------------------------

def test_preview_shows_what_the_machine_read_and_what_people_decided(intake, tmp_path):
    data = docx_bytes(tmp_path)
    doc, _ = intake.add("qd.docx", data, actor="van_thu", published=False,
                        fields={"doc_type": "Chương trình"})
    seen = intake.preview(doc.id)
    assert seen["text"].startswith("ỦY BAN NHÂN DÂN\nPHƯỜNG PHÚC LỢI")
    assert seen["text_chars"] == len(doc.body) and seen["text_truncated"] is False
    assert seen["guesses"]["doc_type"] == "Quyết định"
    assert seen["guesses"]["title"] == QD_TITLE
    assert seen["corrections"]["doc_type"]["value"] == "Chương trình"
    assert seen["metadata"] == doc.metadata
    assert (seen["visibility"], seen["is_published"], seen["indexed_as"]) == (
        "public", False, "internal")
    assert seen["original"] == {
        "name": "qd.docx", "size": len(data), "sha256": doc.original.sha256, "kept": True,
        "from_index": False,
        "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    assert seen["source"] is None and seen["index_pending"] is False
    assert seen["text_source"] == "text"


# -- upgrading -----------------------------------------------------------------------------------

def test_the_first_write_copies_an_older_index_into_the_library(library, tmp_path):
    """An upload into an empty library beside an index made before the library: the index's
    documents are copied in first, so a later reindex keeps them."""
    from conftest import DATA_DIR

    from search_service.ingest.pipeline import ingest_paths
    from search_service.library.reindex import reindex

    ingest_paths(tmp_path / "index", [DATA_DIR / "articles"], workers=0)    # no library
    intake = Intake(library, tmp_path / "index", max_file_mb=5, max_seconds=20)
    doc, _ = intake.add("qd.docx", docx_bytes(tmp_path), actor="van_thu")
    ids = {d.id for d in library.list_documents().documents}
    assert ids == {doc.id, "san-choi-nfd.txt", "so-ket-giua-nhiem-ky.txt"}
    assert library.get("san-choi-nfd.txt").text_source == "index"
    assert reindex(library, tmp_path / "index") == 3


def test_an_uploaded_scan_is_marked_as_read_by_ocr(intake, library, engine):
    from search_service.ingest import ocr

    if not ocr.available():
        pytest.skip("needs tesseract-ocr and tesseract-ocr-vie (make test installs them)")
    data = fx.scan_pdf_bytes([["QUYẾT ĐỊNH", "Về việc nạo vét mương thoát nước",
                               "tổ dân phố số 5 năm 1998"]])
    doc, created = intake.add("quet-1998.pdf", data, actor="van_thu")
    assert created and doc.text_source == "ocr"
    assert library.get(doc.id).text_source == "ocr"
    assert doc.id in found(engine, "nạo vét mương")
    assert engine.get_document(doc.id)["text_source"] == "ocr"
    typed, _ = intake.add("quyet-dinh.docx", fx.write_docx(library.folder).read_bytes(),
                          actor="van_thu")
    engine.refresh()
    assert typed.text_source == "text" and "text_source" not in engine.get_document(typed.id)
