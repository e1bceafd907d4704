"""A copy of one's data (RGPD art. 15 and 20): POST /me/export starts a Celery job building a zip
of JSON files and photos, the person follows its progress, gets a mail with an expiring signed
link, downloads it; exports are purged after DATA_EXPORT_DAYS days."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.core import signing
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import DataExport, MailOutbox, User
from accounts.services import export as export_module
from accounts.services.deletion import user_delete
from accounts.services.export import (
    export_build,
    export_request,
    export_token,
    exports_purge,
)
from sharing.services import loans as loan_services
from sharing.services.conversations import message_send
from sharing.services.items import item_photo_add
from tests.accounts.factories import UserFactory

EXPORT = "/api/v1/me/export"


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_ROOT = str(tmp_path / "private")
    return Path(settings.PRIVATE_ROOT)


def as_user(user: User | None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 60, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


def download_path(link: str) -> tuple[str, str]:
    parts = urlsplit(link)
    return parts.path, parse_qs(parts.query)["token"][0]


@pytest.mark.django_db
def test_the_export_is_built_mailed_and_downloaded(
    make_resident,
    make_item,
    period,
    street_graph,
    eager_tasks,
    smtp_server,
    django_capture_on_commit_callbacks,
    settings,
    _private_root,
):
    lea, camille = make_resident(name="Léa"), make_resident(name="Camille")
    drill = make_item(owner=lea, title="Perceuse")
    item_photo_add(actor=lea, item_id=drill.pk, data=jpeg())
    loan = loan_services.loan_request(
        borrower=camille, item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    message_send(sender=lea, conversation_id=loan.conversation.pk, body="Avec plaisir")

    with django_capture_on_commit_callbacks(execute=True):
        started = as_user(lea).post(EXPORT)
        assert started.status_code == 202
        assert started.json()["status"] == "pending" and started.json()["progress"] == 0

    export_id = started.json()["id"]
    shown = as_user(lea).get(f"/api/v1/me/exports/{export_id}")
    assert shown.status_code == 200
    body = shown.json()
    assert (body["status"], body["progress"]) == ("ready", 100)
    assert body["size_bytes"] > 0 and body["expires_at"] is not None
    data_export = DataExport.objects.get(pk=export_id)
    zip_path = _private_root / data_export.file
    assert zip_path.is_file()
    assert not zip_path.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())

    mail = smtp_server.wait_for(1, to=lea.email)[0]
    assert mail.subject == "Vos données Voisinage sont prêtes"  # Léa reads French
    link = next(link for link in mail.links() if "/download?" in link)
    path, token = download_path(link)
    assert path == f"/api/v1/me/exports/{export_id}/download"
    response = APIClient().get(path, {"token": token})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {
        "profile.json",
        "consents.json",
        "sharing/items.json",
        "sharing/loans.json",
        "sharing/messages.json",
        "sharing/ratings_given.json",
        "sharing/ratings_received.json",
        "sharing/wanted_requests.json",
        "pooling/orders.json",
        "notifications/events.json",
        "neighbourhoods/memberships.json",
        "index.json",
    } <= names
    profile = json.loads(archive.read("profile.json"))
    assert (profile["email"], profile["display_name"]) == (lea.email, "Léa")
    assert profile["home"]["type"] == "Point"
    assert profile["walking_profile"] == lea.walking_profile
    items = json.loads(archive.read("sharing/items.json"))
    assert [item["title"] for item in items] == ["Perceuse"]
    loans = json.loads(archive.read("sharing/loans.json"))
    assert [(entry["id"], entry["role"], entry["status"]) for entry in loans] == [
        (loan.pk, "lender", "requested")
    ]
    messages = json.loads(archive.read("sharing/messages.json"))
    assert [(m["body"], m["from_me"]) for m in messages] == [("Avec plaisir", True)]
    photos = json.loads(archive.read("sharing/photos.json"))
    assert len(photos) == 1 and photos[0]["item_id"] == drill.pk
    with Image.open(io.BytesIO(archive.read(photos[0]["file"]))) as image:
        assert image.format == "JPEG" and image.size[0] > 0
    events = json.loads(archive.read("notifications/events.json"))
    assert "loan.requested" in {event["type"] for event in events}

    # Someone else, or nobody, sees nothing of it.
    assert as_user(camille).get(f"/api/v1/me/exports/{export_id}").status_code == 404
    assert as_user(None).get(f"/api/v1/me/exports/{export_id}").status_code == 401
    assert as_user(None).post(EXPORT).status_code == 401


@pytest.mark.django_db
def test_a_second_export_while_one_runs_is_refused():
    person = UserFactory()
    first = as_user(person).post(EXPORT)
    assert first.status_code == 202
    second = as_user(person).post(EXPORT)
    assert second.status_code == 409 and second.json()["code"] == "export_running"
    assert DataExport.objects.filter(user=person).count() == 1
    # Once built, a new one may be asked for.
    export_build(export_id=first.json()["id"])
    assert as_user(person).post(EXPORT).status_code == 202


@pytest.mark.django_db
def test_progress_moves_section_by_section(monkeypatch):
    person = UserFactory()
    data_export = export_request(user=person)
    seen: list[int] = []
    original = export_module._progress

    def spy(export_id, progress):
        original(export_id, progress)
        seen.append(DataExport.objects.get(pk=export_id).progress)

    monkeypatch.setattr(export_module, "_progress", spy)
    export_build(export_id=data_export.pk)
    assert seen == sorted(seen) and len(seen) >= 4 and seen[-1] == 99
    data_export.refresh_from_db()
    assert (data_export.status, data_export.progress) == ("ready", 100)
    assert export_build(export_id=data_export.pk) is None  # a second delivery does nothing


@pytest.mark.django_db
def test_forged_expired_or_foreign_links_are_refused(monkeypatch, settings):
    person, other = UserFactory(), UserFactory()
    mine = export_build(export_id=export_request(user=person).pk)
    theirs = export_build(export_id=export_request(user=other).pk)
    assert mine is not None and theirs is not None
    url = f"/api/v1/me/exports/{mine.pk}/download"
    anonymous = APIClient()

    assert anonymous.get(url, {"token": export_token(mine)}).status_code == 200
    forged = anonymous.get(url, {"token": export_token(mine)[:-2] + "xx"})
    assert forged.status_code == 403 and forged.json()["code"] == "export_link_invalid"
    foreign = anonymous.get(url, {"token": export_token(theirs)})
    assert foreign.status_code == 403 and foreign.json()["code"] == "export_link_invalid"
    missing = anonymous.get(url)
    assert missing.status_code == 400 and "token" in missing.json()["fields"]

    real_time = time.time
    monkeypatch.setattr(
        signing.time, "time", lambda: real_time() - (settings.DATA_EXPORT_DAYS + 1) * 86400
    )
    old_token = export_token(mine)
    monkeypatch.setattr(signing.time, "time", real_time)
    old = anonymous.get(url, {"token": old_token})
    assert old.status_code == 410 and old.json()["code"] == "export_expired"


@pytest.mark.django_db
def test_the_purge_deletes_expired_exports_files_once(
    _private_root, django_capture_on_commit_callbacks
):
    person = UserFactory()
    data_export = export_build(export_id=export_request(user=person).pk)
    assert data_export is not None
    path = _private_root / data_export.file
    token = export_token(data_export)
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_purge() == 0
    assert path.is_file()

    later = timezone.now() + timedelta(days=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_purge(now=later) == 1
    assert not path.exists()
    data_export.refresh_from_db()
    assert (data_export.status, data_export.file) == ("expired", "")
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_purge(now=later) == 0  # idempotent
    response = APIClient().get(f"/api/v1/me/exports/{data_export.pk}/download", {"token": token})
    assert response.status_code == 410 and response.json()["code"] == "export_expired"


@pytest.mark.django_db
def test_deleting_the_account_deletes_its_exports(
    _private_root, django_capture_on_commit_callbacks
):
    person = UserFactory()
    data_export = export_build(export_id=export_request(user=person).pk)
    assert data_export is not None
    path = _private_root / data_export.file
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=person, checked=True)
    assert not path.exists() and not DataExport.objects.filter(user=person).exists()


@pytest.mark.django_db
def test_the_mail_link_points_at_the_download():
    person = UserFactory(language="en")
    data_export = export_build(export_id=export_request(user=person).pk)
    assert data_export is not None
    mail = MailOutbox.objects.get(to=person.email)
    assert mail.subject == "Your Voisinage data is ready"
    assert re.search(rf"/api/v1/me/exports/{data_export.pk}/download\?token=\S+", mail.text)


def test_the_schema_documents_the_export_operations(api_client, db):
    response = api_client.get("/api/schema/")
    paths = yaml.safe_load(response.content)["paths"]
    create = paths["/api/v1/me/export"]["post"]
    assert create["operationId"] == "me_export_create"
    assert {"202", "401", "409"} <= set(create["responses"])
    detail = paths["/api/v1/me/exports/{export_id}"]["get"]
    assert {"200", "401", "404"} <= set(detail["responses"])
    download = paths["/api/v1/me/exports/{export_id}/download"]["get"]
    assert {"200", "400", "403", "404", "410"} <= set(download["responses"])
    assert "application/zip" in download["responses"]["200"]["content"]


@pytest.mark.django_db
def test_an_export_whose_task_was_lost_is_failed_by_the_purge_and_may_be_asked_again():
    person = UserFactory()
    stuck = export_request(user=person)
    assert as_user(person).post(EXPORT).status_code == 409
    assert exports_purge(now=timezone.now() + timedelta(hours=1)) == 0
    stuck.refresh_from_db()
    assert stuck.status == "pending"
    exports_purge(now=timezone.now() + timedelta(hours=7))
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error) == ("failed", "stale")
    assert as_user(person).post(EXPORT).status_code == 202
