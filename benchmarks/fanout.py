"""Live events from commit to socket, on Daphne and the Redis channel layer, against a minimal
``websockets`` server doing the same deliveries.

    python -m benchmarks.fanout --clients 5000 --rate 200 --seconds 30

Set-up, on its own database (``voisinage_bench_fanout`` on the configured server) and its own
``redis-server`` (a free port, no persistence), so nobody else's data or sockets are touched:
``--clients`` residents, spread over ``--neighbourhoods`` topics (``neighbourhood.<k>``).

Phase 1, Voisinage: Daphne (``backend.asgi``) serves ``/ws/v1/events``; client processes
(``--procs``, each an asyncio loop holding many ``websockets`` connections) open one socket per
resident with a ticket. Emitter processes (``--emitters`` like web workers, ``--threads`` each)
then commit ``order.eta`` events through ``notify()`` to
random residents at ``--rate`` per second for ``--seconds``, plus ``--broadcasts``
``neighbourhood.announcement`` events to whole neighbourhoods. The latency of a delivery is the
time from the commit (an on-commit hook that runs before the fan-out) to the client's receipt.

Phase 2, baseline: a minimal ``websockets`` server (no Django, no database, no Redis) that the
emitter tells over a control socket whom to send each event to, with the same schedule,
recipients and envelopes. Its latency runs from the emitter's send to the client's receipt.

Both phases run on this machine with every process sharing its cores, clients included. The last
line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import bench_database, percentile
from tests.harness import Daphne, Process, RedisServer, app_env, free_port

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "voisinage_bench_fanout"
PREFIX = "benchfanout"
PERSONAL_TYPE = "order.eta"
BROADCAST_TYPE = "neighbourhood.announcement"


# --- small helpers ----------------------------------------------------------------------------------


def _raise_fd_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return round(values.get("VmRSS", 0.0), 1), round(values.get("VmHWM", 0.0), 1)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log(message: str) -> None:
    print(f"[fanout] {message}", flush=True)


# --- client processes ---------------------------------------------------------------------------------


def _key(message: dict[str, Any]) -> str | None:
    data = message.get("data") or {}
    if message.get("type") == PERSONAL_TYPE:
        return f"p{data.get('order_id')}"
    if message.get("type") == BROADCAST_TYPE:
        return str(data.get("title"))
    return None


async def _clients(
    targets: list[tuple[int, str]], ready: Any, stop: Any, handshakes: int
) -> dict[str, Any]:
    import websockets

    records: list[tuple[str, int, int, float]] = []
    connected: list[int] = []
    failures: dict[str, int] = defaultdict(int)
    gate = asyncio.Semaphore(handshakes)
    sockets: list[Any] = []

    async def one(user_id: int, url: str) -> None:
        try:
            async with gate:
                ws = await websockets.connect(
                    url,
                    ping_interval=None,
                    open_timeout=180,
                    close_timeout=2,
                    max_queue=None,
                    proxy=None,
                )
        except Exception as error:  # a failed connection is counted, not fatal
            failures[type(error).__name__] += 1
            return
        sockets.append(ws)
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ready":
                    connected.append(user_id)
                    with ready.get_lock():
                        ready.value += 1
                    continue
                key = _key(message)
                if key is not None:
                    records.append((key, user_id, int(message.get("id", 0)), now))
        except websockets.ConnectionClosed:
            pass
        if not stop.is_set():
            code = ws.close_code
            failures[f"closed_by_server_{code}"] += 1

    tasks = [asyncio.create_task(one(user_id, url)) for user_id, url in targets]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()
    await asyncio.wait(tasks, timeout=10)
    return {"records": records, "connected": connected, "failures": dict(failures)}


def _client_process(
    targets: list[tuple[int, str]], ready: Any, stop: Any, results: Any, handshakes: int
) -> None:
    _raise_fd_limit()
    outcome = asyncio.run(_clients(targets, ready, stop, handshakes))
    results.put(outcome)


@dataclass
class _Fleet:
    """Client processes holding one socket per target."""

    targets: list[tuple[int, str]]
    procs: int
    handshakes: int = 64
    context: Any = field(default_factory=lambda: multiprocessing.get_context("spawn"))

    def start(self) -> None:
        self.ready = self.context.Value("i", 0)
        self.stop_event = self.context.Event()
        self.results = self.context.Queue()
        self.processes = []
        for n in range(self.procs):
            share = self.targets[n :: self.procs]
            process = self.context.Process(
                target=_client_process,
                args=(share, self.ready, self.stop_event, self.results, self.handshakes),
                daemon=True,
            )
            process.start()
            self.processes.append(process)

    def wait_connected(self, timeout: float) -> tuple[int, float]:
        started = time.monotonic()
        last, last_change = -1, started
        while time.monotonic() - started < timeout:
            value = self.ready.value
            if value >= len(self.targets):
                break
            if value != last:
                last, last_change = value, time.monotonic()
            elif time.monotonic() - last_change > 30:
                break  # no progress for 30 s: go on with those connected
            time.sleep(0.2)
        return self.ready.value, time.monotonic() - started

    def finish(self) -> dict[str, Any]:
        self.stop_event.set()
        merged: dict[str, Any] = {"records": [], "connected": [], "failures": defaultdict(int)}
        for _ in self.processes:
            part = self.results.get(timeout=120)
            merged["records"] += part["records"]
            merged["connected"] += part["connected"]
            for name, count in part["failures"].items():
                merged["failures"][name] += count
        for process in self.processes:
            process.join(timeout=30)
        merged["failures"] = dict(merged["failures"])
        return merged


# --- the schedule of events -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    at: float  # seconds from the start
    key: str
    user_id: int | None  # a personal event
    neighbourhood: int | None  # a broadcast


def _schedule(
    user_ids: list[int],
    rate: float,
    seconds: float,
    broadcasts: int,
    neighbourhoods: int,
    seed: int,
) -> list[_Event]:
    rng = random.Random(seed)
    events = [
        _Event(at=n / rate, key=f"p{n + 1}", user_id=rng.choice(user_ids), neighbourhood=None)
        for n in range(int(rate * seconds))
    ]
    for b in range(broadcasts):
        at = seconds * (b + 0.5) / broadcasts
        events.append(
            _Event(at=at, key=f"b{b + 1}", user_id=None, neighbourhood=b % neighbourhoods)
        )
    return sorted(events, key=lambda e: e.at)


def _run_schedule(events: list[_Event], emit: Any, threads: int, start: float) -> tuple[float, int]:
    """Calls ``emit(event)`` for each event at ``start`` (wall clock) plus its time, from
    ``threads`` threads; returns the elapsed time and how many events started over 50 ms late."""
    lock = threading.Lock()
    position = [0]
    late = [0]

    def worker() -> None:
        try:
            while True:
                with lock:
                    if position[0] >= len(events):
                        return
                    event = events[position[0]]
                    position[0] += 1
                delay = start + event.at - time.time()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -0.05:
                    with lock:
                        late[0] += 1
                emit(event)
        finally:
            if "django" in sys.modules:
                from django.db import connection

                connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.time() - start, late[0]


def _notify_event(event: _Event) -> None:
    from notifications.services import notify

    if event.user_id is not None:
        notify(
            event_type=PERSONAL_TYPE,
            recipients=[event.user_id],
            data={
                "order_id": int(event.key[1:]),
                "route_id": 1,
                "eta": "2026-05-16T17:42:00+02:00",
                "minutes": 12,
            },
        )
    else:
        notify(
            event_type=BROADCAST_TYPE,
            topic=f"neighbourhood.{event.neighbourhood}",
            data={
                "neighbourhood_id": event.neighbourhood,
                "title": event.key,
                "text": "Les livraisons de samedi passent à vendredi soir.",
            },
        )


def _emitter_process(events: list[_Event], start: float, threads: int, results: Any) -> None:
    """A process like a web worker: it commits its share of the events with notify(), each in
    its own transaction, and notes when each commit returned (a hook that runs first after the
    commit, before the fan-out)."""
    import django

    django.setup()
    from django.db import transaction

    committed: dict[str, float] = {}
    handed: list[float] = []  # commit to the channel layer's answer, in ms

    def emit(event: _Event) -> None:
        with transaction.atomic():
            transaction.on_commit(lambda: committed.__setitem__(event.key, time.time()))
            _notify_event(event)
            transaction.on_commit(
                lambda: handed.append((time.time() - committed[event.key]) * 1000)
            )

    elapsed, late = _run_schedule(events, emit, threads, start)
    results.put({"committed": committed, "elapsed": elapsed, "late": late, "handed": handed})


def _emit_in_processes(
    events: list[_Event], processes: int, threads: int
) -> tuple[dict[str, float], float, int]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = time.time() + 5.0  # time for the processes to set Django up
    workers = [
        context.Process(
            target=_emitter_process, args=(events[n::processes], start, threads, results)
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    committed: dict[str, float] = {}
    handed: list[float] = []
    elapsed, late = 0.0, 0
    for _ in workers:
        part = results.get(timeout=3600)
        committed.update(part["committed"])
        handed += part["handed"]
        elapsed, late = max(elapsed, part["elapsed"]), late + part["late"]
    for worker in workers:
        worker.join(timeout=30)
    _log(
        f"emitters: commit to channel layer p50 {percentile(handed, 0.5):.1f} ms, "
        f"p99 {percentile(handed, 0.99):.1f} ms"
    )
    return committed, elapsed, late


def _measure(
    events: list[_Event],
    sent_at: dict[str, float],
    received: dict[str, Any],
    members: dict[int, list[int]],
) -> dict[str, Any]:
    connected = set(received["connected"])
    expected: set[tuple[str, int]] = set()
    for event in events:
        recipients = [event.user_id] if event.user_id is not None else members[event.neighbourhood]
        expected |= {(event.key, user_id) for user_id in recipients if user_id in connected}
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_broadcast: dict[str, list[float]] = defaultdict(list)
    # Every delivery as (event, its commit or send in s from the first one, latency in ms).
    start = min(sent_at.values(), default=0.0)
    timeline: list[tuple[str, float, float]] = []
    seen: set[tuple[str, int]] = set()
    duplicates = 0
    ids_by_user: dict[int, list[int]] = defaultdict(list)
    for key, user_id, event_id, at in received["records"]:
        if (key, user_id) in seen:
            duplicates += 1
            continue
        seen.add((key, user_id))
        ids_by_user[user_id].append(event_id)
        if key in sent_at:
            latency = (at - sent_at[key]) * 1000
            latencies.append(latency)
            by_kind["broadcast" if key.startswith("b") else "personal"].append(latency)
            timeline.append((key, round(sent_at[key] - start, 4), round(latency, 3)))
            if key.startswith("b"):
                by_broadcast[key].append(latency)
    out_of_order = sum(
        1 for ids in ids_by_user.values() for a, b in itertools.pairwise(ids) if b <= a
    )
    delivered = len(seen & expected)
    missing = sorted(expected - seen)[:5]
    if missing:
        _log(f"missing deliveries (key, user), first ones: {missing}")
    return {
        "connected": len(connected),
        "expected": len(expected),
        "delivered": delivered,
        "lost": len(expected) - delivered,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2) if latencies else float("nan"),
        "personal_p50_ms": round(percentile(by_kind["personal"], 0.50), 2),
        "personal_p99_ms": round(percentile(by_kind["personal"], 0.99), 2),
        "personal_p90_ms": round(percentile(by_kind["personal"], 0.90), 2),
        "broadcast_p5_ms": round(percentile(by_kind["broadcast"], 0.05), 2),
        "broadcast_p50_ms": round(percentile(by_kind["broadcast"], 0.50), 2),
        "broadcast_p99_ms": round(percentile(by_kind["broadcast"], 0.99), 2),
        # Each announcement's first and last recipient, the median over announcements.
        "broadcast_first_ms": round(percentile([min(v) for v in by_broadcast.values()], 0.5), 2),
        "broadcast_last_ms": round(percentile([max(v) for v in by_broadcast.values()], 0.5), 2),
        "failures": received["failures"],
        "raw": dict(by_kind)
        | {"timeline": sorted(timeline, key=lambda d: d[1]), "timeline_start": start},
    }


# --- phase 1: Voisinage on Daphne -----------------------------------------------------------------------


def _prepare_residents(clients: int, neighbourhoods: int) -> tuple[list[int], dict[int, list[int]]]:
    from django.db import connection

    from accounts.models import User
    from notifications.models import Event, EventStream, PushOutbox, TopicSubscription

    emails = [f"bench{n}@fanout.invalid" for n in range(clients)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    User.objects.bulk_create(
        [
            User(email=email, display_name=email.split("@")[0], password="!")  # noqa: S106 (unusable)
            for email in emails
            if email not in existing
        ],
        batch_size=2000,
    )
    by_email = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    user_ids = [by_email[email] for email in emails]
    with connection.cursor() as cursor:  # a clean slate for the logs of this run
        for model in (PushOutbox, Event, EventStream, TopicSubscription):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    members: dict[int, list[int]] = defaultdict(list)
    for n, user_id in enumerate(user_ids):
        members[n % neighbourhoods].append(user_id)
    TopicSubscription.objects.bulk_create(
        [
            TopicSubscription(user_id=user_id, topic=f"neighbourhood.{k}")
            for k, ids in members.items()
            for user_id in ids
        ],
        batch_size=5000,
    )
    return user_ids, dict(members)


def _daphne(redis_url: str, log: Path) -> Daphne:
    env = app_env(
        redis_url=redis_url,
        VOISINAGE_ENV="test",
        CHANNEL_LAYER_PREFIX=PREFIX,
        DB_CONN_MAX_AGE="600",
        LOG_LEVEL="WARNING",
        PUSH_ENABLED="false",
    )
    options = ("-v", "0", "--websocket_connect_timeout", "180")
    return Daphne(env, options=options, start_timeout=60, log=log)


def _phase_voisinage(args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, Any]:
    from django.conf import settings

    from notifications.tickets import ticket_issue

    user_ids, members = _prepare_residents(args.clients, args.neighbourhoods)
    settings.REALTIME_TICKET_TTL_SECONDS = 900
    server = _daphne(redis_url, workdir / "daphne.log").start()
    port = server.port
    try:
        targets = [
            (
                user_id,
                f"ws://127.0.0.1:{port}/ws/v1/events?ticket={ticket_issue(user_id=user_id).token}&last_id=0",
            )
            for user_id in user_ids
        ]
        fleet = _Fleet(targets, args.procs)
        fleet.start()
        connected, connect_seconds = fleet.wait_connected(timeout=args.connect_timeout)
        _log(f"voisinage: {connected}/{args.clients} sockets ready in {connect_seconds:.1f} s")
        cpu_before = _cpu_seconds(server.pid)
        events = _schedule(
            user_ids, args.rate, args.seconds, args.broadcasts, args.neighbourhoods, args.seed
        )
        committed, elapsed, late = _emit_in_processes(events, args.emitters, args.threads)
        time.sleep(args.drain)
        rss, peak = _rss_mb(server.pid)
        cpu = _cpu_seconds(server.pid) - cpu_before
        received = fleet.finish()
    finally:
        server.stop(timeout=30)
    result = _measure(events, committed, received, members)
    result.update(
        {
            "connect_seconds": round(connect_seconds, 1),
            "emit_seconds": round(elapsed, 2),
            "late_starts": late,
            "server_rss_mb": rss,
            "server_peak_rss_mb": peak,
            "server_cpu_seconds": round(cpu, 1),
        }
    )
    return result | {"user_ids": user_ids, "members": members, "events": events}


# --- phase 2: the minimal websockets server -------------------------------------------------------------


async def _baseline_server(port: int) -> None:
    import websockets

    sockets: dict[int, set[Any]] = defaultdict(set)
    seqs: dict[int, int] = defaultdict(int)

    async def handler(ws: Any) -> None:
        path = ws.request.path
        if path.startswith("/control"):
            async for raw in ws:
                order = json.loads(raw)
                for user_id in order["users"]:
                    seqs[user_id] += 1
                    envelope = json.dumps(
                        {
                            "id": seqs[user_id],
                            "type": order["type"],
                            "at": order["at"],
                            "data": order["data"],
                        },
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                    for client in list(sockets.get(user_id, ())):
                        with contextlib.suppress(websockets.ConnectionClosed):
                            await client.send(envelope)
            return
        user_id = int(path.split("user=", 1)[1])
        sockets[user_id].add(ws)
        try:
            await ws.send(json.dumps({"type": "ready", "last_id": seqs[user_id]}))
            await ws.wait_closed()
        finally:
            sockets[user_id].discard(ws)

    async with websockets.serve(
        handler, "127.0.0.1", port, ping_interval=None, max_queue=None, backlog=4096
    ):
        await asyncio.Future()


class _BaselineServer(Process):
    """This module with ``--baseline-server``: ready when its port accepts connections."""

    name = "baseline"

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "benchmarks.fanout", "--baseline-server", str(self.port)]
        super().__init__(argv, log=log)

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


def _phase_baseline(
    args: argparse.Namespace, voisinage: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    from websockets.sync.client import connect

    server = _BaselineServer(workdir / "baseline.log").start()
    port = server.port
    try:
        members = voisinage["members"]
        targets = [
            (user_id, f"ws://127.0.0.1:{port}/ws?user={user_id}")
            for user_id in voisinage["user_ids"]
        ]
        fleet = _Fleet(targets, args.procs)
        fleet.start()
        connected, connect_seconds = fleet.wait_connected(timeout=args.connect_timeout)
        _log(f"baseline: {connected}/{args.clients} sockets ready in {connect_seconds:.1f} s")
        control = connect(
            f"ws://127.0.0.1:{port}/control", proxy=None, ping_interval=None, legacy=True
        )
        control_lock = threading.Lock()
        sent: dict[str, float] = {}

        def emit(event: _Event) -> None:
            if event.user_id is not None:
                order = {
                    "users": [event.user_id],
                    "type": PERSONAL_TYPE,
                    "data": {
                        "order_id": int(event.key[1:]),
                        "route_id": 1,
                        "eta": "2026-05-16T17:42:00+02:00",
                        "minutes": 12,
                    },
                }
            else:
                order = {
                    "users": members[event.neighbourhood],
                    "type": BROADCAST_TYPE,
                    "data": {
                        "neighbourhood_id": event.neighbourhood,
                        "title": event.key,
                        "text": "Les livraisons de samedi passent à vendredi soir.",
                    },
                }
            order["at"] = "2026-05-16T17:00:00+02:00"
            payload = json.dumps(order)
            with control_lock:
                sent[event.key] = time.time()
                control.send(payload)

        elapsed, late = _run_schedule(voisinage["events"], emit, 1, time.time() + 0.2)
        time.sleep(args.drain)
        rss, peak = _rss_mb(server.pid)
        control.close()
        received = fleet.finish()
    finally:
        server.stop(timeout=30)
    result = _measure(voisinage["events"], sent, received, members)
    result.update(
        {
            "connect_seconds": round(connect_seconds, 1),
            "emit_seconds": round(elapsed, 2),
            "late_starts": late,
            "server_rss_mb": rss,
            "server_peak_rss_mb": peak,
        }
    )
    return result


# --- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="personal events per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--broadcasts", type=int, default=6, help="neighbourhood-wide events")
    parser.add_argument("--neighbourhoods", type=int, default=5)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument(
        "--emitters", type=int, default=2, help="processes committing events (web workers)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per emitter process")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--connect-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--latencies-out",
        default=None,
        help="write every delivery's latency (ms), by phase and kind, and a timeline of every "
        "delivery (event, commit time in s from timeline_start, latency in ms) to this JSON file",
    )
    parser.add_argument("--baseline-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    fds = _raise_fd_limit()
    if args.baseline_server is not None:
        asyncio.run(_baseline_server(args.baseline_server))
        return {}
    if fds < args.clients + 1024:
        raise SystemExit(f"open files limit {fds} is too low for {args.clients} clients")

    bench_database(DB_NAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["PUSH_ENABLED"] = "false"
    redis_server = RedisServer("--maxclients", "20000").start()
    os.environ["REDIS_URL"] = redis_server.url
    os.environ["CHANNEL_LAYER_PREFIX"] = PREFIX
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="fanout-"))
    try:
        voisinage = _phase_voisinage(args, redis_server.url, workdir)
        baseline = _phase_baseline(args, voisinage, workdir)
    finally:
        redis_server.remove()
    for name in ("user_ids", "members", "events"):
        voisinage.pop(name)
    raw = {"voisinage": voisinage.pop("raw"), "baseline": baseline.pop("raw")}
    if args.latencies_out:
        Path(args.latencies_out).write_text(json.dumps(raw))
        _log(f"latencies of every delivery, in ms, by kind: {args.latencies_out}")
    result = {
        "clients": args.clients,
        "clients_connected": voisinage["connected"],
        "rate": args.rate,
        "seconds": args.seconds,
        "broadcasts": args.broadcasts,
        "neighbourhoods": args.neighbourhoods,
        "deliveries_expected": voisinage["expected"],
        "delivered": voisinage["delivered"],
        "lost": voisinage["lost"],
        "duplicates": voisinage["duplicates"],
        "out_of_order": voisinage["out_of_order"],
        "p50_ms": voisinage["p50_ms"],
        "p90_ms": voisinage["p90_ms"],
        "p99_ms": voisinage["p99_ms"],
        "max_ms": voisinage["max_ms"],
        "personal_p50_ms": voisinage["personal_p50_ms"],
        "personal_p99_ms": voisinage["personal_p99_ms"],
        "personal_p90_ms": voisinage["personal_p90_ms"],
        "broadcast_p5_ms": voisinage["broadcast_p5_ms"],
        "broadcast_p50_ms": voisinage["broadcast_p50_ms"],
        "broadcast_first_ms": voisinage["broadcast_first_ms"],
        "broadcast_last_ms": voisinage["broadcast_last_ms"],
        "broadcast_p99_ms": voisinage["broadcast_p99_ms"],
        "server_rss_mb": voisinage["server_rss_mb"],
        "server_peak_rss_mb": voisinage["server_peak_rss_mb"],
        "server_cpu_seconds": voisinage["server_cpu_seconds"],
        "connect_seconds": voisinage["connect_seconds"],
        "emit_seconds": voisinage["emit_seconds"],
        "late_starts": voisinage["late_starts"],
        "baseline_clients_connected": baseline["connected"],
        "baseline_lost": baseline["lost"],
        "baseline_p50_ms": baseline["p50_ms"],
        "baseline_p99_ms": baseline["p99_ms"],
        "baseline_max_ms": baseline["max_ms"],
        "baseline_personal_p50_ms": baseline["personal_p50_ms"],
        "baseline_personal_p99_ms": baseline["personal_p99_ms"],
        "baseline_personal_p90_ms": baseline["personal_p90_ms"],
        "baseline_broadcast_p5_ms": baseline["broadcast_p5_ms"],
        "baseline_broadcast_p50_ms": baseline["broadcast_p50_ms"],
        "baseline_broadcast_first_ms": baseline["broadcast_first_ms"],
        "baseline_broadcast_last_ms": baseline["broadcast_last_ms"],
        "baseline_broadcast_p99_ms": baseline["broadcast_p99_ms"],
        "baseline_server_rss_mb": baseline["server_rss_mb"],
        "ratio_p50": round(voisinage["p50_ms"] / baseline["p50_ms"], 2)
        if baseline["p50_ms"]
        else None,
        "ratio_p99": round(voisinage["p99_ms"] / baseline["p99_ms"], 2)
        if baseline["p99_ms"]
        else None,
        "failures": voisinage["failures"],
    }
    _log(f"workdir with server logs: {workdir}")
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
