"""Paper from the panel (panel/sheets.py, panel/paper/): the noticeboard's sheet of a neighbourhood
and a member's own sheet, downloaded as PDF and read back (pypdf): exact text, page numbers,
French by default, no home on them, and the scope of the volunteer's association."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import formats, timezone, translation
from psycopg.types.range import Range

from accounts.models import User
from neighbourhoods.models import Membership
from neighbourhoods.services import staff_grant
from panel.paper.noticeboard import item_code_url, noticeboard_sheet
from pooling.models import Assignment, Order, RelayPoint
from sharing.models import Item, Loan
from sharing.selectors_paper import noticeboard_items
from sharing.services import loans as loan_services
from sharing.services.items import item_create, item_withdraw
from tests.accounts.factories import UserFactory
from tests.accounts.geocoder_server import ban_feature
from tests.admin.paper import pdf_lines, pdf_page_size_mm, pdf_pages
from tests.neighbourhoods.factories import MembershipFactory
from tests.pooling.factories import SPOTS, BatchFactory, OrderFactory, RelayPointFactory, point
from tests.sharing.factories import ItemFactory

pytestmark = pytest.mark.django_db

NOTICEBOARD = "/admin/paper/noticeboard.pdf"
SECRET_ADDRESS = "12 rue Secrète"
PARIS = ZoneInfo("Europe/Paris")
HOW_TO = (
    "Pour emprunter un objet : scannez son QR code avec l'application Voisinage, ou tapez son "
    "code dans l'application. Pas d'application ? Donnez le code à l'association."
)


def text_of(content: bytes) -> str:
    """The sheet's words, one space between each, whatever the lines they were wrapped on."""
    return " ".join(" ".join(pdf_lines(content)).split())


def body_of(content: bytes, association: str, language: str = "fr") -> str:
    """The sheet's words without the foot of its pages, once each page's foot is checked: the
    association, the day it was printed, "Page n / total"."""
    pages = pdf_pages(content)
    words = []
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert lines[-2:] == [
            f"{association} — {printed_today(language)}",
            f"Page {number} / {len(pages)}",
        ]
        words += " ".join(lines[:-2]).split()
    return " ".join(words)


def printed_today(language: str = "fr") -> str:
    with translation.override(language):
        day = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    return f"Imprimé le {day}" if language == "fr" else f"Printed on {day}"


def minutes_by_code(neighbourhood, origin, minutes=10, profile="walk") -> dict[str, float]:
    """What the walking engine says of each item (the sheet prints it in coarse minutes)."""
    return {
        item.code: item.travel_seconds
        for item in noticeboard_items(
            neighbourhood_id=neighbourhood.pk, origin=origin, minutes=minutes, profile=profile
        )
    }


def coarse(seconds: float) -> str:
    minutes = -(-seconds // 60)
    return f"{int(minutes)} min" if minutes > 3 else "3 min ou moins"


@pytest.fixture
def board(ours, theirs):
    """Our neighbourhood's library (a relay point), items of our members near it in three
    categories, and items that must not be on the sheet: withdrawn, of a pending member, of a
    member living too far, of the other association's members (living at the same places)."""
    library = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        name="Bibliothèque d'Oodi",
        address_label="Töölönlahdenkatu 4",
        location=point(*SPOTS[22]),
    )
    _m0, m1, m2 = ours.members
    User.objects.filter(pk__in=[m.pk for m in ours.members]).update(home_address=SECRET_ADDRESS)
    tondeuse = item_create(owner=m1, title="Tondeuse", category="garden")
    robot = item_create(owner=m2, title="Robot pâtissier", category="kitchen")
    item_withdraw(actor=m1, item_id=item_create(owner=m1, title="Escabeau", category="diy").pk)
    ItemFactory(owner=ours.pending.user, title="Ponceuse", location=point(*SPOTS[22]))
    far = MembershipFactory(
        neighbourhood=ours.neighbourhood,
        user__display_name="Loin",
        user__home=point(*SPOTS[21]),
    ).user
    kayak = item_create(owner=far, title="Kayak", category="sport")
    return library, [ours.item, tondeuse, robot], kayak


def _get(client, **params):
    return client.get(NOTICEBOARD, {"minutes": 10, "profile": "walk", **params})


def test_the_noticeboard_sheet_lists_our_items_near_the_library(ours, board, admin_client):
    library, (perceuse, tondeuse, robot), _kayak = board
    response = _get(
        admin_client(ours.staff), neighbourhood=ours.neighbourhood.pk, relay_point=library.pk
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    slug = ours.neighbourhood.name.lower().replace(" ", "-")
    assert response["Content-Disposition"] == (
        f'attachment; filename="voisinage-noticeboard-{slug}-{timezone.localdate():%Y%m%d}.pdf"'
    )
    assert pdf_page_size_mm(response.content) == (210, 297)
    times = minutes_by_code(ours.neighbourhood, library.public_location)
    assert set(times) == {perceuse.code, tondeuse.code, robot.code}
    association = ours.association.name
    expected = (
        f"{association} Objets à emprunter à moins de 10 minutes à pied "
        f"Point de départ : Bibliothèque d'Oodi Töölönlahdenkatu 4 "
        f"Quartier : {ours.neighbourhood.name} {HOW_TO} "
        f"Bricolage et outils {perceuse.title} Prêté par {ours.members[0].display_name} — "
        f"{coarse(times[perceuse.code])} Code {perceuse.code} "
        f"Jardin Tondeuse Prêté par {ours.members[1].display_name} — "
        f"{coarse(times[tondeuse.code])} Code {tondeuse.code} "
        f"Cuisine Robot pâtissier Prêté par {ours.members[2].display_name} — "
        f"{coarse(times[robot.code])} Code {robot.code} "
        f"3 objets {association} — {printed_today()} Page 1 / 1"
    )
    assert text_of(response.content) == expected
    # Left out: withdrawn, of a pending member, too far, of the other association.
    text = text_of(response.content)
    for absent in ("Escabeau", "Ponceuse", "Kayak", "Sud", SECRET_ADDRESS, "@example.org"):
        assert absent not in text
    # The same place, three times further: the kayak is in, nearest first within its category.
    wider = _get(
        admin_client(ours.staff),
        neighbourhood=ours.neighbourhood.pk,
        relay_point=library.pk,
        minutes=30,
    )
    assert "Sport et plein air Kayak Prêté par Loin" in text_of(wider.content)
    assert "4 objets" in text_of(wider.content)


def test_a_qr_code_holds_the_page_of_its_code():
    assert item_code_url("ABCD2F") == f"{settings.PUBLIC_BASE_URL}/i/ABCD2F"


def test_a_long_list_goes_on_over_numbered_pages(ours, board, admin_client):
    library, _listed, _kayak = board
    categories = ["diy", "garden", "kitchen", "books", "games"]
    for n in range(27):
        item_create(
            owner=ours.members[n % 3],
            title=f"Objet {n:02d}",
            category=categories[n % len(categories)],
        )
    response = _get(
        admin_client(ours.staff), neighbourhood=ours.neighbourhood.pk, relay_point=library.pk
    )
    pages = pdf_pages(response.content)
    total = len(pages)
    assert total >= 3
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert lines[-1] == f"Page {number} / {total}"
        assert lines[-2] == f"{ours.association.name} — {printed_today()}"
    codes = list(
        Item.objects.filter(owner__in=ours.members, status="active").values_list("code", flat=True)
    )
    assert len(codes) == 30
    lines = pdf_lines(response.content)
    assert sorted(line for line in lines if line in codes) == sorted(codes)
    assert "30 objets" in lines
    # Categories in the taxonomy's order, each heading once.
    headings = [
        line
        for line in lines
        if line in ("Bricolage et outils", "Jardin", "Cuisine", "Livres", "Jeux et jouets")
    ]
    assert headings == ["Bricolage et outils", "Jardin", "Cuisine", "Jeux et jouets", "Livres"]


def test_the_sheet_lists_at_most_the_nearest_items(ours, board, admin_client, settings):
    library, _listed, _kayak = board
    settings.PAPER_NOTICEBOARD_MAX_ITEMS = 2
    response = _get(
        admin_client(ours.staff), neighbourhood=ours.neighbourhood.pk, relay_point=library.pk
    )
    times = minutes_by_code(ours.neighbourhood, library.public_location)
    nearest = sorted(times, key=times.get)
    lines = pdf_lines(response.content)
    assert [line for line in lines if line in times] == [
        code for code in nearest[:2] if code in lines
    ]
    assert nearest[2] not in lines
    text = text_of(response.content)
    assert "2 objets … et 1 autre, plus loin : demandez à l'association." in text


def test_a_place_given_by_its_address_is_geocoded(ours, board, admin_client, geocoders):
    _library, (perceuse, tondeuse, robot), _kayak = board
    lon, lat = SPOTS[22]
    geocoders.ban.results["Rautatientori 1, Helsinki"] = ban_feature(
        lon=lon, lat=lat, label="Rautatientori 1 00100 Helsinki"
    )
    response = _get(
        admin_client(ours.staff),
        neighbourhood=ours.neighbourhood.pk,
        place_name="Mairie de quartier",
        address="Rautatientori 1, Helsinki",
    )
    assert response.status_code == 200, response.content[:500]
    assert geocoders.services_called() == ["ban"]
    text = text_of(response.content)
    assert text.startswith(
        f"{ours.association.name} Objets à emprunter à moins de 10 minutes à pied "
        "Point de départ : Mairie de quartier Rautatientori 1 00100 Helsinki "
        f"Quartier : {ours.neighbourhood.name} "
    )
    assert all(item.code in text for item in (perceuse, tondeuse, robot))
    # An address nobody knows: the form again, with what is wrong.
    unknown = _get(
        admin_client(ours.staff),
        neighbourhood=ours.neighbourhood.pk,
        place_name="Nulle part",
        address="1 rue de Nulle Part",
    )
    assert unknown.status_code == 400
    assert unknown["Content-Type"].startswith("text/html")
    assert "Cette adresse est introuvable." in unknown.content.decode()
    # An address found, but far from the streets the sheet walks: the form again.
    geocoders.ban.results["Tour Eiffel, Paris"] = ban_feature(
        lon=2.2945, lat=48.8584, label="Tour Eiffel 75007 Paris"
    )
    paris = _get(
        admin_client(ours.staff),
        neighbourhood=ours.neighbourhood.pk,
        place_name="Tour",
        address="Tour Eiffel, Paris",
    )
    assert paris.status_code == 400
    assert "Ce point est trop loin de toute voie praticable pour ce profil." in (
        paris.content.decode().replace("&#x27;", "'")
    )


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "Choisissez un point relais, ou indiquez un lieu et son adresse."),
        (
            {"address": "Rautatientori 1", "relay": True},
            "Choisissez un point relais ou une adresse, pas les deux.",
        ),
        (
            {"relay": True, "minutes": 0},
            "Assurez-vous que cette valeur est supérieure ou égale à 1.",
        ),
        (
            {"relay": True, "minutes": 61},
            "Assurez-vous que cette valeur est inférieure ou égale à 60.",
        ),
        ({"relay": True, "profile": "car"}, "Sélectionnez un choix valide."),
    ],
)
def test_a_wrong_form_is_shown_again_with_what_is_wrong(ours, board, admin_client, params, error):
    library = board[0]
    query = {"neighbourhood": ours.neighbourhood.pk, "minutes": 10, "profile": "walk"}
    if params.pop("relay", False):
        query["relay_point"] = library.pk
    query.update(params)
    response = admin_client(ours.staff).get(NOTICEBOARD, query)
    assert response.status_code == 400
    assert error in response.content.decode()


def test_a_neighbour_hosts_home_is_no_place_for_a_sheet(ours, board, admin_client):
    host = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        name="Chez M",
        operator=ours.members[2],
        location=point(*SPOTS[7]),
    )
    client = admin_client(ours.staff)
    form = client.get("/admin/paper/noticeboard/").content.decode()
    relays = re.search(r'<select name="relay_point".*?</select>', form, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', relays) == [str(board[0].pk)]
    response = _get(client, neighbourhood=ours.neighbourhood.pk, relay_point=host.pk)
    assert response.status_code == 400


def test_the_sheet_is_in_english_for_an_english_panel(ours, board, admin_client):
    library, (perceuse, _t, _r), _kayak = board
    client = admin_client(ours.staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = _get(client, neighbourhood=ours.neighbourhood.pk, relay_point=library.pk)
    text = text_of(response.content)
    assert text.startswith(
        f"{ours.association.name} Items to borrow within 10 minutes on foot "
        "From: Bibliothèque d'Oodi Töölönlahdenkatu 4 "
        f"Neighbourhood: {ours.neighbourhood.name} To borrow an item: scan its QR code"
    )
    assert f"DIY and tools {perceuse.title} Lent by {ours.members[0].display_name}" in text
    assert text.endswith(f"3 items {ours.association.name} — {printed_today('en')} Page 1 / 1")


def test_without_the_dejavu_fonts_the_sheet_still_prints(
    ours, board, admin_client, settings, tmp_path
):
    settings.PAPER_FONT_DIR = tmp_path  # no font there: Helvetica
    library = board[0]
    item_create(owner=ours.members[0], title="Vélo 自転車", category="mobility")
    response = _get(
        admin_client(ours.staff), neighbourhood=ours.neighbourhood.pk, relay_point=library.pk
    )
    assert response.status_code == 200
    text = text_of(response.content)
    assert "Objets à emprunter à moins de 10 minutes à pied" in text
    assert "Vélo ???" in text
    assert re.search(r"4 objets .* — Imprimé le .* Page (\d) / \1$", text)


# --- the scope -----------------------------------------------------------------------------------


def test_another_associations_neighbourhood_or_relay_point_does_not_exist(
    ours, theirs, board, admin_client
):
    library = board[0]
    their_library = RelayPointFactory(
        neighbourhood=theirs.neighbourhood, location=point(*SPOTS[22])
    )
    client = admin_client(ours.staff)
    assert (
        _get(client, neighbourhood=theirs.neighbourhood.pk, relay_point=library.pk).status_code
        == 404
    )
    assert (
        _get(client, neighbourhood=ours.neighbourhood.pk, relay_point=their_library.pk).status_code
        == 404
    )
    # Theirs may print theirs, never ours.
    other = admin_client(theirs.staff)
    assert (
        _get(other, neighbourhood=ours.neighbourhood.pk, relay_point=library.pk).status_code == 404
    )
    assert (
        _get(other, neighbourhood=theirs.neighbourhood.pk, relay_point=their_library.pk).status_code
        == 200
    )
    form = other.get("/admin/paper/noticeboard/").content.decode()
    assert ours.neighbourhood.name not in form and "Bibliothèque d'Oodi" not in form


def test_a_staff_user_of_no_association_and_anonymous_are_refused(
    ours, board, admin_client, client
):
    loner = staff_grant(user=UserFactory(email="loner@example.org"))
    params = {"neighbourhood": ours.neighbourhood.pk, "relay_point": board[0].pk}
    assert _get(admin_client(loner), **params).status_code == 403
    assert admin_client(loner).get("/admin/paper/noticeboard/").status_code == 403
    assert (
        admin_client(loner).get(f"/admin/paper/members/{ours.members[0].pk}.pdf").status_code == 403
    )
    response = _get(client, **params)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_panel_links_to_the_sheets(ours, admin_client):
    client = admin_client(ours.staff)
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/paper/noticeboard/"' in index
    assert "Imprimer une affiche pour le panneau du quartier" in index
    membership = Membership.objects.get(user=ours.members[1])
    page = client.get(f"/admin/neighbourhoods/membership/{membership.pk}/change/").content.decode()
    assert f'href="/admin/paper/members/{ours.members[1].pk}.pdf"' in page
    assert "Imprimer la fiche du membre (PDF)" in page
    form = client.get("/admin/paper/noticeboard/").content.decode()
    assert "Une affiche à punaiser sur un panneau" in form
    assert "Télécharger l'affiche (PDF)" in form


# --- a member's own sheet --------------------------------------------------------------------------


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=PARIS)


def _loan(item, borrower, starts, ends, status):
    loan = loan_services.loan_request(
        borrower=borrower,
        item_id=item.pk,
        starts_at=timezone.now() + timedelta(days=30),
        ends_at=timezone.now() + timedelta(days=31),
    )
    Loan.objects.filter(pk=loan.pk).update(
        period=Range(starts, ends, "[)"), hold=Range(starts, ends, "[)"), status=status
    )
    return loan


@pytest.fixture
def member_life(ours):
    """Our member M-1: borrows a drill (accepted), lends a raclette set (asked), had a saw back
    (closed); three parcels on their way (at home; waiting at a shop with its pickup code; at a
    neighbour host's) and one delivered."""
    m0, m1, m2 = ours.members
    User.objects.filter(pk__in=[m.pk for m in ours.members]).update(home_address=SECRET_ADDRESS)
    raclette = item_create(owner=m1, title="Appareil à raclette", category="kitchen")
    scie = item_create(owner=m2, title="Scie sauteuse", category="diy")
    _loan(ours.item, m1, _at(1, 10), _at(4, 18, 30), Loan.Status.ACCEPTED)
    _loan(raclette, m2, _at(6, 9), _at(7, 9), Loan.Status.REQUESTED)
    _loan(scie, m1, _at(2, 10), _at(3, 10), Loan.Status.CLOSED)

    OrderFactory(
        resident=m1,
        merchant_name="Librairie du Port",
        carrier="Posti",
        tracking_number="JJFI0000000001",
        expected_on=date(2027, 3, 2),
    )
    kiosk = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        name="Kiosque de la gare",
        address_label="Rautatientori 1",
        opens_at=time(8, 0),
        closes_at=time(20, 0),
    )
    waiting = OrderFactory(
        resident=m1,
        merchant_name="Épicerie fine",
        carrier="DHL",
        tracking_number="DHL42",
        expected_on=date(2027, 3, 1),
        neighbourhood=ours.neighbourhood,
        receive_mode="relay",
        relay_point=kiosk,
        status=Order.Status.AWAITING_PICKUP,
        pickup_code="424242",
        parcels=[("s", "light"), ("m", "medium")],
    )
    Assignment.objects.create(
        batch=BatchFactory(hub=ours.hub),
        order=waiting,
        drop_kind="relay",
        relay_point=kiosk,
        outcome="delivered",
    )
    host = RelayPointFactory(
        neighbourhood=ours.neighbourhood,
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        name="Chez M, 3e étage",
        address_label="5 rue du Secret",
        operator=m2,
        location=point(*SPOTS[7]),
        opens_at=time(18, 0),
        closes_at=time(21, 0),
    )
    OrderFactory(
        resident=m1,
        merchant_name="Bricomarché",
        carrier="Bring",
        tracking_number="BR7",
        expected_on=date(2027, 3, 3),
        receive_mode="host",
        relay_point=host,
    )
    OrderFactory(resident=m1, merchant_name="Déjà livré", status=Order.Status.DELIVERED)
    OrderFactory(resident=m0, merchant_name="Pas pour M-1")
    return m1


def test_a_members_sheet_says_what_they_borrow_lend_and_where_their_parcels_are(
    ours, member_life, admin_client
):
    m0, m1, m2 = ours.members
    response = admin_client(ours.staff).get(f"/admin/paper/members/{m1.pk}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="voisinage-member-{m1.pk}-{timezone.localdate():%Y%m%d}.pdf"'
    )
    assert pdf_page_size_mm(response.content) == (210, 297)
    expected = (
        f"{ours.association.name} Fiche de {m1.display_name} "
        f"Quartier : {ours.neighbourhood.name} "
        "Ce que vous empruntez "
        f"{ours.item.title} Prêté par {m0.display_name} "
        "Du 1 mars 2027 à 10:00 au 4 mars 2027 à 18:30 "
        "À rendre au plus tard le 4 mars 2027 à 18:30 Statut : accepté "
        "Ce que vous prêtez "
        f"Appareil à raclette Emprunté par {m2.display_name} "
        "Du 6 mars 2027 à 09:00 au 7 mars 2027 à 09:00 Statut : demandé "
        "Vos colis "
        "Épicerie fine — 2 colis Attendu le 1 mars 2027 "
        "Transporteur : DHL, numéro de suivi DHL42 "
        "Où : Kiosque de la gare Rautatientori 1 Ouvert de 08:00 à 20:00 "
        "Code à donner pour le retirer : 424242 Statut : vous attend au point relais "
        "Librairie du Port — 1 colis Attendu le 2 mars 2027 "
        "Transporteur : Posti, numéro de suivi JJFI0000000001 "
        "Où : à domicile Statut : en attente d'un lot de livraisons "
        "Bricomarché — 1 colis Attendu le 3 mars 2027 "
        "Transporteur : Bring, numéro de suivi BR7 "
        f"Où : chez {m2.display_name}, voisin·e hôte Ouvert de 18:00 à 21:00 "
        "Statut : en attente d'un lot de livraisons"
    )
    assert body_of(response.content, ours.association.name) == expected
    # No home: neither the member's, nor the host's (its address, nor the name of its place).
    text = text_of(response.content)
    for absent in (SECRET_ADDRESS, "5 rue du Secret", "3e étage", "@example.org", "Scie"):
        assert absent not in text


def test_a_members_sheet_with_nothing_under_way(ours, admin_client):
    member = ours.members[2]
    content = admin_client(ours.staff).get(f"/admin/paper/members/{member.pk}.pdf").content
    assert len(pdf_pages(content)) == 1
    assert body_of(content, ours.association.name) == (
        f"{ours.association.name} Fiche de {member.display_name} "
        f"Quartier : {ours.neighbourhood.name} "
        "Ce que vous empruntez Aucun. Ce que vous prêtez Aucun. Vos colis Aucun."
    )


def test_another_associations_member_has_no_sheet_here(ours, theirs, member_life, admin_client):
    assert (
        admin_client(theirs.staff).get(f"/admin/paper/members/{member_life.pk}.pdf").status_code
        == 404
    )
    client = admin_client(ours.staff)
    assert client.get(f"/admin/paper/members/{theirs.members[0].pk}.pdf").status_code == 404
    assert client.get("/admin/paper/members/999999.pdf").status_code == 404
    # A pending member is one of ours: their sheet prints.
    assert client.get(f"/admin/paper/members/{ours.pending.user_id}.pdf").status_code == 200
    # The platform's operators print anyone's.
    root = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    response = admin_client(root).get(f"/admin/paper/members/{theirs.members[0].pk}.pdf")
    assert response.status_code == 200
    assert body_of(response.content, theirs.association.name).startswith(
        f"{theirs.association.name} Fiche de {theirs.members[0].display_name} "
    )


def test_the_sheet_builders_work_without_the_panel(ours, board):
    """``noticeboard_sheet`` and ``noticeboard_pdf`` can be called on their own (another page, a
    command): the same text as the download."""
    from panel.paper.noticeboard import noticeboard_pdf

    library, listed, _kayak = board
    with translation.override("fr"):
        sheet = noticeboard_sheet(
            neighbourhood=ours.neighbourhood,
            origin=library.public_location,
            place_name=library.name,
            place_address=library.address_label,
            minutes=10,
            profile="walk",
            printed_on=date(2026, 12, 4),
        )
        content = noticeboard_pdf(sheet)
    assert {line.code for line in sheet.lines} == {i.code for i in listed}
    minutes = [line.minutes for line in sheet.lines]
    assert minutes == sorted(minutes)  # the nearest first
    assert text_of(content).endswith("— Imprimé le 4 décembre 2026 Page 1 / 1")
