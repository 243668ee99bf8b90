"""Posting lists as ranking reads them equal what Whoosh's own matchers read.

``IndexReader.postings`` reads a list from the segment's arrays (``.arr``, see
``index/postarrays.py``), or, in a segment written before them, by decoding Whoosh's blocks
itself; both must give Whoosh's documents and weights, over several segments, with documents
replaced (deleted in their old segment), and terms a segment lacks.
"""

from __future__ import annotations

import json

import pytest
from whoosh.writing import SegmentWriter

from search_service.index.bulkwriter import BufferedSegmentWriter
from search_service.index.postarrays import PostingArrays
from search_service.index.reader import open_generation
from search_service.index.schema import open_index
from search_service.ingest.pipeline import ingest_paths
from search_service.ingest.prepare import index_fields, prepare_document
from search_service.search.engine import SearchEngine, SearchRequest

FIELDS = ["title", "title_f", "title_bi", "title_w", "body", "body_f", "body_bi", "body_w",
          "number_key"]
WARDS = ["Bến Nghé", "Đa Kao", "Tân Định", "Cầu Kho"]


def _records(start: int, count: int, edition: str = "") -> str:
    lines = []
    for n in range(start, start + count):
        ward = WARDS[n % len(WARDS)]
        body = (f"Ủy ban nhân dân phường {ward} thông báo lịch tiêm chủng đợt {n % 7}. "
                + "Hộ nghèo được hỗ trợ bảo hiểm y tế. " * (1 + n % 3)
                + ("Phòng cháy chữa cháy tại khu phố. " if n % 5 == 0 else "") + edition)
        lines.append(json.dumps({"id": f"tb-{n}", "title": f"Thông báo số {n} của phường {ward}",
                                 "body": body, "doc_number": f"{n}/TB-UBND"},
                                ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _ingest(index_dir, folder, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_text(text, encoding="utf-8")
    ingest_paths(index_dir, [folder], workers=0)


def _whoosh_postings(leaf, fieldname: str, tbytes: bytes):
    """Whoosh's public matcher: live documents only, one posting at a time."""
    matcher = leaf.postings(fieldname, tbytes)
    pairs = []
    while matcher.is_active():
        pairs.append((matcher.id(), matcher.weight()))
        matcher.next()
    return pairs


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("postings")
    index_dir, folder = root / "index", root / "in"
    _ingest(index_dir, folder, "a.jsonl", _records(0, 400))
    _ingest(index_dir, folder, "b.jsonl", _records(400, 200))
    _ingest(index_dir, folder, "c.jsonl", _records(0, 60, edition="Bản sửa đổi."))  # replaces
    return index_dir


def test_every_list_is_whooshs_own(index_dir):
    ix = open_index(index_dir, create=False)
    reader = open_generation(ix).open()
    try:
        leaves = reader._leaves
        assert len(leaves) >= 2 and any(leaf.has_deletions() for leaf, _ in leaves)
        live = reader.live()
        from_arrays = compared = 0
        for fieldname in FIELDS:
            terms = {t for leaf, _ in leaves if fieldname in leaf.schema
                     for t in leaf.lexicon(fieldname)}
            for tbytes in sorted(terms):
                ids, weights = reader.postings(fieldname, tbytes.decode("utf-8"))
                keep = live[ids]
                ours = list(zip(ids[keep].tolist(), weights[keep].tolist()))
                theirs = [(offset + d, w) for leaf, offset in leaves
                          if fieldname in leaf.schema and (fieldname, tbytes) in leaf
                          for d, w in _whoosh_postings(leaf, fieldname, tbytes)]
                assert ours == theirs, (fieldname, tbytes)
                compared += 1
                from_arrays += all(arrays is not None and (arrays.get(fieldname, tbytes)
                                                           is not None or (fieldname, tbytes)
                                                           not in leaf)
                                   for arrays, (leaf, _) in zip(reader._arrays, leaves))
        assert compared > 1000
        assert from_arrays == compared   # every list was read from the arrays
    finally:
        reader.close()


def test_an_index_written_before_the_arrays_answers_the_same(tmp_path):
    """Segments without ``.arr`` (Whoosh's own writer, or our writer before the arrays) are
    read from their blocks: the same answers, in the same order, with the same scores."""
    records = [json.loads(line) for line in _records(0, 300).splitlines()]
    docs = [index_fields(prepare_document(record)) for record in records]
    for name, writer_class in (("ours", BufferedSegmentWriter), ("whoosh", SegmentWriter)):
        writer = writer_class(open_index(tmp_path / name))
        for doc in docs:
            writer.add_document(**doc)
        writer.commit()
    assert not _has_arrays(tmp_path / "whoosh") and _has_arrays(tmp_path / "ours")

    def answers(folder):
        engine = SearchEngine(folder, create=False)
        try:
            return [[(hit.id, round(hit.score, 9)) for hit in
                     engine.search(SearchRequest(q=q, per_page=20)).hits]
                    for q in ["tiêm chủng", "ho ngheo bao hiem", "phòng cháy phường Đa Kao",
                              "thông báo số 17", "uy ban nhan dan"]]
        finally:
            engine.close()

    ours = answers(tmp_path / "ours")
    assert all(ours)
    assert answers(tmp_path / "whoosh") == ours


def _has_arrays(folder) -> bool:
    ix = open_index(folder, create=False)
    reader = open_generation(ix).open()
    try:
        return any(arrays is not None and len(arrays) for arrays in reader._arrays)
    finally:
        reader.close()


def test_a_file_that_is_not_posting_arrays_is_refused():
    with pytest.raises(ValueError):
        PostingArrays(b"not the magic at all, and long enough to hold a header", 0, 54)
