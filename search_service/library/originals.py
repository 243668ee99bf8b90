"""The original files, kept by content: ``originals/ab/abcdef….bin``.

The uploaded name is metadata in the database, never a path on disk: names from users cannot
escape the folder, two files called ``quyet-dinh.pdf`` do not collide, and identical bytes are
stored once. Files appear atomically (a temporary file, then ``os.replace``), so a crash never
leaves half a file under a real name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

FOLDER = "originals"
SHA256_RE = re.compile(r"[0-9a-f]{64}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def relative_path(sha256: str) -> str:
    """Where the bytes with this hash live, relative to the library folder."""
    if not SHA256_RE.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"{FOLDER}/{sha256[:2]}/{sha256}.bin"


class Originals:
    """The ``originals/`` folder of one library."""

    def __init__(self, library_folder: str | Path):
        self.root = Path(library_folder)

    def path(self, sha256: str) -> Path:
        return self.root / relative_path(sha256)

    def stage(self, data: bytes) -> Path:
        """Write ``data`` to a temporary file in the originals folder and fsync it.

        The slow part (writing the bytes) happens before the caller takes the database's write
        lock; :meth:`place` then only renames.
        """
        folder = self.root / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".incoming-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def place(self, staged: Path, sha256: str) -> bool:
        """Move a staged file to its place; False (and the staged file dropped) if the same
        bytes are there already."""
        target = self.path(sha256)
        if target.exists():
            staged.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        return True

    def remove(self, sha256: str) -> None:
        """Delete the file of these bytes, if it is there, and its folder once empty (callers
        hold the database's write lock, so no :meth:`place` is filling that folder now)."""
        path = self.path(sha256)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:                 # other originals share the folder
            pass

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
