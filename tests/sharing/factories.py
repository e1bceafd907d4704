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

from sharing.models import BlockedPeriod, Item, Loan, Offer, WantedRequest
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


class LoanFactory(factory.django.DjangoModelFactory):
    """A loan's bare row, for histories the services would not write (a loan that started last
    month): closed by default, its ``period`` from ``starts_at`` for ``days`` days (``hold`` the
    same range). The lender is the item's owner."""

    class Meta:
        model = Loan
        exclude = ("starts_at", "days")

    starts_at = factory.LazyFunction(timezone.now)
    days = 2
    item = factory.SubFactory(ItemFactory)
    lender = factory.SelfAttribute("item.owner")
    borrower = factory.SubFactory(UserFactory, with_home=True)
    status = Loan.Status.CLOSED
    period = factory.LazyAttribute(
        lambda loan: Range(loan.starts_at, loan.starts_at + timedelta(days=loan.days), "[)")
    )
    hold = factory.SelfAttribute("period")
    expires_at = factory.SelfAttribute("starts_at")


class _Backdated(factory.django.DjangoModelFactory):
    """``created_at=...`` sets an ``auto_now_add`` field (written after the row is created)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        created_at = kwargs.pop("created_at", None)
        row = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=row.pk).update(created_at=created_at)
            row.created_at = created_at
        return row


class WantedRequestFactory(_Backdated):
    """A wanted request's bare row (``created_at=`` to date it)."""

    class Meta:
        model = WantedRequest

    requester = factory.SubFactory(UserFactory, with_home=True)
    title = factory.Sequence(lambda n: f"Une échelle {n}")
    period = factory.LazyFunction(
        lambda: Range(timezone.now(), timezone.now() + timedelta(days=2), "[)")
    )
    location = factory.LazyAttribute(lambda wanted: wanted.requester.home)


class OfferFactory(_Backdated):
    """An offer's bare row (``created_at=`` to date it); the lender is the item's owner."""

    class Meta:
        model = Offer

    wanted = factory.SubFactory(WantedRequestFactory)
    item = factory.SubFactory(ItemFactory)
    lender = factory.SelfAttribute("item.owner")
