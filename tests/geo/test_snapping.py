"""Snap on write (geo.snapping): located rows store where they meet the street network, a write
keeps it current, a bulk job redoes it after an import, and nearby reads it instead of snapping
every candidate per query, with the same answers."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command

from accounts.models import User
from accounts.services.users import user_update_profile
from geo import snapping
from geo.graph import get_network
from geo.models import StreetGraph
from geo.network import StreetNetwork
from geo.privacy import blurred_point
from geo.profiles import GRAPH_KEYS
from geo.selectors import nearby_ids, reachable_rows
from geo.services import graph_import
from geo.snapping import SLOT, SnapTable, snap_pending, snapped_tables
from pooling.models import Hub, RelayPoint
from sharing.models import Item
from sharing.selectors import items_reachable
from tests.conftest import HELSINKI_PBF
from tests.geo.test_regions import ALPINE_A, NOWHERE, alpine_town

CENTRE = (24.9410, 60.1690)


def stored(row) -> np.ndarray:
    return np.frombuffer(bytes(row.snap), dtype=SLOT)


def expected_slots(net: StreetNetwork, point: Point) -> np.ndarray:
    return snapping.pack(net, np.array([point.x]), np.array([point.y]))[0]


def scattered_homes(n: int, seed: int = 3) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lons = CENTRE[0] + rng.uniform(-0.012, 0.012, n)
    lats = CENTRE[1] + rng.uniform(-0.006, 0.006, n)
    return list(zip(lons.tolist(), lats.tolist(), strict=True))


def assert_same(got, want) -> None:
    """The same rows in the same order, and the same seconds to within a nanosecond: numpy's
    vector loops may round a point's last bit differently in a batch than alone."""
    assert got.pks == want.pks
    np.testing.assert_allclose(got.seconds, want.seconds, rtol=0, atol=1e-9)


class SnapCalls:
    """Counts the points snapped per call of ``StreetNetwork.snap_many``."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self._real = StreetNetwork.snap_many

    def __enter__(self) -> SnapCalls:
        real = self._real
        sizes = self.sizes

        def counting(net, lons, lats, profile):
            sizes.append(int(np.asarray(lons).size))
            return real(net, lons, lats, profile)

        self._patch = mock.patch.object(StreetNetwork, "snap_many", counting)
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()


def test_every_located_model_stores_its_place():
    assert {t.label for t in snapped_tables()} == {
        "accounts.User",
        "sharing.Item",
        "pooling.RelayPoint",
        "pooling.Hub",
    }
    points = {t.label: t.point for t in snapped_tables()}
    assert points["accounts.User"] == "home"
    assert points["pooling.RelayPoint"] == "public_location"  # what searches reach


def test_a_listed_item_and_its_owner_store_their_places_on_every_profile(street_graph, make_item):
    item = make_item()
    owner = User.objects.get(pk=item.owner_id)
    assert item.snap_graph == owner.snap_graph == street_graph.graph_id
    for row, point in ((item, item.location), (owner, owner.home)):
        row.refresh_from_db()
        got, want = stored(row), expected_slots(street_graph, point)
        assert got.tobytes() == want.tobytes()
        assert (got["edge"] >= 0).all(), "the centre of Helsinki is on every profile's network"
    assert len(bytes(item.snap)) == SLOT.itemsize * len(GRAPH_KEYS) == 80


def test_moving_a_home_moves_its_place_and_its_items_places(street_graph, make_item):
    item = make_item()
    owner = User.objects.get(pk=item.owner_id)
    before_home, before_item = bytes(owner.snap), bytes(item.snap)
    new_home = Point(24.9520, 60.1720, srid=4326)

    from accounts.homes import profile_update

    profile_update(user=owner, home=new_home)
    owner.refresh_from_db()
    item.refresh_from_db()
    assert bytes(owner.snap) != before_home
    assert bytes(owner.snap) == expected_slots(street_graph, new_home).tobytes()
    # The items moved by one UPDATE to the home's blur cell, their places with them.
    assert item.location == blurred_point(new_home)
    assert bytes(item.snap) != before_item
    assert bytes(item.snap) == expected_slots(street_graph, item.location).tobytes()


def test_a_removed_home_leaves_no_place_behind(street_graph, make_resident):
    me = make_resident()
    assert me.snap is not None
    user_update_profile(user=me, home=None)
    me.refresh_from_db()
    assert (me.home, me.snap_graph, me.snap) == (None, None, None)


def test_a_neighbour_host_stores_the_place_of_its_blur_cell_not_the_home(
    street_graph, make_resident
):
    from tests.pooling.factories import RelayPointFactory

    host = make_resident()
    relay = RelayPointFactory(
        kind=RelayPoint.Kind.NEIGHBOUR_HOST, operator=host, location=host.home
    )
    relay.refresh_from_db()
    assert relay.public_location != relay.location
    assert bytes(relay.snap) == expected_slots(street_graph, relay.public_location).tobytes()


def test_a_hub_stores_its_place(street_graph):
    from tests.pooling.factories import HubFactory

    hub = Hub.objects.get(pk=HubFactory().pk)
    assert hub.snap_graph == street_graph.graph_id
    assert bytes(hub.snap) == expected_slots(street_graph, hub.location).tobytes()


def test_a_row_written_before_any_graph_is_snapped_by_the_job(db, make_resident, make_item):
    StreetGraph.objects.all().delete()
    item = make_item()
    assert item.snap_graph is None and item.snap is None  # no graph yet: nothing to snap on
    graph_import(path=HELSINKI_PBF, name="helsinki")
    net = get_network()
    done = snap_pending()
    assert done["sharing.Item"] == 1
    assert done["accounts.User"] == 1
    item.refresh_from_db()
    assert item.snap_graph == net.graph_id
    assert bytes(item.snap) == expected_slots(net, item.location).tobytes()
    assert sum(snap_pending().values()) == 0  # idempotent


@pytest.fixture
def scattered_items(street_graph, make_resident, make_item, neighbourhood):
    me = make_resident(CENTRE)
    for n, home in enumerate(scattered_homes(30)):
        owner = make_resident(home)
        make_item(owner=owner, title=f"Perceuse {n}")
        make_item(owner=owner, title=f"Échelle {n}", category="diy")
    return me


@pytest.mark.parametrize("profile", ["walk", "slow", "wheelchair"])
def test_nearby_with_stored_places_answers_as_snapping_per_query(scattered_items, profile):
    me = scattered_items
    origin = blurred_point(me.home)
    hoods = list(me.memberships.values_list("neighbourhood_id", flat=True))
    with SnapCalls() as calls:
        reach = items_reachable(
            user=me, neighbourhood_ids=hoods, origin=origin, seconds=900, profile=profile
        )
    assert calls.sizes == [1], "only the origin is snapped: the candidates' places are read"
    rows = [
        (pk, p.x, p.y)
        for pk, p in Item.objects.exclude(owner=me).values_list("pk", "location")
        if p.distance(origin) < 0.05
    ]
    again = reachable_rows(origin=origin, seconds=900, profile=profile, rows=rows)
    assert len(reach) >= 20, "a real comparison, not an empty one"
    assert_same(reach, again)


def test_nearby_of_a_queryset_reads_the_stored_places(scattered_items, street_graph):
    origin = Point(*CENTRE, srid=4326)
    with SnapCalls() as calls:
        reach = nearby_ids(
            origin=origin, seconds=900, profile="walk", queryset=User.objects.all(), field="home"
        )
    assert calls.sizes == [1]
    rows = [(pk, p.x, p.y) for pk, p in User.objects.values_list("pk", "home")]
    again = reachable_rows(origin=origin, seconds=900, profile="walk", rows=rows)
    assert len(reach) >= 20
    assert_same(reach, again)


def test_after_an_import_stale_places_are_snapped_per_query_until_the_job_is_done(
    scattered_items, street_graph
):
    me = scattered_items
    origin = blurred_point(me.home)
    hoods = list(me.memberships.values_list("neighbourhood_id", flat=True))

    def search():
        return items_reachable(
            user=me, neighbourhood_ids=hoods, origin=origin, seconds=600, profile="walk"
        )

    before = search()
    old_graph = street_graph.graph_id
    graph_import(path=HELSINKI_PBF, name="helsinki again")
    new = get_network()
    assert new.graph_id != old_graph
    assert not Item.objects.filter(snap_graph=new.graph_id).exists()
    with SnapCalls() as calls:
        during = search()
    assert calls.sizes[0] == 1 and sum(calls.sizes[1:]) >= len(before)  # the old way
    assert_same(during, before)

    progress: list[str] = []
    done = snap_pending(progress=progress.append)
    assert done["sharing.Item"] == Item.objects.count() == 60
    assert any("60 of 60 snapped" in m for m in progress)
    assert set(Item.objects.values_list("snap_graph", flat=True)) == {new.graph_id}
    with SnapCalls() as calls:
        after = search()
    assert calls.sizes == [1]
    assert_same(after, before)
    assert sum(snap_pending().values()) == 0


def test_a_row_moved_while_the_job_runs_keeps_its_own_newer_place(street_graph, make_item):
    first, second = make_item(), make_item(title="Échelle")
    Item.objects.update(snap_graph=None, snap=None)  # as rows written in bulk
    moved_to = Point(24.9500, 60.1650, srid=4326)
    real_pack = snapping.pack
    moves = []

    def pack_then_move(net, lons, lats):
        packed = real_pack(net, lons, lats)
        if not moves:  # meanwhile a request moves the first item: its write snaps the new place
            moves.append(first.pk)
            row = Item.objects.get(pk=first.pk)
            row.location = moved_to
            row.save()
        return packed

    with mock.patch.object(snapping, "pack", pack_then_move):
        done = snap_pending(tables=[SnapTable.of(Item)])
    assert done["sharing.Item"] == 1  # the second; the first was not overwritten
    first.refresh_from_db()
    second.refresh_from_db()
    assert bytes(first.snap) == expected_slots(street_graph, moved_to).tobytes()
    assert bytes(second.snap) == expected_slots(street_graph, second.location).tobytes()


def test_each_region_snaps_its_own_rows(street_graph, tmp_path, make_resident, make_item):
    helsinki = make_item()
    alpine_owner = make_resident(ALPINE_A)
    lost_owner = make_resident(NOWHERE)
    graph_import(path=alpine_town(tmp_path / "alpine.osm"), name="alpine", region="alpine")
    alpine = get_network("alpine")
    Item.objects.update(snap_graph=None, snap=None)
    User.objects.update(snap_graph=None, snap=None)
    snap_pending()
    helsinki.refresh_from_db()
    alpine_owner.refresh_from_db()
    lost_owner.refresh_from_db()
    assert helsinki.snap_graph == street_graph.graph_id
    assert alpine_owner.snap_graph == alpine.graph_id
    assert bytes(alpine_owner.snap) == expected_slots(alpine, alpine_owner.home).tobytes()
    assert lost_owner.snap_graph is None  # in no region: nothing to snap on
    # A write in a region snaps on that region's graph.
    alpine_owner.home = Point(ALPINE_A[0] + 0.001, ALPINE_A[1], srid=4326)
    alpine_owner.save(update_fields=["home"])
    alpine_owner.refresh_from_db()
    assert bytes(alpine_owner.snap) == expected_slots(alpine, alpine_owner.home).tobytes()


def test_an_import_queues_the_job(
    street_graph, make_item, eager_tasks, django_capture_on_commit_callbacks
):
    item = make_item()
    with django_capture_on_commit_callbacks(execute=True):
        graph_import(path=HELSINKI_PBF, name="helsinki again")
    item.refresh_from_db()
    assert item.snap_graph == get_network().graph_id != street_graph.graph_id


def test_the_command_says_what_it_did(street_graph, make_item, capsys):
    make_item()
    Item.objects.update(snap_graph=None, snap=None)
    call_command("snap_places")
    out = capsys.readouterr().out
    assert "sharing.Item: 1 of 1 snapped" in out
    assert "1 rows snapped in" in out
    call_command("snap_places")
    assert "0 rows snapped in" in capsys.readouterr().out


def test_the_read_is_one_statement(scattered_items, django_assert_num_queries):
    me = scattered_items
    hoods = list(me.memberships.values_list("neighbourhood_id", flat=True))
    origin = blurred_point(me.home)
    with django_assert_num_queries(2):  # the active graphs' check, then the candidates
        items_reachable(
            user=me, neighbourhood_ids=hoods, origin=origin, seconds=600, profile="walk"
        )
