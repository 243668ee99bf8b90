"""Columns and field lengths read in one piece give exactly what Whoosh reads value by value.

``IndexReader`` reads the whoosh3 numeric and variable-bytes columns from one read of their
data (a new generation is built from them before it is served); Whoosh's own readers are the
reference, over a real index of several segments, with updated (deleted) documents and a
segment written without some columns.
"""

from __future__ import annotations

import json

import numpy as np

from search_service.index.reader import open_generation
from search_service.index.schema import open_index
from search_service.ingest.pipeline import ingest_paths

from conftest import DATA_DIR

COLUMNS = ["id", "doc_type", "category", "issuer", "visibility", "validity", "year", "views",
           "path", "content_hash"]
LENGTHS = ["title", "title_f", "title_bi", "title_w", "body", "body_f", "body_bi", "body_w"]


def _whoosh_values(leaf, fieldname: str, translate: bool) -> list:
    column = leaf.column_reader(fieldname, translate=translate)
    return list(column.load() if hasattr(column, "load") else column)


def test_columns_and_lengths_are_whooshs_own_values(tmp_path):
    index_dir = tmp_path / "index"
    ingest_paths(index_dir, [DATA_DIR], workers=0)
    news = tmp_path / "tin"
    news.mkdir()
    (news / "tin.jsonl").write_text("".join(json.dumps(
        {"id": f"tin-{n}", "title": f"Bản tin số {n}", "body": "Lịch tiêm chủng. " * n},
        ensure_ascii=False) + "\n" for n in range(1, 6)), encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)          # a second segment, no issuer nor year
    (news / "tin.jsonl").write_text(json.dumps(
        {"id": "tin-1", "title": "Bản tin số 1 (sửa)", "body": "Đã sửa."}, ensure_ascii=False)
        + "\n", encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)          # tin-1 updated: a deletion, a third

    reader = open_generation(open_index(index_dir)).open()
    try:
        leaves = reader._reader.leaf_readers()
        assert len(leaves) >= 3 and not reader.live().all()
        compared = 0
        for fieldname in COLUMNS:
            for translate in (True, False):
                expected = [(offset + n, value) for leaf, offset in leaves
                            if fieldname in leaf.schema and leaf.has_column(fieldname)
                            for n, value in enumerate(_whoosh_values(leaf, fieldname,
                                                                     translate))]
                assert list(reader.column_values(fieldname, translate)) == expected, fieldname
                compared += len(expected)
        assert compared > 0
        for fieldname in LENGTHS:
            expected = [leaf.doc_field_length(n, fieldname, 0) or 0
                        for leaf, _ in leaves for n in range(leaf.doc_count_all())]
            assert np.array_equal(reader.lengths(fieldname),
                                  np.array(expected, dtype=np.float32)), fieldname
    finally:
        reader.close()


def test_postings_decoded_for_one_generation_answer_the_next_as_decoded_anew(tmp_path,
                                                                             monkeypatch):
    """In an index written before the posting arrays (``index/postarrays.py``), posting lists
    decoded per segment are kept across generations (a segment never changes): after commits
    that add a segment and update a document, every term's postings read through the kept
    lists equal those decoded anew, and the unchanged segment's lists were reused rather
    than decoded again."""
    from search_service.index import reader as reader_module
    from search_service.index.reader import IndexReader, segment_postings
    from whoosh.searching import Searcher

    monkeypatch.setattr(reader_module, "arrays_of", lambda leaf, folder: None)

    index_dir = tmp_path / "index"
    ingest_paths(index_dir, [DATA_DIR], workers=0)
    index = open_index(index_dir)
    first = open_generation(index).open()
    fields = ["body_f", "body_bi", "title_f"]
    terms = {f: [t for t in first._reader.lexicon(f)][:300] for f in fields}
    try:
        for f in fields:
            for t in terms[f]:
                first.postings(f, t)             # decoded, and kept per segment
    finally:
        first.close()
    kept = segment_postings(index)
    held = {key: kept.get(key)[1] for key in kept.recent()}   # (segment, field, term) -> arrays
    assert held
    news = tmp_path / "tin"
    news.mkdir()
    (news / "tin.jsonl").write_text("".join(json.dumps(
        {"id": f"tin-{n}", "title": f"Bản tin số {n}", "body": "Lịch tiêm chủng phường. " * n},
        ensure_ascii=False) + "\n" for n in range(1, 6)), encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)
    ingest_paths(index_dir, [DATA_DIR], workers=0)      # nothing changed: nothing written
    (news / "tin.jsonl").write_text(json.dumps({"id": "tin-1", "title": "Bản tin (sửa)",
                                                "body": "Đã sửa."}, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)
    generation = open_generation(index)
    reused = generation.open()
    fresh_searcher = Searcher(index._reader(index.storage, generation._toc.schema,
                                            list(generation._toc.segments),
                                            generation._toc.generation), fromindex=index)
    fresh = IndexReader(fresh_searcher)                  # decodes everything anew
    try:
        assert len(reused._leaves) >= 2
        compared = 0
        for f in fields:
            for t in terms[f] + ["tiem", "tiem chung"]:
                got, expected = reused.postings(f, t), fresh.postings(f, t)
                assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
                compared += len(expected[0])
        assert compared > 0
        # The first segment's lists are the ones decoded for the first generation; the new
        # segments' lists were added next to them.
        assert all(kept.get(key)[1] is arrays for key, arrays in held.items())
        assert {key[0] for key in kept.recent()} >= set(reused._segment_keys) - {None}
    finally:
        reused.close()
        fresh.close()


def test_an_index_made_before_the_validity_column_takes_new_documents(tmp_path, library):
    """An index written before ``validity`` existed (#11) is searched as it is, and an ingest
    into it — which gives every document its validity — succeeds instead of ending in
    Whoosh's UnknownFieldError: opening it adds the field to its schema; its old documents
    have no value, the new ones theirs."""
    from whoosh import index as whoosh_index

    from search_service.index.schema import INDEX_NAME, build_schema
    from search_service.search import SearchEngine, SearchRequest

    folder = tmp_path / "index"
    folder.mkdir()
    schema = build_schema()
    schema.remove("validity")
    old = whoosh_index.create_in(str(folder), schema, indexname=INDEX_NAME)
    with old.writer() as writer:
        writer.add_document(id="cu-1", title="Thông báo cũ", body="Lịch tiếp dân năm trước.",
                            visibility="public")
    decision = tmp_path / "qd.jsonl"
    decision.write_text(json.dumps({"id": "qd-moi", "title": "Quyết định về lịch tiếp dân",
                                    "doc_type": "Quyết định", "number": "12/QĐ-UBND",
                                    "body": "Quyết định ban hành lịch tiếp dân của phường. "
                                            "Quyết định này có hiệu lực kể từ ngày 01 "
                                            "tháng 01 năm 2020."},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    summary = ingest_paths(folder, [decision], library=library, workers=0)
    assert summary.failed == 0, summary.to_json()
    assert "validity" in open_index(folder).schema
    engine = SearchEngine(folder)
    try:
        result = engine.search(SearchRequest(q="lịch tiếp dân", include_internal=True))
        assert {h.id for h in result.hits} == {"cu-1", "qd-moi"}
        validity = {h.id: h.validity for h in result.hits}
        assert validity == {"cu-1": "unknown", "qd-moi": "in_force"}
    finally:
        engine.close()
