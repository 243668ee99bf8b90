"""Operations: health and readiness probes, one access-log line per request, and the server.

``GET /healthz`` says the process answers; ``GET /readyz`` says whether it serves an index (its
generation, documents and commit time) or, with 503, why not. Every request is logged on the
``search_service.access`` logger as one JSON object. :func:`run_server` runs the app in several
gunicorn worker processes on one port, each with a snapshot of its own, opened after the fork.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, request

from search_service.errors import IndexProblem
from search_service.index.schema import READ_ERRORS, commit_time, latest_generation

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("search_service.access")
bp = Blueprint("ops", __name__)

GENERATION_KEY = "search_service.generation"    # WSGI environ: what the access log reports
MAX_LOGGED_PATH = 2000
# Paths whose query string is never logged (a login's ?next= may say where staff were going).
PRIVATE_QUERY = ("/login",)


class Readiness:
    """Whether this process serves an index: warmed (snapshot opened) and not shutting down."""

    def __init__(self):
        self.warmed = threading.Event()
        self.draining = False
        self._opening: threading.Thread | None = None
        self._lock = threading.Lock()

    def warm(self, engine) -> None:
        """Open the index and the segmentation model now; the process is ready after."""
        engine.warm()
        self.warmed.set()

    def warm_in_background(self, engine) -> None:
        """Start :meth:`warm` once, for an app nobody warmed (``flask run``, tests)."""
        with self._lock:
            if self._opening is None:
                self._opening = threading.Thread(target=self._warm_quietly, args=(engine,),
                                                 daemon=True, name="open-index")
                self._opening.start()

    def _warm_quietly(self, engine) -> None:
        try:
            self.warm(engine)
        except READ_ERRORS as exc:
            if isinstance(exc, IndexProblem):   # the engine logged it, once
                logger.debug("could not open the index: %s", exc)
            else:
                logger.exception("could not open the index")
            with self._lock:
                self._opening = None        # the next probe tries again


def init_app(app: Flask) -> None:
    """Probes, the access log and the readiness state of ``app``."""
    app.extensions["readiness"] = Readiness()
    app.register_blueprint(bp)
    app.wsgi_app = AccessLog(app.wsgi_app)


def warm(app: Flask) -> None:
    """Open ``app``'s index now (a server process calls this before it accepts requests)."""
    app.extensions["readiness"].warm(app.extensions["search_engine"])


# -- probes ------------------------------------------------------------------------------------
@bp.route("/healthz")
def healthz():
    """The process answers: nothing else is checked, so a slow index never fails it."""
    return {"status": "ok", "pid": os.getpid()}


@bp.route("/readyz")
def readyz():
    """200 with the generation served, or 503 with the reason this process is not ready."""
    readiness = current_app.extensions["readiness"]
    engine = current_app.extensions["search_engine"]
    if readiness.draining:
        return _not_ready("shutting down")
    if not readiness.warmed.is_set():
        readiness.warm_in_background(engine)
        return _not_ready("opening the index")
    serving = getattr(engine, "serving", None)
    if serving is not None:         # a cluster: no index folder; ready while every shard answers
        reason = serving()
        if reason:
            logger.error("readiness: %s", reason)
            return _not_ready(reason)
        snap = engine.snapshot()
        request.environ[GENERATION_KEY] = snap.generation
        return {"status": "ready", "pid": os.getpid(), "generation": snap.generation,
                "documents": snap.doc_count, "committed_at": _iso(snap.committed_at),
                "opened_at": _iso(snap.opened_at)}
    index_dir = Path(current_app.config["INDEX_DIR"])
    on_disk = latest_generation(index_dir)
    if on_disk is None:
        logger.error("readiness: no index in %s", index_dir)
        return _not_ready("the index folder holds no index")
    try:
        snap = engine.snapshot()
    except READ_ERRORS:       # logged where it was found, once
        return _not_ready("the index cannot be read")
    problem = _problem(engine)
    if problem is not None:   # the old snapshot answers searches, but the disk is not right
        return _not_ready("the index cannot be read")
    request.environ[GENERATION_KEY] = snap.generation
    return {"status": "ready", "pid": os.getpid(), "generation": snap.generation,
            "documents": snap.doc_count, "committed_at": _iso(commit_time(index_dir,
                                                                          snap.generation)),
            "opened_at": _iso(snap.opened_at), "latest_generation_on_disk": on_disk}


def _problem(engine):
    """Why the engine does not serve the newest generation on disk (opening it failed), or
    None; engines without generations (the cluster) have none."""
    generations = getattr(engine, "generations", None)
    problem = getattr(generations, "problem", None)
    return problem() if callable(problem) else None


def _not_ready(reason: str):
    return {"status": "not_ready", "pid": os.getpid(), "reason": reason}, 503


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


# -- access log --------------------------------------------------------------------------------
class AccessLog:
    """WSGI middleware: one line per request on ``search_service.access``, as JSON.

    Fields: ``method``, ``path`` (with its query string, except for the login page), ``status``,
    ``ms`` (until the response is ready), ``generation`` (of the index the request read, when
    it read one), ``client`` and ``pid``. The same fields are on the record as ``access``.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not access_logger.isEnabledFor(logging.INFO):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        status = []

        def recording(code, headers, exc_info=None):
            status.append(code)
            return start_response(code, headers, exc_info)

        try:
            return self.wsgi_app(environ, recording)
        finally:
            ms = (time.perf_counter() - started) * 1000
            fields = {"method": environ.get("REQUEST_METHOD"), "path": logged_path(environ),
                      "status": int(status[-1].split(" ", 1)[0]) if status else 500,
                      "ms": round(ms, 2), "generation": environ.get(GENERATION_KEY),
                      "client": environ.get("REMOTE_ADDR"), "pid": os.getpid()}
            access_logger.info("%s", json.dumps(fields, ensure_ascii=False),
                               extra={"access": fields})


def logged_path(environ) -> str:
    """The path as the client sent it (percent-encoded), with the query string where allowed.

    >>> logged_path({"PATH_INFO": "/tìm".encode().decode("latin-1"), "QUERY_STRING": "q=a"})
    '/t%C3%ACm?q=a'
    >>> logged_path({"PATH_INFO": "/login", "QUERY_STRING": "next=/secret"})
    '/login'
    """
    raw = environ.get("PATH_INFO", "").encode("latin-1", "replace")
    path = quote(raw, safe="/:@!$&'()*+,;=-._~%")
    query = environ.get("QUERY_STRING", "")
    if query and path not in PRIVATE_QUERY:
        path += "?" + query
    return path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + "…"


def log_access_to_stderr() -> None:
    """Send the access log to stderr, one JSON object a line (what ``serve`` does)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_logger.addHandler(handler)
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False


# -- the server processes ----------------------------------------------------------------------
def run_server(app: Flask, *, host: str, port: int, workers: int, threads: int,
               graceful_seconds: float = 30) -> None:
    """Serve ``app`` with gunicorn: ``workers`` processes on one port, ``threads`` each.

    The app is built once here and inherited by the forked workers (gunicorn's preloaded app),
    but no worker inherits an open index: Whoosh reads its files through file objects whose
    position would be shared between processes, so the engine is closed here, before the fork,
    and each worker opens its own snapshot before it accepts a request. What stays opened in
    this process is shared copy-on-write: the segmentation model and the per-segment word lists.
    SIGTERM stops accepting, lets requests in flight finish (for up to ``graceful_seconds``)
    and exits 0.
    """
    from gunicorn.app.base import BaseApplication

    app.extensions["search_engine"].close()
    app.extensions.pop("library", None)     # nor an SQLite connection: each worker opens its own

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers, "worker_class": "gthread", "threads": threads,
        "preload_app": True, "graceful_timeout": graceful_seconds, "timeout": 60,
        "keepalive": 5, "proc_name": "tra-cuu-phuong", "accesslog": None, "errorlog": "-",
        "loglevel": "info", "control_socket_disable": True,
        "post_worker_init": _worker_ready,
    }

    class Server(BaseApplication):
        """gunicorn's documented "custom application": options given here, app preloaded."""

        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()


def _worker_ready(worker) -> None:
    """In each worker, after the fork: open its own snapshot, then accept requests."""
    app = worker.wsgi
    warm(app)
    readiness = app.extensions["readiness"]
    stop = signal.getsignal(signal.SIGTERM)

    def draining(signum, frame):        # /readyz says 503 while requests in flight finish
        readiness.draining = True
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, draining)
    logger.info("worker %d ready: index generation %d", os.getpid(),
                app.extensions["search_engine"].snapshot().generation)
