"""The street graph's vector tiles: GET /api/v1/geo/tiles/streets/{z}/{x}/{y}.mvt (public)."""

from __future__ import annotations

import gzip
import math

import pytest

from backend.throttling import throttle_reset
from geo.models import StreetEdge, StreetGraph
from tests.geo.mvt import decode

URL = "/api/v1/geo/tiles/streets/{z}/{x}/{y}.mvt"
MVT = "application/vnd.mapbox-vector-tile"
MAIN = {"main"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def get(client, z, x, y, **headers):
    return client.get(URL.format(z=z, x=x, y=y), **headers)


# The middle of the demo graph (central Helsinki).
CENTRE = (24.9440, 60.1700)


@pytest.fixture(autouse=True)
def _fresh_counts():
    throttle_reset()
    yield
    throttle_reset()


@pytest.mark.usefixtures("street_graph")
class TestTile:
    def test_a_tile_of_the_graph_holds_its_ways_with_their_kind(self, api_client):
        x, y = tile_of(*CENTRE, 15)
        response = get(api_client, 15, x, y)
        assert response.status_code == 200
        assert response["Content-Type"] == MVT
        assert response["Cache-Control"] == "public, max-age=3600"
        graph = StreetGraph.objects.get(is_active=True)
        assert response["ETag"] == f'"streets-f1-g{graph.pk}-15-{x}-{y}"'
        layers = decode(response.content)
        assert list(layers) == ["streets"]
        streets = layers["streets"]
        assert streets.extent == 4096
        assert len(streets.features) > 100
        assert {f.type for f in streets.features} == {"LineString"}
        kinds = {f.properties["kind"] for f in streets.features}
        assert {"main", "street", "pedestrian", "path"} <= kinds
        assert kinds <= {"main", "street", "pedestrian", "path", "cycleway", "steps"}
        for feature in streets.features:
            assert set(feature.properties) == {"kind", "highway", "steps", "area"}
            assert feature.properties["steps"] is (feature.properties["kind"] == "steps")
            assert feature.vertices >= 2
        # Each feature is a way (its edges merged): fewer features than edges in the tile.
        highways = {f.properties["highway"] for f in streets.features}
        assert "primary" in highways and "footway" in highways

    def test_steps_are_marked_from_zoom_15(self, api_client):
        edge = StreetEdge.objects.filter(graph__is_active=True, steps=True).order_by("pk").first()
        middle = edge.geom.interpolate_normalized(0.5)
        x, y = tile_of(middle.x, middle.y, 15)
        features = decode(get(api_client, 15, x, y).content)["streets"].features
        steps = [f for f in features if f.properties["kind"] == "steps"]
        assert steps and all(f.properties["steps"] is True for f in steps)
        assert {f.properties["highway"] for f in steps} == {"steps"}
        x, y = tile_of(middle.x, middle.y, 14)
        features = decode(get(api_client, 14, x, y).content)["streets"].features
        assert features and not [f for f in features if f.properties["kind"] in ("steps", "path")]

    @pytest.mark.parametrize("z", [12, 13])
    def test_low_zooms_keep_the_main_streets_only(self, api_client, z):
        x, y = tile_of(*CENTRE, z)
        response = get(api_client, z, x, y)
        assert response.status_code == 200
        features = decode(response.content)["streets"].features
        assert features
        assert {f.properties["kind"] for f in features} == MAIN

    def test_a_tile_outside_the_graph_is_empty(self, api_client):
        x, y = tile_of(2.3522, 48.8566, 15)  # Paris: no street of the graph
        response = get(api_client, 15, x, y)
        assert response.status_code == 200
        assert response["Content-Type"] == MVT
        assert response.content == b""
        assert decode(response.content) == {}

    @pytest.mark.parametrize(
        ("path", "status", "code"),
        [
            (URL.format(z=11, x=1165, y=592), 404, "tile_not_served"),
            (URL.format(z=17, x=74616, y=37938), 404, "tile_not_served"),
            (URL.format(z=0, x=0, y=0), 404, "tile_not_served"),
            (URL.format(z=99999999999999999999, x=0, y=0), 404, "tile_not_served"),
            (URL.format(z=15, x=32768, y=0), 400, "invalid_tile"),
            (URL.format(z=15, x=0, y=99999999999999999999), 400, "invalid_tile"),
            (URL.format(z=15, x=-1, y=0), 404, "not_found"),
            (URL.format(z="a", x=0, y=0), 404, "not_found"),
            ("/api/v1/geo/tiles/streets/15/1/2.png", 404, "not_found"),
        ],
    )
    def test_a_tile_that_is_not_served_is_refused_in_json(self, api_client, path, status, code):
        response = api_client.get(path)
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == code
        if code == "tile_not_served":
            assert response.json()["detail"] == "Street tiles are served from zoom 12 to 16."

    def test_the_etag_spares_the_tile_and_a_new_graph_changes_it(self, api_client):
        x, y = tile_of(*CENTRE, 16)
        first = get(api_client, 16, x, y)
        again = get(api_client, 16, x, y, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == first["ETag"]
        StreetGraph.objects.filter(is_active=True).update(is_active=False)
        StreetGraph.objects.create(
            name="empty", source="-", source_sha256="0" * 64, status="ready", is_active=True
        )
        after = get(api_client, 16, x, y, HTTP_IF_NONE_MATCH=first["ETag"])
        assert after.status_code == 200
        assert after["ETag"] != first["ETag"]
        assert after.content == b""  # the new graph has no street there

    def test_gzip_when_the_client_takes_it(self, api_client):
        x, y = tile_of(*CENTRE, 15)
        plain = get(api_client, 15, x, y)
        zipped = get(api_client, 15, x, y, HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
        assert zipped["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in zipped["Vary"]
        assert gzip.decompress(zipped.content) == plain.content
        assert len(zipped.content) < len(plain.content)
        assert zipped["ETag"] != plain["ETag"]
        refused = get(api_client, 15, x, y, HTTP_ACCEPT_ENCODING="gzip;q=0")
        assert "Content-Encoding" not in refused
        assert refused.content == plain.content

    def test_public_whatever_the_client_accepts(self, client):
        x, y = tile_of(*CENTRE, 15)
        response = client.get(URL.format(z=15, x=x, y=y), HTTP_ACCEPT="application/x-protobuf")
        assert response.status_code == 200
        assert response["Content-Type"] == MVT
        assert len(response.content) > 1000

    def test_tiles_are_limited_per_address(self, api_client, settings):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "tiles": "3/min"}
        x, y = tile_of(*CENTRE, 15)
        for _ in range(3):
            assert get(api_client, 15, x, y).status_code == 200
        refused = get(api_client, 15, x, y)
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled"
