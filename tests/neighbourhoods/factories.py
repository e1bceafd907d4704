"""Factories of associations, neighbourhoods and memberships (factory_boy), over the Helsinki test
extract."""

from __future__ import annotations

import factory
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils.text import slugify

from neighbourhoods.models import Association, Membership, Neighbourhood
from tests.accounts.factories import UserFactory

# Bounding boxes (lon, lat) of the test extract: the streets around the pooling tests' hub, and
# central Helsinki from Kamppi to Kruununhaka (every home of the sharing tests).
KLUUVI = (24.93, 60.16, 24.96, 60.18)
CENTRAL = (24.90, 60.15, 24.98, 60.19)


def area(bbox: tuple[float, float, float, float]) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox(bbox), srid=4326)


class AssociationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Association
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Association {n}")
    slug = factory.LazyAttribute(lambda association: slugify(association.name))

    @factory.post_generation
    def staff(self, create, extracted, **kwargs):
        """``AssociationFactory(staff=[volunteer])``: the people who run it."""
        if create and extracted:
            self.staff.add(*extracted)


class NeighbourhoodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Neighbourhood

    association = factory.SubFactory(AssociationFactory)
    name = factory.Sequence(lambda n: f"Kluuvi {n}")
    area = factory.LazyFunction(lambda: area(KLUUVI))

    class Params:
        central = factory.Trait(area=factory.LazyFunction(lambda: area(CENTRAL)))


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active member unless told otherwise (the model's default is a pending request)."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    neighbourhood = factory.SubFactory(NeighbourhoodFactory)
    status = Membership.Status.ACTIVE
