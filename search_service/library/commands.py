"""Command-line shells over the library: staff accounts, API tokens, backup, restore, reindex,
and ``library import-index`` (upgrading an index made before the library).

Each command parses, calls the library, and turns a :class:`LibraryError` into a
``click.ClickException`` (``Error: …``, exit status 1). Wired into ``python -m search_service``
by one line in ``cli.py``: ``register(main)``.
"""

from __future__ import annotations

import getpass
from contextlib import contextmanager
from pathlib import Path

import click

from search_service.library.accounts import ROLES
from search_service.library.errors import LibraryError


def default_library_dir() -> Path:
    """``SEARCH_LIBRARY_DIR`` when the setting exists and is set, else ``library/`` at the
    repository root."""
    from search_service import config

    return Path(config.load().get("LIBRARY_DIR") or config.REPO_ROOT / "library")


def _library_option(f):
    return click.option("--library", "library_dir", type=click.Path(file_okay=False),
                        help="Library folder (default: $SEARCH_LIBRARY_DIR or library/ at the "
                             "repository root).")(f)


def _role_option(f):
    return click.option("--role", required=True, type=click.Choice(ROLES),
                        help="editor: may change documents; viewer: may only read.")(f)


def open_library(library_dir: str | None):
    """The library in ``library_dir`` (default: :func:`default_library_dir`), opened (and
    created or upgraded); a click error naming the folder when it cannot be."""
    import sqlite3

    from search_service.library.store import Library

    folder = Path(library_dir) if library_dir else default_library_dir()
    try:
        return Library(folder)
    except LibraryError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:     # no permission, not a database, disk full
        raise click.ClickException(f"cannot open the library in {folder}: {exc}") from None


@contextmanager
def _library(library_dir: str | None):
    """The library, opened for one command; its errors become click errors."""
    library = open_library(library_dir)
    try:
        yield library
    except LibraryError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        library.close()


def _actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):         # no user name in a bare container
        return "cli"


# -- users -------------------------------------------------------------------------------------
@click.group("users")
def users():
    """Staff accounts of the web console."""


@users.command("add")
@_library_option
@click.argument("name")
@_role_option
@click.password_option("--password", help="The password (asked twice when not given).")
def users_add(library_dir, name, role, password):
    """Add a staff account.

    Example: python -m search_service users add can_bo --role editor
    """
    with _library(library_dir) as library:
        library.users.add(name, role, password, actor=_actor())
    click.echo(f"added user {name} ({role})")


@users.command("list")
@_library_option
def users_list(library_dir):
    """List staff accounts and their roles.

    Example: python -m search_service users list
    """
    with _library(library_dir) as library:
        rows = library.users.list()
    for row in rows:
        click.echo(f"{row['name']}\t{row['role']}\tsince {row['created'][:10]}")
    if not rows:
        click.echo("no users", err=True)


@users.command("remove")
@_library_option
@click.argument("name")
def users_remove(library_dir, name):
    """Remove a staff account.

    Example: python -m search_service users remove can_bo
    """
    with _library(library_dir) as library:
        library.users.remove(name, actor=_actor())
    click.echo(f"removed user {name}")


@users.command("passwd")
@_library_option
@click.argument("name")
@click.password_option("--password", help="The new password (asked twice when not given).")
def users_passwd(library_dir, name, password):
    """Set a staff member's password.

    Example: python -m search_service users passwd can_bo
    """
    with _library(library_dir) as library:
        library.users.set_password(name, password, actor=_actor())
    click.echo(f"password changed for {name}")


# -- tokens ------------------------------------------------------------------------------------
@click.group("tokens")
def tokens():
    """API tokens for programs that use the JSON API."""


@tokens.command("create")
@_library_option
@click.argument("name")
@_role_option
def tokens_create(library_dir, name, role):
    """Create a token and print it (its last line of output); it is never shown again.

    Example: python -m search_service tokens create trang-web --role viewer
    """
    with _library(library_dir) as library:
        token = library.tokens.create(name, role, actor=_actor())
    click.echo(f"token {name} ({role}) created; copy it now, it is not shown again:")
    click.echo(token)


@tokens.command("list")
@_library_option
def tokens_list(library_dir):
    """List tokens: name, role, created, last used, revoked (never the tokens themselves).

    Example: python -m search_service tokens list
    """
    with _library(library_dir) as library:
        rows = library.tokens.list()
    for row in rows:
        state = f"revoked {row['revoked'][:10]}" if row["revoked"] else "active"
        used = row["last_used"][:10] if row["last_used"] else "never used"
        click.echo(f"{row['name']}\t{row['role']}\t{state}\tcreated {row['created'][:10]}"
                   f"\t{used}")
    if not rows:
        click.echo("no tokens", err=True)


@tokens.command("revoke")
@_library_option
@click.argument("name")
def tokens_revoke(library_dir, name):
    """Revoke a token: programs using it are refused from now on.

    Example: python -m search_service tokens revoke trang-web
    """
    with _library(library_dir) as library:
        library.tokens.revoke(name, actor=_actor())
    click.echo(f"revoked token {name}")


# -- backup, restore, reindex ------------------------------------------------------------------
@click.command("backup")
@_library_option
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(library_dir, file):
    """Write the whole library (database and original files) to one .tar.gz archive.

    Safe while the server runs. The exit status is 1 when original files were missing.

    Example: python -m search_service backup /srv/backup/thu-vien-2024-06-01.tar.gz
    """
    from search_service.library.backup import backup

    with _library(library_dir) as library:
        manifest = backup(library, file)
    for sha in manifest["missing"]:
        click.echo(f"missing: original {sha} is not in the library folder", err=True)
    click.echo(f"backed up {manifest['documents']} documents and {manifest['originals']} "
               f"original files to {file}")
    if manifest["missing"]:
        raise click.ClickException(f"{len(manifest['missing'])} original file(s) were "
                                   "missing (listed above); the archive holds the rest")


@click.command("restore")
@_library_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_command(library_dir, file):
    """Restore a backup into a folder that holds no library; never over a library.

    Example: python -m search_service restore --library /srv/thu-vien-moi backup.tar.gz
    """
    from search_service.library.backup import restore

    folder = Path(library_dir) if library_dir else default_library_dir()
    try:
        manifest = restore(file, folder)
    except LibraryError as exc:
        raise click.ClickException(str(exc)) from None
    with _library(str(folder)):         # opening it upgrades an older backup's schema
        pass
    click.echo(f"restored {manifest['documents']} documents into {folder}")


@click.command("reindex")
@_library_option
@click.option("--index", "index_dir", type=click.Path(file_okay=False),
              help="Index folder (default: $SEARCH_INDEX_DIR or index/ at the repo root).")
@click.option("--workers", type=click.IntRange(min=0, max=64), default=None,
              help="Processes indexing next to this one (default: one per further core, at "
                   "most 3; 0: index in this process only).")
def reindex_command(library_dir, index_dir, workers):
    """Rebuild the search index from the library and swap it in when complete.

    When SEARCH_BACKEND names a cluster, the cluster is rebuilt instead (--index unused):
    every document of the library written again, the others deleted.

    Example: python -m search_service reindex --index /srv/index
    """
    from search_service import config
    from search_service.ingest.pipeline import IndexUnavailable
    from search_service.library.reindex import reindex, reindex_into
    from search_service.index.parallelwriter import default_workers

    cluster = _write_target()
    if cluster is not None:
        with _library(library_dir) as library:
            try:
                count = reindex_into(library, cluster)
            except IndexUnavailable as exc:
                raise click.ClickException(f"the cluster was not rebuilt: {exc}") from None
        click.echo(f"reindexed {count} documents into the cluster {cluster.backend.url}")
        return
    target = config.index_dir(index_dir)
    with _library(library_dir) as library:
        count = reindex(library, target,
                        workers=default_workers() if workers is None else workers)
    click.echo(f"reindexed {count} documents into {target}")


# -- upgrading -----------------------------------------------------------------------------------
@click.group("library")
def library_group():
    """The ward's document library itself."""


@library_group.command("import-index")
@_library_option
@click.option("--index", "index_dir", type=click.Path(file_okay=False),
              help="Index folder (default: $SEARCH_INDEX_DIR or index/ at the repo root).")
def import_index_command(library_dir, index_dir):
    """Copy the documents of an index made before the library into the library.

    Documents the library holds already are left as they are; the index is only read. Run it
    once when upgrading, before `reindex` (`ingest` does it by itself on its first run).

    Example: python -m search_service library import-index --index /srv/tra-cuu/index
    """
    from search_service import config
    from search_service.library.importing import import_index

    target = config.index_dir(index_dir)
    with _library(library_dir) as library:
        done = import_index(library, target, actor=_actor())
    click.echo(f"imported {done.added} documents from {target} ({done.kept} the library "
               "holds or has deleted)")


@library_group.command("refresh-validity")
@_library_option
@click.option("--index", "index_dir", type=click.Path(file_okay=False),
              help="Index folder (default: $SEARCH_INDEX_DIR or index/ at the repo root).")
def refresh_validity_command(library_dir, index_dir):
    """Give the index today's validity of every document whose status changed with the date.

    A decision comes into force on its effective date, one replaced from a later date stays in
    force until then: run this once a day (e.g. from cron, shortly after midnight).

    Example: python -m search_service library refresh-validity --index /srv/tra-cuu/index
    """
    from search_service import config
    from search_service.library.intake import Intake

    target = config.index_dir(index_dir)
    with _library(library_dir) as library:
        changed = Intake(library, target,
                         max_file_mb=float(config.load()["MAX_FILE_MB"])).refresh_validity()
    click.echo(f"{len(changed)} documents changed status today"
               + (f": {', '.join(changed[:20])}" + (" …" if len(changed) > 20 else "")
                  if changed else ""))


def _no_cluster():
    return None


# What ``reindex`` writes to instead of an index folder: the cluster SEARCH_BACKEND names
# (given by the command line, which may import the cluster package: this one may not).
_write_target = _no_cluster


def register(main_group: click.Group, write_target=None) -> None:
    """Add the library's commands to the ``python -m search_service`` group; ``write_target()``
    gives the cluster to rebuild when the settings name one (None: the index folder)."""
    global _write_target
    _write_target = write_target or _no_cluster
    for command in (users, tokens, backup_command, restore_command, reindex_command,
                    library_group):
        main_group.add_command(command)
