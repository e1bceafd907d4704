"""The published files, at public addresses: no login, no session, any origin, cacheable. Each
validates against its own published schema (the JSON against its JSON Schema, the CSV against
its Table Schema with frictionless), and the DCAT-AP description parses as JSON-LD into the
catalogue, the datasets and their distributions. An association that has not opted in publishes
nothing."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import rdflib
from frictionless import Resource, Schema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from backend.throttling import throttle_reset
from opendata.models import COUNTS, MAGNITUDES
from opendata.services import month_compute
from pooling import co2
from tests.neighbourhoods.factories import AssociationFactory
from tests.opendata.world import (
    at,
    delivered,
    loans,
    member,
    neighbourhood,
    pooled_day,
    wanted_answered,
)

pytestmark = pytest.mark.django_db

BASE = "http://testserver/api/v1/open-data"
JSON_SCHEMA = f"{BASE}/schemas/figures.schema.json"
TABLE_SCHEMA = f"{BASE}/schemas/figures.tableschema.json"
ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
ODBL = "https://opendatacommons.org/licenses/odbl/1-0/"


@pytest.fixture
def published():
    """Les Voisins d'Été publish (Etalab 2.0) February and March 2026 of two neighbourhoods."""
    association = AssociationFactory(name="Les Voisins d'Été", open_data_publish=True)
    assert association.slug == "les-voisins-dete"
    north = neighbourhood(association, "Nord")
    south = neighbourhood(association, "Sud")
    lenders = [member(north) for _ in range(7)]
    for lender in lenders:
        loans(lender, 1, starts=at(date(2026, 2, 12)))
        loans(lender, 2, starts=at(date(2026, 3, 12)))
    wanted_answered(member(south), 6, first_offer=at(date(2026, 3, 2)))
    day = pooled_day(
        south, day=date(2026, 3, 9), planned_parcels=12, carrier_meters=30_000, pooled_meters=8_000
    )
    for resident in [member(south) for _ in range(6)]:
        delivered(day, resident, parcels=2, at_time=at(date(2026, 3, 9), 14))
    for month in (date(2026, 2, 1), date(2026, 3, 1)):
        month_compute(association_id=association.pk, month=month, now=at(date(2026, 4, 3)))
    return association, north, south


def _get(client, path, **headers):
    return client.get(path if path.startswith("/") else f"/api/v1/open-data/{path}", **headers)


# --- the files and their schemas --------------------------------------------------------------------


def test_the_json_file_validates_against_its_published_schema(client, published):
    association, north, south = published
    answer = _get(client, f"{association.slug}/figures.json")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    document = answer.json()
    assert document["schema"] == JSON_SCHEMA
    schema = _get(client, "/api/v1/open-data/schemas/figures.schema.json").json()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(document)) == []

    assert document["publisher"] == {"name": "Les Voisins d'Été", "slug": "les-voisins-dete"}
    assert document["licence"] == {
        "id": "etalab-2.0",
        "title": "Licence Ouverte / Open Licence version 2.0",
        "url": ETALAB,
    }
    assert document["title"] == "Voisinage : chiffres mensuels de Les Voisins d'Été"
    assert document["disclosure"]["threshold"] == 5
    assert document["co2_factors"] == [
        {"version": document["figures"][0]["co2_factors_version"], "factors": co2.factors_public()}
    ]
    rows = [(r["period"], r["neighbourhood_name"]) for r in document["figures"]]
    assert rows == [
        ("2026-02", "Nord"),
        ("2026-02", "Sud"),
        ("2026-03", "Nord"),
        ("2026-03", "Sud"),
    ]
    feb_n, feb_s, mar_n, mar_s = document["figures"]
    # 7 loans in February, 14 in March (as many objects: each loan its own, February's over).
    assert (feb_n["loans"], feb_n["objects_shared"], mar_n["loans"]) == (5, 5, 10)
    assert mar_n["objects_shared"] == 10 and mar_n["neighbourhood_id"] == north.pk
    # 6 requests answered, 12 parcels delivered of 12 planned: 22 km saved, published for 10.
    assert (mar_s["wanted_answered"], mar_s["parcels_pooled"]) == (5, 10)
    assert mar_s["km_saved"] == 18.3 and mar_s["neighbourhood_id"] == south.pk
    assert feb_s == {
        "period": "2026-02",
        "neighbourhood_id": south.pk,
        "neighbourhood_name": "Sud",
        **dict.fromkeys(COUNTS),
        **dict.fromkeys(MAGNITUDES),
        "co2_factors_version": feb_s["co2_factors_version"],
    }


def test_a_file_breaking_the_rules_fails_its_schema(client, published):
    """The schema is not empty: a count that is not a published one is refused."""
    association, _north, _south = published
    document = _get(client, f"{association.slug}/figures.json").json()
    schema = _get(client, "/api/v1/open-data/schemas/figures.schema.json").json()
    validator = Draft202012Validator(schema)
    for bad in (7, 3, 0):
        document["figures"][0]["loans"] = bad
        with pytest.raises(ValidationError):
            validator.validate(document)


def test_the_csv_file_validates_against_its_published_table_schema(client, published, tmp_path):
    association, _north, south = published
    answer = _get(client, f"{association.slug}/figures.csv", HTTP_ACCEPT="text/csv")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    descriptor = _get(client, "/api/v1/open-data/schemas/figures.tableschema.json").json()
    assert Schema.validate_descriptor(descriptor).valid
    (tmp_path / "figures.csv").write_bytes(answer.content)
    resource = Resource(
        path="figures.csv", basepath=str(tmp_path), schema=Schema.from_descriptor(descriptor)
    )
    report = resource.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [f["name"] for f in descriptor["fields"]] == list(rows[0])
    assert len(rows) == 4
    for row in rows:
        # What the Table Schema cannot say: a published count is a multiple of 5.
        for name in COUNTS:
            assert row[name] == "" or (int(row[name]) % 5 == 0 and int(row[name]) >= 5)
        for name in MAGNITUDES:
            assert (row[name] == "") == (row["parcels_pooled"] == "")
    mar_s = rows[3]
    assert (mar_s["neighbourhood_id"], mar_s["loans"], mar_s["parcels_pooled"]) == (
        str(south.pk),
        "",
        "10",
    )
    assert Decimal(mar_s["km_saved"]) == Decimal("18.3")
    json_rows = _get(client, f"{association.slug}/figures.json").json()["figures"]
    assert [r["km_saved"] for r in json_rows] == [
        float(r["km_saved"]) if r["km_saved"] else None for r in rows
    ]


def test_a_csv_breaking_the_rules_fails_its_table_schema(client, published, tmp_path):
    association, _north, _south = published
    body = _get(client, f"{association.slug}/figures.csv").content.decode()
    lines = body.split("\r\n")
    cells = lines[1].split(",")
    cells[3] = "3"  # loans: a count under 5
    lines[1] = ",".join(cells)
    (tmp_path / "bad.csv").write_text("\r\n".join(lines))
    descriptor = _get(client, "/api/v1/open-data/schemas/figures.tableschema.json").json()
    report = Resource(
        path="bad.csv", basepath=str(tmp_path), schema=Schema.from_descriptor(descriptor)
    ).validate()
    assert not report.valid
    assert [e[0] for e in report.flatten(["type"])] == ["constraint-error"]


# --- the DCAT-AP description ------------------------------------------------------------------------


def test_the_catalogue_describes_each_publishing_association_in_dcat(client, published):
    association, _north, _south = published
    AssociationFactory(name="Discrète")  # has not opted in: not in the catalogue
    AssociationFactory(name="Partageuse", open_data_publish=True, open_data_licence="ODbL-1.0")
    answer = _get(client, "")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/ld+json; charset=utf-8"
    graph = rdflib.Graph().parse(data=answer.content, format="json-ld")
    catalogue = rdflib.URIRef(f"{BASE}/")
    assert (catalogue, RDF.type, DCAT.Catalog) in graph
    assert (
        catalogue,
        DCTERMS.title,
        rdflib.Literal("Données ouvertes de Voisinage", lang="fr"),
    ) in graph
    datasets = set(graph.objects(catalogue, DCAT.dataset))
    ours = rdflib.URIRef(f"{BASE}/{association.slug}/")
    theirs = rdflib.URIRef(f"{BASE}/partageuse/")
    assert datasets == {ours, theirs}
    assert (theirs, DCTERMS.license, rdflib.URIRef(ODBL)) in graph
    # Partageuse has no month yet: no period.
    assert (theirs, DCTERMS.temporal, None) not in graph
    _assert_dataset(client, graph, ours, association)


def test_an_associations_description_stands_alone(client, published):
    association, _north, _south = published
    answer = _get(client, f"{association.slug}/")
    assert answer.status_code == 200
    graph = rdflib.Graph().parse(data=answer.content, format="json-ld")
    _assert_dataset(client, graph, rdflib.URIRef(f"{BASE}/{association.slug}/"), association)


def _assert_dataset(client, graph, dataset, association):
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    titles = set(graph.objects(dataset, DCTERMS.title))
    assert titles == {
        rdflib.Literal("Voisinage : chiffres mensuels de Les Voisins d'Été", lang="fr"),
        rdflib.Literal("Voisinage: monthly figures of Les Voisins d'Été", lang="en"),
    }
    assert {d.language for d in graph.objects(dataset, DCTERMS.description)} == {"fr", "en"}
    assert (dataset, DCTERMS.license, rdflib.URIRef(ETALAB)) in graph
    publisher = graph.value(dataset, DCTERMS.publisher)
    assert graph.value(publisher, RDF.type) == FOAF.Organization
    assert graph.value(publisher, FOAF.name) == rdflib.Literal(association.name)
    period = graph.value(dataset, DCTERMS.temporal)
    assert graph.value(period, RDF.type) == DCTERMS.PeriodOfTime
    assert graph.value(period, DCAT.startDate).toPython() == date(2026, 2, 1)
    assert graph.value(period, DCAT.endDate).toPython() == date(2026, 3, 31)
    # The emission factors' sources.
    sources = {str(s) for s in graph.objects(dataset, DCTERMS.references)}
    expected = {
        f[bound]["url"] for f in co2.factors_public() for bound in ("central", "low", "high")
    } - {""}
    assert sources == expected and sources
    distributions = set(graph.objects(dataset, DCAT.distribution))
    assert len(distributions) == 2
    seen = {}
    for distribution in distributions:
        assert (distribution, RDF.type, DCAT.Distribution) in graph
        assert graph.value(distribution, DCTERMS.license) == rdflib.URIRef(ETALAB)
        url = str(graph.value(distribution, DCAT.downloadURL))
        media = str(graph.value(distribution, DCAT.mediaType)).rsplit("media-types/", 1)[1]
        schema = str(graph.value(distribution, DCTERMS.conformsTo))
        # Each address answers, with the media type it is described with, and so does its schema.
        answer = client.get(url.removeprefix("http://testserver"))
        assert answer.status_code == 200
        assert answer["Content-Type"] == f"{media}; charset=utf-8"
        assert client.get(schema.removeprefix("http://testserver")).status_code == 200
        seen[media] = (url, schema)
    assert seen == {
        "text/csv": (f"{BASE}/{association.slug}/figures.csv", TABLE_SCHEMA),
        "application/json": (f"{BASE}/{association.slug}/figures.json", JSON_SCHEMA),
    }


# --- public, but only what was opted in ---------------------------------------------------------


@pytest.mark.parametrize("path", ["", "figures.json", "figures.csv"])
def test_an_association_that_has_not_opted_in_publishes_nothing(client, path):
    association = AssociationFactory(name="Discrète")
    north = neighbourhood(association, "Nord")
    loans(member(north), 6, starts=at(date(2026, 3, 3)))
    month_compute(association_id=association.pk, month=date(2026, 3, 1), now=at(date(2026, 4, 3)))
    for slug in (association.slug, "no-such-association"):
        answer = _get(client, f"{slug}/{path}")
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
    catalogue = _get(client, "").json()
    assert catalogue["dcat:dataset"] == []


def test_no_login_no_session_and_a_token_changes_nothing(client, published):
    association, _north, _south = published
    plain = _get(client, f"{association.slug}/figures.csv")
    with_junk = _get(
        client, f"{association.slug}/figures.csv", HTTP_AUTHORIZATION="Bearer not-a-token"
    )
    assert plain.status_code == with_junk.status_code == 200
    assert plain.content == with_junk.content
    assert "Set-Cookie" not in plain and not plain.cookies
    assert "Cookie" not in plain.get("Vary", "")


def test_cacheable_with_an_etag_answered_304(client, published):
    association, _north, _south = published
    for path in ("", f"{association.slug}/", f"{association.slug}/figures.json"):
        first = _get(client, path)
        assert first["Cache-Control"] == "public, max-age=3600"
        etag = first["ETag"]
        assert _get(client, path)["ETag"] == etag
        again = _get(client, path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again.content == b""
    csv_answer = _get(client, f"{association.slug}/figures.csv")
    assert (
        _get(
            client, f"{association.slug}/figures.csv", HTTP_IF_NONE_MATCH=csv_answer["ETag"]
        ).status_code
        == 304
    )


def test_any_origin_may_read_them(client, published):
    association, _north, _south = published
    origin = "https://carto.example.net"
    answer = _get(client, f"{association.slug}/figures.json", HTTP_ORIGIN=origin)
    assert answer["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Credentials" not in answer
    preflight = client.options(
        f"/api/v1/open-data/{association.slug}/figures.csv",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == origin
    # The rest of the API keeps its list of origins.
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/legal", HTTP_ORIGIN=origin)


def test_limited_per_address(client, published, settings):
    association, _north, _south = published
    throttle_reset()
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "opendata": "3/min"}
    try:
        for _ in range(3):
            assert _get(client, f"{association.slug}/figures.csv").status_code == 200
        refused = _get(client, f"{association.slug}/figures.csv")
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled"
    finally:
        throttle_reset()
