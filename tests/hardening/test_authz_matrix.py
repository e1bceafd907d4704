"""The authorization matrix of the whole API, generated from the URL configuration.

Every /api/v1/ endpoint and method (and every action of the action endpoints) has an entry in
MATRIX with the answer expected for each actor:

- ``anonymous``: no token;
- ``other``: a resident of the same neighbourhood with no part in the object;
- ``owner``: the one whose object or turn it is (the entry names which resident that is);
- ``courier``: a courier of the neighbourhood's hub (not the one of the round);
- ``staff``: a volunteer of the association that runs the neighbourhood;
- ``elsewhere``: a volunteer of another association.

Each call runs in its own savepoint over one seeded world. A refused call (401, 403, 404) must
also have written nothing to the database. ``test_every_endpoint_has_an_entry`` fails when an
endpoint, a method or an action appears in the URL configuration without its entry.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from PIL import Image
from psycopg.types.range import Range
from rest_framework.test import APIClient

from accounts.models import DataExport, User
from accounts.services.sessions import session_start
from neighbourhoods.models import Membership
from notifications.models import EventStream
from pooling.models import Assignment, Batch, Route
from pooling.planning.pipeline import batch_plan
from pooling.services.places import merchant_create
from pooling.webhooks import signature_of
from sharing.apis import LOAN_ACTIONS
from sharing.apis_community import MEMBERSHIP_ACTIONS, OFFER_ACTIONS, REPORT_ACTIONS
from sharing.models import Conversation, Loan
from sharing.services import loans as loan_services
from sharing.services.items import item_block, item_create, item_photo_add
from sharing.services.trust import report_create
from sharing.services.wanted import offer_create, wanted_create
from tests.accounts.factories import UserFactory, access_token_for, refresh_token_for
from tests.conftest import SHARES_THE_REPLICAS_WORKER
from tests.hardening.world import ensure_street_graph
from tests.neighbourhoods.factories import (
    AssociationFactory,
    MembershipFactory,
    NeighbourhoodFactory,
    area,
)
from tests.notifications.factories import DeviceFactory
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    HubFactory,
    OrderFactory,
    RelayPointFactory,
    point,
)

# On one pytest-xdist worker: the module's world is built once, in one transaction held across
# the module (on the replica tests' worker: tests/conftest.py).
pytestmark = [SHARES_THE_REPLICAS_WORKER, pytest.mark.django_db]

PASSWORD = "a-long-passphrase-42"
ACTORS = ("anonymous", "other", "owner", "courier", "staff", "elsewhere")
# 200 with an empty page: allowed to ask, sees nothing (another association's volunteer).
EMPTY = -200
# The values an endpoint's <str:action> takes: a new action route needs its line here.
ACTION_VALUES = {
    "api/v1/loans/<int:pk>/<str:action>": LOAN_ACTIONS,
    "api/v1/offers/<int:pk>/<str:action>": OFFER_ACTIONS,
    "api/v1/moderation/reports/<int:pk>/<str:action>": REPORT_ACTIONS,
    "api/v1/moderation/memberships/<int:pk>/<str:action>": MEMBERSHIP_ACTIONS,
}


# --- the URL configuration ------------------------------------------------------------------------


def api_endpoints() -> set[tuple[str, str]]:
    """(route, METHOD) for every method of every /api/v1/ view; action routes expanded."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            if not route.startswith("api/v1/"):
                continue
            view = getattr(pattern.callback, "view_class", None) or pattern.callback.cls
            methods = [
                m.upper()
                for m in view.http_method_names
                if m not in ("head", "options", "trace") and hasattr(view, m)
            ]
            routes = [route]
            if "<str:" in route:
                routes = [
                    route.replace("<str:action>", action)
                    for action in ACTION_VALUES.get(route, ["<unknown action>"])
                ]
            found.update((r, m) for r in routes for m in methods)

    walk(get_resolver().url_patterns, "")
    return found


def entry_key(entry: Entry, world: World | None = None) -> tuple[str, str]:
    path = entry.path.format_map(_AnyId())
    match = resolve(path.split("?")[0])
    route = match.route
    if "action" in match.kwargs:
        route = route.replace("<str:action>", match.kwargs["action"])
    return route, entry.method


class _AnyId(dict):
    def __missing__(self, key: str) -> str:
        return "00000000-0000-0000-0000-000000000001" if key in UUID_IDS else "1"


UUID_IDS = {"export", "session"}


# --- the world --------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def _now_period(hours: int = 0) -> Range:
    start = timezone.now() - timedelta(hours=1)
    return Range(start - timedelta(hours=hours), start + timedelta(days=1, hours=hours), "[)")


def _build() -> World:
    homes = [
        (24.9384, 60.1699),
        (24.9460, 60.1675),
        (24.9410, 60.1710),
        (24.9350, 60.1665),
        (24.9440, 60.1690),
        (24.9500, 60.1700),
        (24.9320, 60.1690),
    ]
    association = AssociationFactory(name="Voisins de Kamppi")
    neighbourhood = NeighbourhoodFactory(
        association=association, name="Kamppi", central=True, join_policy="open"
    )
    far = AssociationFactory(name="Voisins de Kallio")
    NeighbourhoodFactory(association=far, name="Kallio", area=area((24.94, 60.18, 24.96, 60.19)))

    def person(email: str, **fields: Any) -> User:
        return UserFactory(
            **{"email": email, "password": PASSWORD, "display_name": "", "language": "fr", **fields}
        )

    def resident(name: str, home: tuple[float, float], status: str = "active") -> User:
        user = person(
            f"{name}@example.org", display_name=name.capitalize(), home=Point(*home, srid=4326)
        )
        MembershipFactory(user=user, neighbourhood=neighbourhood, status=status)
        return user

    users = {
        "lender": resident("lender", homes[0]),
        "borrower": resident("borrower", homes[1]),
        "other": resident("other", homes[2]),
        "requester": resident("requester", homes[3]),
        "operator": resident("operator", homes[4]),
        "applicant": resident("applicant", homes[5], status="pending"),
    }
    staff = person("staff@example.org")
    association.staff.add(staff)
    elsewhere = person("elsewhere@example.org")
    far.staff.add(elsewhere)
    users["staff"], users["elsewhere"] = staff, elsewhere

    lender, borrower = users["lender"], users["borrower"]
    items = {
        name: item_create(owner=lender, title=title, category="diy")
        for name, title in [
            ("item", "Perceuse à percussion"),
            ("item_requested", "Scie sauteuse"),
            ("item_accepted", "Ponceuse"),
            ("item_active", "Échelle"),
            ("item_returned", "Tondeuse"),
            ("item_closed", "Taille-haie"),
            ("item_offer", "Visseuse"),
        ]
    }
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    end = start + timedelta(days=2)

    def loan(item: str) -> Loan:
        return loan_services.loan_request(
            borrower=borrower, item_id=items[item].pk, starts_at=start, ends_at=end
        )

    requested = loan("item_requested")
    loans = {"loan_requested": requested}
    for state in ("accepted", "active", "returned", "closed"):
        current = loan(f"item_{state}")
        loan_services.loan_accept(actor=lender, loan_id=current.pk)
        Loan.objects.filter(pk=current.pk).update(period=_now_period(), hold=_now_period(2))
        if state != "accepted":
            loan_services.loan_handover(actor=lender, loan_id=current.pk)
            loan_services.loan_handover(actor=borrower, loan_id=current.pk)
        if state in ("returned", "closed"):
            loan_services.loan_return(actor=borrower, loan_id=current.pk)
        if state == "closed":
            loan_services.loan_confirm_return(actor=lender, loan_id=current.pk, condition="fine")
        loans[f"loan_{state}"] = current
    wanted = wanted_create(
        requester=users["requester"], title="Une perceuse", starts_at=start, ends_at=end
    )
    offer = offer_create(
        lender=lender, wanted_id=wanted.pk, item_id=items["item_offer"].pk, message="Je l'ai"
    )
    report = report_create(
        reporter=users["other"], target="item", item_id=items["item"].pk, reason="Arnaque ?"
    )
    device = DeviceFactory(user=borrower, token="fcm-token-0001", platform="android")

    # Pooling: a hub, the round's courier and another one, a relay point, a planned batch.
    hub = HubFactory(neighbourhood=neighbourhood)
    round_courier = CourierFactory(hub=hub, capacity_units=40, capacity_kg=200)
    other_courier = CourierFactory(hub=hub)
    relay = RelayPointFactory(
        neighbourhood=neighbourhood, location=point(*SPOTS[12]), operator=users["operator"]
    )
    order = OrderFactory(resident=borrower, neighbourhood=neighbourhood)
    OrderFactory(resident=users["other"], neighbourhood=neighbourhood)
    OrderFactory(
        resident=users["requester"],
        neighbourhood=neighbourhood,
        receive_mode="relay",
        relay_point=relay,
    )
    batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=DAY)
    with override_settings(POOLING_SOLVER_MAX_ITERATIONS=100, POOLING_BASELINE_SECONDS=0.05):
        batch = batch_plan(batch_id=batch.pk)
    route = Route.objects.select_related("courier__user").get(batch=batch)
    stop = Assignment.objects.get(order=order, released_at__isnull=True).stop
    merchant = merchant_create(name="Librairie")
    users["route_courier"] = route.courier.user
    users["courier"] = (other_courier if route.courier == round_courier else round_courier).user

    # A data export of the lender's, already built (so that asking for another one is allowed).
    data_export = DataExport.objects.create(
        user=lender, status=DataExport.Status.READY, progress=100
    )

    # A signed-in session of the lender's (another than the one each call logs in with).
    session = session_start(user=lender, name="tablet").session

    # The lender's latest event: an id of theirs that no other actor's log has (ids count each
    # person's own events), so that the others' 404 is about whose it is.
    streams = dict(EventStream.objects.values_list("user_id", "last_seq"))
    notification = streams[lender.pk]
    assert all(
        streams.get(user.pk, 0) < notification for name, user in users.items() if name != "lender"
    )

    ids = {
        "export": data_export.pk,
        "notification": notification,
        "session": session.pk,
        **{name: item.pk for name, item in items.items()},
        "item_code": items["item"].code,
        **{name: value.pk for name, value in loans.items()},
        "wanted": wanted.pk,
        "member": lender.pk,
        "photo": item_photo_add(actor=lender, item_id=items["item"].pk, data=_png()).pk,
        "blocked": item_block(
            actor=lender,
            item_id=items["item"].pk,
            starts_at=start + timedelta(days=40),
            ends_at=start + timedelta(days=41),
        ).pk,
        "offer": offer.pk,
        "report": report.pk,
        "pending": Membership.objects.get(user=users["applicant"]).pk,
        "conversation": Conversation.objects.get(loan=requested).pk,
        "device": device.pk,
        "neighbourhood": neighbourhood.pk,
        "order": order.pk,
        "relay": relay.pk,
        "batch": batch.pk,
        "route": route.pk,
        "stop": stop.pk,
    }
    extra = {
        "merchant": merchant,
        "delivery_code": order.delivery_code,
        "start": start,
        "end": end,
    }
    return World(users=users, ids=ids, extra=extra)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ensure_street_graph()
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                PUSH_ENABLED=False,
            ):
                yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- the matrix -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    method: str
    path: str  # with {ids} of the world
    owner: str  # which user of the world plays the owner
    expect: dict[str, int]
    body: Any = None  # a dict, or a callable(world) -> dict
    multipart: bool = False
    prepare: Callable[[World], None] | None = None  # run in the savepoint, before the call

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def row(
    anonymous: int = 401,
    other: int = 403,
    owner: int = 200,
    courier: int | None = None,
    staff: int | None = None,
    elsewhere: int | None = None,
) -> dict[str, int]:
    """Expected statuses; courier, staff and elsewhere default to what ``other`` gets."""
    return {
        "anonymous": anonymous,
        "other": other,
        "owner": owner,
        "courier": other if courier is None else courier,
        "staff": other if staff is None else staff,
        "elsewhere": other if elsewhere is None else elsewhere,
    }


def members(status: int) -> dict[str, int]:
    """Residents of the neighbourhood may; outsiders (not members) get 403 not_a_member."""
    return row(other=status, owner=status, courier=403, staff=403, elsewhere=403)


def everyone(status: int, anonymous: int = 401) -> dict[str, int]:
    return row(anonymous=anonymous, other=status, owner=status)


def _iso(world: World, key: str, days: int = 0) -> str:
    return (world.extra[key] + timedelta(days=days)).isoformat()


def _webhook(world: World) -> dict[str, Any]:
    return {
        "resident_email": "borrower@example.org",
        "expected_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "parcels": [{"size": "s", "weight": "light"}],
    }


def _start_route(world: World) -> None:
    from pooling.services.couriers import route_start

    route_start(actor=world.users["route_courier"], route_id=world.ids["route"])


def _on_duty(world: World) -> None:
    from pooling.models import Courier

    Courier.objects.filter(user__in=[world.users["route_courier"], world.users["courier"]]).update(
        on_duty=True
    )


def _left_at_relay(world: World) -> None:
    """A parcel of the requester's left at the relay point by a courier: it waits for them."""
    from pooling.models import Assignment, Order, RelayPoint, Route, Stop

    relay = RelayPoint.objects.get(pk=world.ids["relay"])
    route = Route.objects.get(pk=world.ids["route"])
    order = Order.objects.get(resident=world.users["requester"])
    now = timezone.now()
    Assignment.objects.filter(order=order, released_at__isnull=True).delete()
    stop = Stop.objects.create(
        route=route,
        position=route.stops.count() + 1,
        kind="relay",
        relay_point=relay,
        location=relay.location,
        window_start=now - timedelta(hours=1),
        window_end=now,
        service_seconds=120,
        eta=now,
        planned_arrival=now,
        meters_from_previous=100,
        seconds_from_previous=60,
        load_units=1,
        load_kg=1,
        status="delivered",
        proof="code",
        done_at=now,
        action_at=now,
    )
    Assignment.objects.create(
        batch=route.batch,
        order=order,
        stop=stop,
        drop_kind="relay",
        relay_point=relay,
        outcome="delivered",
    )
    Order.objects.filter(pk=order.pk).update(status="awaiting_pickup", pickup_code="424242")


def _pickup(world: World) -> dict[str, Any]:
    from pooling.models import Order

    waiting = Order.objects.filter(status="awaiting_pickup", relay_point_id=world.ids["relay"])
    order = waiting.first()
    if order is None:  # a body built before the parcel was left there (hostile inputs)
        return {"order": world.ids["order"], "code": "000000"}
    return {"order": order.pk, "code": order.pickup_code}


def _ask_renewal(world: World) -> None:
    loan_services.loan_renew(
        actor=world.users["borrower"],
        loan_id=world.ids["loan_active"],
        ends_at=timezone.now() + timedelta(days=2),
    )


def _refresh(world: World) -> dict[str, str]:
    return {"refresh": refresh_token_for(world.users["lender"])}


def _publishing(world: World) -> None:
    """The world's association publishes its figures as open data."""
    from neighbourhoods.models import Association

    Association.objects.filter(slug="voisins-de-kamppi").update(open_data_publish=True)


WINDOWS = {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}

MATRIX: list[Entry] = [
    # --- accounts: public endpoints answer anyone, the profile is always one's own
    Entry(
        "POST",
        "/api/v1/auth/register",
        "other",
        everyone(202, anonymous=202),
        lambda world: {
            "email": "new@example.org",
            "password": "a-long-passphrase-42",
            "display_name": "N",
            "terms_version": settings.TERMS_VERSION,
            "privacy_version": settings.PRIVACY_VERSION,
        },
    ),
    Entry(
        "POST",
        "/api/v1/auth/token",
        "lender",
        everyone(200, anonymous=200),
        {"email": "lender@example.org", "password": "a-long-passphrase-42"},
    ),
    Entry("POST", "/api/v1/auth/token/refresh", "lender", everyone(200, anonymous=200), _refresh),
    Entry("POST", "/api/v1/auth/logout", "lender", everyone(204), {}),
    # A mailed link's token is the authorization: a made-up one is refused for anyone.
    Entry(
        "POST",
        "/api/v1/auth/email/verify",
        "lender",
        everyone(400, anonymous=400),
        {"token": "x" * 43},
    ),
    Entry(
        "POST",
        "/api/v1/auth/password/reset",
        "lender",
        everyone(202, anonymous=202),
        {"email": "lender@example.org"},
    ),
    Entry(
        "POST",
        "/api/v1/auth/password/reset/confirm",
        "lender",
        everyone(400, anonymous=400),
        {"token": "x" * 43, "password": "another long passphrase 9"},
    ),
    Entry("GET", "/api/v1/legal", "lender", everyone(200, anonymous=200)),
    Entry("GET", "/api/v1/me", "lender", everyone(200)),
    # Each changes their own password or address (the courier has a password of their own).
    Entry(
        "POST",
        "/api/v1/me/password",
        "lender",
        row(other=200, owner=200, courier=400),
        {"current_password": PASSWORD, "new_password": "another long passphrase 9"},
    ),
    Entry(
        "POST",
        "/api/v1/me/email",
        "lender",
        row(other=202, owner=202, courier=400),
        {"email": "brand.new@example.org", "password": PASSWORD},
    ),
    Entry("POST", "/api/v1/me/email/verify/resend", "lender", everyone(202)),
    Entry(
        "POST",
        "/api/v1/me/consents",
        "lender",
        everyone(200),
        lambda world: {
            "terms_version": settings.TERMS_VERSION,
            "privacy_version": settings.PRIVACY_VERSION,
        },
    ),
    Entry("GET", "/api/v1/me/impact", "lender", everyone(200)),
    Entry("GET", "/api/v1/me/sessions", "lender", everyone(200)),
    Entry("DELETE", "/api/v1/me/sessions/{session}", "lender", row(other=404, owner=204)),
    Entry("PATCH", "/api/v1/me", "lender", everyone(200), {"display_name": "Nouveau nom"}),
    # Each deletes their own account: the lender has loans under way (409), the courier a password
    # of their own (403 wrong_password).
    Entry(
        "DELETE",
        "/api/v1/me",
        "lender",
        row(other=204, owner=409, courier=403, staff=204, elsewhere=204),
        {"password": PASSWORD},
    ),
    Entry("POST", "/api/v1/me/export", "lender", everyone(202)),
    Entry("GET", "/api/v1/me/exports/{export}", "lender", row(other=404, owner=200)),
    # The mailed link's token is the authorization: without it, 400 for anyone.
    Entry("GET", "/api/v1/me/exports/{export}/download", "lender", everyone(400, anonymous=400)),
    # --- geo: any signed-in person
    Entry(
        "GET", "/api/v1/geo/route?from=60.1699,24.9384&to=60.1675,24.9460", "lender", everyone(200)
    ),
    Entry("GET", "/api/v1/geo/isochrone?at=60.1699,24.9384&minutes=1", "lender", everyone(200)),
    # Street tiles: OpenStreetMap's data (ODbL), public; bounded zooms and a per-address rate.
    Entry(
        "GET",
        "/api/v1/geo/tiles/streets/15/18654/9484.mvt",
        "lender",
        everyone(200, anonymous=200),
    ),
    Entry(
        "POST",
        "/api/v1/geo/matrix",
        "lender",
        everyone(200),
        {"points": [[24.9384, 60.1699], [24.9460, 60.1675]]},
    ),
    # --- neighbourhoods
    Entry("GET", "/api/v1/neighbourhoods?lat=60.1699&lon=24.9384", "lender", everyone(200)),
    Entry("POST", "/api/v1/neighbourhoods/{neighbourhood}/join", "other", everyone(201), {}),
    # --- items: one's own, and neighbours' within shared neighbourhoods
    Entry("GET", "/api/v1/items/categories", "lender", everyone(200)),
    Entry(
        "GET",
        "/api/v1/items/nearby?at=60.1699,24.9384",
        "borrower",
        members(200),
    ),
    Entry("GET", "/api/v1/items/", "lender", everyone(200)),
    Entry(
        "POST",
        "/api/v1/items/",
        "lender",
        members(201),
        {"title": "Escabeau", "category": "diy"},
    ),
    Entry("GET", "/api/v1/items/{item}", "lender", members(200)),
    # The short code printed on paper: the item as its page shows it, to the same people.
    Entry("GET", "/api/v1/items/by-code/{item_code}", "lender", members(200)),
    Entry(
        "PATCH", "/api/v1/items/{item}", "lender", row(other=403, owner=200), {"title": "Perceuse"}
    ),
    Entry("DELETE", "/api/v1/items/{item}", "lender", row(other=403, owner=200)),
    Entry(
        "POST",
        "/api/v1/items/{item}/photos",
        "lender",
        row(other=403, owner=201),
        lambda world: {"image": SimpleUploadedFile("p.png", _png(), content_type="image/png")},
        multipart=True,
    ),
    Entry(
        "POST",
        "/api/v1/items/{item}/blocked-periods",
        "lender",
        row(other=403, owner=201),
        lambda world: {"starts_at": _iso(world, "start", 20), "ends_at": _iso(world, "start", 21)},
    ),
    Entry("GET", "/api/v1/items/{item}/blocked-periods", "lender", row(other=403, owner=200)),
    Entry("GET", "/api/v1/items/{item}/photos", "lender", members(200)),
    Entry(
        "POST",
        "/api/v1/items/{item}/photos/order",
        "lender",
        row(other=403, owner=200),
        lambda world: {"order": [world.ids["photo"]]},
    ),
    Entry(
        "DELETE",
        "/api/v1/items/{item}/photos/{photo}",
        "lender",
        row(other=403, owner=204),
    ),
    Entry(
        "DELETE",
        "/api/v1/items/{item}/blocked-periods/{blocked}",
        "lender",
        row(other=403, owner=204),
    ),
    # When it is taken, without who: anyone who may borrow it.
    Entry("GET", "/api/v1/items/{item}/availability", "lender", members(200)),
    # --- members: a neighbour's profile (no place), blocking
    Entry(
        "GET",
        "/api/v1/members/{member}",
        "lender",
        row(other=200, owner=200, courier=404, staff=404, elsewhere=404),
    ),
    # Blocking the lender: anyone may (he himself may not block himself).
    Entry(
        "POST",
        "/api/v1/members/{member}/block",
        "lender",
        row(other=201, owner=400),
    ),
    Entry(
        "DELETE",
        "/api/v1/members/{member}/block",
        "lender",
        row(other=404, owner=404),
    ),
    Entry("GET", "/api/v1/me/blocks", "lender", everyone(200)),
    # --- loans: the two parties, each action to the party whose turn it is
    Entry("GET", "/api/v1/loans/", "borrower", everyone(200)),
    Entry(
        "POST",
        "/api/v1/loans/",
        "borrower",
        members(201),
        lambda world: {
            "item": world.ids["item"],
            "starts_at": _iso(world, "start", 10),
            "ends_at": _iso(world, "start", 11),
        },
    ),
    Entry("GET", "/api/v1/loans/{loan_requested}", "borrower", row(other=404, owner=200)),
    Entry("POST", "/api/v1/loans/{loan_requested}/accept", "lender", row(other=403, owner=200), {}),
    Entry(
        "POST", "/api/v1/loans/{loan_requested}/decline", "lender", row(other=403, owner=200), {}
    ),
    Entry(
        "POST", "/api/v1/loans/{loan_requested}/cancel", "borrower", row(other=403, owner=200), {}
    ),
    Entry(
        "POST", "/api/v1/loans/{loan_accepted}/handover", "lender", row(other=403, owner=200), {}
    ),
    Entry("POST", "/api/v1/loans/{loan_active}/return", "borrower", row(other=403, owner=200), {}),
    Entry(
        "POST",
        "/api/v1/loans/{loan_returned}/confirm-return",
        "lender",
        row(other=403, owner=200),
        {"condition": "fine"},
    ),
    Entry(
        "POST",
        "/api/v1/loans/{loan_active}/dispute",
        "lender",
        row(other=403, owner=200),
        {"reason": "Il manque le mandrin."},
    ),
    Entry(
        "POST",
        "/api/v1/loans/{loan_active}/renew",
        "borrower",
        row(other=403, owner=200),
        lambda world: {"ends_at": (timezone.now() + timedelta(days=2)).isoformat()},
    ),
    # The lender answers a renewal the borrower asked for.
    Entry(
        "POST",
        "/api/v1/loans/{loan_active}/renew-accept",
        "lender",
        row(other=403, owner=200),
        {},
        prepare=lambda world: _ask_renewal(world),
    ),
    Entry(
        "POST",
        "/api/v1/loans/{loan_active}/renew-decline",
        "lender",
        row(other=403, owner=200),
        {},
        prepare=lambda world: _ask_renewal(world),
    ),
    # --- wanted requests and offers
    Entry("GET", "/api/v1/wanted/", "requester", everyone(200)),
    Entry(
        "POST",
        "/api/v1/wanted/",
        "requester",
        members(201),
        lambda world: {
            "title": "Un escabeau",
            "starts_at": _iso(world, "start"),
            "ends_at": _iso(world, "end"),
        },
    ),
    Entry("GET", "/api/v1/wanted/inbox", "lender", everyone(200)),
    Entry(
        "GET",
        "/api/v1/wanted/{wanted}",
        "requester",
        row(other=200, owner=200, courier=404, staff=404, elsewhere=404),
    ),
    Entry(
        "DELETE",
        "/api/v1/wanted/{wanted}",
        "requester",
        row(other=403, owner=200, courier=404, staff=404, elsewhere=404),
    ),
    Entry(
        "GET",
        "/api/v1/wanted/{wanted}/matches",
        "requester",
        row(other=403, owner=200, courier=404, staff=404, elsewhere=404),
    ),
    Entry(
        "POST",
        "/api/v1/wanted/{wanted}/offers",
        "lender",
        row(other=403, owner=201),
        lambda world: {"item": world.ids["item"]},
    ),
    Entry("POST", "/api/v1/offers/{offer}/accept", "requester", row(other=403, owner=201), None),
    Entry("POST", "/api/v1/offers/{offer}/decline", "requester", row(other=403, owner=200), None),
    Entry("POST", "/api/v1/offers/{offer}/withdraw", "lender", row(other=403, owner=200), None),
    # --- conversations, ratings, reports
    Entry("GET", "/api/v1/conversations/", "borrower", everyone(200)),
    Entry(
        "GET",
        "/api/v1/conversations/{conversation}/messages",
        "borrower",
        row(other=403, owner=200),
    ),
    Entry(
        "POST",
        "/api/v1/conversations/{conversation}/messages",
        "borrower",
        row(other=403, owner=201),
        {"body": "Bonjour !"},
    ),
    Entry("GET", "/api/v1/ratings/", "borrower", everyone(200)),
    Entry(
        "POST",
        "/api/v1/ratings/",
        "borrower",
        row(other=403, owner=201),
        lambda world: {"loan": world.ids["loan_closed"], "score": 5},
    ),
    Entry(
        "POST",
        "/api/v1/reports/",
        "borrower",
        row(other=409, owner=201, courier=403, staff=403, elsewhere=403),
        lambda world: {"target": "item", "item": world.ids["item"], "reason": "Douteux"},
    ),
    # --- moderation: the association's staff only
    Entry(
        "GET",
        "/api/v1/moderation/reports",
        "other",
        row(other=403, owner=403, staff=200, elsewhere=EMPTY),
    ),
    Entry(
        "POST",
        "/api/v1/moderation/reports/{report}/hide",
        "other",
        row(other=403, owner=403, staff=200),
        {},
    ),
    Entry(
        "POST",
        "/api/v1/moderation/reports/{report}/dismiss",
        "other",
        row(other=403, owner=403, staff=200),
        {},
    ),
    Entry(
        "POST",
        "/api/v1/moderation/reports/{report}/suspend",
        "other",
        row(other=403, owner=403, staff=200),
        {"reason": "Annonce trompeuse"},
    ),
    Entry(
        "GET",
        "/api/v1/moderation/memberships",
        "applicant",
        row(other=403, owner=403, staff=200, elsewhere=EMPTY),
    ),
    Entry(
        "POST",
        "/api/v1/moderation/memberships/{pending}/approve",
        "applicant",
        row(other=403, owner=403, staff=200),
        {},
    ),
    Entry(
        "POST",
        "/api/v1/moderation/memberships/{pending}/refuse",
        "applicant",
        row(other=403, owner=403, staff=200),
        {},
    ),
    Entry(
        "POST",
        "/api/v1/moderation/memberships/{pending}/suspend",
        "applicant",
        row(other=403, owner=403, staff=200),
        {"reason": "Faux profil"},
    ),
    # --- notifications
    Entry("POST", "/api/v1/realtime/ticket", "lender", everyone(201)),
    Entry(
        "POST",
        "/api/v1/devices",
        "lender",
        everyone(201),
        {"platform": "ios", "token": "apns-0002"},
    ),
    Entry("DELETE", "/api/v1/devices/{device}", "borrower", row(other=404, owner=204)),
    # The inbox is always one's own: anyone signed in sees theirs; someone else's id is a 404.
    Entry("GET", "/api/v1/notifications", "lender", everyone(200)),
    Entry("GET", "/api/v1/notifications/unread-count", "lender", everyone(200)),
    Entry("POST", "/api/v1/notifications/{notification}/read", "lender", row(other=404, owner=200)),
    Entry("POST", "/api/v1/notifications/read-all", "lender", everyone(200), {}),
    # --- pooling: the merchant webhook answers a valid key and signature, whoever sends it
    Entry("POST", "/api/v1/merchant/orders", "lender", everyone(201, anonymous=201), _webhook),
    Entry("GET", "/api/v1/orders/", "borrower", everyone(200)),
    Entry(
        "POST",
        "/api/v1/orders/",
        "borrower",
        everyone(201),
        lambda world: {
            "carrier": "Posti",
            "tracking_number": "JJFI0000000042",
            "expected_on": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "parcels": [{"size": "s", "weight": "light"}],
        },
    ),
    Entry("GET", "/api/v1/orders/receiving", "borrower", everyone(200)),
    Entry(
        "PUT",
        "/api/v1/orders/receiving",
        "borrower",
        everyone(200),
        {"mode": "home"},
    ),
    Entry("GET", "/api/v1/orders/{order}", "borrower", row(other=404, owner=200)),
    Entry(
        "PATCH", "/api/v1/orders/{order}", "borrower", row(other=404, owner=200), {"windows": []}
    ),
    Entry("POST", "/api/v1/orders/{order}/cancel", "borrower", row(other=404, owner=200)),
    Entry("GET", "/api/v1/relay-points?near=60.1699,24.9384", "borrower", everyone(200)),
    Entry("GET", "/api/v1/relay-points/{relay}/deliveries", "operator", row(other=403, owner=200)),
    Entry(
        "POST",
        "/api/v1/pooling/batches",
        "other",
        row(other=403, owner=403, staff=202),
        lambda world: {
            "neighbourhood": world.ids["neighbourhood"],
            "day": (DAY + timedelta(days=3)).isoformat(),
        },
    ),
    Entry(
        "GET", "/api/v1/pooling/batches/{batch}", "borrower", row(other=403, owner=403, staff=200)
    ),
    Entry("GET", "/api/v1/pooling/co2-factors", "lender", everyone(200)),
    Entry(
        "GET",
        "/api/v1/pooling/impact?neighbourhood={neighbourhood}",
        "borrower",
        row(other=403, owner=403, staff=200),
    ),
    # --- couriers: the round's courier only
    Entry("GET", "/api/v1/courier/routes", "route_courier", row(other=403, owner=200, courier=200)),
    Entry("GET", "/api/v1/courier/routes/{route}", "route_courier", row(other=403, owner=200)),
    Entry(
        "POST", "/api/v1/courier/routes/{route}/start", "route_courier", row(other=403, owner=200)
    ),
    Entry(
        "POST",
        "/api/v1/courier/routes/{route}/stops/{stop}/delivered",
        "route_courier",
        row(other=403, owner=200),
        lambda world: {"code": world.extra["delivery_code"]},
        prepare=_start_route,
    ),
    Entry(
        "POST",
        "/api/v1/courier/routes/{route}/stops/{stop}/failed",
        "route_courier",
        row(other=403, owner=200),
        {"reason": "absent"},
        prepare=_start_route,
    ),
    Entry(
        "POST",
        "/api/v1/courier/position",
        "route_courier",
        row(other=403, owner=200, courier=200),
        {"position": [24.9384, 60.1699]},
        prepare=_on_duty,
    ),
    Entry("GET", "/api/v1/courier/duty", "route_courier", row(other=403, owner=200, courier=200)),
    Entry(
        "POST",
        "/api/v1/courier/duty",
        "route_courier",
        row(other=403, owner=200, courier=200),
        {"on_duty": True},
    ),
    # --- open data: public, no login (an association that has not opted in: 404 for everyone)
    Entry("GET", "/api/v1/open-data/", "lender", everyone(200, anonymous=200)),
    Entry(
        "GET",
        "/api/v1/open-data/schemas/figures.schema.json",
        "lender",
        everyone(200, anonymous=200),
    ),
    Entry(
        "GET",
        "/api/v1/open-data/schemas/figures.tableschema.json",
        "lender",
        everyone(200, anonymous=200),
    ),
    Entry(
        "GET",
        "/api/v1/open-data/voisins-de-kamppi/",
        "lender",
        everyone(200, anonymous=200),
        prepare=_publishing,
    ),
    Entry(
        "GET",
        "/api/v1/open-data/voisins-de-kamppi/figures.json",
        "lender",
        everyone(200, anonymous=200),
        prepare=_publishing,
    ),
    Entry("GET", "/api/v1/open-data/voisins-de-kallio/figures.csv", "lender", everyone(404, 404)),
    # --- a relay's operator hands a parcel over to its resident
    Entry(
        "POST",
        "/api/v1/relay-points/{relay}/pickups",
        "operator",
        row(other=403, owner=200),
        _pickup,
        prepare=_left_at_relay,
    ),
]


# --- the tests ------------------------------------------------------------------------------------


def test_every_endpoint_has_an_entry():
    covered = {entry_key(entry) for entry in MATRIX}
    missing = sorted(api_endpoints() - covered)
    assert not missing, f"endpoints without an authorization entry in MATRIX: {missing}"
    assert not any("<unknown action>" in route for route, _m in covered)


def test_no_entry_is_stale_or_twice():
    keys = [entry_key(entry) for entry in MATRIX]
    assert len(keys) == len(set(keys)), "an endpoint has two entries"
    assert set(keys) <= api_endpoints()


def _written() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_user_tables"
        )
        return int(cursor.fetchone()[0])


def _call(entry: Entry, world: World, actor: str) -> tuple[int, bool, str]:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if actor != "anonymous":
        user = world.users[entry.owner if actor == "owner" else actor]
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}", HTTP_ACCEPT_LANGUAGE="en"
        )
    if entry.prepare is not None:
        entry.prepare(world)
    path = entry.path.format(**world.ids)
    body = entry.body(world) if callable(entry.body) else entry.body
    headers: dict[str, str] = {}
    if path == "/api/v1/merchant/orders":
        raw = json.dumps(body).encode()
        merchant = world.extra["merchant"]
        headers = {
            "HTTP_X_API_KEY": merchant.api_key,
            "HTTP_X_SIGNATURE": signature_of(merchant.signing_secret, raw),
            "HTTP_IDEMPOTENCY_KEY": "matrix-1",
        }
    before = _written()
    if entry.multipart:
        response = client.generic(entry.method, path, **_multipart(client, body), **headers)
    elif body is None:
        response = client.generic(entry.method, path, **headers)
    else:
        response = client.generic(
            entry.method, path, json.dumps(body), content_type="application/json", **headers
        )
    status = response.status_code
    if status == 200 and response.get("Content-Type") == "application/json":
        body = response.json()
        if isinstance(body, dict) and body.get("results") == [] and body.get("next") is None:
            status = EMPTY
    return status, _written() == before, response.content[:160].decode(errors="replace")


def _matches(status: int, expected: int) -> bool:
    """EMPTY is a 200 with an empty page; a 200 expected may come with any page."""
    return status == expected or (expected == 200 and status == EMPTY)


def _multipart(client: APIClient, body: dict[str, Any]) -> dict[str, Any]:
    request = client._encode_data(body, "multipart")  # DRF's own encoding of a multipart body
    return {"data": request[0], "content_type": request[1]}


@pytest.mark.parametrize("entry", MATRIX, ids=lambda entry: entry.label)
def test_authorization(entry, world, settings):
    settings.PUSH_ENABLED = False
    wrong = []
    for actor in ACTORS:
        with transaction.atomic():
            status, nothing_written, content = _call(entry, world, actor)
            transaction.set_rollback(True)
        expected = entry.expect[actor]
        if not _matches(status, expected):
            wrong.append(f"{actor}: {status} (expected {expected}) {content}")
        elif status in (401, 403, 404, EMPTY) and not nothing_written:
            wrong.append(f"{actor}: refused with {status} but wrote to the database")
    assert not wrong, f"{entry.label} (owner: {entry.owner})\n  " + "\n  ".join(wrong)
