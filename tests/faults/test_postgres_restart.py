"""PostgreSQL restarted under load: requests fail fast with a 503 and the app comes back on its own.

A real Daphne serves residents on the private PostgreSQL of tests/faults while client threads keep
asking for pages that need the database; the server is stopped (``pg_ctl stop -m fast``: every
session is cut), left down for a few seconds, and started again. The Daphne process is never
restarted.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass

import pytest

# On one pytest-xdist worker with the other fault module: they share one private PostgreSQL.
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

PATHS = ["/api/v1/me", "/api/v1/orders/"]
DOWN_SECONDS = 4.0


@dataclass
class Answer:
    started: float
    seconds: float
    status: int  # 0: no answer (connection error or client timeout)
    code: str | None
    retry_after: str | None


class Load:
    """Client threads, each on its own keep-alive connection, asking in a loop."""

    def __init__(self, port: int, token: str, threads: int = 6) -> None:
        self.port = port
        self.token = token
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def run(self, n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        k = n
        while not self.stopping.is_set():
            path = PATHS[k % len(PATHS)]
            k += 1
            started = time.monotonic()
            try:
                conn.request(
                    "GET",
                    path,
                    headers={"Authorization": f"Bearer {self.token}", "Accept-Language": "en"},
                )
                response = conn.getresponse()
                raw = response.read()
                code = json.loads(raw).get("code") if response.status != 200 else None
                answer = Answer(
                    started,
                    time.monotonic() - started,
                    response.status,
                    code,
                    response.getheader("Retry-After"),
                )
            except (OSError, http.client.HTTPException):
                answer = Answer(started, time.monotonic() - started, 0, None, None)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self.lock:
                self.answers.append(answer)
            time.sleep(0.01)
        conn.close()

    def between(self, start: float, end: float) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if start <= a.started and a.started + a.seconds <= end]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def test_postgres_restart_under_load_fails_fast_then_recovers(fault_stack):
    server = fault_stack.daphne()
    pid = server.process.pid
    token = fault_stack.data["resident_token"]
    load = Load(server.port, token).start()
    try:
        time.sleep(2.0)
        stopping = time.monotonic()
        fault_stack.postgres.stop("fast")
        down = time.monotonic()
        time.sleep(1.0)
        # Readiness says so at once; liveness stays up (the process is fine).
        status, body = server.request("GET", "/readyz")
        assert (status, body["checks"]["database"]) == (503, False)
        assert server.request("GET", "/healthz")[0] == 200
        # In French by default, in English when asked.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        french = conn.getresponse()
        body = json.loads(french.read())
        conn.close()
        assert french.status == 503
        assert set(body) == {"code", "detail", "fields"}
        assert body["code"] == "database_unavailable"
        assert "indisponible" in body["detail"]
        time.sleep(DOWN_SECONDS - 1.0)
        restarting = time.monotonic()
        fault_stack.postgres.start()
        up = time.monotonic()
        first_ok = wait_for_success(load, up)
        time.sleep(3.0)
        end = time.monotonic()
    finally:
        load.stop()

    before = load.between(0, stopping)
    during = load.between(down + 0.2, restarting)
    after = load.between(first_ok + 1.0, end)
    everything = load.between(0, end + 30)

    # Nothing hangs, nothing breaks: every answer is a 200 or a 503, none a 500 or a timeout.
    assert {a.status for a in everything} <= {200, 503}, sorted({a.status for a in everything})
    assert before and all(a.status == 200 for a in before)
    # While PostgreSQL is down: 503 in the error format, with Retry-After, fast.
    assert len(during) > 50
    assert all(a.status == 503 for a in during)
    assert {a.code for a in during} == {"database_unavailable"}
    assert all(a.retry_after and int(a.retry_after) > 0 for a in during)
    latencies = [a.seconds for a in during]
    assert p95(latencies) < 0.5, p95(latencies)
    assert max(latencies) < 4.0, max(latencies)
    # Back on its own, within seconds of the server's start, and for good.
    recovery = first_ok - up
    assert recovery < 3.0, recovery
    assert after and all(a.status == 200 for a in after)
    assert server.process.pid == pid and server.process.poll() is None
    status, body = server.request("GET", "/readyz")
    assert (status, body["checks"]["database"]) == (200, True)
    server.stop()
    print(
        f"\n[faults] PostgreSQL down {restarting - stopping:.1f} s: {len(during)} answers, 503 in "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; first 200 {recovery:.2f} s after the server "
        f"started (start took {up - restarting:.2f} s); {len(everything)} requests in all"
    )


def wait_for_success(load: Load, since: float, timeout: float = 15.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with load.lock:
            ok = [
                a.started + a.seconds
                for a in load.answers
                if a.started >= since and a.status == 200
            ]
        if ok:
            return min(ok)
        time.sleep(0.05)
    pytest.fail(f"no successful request within {timeout} s of PostgreSQL's start")
