"""Travel profiles: who may use which edge, in which direction, at what cost.

Costs are in *effective meters*: the length of an edge times a factor (1 for a plain street, more
for a way the profile avoids). Travel seconds are effective meters divided by the profile's speed,
so every profile's search is one shortest-path search over one weight array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from geo.osm_import import MOTOR_POSITIVE, NO_ACCESS, POSITIVE, UNPAVED

PROFILES = ("walk", "slow", "wheelchair", "bike", "car")
# People on their own feet or wheels: what residents choose for walking limits and discovery.
WALKING_PROFILES = ("walk", "slow", "wheelchair")
GRAPH_KEYS = ("walk", "wheelchair", "bike", "car")

FOOT_FORBIDDEN_HIGHWAYS = ("motorway", "motorway_link")
FOOT_NEEDS_SIDEWALK = ("trunk", "trunk_link")
BIKE_FORBIDDEN_HIGHWAYS = (
    "motorway",
    "motorway_link",
    "steps",
    "footway",
    "pedestrian",
    "corridor",
    "bridleway",
    "elevator",
    "platform",
)
SIDEWALK_PRESENT = ("both", "left", "right", "yes")
# Ways a delivery van drives on without a specific permission.
CAR_HIGHWAYS = (
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
)
# Ways a van may use only where a tag lets motor vehicles or deliveries in.
CAR_IF_ALLOWED = ("pedestrian", "track", "busway")


@dataclass(frozen=True)
class Profile:
    name: str
    speed_mps: float
    # Which graph the profile walks on: walk and slow share one (only the speed differs).
    graph_key: str

    def seconds(self, effective_m: np.ndarray | float) -> np.ndarray | float:
        return effective_m / self.speed_mps

    def effective_m(self, seconds: float) -> float:
        return seconds * self.speed_mps


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise KeyError(name)
    speed_kmh = float(settings.GEO_SPEEDS_KMH[name])
    graph_key = "walk" if name in {"walk", "slow"} else name  # car, bike, wheelchair: their own
    return Profile(name=name, speed_mps=speed_kmh / 3.6, graph_key=graph_key)


def fastest_speed_mps(name: str) -> float:
    """The highest speed a profile ever moves at (its factors are all at least 1)."""
    return get_profile(name).speed_mps


@dataclass(frozen=True)
class EdgeTags:
    """Columns of tags for every edge of a graph, as numpy arrays (strings as object arrays)."""

    highway: np.ndarray
    foot: np.ndarray
    bicycle: np.ndarray
    access: np.ndarray
    surface: np.ndarray
    sidewalk: np.ndarray
    wheelchair: np.ndarray
    steps: np.ndarray
    oneway_bike: np.ndarray
    motor: np.ndarray
    oneway_car: np.ndarray


@dataclass(frozen=True)
class EdgeRules:
    """For one graph key: forward/backward usability and the cost factor of every edge."""

    forward: np.ndarray
    backward: np.ndarray
    factor: np.ndarray


def _in(column: np.ndarray, values: tuple[str, ...] | frozenset[str]) -> np.ndarray:
    return np.isin(column, list(values))


def foot_allowed(t: EdgeTags) -> np.ndarray:
    positive = _in(t.foot, POSITIVE)
    refused = _in(t.foot, ("no", "use_sidepath")) | (_in(t.access, NO_ACCESS) & ~positive)
    highway_ok = ~_in(t.highway, FOOT_FORBIDDEN_HIGHWAYS)
    highway_ok &= ~(_in(t.highway, FOOT_NEEDS_SIDEWALK) & ~_in(t.sidewalk, SIDEWALK_PRESENT))
    # Cycleways are for bikes unless foot traffic is allowed on them.
    highway_ok &= ~((t.highway == "cycleway") & ~positive)
    return (positive | highway_ok) & ~refused


def rules_for(graph_key: str, tags: EdgeTags) -> EdgeRules:
    n = tags.highway.size
    ones = np.ones(n)
    if graph_key == "walk":
        ok = foot_allowed(tags)
        return EdgeRules(forward=ok, backward=ok.copy(), factor=ones)
    if graph_key == "wheelchair":
        ok = foot_allowed(tags) & ~tags.steps.astype(bool) & (tags.wheelchair != "no")
        unpaved = _in(tags.surface, UNPAVED) | ((tags.highway == "track") & (tags.surface == ""))
        factor = np.where(unpaved, float(settings.GEO_WHEELCHAIR_UNPAVED_FACTOR), 1.0)
        return EdgeRules(forward=ok, backward=ok.copy(), factor=factor)
    if graph_key == "bike":
        positive = _in(tags.bicycle, POSITIVE) | (tags.bicycle == "dismount")
        refused = _in(tags.bicycle, ("no", "use_sidepath")) | (
            _in(tags.access, NO_ACCESS) & ~positive
        )
        ok = (positive | ~_in(tags.highway, BIKE_FORBIDDEN_HIGHWAYS)) & ~refused
        ok &= ~tags.steps.astype(bool)
        forward = ok & (tags.oneway_bike >= 0)
        backward = ok & (tags.oneway_bike <= 0)
        return EdgeRules(forward=forward, backward=backward, factor=ones)
    if graph_key == "car":
        return EdgeRules(*car_directions(tags), factor=ones)
    raise KeyError(graph_key)


def car_directions(tags: EdgeTags) -> tuple[np.ndarray, np.ndarray]:
    """Where a delivery van may drive, and in which direction: the car network with its own
    one-ways (a contraflow lane for bikes does not open a street to vans)."""
    positive = _in(tags.motor, MOTOR_POSITIVE)
    refused = _in(tags.motor, ("no", "private", "agricultural", "forestry")) | (
        _in(tags.access, NO_ACCESS) & ~positive
    )
    ok = (
        _in(tags.highway, CAR_HIGHWAYS) | (_in(tags.highway, CAR_IF_ALLOWED) & positive)
    ) & ~refused
    ok &= ~tags.steps.astype(bool)
    return ok & (tags.oneway_car >= 0), ok & (tags.oneway_car <= 0)
