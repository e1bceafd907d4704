"""What every benchmark needs: a database of its own and percentiles (the processes it starts, and
their free ports, come from tests/harness.py)."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "postgis://postgres@127.0.0.1:5432/voisinage"


def bench_database(name: str, url: str | None = None) -> str:
    """The URL of the database ``name`` on the server of ``url`` (else ``DATABASE_URL``, else the
    project's default), created if missing; also set as ``DATABASE_URL`` for this process and
    the ones it starts. A benchmark's data never mixes with the development database."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    host, port = cfg.get("HOST") or "127.0.0.1", int(cfg.get("PORT") or 5432)
    user, password = cfg.get("USER") or "postgres", cfg.get("PASSWORD") or ""
    with psycopg.connect(
        host=host, port=port, user=user, password=password or None, dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    auth = f"{user}:{password}" if password else user
    bench_url = f"postgis://{auth}@{host}:{port}/{name}"
    os.environ["DATABASE_URL"] = bench_url
    return bench_url


def bench_database_drop(name: str, url: str | None = None) -> None:
    """Drops the database ``name`` (a run's own, made by :func:`bench_database`) on the server
    of ``url``; connections still open to it are closed first."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url or DEFAULT_DATABASE_URL)
    with psycopg.connect(
        host=cfg.get("HOST") or "127.0.0.1", port=int(cfg.get("PORT") or 5432),
        user=cfg.get("USER") or "postgres", password=cfg.get("PASSWORD") or None,
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile, linearly interpolated; 0.0 for nothing measured."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
