from __future__ import annotations

import factory
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from accounts.models import User
from accounts.services.sessions import session_start

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"resident{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Resident {n}")
    language = User.Language.ENGLISH
    password = factory.django.Password(PASSWORD)
    home = None
    home_address = ""
    notification_preferences = factory.LazyFunction(dict)
    # Someone who signed up through the app: a verified address, the documents in force accepted.
    email_verified_at = factory.LazyFunction(timezone.now)
    terms_version = factory.LazyFunction(lambda: settings.TERMS_VERSION)
    privacy_version = factory.LazyFunction(lambda: settings.PRIVACY_VERSION)

    class Params:
        with_home = factory.Trait(
            home=factory.LazyFunction(lambda: Point(24.9384, 60.1699, srid=settings.GEO_SRID)),
            home_address="Aleksanterinkatu 52, Helsinki",
        )
        staff = factory.Trait(is_staff=True)


def access_token_for(user: User, name: str = "tests") -> str:
    """A real access token of a new session of ``user`` (as logging in gives)."""
    return session_start(user=user, name=name).access


def refresh_token_for(user: User, name: str = "tests") -> str:
    return session_start(user=user, name=name).refresh
