from __future__ import annotations

import pytest

# Two addresses in central Helsinki (lat, lon), on the demo graph.
A = "60.1699,24.9384"
B = "60.1675,24.9460"


@pytest.mark.usefixtures("street_graph")
class TestRoute:
    def test_walking_route(self, auth_client):
        response = auth_client.get("/api/v1/geo/route", {"from": A, "to": B, "profile": "walk"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["profile"] == "walk"
        assert body["geometry"]["type"] == "LineString"
        first, last = body["geometry"]["coordinates"][0], body["geometry"]["coordinates"][-1]
        assert first == pytest.approx([24.9384, 60.1699]) and last == pytest.approx(
            [24.9460, 60.1675]
        )
        assert 450 < body["meters"] < 1500
        assert body["seconds"] == pytest.approx(body["meters"] / (5 / 3.6), abs=1)
        assert body["minutes"] * 60 >= body["seconds"]

    def test_slow_profile_takes_longer_on_the_same_path(self, auth_client):
        walk = auth_client.get("/api/v1/geo/route", {"from": A, "to": B, "profile": "walk"}).json()
        slow = auth_client.get("/api/v1/geo/route", {"from": A, "to": B, "profile": "slow"}).json()
        assert slow["meters"] == walk["meters"]
        assert slow["seconds"] == pytest.approx(walk["seconds"] * 5 / 3, abs=2)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "91,24.9", "to": B}, "from"),
            ({"from": A, "to": "60.1,181"}, "to"),
            ({"from": "nan,24.9", "to": B}, "from"),
            ({"from": "60.1;24.9", "to": B}, "from"),
            ({"from": A}, "to"),
            ({"from": A, "to": B, "profile": "rocket"}, "profile"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, auth_client, params, field):
        response = auth_client.get("/api/v1/geo/route", params)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid"
        assert field in body["fields"]

    def test_point_off_the_graph_is_a_400(self, auth_client):
        response = auth_client.get("/api/v1/geo/route", {"from": "48.8566,2.3522", "to": B})
        assert response.status_code == 400
        assert response.json()["code"] == "off_graph"

    def test_errors_speak_french_when_asked(self, auth_client):
        auth_client.credentials(HTTP_ACCEPT_LANGUAGE="fr")
        response = auth_client.get("/api/v1/geo/route", {"from": "48.8566,2.3522", "to": B})
        assert response.status_code == 400
        assert (
            response.json()["detail"]
            == "Ce point est trop loin de toute voie praticable pour ce profil."
        )
        auth_client.credentials(HTTP_ACCEPT_LANGUAGE="en")
        english = auth_client.get("/api/v1/geo/route", {"from": "48.8566,2.3522", "to": B})
        assert (
            english.json()["detail"] == "This point is too far from any way this profile can use."
        )

    def test_anonymous_is_refused(self, api_client):
        response = api_client.get("/api/v1/geo/route", {"from": A, "to": B})
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.usefixtures("street_graph")
class TestIsochroneAndMatrix:
    def test_isochrone_contains_its_origin_and_grows_with_time(self, auth_client):
        from django.contrib.gis.geos import GEOSGeometry, Point

        small = auth_client.get("/api/v1/geo/isochrone", {"at": A, "minutes": 3}).json()
        large = auth_client.get("/api/v1/geo/isochrone", {"at": A, "minutes": 10}).json()
        g_small = GEOSGeometry(str(small["geometry"]).replace("'", '"'))
        g_large = GEOSGeometry(str(large["geometry"]).replace("'", '"'))
        assert g_small.geom_type in {"Polygon", "MultiPolygon"}
        assert g_small.contains(Point(24.9384, 60.1699))
        assert g_large.area > 3 * g_small.area

    @pytest.mark.parametrize("minutes", ["0", "-5", "1000", "soon"])
    def test_isochrone_bad_minutes(self, auth_client, minutes):
        response = auth_client.get("/api/v1/geo/isochrone", {"at": A, "minutes": minutes})
        assert response.status_code == 400 and "minutes" in response.json()["fields"]

    def test_matrix(self, auth_client):
        points = [[24.9384, 60.1699], [24.9460, 60.1675], [24.9410, 60.1710], [2.35, 48.85]]
        response = auth_client.post(
            "/api/v1/geo/matrix", {"points": points, "profile": "walk"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        seconds, meters = body["seconds"], body["meters"]
        assert body["snapped"] == [True, True, True, False]
        for i in range(3):
            assert seconds[i][i] == 0
            assert seconds[i][3] is None and seconds[3][i] is None
        route = auth_client.get("/api/v1/geo/route", {"from": A, "to": B}).json()
        assert meters[0][1] == pytest.approx(route["meters"], abs=1)
        assert meters[0][1] == pytest.approx(meters[1][0], abs=1)  # walking is symmetric

    def test_matrix_too_large_or_malformed(self, auth_client):
        too_many = {"points": [[24.93, 60.17]] * 51}
        assert auth_client.post("/api/v1/geo/matrix", too_many, format="json").status_code == 400
        for bad in (
            {"points": [[24.93]]},
            {"points": [[24.93, 95], [24.9, 60.1]]},
            {"points": "x"},
            {},
        ):
            response = auth_client.post("/api/v1/geo/matrix", bad, format="json")
            assert response.status_code == 400, bad
            assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_no_graph_is_a_503(auth_client):
    from geo.models import StreetGraph

    StreetGraph.objects.update(is_active=False)
    response = auth_client.get("/api/v1/geo/route", {"from": A, "to": B})
    assert response.status_code == 503
    assert response.json()["code"] == "street_graph_unavailable"


@pytest.mark.usefixtures("street_graph")
def test_readyz_reports_database_redis_and_graph(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["database"] is True and checks["redis"] is True
    assert checks["street_graph"]["loaded"] is True
