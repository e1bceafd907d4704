"""Input and output shapes of the accounts API, named for the OpenAPI schema.

Messages a user sees are translated; ``help_text`` is developer documentation, in plain English
and not translated, so that the OpenAPI schema reads the same whatever the default language.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.geocoding import ADDRESS_MAX_LENGTH, ADDRESS_MIN_LENGTH
from accounts.models import User, WalkingProfile
from accounts.permissions import consent_current
from accounts.preferences import (
    HHMM,
    NOTIFICATION_TYPES,
    NotificationPreferences,
    notification_preferences_effective,
)
from accounts.roles import roles_of
from accounts.services import email_normalize


class StrictFieldsMixin:
    # Refuse keys the serializer does not know, instead of silently ignoring them. (A comment, not
    # a docstring: the OpenAPI schema would show it as every serializer's description.)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: no "yes", 1 or "true" strings."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")


GEOJSON_POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A GeoJSON Point in WGS 84: coordinates are [longitude, latitude].",
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {
            "type": "array",
            "items": {"type": "number", "format": "double"},
            "minItems": 2,
            "maxItems": 2,
            "example": [24.9384, 60.1699],
        },
    },
    "required": ["type", "coordinates"],
    "additionalProperties": False,
}


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class GeoJSONPointField(serializers.Field):
    """A GeoJSON Point, parsed strictly into a GEOS point (SRID ``settings.GEO_SRID``)."""

    default_error_messages = {
        "invalid": _(
            'Expected a GeoJSON Point: an object with "type": "Point" and '
            '"coordinates": [longitude, latitude].'
        ),
        "unknown_keys": _('A GeoJSON Point has only the keys "type" and "coordinates".'),
        "wrong_type": _('The geometry type must be "Point".'),
        "coordinates": _("Coordinates must be two numbers: [longitude, latitude]."),
        "not_finite": _("Coordinates must be finite numbers."),
        "longitude": _(
            "Longitude must be between -180 and 180 (coordinates are [longitude, latitude])."
        ),
        "latitude": _(
            "Latitude must be between -90 and 90 (coordinates are [longitude, latitude])."
        ),
    }

    def to_internal_value(self, data: Any) -> Point:
        if not isinstance(data, dict):
            self.fail("invalid")
        if set(data) - {"type", "coordinates"}:
            self.fail("unknown_keys")
        if "type" not in data or "coordinates" not in data:
            self.fail("invalid")
        if data["type"] != "Point":
            self.fail("wrong_type")
        coordinates = data["coordinates"]
        if (
            not isinstance(coordinates, list)
            or len(coordinates) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
        ):
            self.fail("coordinates")
        lon, lat = (float(c) for c in coordinates)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            self.fail("not_finite")
        if not -180.0 <= lon <= 180.0:
            self.fail("longitude")
        if not -90.0 <= lat <= 90.0:
            self.fail("latitude")
        return Point(lon, lat, srid=settings.GEO_SRID)

    def to_representation(self, value: Point) -> dict[str, Any]:
        return {"type": "Point", "coordinates": [value.x, value.y]}


class QuietHoursSerializer(StrictFieldsMixin, serializers.Serializer):
    start = serializers.RegexField(
        HHMM, help_text=("Local time, HH:MM."), error_messages={"invalid": _("Use HH:MM.")}
    )
    end = serializers.RegexField(
        HHMM, help_text=("Local time, HH:MM."), error_messages={"invalid": _("Use HH:MM.")}
    )

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError(
                _("Quiet hours must start and end at different times.")
            )
        return attrs


class NotificationPreferencesInputSerializer(StrictFieldsMixin, serializers.Serializer):
    push = StrictBooleanField(required=False, help_text=("Push notifications on this account."))
    email = StrictBooleanField(
        required=False,
        help_text=("Important notifications by mail digest while no device is registered."),
    )
    quiet_hours = QuietHoursSerializer(
        required=False,
        allow_null=True,
        help_text=("No push between these times (may span midnight); null: none."),
    )
    types = serializers.DictField(
        child=StrictBooleanField(),
        required=False,
        help_text=("Notification type to on/off; types left out keep their setting."),
    )

    def validate_types(self, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(NOTIFICATION_TYPES))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown notification type(s): %(types)s. Known types: %(known)s.")
                % {"types": ", ".join(unknown), "known": ", ".join(NOTIFICATION_TYPES)}
            )
        return value


class NotificationTypesSerializer(serializers.Serializer):
    """One boolean per notification type."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: serializers.BooleanField() for name in NOTIFICATION_TYPES}


class NotificationPreferencesSerializer(serializers.Serializer):
    push = serializers.BooleanField()
    email = serializers.BooleanField()
    quiet_hours = QuietHoursSerializer(allow_null=True)
    types = NotificationTypesSerializer()


class ConsentStateSerializer(serializers.Serializer):
    terms_version = serializers.CharField(help_text="The version of the terms you accepted.")
    privacy_version = serializers.CharField(
        help_text="The version of the privacy notice you accepted."
    )
    current = serializers.BooleanField(
        help_text=(
            "False when a newer version is in force: accept it (POST /api/v1/me/consents); "
            "until then other operations answer 403 consent_required."
        )
    )


WALKING_PROFILE_HELP = (
    "How you get about (walk, slow, wheelchair): the default profile of every search by travel "
    "time made for you (nearby items, your wanted requests, relay points); a request's explicit "
    "profile still wins."
)


class ProfileSerializer(serializers.ModelSerializer):
    """A resident's own profile. Only ever sent to that resident: it holds their home."""

    home = GeoJSONPointField(allow_null=True, read_only=True)
    notification_preferences = serializers.SerializerMethodField()
    email_verified = serializers.BooleanField(
        read_only=True,
        help_text="Whether you opened the link mailed to this address (merchant orders wait).",
    )
    walking_profile = serializers.ChoiceField(
        choices=WalkingProfile.choices, read_only=True, help_text=WALKING_PROFILE_HELP
    )
    roles = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "email_verified",
            "display_name",
            "language",
            "walking_profile",
            "home",
            "home_address",
            "notification_preferences",
            "roles",
            "consent",
        ]
        read_only_fields = fields

    @extend_schema_field(NotificationPreferencesSerializer)
    def get_notification_preferences(self, user: User) -> NotificationPreferences:
        return notification_preferences_effective(user.notification_preferences)

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=["association_staff", "courier", "resident"]),
            help_text=(
                "What you are here: resident (a member of a neighbourhood), courier, "
                "association_staff (runs neighbourhoods in the panel)."
            ),
        )
    )
    def get_roles(self, user: User) -> list[str]:
        return roles_of(user)

    @extend_schema_field(ConsentStateSerializer)
    def get_consent(self, user: User) -> dict[str, Any]:
        return {
            "terms_version": user.terms_version,
            "privacy_version": user.privacy_version,
            "current": consent_current(user),
        }


class ProfileUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """The fields to change; fields left out keep their value. (Every field is optional here
    rather than through ``partial=True``, which would also make nested required fields optional.)"""

    display_name = serializers.CharField(max_length=80, required=False)
    language = serializers.ChoiceField(choices=User.Language.choices, required=False)
    walking_profile = serializers.ChoiceField(
        choices=WalkingProfile.choices,
        required=False,
        help_text=WALKING_PROFILE_HELP,
    )
    home = GeoJSONPointField(
        required=False,
        allow_null=True,
        help_text=("Your home as a GeoJSON Point; null removes it. Not with home_address."),
    )
    home_address = serializers.CharField(
        required=False,
        min_length=ADDRESS_MIN_LENGTH,
        max_length=ADDRESS_MAX_LENGTH,
        help_text=(
            "An address to geocode into your home (France first, then anywhere). Not with home."
        ),
    )
    notification_preferences = NotificationPreferencesInputSerializer(
        required=False,
        help_text=(
            "Merged into your preferences: keys left out keep their value, and so do "
            "notification types left out of types."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "home" in attrs and "home_address" in attrs:
            message = _("Give either a home point or a home address to geocode, not both.")
            raise serializers.ValidationError({"home": [message], "home_address": [message]})
        return attrs


class RegisterInputSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )
    display_name = serializers.CharField(max_length=80)
    language = serializers.ChoiceField(
        choices=User.Language.choices,
        required=False,
        help_text=("Defaults to the language of the request (Accept-Language)."),
    )
    terms_version = serializers.CharField(
        max_length=20,
        help_text="The version of the terms of use the person accepted (GET /api/v1/legal).",
    )
    privacy_version = serializers.CharField(
        max_length=20,
        help_text="The version of the privacy notice the person accepted (GET /api/v1/legal).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(email=email_normalize(attrs["email"]), display_name=attrs["display_name"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text=("Short-lived JWT: Authorization: Bearer <access>."))
    refresh = serializers.CharField(help_text=("Long-lived JWT to get a new access token."))


class RegisterOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happens next, in the language asked for.")
    email = serializers.EmailField(help_text="The address the mail went to.")


class TokenObtainSerializer(StrictFieldsMixin, serializers.Serializer):
    """Email and password; answers an access and a refresh token (a new session)."""

    email = serializers.CharField(max_length=254)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )
    device_name = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text='Names the session in your list (say, "Pixel 8"); else the User-Agent.',
    )


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenRefreshOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        help_text=("The new refresh token: the one sent is refused from now on (keep this one).")
    )


@extend_schema_serializer(component_name="AccountsError")
class ErrorSerializer(serializers.Serializer):
    """The API's one error format (see ``backend.errors``)."""

    # Declared in get_fields(): a class attribute named "fields" would shadow Serializer.fields.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "code": serializers.CharField(
                help_text=("Stable machine code, e.g. address_not_found.")
            ),
            "detail": serializers.CharField(
                help_text=("Human message, in the language asked for.")
            ),
            "fields": serializers.DictField(
                child=serializers.JSONField(), help_text=("Messages per input field.")
            ),
        }


class LogoutInputSerializer(StrictFieldsMixin, serializers.Serializer):
    refresh = serializers.CharField(
        required=False, help_text="Optional: the session is the one of the access token."
    )


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The device or app, as named at login.")
    created_at = serializers.DateTimeField(help_text="When this session logged in.")
    last_used_at = serializers.DateTimeField(help_text="Its last token refresh.")
    current = serializers.BooleanField(help_text="The session of this request.")


class TokenInputSerializer(StrictFieldsMixin, serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token of the mailed link.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happened, in the language asked for.")


class EmailInputSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictFieldsMixin, serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token of the mailed link.")
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )


class PasswordChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    current_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )
    new_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )


class EmailChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="The new address.")
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}
    )


class LegalSerializer(serializers.Serializer):
    terms_version = serializers.CharField()
    terms_url = serializers.URLField()
    privacy_version = serializers.CharField()
    privacy_url = serializers.URLField()


class ConsentInputSerializer(StrictFieldsMixin, serializers.Serializer):
    terms_version = serializers.CharField(max_length=20)
    privacy_version = serializers.CharField(max_length=20)
