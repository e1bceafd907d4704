"""The courier's app on weak networks: actions queued offline and sent later, out of order and
twice, end in the same state as online; duty; the round's ETag; delivery details shown only
during the round; proofs (photos without EXIF, signatures PNG or SVG, malicious SVG refused);
a resident's pickup at a relay point; the courier told when a stop leaves their round."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from backend.throttling import throttle_reset
from notifications.models import Event
from pooling.models import Assignment, Batch, Courier, Order, Route, Stop
from pooling.planning.pipeline import batch_plan
from pooling.services.duty import courier_duty_set
from tests.accounts.factories import access_token_for
from tests.pooling.factories import (
    SPOTS,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    point,
)

pytestmark = pytest.mark.django_db

SVG_OK = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 80" width="200" height="80">'
    b'<g stroke="black" stroke-width="2" fill="none">'
    b'<path d="M10 60 C 40 10, 65 10, 95 60 S 150 110, 180 40"/>'
    b'<polyline points="10,70 50,72 90,69"/></g></svg>'
)
SVG_MALICIOUS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><path d="M0 0"/></svg>',
    "foreign_object": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject width="10" height="10">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject></svg>'
    ),
    "external_image": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<image xlink:href="https://evil.example/track.png" width="1" height="1"/></svg>'
    ),
    "use_href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<path xlink:href="https://evil.example/x.svg#a" d="M0 0"/></svg>'
    ),
    "entity": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><path d="&lol2;"/></svg>'
    ),
    "external_entity": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><path d="&x;"/></svg>'
    ),
    "style_url": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0" '
        b'style="fill:url(https://evil.example/a)"/></svg>'
    ),
    "fill_javascript": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0" fill="javascript:alert(1)"/></svg>'
    ),
    "not_svg": b"<html><body>hello</body></html>",
    "not_xml": b"this is not a drawing",
    "text": b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/>hello</svg>',
}


def png_bytes(color: str = "red", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF holds a camera model and a GPS position."""
    image = Image.new("RGB", (16, 16), "blue")
    exif = Image.Exif()
    exif[0x0110] = "Courier Phone 3000"  # Model
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 21.0, 8.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def bearer(user) -> APIClient:
    """A client with a real token: the Idempotency-Key middleware knows who sends."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def stop_of(order) -> Stop:
    return Assignment.objects.get(order=order, released_at__isnull=True).stop


def code_for(stop: Stop) -> str:
    if stop.kind == "home":
        return (
            Assignment.objects.filter(stop=stop).select_related("order").first().order.delivery_code
        )
    return stop.relay_point.handover_code


# --- a round of twelve stops ------------------------------------------------------------------------


@pytest.fixture
def big_round(neighbourhood, hub, settings):
    """A courier's round of at least ten stops (homes and a relay point) on a day that started
    a few hours ago; the courier went on duty before the network went away."""
    settings.POOLING_ROUND_MAX_SECONDS = 6 * 3600
    base = timezone.now() - timedelta(hours=5)
    day = timezone.localdate(base)
    courier = CourierFactory(hub=hub, capacity_units=60, capacity_kg=300)
    shop = RelayPointFactory(
        neighbourhood=neighbourhood,
        location=point(*SPOTS[12]),
        operator=ResidentFactory(),
        instructions="Porte de droite, sonner deux fois.",
    )
    homes = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            expected_on=day,
        )
        for spot in SPOTS[:11]
    ]
    relayed = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            expected_on=day,
            receive_mode="relay",
            relay_point=shop,
        )
        for spot in SPOTS[13:15]
    ]
    batch = batch_plan(
        batch_id=Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=day).pk
    )
    routes = list(Route.objects.filter(batch=batch))
    assert len(routes) == 1, "the test wants one round"
    route = routes[0]
    assert route.stops.count() >= 10
    courier_duty_set(actor=courier.user, on_duty=True, client_at=base - timedelta(minutes=10))
    return {
        "route": route,
        "courier": courier,
        "shop": shop,
        "homes": homes,
        "relayed": relayed,
        "base": base,
        "batch": batch,
    }


@dataclass(frozen=True)
class Action:
    """One queued action: where it goes, its body (built against the world), how it is sent."""

    path: str
    body: dict[str, Any]
    multipart: bool = False
    key: str = ""


def queue(world) -> list[Action]:
    """The twenty actions a courier's phone queued during the round, in the order done."""
    route, base = world["route"], world["base"]
    stops = list(route.stops.order_by("position"))
    at = lambda minutes: (base + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    root = f"/api/v1/courier/routes/{route.pk}"
    actions = [Action(f"{root}/start", {"client_at": at(0)})]
    minute = 5
    positions = [SPOTS[3], SPOTS[5], SPOTS[9], SPOTS[16], SPOTS[20]]
    for k, stop in enumerate(stops):
        path = f"{root}/stops/{stop.pk}"
        if k == 1:
            data = upload("door.jpg", jpeg_with_gps(), "image/jpeg")
            body = {"photo": data, "notes": "Laissé au gardien", "client_at": at(minute)}
            actions.append(Action(f"{path}/delivered", body, multipart=True))
        elif k == 2:
            actions.append(Action(f"{path}/failed", {"reason": "absent", "client_at": at(minute)}))
        elif k == 3:
            body = {"signature": upload("s.svg", SVG_OK, "image/svg+xml"), "client_at": at(minute)}
            actions.append(Action(f"{path}/delivered", body, multipart=True))
        elif k == 4:
            # Failed, then corrected: the resident came down two minutes later.
            actions.append(
                Action(f"{path}/failed", {"reason": "no_access", "client_at": at(minute)})
            )
            actions.append(
                Action(
                    f"{path}/delivered",
                    {"code": code_for(stop), "notes": "Finalement là", "client_at": at(minute + 2)},
                )
            )
        elif k == 5:
            body = {
                "signature": upload("s.png", png_bytes("black"), "image/png"),
                "client_at": at(minute),
            }
            actions.append(Action(f"{path}/delivered", body, multipart=True))
        else:
            actions.append(
                Action(f"{path}/delivered", {"code": code_for(stop), "client_at": at(minute)})
            )
        if k % 2 == 0 and positions:
            lon, lat = positions.pop(0)
            actions.append(
                Action(
                    "/api/v1/courier/position",
                    {"position": [lon, lat], "client_at": at(minute + 1)},
                )
            )
        minute += 5
    actions.append(Action("/api/v1/courier/duty", {"on_duty": False, "client_at": at(minute + 20)}))
    actions = [Action(a.path, a.body, a.multipart, key=str(uuid.uuid4())) for a in actions]
    return actions


def send(client: APIClient, action: Action):
    body = dict(action.body)
    for value in body.values():
        if hasattr(value, "seek"):
            value.seek(0)
    response = client.post(
        action.path,
        body,
        format="multipart" if action.multipart else "json",
        HTTP_IDEMPOTENCY_KEY=action.key,
    )
    assert response.status_code == 200, (action.path, response.json())
    return response


def digest(field) -> str | None:
    if not field:
        return None
    field.open("rb")
    try:
        return hashlib.sha256(field.read()).hexdigest()
    finally:
        field.close()


def state(world) -> dict[str, Any]:
    """What the round left behind, by the courier's clock (pickup codes and ETAs aside)."""
    route = Route.objects.get(pk=world["route"].pk)
    courier = Courier.objects.get(pk=world["courier"].pk)
    batch = Batch.objects.get(pk=world["batch"].pk)
    orders = Order.objects.filter(
        pk__in=[o.pk for o in world["homes"] + world["relayed"]]
    ).order_by("pk")
    return {
        "stops": [
            (
                s.position,
                s.status,
                s.done_at,
                s.action_at,
                s.proof,
                s.proof_notes,
                s.fail_reason,
                digest(s.proof_photo),
                digest(s.proof_signature),
            )
            for s in route.stops.order_by("position")
        ],
        "orders": [(o.pk, o.status, o.attempts, o.delivered_at) for o in orders],
        "route": (
            route.status,
            route.started_at,
            route.completed_at,
            route.last_position.coords if route.last_position else None,
            route.last_position_at,
        ),
        "batch": (batch.status, batch.dispatched_at),
        "courier": (
            courier.on_duty,
            courier.on_duty_since,
            courier.last_position.coords if courier.last_position else None,
            courier.last_position_at,
        ),
    }


def run(world, actions: list[Action]) -> dict[str, Any]:
    """Sends ``actions`` in a savepoint rolled back afterwards: the world is fresh for the next
    run. Returns the final state."""
    with transaction.atomic():
        client = bearer(world["courier"].user)
        replayed = sum(
            send(client, action).get("Idempotent-Replayed") == "true" for action in actions
        )
        # Each action sent twice acted once: the second answer is the first one's, replayed.
        assert replayed == len(actions) - len({a.key for a in actions})
        result = state(world)
        transaction.set_rollback(True)
    return result


def test_an_offline_queue_replayed_out_of_order_and_twice_ends_as_online(big_round):
    actions = queue(big_round)
    assert len(actions) == 20
    online = run(big_round, actions)
    # What online did: every stop done, one corrected, the round completed at its last stop.
    statuses = [s[1] for s in online["stops"]]
    assert statuses.count("failed") == 1 and statuses.count("delivered") == len(statuses) - 1
    assert online["route"][0] == "completed"
    assert online["route"][1] == big_round["base"]
    assert online["route"][2] == max(s[2] for s in online["stops"])
    assert online["route"][3] is not None
    assert online["courier"][0] is False  # off duty at the end
    assert [s[4] for s in online["stops"][1:6]] == ["photo", "", "signature", "code", "signature"]
    assert online["stops"][4][5] == "Finalement là"
    assert {o[1] for o in online["orders"]} <= {"delivered", "awaiting_pickup", "pending"}

    for seed in (1, 2):
        twice = [*actions, *actions]
        random.Random(seed).shuffle(twice)
        assert run(big_round, twice) == online, f"shuffle {seed}"


def test_a_stale_action_answers_applied_false_and_changes_nothing(big_round):
    route, base = big_round["route"], big_round["base"]
    client = bearer(big_round["courier"].user)
    stop = route.stops.order_by("position").first()
    path = f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}"
    later = (base + timedelta(minutes=30)).isoformat()
    earlier = (base + timedelta(minutes=20)).isoformat()
    done = client.post(
        f"{path}/delivered", {"code": code_for(stop), "client_at": later}, format="json"
    )
    assert done.status_code == 200 and done.json()["applied"] is True
    route.refresh_from_db()
    # The first action of the queue started the round at its own time.
    assert route.status == "started" and route.started_at == base + timedelta(minutes=30)
    stale = client.post(f"{path}/failed", {"reason": "absent", "client_at": earlier}, format="json")
    assert stale.status_code == 200 and stale.json()["applied"] is False
    assert stale.json()["status"] == "delivered"
    stop.refresh_from_db()
    assert stop.status == "delivered" and stop.done_at == base + timedelta(minutes=30)
    assert not Event.objects.filter(type="order.failed").exists()
    # The start, received last, moves the round's start back to its time.
    start = client.post(
        f"/api/v1/courier/routes/{route.pk}/start", {"client_at": base.isoformat()}, format="json"
    )
    assert start.status_code == 200 and start.json()["applied"] is True
    route.refresh_from_db()
    assert route.started_at == base


def test_client_times_out_of_bounds_are_refused(big_round):
    route = big_round["route"]
    client = bearer(big_round["courier"].user)
    stop = route.stops.first()
    path = f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/delivered"
    for when in (
        timezone.now() + timedelta(minutes=30),
        timezone.now() - timedelta(days=3),  # before the round's day
    ):
        refused = client.post(
            path, {"code": code_for(stop), "client_at": when.isoformat()}, format="json"
        )
        assert refused.status_code == 400 and refused.json()["code"] == "client_time_invalid"
    naive = client.post(
        path, {"code": code_for(stop), "client_at": "2026-05-15T10:00:00"}, format="json"
    )
    assert naive.status_code == 400
    stop.refresh_from_db()
    route.refresh_from_db()
    assert stop.status == "pending" and route.status == "planned"


# --- duty --------------------------------------------------------------------------------------------


def test_duty_on_and_off_and_positions_only_on_duty(client_for, hub):
    courier = CourierFactory(hub=hub)
    client = client_for(courier.user)
    assert client.get("/api/v1/courier/duty").json() == {"on_duty": False, "since": None}
    off = client.post("/api/v1/courier/position", {"position": list(SPOTS[0])}, format="json")
    assert off.status_code == 409 and off.json()["code"] == "courier_off_duty"
    courier.refresh_from_db()
    assert courier.last_position is None
    t0 = timezone.now() - timedelta(hours=2)
    on = client.post(
        "/api/v1/courier/duty", {"on_duty": True, "client_at": t0.isoformat()}, format="json"
    )
    assert on.status_code == 200 and on.json()["applied"] is True
    assert on.json()["on_duty"] is True
    assert datetime.fromisoformat(on.json()["since"]) == t0
    taken = client.post(
        "/api/v1/courier/position",
        {"position": list(SPOTS[1]), "client_at": (t0 + timedelta(minutes=5)).isoformat()},
        format="json",
    )
    assert taken.status_code == 200 and taken.json() == {
        "route": None,
        "applied": True,
        "etas": {},
        "nearby_stops": [],
    }
    t1 = t0 + timedelta(hours=1)
    client.post(
        "/api/v1/courier/duty", {"on_duty": False, "client_at": t1.isoformat()}, format="json"
    )
    # A position measured on duty and sent after going off duty (offline) is still taken...
    late = client.post(
        "/api/v1/courier/position",
        {"position": list(SPOTS[2]), "client_at": (t0 + timedelta(minutes=30)).isoformat()},
        format="json",
    )
    assert late.status_code == 200
    # ... one measured off duty is not.
    after = client.post(
        "/api/v1/courier/position",
        {"position": list(SPOTS[3]), "client_at": (t1 + timedelta(minutes=5)).isoformat()},
        format="json",
    )
    assert after.status_code == 409
    courier.refresh_from_db()
    assert courier.last_position.coords == pytest.approx(SPOTS[2])
    # A change older than the latest is kept but changes nothing.
    stale = client.post(
        "/api/v1/courier/duty",
        {"on_duty": True, "client_at": (t0 + timedelta(minutes=45)).isoformat()},
        format="json",
    )
    assert stale.status_code == 200 and stale.json()["applied"] is False
    assert stale.json()["on_duty"] is False
    assert datetime.fromisoformat(stale.json()["since"]) == t1
    refused = client_for(ResidentFactory()).post(
        "/api/v1/courier/duty", {"on_duty": True}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_a_courier"


def test_starting_a_round_puts_the_courier_on_duty(client_for, big_round):
    courier, route = big_round["courier"], big_round["route"]
    courier_duty_set(actor=courier.user, on_duty=False)
    client_for(courier.user).post(f"/api/v1/courier/routes/{route.pk}/start")
    courier.refresh_from_db()
    assert courier.on_duty is True


# --- ETag ---------------------------------------------------------------------------------------------


def test_a_round_has_an_etag_and_answers_304(client_for, big_round):
    route, courier = big_round["route"], big_round["courier"]
    client = client_for(courier.user)
    first = client.get(f"/api/v1/courier/routes/{route.pk}")
    etag = first["ETag"]
    assert first.status_code == 200 and etag == f'"route-{route.pk}-v{route.version}"'
    same = client.get(f"/api/v1/courier/routes/{route.pk}", HTTP_IF_NONE_MATCH=etag)
    assert same.status_code == 304 and same.content == b"" and same["ETag"] == etag
    started = client.post(f"/api/v1/courier/routes/{route.pk}/start", HTTP_IF_MATCH=etag)
    assert started.status_code == 200 and started["ETag"] != etag
    again = client.get(f"/api/v1/courier/routes/{route.pk}", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] == started["ETag"]
    stop = route.stops.first()
    stale_tag = client.post(
        f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/failed",
        {"reason": "absent"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert stale_tag.status_code == 412 and stale_tag.json()["code"] == "route_changed"
    stop.refresh_from_db()
    assert stop.status == "pending"


# --- delivery details -----------------------------------------------------------------------------------


DETAILS = {
    "door_code": "12A45",
    "floor": "4e gauche",
    "building": "Bâtiment B, escalier 2",
    "instructions": "Interphone en panne, appeler.",
    "phone": "+33 6 12 34 56 78",
}


def test_delivery_details_are_shown_to_the_courier_only_during_the_round(
    client_for, neighbourhood, hub
):
    courier = CourierFactory(hub=hub, capacity_units=40, capacity_kg=200)
    resident = ResidentFactory(home=point(*SPOTS[2]))
    pref = client_for(resident).put(
        "/api/v1/orders/receiving", {"mode": "home", "delivery_details": DETAILS}, format="json"
    )
    assert pref.status_code == 200 and pref.json()["delivery_details"] == DETAILS
    declared = client_for(resident).post(
        "/api/v1/orders/",
        {
            "carrier": "Colissimo",
            "tracking_number": "6A123",
            "expected_on": timezone.localdate().isoformat(),
            "parcels": [{"size": "s", "weight": "light"}],
        },
        format="json",
    )
    assert declared.status_code == 201, declared.json()
    assert declared.json()["delivery_details"] == DETAILS  # the preference's, by default
    order = Order.objects.get(pk=declared.json()["id"])
    order.neighbourhood = neighbourhood
    order.save(update_fields=["neighbourhood"])
    changed = client_for(resident).patch(
        f"/api/v1/orders/{order.pk}",
        {"delivery_details": {**DETAILS, "floor": "5e droite"}},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["delivery_details"]["floor"] == "5e droite"
    bad = client_for(resident).patch(
        f"/api/v1/orders/{order.pk}",
        {"delivery_details": {"phone": "<script>"}},
        format="json",
    )
    assert bad.status_code == 400
    shop = RelayPointFactory(
        neighbourhood=neighbourhood, location=point(*SPOTS[12]), instructions="Sonner deux fois."
    )
    OrderFactory(
        resident=ResidentFactory(home=point(*SPOTS[13])),
        neighbourhood=neighbourhood,
        expected_on=timezone.localdate(),
        receive_mode="relay",
        relay_point=shop,
    )
    batch = batch_plan(
        batch_id=Batch.objects.create(
            neighbourhood=neighbourhood, hub=hub, day=timezone.localdate()
        ).pk
    )
    route = Route.objects.get(batch=batch)
    home = stop_of(order)
    assert home.door_code == "12A45" and home.floor == "5e droite"
    client = client_for(courier.user)

    def seen():
        data = client.get(f"/api/v1/courier/routes/{route.pk}").json()
        return {s["id"]: s for s in data["stops"]}

    planned = seen()
    assert planned[home.pk]["details"] is None  # not before the round starts
    relay_stop = next(s for s in planned.values() if s["kind"] == "relay")
    assert relay_stop["details"] is None
    assert relay_stop["relay"] == {
        "opens_at": "08:00",
        "closes_at": "20:00",
        "instructions": "Sonner deux fois.",
    }
    client.post(f"/api/v1/courier/routes/{route.pk}/start")
    assert seen()[home.pk]["details"] == {**DETAILS, "floor": "5e droite"}
    # Nobody else: another courier, the resident's neighbour, staff get no round at all.
    other = CourierFactory(hub=hub).user
    assert client_for(other).get(f"/api/v1/courier/routes/{route.pk}").status_code == 403
    for stop in route.stops.all():
        client.post(
            f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/failed",
            {"reason": "absent"},
            format="json",
        )
    route.refresh_from_db()
    assert route.status == "completed"
    assert seen()[home.pk]["details"] is None  # not after


def test_delivery_details_are_erased_with_the_addresses(big_round, settings):
    from pooling.services.retention import delivery_addresses_erase

    route = big_round["route"]
    stop = route.stops.filter(kind="home").first()
    Stop.objects.filter(pk=stop.pk).update(**DETAILS)
    order = Assignment.objects.filter(stop=stop).first().order
    Order.objects.filter(pk=order.pk).update(
        **DETAILS, status="delivered", delivered_at=timezone.now()
    )
    Order.objects.exclude(pk=order.pk).update(status="cancelled", cancelled_at=timezone.now())
    later = timezone.now() + timedelta(days=settings.POOLING_ADDRESS_DAYS + 2)
    assert delivery_addresses_erase(now=later) == 1
    stop.refresh_from_db()
    order.refresh_from_db()
    assert stop.details_as_dict() == dict.fromkeys(DETAILS, "")
    assert order.details_as_dict() == dict.fromkeys(DETAILS, "")


# --- proofs ---------------------------------------------------------------------------------------------


def test_a_proof_photo_is_stored_without_its_exif(client_for, big_round):
    route, courier = big_round["route"], big_round["courier"]
    client = client_for(courier.user)
    client.post(f"/api/v1/courier/routes/{route.pk}/start")
    stop = route.stops.first()
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif()  # the phone's photo has them
    done = client.post(
        f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/delivered",
        {"photo": upload("door.jpg", original, "image/jpeg"), "notes": "Sous le paillasson"},
        format="multipart",
    )
    assert done.status_code == 200 and done.json()["proof_notes"] == "Sous le paillasson"
    stop.refresh_from_db()
    assert stop.proof_photo.name.startswith("pooling/proofs/") and stop.proof_photo.name.endswith(
        ".jpg"
    )
    with stop.proof_photo.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "JPEG" and image.size == (16, 16)
        assert not image.getexif()
        assert "exif" not in image.info


def test_signatures_png_or_svg_are_taken_and_malicious_svgs_refused(client_for, big_round):
    route, courier = big_round["route"], big_round["courier"]
    client = client_for(courier.user)
    client.post(f"/api/v1/courier/routes/{route.pk}/start")
    stops = list(route.stops.order_by("position"))
    target = stops[0]
    path = f"/api/v1/courier/routes/{route.pk}/stops/{target.pk}/delivered"
    for name, data in SVG_MALICIOUS.items():
        refused = client.post(
            path, {"signature": upload("s.svg", data, "image/svg+xml")}, format="multipart"
        )
        assert refused.status_code == 400, name
        assert refused.json()["code"] == "bad_signature_file", name
    bad_png = client.post(
        path,
        {"signature": upload("s.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")},
        format="multipart",
    )
    assert bad_png.status_code == 400
    target.refresh_from_db()
    assert target.status == "pending" and not target.proof_signature
    ok = client.post(
        path, {"signature": upload("s.svg", SVG_OK, "image/svg+xml")}, format="multipart"
    )
    assert ok.status_code == 200 and ok.json()["proof"] == "signature"
    target.refresh_from_db()
    assert target.proof_signature.name.startswith("pooling/signatures/")
    with target.proof_signature.open("rb") as stored:
        kept = stored.read()
    assert b"<path" in kept and b"polyline" in kept and b"script" not in kept
    second = stops[1]
    png_ok = client.post(
        f"/api/v1/courier/routes/{route.pk}/stops/{second.pk}/delivered",
        {"signature": upload("s.png", png_bytes("black"), "image/png")},
        format="multipart",
    )
    assert png_ok.status_code == 200
    second.refresh_from_db()
    assert second.proof_signature.name.endswith(".png")


def test_proof_signatures_are_purged_with_the_photos(client_for, big_round, settings):
    from pooling.services.retention import proof_photos_purge

    route, courier = big_round["route"], big_round["courier"]
    client = client_for(courier.user)
    client.post(f"/api/v1/courier/routes/{route.pk}/start")
    stop = route.stops.first()
    client.post(
        f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/delivered",
        {"signature": upload("s.svg", SVG_OK, "image/svg+xml"), "notes": "ok"},
        format="multipart",
    )
    stop.refresh_from_db()
    name = stop.proof_signature.name
    assert stop.proof_signature.storage.exists(name)
    later = timezone.now() + timedelta(days=settings.POOLING_PROOF_PHOTO_DAYS + 1)
    assert proof_photos_purge(now=later) == 1
    stop.refresh_from_db()
    assert not stop.proof_signature and stop.proof_notes == "" and stop.proof == "signature"
    assert not stop.proof_signature.storage.exists(name)


# --- pickup at a relay point -----------------------------------------------------------------------------


def test_a_resident_picks_a_parcel_up_at_the_relay_with_their_code(client_for, big_round, settings):
    route, courier, shop = big_round["route"], big_round["courier"], big_round["shop"]
    order = big_round["relayed"][0]
    client = client_for(courier.user)
    client.post(f"/api/v1/courier/routes/{route.pk}/start")
    stop = stop_of(order)
    dropped = client.post(
        f"/api/v1/courier/routes/{route.pk}/stops/{stop.pk}/delivered",
        {"code": shop.handover_code},
        format="json",
    )
    assert dropped.status_code == 200
    # The resident sees their parcel waiting, with the code to show; nobody else sees it.
    mine = client_for(order.resident).get(f"/api/v1/orders/{order.pk}").json()
    assert mine["status"] == "awaiting_pickup"
    code = mine["pickup_code"]
    assert len(code) == 6 and code.isdigit()
    assert (
        client_for(big_round["relayed"][1].resident).get(f"/api/v1/orders/{order.pk}").status_code
        == 404
    )
    told = Event.objects.get(type="order.awaiting_pickup", recipient=order.resident)
    assert told.data["relay_point_id"] == shop.pk and "code" not in str(told.data)
    assert not Event.objects.filter(type="order.delivered", recipient=order.resident).exists()
    # The operator sees it among the parcels waiting.
    operator = client_for(shop.operator)
    listing = operator.get(f"/api/v1/relay-points/{shop.pk}/deliveries").json()
    waiting = {w["order"]: w for w in listing["awaiting_pickup"]}
    assert set(waiting) == {o.pk for o in big_round["relayed"]}
    assert waiting[order.pk]["parcels"] == 1
    assert waiting[order.pk]["resident_name"] == order.resident.public_name
    assert "code" not in waiting[order.pk] and code not in str(listing)

    pickups = f"/api/v1/relay-points/{shop.pk}/pickups"
    wrong = "000000" if code != "000000" else "111111"
    refused = operator.post(pickups, {"order": order.pk, "code": wrong}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "bad_pickup_code"
    for someone in (order.resident, courier.user, ResidentFactory()):
        other = client_for(someone).post(pickups, {"order": order.pk, "code": code}, format="json")
        assert other.status_code == 403 and other.json()["code"] == "not_relay_operator"
    home_order = big_round["homes"][0]
    not_here = operator.post(pickups, {"order": home_order.pk, "code": code}, format="json")
    assert not_here.status_code == 404
    order.refresh_from_db()
    assert order.status == "awaiting_pickup" and order.delivered_at is None

    ok = operator.post(pickups, {"order": order.pk, "code": code}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "delivered" and ok.json()["applied"]
    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_at is not None
    event = Event.objects.get(type="order.delivered", recipient=order.resident)
    assert event.data["place"] == "relay" and event.data["proof"] == "pickup_code"
    assert (
        client_for(order.resident).get(f"/api/v1/orders/{order.pk}").json()["pickup_code"] is None
    )
    again = operator.post(pickups, {"order": order.pk, "code": code}, format="json")
    assert again.status_code == 200 and again.json()["applied"] is False
    assert Event.objects.filter(type="order.delivered", recipient=order.resident).count() == 1


def test_wrong_pickup_codes_are_rate_limited(client_for, big_round, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "pickup_code": "3/h"}
    throttle_reset()
    route, courier, shop = big_round["route"], big_round["courier"], big_round["shop"]
    order = big_round["relayed"][0]
    client_for(courier.user).post(f"/api/v1/courier/routes/{route.pk}/start")
    client_for(courier.user).post(
        f"/api/v1/courier/routes/{route.pk}/stops/{stop_of(order).pk}/delivered",
        {"code": shop.handover_code},
        format="json",
    )
    order.refresh_from_db()
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    operator = client_for(shop.operator)
    pickups = f"/api/v1/relay-points/{shop.pk}/pickups"
    answers = [
        operator.post(pickups, {"order": order.pk, "code": wrong}, format="json").status_code
        for _ in range(3)
    ]
    assert answers == [400, 400, 400]
    blocked = operator.post(pickups, {"order": order.pk, "code": order.pickup_code}, format="json")
    assert blocked.status_code == 429
    order.refresh_from_db()
    assert order.status == "awaiting_pickup"
    throttle_reset()


# --- the round changes live ----------------------------------------------------------------------------


def test_a_cancelled_order_is_told_to_the_courier_of_its_round(client_for, big_round):
    route, courier = big_round["route"], big_round["courier"]
    order = big_round["homes"][3]
    stop = stop_of(order)
    before = route.version
    cancelled = client_for(order.resident).post(f"/api/v1/orders/{order.pk}/cancel")
    assert cancelled.status_code == 200
    told = Event.objects.filter(recipient=courier.user, type__startswith="route.").order_by("id")
    assert [(e.type, e.data) for e in told] == [
        ("route.order_cancelled", {"route_id": route.pk, "stop_id": stop.pk, "order_id": order.pk}),
        (
            "route.stop_cancelled",
            {
                "route_id": route.pk,
                "stop_id": stop.pk,
                "position": stop.position,
                "reason": "cancelled",
            },
        ),
    ]
    route.refresh_from_db()
    assert route.version == before + 1
