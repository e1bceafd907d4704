"""Fixtures of the pooling tests, for every test (registered by tests/conftest.py)."""

from __future__ import annotations

import pytest

from pooling.models import Hub
from tests.pooling.factories import HubFactory


@pytest.fixture
def hub(street_graph) -> Hub:
    """A hub with a neighbourhood of its own (tests/pooling's ``neighbourhood`` is that one)."""
    return HubFactory()
