"""Items' short codes (sharing/codes.py): drawn when the item is listed, unique and of their shape
by database constraints, found again by the app (``GET /api/v1/items/by-code/{code}``, as the
item's page is seen) and by ``/i/<code>`` (a page with nothing of the item for a resident; the
panel's item page for a volunteer of the owner's association)."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from neighbourhoods.services import staff_grant
from sharing.codes import ITEM_CODE_ALPHABET, item_code_read, new_item_code
from sharing.models import Item
from sharing.services import items as item_services
from tests.accounts.factories import UserFactory
from tests.neighbourhoods.factories import AssociationFactory, NeighbourhoodFactory, area
from tests.sharing.factories import ItemFactory

pytestmark = pytest.mark.django_db

SHAPE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")


def test_the_alphabet_leaves_out_what_reads_two_ways():
    assert len(ITEM_CODE_ALPHABET) == 31
    assert not set("01OIL") & set(ITEM_CODE_ALPHABET)
    assert all(SHAPE.match(new_item_code()) for _ in range(200))


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ABCD2F", "ABCD2F"),
        ("abcd2f", "ABCD2F"),
        ("abc-d2f", "ABCD2F"),
        (" ab cd 2f ", "ABCD2F"),
        ("ABCD2", None),  # too short
        ("ABCD2F7", None),  # too long
        ("ABCD0F", None),  # 0 is not in the alphabet
        ("ABCDOF", None),  # nor O
        ("ABCD1F", None),
        ("ABCDIF", None),
        ("ABCDLF", None),
        ("ABCD2F" + "-" * 30, None),
        ("", None),
    ],
)
def test_a_typed_code_is_read_as_stored(typed, read):
    assert item_code_read(typed) == read


def test_an_item_gets_its_code_when_listed(make_item):
    first, second = make_item(title="Perceuse"), make_item(title="Échelle")
    assert SHAPE.match(first.code) and SHAPE.match(second.code)
    assert first.code != second.code
    assert Item.objects.get(pk=first.pk).code == first.code


def test_the_database_refuses_a_code_twice_or_of_another_shape(make_item):
    item = make_item()
    other = make_item(title="Scie")
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.filter(pk=other.pk).update(code=item.code)
    for wrong in ("abcdef", "ABCDE0", "ABCDE"):  # longer: the column refuses it
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.filter(pk=other.pk).update(code=wrong)
    assert Item.objects.get(pk=other.pk).code == other.code


def test_a_code_drawn_twice_is_drawn_again(make_item, make_resident, monkeypatch):
    taken = make_item().code
    draws = iter([taken, taken, "XYZ234"])
    monkeypatch.setattr(item_services, "new_item_code", lambda: next(draws))
    item = make_item(owner=make_resident(), title="Tondeuse")
    assert item.code == "XYZ234"
    assert Item.objects.filter(code=taken).count() == 1
    assert Item.objects.filter(title="Tondeuse").count() == 1


def test_five_draws_taken_give_up_with_the_constraint(make_item, make_resident, monkeypatch):
    taken = make_item().code
    owner = make_resident()
    monkeypatch.setattr(item_services, "new_item_code", lambda: taken)
    with pytest.raises(IntegrityError):
        make_item(owner=owner, title="Tondeuse")
    assert not Item.objects.filter(owner=owner).exists()


def test_a_bare_item_row_gets_a_code_too():
    item = ItemFactory()
    assert SHAPE.match(item.code)


# --- the API -----------------------------------------------------------------------------------


def test_the_app_finds_a_neighbours_item_by_its_code(make_item, make_resident, client_for):
    owner, neighbour = make_resident(name="Amélie"), make_resident(name="Bruno")
    item = make_item(owner=owner, title="Perceuse à percussion")
    dashed = f"{item.code[:3].lower()}-{item.code[3:].lower()}"
    for code in (item.code, dashed):
        response = client_for(neighbour).get(f"/api/v1/items/by-code/{code}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["id"] == item.pk
        assert body["title"] == "Perceuse à percussion"
        assert body["view"] == "neighbour"
        # The same answer as the item's page.
        assert body == client_for(neighbour).get(f"/api/v1/items/{item.pk}").json()
    own = client_for(owner).get(f"/api/v1/items/by-code/{item.code}").json()
    assert own == client_for(owner).get(f"/api/v1/items/{item.pk}").json()
    assert own["view"] == "owner" and own["id"] == item.pk


def test_an_item_outside_ones_neighbourhoods_or_no_code_is_404(
    make_item, make_resident, client_for
):
    item = make_item()
    far = NeighbourhoodFactory(name="Kallio", area=area((24.94, 60.18, 24.96, 60.19)))
    outsider = make_resident(where=far)
    response = client_for(outsider).get(f"/api/v1/items/by-code/{item.code}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    neighbour = make_resident()
    unknown = "Z" * 6 if item.code != "Z" * 6 else "Y" * 6
    for code in (unknown, "ABC", "ABCDE0", "%20"):
        response = client_for(neighbour).get(f"/api/v1/items/by-code/{code}")
        assert response.status_code == 404, code
    assert client_for(None).get(f"/api/v1/items/by-code/{item.code}").status_code == 401


def test_a_withdrawn_item_is_found_by_its_owner_only(make_item, make_resident, client_for):
    owner, neighbour = make_resident(), make_resident()
    item = make_item(owner=owner)
    item_services.item_withdraw(actor=owner, item_id=item.pk)
    assert client_for(neighbour).get(f"/api/v1/items/by-code/{item.code}").status_code == 404
    mine = client_for(owner).get(f"/api/v1/items/by-code/{item.code}")
    assert mine.status_code == 200 and mine.json()["status"] == "withdrawn"


# --- /i/<code> -----------------------------------------------------------------------------------


def test_a_resident_opening_the_qr_code_is_told_to_use_the_app(make_item):
    item = make_item(title="Perceuse à percussion")
    browser = Client(HTTP_ACCEPT_LANGUAGE="fr", HTTP_ACCEPT="text/html")
    response = browser.get(f"/i/{item.code}")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert f'<p class="code" id="item-code">{item.code}</p>' in page
    assert "Un objet à emprunter" in page
    assert "ouvrez l'application Voisinage et tapez ce code" in page
    assert "adressez-vous à votre association de quartier" in page
    # Nothing of the item without signing in, and the same answer for a code nobody holds.
    assert "Perceuse" not in page and item.owner.display_name not in page
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"
    unknown = "Z" * 6 if item.code != "Z" * 6 else "Y" * 6
    other = browser.get(f"/i/{unknown}").content.decode()
    assert other == page.replace(item.code, unknown)
    english = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT="text/html").get(f"/i/{item.code}")
    assert "open the Voisinage app and type this code" in english.content.decode()


def test_a_malformed_code_is_a_404_page_or_the_error_format():
    browser = Client(HTTP_ACCEPT_LANGUAGE="fr", HTTP_ACCEPT="text/html")
    response = browser.get("/i/ABC0")
    assert response.status_code == 404
    assert "Ce code n'est pas valable" in response.content.decode()
    machine = Client(HTTP_ACCEPT_LANGUAGE="en").get("/i/ABC0")
    assert machine.status_code == 404
    assert machine.json()["code"] == "not_found"
    assert Client().post("/i/ABCDEF").status_code == 405
    assert Client().post("/i/ABC0").status_code == 404


def test_a_volunteer_of_the_owners_association_is_sent_to_the_panel(
    make_item, neighbourhood, association
):
    item = make_item()
    staff = staff_grant(user=UserFactory(email="benevole@example.org"))
    association.staff.add(staff)
    client = Client(HTTP_ACCEPT="text/html")
    client.force_login(staff)
    response = client.get(f"/i/{item.code.lower()}")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/sharing/item/{item.pk}/change/"
    assert client.get(response["Location"]).status_code == 200
    # Another association's volunteer gets the residents' page: nothing of the item.
    elsewhere = staff_grant(user=UserFactory(email="ailleurs@example.org"))
    AssociationFactory(name="Ailleurs").staff.add(elsewhere)
    client.force_login(elsewhere)
    response = client.get(f"/i/{item.code}")
    assert response.status_code == 200
    assert str(item.pk) not in response.get("Location", "")
    assert item.title not in response.content.decode()


def test_the_panel_finds_an_item_by_its_code(make_item, association):
    item = make_item(title="Perceuse")
    make_item(title="Échelle")
    staff = staff_grant(user=UserFactory(email="benevole@example.org"))
    association.staff.add(staff)
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(staff)
    dashed = f"{item.code[:3].lower()}-{item.code[3:]}"
    for term in (item.code, dashed):
        page = client.get("/admin/sharing/item/", {"q": term}).content.decode()
        assert f"/admin/sharing/item/{item.pk}/change/" in page
        assert "Échelle" not in page
