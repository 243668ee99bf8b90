"""One archive of the whole library, made while the service keeps working; and its restore.

A backup is a ``.tar.gz`` of ``manifest.json``, ``library.sqlite3`` and ``originals/``. For the
database and the files to belong together, the snapshot is taken under the library's write
lock, briefly: SQLite's online backup API copies the database through a second connection,
and every original it names is hard-linked (copied where links are impossible) into a
folder beside the library. Writers wait only for that; the slow compression runs after.

A restore goes only into a folder that holds no library: a backup never overwrites one.
Archive member names are checked against the three shapes a backup holds, links and special
files are refused, and every original must match its hash, so a hostile or damaged archive
cannot write outside the folder or smuggle in files. It is unpacked into a hidden folder and
moved into place at the end, so a refused restore leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from search_service.library.database import now
from search_service.library.errors import Conflict, InvalidValue, SchemaTooNew
from search_service.library.migrations import SCHEMA_VERSION
from search_service.library.originals import relative_path

logger = logging.getLogger(__name__)

FORMAT = 1
DATABASE = "library.sqlite3"
MANIFEST = "manifest.json"
_ORIGINAL_RE = re.compile(r"originals/([0-9a-f]{2})/([0-9a-f]{64})\.bin")
_CHUNK = 1 << 20


def backup(library, file: str | Path) -> dict:
    """Write the library to ``file`` (a .tar.gz; replaced atomically if it exists).

    Returns the manifest: counts, the schema version, and ``missing``: originals the database
    names but the folder lacks (the backup is still written, with what there is).
    """
    target = Path(file)
    if target.is_dir():
        raise InvalidValue(f"{target} is a folder; give the archive's file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=library.folder) as tmp:
        manifest = _snapshot(library, Path(tmp))
        _write_archive(Path(tmp), manifest, target)
    logger.info("backup: %d documents, %d originals to %s", manifest["documents"],
                manifest["originals"], target)
    if manifest["missing"]:
        logger.warning("backup: %d originals are missing from %s", len(manifest["missing"]),
                       library.folder)
    return manifest


def _snapshot(library, folder: Path) -> dict:
    """The database and its originals as of one moment, in ``folder``."""
    (folder / "originals").mkdir()
    with library.db.write():            # no writer commits until the snapshot is complete
        reader = sqlite3.connect(library.db.path)
        try:
            with sqlite3.connect(folder / DATABASE) as copy:
                reader.backup(copy)
            copy.close()
            shas = [row[0] for row in reader.execute(
                "SELECT DISTINCT sha256 FROM documents ORDER BY sha256")]
            count = reader.execute("SELECT count(*) FROM documents").fetchone()[0]
            version = reader.execute("PRAGMA user_version").fetchone()[0]
        finally:
            reader.close()
        missing = [sha for sha in shas if not _link(library.originals.path(sha),
                                                    folder / relative_path(sha))]
    return {"format": FORMAT, "created": now(), "schema_version": version,
            "documents": count, "originals": len(shas) - len(missing), "missing": missing}


def _link(source: Path, dest: Path) -> bool:
    """Hard-link (or copy) one original; False when it is missing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except FileNotFoundError:
        return False
    except OSError:                      # another file system, or no hard links there
        try:
            shutil.copy2(source, dest)
        except FileNotFoundError:
            return False
    return True


def _write_archive(folder: Path, manifest: dict, target: Path) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                   dir=target.parent)
    os.close(fd)
    try:
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(folder / MANIFEST, MANIFEST)
            tar.add(folder / DATABASE, DATABASE)
            for path in sorted((folder / "originals").glob("??/*.bin")):
                tar.add(path, path.relative_to(folder).as_posix())
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def restore(file: str | Path, folder: str | Path) -> dict:
    """Unpack a backup into ``folder``, which must hold no library; returns the manifest.

    Other files in the folder (``.gitkeep``, the web server's ``sessions.sqlite3``) stay. The
    archive is unpacked into a hidden folder inside ``folder`` (so the final moves never cross
    file systems); the originals move in first and the database last, with a hard link that
    never replaces a database that appeared meanwhile. A backup from an older version of the
    program is upgraded when the library is next opened.
    """
    target = Path(folder).absolute()
    if target.exists() and (not target.is_dir() or holds_library(target)):
        raise Conflict(f"{target} already holds a library: restore only into a folder without "
                       "one (a backup never overwrites a library)")
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=target))
    try:
        manifest = _unpack(Path(file), staging)
        # The counts returned are the database's, not the archive's word for them.
        manifest["documents"] = _check_database(staging, manifest)
        _move_in(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            try:
                target.rmdir()          # only if nothing else appeared there meanwhile
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise Conflict(f"could not restore into {target}: {exc.strerror or exc}") from None
        raise
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("restore: %d documents from %s into %s", manifest["documents"], file, target)
    return manifest


def holds_library(folder: Path) -> bool:
    """Whether ``folder`` has a library's database (or its journal) or originals."""
    names = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", "originals")
    return any((folder / name).exists() for name in names)


def _move_in(staging: Path, target: Path) -> None:
    (staging / "originals").mkdir(exist_ok=True)
    os.rename(staging / "originals", target / "originals")
    try:
        os.link(staging / DATABASE, target / DATABASE)
    except BaseException:
        os.rename(target / "originals", staging / "originals")
        raise


def _unpack(file: Path, folder: Path) -> dict:
    """Extract the members a backup may hold into ``folder``; anything else is refused."""
    try:
        tar = tarfile.open(file, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidValue(f"{file} is not a library backup (.tar.gz): {exc}") from None
    seen: set[str] = set()
    with tar:
        try:
            for member in tar:
                _extract_member(tar, member, folder, seen)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidValue(f"{file} is damaged: {exc}") from None
    for required in (MANIFEST, DATABASE):
        if required not in seen:
            raise InvalidValue(f"{file} is not a library backup: it has no {required}")
    return _manifest(folder / MANIFEST)


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, folder: Path,
                    seen: set[str]) -> None:
    name = member.name
    if member.isdir() and (name in ("originals", "originals/")
                           or re.fullmatch(r"originals/[0-9a-f]{2}/?", name)):
        return
    match = _ORIGINAL_RE.fullmatch(name)
    if name not in (MANIFEST, DATABASE) and not (match and match[2].startswith(match[1])):
        raise InvalidValue(f"unexpected member {name!r}: not a library backup, or tampered with")
    if not member.isreg():
        raise InvalidValue(f"member {name!r} is a link or a special file; refused")
    if name in seen:
        raise InvalidValue(f"member {name!r} appears twice; refused")
    seen.add(name)
    dest = folder / name                # safe: name matched one of the shapes above
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tar.extractfile(member) as source, open(dest, "xb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if match and digest.hexdigest() != match[2]:
        raise InvalidValue(f"{name} does not match its hash: the archive is damaged")


def _manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidValue("the backup's manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidValue(f"unknown backup format: {str(manifest)[:80]!r}")
    return manifest


def _check_database(folder: Path, manifest: dict) -> int:
    """The database is sound, not newer than this program, and has its originals; returns
    how many documents it holds."""
    try:
        conn = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            shas = [r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM documents")]
            count = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidValue(f"the backup's database is damaged: {exc}") from None
    if check != "ok":
        raise InvalidValue(f"the backup's database is damaged: {check}")
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(f"the backup has schema version {version}; this program knows "
                           f"only up to {SCHEMA_VERSION}: restore it with a newer version")
    declared = set(manifest.get("missing") or [])
    lacking = [s for s in shas if s not in declared and not (folder / relative_path(s)).is_file()]
    if lacking:
        raise InvalidValue(f"the backup lacks {len(lacking)} original file(s) its database "
                           f"names (first: {lacking[0]})")
    return count
