"""A second search backend: the same search on a Sphinx 2.2 / Manticore cluster.

``SEARCH_BACKEND`` picks it (``sphinxql://127.0.0.1:9306/ward``); the embedded Whoosh index
stays the default. :func:`engine_for` builds the engine the web app and the CLI use,
:func:`cluster_target` what ingestion writes to, :func:`register` adds the ``local-cluster``
commands to the CLI.
"""

from __future__ import annotations

from search_service.cluster.sphinxql import Backend, ClusterUnavailable, parse_backend

__all__ = ["Backend", "ClusterUnavailable", "cluster_target", "engine_for", "parse_backend",
           "register"]


def backend_of(settings: dict) -> Backend | None:
    """The cluster ``settings["BACKEND"]`` names, or None for the embedded index."""
    return parse_backend(str(settings.get("BACKEND") or "embedded"))


def engine_for(settings: dict, create: bool = True):
    """The search engine the settings choose: a ``ClusterEngine`` for a ``sphinxql://`` URL,
    else the embedded ``SearchEngine`` on ``INDEX_DIR``."""
    backend = backend_of(settings)
    if backend is None:
        from search_service.search import SearchEngine

        return SearchEngine(settings["INDEX_DIR"], create=create, news=settings.get("NEWS_TYPES"))
    from search_service.cluster.engine import ClusterEngine

    return ClusterEngine(backend, news=settings.get("NEWS_TYPES"))


def cluster_target(settings: dict):
    """What ingestion writes to when the settings name a cluster; None for the index folder."""
    backend = backend_of(settings)
    if backend is None:
        return None
    from search_service.cluster.writer import ClusterTarget

    return ClusterTarget(backend)


def register(main) -> None:
    """Add ``local-cluster up|down`` to the command group ``main``."""
    from search_service.cluster.commands import local_cluster

    main.add_command(local_cluster)
