"""A copy of a person's data (RGPD art. 15 and 20): a zip of JSON files and their photos.

``export_request`` records the request (one at a time: the ``accounts_export_one_running``
constraint) and queues the Celery job after the commit; ``export_build`` writes the zip in
``PRIVATE_ROOT`` (never under ``MEDIA_ROOT``), one section per app (``accounts.rgpd``), moving
``progress`` as it goes, then mails the person a signed link valid ``DATA_EXPORT_DAYS`` days;
``exports_purge`` deletes the files of the exports past that time.
"""

from __future__ import annotations

import json
import logging
import zipfile
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import rgpd
from accounts.mail import mail_to_user
from accounts.models import AuthSession, Consent, DataExport, User
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError

logger = logging.getLogger(__name__)

DOWNLOAD_SALT = "accounts.export.download"
# An export neither built nor failed after this long lost its task: the purge marks it failed.
STALE_AFTER = timedelta(hours=6)


class ExportRunningError(ConflictError):
    code = "export_running"
    default_message = _("An export of your data is already being prepared: wait for its mail.")


class ExportNotFoundError(NotFoundError):
    code = "export_not_found"
    default_message = _("No such export.")


class ExportLinkInvalidError(ForbiddenError):
    code = "export_link_invalid"
    default_message = _("This download link is not valid.")


class ExportExpiredError(DomainError):
    status_code = 410
    code = "export_expired"
    default_message = _("This export has expired: ask for a new one.")


class ExportNotReadyError(ConflictError):
    code = "export_not_ready"
    default_message = _("This export is not ready.")


class ZipWriter:
    """The :class:`accounts.rgpd.ExportWriter` of an export: files in a zip."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.names: list[str] = []

    def json(self, name: str, data: Any) -> None:
        text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        self.archive.writestr(name, text + "\n")
        self.names.append(name)

    def file(self, name: str, storage_name: str) -> bool:
        try:
            with default_storage.open(storage_name, "rb") as source:
                self.archive.writestr(name, source.read())
        except (FileNotFoundError, OSError):
            logger.warning("export: %s is missing from storage", storage_name)
            return False
        self.names.append(name)
        return True


def private_root() -> Path:
    return Path(settings.PRIVATE_ROOT)


def export_path(data_export: DataExport) -> Path:
    return private_root() / data_export.file


def _enqueue(export_id: str) -> None:
    from accounts.tasks import export_build  # the task module imports this one

    export_build.delay(export_id)


def export_request(*, user: User) -> DataExport:
    """Records a request for ``user``'s data; the job starts after the commit. 409
    ``export_running`` while another is pending or running."""
    try:
        with transaction.atomic():
            data_export = DataExport.objects.create(user=user)
            transaction.on_commit(partial(_enqueue, str(data_export.pk)), robust=True)
    except IntegrityError as error:
        raise ExportRunningError() from error
    return data_export


def export_token(data_export: DataExport) -> str:
    return signing.TimestampSigner(salt=DOWNLOAD_SALT).sign(str(data_export.pk))


def export_download_url(data_export: DataExport) -> str:
    return (
        f"{settings.PUBLIC_BASE_URL}/api/v1/me/exports/{data_export.pk}/download"
        f"?token={export_token(data_export)}"
    )


def _progress(export_id: Any, progress: int) -> None:
    DataExport.objects.filter(pk=export_id).update(progress=min(progress, 99))


def accounts_export(user: User, writer: rgpd.ExportWriter) -> None:
    writer.json(
        "profile.json",
        rgpd.rows(
            User.objects.filter(pk=user.pk).values(
                "id",
                "email",
                "display_name",
                "language",
                "walking_profile",
                "home",
                "home_address",
                "phone",
                "is_assisted",
                "notification_preferences",
                "email_verified_at",
                "terms_version",
                "privacy_version",
                "date_joined",
                "last_login",
            )
        )[0],
    )
    writer.json(
        "consents.json",
        rgpd.rows(
            Consent.objects.filter(user=user)
            .order_by("accepted_at", "pk")
            .values("document", "version", "accepted_at", "method", "note")
        ),
    )
    writer.json(
        "sessions.json",
        rgpd.rows(
            AuthSession.objects.filter(user=user)
            .order_by("created_at")
            .values("name", "created_at", "last_used_at", "expires_at", "revoked_at")
        ),
    )


def export_build(*, export_id: Any, now: datetime | None = None) -> DataExport | None:
    """Builds the zip of a pending export, then mails the link. None: nothing to do (unknown,
    or already built: a second delivery of the task is harmless)."""
    with transaction.atomic():
        data_export = (
            DataExport.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=export_id, status=DataExport.Status.PENDING)
            .first()
        )
        if data_export is None:
            return None
        data_export.status = DataExport.Status.RUNNING
        data_export.progress = 0
        data_export.save(update_fields=["status", "progress"])
    user = data_export.user
    relative = f"exports/{data_export.pk}.zip"
    target = private_root() / relative
    partial_file = target.with_suffix(".part")
    sections = rgpd.handlers()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial_file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            writer = ZipWriter(archive)
            for number, handler in enumerate(sections, start=1):
                handler.export(user, writer)
                _progress(data_export.pk, 100 * number // len(sections))
            writer.json("index.json", {"files": [*writer.names, "index.json"]})
        partial_file.replace(target)
    except Exception as error:
        partial_file.unlink(missing_ok=True)
        DataExport.objects.filter(pk=data_export.pk).update(
            status=DataExport.Status.FAILED, error=type(error).__name__[:200]
        )
        raise
    now = now or timezone.now()
    with transaction.atomic():
        data_export.status = DataExport.Status.READY
        data_export.progress = 100
        data_export.file = relative
        data_export.size_bytes = target.stat().st_size
        data_export.ready_at = now
        data_export.expires_at = now + timedelta(days=settings.DATA_EXPORT_DAYS)
        data_export.save(
            update_fields=["status", "progress", "file", "size_bytes", "ready_at", "expires_at"]
        )
        mail_to_user(
            user,
            "export_ready",
            {"url": export_download_url(data_export), "days": settings.DATA_EXPORT_DAYS},
        )
    return data_export


def export_of(*, user: User, export_id: Any) -> DataExport:
    """One of ``user``'s exports; 404 for anyone else's."""
    data_export = DataExport.objects.filter(pk=export_id, user=user).first()
    if data_export is None:
        raise ExportNotFoundError()
    return data_export


def export_for_download(
    *, export_id: Any, token: str, now: datetime | None = None
) -> tuple[DataExport, Path]:
    """The export a download link names, and its file; refused for a forged or expired link."""
    try:
        value = signing.TimestampSigner(salt=DOWNLOAD_SALT).unsign(
            token, max_age=timedelta(days=settings.DATA_EXPORT_DAYS)
        )
    except signing.SignatureExpired as error:
        raise ExportExpiredError() from error
    except signing.BadSignature as error:
        raise ExportLinkInvalidError() from error
    if value != str(export_id):
        raise ExportLinkInvalidError()
    data_export = DataExport.objects.filter(pk=export_id).first()
    if data_export is None:
        raise ExportNotFoundError()
    now = now or timezone.now()
    if data_export.status == DataExport.Status.EXPIRED or (
        data_export.expires_at is not None and data_export.expires_at <= now
    ):
        raise ExportExpiredError()
    if data_export.status != DataExport.Status.READY or not data_export.file:
        raise ExportNotReadyError()
    path = export_path(data_export)
    if not path.is_file():
        raise ExportExpiredError()
    return data_export, path


def export_files_delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def exports_purge(*, now: datetime | None = None) -> int:
    """Deletes the files of the exports past their time and marks them expired. Idempotent.
    Returns how many exports expired. An export stuck pending or running (its task lost with a
    worker) for ``STALE_AFTER`` is marked failed, so that its owner may ask again."""
    now = now or timezone.now()
    count = 0
    DataExport.objects.filter(
        status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING],
        created_at__lte=now - STALE_AFTER,
    ).update(status=DataExport.Status.FAILED, error="stale")
    with transaction.atomic():
        due = DataExport.objects.select_for_update(skip_locked=True).filter(
            status=DataExport.Status.READY, expires_at__lte=now
        )
        paths = []
        for data_export in due:
            if data_export.file:
                paths.append(export_path(data_export))
            data_export.status = DataExport.Status.EXPIRED
            data_export.file = ""
            data_export.save(update_fields=["status", "file"])
            count += 1
        transaction.on_commit(partial(export_files_delete, paths))
    return count
