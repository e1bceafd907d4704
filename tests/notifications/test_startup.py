"""Configuration fails closed, and firebase-admin stays in its one module."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import django; django.setup(); print('started')"


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``django.setup()`` in a fresh production process with ``env``."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PUSH_", "FCM_", "VOISINAGE_", "DJANGO_"))
    }
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "VOISINAGE_ENV": "production",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "api.voisinage.test",
            "PUBLIC_BASE_URL": "https://api.voisinage.test",
        }
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def service_account(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "voisinage-prod",
                "private_key_id": "abc123",
                "private_key": pem,
                "client_email": "push@voisinage-prod.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


def test_production_refuses_to_start_with_push_on_and_no_credentials(tmp_path):
    result = start(tmp_path)
    assert result.returncode != 0
    assert "PUSH_ENABLED is on but FCM_CREDENTIALS_FILE is not set" in result.stderr


def test_production_refuses_credentials_that_are_not_a_service_account_key(tmp_path):
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "authorized_user"}')
    result = start(tmp_path, FCM_CREDENTIALS_FILE=str(bad))
    assert result.returncode != 0
    assert "FCM_CREDENTIALS_FILE is not a usable service account key" in result.stderr


@pytest.mark.parametrize("with_key", [True, False])
def test_production_starts_with_a_key_or_with_push_off(tmp_path, with_key):
    env = (
        {"FCM_CREDENTIALS_FILE": str(service_account(tmp_path / "key.json"))}
        if with_key
        else {"PUSH_ENABLED": "false"}
    )
    result = start(tmp_path, **env)
    assert (result.returncode, result.stdout.strip()) == (0, "started"), result.stderr


def test_firebase_admin_is_imported_in_one_module_only():
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("backend", "geo", "sharing", "pooling", "notifications")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^\s*(import firebase_admin|from firebase_admin)", path.read_text(), re.M)
    )
    assert importers == ["notifications/fcm.py"]


def test_importing_the_app_does_not_import_firebase_admin():
    code = (
        "import django, sys; django.setup();"
        "import notifications.services, notifications.consumers, notifications.tasks,"
        " notifications.routing, notifications.apis, notifications.fcm, backend.asgi;"
        "print('firebase_admin' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "VOISINAGE_ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
