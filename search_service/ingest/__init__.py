"""Ingestion: files of several formats become plain document dicts, then index updates.

Each format module exposes ``parse(path, data) -> list[dict]`` and raises
:class:`IngestError` with a reason a ward clerk can read when a file cannot be used.
"""


class IngestError(Exception):
    """A file could not be read or parsed; the message says why, in plain words."""
