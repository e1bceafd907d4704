"""Reads on a streaming replica: only those that ask, only while the replica is fit for them.

Every write, and every read that must see the writer's own last write, goes to the primary. A few
costly reads tolerate a second of lag (docs/scaling.md lists them: the nearby search's candidates,
the dashboards, the impact figures, loading the street graph); they ask for an alias here, and
nothing else ever reads from the replica (``backend.db_router`` routes no read on its own).

:func:`replica_or_default` answers ``"replica"`` only when all of these hold, else ``"default"``:

* a replica is configured (``DATABASE_REPLICA_URL``; unset, the answer is always ``"default"``
  and the code path is the same);
* the caller is not inside ``transaction.atomic()`` on the primary (what it wrote there is not
  committed, so no replica has it);
* this request (or Celery task) has not written yet: the router notes every write
  (:func:`note_write`), and a request that wrote reads its own writes from the primary for the rest
  of it (:class:`ReadYourWritesMiddleware`; a Celery task starts afresh too, backend/celery.py);
* the replica answered the last health check: one plain connection
  (``DATABASE_REPLICA_CONNECT_TIMEOUT``) and one query, at most every
  ``DATABASE_REPLICA_CHECK_SECONDS`` per process (the last verdict holds in between, so a replica
  that is down costs the requests nothing), which also measures the lag: WAL received but not yet
  replayed for longer than ``DATABASE_REPLICA_MAX_LAG`` seconds leaves the replica aside until it
  catches up. A change of verdict is logged once.

:func:`on_replica` runs a read on that alias and, when the replica fails under it (its
connection is lost or refused, its pool times out, or a hot standby cancels the query for a
conflict with recovery), runs it again on the primary: the caller gets its answer either way.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

from backend.database import drop_pool, is_connection_error

logger = logging.getLogger(__name__)

REPLICA = "replica"
T = TypeVar("T")

# "canceling statement due to conflict with recovery": a hot standby cancels a query whose rows
# the primary's vacuum removed; the primary answers it.
_RECOVERY_CONFLICT = "40001"

# How far behind the replica is, in seconds: 0 when it has replayed all the WAL it received (or is
# no standby at all); NULL (unknown, so unfit) when it never streamed or replayed nothing yet.
LAG_SQL = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() IS NULL THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
    END
"""


# --- read-your-own-writes -------------------------------------------------------------------------

_wrote: ContextVar[bool] = ContextVar("voisinage_wrote_to_primary", default=False)


def note_write() -> None:
    """The current request or task writes to the primary (called by the router on every write):
    its later reads stay on the primary."""
    if not _wrote.get():
        _wrote.set(True)


def wrote_to_primary() -> bool:
    return _wrote.get()


def forget_writes() -> None:
    """A new task starts (a Celery worker's thread runs one task after the other)."""
    _wrote.set(False)


@contextlib.contextmanager
def fresh_scope() -> Iterator[None]:
    """A request or task of its own: no write noted at the start, and the noting forgotten at the
    end (a thread that serves several requests, as WSGI and the test client do, starts each one
    afresh)."""
    token = _wrote.set(False)
    try:
        yield
    finally:
        _wrote.reset(token)


class ReadYourWritesMiddleware:
    """Each request starts with no write noted (see :func:`fresh_scope`)."""

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
        with fresh_scope():
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        with fresh_scope():
            response: Awaitable[HttpResponse] = self.get_response(request)
            return await response


# --- health ---------------------------------------------------------------------------------------


class ReplicaHealth:
    """Whether the replica may take reads now, checked at most every
    ``DATABASE_REPLICA_CHECK_SECONDS`` per process (see the module's docstring)."""

    def __init__(self, alias: str = REPLICA) -> None:
        self.alias = alias
        self._checking = threading.Lock()
        self.usable = False
        self.reason = "not checked yet"
        self._checked_at: float | None = None

    def reset(self) -> None:
        """Forget the verdict: the next call checks again."""
        self._checked_at = None
        self.usable = False
        self.reason = "not checked yet"

    def is_usable(self) -> bool:
        checked = self._checked_at
        if checked is not None and (
            time.monotonic() - checked < settings.DATABASE_REPLICA_CHECK_SECONDS
        ):
            return self.usable
        if not self._checking.acquire(blocking=False):
            return self.usable  # another thread is checking: the last verdict meanwhile
        try:
            self._verdict(*self.check())
        finally:
            self._checking.release()
        return self.usable

    def check(self) -> tuple[bool, str]:
        """One plain connection (not through the pool) with a short timeout, and the lag."""
        wrapper = connections[self.alias]
        params = dict(wrapper.get_connection_params())
        params.pop("pool", None)
        params["connect_timeout"] = max(1, settings.DATABASE_REPLICA_CONNECT_TIMEOUT)
        try:
            conn = wrapper.Database.connect(**params)  # type: ignore[attr-defined]
        except Exception as error:
            return False, f"unreachable ({type(error).__name__})"
        try:
            row = conn.execute(LAG_SQL).fetchone()
        except Exception as error:
            return False, f"failed its check ({type(error).__name__})"
        finally:
            conn.close()
        lag = None if row is None or row[0] is None else float(row[0])
        max_lag = settings.DATABASE_REPLICA_MAX_LAG
        if max_lag <= 0:
            return True, "up"
        if lag is None:
            return False, "not streaming from its primary (lag unknown)"
        if lag > max_lag:
            return False, f"{lag:.1f} s behind its primary (DATABASE_REPLICA_MAX_LAG={max_lag:g})"
        return True, "up"

    def report(self, error: BaseException) -> None:
        """A read on the replica failed with a connection-level ``error``: check at once; if the
        replica does not answer, leave it aside until the next check, and forget its pool (its
        connections are dead; a new pool opens when it is back)."""
        if not self._checking.acquire(blocking=False):
            return  # another thread is deciding right now
        try:
            usable, reason = self.check()
            if not usable:
                self._verdict(False, f"{reason} after {type(error.__cause__ or error).__name__}")
                drop_pool(self.alias)
        finally:
            self._checking.release()

    def _verdict(self, usable: bool, reason: str) -> None:
        first = self._checked_at is None
        changed = usable != self.usable
        self.usable, self.reason = usable, reason
        self._checked_at = time.monotonic()
        if usable and (changed or first):
            logger.warning("read replica in use: the listed reads go to it")
        elif not usable and (changed or first):
            logger.warning("read replica %s: its reads go to the primary", reason)


health = ReplicaHealth()


# --- the API the reads use ------------------------------------------------------------------------


def replica_or_default() -> str:
    """The alias a read that tolerates a little lag should use now: ``"replica"`` or
    ``"default"`` (see the module's docstring for when)."""
    if not settings.DATABASE_REPLICA_ENABLED:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block or wrote_to_primary():
        return DEFAULT_DB_ALIAS
    return REPLICA if health.is_usable() else DEFAULT_DB_ALIAS


def falls_back(error: BaseException) -> bool:
    """Whether a failed read on the replica should be answered by the primary instead."""
    cause = error.__cause__ or error
    return is_connection_error(error) or getattr(cause, "sqlstate", None) == _RECOVERY_CONFLICT


def on_replica(read: Callable[[str], T]) -> T:
    """``read(alias)`` on :func:`replica_or_default`'s alias; if the replica fails under it, on the
    primary. ``read`` must finish its queries before it returns (evaluate querysets inside)."""
    alias = replica_or_default()
    if alias == DEFAULT_DB_ALIAS:
        return read(alias)
    try:
        return read(alias)
    except Exception as error:
        if not falls_back(error):
            raise
        with contextlib.suppress(Exception):
            connections[alias].close()
        if is_connection_error(error):
            health.report(error)
        logger.info(
            "a read on the replica failed (%s): answered by the primary",
            type(error.__cause__ or error).__name__,
        )
        return read(DEFAULT_DB_ALIAS)
