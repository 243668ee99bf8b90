"""A real cluster on one machine, from Debian's ``sphinxsearch``: shard daemons, each shard
on two mirrors, behind a coordinator with a distributed index (``local-cluster up``).

Every daemon is an ordinary ``searchd`` with its own config, data folder and pid file in the
cluster folder; ``down`` stops exactly the daemons whose pid files are there.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from search_service.cluster.schema import LEXICON_SUFFIX, index_block, lexicon_block

logger = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
MIRRORS = ("a", "b")
START_SECONDS = 20.0
STOP_SECONDS = 10.0
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


class ClusterSetupError(Exception):
    """The local cluster cannot be started or stopped; the message says why."""


@dataclass
class Daemon:
    """One searchd: its name (``shard0-a``, ``coordinator``), ports and files."""
    name: str
    api_port: int
    sql_port: int
    config: str
    pid_file: str


@dataclass
class LocalCluster:
    """What ``up`` started: read back by ``down`` and by the tests."""
    folder: str
    shards: int
    port: int
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"sphinxql://127.0.0.1:{self.port}/ward"

    def daemon(self, name: str) -> Daemon:
        return next(d for d in self.daemons if d.name == name)

    def save(self) -> None:
        Path(self.folder, STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, folder) -> "LocalCluster":
        path = Path(folder, STATE_FILE)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ClusterSetupError(f"no local cluster in {folder} ({path} cannot be read: "
                                    f"{getattr(exc, 'strerror', None) or exc})") from None
        data["daemons"] = [Daemon(**d) for d in data["daemons"]]
        return cls(**data)


def searchd_path() -> str | None:
    """The ``searchd`` binary (Debian's ``sphinxsearch`` package), or None."""
    return shutil.which("searchd") or next(
        (p for p in ("/usr/bin/searchd", "/usr/sbin/searchd") if os.access(p, os.X_OK)), None)


def _ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections (Linux's default if unknown)."""
    try:
        low, high = map(int, Path(EPHEMERAL_RANGE).read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port(span: int = 1) -> int:
    """A free port on 127.0.0.1 (and the ``span - 1`` above it), outside the ports the kernel
    hands to outgoing connections: a daemon restarted on its port after a crash must find it
    free, and a port of that range can meanwhile be the local end of any client's connection
    (the searches a mirror's death must not fail are such clients)."""
    ephemeral = _ephemeral_ports()
    candidates = [port for port in range(10_000, 65_536 - span)
                  if port not in ephemeral and port + span - 1 not in ephemeral]
    chooser = random.Random()
    for _ in range(200):
        port = chooser.choice(candidates)
        if all(_port_free(port + i) for i in range(span)):
            return port
    raise ClusterSetupError(f"no {span} neighbouring free ports on 127.0.0.1")


def port_pair() -> tuple[int, int]:
    """Two neighbouring free ports: a shard's API port and, one above, its SphinxQL port
    (the convention writers use to find a shard from the coordinator's agent list)."""
    port = free_port(span=2)
    return port, port + 1


def _searchd_section(folder: Path, daemon: Daemon) -> str:
    name = daemon.name
    return f"""
searchd
{{
    listen = 127.0.0.1:{daemon.api_port}
    listen = 127.0.0.1:{daemon.sql_port}:mysql41
    log = {folder}/log/{name}.log
    query_log = {folder}/log/{name}.query.log
    pid_file = {daemon.pid_file}
    binlog_path = {folder}/data/{name}
    workers = threads
    read_timeout = 5
    client_timeout = 60
    max_packet_size = 32M
    seamless_rotate = 1
    # A dead mirror is found on the first connect (loopback refuses at once) and the
    # query is retried on the other mirror of its shard.
    ha_ping_interval = 500
    ha_period_karma = 10
    agent_retry_count = 3
    agent_retry_delay = 0
}}
"""


def write_configs(folder: Path, shards: int, port: int) -> LocalCluster:
    """Config files for ``shards`` shards on two mirrors each and a coordinator on ``port``."""
    cluster = LocalCluster(folder=str(folder), shards=shards, port=port)
    for sub in ("conf", "log", "run", "data"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for shard in range(shards):
        for mirror in MIRRORS:
            name = f"shard{shard}-{mirror}"
            daemon = Daemon(name, *port_pair(), str(folder / "conf" / f"{name}.conf"),
                            str(folder / "run" / f"{name}.pid"))
            (folder / "data" / name).mkdir(exist_ok=True)
            text = (index_block(f"shard{shard}", folder / "data" / name / f"shard{shard}")
                    + lexicon_block(f"shard{shard}{LEXICON_SUFFIX}",
                                    folder / "data" / name / f"shard{shard}{LEXICON_SUFFIX}"))
            Path(daemon.config).write_text(text + _searchd_section(folder, daemon))
            cluster.daemons.append(daemon)
    coordinator = Daemon("coordinator", free_port(), port, str(folder / "conf" / "coordinator.conf"),
                         str(folder / "run" / "coordinator.pid"))
    (folder / "data" / "coordinator").mkdir(exist_ok=True)

    def distributed(name: str, suffix: str = "") -> str:
        agents = "\n".join(
            "    agent = " + "|".join(f"127.0.0.1:{cluster.daemon(f'shard{s}-{m}').api_port}"
                                      for m in MIRRORS) + f":shard{s}{suffix}"
            for s in range(shards))
        return f"""
index {name}
{{
    type = distributed
{agents}
    agent_connect_timeout = 300
    agent_query_timeout = 30000
    ha_strategy = roundrobin
}}
"""
    # The documents, and the lexicon the writer keeps beside them (see schema.lexicon_block).
    Path(coordinator.config).write_text(distributed("ward")
                                        + distributed("ward" + LEXICON_SUFFIX, LEXICON_SUFFIX)
                                        + _searchd_section(folder, coordinator))
    cluster.daemons.append(coordinator)
    return cluster


def up(folder, shards: int = 2, port: int = 9306) -> LocalCluster:
    """Start the cluster in ``folder`` and wait until every daemon answers."""
    binary = searchd_path()
    if binary is None:
        raise ClusterSetupError("searchd is not installed (apt-get install sphinxsearch)")
    if not 1 <= shards <= 16:
        raise ClusterSetupError("--shards must be between 1 and 16")
    folder = Path(folder).resolve()
    if folder.exists() and (folder / STATE_FILE).exists():
        running = [d.name for d in LocalCluster.load(folder).daemons if _alive(d)]
        if running:
            raise ClusterSetupError(f"a cluster already runs from {folder} ({', '.join(running)});"
                                    f" run `local-cluster down --dir {folder}` first")
    if not _port_free(port):
        raise ClusterSetupError(f"port {port} on 127.0.0.1 is already in use; pick another "
                                "with --port")
    cluster = write_configs(folder, shards, port)
    cluster.save()
    try:
        for daemon in cluster.daemons:
            start(daemon, binary)
        wait_until_answering(cluster.daemons)
    except BaseException:
        down(folder)
        raise
    return cluster


def start(daemon: Daemon, binary: str | None = None) -> None:
    """Start one daemon (again, after it was killed)."""
    binary = binary or searchd_path()
    result = subprocess.run([binary, "--config", daemon.config], capture_output=True,
                            text=True, timeout=START_SECONDS)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ClusterSetupError(f"searchd {daemon.name} did not start: {' '.join(detail)}")


def wait_until_answering(daemons, seconds: float = START_SECONDS) -> None:
    """Wait until each daemon accepts SphinxQL connections (bounded)."""
    deadline = time.monotonic() + seconds
    for daemon in daemons:
        while not _answers(daemon.sql_port):
            if time.monotonic() > deadline:
                raise ClusterSetupError(f"searchd {daemon.name} does not answer on port "
                                        f"{daemon.sql_port} after {seconds:.0f} s; see its log")
            time.sleep(0.05)


def down(folder) -> list[str]:
    """Stop the daemons whose pid files are in ``folder``; the names of those stopped."""
    cluster = LocalCluster.load(folder)
    stopped = []
    for daemon in cluster.daemons:
        if stop(daemon):
            stopped.append(daemon.name)
    return stopped


def stop(daemon: Daemon, sig: int = signal.SIGTERM) -> bool:
    """Stop one daemon by its pid file (``SIGKILL`` to simulate a crash); True if it ran."""
    pid = _pid(daemon)
    if pid is None:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_SECONDS
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)
        while _running(pid) and time.monotonic() < deadline + STOP_SECONDS:
            time.sleep(0.02)
    Path(daemon.pid_file).unlink(missing_ok=True)
    return True


def _pid(daemon: Daemon) -> int | None:
    try:
        return int(Path(daemon.pid_file).read_text().strip())
    except (OSError, ValueError):
        return None


def _running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _alive(daemon: Daemon) -> bool:
    pid = _pid(daemon)
    return pid is not None and _running(pid)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(0.5)
            return bool(s.recv(1))          # the MySQL handshake is sent by the server
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as searchd binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
