"""The choice sets of the pooling models (and of its API): parcels' size and weight classes and
what they count for in a vehicle, vehicles, how residents walk and receive, kinds of drop."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

# --- parcels: size and weight classes -------------------------------------------------------------


class ParcelSize(models.TextChoices):
    S = "s", _("small (shoe box)")
    M = "m", _("medium")
    L = "l", _("large")
    XL = "xl", _("extra large")


class ParcelWeight(models.TextChoices):
    LIGHT = "light", _("up to 2 kg")
    MEDIUM = "medium", _("up to 5 kg")
    HEAVY = "heavy", _("up to 15 kg")
    VERY_HEAVY = "very_heavy", _("up to 30 kg")


# Capacity is counted in volume units (a small parcel is one) and in kilograms (the upper bound of
# each weight class, so that a plan never overloads a vehicle).
SIZE_UNITS = {"s": 1, "m": 2, "l": 4, "xl": 8}
WEIGHT_KG = {"light": 2, "medium": 5, "heavy": 15, "very_heavy": 30}


class VehicleKind(models.TextChoices):
    CARGO_BIKE = "cargo_bike", _("cargo bike")
    FOOT = "foot", _("on foot (trolley)")
    VAN = "van", _("van")


class WalkProfile(models.TextChoices):
    """How the resident gets to a relay point: the geo profile their walking time is read with."""

    WALK = "walk", _("walking")
    SLOW = "slow", _("walking slowly")
    WHEELCHAIR = "wheelchair", _("wheelchair")


class ReceiveMode(models.TextChoices):
    HOME = "home", _("at home")
    RELAY = "relay", _("at a relay point (shop, locker, post office)")
    HOST = "host", _("at a neighbour host's")
    ANY = "any", _("wherever shortens the rounds (home, relay or host)")


class DropKind(models.TextChoices):
    HOME = "home", _("home")
    RELAY = "relay", _("relay point")
    HOST = "host", _("neighbour host")
