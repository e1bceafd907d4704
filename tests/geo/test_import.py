from __future__ import annotations

import gzip
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from geo.graph import get_network, load_network
from geo.models import StreetEdge, StreetGraph, StreetNode
from geo.services import graph_import
from tests.conftest import HELSINKI_PBF
from tests.geo.osm_xml import grid_town

# Each test starts from the active Helsinki graph, whatever ran before it in this process (a
# transactional test elsewhere may have flushed it).
pytestmark = pytest.mark.usefixtures("street_graph")


def active() -> StreetGraph:
    return StreetGraph.objects.get(is_active=True)


@pytest.mark.django_db
def test_import_command_reports_progress_and_counts():
    out = StringIO()
    call_command("import_osm", str(HELSINKI_PBF), "--name", "again", stdout=out)
    text = out.getvalue()
    assert "pass 1/3" in text and "pass 2/3" in text and "pass 3/3" in text
    # --name names the region the extract replaces: a new region here, the default one stays.
    graph = StreetGraph.objects.get(is_active=True, region="again")
    assert graph.name == "again"
    assert StreetGraph.objects.filter(is_active=True, region="default").exists()
    assert f"{graph.edge_count:,} edges" in text
    assert graph.edge_count == StreetEdge.objects.filter(graph=graph).count()
    assert graph.node_count == StreetNode.objects.filter(graph=graph).count()
    assert graph.steps_edge_count == StreetEdge.objects.filter(graph=graph, steps=True).count() > 0
    # Lengths in meters agree with PostGIS's own geodesic length within a few millimetres a km.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(abs(length_m - ST_Length(geom::geography, false)) / greatest(length_m, 1)) "
            "FROM geo_streetedge WHERE graph_id = %s",
            [graph.pk],
        )
        assert cursor.fetchone()[0] < 0.005


@pytest.mark.django_db
def test_missing_file_is_refused_and_graph_unchanged(tmp_path):
    before = active()
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_osm", str(tmp_path / "nope.osm.pbf"), stdout=StringIO())
    assert active() == before
    assert StreetGraph.objects.count() == StreetGraph.objects.filter(status="ready").count()


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"\x00\x01garbage" * 100, b"not an osm file at all"])
def test_corrupt_file_is_refused_and_graph_unchanged(tmp_path, content):
    before = active()
    edges_before = StreetEdge.objects.count()
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(content)
    with pytest.raises(CommandError, match="unchanged"):
        call_command("import_osm", str(bad), stdout=StringIO())
    assert active() == before
    assert StreetEdge.objects.count() == edges_before


@pytest.mark.django_db
def test_truncated_pbf_is_refused(tmp_path):
    before = active()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(HELSINKI_PBF.read_bytes()[:300_000])
    with pytest.raises(CommandError):
        call_command("import_osm", str(cut), stdout=StringIO())
    assert active() == before


@pytest.mark.django_db
def test_osm_and_osm_gz_formats(tmp_path):
    plain = grid_town(tmp_path / "town.osm")
    graph_import(path=plain, name="plain")
    plain_graph = active()
    gz = grid_town(tmp_path / "town.osm.gz")
    with gzip.open(gz) as fh:
        assert b"<osm" in fh.read()
    graph_import(path=gz, name="gz")
    gz_graph = active()
    assert gz_graph.pk != plain_graph.pk
    assert (gz_graph.edge_count, gz_graph.node_count) == (
        plain_graph.edge_count,
        plain_graph.node_count,
    )
    # Ways are cut at shared nodes: 100 and 101 are cut in two, the others are one edge each.
    assert gz_graph.edge_count == 9
    steps = StreetEdge.objects.filter(graph=gz_graph, steps=True)
    assert steps.count() == 2
    oneway = StreetEdge.objects.filter(graph=gz_graph, osm_way_id=101)
    assert set(oneway.values_list("oneway_bike", flat=True)) == {1}
    assert set(oneway.values_list("oneway_car", flat=True)) == {1}
    assert set(
        StreetEdge.objects.filter(graph=gz_graph, osm_way_id=100).values_list("oneway_car", "motor")
    ) == {(0, "")}


@pytest.mark.django_db
def test_only_one_graph_can_be_active():
    graph = active()
    other = StreetGraph.objects.create(name="x", source="x", source_sha256="0" * 64, status="ready")
    with pytest.raises(IntegrityError), transaction.atomic():
        StreetGraph.objects.filter(pk=other.pk).update(is_active=True)
    assert active() == graph


@pytest.mark.django_db
def test_if_changed_skips_the_same_extract():
    graph_import(path=HELSINKI_PBF, name="first")
    first = active()
    result = graph_import(path=HELSINKI_PBF, name="second", if_changed=True)
    assert result.skipped and active() == first
    # A graph stored by an older importer (without the car columns) is imported again.
    StreetGraph.objects.filter(pk=first.pk).update(import_format=1)
    again = graph_import(path=HELSINKI_PBF, name="third", if_changed=True)
    assert not again.skipped and active().name == "third"


@pytest.mark.django_db
def test_process_reloads_when_a_new_graph_lands(tmp_path):
    net = get_network()
    graph_import(path=grid_town(tmp_path / "town.osm"), name="town")
    reloaded = get_network()
    assert reloaded.graph_id != net.graph_id
    assert reloaded.graph_id == active().pk
    assert reloaded.edge_count == 9


@pytest.mark.django_db(transaction=True)
def test_reader_never_sees_half_a_graph(tmp_path):
    """While an import is writing edges, another connection loads the old graph whole."""
    if not StreetGraph.objects.filter(is_active=True).exists():
        graph_import(path=HELSINKI_PBF, name="helsinki")
    old = active()
    writing = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def progress(message: str) -> None:
        if message.startswith("pass 3/3: cutting"):
            writing.set()
            release.wait(30)

    def run_import() -> None:
        try:
            graph_import(path=HELSINKI_PBF, name="new", progress=progress)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run_import)
    thread.start()
    try:
        assert writing.wait(30)
        seen = load_network()
        assert seen is not None
        assert seen.graph_id == old.pk
        assert seen.edge_count == old.edge_count
    finally:
        release.set()
        thread.join(60)
    assert not errors
    new = active()
    assert new.pk != old.pk and new.edge_count == old.edge_count
    seen = load_network()
    assert seen is not None and seen.graph_id == new.pk
