"""Safe retries: every POST under /api/ with an ``Idempotency-Key`` acts once per person.

Mobile apps on weak networks send a request again when its answer is lost. With the same
``Idempotency-Key`` (any string of 1 to 255 visible ASCII characters, a UUID say) and the same body,
the person gets the first answer again (status and body, with ``Idempotent-Replayed: true``)
and nothing acts a second time; the same key with another body (or on another path) is
**422 idempotency_key_reused**. Two requests with one key arriving at once: the second waits for
the first (a PostgreSQL advisory lock on the person and key) and replays its answer.

One mechanism for every view, as a middleware: it identifies the person by their bearer token
(the same check as the API's authentication); a request without a valid token passes through
untouched (the view answers 401, or acts for an anonymous endpoint). Only answers that acted
(below 400) are kept: a refused request changed nothing, so its retry is simply asked again, and
bad input leaves nothing in the database. Streamed answers are not kept. Records are kept ``IDEMPOTENCY_HOURS`` (24 h)
and purged by ``accounts.idempotency_purge`` (Celery beat); the unique constraint on (person,
key) is the database's guarantee.
"""

from __future__ import annotations

import hashlib
import logging
import re
import struct
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from accounts.authentication import SessionJWTAuthentication
from accounts.models import IdempotencyRecord
from backend.errors import error_body

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED = "Idempotent-Replayed"


def _person(request: HttpRequest) -> int | None:
    """The id of the person the bearer token names, or None (no token, or one the view will
    refuse)."""
    try:
        found = SessionJWTAuthentication().authenticate(request)  # type: ignore[arg-type]
    except APIException:
        return None
    if found is None:
        return None
    return int(found[0].pk)


def _request_digest(request: HttpRequest) -> str:
    """What the request asks: its method, path and body. A multipart body (a photo) is read as its
    fields and files, not its bytes: a retry's multipart boundary differs from the first's."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    body = request.body
    if request.content_type == "multipart/form-data":
        try:
            fields = sorted((k, v) for k, values in request.POST.lists() for v in values)
            files = sorted(
                (name, upload.name or "", hashlib.sha256(upload.read()).hexdigest())
                for name, uploads in request.FILES.lists()
                for upload in uploads
            )
            for upload in (u for _, uploads in request.FILES.lists() for u in uploads):
                upload.seek(0)
        except Exception:
            digest.update(body)
        else:
            digest.update(repr((fields, files)).encode())
    else:
        digest.update(body)
    return digest.hexdigest()


def _lock_id(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int(struct.unpack(">q", digest[:8])[0])


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status, content_type=record.content_type or None
    )
    if record.location:
        response["Location"] = record.location
    response[REPLAYED] = "true"
    return response


def _refused(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Deletes the records older than ``IDEMPOTENCY_HOURS``; the number deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if not KEY.match(key):
            return _refused(
                "invalid",
                _("Idempotency-Key must be 1 to 255 visible ASCII characters."),
                400,
            )
        user_id = _person(request)
        if user_id is None:
            return self.get_response(request)
        digest = _request_digest(request)
        lock = _lock_id(user_id, key)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
        try:
            return self._once(request, user_id, key, digest)
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])
            except DatabaseError:  # a broken connection: closing it releases the lock
                logger.warning("idempotency lock not released: the connection is closing")
                connection.close()

    def _once(self, request: HttpRequest, user_id: int, key: str, digest: str) -> HttpResponseBase:
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_HOURS)
        record = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if record is not None and record.created_at < cutoff:
            record.delete()  # older than the promise: the key is free again
            record = None
        if record is not None:
            if record.request_digest != digest:
                return _refused(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used for another request."),
                    422,
                )
            return _replay(record)
        response = self.get_response(request)
        if response.status_code >= 400 or response.streaming:
            # A refused request acted on nothing: a retry is asked again (and refused again,
            # unless what refused it changed); bad input leaves nothing in the database.
            return response
        if isinstance(response, HttpResponse) or hasattr(response, "content"):
            content = getattr(response, "content", b"")
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        user_id=user_id,
                        key=key,
                        request_digest=digest,
                        status=response.status_code,
                        content_type=str(response.get("Content-Type", ""))[:100],
                        body=content,
                        location=str(response.get("Location", ""))[:500],
                    )
            except IntegrityError:
                # Cannot happen under the lock; the constraint stays the last word.
                logger.warning("idempotency record for key of user %s already there", user_id)
        return response
