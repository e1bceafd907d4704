"""The seeded world the fuzzing runs against, and the schema it fuzzes.

Seeded once per module with the demo (the same services as ``manage.py seed_demo``,
``seed_sharing_demo`` and ``seed_pooling_demo``) inside a transaction that is rolled back at the
end of the module, so the other tests never see it. Each test still runs in its own savepoint.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import strategies as st

from tests.accounts.factories import access_token_for

ACTORS = ["resident", "courier", "staff"]


@dataclass
class World:
    users: dict[str, Any]
    # A merchant's (API key, signing secret), to sign webhooks.
    merchant: tuple[str, str]
    # Real ids by path prefix and parameter name, e.g. ("/api/v1/items/", "id") -> [3, 8, ...]
    ids: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def _ids(queryset: Any, limit: int = 12) -> list[int]:
    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:200])
    random.Random(7).shuffle(ids)
    return sorted(ids[:limit])


def _seed() -> World:
    from accounts.demo import DEMO_VOLUNTEER_EMAIL
    from accounts.models import User
    from neighbourhoods.models import Membership, Neighbourhood
    from notifications.models import Device, Event
    from pooling.models import Batch, Courier, Order, RelayPoint, Route, Stop
    from pooling.services.demo import pooling_demo_seed
    from sharing.models import Conversation, Item, Loan, Offer, Report, WantedRequest
    from sharing.services.demo import sharing_demo_seed
    from tests.notifications.factories import DeviceFactory

    # Fast password hashes (as every test), and a plan that does not wait for the solver's time
    # budget: a fixed number of iterations.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        POOLING_SOLVER_MAX_ITERATIONS=100,
        POOLING_BASELINE_SECONDS=0.05,
        PUSH_ENABLED=False,
    ):
        sharing_demo_seed()
        pooling = pooling_demo_seed(day=timezone.localdate())
    resident = User.objects.get(email="camille@demo.voisinage.fr")
    courier = Courier.objects.select_related("user").order_by("pk").first().user
    staff = User.objects.get(email=DEMO_VOLUNTEER_EMAIL)
    DeviceFactory(user=resident, token="fcm-token-of-camille-0001", platform="android")
    mine = {"resident": resident, "courier": courier, "staff": staff}
    ids = {
        ("/api/v1/items/", "id"): _ids(Item.objects.filter(owner=resident))
        + _ids(Item.objects.exclude(owner=resident)),
        ("/api/v1/loans/", "id"): _ids(Loan.objects.all(), 20),
        ("/api/v1/wanted/", "id"): _ids(WantedRequest.objects.all()),
        ("/api/v1/offers/", "id"): _ids(Offer.objects.all()),
        ("/api/v1/conversations/", "id"): _ids(Conversation.objects.all()),
        ("/api/v1/neighbourhoods/", "id"): _ids(Neighbourhood.objects.all()),
        ("/api/v1/moderation/reports/", "id"): _ids(Report.objects.all()),
        ("/api/v1/moderation/memberships/", "id"): _ids(Membership.objects.all()),
        ("/api/v1/devices/", "device_id"): _ids(Device.objects.all()),
        # An event's id is its seq in its recipient's log: the resident's own.
        ("/api/v1/notifications/", "notification_id"): sorted(
            Event.objects.filter(recipient=resident)
            .order_by("-seq")
            .values_list("seq", flat=True)[:12]
        ),
        ("/api/v1/orders/", "order_id"): _ids(Order.objects.filter(resident=resident))
        + _ids(Order.objects.exclude(resident=resident)),
        ("/api/v1/relay-points/", "relay_point_id"): _ids(RelayPoint.objects.all()),
        ("/api/v1/pooling/batches/", "batch_id"): _ids(Batch.objects.all()),
        ("/api/v1/courier/routes/", "route_id"): _ids(Route.objects.all()),
        ("/api/v1/courier/routes/", "stop_id"): _ids(Stop.objects.all(), 30),
    }
    _name, api_key, secret = pooling.merchants_created[0]
    return World(users=mine, merchant=(api_key, secret), ids=ids)


def ensure_street_graph() -> None:
    """The Helsinki graph, re-imported if a transactional test flushed it (as tests/conftest.py's
    street_graph fixture does, for a module-scoped world)."""
    from geo.models import StreetGraph
    from geo.services import graph_import
    from tests.conftest import HELSINKI_PBF

    if not StreetGraph.objects.filter(is_active=True).exists():
        graph_import(path=HELSINKI_PBF, name="helsinki")
    # This process may still hold the graph of a test that rolled back (module-scoped fixtures
    # run before the per-test GEO_GRAPH_CHECK_SECONDS=0): check the active graph now.
    from django.test import override_settings

    from geo.graph import get_network

    with override_settings(GEO_GRAPH_CHECK_SECONDS=0):
        get_network()


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ensure_street_graph()
            world = _seed()
            REAL_IDS.clear()
            REAL_IDS.update(world.ids)
            yield world
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def in_process_app():
    """The WSGI application, minus the per-request connection recycling: requests run in the
    test's thread, on its connection, inside its transaction (as Django's test client does).
    The geocoders it calls for home addresses are a local fake server (nothing leaves the
    machine)."""
    from backend.wsgi import application
    from tests.accounts.fixtures import PROXY_VARIABLES
    from tests.accounts.geocoder_server import FakeGeocoders

    saved = {name: os.environ.pop(name) for name in PROXY_VARIABLES if name in os.environ}
    geocoders = FakeGeocoders().start()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with override_settings(
            GEOCODER_BAN_DOMAIN=geocoders.domain,
            GEOCODER_BAN_SCHEME="http",
            GEOCODER_NOMINATIM_DOMAIN=geocoders.domain,
            GEOCODER_NOMINATIM_SCHEME="http",
            GEOCODER_TIMEOUT=2.0,
            PUSH_ENABLED=False,
        ):
            yield application
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        geocoders.stop()
        os.environ.update(saved)


def raw_schema() -> dict[str, Any]:
    """The schema /api/schema/ serves (generated in process: no request, no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


# Filled by the fuzz_world fixture; read when Hypothesis draws (after the fixture ran).
REAL_IDS: dict[tuple[str, str], list[int]] = {}


def real_path_parameters(operation: Any, params: dict[str, Any]) -> Any:
    """A strategy: ``params`` as generated, or the same with the ids of real objects."""
    names = [
        (prefix, name)
        for prefix, name in _ID_SOURCES
        if operation.path.startswith(prefix) and "{" + name + "}" in operation.path
    ]
    if not names:
        return st.just(params)
    chosen = {
        name: st.deferred(lambda key=(prefix, name): st.sampled_from(REAL_IDS.get(key) or [1]))
        for prefix, name in names
    }
    return st.one_of(
        st.just(params), st.fixed_dictionaries(chosen).map(lambda ids: {**params, **ids})
    )


_ID_SOURCES = [
    ("/api/v1/items/", "id"),
    ("/api/v1/loans/", "id"),
    ("/api/v1/wanted/", "id"),
    ("/api/v1/offers/", "id"),
    ("/api/v1/conversations/", "id"),
    ("/api/v1/neighbourhoods/", "id"),
    ("/api/v1/moderation/reports/", "id"),
    ("/api/v1/moderation/memberships/", "id"),
    ("/api/v1/devices/", "device_id"),
    ("/api/v1/notifications/", "notification_id"),
    ("/api/v1/orders/", "order_id"),
    ("/api/v1/relay-points/", "relay_point_id"),
    ("/api/v1/pooling/batches/", "batch_id"),
    ("/api/v1/courier/routes/", "route_id"),
    ("/api/v1/courier/routes/", "stop_id"),
]


def natural_actor(path: str) -> str:
    """The actor an operation is made for."""
    if path.startswith("/api/v1/courier/"):
        return "courier"
    if path.startswith(("/api/v1/pooling/", "/api/v1/moderation/")):
        return "staff"
    return "resident"


@pytest.fixture
def actor_headers(fuzz_world) -> dict[str, dict[str, str]]:
    """Bearer tokens of the resident, the courier and the staff member. ``Accept-Encoding:
    identity``: schemathesis's in-process WSGI transport sends the ``requests`` library's default
    (gzip, deflate, br) but reads the answer's bytes as they come, where an HTTP client would
    decode them; compressed answers have their own tests (tests/backend/test_compression.py)."""
    return {
        actor: {
            "Authorization": f"Bearer {access_token_for(user)}",
            "Accept-Language": "en",
            "Accept-Encoding": "identity",
        }
        for actor, user in fuzz_world.users.items()
    }
