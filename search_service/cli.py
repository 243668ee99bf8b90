"""Command line: ``python -m search_service ingest|search|serve`` (thin shells over the library)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import click

from search_service import config


def _index_option(f):
    return click.option("--index", "index_dir", type=click.Path(file_okay=False),
                        help="Index folder (default: $SEARCH_INDEX_DIR or index/ at the repo root).")(f)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
def main(verbose):
    """Tra cứu phường: Vietnamese-aware search over a ward's documents."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
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
def ingest(index_dir, paths, sync, visibility, max_file_mb, report_path, workers):
    """Index files or folders (recursively): article text, HTML, DOCX, PDF, JSON Lines.

    Unchanged files are skipped; a file that cannot be read is reported and the others are
    still indexed; the exit status is 1 when any file failed.

    Example: python -m search_service ingest --sync --report bao-cao.json /srv/ward-files
    """
    from search_service.ingest.pipeline import IndexUnavailable, ingest_paths

    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise click.ClickException(f"no such file or folder: {', '.join(missing)}")
    if sync and (len(paths) != 1 or not Path(paths[0]).is_dir()):
        raise click.ClickException("--sync takes exactly one folder")
    if report_path and not Path(report_path).resolve().parent.is_dir():
        raise click.ClickException(f"cannot write the report: no folder for {report_path}")
    if max_file_mb is None:
        try:
            max_file_mb = float(config.load()["MAX_FILE_MB"])
        except ValueError as exc:
            raise click.ClickException(f"SEARCH_MAX_FILE_MB is not a number: {exc}") from None
    try:
        summary = ingest_paths(config.index_dir(index_dir), paths, visibility=visibility,
                               sync=sync, max_file_mb=max_file_mb, progress=_progress_bar(),
                               workers=workers)
    except IndexUnavailable as exc:
        raise click.ClickException(f"nothing was indexed: {exc}") from None
    for report in summary.files:
        for warning in report.warnings:
            click.echo(f"warning: {report.path}: {warning}", err=True)
        if report.outcome == "failed":
            click.echo(f"failed: {report.path}: {report.error}", err=True)
    if report_path:
        try:
            Path(report_path).write_text(json.dumps(summary.to_json(), ensure_ascii=False,
                                                    indent=2), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"the index was updated, but the report could not be "
                                       f"written: {exc.strerror or exc}") from None
    click.echo(summary.line(), err=True)
    if summary.failed:
        raise click.ClickException(f"{summary.failed} file(s) could not be indexed (listed "
                                   "above); the other files were")


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
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /api/search.")
@click.option("--internal", is_flag=True, help="Include internal documents (staff only).")
def search(index_dir, query, limit, as_json, internal):
    """Search the index.

    Example: python -m search_service search "phuc loi hoi nghi"
    """
    from search_service.search import SearchEngine, SearchRequest

    text = " ".join(query)
    if len(text) > config.load()["MAX_QUERY_CHARS"]:
        raise click.ClickException("the query is longer than 1,000 characters")
    path = config.index_dir(index_dir)
    try:
        engine = SearchEngine(path, create=False)
    except FileNotFoundError:
        raise click.ClickException(f"no index at {path}: run `ingest` first") from None
    result = engine.search(SearchRequest(q=text, per_page=limit, facets=as_json,
                                         include_internal=internal))
    if as_json:
        click.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.total} kết quả ({result.took_ms:.0f} ms)")
    if result.did_you_mean:
        click.echo(f"Có phải bạn muốn tìm: {result.did_you_mean}")
    for n, hit in enumerate(result.hits, start=1):
        meta = " · ".join(x for x in (hit.doc_number, hit.doc_type, (hit.published or "")[:10]) if x)
        click.echo(f"{n:2}. {hit.title}  [{hit.id}]" + (f"\n    {meta}" if meta else ""))


def result_json(result) -> dict:
    """The JSON of GET /api/search for the same query, less the links between web pages."""
    return asdict(result)


@main.command()
@_index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
def serve(index_dir, host, port):
    """Serve the web UI and the JSON API; an empty index gets the bundled sample documents first.

    Example: python -m search_service serve --port 8000
    """
    from search_service.web import create_app

    path = config.index_dir(index_dir)
    _seed_if_empty(path)
    app = create_app({"INDEX_DIR": str(path)})
    app.extensions["search_engine"].warm()
    click.echo(f"Tra cứu phường: http://{host}:{port}/", err=True)
    # A production WSGI server rather than Flask's development one; one process, so the
    # warm searcher and its caches are shared by every request thread.
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, threads=8, ident="tra-cuu-phuong")


def _seed_if_empty(path: Path) -> None:
    from search_service.ingest.pipeline import ingest_paths
    from search_service.schema import open_index

    with open_index(path).reader() as reader:
        if reader.doc_count() > 0:
            return
    sample = Path(config.load()["SAMPLE_DIR"])
    if sample.is_dir():
        summary = ingest_paths(path, [sample])
        click.echo(f"empty index: ingested the sample documents ({summary.line()})", err=True)


@main.command("hash-password")
@click.password_option(help="The staff member's password (asked twice when not given).")
def hash_password_command(password):
    """Print the hash to put in SEARCH_STAFF_USERS (as user:hash); the password is never stored.

    Example: python -m search_service hash-password
    """
    from search_service.web.auth import hash_password

    click.echo(hash_password(password))
