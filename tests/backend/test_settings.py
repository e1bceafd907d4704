from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _django_check(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    env.update(env_extra)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'backend.settings'); django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


LINKS = {"PUBLIC_BASE_URL": "https://api.example.org"}


def test_production_refuses_to_start_without_the_address_links_in_mails_start_with():
    proc = _django_check(
        {"VOISINAGE_ENV": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "api.example.org"}
    )
    assert proc.returncode != 0
    assert "PUBLIC_BASE_URL" in proc.stderr


def test_production_refuses_to_start_without_a_secret_key():
    proc = _django_check(
        {"VOISINAGE_ENV": "production", "ALLOWED_HOSTS": "api.example.org", **LINKS}
    )
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    proc = _django_check({"VOISINAGE_ENV": "production", "SECRET_KEY": "x" * 50, **LINKS})
    assert proc.returncode != 0
    assert "ALLOWED_HOSTS" in proc.stderr


def test_production_starts_with_debug_off_when_configured():
    proc = _django_check(
        {
            "VOISINAGE_ENV": "production",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "api.example.org",
            "PUSH_ENABLED": "false",
            **LINKS,
        }
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_unknown_environment_is_refused():
    proc = _django_check({"VOISINAGE_ENV": "staging"})
    assert proc.returncode != 0
