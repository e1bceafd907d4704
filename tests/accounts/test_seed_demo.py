from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_RESIDENTS
from accounts.models import User


def run(name: str) -> str:
    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_residents_in_central_helsinki_and_a_staff_admin():
    output = run("seed_demo")

    assert "11 created, 0 already there" in output
    residents = User.objects.filter(is_staff=False).order_by("email")
    assert residents.count() == 10
    assert sorted(r.email for r in DEMO_RESIDENTS) == [u.email for u in residents]
    for user in residents:
        assert user.email.endswith("@demo.voisinage.fr")
        assert user.check_password(DEMO_PASSWORD)
        assert user.home is not None and user.home.srid == 4326
        assert 24.92 <= user.home.x <= 24.96
        assert 60.160 <= user.home.y <= 60.175
        assert user.display_name and user.home_address.endswith("Helsinki")
    assert len({(u.home.x, u.home.y) for u in residents}) == 10
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    assert admin.is_staff and admin.is_superuser and admin.is_active
    assert admin.check_password(DEMO_PASSWORD)
    assert admin.home is None


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    run("seed_demo")
    before = list(User.objects.order_by("pk").values("pk", "email", "password", "home"))
    User.objects.filter(email="camille@demo.voisinage.fr").update(display_name="Cam")

    output = run("seed_demo")

    assert "0 created, 11 already there" in output
    after = list(User.objects.order_by("pk").values("pk", "email", "password", "home"))
    assert after == before
    assert User.objects.get(email="camille@demo.voisinage.fr").display_name == "Cam"


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        run("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_residents_can_log_in_with_the_printed_password(client_for):
    run("seed_demo")
    output = run("demo_login")

    assert f"Demo password (every account): {DEMO_PASSWORD}" in output
    assert "camille@demo.voisinage.fr" in output
    assert DEMO_ADMIN_EMAIL in output
    assert "not created" not in output
    response = client_for(None).post(
        "/api/v1/auth/token",
        {"email": "camille@demo.voisinage.fr", "password": DEMO_PASSWORD},
        format="json",
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_demo_login_says_when_the_demo_is_not_seeded():
    output = run("demo_login")

    assert "run `python manage.py seed_demo`" in output
    assert "(not created)" in output
