"""An operator's mistakes, run through the real CLI: one clear `Error:` line, exit 1, no traceback.

Each test runs `python -m search_service ...` as a process from the repository root, on real
index folders in tmp_path: mistyped or unmounted --index paths, indexes damaged on disk,
folders the process may not read or write, and reports that cannot be written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, write_jsonl

from search_service.errors import IndexDamaged
from search_service.index.schema import check_index

REPO_ROOT = Path(__file__).resolve().parent.parent
DAMAGE_ADVICE = IndexDamaged.ADVICE
RECORDS = [
    {"id": "kh-45", "title": "Kế hoạch diễn tập phòng cháy chữa cháy tại khu dân cư",
     "body": "UBND phường Phúc Lợi xây dựng kế hoạch diễn tập phòng cháy chữa cháy.",
     "doc_number": "45/KH-UBND", "published": "2022-09-15"},
    {"id": "tb-12", "title": "Thông báo lịch tiếp công dân tháng 6",
     "body": "Chủ tịch UBND phường tiếp công dân vào thứ Năm hằng tuần.",
     "published": "2024-06-01"},
]


def run_cli(*args, env: dict | None = None, prefix: tuple = (), timeout: float = 120):
    """The CLI as an operator runs it; SEARCH_* variables only as given here, but for the
    test run's library folder (never the repository's library/)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("SEARCH_") or k == "SEARCH_LIBRARY_DIR"}
    return subprocess.run([*prefix, sys.executable, "-m", "search_service", *map(str, args)],
                          cwd=REPO_ROOT, env={**clean, "PYTHONIOENCODING": "utf-8", **(env or {})},
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


def assert_error(done, message: str) -> None:
    assert "Traceback" not in done.stderr
    assert (done.returncode, done.stderr) == (1, f"Error: {message}\n")


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    write_jsonl(folder / "van-ban.jsonl", RECORDS)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A real two-document index, built once; tests damage copies of it."""
    from search_service.ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("built")
    summary = ingest_paths(root / "index", [write_corpus(root / "corpus")], workers=0)
    assert summary.failed == 0
    return root / "index"


@pytest.fixture
def index(built, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    return copy


def segment_file(index: Path) -> Path:
    [seg] = index.glob("documents_*.seg")
    return seg


# -- serve on a folder that holds no index ----------------------------------------------------

def test_serve_on_a_missing_folder_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "khong-co"
    assert_error(run_cli("serve", "--index", missing),
                 f"no index at {missing}: the folder does not exist; build it with "
                 f"`ingest --index {missing} FILES`, or add --create to serve a new, empty "
                 "index there")
    assert not missing.exists()


def test_serve_on_a_missing_folder_from_the_environment_is_an_error_too(tmp_path):
    missing = tmp_path / "khong-co"
    done = run_cli("serve", env={"SEARCH_INDEX_DIR": str(missing)})
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: no index at {missing}: the folder does not exist;")
    assert not missing.exists()


def test_serve_on_an_empty_folder_is_an_error_and_writes_nothing(tmp_path):
    """An unmounted disk leaves its mount point as an empty folder: no samples served there."""
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    assert_error(run_cli("serve", "--index", mount_point),
                 f"no index at {mount_point}: the folder is empty (is the disk mounted?); "
                 f"build it with `ingest --index {mount_point} FILES`, or add --create to serve "
                 "a new, empty index there")
    assert list(mount_point.iterdir()) == []


@pytest.mark.parametrize("create", [False, True], ids=["plain", "create"])
def test_serve_on_a_folder_of_other_files_is_an_error_even_with_create(tmp_path, create):
    folder = write_corpus(tmp_path / "tai-lieu")
    done = run_cli("serve", "--index", folder, *(["--create"] if create else []))
    assert_error(done, f"no index at {folder}: the folder holds other files but no index (is "
                       "the path right?)" + ("; --create makes an index only in a new or empty "
                                            "folder" if create else ""))
    assert [p.name for p in folder.iterdir()] == ["van-ban.jsonl"]


def get_json(url: str, patience: float = 30) -> dict:
    """GET ``url`` directly (no proxy); the server prints its address just before it listens."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + patience
    while True:
        try:
            with opener.open(url, timeout=30) as response:
                return json.load(response)
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_create_serves_a_new_empty_index_without_samples(tmp_path):
    """The real server, started with --create on a new folder, answers with no documents."""
    folder, port = tmp_path / "moi", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    proc = subprocess.Popen([sys.executable, "-m", "search_service", "serve", "--index",
                             str(folder), "--create", "--port", str(port)], cwd=REPO_ROOT,
                            env={**env, "PYTHONIOENCODING": "utf-8"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    killer = threading.Timer(90, proc.kill)         # never hang: EOF on stderr at the latest
    killer.start()
    try:
        lines = []
        while not lines or not lines[-1].startswith("Tra cứu phường: "):
            line = proc.stderr.readline()
            assert line, f"the server stopped: {lines}"
            lines.append(line.rstrip("\n"))
        answer = get_json(f"http://127.0.0.1:{port}/api/search?q=phong+chay")
    finally:
        killer.cancel()
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert lines == [f"warning: created a new, empty index in {folder}; add documents with "
                     f"`ingest --index {folder} FILES`",
                     f"Tra cứu phường: http://127.0.0.1:{port}/"]
    assert (answer["total"], answer["hits"]) == (0, [])
    assert check_index(folder).documents == 0


# -- the decision serve makes, for the default index too (tests never touch index/) ----------

@pytest.fixture
def samples(tmp_path) -> Path:
    folder = tmp_path / "mau"
    folder.mkdir()
    write_jsonl(folder / "mau.jsonl", RECORDS[:1])
    return folder


def test_the_default_index_gets_the_samples_on_its_first_run_only(tmp_path, samples, capsys):
    from search_service.cli import index_to_serve
    from search_service.ingest.pipeline import ingest_paths

    folder = tmp_path / "index"
    info = index_to_serve(folder, default=True, create=False, sample_dir=samples)
    assert (info.documents, info.generation) == (1, 1)
    assert capsys.readouterr().err.startswith(
        "empty index: ingested the sample documents (added 1, updated 0, skipped 0, deleted 0, "
        "failed 0 (1 files, ")
    # Emptied later by a sync: it stays empty (no fake documents), with a warning.
    (samples / "mau.jsonl").unlink()
    ingest_paths(folder, [samples], sync=True, workers=0)
    info = index_to_serve(folder, default=True, create=False, sample_dir=samples)
    assert info.documents == 0
    assert capsys.readouterr().err == (f"warning: the index in {folder} has no documents; add "
                                       f"some with `ingest --index {folder} FILES`\n")


def test_the_default_index_with_create_starts_empty(tmp_path, samples, capsys):
    from search_service.cli import index_to_serve

    info = index_to_serve(tmp_path / "index", default=True, create=True, sample_dir=samples)
    assert (info.documents, info.generation) == (0, 0)
    assert "sample" not in capsys.readouterr().err


def test_an_explicit_index_is_served_as_it_is(index, samples, capsys):
    from search_service.cli import index_to_serve

    info = index_to_serve(index, default=False, create=False, sample_dir=samples)
    assert (info.documents, info.segments, info.generation) == (2, 1, 1)
    assert capsys.readouterr().err == ""


# -- a damaged index -----------------------------------------------------------------------------

def truncate_segment(index: Path) -> str:
    seg = segment_file(index)
    seg.write_bytes(seg.read_bytes()[:seg.stat().st_size // 2])
    return f"the segment file {seg.name} is truncated or corrupt (EOFError: Ran out of input)"


def empty_toc(index: Path) -> str:
    (index / "_documents_1.toc").write_bytes(b"")
    return ("the table of contents _documents_1.toc is truncated or corrupt (TypeError: ord() "
            "expected a character, but string of length 0 found)")


def delete_segment(index: Path) -> str:
    seg = segment_file(index)
    seg.unlink()
    return f"the file {seg.name} is missing"


def delete_toc(index: Path) -> str:
    (index / "_documents_1.toc").unlink()
    return "it holds segment files but no table of contents (_documents_N.toc)"


DAMAGES = [truncate_segment, empty_toc, delete_segment, delete_toc]
COMMANDS = {"search": ["search", "phong chay"], "serve": ["serve", "--port", "1"],
            "check": ["check"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
def test_a_damaged_index_is_named_with_what_to_do(index, damage, command):
    what = damage(index)
    done = run_cli(*COMMANDS[command][:1], "--index", index, *COMMANDS[command][1:])
    assert_error(done, f"the index in {index} is damaged: {what}; {DAMAGE_ADVICE}")


def corrupt_a_list_check_does_not_read(index: Path) -> None:
    """Overwrite the document numbers of one of the query's posting lists (the arrays a search
    reads, ``index/postarrays.py``) with numbers past the segment's documents. check_index reads
    no list, and cannot see every damage (Whoosh keeps no checksums); the CLI must still end
    cleanly when the search finds one."""
    from search_service.index.reader import open_generation
    from search_service.index.schema import open_index

    seg = segment_file(index)
    reader = open_generation(open_index(index, create=False)).open()
    try:
        arrays = [a for a in reader._arrays if a is not None]
        place = next(a.locate("body_f", b"phong") for a in arrays
                     if a.locate("body_f", b"phong") is not None)
    finally:
        reader.close()
    position, size = place
    data = bytearray(seg.read_bytes())
    data[position:position + size] = b"\xff" * size
    seg.write_bytes(bytes(data))
    check_index(index)                  # raises if check saw it: not the damage wanted here


def test_damage_only_a_search_finds_still_ends_cleanly(index):
    corrupt_a_list_check_does_not_read(index)
    assert run_cli("check", "--index", index).returncode == 0
    done = run_cli("search", "--index", index, "phòng cháy")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: the index in {index} is damaged: a file of the index "
                                  "is truncated or corrupt (")
    assert done.stderr.endswith(f"); {DAMAGE_ADVICE}\n")


@pytest.mark.parametrize("damage", [truncate_segment, delete_toc], ids=lambda f: f.__name__)
def test_ingest_into_a_damaged_index_writes_nothing(index, tmp_path, damage):
    what = damage(index)
    before = sorted(p.name for p in index.iterdir())
    done = run_cli("ingest", "--index", index, write_corpus(tmp_path / "moi"))
    assert_error(done, f"nothing was indexed: the index in {index} is damaged: {what}; "
                       f"{DAMAGE_ADVICE}")
    assert sorted(p.name for p in index.iterdir()) == before


def test_check_reports_a_healthy_index(index):
    done = run_cli("check", "--index", index)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"index {index} is usable: 2 documents, 1 segment, generation 1\n", "")


@pytest.mark.parametrize("setup, reason", [
    (lambda p: None, "the folder does not exist"),
    (lambda p: p.mkdir(), "the folder is empty (is the disk mounted?)"),
    (lambda p: p.write_text("x"), "it is a file, not a folder"),
], ids=["missing", "empty", "file"])
def test_check_without_an_index(tmp_path, setup, reason):
    folder = tmp_path / "index"
    setup(folder)
    assert_error(run_cli("check", env={"SEARCH_INDEX_DIR": str(folder)}),
                 f"no index at {folder}: {reason}")


# -- folders the process may not read or write ---------------------------------------------------

def _without_file_permission_override() -> tuple:
    """How to run a process that obeys file modes: as it is for a normal user; as root,
    through util-linux's setpriv without the two capabilities that let root ignore them."""
    if os.geteuid() != 0:
        return ()
    prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
    try:
        works = subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        works = False
    if not works:
        pytest.skip("running as root without setpriv: file modes would not be obeyed")
    return prefix


@pytest.fixture
def obeying_modes() -> tuple:
    return _without_file_permission_override()


@pytest.fixture
def restore_modes():
    """chmod'ed paths get their modes back, so pytest can clean tmp_path up."""
    changed = []
    yield changed
    for path, mode in changed:
        path.chmod(mode)


def chmod(restore_modes, path: Path, mode: int) -> None:
    restore_modes.append((path, path.stat().st_mode))
    path.chmod(mode)


def test_ingest_into_a_read_only_index_changes_nothing(index, tmp_path, obeying_modes,
                                                       restore_modes):
    chmod(restore_modes, index, 0o555)
    before = sorted(p.name for p in index.iterdir())
    done = run_cli("ingest", "--index", index, write_corpus(tmp_path / "moi"),
                   prefix=obeying_modes)
    # The first file the run tries to make in the folder is named (Whoosh's lock file, or a
    # temporary file when a lock file was already there).
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.fullmatch(rf"Error: nothing was indexed: cannot write the index in {index}: "
                        rf"Permission denied: {index}/[\w.]+; the user running ingest needs "
                        r"write access to the folder\n", done.stderr), done.stderr
    assert sorted(p.name for p in index.iterdir()) == before
    assert check_index(index).documents == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreadable_index_is_named(index, obeying_modes, restore_modes, command):
    toc = index / "_documents_1.toc"
    chmod(restore_modes, toc, 0)
    done = run_cli(*COMMANDS[command][:1], "--index", index, *COMMANDS[command][1:],
                   prefix=obeying_modes)
    assert_error(done, f"cannot read the index in {index}: Permission denied: {toc}; the user "
                       "running this command needs read access to the folder and its files")


def test_an_unreadable_index_folder_from_the_environment(index, obeying_modes, restore_modes):
    """(--index on an unreadable folder is refused by click itself, exit 2.)"""
    chmod(restore_modes, index, 0)
    done = run_cli("search", "phong", env={"SEARCH_INDEX_DIR": str(index)},
                   prefix=obeying_modes)
    assert_error(done, f"cannot read the index in {index}: Permission denied: {index}; the "
                       "user running this command needs read access to the folder and its files")


@pytest.mark.parametrize("sync", [False, True], ids=["plain", "sync"])
def test_ingest_of_an_unreadable_source_folder_changes_nothing(tmp_path, obeying_modes,
                                                               restore_modes, sync):
    """The folder's documents must not be dropped (by --sync) or left out without a word."""
    from search_service.ingest.pipeline import ingest_paths

    corpus = tmp_path / "moi"
    locked = write_corpus(corpus / "khoa")
    index = tmp_path / "index"
    ingest_paths(index, [corpus], workers=0)
    chmod(restore_modes, locked, 0)
    done = run_cli("ingest", "--index", index, *(["--sync"] if sync else []), corpus,
                   prefix=obeying_modes)
    assert_error(done, f"nothing was indexed: cannot read the folder {locked}: Permission "
                       "denied; the user running ingest needs read access to it (its files "
                       "would be left out, and --sync would remove their documents)")
    assert (check_index(index).documents, check_index(index).generation) == (2, 1)


@pytest.mark.parametrize("command, message", [
    (["search", "phong"], "no index at {p}: it is a file, not a folder"),
    (["serve"], "no index at {p}: it is a file, not a folder"),
    (["check"], "no index at {p}: it is a file, not a folder"),
    (["ingest", "{corpus}"], "nothing was indexed: no index at {p}: it is a file, not a folder; "
                             "ingest makes a new index only in a new or empty folder"),
])
def test_a_file_where_the_index_folder_should_be(tmp_path, command, message):
    """Refused by the operating system even to root."""
    not_a_folder = tmp_path / "index"
    not_a_folder.write_text("ghi chú", encoding="utf-8")
    corpus = write_corpus(tmp_path / "moi")
    done = run_cli(*[a.format(corpus=corpus) for a in command],
                   env={"SEARCH_INDEX_DIR": str(not_a_folder)})
    assert_error(done, message.format(p=not_a_folder))
    assert not_a_folder.read_text(encoding="utf-8") == "ghi chú"


def test_ingest_into_a_folder_of_other_files_is_refused(tmp_path):
    folder = write_corpus(tmp_path / "tai-lieu")
    assert_error(run_cli("ingest", "--index", folder, folder),
                 f"nothing was indexed: no index at {folder}: the folder holds other files but "
                 "no index (is the path right?); ingest makes a new index only in a new or "
                 "empty folder")
    assert [p.name for p in folder.iterdir()] == ["van-ban.jsonl"]


# -- the report ----------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_reported_and_the_report_is_written(tmp_path):
    corpus = write_corpus(tmp_path / "moi")
    bad = corpus / os.fsdecode(b"bad\xff.txt")
    try:
        bad.write_text("Khánh thành sân bóng tổ dân phố số 2\n\nSân bóng mở cửa.\n",
                       encoding="utf-8")
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    index, report = tmp_path / "index", tmp_path / "bao-cao.json"
    done = run_cli("ingest", "--index", index, "--report", report, corpus)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (f"failed: {corpus}/bad\\xff.txt: document 1 (bad\\xff.txt): id: holds "
                        "characters that are not valid Unicode")
    assert lines[1].startswith("added 2, updated 0, skipped 0, deleted 0, failed 1 (2 files, ")
    assert lines[2:] == ["Error: 1 file could not be indexed (listed above); the other file "
                         "was indexed"]
    written = json.loads(report.read_text(encoding="utf-8"))
    assert [(f["path"], f["outcome"]) for f in written["files"]] == [
        (f"{corpus}/bad\\xff.txt", "failed"), (f"{corpus}/van-ban.jsonl", "added")]
    assert check_index(index).documents == 2


def test_a_json_lines_file_whose_name_is_not_utf8_stops_the_run_cleanly(index, tmp_path):
    """Its records carry their own ids, but the pipeline stores the file's path in the index,
    and a name that is not UTF-8 cannot be stored: the commit fails as a whole today. The CLI
    says so and which name to fix; the index keeps its generation. (When the pipeline learns
    to store such names, this run should succeed instead.)"""
    corpus = tmp_path / "moi"
    corpus.mkdir()
    bad = corpus / os.fsdecode(b"bad\xff.jsonl")
    try:
        write_jsonl(bad, RECORDS[1:2])
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    done = run_cli("ingest", "--index", index, "--report", tmp_path / "r.json", corpus)
    assert_error(done, f"nothing was indexed: the name {corpus}/bad\\xff.jsonl is not valid "
                       "UTF-8 and cannot be stored in the index; rename it")
    assert check_index(index).generation == 1


@pytest.mark.parametrize("report, reason", [
    ("{tmp}/" + "r" * 300 + ".json", "File name too long"),
    ("/dev/full", "No space left on device"),
], ids=["name-too-long", "disk-full"])
def test_a_report_that_cannot_be_written_says_the_index_was_updated(tmp_path, report, reason):
    if report == "/dev/full" and not Path(report).exists():
        pytest.skip("no /dev/full here")
    report = report.format(tmp=tmp_path)
    index = tmp_path / "index"
    done = run_cli("ingest", "--index", index, "--report", report,
                   write_corpus(tmp_path / "moi"))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("added 2, updated 0, skipped 0, deleted 0, failed 0 (1 files, ")
    assert lines[1:] == [f"Error: the index was updated, but the report could not be written "
                         f"to {report}: {reason}"]
    assert check_index(index).documents == 2


def test_an_index_whose_last_document_has_no_date_is_healthy(tmp_path):
    """A document without a date keeps an out-of-range default in the date column: the
    check must not take it for damage (it refused every index ending with such a document)."""
    from search_service.ingest.pipeline import ingest_paths

    corpus = write_corpus(tmp_path / "corpus")
    write_jsonl(corpus / "z-khong-ngay.jsonl", [
        {"id": "khong-ngay", "title": "Tờ rơi tuyên truyền", "body": "Không ghi ngày."}])
    ingest_paths(tmp_path / "index", [corpus], workers=0)
    done = run_cli("check", "--index", tmp_path / "index")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert run_cli("search", "--index", tmp_path / "index", "tờ rơi").returncode == 0
