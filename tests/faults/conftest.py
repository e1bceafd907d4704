"""The fault scenarios' own PostgreSQL and Redis, which they stop and start again.

The machine's PostgreSQL and Redis serve other test runs: never touched here. Once per session,
a private PostgreSQL cluster and a private ``redis-server`` (tests/harness.py) are started; the
database is migrated, the Helsinki street graph imported and the scenarios' data written by
``tests/faults/scenario.py``. The app under test runs as real processes on them: Daphne and Celery
workers. Everything is stopped and removed at the end of the session, failed or not.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import HELSINKI_PBF
from tests.harness import ROOT, CeleryWorker, Daphne, PrivatePostgres, RedisServer, app_env
from tests.notifications.realtime import DAPHNE_ENV

DB_NAME = "voisinage_fault"


@dataclass
class FaultStack:
    postgres: PrivatePostgres
    redis: RedisServer
    data: dict[str, Any]
    cleanups: list[Any] = field(default_factory=list)

    def env(self, **extra: Any) -> dict[str, str]:
        """The environment of the app's processes on the private PostgreSQL and Redis."""
        variables = {
            "VOISINAGE_ENV": "test",
            "CHANNEL_LAYER_PREFIX": "faults",
            "JWT_ACCESS_MINUTES": "240",
            "PUSH_ENABLED": "false",
            "TIME_ZONE": "Europe/Helsinki",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        return app_env(database_url=self.postgres.url, redis_url=self.redis.url, **variables)

    def daphne(self, **extra: Any) -> Daphne:
        server = Daphne(self.env(**{**DAPHNE_ENV, **extra}))
        self.cleanups.append(server.remove)
        return server.start()

    def worker(self, name: str, **extra: Any) -> CeleryWorker:
        worker = CeleryWorker(
            self.env(**{"LOG_LEVEL": "INFO", **extra}), hostname=f"{name}@faults", loglevel="INFO"
        )
        self.cleanups.append(worker.remove)
        return worker.start()

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.postgres.connect() as conn:
            return conn.execute(query, params).fetchall()

    def cleanup(self) -> None:
        while self.cleanups:
            with contextlib.suppress(Exception):
                self.cleanups.pop()()


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    assert HELSINKI_PBF.exists(), f"{HELSINKI_PBF} is missing: run 'make test', which fetches it"
    started = time.monotonic()
    postgres = PrivatePostgres(DB_NAME)
    redis_server = RedisServer()
    atexit.register(postgres.destroy)  # even if the session dies before its teardown
    atexit.register(redis_server.remove)
    with postgres, redis_server:
        stack = FaultStack(postgres, redis_server, {})
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.faults.scenario", str(HELSINKI_PBF)],
                cwd=ROOT,
                env=stack.env(),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                pytest.fail(f"the fault scenarios' data failed:\n{done.stdout}\n{done.stderr}")
            stack.data = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"\n[faults] private PostgreSQL and Redis ready in "
                f"{time.monotonic() - started:.1f} s"
            )
            yield stack
        finally:
            stack.cleanup()
