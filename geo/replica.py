"""Where a process reads a street graph from: the read replica when there is one fit for it.

Loading a graph is the largest read of all (once per process and graph), and the graph of an
import that committed a moment ago may not have reached the replica yet: a process that learnt on
the primary which graph is active (``graph_id``) loads it from the replica, and loads it from the
primary when the replica has another graph active, or none (it has not replayed the import yet),
or fails (``backend.replicas.on_replica``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from django.db import DEFAULT_DB_ALIAS

from backend.replicas import on_replica


class _Graph(Protocol):
    @property
    def graph_id(self) -> int: ...


G = TypeVar("G", bound=_Graph)


def load_on_replica(load: Callable[[str], G | None], graph_id: int) -> G | None:
    """``load(alias)`` on the read replica if fit, and again on the primary if what the replica
    holds is not graph ``graph_id`` yet."""

    def read(using: str) -> G | None:
        loaded = load(using)
        if using != DEFAULT_DB_ALIAS and (loaded is None or loaded.graph_id != graph_id):
            return load(DEFAULT_DB_ALIAS)  # the replica is behind the import
        return loaded

    return on_replica(read)
