"""``python -m search_service local-cluster up|down``: a real cluster on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from search_service.cluster import local


@click.group("local-cluster")
def local_cluster():
    """Start or stop a local Sphinx cluster (Debian's sphinxsearch): shards on two mirrors
    each, behind a coordinator, all on 127.0.0.1."""


@local_cluster.command("up")
@click.option("--dir", "folder", type=click.Path(file_okay=False), required=True,
              help="Folder for the configs, data, logs and pid files.")
@click.option("--shards", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=9306, show_default=True,
              help="The coordinator's SphinxQL port.")
def up(folder, shards, port):
    """Start the shard daemons (two mirrors a shard) and the coordinator; print the backend URL.

    Example: python -m search_service local-cluster up --dir /srv/cluster --shards 2
    """
    try:
        cluster = local.up(Path(folder), shards=shards, port=port)
    except local.ClusterSetupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(cluster.daemons)} daemons answer; set SEARCH_BACKEND={cluster.url}",
               err=True)
    click.echo(cluster.url)


@local_cluster.command("down")
@click.option("--dir", "folder", type=click.Path(file_okay=False), required=True,
              help="The folder given to `up`.")
def down(folder):
    """Stop the daemons started from this folder (by their pid files).

    Example: python -m search_service local-cluster down --dir /srv/cluster
    """
    try:
        stopped = local.down(Path(folder))
    except local.ClusterSetupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stopped {len(stopped)} daemons" + (f": {', '.join(stopped)}" if stopped else ""))
