"""The fast ingest path writes what Whoosh's own writer writes.

``BufferedSegmentWriter`` keeps postings per term and writes whole blocks; its segment files
must be byte for byte those of Whoosh's ``SegmentWriter`` on the same documents, through
every path: plain, spilled to Whoosh's pool, and merging older segments.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.writing import SegmentWriter

from search_service.analysis import normalize_text
from search_service.bulkwriter import BufferedSegmentWriter, fast_indexers
from search_service.ingest.prepare import index_fields, prepare_document
from search_service.schema import build_schema, open_index

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "documents.jsonl"


def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def many_records(count: int) -> list[dict]:
    """``count`` ward documents cut from the sample ones: short, overlapping vocabularies, so
    common terms get more than one 128-posting block and rare ones a single posting."""
    records = sample_records()
    out = []
    for n in range(count):
        source = records[n % len(records)]
        sentences = re.split(r"(?<=[.;])\s+", source["body"])
        body = " ".join(sentences[(n // len(records)) % len(sentences):][:2])
        out.append({**source, "id": f"{source['id']}-{n}", "body": f"{body} Tổ dân phố số {n}.",
                    "doc_number": f"{n + 1}/QĐ-UBND" if n % 3 == 0 else None})
    return out


def many_documents(count: int) -> list[dict]:
    return [index_fields(prepare_document(record)) for record in many_records(count)]


def segment_files(index_dir: Path) -> dict[str, bytes]:
    """Every file of the index but the table of contents, named without the segment id."""
    return {re.sub(r"_[a-z0-9]{16}", "", f.name): f.read_bytes()
            for f in index_dir.iterdir() if not f.name.endswith((".toc", "WRITELOCK"))}


def write_with(writer_class, index_dir: Path, docs, **kwargs) -> dict[str, bytes]:
    ix = open_index(index_dir)
    commit_args = kwargs.pop("commit_args", {})
    writer = writer_class(ix, compound=False, **kwargs)
    for doc in docs:
        writer.update_document(**doc)
    writer.commit(**commit_args)
    return segment_files(index_dir)


@pytest.fixture(scope="module")
def docs():
    return many_documents(300)


@pytest.mark.parametrize("options", [{}, {"max_buffered": 2_000}],
                         ids=["in memory", "spilled to Whoosh's pool"])
def test_segment_files_are_byte_for_byte_whooshs(tmp_path, docs, options):
    ours = write_with(BufferedSegmentWriter, tmp_path / "ours", docs, **options)
    whoosh = write_with(SegmentWriter, tmp_path / "whoosh", docs)
    assert sorted(ours) == sorted(whoosh)
    assert any(name.endswith(".pst") for name in ours)
    for name in whoosh:
        assert ours[name] == whoosh[name], name


def test_merging_older_segments_gives_whooshs_bytes(tmp_path, docs):
    base = tmp_path / "base"
    for start in range(0, 100, 20):              # five small segments, one commit each
        ix = open_index(base)
        writer = ix.writer()
        for doc in docs[start:start + 20]:
            writer.add_document(**doc)
        writer.commit(merge=False)
    shutil.copytree(base, tmp_path / "ours")
    shutil.copytree(base, tmp_path / "whoosh")
    rest = docs[100:160] + docs[:10]             # ten replace documents of older segments
    ours = write_with(BufferedSegmentWriter, tmp_path / "ours", rest,
                      commit_args={"optimize": True})
    whoosh = write_with(SegmentWriter, tmp_path / "whoosh", rest, commit_args={"optimize": True})
    assert len([n for n in whoosh if n.endswith(".pst")]) == 1     # merged into one segment
    assert ours == whoosh
    assert open_index(tmp_path / "ours").doc_count() == 160


VIETNAMESE = st.text(alphabet=st.sampled_from(list(
    "aăâeêioôơuưyđAĂÂĐEÊOÔƠUƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
    "bcdghklmnpqrstvxBCDHKLMNQTX0123456789 /-.,;:()\n\u00a0\u0301")), max_size=80)


@given(VIETNAMESE)
@settings(max_examples=150, deadline=None)
def test_fast_analysis_gives_what_each_field_gives(text):
    schema = build_schema()
    indexers = fast_indexers(schema)
    assert set(indexers) == {"title", "title_f", "title_bi", "title_w",
                             "body", "body_f", "body_bi", "body_w"}
    for name, index in indexers.items():
        assert sorted(index(text)) == sorted(schema[name].index(text)), name


def test_fast_analysis_on_numbers_dates_and_words():
    schema = build_schema()
    text = ("Quyết định số 123/2018/QĐ-UBND ngày 05/3/2024 của UBND phường Phúc Lợi về "
            "văn hoá, thuỷ lợi; Nghị quyết 15/NQ-ĐU. Hội nghị tổ dân phố số 5.")
    for name, index in fast_indexers(schema).items():
        assert sorted(index(text)) == sorted(schema[name].index(text)), name
