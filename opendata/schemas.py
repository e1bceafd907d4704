"""The columns of the published figures, described once (``FIELDS``), and the two schemas built
from them: the JSON Schema of ``figures.json`` and the Table Schema (frictionless) of
``figures.csv``. Both are published (``/api/v1/open-data/schemas/``) and the files validate
against them (tests/opendata/test_files.py). Titles and descriptions in French, the dataset's
language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from opendata.disclosure import BASE, THRESHOLD
from opendata.models import COUNTS, MAGNITUDES, MonthFigure, PublishedMonth

VERSION_PATTERN = "^[0-9a-f]{12}$"
PERIOD_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"


@dataclass(frozen=True)
class Field:
    name: str
    # period, id, name, count, magnitude, version
    kind: str
    title: Any
    description: Any


SECRET_NOTE = _(
    "Empty: fewer than 5, not published (statistical confidentiality). Otherwise rounded down "
    "to a multiple of 5: 10 means 10 to 14."
)
DERIVED_NOTE = _("Empty when the parcels pooled are.")

FIELDS: tuple[Field, ...] = (
    Field("period", "period", _("Month"), _("The calendar month of the figures, YYYY-MM.")),
    Field(
        "neighbourhood_id",
        "id",
        _("Neighbourhood number"),
        _("The neighbourhood's number in Voisinage, the same from one month to the next."),
    ),
    Field(
        "neighbourhood_name",
        "name",
        _("Neighbourhood"),
        _("The neighbourhood's name when the month was computed."),
    ),
    Field(
        "loans",
        "count",
        _("Loans"),
        _(
            "Loans between neighbours that started in the month and happened (the object "
            "changed hands), counted in the lender's neighbourhood."
        ),
    ),
    Field(
        "objects_shared",
        "count",
        _("Objects shared"),
        _(
            "Distinct objects lent during the month (a loan that happened held them for part "
            "of it), counted in the lender's neighbourhood."
        ),
    ),
    Field(
        "wanted_answered",
        "count",
        _("Wanted requests answered"),
        _(
            "Requests for an object whose first offer came in the month, counted in the "
            "requester's neighbourhood."
        ),
    ),
    Field(
        "parcels_pooled",
        "count",
        _("Parcels pooled"),
        _("Parcels delivered in the month through the neighbourhood's pooled rounds."),
    ),
    Field(
        "km_saved",
        "magnitude",
        _("km saved"),
        _(
            "Vehicle-km those parcels saved against each carrier delivering its own parcels: "
            "their mean per parcel times the published number of parcels."
        ),
    ),
    Field(
        "co2_saved_kg",
        "magnitude",
        _("kg CO2e saved"),
        _("CO2e those parcels avoided, central estimate (computed as the km)."),
    ),
    Field(
        "co2_saved_kg_low",
        "magnitude",
        _("kg CO2e saved, low estimate"),
        _("The lowest figure the emission factors' sources allow."),
    ),
    Field(
        "co2_saved_kg_high",
        "magnitude",
        _("kg CO2e saved, high estimate"),
        _("The highest figure the emission factors' sources allow."),
    ),
    Field(
        "co2_factors_version",
        "version",
        _("CO2 factors version"),
        _(
            "The version of the emission factor table the month was computed with (its values "
            "and sources: co2_factors in figures.json and in the dataset's description)."
        ),
    ),
)
NAMES = tuple(f.name for f in FIELDS)
assert set(COUNTS) | set(MAGNITUDES) <= set(NAMES)


def figure_row(month: PublishedMonth, figure: MonthFigure) -> dict[str, Any]:
    """One published row, by column name (null: secret); numbers as Python numbers."""
    row: dict[str, Any] = {
        "period": month.month.strftime("%Y-%m"),
        "neighbourhood_id": figure.neighbourhood_id,
        "neighbourhood_name": figure.neighbourhood_name,
        "co2_factors_version": month.co2_factors.version,
    }
    for name in COUNTS:
        row[name] = getattr(figure, name)
    for name in MAGNITUDES:
        value = getattr(figure, name)
        row[name] = None if value is None else float(value)
    return {name: row[name] for name in NAMES}


def _text(field: Field) -> tuple[str, str]:
    description = str(field.description)
    if field.kind == "count":
        description = f"{description} {SECRET_NOTE}"
    elif field.kind == "magnitude":
        description = f"{description} {DERIVED_NOTE}"
    return str(field.title), description


# --- JSON Schema (figures.json) ----------------------------------------------------------------


def _json_type(field: Field) -> dict[str, Any]:
    types: dict[str, dict[str, Any]] = {
        "period": {"type": "string", "pattern": PERIOD_PATTERN},
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "count": {"type": ["integer", "null"], "minimum": THRESHOLD, "multipleOf": BASE},
        "magnitude": {"type": ["number", "null"]},
        "version": {"type": "string", "pattern": VERSION_PATTERN},
    }
    return types[field.kind]


_BOUND = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kg_co2e_per_km", "source", "ref", "url", "scope", "year", "verified"],
    "properties": {
        "kg_co2e_per_km": {"type": "number", "minimum": 0},
        "source": {"type": "string"},
        "ref": {"type": "string"},
        "url": {"type": "string"},
        "scope": {"type": "object"},
        "year": {"type": ["integer", "null"]},
        "verified": {"type": "boolean"},
    },
}


def json_schema(*, schema_url: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of ``figures.json``."""
    with translation.override("fr"):
        properties = {}
        for field in FIELDS:
            title, description = _text(field)
            properties[field.name] = {
                "title": title,
                "description": description,
                **_json_type(field),
            }
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": schema_url,
            "title": str(_("Voisinage: an association's monthly figures")),
            "description": str(
                _(
                    "The figures an association publishes per neighbourhood and calendar "
                    "month, with its licence, the disclosure rules and the CO2 factors used."
                )
            ),
            "type": "object",
            "additionalProperties": False,
            "required": [
                "title",
                "description",
                "publisher",
                "licence",
                "dataset",
                "schema",
                "disclosure",
                "co2_factors",
                "figures",
            ],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "publisher": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "slug"],
                    "properties": {
                        "name": {"type": "string"},
                        "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                    },
                },
                "licence": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "title", "url"],
                    "properties": {
                        "id": {"enum": ["etalab-2.0", "ODbL-1.0"]},
                        "title": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "dataset": {"type": "string", "format": "uri"},
                "schema": {"const": schema_url},
                "disclosure": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["threshold", "rounding_base", "rounding", "note"],
                    "properties": {
                        "threshold": {"const": THRESHOLD},
                        "rounding_base": {"const": BASE},
                        "rounding": {"const": "down"},
                        "note": {"type": "string"},
                    },
                },
                "co2_factors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["version", "factors"],
                        "properties": {
                            "version": {"type": "string", "pattern": VERSION_PATTERN},
                            "factors": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["vehicle", "label", "unit", "central", "low"],
                                    "properties": {
                                        "vehicle": {"type": "string"},
                                        "label": {"type": "string"},
                                        "unit": {"type": "string"},
                                        "central": _BOUND,
                                        "low": _BOUND,
                                        "high": _BOUND,
                                    },
                                },
                            },
                        },
                    },
                },
                "figures": {"type": "array", "items": {"$ref": "#/$defs/figure"}},
            },
            "$defs": {
                "figure": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(NAMES),
                    "properties": properties,
                }
            },
        }


# --- Table Schema (figures.csv) -----------------------------------------------------------------


def _table_field(field: Field) -> dict[str, Any]:
    title, description = _text(field)
    kind, constraints = {
        "period": ("yearmonth", {"required": True}),
        "id": ("integer", {"required": True, "minimum": 1}),
        "name": ("string", {"required": True, "minLength": 1, "maxLength": 120}),
        "count": ("integer", {"minimum": THRESHOLD}),
        "magnitude": ("number", {}),
        "version": ("string", {"required": True, "pattern": VERSION_PATTERN[1:-1]}),
    }[field.kind]
    out: dict[str, Any] = {
        "name": field.name,
        "type": kind,
        "title": title,
        "description": description,
    }
    if constraints:
        out["constraints"] = constraints
    return out


def table_schema() -> dict[str, Any]:
    """The Table Schema (frictionless) of ``figures.csv``: an empty cell is null (secret)."""
    with translation.override("fr"):
        return {
            "fields": [_table_field(field) for field in FIELDS],
            "missingValues": [""],
            "primaryKey": ["period", "neighbourhood_id"],
        }
