"""A neighbour host's place is their home: the association's volunteers set a host up by choosing
the resident, never by drawing the home, and never see it afterwards."""

from __future__ import annotations

from pooling.models import RelayPoint
from pooling.services.places import relay_point_create


def _host(side):
    operator = side.members[0]
    return relay_point_create(
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        name="Chez M",
        lon=operator.home.x,
        lat=operator.home.y,
        neighbourhood=side.neighbourhood,
        operator=operator,
    )


def test_a_hosts_change_page_shows_no_place(admin_client, ours):
    host = _host(ours)
    page = admin_client(ours.staff).get(f"/admin/pooling/relaypoint/{host.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="location"' not in html
    assert f"{host.location.x}" not in html and f"{host.location.y}" not in html


def test_a_host_is_added_at_the_residents_home_without_drawing_it(admin_client, ours):
    operator = ours.members[1]
    response = admin_client(ours.staff).post(
        "/admin/pooling/relaypoint/add/",
        {
            "kind": "neighbour_host",
            "name": "Chez M1",
            "address_label": "",
            "location": "",
            "neighbourhood": ours.neighbourhood.pk,
            "operator": operator.pk,
            "capacity_per_day": 4,
            "opens_at": "16:00",
            "closes_at": "19:00",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    host = RelayPoint.objects.get(name="Chez M1")
    assert (host.location.x, host.location.y) == (operator.home.x, operator.home.y)
    assert host.public_location != host.location


def test_a_shop_still_needs_its_place(admin_client, ours):
    response = admin_client(ours.staff).post(
        "/admin/pooling/relaypoint/add/",
        {
            "kind": "shop",
            "name": "Kiosk without place",
            "location": "",
            "neighbourhood": ours.neighbourhood.pk,
            "capacity_per_day": 10,
            "opens_at": "08:00",
            "closes_at": "19:00",
        },
    )
    assert response.status_code == 200
    assert not RelayPoint.objects.filter(name="Kiosk without place").exists()


def test_the_rounds_map_draws_a_host_stop_at_its_blur_cell(ours):
    from types import SimpleNamespace

    from geo.privacy import blurred_point
    from panel.rounds import _stop_place
    from pooling.models import DropKind

    host = _host(ours)
    stop = SimpleNamespace(kind=DropKind.HOST, location=host.location, relay_point=host)
    cell = blurred_point(host.location)
    assert _stop_place(stop) == ([cell.x, cell.y], "Chez M")
    home = SimpleNamespace(kind=DropKind.HOME, location=host.location, relay_point=None)
    assert _stop_place(home)[0] == [cell.x, cell.y]
