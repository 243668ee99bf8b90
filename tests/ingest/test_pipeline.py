"""Incremental ingestion of the ward's folders: sync, stable ids, visibility, bad files, the report.

Every test writes real files into ``tmp_path`` and builds a real Whoosh index there.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fixtures_files as fx
from conftest import EXPORT_ID, EXPORT_TEXT, WEB_DOCUMENTS, WEB_NEWS, write_jsonl
from search_service.cli import main
from search_service.ingest.pipeline import IndexUnavailable, ingest_paths
from search_service.index.schema import open_index

ANNOUNCEMENT = """ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI
Số: 12/TB-UBND
Phúc Lợi, ngày 01 tháng 6 năm 2024

THÔNG BÁO
Lịch tiếp công dân tháng 6 năm 2024

Chủ tịch UBND phường tiếp công dân vào sáng thứ Năm hằng tuần tại trụ sở UBND phường.
"""


def news_line(n: int, **extra) -> str:
    title, published, category, body = WEB_NEWS[n]
    record = {"title": title, "published": published, "category": category, "body": body}
    return json.dumps({**record, **extra}, ensure_ascii=False) + "\n"


def doc_line(n: int, **changes) -> str:
    return json.dumps({**WEB_DOCUMENTS[n], **changes}, ensure_ascii=False) + "\n"


def ward_folder(root: Path) -> Path:
    """A ward's shared folder: the site's text export, Word, PDF, plain text and JSON Lines."""
    (root / "tin").mkdir(parents=True)
    (root / "van-ban").mkdir()
    (root / EXPORT_ID).write_text(EXPORT_TEXT, encoding="utf-8")
    fx.write_docx(root / "van-ban")
    fx.write_pdf(root / "van-ban")
    (root / "van-ban" / "nghi-quyet-15.txt").write_text(fx.NQ_TEXT, encoding="utf-8")
    (root / "tin-tuc.jsonl").write_text(news_line(0) + news_line(1), encoding="utf-8")
    (root / "van-ban.jsonl").write_text(doc_line(0) + doc_line(1), encoding="utf-8")
    return root


WARD_IDS = {EXPORT_ID, "van-ban/quyet-dinh-123.docx", "van-ban/bao-cao-08.pdf",
            "van-ban/nghi-quyet-15.txt", "tin-tuc.jsonl#1", "tin-tuc.jsonl#2",
            "qd-123-2024", "qd-45-2023"}


def run(index: Path, *paths, **options):
    return ingest_paths(index, list(paths), **options)


def stored(index: Path) -> dict[str, dict]:
    """Every document the index holds, as stored: id → fields."""
    with open_index(index).reader() as reader:
        return {fields["id"]: fields for fields in reader.all_stored_fields()}


def file_outcomes(summary, root: Path) -> dict[str, str]:
    return {Path(f.path).relative_to(root).as_posix(): f.outcome for f in summary.files}


def doc_outcomes(summary) -> dict[str, str]:
    return {d["id"]: d["outcome"] for f in summary.files for d in f.documents}


def failures(summary, root: Path) -> dict[str, str]:
    return {Path(f.path).relative_to(root).as_posix(): f.error
            for f in summary.files if f.outcome == "failed"}


def counts(summary) -> tuple:
    return summary.added, summary.updated, summary.skipped, summary.deleted, summary.failed


# --- the sync cycle and stable ids -------------------------------------------------------

def test_first_run_indexes_every_file_with_ids_from_relative_paths(tmp_path):
    folder = ward_folder(tmp_path / "ward")
    summary = run(tmp_path / "index", folder)
    assert set(stored(tmp_path / "index")) == WARD_IDS
    assert counts(summary) == (8, 0, 0, 0, 0)
    assert set(file_outcomes(summary, folder).values()) == {"added"}


def test_sync_cycle_adds_changes_and_deletes(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder, sync=True)
    (folder / EXPORT_ID).write_text(EXPORT_TEXT.replace("Lượt xem: 510", "Lượt xem: 777"),
                                    encoding="utf-8")
    (folder / "van-ban" / "bao-cao-08.pdf").unlink()
    (folder / "tin" / "thong-bao-12.txt").write_text(ANNOUNCEMENT, encoding="utf-8")

    summary = run(index, folder, sync=True)

    assert doc_outcomes(summary) == {
        EXPORT_ID: "updated", "tin/thong-bao-12.txt": "added",
        "van-ban/bao-cao-08.pdf": "deleted", "van-ban/quyet-dinh-123.docx": "skipped",
        "van-ban/nghi-quyet-15.txt": "skipped", "tin-tuc.jsonl#1": "skipped",
        "tin-tuc.jsonl#2": "skipped", "qd-123-2024": "skipped", "qd-45-2023": "skipped"}
    assert counts(summary) == (1, 1, 6, 1, 0)
    docs = stored(index)
    assert set(docs) == WARD_IDS - {"van-ban/bao-cao-08.pdf"} | {"tin/thong-bao-12.txt"}
    assert docs[EXPORT_ID]["views"] == 777
    assert docs["tin/thong-bao-12.txt"]["doc_number"] == "12/TB-UBND"


def test_an_unchanged_folder_is_skipped_whole_and_not_committed_again(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder, sync=True)
    before, generation = stored(index), open_index(index).latest_generation()

    summary = run(index, folder, sync=True)

    assert counts(summary) == (0, 0, 8, 0, 0)
    assert summary.line().startswith("added 0, updated 0, skipped 8, deleted 0, failed 0 "
                                     "(6 files, ")
    assert stored(index) == before
    assert open_index(index).latest_generation() == generation


def test_a_changed_jsonl_record_is_updated_in_place_without_duplicates(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder)
    title = "Quyết định thành lập Tổ công tác rà soát hộ nghèo năm 2024 (sửa đổi)"
    (folder / "van-ban.jsonl").write_text(doc_line(0, title=title) + doc_line(1),
                                          encoding="utf-8")

    summary = run(index, folder)

    assert {k: v for k, v in doc_outcomes(summary).items() if v != "skipped"} == \
        {"qd-123-2024": "updated"}
    docs = stored(index)
    assert len(docs) == len(WARD_IDS)
    assert docs["qd-123-2024"]["title"] == title


def test_a_jsonl_record_removed_from_its_file_is_deleted_only_by_sync(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder)
    (folder / "van-ban.jsonl").write_text(doc_line(1), encoding="utf-8")

    assert counts(run(index, folder)) == (0, 0, 7, 0, 0)
    assert "qd-123-2024" in stored(index)

    summary = run(index, folder, sync=True)
    assert [(f.outcome, f.documents) for f in summary.files if f.outcome == "deleted"] == [
        ("deleted", [{"id": "qd-123-2024", "title": WEB_DOCUMENTS[0]["title"],
                      "doc_type": "Quyết định", "doc_number": "123/QĐ-UBND",
                      "issuer": "UBND phường Phúc Lợi", "signer": "Nguyễn Văn Hùng",
                      "published": "2024-03-05T00:00:00",
                      "category": "Văn bản chỉ đạo, điều hành", "visibility": "public",
                      "outcome": "deleted"}])]
    assert set(stored(index)) == WARD_IDS - {"qd-123-2024"}


def test_ids_survive_moving_the_folder_and_sync_follows_it(tmp_path):
    index = tmp_path / "index"
    run(index, ward_folder(tmp_path / "old"), sync=True)
    moved = tmp_path / "new-place"
    shutil.move(tmp_path / "old", moved)

    first = run(index, moved, sync=True)
    (moved / "van-ban" / "nghi-quyet-15.txt").unlink()
    second = run(index, moved, sync=True)

    assert counts(first) == (0, 0, 8, 0, 0)
    assert counts(second) == (0, 0, 7, 1, 0)
    assert set(stored(index)) == WARD_IDS - {"van-ban/nghi-quyet-15.txt"}


def test_a_file_given_directly_is_named_by_its_file_name(tmp_path):
    path = fx.write_docx(tmp_path)
    run(tmp_path / "index", path)
    assert set(stored(tmp_path / "index")) == {"quyet-dinh-123.docx"}


def test_hidden_files_word_lock_files_and_the_index_inside_the_folder_are_left_out(tmp_path):
    folder = tmp_path / "ward"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "~$yet-dinh-123.docx").write_bytes(b"\x0bNguyen Van A" + b"\x00" * 150)
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(folder / "index", folder)
    second = run(folder / "index", folder)
    assert file_outcomes(summary, folder) == {"bai.txt": "added"}
    assert file_outcomes(second, folder) == {"bai.txt": "skipped"}


@pytest.mark.parametrize("first, second, message", [
    (doc_line(0), doc_line(0, title="Bản sao"),
     "document 1: the id 'qd-123-2024' is already used in {a}; ids must be unique"),
    (doc_line(1), doc_line(0) + doc_line(0),
     "document 2: the id 'qd-123-2024' is already used earlier in this file; "
     "ids must be unique"),
], ids=["across-files", "within-a-file"])
def test_a_duplicate_id_fails_the_later_file_and_keeps_the_first(tmp_path, first, second,
                                                                  message):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / "a.jsonl").write_text(first, encoding="utf-8")
    (folder / "b.jsonl").write_text(second, encoding="utf-8")
    summary = run(tmp_path / "index", folder)
    assert failures(summary, folder) == {"b.jsonl": message.format(a=folder / "a.jsonl")}
    assert stored(tmp_path / "index")[json.loads(first)["id"]]["title"] == \
        json.loads(first)["title"]


# --- metadata ------------------------------------------------------------------------------

def test_metadata_in_a_jsonl_record_wins_over_what_the_text_suggests(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    given = {"id": "qd-124", "body": fx.qd_text(), "doc_number": "124/QĐ-UBND",
             "signer": "Lê Thị Hoa", "published": "2024-03-06"}
    bare = {"id": "qd-123", "body": fx.qd_text()}
    write_jsonl(folder / "van-ban.jsonl", (given, bare))

    summary = run(tmp_path / "index", folder)

    meta = {d["id"]: {k: v for k, v in d.items() if k not in ("id", "outcome", "visibility")}
            for d in summary.files[0].documents}
    assert meta == {
        "qd-124": {**fx.QD_META, "doc_number": "124/QĐ-UBND", "signer": "Lê Thị Hoa",
                   "published": "2024-03-06T00:00:00"},
        "qd-123": {**fx.QD_META, "published": "2024-03-05T00:00:00"},
    }


def test_a_record_number_decides_its_type_over_a_heading_in_the_text(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    record = {"id": "ct-01", "body": fx.qd_text(), "doc_number": "01/CT-UBND"}
    (folder / "a.jsonl").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    run(tmp_path / "index", folder)
    assert stored(tmp_path / "index")["ct-01"]["doc_type"] == "Chỉ thị"


# --- visibility ----------------------------------------------------------------------------

@pytest.mark.parametrize("record, flag, marker, expected", [
    (None, None, None, "public"),
    (None, "internal", None, "internal"),
    (None, None, "internal", "internal"),
    (None, None, "nội bộ\n", "internal"),
    (None, None, "\ufeffInternal\r\n", "internal"),          # saved by Notepad
    (None, "public", "internal", "internal"),                # a flag cannot publish a folder
    (None, "internal", "public", "internal"),
    (None, None, "công khai", "public"),
    ("public", "internal", "internal", "public"),            # the record is the most specific
    ("internal", "public", "public", "internal"),
])
def test_visibility_precedence(tmp_path, record, flag, marker, expected):
    folder = tmp_path / "ward"
    folder.mkdir()
    extra = {"visibility": record} if record else {}
    (folder / "tin-tuc.jsonl").write_text(news_line(0, **extra), encoding="utf-8")
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    if marker:
        (folder / ".visibility").write_text(marker, encoding="utf-8")
    run(tmp_path / "index", folder, visibility=flag)
    docs = stored(tmp_path / "index")
    assert docs["tin-tuc.jsonl#1"]["visibility"] == expected
    assert docs["bai.txt"]["visibility"] == (expected if record is None else
                                             "internal" if "internal" in (flag, marker)
                                             else "public")


def test_a_marker_above_the_ingested_folder_still_applies(tmp_path):
    (tmp_path / "noi-bo" / "2024").mkdir(parents=True)
    (tmp_path / "noi-bo" / ".visibility").write_text("internal", encoding="utf-8")
    (tmp_path / "noi-bo" / "2024" / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    run(tmp_path / "index", tmp_path / "noi-bo" / "2024")
    assert stored(tmp_path / "index")["bai.txt"]["visibility"] == "internal"


def test_the_nearest_marker_wins(tmp_path):
    folder = tmp_path / "ward"
    (folder / "noi-bo" / "cong-khai").mkdir(parents=True)
    (folder / "noi-bo" / ".visibility").write_text("internal", encoding="utf-8")
    (folder / "noi-bo" / "cong-khai" / ".visibility").write_text("public", encoding="utf-8")
    (folder / "noi-bo" / "a.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    (folder / "noi-bo" / "cong-khai" / "b.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    run(tmp_path / "index", folder)
    assert {k: v["visibility"] for k, v in stored(tmp_path / "index").items()} == {
        "noi-bo/a.txt": "internal", "noi-bo/cong-khai/b.txt": "public"}


def test_adding_a_marker_makes_unchanged_files_internal_on_the_next_sync(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder, sync=True)
    (folder / "van-ban" / ".visibility").write_text("internal", encoding="utf-8")

    summary = run(index, folder, sync=True)

    assert {k: v for k, v in doc_outcomes(summary).items() if v != "skipped"} == {
        "van-ban/quyet-dinh-123.docx": "updated", "van-ban/bao-cao-08.pdf": "updated",
        "van-ban/nghi-quyet-15.txt": "updated"}
    assert {k for k, v in stored(index).items() if v["visibility"] == "internal"} == {
        "van-ban/quyet-dinh-123.docx", "van-ban/bao-cao-08.pdf", "van-ban/nghi-quyet-15.txt"}


def test_a_document_turning_public_is_reported_as_a_warning(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    run(tmp_path / "index", folder, visibility="internal")
    summary = run(tmp_path / "index", folder)
    assert [f.warnings for f in summary.files] == [["bai.txt: was internal, is now public"]]
    assert stored(tmp_path / "index")["bai.txt"]["visibility"] == "public"


def test_a_marker_with_an_unknown_word_fails_its_files_instead_of_publishing_them(tmp_path):
    folder = tmp_path / "ward"
    (folder / "mat").mkdir(parents=True)
    (folder / "mat" / ".visibility").write_text("secret", encoding="utf-8")
    (folder / "mat" / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(tmp_path / "index", folder)
    assert failures(summary, folder) == {
        "mat/bai.txt": f"{folder / 'mat' / '.visibility'}: expected 'internal' or 'public', "
                       "found 'secret'"}
    assert set(stored(tmp_path / "index")) == {"bai.txt"}


# --- bad input -----------------------------------------------------------------------------

def _random_bytes(size: int = 3000) -> bytes:
    return random.Random(7).randbytes(size)


def _half(data: bytes) -> bytes:
    return data[:len(data) // 2]


# Scans, images and Word 97-2003 files are read since #10: their bad cases are in
# tests/ingest/test_archives.py.
BAD_FILES = [
    ("rong.txt", lambda: b"", "empty file"),
    ("ngau-nhien.txt", _random_bytes, "not a text file (content is unrecognized binary data)"),
    ("ngau-nhien.pdf", _random_bytes, "not a PDF file (content is unrecognized binary data)"),
    ("cut.docx", lambda: _half(_docx_bytes()),
     "corrupt DOCX: the file is damaged or truncated (File is not a zip file)"),
    ("cut.pdf", lambda: fx.pdf_bytes(fx.BC_LINES)[:200],
     "corrupt PDF: Stream has ended unexpectedly"),
    ("bang.xlsx", fx.docx_without_document_xml, "unsupported file type .xlsx (a spreadsheet)"),
    ("hong.jsonl", lambda: b'{"title": "a"}\n{oops\n',
     "line 2: not valid JSON (Expecting property name enclosed in double quotes)"),
    ("kieu.jsonl", lambda: b'{"title": ["a"], "body": "b"}\n',
     "document 1 (kieu.jsonl#1): title: expected text, found list"),
    ("surrogate.jsonl", lambda: b'{"title": "a\\ud800", "body": "b"}\n',
     "document 1 (kieu.jsonl#1): title: holds characters that are not valid Unicode"
     .replace("kieu", "surrogate")),
    ("views.jsonl", lambda: b'{"title": "a", "views": 99999999999999999999999}\n',
     "document 1 (views.jsonl#1): views: out of range: 99999999999999999999999"),
]


def _docx_bytes() -> bytes:
    import io

    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Quyết định thành lập Tổ công tác rà soát hộ nghèo")
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name, make, reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_reported_and_the_run_carries_on(tmp_path, name, make, reason):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / name).write_bytes(make())
    (folder / "z-bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(tmp_path / "index", folder)
    assert failures(summary, folder) == {name: reason}
    assert counts(summary) == (1, 0, 0, 0, 1)
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


def test_a_page_nested_deeper_than_pythons_stack_is_read(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    # 5,000 nested <div>: more than Python's recursion limit, so the page is walked without
    # recursion (tests/ingest/test_ingest_attacks.py goes to 100,000).
    (folder / "long-nhau.html").write_text(
        "<html><body>" + "<div>" * 5000 + "Phường Phúc Lợi ra quân" + "</div>" * 5000 +
        "</body></html>", encoding="utf-8")
    (folder / "z-bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(tmp_path / "index", folder)
    assert file_outcomes(summary, folder) == {"long-nhau.html": "added", "z-bai.txt": "added"}
    assert stored(tmp_path / "index")["long-nhau.html"]["body"] == "Phường Phúc Lợi ra quân"


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / "lon.txt").write_bytes(EXPORT_TEXT.encode() * 20)      # 7,720 bytes
    (folder / "nho.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(tmp_path / "index", folder, max_file_mb=0.002)
    assert failures(summary, folder) == {
        "lon.txt": "file is 0.00736 MB, over the 0.002 MB limit"}
    assert set(stored(tmp_path / "index")) == {"nho.txt"}


def test_a_file_over_the_time_budget_is_stopped_and_the_next_ones_are_read(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    # A million drawing operators in a 100 KB page: about 90 s of text extraction.
    (folder / "a-cham.pdf").write_bytes(fx.slow_pdf_bytes(1_000_000))
    fx.write_pdf(folder)
    (folder / "z-bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    summary = run(tmp_path / "index", folder, max_seconds_per_file=2)
    assert failures(summary, folder) == {
        "a-cham.pdf": "reading the file took over the 2 s allowed per file "
                      "(SEARCH_MAX_SECONDS_PER_FILE); it was stopped"}
    assert set(stored(tmp_path / "index")) == {"bao-cao-08.pdf", "z-bai.txt"}


def test_a_file_that_turns_bad_keeps_its_previous_document(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder, sync=True)
    before = stored(index)
    docx_path = folder / "van-ban" / "quyet-dinh-123.docx"
    docx_path.write_bytes(_half(docx_path.read_bytes()))

    summary = run(index, folder, sync=True)

    assert counts(summary) == (0, 0, 7, 0, 1)
    assert stored(index) == before


# --- one commit per run --------------------------------------------------------------------

def test_a_crash_mid_run_leaves_the_index_exactly_as_it_was(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder, sync=True)
    before = stored(index)
    (folder / EXPORT_ID).write_text(EXPORT_TEXT.replace("510", "999"), encoding="utf-8")
    (folder / "tin" / "thong-bao-12.txt").write_text(ANNOUNCEMENT, encoding="utf-8")
    (folder / "van-ban.jsonl").unlink()

    def interrupted(files):
        yield from files[:3]
        raise KeyboardInterrupt         # Ctrl+C after three files have been written

    with pytest.raises(KeyboardInterrupt):
        run(index, folder, sync=True, progress=interrupted)

    assert stored(index) == before
    assert counts(run(index, folder, sync=True)) == (1, 1, 5, 2, 0)   # the lock was released


def test_a_second_writer_gets_a_clear_error_and_changes_nothing(tmp_path):
    folder, index = ward_folder(tmp_path / "ward"), tmp_path / "index"
    run(index, folder)
    (folder / "tin" / "thong-bao-12.txt").write_text(ANNOUNCEMENT, encoding="utf-8")
    writer = open_index(index).writer()
    try:
        with pytest.raises(IndexUnavailable) as caught:
            run(index, folder)
    finally:
        writer.cancel()
    assert str(caught.value) == (f"the index in {index} is being written by another run (it is "
                                 "locked); try again when that run has finished")
    assert set(stored(index)) == WARD_IDS


# --- the report ----------------------------------------------------------------------------

def test_report_lists_every_file_with_outcome_error_and_metadata(tmp_path):
    folder, index = tmp_path / "ward", tmp_path / "index"
    folder.mkdir()
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    fx.write_docx(folder)
    (folder / "hong.pdf").write_bytes(b"%PDF-1.7\n")
    (folder / "van-ban.jsonl").write_text(doc_line(7), encoding="utf-8")
    run(index, folder)
    (folder / "bai.txt").unlink()
    report = run(index, folder, sync=True).to_json()

    assert report.pop("seconds") >= 0
    assert report == {
        "added": 0, "updated": 0, "skipped": 2, "deleted": 1, "failed": 1,
        "files": [
            {"path": str(folder / "hong.pdf"), "outcome": "failed", "documents": [],
             "error": "corrupt PDF: Stream has ended unexpectedly", "warnings": []},
            {"path": str(folder / "quyet-dinh-123.docx"), "outcome": "skipped", "error": None,
             "warnings": [],
             "documents": [{"id": "quyet-dinh-123.docx", **fx.QD_META,
                            "published": "2024-03-05T00:00:00", "visibility": "public",
                            "outcome": "skipped"}]},
            {"path": str(folder / "van-ban.jsonl"), "outcome": "skipped", "error": None,
             "warnings": [],
             "documents": [{"id": "noi-bo-tt-07", "title": WEB_DOCUMENTS[7]["title"],
                            "doc_type": "Tờ trình", "doc_number": "07/TTr-UBND",
                            "issuer": "Văn phòng Đảng ủy", "published": "2019-11-20T00:00:00",
                            "category": "Công tác cán bộ", "visibility": "internal",
                            "outcome": "skipped"}]},
            {"path": str((folder / "bai.txt").resolve()), "outcome": "deleted", "error": None,
             "warnings": [],
             "documents": [{"id": "bai.txt", "title": "Đảng bộ phường Phúc Lợi tổ chức hội "
                            "nghị sơ kết giữa nhiệm kỳ 2015-2020",
                            "published": "2018-04-14T10:39:00", "category": "CÔNG TÁC ĐẢNG",
                            "visibility": "public", "outcome": "deleted"}]},
        ]}


# --- the command line ----------------------------------------------------------------------

def cli(*args, env=None):
    return CliRunner(env=env).invoke(main, ["ingest", *map(str, args)])


def stderr_lines(result) -> list[str]:
    """stderr with the run time taken out of the summary line."""
    return [line.rsplit(", ", 1)[0] + ")" if line.startswith("added ") else line
            for line in result.stderr.splitlines()]


def test_cli_reports_failures_on_stderr_and_exits_1(tmp_path):
    folder = ward_folder(tmp_path / "ward")
    (folder / "rong.txt").write_bytes(b"")
    (folder / "bang.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    result = cli("--index", tmp_path / "index", folder)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert stderr_lines(result) == [
        f"failed: {folder / 'bang.xls'}: unsupported file type .xls (a spreadsheet)",
        f"failed: {folder / 'rong.txt'}: empty file",
        "added 8, updated 0, skipped 0, deleted 0, failed 2 (8 files)",
        "Error: 2 files could not be indexed (listed above); the other 6 files were indexed",
    ]


def test_cli_sync_of_a_clean_folder_exits_0_with_one_summary_line(tmp_path):
    folder = ward_folder(tmp_path / "ward")
    first = cli("--index", tmp_path / "index", "--sync", folder)
    (folder / "tin-tuc.jsonl").unlink()
    second = cli("--index", tmp_path / "index", "--sync", folder)
    assert (first.exit_code, stderr_lines(first)) == (
        0, ["added 8, updated 0, skipped 0, deleted 0, failed 0 (6 files)"])
    assert (second.exit_code, stderr_lines(second)) == (
        0, ["added 0, updated 0, skipped 6, deleted 2, failed 0 (5 files)"])


def test_cli_visibility_flag_and_report_file(tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    result = cli("--index", tmp_path / "index", "--visibility", "internal",
                 "--report", tmp_path / "bao-cao.json", folder)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bao-cao.json").read_text(encoding="utf-8"))
    assert report["files"][0]["documents"] == [{
        "id": "bai.txt", "title": "Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết giữa "
        "nhiệm kỳ 2015-2020", "published": "2018-04-14T10:39:00",
        "category": "CÔNG TÁC ĐẢNG", "visibility": "internal", "outcome": "added"}]
    again = cli("--index", tmp_path / "index", folder)
    assert stderr_lines(again) == [
        f"warning: {folder / 'bai.txt'}: bai.txt: was internal, is now public",
        "added 0, updated 1, skipped 0, deleted 0, failed 0 (1 files)"]


@pytest.mark.parametrize("args, env", [(["--max-file-mb", "1"], None),
                                       ([], {"SEARCH_MAX_FILE_MB": "1"})],
                         ids=["option", "setting"])
def test_cli_size_limit_from_the_option_or_the_setting(tmp_path, args, env):
    folder = tmp_path / "ward"
    folder.mkdir()
    (folder / "lon.txt").write_bytes(EXPORT_TEXT.encode() * 2000)     # 772,000 bytes
    (folder / "nho.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    result = cli("--index", tmp_path / "index", *args, folder, env=env)
    assert result.exit_code == 0, result.output
    (folder / "lon.txt").write_bytes(EXPORT_TEXT.encode() * 3000)     # 1,158,000 bytes
    result = cli("--index", tmp_path / "index", *args, folder, env=env)
    assert result.exit_code == 1
    assert stderr_lines(result)[0] == \
        f"failed: {folder / 'lon.txt'}: file is 1.1 MB, over the 1 MB limit"


@pytest.mark.parametrize("args, message", [
    (["{tmp}/nowhere"], "Error: no such file or folder: {tmp}/nowhere"),
    (["--sync", "{tmp}/ward", "{tmp}/ward/bai.txt"], "Error: --sync takes exactly one folder"),
    (["--sync", "{tmp}/ward/bai.txt"], "Error: --sync takes exactly one folder"),
    (["--report", "{tmp}/no/such/r.json", "{tmp}/ward"],
     "Error: cannot write the report: no folder for {tmp}/no/such/r.json"),
    (["--max-file-mb", "0", "{tmp}/ward"],
     "Error: Invalid value for '--max-file-mb': 0.0 is not in the range x>0."),
])
def test_cli_refuses_bad_arguments_before_touching_the_index(tmp_path, args, message):
    (tmp_path / "ward").mkdir()
    (tmp_path / "ward" / "bai.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    result = cli("--index", tmp_path / "index", *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code in (1, 2)
    assert result.stderr.splitlines()[-1] == message.format(tmp=tmp_path)
    assert not (tmp_path / "index").exists()


def test_cli_second_writer_is_an_error_not_a_traceback(tmp_path):
    folder = ward_folder(tmp_path / "ward")
    index = tmp_path / "index"
    writer = open_index(index).writer()
    try:
        result = cli("--index", index, folder)
    finally:
        writer.cancel()
    assert result.exit_code == 1
    assert result.stderr == (f"Error: nothing was indexed: the index in {index} is being "
                             "written by another run (it is locked); try again when that run "
                             "has finished\n")
