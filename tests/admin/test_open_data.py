"""An association's volunteers choose, in the panel, whether it publishes its figures as open
data and under which licence; nothing else of the association is theirs to change, and another
association's volunteer can neither see nor change the choice."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction

from backend.errors import DomainError
from neighbourhoods.errors import NotStaffError
from neighbourhoods.models import Association
from neighbourhoods.services import association_open_data_set

pytestmark = pytest.mark.django_db


def _page(ours):
    return f"/admin/neighbourhoods/association/{ours.association.pk}/change/"


def _state(association):
    association.refresh_from_db()
    return (
        association.name,
        association.slug,
        association.open_data_publish,
        association.open_data_licence,
        sorted(association.staff.values_list("pk", flat=True)),
    )


def test_our_volunteer_opts_in_and_chooses_the_licence(ours, admin_client):
    client = admin_client(ours.staff)
    page = client.get(_page(ours))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Données ouvertes" in html and "Rien n’est publié." in html
    assert 'name="open_data_publish"' in html and 'name="open_data_licence"' in html
    # The name, the address and the volunteers are shown, not editable.
    assert 'name="name"' not in html and 'name="slug"' not in html and 'name="staff"' not in html
    answer = client.post(
        _page(ours),
        {"open_data_publish": "on", "open_data_licence": "ODbL-1.0", "name": "Renamed"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    name, slug, publish, licence, staff = _state(ours.association)
    assert (publish, licence) == (True, "ODbL-1.0")
    assert name != "Renamed" and staff == [ours.staff.pk]
    html = client.get(_page(ours)).content.decode()
    assert f'href="/api/v1/open-data/{slug}/figures.csv"' in html
    # The list says it too.
    listing = client.get("/admin/neighbourhoods/association/").content.decode()
    assert "Open Database License (ODbL) 1.0" in listing


def test_an_unknown_licence_is_refused_and_nothing_changes(ours, admin_client):
    before = _state(ours.association)
    answer = admin_client(ours.staff).post(
        _page(ours), {"open_data_publish": "on", "open_data_licence": "CC-BY-4.0"}
    )
    assert answer.status_code == 200  # the form again, with its error
    assert "errorlist" in answer.content.decode()
    assert _state(ours.association) == before


def test_another_associations_volunteer_can_neither_see_nor_change_it(ours, theirs, admin_client):
    before = _state(ours.association)
    client = admin_client(theirs.staff)
    assert client.get(_page(ours)).status_code == 404
    answer = client.post(
        _page(ours), {"open_data_publish": "on", "open_data_licence": "etalab-2.0"}
    )
    assert answer.status_code == 404
    assert _state(ours.association) == before
    listing = client.get("/admin/neighbourhoods/association/").content.decode()
    assert ours.association.name not in listing and theirs.association.name in listing


def test_the_service_refuses_who_does_not_run_the_association(ours, theirs):
    before = _state(ours.association)
    with pytest.raises(NotStaffError):
        association_open_data_set(
            staff=theirs.staff, association_id=ours.association.pk, publish=True, licence="ODbL-1.0"
        )
    with pytest.raises(DomainError) as refused:
        association_open_data_set(
            staff=ours.staff, association_id=ours.association.pk, publish=True, licence="CC0"
        )
    assert refused.value.code == "invalid_licence"
    assert _state(ours.association) == before


def test_the_database_holds_the_licence_to_the_two_offered(ours):
    with pytest.raises(IntegrityError), transaction.atomic():
        Association.objects.filter(pk=ours.association.pk).update(open_data_licence="CC-BY-4.0")
    with pytest.raises(IntegrityError), transaction.atomic():
        Association.objects.filter(pk=ours.association.pk).update(slug="Not A Slug")
    assert ours.association.open_data_licence == "etalab-2.0"


def test_a_superuser_names_the_association_and_its_address(ours, admin_client):
    from tests.accounts.factories import UserFactory

    root = UserFactory(is_staff=True, is_superuser=True)
    client = admin_client(root)
    answer = client.post(
        "/admin/neighbourhoods/association/add/",
        {
            "name": "Voisins de Ménilmontant",
            "slug": "voisins-de-menilmontant",
            "open_data_licence": "etalab-2.0",
        },
    )
    assert answer.status_code == 302, re.findall(r"errorlist.*", answer.content.decode())
    made = Association.objects.get(name="Voisins de Ménilmontant")
    assert (made.slug, made.open_data_publish, made.open_data_licence) == (
        "voisins-de-menilmontant",
        False,
        "etalab-2.0",
    )
