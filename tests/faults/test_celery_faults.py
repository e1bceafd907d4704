"""Celery through its faults, with real workers on the private PostgreSQL and Redis of tests/faults.

* A worker killed (SIGKILL to the worker and its pool child, as when a machine is lost) in the
  middle of planning a batch: the message was never acknowledged (late acks), so once it has been
  unacknowledged for ``CELERY_VISIBILITY_TIMEOUT`` another worker takes it and plans the batch;
  the batch is planned once, and no order is in two batches.
* Redis restarted (killed; it keeps nothing): the worker reconnects by itself and runs the tasks
  sent after the restart.

The other side of a Redis restart, sockets reconnecting and catching up on the events they missed,
is tests/notifications/test_redis_outage.py.
"""

from __future__ import annotations

import time

import pytest
from celery import Celery

from tests.harness import wait_until

# On one pytest-xdist worker with the other fault module: they share one private PostgreSQL.
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

VISIBILITY_TIMEOUT = 4
WORKER = {
    # A planning run lasts seconds (the solver's budget), and a lost message comes back quickly.
    "POOLING_SOLVER_SECONDS": "2.5",
    "POOLING_BASELINE_SECONDS": "0.1",
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


@pytest.fixture
def client_app(fault_stack):
    """The sending side: a Celery app on the private Redis (as the web processes are). Not the
    current app: the project's tasks of later tests in this process still find theirs."""
    app = Celery(
        "faults",
        broker=fault_stack.redis.url,
        backend=fault_stack.redis.url,
        set_as_current=False,
    )
    app.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}
    app.conf.broker_connection_retry_on_startup = True
    yield app
    app.close()


def batch_state(stack, batch_id: int) -> tuple[str, int, str]:
    ((status, version, stage),) = stack.sql(
        "SELECT status, version, progress_stage FROM pooling_batch WHERE id = %s", batch_id
    )
    return status, version, stage


def test_worker_killed_mid_planning_the_plan_runs_again_once(fault_stack, client_app):
    batch_id = fault_stack.data["batches"]["kill"]
    orders = fault_stack.data["orders"]["kill"]
    first = fault_stack.worker("first", **WORKER)
    result = client_app.send_task("pooling.batch_plan", args=[batch_id])

    # Killed while the solver works: the claim is done, nothing saved yet.
    wait_until(lambda: batch_state(fault_stack, batch_id)[2] == "solving", timeout=60)
    first.kill()
    killed = time.monotonic()
    assert batch_state(fault_stack, batch_id) == ("planning", 1, "solving")

    second = fault_stack.worker("second", **WORKER)
    wait_until(lambda: batch_state(fault_stack, batch_id)[1] == 2, timeout=30, interval=0.05)
    again = time.monotonic() - killed
    outcome = result.get(timeout=60)
    done = time.monotonic() - killed
    assert outcome == {"ok": True, "batch_id": batch_id, "status": "planned", "version": 2}
    assert "pooling.batch_plan" in second.output()

    # Planned once: one version landed, with every order in it, each in one round's stop.
    assert batch_state(fault_stack, batch_id)[:2] == ("planned", 2)
    held = fault_stack.sql(
        "SELECT a.order_id, a.batch_id, s.route_id FROM pooling_assignment a "
        "LEFT JOIN pooling_stop s ON s.id = a.stop_id WHERE a.released_at IS NULL "
        "AND a.order_id = ANY(%s)",
        orders,
    )
    assert sorted(order for order, _, _ in held) == sorted(orders)
    assert {batch for _, batch, _ in held} == {batch_id}
    assert all(route is not None for _, _, route in held)
    # No order in two batches, anywhere (the partial unique index makes sure of it).
    assert not fault_stack.sql(
        "SELECT order_id FROM pooling_assignment WHERE released_at IS NULL "
        "GROUP BY order_id HAVING count(*) > 1"
    )
    routes = fault_stack.sql("SELECT r.id FROM pooling_route r WHERE r.batch_id = %s", batch_id)
    assert {route for _, _, route in held} <= {route for (route,) in routes}
    assert fault_stack.sql(
        "SELECT count(*) FROM pooling_order WHERE id = ANY(%s) AND status = 'planned'", orders
    ) == [(len(orders),)]

    # The same message delivered once more (a worker lost after the plan, before its ack) is
    # harmless: the batch is planned and no re-plan was asked.
    repeat = client_app.send_task("pooling.batch_plan", args=[batch_id]).get(timeout=30)
    assert repeat == {"ok": True, "batch_id": batch_id, "skipped": True, "status": "planned"}
    assert batch_state(fault_stack, batch_id)[:2] == ("planned", 2)
    second.stop()
    print(
        f"\n[faults] worker killed mid-plan: the plan ran again {again:.1f} s after the kill "
        f"(visibility timeout {VISIBILITY_TIMEOUT} s, a new worker started meanwhile) and was "
        f"planned {done:.1f} s after the kill"
    )


def test_redis_restarted_the_worker_resumes(fault_stack, client_app):
    batch_id = fault_stack.data["batches"]["resume"]
    worker = fault_stack.worker("resume", **WORKER)
    client_app.send_task("notifications.events_prune").get(timeout=30)

    fault_stack.redis.stop()
    wait_until(lambda: "Connection to broker lost" in worker.output(), timeout=20)
    time.sleep(1.0)
    fault_stack.redis.start()
    back = time.monotonic()

    # A task sent after the restart runs, on the same worker process, without any restart.
    result = client_app.send_task("pooling.batch_plan", args=[batch_id])
    outcome = result.get(timeout=60)
    done = time.monotonic() - back
    assert outcome == {"ok": True, "batch_id": batch_id, "status": "planned", "version": 1}
    assert worker.process.poll() is None
    assert batch_state(fault_stack, batch_id)[:2] == ("planned", 1)
    worker.stop()
    print(f"\n[faults] Redis restarted: a task sent after it was done {done:.1f} s later")
