"""The fault scenarios' own PostgreSQL and Redis, which they stop and start again.

The machine's PostgreSQL and Redis serve other test runs: never touched here. Once per session,
a private PostgreSQL cluster (``initdb`` in a temporary folder with the server binaries of a major
that has PostGIS, trust authentication, a free port, no fsync) and a private ``redis-server``
(tests/notifications/conftest.py) are started; the database is migrated, the Helsinki street graph
imported and the scenarios' data written by ``tests/faults/scenario.py``. The app under test runs
as real processes on them: Daphne (tests/notifications/conftest.py) and Celery workers. Everything
is stopped and removed at the end of the session, failed or not.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import HELSINKI_PBF
from tests.notifications.conftest import Daphne, RedisServer, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "voisinage_fault"


def server_bindir() -> Path:
    """The newest PostgreSQL server binaries with PostGIS installed for their major."""
    base = Path("/usr/lib/postgresql")
    majors = sorted(
        (p.name for p in base.iterdir() if p.name.isdigit()) if base.is_dir() else [],
        key=int,
        reverse=True,
    )
    for major in majors:
        bindir = base / major / "bin"
        control = Path(f"/usr/share/postgresql/{major}/extension/postgis.control")
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists() and control.exists():
            return bindir
    pytest.fail(
        "The fault tests run a PostgreSQL server of their own: they need the server binaries "
        "(initdb, pg_ctl) of a major with PostGIS under /usr/lib/postgresql/<major>/bin. "
        "`make test` installs them through .ci/system-deps.sh (postgresql-<major> and "
        "postgresql-<major>-postgis-3)."
    )


class PrivatePostgres:
    """A PostgreSQL cluster of our own, in a temporary folder, that tests stop and start."""

    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="voisinage-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        # The server refuses to run as root: it runs as the postgres system user then.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, user=self.user)
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.dir,
        )

    def init(self) -> PrivatePostgres:
        done = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        return self

    def start(self) -> PrivatePostgres:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=100"
        )
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60",
            "start",
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connect(self, dbname: str = DB_NAME) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def destroy(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class CeleryWorker:
    """``celery -A backend worker`` (prefork, one child) in its own process group."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"celery-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryWorker:
        celery = Path(sys.executable).with_name("celery")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(celery), "-A", "backend", "worker", "-l", "INFO", "--pool", "prefork",
                    "--concurrency", "1", "-n", f"{self.name}@faults", "--without-gossip",
                    "--without-mingle", "--without-heartbeat",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"celery worker exited:\n{self.output()}")
            return " ready." in self.output()

        wait_until(ready, timeout=60, interval=0.1)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool children at once, as when a machine is lost."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        # Pool children left behind by a SIGKILLed parent.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


@dataclass
class FaultStack:
    postgres: PrivatePostgres
    redis: RedisServer
    data: dict[str, Any]
    cleanups: list[Any] = field(default_factory=list)

    def env(self, **extra: Any) -> dict[str, str]:
        """The environment of the app's processes on the private PostgreSQL and Redis."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "VOISINAGE_ENV": "test",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.redis.url,
            "CELERY_RESULT_BACKEND": self.redis.url,
            "CHANNEL_LAYER_PREFIX": "faults",
            "JWT_ACCESS_MINUTES": "240",
            "PUSH_ENABLED": "false",
            "TIME_ZONE": "Europe/Helsinki",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def daphne(self, **extra: Any) -> Daphne:
        server = Daphne(self.redis.url, extra_env=self.env(**extra))
        self.cleanups.append(server.stop)
        return server.start()

    def worker(self, name: str, **extra: Any) -> CeleryWorker:
        worker = CeleryWorker(self.env(LOG_LEVEL="INFO", **extra), name)
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
    postgres = PrivatePostgres()
    redis_server = RedisServer()
    atexit.register(postgres.destroy)  # even if the session dies before its teardown
    atexit.register(redis_server.stop)
    stack: FaultStack | None = None
    try:
        postgres.init().start()
        with postgres.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        redis_server.start()
        stack = FaultStack(postgres, redis_server, {})
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
            f"\n[faults] private PostgreSQL and Redis ready in {time.monotonic() - started:.1f} s"
        )
        yield stack
    finally:
        if stack is not None:
            stack.cleanup()
        redis_server.stop()
        postgres.destroy()
