"""The permanence in Debian's Chromium: a volunteer registers a resident without a smartphone as an
assisted member (consent ticked, the address geocoded by the local test geocoder), lists an object
for her, finds a neighbour's drill near her home with her walking profile and asks to borrow it;
the neighbour accepts in the app (real HTTP to the live server, with a JWT); the volunteer types
the code the neighbour's phone shows and the handover is done. The neighbour's app shows the
member, never the volunteer. Then the volunteer prints her own sheet (her loan, until when) and the
noticeboard of the library near her home (her shears on it, with their code): both PDFs are read
back (pypdf) and their first pages rendered (pypdfium2). Screenshots and sheets in
var/screenshots/assisted-*.png and .pdf.

The journey is a list of steps sharing one ``Journey`` (``STEPS``)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import formats, timezone, translation

from accounts.models import Consent, User
from assistance.models import AssistedAction
from neighbourhoods.models import Membership
from sharing.models import Item, Loan
from tests.accounts.factories import access_token_for
from tests.accounts.geocoder_server import FakeGeocoders, ban_feature
from tests.admin.conftest import Side, make_side
from tests.admin.paper import first_page_png, pdf_lines, pdf_page_size_mm
from tests.admin.test_browser import SHOTS, Session, browser  # noqa: F401 (the fixture)
from tests.assistance.conftest import ADDRESS, HOME, LABEL
from tests.pooling.factories import RelayPointFactory, point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _live_server_connections_closed(live_server):
    yield
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


@dataclass
class Journey:
    """What the steps share: the server, the volunteer's tab, the people and what was made."""

    base: str
    me: Session
    ours: Side
    geocoders: FakeGeocoders
    member: User | None = None
    item: Item | None = None
    loan: Loan | None = None
    seen: dict[str, Any] = field(default_factory=dict)

    @property
    def lender(self) -> User:
        return self.ours.members[0]

    def member_page(self) -> str:
        assert self.member is not None
        return f"/admin/assisted/{self.member.pk}/"

    def api(self, user: User, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The app's API over real HTTP, as ``user``'s phone calls it (a JWT of a session)."""
        request = urllib.request.Request(  # noqa: S310 (http to the live server)
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {access_token_for(user, name='phone')}",
                "Accept": "application/json",
                "Accept-Language": "fr",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (the live server)
            return response.status, json.loads(response.read())


def step_register(j: Journey) -> None:
    """From the panel's home to the registration of Madeleine, who consents aloud."""
    j.me.goto("/admin/")
    j.me.page.click("#shortcut-assisted")
    j.me.page.wait_for_selector("#assisted-register")
    j.me.page.click("#assisted-register")
    j.me.page.wait_for_selector("#assisted-register-form")
    j.me.page.select_option("#id_neighbourhood", str(j.ours.neighbourhood.pk))
    j.me.page.fill("#id_display_name", "Madeleine R.")
    j.me.page.fill("#id_phone", "01 23 45 67 89")
    j.me.page.fill("#id_home_address", ADDRESS)
    j.me.page.select_option("#id_walking_profile", "slow")
    j.me.page.check("#id_consent_method_0")  # aloud, at the desk
    j.me.page.check("#id_consent_given")
    j.me.shot("01-register")
    j.me.page.click("input[name=register]")
    j.me.page.wait_for_selector(".messagelist .success")
    member = User.objects.get(is_assisted=True)
    assert j.me.page.url == j.base + f"/admin/assisted/{member.pk}/"
    assert (member.email, member.display_name, member.walking_profile, member.home_address) == (
        None,
        "Madeleine R.",
        "slow",
        LABEL,
    )
    assert (member.home.x, member.home.y) == pytest.approx(HOME)
    assert not member.has_usable_password()
    assert set(
        Consent.objects.filter(user=member).values_list("document", "version", "method")
    ) == {
        ("terms", settings.TERMS_VERSION, "oral"),
        ("privacy", settings.PRIVACY_VERSION, "oral"),
    }
    assert Consent.objects.filter(user=member, recorded_by=j.ours.staff).count() == 2
    membership = Membership.objects.get(user=member)
    assert (membership.neighbourhood_id, membership.status) == (j.ours.neighbourhood.pk, "active")
    assert j.geocoders.services_called() == ["ban"]
    j.member = member
    j.me.shot("02-permanence")


def step_list_an_item(j: Journey) -> None:
    """Madeleine lends her pruning shears."""
    j.me.page.fill("#id_title", "Sécateur")
    j.me.page.select_option("#id_category", "garden")
    j.me.page.fill("#id_description", "Bien aiguisé")
    j.me.page.click("input[name=list]")
    j.me.page.wait_for_selector(".messagelist .success")
    item = Item.objects.get(owner=j.member)
    assert (item.title, item.category, item.description, item.status) == (
        "Sécateur",
        "garden",
        "Bien aiguisé",
        "active",
    )
    assert j.me.page.locator(f"#assisted-items tr[data-item='{item.pk}']").count() == 1
    j.item = item
    j.me.shot("03-item-listed")


def step_borrow(j: Journey) -> None:
    """She needs a drill: found near her home at her walking pace, asked for from in an hour."""
    j.me.page.fill("#id_q", "perceuse")
    j.me.page.fill("#id_minutes", "20")
    j.me.page.click("input[name=search]")
    drill = j.ours.item
    row = j.me.page.locator(f".assisted-result[data-item='{drill.pk}']")
    row.wait_for()
    assert j.me.page.locator(".assisted-result").count() == 1
    assert j.lender.public_name in row.inner_text()
    j.me.shot("04-search")
    start = timezone.localtime() + timedelta(hours=1)
    j.me.page.fill(f"#id_item{drill.pk}-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    j.me.page.fill(
        f"#id_item{drill.pk}-ends_at", (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    )
    j.me.page.fill(f"#id_item{drill.pk}-message", "Pour Madeleine, à la permanence")
    row.locator("button[name=request]").click()
    j.me.page.wait_for_selector(".messagelist .success")
    loan = Loan.objects.get(borrower=j.member)
    assert (loan.item_id, loan.lender_id, loan.status) == (drill.pk, j.lender.pk, "requested")
    j.loan = loan


def step_lender_accepts_in_the_app(j: Journey) -> None:
    """The neighbour's phone: the request is Madeleine's; accepting gives the handover code."""
    assert j.loan is not None and j.member is not None
    status, shown = j.api(j.lender, "GET", f"/api/v1/loans/{j.loan.pk}")
    assert status == 200
    assert shown["borrower"] == {"id": j.member.pk, "name": "Madeleine R."}
    assert (shown["role"], shown["status"]) == ("lender", "requested")
    assert j.ours.staff.display_name not in json.dumps(shown)
    status, accepted = j.api(j.lender, "POST", f"/api/v1/loans/{j.loan.pk}/accept", {})
    assert (status, accepted["status"]) == (200, "accepted")
    j.seen["handover_code"] = accepted["handover_code"]
    assert len(j.seen["handover_code"]) == 6


def step_handover(j: Journey) -> None:
    """At the handover, the volunteer types the code the neighbour's phone shows."""
    assert j.loan is not None
    j.me.goto(j.member_page())
    row = j.me.page.locator(f".assisted-loan[data-loan='{j.loan.pk}']")
    assert row.get_attribute("data-status") == "accepted"
    j.me.page.fill(f"#id_loan{j.loan.pk}-code", j.seen["handover_code"])
    row.locator("button[value=handover]").click()
    j.me.page.wait_for_selector(".messagelist .success")
    loan = Loan.objects.get(pk=j.loan.pk)
    assert loan.status == "active"
    assert loan.borrower_handover_at is not None and loan.lender_handover_at is not None
    # The neighbour's app: an active loan with Madeleine, still no trace of the volunteer.
    status, shown = j.api(j.lender, "GET", f"/api/v1/loans/{loan.pk}")
    assert (status, shown["status"], shown["borrower"]["name"]) == (200, "active", "Madeleine R.")
    assert j.ours.staff.display_name not in json.dumps(shown)
    # Every action, with both names.
    assert list(
        AssistedAction.objects.filter(member=j.member)
        .order_by("at", "pk")
        .values_list("action", "volunteer_id")
    ) == [
        ("register", j.ours.staff.pk),
        ("item_create", j.ours.staff.pk),
        ("loan_request", j.ours.staff.pk),
        ("loan_handover", j.ours.staff.pk),
    ]
    assert j.me.page.locator("#assisted-history tr[data-action]").count() == 4
    j.loan = loan
    j.me.shot("05-handed-over")


def _download(j: Journey, selector: str, name: str) -> bytes:
    with j.me.page.expect_download() as info:
        j.me.page.click(selector)
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    target = SHOTS / f"{name}.pdf"
    download.save_as(str(target))
    return target.read_bytes()


def step_print_member_sheet(j: Journey) -> None:
    """Her own sheet, from the permanence page: the drill she borrows, from whom, until when."""
    assert j.loan is not None and j.member is not None
    j.me.goto(j.member_page())
    content = _download(j, "#assisted-print-sheet", "assisted-member-sheet")
    assert pdf_page_size_mm(content) == (210, 297)
    lines = pdf_lines(content)
    assert "Fiche de Madeleine R." in " ".join(lines)
    assert j.ours.item.title in lines
    assert f"Prêté par {j.lender.display_name}" in lines
    with translation.override("fr"):
        returns = formats.date_format(timezone.localtime(j.loan.period.upper).date(), "DATE_FORMAT")
    assert any(returns in line for line in lines), (returns, lines)
    assert LABEL not in " ".join(lines)  # her address stays off the paper
    first_page_png(content, SHOTS / "assisted-member-sheet.png")


def step_print_noticeboard(j: Journey) -> None:
    """The noticeboard of the library near her home: her pruning shears are on it, with a code."""
    assert j.item is not None
    j.me.goto("/admin/")
    j.me.page.click("#panel-noticeboard-link")
    j.me.page.wait_for_selector("#noticeboard-form")
    j.me.page.select_option("#id_neighbourhood", str(j.ours.neighbourhood.pk))
    j.me.page.select_option("#id_relay_point", str(j.seen["library"].pk))
    j.me.page.fill("#id_minutes", "15")
    j.me.page.select_option("#id_profile", "walk")
    content = _download(j, "#noticeboard-download", "assisted-noticeboard")
    lines = pdf_lines(content)
    assert lines[0] == j.ours.association.name
    assert f"Point de départ : {j.seen['library'].name}" in lines
    item = Item.objects.get(pk=j.item.pk)
    assert item.code in lines and item.title in lines
    first_page_png(content, SHOTS / "assisted-noticeboard.png")


# The journey, in order.
STEPS: list[Callable[[Journey], None]] = [
    step_register,
    step_list_an_item,
    step_borrow,
    step_lender_accepts_in_the_app,
    step_handover,
    step_print_member_sheet,
    step_print_noticeboard,
]


def test_a_volunteer_acts_for_an_assisted_member(live_server, browser, street_graph, geocoders):  # noqa: F811
    try:
        ours = make_side("Nord")
        library = RelayPointFactory(
            neighbourhood=ours.neighbourhood,
            name="Médiathèque du quartier",
            address_label="Töölönlahdenkatu 4",
            location=point(HOME[0] + 0.0008, HOME[1] + 0.0004),
        )
        geocoders.ban.results[ADDRESS] = ban_feature(lon=HOME[0], lat=HOME[1], label=LABEL)
        me = Session(browser, live_server.url, "assisted")
        me.login(ours.staff.email)
        journey = Journey(base=live_server.url, me=me, ours=ours, geocoders=geocoders)
        journey.seen["library"] = library
        for step in STEPS:
            step(journey)
        assert me.outside() == [], me.outside()
    finally:
        # Playwright's greenlets gave this test its own database connection: give it back.
        connection.close()
