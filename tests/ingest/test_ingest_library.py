"""``ingest`` through the library: originals kept, corrections never overwritten by a guess,
``--sync`` deleting from the library too, a killed run recovered, an older index upgraded.

Real files (DOCX, PDF, text, JSON Lines), a real library and real indexes in ``tmp_path``,
searched with a real ``SearchEngine``. A run "killed between the library and the index
commit" is a real process killed with SIGKILL after its last file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import click
import fixtures_files as fx
import pytest
from click.testing import CliRunner
from conftest import DATA_DIR, FAST_HASH, REPO_ROOT, search_results, write_jsonl

from search_service.library.intake import Intake
from search_service.ingest.pipeline import ingest_paths
from search_service.library import Library, NotFound
from search_service.library.backup import backup, restore
from search_service.library.commands import register
from search_service.library.feeding import index_key, pending
from search_service.library.importing import INDEX_RECORD_TYPE
from search_service.library.reindex import reindex
from search_service.index.schema import latest_generation, open_index
from search_service.search import SearchEngine, SearchRequest

TIN = ("Phường Phúc Lợi ra quân tổng vệ sinh môi trường\n\n"
       "Sáng 5/6, hơn 300 người dân các tổ dân phố ra quân dọn dẹp ngõ xóm, khơi thông cống "
       "rãnh hưởng ứng Ngày Môi trường thế giới.\n")
RECORDS = [
    {"id": "tin-1", "title": "Hội nghị tiếp xúc cử tri trước kỳ họp", "category": "Tin tức",
     "body": "Đại biểu HĐND quận tiếp xúc cử tri phường Phúc Lợi về đường giao thông."},
    {"id": "tin-2", "title": "Tiêm chủng mở rộng tháng 7", "published": "2023-07-01",
     "body": "Trạm y tế phường tổ chức tiêm chủng mở rộng cho trẻ dưới 5 tuổi."},
]
QUERIES = ["hoa giai", "hòa giải", "văn hoá", "thuy dau", "ngõ 12", "phong chay", "15-NQ/ĐU",
           "kế hoạch", "quý I", "hội nghị sơ kết", "Phúc Lợi", "Sen Vàng", "cán bộ", ""]


@pytest.fixture
def ward(tmp_path):
    """A ward's folder: a decision (DOCX), a report (PDF), an article, a JSON Lines export."""
    folder = tmp_path / "ward"
    (folder / "tin").mkdir(parents=True)
    fx.write_docx(folder)
    fx.write_pdf(folder)
    (folder / "tin" / "bai-1.txt").write_text(TIN, encoding="utf-8")
    write_jsonl(folder / "ban-tin.jsonl", RECORDS)
    return folder


IDS = ["bao-cao-08.pdf", "ban-tin.jsonl#1", "quyet-dinh-123.docx", "tin-1", "tin-2",
       "tin/bai-1.txt"]


def run(folder, index, library, **options):
    summary = ingest_paths(index, [folder], workers=0, library=library, **options)
    assert summary.failed == 0, summary.to_json()
    return summary


def hits(index, q: str, internal: bool = False) -> list[str]:
    engine = SearchEngine(index, create=False)
    try:
        return [h.id for h in engine.search(SearchRequest(q=q, include_internal=internal)).hits]
    finally:
        engine.close()


def stored(index, but=("validity",)) -> dict:
    """Every document's stored fields; a rebuilt index adds the validity (#11) of
    :mod:`search_service.library.relations`, which ``ingest`` does not compute."""
    with open_index(index).searcher() as searcher:
        return {f["id"]: {k: v for k, v in f.items() if k not in but}
                for f in searcher.all_stored_fields()}


def results(index, internal: bool) -> dict:
    return search_results(index, QUERIES, internal)


# -- what a run keeps ----------------------------------------------------------------------------

def test_ingest_keeps_every_file_in_the_library_and_indexes_what_it_holds(ward, library,
                                                                         tmp_path):
    # ban-tin.jsonl's records have ids; "ban-tin.jsonl#1" is not one of them.
    ids = sorted(i for i in IDS if i != "ban-tin.jsonl#1")
    summary = run(ward, tmp_path / "index", library)
    assert (summary.added, summary.failed) == (5, 0)
    docs = {d.id: d for d in library.list_documents(limit=50).documents}
    assert sorted(docs) == ids
    docx = docs["quyet-dinh-123.docx"]
    assert library.originals.read(docx.original.sha256) == (ward / "quyet-dinh-123.docx"
                                                            ).read_bytes()
    assert {k: docx.guesses.get(k) for k in fx.QD_META if k != "title"} == {
        k: v for k, v in fx.QD_META.items() if k != "title"}
    assert docs["tin-1"].original == docs["tin-2"].original     # one file, kept once
    assert docs["tin-1"].original.name == "ban-tin.jsonl"
    assert docs["tin/bai-1.txt"].original.name == "tin/bai-1.txt"
    assert len(list((tmp_path / "library").glob("originals/??/*.bin"))) == 4
    assert sorted(stored(tmp_path / "index")) == ids
    assert pending(library, index_key(tmp_path / "index")) == []
    assert [e["action"] for e in library.events(document_id="tin-2")] == ["add"]


def test_a_second_run_skips_unchanged_files_and_writes_nothing(ward, library, tmp_path):
    run(ward, tmp_path / "index", library)
    generation, events = latest_generation(tmp_path / "index"), library.events(limit=100)
    again = run(ward, tmp_path / "index", library, sync=True)
    assert (again.added, again.updated, again.skipped, again.deleted) == (0, 0, 5, 0)
    assert latest_generation(tmp_path / "index") == generation
    assert library.events(limit=100) == events


# -- corrections are never overwritten -----------------------------------------------------------

def test_corrections_survive_re_ingesting_changed_files_and_sync(ward, library, tmp_path):
    index = tmp_path / "index"
    run(ward, index, library)
    intake = Intake(library, index, max_file_mb=5, max_seconds=20)
    intake.correct("tin/bai-1.txt", {"title": "Ra quân vệ sinh môi trường tháng 6",
                                     "category": "Môi trường"}, actor="thu_ky")
    intake.correct("tin-2", {"doc_type": "Thông báo"}, actor="thu_ky")
    intake.correct("quyet-dinh-123.docx", {"signer": "Lê Văn Bình"}, actor="thu_ky")

    # The article gets a new paragraph, the export loses tin-1 and rewords tin-2.
    (ward / "tin" / "bai-1.txt").write_text(TIN + "\nĐoàn thanh niên trồng 200 cây xanh.\n",
                                            encoding="utf-8")
    write_jsonl(ward / "ban-tin.jsonl", [{**RECORDS[1], "title": "Tiêm chủng tháng 7/2023"}])
    summary = run(ward, index, library, sync=True)
    assert (summary.updated, summary.deleted) == (2, 1)

    article = library.get("tin/bai-1.txt")
    assert "200 cây xanh" in article.body                       # the new text is read
    assert article.metadata["title"] == "Ra quân vệ sinh môi trường tháng 6"   # kept
    assert article.metadata["category"] == "Môi trường"
    assert article.title == "Phường Phúc Lợi ra quân tổng vệ sinh môi trường"   # the guess
    news = library.get("tin-2")
    assert news.guesses["published"] == "2023-07-01"
    assert (news.title, news.metadata["doc_type"]) == ("Tiêm chủng tháng 7/2023", "Thông báo")
    assert library.get("quyet-dinh-123.docx").metadata["signer"] == "Lê Văn Bình"
    with pytest.raises(NotFound):
        library.get("tin-1")

    index_copy = stored(index)
    assert index_copy["tin/bai-1.txt"]["title"] == "Ra quân vệ sinh môi trường tháng 6"
    assert index_copy["tin-2"]["doc_type"] == "Thông báo"
    assert index_copy["quyet-dinh-123.docx"]["signer"] == "Lê Văn Bình"
    assert "tin-1" not in index_copy
    assert hits(index, "cây xanh")[0] == "tin/bai-1.txt"

    # Once more, unchanged: the corrections are still what the index shows.
    run(ward, index, library, sync=True)
    assert stored(index) == index_copy


def test_a_persons_visibility_stays_while_ingestions_own_choice_follows_the_folder(
        ward, library, tmp_path):
    index = tmp_path / "index"
    run(ward, index, library)
    Intake(library, index, max_file_mb=5).set_visibility("bao-cao-08.pdf", "internal",
                                                         actor="thu_ky")
    (ward / "tin" / ".visibility").write_text("internal\n", encoding="utf-8")
    run(ward, index, library, sync=True)
    assert library.get("tin/bai-1.txt").visibility == "internal"        # the folder's choice
    assert library.get("bao-cao-08.pdf").visibility == "internal"       # the person's
    assert "tin/bai-1.txt" not in hits(index, "vệ sinh môi trường")
    assert "tin/bai-1.txt" in hits(index, "vệ sinh môi trường", internal=True)

    (ward / "tin" / ".visibility").unlink()
    run(ward, index, library, sync=True)
    assert library.get("tin/bai-1.txt").visibility == "public"
    assert library.get("bao-cao-08.pdf").visibility == "internal"
    assert "tin/bai-1.txt" in hits(index, "vệ sinh môi trường")
    assert "bao-cao-08.pdf" not in hits(index, "giám sát đơn thư")
    assert hits(index, "giám sát đơn thư", internal=True)[0] == "bao-cao-08.pdf"


def test_an_unpublished_document_stays_unpublished_when_its_file_changes(ward, library,
                                                                       tmp_path):
    index = tmp_path / "index"
    run(ward, index, library)
    Intake(library, index, max_file_mb=5).unpublish("tin/bai-1.txt", actor="thu_ky")
    (ward / "tin" / "bai-1.txt").write_text(TIN + "\nThêm một đoạn.\n", encoding="utf-8")
    run(ward, index, library)
    assert library.get("tin/bai-1.txt").is_published is False
    assert stored(index)["tin/bai-1.txt"]["visibility"] == "internal"


def test_sync_deletes_the_documents_of_deleted_files_from_the_library(ward, library, tmp_path):
    index = tmp_path / "index"
    run(ward, index, library)
    sha = library.get("bao-cao-08.pdf").original.sha256
    (ward / "bao-cao-08.pdf").unlink()
    run(ward, index, library)                   # without --sync nothing is deleted
    assert library.get("bao-cao-08.pdf")
    summary = run(ward, index, library, sync=True)
    assert summary.deleted == 1
    with pytest.raises(NotFound):
        library.get("bao-cao-08.pdf")
    assert not library.originals.path(sha).exists()
    assert "bao-cao-08.pdf" not in stored(index)
    assert library.events(document_id="bao-cao-08.pdf")[0]["actor"] == "ingest"


# -- a run that dies between the library and the index -------------------------------------------

KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from search_service.ingest.pipeline import ingest_paths
    from search_service.library import Library

    def killed_after_the_last_file(files):
        yield from files
        os.kill(os.getpid(), signal.SIGKILL)    # the library is written, the index is not

    ingest_paths(sys.argv[1], [sys.argv[2]], workers=0, library=Library(sys.argv[3]),
                 progress=killed_after_the_last_file)
""")


def test_a_run_killed_between_the_library_and_the_index_is_completed_by_the_next(
        ward, library, tmp_path):
    index = tmp_path / "index"
    run(ward, index, library)
    (ward / "tin" / "bai-1.txt").write_text(TIN + "\nĐoàn thanh niên trồng 200 cây xanh.\n",
                                            encoding="utf-8")
    (ward / "moi.txt").write_text("Thông báo lịch tiếp công dân tháng 8\n\nChủ tịch UBND "
                                  "phường tiếp công dân vào thứ Năm hằng tuần.\n",
                                  encoding="utf-8")
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(index), str(ward),
                             str(tmp_path / "library")], cwd=REPO_ROOT, timeout=120,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "200 cây xanh" in library.get("tin/bai-1.txt").body          # in the library
    assert library.get("moi.txt")
    assert "moi.txt" not in stored(index)                                 # not indexed
    assert "200 cây xanh" not in stored(index)["tin/bai-1.txt"]["body"]
    assert sorted(i for _, i in pending(library, index_key(index))) == ["moi.txt",
                                                                        "tin/bai-1.txt"]

    summary = run(ward, index, library)
    assert (summary.added, summary.updated) == (1, 1)
    assert "200 cây xanh" in stored(index)["tin/bai-1.txt"]["body"]
    assert hits(index, "lịch tiếp công dân tháng 8")[0] == "moi.txt"
    assert pending(library, index_key(index)) == []


def test_a_change_the_index_missed_is_sent_by_the_next_ingest_of_any_folder(
        ward, library, tmp_path):
    """A correction the index never received (its write failed, or it was made through the
    library alone) reaches it with the next ingest, even of files that did not change."""
    index = tmp_path / "index"
    run(ward, index, library)
    library.correct("quyet-dinh-123.docx", {"doc_type": "Chương trình"}, actor="thu_ky")
    library.delete("tin-1", actor="thu_ky")
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("Tin ngắn về hội nghị\n\nNội dung hội nghị.\n")
    summary = run(other, index, library)
    assert (summary.added, summary.updated, summary.deleted) == (1, 1, 1)
    assert stored(index)["quyet-dinh-123.docx"]["doc_type"] == "Chương trình"
    assert "tin-1" not in stored(index)
    assert pending(library, index_key(index)) == []


# -- upgrading an index made before the library --------------------------------------------------

@pytest.fixture(scope="module")
def older_index(tmp_path_factory):
    """tests/data ingested the way releases before the library did (no library)."""
    root = tmp_path_factory.mktemp("older")
    assert ingest_paths(root / "index", [DATA_DIR], workers=0).failed == 0
    return root


def cli(*args):
    @click.group()
    def main():
        pass

    register(main)
    return CliRunner().invoke(main, [str(a) for a in args])


def test_an_older_index_is_imported_then_reindexed_without_losing_anything(older_index,
                                                                          tmp_path):
    index = tmp_path / "index"
    shutil.copytree(older_index / "index", index)
    before = {internal: results(index, internal) for internal in (False, True)}
    before_stored = stored(index)

    with Library(tmp_path / "library") as library:     # a library that lacks the index's
        library.add_document(b"Tin moi", name="moi.txt", record={"title": "Tin mới"},
                             actor="van_thu")
    refused = cli("reindex", "--library", tmp_path / "library", "--index", index,
                  "--workers", "0")
    assert refused.exit_code == 1
    assert f"Error: the index in {index} holds 26 documents the library has never had " \
           "(such as " in refused.stderr
    assert "first with `python -m search_service library import-index`" in refused.stderr
    assert stored(index) == before_stored

    imported = cli("library", "import-index", "--library", tmp_path / "library",
                   "--index", index)
    assert imported.stdout == f"imported 26 documents from {index} (0 the library holds or " \
                              "has deleted)\n"
    with Library(tmp_path / "library") as library:
        doc = library.get("hoa-giai")
        assert (doc.text_source, doc.original.media_type) == ("index", INDEX_RECORD_TYPE)
        assert json.loads(library.originals.read(doc.original.sha256))["id"] == "hoa-giai"
        assert pending(library, index_key(index)) == []
    assert cli("library", "import-index", "--library", tmp_path / "library", "--index",
               index).stdout.startswith("imported 0 documents")

    rebuilt = cli("reindex", "--library", tmp_path / "library", "--index", index,
                  "--workers", "0")
    assert rebuilt.stdout == f"reindexed 27 documents into {index}\n"
    assert "Tin mới" in {fields["title"] for fields in stored(index).values()}
    with Library(tmp_path / "library") as library:
        [upload] = library.list_documents(text="Tin mới").documents
        library.delete(upload.id, actor="van_thu")
    cli("reindex", "--library", tmp_path / "library", "--index", index, "--workers", "0")
    assert {internal: results(index, internal) for internal in (False, True)} == before
    assert stored(index) == before_stored

    # The next ingest of the folder reads each file once more to keep its original; the
    # index does not change.
    generation = latest_generation(index)
    with Library(tmp_path / "library") as library:
        summary = run(DATA_DIR, index, library)
        assert (summary.added, summary.updated, summary.skipped) == (0, 0, 26)
        assert library.get("hoa-giai").text_source == "text"
        assert library.get("hoa-giai").original.name == "ward.jsonl"
    assert latest_generation(index) == generation


def test_the_first_ingest_with_a_library_copies_an_older_index_into_it(older_index, ward,
                                                                       library, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(older_index / "index", index)
    summary = run(ward, index, library)
    assert summary.added == 5
    assert library.list_documents().total == 26 + 5
    assert library.get("hoa-giai").text_source == "index"     # not in this folder: imported
    reindex(library, index)
    assert len(stored(index)) == 31
    assert hits(index, "hoa giai", internal=True)[0] == "hoa-giai"


# -- the index follows the library ---------------------------------------------------------------

@pytest.fixture(scope="module")
def through_library(tmp_path_factory):
    """tests/data ingested through a library, the library backed up and restored elsewhere."""
    root = tmp_path_factory.mktemp("through")
    with Library(root / "library", password_method=FAST_HASH) as library:
        assert ingest_paths(root / "index", [DATA_DIR], workers=0,
                            library=library).failed == 0
        backup(library, root / "sao-luu.tar.gz")
    restore(root / "sao-luu.tar.gz", root / "restored")
    return root


@pytest.mark.parametrize("internal", [False, True])
def test_an_index_ingested_through_the_library_answers_as_before(through_library, older_index,
                                                                 internal):
    assert results(through_library / "index", internal) == results(older_index / "index",
                                                                   internal)


def test_ingesting_through_the_library_stores_what_ingest_stored(through_library, older_index):
    assert stored(through_library / "index") == stored(older_index / "index")


@pytest.mark.parametrize("internal", [False, True])
def test_a_restored_library_rebuilds_the_same_index(through_library, tmp_path, internal):
    with Library(through_library / "restored", password_method=FAST_HASH) as library:
        assert reindex(library, tmp_path / "index") == 26
    assert results(tmp_path / "index", internal) == results(through_library / "index",
                                                            internal)
    assert stored(tmp_path / "index") == stored(through_library / "index")


def test_the_cli_ingests_through_the_library_folder_it_is_given(ward, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "search_service", "ingest", "--workers", "0", "--index",
         str(tmp_path / "index"), "--library", str(tmp_path / "thu-vien"), str(ward)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "SEARCH_LIBRARY_DIR": str(tmp_path / "khong-dung")})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].startswith("added 5, updated 0, skipped 0")
    with Library(tmp_path / "thu-vien") as library:
        assert library.list_documents().total == 5
    assert not (tmp_path / "khong-dung").exists()


# -- marks: what each index has yet to receive ---------------------------------------------------

def test_each_index_has_its_own_marks_cleared_only_up_to_what_it_received(library, tmp_path):
    from search_service.library import feeding

    (tmp_path / "a").mkdir()
    library.add_document(b"truoc", name="truoc.txt", record={"title": "Trước"}, doc_id="truoc",
                         actor="x")
    a = feeding.register(library, tmp_path / "a")
    b = feeding.register(library, tmp_path / "b")       # a rebuild's folder, not made yet
    assert pending(library, a) == []                    # made before: not this index's to get
    library.add_document(b"mot", name="mot.txt", record={"title": "Một"}, doc_id="mot",
                         actor="x")
    [(seq, doc_id)] = pending(library, a)
    assert doc_id == "mot" and [i for _, i in pending(library, b)] == ["mot"]
    library.correct("mot", {"title": "Một (sửa)"}, actor="y")    # after a writer read it
    feeding.clear(library, [seq])
    assert [i for _, i in pending(library, a)] == ["mot"]        # the newer mark stays
    feeding.clear(library, [s for s, _ in pending(library, a)])
    assert pending(library, a) == [] and [i for _, i in pending(library, b)] == ["mot"]
    library.db.connection().execute("UPDATE indexes SET registered = '2000-01-01'")
    feeding.register(library, tmp_path / "a")          # b's folder has been gone for a day
    assert [row[0] for row in library.db.connection().execute("SELECT path FROM indexes")] \
        == [a]
