from __future__ import annotations

import pytest

from backend.errors import DomainError, ForbiddenError
from neighbourhoods.models import Membership, Neighbourhood
from neighbourhoods.services import membership_approve
from sharing.models import Item, Loan
from sharing.services.loans import loan_request
from sharing.services.suspension import member_suspend

pytestmark = pytest.mark.usefixtures("street_graph")


def test_neighbourhoods_near_a_point_and_joining(neighbourhood, client_for, user):
    client = client_for(user)
    found = client.get("/api/v1/neighbourhoods", {"lat": 60.17, "lon": 24.94}).json()
    assert [n["id"] for n in found] == [neighbourhood.pk] and found[0]["membership"] is None
    assert client.get("/api/v1/neighbourhoods", {"lat": 48.85, "lon": 2.35}).json() == []
    assert client.get("/api/v1/neighbourhoods", {"lat": 123, "lon": 2.35}).status_code == 400
    joined = client.post(
        f"/api/v1/neighbourhoods/{neighbourhood.pk}/join", {"ask_me_too": True}, format="json"
    )
    assert joined.status_code == 201 and joined.json() == {
        "neighbourhood": neighbourhood.pk,
        "status": "active",
        "ask_me_too": True,
    }
    again = client.post(f"/api/v1/neighbourhoods/{neighbourhood.pk}/join", {}, format="json")
    assert again.json()["status"] == "active"
    assert Membership.objects.filter(user=user).count() == 1


def test_approval_neighbourhood_waits_for_staff(
    neighbourhood, client_for, user, make_resident, association
):
    neighbourhood.join_policy = Neighbourhood.JoinPolicy.APPROVAL
    neighbourhood.save()
    body = (
        client_for(user)
        .post(f"/api/v1/neighbourhoods/{neighbourhood.pk}/join", {}, format="json")
        .json()
    )
    assert body["status"] == "pending"
    membership = Membership.objects.get(user=user)
    outsider = make_resident()
    with pytest.raises(ForbiddenError):
        membership_approve(staff=outsider, membership_id=membership.pk)
    assert Membership.objects.get(pk=membership.pk).status == "pending"
    staff = make_resident()
    association.staff.add(staff)
    assert membership_approve(staff=staff, membership_id=membership.pk).status == "active"


def test_suspension_hides_items_and_cancels_open_loans(
    make_resident, make_item, association, period
):
    member = make_resident()
    item = make_item(owner=member)
    borrower = make_resident()
    loan = loan_request(borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1])
    staff = make_resident()
    association.staff.add(staff)
    membership = member.memberships.get()
    with pytest.raises(DomainError):  # a reason is required
        member_suspend(staff=staff, membership_id=membership.pk, reason="  ")
    member_suspend(staff=staff, membership_id=membership.pk, reason="Annonces frauduleuses")
    assert Item.objects.get(pk=item.pk).status == "hidden"
    assert Loan.objects.get(pk=loan.pk).status == "cancelled"
    with pytest.raises(ForbiddenError):
        make_item(owner=member)


@pytest.mark.django_db
def test_the_place_is_given_as_at_latitude_longitude_or_the_older_lat_and_lon(
    make_resident, client_for, neighbourhood
):
    client = client_for(make_resident())
    by_at = client.get("/api/v1/neighbourhoods", {"at": "60.1699,24.9384"})
    by_pair = client.get("/api/v1/neighbourhoods", {"lat": 60.1699, "lon": 24.9384})
    assert by_at.status_code == by_pair.status_code == 200
    assert by_at.json() == by_pair.json()
    for query in ({}, {"lat": 60.1699}, {"at": "24.9384"}, {"at": "91,0"}):
        answer = client.get("/api/v1/neighbourhoods", query)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid"
