"""Security issue #16, ingestion side: files built the way an attacker would build them.

Each test writes real files into ``tmp_path`` and ingests them into a real index; where an
operator would hit the problem from the command line, it runs the real CLI in a subprocess.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXPORT_TEXT
from search_service.ingest import jsonl
from search_service.ingest.pipeline import ingest_paths
from search_service.schema import open_index


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


# --- #16.6: a small .jsonl.gz that inflates to gigabytes -----------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
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
