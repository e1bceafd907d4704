"""The database circuit breaker (backend/database.py) in process: which errors mean "the server is
unreachable", the breaker's states, and the 503 the API answers while it is open. The real outage,
PostgreSQL stopped under load and started again, is tests/faults/test_postgres_restart.py."""

from __future__ import annotations

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout
from rest_framework.test import APIClient

from backend import database
from backend.database import DatabaseCircuit, is_connection_error


def wrapped(cause: BaseException) -> OperationalError:
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (wrapped(psycopg.OperationalError("connection refused")), True),
        (wrapped(PoolTimeout("couldn't get a connection after 3.00 sec")), True),
        (wrapped(pg_errors.AdminShutdown("terminating connection")), True),
        (wrapped(pg_errors.ConnectionFailure("connection failure")), True),
        (InterfaceError("connection already closed"), True),
        (wrapped(pg_errors.QueryCanceled("canceling statement due to statement timeout")), False),
        (wrapped(pg_errors.LockNotAvailable("could not obtain lock")), False),
        (wrapped(pg_errors.SerializationFailure("could not serialize access")), False),
        (IntegrityError("duplicate key"), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_connection_level_errors_count_as_an_outage(error, unreachable):
    assert is_connection_error(error) is unreachable


class Scripted(DatabaseCircuit):
    """A breaker whose probe answers what the test says."""

    def __init__(self, answers: list[bool]) -> None:
        super().__init__()
        self.answers = answers
        self.probes = 0
        self.pool_drops = 0

    def probe(self) -> bool:
        self.probes += 1
        return self.answers.pop(0)

    def _drop_pool(self) -> None:
        self.pool_drops += 1


def test_a_server_that_answers_keeps_the_circuit_closed(settings):
    circuit = Scripted([True])
    assert (
        circuit.report(wrapped(psycopg.OperationalError("server closed the connection"))) is False
    )
    assert not circuit.is_open and circuit.probes == 1 and circuit.pool_drops == 0
    # A failed statement is not even probed for.
    assert circuit.report(wrapped(pg_errors.QueryCanceled("timeout"))) is False
    assert circuit.probes == 1


def test_open_fails_fast_probes_at_most_every_interval_and_closes_when_back(settings):
    settings.DB_PROBE_INTERVAL = 3600
    circuit = Scripted([False, False, True])
    assert circuit.report(wrapped(psycopg.OperationalError("connection refused"))) is True
    assert circuit.is_open and circuit.pool_drops == 1
    # Within the interval: no probe, no database, refused at once.
    assert [circuit.allow() for _ in range(100)] == [False] * 100
    assert circuit.probes == 1
    settings.DB_PROBE_INTERVAL = 0
    assert circuit.allow() is False  # still down
    assert circuit.allow() is True  # back: closed, and the old pool is dropped
    assert not circuit.is_open and circuit.probes == 3 and circuit.pool_drops == 2
    assert circuit.allow() is True and circuit.probes == 3


@pytest.mark.django_db
def test_the_real_probe_reaches_the_test_database():
    assert DatabaseCircuit().probe() is True


@pytest.mark.django_db
def test_while_open_the_api_answers_503_in_the_error_format(
    api_client, user, monkeypatch, settings
):
    settings.DB_PROBE_INTERVAL = 3600
    settings.DB_UNAVAILABLE_RETRY_AFTER = 7
    circuit = Scripted([False])
    monkeypatch.setattr(database, "circuit", circuit)
    circuit.report(wrapped(psycopg.OperationalError("connection refused")))
    api_client.force_authenticate(user)

    response = api_client.get("/api/v1/me")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json() == {
        "code": "database_unavailable",
        "detail": "A service this request needs is unavailable; try again later.",
        "fields": {},
    }
    french = APIClient()  # French unless asked otherwise
    french.force_authenticate(user)
    assert "indisponible" in french.get("/api/v1/me").json()["detail"]
    # Liveness stays up; readiness says the database is down, without waiting for it.
    assert api_client.get("/healthz").status_code == 200
    ready = api_client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
