"""Ingestion into a cluster: the pipeline's prepared documents, analysed here by our own
layers, written to every mirror of the shard each one belongs to.

:class:`ClusterTarget` stands where the pipeline opens an on-disk index: ``reader()`` lists
what the cluster holds (ids, hashes, paths: what incremental ingestion compares), and
``writer()`` takes ``update_document`` / ``delete_by_term`` / ``commit`` / ``cancel`` like the
index writer. Documents are sent in batches as the run goes: a run that fails half-way leaves
the batches already sent (a second run skips them and writes the rest).
"""

from __future__ import annotations

import json
import logging
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from search_service.cluster import schema
from search_service.cluster.sphinxql import Backend, ClusterUnavailable, Connections, connect
from search_service.index.schema import quantized_length

logger = logging.getLogger(__name__)

BATCH_DOCUMENTS = 100
BATCH_BYTES = 8 << 20
READ_PAGE = 5000
STORED_KEYS = ("id", "title", "body", "category", "doc_type", "doc_number", "issuer", "signer",
               "published", "views", "source", "url", "visibility", "validity", "text_source",
               "path", "content_hash", "file_hash")
COLUMNS = (("id",) + schema.TEXT_FIELDS + ("doc_id", "stored", "content_hash", "path",
           "file_hash") + schema.FACET_ATTRS + tuple(f"{a}_code" for a in schema.FACET_ATTRS)
           + ("public", "year", "published", "views") + tuple(f"len_{f}" for f in schema.SCORED))
_MIRROR = re.compile(r"^dstindex_(\d+)mirror\d+_id$")


@dataclass(frozen=True)
class Shard:
    """One shard: its RT index name and the SphinxQL address of each mirror."""
    index: str
    mirrors: tuple[tuple[str, int], ...]


def discover_shards(backend: Backend) -> list[Shard]:
    """The coordinator's shards and mirrors (``SHOW AGENT <index> STATUS``); a mirror's
    SphinxQL port is its API port + 1, as ``local-cluster`` sets them up."""
    conn = connect(backend.host, backend.port)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW AGENT {backend.index} STATUS")
            rows = cur.fetchall()
    finally:
        conn.close()
    shards: dict[int, list[tuple[str, int, str]]] = {}
    for name, value in rows:
        found = _MIRROR.match(name)
        if found:
            host, port, index = value.rsplit(":", 2)
            shards.setdefault(int(found.group(1)), []).append((host, int(port) + 1, index))
    if not shards:
        raise ClusterUnavailable(f"{backend.url} is not a distributed index with agents")
    return [Shard(mirrors[0][2], tuple((h, p) for h, p, _ in mirrors))
            for _, mirrors in sorted(shards.items())]


LEXICON_COLUMNS = ("id", "key", "kind", "form", "stamp")


def analysed(fields: dict) -> tuple[tuple, set[tuple[int, str]]]:
    """The row of one document (the values of :data:`COLUMNS`) and its lexicon entries
    ``{(kind, form)}``."""
    from search_service.text.layers import index_layers

    layers = {source: index_layers(fields.get(source, "") or "") for source in ("title", "body")}
    entries = lexicon_entries(layers)
    entries.update((schema.NUMBER, k) for k in (fields.get("number_key") or "").split(",") if k)
    return _row(fields, schema.field_tokens(layers, fields.get("number_key"))), entries


def lexicon_entries(layers: dict) -> set[tuple[int, str]]:
    """What "did you mean" lists of a document (as search.suggest reads a Whoosh segment):
    the alphabetic syllables and pyvi words of title and body, the folded syllables of the
    body (its typo candidates)."""
    out: set[tuple[int, str]] = set()
    for source, got in layers.items():
        title = schema.IN_TITLE if source == "title" else 0
        for kind, terms in ((schema.SYLLABLE, got["exact"]), (schema.WORD, got["word"])):
            out.update((kind + title, t) for t in terms if t.replace("_", "").isalpha())
        if source == "body":
            out.update((schema.FOLDED, t) for t, _ in got["folded"])
    return out


def lexicon_row(kind: int, form: str) -> tuple:
    from search_service.text.fold import fold

    folded = form if kind in (schema.FOLDED, schema.NUMBER) else fold(form)
    return (schema.lexicon_id(kind, form), schema.lexicon_key(kind, folded), kind, form, 0)


def _row(fields: dict, tokens: dict) -> tuple:
    stored = {k: fields[k] for k in STORED_KEYS if fields.get(k) not in (None, "")}
    published = fields.get("published")
    if isinstance(published, datetime):
        stored["published"] = published.isoformat()
    seconds = (int((published - datetime(1970, 1, 1)).total_seconds())
               if isinstance(published, datetime) else schema.MISSING_DATE)
    return ((schema.doc_number(fields["id"]),)
            + tuple(" ".join(tokens[f]) for f in schema.TEXT_FIELDS)
            + (fields["id"], json.dumps(stored, ensure_ascii=False),
               fields.get("content_hash", ""), fields.get("path", ""), fields.get("file_hash", ""))
            + tuple(fields.get(a) or "" for a in schema.FACET_ATTRS)
            + tuple(schema.code(fields.get(a)) for a in schema.FACET_ATTRS)
            + (int(fields.get("visibility", "public") == "public"),
               int(published.year) if isinstance(published, datetime) else 0,
               seconds, int(fields.get("views") or 0))
            + tuple(quantized_length(len(tokens[f])) for f in schema.SCORED))


class ClusterWriter:
    """Sends documents to every mirror of their shard, a batch at a time."""

    def __init__(self, shards: list[Shard]):
        self.shards = shards
        self._pending: list[list[tuple]] = [[] for _ in shards]
        self._deletes: list[list[int]] = [[] for _ in shards]
        self._lexicon: list[list[tuple]] = [[] for _ in shards]
        self._listed: set[int] = set()       # lexicon rows queued by this writer already
        self._stamp = 0
        self._bytes = 0
        self._conns: dict[tuple[str, int], object] = {}
        self.is_closed = False
        self.written = 0

    def start_workers(self) -> None:
        """Nothing to start: analysis runs in this process, the daemons index."""

    def _shard_of(self, number: int) -> int:
        return number % len(self.shards)

    def update_document(self, **fields) -> None:
        row, entries = analysed(fields)
        self._pending[self._shard_of(row[0])].append(row)
        for kind, form in entries:
            entry = lexicon_row(kind, form)
            if entry[0] not in self._listed:
                self._listed.add(entry[0])
                self._lexicon[self._shard_of(entry[0])].append(entry)
        self._bytes += sum(len(v) for v in row if isinstance(v, str))
        if sum(map(len, self._pending)) >= BATCH_DOCUMENTS or self._bytes >= BATCH_BYTES:
            self.flush()

    def delete_by_term(self, fieldname: str, value: str) -> None:
        if fieldname != "id":
            raise ValueError("a cluster deletes documents by id only")
        number = schema.doc_number(value)
        self._deletes[self._shard_of(number)].append(number)

    def flush(self) -> None:
        """Send what is pending to every mirror (one transaction per mirror and shard).

        Every shard written gets a new stamp in its lexicon, after its documents: the
        cluster's generation (:meth:`ClusterEngine.snapshot`) is the highest stamp, so it
        grows with every write and delete that reached a mirror."""
        for number, shard in enumerate(self.shards):
            rows, deletes = self._pending[number], self._deletes[number]
            words = self._lexicon[number]
            if not rows and not deletes and not words:
                continue
            statements = []
            if rows:
                statements.append(_replace(shard.index, COLUMNS, rows))
            if deletes:
                statements.append(f"DELETE FROM {shard.index} WHERE id IN "
                                  f"({','.join(map(str, deletes))})")
            lexicon = shard.index + schema.LEXICON_SUFFIX
            if words:
                statements.append(_replace(lexicon, LEXICON_COLUMNS, words))
            self._stamp = max(time.time_ns() // 1000, self._stamp + 1)
            statements.append(_replace(lexicon, LEXICON_COLUMNS,
                                       [(schema.STAMP_ID + number, "G", schema.STAMP, "",
                                         self._stamp)]))
            for mirror in shard.mirrors:
                self._execute(mirror, statements)
            self.written += len(rows)
            self._pending[number], self._deletes[number] = [], []
            self._lexicon[number] = []
        self._bytes = 0

    def _execute(self, mirror: tuple[str, int], statements: list[str]) -> None:
        import pymysql

        conn = self._conns.get(mirror)
        try:
            if conn is None:
                conn = self._conns[mirror] = connect(*mirror, read_seconds=120)
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        except (pymysql.MySQLError, ClusterUnavailable) as exc:
            from search_service.ingest.pipeline import IndexUnavailable

            self._conns.pop(mirror, None)
            raise IndexUnavailable(f"the shard mirror {mirror[0]}:{mirror[1]} refused the "
                                     f"documents ({exc}); documents sent before stay in the "
                                     "cluster: run ingest again when every mirror runs") from None

    def commit(self) -> None:
        try:
            self.flush()
        finally:
            self.close()

    def cancel(self) -> None:
        """Drop what was not sent yet (batches already sent stay)."""
        self._pending = [[] for _ in self.shards]
        self._deletes = [[] for _ in self.shards]
        self._lexicon = [[] for _ in self.shards]
        self.close()

    def close(self) -> None:
        for conn in self._conns.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        self._conns.clear()
        self.is_closed = True


def _replace(index: str, columns: tuple, rows: list[tuple]) -> str:
    from pymysql.converters import escape_item

    values = ",".join("(" + ",".join(escape_item(v, "utf8") for v in row) + ")" for row in rows)
    return f"REPLACE INTO {index} ({','.join(columns)}) VALUES {values}"


class ClusterReader:
    """What the cluster holds, as incremental ingestion reads an index: bookkeeping columns
    by document number, stored fields on demand."""

    def __init__(self, connections: Connections, index: str):
        self._connections, self._index = connections, index
        self._columns: dict[str, dict[int, str]] = {k: {} for k in
                                                    ("id", "content_hash", "path", "file_hash")}
        last = -1
        while True:
            results = self._connections.run([(
                f"SELECT id, doc_id, content_hash, path, file_hash FROM {index} WHERE id > {last}"
                f" ORDER BY id ASC LIMIT {READ_PAGE} OPTION max_matches={READ_PAGE}", ()),
                ("SHOW META", ())])
            rows, meta = results[0], dict(results[1])
            if "warning" in meta:
                raise ClusterUnavailable(f"the cluster answers only in part ({meta['warning']}); "
                                         "ingest needs every shard")
            for number, *values in rows:
                for key, value in zip(self._columns, values):
                    self._columns[key][number] = value
            if len(rows) < READ_PAGE:
                break
            last = rows[-1][0]

    def doc_count(self) -> int:
        return len(self._columns["id"])

    def all_doc_ids(self):
        return iter(self._columns["id"])

    def column_reader(self, name: str) -> dict[int, str]:
        return self._columns[name]

    def stored_fields(self, number: int) -> dict:
        rows = self._connections.run([(f"SELECT stored FROM {self._index} WHERE id = %s",
                                       (int(number),))])[0]
        return stored_fields(rows[0][0]) if rows else {}

    def close(self) -> None:
        """Nothing to release."""


def stored_fields(text: str) -> dict:
    """A document's stored fields as the embedded index returns them (dates as datetimes)."""
    fields = json.loads(text)
    if fields.get("published"):
        fields["published"] = datetime.fromisoformat(fields["published"])
    return fields


class ClusterTarget:
    """Where the ingest pipeline writes when ``SEARCH_BACKEND`` names a cluster."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.connections = Connections(backend)

    @contextmanager
    def reader(self):
        from search_service.ingest.pipeline import IndexUnavailable

        try:
            reader = ClusterReader(self.connections, self.backend.index)
        except ClusterUnavailable as exc:
            raise IndexUnavailable(str(exc)) from None
        yield reader

    def _last_stamp(self) -> int:
        rows = self.connections.run([(
            f"SELECT stamp FROM {self.backend.index}{schema.LEXICON_SUFFIX} WHERE kind = "
            f"{schema.STAMP} ORDER BY stamp DESC LIMIT 1", ())])[0]
        return int(rows[0][0]) if rows else 0

    def writer(self) -> ClusterWriter:
        from search_service.ingest.pipeline import IndexUnavailable

        try:
            writer = ClusterWriter(discover_shards(self.backend))
            # Stamps only grow, even from a machine whose clock is behind the last writer's.
            writer._stamp = self._last_stamp()
            return writer
        except ClusterUnavailable as exc:
            raise IndexUnavailable(str(exc)) from None
