"""Whether an index and the library that feeds it agree: ``python -m search_service check``.

The library is written first and the index second (:mod:`search_service.library.feeding`),
so between the two, or after a run killed between them, the library is ahead: the documents
it changed are marked pending for the index, and the next ``ingest`` (or ``reindex``) sends
them. That is agreement, with changes waiting. Disagreement is a document in one and not the
other with no mark to explain it, or a document the index holds twice (a commit that landed
in part): then the index must be rebuilt from the library.

Reading order matters while an ingest may be running: the library is read first (its ids and
marks in one transaction), the index second. A commit that lands in between only brings the
index closer to what was read; the marks it clears were read before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from search_service.library import feeding

SHOWN = 5                       # ids named in a message; the counts say how many in all


@dataclass
class Agreement:
    """What :func:`compare` found between one index and the library."""

    library_documents: int
    index_documents: int
    fed: bool                   # the library feeds this index (ingest, reindex registered it)
    waiting: int = 0            # documents changed in the library, pending for the index
    missing: list[str] = field(default_factory=list)    # in the library only, not pending
    extra: list[str] = field(default_factory=list)      # in the index only, not pending
    doubled: list[str] = field(default_factory=list)    # more than once in the index

    @property
    def agrees(self) -> bool:
        return self.fed and not (self.missing or self.extra or self.doubled)

    def problems(self) -> list[str]:
        """What disagrees, one phrase each, naming a few of the documents."""
        found = []
        if not self.fed:
            found.append("the library does not feed this index (no ingest or reindex through "
                         "it has written it)")
        for ids, where in ((self.missing, "of the library {} not in the index"),
                           (self.extra, "of the index {} not in the library"),
                           (self.doubled, "{} in the index more than once")):
            if ids:
                verb = "is" if len(ids) == 1 else "are"
                found.append(f"{_documents(len(ids))} {where.format(verb)} ({_some(ids)})")
        return found


def compare(library, index_dir) -> Agreement:
    """Compare the documents of the index in ``index_dir`` with the library's; writes nothing.

    Raises what :func:`search_service.index.schema.open_index` raises for an index that
    cannot be read (check it with ``check_index`` first).
    """
    from search_service.index.schema import open_index

    key = feeding.index_key(index_dir)
    conn = library.db.connection()
    with library.db.read():
        fed = conn.execute("SELECT 1 FROM indexes WHERE path = ?", (key,)).fetchone() is not None
        in_library = {row[0] for row in conn.execute("SELECT id FROM documents")}
        pending = {row[0] for row in conn.execute(
            "SELECT document_id FROM index_pending WHERE index_path = ?", (key,))}
    counts = _index_ids(open_index(Path(index_dir), create=False))
    in_index = set(counts)
    return Agreement(
        library_documents=len(in_library), index_documents=sum(counts.values()), fed=fed,
        waiting=len(pending),
        missing=sorted(in_library - in_index - pending),
        extra=sorted(in_index - in_library - pending),
        doubled=sorted(doc_id for doc_id, n in counts.items() if n > 1))


def _index_ids(ix) -> Counter:
    """How many live documents of the index carry each id (read from its id column)."""
    from search_service.index.reader import open_generation

    reader = open_generation(ix).open()
    try:
        live = reader.live()
        return Counter(doc_id for n, doc_id in reader.column_values("id") if live[n])
    finally:
        reader.close()


def _documents(n: int) -> str:
    return f"{n} document" if n == 1 else f"{n} documents"


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
