"""Security issue #16, ingestion side: files built the way an attacker would build them.

Each test writes real files into ``tmp_path`` and ingests them into a real index; where an
operator would hit the problem from the command line, it runs the real CLI in a subprocess.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXPORT_TEXT
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
