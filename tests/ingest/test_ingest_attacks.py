"""Security issue #16, ingestion side: files built the way an attacker would build them.

Each test writes real files into ``tmp_path`` and ingests them into a real index; where an
operator would hit the problem from the command line, it runs the real CLI in a subprocess.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import fixtures_files as fx
from conftest import EXPORT_TEXT
from search_service.ingest import jsonl
from search_service.ingest.pipeline import ingest_paths
from search_service.index.schema import open_index


def stored(index: Path) -> dict[str, dict]:
    with open_index(index).reader() as reader:
        return {fields["id"]: fields for fields in reader.all_stored_fields()}


def failures(summary) -> dict[str, str]:
    return {Path(f.path).name: f.error for f in summary.files if f.outcome == "failed"}


def folder_with(root: Path, files: dict[str, str | bytes]) -> Path:
    """``root`` holding ``files`` (relative path → text or bytes) and a good article."""
    for name, content in {**files, "z-bai.txt": EXPORT_TEXT}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


# --- #16.5: deeply nested HTML -------------------------------------------------------------

def nested_page(depth: int, opening: str = "<div>", closing: str = "</div>") -> str:
    return ("<html><body>" + opening * depth + "<p>Phường Phúc Lợi ra quân tổng vệ sinh môi "
            "trường, hưởng ứng Ngày Môi trường thế giới.</p>" + closing * depth
            + "</body></html>")


@pytest.mark.parametrize("opening, closing", [("<div>", "</div>"), ("<b><i>", "")],
                         ids=["divs", "unclosed-b-i"])
def test_a_page_nested_20000_deep_is_read(tmp_path, opening, closing):
    # Took 90 s with 20,000 <div>s (a quadratic pass), while holding the index's write lock.
    folder = folder_with(tmp_path / "ward", {"long-nhau.html": nested_page(20_000, opening,
                                                                           closing)})
    summary = ingest_paths(tmp_path / "index", [folder], workers=0)
    assert failures(summary) == {}
    assert stored(tmp_path / "index")["long-nhau.html"]["body"] == (
        "Phường Phúc Lợi ra quân tổng vệ sinh môi trường, hưởng ứng Ngày Môi trường thế giới.")


def test_a_page_nested_100000_deep_is_refused_with_a_reason(tmp_path):
    folder = folder_with(tmp_path / "ward", {"long-nhau.html": nested_page(100_000)})
    summary = ingest_paths(tmp_path / "index", [folder], workers=0)
    assert failures(summary) == {
        "long-nhau.html": "the web page is too large to read: 200,006 tags, over the 100,000 "
                          "read per page (save the article alone)"}
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


# --- #16.5: a time budget for every file, whatever its format -----------------------------

SLOW_PDF_OPERATIONS = 1_000_000     # a 100 KB page that takes some 90 s to extract


def test_cli_stops_a_file_over_the_time_budget_set_in_the_environment(tmp_path):
    slow = fx.slow_pdf_bytes(SLOW_PDF_OPERATIONS)
    folder = folder_with(tmp_path / "ward", {"a-cham.pdf": slow})
    done = subprocess.run([sys.executable, "-m", "search_service", "ingest", "--workers", "0",
                           "--index", str(tmp_path / "index"), str(folder)],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                          env={**os.environ, "SEARCH_MAX_SECONDS_PER_FILE": "2"})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"failed: {folder / 'a-cham.pdf'}: reading the file took over the 2 s allowed per "
        "file (SEARCH_MAX_SECONDS_PER_FILE); it was stopped")
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


def parser_processes() -> set[int]:
    """This process's parser children (the command line names the module)."""
    found = set()
    for pid in children_of(os.getpid()):
        try:
            if b"parserprocess" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_file_that_kills_the_parser_fails_alone(tmp_path):
    # What the kernel's out-of-memory killer, or a crash in a C library, does mid-file.
    slow = fx.slow_pdf_bytes(SLOW_PDF_OPERATIONS)
    folder = folder_with(tmp_path / "ward", {"a-cham.pdf": slow, "b.txt": EXPORT_TEXT})
    ingest_paths(tmp_path / "warm-up", [folder / "b.txt"], workers=0)   # the parser is ready

    def kill_the_parser_during_the_first_file(files):
        for number, entry in enumerate(files):
            if number == 0:
                threading.Timer(1.0, lambda: [os.kill(pid, signal.SIGKILL)
                                              for pid in parser_processes()]).start()
            yield entry

    summary = ingest_paths(tmp_path / "index", [folder], workers=0,
                           progress=kill_the_parser_during_the_first_file)
    assert failures(summary) == {
        "a-cham.pdf": "the parser process died while reading the file (killed by SIGKILL); "
                      "it was restarted"}
    assert set(stored(tmp_path / "index")) == {"b.txt", "z-bai.txt"}


# --- #16.6: a small .jsonl.gz that inflates to gigabytes -----------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
# Runs a command and prints its exit code, its stderr and the peak memory (RSS, in KB) of it
# and every process it waited for: the CLI and its parser process.
PEAK_RSS = ("import json, resource, subprocess, sys; "
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60); "
            "print(json.dumps([done.returncode, done.stderr, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")


def cli_with_peak_memory(*args) -> tuple[int, list[str], float]:
    """``(exit code, stderr lines, peak RSS in MB)`` of ``python -m search_service ingest``."""
    command = [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "search_service",
               "ingest", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, cwd=REPO_ROOT,
                          check=True)
    code, stderr, peak_kb = json.loads(done.stdout)
    return code, stderr.splitlines(), peak_kb / 1024


def gzip_bomb(first_line: str, megabytes: int) -> bytes:
    """``first_line``, then ``megabytes`` MB of empty lines, gzip-compressed to ~1 KB a MB.

    One compressed megabyte repeated as gzip members: gzip readers (and ours) read the
    members as one stream, and the test does not spend seconds compressing 200 MB.
    """
    member = gzip.compress(b"\n" * (1 << 20), compresslevel=9)
    return gzip.compress(first_line.encode() + b"\n") + member * megabytes


def test_a_gzip_bomb_is_refused_while_inflating_with_bounded_memory(tmp_path):
    folder = folder_with(tmp_path / "ward", {})
    index = tmp_path / "index"
    ingest_paths(index, [folder], workers=0)
    before = stored(index)
    record = json.dumps({"title": "Thông báo", "body": "Lịch tiếp công dân"}, ensure_ascii=False)
    bomb = gzip_bomb(record, megabytes=200)           # 200 MB inflated
    assert len(bomb) < 300_000
    (folder / "tin-tuc.jsonl.gz").write_bytes(bomb)

    code, stderr, peak_mb = cli_with_peak_memory("--index", index, "--max-file-mb", "1",
                                                 folder)

    assert (code, stderr[0]) == (1, f"failed: {folder / 'tin-tuc.jsonl.gz'}: the file "
                                    "inflates to over 1 MB, the limit per file")
    assert peak_mb < 120, f"peak memory {peak_mb:.0f} MB: the bomb was inflated whole"
    assert stored(index) == before


def test_a_record_over_the_record_limit_fails_its_file(tmp_path):
    big = json.dumps({"title": "Báo cáo", "body": "phường " * (jsonl.MAX_RECORD_MB * 150_000)},
                     ensure_ascii=False)
    small = json.dumps({"title": "Thông báo", "body": "Lịch tiếp công dân"}, ensure_ascii=False)
    folder = folder_with(tmp_path / "ward", {"van-ban.jsonl": f"{small}\n{big}\n"})
    summary = ingest_paths(tmp_path / "index", [folder], workers=0, max_file_mb=20)
    assert failures(summary) == {
        "van-ban.jsonl": f"line 2: the record is over {jsonl.MAX_RECORD_MB} MB, the limit per "
                         "record"}
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


# --- #16.3: symbolic links out of the ingested folder ---------------------------------------

OUT = "refused: a symbolic link leading out of the ingested folder"
SECRET = "Bảng lương cán bộ năm 2024: mật, không công bố.\n"


def refused(summary) -> dict[str, str]:
    """Failed paths, relative to the folder ``ward`` they are in, and why."""
    return {Path(f.path).as_posix().split("/ward/", 1)[1]: f.error
            for f in summary.files if f.outcome == "failed"}


def ward_with_links(tmp_path: Path) -> Path:
    """A public ward folder, an internal folder inside it, and secrets outside it."""
    outside = tmp_path / "bi-mat"
    (outside / "ho-so").mkdir(parents=True)
    (outside / "luong.txt").write_text(SECRET, encoding="utf-8")
    (outside / "ho-so" / "can-bo.txt").write_text(SECRET, encoding="utf-8")
    ward = folder_with(tmp_path / "ward", {"noi-bo/.visibility": "internal",
                                           "noi-bo/to-trinh.txt": SECRET,
                                           "cong-khai/bai.txt": EXPORT_TEXT})
    (ward / "tin").mkdir()
    (ward / "tin" / "luong.txt").symlink_to(outside / "luong.txt")
    (ward / "tin" / "to-trinh.txt").symlink_to(ward / "noi-bo" / "to-trinh.txt")
    (ward / "tin" / "ho-so").symlink_to(outside / "ho-so", target_is_directory=True)
    (ward / "tin" / "cung-thu-muc").symlink_to(ward / "cong-khai", target_is_directory=True)
    (ward / "tin" / "bai-cu.txt").symlink_to(Path("..") / "cong-khai" / "bai.txt")
    return ward


def test_links_out_of_the_folder_or_into_an_internal_one_are_refused(tmp_path):
    ward = ward_with_links(tmp_path)
    summary = ingest_paths(tmp_path / "index", [ward], workers=0)
    assert refused(summary) == {
        "tin/ho-so": OUT, "tin/luong.txt": OUT,
        "tin/to-trinh.txt": "refused: a symbolic link from a public folder to a file in an "
                            "internal folder"}
    docs = stored(tmp_path / "index")
    # A link that stays inside, at the same visibility, reads its file once (where it is
    # first met); a link to a folder inside is not descended: its files are read in place.
    assert {k: v["visibility"] for k, v in docs.items()} == {
        "cong-khai/bai.txt": "public", "noi-bo/to-trinh.txt": "internal",
        "z-bai.txt": "public"}
    assert not [d for d in docs.values() if "lương" in d.get("body", "")
                and d["visibility"] == "public"]


def test_a_link_to_the_servers_password_file_is_refused(tmp_path):
    if not Path("/etc/passwd").is_file():
        pytest.skip("no /etc/passwd here")
    ward = folder_with(tmp_path / "ward", {})
    (ward / "passwd.txt").symlink_to("/etc/passwd")
    summary = ingest_paths(tmp_path / "index", [ward], workers=0)
    assert refused(summary) == {"passwd.txt": OUT}
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


def test_a_file_swapped_for_a_link_during_the_run_is_refused(tmp_path):
    ward = folder_with(tmp_path / "ward", {"a.txt": EXPORT_TEXT})
    (tmp_path / "luong.txt").write_text(SECRET, encoding="utf-8")

    def swap_after_the_walk(files):
        (ward / "a.txt").unlink()                       # the attacker wins the race
        (ward / "a.txt").symlink_to(tmp_path / "luong.txt")
        yield from files

    summary = ingest_paths(tmp_path / "index", [ward], workers=0,
                           progress=swap_after_the_walk)
    assert refused(summary) == {"a.txt": OUT}
    assert set(stored(tmp_path / "index")) == {"z-bai.txt"}


def test_a_file_swapped_for_a_fifo_during_the_run_fails_instead_of_hanging(tmp_path):
    ward = folder_with(tmp_path / "ward", {"a.txt": EXPORT_TEXT})

    def swap_after_the_walk(files):
        (ward / "a.txt").unlink()
        os.mkfifo(ward / "a.txt")                       # open() for reading would block
        yield from files

    result = {}
    thread = threading.Thread(target=lambda: result.update(summary=ingest_paths(
        tmp_path / "index", [ward], workers=0, progress=swap_after_the_walk)))
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():                               # unblock it, then fail
        os.close(os.open(ward / "a.txt", os.O_WRONLY | os.O_NONBLOCK))
        thread.join()
        pytest.fail("ingest blocked on a FIFO")
    assert refused(result["summary"]) == {"a.txt": "not a regular file"}


def test_cli_refuses_links_given_directly_by_a_shell_glob(tmp_path):
    (tmp_path / "bi-mat" / "ho-so").mkdir(parents=True)
    (tmp_path / "bi-mat" / "luong.txt").write_text(SECRET, encoding="utf-8")
    (tmp_path / "bi-mat" / "ho-so" / "can-bo.txt").write_text(SECRET, encoding="utf-8")
    tin = folder_with(tmp_path / "ward" / "tin", {"noi-bo/.visibility": "internal",
                                                  "noi-bo/to-trinh.txt": SECRET})
    (tin / "luong.txt").symlink_to(tmp_path / "bi-mat" / "luong.txt")
    (tin / "ho-so").symlink_to(tmp_path / "bi-mat" / "ho-so", target_is_directory=True)
    (tin / "to-trinh.txt").symlink_to(Path("noi-bo") / "to-trinh.txt")
    hint = " (name its target if you mean to ingest it)"

    done = subprocess.run([sys.executable, "-m", "search_service", "ingest", "--workers", "0",
                           "--index", str(tmp_path / "index"),
                           *sorted(map(str, tin.iterdir()))],             # ingest ward/tin/*
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)

    assert done.returncode == 1
    assert done.stderr.splitlines()[:3] == [
        f"failed: {tin / 'ho-so'}: {OUT}{hint}",
        f"failed: {tin / 'luong.txt'}: {OUT}{hint}",
        f"failed: {tin / 'to-trinh.txt'}: refused: a symbolic link from a public folder to a "
        f"file in an internal folder{hint}"]
    assert {k: v["visibility"] for k, v in stored(tmp_path / "index").items()} == {
        "z-bai.txt": "public", "to-trinh.txt": "internal"}      # noi-bo/ was given as a folder


# --- #16.9b: what runs leave in the index folder; #12: workers die with their run ---------

def listing(index: Path) -> dict[str, int]:
    """Every file and folder in the index folder, with its size (folders: -1)."""
    return {p.relative_to(index).as_posix(): p.stat().st_size if p.is_file() else -1
            for p in sorted(index.rglob("*"))}


@pytest.mark.parametrize("workers", [0, 1])
def test_a_run_that_changes_nothing_leaves_the_index_folder_as_it_was(tmp_path, workers):
    # Over a megabyte of input starts the worker processes with the run, before anything is
    # known to have changed; the unreadable picture fails on every run.
    folder = folder_with(tmp_path / "ward", {"anh.jpg": b"\xff\xd8\xff\xe0" + bytes(1 << 20)})
    index = tmp_path / "index"
    ingest_paths(index, [folder], workers=workers)
    before = listing(index)

    summary = ingest_paths(index, [folder], workers=workers)

    assert (summary.skipped, summary.failed) == (1, 1)
    assert listing(index) == before


def dead_pid() -> int:
    """The id of a process that has just ended (and been reaped)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait(timeout=30)
    return done.pid


def test_temporary_folders_of_killed_workers_are_removed_by_the_next_run(tmp_path):
    folder, index = folder_with(tmp_path / "ward", {}), tmp_path / "index"
    ingest_paths(index, [folder], workers=0)
    before = listing(index)
    stale = index / f"documents.{dead_pid()}.tmp"       # what a kill -9 of a run leaves
    stale.mkdir()
    (stale / "abc.postings").write_bytes(bytes(1000))
    live = index / f"documents.{os.getpid()}.tmp"       # a process by that id still runs
    live.mkdir()

    ingest_paths(index, [folder], workers=0)

    assert listing(index) == {**before, live.name: -1}


def children_of(pid: int) -> set[int]:
    """Ids of the live processes whose parent is ``pid`` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue                                    # it ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"                                 # a zombie has ended


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def news_jsonl(count: int) -> str:
    body = ("Ủy ban nhân dân phường Phúc Lợi tổ chức hội nghị triển khai công tác phòng cháy "
            "chữa cháy, vệ sinh môi trường và rà soát hộ nghèo trên địa bàn các tổ dân phố. ")
    return "".join(json.dumps({"id": f"tin-{n}", "title": f"Tin số {n} của phường Phúc Lợi",
                               "body": body * 6}, ensure_ascii=False) + "\n"
                   for n in range(count))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_ingest_leaves_no_process_behind_and_the_next_run_succeeds(tmp_path):
    index = tmp_path / "index"
    ingest_paths(index, [folder_with(tmp_path / "ward", {})], workers=0)
    big = tmp_path / "lon"
    big.mkdir()
    (big / "tin-tuc.jsonl").write_text(news_jsonl(3000), encoding="utf-8")      # 3.6 MB
    run = subprocess.Popen([sys.executable, "-m", "search_service", "ingest", "--workers", "2",
                            "--index", str(index), str(big)], cwd=REPO_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Both indexing workers have opened their segment (their temporary folders exist).
        assert wait_for(lambda: len(list(index.glob("documents.*.tmp"))) >= 2, 30)
        children = children_of(run.pid)
        assert len(children) >= 3               # two indexing workers and the parser process
    finally:
        run.kill()                               # kill -9
        run.wait(timeout=30)

    assert wait_for(lambda: not any(map(alive, children)), 10), \
        f"still running after their parent was killed: {sorted(filter(alive, children))}"
    assert list(index.glob("documents.*.tmp"))  # what the next run must clean
    assert open_index(index).doc_count() == 1

    (tmp_path / "bai-moi.txt").write_text(EXPORT_TEXT, encoding="utf-8")
    nxt = subprocess.run([sys.executable, "-m", "search_service", "ingest", "--workers", "0",
                          "--index", str(index), str(tmp_path / "bai-moi.txt")],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert nxt.returncode == 0, nxt.stderr
    assert nxt.stderr.startswith("added 1, updated 0, skipped 0, deleted 0, failed 0 (")
    assert open_index(index).doc_count() == 2
    assert not list(index.glob("*.tmp")), nxt.stderr
