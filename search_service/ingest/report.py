"""What an ingestion run tells its user: per file, per document, and one summary line.

The same objects give the line the CLI prints and the JSON report (``--report``), so the two
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search_service.documents import DocumentError
from search_service.ingest import IngestError

_REPORT_KEYS = ("id", "title", "doc_type", "doc_number", "issuer", "signer", "published",
                "category", "visibility")


@dataclass
class FileReport:
    path: str
    outcome: str                  # added | updated | skipped | failed | deleted
    error: str | None = None
    documents: list[dict] = field(default_factory=list)   # metadata, with each one's outcome
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    """What a run did. added/updated/skipped/deleted count documents; failed counts files."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        read = sum(1 for f in self.files if f.outcome != "deleted")
        return (f"added {self.added}, updated {self.updated}, skipped {self.skipped}, "
                f"deleted {self.deleted}, failed {self.failed} ({read} files, "
                f"{self.seconds:.1f}s)")

    def failure_line(self) -> str | None:
        """The closing error of a run where files failed: how many, and what became of the rest."""
        if not self.failed:
            return None
        others = sum(1 for f in self.files if f.outcome not in ("failed", "deleted"))
        failed = "1 file" if self.failed == 1 else f"{self.failed} files"
        rest = ("there were no other files" if others == 0 else
                "the other file was indexed" if others == 1 else
                f"the other {others} files were indexed")
        return f"{failed} could not be indexed (listed above); {rest}"

    def changed_index(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def to_json(self) -> dict:
        """The report as JSON-ready values; every string is valid UTF-8 (see printable)."""
        return printable({"added": self.added, "updated": self.updated,
                          "skipped": self.skipped, "deleted": self.deleted,
                          "failed": self.failed, "seconds": round(self.seconds, 3),
                          "files": [vars(f) for f in self.files]})

    def count(self) -> None:
        for report in self.files:
            if report.outcome == "failed":
                self.failed += 1
            for doc in report.documents:
                setattr(self, doc["outcome"], getattr(self, doc["outcome"]) + 1)


def summary_of(doc: dict) -> dict:
    """A document's metadata as the report lists it: set values only, dates as ISO text."""
    return {k: (doc[k].isoformat() if hasattr(doc.get(k), "isoformat") else doc[k])
            for k in _REPORT_KEYS if doc.get(k) not in (None, "")}


def expected_failure(exc: Exception) -> bool:
    """A failure of the file itself (not of this code): logged without a traceback."""
    return isinstance(exc, (IngestError, DocumentError, OSError))


def failure_reason(exc: Exception) -> str:
    """A failure in words a clerk can read; unexpected errors name their kind for the log."""
    if isinstance(exc, OSError):
        return f"cannot read the file: {exc.strerror or exc}"
    if expected_failure(exc):
        return str(exc)
    return f"the file could not be read (unexpected {type(exc).__name__}: {exc})"


def printable(value):
    """``value`` with every string safe to write as UTF-8, in dicts and lists too.

    A file name that is not valid UTF-8 reaches Python with its bad bytes as surrogate escapes
    (``bad\\udcff.txt``), which no UTF-8 writer accepts; they are shown as ``\\xff``, so
    ``bad\\xff.txt`` names the byte to look for. Other lone surrogates show as ``\\udXXX``.

    >>> printable({"path": "/srv/bad\\udcff.txt", "n": [1, "tin tức"]})
    {'path': '/srv/bad\\\\xff.txt', 'n': [1, 'tin tức']}
    """
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value
