from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _pooling_settings(settings):
    # Plans that do not depend on the machine's speed: a fixed number of solver iterations.
    settings.POOLING_SOLVER_MAX_ITERATIONS = 400
    settings.POOLING_SOLVER_SECONDS = 10.0
    settings.POOLING_BASELINE_SECONDS = 5.0
    settings.PUSH_ENABLED = False
    settings.TIME_ZONE = "Europe/Helsinki"


@pytest.fixture
def neighbourhood(hub):
    """Here, the neighbourhood of the hub (elsewhere, tests/neighbourhoods/fixtures.py's)."""
    return hub.neighbourhood
