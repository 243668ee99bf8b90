"""Command line: ``python -m search_service ingest|search|serve|check`` (thin shells over the
library).

An operator's mistake (a mistyped or unmounted --index, a damaged or unreadable index, a report
that cannot be written) ends in one ``Error: …`` line naming the path and what to do, and exit
status 1 — never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from search_service import config
from search_service.cluster import (ClusterUnavailable, backend_of, cluster_target, engine_for,
                                    register as register_cluster)
from search_service.errors import IndexMissing, IndexProblem, QueryTooLong
from search_service.library.commands import register as register_library


def _index_option(f):
    return click.option("--index", "index_dir", type=click.Path(file_okay=False),
                        help="Index folder (default: $SEARCH_INDEX_DIR or index/ at the repo root).")(f)


def _settings() -> dict:
    try:
        return config.load()
    except ValueError as exc:
        raise click.ClickException(f"a setting is not usable: {exc}") from None


def _usable_index(path: Path, missing_hint: str = ""):
    """check_index(path), or the ClickException that says what is wrong and what to do."""
    from search_service.index.schema import check_index

    try:
        return check_index(path)
    except IndexMissing as exc:
        raise click.ClickException(f"{exc}{missing_hint if exc.creatable else ''}") from None
    except IndexProblem as exc:
        raise click.ClickException(str(exc)) from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
def main(verbose):
    """Tra cứu phường: Vietnamese-aware search over a ward's documents."""
    # Without -v only errors are logged: the commands say what went wrong themselves
    # ("Error: ...", "warning: ..."), a log line would repeat it.
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
@_index_option
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--sync", is_flag=True,
              help="Make the index match the folder: also remove documents whose file is gone.")
@click.option("--visibility", type=click.Choice(["public", "internal"]),
              help="Mark these documents internal (staff only). A record's own visibility "
                   "wins; --visibility public does not override a folder's .visibility file.")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Refuse files larger than this (default: $SEARCH_MAX_FILE_MB or 50).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write a JSON report of every file, its outcome and its metadata.")
@click.option("--workers", type=click.IntRange(min=0, max=64), default=None,
              help="Processes indexing next to this one (default: one per further core, "
                   "at most 3; 0: index in this process only).")
@click.option("--library", "library_dir", type=click.Path(file_okay=False),
              help="Library folder the files are kept in (default: $SEARCH_LIBRARY_DIR or "
                   "library/ at the repository root).")
def ingest(index_dir, paths, sync, visibility, max_file_mb, report_path, workers,
           library_dir):
    """Index files or folders (recursively): article text, HTML, DOCX, PDF, JSON Lines.

    Unchanged files are skipped; a file that cannot be read is reported and the others are
    still indexed; the exit status is 1 when any file failed.

    Example: python -m search_service ingest --sync --report bao-cao.json /srv/ward-files
    """
    import sqlite3

    from search_service.ingest.pipeline import IndexUnavailable, ingest_paths
    from search_service.ingest.report import printable
    from search_service.library import LibraryError
    from search_service.library.commands import open_library
    from search_service.index.schema import READ_ERRORS

    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise click.ClickException(f"no such file or folder: {', '.join(missing)}")
    if sync and (len(paths) != 1 or not Path(paths[0]).is_dir()):
        raise click.ClickException("--sync takes exactly one folder")
    if report_path and not Path(report_path).resolve().parent.is_dir():
        raise click.ClickException(f"cannot write the report: no folder for {report_path}")
    settings = _settings()
    if max_file_mb is None:
        max_file_mb = float(settings["MAX_FILE_MB"])
    path = config.index_dir(index_dir)
    target = _cluster(cluster_target)           # SEARCH_BACKEND names a cluster: --index unused
    before = _index_to_write(path) if target is None else None
    _require_readable_folders(paths)
    library = open_library(library_dir) if target is None else None    # kept there first
    bar = _progress_bar()
    try:
        summary = ingest_paths(path, paths, visibility=visibility, sync=sync,
                               max_file_mb=max_file_mb, progress=bar,
                               workers=workers, target=target, library=library,
                               max_seconds_per_file=float(settings["MAX_SECONDS_PER_FILE"]),
                               ocr_progress=_ocr_progress(bar is not None))
    except IndexUnavailable as exc:
        raise click.ClickException(f"nothing was indexed: {exc}") from None
    except (*READ_ERRORS, UnicodeError) as exc:
        raise click.ClickException(_ingest_failed(path, before, exc)) from None
    except (LibraryError, sqlite3.Error) as exc:
        raise click.ClickException(f"the library could not be written: {exc}; the index was "
                                   "not changed") from None
    finally:
        if library is not None:
            library.close()
    for report in summary.files:
        for warning in report.warnings:
            click.echo(f"warning: {printable(report.path)}: {printable(warning)}", err=True)
        if report.outcome == "failed":
            click.echo(f"failed: {printable(report.path)}: {printable(report.error)}", err=True)
    report_error = _write_report(report_path, summary) if report_path else None
    click.echo(summary.line(), err=True)
    errors = [e for e in (report_error, summary.failure_line()) if e]
    for error in errors[:-1]:
        click.echo(f"Error: {error}", err=True)
    if errors:
        raise click.ClickException(errors[-1])


def _index_to_write(path: Path) -> int | None:
    """The generation of the index in ``path`` before a run (None: ingest will create it).

    A damaged or unreadable index is refused before any file is read; so is a folder that
    holds other files, where a mistyped --index would scatter index files among them.
    """
    from search_service.index.schema import check_index

    try:
        return check_index(path).generation
    except IndexMissing as exc:
        if exc.creatable:
            return None
        raise click.ClickException(f"nothing was indexed: {exc}; ingest makes a new index only "
                                   "in a new or empty folder") from None
    except IndexProblem as exc:
        raise click.ClickException(f"nothing was indexed: {exc}") from None


def _require_readable_folders(paths) -> None:
    """Refuse a run when a folder below ``paths`` cannot be listed: the file walk would skip it
    without a word, leaving its files out and, with --sync, deleting their documents."""
    for raw in paths:
        if not Path(raw).is_dir():
            continue
        errors: list[OSError] = []
        for _top, dirs, _files in os.walk(raw, onerror=errors.append):
            dirs[:] = [d for d in dirs if not d.startswith(".")]    # not ingested anyway
            if errors:
                break
        if errors:
            exc = errors[0]
            raise click.ClickException(
                f"nothing was indexed: cannot read the folder {exc.filename}: "
                f"{exc.strerror or exc}; the user running ingest needs read access to it "
                "(its files would be left out, and --sync would remove their documents)")


def _ingest_failed(path: Path, before: int | None, exc: Exception) -> str:
    """The message for a run stopped by the system (permissions, disk, a name that is not
    UTF-8, a damaged index): what failed, and whether the index changed — read from disk."""
    from search_service.ingest.report import printable
    from search_service.index.schema import index_problem, latest_generation

    if isinstance(exc, UnicodeEncodeError) and isinstance(exc.object, str):
        what = (f"the name {printable(exc.object)} is not valid UTF-8 and cannot be stored in "
                "the index; rename it")
    elif isinstance(exc, UnicodeError):
        what = f"a file or folder name is not valid UTF-8 ({exc}); rename it"
    elif not isinstance(exc, OSError):
        what = str(index_problem(path, exc))
    else:
        filename = printable(str(exc.filename)) if exc.filename else None
        inside = filename and Path(filename).resolve().is_relative_to(path.resolve())
        if inside or not filename:
            what = f"cannot write the index in {path}: {exc.strerror or exc}"
            what += f": {filename}" if filename else ""
            if isinstance(exc, PermissionError):
                what += "; the user running ingest needs write access to the folder"
        else:
            what = f"cannot read {filename}: {exc.strerror or exc}"
    after = latest_generation(path)
    # Generation 0 is the empty index a first run creates before it writes anything.
    if after is not None and after > (before or 0):
        return f"the index was updated (generation {after}), but the run then failed: {what}"
    return f"nothing was indexed: {what}"


def _write_report(report_path: str, summary) -> str | None:
    """Write the JSON report; after the commit, a failure must not hide that the index changed."""
    try:
        data = json.dumps(summary.to_json(), ensure_ascii=False, indent=2).encode("utf-8")
        Path(report_path).write_bytes(data)
    except Exception as exc:  # noqa: BLE001 - whatever it is, say what state the index is in
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                  else f"{type(exc).__name__}: {exc}")
        state = ("the index was updated" if summary.changed_index()
                 else "the index needed no change")
        return f"{state}, but the report could not be written to {report_path}: {reason}"
    return None


def _ocr_progress(bar: bool):
    """A line on stderr per page of a scan read by OCR (2-5 s a page: a long run must show
    that it moves), ``OCR quet-1998.pdf: page 3/12 (2.8 s)``; above the tqdm bar when there
    is one. Runs without scans print nothing more."""
    from search_service.ingest.report import printable

    def show(name: str, page: int, pages: int, seconds: float) -> None:
        if page < 1:                    # about to start: the first page says enough
            return
        line = f"OCR {printable(name)}: page {page}/{pages} ({seconds:.1f} s)"
        if bar:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)
    return show


def _progress_bar():
    """A tqdm bar on stderr when a person is watching it; None in pipes, cron and tests."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda files: tqdm(files, desc="ingest", unit="file", file=sys.stderr, leave=False)


@main.command()
@_index_option
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON of GET /api/search (less its links).")
@click.option("--internal", is_flag=True, help="Include internal documents (staff only).")
def search(index_dir, query, limit, as_json, internal):
    """Search the index.

    Example: python -m search_service search "phuc loi hoi nghi"
    """
    from search_service.index.schema import READ_ERRORS, index_problem
    from search_service.search import SearchEngine, SearchRequest

    try:        # a query the library refuses is refused before any index is opened
        req = SearchRequest(q=" ".join(query), per_page=limit, facets=as_json,
                            include_internal=internal,
                            max_query_chars=_settings()["MAX_QUERY_CHARS"])
    except QueryTooLong as exc:
        raise click.ClickException(exc.message) from None
    path = config.index_dir(index_dir)
    engine = _cluster(engine_for)               # SEARCH_BACKEND names a cluster: --index unused
    if engine is None:
        _usable_index(path, "; run `ingest` first")
    try:
        engine = engine or SearchEngine(path, create=False)
        result = engine.search(req)
    except READ_ERRORS as exc:          # damage that check_index could not see
        raise click.ClickException(str(index_problem(path, exc))) from None
    except ClusterUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.total} kết quả ({result.took_ms:.0f} ms)")
    if result.did_you_mean:
        click.echo(f"Có phải bạn muốn tìm: {result.did_you_mean}")
    for n, hit in enumerate(result.hits, start=1):
        meta = " · ".join(x for x in (hit.doc_number, hit.doc_type, (hit.published or "")[:10]) if x)
        click.echo(f"{n:2}. {hit.title}  [{hit.id}]" + (f"\n    {meta}" if meta else ""))


@main.command()
@_index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--create", is_flag=True,
              help="Serve a new, empty index (no sample documents) when the folder has none; "
                   "only in a new or empty folder.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes sharing the port, each with its own copy of the open "
                   "index (default: one per core).")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Request threads per process.")
def serve(index_dir, host, port, create, workers, threads):
    """Serve the web UI and the JSON API.

    The folder must hold an index (made by `ingest`), or --create makes an empty one. Only the
    default index (no --index, no SEARCH_INDEX_DIR) is made on its first run without asking,
    with the bundled sample documents so a newcomer sees results.

    Runs gunicorn: --workers processes on one port; SIGTERM lets requests in flight finish.
    Health: GET /healthz (the process answers) and GET /readyz (the index is open).

    Example: python -m search_service serve --index /srv/tra-cuu/index --port 8000 --workers 2
    """
    from search_service.index.schema import READ_ERRORS, index_problem
    from search_service.web import create_app, ops

    settings = _settings()
    path = config.index_dir(index_dir)
    if _cluster(cluster_target) is None:        # a cluster is served as it is
        index_to_serve(path, default=_is_default_index(path), create=create,
                       sample_dir=Path(settings["SAMPLE_DIR"]))
    try:
        app = create_app({"INDEX_DIR": str(path)})
        app.extensions["search_engine"].warm()
    except READ_ERRORS as exc:          # damage that check_index could not see
        raise click.ClickException(str(index_problem(path, exc))) from None
    except ValueError as exc:           # a SEARCH_* limit that does not parse
        raise click.ClickException(str(exc)) from None
    workers = workers or os.cpu_count() or 1
    _require_free_port(host, port)
    ops.log_access_to_stderr()
    # What an operator follows besides the access log: workers ready, each new generation
    # served (and how long after its commit), staff logins.
    logging.getLogger("search_service").setLevel(logging.INFO)
    click.echo(f"Tra cứu phường: http://{host}:{port}/", err=True)
    # The index was opened here to check it; ops.run_server closes it before forking and each
    # worker opens its own.
    ops.run_server(app, host=host, port=port, workers=workers, threads=threads)


def _require_free_port(host: str, port: int) -> None:
    """Fail now, in one line, when the address cannot be listened on (gunicorn would retry
    for 5 seconds and then log the error among its own)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; is another server "
                "running there? Choose another --port or stop it") from None


def _is_default_index(path: Path) -> bool:
    default = next(s.default for s in config.SETTINGS if s.name == "INDEX_DIR")
    return path.resolve() == Path(default).resolve()


def index_to_serve(path: Path, *, default: bool, create: bool, sample_dir: Path):
    """Make sure ``path`` holds an index fit to serve; return what check_index found.

    An explicit folder without an index is a mistyped or unmounted path, not a reason to serve
    sample documents: it is an error unless ``create`` (then an empty index, in a new or empty
    folder only). The default index is made on its first run, with the samples unless
    ``create``; "first run" means no index yet, or the empty one a first open left behind.
    """
    from search_service.index.schema import check_index, open_index

    try:
        info = check_index(path)
    except IndexMissing as exc:
        if not (default or (create and exc.creatable)):
            raise click.ClickException(_missing_to_serve(exc, path, create)) from None
        info = None
    except IndexProblem as exc:
        raise click.ClickException(str(exc)) from None
    if info is None:
        try:
            open_index(path)
            info = check_index(path)
        except (OSError, IndexProblem) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise click.ClickException(f"cannot create an index in {path}: {reason}") from None
        if create:
            click.echo(f"warning: created a new, empty index in {path}; add documents with "
                       f"`ingest --index {path} FILES`", err=True)
            return info
    if default and not create and info.documents == 0 and info.generation == 0:
        return _seed(path, sample_dir) or info
    if info.documents == 0:
        click.echo(f"warning: the index in {path} has no documents; add some with "
                   f"`ingest --index {path} FILES`", err=True)
    return info


def _missing_to_serve(exc: IndexMissing, path: Path, create: bool) -> str:
    if not exc.creatable:
        return f"{exc}; --create makes an index only in a new or empty folder" if create \
            else str(exc)
    return (f"{exc}; build it with `ingest --index {path} FILES`, or add --create to serve a "
            "new, empty index there")


def _seed(path: Path, sample_dir: Path):
    """Ingest the bundled sample documents into a new default index."""
    from search_service.ingest.pipeline import IndexUnavailable, ingest_paths

    if not sample_dir.is_dir():
        click.echo(f"warning: no sample documents in {sample_dir}; serving an empty index",
                   err=True)
        return None
    try:
        summary = ingest_paths(path, [sample_dir])
    except (IndexUnavailable, OSError) as exc:
        raise click.ClickException(f"the sample documents could not be ingested into "
                                   f"{path}: {exc}") from None
    click.echo(f"empty index: ingested the sample documents ({summary.line()})", err=True)
    return _usable_index(path)


@main.command()
@_index_option
@click.option("--library", "library_dir", type=click.Path(file_okay=False),
              help="Library folder to compare the index with (default: $SEARCH_LIBRARY_DIR or "
                   "library/ at the repository root, when it feeds this index).")
def check(index_dir, library_dir):
    """Check that the index can be searched and agrees with the library that feeds it.

    Reads a little of every file of the index and prints a summary; then compares the
    documents of the index with the library's: a document in one and not the other (and not
    waiting for the next ingest), or held twice by the index, is a disagreement. Exit status
    1, with what is at fault and what to do, when the index is missing, damaged or
    unreadable, or disagrees with the library; neither is ever written. The default library
    is compared only when it feeds this index; one named with --library always is.

    Example: python -m search_service check --index /srv/tra-cuu/index --library /srv/tra-cuu/library
    """
    path = config.index_dir(index_dir)
    info = _usable_index(path)
    line = (f"index {path} is usable: {_plural(info.documents, 'document')}, "
            f"{_plural(info.segments, 'segment')}, generation {info.generation}")
    if info.deleted:
        line += f" ({_plural(info.deleted, 'deleted document')} still in the files)"
    click.echo(line)
    agreement = _library_agreement(path, library_dir)
    if agreement is not None:
        click.echo(agreement)


def _library_agreement(path: Path, library_dir: str | None) -> str | None:
    """The line saying that the library agrees with the index in ``path``; None when there is
    no library to compare with (only the default one may be missing or feed other indexes)."""
    import sqlite3

    from search_service.index.schema import READ_ERRORS, index_problem
    from search_service.library.agreement import compare
    from search_service.library.commands import default_library_dir, open_library
    from search_service.library.store import DATABASE

    folder = Path(library_dir) if library_dir else default_library_dir()
    if not (folder / DATABASE).is_file():       # opening it would create one
        if library_dir is None:
            return None
        raise click.ClickException(f"no library in {folder} (no {DATABASE}); is the path right?")
    library = open_library(str(folder))
    try:
        found = compare(library, path)
    except READ_ERRORS as exc:          # damage that check_index could not see
        raise click.ClickException(str(index_problem(path, exc))) from None
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read the library in {folder}: {exc}") from None
    finally:
        library.close()
    if not found.fed and library_dir is None:
        return None
    if not found.agrees:
        raise click.ClickException(
            f"the index in {path} and the library in {folder} disagree: "
            + "; ".join(found.problems())
            + f"; rebuild the index from the library: `reindex --index {path} --library "
              f"{folder}` (when the index holds documents the library lacks, `library "
              "import-index` copies them in first)")
    line = (f"library {folder} agrees: {_plural(found.library_documents, 'document')}, "
            f"{found.index_documents} in the index")
    if found.waiting:
        line += (f"; {_plural(found.waiting, 'change')} waiting for the next ingest "
                 "into this index")
    return line


@main.command("hash-password")
@click.password_option(help="The staff member's password (asked twice when not given).")
def hash_password_command(password):
    """Print the hash to put in SEARCH_STAFF_USERS (as user:hash); the password is never stored.

    Example: python -m search_service hash-password
    """
    from search_service.web.auth import hash_password

    click.echo(hash_password(password))


def _cluster(factory):
    """``factory(settings)`` when SEARCH_BACKEND names a cluster, else None."""
    try:
        return factory(_settings()) if backend_of(_settings()) else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


register_cluster(main)        # local-cluster up|down
register_library(main, lambda: _cluster(cluster_target))   # users, tokens, backup, restore,
#                                   reindex (into the cluster SEARCH_BACKEND names), import-index
