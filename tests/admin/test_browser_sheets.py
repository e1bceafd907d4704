"""Paper from the panel in Debian's Chromium: a volunteer opens the noticeboard's form from the
panel's home page, chooses the library and ten minutes on foot, and downloads the sheet; then
opens a member's page and downloads the member's own sheet. Both PDFs are read back (pypdf) and
their first pages rendered (pypdfium2) to var/screenshots/noticeboard-sheet.png and
member-sheet.png, beside the PDFs. Every request stays on the server."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from neighbourhoods.models import Membership
from pooling.models import Order
from sharing.models import Loan
from sharing.services import loans as loan_services
from sharing.services.items import item_create
from tests.admin.conftest import make_side
from tests.admin.paper import first_page_png, pdf_lines, pdf_page_size_mm
from tests.admin.test_browser import SHOTS, Session, browser  # noqa: F401 (the fixture)
from tests.pooling.factories import SPOTS, OrderFactory, RelayPointFactory, point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _live_server_connections_closed(live_server):
    yield
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


@pytest.fixture
def neighbourhood_life(street_graph):
    """Our neighbourhood: its library, items near it, a loan and parcels of one member. Made
    before the browser starts (Playwright's event loop would stand in the way of the services'
    notifications)."""
    ours = make_side("Nord")
    library = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        name="Bibliothèque d'Oodi",
        address_label="Töölönlahdenkatu 4",
        location=point(*SPOTS[22]),
    )
    m0, m1, m2 = ours.members
    items = [
        ours.item,
        item_create(owner=m1, title="Tondeuse", category="garden"),
        item_create(owner=m2, title="Robot pâtissier", category="kitchen"),
        item_create(owner=m2, title="Jeu de croquet", category="games"),
    ]
    start = timezone.now() + timedelta(days=2)
    loan = loan_services.loan_request(
        borrower=m1, item_id=ours.item.pk, starts_at=start, ends_at=start + timedelta(days=2)
    )
    loan_services.loan_accept(actor=m0, loan_id=loan.pk)
    OrderFactory(
        resident=m1,
        merchant_name="Épicerie fine",
        neighbourhood=ours.neighbourhood,
        receive_mode="relay",
        relay_point=library,
        status=Order.Status.AWAITING_PICKUP,
        pickup_code="424242",
    )
    return ours, library, items, m1


def test_a_volunteer_prints_both_sheets(live_server, neighbourhood_life, browser):  # noqa: F811
    try:
        _journey(live_server, browser, *neighbourhood_life)
    finally:
        connection.close()


def _download(session: Session, selector: str, name: str) -> bytes:
    with session.page.expect_download() as info:
        session.page.click(selector)
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    target = SHOTS / f"{name}.pdf"
    download.save_as(str(target))
    return target.read_bytes()


def _ink(path: Path) -> float:
    """The share of the page's pixels that are not white (something is printed on it)."""
    image = Image.open(path).convert("L")
    dark = sum(image.histogram()[:128])
    return dark / (image.width * image.height)


def _journey(live_server, browser, ours, library, items, member):  # noqa: F811
    me = Session(browser, live_server.url, "sheets")
    me.login(ours.staff.email)

    # The noticeboard: from the panel's home page, the form, the PDF.
    me.page.click("#panel-noticeboard-link")
    me.page.wait_for_selector("#noticeboard-form")
    me.page.select_option("#id_neighbourhood", str(ours.neighbourhood.pk))
    me.page.select_option("#id_relay_point", str(library.pk))
    me.page.fill("#id_minutes", "10")
    me.page.select_option("#id_profile", "walk")
    me.shot("noticeboard-form")
    content = _download(me, "#noticeboard-download", "noticeboard-sheet")
    assert pdf_page_size_mm(content) == (210, 297)
    lines = pdf_lines(content)
    assert lines[0] == ours.association.name
    assert "Point de départ : Bibliothèque d'Oodi" in lines
    for item in items:
        assert item.code in lines
        assert item.title in lines
    assert "4 objets" in lines
    assert re.fullmatch(r"Page (\d) / \1", lines[-1])
    width, height = first_page_png(content, SHOTS / "noticeboard-sheet.png")
    assert abs(height / width - 297 / 210) < 0.01
    assert _ink(SHOTS / "noticeboard-sheet.png") > 0.02

    # The member's sheet: from their page among the members.
    membership = Membership.objects.get(user=member, neighbourhood=ours.neighbourhood)
    me.goto(f"/admin/neighbourhoods/membership/{membership.pk}/change/")
    me.page.wait_for_selector("a.panel-object-link")
    me.shot("member-page")
    content = _download(me, "a.panel-object-link", "member-sheet")
    lines = pdf_lines(content)
    text = " ".join(lines)
    assert f"Fiche de {member.display_name}" in text
    assert f"{ours.item.title}" in lines
    assert f"Prêté par {ours.members[0].display_name}" in lines
    assert "Statut : accepté" in lines
    assert "Où : Bibliothèque d'Oodi" in lines
    assert "424242" in lines
    loan = Loan.objects.get(borrower=member)
    assert loan.status == Loan.Status.ACCEPTED
    first_page_png(content, SHOTS / "member-sheet.png")
    assert _ink(SHOTS / "member-sheet.png") > 0.01

    assert me.outside() == []
