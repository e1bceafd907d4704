from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Event
from sharing.models import Conversation, Message
from sharing.services.conversations import message_send
from sharing.services.loans import loan_request


def _events(user, kind="message.new"):
    return list(
        Event.objects.filter(recipient=user, type=kind)
        .order_by("seq")
        .values_list("data", flat=True)
    )


@pytest.fixture
def loan_talk(make_resident, make_item, period):
    lender = make_resident(name="Léa")
    borrower = make_resident(name="Camille")
    stranger = make_resident(name="Hugo")
    item = make_item(owner=lender, title="Appareil à raclette 8 personnes", category="kitchen")
    loan = loan_request(borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1])
    return {
        "lender": lender,
        "borrower": borrower,
        "stranger": stranger,
        "item": item,
        "loan": loan,
        "conversation": Conversation.objects.get(loan=loan),
    }


def test_parties_talk_and_the_other_one_hears_of_it(loan_talk, client_for):
    lender, borrower = loan_talk["lender"], loan_talk["borrower"]
    conversation = loan_talk["conversation"]
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    response = client_for(borrower).post(url, {"body": "  Je passe vers 18 h ?  "}, format="json")
    assert response.status_code == 201, response.content
    sent = response.json()
    assert sent["body"] == "Je passe vers 18 h ?"
    assert sent["sender"] == {"id": borrower.pk, "name": "Camille"}
    assert _events(lender) == [
        {
            "conversation_id": conversation.pk,
            "message_id": sent["id"],
            "sender_id": borrower.pk,
            "sender_name": "Camille",
            "preview": "Je passe vers 18 h ?",
        }
    ]
    assert _events(borrower) == []
    reply = client_for(lender).post(url, {"body": "Parfait, à tout à l'heure."}, format="json")
    assert reply.status_code == 201
    listed = client_for(borrower).get(url).json()
    assert [m["body"] for m in listed["results"]] == [
        "Parfait, à tout à l'heure.",
        "Je passe vers 18 h ?",
    ]
    conversation.refresh_from_db()
    assert conversation.last_message_at == Message.objects.get(pk=reply.json()["id"]).created_at


def test_a_long_message_is_previewed_in_140_characters(loan_talk):
    body = "Bonjour ! " + "x" * 300
    message_send(
        sender=loan_talk["borrower"], conversation_id=loan_talk["conversation"].pk, body=body
    )
    preview = _events(loan_talk["lender"])[0]["preview"]
    assert len(preview) == 140 and preview.endswith("…")
    assert preview == (body[:139] + "…")


@pytest.mark.parametrize("actor", ["anonymous", "stranger", "staff"])
def test_only_the_two_parties_read_or_write(
    loan_talk, client_for, api_client, make_resident, association, actor
):
    conversation = loan_talk["conversation"]
    message_send(sender=loan_talk["lender"], conversation_id=conversation.pk, body="Bonjour")
    if actor == "anonymous":
        client = api_client
    elif actor == "staff":
        staff = make_resident(name="Staff")
        association.staff.add(staff)
        client = client_for(staff)
    else:
        client = client_for(loan_talk["stranger"])
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    expected = 401 if actor == "anonymous" else 403
    read = client.get(url)
    write = client.post(url, {"body": "Coucou"}, format="json")
    assert (read.status_code, write.status_code) == (expected, expected)
    if actor != "anonymous":
        assert read.json()["code"] == write.json()["code"] == "not_a_party"
        assert client.get("/api/v1/conversations/").json()["results"] == []
    assert list(conversation.messages.values_list("body", flat=True)) == ["Bonjour"]
    assert len(_events(loan_talk["borrower"])) == 1  # the lender's "Bonjour", nothing more
    missing = client_for(loan_talk["borrower"]).get("/api/v1/conversations/999999/messages")
    assert missing.status_code == 404


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_bad_bodies_are_400_and_store_nothing(loan_talk, client_for, body):
    conversation = loan_talk["conversation"]
    response = client_for(loan_talk["borrower"]).post(
        f"/api/v1/conversations/{conversation.pk}/messages", {"body": body}, format="json"
    )
    assert response.status_code == 400
    assert "body" in response.json()["fields"]
    assert Message.objects.count() == 0
    assert _events(loan_talk["lender"]) == []


def test_hidden_messages_are_not_shown(loan_talk, client_for):
    conversation = loan_talk["conversation"]
    kept = message_send(sender=loan_talk["lender"], conversation_id=conversation.pk, body="Oui")
    rude = message_send(
        sender=loan_talk["lender"], conversation_id=conversation.pk, body="Grossier"
    )
    Message.objects.filter(pk=rude.pk).update(hidden=True)
    client = client_for(loan_talk["borrower"])
    listed = client.get(f"/api/v1/conversations/{conversation.pk}/messages").json()["results"]
    assert [m["id"] for m in listed] == [kept.pk]
    row = client.get("/api/v1/conversations/").json()["results"][0]
    assert row["last_message"]["id"] == kept.pk and row["last_message"]["body"] == "Oui"


def test_my_conversations_with_their_last_message_in_constant_queries(
    loan_talk, client_for, make_item, make_resident, period
):
    borrower, lender = loan_talk["borrower"], loan_talk["lender"]
    first = loan_talk["conversation"]
    message_send(sender=lender, conversation_id=first.pk, body="Premier")
    client = client_for(borrower)
    rows = client.get("/api/v1/conversations/").json()["results"]
    assert rows == [
        {
            "id": first.pk,
            "subject": {
                "kind": "loan",
                "id": loan_talk["loan"].pk,
                "item": {"id": loan_talk["item"].pk, "name": "Appareil à raclette 8 personnes"},
            },
            "other": {"id": lender.pk, "name": "Léa"},
            "last_message": {
                "id": Message.objects.get(body="Premier").pk,
                "sender": lender.pk,
                "body": "Premier",
                "created_at": rows[0]["last_message"]["created_at"],
            },
            "created_at": rows[0]["created_at"],
            "last_message_at": rows[0]["last_message_at"],
        }
    ]
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/conversations/")
    later = []
    for i in range(4):
        item = make_item(title=f"Escabeau {i}")
        loan = loan_request(
            borrower=borrower,
            item_id=item.pk,
            starts_at=period[0] + timedelta(days=10 + i),
            ends_at=period[1] + timedelta(days=10 + i),
        )
        later.append(Conversation.objects.get(loan=loan))
    message_send(sender=borrower, conversation_id=later[1].pk, body="Le plus récent")
    with CaptureQueriesContext(connection) as five:
        rows = client.get("/api/v1/conversations/").json()["results"]
    assert len(five) == len(one)
    assert [r["id"] for r in rows][:2] == [later[1].pk, later[3].pk]
    assert len(rows) == 5 and rows[0]["last_message"]["body"] == "Le plus récent"
    assert rows[1]["last_message"] is None


def test_an_offer_has_its_conversation(street_graph, make_resident, make_item, client_for):
    from sharing.services.wanted import offer_create, wanted_create

    requester = make_resident((24.9384, 60.1699), name="Camille")
    lender = make_resident((24.9410, 60.1710), name="Léa")
    drill = make_item(owner=lender, title="Perceuse")
    start = timezone.now() + timedelta(days=2)
    wanted = wanted_create(
        requester=requester, title="Perceuse", starts_at=start, ends_at=start + timedelta(days=1)
    )
    offer = offer_create(lender=lender, wanted_id=wanted.pk, item_id=drill.pk)
    rows = client_for(requester).get("/api/v1/conversations/").json()["results"]
    assert [(r["subject"]["kind"], r["subject"]["id"], r["other"]["id"]) for r in rows] == [
        ("offer", offer.pk, lender.pk)
    ]
    assert rows[0]["last_message"] is None  # the offer came without a message
