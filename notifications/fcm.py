"""Firebase Cloud Messaging: the only module that imports firebase-admin, and only when a push
is sent or the configuration checked, so importing the app never needs credentials.

The Firebase app is the one named ``voisinage``: built from ``FCM_CREDENTIALS_FILE`` (a service
account key) on first use, or an app the process initialised under that name itself.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from firebase_admin import App

logger = logging.getLogger(__name__)

APP_NAME = "voisinage"
BATCH_SIZE = 500  # the most messaging.send_each takes at once
APNS_COLLAPSE_ID_MAX = 64  # bytes; the keys are ASCII
WEBPUSH_TOPIC_MAX = 32
_init_lock = threading.Lock()


class Outcome(enum.StrEnum):
    SENT = "sent"
    BAD_TOKEN = "bad_token"  # noqa: S105 (unregistered, invalid or foreign: forget the device)
    RETRY = "retry"  # FCM unavailable, internal error, quota: try again later
    FAILED = "failed"  # anything else: not retried


@dataclass(frozen=True)
class PushMessage:
    token: str
    platform: str  # android | ios | web
    title: str
    body: str
    data: dict[str, str]
    urgent: bool
    ttl_seconds: int
    # Pushes with the same key replace each other: on the phone, and in FCM's store while the
    # device is offline.
    collapse_key: str = ""
    # The person's unread count: the app icon's badge. None: the badge is left as it is.
    badge: int | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: str = ""  # FCM's error code, lower case: unregistered, unavailable...
    retry_after: float | None = None


@dataclass(frozen=True)
class BatchResult:
    results: list[SendResult]
    batches: int


def _app() -> App | None:
    import firebase_admin
    from firebase_admin import credentials

    with _init_lock:
        try:
            return firebase_admin.get_app(APP_NAME)
        except ValueError:
            pass
        if not settings.FCM_CREDENTIALS_FILE:
            return None
        options = {"projectId": settings.FCM_PROJECT_ID} if settings.FCM_PROJECT_ID else None
        certificate = credentials.Certificate(settings.FCM_CREDENTIALS_FILE)
        return firebase_admin.initialize_app(certificate, options, name=APP_NAME)


def fcm_configured() -> bool:
    """Whether pushes can leave: push enabled and a Firebase app available."""
    return bool(settings.PUSH_ENABLED) and _app() is not None


def fcm_credentials_check() -> None:
    """Refuses a push configuration that cannot work (called at start-up in production)."""
    if not settings.PUSH_ENABLED:
        return
    if not settings.FCM_CREDENTIALS_FILE:
        raise ImproperlyConfigured(
            "PUSH_ENABLED is on but FCM_CREDENTIALS_FILE is not set: give the path of the "
            "Firebase service account key, or set PUSH_ENABLED=false"
        )
    from firebase_admin import credentials

    try:
        certificate = credentials.Certificate(settings.FCM_CREDENTIALS_FILE)
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(
            f"FCM_CREDENTIALS_FILE is not a usable service account key: {error}"
        ) from error
    if not (settings.FCM_PROJECT_ID or certificate.project_id):
        raise ImproperlyConfigured("no Firebase project id: set FCM_PROJECT_ID")


def _message(push: PushMessage) -> Any:
    from firebase_admin import messaging

    notification = messaging.Notification(title=push.title, body=push.body)
    collapse = push.collapse_key or None
    android = apns = webpush = None
    if push.platform == "android":
        # collapse_key: FCM keeps only the latest of a key for an offline device; tag: the
        # notification shown replaces the one of the same tag.
        android = messaging.AndroidConfig(
            collapse_key=collapse,
            priority="high" if push.urgent else "normal",
            ttl=push.ttl_seconds,
            notification=messaging.AndroidNotification(
                channel_id="urgent" if push.urgent else "default",
                tag=collapse,
                notification_count=push.badge,
            ),
        )
    elif push.platform == "ios":
        import time

        headers = {
            "apns-priority": "10" if push.urgent else "5",
            "apns-expiration": str(int(time.time()) + push.ttl_seconds),
        }
        if collapse:
            headers["apns-collapse-id"] = collapse[:APNS_COLLAPSE_ID_MAX]
        apns = messaging.APNSConfig(
            headers=headers,
            payload=messaging.APNSPayload(aps=messaging.Aps(sound="default", badge=push.badge)),
        )
    else:
        headers = {"TTL": str(push.ttl_seconds), "Urgency": "high" if push.urgent else "normal"}
        if collapse:
            headers["Topic"] = webpush_topic(collapse)
        webpush = messaging.WebpushConfig(headers=headers)
    with warnings.catch_warnings():
        # firebase-admin 7 prefers installation ids ("fid"); apps register FCM registration
        # tokens, which the HTTP v1 API still takes as "token".
        warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
        return messaging.Message(
            token=push.token,
            notification=notification,
            data=push.data,
            android=android,
            apns=apns,
            webpush=webpush,
        )


def webpush_topic(key: str) -> str:
    """``key`` as a Web Push ``Topic`` (RFC 8030: at most 32 characters of the URL-safe base64
    alphabet): other characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key)[:WEBPUSH_TOPIC_MAX]


def _classify(error: Exception) -> SendResult:
    from firebase_admin import exceptions, messaging

    code = getattr(error, "code", "") or type(error).__name__
    code = str(code).lower()
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return SendResult(
            Outcome.BAD_TOKEN,
            "unregistered"
            if isinstance(error, messaging.UnregisteredError)
            else "sender_id_mismatch",
        )
    if isinstance(error, messaging.QuotaExceededError):
        return SendResult(Outcome.RETRY, "quota_exceeded", _retry_after(error))
    if isinstance(error, exceptions.InvalidArgumentError):
        if _about_the_token(error):
            return SendResult(Outcome.BAD_TOKEN, "invalid_token")
        return SendResult(Outcome.FAILED, code)
    if isinstance(error, exceptions.NotFoundError):
        # FCM answers 404 for a token that is no longer registered.
        return SendResult(Outcome.BAD_TOKEN, "unregistered")
    if isinstance(
        error,
        exceptions.UnavailableError
        | exceptions.InternalError
        | exceptions.DeadlineExceededError
        | exceptions.ResourceExhaustedError
        | exceptions.UnknownError,
    ):
        return SendResult(Outcome.RETRY, code, _retry_after(error))
    return SendResult(Outcome.FAILED, code)


def _about_the_token(error: Any) -> bool:
    """Whether an INVALID_ARGUMENT answer blames the registration token (not our message)."""
    response = getattr(error, "http_response", None)
    if response is not None:
        try:
            details = response.json().get("error", {}).get("details", [])
        except ValueError:
            details = []
        for detail in details:
            for violation in detail.get("fieldViolations", []) or []:
                if violation.get("field") == "message.token":
                    return True
    return "registration token" in str(error).lower()


def _retry_after(error: Any) -> float | None:
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _batches(items: Sequence[PushMessage]) -> Iterator[Sequence[PushMessage]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


def fcm_send(pushes: Sequence[PushMessage]) -> BatchResult:
    """Sends each push with ``messaging.send_each``, up to 500 at a time; one result per push,
    in order. Without a Firebase app every push is ``FAILED`` with code ``not_configured``."""
    app = _app() if settings.PUSH_ENABLED else None
    if app is None:
        logger.info("push not configured: %d push(es) not sent", len(pushes))
        return BatchResult([SendResult(Outcome.FAILED, "not_configured")] * len(pushes), 0)
    from firebase_admin import exceptions, messaging

    results: list[SendResult] = []
    batches = 0
    for batch in _batches(pushes):
        batches += 1
        try:
            response = messaging.send_each([_message(push) for push in batch], app=app)
        except exceptions.FirebaseError as error:
            logger.warning("FCM batch of %d failed as a whole: %s", len(batch), error.code)
            results += [SendResult(Outcome.RETRY, str(error.code).lower())] * len(batch)
            continue
        for item in response.responses:
            if item.success:
                results.append(SendResult(Outcome.SENT))
            else:
                results.append(_classify(item.exception))
    return BatchResult(results, batches)
