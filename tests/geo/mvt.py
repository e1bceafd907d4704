"""A small reader of Mapbox Vector Tiles (protobuf, spec 2.1), enough for the tests: layers,
features with their attributes, geometry type and vertex count. No dependency: the wire format
is a few varints and length-delimited fields."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any


def _varint(data: bytes, at: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    out: list[tuple[int, Any]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        elif wire == 5:
            value, at = data[at : at + 4], at + 4
        else:
            raise ValueError(f"wire type {wire}")
        out.append((number, value))
    return out


def _packed(data: bytes) -> list[int]:
    values, at = [], 0
    while at < len(data):
        value, at = _varint(data, at)
        values.append(value)
    return values


def _value(data: bytes) -> Any:
    for number, raw in _fields(data):
        if number == 1:
            return raw.decode()
        if number == 2:
            return struct.unpack("<f", raw)[0]
        if number == 3:
            return struct.unpack("<d", raw)[0]
        if number in (4, 5):
            return raw
        if number == 6:
            return (raw >> 1) ^ -(raw & 1)
        if number == 7:
            return bool(raw)
    return None


GEOM_TYPES = {0: "Unknown", 1: "Point", 2: "LineString", 3: "Polygon"}


@dataclass
class Feature:
    type: str
    properties: dict[str, Any]
    vertices: int
    coords: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Layer:
    name: str
    extent: int
    features: list[Feature]


def _vertices(commands: list[int]) -> list[tuple[int, int]]:
    coords, at, x, y = [], 0, 0, 0
    while at < len(commands):
        command, count = commands[at] & 7, commands[at] >> 3
        at += 1
        if command in (1, 2):
            for _ in range(count):
                dx, dy = commands[at], commands[at + 1]
                at += 2
                x += (dx >> 1) ^ -(dx & 1)
                y += (dy >> 1) ^ -(dy & 1)
                coords.append((x, y))
    return coords


def decode(tile: bytes) -> dict[str, Layer]:
    layers = {}
    for number, raw in _fields(tile):
        if number != 3:
            continue
        name, extent, keys, values, raw_features = "", 4096, [], [], []
        for n, v in _fields(raw):
            if n == 1:
                name = v.decode()
            elif n == 5:
                extent = v
            elif n == 3:
                keys.append(v.decode())
            elif n == 4:
                values.append(_value(v))
            elif n == 2:
                raw_features.append(v)
        features = []
        for raw_feature in raw_features:
            tags, kind, commands = [], 0, []
            for n, v in _fields(raw_feature):
                if n == 2:
                    tags = _packed(v)
                elif n == 3:
                    kind = v
                elif n == 4:
                    commands = _packed(v)
            properties = {keys[tags[i]]: values[tags[i + 1]] for i in range(0, len(tags), 2)}
            coords = _vertices(commands)
            features.append(Feature(GEOM_TYPES.get(kind, "?"), properties, len(coords), coords))
        layers[name] = Layer(name, extent, features)
    return layers
