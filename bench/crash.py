"""Crash safety at scale (#12): the operator's ``kill -9`` of an ingest of the Dân trí news file,
again and again, into a copy of an index, and what each kill leaves behind.

    .venv/bin/python bench/crash.py                          # 20 kills, seed 12
    .venv/bin/python bench/crash.py --kills 5 --max-delay 10 --json out.json

A base index and its library are built once from ``tests/data`` (kept in
``bench/out/crash-base``) and copied; each run ingests ``news_dantri_2020.jsonl`` (11.7 MB,
2,653 articles: index workers start with the run) into the copy, with ``--workers`` index
processes, and is killed with SIGKILL after a seeded random delay. The copy is kept from kill
to kill, as an operator's index is. After each kill the script counts:

- lost or partial commits: the index holds neither exactly the documents it held before the
  run nor all of them, holds one twice, or disagrees with the library (a document in one
  and not the other without a pending mark), or cannot be opened and searched;
- blocked runs: a run that ended by itself before its kill, with an error (a lock or a file
  left by a killed run would do that);
- processes left alive: every process the run spawned (index workers, the parser,
  multiprocessing's helper) carries a marker in its environment; those still running 1 s and
  10 s after the kill;
- time per kill: from the run's start until the checks are done (mostly the random delay),
  and from the kill until the checks are done.

After the last kill a small ingest must succeed, and then the index and the library agree
with nothing pending (what the killed runs had kept in the library is indexed by it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import (DANTRI, DEFAULT_CORPUS, MANIFEST, OUT_DIR, REPO_ROOT, BenchError,
                    require_files, run_main)

MARKER = "TRA_CUU_CRASH_BENCH"
TEST_DATA = REPO_ROOT / "tests" / "data"


def spawned(token: str) -> set[int]:
    """Live processes carrying the run's marker (zombies have ended and carry none)."""
    needle = f"{MARKER}={token}\0".encode()
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if needle in environ.read():
                        found.add(int(entry.name))
            except OSError:
                continue
    return found


def ingest(index: Path, library: Path, path: Path, workers: int, token: str
           ) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    return subprocess.Popen(
        [sys.executable, "-m", "search_service", "ingest", "--workers", str(workers),
         "--index", str(index), "--library", str(library), str(path)],
        cwd=REPO_ROOT, env={**env, MARKER: token, "PYTHONIOENCODING": "utf-8"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def base_copy(work: Path) -> tuple[Path, Path]:
    """A copy of the base index and library (built from tests/data on first use)."""
    base = OUT_DIR / "crash-base"
    if not (base / MANIFEST).is_file():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        run = ingest(base / "index", base / "library", TEST_DATA, 0, uuid.uuid4().hex)
        _, stderr = run.communicate(timeout=600)
        if run.returncode != 0:
            raise BenchError(f"the base index could not be built: {stderr.strip()}")
        (base / MANIFEST).write_text(json.dumps({"from": "tests/data"}), encoding="utf-8")
    shutil.copytree(base / "index", work / "index")
    shutil.copytree(base / "library", work / "library")
    return work / "index", work / "library"


def state(index: Path, library: Path) -> dict:
    """What a reader finds: the index's ids (opened, searched) and its agreement with the
    library; ``error`` when the index cannot be opened or searched."""
    from search_service.index.schema import check_index, open_index
    from search_service.library import Library
    from search_service.library.agreement import compare
    from search_service.search import SearchEngine, SearchRequest

    try:
        check_index(index)
        with open_index(index, create=False).reader() as reader:
            column = reader.column_reader("id")
            ids = sorted(column[n] for n in reader.all_doc_ids())
        engine = SearchEngine(index, create=False)
        try:
            hits = engine.search(SearchRequest(q="phường", facets=False)).total
        finally:
            engine.close()
        with Library(library) as kept:
            agreement = compare(kept, index)
    except Exception as exc:  # noqa: BLE001 - what the operator would see, counted
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"ids": ids, "hits": hits, "agrees": agreement.agrees, "waiting": agreement.waiting,
            "library": agreement.library_documents,
            "problems": agreement.problems()}


def one_kill(index: Path, library: Path, news: Path, workers: int, delay: float) -> dict:
    """Start an ingest of the news file, kill it after ``delay`` s, and look at what is left."""
    before = state(index, library)
    token = uuid.uuid4().hex
    started = time.monotonic()
    run = ingest(index, library, news, workers, token)
    try:
        run.wait(timeout=delay)
        ended = True
    except subprocess.TimeoutExpired:
        ended = False
    at_kill = spawned(token) - {run.pid}
    if not ended:
        run.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    _, stderr = run.communicate(timeout=60)
    alive_1s = None                     # found by the first look that began 1 s on or later
    while True:
        looked = time.monotonic() - killed_at
        alive = spawned(token)
        if alive_1s is None and looked >= 1:
            alive_1s = len(alive)
        if not alive or looked >= 10:
            break
        time.sleep(0.05)
    gone, alive_10s = looked, len(alive)        # when the processes were found gone
    alive_1s = 0 if alive_1s is None else alive_1s
    after = state(index, library)
    # A changed index must hold the run's whole commit: everything the library held.
    lost = "error" in after or len(after["ids"]) != len(set(after["ids"])) or \
        not after["agrees"] or (after["ids"] != before.get("ids")
                                and len(after["ids"]) != after["library"])
    return {"delay": round(delay, 2), "ended": ended, "returncode": run.returncode,
            "blocked": ended and run.returncode != 0, "stderr": stderr.strip()[-300:],
            "spawned_at_kill": len(at_kill), "alive_after_1s": alive_1s,
            "alive_after_10s": alive_10s, "gone_seconds": round(gone, 2),
            "documents_before": len(before.get("ids", [])),
            "documents_after": len(after.get("ids", [])), "waiting": after.get("waiting"),
            "lost_or_partial": bool(lost), "problem": after.get("error") or after.get("problems"),
            "seconds": round(time.monotonic() - started, 2),
            "seconds_after_kill": round(time.monotonic() - killed_at, 2)}


def probe(index: Path, library: Path, workers: int, work: Path) -> dict:
    """A small ingest after the kills: it must succeed, and leave nothing pending."""
    folder = work / "probe"
    folder.mkdir()
    (folder / "thong-bao.jsonl").write_text(json.dumps(
        {"id": "probe-1", "title": "Thông báo lịch tiếp công dân sau sự cố",
         "body": "Ủy ban nhân dân phường tiếp công dân vào thứ Năm hằng tuần."},
        ensure_ascii=False) + "\n", encoding="utf-8")
    started = time.monotonic()
    run = ingest(index, library, folder, workers, uuid.uuid4().hex)
    _, stderr = run.communicate(timeout=3600)
    after = state(index, library)
    return {"returncode": run.returncode, "stderr": stderr.strip()[-300:],
            "seconds": round(time.monotonic() - started, 1),
            "documents": len(after.get("ids", [])), "agrees": after.get("agrees"),
            "waiting": after.get("waiting"), "error": after.get("error"),
            "leftovers": sorted(p.name for p in index.glob("*.tmp"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--min-delay", type=float, default=0.0,
                        help="shortest time before a kill, in seconds (default 0)")
    parser.add_argument("--max-delay", type=float, default=30.0,
                        help="longest time before a kill, in seconds (default 30; the whole "
                             "file takes minutes, so no run reaches its commit by default)")
    parser.add_argument("--workers", type=int, default=2, help="index workers per run")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", type=Path, help="write every kill's figures here")
    args = parser.parse_args()
    if not Path("/proc/self/environ").exists():
        raise BenchError("needs Linux /proc to find the processes a run spawned")
    [news] = require_files(args.corpus, [DANTRI])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tmp-crash-", dir=OUT_DIR))
    try:
        index, library = base_copy(work)
        rng = random.Random(args.seed)
        kills = []
        for n in range(1, args.kills + 1):
            kill = one_kill(index, library, news, args.workers,
                            rng.uniform(args.min_delay, args.max_delay))
            kills.append(kill)
            print(f"kill {n:2}: after {kill['delay']:5.1f} s, {kill['spawned_at_kill']} "
                  f"spawned running, alive +1 s {kill['alive_after_1s']}, +10 s "
                  f"{kill['alive_after_10s']} (gone in {kill['gone_seconds']:.2f} s); "
                  f"documents {kill['documents_before']} -> {kill['documents_after']}, "
                  f"{kill['waiting']} pending; {'LOST/PARTIAL ' if kill['lost_or_partial'] else ''}"
                  f"{'BLOCKED ' if kill['blocked'] else ''}{'ended by itself ' if kill['ended'] else ''}"
                  f"{kill['seconds']:.1f} s", flush=True)
        last = probe(index, library, args.workers, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarize(kills, last)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "kills": kills}, ensure_ascii=False,
                                        indent=2), encoding="utf-8")
    return 0 if summary["ok"] else 1


def summarize(kills: list[dict], last: dict) -> dict:
    killed = [k for k in kills if not k["ended"]]
    seconds = [k["seconds"] for k in killed] or [0.0]
    gone = [k["gone_seconds"] for k in killed] or [0.0]
    summary = {
        "kills": len(killed), "ended_by_itself": len(kills) - len(killed),
        "kills_with_spawned_processes_running": sum(k["spawned_at_kill"] > 0 for k in killed),
        "lost_or_partial_commits": sum(k["lost_or_partial"] for k in kills),
        "blocked_runs": sum(k["blocked"] for k in kills) + (last["returncode"] != 0),
        "processes_alive_1s_after_kill": sum(k["alive_after_1s"] for k in killed),
        "processes_alive_10s_after_kill": sum(k["alive_after_10s"] for k in killed),
        "processes_gone_seconds_median": round(statistics.median(gone), 2),
        "processes_gone_seconds_max": round(max(gone), 2),
        "seconds_per_kill_median": round(statistics.median(seconds), 1),
        "seconds_per_kill_max": round(max(seconds), 1),
        # From the kill until the checks are done: processes gone, index opened, searched,
        # compared with the library.
        "seconds_after_kill_median": round(statistics.median(
            k["seconds_after_kill"] for k in killed), 2) if killed else 0.0,
        "next_run": last,
    }
    summary["ok"] = (summary["lost_or_partial_commits"] == 0 and summary["blocked_runs"] == 0
                     and summary["processes_alive_10s_after_kill"] == 0
                     and last["returncode"] == 0 and last["agrees"] and last["waiting"] == 0
                     and not last["leftovers"])
    return summary


if __name__ == "__main__":
    run_main(main)
