"""GET /api/v1/me/impact: the person's own loans, objects not bought and share of what pooling
saved, composed from the sections sharing and pooling register."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pooling import co2
from pooling.models import Assignment, Batch, BatchImpact, Order
from sharing.models import Item, Loan
from sharing.services.loans import loan_request
from tests.pooling.factories import BatchFactory, OrderFactory

pytestmark = pytest.mark.usefixtures("street_graph")

URL = "/api/v1/me/impact"

FACTORS = [
    {"vehicle": name, "kg_co2e_per_km": f["kg_co2e_per_km"], "source": f["source"]}
    for name, f in sorted(settings.POOLING_EMISSION_FACTORS.items())
]


def _f(mode, bound):
    return settings.POOLING_CO2_FACTORS[mode][bound]["kg_co2e_per_km"]


def _kg(grams):
    return round(round(grams) / 1000, 2)


def _loan(*, borrower, item, status, period):
    loan = loan_request(borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1])
    Loan.objects.filter(pk=loan.pk).update(status=status)
    return loan


def _batch(*, parcels, per_carrier_meters, vehicle_meters, per_carrier_co2, co2):
    batch = BatchFactory(status=Batch.Status.COMPLETED)
    BatchImpact.objects.create(
        batch=batch,
        day=batch.day,
        orders=parcels,
        parcels=parcels,
        stops=parcels,
        rounds=1,
        vehicle_meters=vehicle_meters,
        co2_grams=co2,
        by_vehicle={"cargo_bike": {"meters": vehicle_meters, "rounds": 1, "stops": parcels}},
        per_parcel_meters=0,
        per_parcel_trips=0,
        per_parcel_co2_grams=0,
        per_carrier_meters=per_carrier_meters,
        per_carrier_rounds=1,
        per_carrier_stops=parcels,
        per_carrier_co2_grams=per_carrier_co2,
    )
    return batch


def _order(batch, resident, parcels, outcome=Assignment.Outcome.DELIVERED):
    done = outcome == Assignment.Outcome.DELIVERED
    order = OrderFactory(
        resident=resident,
        parcels=[("s", "light")] * parcels,
        status=Order.Status.DELIVERED if done else Order.Status.PENDING,
        delivered_at=timezone.now() if done else None,
    )
    Assignment.objects.create(
        batch=batch,
        order=order,
        outcome=outcome,
        released_at=None if outcome in ("delivered", "planned") else timezone.now(),
    )
    return order


@pytest.fixture
def scene(make_resident, make_item, period):
    """Léa lent her drill to Hugo (closed) and borrowed his ladder (returned); a tent she asked
    for was declined and a saw of hers is withdrawn. Two pooled batches delivered her parcels."""
    lea = make_resident(name="Léa")
    hugo = make_resident(name="Hugo")
    drill = make_item(owner=lea, title="Perceuse")
    saw = make_item(owner=lea, title="Scie")
    Item.objects.filter(pk=saw.pk).update(status=Item.Status.WITHDRAWN)
    ladder = make_item(owner=hugo, title="Échelle")
    tent = make_item(owner=hugo, title="Tente")
    make_item(owner=hugo, title="Vélo")
    _loan(borrower=hugo, item=drill, status=Loan.Status.CLOSED, period=period)
    _loan(borrower=lea, item=ladder, status=Loan.Status.RETURNED, period=period)
    _loan(borrower=lea, item=tent, status=Loan.Status.DECLINED, period=period)

    # Batch one served 4 parcels and saved 8 km and 5604 g: Léa's 2 parcels get half of it,
    # Hugo's one a quarter; the last parcel failed and its quarter goes to nobody.
    one = _batch(
        parcels=4, per_carrier_meters=20_000, vehicle_meters=12_000, per_carrier_co2=5708, co2=104
    )
    _order(one, lea, 2)
    _order(one, hugo, 1)
    _order(one, make_resident(), 1, outcome=Assignment.Outcome.FAILED)
    # Batch two served 10 parcels and saved 10 km and 2 kg: Léa's one gets a tenth; her second
    # order there is still on its way.
    two = _batch(
        parcels=10, per_carrier_meters=30_000, vehicle_meters=20_000, per_carrier_co2=2500, co2=500
    )
    _order(two, lea, 1)
    _order(two, lea, 1, outcome=Assignment.Outcome.PLANNED)
    return {"lea": lea, "hugo": hugo}


def test_a_person_sees_their_own_figures(scene, client_for):
    client = client_for(scene["lea"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "pooling": {
            "orders_delivered": 2,
            "parcels_delivered": 3,
            # 2/4 x 8000 m + 1/10 x 10000 m; 2/4 x 5604 g + 1/10 x 2000 g
            "km_saved": 5.0,
            "co2_kg_saved": 3.0,
            # Her share: 2/4 x 20 km + 1/10 x 30 km of the carriers' vans (13 km), 2/4 x 12 km +
            # 1/10 x 20 km of cargo bikes (8 km): at the van's low and the bike's high factor,
            # and the other way round.
            "co2_kg_saved_low": _kg(13_000 * _f("van", "low") - 8_000 * _f("cargo_bike", "high")),
            "co2_kg_saved_high": _kg(13_000 * _f("van", "high") - 8_000 * _f("cargo_bike", "low")),
            "baseline": "per_carrier",
            "emission_factors": FACTORS,
            "co2_factors": co2.factors_public(),
        },
        "sharing": {
            "loans_as_borrower": 1,
            "loans_as_lender": 1,
            "objects_not_bought": 1,
            "items_shared": 1,
        },
    }
    # The session with its user, then a few queries per section whatever the person's history:
    # loans and items; pooled orders.
    assert len(queries) == 4, [q["sql"] for q in queries.captured_queries]


def test_another_person_sees_only_theirs(scene, client_for):
    response = client_for(scene["hugo"]).get(URL)

    assert response.json()["sharing"] == {
        "loans_as_borrower": 1,
        "loans_as_lender": 1,
        "objects_not_bought": 1,
        "items_shared": 3,
    }
    pooling = response.json()["pooling"]
    # 1/4 x 8000 m, 1/4 x 5604 g
    assert (pooling["orders_delivered"], pooling["parcels_delivered"]) == (1, 1)
    assert (pooling["km_saved"], pooling["co2_kg_saved"]) == (2.0, 1.4)


def test_a_newcomer_has_zeros(scene, make_resident, client_for):
    response = client_for(make_resident()).get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "pooling": {
            "orders_delivered": 0,
            "parcels_delivered": 0,
            "km_saved": 0.0,
            "co2_kg_saved": 0.0,
            "co2_kg_saved_low": 0.0,
            "co2_kg_saved_high": 0.0,
            "baseline": "per_carrier",
            "emission_factors": FACTORS,
            "co2_factors": co2.factors_public(),
        },
        "sharing": {
            "loans_as_borrower": 0,
            "loans_as_lender": 0,
            "objects_not_bought": 0,
            "items_shared": 0,
        },
    }


def test_anonymous_gets_401(client_for):
    response = client_for(None).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_schema_declares_every_sections_fields(client_for):
    schema = client_for(None).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    components = schema.json()["components"]["schemas"]
    operation = schema.json()["paths"]["/api/v1/me/impact"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeImpact"
    }
    assert set(components["MeImpact"]["properties"]) == {"sharing", "pooling"}
    assert set(components["SharingImpact"]["properties"]) == {
        "loans_as_borrower",
        "loans_as_lender",
        "objects_not_bought",
        "items_shared",
    }
    assert set(components["PoolingImpact"]["properties"]) == {
        "orders_delivered",
        "parcels_delivered",
        "km_saved",
        "co2_kg_saved",
        "co2_kg_saved_low",
        "co2_kg_saved_high",
        "baseline",
        "emission_factors",
        "co2_factors",
    }
    assert set(components["EmissionFactor"]["properties"]) == {
        "vehicle",
        "kg_co2e_per_km",
        "source",
    }
