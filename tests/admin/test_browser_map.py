"""The rounds' map in Debian's Chromium: a volunteer opens a planned day whose legs were computed
and sees the streets (this server's vector tiles) with each round drawn along its real path; the
round sheet prints on A4. Screenshots in var/screenshots/batch-map-*.png and round-sheet.*; every
request stays on the server."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection

from pooling.models import Batch, Route
from pooling.planning.pipeline import batch_plan
from tests.admin.conftest import make_side
from tests.admin.test_browser import SHOTS, Session, browser  # noqa: F401 (the fixture)
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    point,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pixels of the street layer's canvas that are drawn (not transparent), at least.
STREET_PIXELS = 20_000


@pytest.fixture(scope="module", autouse=True)
def _live_server_connections_closed(live_server):
    yield
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


@pytest.fixture
def planned_day(street_graph):
    """Planned before the browser starts (Playwright's loop would stand in the fan-out's way)."""
    ours = make_side("Nord")
    CourierFactory(hub=ours.hub, capacity_units=40, capacity_kg=200, user__display_name="Camille")
    CourierFactory(hub=ours.hub, capacity_units=4, vehicle="foot", user__display_name="Dominique")
    shop = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        name="Kiosque de la gare",
        location=point(*SPOTS[12]),
        operator=ResidentFactory(),
    )
    for i, spot in enumerate(SPOTS[:7]):
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=ours.neighbourhood,
            carrier=["Posti", "DHL", "Bring"][i % 3],
        )
    for spot in SPOTS[13:16]:
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=ours.neighbourhood,
            receive_mode="relay",
            relay_point=shop,
        )
    batch = Batch.objects.create(neighbourhood=ours.neighbourhood, hub=ours.hub, day=DAY)
    batch = batch_plan(batch_id=batch.pk, seconds=2, max_iterations=300)
    assert batch.status == Batch.Status.PLANNED
    return ours, batch


def test_a_volunteer_sees_streets_and_real_paths(live_server, planned_day, browser, settings):  # noqa: F811
    try:
        _journey(live_server, browser, settings, *planned_day)
    finally:
        connection.close()


def _street_pixels(page) -> int:
    return page.evaluate(
        """() => {
        const canvas = document.querySelector('#rounds-map .panel-streets-layer canvas')
          || document.querySelector('#rounds-map canvas.panel-streets-layer');
        if (!canvas) { return -1; }
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let drawn = 0;
        for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { drawn += 1; } }
        return drawn;
    }"""
    )


def _journey(live_server, browser, settings, ours, batch):  # noqa: F811
    settings.MAP_TILE_URL = ""  # no tile server: the streets are this server's
    routes = list(Route.objects.filter(batch=batch).order_by("number", "pk"))
    assert routes
    for route in routes:
        assert route.return_path is not None
        assert all(stop.path is not None for stop in route.stops.all())

    me = Session(browser, live_server.url, "batch-map")
    me.login(ours.staff.email)
    me.goto(f"/admin/rounds/{batch.pk}/")
    me.page.wait_for_selector("#rounds-map[data-ready='1']")
    me.page.wait_for_selector("#rounds-map[data-streets-ready='1']", timeout=30_000)
    target = me.page.locator("#rounds-map")

    # Streets: tiles came from this server and were drawn.
    tiles = [u for u in me.requests if "/api/v1/geo/tiles/streets/" in u]
    assert tiles and all(re.search(r"/streets/1[2-6]/\d+/\d+\.mvt$", u) for u in tiles)
    assert int(target.get_attribute("data-street-tiles")) >= 1
    assert int(target.get_attribute("data-street-features")) > 100
    assert _street_pixels(me.page) > STREET_PIXELS

    # Rounds: along their legs, many more vertices than stops.
    vertices = json.loads(target.get_attribute("data-round-vertices"))
    stops = json.loads(target.get_attribute("data-round-stops"))
    assert target.get_attribute("data-rounds") == str(len(routes))
    assert set(vertices) == {str(n) for n in range(1, len(routes) + 1)}
    for number, route in enumerate(routes, start=1):
        assert stops[str(number)] == route.stops.count()
        assert vertices[str(number)] > 2 * (stops[str(number)] + 1)

    # The legend and OpenStreetMap's credit are on the page.
    assert me.page.locator("#rounds-legend li").count() >= 9
    assert "OpenStreetMap" in me.page.inner_text("#rounds-map .ol-attribution")
    target.screenshot(path=str(SHOTS / "batch-map-streets.png"))
    me.shot("page")

    # The streets switch off and on from the legend.
    me.page.uncheck("#rounds-streets-toggle")
    me.page.wait_for_function(
        "() => !window.voisinageRoundsMap.getLayers().getArray()"
        ".find(l => l.get('name') === 'streets').getVisible()"
    )
    me.page.check("#rounds-streets-toggle")

    # The round sheet: A4, stops in order, parcels to hand over.
    route = routes[0]
    me.goto(f"/admin/rounds/{batch.pk}/sheets/{route.pk}/")
    me.page.wait_for_selector("article.sheet")
    rows = me.page.locator("tr.sheet-stop")
    assert rows.count() == route.stops.count()
    assert [rows.nth(i).get_attribute("data-position") for i in range(rows.count())] == [
        str(s.position) for s in route.stops.order_by("position")
    ]
    me.shot("round-sheet")
    me.page.emulate_media(media="print")
    pdf = me.page.pdf(prefer_css_page_size=True, print_background=False)
    (SHOTS / "round-sheet.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    # A4 (595 x 842 points), and this round of 7 stops or fewer on one page.
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595) < 1 and abs(float(h) - 842) < 1 for w, h in boxes), (
        boxes
    )
    if route.stops.count() <= 7:
        assert re.findall(rb"/Count\s+(\d+)", pdf) == [b"1"]

    # The neighbourhood's form map: the streets as its background too.
    before = len([u for u in me.requests if "/api/v1/geo/tiles/streets/" in u])
    me.page.emulate_media(media="screen")
    me.goto(f"/admin/neighbourhoods/neighbourhood/{ours.neighbourhood.pk}/change/")
    me.page.wait_for_selector(".ol-viewport canvas")
    me.page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/v1/geo/tiles/streets/')).length > 0"
    )
    me.shot("neighbourhood-form")
    assert len([u for u in me.requests if "/api/v1/geo/tiles/streets/" in u]) > before

    assert me.outside() == [], me.outside()
