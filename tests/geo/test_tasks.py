from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from backend.celery import app
from geo.models import StreetGraph
from geo.tasks import import_osm_task
from tests.conftest import HELSINKI_PBF

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_import_runs_on_a_real_celery_worker_and_reports_progress(tmp_path):
    """A real worker thread on the Redis broker runs the import; the result names the new graph."""
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        result = import_osm_task.delay(str(HELSINKI_PBF), "from-celery")
        body = result.get(timeout=60)
    assert body["ok"] is True
    graph = StreetGraph.objects.get(is_active=True)
    assert graph.pk == body["graph_id"] and graph.name == "from-celery"
    assert body["edges"] == graph.edge_count > 0


@pytest.mark.django_db(transaction=True)
def test_import_task_reports_a_bad_file(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"garbage" * 10)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        body = import_osm_task.delay(str(bad), "bad").get(timeout=60)
    assert body["ok"] is False and "Cannot read" in body["error"]
