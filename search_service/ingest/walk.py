"""Which files a run reads: the folder walk, its rule for symbolic links, and the read itself.

A folder given to ``ingest`` is what its owner chose to publish (or to mark internal), so a
symbolic link inside it must not reach further: a link to ``/etc/passwd`` in a public folder
would publish the server's accounts, and a link from a public folder to a file in an internal
one would publish that file. The rule, for every caller of :func:`collect_files`:

* a file reached through a link is taken only when the link leads inside the folder given
  (for a file given directly: inside its folder) and to a place with the same ``.visibility``
  markers as the link's own; otherwise it is refused with the reason;
* a link to a folder is never descended: inside the folder given, its files are reached
  where they really are; a link to a folder outside it is refused with the reason;
* a path given to the run that is itself a link follows the same rule, against the folder
  it is in: ``ingest uploads/*`` must not take a link to ``/etc`` someone left in uploads.

The rule is checked again on the file actually opened (its path as the kernel tells it), so
replacing a checked file with a link while a long run is under way gains nothing.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import NamedTuple

from search_service.ingest import IngestError
from search_service.ingest.visibility import FolderMarkers

LINK_OUT = "refused: a symbolic link leading out of the ingested folder"
LINK_LOOP = "refused: a symbolic link that leads to itself"


class Refused(NamedTuple):
    """A path the walk will not read, and why (a per-file failure in the report)."""

    path: Path
    reason: str


def collect_files(paths, exclude: Path | None = None,
                  refused: list[Refused] | None = None) -> list[tuple[Path, Path]]:
    """``(file, root)`` pairs: files given directly, and every file below a folder, sorted.

    In folders, hidden files (``.visibility``, ``.git``), Word's ``~$`` lock files, anything
    that is not a regular file and the index folder itself are left out; a file reached
    twice is taken once. Symbolic links follow the module's rule; what it refuses is added to
    ``refused`` when given, and is never returned.
    """
    excluded = exclude.resolve() if exclude else None
    refused = [] if refused is None else refused
    markers = FolderMarkers(None)
    found, taken = [], set()
    for raw in paths:
        path = Path(raw)
        refusal = _given_link_refusal(path, markers)
        if refusal:
            refused.append(Refused(path, refusal))
            continue
        root, files = (path, _walk(path, refused)) if path.is_dir() else (path.parent, [path])
        real_root = root.resolve()
        for file in files:
            outcome = _admit(file, real_root, markers)
            if isinstance(outcome, str):
                refused.append(Refused(file, outcome))
                continue
            if outcome is None or outcome in taken or (
                    excluded and (outcome == excluded or excluded in outcome.parents)):
                continue
            taken.add(outcome)
            found.append((file, root))
    return found


def read_file(file: Path, root: Path, max_file_mb: float,
              markers: FolderMarkers | None = None) -> bytes:
    """The bytes of ``file`` (at most ``max_file_mb``), checking the walk's rule on the file
    actually opened. :class:`IngestError` says why a file is not read. ``markers``: a
    ``FolderMarkers(None)`` kept for the run, so each folder's marker is read once."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    with open(os.open(file, flags), "rb") as stream:    # O_NONBLOCK: a FIFO must not hang us
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise IngestError("not a regular file")
        refusal = link_refusal(file, _opened_path(stream.fileno(), file), root.resolve(),
                               markers or FolderMarkers(None))
        if refusal:
            raise IngestError(refusal)
        limit = max_file_mb * 1024 * 1024
        if info.st_size > limit:
            raise IngestError(f"file is {info.st_size / 1048576:.3g} MB, over the "
                              f"{max_file_mb:g} MB limit")
        data = stream.read(int(limit) + 1)              # it may have grown since fstat
    if len(data) > limit:
        raise IngestError(f"file is over the {max_file_mb:g} MB limit")
    if not data:
        raise IngestError("empty file")
    return data


def link_refusal(file: Path, real: Path, real_root: Path, markers: FolderMarkers) -> str | None:
    """Why ``file``, really at ``real``, may not be read as part of ``real_root``; or None."""
    if real != real_root and real_root not in real.parents:
        return LINK_OUT
    try:
        here, there = markers.default_for(file), markers.default_for(real)
    except IngestError as exc:          # an unreadable marker: the file would fail anyway
        return str(exc)
    if here != there:
        return (f"refused: a symbolic link from {_a(here)} folder to a file in {_a(there)} "
                "folder")
    return None


def _given_link_refusal(path: Path, markers: FolderMarkers) -> str | None:
    """A path given to the run is a link leading out of its own folder: refused too, since
    a shell glob (``ingest uploads/*``) names whatever links someone left there."""
    if not path.is_symlink():
        return None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None                     # dangling or looping: the walk says what it is
    refusal = link_refusal(path, real, path.parent.resolve(), markers)
    return f"{refusal} (name its target if you mean to ingest it)" if refusal else None


def _walk(top: Path, refused: list[Refused]) -> list[Path]:
    """The files below ``top``, sorted; links to folders are never descended (os.walk's
    default), and those leading out of ``top`` are refused."""
    real_top = top.resolve()
    files = []

    def unreadable(exc: OSError) -> None:
        refused.append(Refused(Path(exc.filename),
                               f"cannot read the folder: {exc.strerror or exc}"))

    for folder, dirs, names in os.walk(top, onerror=unreadable):
        here = Path(folder)
        kept = []
        for name in dirs:
            if name.startswith("."):
                continue
            if not (here / name).is_symlink():
                kept.append(name)
            elif _outside(here / name, real_top):
                refused.append(Refused(here / name, LINK_OUT))
        dirs[:] = kept
        files.extend(here / name for name in names if not _ignored(name))
    return sorted(files)


def _admit(file: Path, real_root: Path, markers: FolderMarkers) -> Path | str | None:
    """The real path of a file to read, a refusal, or None for what is silently left out."""
    try:
        info = os.lstat(file)
        if stat.S_ISLNK(info.st_mode):
            real = file.resolve(strict=True)
            refusal = link_refusal(file, real, real_root, markers)
            if refusal:
                return refusal
            if any(_ignored(part) for part in real.relative_to(real_root).parts):
                return None                 # a hidden file stays hidden behind a link
            info = os.stat(real)
        else:
            real = file.resolve()
    except RuntimeError:                    # Python 3.11's resolve() on a loop
        return LINK_LOOP
    except OSError as exc:                  # a dangling link, or a file gone meanwhile
        return LINK_LOOP if exc.errno == errno.ELOOP else None
    return real if stat.S_ISREG(info.st_mode) else None


def _outside(link: Path, real_top: Path) -> bool:
    try:
        real = link.resolve()
    except (OSError, RuntimeError):
        return True
    return real != real_top and real_top not in real.parents


def _opened_path(fd: int, file: Path) -> Path:
    """Where the open file really is: the kernel's answer on Linux, else resolve()."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return file.resolve()


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.startswith("~$")


def _a(visibility: str) -> str:
    return f"an {visibility}" if visibility[0] in "aeiou" else f"a {visibility}"
