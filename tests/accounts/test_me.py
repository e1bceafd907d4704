from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point

from accounts.preferences import NOTIFICATION_TYPES
from tests.accounts.factories import UserFactory

URL = "/api/v1/me"
HOME = {"type": "Point", "coordinates": [24.9384, 60.1699]}


def snapshot(user):
    """Everything /me can change, read back from the database."""
    user.refresh_from_db()
    home = None if user.home is None else (user.home.x, user.home.y, user.home.srid)
    return (
        user.display_name,
        user.language,
        home,
        user.home_address,
        user.notification_preferences,
        user.walking_profile,
    )


# --- who sees what -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_gets_401(client_for, method):
    response = getattr(client_for(None), method)(URL, {"display_name": "x"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == {"code", "detail", "fields"}


@pytest.mark.django_db
def test_a_bad_token_gets_401(client_for):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt", HTTP_ACCEPT_LANGUAGE="en")

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_a_deactivated_resident_gets_401(client_for):
    user = UserFactory()
    client = client_for(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_owner_gets_their_own_profile_with_their_home(client_for, django_assert_num_queries):
    user = UserFactory(with_home=True, email="owner@example.org", display_name="Owner")
    client = client_for(user)

    # The session with its user (one query), then one per role (resident, staff, courier).
    with django_assert_num_queries(4):
        response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "owner@example.org",
        "email_verified": True,
        "display_name": "Owner",
        "language": "en",
        "walking_profile": "walk",
        "home": {"type": "Point", "coordinates": [24.9384, 60.1699]},
        "home_address": "Aleksanterinkatu 52, Helsinki",
        "notification_preferences": {
            "push": True,
            "email": True,
            "quiet_hours": None,
            "types": dict.fromkeys(NOTIFICATION_TYPES, True),
        },
        "roles": [],
        "consent": {
            "terms_version": settings.TERMS_VERSION,
            "privacy_version": settings.PRIVACY_VERSION,
            "current": True,
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("staff", [False, True])
def test_another_resident_or_staff_only_ever_see_their_own_profile(client_for, staff):
    owner = UserFactory(with_home=True)
    other = UserFactory(staff=staff, home=Point(24.95, 60.17, srid=4326), home_address="Other")

    response = client_for(other).get(URL)

    assert response.status_code == 200
    assert response.json()["id"] == other.pk
    assert response.json()["home"] == {"type": "Point", "coordinates": [24.95, 60.17]}
    body = response.content.decode()
    assert owner.email not in body
    assert "Aleksanterinkatu" not in body
    assert "60.1699" not in body


@pytest.mark.django_db
def test_patch_changes_only_the_callers_profile(client_for):
    owner = UserFactory(with_home=True)
    other = UserFactory()
    before = snapshot(owner)

    response = client_for(other).patch(URL, {"home": HOME, "display_name": "Me"}, format="json")

    assert response.status_code == 200
    assert snapshot(owner) == before
    assert snapshot(other)[0] == "Me"


# --- home as a point ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_home_point_sets_it_and_clears_the_old_address(client_for):
    user = UserFactory(with_home=True)

    response = client_for(user).patch(
        URL, {"home": {"type": "Point", "coordinates": [2.3522, 48.8566]}}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["home"] == {"type": "Point", "coordinates": [2.3522, 48.8566]}
    assert response.json()["home_address"] == ""
    assert snapshot(user)[2:4] == ((2.3522, 48.8566, 4326), "")


@pytest.mark.django_db
@pytest.mark.parametrize("coordinates", [[-180, -90], [180, 90], [0, 0]])
def test_patch_home_accepts_the_bounds(client_for, coordinates):
    user = UserFactory()

    response = client_for(user).patch(
        URL, {"home": {"type": "Point", "coordinates": coordinates}}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["home"]["coordinates"] == coordinates


@pytest.mark.django_db
def test_patch_home_null_removes_home_and_address(client_for):
    user = UserFactory(with_home=True)

    response = client_for(user).patch(URL, {"home": None}, format="json")

    assert response.status_code == 200
    assert response.json()["home"] is None
    assert snapshot(user)[2:4] == (None, "")


POINT_MESSAGE = (
    'Expected a GeoJSON Point: an object with "type": "Point" and '
    '"coordinates": [longitude, latitude].'
)
TWO_NUMBERS = "Coordinates must be two numbers: [longitude, latitude]."
LONGITUDE = "Longitude must be between -180 and 180 (coordinates are [longitude, latitude])."
LATITUDE = "Latitude must be between -90 and 90 (coordinates are [longitude, latitude])."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("home", "message"),
    [
        ({"type": "Point", "coordinates": [180.0001, 60.0]}, LONGITUDE),
        ({"type": "Point", "coordinates": [-181, 60.0]}, LONGITUDE),
        ({"type": "Point", "coordinates": [24.9, 90.5]}, LATITUDE),
        ({"type": "Point", "coordinates": [24.9, -91]}, LATITUDE),
        ({"type": "Point", "coordinates": [60.1699, 124.9384]}, LATITUDE),  # swapped
        ({"type": "Point", "coordinates": ["NaN", "NaN"]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": ["Infinity", 60]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": ["24.9", "60.1"]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": [True, False]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": [None, 60]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": [24.9]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": [24.9, 60.1, 12.0]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": [[24.9, 60.1]]}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": "24.9,60.1"}, TWO_NUMBERS),
        ({"type": "Point", "coordinates": {"lon": 24.9, "lat": 60.1}}, TWO_NUMBERS),
        (
            {"type": "LineString", "coordinates": [[24.9, 60.1], [24.91, 60.11]]},
            'The geometry type must be "Point".',
        ),
        ({"type": "point", "coordinates": [24.9, 60.1]}, 'The geometry type must be "Point".'),
        (
            {"type": "Feature", "geometry": HOME},
            'A GeoJSON Point has only the keys "type" and "coordinates".',
        ),
        (
            {"type": "Point", "coordinates": [24.9, 60.1], "crs": {"type": "name"}},
            'A GeoJSON Point has only the keys "type" and "coordinates".',
        ),
        ({"type": "Point"}, POINT_MESSAGE),
        ({"coordinates": [24.9, 60.1]}, POINT_MESSAGE),
        ("POINT(24.9 60.1)", POINT_MESSAGE),
        ([24.9, 60.1], POINT_MESSAGE),
        ({}, POINT_MESSAGE),
    ],
)
def test_bad_home_is_400_with_a_clear_message_and_nothing_changes(client_for, home, message):
    user = UserFactory(with_home=True)
    before = snapshot(user)

    response = client_for(user).patch(URL, {"home": home, "display_name": "Changed"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": f"home: {message}",
        "fields": {"home": [message]},
    }
    assert snapshot(user) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            '{"home": {"type": "Point", "coordinates": [1e400, 60.1]}}',
            "Coordinates must be finite numbers.",
        ),
        (
            '{"home": {"type": "Point", "coordinates": [24.9, -1e999]}}',
            "Coordinates must be finite numbers.",
        ),
    ],
)
def test_overflowing_numbers_are_not_finite(client_for, raw, message):
    user = UserFactory(with_home=True)
    before = snapshot(user)

    response = client_for(user).patch(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"home": [message]}
    assert snapshot(user) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [
        '{"home": {"type": "Point", "coordinates": [NaN, 60.1]}}',
        '{"home": {"type": "Point", "coordinates": [24.9, Infinity]}}',
        '{"home": {"type": "Point", "coordinates": [24.9, 60.1]',
    ],
)
def test_non_json_numbers_and_broken_json_are_parse_errors(client_for, raw):
    user = UserFactory(with_home=True)
    before = snapshot(user)

    response = client_for(user).patch(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert snapshot(user) == before


@pytest.mark.django_db
def test_home_and_home_address_together_are_refused(client_for, geocoders):
    user = UserFactory(with_home=True)
    before = snapshot(user)

    response = client_for(user).patch(
        URL, {"home": HOME, "home_address": "10 rue de Rivoli, Paris"}, format="json"
    )

    assert response.status_code == 400
    message = "Give either a home point or a home address to geocode, not both."
    assert response.json()["fields"] == {"home": [message], "home_address": [message]}
    assert snapshot(user) == before
    assert geocoders.requests == []


# --- the rest of the profile -------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_display_name_and_language(client_for):
    user = UserFactory(with_home=True)

    response = client_for(user).patch(
        URL, {"display_name": "Camille M.", "language": "fr"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == "Camille M."
    assert response.json()["language"] == "fr"
    assert snapshot(user)[:3] == ("Camille M.", "fr", (24.9384, 60.1699, 4326))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "new@example.org"}, "email"),
        ({"id": 1}, "id"),
        ({"is_staff": True}, "is_staff"),
        ({"language": "de"}, "language"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"display_name": None}, "display_name"),
        ({"home_address": "ab"}, "home_address"),
        ({"home_address": "x" * 201}, "home_address"),
        ({"home_address": None}, "home_address"),
        ({"notification_preferences": None}, "notification_preferences"),
        ({"walking_profile": "bike"}, "walking_profile"),
        ({"walking_profile": "car"}, "walking_profile"),
        ({"walking_profile": ""}, "walking_profile"),
        ({"walking_profile": None}, "walking_profile"),
        ({"walking_profile": ["wheelchair"]}, "walking_profile"),
    ],
)
def test_patch_refuses_unknown_read_only_or_invalid_fields(client_for, body, field):
    user = UserFactory(with_home=True)
    before = snapshot(user)
    email = user.email

    response = client_for(user).patch(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert snapshot(user) == before
    assert user.email == email and not user.is_staff


@pytest.mark.django_db
@pytest.mark.parametrize("profile", ["slow", "wheelchair", "walk"])
def test_patch_walking_profile(client_for, profile):
    user = UserFactory(with_home=True, walking_profile="slow" if profile == "walk" else "walk")
    before = snapshot(user)

    response = client_for(user).patch(URL, {"walking_profile": profile}, format="json")

    assert response.status_code == 200
    assert response.json()["walking_profile"] == profile
    assert snapshot(user) == (*before[:-1], profile)
    assert client_for(user).get(URL).json()["walking_profile"] == profile


def test_walking_profiles_are_geos_walking_profiles():
    from accounts.models import WalkingProfile
    from geo.profiles import WALKING_PROFILES

    assert tuple(WalkingProfile.values) == WALKING_PROFILES


@pytest.mark.django_db
def test_the_database_refuses_an_unknown_walking_profile():
    from django.db import IntegrityError, transaction

    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(user).objects.filter(pk=user.pk).update(walking_profile="car")
    user.refresh_from_db()
    assert user.walking_profile == "walk"


# --- notification preferences ------------------------------------------------------------------


@pytest.mark.django_db
def test_notification_preferences_merge(client_for):
    user = UserFactory(notification_preferences={"push": False, "types": {"loan_requested": False}})
    client = client_for(user)

    response = client.patch(
        URL,
        {
            "notification_preferences": {
                "quiet_hours": {"start": "22:00", "end": "07:00"},
                "types": {"message_received": False, "loan_requested": True},
            }
        },
        format="json",
    )

    assert response.status_code == 200
    expected_types = dict.fromkeys(NOTIFICATION_TYPES, True) | {"message_received": False}
    assert response.json()["notification_preferences"] == {
        "push": False,
        "email": True,
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "types": expected_types,
    }
    user.refresh_from_db()
    assert user.notification_preferences == {
        "push": False,
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "types": {"loan_requested": True, "message_received": False},
    }

    cleared = client.patch(
        URL, {"notification_preferences": {"quiet_hours": None, "push": True}}, format="json"
    )
    assert cleared.json()["notification_preferences"]["quiet_hours"] is None
    assert cleared.json()["notification_preferences"]["push"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("preferences", "fields"),
    [
        ({"sms": True}, {"notification_preferences": {"sms": ["Unknown field."]}}),
        ({"push": "yes"}, {"notification_preferences": {"push": ["Must be true or false."]}}),
        ({"push": 1}, {"notification_preferences": {"push": ["Must be true or false."]}}),
        ({"push": "true"}, {"notification_preferences": {"push": ["Must be true or false."]}}),
        (
            {"quiet_hours": {"start": "25:00", "end": "07:00"}},
            {"notification_preferences": {"quiet_hours": {"start": ["Use HH:MM."]}}},
        ),
        (
            {"quiet_hours": {"start": "22h", "end": "7:00"}},
            {
                "notification_preferences": {
                    "quiet_hours": {"start": ["Use HH:MM."], "end": ["Use HH:MM."]}
                }
            },
        ),
        (
            {"quiet_hours": {"start": "22:00"}},
            {"notification_preferences": {"quiet_hours": {"end": ["This field is required."]}}},
        ),
        (
            {"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "UTC"}},
            {"notification_preferences": {"quiet_hours": {"tz": ["Unknown field."]}}},
        ),
        (
            {"quiet_hours": {"start": "22:00", "end": "22:00"}},
            {
                "notification_preferences": {
                    "quiet_hours": {
                        "non_field_errors": ["Quiet hours must start and end at different times."]
                    }
                }
            },
        ),
        (
            {"types": {"loan_requested": "false"}},
            {"notification_preferences": {"types": {"loan_requested": ["Must be true or false."]}}},
        ),
        (
            {"types": ["loan_requested"]},
            {
                "notification_preferences": {
                    "types": ['Expected a dictionary of items but got type "list".']
                }
            },
        ),
        (
            {"types": {"pizza_arrived": True}},
            {
                "notification_preferences": {
                    "types": [
                        "Unknown notification type(s): pizza_arrived. Known types: "
                        + ", ".join(NOTIFICATION_TYPES)
                        + "."
                    ]
                }
            },
        ),
        (
            "everything",
            {
                "notification_preferences": {
                    "non_field_errors": ["Invalid data. Expected a dictionary, but got str."]
                }
            },
        ),
    ],
)
def test_bad_notification_preferences_are_400_and_nothing_changes(client_for, preferences, fields):
    user = UserFactory(notification_preferences={"push": False})
    before = snapshot(user)

    response = client_for(user).patch(
        URL, {"notification_preferences": preferences, "display_name": "Changed"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == fields
    assert snapshot(user) == before


@pytest.mark.django_db
def test_malformed_stored_preferences_read_as_defaults(client_for):
    user = UserFactory(
        notification_preferences={"push": "yes", "quiet_hours": {"start": 3}, "types": []}
    )

    response = client_for(user).get(URL)

    assert response.json()["notification_preferences"] == {
        "push": True,
        "email": True,
        "quiet_hours": None,
        "types": dict.fromkeys(NOTIFICATION_TYPES, True),
    }
