"""Safe retries: a POST with an Idempotency-Key acts once per person, even when the two copies
arrive at once (real PostgreSQL, concurrent requests)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.idempotency import idempotency_purge
from accounts.models import IdempotencyRecord
from sharing.models import Loan, Message
from tests.accounts.factories import access_token_for


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def loan_body(item, period) -> dict:
    return {"item": item.pk, "starts_at": period[0].isoformat(), "ends_at": period[1].isoformat()}


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_answer(make_resident, make_item, period):
    lender, borrower = make_resident(name="Léa"), make_resident(name="Hugo")
    item = make_item(owner=lender)
    client = bearer(borrower)

    first = client.post(
        "/api/v1/loans/", loan_body(item, period), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        "/api/v1/loans/", loan_body(item, period), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.status_code == 201, first.json()
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Loan.objects.filter(borrower=borrower).count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_acts_not(make_resident, make_item, period):
    lender, borrower = make_resident(), make_resident()
    item, other = make_item(owner=lender), make_item(owner=lender, title="Échelle")
    client = bearer(borrower)
    client.post("/api/v1/loans/", loan_body(item, period), format="json", HTTP_IDEMPOTENCY_KEY="k")

    reused = client.post(
        "/api/v1/loans/", loan_body(other, period), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert Loan.objects.filter(borrower=borrower).count() == 1


@pytest.mark.django_db
def test_keys_belong_to_one_person_and_no_key_acts_each_time(make_resident, make_item, period):
    lender, first, second = make_resident(), make_resident(), make_resident()
    item = make_item(owner=lender)
    loan_id = (
        bearer(first)
        .post("/api/v1/loans/", loan_body(item, period), format="json", HTTP_IDEMPOTENCY_KEY="same")
        .json()["id"]
    )
    conversation = Loan.objects.get(pk=loan_id).conversation.pk
    assert bearer(second).post(
        "/api/v1/loans/", loan_body(item, period), format="json", HTTP_IDEMPOTENCY_KEY="same"
    ).status_code in (201, 409)  # another person's key: acts (the item may be taken)
    url = f"/api/v1/conversations/{conversation}/messages"
    for _ in range(2):
        assert bearer(first).post(url, {"body": "Bonjour"}, format="json").status_code == 201
    assert Message.objects.filter(body="Bonjour").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "a" * 256, "with space", "é"])
def test_a_malformed_key_is_400(make_resident, key):
    client = bearer(make_resident())
    response = client.post("/api/v1/wanted/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_act_once(make_resident, make_item, period):
    lender, borrower = make_resident(), make_resident()
    item = make_item(owner=lender)
    copies = 4
    barrier = threading.Barrier(copies)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    token = access_token_for(borrower)

    def send() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait()
            response = client.post(
                "/api/v1/loans/",
                loan_body(item, period),
                format="json",
                HTTP_IDEMPOTENCY_KEY="retry-storm",
            )
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in answers] == [201] * copies
    assert len({body["id"] for _, body in answers}) == 1
    assert Loan.objects.filter(borrower=borrower).count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_records_are_purged_after_their_day(make_resident, settings):
    person = make_resident()
    old = IdempotencyRecord.objects.create(
        user=person,
        key="old",
        request_digest="x",
        status=201,
        body=b"{}",
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_HOURS + 1),
    )
    IdempotencyRecord.objects.create(
        user=person, key="new", request_digest="x", status=201, body=b"{}"
    )
    assert idempotency_purge() == 1
    assert idempotency_purge() == 0
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(key="new").exists()


@pytest.mark.django_db
def test_the_schema_offers_the_header_on_every_signed_in_post(api_client):
    import yaml

    schema = yaml.safe_load(api_client.get("/api/schema/").content)
    posts = [
        (path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method == "post"
        and path.startswith("/api/v1/")
        and op.get("security") not in (None, [{}])
    ]
    assert len(posts) > 20
    for path, op in posts:
        names = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        assert "idempotency-key" in names, path
        assert "422" in op["responses"], path


def _multipart(boundary: str, image: bytes) -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"; filename="drill.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )


@pytest.mark.django_db
def test_a_photo_sent_again_with_another_boundary_is_added_once(make_resident, make_item):
    import io

    from PIL import Image

    from sharing.models import ItemPhoto

    owner = make_resident()
    item = make_item(owner=owner)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(buffer, "JPEG")
    client = bearer(owner)
    answers = [
        client.generic(
            "POST",
            f"/api/v1/items/{item.pk}/photos",
            _multipart(boundary, buffer.getvalue()),
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="photo-1",
        )
        for boundary in ("first-boundary-123", "retry-boundary-456")
    ]
    assert [a.status_code for a in answers] == [201, 201], answers[0].content
    assert answers[0].json() == answers[1].json()
    assert ItemPhoto.objects.filter(item=item).count() == 1


@pytest.mark.django_db
def test_a_refused_request_keeps_nothing_and_its_retry_is_asked_again(make_resident):
    client = bearer(make_resident())
    for _ in range(2):
        refused = client.post(
            "/api/v1/wanted/", {"title": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad-1"
        )
        assert refused.status_code == 400 and "Idempotent-Replayed" not in refused
    assert not IdempotencyRecord.objects.exists()
