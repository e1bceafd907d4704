"""No secret or token is ever written to the logs: the project's log handler masks them, whoever
logs them (our code, Django, a library), and real flows (login, token refresh, a signed merchant
webhook, a device registration) leave none in what is written."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.redaction import MASK, RedactSecretsFilter, redact
from pooling.services.places import merchant_create
from pooling.webhooks import signature_of
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        ("HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"email": "a@b.fr", "password": "correct horse battery"}', "correct horse battery"),
        ("{'password': 'hunter2', 'email': 'a@b.fr'}", "hunter2"),
        ('{"refresh": "opaque-refresh-value"}', "opaque-refresh-value"),
        (f"token refreshed: {JWT} for user 4", JWT),
        ("X-Signature: sha256=" + "ab" * 32, "ab" * 32),
        ("signature mismatch sha256=" + "cd" * 32, "cd" * 32),
        ("X-Api-Key: vk_0a1b2c3d_" + "Z" * 43, "Z" * 43),
        ("merchant key vk_0a1b2c3d_" + "Q" * 43 + " refused", "Q" * 43),
        ("GET /ws/v1/events?ticket=tk_9f8e7d6c5b&last_id=4", "tk_9f8e7d6c5b"),
        ('{"platform": "android", "token": "fcm:APA91bHPRgkF"}', "fcm:APA91bHPRgkF"),
        ("push_token=fcm:APA91bHPRgkF", "fcm:APA91bHPRgkF"),
        ("api_key=abcdef123456&x=1", "abcdef123456"),
        ("signing_secret: s3cr3t-value", "s3cr3t-value"),
        ('"handover_code": "482913"', "482913"),
    ],
)
def test_credentials_are_masked(line, secret):
    redacted = redact(line)
    assert secret not in redacted
    assert MASK in redacted


def test_ordinary_lines_are_left_alone():
    line = "GET /api/v1/items/nearby?minutes=10&profile=walk 200 (12 ms) user 4, code invalid"
    assert redact(line) == line


def test_the_filter_masks_arguments_and_tracebacks():
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "login by %s with %r",
        ("a@b.fr", {"password": "pw1"}),
        None,
    )
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecretsFilter().filter(record) is True
    text = logging.Formatter().format(record)
    assert "pw1" not in text and JWT not in text
    assert "a@b.fr" in text


@pytest.fixture
def written():
    """What the project's own log handler writes, at DEBUG, for every logger."""
    root = logging.getLogger()
    handlers = [
        h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    assert handlers, "the project's console handler must carry the redaction filter"
    handler = handlers[0]
    stream = io.StringIO()
    old_stream, old_level, old_handler_level = handler.stream, root.level, handler.level
    handler.setStream(stream)
    root.setLevel(logging.DEBUG)
    handler.setLevel(logging.DEBUG)
    quiet = logging.getLogger("django.db.backends")
    old_quiet = quiet.level
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        root.setLevel(old_level)
        handler.setLevel(old_handler_level)
        quiet.setLevel(old_quiet)


def test_real_flows_leave_no_secret_in_the_logs(written, api_client):
    password = "a-long-passphrase-42"
    user = UserFactory(email="camille@example.org", password=password)
    secrets: list[str] = [password]

    # Log in, with a wrong password first (Django logs the 401).
    api_client.post(
        "/api/v1/auth/token", {"email": user.email, "password": "Wrong-Pass-99"}, format="json"
    )
    secrets.append("Wrong-Pass-99")
    tokens = api_client.post(
        "/api/v1/auth/token", {"email": user.email, "password": password}, format="json"
    ).json()
    secrets += [tokens["access"], tokens["refresh"]]
    # Refresh, and a refresh with a forged token (logged as refused).
    refreshed = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    ).json()
    secrets += [refreshed["access"], refreshed["refresh"]]
    api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["access"]}, format="json")
    # A device's push token.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    fcm = "fcm-registration-dQw4w9WgXcQ:APA91bH-secret-part"
    assert api_client.post(
        "/api/v1/devices", {"platform": "android", "token": fcm}, format="json"
    ).status_code in (200, 201)
    secrets.append(fcm)
    ticket = api_client.post("/api/v1/realtime/ticket").json()["ticket"]
    secrets.append(ticket)
    api_client.credentials()
    # A signed webhook, and one with a wrong signature.
    merchant = merchant_create(name="Librairie")
    raw = json.dumps(
        {
            "resident_email": user.email,
            "expected_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
            "parcels": [{"size": "s", "weight": "light"}],
        }
    ).encode()
    signature = signature_of(merchant.signing_secret, raw)
    for sig in (signature, "sha256=" + "0" * 64):
        api_client.post(
            "/api/v1/merchant/orders",
            raw,
            content_type="application/json",
            HTTP_X_API_KEY=merchant.api_key,
            HTTP_X_SIGNATURE=sig,
            HTTP_IDEMPOTENCY_KEY="order-1",
        )
    secrets += [merchant.api_key, merchant.signing_secret, signature.split("=", 1)[1]]

    # And code that logs a request carelessly: the handler still masks it.
    logging.getLogger("careless").warning(
        "request headers %s body %s",
        {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}", "HTTP_X_API_KEY": merchant.api_key},
        json.dumps({"password": password, "refresh": tokens["refresh"], "token": fcm}),
    )

    text = written.getvalue()
    assert "careless" in text and "Unauthorized: /api/v1/auth/token" in text
    leaked = [s for s in secrets if s in text]
    assert leaked == [], f"secrets written to the logs: {leaked}\n{text}"


def test_celery_workers_log_handlers_mask_secrets_too():
    from celery.signals import after_setup_logger

    import backend.celery  # noqa: F401 - connects the signal

    logger = logging.getLogger("celery-worker-under-test")
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    logger.propagate = False
    after_setup_logger.send(
        sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False
    )
    logger.warning("task retried with Authorization: Bearer %s", JWT)
    assert JWT not in stream.getvalue() and MASK in stream.getvalue()
