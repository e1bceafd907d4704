from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from accounts.demo import DEMO_RESIDENTS
from accounts.models import User
from geo.graph import get_network
from geo.profiles import get_profile
from neighbourhoods.models import Association, Membership, Neighbourhood
from notifications.models import Event
from sharing.models import (
    Conversation,
    Item,
    Loan,
    Message,
    Offer,
    Rating,
    Report,
    WantedNotice,
    WantedRequest,
)
from sharing.selectors import reliability
from sharing.services.demo import ASSOCIATION_NAME, LOAN_PLAN, sharing_demo_seed
from sharing.taxonomy import CATEGORIES

MODELS = [
    User,
    Association,
    Neighbourhood,
    Membership,
    Item,
    Loan,
    Rating,
    Conversation,
    Message,
    WantedRequest,
    WantedNotice,
    Offer,
    Report,
    Event,
]


def _counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_is_complete_and_seeding_twice_changes_nothing(street_graph, capsys):
    call_command("seed_sharing_demo")
    assert "201 items (201 new)" in capsys.readouterr().out
    before = _counts()
    loans_before = sorted(Loan.objects.values_list("pk", "status", "period"))
    result = sharing_demo_seed()
    assert _counts() == before
    assert sorted(Loan.objects.values_list("pk", "status", "period")) == loans_before
    assert (result.residents_created, result.items_created, result.loans_created) == (0, 0, 0)

    association = Association.objects.get(name=ASSOCIATION_NAME)
    assert sorted(association.staff.values_list("email", flat=True)) == [
        "admin@demo.voisinage.fr",
        "benevole@demo.voisinage.fr",
    ]
    neighbourhood = association.neighbourhoods.get()
    assert neighbourhood.area.extent == pytest.approx((24.90, 60.15, 24.98, 60.19))
    residents = User.objects.filter(email__endswith="@demo.voisinage.fr", home__isnull=False)
    assert residents.count() == 30
    statuses = Membership.objects.filter(neighbourhood=neighbourhood).values_list(
        "status", flat=True
    )
    assert sorted(set(statuses)) == ["active", "pending"]
    assert list(statuses).count("active") == 29
    assert all(24.90 < u.home.x < 24.98 and 60.15 < u.home.y < 60.19 for u in residents)
    # The homes the sharing demo draws are on a walkable way of the street graph; residents
    # whose home the graph does not reach (some of seed_demo's) lend nothing.
    net, walk = get_network(), get_profile("walk")
    drawn = list(residents.exclude(email__in=[r.email for r in DEMO_RESIDENTS]))
    assert len(drawn) == 20
    snaps = net.snap_many(
        np.array([u.home.x for u in drawn]), np.array([u.home.y for u in drawn]), walk
    )
    assert (snaps.edge >= 0).all() and float(snaps.approach_m.max()) < 0.5
    owners = list(User.objects.filter(items__isnull=False).distinct())
    snaps = net.snap_many(
        np.array([u.home.x for u in owners]), np.array([u.home.y for u in owners]), walk
    )
    assert (snaps.edge >= 0).all()

    items = Item.objects.filter(owner__in=residents)
    assert items.count() == 201
    assert set(items.values_list("category", flat=True)) == set(CATEGORIES)
    assert items.filter(title="Appareil à raclette 8 personnes").exists()
    assert items.filter(search__isnull=True).count() == 0
    assert items.values("owner").distinct().count() == len(owners)

    by_status = {status: Loan.objects.filter(status=status).count() for status, _n in LOAN_PLAN}
    assert by_status == dict(LOAN_PLAN)
    assert set(by_status) == set(Loan.Status.values)
    assert Rating.objects.count() == 10
    star = Rating.objects.values("ratee").order_by().annotate().values_list("ratee", flat=True)
    shown = [r for r in reliability(sorted(set(star))).values() if r.rating is not None]
    assert len(shown) == 1 and shown[0].ratings == 3
    assert WantedRequest.objects.filter(status="open").count() == 5
    assert WantedNotice.objects.count() >= 5
    assert Offer.objects.filter(status="pending").count() == 1
    assert Report.objects.filter(status="open").count() == 1
