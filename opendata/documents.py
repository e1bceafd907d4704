"""The published documents, built from what is stored: ``figures.json``, ``figures.csv`` and
their DCAT-AP description (JSON-LD: a ``dcat:Catalog`` of ``dcat:Dataset``s, each with its
``dcat:Distribution``s). French first: the files' texts are in French, the description gives
French and English (JSON-LD language maps).

No document holds the time it was served: the same figures give the same bytes, hence the same
ETag (docs/opendata.md).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from neighbourhoods.models import Association
from opendata.disclosure import BASE, THRESHOLD
from opendata.models import Co2FactorTable
from opendata.schemas import NAMES, figure_row
from opendata.selectors import Dataset, month_next

LICENCES: dict[str, dict[str, str]] = {
    Association.OpenDataLicence.ETALAB: {
        "title": "Licence Ouverte / Open Licence version 2.0",
        "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    },
    Association.OpenDataLicence.ODBL: {
        "title": "Open Database License (ODbL) v1.0",
        "url": "https://opendatacommons.org/licenses/odbl/1-0/",
    },
}

TITLE = _("Voisinage: monthly figures of %(name)s")
DESCRIPTION = _(
    "Per neighbourhood and calendar month: loans between neighbours, objects shared, wanted "
    "requests answered, parcels delivered through pooled rounds, and the km and CO2 those "
    "parcels saved, with the emission factors used and their sources."
)
DISCLOSURE = _(
    "So that no person can be singled out, counts under 5 are not published (null, an empty "
    "cell) and the others are rounded down to a multiple of 5; km and CO2 are published with "
    "the parcels they come from, as their mean per parcel times the published number of "
    "parcels; no total is published. A published month never changes."
)
CATALOGUE_TITLE = _("Voisinage open data")
CATALOGUE_DESCRIPTION = _(
    "The figures that the neighbourhood associations using Voisinage chose to publish as open data."
)
KEYWORDS = (
    _("lending between neighbours"),
    _("sharing economy"),
    _("pooled deliveries"),
    _("urban logistics"),
    _("CO2"),
)
LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Links:
    """The absolute addresses of one association's documents and of the schemas."""

    catalogue: str
    dataset: str
    figures_csv: str
    figures_json: str
    json_schema: str
    table_schema: str


def _in(language: str, text: Any, **params: Any) -> str:
    with translation.override(language):
        value = str(text)
    return value % params if params else value


def _map(text: Any, **params: Any) -> dict[str, str]:
    """A JSON-LD language map: the text in French and in English."""
    return {language: _in(language, text, **params) for language in LANGUAGES}


# --- figures.json and figures.csv ----------------------------------------------------------------


def licence_of(association: Association) -> dict[str, str]:
    return {"id": association.open_data_licence, **LICENCES[association.open_data_licence]}


def figures_json(dataset: Dataset, links: Links) -> dict[str, Any]:
    """``figures.json``: the figures with what a reuser needs to read them."""
    association = dataset.association
    return {
        "title": _in("fr", TITLE, name=association.name),
        "description": _in("fr", DESCRIPTION),
        "publisher": {"name": association.name, "slug": association.slug},
        "licence": licence_of(association),
        "dataset": links.dataset,
        "schema": links.json_schema,
        "disclosure": {
            "threshold": THRESHOLD,
            "rounding_base": BASE,
            "rounding": "down",
            "note": _in("fr", DISCLOSURE),
        },
        "co2_factors": [
            {"version": table.version, "factors": table.factors} for table in dataset.factor_tables
        ],
        "figures": [figure_row(month, figure) for month, figure in dataset.figures],
    }


def figures_json_bytes(dataset: Dataset, links: Links) -> bytes:
    return json.dumps(figures_json(dataset, links), ensure_ascii=False, indent=1).encode()


def figures_csv(dataset: Dataset) -> bytes:
    """``figures.csv``: UTF-8, comma-separated, a header line; an empty cell is null (secret)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(NAMES)
    for month, figure in dataset.figures:
        row = figure_row(month, figure)
        writer.writerow(["" if row[name] is None else _cell(row[name]) for name in NAMES])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


# --- DCAT-AP (JSON-LD) ---------------------------------------------------------------------------

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "title": {"@id": "dct:title", "@container": "@language"},
    "description": {"@id": "dct:description", "@container": "@language"},
    "keyword": {"@id": "dcat:keyword", "@container": "@language"},
    "label": {"@id": "rdfs:label", "@container": "@language"},
}
EU = "http://publications.europa.eu/resource/authority"
MEDIA_TYPES = "http://www.iana.org/assignments/media-types"


def _date(value: date) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:date"}


def _distribution(
    *, node: str, url: str, title: Any, media_type: str, file_type: str, schema: str, licence: str
) -> dict[str, Any]:
    return {
        "@id": node,
        "@type": "dcat:Distribution",
        "title": _map(title),
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dcat:mediaType": {"@id": f"{MEDIA_TYPES}/{media_type}"},
        "dct:format": {"@id": f"{EU}/file-type/{file_type}"},
        "dct:conformsTo": {"@id": schema},
        "dct:license": {"@id": licence},
    }


def dataset_node(
    association: Association,
    links: Links,
    *,
    first_month: date | None,
    last_month: date | None,
    modified: datetime | None,
    factor_tables: list[Co2FactorTable],
) -> dict[str, Any]:
    """The association's ``dcat:Dataset``, with its two distributions."""
    licence = LICENCES[association.open_data_licence]["url"]
    node: dict[str, Any] = {
        "@id": links.dataset,
        "@type": "dcat:Dataset",
        "title": _map(TITLE, name=association.name),
        "description": _map(DESCRIPTION),
        "keyword": {language: [_in(language, k) for k in KEYWORDS] for language in LANGUAGES},
        "dct:identifier": links.dataset,
        "dct:publisher": {
            "@type": "foaf:Organization",
            "foaf:name": association.name,
        },
        "dct:license": {"@id": licence},
        "dct:language": {"@id": f"{EU}/language/FRA"},
        "dct:accrualPeriodicity": {"@id": f"{EU}/frequency/MONTHLY"},
        "dct:provenance": {"@type": "dct:ProvenanceStatement", "label": _map(DISCLOSURE)},
        "dct:conformsTo": [{"@id": links.json_schema}, {"@id": links.table_schema}],
        "dcat:distribution": [
            _distribution(
                node=f"{links.dataset}#csv",
                url=links.figures_csv,
                title=_("Monthly figures (CSV)"),
                media_type="text/csv",
                file_type="CSV",
                schema=links.table_schema,
                licence=licence,
            ),
            _distribution(
                node=f"{links.dataset}#json",
                url=links.figures_json,
                title=_("Monthly figures (JSON)"),
                media_type="application/json",
                file_type="JSON",
                schema=links.json_schema,
                licence=licence,
            ),
        ],
    }
    if first_month is not None and last_month is not None:
        node["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _date(first_month),
            "dcat:endDate": _date(month_next(last_month) - timedelta(days=1)),
        }
    if modified is not None:
        node["dct:modified"] = {"@value": modified.isoformat(), "@type": "xsd:dateTime"}
    sources = _factor_sources(factor_tables)
    if sources:
        node["dct:references"] = sources
    return node


def _factor_sources(tables: list[Co2FactorTable]) -> list[dict[str, Any]]:
    """The sources of the emission factors the figures were computed with, once each."""
    seen: dict[str, str] = {}
    for table in tables:
        for factor in table.factors:
            for bound in ("central", "low", "high"):
                source = factor.get(bound) or {}
                url = source.get("url") or ""
                if url and url not in seen:
                    seen[url] = str(source.get("source") or "")
    return [{"@id": url, "rdfs:label": label} for url, label in sorted(seen.items())]


def dataset_document(dataset: Dataset, links: Links) -> dict[str, Any]:
    """``/api/v1/open-data/<slug>/``: the dataset's description on its own."""
    months = [m.month for m in dataset.months]
    return {
        "@context": CONTEXT,
        **dataset_node(
            dataset.association,
            links,
            first_month=min(months, default=None),
            last_month=max(months, default=None),
            modified=dataset.modified,
            factor_tables=dataset.factor_tables,
        ),
    }


def catalogue_document(*, url: str, datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """``/api/v1/open-data/``: the catalogue of every association that publishes."""
    return {
        "@context": CONTEXT,
        "@id": url,
        "@type": "dcat:Catalog",
        "title": _map(CATALOGUE_TITLE),
        "description": _map(CATALOGUE_DESCRIPTION),
        "dct:language": {"@id": f"{EU}/language/FRA"},
        "dcat:dataset": datasets,
    }
