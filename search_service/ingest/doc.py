"""Word 97-2003 documents (.doc), read by Debian's ``antiword``, then metadata.

Why antiword (measured on a 2,000-paragraph .doc: 0.05 s; 0.6 MB installed): catdoc is as
fast but drops the byte 0xAD, which is "ư" in the TCVN3 font of old ward documents
(``Ph­êng``), so "Phường" could never be restored; LibreOffice reads more but installs
some 260 MB in 50 packages and starts in seconds. antiword prints text typed in 8-bit
fonts as Windows-1252 characters, so TCVN3 and VNI text is converted afterwards
(:mod:`search_service.ingest.legacy`).

antiword prints a paragraph per line with ``-w 0``, and a table row as ``|cell|cell|``:
the cells become lines of their own, as the header table's columns are in DOCX files.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, legacy, metadata

logger = logging.getLogger(__name__)

INSTALL_HINT = "install the Debian package antiword (see the README)"


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a .doc file."""
    text, _ = legacy.fix_text(_antiword(data))
    lines = [" ".join(cell.split()) for line in normalize_text(text).splitlines()
             for cell in _cells(line)]
    lines = [line for line in lines if line]
    if not lines:
        raise IngestError("the Word document holds no text")
    return [metadata.document_from_lines(lines, path.stem)]


def _cells(line: str) -> list[str]:
    """A table row "|ỦY BAN NHÂN DÂN|CỘNG HÒA …|" as its cells; other lines as they are."""
    stripped = line.strip()
    if len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|"):
        return stripped[1:-1].split("|")
    return [line]


def _antiword(data: bytes) -> str:
    """The text antiword finds in ``data``, or IngestError saying why there is none."""
    from search_service import config

    timeout = float(config.load()["MAX_SECONDS_PER_FILE"])
    with tempfile.NamedTemporaryFile(suffix=".doc") as source:
        source.write(data)
        source.flush()
        try:
            done = subprocess.run(
                ["antiword", "-m", "UTF-8.txt", "-w", "0", source.name],
                capture_output=True, timeout=timeout, check=False,
                env={**os.environ, "LC_ALL": "C.UTF-8"})
        except FileNotFoundError:
            raise IngestError(f"reading Word 97-2003 files needs antiword: {INSTALL_HINT}") \
                from None
        except subprocess.TimeoutExpired:
            raise IngestError(f"antiword took over the {timeout:g} s allowed per file "
                              "(SEARCH_MAX_SECONDS_PER_FILE)") from None
    if done.returncode != 0:
        raise IngestError(f"corrupt Word 97-2003 document: {_reason(done, source.name)}")
    return done.stdout.decode("utf-8", errors="replace")


def _reason(done: subprocess.CompletedProcess, name: str) -> str:
    """antiword's complaint in words, without the temporary file's name."""
    if done.returncode < 0:
        return f"antiword crashed on it (signal {-done.returncode})"
    message = done.stderr.decode("utf-8", errors="replace").replace(name, "the file")
    message = " ".join(message.split())
    logger.debug("antiword failed: %s", message)
    return message[:300] or f"antiword failed (exit code {done.returncode})"
