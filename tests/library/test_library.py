"""The ward's document library: real SQLite files and real originals in tmp_path, no mocks.

Read top to bottom: the schema and its upgrades; the one rule of effective metadata (what a
person corrected is never overwritten by a guess); originals by content hash; listing and
changing documents with their audit trail; accounts and tokens; several writers at once;
backup and restore (including hostile archives); rebuilding the search index from the
library; and the command-line shells.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import unicodedata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DATA_DIR, FAST_HASH, REPO_ROOT, search_results

from search_service.library import (Conflict, InvalidValue, Library, NotFound, SchemaTooNew,
                                    effective_metadata)
from search_service.library.backup import backup, restore
from search_service.library.commands import default_library_dir, register
from search_service.library.database import connect
from search_service.library.migrations import SCHEMA_VERSION, migrate
from search_service.library.reindex import documents_for_index, reindex

QD_TEXT = ("ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI\nSố: 123/QĐ-UBND\n"
           "QUYẾT ĐỊNH\nVề việc thành lập Tổ công tác rà soát hộ nghèo\n")


def add(library, text: str = QD_TEXT, actor: str = "can_bo", **record):
    """Add a document whose original is ``text``; ``record`` is what a parser read."""
    record.setdefault("title", "Quyết định thành lập Tổ công tác rà soát hộ nghèo")
    record.setdefault("body", text)
    doc, created = library.add_document(text.encode(), name="qd-123.txt", record=record,
                                        actor=actor)
    assert created
    return doc


def schema_of(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "ORDER BY type, name").fetchall()
    finally:
        conn.close()


# -- schema --------------------------------------------------------------------------------------

def test_a_new_library_is_a_wal_database_at_the_current_version(library):
    conn = library.db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {row[1] for row in schema_of(library.db.path) if row[0] == "table"} >= {
        "documents", "audit", "users", "api_tokens"}


@pytest.mark.parametrize("start", range(1, SCHEMA_VERSION))
def test_a_library_upgraded_step_by_step_equals_a_new_one(tmp_path, start):
    old = tmp_path / "old" / "library.sqlite3"
    old.parent.mkdir()
    conn = connect(old)
    migrate(conn, target=start)
    conn.execute("INSERT INTO documents (id, title, body, original_name, media_type, "
                 "original_size, sha256, created, updated) VALUES ('cu', 'Tin cũ', 'Nội dung', "
                 "'cu.txt', 'text/plain', 8, ?, '2020-01-01', '2020-01-01')", ("a" * 64,))
    conn.close()
    with Library(old.parent) as upgraded:
        assert upgraded.get("cu").title == "Tin cũ"           # data survives the upgrade
    with Library(tmp_path / "new"):
        pass
    assert schema_of(old) == schema_of(tmp_path / "new" / "library.sqlite3")
    assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_library_from_a_newer_program_is_refused_untouched(tmp_path):
    path = tmp_path / "library.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade the program"):
        Library(tmp_path)
    assert schema_of(path) == []


def test_many_threads_opening_a_new_library_apply_each_step_once(tmp_path):
    errors, libraries = [], []

    def open_it():
        try:
            libraries.append(Library(tmp_path / "lib"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for lib in libraries:
        lib.close()
    assert sqlite3.connect(tmp_path / "lib" / "library.sqlite3").execute(
        "PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# -- effective metadata: the one rule -----------------------------------------------------------

@pytest.mark.parametrize("guessed, corrections, expected", [
    ({"doc_type": "Quyết định"}, {}, {"doc_type": "Quyết định"}),
    ({"doc_type": "Quyết định"}, {"doc_type": {"value": "Kế hoạch"}}, {"doc_type": "Kế hoạch"}),
    # Confirmed: the same value as the guess, still the person's.
    ({"doc_type": "Quyết định"}, {"doc_type": {"value": "Quyết định"}},
     {"doc_type": "Quyết định"}),
    # Cleared by a person: the guess is hidden.
    ({"doc_type": "Quyết định", "issuer": "UBND"}, {"issuer": {"value": None}},
     {"doc_type": "Quyết định"}),
    # A correction of a field nobody guessed.
    ({}, {"signer": {"value": "Nguyễn Văn Hùng"}}, {"signer": "Nguyễn Văn Hùng"}),
    ({"doc_type": None, "issuer": "UBND"}, {}, {"issuer": "UBND"}),
    # A number names its type when no type is given, guessed or corrected.
    ({"doc_number": "32/KH-UBND"}, {}, {"doc_number": "32/KH-UBND", "doc_type": "Kế hoạch"}),
    ({"doc_number": "32/KH-UBND"}, {"doc_number": {"value": "15/NQ-ĐU"}},
     {"doc_number": "15/NQ-ĐU", "doc_type": "Nghị quyết"}),
    ({"doc_number": "32/KH-UBND", "doc_type": "Chương trình"}, {},
     {"doc_number": "32/KH-UBND", "doc_type": "Chương trình"}),
    ({"doc_number": "32/KH-UBND", "doc_type": "Chương trình"}, {"doc_type": {"value": None}},
     {"doc_number": "32/KH-UBND", "doc_type": "Kế hoạch"}),
])
def test_effective_metadata_overlays_corrections_on_guesses(guessed, corrections, expected):
    assert effective_metadata(guessed, corrections) == expected


def test_a_corrected_field_survives_a_new_guess(library):
    doc = add(library, doc_type="Quyết định", issuer="UBND phường Phúc Lợi")
    library.correct(doc.id, {"doc_type": "Kế hoạch"}, actor="thu_ky")
    after = library.reguess(doc.id, actor="ingest", record={
        "title": "Quyết định mới", "body": QD_TEXT, "doc_type": "Chỉ thị",
        "issuer": "UBND quận Long Biên"})
    assert after.metadata == {"title": "Quyết định mới", "doc_type": "Kế hoạch",
                              "issuer": "UBND quận Long Biên"}
    assert after.guesses == {"doc_type": "Chỉ thị", "issuer": "UBND quận Long Biên"}
    assert library.get(doc.id).metadata == after.metadata


def test_correcting_back_to_the_guess_still_counts(library):
    doc = add(library, doc_type="Quyết định")
    confirmed = library.correct(doc.id, {"doc_type": "Quyết định"}, actor="thu_ky")
    assert confirmed.corrections["doc_type"]["value"] == "Quyết định"
    assert confirmed.corrections["doc_type"]["by"] == "thu_ky"
    assert library.events(1)[0]["changes"] == {"doc_type": ["Quyết định", "Quyết định"]}
    after = library.reguess(doc.id, actor="ingest",
                            record={"body": QD_TEXT, "title": doc.title, "doc_type": "Báo cáo"})
    assert after.metadata["doc_type"] == "Quyết định"


def test_a_cleared_field_stays_cleared(library):
    doc = add(library, signer="Nguyễn Văn Hùng")
    library.correct(doc.id, {"signer": ""}, actor="thu_ky")
    after = library.reguess(doc.id, actor="ingest", record={
        "title": doc.title, "body": QD_TEXT, "signer": "Trần Minh Đức"})
    assert "signer" not in after.metadata
    assert after.corrections["signer"]["value"] is None


def test_uncorrect_hands_the_field_back_to_the_guesses(library):
    doc = add(library, doc_type="Quyết định")
    library.correct(doc.id, {"doc_type": "Kế hoạch", "issuer": "HĐND phường"}, actor="thu_ky")
    after = library.uncorrect(doc.id, ["doc_type"], actor="thu_ky")
    assert after.metadata["doc_type"] == "Quyết định"
    assert after.metadata["issuer"] == "HĐND phường"
    assert list(after.corrections) == ["issuer"]
    assert library.events(1)[0] == {
        "at": after.updated, "actor": "thu_ky", "action": "uncorrect", "document_id": doc.id,
        "changes": {"doc_type": ["Kế hoạch", "Quyết định"]}}


def test_re_reading_the_same_file_writes_nothing(library):
    doc = add(library, doc_type="Quyết định")
    same = library.reguess(doc.id, actor="ingest", record={
        "title": doc.title, "body": QD_TEXT, "doc_type": "Quyết định"})
    assert same == doc
    assert [e["action"] for e in library.events()] == ["add"]


def test_re_reading_a_changed_file_replaces_its_original(library):
    doc = add(library)
    old_path = library.originals.path(doc.original.sha256)
    new_text = QD_TEXT + "Điều 1. Thành lập Tổ công tác.\n"
    after = library.reguess(doc.id, actor="ingest", data=new_text.encode(),
                            record={"title": doc.title, "body": new_text})
    assert after.original.sha256 == hashlib.sha256(new_text.encode()).hexdigest()
    assert after.original.name == "qd-123.txt"
    assert library.original_path(doc.id)[1].read_bytes() == new_text.encode()
    assert not old_path.exists()
    event = library.events(1)[0]
    assert event["action"] == "reguess"
    assert set(event["changes"]) == {"sha256", "text"}


@pytest.mark.parametrize("changes, message", [
    ({"published": "hôm qua"}, "published: not an ISO date"),
    ({"views": "nhiều"}, "views: not a whole number"),
    ({"views": -1}, "views: out of range"),
    ({"colour": "đỏ"}, "unknown metadata field 'colour'"),
    ({"title": "  "}, "title: a document must keep a title"),
    ({"doc_type": ["Quyết định"]}, "doc_type: expected text, found list"),
    ({}, "nothing to correct"),
])
def test_bad_corrections_are_refused_and_change_nothing(library, changes, message):
    doc = add(library)
    with pytest.raises(InvalidValue, match=message):
        library.correct(doc.id, changes, actor="thu_ky")
    assert library.get(doc.id) == doc
    assert len(library.events()) == 1


def test_corrections_are_normalized_at_the_edge(library):
    doc = add(library)
    decomposed = unicodedata.normalize("NFD", "Văn hoá - Xã hội")
    after = library.correct(doc.id, {"category": f"  {decomposed} ", "published": "2024-03-05",
                                     "views": "215"}, actor="thu_ky")
    assert after.metadata["category"] == "Văn hóa - Xã hội"
    assert after.metadata["published"] == "2024-03-05"
    assert after.metadata["views"] == 215


# -- originals ----------------------------------------------------------------------------------

def test_originals_are_kept_by_content_hash_never_by_name(library):
    data = b"%PDF-1.4 hostile name"
    doc, created = library.add_document(data, name="../../etc/passwd", actor="can_bo",
                                        record={"title": "Tệp", "body": "Nội dung"})
    sha = hashlib.sha256(data).hexdigest()
    original, path = library.original_path(doc.id)
    assert created and original.sha256 == sha and original.size == len(data)
    assert original.name == "../../etc/passwd"
    assert path == library.folder / "originals" / sha[:2] / f"{sha}.bin"
    assert path.read_bytes() == data
    assert sorted(p.name for p in library.folder.rglob("*") if p.is_file()
                  and p.parent.name != "library") == [f"{sha}.bin"]


def test_the_same_bytes_give_back_the_existing_document(library):
    first = add(library)
    again, created = library.add_document(QD_TEXT.encode(), name="ban-sao.txt", actor="khac",
                                          record={"title": "Bản sao", "body": "x"})
    assert (again, created) == (first, False)
    assert library.list_documents().total == 1
    assert len(library.events()) == 1


def test_records_of_one_file_share_its_original_until_the_last_is_deleted(library):
    data = b'{"id": "a", "title": "A"}\n{"id": "b", "title": "B"}\n'
    a, _ = library.add_document(data, name="tin.jsonl", record={"id": "a", "title": "A"},
                                actor="ingest")
    b, created = library.add_document(data, name="tin.jsonl", record={"id": "b", "title": "B"},
                                      actor="ingest")
    assert created and a.original == b.original
    assert a.original.media_type == "application/jsonl"
    path = library.originals.path(a.original.sha256)
    library.delete("a", actor="thu_ky")
    assert path.exists()
    library.delete("b", actor="thu_ky")
    assert not path.exists()


def test_a_records_own_visibility_counts_unless_one_is_given(library):
    record = {"title": "Tờ trình nội bộ", "visibility": "Internal"}
    own, _ = library.add_document(b"1", name="1.txt", record=record, actor="ingest")
    given, _ = library.add_document(b"2", name="2.txt", record=record, visibility="public",
                                    actor="ingest")
    plain, _ = library.add_document(b"3", name="3.txt", record={"title": "Tin"}, actor="x")
    assert (own.visibility, given.visibility, plain.visibility) == (
        "internal", "public", "public")


def test_an_id_in_use_with_other_bytes_is_a_conflict(library):
    library.add_document(b"one", name="1.txt", record={"title": "Một"}, doc_id="qd-123",
                         actor="ingest")
    with pytest.raises(Conflict, match="'qd-123' is in use .* reguess"):
        library.add_document(b"two", name="2.txt", record={"title": "Hai"}, doc_id="qd-123",
                             actor="ingest")
    assert library.get("qd-123").title == "Một"
    assert [p.name for p in (library.folder / "originals").rglob("*.bin")] == [
        hashlib.sha256(b"one").hexdigest() + ".bin"]


def test_sweeping_removes_only_files_no_document_uses(library):
    doc = add(library)
    orphan = library.originals.path("f" * 64)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crash")
    stale = library.folder / "originals" / ".incoming-crash.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    assert library.sweep_originals() == [str(orphan), str(stale)]
    assert library.original_path(doc.id)[1].read_bytes() == QD_TEXT.encode()


@pytest.mark.parametrize("kwargs, message", [
    ({"data": b""}, "the original file is empty"),
    ({"name": "a\nb.txt"}, "name is not usable"),
    ({"record": {"title": "", "body": " "}}, "neither a title nor a body"),
    ({"record": {"title": "T", "published": "31/02/2024"}}, "published: not an ISO date"),
    ({"visibility": "secret"}, "visibility must be one of public, internal"),
    ({"text_source": "fax"}, "text_source must be one of"),
    ({"doc_id": "a\x00b"}, "not a usable document id"),
    ({"actor": " "}, "actor: every change must name who made it"),
])
def test_bad_documents_are_refused_and_nothing_is_kept(library, kwargs, message):
    args = {"data": b"x", "name": "x.txt", "record": {"title": "T"}, "actor": "can_bo", **kwargs}
    with pytest.raises(InvalidValue, match=message):
        library.add_document(args.pop("data"), **args)
    assert library.list_documents().total == 0
    assert list((library.folder / "originals").rglob("*.bin")) == []


# -- listing, deciding, deleting, the audit log -------------------------------------------------

@pytest.fixture
def shelf(library):
    """Four documents with different types, numbers, visibility and publication."""
    specs = [("kh-32", "Kế hoạch phòng cháy chữa cháy khu dân cư", "32/KH-UBND", "public"),
             ("nq-15", "Nghị quyết về công tác cán bộ", "15/NQ-ĐU", "internal"),
             ("tb-12", "Thông báo lịch tiếp công dân", "12/TB-UBND", "public"),
             ("tin-1", "Ra quân tổng vệ sinh môi trường", None, "public")]
    for doc_id, title, number, visibility in specs:
        record = {"title": title, "body": title, "doc_number": number}
        library.add_document(doc_id.encode(), name=f"{doc_id}.txt", record=record,
                             doc_id=doc_id, visibility=visibility, actor="ingest")
    library.unpublish("tb-12", actor="thu_ky")
    return library


@pytest.mark.parametrize("filters, expected", [
    ({}, ["tin-1", "tb-12", "nq-15", "kh-32"]),
    ({"visibility": "internal"}, ["nq-15"]),
    ({"is_published": False}, ["tb-12"]),
    ({"is_published": True, "visibility": "public"}, ["tin-1", "kh-32"]),
    ({"doc_type": "Kế hoạch"}, ["kh-32"]),
    ({"text": "phong chay"}, ["kh-32"]),
    ({"text": "PHÒNG CHÁY"}, ["kh-32"]),
    ({"text": "15-NQ/ĐU"}, ["nq-15"]),
    ({"text": "15 nq du"}, ["nq-15"]),
    ({"text": "100%_"}, []),
])
def test_documents_are_listed_newest_first_by_filter(shelf, filters, expected):
    page = shelf.list_documents(**filters)
    assert [d.id for d in page.documents] == expected
    assert page.total == len(expected)


def test_lists_are_paged_with_the_total_of_all_pages(shelf):
    page = shelf.list_documents(limit=3, offset=3)
    assert (page.total, [d.id for d in page.documents]) == (4, ["kh-32"])
    with pytest.raises(InvalidValue, match="limit"):
        shelf.list_documents(limit=0)


def test_filters_see_corrected_values(shelf):
    shelf.correct("tin-1", {"doc_type": "Kế hoạch", "title": "Kế hoạch tổng vệ sinh"},
                  actor="thu_ky")
    assert [d.id for d in shelf.list_documents(doc_type="Kế hoạch").documents] == [
        "tin-1", "kh-32"]
    assert [d.id for d in shelf.list_documents(text="ke hoach tong").documents] == ["tin-1"]


def test_visibility_and_publication_are_audited_with_before_and_after(shelf):
    shelf.set_visibility("kh-32", "internal", actor="truong_phong")
    shelf.set_visibility("kh-32", "internal", actor="truong_phong")    # no change, no entry
    shelf.publish("tb-12", actor="thu_ky")
    events = shelf.events(3)
    assert [(e["actor"], e["action"], e["document_id"], e["changes"]) for e in events] == [
        ("thu_ky", "publish", "tb-12", {"is_published": [False, True]}),
        ("truong_phong", "set_visibility", "kh-32", {"visibility": ["public", "internal"]}),
        ("thu_ky", "unpublish", "tb-12", {"is_published": [True, False]}),
    ]
    assert shelf.get("kh-32").visibility == "internal"
    assert shelf.get("tb-12").is_published is True


def test_deleting_keeps_the_metadata_in_the_audit_log(shelf):
    shelf.delete("nq-15", actor="truong_phong")
    with pytest.raises(NotFound, match="no document 'nq-15'"):
        shelf.get("nq-15")
    event = shelf.events(1)[0]
    assert (event["action"], event["document_id"]) == ("delete", "nq-15")
    assert event["changes"]["doc_number"] == ["15/NQ-ĐU", None]
    assert event["changes"]["visibility"] == ["internal", None]
    assert [e["action"] for e in shelf.events(document_id="nq-15")] == ["delete", "add"]


@pytest.mark.parametrize("call", [
    lambda lib: lib.get("khong-co"),
    lambda lib: lib.correct("khong-co", {"doc_type": "Kế hoạch"}, actor="a"),
    lambda lib: lib.publish("khong-co", actor="a"),
    lambda lib: lib.delete("khong-co", actor="a"),
    lambda lib: lib.reguess("khong-co", record={"title": "x"}, actor="a"),
])
def test_a_missing_document_is_not_found(library, call):
    with pytest.raises(NotFound) as info:
        call(library)
    assert (info.value.status, str(info.value)) == (404, "no document 'khong-co' in the library")


# -- accounts and tokens ------------------------------------------------------------------------

def test_users_sign_in_with_their_password_only(library):
    library.users.add("can_bo", "editor", "mật-khẩu đúng 2024", actor="cli:root")
    assert library.users.verify("can_bo", "mật-khẩu đúng 2024") == ("can_bo", "editor")
    assert library.users.verify("can_bo", "mật-khẩu sai") is None
    assert library.users.verify("nguoi_la", "mật-khẩu đúng 2024") is None
    assert library.users.verify("can_bo", None) is None
    stored = library.db.connection().execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("pbkdf2:sha256:") and "mật-khẩu" not in stored
    assert [(u["name"], u["role"]) for u in library.users.list()] == [("can_bo", "editor")]


def test_user_names_are_unique_in_any_letter_case(library):
    library.users.add("can_bo", "viewer", "12345678", actor="cli:root")
    with pytest.raises(Conflict, match="already a user called 'CAN_BO'"):
        library.users.add("CAN_BO", "editor", "12345678", actor="cli:root")


def test_a_new_password_replaces_the_old_and_removal_ends_access(library):
    library.users.add("can_bo", "viewer", "mat-khau-cu", actor="cli:root")
    library.users.set_password("can_bo", "mat-khau-moi", actor="cli:root")
    assert library.users.verify("can_bo", "mat-khau-cu") is None
    assert library.users.verify("can_bo", "mat-khau-moi") == ("can_bo", "viewer")
    library.users.remove("can_bo", actor="cli:root")
    assert library.users.verify("can_bo", "mat-khau-moi") is None
    assert [e["action"] for e in library.events()] == [
        "user_remove", "user_password", "user_add"]
    assert "mat-khau" not in json.dumps(library.events())
    with pytest.raises(NotFound, match="no user called 'can_bo'"):
        library.users.remove("can_bo", actor="cli:root")


@pytest.mark.parametrize("name, role, password, message", [
    ("can bo", "editor", "12345678", "user name must be"),
    ("", "editor", "12345678", "user name must be"),
    ("can_bo", "admin", "12345678", "role must be one of editor, viewer"),
    ("can_bo", "editor", "ngan", "a password must have 8"),
])
def test_bad_accounts_are_refused(library, name, role, password, message):
    with pytest.raises(InvalidValue, match=message):
        library.users.add(name, role, password, actor="cli:root")
    assert library.users.list() == []


def test_tokens_are_shown_once_and_stored_as_a_hash(library):
    token = library.tokens.create("trang-web", "viewer", actor="cli:root")
    assert len(token) >= 43
    assert library.tokens.verify(token) == ("trang-web", "viewer")
    assert library.tokens.verify(token + "x") is None
    dump = "\n".join(library.db.connection().iterdump())
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    [listed] = library.tokens.list()
    assert set(listed) == {"name", "role", "created", "last_used", "revoked"}
    assert listed["last_used"] is not None and listed["revoked"] is None


def test_a_revoked_token_is_refused_and_its_name_can_be_reused(library):
    old = library.tokens.create("may-quet", "editor", actor="cli:root")
    with pytest.raises(Conflict, match="already a token called 'may-quet'"):
        library.tokens.create("may-quet", "editor", actor="cli:root")
    library.tokens.revoke("may-quet", actor="cli:root")
    assert library.tokens.verify(old) is None
    new = library.tokens.create("may-quet", "viewer", actor="cli:root")
    assert library.tokens.verify(new) == ("may-quet", "viewer")
    assert [(t["role"], t["revoked"] is None) for t in library.tokens.list()] == [
        ("editor", False), ("viewer", True)]
    with pytest.raises(NotFound, match="no token called 'khac'"):
        library.tokens.revoke("khac", actor="cli:root")


# -- several writers at once ---------------------------------------------------------------------

def test_threads_correcting_one_document_lose_no_update(library):
    doc = add(library)
    fields = ["category", "issuer", "signer", "source"]

    def correct_many(field):
        for n in range(25):
            library.correct(doc.id, {field: f"{field} {n}"}, actor=f"nguoi-{field}")

    threads = [threading.Thread(target=correct_many, args=(f,)) for f in fields]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    metadata = library.get(doc.id).metadata
    assert {f: metadata[f] for f in fields} == {f: f"{f} 24" for f in fields}
    assert len(library.events(1000)) == 1 + 25 * len(fields)


def test_threads_adding_the_same_bytes_make_one_document(library):
    results = []
    barrier = threading.Barrier(6)

    def upload():
        barrier.wait()
        results.append(library.add_document(b"cung noi dung", name="a.txt", actor="x",
                                            record={"title": "Cùng"})[1])

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert library.list_documents().total == 1


WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
from search_service.library import Library
library, tag, field = Library(sys.argv[2]), sys.argv[3], sys.argv[4]
for n in range(20):
    library.add_document(f"{tag} {n}".encode(), name=f"{tag}-{n}.txt", actor=tag,
                         record={"title": f"Tin {tag} {n}", "body": "Nội dung"})
    library.correct("chung", {field: f"{tag} {n}"}, actor=tag)
"""


def test_two_processes_writing_at_once_lose_no_update(library):
    library.add_document(b"chung", name="chung.txt", doc_id="chung", actor="x",
                         record={"title": "Văn bản chung"})
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(REPO_ROOT),
                               str(library.folder), tag, field], stderr=subprocess.PIPE)
             for tag, field in (("a", "category"), ("b", "issuer"))]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    assert library.list_documents().total == 41
    metadata = library.get("chung").metadata
    assert (metadata["category"], metadata["issuer"]) == ("a 19", "b 19")
    assert len(library.events(1000)) == 81


# -- backup and restore --------------------------------------------------------------------------

def test_backup_and_restore_give_back_the_whole_library(library, tmp_path):
    doc = add(library, doc_type="Quyết định")
    library.correct(doc.id, {"doc_type": "Kế hoạch"}, actor="thu_ky")
    library.add_document(b"tin noi bo", name="noi-bo.txt", record={"title": "Nội bộ"},
                         visibility="internal", actor="ingest")
    library.users.add("can_bo", "editor", "mat-khau-dung", actor="cli:root")
    token = library.tokens.create("trang-web", "viewer", actor="cli:root")
    manifest = backup(library, tmp_path / "sao-luu.tar.gz")
    assert (manifest["documents"], manifest["originals"], manifest["missing"]) == (2, 2, [])

    assert restore(tmp_path / "sao-luu.tar.gz", tmp_path / "khoi-phuc")["documents"] == 2
    with Library(tmp_path / "khoi-phuc", password_method=FAST_HASH) as restored:
        assert [d.to_dict() for d in restored.list_documents().documents] == [
            d.to_dict() for d in library.list_documents().documents]
        assert restored.original_path(doc.id)[1].read_bytes() == QD_TEXT.encode()
        assert restored.users.verify("can_bo", "mat-khau-dung") == ("can_bo", "editor")
        assert restored.tokens.verify(token) == ("trang-web", "viewer")
        assert restored.events(100) == library.events(100)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_backup_made_while_writing_is_consistent(library, tmp_path):
    stop = threading.Event()

    def keep_writing():
        n = 0
        while not stop.is_set():
            doc, _ = library.add_document(f"ban {n}".encode(), name=f"{n}.txt", actor="ingest",
                                          record={"title": f"Bản {n}"})
            if n % 2:
                library.delete(doc.id, actor="thu_ky")
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        manifests = [backup(library, tmp_path / f"b{i}.tar.gz") for i in range(3)]
    finally:
        stop.set()
        writer.join()
    for i, manifest in enumerate(manifests):
        assert manifest["missing"] == []
        restore(tmp_path / f"b{i}.tar.gz", tmp_path / f"r{i}")
        with Library(tmp_path / f"r{i}") as restored:
            docs = restored.list_documents(limit=500).documents
            assert len(docs) == manifest["documents"]
            for doc in docs:
                assert restored.original_path(doc.id)[1].read_bytes() == f"ban {doc.title[4:]}" \
                    .encode()


def test_a_backup_names_originals_missing_from_the_folder(library, tmp_path):
    doc = add(library)
    library.originals.path(doc.original.sha256).unlink()
    manifest = backup(library, tmp_path / "b.tar.gz")
    assert manifest["missing"] == [doc.original.sha256]
    restore(tmp_path / "b.tar.gz", tmp_path / "r")      # declared missing: still restorable
    with Library(tmp_path / "r") as restored:
        assert restored.get(doc.id).title == doc.title


def test_restore_never_writes_over_a_library(library, tmp_path):
    add(library)
    backup(library, tmp_path / "b.tar.gz")
    with pytest.raises(Conflict, match="already holds a library: restore only into a folder"):
        restore(tmp_path / "b.tar.gz", library.folder)
    assert library.list_documents().total == 1
    assert sorted(p.name for p in library.folder.iterdir() if not p.name.startswith(
        "library.sqlite3")) == ["originals"]


def test_restore_leaves_other_files_of_the_folder_alone(library, tmp_path):
    add(library)
    backup(library, tmp_path / "b.tar.gz")
    folder = tmp_path / "thu-vien"
    folder.mkdir()
    (folder / ".gitkeep").write_text("")
    (folder / "sessions.sqlite3").write_bytes(b"phien dang nhap")
    restore(tmp_path / "b.tar.gz", folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitkeep", "library.sqlite3", "originals", "sessions.sqlite3"]
    assert (folder / "sessions.sqlite3").read_bytes() == b"phien dang nhap"
    with Library(folder) as restored:
        assert restored.list_documents().total == 1


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


SHA_X = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize("extra, message", [
    ([_file("../evil.txt", b"pwned")], "unexpected member '../evil.txt'"),
    ([_file("/tmp/evil-absolute.txt", b"pwned")], "unexpected member"),
    ([_file("originals/../../evil.txt", b"pwned")], "unexpected member"),
    ([_link(f"originals/{SHA_X[:2]}/{SHA_X}.bin", "/etc/passwd")], "is a link"),
    ([_link(f"originals/{SHA_X[:2]}/{SHA_X}.bin", "library.sqlite3", tarfile.LNKTYPE)],
     "is a link"),
    ([_file("notes.txt", b"hi")], "unexpected member 'notes.txt'"),
    ([_file(f"originals/{SHA_X[:2]}/{SHA_X}.bin", b"not x")], "does not match its hash"),
    ([_file(f"originals/00/{SHA_X}.bin", b"x")], "unexpected member"),
    ([_file("library.sqlite3", b"again")], "appears twice"),
])
def test_restore_refuses_hostile_archives(library, tmp_path, extra, message):
    add(library)
    backup(library, tmp_path / "good.tar.gz")
    good = _members(tmp_path / "good.tar.gz")
    hostile = _tar(tmp_path / "hostile.tar.gz",
                   [_file(n, d) for n, d in good.items()] + extra)
    with pytest.raises(InvalidValue, match=message):
        restore(hostile, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-absolute.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if "restore" in p.name] == []


def test_restore_refuses_a_backup_without_the_originals_it_names(library, tmp_path):
    add(library)
    backup(library, tmp_path / "good.tar.gz")
    kept = [_file(n, d) for n, d in _members(tmp_path / "good.tar.gz").items()
            if not n.startswith("originals/")]
    with pytest.raises(InvalidValue, match="lacks 1 original file"):
        restore(_tar(tmp_path / "thieu.tar.gz", kept), tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("members, message", [
    ([_file("manifest.json", b'{"format": 1}')], "it has no library.sqlite3"),
    ([_file("manifest.json", b'{"format": 1}'), _file("library.sqlite3", b"garbage" * 200)],
     "database is damaged"),
    ([_file("manifest.json", b'{"format": 99}'), _file("library.sqlite3", b"")],
     "unknown backup format"),
])
def test_restore_refuses_archives_that_are_not_backups(tmp_path, members, message):
    with pytest.raises(InvalidValue, match=message):
        restore(_tar(tmp_path / "x.tar.gz", members), tmp_path / "restored")
    (tmp_path / "plain.txt").write_text("không phải tar")
    with pytest.raises(InvalidValue, match="is not a library backup"):
        restore(tmp_path / "plain.txt", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


# -- the index, rebuilt from the library ---------------------------------------------------------

def load_like_ingest(library: Library, root: Path) -> None:
    """Put the files below ``root`` into the library as ``ingest`` reads them: same ids, same
    records, JSON Lines records completed with what their text suggests."""
    from search_service.documents import DocumentError
    from search_service.ingest import formats
    from search_service.ingest.pipeline import collect_files
    from search_service.ingest.prepare import prepare_document, with_guesses

    for file, base in collect_files([root]):
        data = file.read_bytes()
        kind = formats.detect(file, data)
        rel = file.relative_to(base).as_posix()
        for number, raw in enumerate(formats.PARSERS[kind](file, data), start=1):
            doc_id = str(raw.get("id") or (f"{rel}#{number}" if kind == "jsonl" else rel))
            record = {**raw, "id": doc_id}
            if kind == "jsonl":
                try:
                    prepare_document(with_guesses(record))
                    record = with_guesses(record)
                except DocumentError:
                    pass
            library.add_document(data, name=rel, record=record, actor="ingest")


QUERIES = ["hoa giai", "hòa giải", "văn hoá", "thuy dau", "ngõ 12", "phong chay", "15-NQ/ĐU",
           "15 nq du", "kế hoạch", "quý I", "hội nghị sơ kết", "Phúc Lợi", "Sen Vàng",
           "sân chơi thiếu nhi", "cán bộ", ""]


def results(index: Path, internal: bool) -> dict:
    return search_results(index, QUERIES, internal)


@pytest.fixture(scope="module")
def ingested_and_rebuilt(tmp_path_factory):
    """tests/data ingested the normal way, and the same files rebuilt through a library."""
    from search_service.ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("rebuild")
    assert ingest_paths(root / "ingested", [DATA_DIR], workers=0).failed == 0
    with Library(root / "library") as library:
        load_like_ingest(library, DATA_DIR)
        assert reindex(library, root / "rebuilt") == 26
    return root


@pytest.mark.parametrize("internal", [False, True])
def test_an_index_rebuilt_from_the_library_answers_as_the_ingested_one(ingested_and_rebuilt,
                                                                       internal):
    ingested = results(ingested_and_rebuilt / "ingested", internal)
    rebuilt = results(ingested_and_rebuilt / "rebuilt", internal)
    assert rebuilt == ingested
    assert all(ingested[q] for q in QUERIES if q != "Sen Vàng")       # the queries find things
    assert bool(ingested["Sen Vàng"]) is internal


def test_the_rebuilt_index_stores_what_ingestion_stores(ingested_and_rebuilt):
    from search_service.index.schema import open_index

    def stored(folder):     # validity (#11) is computed by the library, not by ingest
        with open_index(folder).searcher() as searcher:
            return {f["id"]: {k: v for k, v in f.items() if k not in ("path", "validity")}
                    for f in searcher.all_stored_fields()}

    assert stored(ingested_and_rebuilt / "rebuilt") == stored(ingested_and_rebuilt / "ingested")


def test_the_index_shows_corrections_and_hides_unpublished_documents(library, tmp_path):
    from search_service.search import SearchEngine, SearchRequest

    load_like_ingest(library, DATA_DIR)
    library.correct("kh-22", {"doc_type": "Chương trình"}, actor="thu_ky")
    library.unpublish("hoa-giai", actor="thu_ky")
    reindex(library, tmp_path / "index")
    engine = SearchEngine(tmp_path / "index")
    hits = engine.search(SearchRequest(q="hoa giai")).hits
    assert "hoa-giai" not in [h.id for h in hits]
    staff = engine.search(SearchRequest(q="hoa giai", include_internal=True)).hits
    assert staff[0].id == "hoa-giai" and staff[0].visibility == "internal"
    assert engine.get_document("kh-22")["doc_type"] == "Chương trình"
    assert library.get("hoa-giai").visibility == "public"     # publishing again restores it
    engine.close()


def test_documents_for_index_follow_the_order_documents_were_added(library):
    add(library)
    library.add_document(b"b", name="b.txt", record={"title": "B"}, doc_id="b", actor="x")
    library.add_document(b"a", name="a.txt", record={"title": "A"}, doc_id="a", actor="x")
    fields = list(documents_for_index(library))
    assert [f["id"] for f in fields][1:] == ["b", "a"]
    assert fields[1]["file_hash"] == hashlib.sha256(b"b").hexdigest()


def test_reindex_swaps_the_folder_a_running_engine_then_sees(library, tmp_path):
    from search_service.search import SearchEngine, SearchRequest

    index = tmp_path / "index"
    index.mkdir()
    (index / "README.md").write_text("Thư mục chỉ mục")
    add(library, title="Quyết định thành lập Tổ công tác rà soát hộ nghèo")
    reindex(library, index)
    engine = SearchEngine(index)
    assert [h.title for h in engine.search(SearchRequest(q="ho ngheo")).hits] == [
        "Quyết định thành lập Tổ công tác rà soát hộ nghèo"]
    before = engine.snapshot().generation
    library.correct(library.list_documents().documents[0].id,
                    {"title": "Quyết định về hộ nghèo năm 2024"}, actor="thu_ky")
    reindex(library, index)
    # A server installs a commit it notices only when its generation is newer.
    assert engine.refresh().generation > before
    assert [h.title for h in engine.search(SearchRequest(q="ho ngheo")).hits] == [
        "Quyết định về hộ nghèo năm 2024"]
    assert (index / "README.md").read_text() == "Thư mục chỉ mục"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "library"]
    engine.close()


def test_reindex_refuses_an_index_being_written(library, tmp_path):
    from search_service.index.schema import open_index

    add(library)
    reindex(library, tmp_path / "index")
    writer = open_index(tmp_path / "index").writer()
    try:
        with pytest.raises(Conflict, match="being written by another run"):
            reindex(library, tmp_path / "index")
    finally:
        writer.cancel()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "library"]


# -- the command line ----------------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path):
    """``cli(*args, input=None)``: run a library command through a group, as cli.py will."""
    @click.group()
    def main():
        pass

    register(main)
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(main, [*args, "--library", str(tmp_path / "library")], input=input)
    return run


def test_cli_users_add_list_passwd_remove(cli, tmp_path):
    added = cli("users", "add", "can_bo", "--role", "editor", input="mat-khau-dai\nmat-khau-dai\n")
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[-1] == "added user can_bo (editor)"
    listed = cli("users", "list")
    assert listed.stdout.split("\t")[:2] == ["can_bo", "editor"]
    changed = cli("users", "passwd", "can_bo", "--password", "mat-khau-moi")
    assert changed.stdout == "password changed for can_bo\n"
    with Library(tmp_path / "library") as library:
        assert library.users.verify("can_bo", "mat-khau-moi") == ("can_bo", "editor")
    assert cli("users", "remove", "can_bo").stdout == "removed user can_bo\n"
    missing = cli("users", "remove", "can_bo")
    assert (missing.exit_code, missing.stderr) == (1, "Error: no user called 'can_bo'\n")
    bad = cli("users", "add", "x", "--role", "editor", "--password", "ngan")
    assert (bad.exit_code, bad.stderr) == (1, "Error: a password must have 8 to 1024 characters\n")


def test_cli_tokens_print_the_token_last(cli, tmp_path):
    created = cli("tokens", "create", "trang-web", "--role", "viewer")
    assert created.exit_code == 0, created.output
    token = created.stdout.splitlines()[-1]
    with Library(tmp_path / "library") as library:
        assert library.tokens.verify(token) == ("trang-web", "viewer")
    assert token not in cli("tokens", "list").stdout
    assert cli("tokens", "list").stdout.split("\t")[:3] == ["trang-web", "viewer", "active"]
    assert cli("tokens", "revoke", "trang-web").stdout == "revoked token trang-web\n"
    assert "\trevoked " in cli("tokens", "list").stdout


def test_cli_backup_restore_and_reindex(cli, tmp_path):
    with Library(tmp_path / "library") as library:
        add(library)
    archive = tmp_path / "sao-luu.tar.gz"
    made = cli("backup", str(archive))
    assert made.stdout == f"backed up 1 documents and 1 original files to {archive}\n"
    refused = cli("restore", str(archive))
    assert refused.exit_code == 1 and "already holds a library" in refused.stderr
    runner = CliRunner()

    @click.group()
    def main():
        pass

    register(main)
    target = tmp_path / "moi"
    restored = runner.invoke(main, ["restore", "--library", str(target), str(archive)])
    assert restored.stdout == f"restored 1 documents into {target}\n"
    rebuilt = runner.invoke(main, ["reindex", "--library", str(target), "--index",
                                   str(tmp_path / "index"), "--workers", "0"])
    assert rebuilt.stdout == f"reindexed 1 documents into {tmp_path / 'index'}\n"


def test_every_command_has_help_with_an_example():
    @click.group()
    def main():
        pass

    register(main)
    runner = CliRunner()
    paths = [["users", "add"], ["users", "list"], ["users", "remove"], ["users", "passwd"],
             ["tokens", "create"], ["tokens", "list"], ["tokens", "revoke"], ["backup"],
             ["restore"], ["reindex"], ["library", "import-index"]]
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0
        text = " ".join(result.stdout.split())       # help is wrapped to the terminal
        assert "Example: python -m search_service " + " ".join(path) in text
        assert "--library" in result.stdout


def test_the_default_library_is_the_setting_or_library_at_the_repo_root(monkeypatch, tmp_path):
    from search_service import config

    monkeypatch.setenv("SEARCH_LIBRARY_DIR", str(tmp_path / "noi-khac"))
    expected = tmp_path / "noi-khac" if "LIBRARY_DIR" in config.load() else \
        REPO_ROOT / "library"
    assert default_library_dir() == expected
