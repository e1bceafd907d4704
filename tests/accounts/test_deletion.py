"""Deleting an account (RGPD art. 17): the person goes, what others need stays pseudonymous.

DELETE /api/v1/me with the password or a token from a recent login; blocked while an object is
lent or borrowed; idempotent; every foreign key to the user is taken care of by some app.
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

import pytest
import yaml
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from psycopg.types.range import Range
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import rgpd
from accounts.models import AccountToken, AuthSession, Consent, User
from accounts.services import user_create
from accounts.services.deletion import DELETED_EMAIL_DOMAIN, user_delete
from backend.errors import ConflictError
from neighbourhoods.models import Membership
from notifications.models import Device, Event
from pooling.models import Batch, Order, Route, Stop
from pooling.planning.pipeline import batch_plan
from pooling.services.couriers import route_start, stop_delivered
from sharing.models import Item, ItemPhoto, Loan, WantedRequest
from sharing.services import loans as loan_services
from sharing.services.conversations import message_send
from sharing.services.items import item_photo_add
from sharing.services.trust import rating_create
from sharing.services.wanted import wanted_create
from tests.neighbourhoods.fixtures import PASSWORD
from tests.notifications.factories import DeviceFactory
from tests.pooling.factories import DAY, SPOTS, CourierFactory, OrderFactory, point

URL = "/api/v1/me"


def session_for(user: User) -> AuthSession:
    return AuthSession.objects.create(
        user=user, refresh_jti=uuid.uuid4().hex, expires_at=timezone.now() + timedelta(days=30)
    )


def token_for(user: User, *, login_seconds_ago: float = 5) -> str:
    """An access token of a login ``login_seconds_ago`` seconds ago, naming its session."""
    token = AccessToken.for_user(user)
    token["auth_time"] = int(time.time() - login_seconds_ago)
    token["sid"] = str(session_for(user).id)
    return str(token)


def client(token: str | None = None) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if token:
        api.credentials(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def bring_to_closed(loan: Loan, lender: User, borrower: User) -> None:
    start = timezone.now() - timedelta(hours=1)
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    Loan.objects.filter(pk=loan.pk).update(
        period=Range(start, start + timedelta(days=1), "[)"),
        hold=Range(start - timedelta(hours=2), start + timedelta(days=1, hours=2), "[)"),
    )
    loan_services.loan_handover(actor=lender, loan_id=loan.pk)
    loan_services.loan_handover(actor=borrower, loan_id=loan.pk)
    loan_services.loan_return(actor=borrower, loan_id=loan.pk)
    loan_services.loan_confirm_return(actor=lender, loan_id=loan.pk, condition="fine")


# --- completeness --------------------------------------------------------------------------------


def test_every_foreign_key_to_the_user_is_taken_care_of_by_a_handler():
    """A new model pointing to the user, that no app's RGPD handler declares, fails here."""
    user_model = get_user_model()
    covered = rgpd.covered_fields()
    missing = []
    for model in apps.get_models():
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.related_model is not user_model:
                continue
            if not (field.concrete or field.many_to_many):
                continue
            pair = (model._meta.label, field.name)
            if pair not in covered:
                missing.append(pair)
    assert missing == [], f"foreign keys to the user that no RGPD handler takes care of: {missing}"
    declared = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields(include_hidden=True)
        if field.is_relation and field.related_model is user_model and not field.auto_created
    }
    assert covered <= declared, f"handlers declare fields that do not exist: {covered - declared}"
    assert [h.name for h in rgpd.handlers()][-2:] == ["notifications", "accounts"]


# --- the whole story ---------------------------------------------------------------------------


@pytest.fixture
def lending(make_resident, make_item, period, street_graph):
    """Léa lends; Camille borrowed and gave back her drill (rated, with messages), Hugo asks for
    her ladder; Léa wants a tent and asked Hugo's bike."""
    lea = make_resident(name="Léa")
    lea.walking_profile = "wheelchair"
    lea.save(update_fields=["walking_profile"])
    camille = make_resident(name="Camille")
    hugo = make_resident(name="Hugo")
    drill = make_item(owner=lea, title="Perceuse")
    ladder = make_item(owner=lea, title="Échelle")
    bike = make_item(owner=hugo, title="Vélo")
    photo = item_photo_add(actor=lea, item_id=drill.pk, data=jpeg())
    closed = loan_services.loan_request(
        borrower=camille, item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    conversation = closed.conversation
    message_send(sender=lea, conversation_id=conversation.pk, body="Elle est prête, passe ce soir")
    message_send(sender=camille, conversation_id=conversation.pk, body="Merci Léa !")
    bring_to_closed(closed, lea, camille)
    rating_create(rater=camille, loan_id=closed.pk, score=5, comment="Parfait")
    rating_create(rater=lea, loan_id=closed.pk, score=4)
    asked = loan_services.loan_request(
        borrower=hugo, item_id=ladder.pk, starts_at=period[0], ends_at=period[1]
    )
    asking = loan_services.loan_request(
        borrower=lea, item_id=bike.pk, starts_at=period[0], ends_at=period[1]
    )
    wanted = wanted_create(
        requester=lea,
        title="Tente",
        starts_at=period[0],
        ends_at=period[1],
    )
    return {
        "lea": lea,
        "camille": camille,
        "hugo": hugo,
        "drill": drill,
        "ladder": ladder,
        "photo": photo,
        "closed": closed,
        "conversation": conversation,
        "asked": asked,
        "asking": asking,
        "wanted": wanted,
    }


@pytest.mark.django_db
def test_deleting_with_the_password_erases_the_person_and_keeps_what_others_need(
    lending, settings, django_capture_on_commit_callbacks
):
    lea, camille, hugo = lending["lea"], lending["camille"], lending["hugo"]
    photo_names = [lending["photo"].image.name, lending["photo"].thumbnail.name]
    assert all(default_storage.exists(name) for name in photo_names)
    old_email = lea.email
    token = token_for(lea, login_seconds_ago=3600)
    device = DeviceFactory(user=lea)
    Consent.objects.create(user=lea, document="terms", version=settings.TERMS_VERSION)
    AccountToken.objects.create(
        user=lea,
        purpose="verify_email",
        email=lea.email,
        digest=uuid.uuid4().hex,
        expires_at=timezone.now() + timedelta(hours=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client(token).delete(URL, {"password": PASSWORD}, format="json")

    assert response.status_code == 204, response.content
    lea.refresh_from_db()
    assert lea.deleted_at is not None and lea.is_active is False
    assert lea.email.endswith(f"@{DELETED_EMAIL_DOMAIN}") and lea.email != old_email
    assert (lea.display_name, lea.home, lea.home_address, lea.notification_preferences) == (
        "",
        None,
        "",
        {},
    )
    assert lea.walking_profile == "walk"
    assert (lea.email_verified_at, lea.terms_version, lea.privacy_version) == (None, "", "")
    assert not lea.has_usable_password()
    assert lea.public_name == "former member"
    # Sessions, devices, tokens, consents, memberships: gone.
    assert not AuthSession.objects.filter(user=lea).exists()
    assert not Device.objects.filter(pk=device.pk).exists()
    assert not AccountToken.objects.filter(user=lea).exists()
    assert not Consent.objects.filter(user=lea).exists()
    assert not Membership.objects.filter(user=lea).exists()
    assert not Event.objects.filter(recipient=lea).exists()
    # Items withdrawn, their photos deleted from storage too.
    assert set(Item.objects.filter(owner=lea).values_list("status", flat=True)) == {"withdrawn"}
    assert not ItemPhoto.objects.filter(item__owner=lea).exists()
    assert not any(default_storage.exists(name) for name in photo_names)
    # Requests on her items declined (Hugo told), her own request cancelled (Hugo told), her
    # wanted request closed.
    assert Loan.objects.get(pk=lending["asked"].pk).status == "declined"
    assert Loan.objects.get(pk=lending["asking"].pk).status == "cancelled"
    assert {e.type for e in Event.objects.filter(recipient=hugo)} >= {
        "loan.declined",
        "loan.cancelled",
    }
    assert WantedRequest.objects.get(pk=lending["wanted"].pk).status == "cancelled"

    # Camille still reads the loan and the conversation, with a former member.
    camille_client = client(token_for(camille))
    loan = camille_client.get(f"/api/v1/loans/{lending['closed'].pk}").json()
    assert loan["status"] == "closed" and loan["lender"] == {"id": lea.pk, "name": "former member"}
    messages = camille_client.get(
        f"/api/v1/conversations/{lending['conversation'].pk}/messages"
    ).json()
    rows = messages["results"] if isinstance(messages, dict) else messages
    assert sorted((m["sender"]["name"], m["body"]) for m in rows) == [
        ("Camille", "Merci Léa !"),
        ("former member", "Elle est prête, passe ce soir"),
    ]
    assert lea.ratings_received.count() == 1 and lea.ratings_given.count() == 1

    # Her token no longer works; her address is free to sign up again.
    again = client(token).delete(URL, {"password": PASSWORD}, format="json")
    assert again.status_code == 401
    newcomer = user_create(email=old_email, password="another-long-passphrase-7")
    assert newcomer.pk != lea.pk and newcomer.email == old_email


@pytest.mark.django_db
def test_an_object_lent_or_borrowed_blocks_the_deletion_and_nothing_changes(
    make_resident, make_item, period, street_graph
):
    lea, camille = make_resident(name="Léa"), make_resident(name="Camille")
    drill = make_item(owner=lea, title="Perceuse")
    loan = loan_services.loan_request(
        borrower=camille, item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    start = timezone.now() - timedelta(hours=1)
    loan_services.loan_accept(actor=lea, loan_id=loan.pk)
    Loan.objects.filter(pk=loan.pk).update(
        period=Range(start, start + timedelta(days=1), "[)"),
        hold=Range(start - timedelta(hours=2), start + timedelta(days=1, hours=2), "[)"),
    )
    loan_services.loan_handover(actor=lea, loan_id=loan.pk)
    loan_services.loan_handover(actor=camille, loan_id=loan.pk)

    for person, role in ((lea, "lender"), (camille, "borrower")):
        response = client(token_for(person)).delete(URL, {"password": PASSWORD}, format="json")
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "active_loans"
        assert body["fields"]["blockers"] == [
            {"kind": "loan", "id": str(loan.pk), "label": "Perceuse", "role": role}
        ]
        person.refresh_from_db()
        assert person.deleted_at is None and person.is_active and person.display_name
    assert Item.objects.get(pk=drill.pk).status == "active"
    assert Loan.objects.get(pk=loan.pk).status == "active"


@pytest.mark.django_db
def test_a_recent_login_stands_for_the_password_an_old_one_does_not(settings):
    settings.ACCOUNT_FRESH_LOGIN_MINUTES = 10
    old, fresh = (
        User.objects.create_user("old@example.org", "pw-long-enough-1"),
        User.objects.create_user("fresh@example.org", "pw-long-enough-1"),
    )

    stale = client(token_for(old, login_seconds_ago=11 * 60)).delete(URL, {}, format="json")
    assert stale.status_code == 403 and stale.json()["code"] == "reauthentication_required"
    french = client(token_for(old, login_seconds_ago=11 * 60))
    french.credentials(
        HTTP_ACCEPT_LANGUAGE="fr",
        HTTP_AUTHORIZATION=f"Bearer {token_for(old, login_seconds_ago=11 * 60)}",
    )
    assert french.delete(URL, {}, format="json").json()["detail"] == (
        "Confirmez avec votre mot de passe, ou reconnectez-vous, pour supprimer votre compte."
    )
    wrong = client(token_for(old)).delete(URL, {"password": "not-it"}, format="json")
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    old.refresh_from_db()
    assert old.deleted_at is None and old.is_active

    ok = client(token_for(fresh, login_seconds_ago=60)).delete(URL, format="json")
    assert ok.status_code == 204
    fresh.refresh_from_db()
    assert fresh.deleted_at is not None


@pytest.mark.django_db
def test_bad_input_and_anonymous():
    person = User.objects.create_user("p@example.org", "pw-long-enough-1")
    unknown = client(token_for(person)).delete(URL, {"pasword": "x"}, format="json")
    assert unknown.status_code == 400 and "pasword" in unknown.json()["fields"]
    assert client().delete(URL, format="json").status_code == 401
    person.refresh_from_db()
    assert person.deleted_at is None


@pytest.mark.django_db
def test_deleting_twice_is_a_no_op():
    person = User.objects.create_user("p@example.org", "pw-long-enough-1")
    first = user_delete(user=person, password="pw-long-enough-1")
    email, deleted_at = first.email, first.deleted_at
    second = user_delete(user=first, checked=True)
    assert (second.email, second.deleted_at) == (email, deleted_at)
    assert User.objects.filter(pk=person.pk).count() == 1


# --- deliveries ----------------------------------------------------------------------------------


@pytest.fixture
def round_(hub):
    """A planned round through the homes of Aino (who will delete her account) and Eero."""
    neighbourhood = hub.neighbourhood
    courier = CourierFactory(hub=hub, capacity_units=40, capacity_kg=200)
    aino = User.objects.create_user(
        "aino@example.org", "pw-long-enough-1", home=point(*SPOTS[0]), home_address="Kotikatu 1"
    )
    eero = User.objects.create_user("eero@example.org", "pw", home=point(*SPOTS[3]))
    order = OrderFactory(resident=aino, neighbourhood=neighbourhood)
    OrderFactory(resident=eero, neighbourhood=neighbourhood)
    batch = batch_plan(
        batch_id=Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=DAY).pk
    )
    route = Route.objects.get(batch=batch)
    stop = Stop.objects.get(route=route, resident=aino)
    return {"courier": courier, "aino": aino, "order": order, "route": route, "stop": stop}


@pytest.mark.django_db
def test_an_order_out_for_delivery_is_cancelled_and_the_courier_told(round_):
    courier, aino, route = round_["courier"], round_["aino"], round_["route"]
    route_start(actor=courier.user, route_id=route.pk)
    assert Order.objects.get(pk=round_["order"].pk).status == "out_for_delivery"

    user_delete(user=aino, password="pw-long-enough-1")

    order = Order.objects.get(pk=round_["order"].pk)
    assert order.status == "cancelled" and order.cancelled_at is not None
    told = Event.objects.get(recipient=courier.user, type="route.order_cancelled")
    assert told.data == {"route_id": route.pk, "stop_id": round_["stop"].pk, "order_id": order.pk}
    stop = Stop.objects.get(pk=round_["stop"].pk)
    assert stop.label == "" and stop.location != point(*SPOTS[0])
    assert stop.resident_id == aino.pk  # the round's record stays, with a former member


@pytest.mark.django_db
def test_the_proof_photo_of_a_delivery_to_the_person_is_deleted(
    round_, django_capture_on_commit_callbacks
):
    courier, aino, route, stop = round_["courier"], round_["aino"], round_["route"], round_["stop"]
    route_start(actor=courier.user, route_id=route.pk)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    photo = SimpleUploadedFile("door.png", buffer.getvalue(), content_type="image/png")
    stop = stop_delivered(actor=courier.user, route_id=route.pk, stop_id=stop.pk, photo=photo)
    name = stop.proof_photo.name
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=aino, password="pw-long-enough-1")

    assert not default_storage.exists(name)
    stop.refresh_from_db()
    assert stop.proof_photo.name == "" and stop.status == "delivered"
    assert Order.objects.get(pk=round_["order"].pk).status == "delivered"


@pytest.mark.django_db
def test_an_unfinished_round_blocks_a_couriers_deletion(round_):
    courier, route = round_["courier"], round_["route"]
    route_start(actor=courier.user, route_id=route.pk)
    with pytest.raises(ConflictError) as refused:
        user_delete(user=courier.user, checked=True)
    assert refused.value.code == "active_loans"
    assert refused.value.fields["blockers"][0]["kind"] == "route"


def test_the_schema_documents_the_deletion_and_its_errors(api_client, db):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    operation = yaml.safe_load(response.content)["paths"]["/api/v1/me"]["delete"]
    assert operation["operationId"] == "me_delete"
    assert {"204", "401", "403", "409"} <= set(operation["responses"])
