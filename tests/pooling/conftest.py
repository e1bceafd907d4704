from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from backend.celery import app as celery_app
from tests.pooling.factories import HubFactory, NeighbourhoodFactory


@pytest.fixture(autouse=True)
def _pooling_settings(settings):
    # Plans that do not depend on the machine's speed: a fixed number of solver iterations.
    settings.POOLING_SOLVER_MAX_ITERATIONS = 400
    settings.POOLING_SOLVER_SECONDS = 10.0
    settings.POOLING_BASELINE_SECONDS = 5.0
    settings.PUSH_ENABLED = False
    settings.TIME_ZONE = "Europe/Helsinki"


@pytest.fixture
def eager_tasks():
    """Celery tasks queued by the code run in process, at once (the broker is not involved)."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def hub(street_graph):
    return HubFactory(neighbourhood=NeighbourhoodFactory())


@pytest.fixture
def neighbourhood(hub):
    return hub.neighbourhood


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.credentials(HTTP_ACCEPT_LANGUAGE="en")
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
