"""Factories of the sharing tests (factory_boy).

Most tests list their items through the service (the ``make_item`` fixture, which checks the
membership and indexes the title for search); ``ItemFactory`` writes the bare row, for what the
service would refuse or for data that is not the point of the test.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from psycopg.types.range import Range

from sharing.models import BlockedPeriod, Item
from sharing.services.items import normalize
from tests.accounts.factories import UserFactory


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    owner = factory.SubFactory(UserFactory, with_home=True)
    title = factory.Sequence(lambda n: f"Perceuse {n}")
    title_norm = factory.LazyAttribute(lambda item: normalize(item.title))
    category = "diy"
    location = factory.LazyAttribute(lambda item: item.owner.home)


class BlockedPeriodFactory(factory.django.DjangoModelFactory):
    """The owner keeps the item from tomorrow for a day (``period`` a ``[)`` range)."""

    class Meta:
        model = BlockedPeriod

    item = factory.SubFactory(ItemFactory)
    period = factory.LazyFunction(
        lambda: Range(timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=2), "[)")
    )
