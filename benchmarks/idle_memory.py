"""The memory of the whole ``make run`` stack at rest: Daphne, the Celery worker, its pool and beat.

    make demo                                  # once: the demo database (graph and seeds)
    .venv/bin/python -m benchmarks.idle_memory [--settle 65] [--readyz] [--plan] [--port N]

Starts the stack exactly as ``make serve`` does (``.ci/serve.sh HOST PORT``: its defaults are the
Makefile's, ``CELERY_POOL``, ``CELERY_CONCURRENCY`` and ``MALLOC_ARENA_MAX``, and this process's
environment overrides them as make's command line would) on a free port, against the database of
``DATABASE_URL`` (the demo's by default) and a private ``redis-server`` (so that the worker takes no
task of another stack), with a log and a beat schedule of its own. Waits until Daphne's
``/healthz`` answers and the worker logged "ready.", then ``--settle`` seconds more (65 by
default: beat, on a fresh schedule, sends the jobs of every 30 s and every minute in that time and
the worker runs them, as at rest; with ``--readyz``, one ``GET /readyz`` first, as a proxy's health
check does: Daphne loads the street graph; with ``--plan``, the worker plans the demo's latest
batch again first, as the cut-off sweep does each day: its child maps the graph's files and loads
the planning stack, and what that leaves behind is counted). Then reads every process of the stack, children
included: ``VmRSS`` (/proc/PID/status) and ``Pss`` (/proc/PID/smaps_rollup: shared pages divided
between the processes that share them, so PSS adds up to what the stack really costs the
machine). The stack's total is over its Python processes (the shell that starts them, a few MB, is
listed apart). Stops the stack. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import RedisServer, ServeStack, descendants, wait_until

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgis://postgres@127.0.0.1:5432/voisinage"


def kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def describe(pid: int) -> dict[str, object] | None:
    """One process: what it is, its RSS and PSS in MB."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        rss = kib(Path(f"/proc/{pid}/status"), "VmRSS")
        pss = kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv if a]
    command = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))
    exe = os.path.realpath(f"/proc/{pid}/exe") if Path(f"/proc/{pid}/exe").exists() else ""
    python = "python" in Path(exe).name
    if not python:
        role = "shell"
    elif "daphne" in command:
        role = "daphne"
    elif "celery" in command:
        role = "celery"
    else:
        role = "python"
    return {
        "pid": pid,
        "role": role,
        "command": command[:160],
        "rss_mb": round(rss / 1024, 1),
        "pss_mb": round(pss / 1024, 1),
    }


def holds(pid: int, name: str) -> bool:
    """Whether the process has a file whose path contains ``name`` open."""
    try:
        return any(name in os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def ppid_of(pid: int) -> int:
    try:
        return kib(Path(f"/proc/{pid}/status"), "PPid")
    except OSError:
        return 0


def celery_roles(processes: list[dict[str, object]]) -> None:
    """Names the Celery processes: the worker (its parent is not Celery), beat (embedded with -B it
    is a child of the worker: the one holding the schedule file), the pool's children."""
    celery = [p for p in processes if p["role"] == "celery"]
    pids = {p["pid"] for p in celery}
    for proc in celery:
        pid = int(str(proc["pid"]))
        if holds(pid, "celerybeat-schedule") or " beat" in str(proc["command"]):
            proc["role"] = "celery beat"
        elif ppid_of(pid) in pids:
            proc["role"] = "celery pool child"
        else:
            proc["role"] = "celery worker"


def replan(database_url: str, broker_url: str, timeout: float = 300.0) -> float:
    """Asks the stack's worker to plan the latest batch of the database again (the message
    ``make run``'s cut-off sweep would send), waits until it is planned, returns the seconds."""
    import psycopg
    from celery import Celery

    dsn = database_url.replace("postgis://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "UPDATE pooling_batch SET replan_requested = true WHERE id = "
            "(SELECT max(id) FROM pooling_batch WHERE status = 'planned') RETURNING id, version"
        ).fetchone()
        if row is None:
            raise SystemExit("no planned batch to plan again: run `make demo` first")
        batch_id, version = row
        started = time.monotonic()
        Celery(broker=broker_url).send_task("pooling.batch_plan", args=[batch_id])

        def planned() -> bool:
            status, now = conn.execute(
                "SELECT status, version FROM pooling_batch WHERE id = %s", [batch_id]
            ).fetchone()
            if status == "failed":
                raise RuntimeError(f"batch {batch_id} failed to plan")
            return status == "planned" and now > version

        wait_until(planned, timeout=timeout, interval=0.5, what="the batch planned")
    took = time.monotonic() - started
    print(f"[idle_memory] batch {batch_id} planned again in {took:.1f} s", file=sys.stderr)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--settle", type=float, default=65.0,
        help="seconds at rest after ready (65: the jobs of every 30 s and every minute have run)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help="Daphne's port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for ready")
    parser.add_argument(
        "--readyz", action="store_true", help="GET /readyz once when ready (loads the graph)"
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="have the worker plan the demo's latest batch again once ready, then settle",
    )
    args = parser.parse_args()

    tuning = {
        key: os.environ[key]
        for key in ("CELERY_POOL", "CELERY_CONCURRENCY", "MALLOC_ARENA_MAX")
        if key in os.environ
    }
    redis = RedisServer().start()
    scratch = Path(tempfile.mkdtemp(prefix="idle-memory-"))
    log = scratch / "celery.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_RESULT_BACKEND": redis.url,
        # Its own log and beat schedule: a `make run` of this clone keeps its own.
        "CELERY_LOG": str(log),
        "CELERY_SCHEDULE": str(scratch / "celerybeat-schedule"),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    started = time.monotonic()
    serve = ServeStack(env, port=args.port, log=scratch / "serve.log")
    serve.start_timeout = args.timeout
    try:
        serve.start()  # Daphne answers /healthz

        def worker_ready() -> bool:
            if not serve.running:
                raise RuntimeError(f"the stack exited:\n{log.read_text(errors='replace')}")
            return log.exists() and " ready." in log.read_text(errors="replace")

        wait_until(worker_ready, timeout=args.timeout, interval=0.2, what="the worker ready")
        ready_s = time.monotonic() - started
        if args.readyz:  # the graph loads: longer than answers_ok waits
            import urllib.request

            with urllib.request.urlopen(f"http://127.0.0.1:{serve.port}/readyz", timeout=30) as r:
                r.read()
        plan_s = replan(env["DATABASE_URL"], redis.url) if args.plan else None
        print(f"[idle_memory] ready in {ready_s:.1f} s, at rest for {args.settle:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        time.sleep(args.settle)
        pids = [serve.pid, *descendants(serve.pid)]
        processes = [p for p in map(describe, pids) if p is not None]
        celery_roles(processes)
    finally:
        serve.stop()
        redis.remove()
        tasks_run = log.read_text(errors="replace").count("] succeeded in") if log.exists() else 0
        shutil.rmtree(scratch, ignore_errors=True)

    stack = [p for p in processes if p["role"] != "shell"]
    for proc in processes:
        print(f"[idle_memory] {proc['role']:<18} pid {proc['pid']:<7} RSS {proc['rss_mb']:>6} MB"
              f"  PSS {proc['pss_mb']:>6} MB  {proc['command']}", file=sys.stderr)  # fmt: skip
    total_rss = round(sum(float(p["rss_mb"]) for p in stack), 1)  # type: ignore[arg-type]
    total_pss = round(sum(float(p["pss_mb"]) for p in stack), 1)  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "benchmark": "idle_memory",
                "settle_s": args.settle,
                "ready_s": round(ready_s, 1),
                "readyz": args.readyz,
                "plan_s": None if plan_s is None else round(plan_s, 1),
                "tasks_run": tasks_run,
                "overrides": tuning,
                "processes": processes,
                "stack_processes": len(stack),
                "total_rss_mb": total_rss,
                "total_pss_mb": total_pss,
                "goal_rss_mb": 500,
            }
        )
    )


if __name__ == "__main__":
    main()
