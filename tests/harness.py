"""Real processes for the tests and the benchmarks, written once: a private ``redis-server``, Daphne,
a Celery worker, ``make serve``'s whole stack, a private PostgreSQL cluster and a streaming replica
of a running one.

Each one picks a free port, starts, waits until it answers (and says what it logged if it exits
or does not answer in time), and stops. They are context managers (``with RedisServer() as
redis: ...``) or plain objects (``start()``, ``stop()``). Importing it imports neither Django nor
pytest: the benchmarks (``python -m benchmarks.X`` from the repository's root) use it as the tests
do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class HarnessError(RuntimeError):
    """A process of the harness did not start, or a condition was not met in time."""


def free_port() -> int:
    """A TCP port nobody listens on at this moment (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Polls ``predicate`` until it returns something truthy, and returns it; raises
    :class:`HarnessError` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError(f"{what or 'condition'} not met within {timeout} s")
        time.sleep(interval)


def app_env(
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    **extra: Any,
) -> dict[str, str]:
    """The environment of the app's own processes (Daphne, Celery): this one's, with the project's
    settings, the given database and Redis (the Celery broker and results on that Redis too), tasks
    sent to the broker rather than run in place, and ``extra`` on top."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "PYTHONUNBUFFERED": "1"}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if redis_url is not None:
        env.update(
            REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url, CELERY_RESULT_BACKEND=redis_url
        )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def django_database_url() -> str:
    """The URL of the database Django uses in this process (inside a test: the test database),
    for the processes it starts."""
    from django.db import connection

    cfg = connection.settings_dict
    user = cfg.get("USER") or "postgres"
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    host = cfg.get("HOST") or "127.0.0.1"
    port = cfg.get("PORT") or 5432
    return f"postgis://{user}{password}@{host}:{port}/{cfg['NAME']}"


class Process:
    """A child process whose output goes to a log file; ``ready()`` says when it serves.

    ``group=True`` starts it in a process group of its own, so that stopping it stops its children
    too (a Celery worker's pool)."""

    name = "process"
    start_timeout = 30.0

    def __init__(
        self,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        log: Path | None = None,
        group: bool = False,
    ) -> None:
        self.argv = argv
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.group = group
        self.own_log = log is None
        if log is None:
            fd, path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            os.close(fd)
            log = Path(path)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    # --- life ---------------------------------------------------------------------------------

    def ready(self) -> bool:
        return True

    def start(self) -> Self:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.group,
            )
        self.wait_ready(self.start_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        def answers() -> bool:
            if not self.running:
                raise HarnessError(f"{self.name} exited:\n{self.output()}")
            return self.ready()

        try:
            wait_until(answers, timeout=timeout, interval=0.05, what=f"{self.name} ready")
        except HarnessError as error:
            self.stop()
            raise HarnessError(f"{error}\n--- {self.name} output ---\n{self.output()}") from None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            if self.group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL (to the whole group, if it has one), as when a machine is lost."""
        if self.process is not None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; a stopped process can start again."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.group:  # children left behind by a parent that was killed
            self._signal(signal.SIGKILL)
        self.process = None

    def output(self, tail: int | None = None) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-tail:] if tail else text

    def remove(self) -> None:
        """Stops it and deletes its log (unless the log was given)."""
        self.stop()
        if self.own_log:
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()


class RedisServer(Process):
    """A ``redis-server`` of our own on a free port, without persistence: it can be stopped (or
    killed: it keeps nothing) and started again on the same port."""

    name = "redis"
    start_timeout = 10.0

    def __init__(self, *options: str, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        super().__init__(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", *options],
            log=log,
        )  # fmt: skip

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:  # nothing to flush: no need to ask it nicely
            self.kill()
            self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


class Daphne(Process):
    """``daphne backend.asgi:application`` on a free port; ready when ``ready_path`` answers 200.
    ``env`` is the app's environment (see :func:`app_env`)."""

    name = "daphne"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        options: tuple[str, ...] = (),
        ready_path: str = "/healthz",
        start_timeout: float = 30.0,
        log: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        super().__init__(
            [str(BIN / "daphne"), *options, "-b", "127.0.0.1", "-p", str(self.port),
             "backend.asgi:application"],
            env=env,
            log=log,
        )  # fmt: skip

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        return answers_ok(f"{self.http}{self.ready_path}")

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """An HTTP request to this Daphne; returns the status and the JSON body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.http}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept-Language", "en")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


class CeleryWorker(Process):
    """``celery -A backend worker`` in a process group of its own (its pool children stop with
    it). With ``ready_timeout`` (and a log level that says so: INFO or DEBUG), ``start()`` waits
    for the worker's "ready." line; ``beat`` runs the scheduler inside it (``-B``)."""

    name = "celery"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        hostname: str | None = None,
        pool: str = "prefork",
        concurrency: int = 1,
        loglevel: str = "INFO",
        beat: bool = False,
        options: tuple[str, ...] = ("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ready_timeout: float | None = 60.0,
        log: Path | None = None,
    ) -> None:
        argv = [str(BIN / "celery"), "-A", "backend", "worker", "-l", loglevel, "--pool", pool]
        if pool != "solo":
            argv += ["--concurrency", str(concurrency)]
        if hostname:
            argv += ["-n", hostname]
        self.schedule_dir: Path | None = None
        if beat:
            self.schedule_dir = Path(tempfile.mkdtemp(prefix="celery-beat-"))
            argv += ["-B", "-s", str(self.schedule_dir / "beat-schedule")]
        super().__init__([*argv, *options], env=env, log=log, group=True)
        self.ready_timeout = ready_timeout

    def start(self) -> Self:
        if self.ready_timeout is None:
            self.start_timeout = 0.0
        else:
            self.start_timeout = self.ready_timeout
        return super().start()

    def ready(self) -> bool:
        return self.ready_timeout is None or " ready." in self.output()

    def remove(self) -> None:
        super().remove()
        if self.schedule_dir is not None:
            shutil.rmtree(self.schedule_dir, ignore_errors=True)


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``, from /proc (each task's ``children``)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        for task in Path(f"/proc/{stack.pop()}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


def answers_ok(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (http to ourselves)
            return bool(answer.status == 200)
    except OSError:
        return False


class ServeStack(Process):
    """``make serve``'s stack as ``make run`` starts it (``.ci/serve.sh 127.0.0.1 PORT``: Daphne,
    and a Celery worker with beat in a thread), in a process group of its own, with ``env``
    (``app_env``: give it its own ``CELERY_LOG`` and ``CELERY_SCHEDULE``); ready when Daphne's
    ``/healthz`` answers. Stopping it stops all of it, the worker's threads and beat included."""

    name = "serve"
    start_timeout = 120.0

    def __init__(self, env: Mapping[str, str], *, port: int = 0, log: Path | None = None) -> None:
        self.port = port or free_port()
        argv = ["bash", ".ci/serve.sh", "127.0.0.1", str(self.port)]
        super().__init__(argv, env=env, log=log, group=True)

    def ready(self) -> bool:
        return answers_ok(f"http://127.0.0.1:{self.port}/healthz")

    def stop(self, timeout: float = 20.0) -> None:
        super().stop(timeout)


def postgres_bindir() -> Path:
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
    raise HarnessError(
        "A private PostgreSQL needs the server binaries (initdb, pg_ctl) of a major with PostGIS "
        "under /usr/lib/postgresql/<major>/bin. `make test` installs them through "
        ".ci/system-deps.sh (postgresql-<major> and postgresql-<major>-postgis-3)."
    )


# How long a standby may take to open for reads (StreamingReplica.start).
STANDBY_READY_SECONDS = 300.0


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary folder (trust authentication, a free port,
    no fsync), with one database ``dbname``; tests stop it and start it again. ``with`` creates
    and starts it, and removes it at the end."""

    def __init__(self, dbname: str) -> None:
        self.bindir = postgres_bindir()
        self.dbname = dbname
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="voisinage-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        # The server refuses to run as root: it runs as the postgres system user then.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, user=self.user)
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.dir,
        )

    def init(self) -> Self:
        done = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        return self

    def server_options(self) -> str:
        return (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=100"
        )

    def start(self) -> Self:
        options = self.server_options()
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60",
            "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(
                f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}"
            )
        return self

    def create_database(self) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connect(self, dbname: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname or self.dbname,
            autocommit=True,
        )

    def destroy(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.init().start().create_database()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class StreamingReplica(PrivatePostgres):
    """A hot standby of a running PostgreSQL cluster (the tests' own, by default the one at
    127.0.0.1:5432): ``pg_basebackup -R`` into a temporary folder, then started on a free port as
    the postgres system user when run as root. It streams from its primary (without a replication
    slot: nothing is left behind on the primary if the session dies), and tests stop it and start
    it again. ``with`` creates, starts and waits for it; it is removed at the end.

    The primary must accept a *replication* connection from 127.0.0.1 for ``user``:
    ``make system`` (.ci/system-deps.sh) allows it on a local cluster that refuses it."""

    def __init__(
        self, dbname: str, *, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres"
    ) -> None:
        self.primary = {"host": host, "port": port, "user": user}
        super().__init__(dbname)
        self.bindir = self._primary_bindir()

    def _primary(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(**self.primary, dbname=dbname, autocommit=True, connect_timeout=5)

    def _primary_bindir(self) -> Path:
        """The server binaries of the primary's major (a standby must run the same)."""
        with self._primary() as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        bindir = Path(f"/usr/lib/postgresql/{version // 10000}/bin")
        if not (bindir / "pg_basebackup").exists() or not (bindir / "pg_ctl").exists():
            raise HarnessError(
                f"A replica of the PostgreSQL at {self.primary['host']}:{self.primary['port']} "
                f"needs its server binaries (pg_basebackup, pg_ctl) in {bindir}."
            )
        return bindir

    def check_primary(self) -> dict[str, str]:
        """What a standby must copy from its primary; a clear error when the primary cannot
        feed a streaming replica."""
        names = (
            "wal_level",
            "max_wal_senders",
            "max_connections",
            "max_worker_processes",
            "max_prepared_transactions",
            "max_locks_per_transaction",
        )
        with self._primary() as conn:
            values = {
                name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # names above only
                for name in names
            }
        if values["wal_level"] not in ("replica", "logical") or int(values["max_wal_senders"]) < 1:
            raise HarnessError(
                "A streaming replica needs wal_level=replica (or logical) and max_wal_senders > 0 "
                f"on its primary; it has wal_level={values['wal_level']}, "
                f"max_wal_senders={values['max_wal_senders']}."
            )
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                f"host={self.primary['host']} port={self.primary['port']} "
                f"user={self.primary['user']} dbname=postgres replication=true",
                "-tAc",
                "IDENTIFY_SYSTEM",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise HarnessError(
                f"The PostgreSQL at {self.primary['host']}:{self.primary['port']} refuses a "
                f"replication connection for {self.primary['user']}: {done.stderr.strip()}\n"
                "Run `make system` (.ci/system-deps.sh adds 'host replication <user> "
                "127.0.0.1/32 trust' to a local cluster's pg_hba.conf), or allow it yourself."
            )
        return values

    def init(self) -> Self:
        primary = self.check_primary()
        done = self._run(
            "pg_basebackup", "-h", str(self.primary["host"]), "-p", str(self.primary["port"]),
            "-U", str(self.primary["user"]), "-D", str(self.data), "-R", "-X", "stream",
            "-c", "fast", "--no-sync", "--no-manifest",
            timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(f"pg_basebackup failed:\n{done.stdout}\n{done.stderr}")
        # A cluster packaged by Debian keeps its configuration outside its data folder: the
        # standby gets files of its own (the settings a standby must not have below its primary's
        # come from the primary).
        copied = "\n".join(
            f"{name} = {primary[name]}" for name in sorted(primary) if name != "wal_level"
        )
        (self.data / "postgresql.conf").write_text(
            f"hot_standby = on\nhot_standby_feedback = on\nwal_receiver_status_interval = 1s\n"
            f"shared_buffers = 32MB\n{copied}\n"
        )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        (self.data / "pg_ident.conf").write_text("")
        if self.user:
            for path in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                shutil.chown(self.data / path, user=self.user)
        return self

    def server_options(self) -> str:
        return (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )

    def create_database(self) -> None:
        """A standby's databases are its primary's."""

    def start(self, timeout: float = STANDBY_READY_SECONDS) -> Self:
        """Starts the standby and waits until it takes read-only connections.

        A hot standby opens once it has replayed a snapshot of the primary's running
        transactions that it can use: none that a transaction with over 64 subtransactions
        (PostgreSQL's "subxid overflow") makes incomplete, or one taken after those transactions
        ended. The primary writes such a snapshot at each checkpoint and every 15 s; one is
        asked for every few seconds here. A test module that keeps one transaction open across
        its tests, with a savepoint per request, makes such a transaction: those modules run on
        the replica tests' worker (tests/conftest.py ``SHARES_THE_REPLICAS_WORKER``), never while
        a standby starts."""
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-o", self.server_options(), "-l", str(self.log),
            "-W", "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise HarnessError(
                f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}"
            )
        started = time.monotonic()
        deadline = started + timeout
        snapshot_asked = started
        while not self.answers():
            if time.monotonic() - started > 2 and not (self.data / "postmaster.pid").exists():
                raise HarnessError(f"The standby stopped:\n{self.server_log()[-4000:]}")
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"The standby took no connection within {timeout:.0f} s; is a transaction "
                    "with over 64 subtransactions open on the primary all along?\n"
                    f"{self.server_log()[-4000:]}"
                )
            if time.monotonic() - snapshot_asked > 3:
                with self._primary() as conn:
                    conn.execute("CHECKPOINT")  # writes a snapshot of the running transactions
                snapshot_asked = time.monotonic()
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        try:
            with self.connect("postgres") as conn:
                conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def primary_lsn(self) -> str:
        with self._primary() as conn:
            return str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])

    def replayed(self, lsn: str) -> bool:
        """Whether the standby has replayed the primary's WAL up to ``lsn``."""
        try:
            with self.connect("postgres") as conn:
                row = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
                ).fetchone()
        except Exception:
            return False
        return bool(row and row[0])

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Until what the primary has written so far is visible on the standby."""
        lsn = self.primary_lsn()
        wait_until(lambda: self.replayed(lsn), timeout=timeout, what=f"replica replayed {lsn}")

    def __enter__(self) -> Self:
        try:
            self.init().start()
            self.wait_replayed(timeout=60)
        except BaseException:
            self.destroy()
            raise
        return self
