"""Input bounds shared by the apps' serializers."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Dates the product can mean: before 2000 or after 2100 is a typing error (or a probe). Outside
# this range, local times also carry historical offsets (Paris in 1047: +00:09:21) that are no
# valid RFC 3339 on the way out.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def plausible_datetime(value: datetime) -> None:
    if not EARLIEST <= value < LATEST:
        raise serializers.ValidationError(_("Choose a date between 2000 and 2100."))
