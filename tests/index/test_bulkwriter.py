"""The fast ingest path writes what Whoosh's own writer writes.

``BufferedSegmentWriter`` keeps postings per term and writes whole blocks; its segment files
must be byte for byte those of Whoosh's ``SegmentWriter`` on the same documents, through
both when writing new documents (with its lists in memory, or spilled to run files past
``max_buffered`` postings) and when merging older segments. The worker processes
of ``ParallelSegmentWriter`` write the same documents into several segments of one commit;
what the index holds must be the same, and a failing or dying worker must leave the index as
it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.writing import SegmentWriter

from search_service.index.bulkwriter import BufferedSegmentWriter, fast_indexers
from search_service.ingest.pipeline import ingest_paths
from search_service.ingest.prepare import index_fields, prepare_document
from search_service.index.parallelwriter import ParallelSegmentWriter, WorkerFailed
from search_service.index.schema import build_schema, open_index
from search_service.search import SearchEngine, SearchRequest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "documents.jsonl"


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
                         ids=["in memory", "spilled to run files"])
def test_segment_files_are_byte_for_byte_whooshs(tmp_path, docs, options):
    ours = write_with(BufferedSegmentWriter, tmp_path / "ours", docs, **options)
    whoosh = write_with(SegmentWriter, tmp_path / "whoosh", docs)
    assert ours.pop("documents.arr")      # the lists again, as arrays (test_postings)
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
    ours = write_with(BufferedSegmentWriter, tmp_path / "ours", rest, max_buffered=3_000,
                      commit_args={"optimize": True})
    whoosh = write_with(SegmentWriter, tmp_path / "whoosh", rest, commit_args={"optimize": True})
    assert len([n for n in whoosh if n.endswith(".pst")]) == 1     # merged into one segment
    assert [n for n in ours if n.endswith(".arr")] == ["documents.arr"]
    assert {n: data for n, data in ours.items() if not n.endswith(".arr")} == whoosh
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


# -- worker processes ------------------------------------------------------------------------
def index_content(index_dir: Path) -> tuple[dict, dict]:
    """What the index holds, by document id: postings with their values, and stored fields."""
    ix = open_index(index_dir)
    postings, stored = {}, {}
    with ix.reader() as reader:
        ids = {n: reader.stored_fields(n)["id"] for n in reader.all_doc_ids()}
        stored = {ids[n]: reader.stored_fields(n) for n in ids}
        for fieldname, tbytes in reader.all_terms():
            matcher = reader.postings(fieldname, tbytes)
            while matcher.is_active():
                postings[(fieldname, tbytes, ids[matcher.id()])] = matcher.value()
                matcher.next()
        lengths = {(f, ids[n]): reader.doc_field_length(n, f)
                   for n in ids for f in ("title_f", "body_f", "body_bi", "body_w")}
    return {"postings": postings, "lengths": lengths}, stored


def test_workers_index_the_same_content_as_one_process(tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                              for r in many_records(150)), encoding="utf-8")
    one = ingest_paths(tmp_path / "one", [source], workers=0)
    two = ingest_paths(tmp_path / "two", [source], workers=1)
    assert one.added == two.added == 150
    assert len(open_index(tmp_path / "two")._segments()) == 2      # the worker's and ours
    assert index_content(tmp_path / "one") == index_content(tmp_path / "two")
    request = SearchRequest(q="phong chay chua chay", per_page=20, include_internal=True)
    hits = [[hit.id for hit in SearchEngine(tmp_path / d).search(request).hits]
            for d in ("one", "two")]
    assert hits[0] and sorted(hits[0]) == sorted(hits[1])


def test_a_failing_worker_fails_the_commit_and_keeps_the_index(tmp_path, docs):
    ingest_paths(tmp_path / "ix", [SAMPLE], workers=0)
    before = index_content(tmp_path / "ix")
    ix = open_index(tmp_path / "ix")
    writer = ParallelSegmentWriter(ix, workers=1, batch_size=4)
    for doc in docs[:4]:                                 # one batch: the worker takes it
        writer.add_document(**doc, no_such_field="x")     # and Whoosh refuses it there
    with pytest.raises(WorkerFailed, match="no_such_field"):
        writer.commit()
    assert index_content(tmp_path / "ix") == before
    open_index(tmp_path / "ix").writer().cancel()        # the lock was released


def test_a_killed_worker_fails_the_commit_and_keeps_the_index(tmp_path, docs):
    ingest_paths(tmp_path / "ix", [SAMPLE], workers=0)
    before = index_content(tmp_path / "ix")
    writer = ParallelSegmentWriter(open_index(tmp_path / "ix"), workers=1, batch_size=4)
    for doc in docs[:40]:
        writer.add_document(**doc)
    worker = writer._procs[0]
    own_folder = tmp_path / "ix" / f"documents.{worker.pid}.tmp"    # made by its writer
    for _ in range(300):
        if own_folder.exists():
            break
        time.sleep(0.1)
    assert own_folder.exists()
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerFailed, match="died"):
        writer.commit()
    assert index_content(tmp_path / "ix") == before
    assert not list((tmp_path / "ix").glob("*.tmp"))               # nothing left behind
    after = ingest_paths(tmp_path / "ix", [SAMPLE], workers=0)     # and it can be written again
    assert after.failed == 0


HANG_CHECK = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from search_service.index.parallelwriter import ParallelSegmentWriter, WorkerFailed
from search_service.index.schema import open_index
from tests.index.test_bulkwriter import many_documents

if __name__ == "__main__":
    writer = ParallelSegmentWriter(open_index({index!r}), workers=1, batch_size=8)
    writer.start_workers()
    os.kill(writer._procs[0].pid, signal.SIGKILL)
    try:
        for doc in many_documents(200):      # batches pile up in a queue nobody reads
            writer.add_document(**doc)
        writer.commit()
    except WorkerFailed as exc:
        print("refused:", exc)
"""


def test_a_run_whose_worker_died_still_exits(tmp_path):
    """Batches left in the pipe of a dead worker must not keep the process from exiting."""
    import subprocess
    import sys

    repo = str(Path(__file__).resolve().parents[2])
    script = tmp_path / "run.py"
    script.write_text(HANG_CHECK.format(repo=repo, index=str(tmp_path / "ix")), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "refused: an indexing worker process died" in done.stdout
