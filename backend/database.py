"""The database is down: fail fast with a 503, and come back on our own.

Without this, a request that arrives while PostgreSQL is unreachable waits in the connection pool
(psycopg_pool) for a connection the pool is trying, with a growing backoff, to open; and once the
server is back, the pool's next attempt may still be seconds away.

So each process keeps a small circuit breaker:

* **closed** (normal): requests go to the database through the pool.
* A request that fails with a *connection-level* error (the server closed the connection, refused
  it, the pool timed out; not a constraint, a lock or a statement timeout) checks the server at
  once with one plain connection (``DB_PROBE_TIMEOUT``). If the server answers, nothing changes
  (a stale pooled connection or a busy pool); if not, the circuit **opens**: the pool is closed
  (its broken connections and its backoff go with it).
* **open**: requests that need the database are answered at once with a 503 in the API's error
  format, with ``Retry-After`` (:class:`DatabaseUnavailableMiddleware`), without touching the
  pool. At most every ``DB_PROBE_INTERVAL`` seconds one request probes the server; the first probe
  that connects closes the circuit, and the next request opens a fresh pool.

The state is per process (each Daphne or Celery process finds out on its own); ``/readyz`` reports
it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from backend.errors import UnavailableError, error_body

logger = logging.getLogger(__name__)

# SQLSTATE classes and codes that mean "no usable connection" rather than "this statement failed".
_CONNECTION_SQLSTATES = ("08",)  # connection exception
_SHUTDOWN_SQLSTATES = {"57P01", "57P02", "57P03"}  # admin / crash shutdown, cannot connect now


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (as opposed to a failed statement)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        # psycopg's own errors (a pool timeout raised outside Django's wrapper).
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency
            return False
        if not isinstance(exc, psycopg.OperationalError):
            return False
        cause: BaseException | None = exc
    else:
        cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # Raised by the client library: connection refused, closed, lost, pool timeout.
        return True
    return sqlstate.startswith(_CONNECTION_SQLSTATES) or sqlstate in _SHUTDOWN_SQLSTATES


class DatabaseCircuit:
    """Per-process breaker for one database alias (see the module's docstring)."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self.down_since: float | None = None
        self._last_probe = 0.0

    # --- state ----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    def allow(self) -> bool:
        """Whether a request may use the database now. Closed: yes. Open: only if this call's
        probe (at most one per ``DB_PROBE_INTERVAL`` in the process) finds the server back."""
        if self.down_since is None:
            return True
        now = time.monotonic()
        if now - self._last_probe < settings.DB_PROBE_INTERVAL:
            return False
        if not self._probing.acquire(blocking=False):
            return False  # another thread is probing: do not queue behind it
        try:
            if self.down_since is None:
                return True
            self._last_probe = time.monotonic()
            if self.probe():
                self._close()
                return True
            return False
        finally:
            self._probing.release()

    def report(self, exc: BaseException) -> bool:
        """A request failed with ``exc``. Returns whether the database is unreachable (the
        circuit is open after this call)."""
        if not is_connection_error(exc):
            return False
        if self.down_since is not None:
            return True
        if not self._probing.acquire(blocking=False):
            # Another thread is checking right now: count this failure as an outage.
            return True
        try:
            if self.down_since is not None:
                return True
            self._last_probe = time.monotonic()
            if self.probe():
                return False  # a stale connection or a busy pool: the server answers
            self._open(exc)
            return True
        finally:
            self._probing.release()

    def _open(self, exc: BaseException) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        logger.warning(
            "database %s unreachable (%s): answering 503 until it is back",
            self.alias,
            type(exc.__cause__ or exc).__name__,
        )
        self._drop_pool()

    def _close(self) -> None:
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            logger.warning(
                "database %s reachable again after %.1f s", self.alias, time.monotonic() - since
            )
        # Connections opened before the outage are dead; a new pool opens on the next request.
        self._drop_pool()

    # --- the server and the pool ------------------------------------------------------------------

    def probe(self) -> bool:
        """One plain connection with a short timeout (not through the pool)."""
        wrapper = connections[self.alias]
        params = dict(wrapper.get_connection_params())
        timeout = settings.DB_PROBE_TIMEOUT
        params["connect_timeout"] = max(
            1, min(int(params.get("connect_timeout") or timeout), timeout)
        )
        try:
            conn = wrapper.Database.connect(**params)  # type: ignore[attr-defined]
        except Exception:
            return False
        try:
            conn.execute("SELECT 1")
            return True
        except Exception:
            return False
        finally:
            conn.close()

    def _drop_pool(self) -> None:
        drop_pool(self.alias)


def drop_pool(alias: str) -> None:
    """Forgets the process's pool of ``alias`` (Django opens a new one when it next needs a
    connection) and closes the old one in the background (closing waits for its workers)."""
    wrapper = connections[alias]
    pools: dict[str, Any] = getattr(type(wrapper), "_connection_pools", {})
    pool = pools.pop(alias, None)
    if pool is None:
        return
    threading.Thread(target=_close_quietly, args=(pool,), name="db-pool-close", daemon=True).start()


def _close_quietly(pool: Any) -> None:
    try:
        pool.close(timeout=5.0)
    except Exception:  # a pool that cannot close cleanly is garbage anyway
        logger.debug("closing the old database pool failed", exc_info=True)


circuit = DatabaseCircuit()


# --- HTTP ------------------------------------------------------------------------------------------


def unavailable_response() -> JsonResponse:
    """The API's error format, in the request's language, with ``Retry-After``."""
    response = JsonResponse(
        error_body("database_unavailable", UnavailableError.default_message), status=503
    )
    response["Retry-After"] = str(settings.DB_UNAVAILABLE_RETRY_AFTER)
    return response


# Paths answered without the database check: liveness (the process is alive) and readiness
# (which reports the circuit itself).
_EXEMPT = ("/healthz", "/readyz")


class DatabaseUnavailableMiddleware:
    """Answers 503 at once while the circuit is open; turns a connection-level database error
    raised by a view outside DRF into the same 503 (DRF views go through
    ``backend.error_handlers.exception_handler``, which reports to the circuit too)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if circuit.is_open and not request.path.startswith(_EXEMPT) and not circuit.allow():
            return unavailable_response()
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if circuit.is_open and not request.path.startswith(_EXEMPT):
            # The probe connects (up to DB_PROBE_TIMEOUT): off the event loop.
            allowed = await sync_to_async(circuit.allow, thread_sensitive=False)()
            if not allowed:
                return unavailable_response()
        response: Awaitable[HttpResponse] = self.get_response(request)
        return await response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError) and circuit.report(exception):
            return unavailable_response()
        return None
