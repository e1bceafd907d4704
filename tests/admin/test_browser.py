"""The association panel in Debian's Chromium, driven by Playwright, against a live server and a
real Celery worker: a volunteer logs in, approves a member, hides a reported item, edits the
neighbourhood on the map widget (tiles unreachable), plans a day and sees its rounds on the map,
then reads the dashboard's charts and finds the database's numbers. Another association's
volunteer can neither see nor change any of it. Every page's requests stay on the server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.utils import translation

from neighbourhoods.models import Membership
from panel import stats
from pooling.models import Batch, BatchImpact, Route
from sharing.models import Item, Report
from sharing.services.items import item_create
from tests.admin.conftest import PASSWORD, make_side
from tests.harness import CeleryWorker, app_env, django_database_url
from tests.pooling.factories import DAY, SPOTS, CourierFactory, OrderFactory, ResidentFactory, point

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _live_server_connections_closed(live_server):
    """The live server's requests leave their connections in the pool: close them, so that
    the test database can be dropped at the end of the session."""
    yield
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


@pytest.fixture
def celery_worker(settings) -> Iterator[CeleryWorker]:
    """A real Celery worker process on the test database and this test process's Redis, as in
    production (its log stays in var/log)."""
    env = app_env(
        database_url=django_database_url(),
        redis_url=settings.REDIS_URL,
        POOLING_SOLVER_SECONDS="2",
        POOLING_SOLVER_MAX_ITERATIONS="300",
        POOLING_BASELINE_SECONDS="1",
        PUSH_ENABLED="false",
        TIME_ZONE=settings.TIME_ZONE,
        DB_POOL="false",
    )
    log = ROOT / "var" / "log" / "test-admin-celery.log"
    log.unlink(missing_ok=True)
    with CeleryWorker(env, pool="solo", loglevel="INFO", log=log) as worker:
        yield worker


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/system-deps.sh installs Debian's chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


class Session:
    """One person's browser tab, recording every request it makes."""

    def __init__(self, browser, base: str, name: str):
        self.base = base
        self.name = name
        self.context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.set_default_timeout(20_000)

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def login(self, email: str) -> None:
        self.goto("/admin/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(self.base + "/admin/")

    def shot(self, step: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{step}.png"), full_page=True)

    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.base + "/", "data:", "blob:"))]


def test_a_volunteer_runs_the_neighbourhood(
    live_server, browser, settings, street_graph, celery_worker
):
    try:
        _journey(live_server, browser, settings)
    finally:
        # Playwright's greenlets gave this test its own database connection: give it back.
        connection.close()


def _journey(live_server, browser, settings):
    # Tiles from an address of this server that has none: the map stays blank, the forms work.
    settings.MAP_TILE_URL = live_server.url + "/no-tiles/{z}/{x}/{y}.png"
    ours, theirs = make_side("Nord"), make_side("Sud")
    CourierFactory(hub=ours.hub, capacity_units=20)
    CourierFactory(hub=ours.hub, capacity_units=6, vehicle="foot")
    for i, spot in enumerate(SPOTS[:8]):
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=ours.neighbourhood,
            carrier=["Posti", "DHL", "Bring"][i % 3],
        )

    me = Session(browser, live_server.url, "volunteer")
    me.login(ours.staff.email)
    assert "Tableau de bord" in me.page.content()
    me.shot("01-home")

    # 1. Approve the member who waits.
    me.goto("/admin/neighbourhoods/membership/?status__exact=pending")
    me.shot("02a-members-waiting")
    me.page.check(f"input[name=_selected_action][value='{ours.pending.pk}']")
    me.page.select_option("select[name=action]", "approve")
    me.page.click("button[name=index]")
    me.page.wait_for_selector(".messagelist .success")
    ours.pending.refresh_from_db()
    assert ours.pending.status == Membership.Status.ACTIVE and ours.pending.decided_by == ours.staff
    me.shot("02-member-approved")

    # 2. Hide the reported item from the moderation queue.
    me.goto("/admin/sharing/report/?status__exact=open")
    assert ours.item.title in me.page.content()
    me.shot("03a-moderation-queue")
    me.page.check(f"input[name=_selected_action][value='{ours.report.pk}']")
    me.page.select_option("select[name=action]", "hide")
    me.page.click("button[name=index]")
    me.page.wait_for_selector(".messagelist .success")
    assert Item.objects.get(pk=ours.item.pk).status == Item.Status.HIDDEN
    assert Report.objects.get(pk=ours.report.pk).status == Report.Status.ACTIONED
    me.shot("03-item-hidden")

    # 3. The neighbourhood on the map widget: served by the project, saved without tiles.
    me.goto(f"/admin/neighbourhoods/neighbourhood/{ours.neighbourhood.pk}/change/")
    me.page.wait_for_selector(".ol-viewport canvas, .ol-viewport .ol-layer")
    me.page.fill("#id_name", "Nord renommé")
    me.shot("04-neighbourhood-map")
    me.page.click("input[name=_save]")
    me.page.wait_for_selector(".messagelist .success")
    ours.neighbourhood.refresh_from_db()
    assert ours.neighbourhood.name == "Nord renommé"
    assert ours.neighbourhood.area.extent == pytest.approx((24.90, 60.15, 24.98, 60.19), abs=1e-6)
    me.goto(f"/admin/pooling/hub/{ours.hub.pk}/change/")
    me.page.wait_for_selector(".ol-viewport")
    me.page.click("input[name=_save]")
    me.page.wait_for_selector(".messagelist .success")

    # 4. Plan the day: the Celery worker computes it, the page follows and draws the rounds.
    me.goto("/admin/rounds/plan/")
    me.page.select_option("#id_neighbourhood", str(ours.neighbourhood.pk))
    me.page.fill("#id_day", DAY.isoformat())
    me.page.click("input[name=plan]")
    me.page.wait_for_selector(".panel-round", timeout=60_000)
    me.page.wait_for_selector("#rounds-map[data-ready='1']")
    batch = Batch.objects.get(neighbourhood=ours.neighbourhood)
    assert batch.status == Batch.Status.PLANNED and batch.requested_by == ours.staff
    routes = Route.objects.filter(batch=batch).count()
    assert routes >= 1
    assert me.page.locator(".panel-round").count() == routes
    assert me.page.get_attribute("#rounds-map", "data-rounds") == str(routes)
    stops = me.page.locator(".panel-stop").count()
    assert stops == sum(r.stops.count() for r in batch.routes.all())
    impact = BatchImpact.objects.get(batch=batch)
    shown = me.page.inner_text("td[data-impact=km]").strip()
    assert shown == str(round(impact.vehicle_meters / 1000, 2))
    assert me.page.inner_text("td[data-impact=orders]").strip() == str(impact.orders) == "8"
    me.shot("05-rounds-map")

    # 5. The dashboard: charts drawn with the database's numbers.
    for owner, title, category in [
        (ours.members[1], "Escabeau", "diy"),
        (ours.members[1], "Sécateur", "garden"),
        (ours.members[2], "Tondeuse", "garden"),
    ]:
        item_create(owner=owner, title=title, category=category)
    me.goto("/admin/dashboard/")
    me.page.wait_for_selector("#chart-items")
    drawn = {
        el.get_attribute("data-label"): int(el.get_attribute("data-value"))
        for el in me.page.locator("#chart-items rect.bar").all()
    }
    expected = dict(
        Item.objects.filter(owner__memberships__neighbourhood=ours.neighbourhood, status="active")
        .values_list("category")
        .annotate(n=Count("pk"))
    )
    assert expected == {"diy": 1, "garden": 2}  # the hidden drill is not counted
    with translation.override("fr"):
        table = stats.items_by_category([ours.neighbourhood.pk])
    labels = {row["category"]: row["label"] for row in table.rows}
    assert drawn == {labels[key]: n for key, n in expected.items()}
    month = DAY.strftime("%Y-%m")
    impact_table = stats.impact_monthly([ours.neighbourhood.pk])
    column = impact_table.values("month").index(month)
    orders_bars = me.page.locator("#chart-orders rect.bar[data-series=orders]").all()
    assert (
        int(orders_bars[column].get_attribute("data-value"))
        == BatchImpact.objects.filter(batch__neighbourhood=ours.neighbourhood).aggregate(
            n=Sum("orders")
        )["n"]
        == 8
    )
    km_bars = me.page.locator("#chart-km rect.bar[data-series=km]").all()
    assert float(km_bars[column].get_attribute("data-value")) == round(
        impact.vehicle_meters / 1000, 1
    )
    assert me.page.inner_text("[data-total=orders_pooled] strong") == "8"
    me.shot("06-dashboard")
    with me.page.expect_download() as download:
        me.page.click("#section-impact a.panel-csv")
    assert month in Path(download.value.path()).read_text()

    assert me.outside() == [], me.outside()

    # 6. Another association's volunteer: nothing of ours to see or change.
    other = Session(browser, live_server.url, "other-association")
    other.login(theirs.staff.email)
    for path in (
        f"/admin/neighbourhoods/membership/{ours.pending.pk}/change/",
        f"/admin/sharing/report/{ours.report.pk}/change/",
        f"/admin/neighbourhoods/neighbourhood/{ours.neighbourhood.pk}/change/",
        f"/admin/rounds/{batch.pk}/",
        f"/admin/rounds/{batch.pk}/progress.json",
        f"/admin/dashboard/?neighbourhood={ours.neighbourhood.pk}",
        f"/admin/dashboard/impact.csv?neighbourhood={ours.neighbourhood.pk}",
    ):
        assert other.goto(path).status == 404, path
    other.goto("/admin/sharing/report/")
    assert ours.item.title not in other.page.content()
    other.goto("/admin/pooling/batch/")
    assert "Nord renommé" not in other.page.content()
    other.goto("/admin/dashboard/")
    assert other.page.inner_text("[data-total=orders_pooled] strong") == "0"
    other.shot("07-other-dashboard")
    # Their attempt at our pending rows through the action changes nothing.
    other.goto("/admin/sharing/report/")
    assert (
        other.page.locator(f"input[name=_selected_action][value='{ours.report.pk}']").count() == 0
    )
    assert other.outside() == [], other.outside()
    assert Batch.objects.filter(neighbourhood=ours.neighbourhood).count() == 1
