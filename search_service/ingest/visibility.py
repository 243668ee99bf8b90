"""Who may see a document, when the document itself does not say.

Visibility, first match wins:

1. the record's own ``visibility`` field (JSON Lines): the most specific statement;
2. ``internal`` when either the run's ``visibility`` argument (``--visibility internal``) or a
   ``.visibility`` file in the document's folder or any folder above it says so;
3. ``public`` otherwise.

So ``--visibility public`` cannot publish a folder marked internal: a marker file is the folder
owner's lasting decision, a flag is one run's, and a forgotten or wrong flag must not leak.
A marker holds one word: ``internal`` (or ``nội bộ``) or ``public`` (or ``công khai``).
The flag is not remembered: re-running without it makes flag-only internal documents public
again (reported as a warning), so mark folders that are synced regularly with a marker file.

Rule 1 is applied in :func:`search_service.ingest.prepare.prepare_document`; this module
gives the default it falls back to.
"""

from __future__ import annotations

from pathlib import Path

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError

VISIBILITY_FILE = ".visibility"
_MARKER_WORDS = {"internal": "internal", "nội bộ": "internal", "public": "public",
                 "công khai": "public"}


class FolderMarkers:
    """The default visibility of files by folder, for one run (markers are read once)."""

    def __init__(self, visibility: str | None):
        self.visibility = visibility            # the run's flag, or None
        self.markers: dict[Path, str | None] = {}

    def default_for(self, file: Path) -> str:
        """``internal`` when the run's flag or the nearest marker says so, else ``public``."""
        folder = self._marker(file.parent.resolve())
        if "internal" in (self.visibility, folder):
            return "internal"
        return "public"

    def _marker(self, folder: Path) -> str | None:
        """The nearest ``.visibility`` marker in ``folder`` or above it (cached per folder)."""
        if folder not in self.markers:
            marker = folder / VISIBILITY_FILE
            if marker.is_file():
                self.markers[folder] = read_marker(marker)
            else:
                self.markers[folder] = (None if folder.parent == folder
                                        else self._marker(folder.parent))
        return self.markers[folder]


def read_marker(marker: Path) -> str:
    """The visibility a marker file states; anything but its one word is an error."""
    text = marker.read_text(encoding="utf-8-sig", errors="replace")
    value = " ".join(normalize_text(text).lower().split())
    if value not in _MARKER_WORDS:
        raise IngestError(f"{marker}: expected 'internal' or 'public', found {value[:40]!r}")
    return _MARKER_WORDS[value]
