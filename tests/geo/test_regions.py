"""Two regions at once: the Helsinki extract (the default region) and a synthetic town far from it
(region "alpine"); nearby, routes and matrices in each, points in neither, re-imports, the
regions a process serves, and the graphs' shared array files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from scipy.sparse.csgraph import dijkstra

from accounts.models import User
from geo import graphfile
from geo.graph import (
    OutsideRegionsError,
    RegionNotServedError,
    get_network,
    load_network,
    network_for_point,
    region_of_neighbourhood,
    region_of_point,
)
from geo.models import StreetGraph
from geo.network import OffGraphError
from geo.profiles import get_profile
from geo.selectors import nearby_ids, route_between, travel_matrix
from geo.services import graph_import
from tests.geo.osm_xml import write_osm

HELSINKI_A = (24.9384, 60.1699)
HELSINKI_B = (24.9460, 60.1675)
# The synthetic town: a 12 x 12 grid of streets 100 m apart, south-west corner here.
ALPINE_LON, ALPINE_LAT = 9.52, 47.14
DLON = 100 / (111_195 * np.cos(np.radians(ALPINE_LAT)))
DLAT = 100 / 111_195
ALPINE_A = (ALPINE_LON + 1.2 * DLON, ALPINE_LAT + 1.1 * DLAT)
ALPINE_B = (ALPINE_LON + 9.3 * DLON, ALPINE_LAT + 8.2 * DLAT)
NOWHERE = (2.35, 48.85)  # Paris: in neither region


def alpine_town(path):
    side = 12
    nodes = {}
    for i in range(side):
        for j in range(side):
            nodes[1 + i * side + j] = (ALPINE_LON + j * DLON, ALPINE_LAT + i * DLAT)
    ways = []
    for i in range(side):
        ways.append((1000 + i, [1 + i * side + j for j in range(side)], {"highway": "residential"}))
        ways.append((2000 + i, [1 + j * side + i for j in range(side)], {"highway": "residential"}))
    return write_osm(path, nodes, ways)


@pytest.fixture
def two_regions(street_graph, tmp_path):
    graph_import(path=alpine_town(tmp_path / "alpine.osm"), name="alpine", region="alpine")
    return {"default": get_network("default"), "alpine": get_network("alpine")}


@pytest.mark.django_db
def test_each_point_uses_its_regions_graph(two_regions):
    assert set(StreetGraph.objects.filter(is_active=True).values_list("region", flat=True)) == {
        "default",
        "alpine",
    }
    assert region_of_point(*HELSINKI_A) == "default"
    assert region_of_point(*ALPINE_A) == "alpine"
    assert network_for_point(*ALPINE_A) is two_regions["alpine"]
    assert network_for_point(*HELSINKI_A) is two_regions["default"]
    # Without a region, callers get the default one.
    assert get_network() is two_regions["default"]


@pytest.mark.django_db
@pytest.mark.parametrize(("a", "b"), [(HELSINKI_A, HELSINKI_B), (ALPINE_A, ALPINE_B)])
def test_routes_and_matrices_in_each_region(two_regions, a, b):
    route = route_between(start=a, end=b, profile="walk")
    coords = list(route.geometry.coords)
    assert coords[0] == pytest.approx(a) and coords[-1] == pytest.approx(b)
    matrix = travel_matrix(points=[a, b], profile="walk")
    assert matrix.snapped == [True, True]
    assert matrix.meters[0][1] == pytest.approx(route.meters, abs=0.5)


@pytest.mark.django_db
def test_alpine_grid_route_is_the_manhattan_distance(two_regions):
    route = route_between(start=ALPINE_A, end=ALPINE_B, profile="walk")
    # From (1.2, 1.1) to (9.3, 8.2) blocks of 100 m along the grid, plus the short approaches.
    # From (1.2, 1.1) to (9.3, 8.2) in blocks of 100 m: 10 m to the street at 1, along it to
    # 9, up to 8, along to 9.3 and 20 m to the door.
    assert route.meters == pytest.approx(10 + (9.3 - 1.2) * 100 + (8 - 1) * 100 + 20, rel=0.01)


@pytest.mark.django_db
@pytest.mark.parametrize("origin", [HELSINKI_A, ALPINE_A])
def test_nearby_in_each_region(two_regions, origin):
    rng = np.random.default_rng(5)
    homes = []
    for i, (lon, lat) in enumerate([HELSINKI_A, ALPINE_A]):
        for k in range(20):
            homes.append(
                User(
                    email=f"region{i}-{k}@example.org",
                    home=Point(
                        lon + float(rng.uniform(-0.004, 0.004)),
                        lat + float(rng.uniform(-0.002, 0.002)),
                        srid=4326,
                    ),
                )
            )
    User.objects.bulk_create(homes)
    residents = User.objects.filter(email__startswith="region")
    found = nearby_ids(
        origin=Point(*origin, srid=4326),
        seconds=900,
        profile="walk",
        queryset=residents,
        field="home",
    )
    assert len(found) > 5
    mine = "region0-" if origin == HELSINKI_A else "region1-"
    emails = User.objects.filter(pk__in=found.pks).values_list("email", flat=True)
    assert all(e.startswith(mine) for e in emails)


@pytest.mark.django_db
def test_a_point_in_neither_region_is_a_400(two_regions, auth_client):
    with pytest.raises(OutsideRegionsError):
        region_of_point(*NOWHERE)
    with pytest.raises(OffGraphError):  # callers that catch off-graph points catch these too
        nearby_ids(
            origin=Point(*NOWHERE, srid=4326),
            seconds=600,
            profile="walk",
            queryset=User.objects.all(),
            field="home",
        )
    response = auth_client.get(
        "/api/v1/geo/route",
        {"from": f"{NOWHERE[1]},{NOWHERE[0]}", "to": f"{HELSINKI_A[1]},{HELSINKI_A[0]}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "outside_regions"
    auth_client.credentials(HTTP_ACCEPT_LANGUAGE="fr")
    response = auth_client.get(
        "/api/v1/geo/route",
        {"from": f"{NOWHERE[1]},{NOWHERE[0]}", "to": f"{HELSINKI_A[1]},{HELSINKI_A[0]}"},
    )
    assert "hors de toutes les régions" in response.json()["detail"]


@pytest.mark.django_db
def test_a_far_point_with_one_region_is_off_its_graph(street_graph):
    """A town's own deployment (one region) answers as it always did."""
    assert region_of_point(*NOWHERE) == "default"


@pytest.mark.django_db
def test_reimporting_one_region_leaves_the_other_active_and_loaded(two_regions, tmp_path):
    alpine = two_regions["alpine"]
    old_default = two_regions["default"]
    graph_import(path=alpine_town(tmp_path / "again.osm"), name="again", region="default")
    assert get_network("alpine") is alpine  # not reloaded
    new_default = get_network("default")
    assert new_default.graph_id != old_default.graph_id
    assert new_default.name == "again"
    active = dict(StreetGraph.objects.filter(is_active=True).values_list("region", "pk"))
    assert active == {"default": new_default.graph_id, "alpine": alpine.graph_id}


@pytest.mark.django_db
def test_geo_regions_restricts_what_a_process_serves(two_regions, settings, auth_client):
    settings.GEO_REGIONS = ["alpine"]
    assert route_between(start=ALPINE_A, end=ALPINE_B, profile="walk").meters > 0
    with pytest.raises(RegionNotServedError):
        route_between(start=HELSINKI_A, end=HELSINKI_B, profile="walk")
    with pytest.raises(RegionNotServedError):
        get_network("default")
    assert get_network() is two_regions["alpine"]
    response = auth_client.get(
        "/api/v1/geo/route",
        {"from": f"{HELSINKI_A[1]},{HELSINKI_A[0]}", "to": f"{HELSINKI_B[1]},{HELSINKI_B[0]}"},
    )
    assert response.status_code == 421
    body = response.json()
    assert body["code"] == "region_not_served"
    assert body["fields"]["region"] == "default"


@pytest.mark.django_db
def test_import_rejects_a_bad_region_name(street_graph, tmp_path):
    from geo.services import ExtractError

    with pytest.raises(ExtractError):
        graph_import(path=alpine_town(tmp_path / "x.osm"), name="x", region="../etc")


@pytest.mark.django_db
def test_neighbourhood_region_follows_its_area(two_regions):
    class Area:
        def __init__(self, lon, lat):
            square = Polygon.from_bbox((lon, lat, lon + 0.001, lat + 0.001))
            self.area = MultiPolygon(square, srid=4326)

    assert region_of_neighbourhood(Area(*ALPINE_A)) == "alpine"
    assert region_of_neighbourhood(Area(*HELSINKI_A)) == "default"


@pytest.mark.django_db
def test_graph_files_are_mapped_read_only_and_searched_without_copies(two_regions):
    net = two_regions["alpine"]
    for name, array in net.arrays.items():
        assert isinstance(array.base, np.memmap), name
        assert not array.flags.writeable, name
    for key, pg in net.graphs.items():
        assert pg.csr.indices.dtype == np.int32 and pg.csr.indptr.dtype == np.int32
        assert pg.csr.data.dtype == np.float64
        # The CSR wraps the mapped arrays themselves.
        assert np.shares_memory(pg.csr.data, net.arrays[f"{key}.data"])
    walk = net.graphs["walk"]
    # scipy's search accepts the mapped, read-only arrays as they are.
    assert np.isfinite(dijkstra(walk.csr, indices=0, limit=500)).sum() > 1
    # The wheelchair graph shares the walking one's structure.
    assert net.graphs["wheelchair"].csr.indices is walk.csr.indices or np.shares_memory(
        net.graphs["wheelchair"].csr.indices, walk.csr.indices
    )
    assert net.snap(*ALPINE_A, get_profile("wheelchair")).edge >= 0


@pytest.mark.django_db
def test_a_process_builds_missing_files_once(two_regions):
    graph = StreetGraph.objects.get(is_active=True, region="alpine")
    path = graphfile.graph_dir(graphfile.GraphKey.of(graph.pk, graph.created_at))
    assert (path / "meta.json").exists()  # written by the import
    shutil.rmtree(path)
    net = load_network("alpine")
    assert net is not None and (path / "meta.json").exists()
    assert net.graph_id == graph.pk and net.edge_count == graph.edge_count
    route = net.route(
        net.snap(*ALPINE_A, get_profile("walk")),
        net.snap(*ALPINE_B, get_profile("walk")),
        get_profile("walk"),
        ALPINE_A,
        ALPINE_B,
    )
    assert route.meters == pytest.approx(1540, rel=0.01)
