"""A day's rounds in the panel: the map draws each round along its real legs (never into a
home's blur cell), and the round sheets print each round's stops in order with what to hand over;
both only for the staff of the batch's association."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.gis.geos import LineString, Point
from django.utils import timezone

from geo.privacy import blur_cell_polygon, blurred_point
from panel.rounds import RoundDrawing
from pooling.models import Assignment, Batch, DropKind, Route, Stop
from pooling.planning.pipeline import batch_plan
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    point,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(ours):
    CourierFactory(hub=ours.hub, capacity_units=40, capacity_kg=200, user__display_name="Camille")
    shop = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        name="Kiosque de la gare",
        address_label="Rautatientori 1",
        location=point(*SPOTS[12]),
        operator=ResidentFactory(),
    )
    homes = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot), display_name=f"Voisin {i}"),
            neighbourhood=ours.neighbourhood,
            parcels=[("m", "light"), ("l", "medium")] if i == 0 else [("s", "light")],
        )
        for i, spot in enumerate(SPOTS[:3])
    ]
    relays = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=ours.neighbourhood,
            receive_mode="relay",
            relay_point=shop,
            carrier="DHL",
        )
        for spot in SPOTS[13:15]
    ]
    batch = Batch.objects.create(neighbourhood=ours.neighbourhood, hub=ours.hub, day=DAY)
    batch = batch_plan(batch_id=batch.pk)
    assert batch.status == Batch.Status.PLANNED
    return {"batch": batch, "shop": shop, "homes": homes, "relays": relays}


def _map_data(html: str) -> dict:
    found = re.search(
        r'<script id="rounds-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found
    return json.loads(found.group(1))


def _coords(geometry: dict) -> list[list[float]]:
    return [c for line in geometry["coordinates"] for c in line]


# --- the map -------------------------------------------------------------------------------------


def test_each_round_is_drawn_along_its_legs_and_never_into_a_home_cell(planned, ours, admin_client):
    batch = planned["batch"]
    response = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    features = _map_data(html)["features"]
    route = Route.objects.get(batch=batch)
    stops = list(route.stops.order_by("position"))
    assert all(stop.path is not None for stop in stops) and route.return_path is not None
    paths = [f for f in features if f["properties"]["kind"] == "round"]
    assert len(paths) == 1 and paths[0]["properties"]["round"] == 1
    drawn = _coords(paths[0]["geometry"])
    # Real paths: many more vertices than stops.
    assert len(drawn) > 3 * (len(stops) + 1)
    homes = [s for s in stops if s.kind in (DropKind.HOME, DropKind.HOST)]
    assert len(homes) == 3
    legs = [stop.path for stop in stops] + [route.return_path]
    for stop in homes:
        # Inside a home's cell, only the legs that neither end nor start there are drawn (a street
        # the courier takes elsewhere in the round): nothing leads to the door.
        i = stop.position - 1
        elsewhere = {
            (round(x, 6), round(y, 6))
            for k, leg in enumerate(legs)
            if k not in (i, i + 1)
            for x, y in leg.coords
        }
        cell = blur_cell_polygon(stop.location).buffer(-1e-6)  # off its edge (rounded points)
        inside = {tuple(c) for c in drawn if cell.contains(Point(*c, srid=4326))}
        assert inside <= elsewhere, f"a path leads into the cell of stop {stop.position}"
        for end in (legs[i].coords[-1], legs[i + 1].coords[0]):
            assert [round(end[0], 6), round(end[1], 6)] not in drawn
        assert f"{stop.location.x}, {stop.location.y}" not in html
    # The relay's legs come to its door: the shop is on the path's ends.
    relay = next(s for s in stops if s.kind == DropKind.RELAY)
    assert [relay.location.x, relay.location.y] in [
        f["geometry"]["coordinates"] for f in features if f["properties"]["kind"] == "stop"
    ]
    # Straight links join each home's cell centre to the path (dashed on the map).
    links = [f for f in features if f["properties"]["kind"] == "link"]
    assert len(links) == 1
    ends = {tuple(c) for c in _coords(links[0]["geometry"])}
    for stop in homes:
        centre = blurred_point(stop.location)
        assert (centre.x, centre.y) in ends
    assert 'id="rounds-legend"' in html
    assert f"/admin/rounds/{batch.pk}/sheets/{route.pk}/" in html
    assert "© les contributeurs d’OpenStreetMap" in html  # the legend; the map says it too


def test_a_leg_without_a_path_is_drawn_straight(planned, ours, admin_client):
    batch = planned["batch"]
    route = Route.objects.get(batch=batch)
    Stop.objects.filter(route=route).update(path=None)
    Route.objects.filter(pk=route.pk).update(return_path=None)
    html = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/").content.decode()
    features = _map_data(html)["features"]
    assert not [f for f in features if f["properties"]["kind"] == "round"]
    links = [f for f in features if f["properties"]["kind"] == "link"]
    assert len(links[0]["geometry"]["coordinates"]) == route.stops.count() + 1


def test_the_map_page_says_what_a_short_fleet_left_out(planned, ours, admin_client):
    batch = planned["batch"]
    page = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/").content.decode()
    assert "panel-shortfall" not in page
    Batch.objects.filter(pk=batch.pk).update(
        shortfall={"stops": 3, "orders": 4, "courier_hours_missing": 2.5, "couriers_missing": 1}
    )
    page = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/")
    html = page.content.decode()
    assert "panel-shortfall" in html
    assert "4 commandes attendent la prochaine" in html and "2,5 heures de coursier" in html


def test_drawing_cuts_a_leg_at_the_home_cell_and_links_the_centre():
    home = Point(24.9410, 60.1710, srid=4326)
    centre = blurred_point(home)
    path = LineString([(24.930, 60.165), (24.9405, 60.1705), (24.9410, 60.1710)], srid=4326)
    drawing = RoundDrawing()
    drawing.leg(path, [24.930, 60.165], [centre.x, centre.y], [home])
    assert len(drawing.paths) == 1
    cell = blur_cell_polygon(home)
    assert drawing.paths[0][0] == [24.93, 60.165]
    edge = Point(*drawing.paths[0][-1], srid=4326)
    assert cell.boundary.distance(edge) < 1e-6
    assert drawing.links == [[drawing.paths[0][-1], [centre.x, centre.y]]]


# --- the round sheets ----------------------------------------------------------------------------


def test_the_round_sheet_lists_the_stops_in_order_with_what_to_hand_over(
    planned, ours, admin_client
):
    batch = planned["batch"]
    route = Route.objects.get(batch=batch)
    response = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/sheets/{route.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "panel/round-sheet.css" in html
    assert "Feuille de tournée n° 1" in html
    assert ">Camille<" in html
    assert "Vélo cargo" in html or "vélo cargo" in html
    start = timezone.localtime(route.planned_start).strftime("%H:%M")
    assert f'data-field="start">{start}<' in html
    rows = re.findall(r'<tr class="sheet-stop" data-position="(\d+)" data-kind="(\w+)">', html)
    stops = list(route.stops.order_by("position"))
    assert rows == [(str(s.position), s.kind) for s in stops]
    for stop in stops:
        assert timezone.localtime(stop.eta).strftime("%H:%M") in html
    # What to hand over: every active order's tracking number, carrier, parcels and sizes.
    for order in planned["homes"] + planned["relays"]:
        assert order.tracking_number in html
    assert "2 colis</strong> (M, L)" in html
    assert "Kiosque de la gare" in html and "Rautatientori 1" in html
    assert "Voisin 0" in html
    # Never a home's address, nor the recipients' codes.
    for order in planned["homes"]:
        assert order.resident.home_address not in html
        assert order.delivery_code not in html
    assert "Adresse dans l’application du livreur" in html or "application du livreur" in html
    assert "Signature du livreur" in html
    total_parcels = sum(o.parcels.count() for o in planned["homes"] + planned["relays"])
    assert f"{total_parcels} colis" in html


def test_a_released_order_is_not_on_the_sheet(planned, ours, admin_client):
    batch = planned["batch"]
    gone = planned["relays"][0]
    Assignment.objects.filter(order=gone).update(
        released_at=timezone.now(), outcome="released", release_reason="cancelled"
    )
    html = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/sheets/").content.decode()
    assert gone.tracking_number not in html
    assert planned["relays"][1].tracking_number in html


def test_every_round_of_the_day_prints_on_its_own_page(planned, ours, admin_client):
    batch = planned["batch"]
    html = admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/sheets/").content.decode()
    assert html.count('<article class="sheet"') == Route.objects.filter(batch=batch).count()


def test_sheets_are_for_the_batchs_association_only(planned, ours, theirs, admin_client, client):
    batch = planned["batch"]
    route = Route.objects.get(batch=batch)
    paths = [
        f"/admin/rounds/{batch.pk}/sheets/",
        f"/admin/rounds/{batch.pk}/sheets/{route.pk}/",
    ]
    for path in paths:
        assert admin_client(theirs.staff).get(path).status_code == 404
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # A round of another day, asked through ours: not found.
    other = Batch.objects.create(neighbourhood=theirs.neighbourhood, hub=theirs.hub, day=DAY)
    assert admin_client(ours.staff).get(f"/admin/rounds/{other.pk}/sheets/").status_code == 404
    assert (
        admin_client(ours.staff).get(f"/admin/rounds/{other.pk}/sheets/{route.pk}/").status_code
        == 404
    )
    assert (
        admin_client(ours.staff).get(f"/admin/rounds/{batch.pk}/sheets/999999/").status_code == 404
    )


def test_a_staff_user_of_no_association_gets_no_sheet(planned, admin_client):
    from accounts.models import User
    from neighbourhoods.services import staff_grant

    loner = staff_grant(user=User.objects.create_user("loner2@example.org", "a-long-passphrase-42"))
    batch = planned["batch"]
    assert admin_client(loner).get(f"/admin/rounds/{batch.pk}/sheets/").status_code == 404
