"""A neighbour's public profile (no place), and blocking: nothing passes between two people
once either blocked the other."""

from __future__ import annotations

import pytest

from sharing.models import Loan, PersonBlock
from sharing.services import loans as loan_services
from sharing.services.wanted import wanted_create
from tests.neighbourhoods.factories import NeighbourhoodFactory


@pytest.mark.django_db
def test_a_neighbours_profile_shows_no_place(make_resident, make_item, client_for, neighbourhood):
    lea, hugo = make_resident(name="Léa"), make_resident(name="Hugo")
    make_item(owner=lea, title="Perceuse")
    answer = client_for(hugo).get(f"/api/v1/members/{lea.pk}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "Léa" and [i["title"] for i in body["items"]] == ["Perceuse"]
    assert body["neighbourhoods"] == [{"id": neighbourhood.pk, "name": neighbourhood.name}]
    assert (body["loans_lent"], body["loans_borrowed"], body["ratings"]) == (0, 0, 0)
    text = answer.content.decode()
    for secret in ("home", "location", "coordinates", lea.email, str(lea.home.x)[:6]):
        assert secret not in text


@pytest.mark.django_db
def test_an_outsider_or_nobody_is_404(make_resident, client_for):
    lea = make_resident()
    outsider = make_resident(where=NeighbourhoodFactory())
    assert client_for(outsider).get(f"/api/v1/members/{lea.pk}").status_code == 404
    assert client_for(lea).get("/api/v1/members/999999").status_code == 404


@pytest.mark.django_db
def test_a_block_stops_requests_messages_offers_and_searches_either_way(
    make_resident, make_item, client_for, period, street_graph
):
    lea, hugo = make_resident(name="Léa"), make_resident(name="Hugo")
    drill = make_item(owner=lea, title="Perceuse")
    earlier = loan_services.loan_request(
        borrower=hugo, item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    blocked = client_for(lea).post(f"/api/v1/members/{hugo.pk}/block")
    assert blocked.status_code == 201 and blocked.json()["name"] == "Hugo"
    assert client_for(lea).post(f"/api/v1/members/{hugo.pk}/block").status_code == 200
    assert PersonBlock.objects.count() == 1

    hugo_client = client_for(hugo)
    asked = hugo_client.post(
        "/api/v1/loans/",
        {"item": drill.pk, "starts_at": period[0].isoformat(), "ends_at": period[1].isoformat()},
        format="json",
    )
    assert asked.status_code == 404  # as for an item he cannot see
    said = hugo_client.post(
        f"/api/v1/conversations/{earlier.conversation.pk}/messages", {"body": "?"}, format="json"
    )
    assert said.status_code == 403 and said.json()["code"] == "blocked"
    found = hugo_client.get("/api/v1/items/nearby", {"minutes": 30}).json()
    assert drill.pk not in [row["id"] for row in found["results"]]
    assert hugo_client.get(f"/api/v1/items/{drill.pk}").status_code == 404
    assert hugo_client.get(f"/api/v1/members/{lea.pk}").status_code == 404
    # Her wanted request does not reach him, his offer cannot reach her.
    wanted = wanted_create(requester=lea, title="Perceuse", starts_at=period[0], ends_at=period[1])
    from sharing.models import WantedNotice

    assert not WantedNotice.objects.filter(wanted=wanted, neighbour=hugo).exists()
    his_item = make_item(owner=hugo, title="Perceuse sans fil")
    offered = hugo_client.post(
        f"/api/v1/wanted/{wanted.pk}/offers", {"item": his_item.pk}, format="json"
    )
    assert offered.status_code in (403, 404)

    assert [b["name"] for b in client_for(lea).get("/api/v1/me/blocks").json()] == ["Hugo"]
    assert client_for(lea).delete(f"/api/v1/members/{hugo.pk}/block").status_code == 204
    assert client_for(lea).delete(f"/api/v1/members/{hugo.pk}/block").status_code == 404
    again = hugo_client.post(
        "/api/v1/loans/",
        {"item": drill.pk, "starts_at": period[0].isoformat(), "ends_at": period[1].isoformat()},
        format="json",
    )
    assert again.status_code in (201, 409)
    assert Loan.objects.filter(borrower=hugo).count() >= 1


@pytest.mark.django_db
def test_blocking_oneself_or_nobody_is_refused(make_resident, client_for):
    lea = make_resident()
    assert client_for(lea).post(f"/api/v1/members/{lea.pk}/block").status_code == 400
    assert client_for(lea).post("/api/v1/members/999999/block").status_code == 404
